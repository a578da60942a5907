/* daytona_sandbox.c - Daytona control-plane ops: create, connect (start),
 * info, kill (delete), pause (stop), set timeout (autostop), list, archive,
 * set labels. Each is a call op (reactor/call.h). Create, connect, pause and
 * archive wait for the target state by polling GET /sandbox/{id} from the
 * call's POLL_WAIT state with a growing interval, bounded by DT_WAIT_MAX_MS
 * (DT_SLOW_WAIT_MS while archiving or restoring an archive). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../protocol/json_util.h"
#include "daytona.h"
#include "e2b.h"
#include "prov_util.h"

enum sbox_what {
  W_CREATE,
  W_CONNECT,
  W_INFO,
  W_KILL,
  W_PAUSE,
  W_TIMEOUT,
  W_LIST,
  W_ARCHIVE,
  W_LABELS
};

struct sbox_op {
  struct sbx_call k;
  enum sbox_what what;
  char *id;
  char *url;
  char *body;
  char *query;
  long minutes;         /* set_timeout, set_interval */
  const char *interval; /* "autostop", "autoarchive" or "autodelete" */
  int polling;          /* the next request is GET /sandbox/{id} */
  int keep_set;         /* pause: auto-delete is off, the stop comes next */
  int polls;
  long wait_ms; /* bound on the polling */
  double t0;
  /* create: the sandbox failed or never started, and is deleted before the
   * op fails with this error (so a failed create leaves nothing behind) */
  struct sbx_errinfo failed;
  int deleting;
  /* create: the new sandbox's info, built in parse while the undo can still
   * delete it, so delivering it needs no memory (more than 8 labels do) */
  struct sbx_info_view view;
  int have_view;
  sbx_sandbox_cb scb;
  sbx_done_cb dcb;
  sbx_list_cb lcb;
  json_t *doc;
  char *next_token;
};

static struct sbox_op *sbox_of(struct sbx_call *k) {
  return (struct sbox_op *)k;
}

static void describe(const struct sbox_op *s, char *buf, size_t n) {
  static const char *const verbs[] = {
      "create sandbox", "start sandbox",   "get sandbox",
      "delete sandbox", "stop sandbox",    "set auto-stop interval of sandbox",
      "list sandboxes", "archive sandbox", "set labels of sandbox"};
  snprintf(buf, n, "daytona: %s%s%s", verbs[s->what], s->id ? " " : "", s->id ? s->id : "");
}

/* ---- build ------------------------------------------------------------------- */

static int build(struct sbx_call *k, struct sbx_http_req *r, struct sbx_errinfo *e) {
  struct sbox_op *s = sbox_of(k);
  struct sbx_client *c = k->op.c;
  sbx__free(sbx__alloc(c), s->url);
  s->url = NULL;
  if (s->deleting) return dt_api_req(c, r, &s->url, "DELETE", NULL, "/sandbox/%s", s->id);
  if (s->polling) return dt_api_req(c, r, &s->url, "GET", NULL, "/sandbox/%s", s->id);
  switch (s->what) {
  case W_CREATE:
    /* The reply is read into memory taken now: once the sandbox exists, the
     * op needs none to learn its id (the DTO echoes the labels and envs
     * sent, hence the body's length). */
    r->reserve_body = strlen(s->body) + 16384;
    return dt_api_req(c, r, &s->url, "POST", s->body, "/sandbox");
  case W_CONNECT: return dt_api_req(c, r, &s->url, "POST", NULL, "/sandbox/%s/start", s->id);
  case W_INFO: return dt_api_req(c, r, &s->url, "GET", NULL, "/sandbox/%s", s->id);
  case W_KILL: return dt_api_req(c, r, &s->url, "DELETE", NULL, "/sandbox/%s", s->id);
  case W_PAUSE:
    /* A sandbox made with delete-on-stop (no auto_pause) would be deleted by
     * the stop: a paused sandbox is kept, so auto-delete goes off first. */
    if (!s->keep_set)
      return dt_api_req(c, r, &s->url, "POST", NULL, "/sandbox/%s/autodelete/-1", s->id);
    return dt_api_req(c, r, &s->url, "POST", NULL, "/sandbox/%s/stop", s->id);
  case W_TIMEOUT:
    return dt_api_req(c, r, &s->url, "POST", NULL, "/sandbox/%s/%s/%ld", s->id,
                      s->interval ? s->interval : "autostop", s->minutes);
  case W_LIST:
    r->max_body = 16u << 20;
    return dt_api_req(c, r, &s->url, "GET", NULL, "/sandbox%s", s->query ? s->query : "");
  case W_ARCHIVE: return dt_api_req(c, r, &s->url, "POST", NULL, "/sandbox/%s/archive", s->id);
  case W_LABELS: return dt_api_req(c, r, &s->url, "PUT", s->body, "/sandbox/%s/labels", s->id);
  }
  return SBX_EINVAL;
}

