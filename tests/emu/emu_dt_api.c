/* emu_dt_api.c - the Daytona control plane under /api: sandbox create, get,
 * list, start, stop, archive, delete, labels and the auto-stop/-delete
 * timers (snapshots: emu_dt_snap.c). Start and stop answer with the terminal
 * state, so the SDK never waits; archiving and restoring from an archive
 * take one step (emu_dt_step_s) each, as they take time in the cloud. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_dt.h"
#include "emu_fs.h"

static const char *reason(int status) {
  switch (status) {
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 410: return "Gone";
  default: return status >= 500 ? "Internal Server Error" : "Error";
  }
}

void emu_dt_error(struct emu_req *req, int status, const char *code, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  json_t *o =
      json_pack("{s:i,s:s,s:s}", "statusCode", status, "message", msg, "error", reason(status));
  if (o && code) json_object_set_new(o, "code", json_string(code));
  emu_reply_json(req, status, o, NULL, 0);
}

void emu_dt_uuid(char *out) {
  char hex[33];
  emu_random_hex(hex, 32);
  hex[12] = '4';
  hex[16] = "89ab"[hex[16] % 4];
  snprintf(out, EMU_DT_ID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
           hex + 20);
}

double emu_dt_step_s(const struct emu_app *app) {
  return app->dt_minute_s * EMU_DT_STEP_MINUTES;
}

int emu_dt_check_auth(struct emu_req *req) {
  const struct emu_app *app = req->srv->app;
  const char *h = emu_req_header(req, "authorization");
  const char *key = h && strncmp(h, "Bearer ", 7) == 0 ? h + 7 : NULL;
  if (!key || !*key || (app->api_key && strcmp(key, app->api_key) != 0)) {
    emu_dt_error(req, 401, "UNAUTHORIZED", "Invalid credentials");
    return -1;
  }
  return 0;
}

struct emu_dt_sb *emu_dt_find(struct emu_app *app, const char *id_or_name) {
  for (struct emu_dt_sb *d = app->dt_head; d; d = d->next)
    if (strcmp(d->id, id_or_name) == 0 || strcmp(d->name, id_or_name) == 0) return d;
  return NULL;
}

/* ---- DTOs ---- */

/* The reported state and the one it is heading for. */
static const char *state_of(const struct emu_dt_sb *d, const char **desired) {
  static const char *const names[] = {"stopped",   "archiving",     "archived",
                                      "restoring", "pending_build", "build_failed"};
  static const char *const targets[] = {"stopped", "archived", "archived",
                                        "started", "started",  "started"};
  *desired = d->started ? "started" : targets[d->phase];
  return d->started ? "started" : names[d->phase];
}

static json_t *dto(const struct emu_dt_sb *d, const struct emu_req *req, int full) {
  char created[40], updated[40], url[300];
  emu_rfc3339_ms(d->created_ms, created, sizeof created);
  emu_rfc3339_ms(d->updated_ms, updated, sizeof updated);
  const char *host = emu_req_header(req, "host");
  if (!host) host = emu_req_header(req, ":authority");
  snprintf(url, sizeof url, "%s://%s/toolbox", req->proto == EMU_PROTO_H1 ? "http" : "https",
           host ? host : "127.0.0.1");
  const char *desired, *state = state_of(d, &desired);
  json_t *o = json_pack(
      "{s:s,s:s,s:s,s:s?,s:s,s:O,s:b,s:b,s:s,s:i,s:i,s:i,s:i,s:s,s:s,s:n,s:b,s:s,s:I,s:i,s:I,s:I,"
      "s:s,s:s,s:s,s:s,s:s,s:s}",
      "id", d->id, "organizationId", "sbx-emu", "name", d->name, "snapshot", d->snapshot, "user",
      "daytona", "labels", d->labels, "public", 0, "networkBlockAll", 0, "target", "us", "cpu",
      d->cpu, "gpu", 0, "memory", d->mem, "disk", d->disk, "state", state, "desiredState", desired,
      "errorReason", "recoverable", 0, "backupState", "None", "autoStopInterval",
      (json_int_t)d->auto_stop, "autoPauseInterval", 0, "autoArchiveInterval",
      (json_int_t)d->auto_archive, "autoDeleteInterval", (json_int_t)d->auto_delete, "createdAt",
      created, "updatedAt", updated, "lastActivityAt", updated, "sandboxClass", "container",
      "daemonVersion", "v0.190.0", "toolboxProxyUrl", url);
  if (o && d->asked) json_object_update(o, d->asked);
  if (o && d->phase == EMU_DT_BUILD_FAILED)
    json_object_set_new(o, "errorReason", json_string("failed to pull the image: not found"));
  if (o && full) {
    json_object_set(o, "env", d->env);
    if (!json_object_get(o, "volumes")) json_object_set_new(o, "volumes", json_array());
  }
  return o;
}

