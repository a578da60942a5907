/* emu_api.c - the E2B control plane: create, list, info, kill, timeout,
 * pause, connect/resume, refreshes, metrics. Errors are {"code","message"}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_app.h"

static const char *not_found_fmt = "Sandbox \"%s\" doesn't exist or you don't have access to it";

static int check_api_key(struct emu_req *req, struct emu_app *app) {
  const char *key = emu_req_header(req, "x-api-key");
  if (!key || !*key || (app->api_key && strcmp(key, app->api_key) != 0)) {
    emu_reply_error(req, 401, "Invalid API key, it must start with 'e2b_' prefix");
    return -1;
  }
  return 0;
}

static json_t *sandbox_json(const struct emu_sandbox *sb) {
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:n,s:n}", "sandboxID", sb->id, "templateID",
                   sb->template_id, "alias", sb->template_id, "clientID", "emu", "envdVersion",
                   EMU_ENVD_VERSION, "envdAccessToken", sb->token, "trafficAccessToken", "domain");
}

static json_t *listed_json(const struct emu_sandbox *sb) {
  char started[40], end[40];
  emu_rfc3339_ms(sb->started_ms, started, sizeof started);
  emu_rfc3339_ms(sb->end_ms, end, sizeof end);
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:i,s:s,s:O,s:s}", "sandboxID", sb->id,
                   "templateID", sb->template_id, "alias", sb->template_id, "clientID", "emu",
                   "startedAt", started, "endAt", end, "cpuCount", 2, "memoryMB", 512, "diskSizeMB",
                   1024, "envdVersion", EMU_ENVD_VERSION, "metadata", sb->metadata, "state",
                   sb->state == EMU_SB_RUNNING ? "running" : "paused");
}

static json_t *detail_json(const struct emu_sandbox *sb) {
  json_t *o = listed_json(sb);
  if (!o) return NULL;
  json_object_set_new(o, "envdAccessToken", json_string(sb->token));
  json_object_set_new(o, "domain", json_null());
  json_object_set_new(o, "allowInternetAccess",
                      sb->allow_internet < 0 ? json_null() : json_boolean(sb->allow_internet));
  if (sb->network) json_object_set(o, "network", sb->network);
  json_object_set_new(
      o, "lifecycle",
      json_pack("{s:s,s:b}", "onTimeout", sb->auto_pause ? "pause" : "kill", "autoResume", 0));
  json_object_set_new(o, "volumeMounts", json_array());
  return o;
}

/* Timeout in seconds from a body field: def when absent, -1 when invalid. */
static int body_timeout(json_t *body, int def) {
  json_t *t = json_object_get(body, "timeout");
  if (!t || json_is_null(t)) return def;
  if (!json_is_integer(t)) return -1;
  json_int_t v = json_integer_value(t);
  if (v <= 0 || v > EMU_MAX_TIMEOUT_S) return -1;
  return (int)v;
}

static int copy_string_map(json_t *src, json_t *dst) {
  const char *k;
  json_t *v;
  if (!src || json_is_null(src)) return 0;
  if (!json_is_object(src)) return -1;
  json_object_foreach(src, k, v) {
    if (!json_is_string(v)) return -1;
    if (json_object_set(dst, k, v) < 0) return -1;
  }
  return 0;
}

static int at_capacity(struct emu_req *req, struct emu_app *app) {
  if (app->max_sandboxes <= 0 ||
      app->n_running + app->n_creating < (unsigned long)app->max_sandboxes)
    return 0;
  struct emu_header ra = {(char *)"retry-after", (char *)"1"};
  char msg[128];
  snprintf(msg, sizeof msg, "you have reached the maximum number of concurrent E2B sandboxes (%d)",
           app->max_sandboxes);
  emu_reply_json(req, 429, json_pack("{s:i,s:s}", "code", 429, "message", msg), &ra, 1);
  return 1;
}

