/* emu_dt_snap.c - Daytona snapshots under /api/snapshots: create from an
 * image name (or a Dockerfile), get by id or name, the paginated list, and
 * delete by id. A created snapshot answers "pending" and becomes "building"
 * then "active" one step apart (emu_dt_step_s), as the SDK's 1 s polling
 * expects; an image named "fail/..." ends in "error" instead, so clients can
 * test a failed build. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_dt.h"

const char *emu_dt_snap_state_name(enum emu_dt_snap_state st) {
  switch (st) {
  case EMU_SNAP_PENDING: return "pending";
  case EMU_SNAP_BUILDING: return "building";
  case EMU_SNAP_ACTIVE: return "active";
  default: return "error";
  }
}

struct emu_dt_snap *emu_dt_snap_find(struct emu_app *app, const char *id_or_name) {
  for (struct emu_dt_snap *s = app->dt_snaps; s; s = s->next)
    if (strcmp(s->id, id_or_name) == 0 || strcmp(s->name, id_or_name) == 0) return s;
  return NULL;
}

static json_t *dto(const struct emu_dt_snap *s) {
  char created[40], updated[40];
  emu_rfc3339_ms(s->created_ms, created, sizeof created);
  emu_rfc3339_ms(s->updated_ms, updated, sizeof updated);
  /* size (GB) is known once the image is pulled: a quarter of the disk here */
  json_t *size = s->state == EMU_SNAP_ACTIVE ? json_real(s->disk / 4.0) : json_null();
  json_t *o = json_pack(
      "{s:s,s:s,s:b,s:s,s:s?,s:s,s:o,s:O,s:i,s:i,s:i,s:i,s:s?,s:s,s:s,s:n,s:[s],s:s,s:n}", "id",
      s->id, "organizationId", s->general ? "" : "sbx-emu", "general", s->general, "name", s->name,
      "imageName", s->image, "state", emu_dt_snap_state_name(s->state), "size", size, "entrypoint",
      s->entrypoint, "cpu", s->cpu, "gpu", 0, "mem", s->mem, "disk", s->disk, "errorReason",
      s->error_reason, "createdAt", created, "updatedAt", updated, "lastUsedAt", "regionIds", "us",
      "sandboxClass", "container", "sourceSandboxId");
  if (o && s->build_info) json_object_set(o, "buildInfo", s->build_info);
  return o;
}

static void snap_free(struct emu_dt_snap *s) {
  ev_timer_stop(s->app->loop, &s->step);
  json_decref(s->entrypoint);
  json_decref(s->build_info);
  free(s->name);
  free(s->image);
  free(s);
}

static void unlink_snap(struct emu_dt_snap *s) {
  struct emu_dt_snap **pp = &s->app->dt_snaps;
  while (*pp && *pp != s)
    pp = &(*pp)->next;
  if (*pp) *pp = s->next;
  if (!s->general) s->app->dt_n_snaps--;
}

/* pending -> building -> active (or error for a "fail/" image). */
static void step_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct emu_dt_snap *s = w->data;
  s->updated_ms = emu_now_ms();
  if (s->state == EMU_SNAP_PENDING) {
    s->state = EMU_SNAP_BUILDING;
    ev_timer_set(w, emu_dt_step_s(s->app), 0.);
    ev_timer_start(loop, w);
  } else if (s->image && strncmp(s->image, "fail/", 5) == 0) {
    s->state = EMU_SNAP_ERROR;
    s->error_reason = "image pull failed: repository does not exist or may require authorization";
  } else {
    s->state = EMU_SNAP_ACTIVE;
  }
}

static struct emu_dt_snap *snap_new(struct emu_app *app, const char *name, const char *image,
                                    int cpu, int mem, int disk) {
  struct emu_dt_snap *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->app = app;
  emu_dt_uuid(s->id);
  s->name = strdup(name);
  s->image = image ? strdup(image) : NULL;
  s->entrypoint = json_null();
  s->cpu = cpu;
  s->mem = mem;
  s->disk = disk;
  s->created_ms = s->updated_ms = emu_now_ms();
  ev_timer_init(&s->step, step_cb, 0., 0.);
  s->step.data = s;
  if (!s->name || (image && !s->image)) {
    snap_free(s);
    return NULL;
  }
  s->next = app->dt_snaps;
  app->dt_snaps = s;
  return s;
}