static void reply_dto(struct emu_req *req, int status, struct emu_dt_sb *d) {
  emu_reply_json(req, status, dto(d, req, 1), NULL, 0);
}

/* ---- lifecycle ---- */

static void dt_delete(struct emu_dt_sb *d);

static void delete_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct emu_dt_sb *d = w->data;
  if (d->app->verbose) fprintf(stderr, "sbx-emu: daytona %s auto-deleted\n", d->id);
  dt_delete(d);
}

static void arm(struct emu_dt_sb *d, ev_timer *t, long minutes) {
  ev_timer_stop(d->app->loop, t);
  if (minutes < 0) return;
  double s = (double)minutes * d->app->dt_minute_s;
  ev_timer_set(t, s > 0 ? s : 0., 0.);
  ev_timer_start(d->app->loop, t);
}

/* The /_emu/stats counter a sandbox is in: an archive is there from
 * "archived" until it has been restored. */
static unsigned long *bucket(const struct emu_dt_sb *d) {
  struct emu_app *app = d->app;
  if (d->started) return &app->dt_started;
  if (d->phase == EMU_DT_ARCHIVED || d->phase == EMU_DT_RESTORING) return &app->dt_archived;
  return &app->dt_stopped;
}

static void set_phase(struct emu_dt_sb *d, enum emu_dt_phase phase) {
  ev_timer_stop(d->app->loop, &d->phase_timer);
  (*bucket(d))--;
  d->phase = phase;
  (*bucket(d))++;
  d->updated_ms = emu_now_ms();
}

static void set_started(struct emu_dt_sb *d, int started) {
  struct emu_app *app = d->app;
  d->updated_ms = emu_now_ms();
  if (d->started == started) return;
  if (d->phase != EMU_DT_IDLE) set_phase(d, EMU_DT_IDLE);
  (*bucket(d))--;
  d->started = started;
  (*bucket(d))++;
  if (started) {
    ev_timer_stop(app->loop, &d->delete_timer);
    if (d->auto_stop > 0) arm(d, &d->stop_timer, d->auto_stop);
  } else {
    ev_timer_stop(app->loop, &d->stop_timer);
    emu_dt_sessions_free(d);                  /* a stopped container has no processes */
    arm(d, &d->delete_timer, d->auto_delete); /* -1: never; 0: at once */
  }
}

static void stop_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct emu_dt_sb *d = w->data;
  if (d->app->verbose) fprintf(stderr, "sbx-emu: daytona %s auto-stopped\n", d->id);
  set_started(d, 0);
}

void emu_dt_touch(struct emu_dt_sb *d) {
  if (d->started && d->auto_stop > 0) arm(d, &d->stop_timer, d->auto_stop);
}

/* archiving -> archived; restoring -> started */
static void phase_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct emu_dt_sb *d = w->data;
  if (d->phase == EMU_DT_ARCHIVING)
    set_phase(d, EMU_DT_ARCHIVED);
  else if (d->phase == EMU_DT_RESTORING)
    set_started(d, 1);
}

static void start_phase(struct emu_dt_sb *d, enum emu_dt_phase phase) {
  set_phase(d, phase);
  ev_timer_set(&d->phase_timer, emu_dt_step_s(d->app), 0.);
  ev_timer_start(d->app->loop, &d->phase_timer);
}

static void dt_free(struct emu_dt_sb *d) {
  json_decref(d->asked);
  json_decref(d->labels);
  json_decref(d->env);
  free(d->name);
  free(d->snapshot);
  free(d);
}