/* ---- parse ------------------------------------------------------------------- */

/* Not there yet: poll again after 100 ms growing x1.5 up to 1 s, within the
 * bound; CALL_POLL or an error. */
static int poll_again(struct sbox_op *s, const char *what, const char *state,
                      struct sbx_errinfo *e) {
  struct sbx_call *k = &s->k;
  int slow = !strcmp(state, "restoring") || !strcmp(state, "pending_build") ||
             !strcmp(state, "building_snapshot") || !strcmp(state, "pulling_snapshot");
  if (slow && !k->op.c->cfg.start_wait_ms && s->wait_ms < DT_SLOW_WAIT_MS)
    s->wait_ms = DT_SLOW_WAIT_MS;
  double waited_ms = (ev_now(k->op.c->loop) - s->t0) * 1000.0;
  if (waited_ms > s->wait_ms) {
    sbx_errinfo_set(e, SBX_ETIMEDOUT, "%s: still '%s' after %ld s", what, state, s->wait_ms / 1000);
    return SBX_ETIMEDOUT;
  }
  /* The doc is kept when the id cannot be copied: a failed create still
   * needs it to delete the sandbox. */
  if (!s->id && !(s->id = sbx__strdup(sbx__alloc(k->op.c), sbx_json_str(s->doc, "id")))) {
    sbx_errinfo_set(e, SBX_ENOMEM, "%s: out of memory", what);
    return SBX_ENOMEM;
  }
  k->poll_ms = dt_backoff_ms(s->polls, 100, 1000);
  s->polls++;
  s->polling = 1;
  json_decref(s->doc);
  s->doc = NULL;
  return CALL_POLL;
}

/* Archive waits for "archived"; anything but its way there means another
 * call changed the sandbox meanwhile. */
static int check_archived(struct sbox_op *s, const char *what, const char *state,
                          struct sbx_errinfo *e) {
  if (!strcmp(state, "archived")) return 0;
  if (!strcmp(state, "archiving") || !strcmp(state, "stopped"))
    return poll_again(s, what, state, e);
  const char *why = sbx_json_str(s->doc, "errorReason");
  int failed = !strcmp(state, "error");
  sbx_errinfo_set(e, failed ? SBX_EPROVIDER : SBX_ECONFLICT, "%s: the sandbox went '%s'%s%s", what,
                  state, failed ? ": " : " while archiving", failed && why ? why : "");
  return e->status;
}

/* A create that failed once the sandbox existed: delete it, then fail. */
static int delete_failed(struct sbox_op *s, struct sbx_errinfo *e) {
  if (!s->id && s->doc) {
    const char *id = sbx_json_str(s->doc, "id");
    if (!(s->id = sbx__strdup(sbx__alloc(s->k.op.c), id))) { /* build_undo deletes it */
      sbx_errinfo_set(e, SBX_ENOMEM, "daytona: create sandbox %s: out of memory", id);
      return SBX_ENOMEM;
    }
  }
  if (!s->id) return e->status;
  s->failed = *e;
  s->failed.retryable = 0; /* the call machine must not repeat the DELETE for it */
  s->deleting = 1;
  s->k.poll_ms = 1;
  return CALL_POLL;
}

/* Create and start wait for "started"; stop waits for "stopped" (an
 * ephemeral sandbox is destroyed instead). */
static int check_state(struct sbox_op *s, const char *what, struct sbx_errinfo *e) {
  const char *state = sbx_json_str(s->doc, "state");
  if (!state) return 0; /* an old server without states: take it as done */
  if (s->what == W_ARCHIVE) return check_archived(s, what, state, e);
  if (s->what == W_PAUSE) {
    if (!strcmp(state, "stopped") || !strcmp(state, "destroyed") || !strcmp(state, "archived"))
      return 0;
    return poll_again(s, what, state, e);
  }
  if (!strcmp(state, "started")) return 0;
  int rc;
  if (!strcmp(state, "error") || !strcmp(state, "build_failed")) {
    const char *why = sbx_json_str(s->doc, "errorReason");
    sbx_errinfo_set(e, SBX_EPROVIDER, "%s: the sandbox failed to start: state %s: %s", what, state,
                    why ? why : "no reason given");
    rc = SBX_EPROVIDER;
  } else {
    rc = poll_again(s, what, state, e);
  }
  /* Out of memory: the call machine deletes the sandbox (build_undo). */
  return rc < 0 && rc != SBX_ENOMEM && s->what == W_CREATE ? delete_failed(s, e) : rc;
}