int emu_dt_snap_init(struct emu_app *app) {
  /* the cloud's general snapshots (docs: small 1 vCPU/1 GiB/3 GiB) */
  static const struct {
    const char *name;
    int cpu, mem, disk;
  } general[] = {
      {"daytona-large", 4, 8, 10}, {"daytona-medium", 2, 4, 8}, {"daytona-small", 1, 1, 3}};
  for (size_t i = 0; i < sizeof general / sizeof general[0]; i++) {
    struct emu_dt_snap *s = snap_new(app, general[i].name, "daytonaio/sandbox:0.4.3",
                                     general[i].cpu, general[i].mem, general[i].disk);
    if (!s) return -1;
    s->general = 1;
    s->state = EMU_SNAP_ACTIVE;
  }
  return 0;
}

void emu_dt_snap_shutdown(struct emu_app *app) {
  while (app->dt_snaps) {
    struct emu_dt_snap *s = app->dt_snaps;
    app->dt_snaps = s->next;
    snap_free(s);
  }
  app->dt_n_snaps = 0;
}

/* ---- validation (as the API's: components of [A-Za-z0-9_.:-], single
 * slashes between them; images need a tag other than latest) ---- */

static int valid_ref(const char *s) {
  if (!*s || *s == '/' || strlen(s) > 255) return 0;
  for (const char *p = s; *p; p++) {
    if (*p == '/' && (p[1] == '/' || !p[1])) return 0;
    if (!isalnum((unsigned char)*p) && !strchr("_.:-/", *p)) return 0;
  }
  return 1;
}

static const char *image_problem(const char *image) {
  const char *digest = strstr(image, "@sha256:");
  if (digest) {
    size_t n = strlen(digest + 8);
    int hex = n == 64 && strspn(digest + 8, "0123456789abcdef") == 64;
    return hex && digest > image ? NULL
                                 : "Invalid digest format. Must be image@sha256:64_hex_characters";
  }
  const char *colon = strrchr(image, ':');
  if (!colon || !colon[1] || strchr(colon, '/'))
    return "Image name must include a tag (e.g., ubuntu:22.04) or digest (@sha256:...)";
  if (!strcmp(colon, ":latest")) return "Images with tag \":latest\" are not allowed";
  if (!valid_ref(image))
    return "Invalid image name format. Must be lowercase, may contain digits, dots, dashes, and "
           "single slashes between components";
  return NULL;
}

/* A positive integer field, or def when absent; -1 when it is something else. */
static int resource(const json_t *body, const char *key, int def) {
  const json_t *v = json_object_get(body, key);
  if (!v || json_is_null(v)) return def;
  if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1024) return -1;
  return (int)json_integer_value(v);
}

static int string_array(const json_t *v) {
  if (!json_is_array(v)) return 0;
  for (size_t i = 0; i < json_array_size(v); i++)
    if (!json_is_string(json_array_get(v, i))) return 0;
  return 1;
}

/* ---- routes ---- */

static void route_create(struct emu_req *req, struct emu_app *app) {
  json_t *body = emu_req_json(req);
  const char *name = json_string_value(json_object_get(body, "name"));
  const char *image = json_string_value(json_object_get(body, "imageName"));
  json_t *bi = json_object_get(body, "buildInfo");
  json_t *ep = json_object_get(body, "entrypoint");
  int cpu = resource(body, "cpu", 1), mem = resource(body, "memory", 1);
  int disk = resource(body, "disk", 3);
  const char *why = NULL;
  if (!body)
    why = "request body must be a JSON object";
  else if (!name || !valid_ref(name))
    why = "Invalid snapshot name format. May contain letters, digits, dots, colons, and dashes";
  else if (bi && !json_is_string(json_object_get(bi, "dockerfileContent")))
    why = "buildInfo.dockerfileContent must be a string";
  else if (!bi && !image)
    why = "Must specify an image name";
  else if (!bi && image_problem(image))
    why = image_problem(image);
  else if (ep && !json_is_null(ep) && !string_array(ep))
    why = "entrypoint must be an array of strings";
  else if (cpu < 0 || mem < 0 || disk < 0)
    why = "cpu, memory and disk must be positive integers";
  if (why) {
    emu_dt_error(req, 400, NULL, "%s", why);
  } else if (emu_dt_snap_find(app, name)) {
    emu_dt_error(req, 409, NULL, "Snapshot with name \"%s\" already exists for this organization",
                 name);
  } else {
    struct emu_dt_snap *s = snap_new(app, name, bi ? NULL : image, cpu, mem, disk);
    if (!s) {
      emu_dt_error(req, 500, NULL, "out of memory");
    } else {
      app->dt_n_snaps++;
      if (ep && json_array_size(ep)) {
        json_decref(s->entrypoint);
        s->entrypoint = json_incref(ep);
      }
      if (bi) s->build_info = json_incref(bi);
      ev_timer_set(&s->step, emu_dt_step_s(app), 0.);
      ev_timer_start(app->loop, &s->step);
      emu_reply_json(req, 200, dto(s), NULL, 0);
    }
  }
  json_decref(body);
}