static void dt_delete(struct emu_dt_sb *d) {
  struct emu_app *app = d->app;
  ev_timer_stop(app->loop, &d->stop_timer);
  ev_timer_stop(app->loop, &d->delete_timer);
  ev_timer_stop(app->loop, &d->phase_timer);
  emu_dt_sessions_free(d);
  if (d->prev)
    d->prev->next = d->next;
  else
    app->dt_head = d->next;
  if (d->next) d->next->prev = d->prev;
  (*bucket(d))--;
  if (d->sb->lid[0]) emu_local_kill(app, d->sb->lid); /* its processes and dirs */
  emu_sb_discard(d->sb);
  dt_free(d);
}

void emu_dt_shutdown(struct emu_app *app) {
  while (app->dt_head)
    dt_delete(app->dt_head);
}

/* ---- create ---- */

static int string_map(json_t *v, json_t **out) {
  *out = json_object();
  if (!*out) return -1;
  if (!v || json_is_null(v)) return 0;
  if (!json_is_object(v)) return -1;
  const char *k;
  json_t *x;
  json_object_foreach(v, k, x) {
    if (!json_is_string(x)) return -1;
    json_object_set(*out, k, x);
  }
  return 0;
}

static long interval(json_t *body, const char *key, long def) {
  json_t *v = json_object_get(body, key);
  return json_is_integer(v) ? (long)json_integer_value(v) : def;
}

static void link_dt(struct emu_dt_sb *d) {
  struct emu_app *app = d->app;
  d->next = app->dt_head;
  if (app->dt_head) app->dt_head->prev = d;
  app->dt_head = d;
  (*bucket(d))++;
  if (d->started && d->auto_stop > 0) arm(d, &d->stop_timer, d->auto_stop);
}

/* What a create is made from, checked as the API does: a snapshot (the
 * default when none is named) must exist and be active, and fixes the
 * resources; a build from a Dockerfile takes them from the body. NULL, or
 * why not (a 400) in buf. */
static const char *use_source(struct emu_app *app, json_t *body, struct emu_dt_sb *d, char *buf,
                              size_t n) {
  const char *want = json_string_value(json_object_get(body, "snapshot"));
  int build = json_object_get(body, "buildInfo") != NULL;
  int sized = json_object_get(body, "cpu") || json_object_get(body, "memory") ||
              json_object_get(body, "disk");
  if (build && want) return "Cannot specify a snapshot when using a build info";
  if (build) {
    const char *df =
        json_string_value(json_object_get(json_object_get(body, "buildInfo"), "dockerfileContent"));
    if (df && !strncmp(df, "FROM fail/", 10)) d->phase = EMU_DT_BUILD_FAILED;
    if (df && !strncmp(df, "FROM hang/", 10)) d->phase = EMU_DT_PENDING_BUILD;
    d->cpu = (int)interval(body, "cpu", 1);
    d->mem = (int)interval(body, "memory", 1);
    d->disk = (int)interval(body, "disk", 3);
    return NULL;
  }
  if (sized) return "Cannot specify Sandbox resources when using a snapshot";
  if (!want || !*want) want = EMU_DT_DEFAULT_SNAPSHOT;
  const struct emu_dt_snap *snap = emu_dt_snap_find(app, want);
  if (!snap)
    snprintf(buf, n, "Snapshot %s not found. Did you add it through the Daytona Dashboard?", want);
  else if (snap->state != EMU_SNAP_ACTIVE)
    snprintf(buf, n, "Snapshot %s is %s", want, emu_dt_snap_state_name(snap->state));
  if (!snap || snap->state != EMU_SNAP_ACTIVE) return buf;
  d->snapshot = strdup(snap->name);
  d->cpu = snap->cpu;
  d->mem = snap->mem;
  d->disk = snap->disk;
  return d->snapshot ? NULL : "out of memory";
}

struct pending_create {
  struct emu_hold *hold;
  struct emu_dt_sb *d;
};

static void local_created(struct emu_app *app, const sbx_error *err, const char *lid, void *ud) {
  struct pending_create *pc = ud;
  struct emu_req *req = emu_req_resume(pc->hold);
  struct emu_dt_sb *d = pc->d;
  free(pc);
  app->n_creating--;
  int ok = !err && lid && !app->closing && emu_sb_set_local(d->sb, lid) == 0;
  if (ok && req && emu_dt_find(app, d->name)) { /* the name was taken meanwhile */
    emu_local_kill(app, lid);
    emu_sb_discard(d->sb);
    emu_dt_error(req, 409, NULL, "Sandbox with name %s already exists", d->name);
    dt_free(d);
    return;
  }
  if (ok && req) {
    link_dt(d);
    reply_dto(req, 200, d);
    return;
  }
  if (lid) emu_local_kill(app, lid);
  emu_sb_discard(d->sb);
  dt_free(d);
  if (req)
    emu_dt_error(req, 500, NULL, "cannot create the sandbox: %s", err ? err->message : "failed");
}

