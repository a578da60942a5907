/* daytona_snapshot.c - Daytona snapshots: create (then wait for "active"),
 * get, list (every page), delete (by id, or by a name looked up first).
 * Each is a call op (reactor/call.h); a follow-up request of the same op
 * (the next poll, the next page, the DELETE after a lookup) is asked for
 * with CALL_POLL, so the machine's rate limiting, retries, cancel and
 * deadlines cover every request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../protocol/json_util.h"
#include "daytona.h"
#include "e2b.h"

#define SNAP_PAGE 200     /* the API's largest page */
#define SNAP_MAX_PAGES 50 /* 10,000 snapshots: a bound on what a list holds */
#define SNAP_POLL_FIRST_MS 250
#define SNAP_POLL_MAX_MS 2000 /* the SDK polls builds every 1 s */

enum snap_what { S_CREATE, S_GET, S_LIST, S_DELETE };

struct snap_op {
  struct sbx_call k;
  enum snap_what what;
  char *ref;      /* as given: a name or an id */
  char *ref_path; /* ref escaped for the URL path */
  char *id_path;  /* the snapshot's id, escaped, once known (create, delete) */
  char *url;
  char *body;
  int posted;  /* create: the POST is done, GETs follow */
  int by_name; /* delete: ref was (or is being) looked up by name */
  int polls, page;
  long wait_ms;
  double t0;
  json_t *doc; /* create, get: the snapshot; list: the items so far */
  sbx_snapshot_cb scb;
  sbx_snapshot_list_cb lcb;
  sbx_done_cb dcb;
};

static struct snap_op *snap_of(struct sbx_call *k) {
  return (struct snap_op *)k; /* the call is the op's first member */
}

static void describe(const struct snap_op *s, char *buf, size_t n) {
  static const char *const verbs[] = {"create snapshot", "get snapshot", "list snapshots",
                                      "delete snapshot"};
  snprintf(buf, n, "daytona: %s%s%s", verbs[s->what], s->ref ? " " : "", s->ref ? s->ref : "");
}

/* 8-4-4-4-12 hex digits: the API's ids (the SDK deletes those directly). */
static int looks_uuid(const char *s) {
  if (strlen(s) != 36) return 0;
  for (int i = 0; i < 36; i++) {
    int dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i])) return 0;
  }
  return 1;
}

/* ---- build ------------------------------------------------------------------------ */

static int build(struct sbx_call *k, struct sbx_http_req *r, struct sbx_errinfo *e) {
  struct snap_op *s = snap_of(k);
  struct sbx_client *c = k->op.c;
  sbx__free(sbx__alloc(c), s->url);
  s->url = NULL;
  switch (s->what) {
  case S_CREATE:
    if (s->posted) return dt_api_req(c, r, &s->url, "GET", NULL, "/snapshots/%s", s->id_path);
    r->reserve_body = strlen(s->body) + 16384; /* see build_undo */
    return dt_api_req(c, r, &s->url, "POST", s->body, "/snapshots");
  case S_GET: return dt_api_req(c, r, &s->url, "GET", NULL, "/snapshots/%s", s->ref_path);
  case S_LIST:
    r->max_body = 16u << 20;
    return dt_api_req(c, r, &s->url, "GET", NULL, "/snapshots?page=%d&limit=%d", s->page,
                      SNAP_PAGE);
  case S_DELETE:
    if (s->id_path) return dt_api_req(c, r, &s->url, "DELETE", NULL, "/snapshots/%s", s->id_path);
    return dt_api_req(c, r, &s->url, "GET", NULL, "/snapshots/%s", s->ref_path);
  }
  return SBX_EINVAL;
}

/* ---- parse ------------------------------------------------------------------------ */

/* The op's next request, on the next loop turn. */
static int next_request(struct sbx_call *k) {
  k->poll_ms = 1;
  return CALL_POLL;
}

/* One snapshot in the reply, kept in s->doc; 0 or SBX_EPROTO. */
static int take_snapshot(struct snap_op *s, struct sbx_http *h, const char *what,
                         struct sbx_errinfo *e) {
  json_decref(s->doc);
  s->doc = e2b_parse_json(h, what, e);
  if (!s->doc) return e->status;
  sbx_snapshot_info info;
  if (dt_snapshot_from_json(s->doc, &info) == 0) return 0;
  sbx_errinfo_set(e, SBX_EPROTO, "%s: the reply is not a snapshot", what);
  return SBX_EPROTO;
}