static int parse(struct sbx_call *k, struct sbx_http *h, struct sbx_errinfo *e) {
  struct sbox_op *s = sbox_of(k);
  struct dt_state *st = dt_of(k->op.c);
  char what[200];
  describe(s, what, sizeof what);
  if (s->deleting) { /* the create's cleanup: its own outcome is only logged */
    if ((h->status < 200 || h->status >= 300) && h->status != 404)
      sbx__log(k->op.c, SBX_LOG_WARN, "daytona", k->op.id,
               "%s: deleting the failed sandbox %s: HTTP %ld", what, s->id, h->status);
    dt_toolbox_drop(st, s->id);
    k->undo_armed = 0; /* deleted already */
    *e = s->failed;
    return e->status;
  }
  if (h->status < 200 || h->status >= 300) {
    if (s->what == W_PAUSE && s->polling && h->status == 404) return 0; /* ephemeral: gone */
    int rc = dt_http_error(h, what, e);
    if (h->status == 404 && s->id) dt_toolbox_drop(st, s->id);
    if (s->what == W_PAUSE && h->status == 400 && s->keep_set && !s->polling) {
      /* "not in a stoppable state" */
      e->status = SBX_ECONFLICT;
      return SBX_ECONFLICT;
    }
    if (s->what == W_ARCHIVE && h->status == 400 && !s->polling) {
      /* "Sandbox is not stopped", "State change in progress" */
      char said[SBX_ERRINFO_MSG_MAX];
      snprintf(said, sizeof said, "%s", e->message);
      sbx_errinfo_set(e, SBX_ECONFLICT, "%s (only a paused sandbox can be archived)", said);
      return SBX_ECONFLICT;
    }
    return rc;
  }
  if (s->what == W_KILL) {
    dt_toolbox_drop(st, s->id);
    return 0;
  }
  if (s->what == W_TIMEOUT || s->what == W_LABELS) return 0;
  if (s->what == W_PAUSE && !s->keep_set) {
    s->keep_set = 1;
    k->poll_ms = 1; /* the stop request, on the next turn */
    return CALL_POLL;
  }
  s->doc = e2b_parse_json_keys(h, s->what == W_LIST ? NULL : dt_dto_keys, what, e);
  if (!s->doc) return e->status;
  if (s->what == W_LIST) {
    json_t *items = dt_list_items(s->doc);
    if (!items) {
      sbx_errinfo_set(e, SBX_EPROTO, "%s: the reply has no items array", what);
      return SBX_EPROTO;
    }
    int rc = 0;
    for (size_t i = 0; !rc && i < json_array_size(items); i++)
      rc = dt_toolbox_learn(st, json_array_get(items, i));
    const char *next = sbx_json_str(s->doc, "nextCursor");
    if (!rc && next && *next && !(s->next_token = sbx__strdup(sbx__alloc(k->op.c), next)))
      rc = SBX_ENOMEM;
    if (rc) sbx_errinfo_set(e, rc, "%s: out of memory", what);
    return rc;
  }
  if (!json_is_object(s->doc) || !sbx_json_str(s->doc, "id")) {
    sbx_errinfo_set(e, SBX_EPROTO, "%s: the reply has no sandbox id", what);
    return SBX_EPROTO;
  }
  if (s->what == W_CREATE) k->undo_armed = 1; /* the sandbox exists: see build_undo */
  if (dt_toolbox_learn(st, s->doc) != 0) {
    sbx_errinfo_set(e, SBX_ENOMEM, "%s: out of memory", what);
    return SBX_ENOMEM;
  }
  if (s->what == W_INFO) return 0;
  int rc = check_state(s, what, e);
  if (rc == 0 && s->what == W_CREATE) {
    if (sbx__info_view_prepare(sbx__alloc(k->op.c), s->doc, dt_info_from_json, &s->view,
                               &s->have_view) != 0) {
      sbx_errinfo_set(e, SBX_ENOMEM, "%s: out of memory", what);
      return SBX_ENOMEM; /* undo_armed: the call machine deletes the sandbox */
    }
  }
  return rc;
}