/* The create fields the DTO reports back as they were asked for (the API
 * keeps them; the emulator does not enforce them). */
static const char *keep_asked(json_t *body, struct emu_dt_sb *d) {
  static const char *const keys[] = {
      "user", "public", "gpu", "networkBlockAll", "networkAllowList", "target", "volumes"};
  d->asked = json_object();
  if (!d->asked) return "out of memory";
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    json_t *v = json_object_get(body, keys[i]);
    if (v && !json_is_null(v)) json_object_set(d->asked, keys[i], v);
  }
  json_t *vols = json_object_get(d->asked, "volumes");
  size_t i;
  json_t *vol;
  if (vols && !json_is_array(vols)) return "volumes must be an array";
  json_array_foreach(vols, i, vol) {
    if (!json_is_string(json_object_get(vol, "volumeId")) ||
        !json_is_string(json_object_get(vol, "mountPath")))
      return "each volume needs volumeId and mountPath";
  }
  return NULL;
}

static void route_create(struct emu_req *req, struct emu_app *app) {
  json_t *body = emu_req_json(req);
  if (!body) {
    emu_dt_error(req, 400, NULL, "request body must be a JSON object");
    return;
  }
  struct emu_dt_sb *d = calloc(1, sizeof *d);
  const char *name = json_string_value(json_object_get(body, "name"));
  const char *why = NULL;
  char why_buf[300];
  if (!d) {
    json_decref(body);
    emu_dt_error(req, 500, NULL, "out of memory");
    return;
  }
  d->app = app;
  emu_dt_uuid(d->id);
  d->name = strdup(name && *name ? name : d->id);
  if (string_map(json_object_get(body, "labels"), &d->labels) < 0 ||
      string_map(json_object_get(body, "env"), &d->env) < 0 || !d->name)
    why = "labels and env must map strings to strings";
  d->auto_stop = interval(body, "autoStopInterval", 15);
  d->auto_archive = interval(body, "autoArchiveInterval", 10080);
  d->auto_delete = interval(body, "autoDeleteInterval", -1);
  if (json_is_true(json_object_get(body, "ephemeral"))) d->auto_delete = 0;
  if (!why) why = use_source(app, body, d, why_buf, sizeof why_buf);
  if (!why) why = keep_asked(body, d);
  json_decref(body);
  if (!why && emu_dt_find(app, d->name)) {
    emu_dt_error(req, 409, NULL, "Sandbox with name %s already exists", d->name);
    dt_free(d);
    return;
  }
  if (why) { /* the request's fault */
    emu_dt_error(req, 400, NULL, "%s", why);
    dt_free(d);
    return;
  }
  if (!(d->sb = emu_sb_new(app, "daytona", &why))) {
    emu_dt_error(req, 500, NULL, "%s", why);
    dt_free(d);
    return;
  }
  d->sb->home_at = EMU_DT_HOME;
  json_decref(d->sb->env_vars);
  d->sb->env_vars = json_incref(d->env);
  char *home = emu_fs_host(d->sb, EMU_DT_HOME); /* null mode: a plain directory */
  if (home) emu_mkdir_p(home);
  free(home);
  d->started = d->phase == EMU_DT_IDLE; /* a build that fails or hangs never starts */
  d->created_ms = d->updated_ms = emu_now_ms();
  ev_timer_init(&d->stop_timer, stop_cb, 0., 0.);
  ev_timer_init(&d->delete_timer, delete_cb, 0., 0.);
  ev_timer_init(&d->phase_timer, phase_cb, 0., 0.);
  d->stop_timer.data = d->delete_timer.data = d->phase_timer.data = d;
  if (app->exec_null) {
    link_dt(d);
    reply_dto(req, 200, d);
    return;
  }
  struct pending_create *pc = calloc(1, sizeof *pc);
  if (pc && (pc->hold = emu_req_hold(req))) {
    pc->d = d;
    app->n_creating++;
    if (emu_local_create(app, d->sb, EMU_MAX_TIMEOUT_S, local_created, pc) == 0) return;
    app->n_creating--;
    req = emu_req_resume(pc->hold);
  }
  free(pc);
  emu_sb_discard(d->sb);
  dt_free(d);
  emu_dt_error(req, 500, NULL, "cannot create the sandbox: the local provider refused");
}