/* Poll after SNAP_POLL_FIRST_MS growing to SNAP_POLL_MAX_MS, the last poll
 * at the bound; then SBX_ETIMEDOUT. */
static int poll_build(struct snap_op *s, const char *what, const char *state,
                      struct sbx_errinfo *e) {
  struct sbx_call *k = &s->k;
  long left = s->wait_ms - (long)((ev_now(k->op.c->loop) - s->t0) * 1000.0);
  if (left <= 0) {
    sbx_errinfo_set(e, SBX_ETIMEDOUT,
                    "%s: still '%s' after %ld s (the build goes on; follow it with get)", what,
                    state, s->wait_ms / 1000);
    return SBX_ETIMEDOUT;
  }
  long ms = dt_backoff_ms(s->polls++, SNAP_POLL_FIRST_MS, SNAP_POLL_MAX_MS);
  k->poll_ms = ms < left ? ms : left;
  return CALL_POLL;
}

static int check_build(struct snap_op *s, const char *what, struct sbx_errinfo *e) {
  const char *state = sbx_json_str(s->doc, "state");
  if (!state || !strcmp(state, "active")) return 0;
  if (!strcmp(state, "error") || !strcmp(state, "build_failed")) {
    const char *why = sbx_json_str(s->doc, "errorReason");
    sbx_errinfo_set(e, SBX_EPROVIDER, "%s: the build failed: state %s: %s", what, state,
                    why && *why ? why : "no reason given");
    return SBX_EPROVIDER;
  }
  return poll_build(s, what, state, e);
}

/* After the POST only GETs follow: any retryable error may be retried. */
static const struct call_hooks hooks_read;

static int parse_create(struct snap_op *s, struct sbx_http *h, const char *what,
                        struct sbx_errinfo *e) {
  int st = take_snapshot(s, h, what, e);
  if (st) return st;
  if (!s->posted) {
    s->posted = 1;
    s->k.undo_armed = 1; /* the snapshot exists: see build_undo */
    s->k.hooks = &hooks_read;
    s->id_path = dt_path_escape(sbx__alloc(s->k.op.c), sbx_json_str(s->doc, "id"));
    if (!s->id_path) {
      sbx_errinfo_set(e, SBX_ENOMEM, "%s: out of memory", what);
      return SBX_ENOMEM;
    }
  }
  return check_build(s, what, e);
}

/* Append the page's snapshots; ask for the next page while there is one. */
static int parse_page(struct snap_op *s, struct sbx_http *h, const char *what,
                      struct sbx_errinfo *e) {
  json_t *doc = e2b_parse_json(h, what, e);
  if (!doc) return e->status;
  json_t *items = json_object_get(doc, "items");
  int st = 0;
  if (!json_is_array(items)) {
    sbx_errinfo_set(e, SBX_EPROTO, "%s: the reply has no items array", what);
    st = SBX_EPROTO;
  }
  for (size_t i = 0; !st && i < json_array_size(items); i++) {
    sbx_snapshot_info info; /* only those that parse are kept */
    if (dt_snapshot_from_json(json_array_get(items, i), &info) == 0)
      json_array_append(s->doc, json_array_get(items, i));
  }
  long pages = (long)sbx_json_int(doc, "totalPages", 1);
  size_t got = json_array_size(items);
  json_decref(doc);
  if (st || s->page >= pages || got == 0) return st;
  if (s->page >= SNAP_MAX_PAGES) {
    sbx_errinfo_set(e, SBX_ETOOBIG, "%s: more than %d snapshots", what, SNAP_MAX_PAGES * SNAP_PAGE);
    return SBX_ETOOBIG;
  }
  s->page++;
  return next_request(&s->k);
}

static int parse_delete(struct snap_op *s, struct sbx_http *h, const char *what,
                        struct sbx_errinfo *e) {
  if (s->id_path) return 0; /* the DELETE went through */
  int st = take_snapshot(s, h, what, e);
  if (st) return st;
  s->id_path = dt_path_escape(sbx__alloc(s->k.op.c), sbx_json_str(s->doc, "id"));
  if (s->id_path) return next_request(&s->k);
  sbx_errinfo_set(e, SBX_ENOMEM, "%s: out of memory", what);
  return SBX_ENOMEM;
}