/* The sandbox exists: into the table, and the 201. */
static void created(struct emu_req *req, struct emu_sandbox *sb, int timeout) {
  emu_sb_link(sb, timeout);
  if (sb->app->verbose) fprintf(stderr, "sbx-emu: created %s (%s)\n", sb->id, sb->template_id);
  emu_reply_json(req, 201, sandbox_json(sb), NULL, 0);
}

/* Real mode: the reply waits for the local sandbox that runs the processes. */
struct pending_create {
  struct emu_hold *hold;
  struct emu_sandbox *sb; /* not in the table until its local sandbox exists */
  int timeout;
};

static void local_created(struct emu_app *app, const sbx_error *err, const char *lid, void *ud) {
  struct pending_create *pc = ud;
  struct emu_req *req = emu_req_resume(pc->hold);
  struct emu_sandbox *sb = pc->sb;
  app->n_creating--;
  int ok = !err && lid && !app->closing && emu_sb_set_local(sb, lid) == 0;
  if (lid && (!ok || !req)) emu_local_kill(app, lid); /* nobody will use it */
  if (ok && req)
    created(req, sb, pc->timeout);
  else
    emu_sb_discard(sb);
  if (!ok && req)
    emu_reply_error(req, app->closing ? 503 : 500, "cannot create the sandbox: %s",
                    err            ? err->message
                    : app->closing ? "shutting down"
                                   : "out of memory");
  free(pc);
}

static void create_local(struct emu_req *req, struct emu_sandbox *sb, int timeout) {
  struct emu_app *app = sb->app;
  struct pending_create *pc = calloc(1, sizeof *pc);
  if (!pc || !(pc->hold = emu_req_hold(req))) {
    free(pc);
    emu_sb_discard(sb);
    emu_reply_error(req, 500, "out of memory");
    return;
  }
  pc->sb = sb;
  pc->timeout = timeout;
  app->n_creating++;
  /* a longer local lifetime: the emulator's TTL decides, the local one is a backstop */
  if (emu_local_create(app, sb, (long)timeout + 60, local_created, pc) < 0) {
    app->n_creating--;
    req = emu_req_resume(pc->hold);
    free(pc);
    emu_sb_discard(sb);
    emu_reply_error(req, 500, "cannot create the sandbox: the local provider refused");
  }
}

static void route_create(struct emu_req *req, struct emu_app *app, int v2) {
  json_t *body = emu_req_json(req);
  if (!body) {
    emu_reply_error(req, 400, "request body must be a JSON object");
    return;
  }
  const char *template_id = json_string_value(json_object_get(body, "templateID"));
  int timeout = body_timeout(body, v2 ? 300 : 15);
  const char *why = NULL;
  if (!template_id || !*template_id) {
    why = "templateID is required";
  } else if (timeout < 0) {
    why = "Timeout must be between 1 second and 24 hours";
  } else if (at_capacity(req, app)) {
    json_decref(body);
    return;
  }
  json_t *auto_pause = json_object_get(body, "autoPause");
  json_t *allow = json_object_get(body, "allow_internet_access");
  json_t *network = json_object_get(body, "network");
  if (!why && ((auto_pause && !json_is_boolean(auto_pause)) ||
               (allow && !json_is_null(allow) && !json_is_boolean(allow)) ||
               (network && !json_is_null(network) && !json_is_object(network))))
    why = "invalid autoPause, allow_internet_access or network";
  if (why) {
    json_decref(body);
    emu_reply_error(req, 400, "%s", why);
    return;
  }
  struct emu_sandbox *sb = emu_sb_new(app, template_id, &why);
  if (!sb) {
    json_decref(body);
    emu_reply_error(req, 500, "%s", why);
    return;
  }
  if (copy_string_map(json_object_get(body, "metadata"), sb->metadata) < 0 ||
      copy_string_map(json_object_get(body, "envVars"), sb->env_vars) < 0) {
    emu_sb_discard(sb);
    json_decref(body);
    emu_reply_error(req, 400, "metadata and envVars must map strings to strings");
    return;
  }
  sb->auto_pause = auto_pause && json_is_true(auto_pause);
  if (allow && json_is_boolean(allow)) sb->allow_internet = json_is_true(allow);
  if (network && json_is_object(network)) sb->network = json_incref(network);
  json_decref(body);
  if (app->exec_null) {
    created(req, sb, timeout);
    return;
  }
  create_local(req, sb, timeout);
}