/* ---- list ---- */

static void route_list(struct emu_req *req, struct emu_app *app) {
  char *raw = emu_query_get(req->query, "labels");
  json_t *want = raw ? json_loads(raw, 0, NULL) : NULL;
  free(raw);
  if (raw && !json_is_object(want)) {
    json_decref(want);
    emu_dt_error(req, 400, NULL, "Invalid labels JSON format");
    return;
  }
  json_t *items = json_array();
  for (struct emu_dt_sb *d = app->dt_head; items && d; d = d->next) {
    const char *k;
    json_t *v;
    int match = 1;
    json_object_foreach(want, k, v) {
      if (!json_equal(json_object_get(d->labels, k), v)) match = 0;
    }
    if (match) json_array_append_new(items, dto(d, req, 0));
  }
  json_decref(want);
  emu_reply_json(req, 200, json_pack("{s:o,s:n}", "items", items, "nextCursor"), NULL, 0);
}

/* ---- one sandbox ---- */

static void route_labels(struct emu_req *req, struct emu_dt_sb *d) {
  json_t *body = emu_req_json(req), *labels = NULL;
  if (!body || string_map(json_object_get(body, "labels"), &labels) < 0) {
    json_decref(body);
    json_decref(labels);
    emu_dt_error(req, 400, NULL, "labels must map strings to strings");
    return;
  }
  json_decref(body);
  json_decref(d->labels);
  d->labels = labels;
  d->updated_ms = emu_now_ms();
  emu_reply_json(req, 200, json_pack("{s:O}", "labels", labels), NULL, 0);
}

/* POST /sandbox/{id}/autostop|autoarchive|autodelete/{n} */
static int route_interval(struct emu_req *req, struct emu_dt_sb *d, const char *action) {
  static const char *const names[] = {"autostop/", "autoarchive/", "autodelete/"};
  for (int i = 0; i < 3; i++) {
    size_t n = strlen(names[i]);
    if (strncmp(action, names[i], n) != 0) continue;
    char *end;
    long v = strtol(action + n, &end, 10);
    if (*end || end == action + n || v < (i == 2 ? -1 : 0)) {
      emu_dt_error(req, 400, NULL, "invalid interval %s", action + n);
      return 1;
    }
    if (i == 0) {
      d->auto_stop = v;
      if (v > 0 && d->started)
        arm(d, &d->stop_timer, v);
      else
        ev_timer_stop(d->app->loop, &d->stop_timer);
    } else if (i == 1) {
      d->auto_archive = v;
    } else {
      d->auto_delete = v;
      if (!d->started) arm(d, &d->delete_timer, v);
    }
    d->updated_ms = emu_now_ms();
    reply_dto(req, 200, d);
    return 1;
  }
  return 0;
}

/* Started at once from stopped (or while archiving); an archive is
 * restored first. */
static void route_start(struct emu_req *req, struct emu_dt_sb *d) {
  if (d->phase == EMU_DT_RESTORING) {
    emu_dt_error(req, 409, NULL, "Sandbox state change in progress");
    return;
  }
  if (d->phase == EMU_DT_PENDING_BUILD || d->phase == EMU_DT_BUILD_FAILED) {
    emu_dt_error(req, 400, NULL, "Sandbox is in state %s",
                 d->phase == EMU_DT_BUILD_FAILED ? "build_failed" : "pending_build");
    return;
  }
  if (d->phase == EMU_DT_ARCHIVED)
    start_phase(d, EMU_DT_RESTORING);
  else
    set_started(d, 1);
  reply_dto(req, 200, d);
}

/* Only a stopped sandbox can be archived (the API's rule). */
static void route_archive(struct emu_req *req, struct emu_dt_sb *d) {
  if (d->phase == EMU_DT_ARCHIVING || d->phase == EMU_DT_RESTORING) {
    emu_dt_error(req, 400, NULL, "State change in progress");
    return;
  }
  if (d->started || d->phase != EMU_DT_IDLE) {
    emu_dt_error(req, 400, NULL, "Sandbox is not stopped");
    return;
  }
  start_phase(d, EMU_DT_ARCHIVING);
  reply_dto(req, 200, d);
}