static int parse(struct sbx_call *k, struct sbx_http *h, struct sbx_errinfo *e) {
  struct snap_op *s = snap_of(k);
  char what[320];
  describe(s, what, sizeof what);
  if (h->status < 200 || h->status >= 300) {
    if (s->what == S_DELETE && h->status == 404 && !s->by_name) {
      /* not an id after all (names may look like one): look it up */
      s->by_name = 1;
      sbx__free(sbx__alloc(k->op.c), s->id_path);
      s->id_path = NULL;
      return next_request(k);
    }
    return dt_http_error(h, what, e);
  }
  switch (s->what) {
  case S_CREATE: return parse_create(s, h, what, e);
  case S_GET: return take_snapshot(s, h, what, e);
  case S_LIST: return parse_page(s, h, what, e);
  case S_DELETE: return parse_delete(s, h, what, e);
  }
  return SBX_EINVAL;
}

/* ---- complete --------------------------------------------------------------------- */

static void deliver_list(struct sbx_op *op, struct snap_op *s) {
  size_t n = json_array_size(s->doc);
  sbx_snapshot_info *items = n ? sbx__calloc(sbx__alloc(op->c), n, sizeof *items) : NULL;
  if (n && !items) {
    sbx_error oom = {.code = SBX_ENOMEM,
                     .retry_after_ms = -1,
                     .provider_code = "",
                     .message = "daytona: list snapshots: out of memory"};
    s->lcb(op->c, op->id, &oom, NULL, 0, op->ud);
    return;
  }
  for (size_t i = 0; i < n; i++)
    dt_snapshot_from_json(json_array_get(s->doc, i), &items[i]); /* checked in parse_page */
  s->lcb(op->c, op->id, NULL, items, n, op->ud);
  sbx__free(sbx__alloc(op->c), items);
}

static void complete(struct sbx_op *op, const sbx_error *err) {
  struct snap_op *s = (struct snap_op *)op;
  sbx_snapshot_info info;
  switch (s->what) {
  case S_CREATE:
  case S_GET:
    if (!err) dt_snapshot_from_json(s->doc, &info); /* checked in take_snapshot */
    s->scb(op->c, op->id, err, err ? NULL : &info, op->ud);
    break;
  case S_LIST:
    if (err)
      s->lcb(op->c, op->id, err, NULL, 0, op->ud);
    else
      deliver_list(op, s);
    break;
  case S_DELETE: s->dcb(op->c, op->id, err, op->ud); break;
  }
}

static void destroy(struct sbx_op *op) {
  struct snap_op *s = (struct snap_op *)op;
  const sbx_allocator *a = sbx__alloc(op->c);
  sbx__free(a, s->ref);
  sbx__free(a, s->ref_path);
  sbx__free(a, s->id_path);
  sbx__free(a, s->url);
  sbx__free(a, s->body);
  json_decref(s->doc);
}

SBX_CALL_KIND(kind_create, "daytona.snapshot_create", complete, destroy);
SBX_CALL_KIND(kind_get, "daytona.snapshot_get", complete, destroy);
SBX_CALL_KIND(kind_list, "daytona.snapshot_list", complete, destroy);
SBX_CALL_KIND(kind_delete, "daytona.snapshot_delete", complete, destroy);

/* A create that ran out of memory once the snapshot existed: delete it
 * (the caller never learns of it). Its reply was read into memory taken
 * before the POST went out. */
static int build_undo(struct sbx_call *k, struct sbx_http_req *r) {
  struct snap_op *s = snap_of(k);
  const sbx_allocator *a = sbx__alloc(k->op.c);
  const char *id = sbx_json_str(s->doc, "id");
  if (!s->id_path && id && !(s->id_path = dt_path_escape(a, id))) return SBX_ENOMEM;
  if (!s->id_path) return SBX_ENOTFOUND;
  sbx__free(a, s->url);
  s->url = NULL;
  return dt_api_req(k->op.c, r, &s->url, "DELETE", NULL, "/snapshots/%s", s->id_path);
}

/* A POST whose reply was lost is not repeated blindly (the name would be
 * taken by the first one). */
static const struct call_hooks hooks_post = {.cls = SBX_RATE_LIFECYCLE,
                                             .retry = CALL_RETRY_UNSENT,
                                             .build = build,
                                             .parse = parse,
                                             .build_undo = build_undo};
static const struct call_hooks hooks_read = {.cls = SBX_RATE_LIFECYCLE,
                                             .retry = CALL_RETRY_ANY,
                                             .build = build,
                                             .parse = parse,
                                             .build_undo = build_undo};