/* ---- list ---- */

struct list_filter {
  json_t *metadata; /* object of required key -> value, or NULL */
  int want_running, want_paused;
  char *tmpl;
};

/* §3.3: the query value is URL-decoded once more, split on '&' and '=', and
 * each key and value decoded again. */
static int parse_metadata_filter(const char *raw, json_t **out) {
  *out = NULL;
  if (!raw || !*raw) return 0;
  char *once = emu_pct_decode(raw, strlen(raw), 1);
  if (!once) return -1;
  json_t *m = json_object();
  int rc = m ? 0 : -1;
  char *save = NULL;
  for (char *pair = strtok_r(once, "&", &save); pair && rc == 0;
       pair = strtok_r(NULL, "&", &save)) {
    char *eq = strchr(pair, '=');
    if (!eq || strchr(eq + 1, '=')) {
      rc = -1;
      break;
    }
    char *k = emu_pct_decode(pair, (size_t)(eq - pair), 1);
    char *v = emu_pct_decode(eq + 1, strlen(eq + 1), 1);
    if (!k || !v || json_object_set_new(m, k, json_string(v)) < 0) rc = -1;
    free(k);
    free(v);
  }
  free(once);
  if (rc < 0) {
    json_decref(m);
    return -1;
  }
  *out = m;
  return 0;
}

static int matches(const struct emu_sandbox *sb, const struct list_filter *f) {
  if (sb->state == EMU_SB_RUNNING ? !f->want_running : !f->want_paused) return 0;
  if (f->tmpl && strcmp(f->tmpl, sb->template_id) != 0) return 0;
  const char *k;
  json_t *v;
  json_object_foreach(f->metadata, k, v) {
    const char *have = json_string_value(json_object_get(sb->metadata, k));
    if (!have || strcmp(have, json_string_value(v)) != 0) return 0;
  }
  return 1;
}

/* Order: startedAt desc, then creation sequence desc (asc when asc). */
static int before(const struct emu_sandbox *a, const struct emu_sandbox *b, int asc) {
  int c = a->started_ms != b->started_ms ? (a->started_ms > b->started_ms ? 1 : -1)
                                         : (a->seq > b->seq   ? 1
                                            : a->seq < b->seq ? -1
                                                              : 0);
  return asc ? c < 0 : c > 0;
}

static int cmp_desc(const void *x, const void *y) {
  const struct emu_sandbox *a = *(struct emu_sandbox *const *)x;
  const struct emu_sandbox *b = *(struct emu_sandbox *const *)y;
  return before(a, b, 0) ? -1 : before(b, a, 0) ? 1 : 0;
}

static int cmp_asc(const void *x, const void *y) {
  return -cmp_desc(x, y);
}