static void route_one(struct emu_req *req, struct emu_app *app, const char *id,
                      const char *action) {
  struct emu_dt_sb *d = emu_dt_find(app, id);
  const char *m = req->method;
  if (!d) {
    emu_dt_error(req, 404, NULL, "Sandbox with ID or name %s not found", id);
    return;
  }
  if (!action) {
    if (!strcmp(m, "GET")) {
      reply_dto(req, 200, d);
    } else if (!strcmp(m, "DELETE")) {
      json_t *o = dto(d, req, 1);
      if (o) json_object_set_new(o, "state", json_string("destroyed"));
      dt_delete(d);
      emu_reply_json(req, 200, o, NULL, 0);
    } else {
      emu_dt_error(req, 405, NULL, "method %s not allowed", m);
    }
    return;
  }
  /* lifecycle POSTs carry no body worth reading (axios sends form-encoded nothing) */
  if (!strcmp(m, "POST") && !strcmp(action, "stop")) {
    if (!d->started) {
      emu_dt_error(req, 400, NULL, "Sandbox is not in a stoppable state");
      return;
    }
    set_started(d, 0); /* autoDelete 0 deletes it from the loop, right after */
    reply_dto(req, 200, d);
  } else if (!strcmp(m, "POST") && !strcmp(action, "start")) {
    route_start(req, d);
  } else if (!strcmp(m, "POST") && !strcmp(action, "archive")) {
    route_archive(req, d);
  } else if (!strcmp(m, "GET") && !strcmp(action, "toolbox-proxy-url")) {
    json_t *o = dto(d, req, 0);
    emu_reply_json(req, 200, json_pack("{s:O}", "url", json_object_get(o, "toolboxProxyUrl")), NULL,
                   0);
    json_decref(o);
  } else if (!strcmp(m, "PUT") && !strcmp(action, "labels")) {
    route_labels(req, d);
  } else if (strcmp(m, "POST") != 0 || !route_interval(req, d, action)) {
    emu_dt_error(req, 404, NULL, "Cannot %s /api/sandbox/%s/%s", m, id, action);
  }
}

void emu_dt_api_dispatch(struct emu_req *req) {
  struct emu_app *app = req->srv->app;
  const char *p = req->path + 4; /* after "/api" */
  if (!strcmp(p, "/health")) {
    emu_reply_json(req, 200, json_pack("{s:s}", "status", "ok"), NULL, 0);
    return;
  }
  if (!strncmp(p, "/socket.io", 10)) { /* no event stream: the SDK polls instead */
    emu_dt_error(req, 404, NULL, "Cannot GET %s", req->path);
    return;
  }
  if (!strncmp(p, "/snapshots", 10) && (!p[10] || p[10] == '/')) {
    if (emu_dt_check_auth(req) == 0) emu_dt_snap_route(req, p + 10);
    return;
  }
  if (strncmp(p, "/sandbox", 8) != 0 || (p[8] && p[8] != '/')) {
    emu_dt_error(req, 404, NULL, "Cannot %s %s", req->method, req->path);
    return;
  }
  if (emu_dt_check_auth(req) < 0) return;
  p += 8;
  if (!*p || !strcmp(p, "/")) {
    if (!strcmp(req->method, "POST"))
      route_create(req, app);
    else if (!strcmp(req->method, "GET"))
      route_list(req, app);
    else
      emu_dt_error(req, 405, NULL, "method %s not allowed", req->method);
    return;
  }
  char id[256];
  const char *slash = strchr(p + 1, '/');
  size_t n = slash ? (size_t)(slash - p - 1) : strlen(p + 1);
  if (n == 0 || n >= sizeof id) {
    emu_dt_error(req, 404, NULL, "Cannot %s %s", req->method, req->path);
    return;
  }
  memcpy(id, p + 1, n);
  id[n] = '\0';
  char *dec = emu_pct_decode(id, n, 0);
  route_one(req, app, dec ? dec : id, slash && slash[1] ? slash + 1 : NULL);
  free(dec);
}