/* A query number in [lo, hi], def when absent; -1 when bad. */
static long query_num(const char *query, const char *key, long def, long lo, long hi) {
  char *v = emu_query_get(query, key);
  if (!v) return def;
  char *end;
  long n = strtol(v, &end, 10);
  int bad = !*v || *end || n < lo || n > hi;
  free(v);
  return bad ? -1 : n;
}

/* Newest first, the general snapshots last (the API sorts them last too). */
static void route_list(struct emu_req *req, struct emu_app *app) {
  long page = query_num(req->query, "page", 1, 1, 1000000);
  long limit = query_num(req->query, "limit", 100, 1, 200);
  if (page < 0 || limit < 0) {
    emu_dt_error(req, 400, NULL, "page must be >= 1 and limit between 1 and 200");
    return;
  }
  char *name = emu_query_get(req->query, "name"); /* a case-insensitive part of the name */
  json_t *items = json_array();
  long total = 0, first = (page - 1) * limit;
  for (struct emu_dt_snap *s = app->dt_snaps; items && s; s = s->next) {
    if (name && !strcasestr(s->name, name)) continue;
    if (total >= first && total < first + limit) json_array_append_new(items, dto(s));
    total++;
  }
  free(name);
  emu_reply_json(req, 200,
                 json_pack("{s:o,s:I,s:I,s:I}", "items", items, "total", (json_int_t)total, "page",
                           (json_int_t)page, "totalPages",
                           (json_int_t)((total + limit - 1) / limit)),
                 NULL, 0);
}

/* DELETE takes an id only, as the API's (the SDK resolves names first). */
static void route_delete(struct emu_req *req, struct emu_app *app, const char *id) {
  struct emu_dt_snap *s = emu_dt_snap_find(app, id);
  if (!s || strcmp(s->id, id) != 0) {
    emu_dt_error(req, 404, NULL, "Snapshot %s not found", id);
  } else if (s->general) {
    emu_dt_error(req, 403, NULL, "You cannot delete a general snapshot");
  } else {
    unlink_snap(s);
    snap_free(s);
    emu_reply_empty(req, 200);
  }
}

void emu_dt_snap_route(struct emu_req *req, const char *rest) {
  struct emu_app *app = req->srv->app;
  const char *m = req->method;
  if (!*rest || !strcmp(rest, "/")) {
    if (!strcmp(m, "POST"))
      route_create(req, app);
    else if (!strcmp(m, "GET"))
      route_list(req, app);
    else
      emu_dt_error(req, 405, NULL, "method %s not allowed", m);
    return;
  }
  const char *seg = rest + 1;
  if (strchr(seg, '/')) { /* activate, build logs: not emulated */
    emu_dt_error(req, 404, NULL, "Cannot %s %s", m, req->path);
    return;
  }
  char *id = emu_pct_decode(seg, strlen(seg), 0); /* names may hold '/' as %2F */
  if (!id) {
    emu_dt_error(req, 400, NULL, "bad escape in %s", req->path);
    return;
  }
  if (!strcmp(m, "GET")) {
    struct emu_dt_snap *s = emu_dt_snap_find(app, id);
    if (s)
      emu_reply_json(req, 200, dto(s), NULL, 0);
    else
      emu_dt_error(req, 404, NULL, "Snapshot %s not found", id);
  } else if (!strcmp(m, "DELETE")) {
    route_delete(req, app, id);
  } else {
    emu_dt_error(req, 405, NULL, "method %s not allowed", m);
  }
  free(id);
}