static void route_list(struct emu_req *req, struct emu_app *app, int v2) {
  struct list_filter f = {0};
  char *meta = emu_query_get(req->query, "metadata");
  char *state = v2 ? emu_query_get(req->query, "state") : NULL;
  char *limit_s = v2 ? emu_query_get(req->query, "limit") : NULL;
  char *token = v2 ? emu_query_get(req->query, "nextToken") : NULL;
  char *order = v2 ? emu_query_get(req->query, "order") : NULL;
  f.tmpl = v2 ? emu_query_get(req->query, "template") : NULL;
  if (f.tmpl && !*f.tmpl) {
    free(f.tmpl);
    f.tmpl = NULL;
  }
  const char *why = NULL;
  long limit = 100;
  int asc = order && strcmp(order, "asc") == 0;
  int64_t tok_ms = 0;
  unsigned long long tok_seq = 0;
  if (parse_metadata_filter(meta, &f.metadata) < 0) why = "invalid metadata filter";
  if (!v2) {
    f.want_running = 1;
  } else if (!state || !*state) {
    f.want_running = f.want_paused = 1;
  } else {
    char *save = NULL;
    for (char *s = strtok_r(state, ",", &save); s && !why; s = strtok_r(NULL, ",", &save)) {
      if (strcmp(s, "running") == 0)
        f.want_running = 1;
      else if (strcmp(s, "paused") == 0)
        f.want_paused = 1;
      else
        why = "invalid state";
    }
  }
  if (limit_s) {
    char *end = NULL;
    limit = strtol(limit_s, &end, 10);
    if (!*limit_s || *end || limit < 1 || limit > 100) why = "limit must be between 1 and 100";
  }
  if (token && (sscanf(token, "%lld.%llu", (long long *)&tok_ms, &tok_seq) != 2))
    why = "invalid next token";
  if (order && !asc && strcmp(order, "desc") != 0) why = "invalid order";

  size_t n = 0, cap = app->n_running + app->n_paused;
  struct emu_sandbox **all = cap ? calloc(cap, sizeof *all) : NULL;
  if (!why && cap && !all) why = "out of memory";
  for (struct emu_sandbox *sb = app->sb_head; !why && sb && n < cap; sb = sb->next)
    if (matches(sb, &f)) all[n++] = sb;
  if (!why && n > 1) qsort(all, n, sizeof *all, asc ? cmp_asc : cmp_desc);

  json_t *arr = why ? NULL : json_array();
  char next[64] = "";
  if (arr) {
    struct emu_sandbox cursor = {.started_ms = tok_ms, .seq = tok_seq};
    long added = 0;
    for (size_t i = 0; i < n; i++) {
      if (token && !before(&cursor, all[i], asc)) continue; /* at or before the cursor */
      if (added == limit) {
        const struct emu_sandbox *last = all[i - 1];
        snprintf(next, sizeof next, "%lld.%llu", (long long)last->started_ms,
                 (unsigned long long)last->seq);
        break;
      }
      json_array_append_new(arr, listed_json(all[i]));
      added++;
    }
  }
  free(all);
  json_decref(f.metadata);
  free(f.tmpl);
  free(meta);
  free(state);
  free(limit_s);
  free(token);
  free(order);
  if (why) {
    emu_reply_error(req, 400, "%s", why);
    return;
  }
  if (!arr) {
    emu_reply_error(req, 500, "out of memory");
    return;
  }
  struct emu_header h = {(char *)"x-next-token", next};
  emu_reply_json(req, 200, arr, &h, next[0] ? 1 : 0);
}

/* ---- per-sandbox routes ---- */

/* Connect's answer once the sandbox's processes run (resumed if paused):
 * 200 when it was running, 201 when it was resumed. */
static void connected(struct emu_req *req, struct emu_sandbox *sb, int timeout) {
  if (sb->state == EMU_SB_RUNNING) {
    int64_t want = emu_now_ms() + (int64_t)timeout * 1000;
    if (want > sb->end_ms) emu_sb_set_end(sb, want);
    emu_reply_json(req, 200, sandbox_json(sb), NULL, 0);
    return;
  }
  emu_sb_resume(sb, timeout);
  emu_reply_json(req, 201, sandbox_json(sb), NULL, 0);
}

/* Real mode: the reply waits for the local sandbox's resume (SIGCONT). The
 * sandbox is looked up again: it may have been killed meanwhile. */
struct pending_sb {
  struct emu_hold *hold;
  char id[EMU_ID_LEN + 1];
  int timeout;
};

static struct pending_sb *pending_sb_new(struct emu_req *req, const struct emu_sandbox *sb,
                                         int timeout) {
  struct pending_sb *ps = calloc(1, sizeof *ps);
  if (!ps || !(ps->hold = emu_req_hold(req))) {
    free(ps);
    return NULL;
  }
  snprintf(ps->id, sizeof ps->id, "%s", sb->id);
  ps->timeout = timeout;
  return ps;
}

/* The request of a finished pending op and its sandbox; NULL when there is
 * nothing left to do (answered here when the sandbox or the op failed). */