/* ---- complete ------------------------------------------------------------------- */

static void complete(struct sbx_op *op, const sbx_error *err) {
  struct sbox_op *s = (struct sbox_op *)op;
  switch (s->what) {
  case W_CREATE:
    if (!err && s->have_view) {
      s->scb(op->c, op->id, NULL, &s->view.info, op->ud);
      break;
    }
    /* fall through */
  case W_CONNECT:
  case W_INFO: sbx__deliver_info(op, s->scb, s->doc, err, dt_info_from_json, "daytona"); break;
  case W_LIST: {
    json_t *arr = dt_list_items(s->doc);
    sbx__deliver_list(op, s->lcb, arr, s->next_token, err, dt_info_from_json, "daytona");
    break;
  }
  default: s->dcb(op->c, op->id, err, op->ud); break;
  }
}

static void destroy(struct sbx_op *op) {
  struct sbox_op *s = (struct sbox_op *)op;
  const sbx_allocator *a = sbx__alloc(op->c);
  sbx__free(a, s->id);
  sbx__free(a, s->url);
  sbx__free(a, s->body);
  sbx__free(a, s->query);
  sbx__free(a, s->next_token);
  if (s->have_view) sbx__info_view_free(a, &s->view);
  if (s->doc) json_decref(s->doc);
}

SBX_CALL_KIND(kind_create, "daytona.create", complete, destroy);
SBX_CALL_KIND(kind_connect, "daytona.connect", complete, destroy);
SBX_CALL_KIND(kind_info, "daytona.info", complete, destroy);
SBX_CALL_KIND(kind_kill, "daytona.kill", complete, destroy);
SBX_CALL_KIND(kind_pause, "daytona.pause", complete, destroy);
SBX_CALL_KIND(kind_timeout, "daytona.set_timeout", complete, destroy);
SBX_CALL_KIND(kind_list, "daytona.list", complete, destroy);
SBX_CALL_KIND(kind_archive, "daytona.archive", complete, destroy);
SBX_CALL_KIND(kind_labels, "daytona.set_labels", complete, destroy);

/* A create that ran out of memory once the sandbox existed: delete it (the
 * caller never learns its id). */
static int build_undo(struct sbx_call *k, struct sbx_http_req *r) {
  struct sbox_op *s = sbox_of(k);
  const char *id = s->id ? s->id : sbx_json_str(s->doc, "id");
  if (!id) return SBX_ENOTFOUND;
  sbx__free(sbx__alloc(k->op.c), s->url);
  s->url = NULL;
  return dt_api_req(k->op.c, r, &s->url, "DELETE", NULL, "/sandbox/%s", id);
}

/* A create whose reply was lost must not be repeated blindly. */
static const struct call_hooks hooks_create = {.cls = SBX_RATE_CREATE,
                                               .retry = CALL_RETRY_UNSENT,
                                               .build = build,
                                               .parse = parse,
                                               .build_undo = build_undo};
static const struct call_hooks hooks_lifecycle = {
    .cls = SBX_RATE_LIFECYCLE, .retry = CALL_RETRY_ANY, .build = build, .parse = parse};

static struct sbox_op *start(sbx_client *c, const struct op_kind *kind, const struct call_hooks *h,
                             enum sbox_what what, const char *id, void *ud, sbx_status *st) {
  char *idc;
  struct sbox_op *s =
      (struct sbox_op *)sbx__call_new_for(c, kind, h, sizeof *s, id, dt_valid_id, ud, st, &idc);
  if (!s) return NULL;
  s->what = what;
  s->id = idc;
  s->t0 = ev_now(c->loop);
  s->wait_ms = c->cfg.start_wait_ms ? c->cfg.start_wait_ms
               : what == W_ARCHIVE  ? DT_SLOW_WAIT_MS
                                    : DT_WAIT_MAX_MS;
  return s;
}

sbx_status dt_create(sbx_client *c, const sbx_create_opts *o, sbx_sandbox_cb cb, void *ud,
                     sbx_op_id *out) {
  sbx_status st;
  char why[200];
  char *body = dt_create_body(sbx__alloc(c), o, dt_of(c)->target, &st, why, sizeof why);
  if (!body) {
    if (st != SBX_ENOMEM) sbx__refuse(c, st, "sbx_sandbox_create", "%s", why);
    return st;
  }
  struct sbox_op *s = start(c, &kind_create, &hooks_create, W_CREATE, NULL, ud, &st);
  if (!s) {
    sbx__free(sbx__alloc(c), body);
    return st;
  }
  s->body = body;
  s->scb = cb;
  *out = s->k.op.id;
  return SBX_OK;
}