/* by_id: ref is taken for an id (its escaped path copied to id_path). */
static struct snap_op *snap_start(sbx_client *c, const struct op_kind *kind,
                                  const struct call_hooks *h, enum snap_what what, const char *ref,
                                  int by_id, void *ud, sbx_status *st) {
  if (ref && !dt_valid_ref(ref)) {
    sbx__log(
        c, SBX_LOG_WARN, "daytona", 0,
        "daytona: snapshot '%.100s' is not a valid id or name (letters, digits, '.', '_', '-', ':' "
        "and single '/' between parts)",
        ref);
    *st = SBX_EINVAL;
    return NULL;
  }
  /* Everything is copied before the op exists: a start call that runs out
   * of memory leaves nothing behind. */
  const sbx_allocator *a = sbx__alloc(c);
  char *refc = NULL, *path = NULL, *id_path = NULL;
  struct snap_op *s = NULL;
  *st = SBX_ENOMEM;
  if (!ref || ((refc = sbx__strdup(a, ref)) && (path = dt_path_escape(a, ref)) &&
               (!by_id || (id_path = sbx__strdup(a, path)))))
    s = (struct snap_op *)sbx__call_new(c, kind, h, sizeof *s, ud, st);
  if (!s) {
    sbx__free(a, refc);
    sbx__free(a, path);
    sbx__free(a, id_path);
    return NULL;
  }
  s->what = what;
  s->ref = refc;
  s->ref_path = path;
  s->id_path = id_path;
  s->t0 = ev_now(c->loop);
  return s;
}

sbx_status dt_snapshot_create(sbx_client *c, const sbx_snapshot_opts *o, sbx_snapshot_cb cb,
                              void *ud, sbx_op_id *out) {
  sbx_status st;
  char why[300];
  char *body = dt_snapshot_body(sbx__alloc(c), o, dt_of(c)->target, &st, why, sizeof why);
  if (!body) {
    if (st != SBX_ENOMEM) sbx__refuse(c, st, "sbx_snapshot_create", "%s", why);
    return st;
  }
  struct snap_op *s = snap_start(c, &kind_create, &hooks_post, S_CREATE, o->name, 0, ud, &st);
  if (!s) {
    sbx__free(sbx__alloc(c), body);
    return st;
  }
  s->body = body;
  s->wait_ms = (o->timeout_s > 0 ? o->timeout_s : DT_SNAPSHOT_WAIT_S) * 1000L;
  s->scb = cb;
  *out = s->k.op.id;
  return SBX_OK;
}

sbx_status dt_snapshot_list(sbx_client *c, sbx_snapshot_list_cb cb, void *ud, sbx_op_id *out) {
  sbx_status st;
  json_t *items = json_array();
  struct snap_op *s =
      items ? snap_start(c, &kind_list, &hooks_read, S_LIST, NULL, 0, ud, &st) : NULL;
  if (!s) {
    json_decref(items);
    return items ? st : SBX_ENOMEM;
  }
  s->doc = items;
  s->page = 1;
  s->lcb = cb;
  *out = s->k.op.id;
  return SBX_OK;
}

/* get and delete: by the id or name given. An id is deleted at once; a
 * name (or an id that turns out not to be one) is looked up first, as the
 * API deletes by id only. */
static sbx_status start_ref(sbx_client *c, const struct op_kind *kind, enum snap_what what,
                            const char *ref, sbx_snapshot_cb scb, sbx_done_cb dcb, void *ud,
                            sbx_op_id *out) {
  sbx_status st;
  int by_id = what == S_DELETE && ref && looks_uuid(ref);
  struct snap_op *s = snap_start(c, kind, &hooks_read, what, ref, by_id, ud, &st);
  if (!s) return st;
  s->scb = scb;
  s->dcb = dcb;
  s->by_name = !by_id;
  *out = s->k.op.id;
  return SBX_OK;
}

sbx_status dt_snapshot_get(sbx_client *c, const char *ref, sbx_snapshot_cb cb, void *ud,
                           sbx_op_id *out) {
  return start_ref(c, &kind_get, S_GET, ref, cb, NULL, ud, out);
}

sbx_status dt_snapshot_delete(sbx_client *c, const char *ref, sbx_done_cb cb, void *ud,
                              sbx_op_id *out) {
  return start_ref(c, &kind_delete, S_DELETE, ref, NULL, cb, ud, out);
}