static struct emu_req *pending_sb_end(struct pending_sb *ps, struct emu_app *app,
                                      const sbx_error *err, struct emu_sandbox **sb) {
  struct emu_req *req = emu_req_resume(ps->hold);
  *sb = emu_sb_find(app, ps->id);
  if (req && !*sb)
    emu_reply_error(req, 404, not_found_fmt, ps->id);
  else if (req && err)
    emu_reply_error(req, 500, "sandbox %s: %s", ps->id, err->message);
  else
    return req;
  return NULL;
}

static void local_resumed(struct emu_app *app, const sbx_error *err, const char *lid, void *ud) {
  struct pending_sb *ps = ud;
  struct emu_sandbox *sb;
  struct emu_req *req = pending_sb_end(ps, app, err, &sb);
  if (req) connected(req, sb, ps->timeout);
  free(ps);
}

static void route_connect(struct emu_req *req, struct emu_app *app, struct emu_sandbox *sb) {
  json_t *body = emu_req_json(req);
  int timeout = body ? body_timeout(body, 300) : -1;
  json_decref(body);
  if (timeout < 0) {
    emu_reply_error(req, 400, "Timeout must be between 1 second and 24 hours");
    return;
  }
  if (sb->state == EMU_SB_PAUSED && at_capacity(req, app)) return;
  if (!sb->lid[0]) {
    connected(req, sb, timeout);
    return;
  }
  struct pending_sb *ps = pending_sb_new(req, sb, timeout);
  if (!ps) {
    emu_reply_error(req, 500, "out of memory");
  } else if (emu_local_resume(app, sb->lid, local_resumed, ps) < 0) {
    emu_reply_error(emu_req_resume(ps->hold), 500, "cannot resume: the local provider refused");
    free(ps);
  }
}

static void local_paused(struct emu_app *app, const sbx_error *err, const char *lid, void *ud) {
  struct pending_sb *ps = ud;
  struct emu_sandbox *sb;
  struct emu_req *req = pending_sb_end(ps, app, err, &sb);
  if (req) emu_reply_empty(req, 204);
  free(ps);
}

static void route_pause(struct emu_req *req, struct emu_sandbox *sb) {
  if (sb->state == EMU_SB_PAUSED) {
    emu_reply_error(req, 409, "Sandbox '%s' cannot be paused while in 'paused' state", sb->id);
    return;
  }
  if (!sb->lid[0]) {
    emu_sb_pause(sb, NULL, NULL);
    emu_reply_empty(req, 204);
    return;
  }
  struct pending_sb *ps = pending_sb_new(req, sb, 0);
  if (!ps) {
    emu_reply_error(req, 500, "out of memory");
    return;
  }
  emu_sb_pause(sb, local_paused, ps); /* paused now; the reply once its processes are stopped */
}

static void route_timeout(struct emu_req *req, struct emu_sandbox *sb) {
  json_t *body = emu_req_json(req);
  json_t *t = body ? json_object_get(body, "timeout") : NULL;
  if (!t || !json_is_integer(t)) {
    json_decref(body);
    emu_reply_error(req, 400, "timeout is required");
    return;
  }
  json_int_t v = json_integer_value(t);
  json_decref(body);
  if (v > EMU_MAX_TIMEOUT_S) {
    emu_reply_error(req, 400, "Timeout cannot be greater than 24 hours");
    return;
  }
  if (v < 0) v = 0;
  emu_sb_set_end(sb, emu_now_ms() + (int64_t)v * 1000);
  emu_reply_empty(req, 204);
}

static void route_refresh(struct emu_req *req, struct emu_sandbox *sb) {
  json_t *body = emu_req_json(req);
  json_int_t d = body ? json_integer_value(json_object_get(body, "duration")) : 0;
  json_decref(body);
  if (d <= 0 || d > 3600) d = 60;
  int64_t want = emu_now_ms() + (int64_t)d * 1000;
  if (sb->state == EMU_SB_RUNNING && want > sb->end_ms) emu_sb_set_end(sb, want);
  emu_reply_empty(req, 204);
}