static sbx_status start_simple(sbx_client *c, const struct op_kind *kind, enum sbox_what what,
                               const char *id, sbx_sandbox_cb scb, sbx_done_cb dcb, void *ud,
                               sbx_op_id *out, long minutes) {
  sbx_status st;
  struct sbox_op *s = start(c, kind, &hooks_lifecycle, what, id, ud, &st);
  if (!s) return st;
  s->scb = scb;
  s->dcb = dcb;
  s->minutes = minutes;
  *out = s->k.op.id;
  return SBX_OK;
}

/* timeout_s is not sent: a started sandbox keeps its auto-stop interval
 * (use set_timeout to change it). */
sbx_status dt_connect(sbx_client *c, const char *id, long timeout_s, int legacy_v1,
                      sbx_sandbox_cb cb, void *ud, sbx_op_id *out) {
  return start_simple(c, &kind_connect, W_CONNECT, id, cb, NULL, ud, out, 0);
}

sbx_status dt_info(sbx_client *c, const char *id, sbx_sandbox_cb cb, void *ud, sbx_op_id *out) {
  return start_simple(c, &kind_info, W_INFO, id, cb, NULL, ud, out, 0);
}

sbx_status dt_kill(sbx_client *c, const char *id, sbx_done_cb cb, void *ud, sbx_op_id *out) {
  return start_simple(c, &kind_kill, W_KILL, id, NULL, cb, ud, out, 0);
}

sbx_status dt_pause(sbx_client *c, const char *id, sbx_done_cb cb, void *ud, sbx_op_id *out) {
  return start_simple(c, &kind_pause, W_PAUSE, id, NULL, cb, ud, out, 0);
}

sbx_status dt_set_timeout(sbx_client *c, const char *id, long timeout_s, sbx_done_cb cb, void *ud,
                          sbx_op_id *out) {
  return start_simple(c, &kind_timeout, W_TIMEOUT, id, NULL, cb, ud, out, dt_minutes(timeout_s));
}

sbx_status dt_set_interval(sbx_client *c, const char *id, int which, long minutes, sbx_done_cb cb,
                           void *ud, sbx_op_id *out) {
  static const char *const paths[] = {NULL, "autostop", "autoarchive", "autodelete"};
  sbx_status st;
  struct sbox_op *s = start(c, &kind_timeout, &hooks_lifecycle, W_TIMEOUT, id, ud, &st);
  if (!s) return st;
  s->dcb = cb;
  s->minutes = minutes;
  s->interval = paths[which];
  *out = s->k.op.id;
  return SBX_OK;
}

sbx_status dt_list(sbx_client *c, const sbx_list_opts *o, sbx_list_cb cb, void *ud,
                   sbx_op_id *out) {
  char *query = dt_list_query(sbx__alloc(c), o);
  if (!query) return SBX_ENOMEM;
  sbx_status st;
  struct sbox_op *s = start(c, &kind_list, &hooks_lifecycle, W_LIST, NULL, ud, &st);
  if (!s) {
    sbx__free(sbx__alloc(c), query);
    return st;
  }
  s->query = query;
  s->lcb = cb;
  *out = s->k.op.id;
  return SBX_OK;
}

sbx_status dt_archive(sbx_client *c, const char *id, sbx_done_cb cb, void *ud, sbx_op_id *out) {
  return start_simple(c, &kind_archive, W_ARCHIVE, id, NULL, cb, ud, out, 0);
}

/* A PUT of the whole set: repeating it is harmless. */
sbx_status dt_set_labels(sbx_client *c, const char *id, const sbx_kv *labels, size_t n,
                         sbx_done_cb cb, void *ud, sbx_op_id *out) {
  char *body = dt_labels_body(sbx__alloc(c), labels, n);
  if (!body) return SBX_ENOMEM;
  sbx_status st;
  struct sbox_op *s = start(c, &kind_labels, &hooks_lifecycle, W_LABELS, id, ud, &st);
  if (!s) {
    sbx__free(sbx__alloc(c), body);
    return st;
  }
  s->body = body;
  s->dcb = cb;
  *out = s->k.op.id;
  return SBX_OK;
}
