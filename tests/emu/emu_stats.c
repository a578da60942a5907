/* emu_stats.c - request counters by normalised route and GET /_emu/stats. */
#include <stdlib.h>
#include <string.h>

#include "emu_app.h"
#include "emu_ws.h"

/* Segments whose next segment is an id. */
static int before_id(const char *seg, size_t n) {
  static const char *const names[] = {"sandboxes", "sandbox", "toolbox",
                                      "session",   "command", "snapshots"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (n == strlen(names[i]) && strncmp(seg, names[i], n) == 0) return 1;
  return 0;
}

/* "POST /sandboxes/ixyz/pause" -> "POST /sandboxes/{id}/pause"; the same for
 * Daytona's /api/sandbox/<id>, /api/snapshots/<id>, /toolbox/<id> and
 * session and command ids. */
static int route_key(const char *method, const char *path, struct emu_buf *key) {
  if (emu_buf_printf(key, "%s ", method) < 0) return -1;
  const char *p = path;
  int after_sandboxes = 0;
  while (*p == '/') {
    const char *seg = p + 1;
    const char *end = strchr(seg, '/');
    size_t n = end ? (size_t)(end - seg) : strlen(seg);
    if (emu_buf_add(key, "/", 1) < 0) return -1;
    if (after_sandboxes && n > 0) {
      if (emu_buf_add(key, "{id}", 4) < 0) return -1;
    } else if (emu_buf_add(key, seg, n) < 0) {
      return -1;
    }
    after_sandboxes = before_id(seg, n);
    p = seg + n;
  }
  return 0;
}

void emu_stats_count(struct emu_app *app, const char *method, const char *path) {
  struct emu_buf key = {0};
  if (route_key(method, path, &key) == 0) {
    struct emu_counter *c = app->counters;
    while (c && strcmp(c->key, key.data) != 0)
      c = c->next;
    if (!c && (c = calloc(1, sizeof *c))) {
      c->key = key.data;
      key.data = NULL;
      c->next = app->counters;
      app->counters = c;
    }
    if (c) c->n++;
  }
  emu_buf_free(&key);
}

void emu_stats_free(struct emu_app *app) {
  while (app->counters) {
    struct emu_counter *c = app->counters;
    app->counters = c->next;
    free(c->key);
    free(c);
  }
}

static json_t *conn_json(const struct emu_stats *s, enum emu_proto p) {
  return json_pack("{s:I,s:I}", "open", (json_int_t)s->conns_open[p], "total",
                   (json_int_t)s->conns_total[p]);
}

void emu_stats_route(struct emu_req *req) {
  struct emu_app *app = req->srv->app;
  const struct emu_stats *s = &req->srv->stats;
  if (strcmp(req->method, "GET") != 0) {
    emu_reply_error(req, 405, "use GET");
    return;
  }
  json_t *requests = json_object();
  for (const struct emu_counter *c = app->counters; requests && c; c = c->next)
    json_object_set_new(requests, c->key, json_integer((json_int_t)c->n));
  json_t *o = json_pack("{s:{s:o,s:o,s:o},s:{s:I,s:I,s:I},s:{s:I,s:I,s:I},s:{s:I},s:o}",
                        "connections", "h1", conn_json(s, EMU_PROTO_H1), "h1_tls",
                        conn_json(s, EMU_PROTO_H1_TLS), "h2", conn_json(s, EMU_PROTO_H2), "streams",
                        "open", (json_int_t)s->streams_open, "total", (json_int_t)s->streams_total,
                        "max_per_connection", (json_int_t)s->max_streams_per_conn, "sandboxes",
                        "live", (json_int_t)(app->n_running + app->n_paused), "running",
                        (json_int_t)app->n_running, "paused", (json_int_t)app->n_paused,
                        "processes", "live", (json_int_t)app->n_procs_live, "requests", requests);
  /* Daytona sandboxes are counted apart: "sandboxes" stays E2B's. live =
   * started + stopped (archiving included) + archived (restoring included);
   * snapshots counts the created ones, not the general ones. */
  json_t *dt =
      json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "live",
                (json_int_t)(app->dt_started + app->dt_stopped + app->dt_archived), "started",
                (json_int_t)app->dt_started, "stopped", (json_int_t)app->dt_stopped, "archived",
                (json_int_t)app->dt_archived, "snapshots", (json_int_t)app->dt_n_snaps, "sessions",
                (json_int_t)app->dt_sessions, "websockets", (json_int_t)emu_ws_open_count());
  if (o) json_object_set_new(o, "daytona", dt);
  if (o) json_object_set_new(o, "faults", emu_faults_hits_json(app));
  emu_reply_json(req, 200, o, NULL, 0);
}