static void route_sandbox(struct emu_req *req, struct emu_app *app, const char *id,
                          const char *action, int v2) {
  const char *m = req->method;
  struct emu_sandbox *sb = emu_sb_find(app, id);
  int known = !action || !strcmp(action, "timeout") || !strcmp(action, "pause") ||
              !strcmp(action, "resume") || !strcmp(action, "connect") ||
              !strcmp(action, "refreshes") || !strcmp(action, "metrics") ||
              !strcmp(action, "network") || !strcmp(action, "logs");
  if (!known || (v2 && (!action || (strcmp(action, "connect") && strcmp(action, "logs"))))) {
    emu_reply_error(req, 404, "no route for %s %s", m, req->path);
    return;
  }
  if (!sb) {
    emu_reply_error(req, 404, not_found_fmt, id);
    return;
  }
  if (!action && !strcmp(m, "GET")) {
    emu_reply_json(req, 200, detail_json(sb), NULL, 0);
    return;
  }
  if (!action && !strcmp(m, "DELETE")) {
    if (app->verbose) fprintf(stderr, "sbx-emu: killed %s\n", sb->id);
    emu_sb_kill(sb);
    emu_reply_empty(req, 204);
    return;
  }
  if (action && !strcmp(m, "POST")) {
    if (!strcmp(action, "timeout")) {
      route_timeout(req, sb);
      return;
    }
    if (!strcmp(action, "connect")) {
      route_connect(req, app, sb);
      return;
    }
    if (!strcmp(action, "refreshes")) {
      route_refresh(req, sb);
      return;
    }
    if (!strcmp(action, "pause")) {
      route_pause(req, sb);
      return;
    }
    if (!strcmp(action, "resume")) {
      if (sb->state == EMU_SB_RUNNING) {
        emu_reply_error(req, 409, "Sandbox '%s' is already running", sb->id);
        return;
      }
      route_connect(req, app, sb);
      return;
    }
  }
  if (action && !strcmp(m, "GET") && !strcmp(action, "metrics")) {
    emu_reply_json(req, 200, json_array(), NULL, 0);
    return;
  }
  if (action && !strcmp(m, "GET") && !strcmp(action, "logs")) {
    emu_reply_json(req, 200, json_pack("{s:[],s:[]}", "logs", "logEntries"), NULL, 0);
    return;
  }
  if (action && !strcmp(m, "PUT") && !strcmp(action, "network")) {
    emu_reply_empty(req, 204);
    return;
  }
  emu_reply_error(req, 405, "method %s not allowed on %s", m, req->path);
}

void emu_api_dispatch(struct emu_req *req) {
  struct emu_app *app = req->srv->app;
  const char *p = req->path;
  int v2 = strncmp(p, "/v2/", 4) == 0;
  if (v2) p += 3;
  if (strncmp(p, "/sandboxes", 10) != 0 || (p[10] != '\0' && p[10] != '/')) {
    emu_reply_error(req, 404, "no route for %s %s", req->method, req->path);
    return;
  }
  if (check_api_key(req, app) < 0) return;
  p += 10;
  if (*p == '/' && p[1] == '\0') p++; /* tolerate a trailing slash */
  if (*p == '\0') {
    if (!strcmp(req->method, "POST")) {
      route_create(req, app, v2);
      return;
    }
    if (!strcmp(req->method, "GET")) {
      route_list(req, app, v2);
      return;
    }
    emu_reply_error(req, 405, "method %s not allowed on %s", req->method, req->path);
    return;
  }
  char id[64], action[32];
  const char *slash = strchr(p + 1, '/');
  size_t idlen = slash ? (size_t)(slash - p - 1) : strlen(p + 1);
  if (idlen == 0 || idlen >= sizeof id || (slash && strchr(slash + 1, '/')) ||
      (slash && strlen(slash + 1) >= sizeof action)) {
    emu_reply_error(req, 404, "no route for %s %s", req->method, req->path);
    return;
  }
  memcpy(id, p + 1, idlen);
  id[idlen] = '\0';
  if (slash) snprintf(action, sizeof action, "%s", slash + 1);
  route_sandbox(req, app, id, slash ? action : NULL, v2);
}
