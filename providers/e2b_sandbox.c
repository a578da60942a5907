/* e2b_sandbox.c - E2B control-plane ops: create, connect (resume), info,
 * kill, pause, set timeout, list. Each is a call op (reactor/call.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../protocol/json_util.h"
#include "e2b.h"
#include "prov_util.h"

enum sbox_what { W_CREATE, W_CONNECT, W_INFO, W_KILL, W_PAUSE, W_TIMEOUT, W_LIST };

struct sbox_op {
  struct sbx_call k;
  enum sbox_what what;
  char *id;
  char *url;
  char *body;  /* JSON request body */
  char *query; /* list query string */
  long timeout_s;
  int legacy_v1;
  sbx_sandbox_cb scb;
  sbx_done_cb dcb;
  sbx_list_cb lcb;
  json_t *doc;      /* parsed reply, alive until the callback returns */
  char *next_token; /* list */
  char made[64];    /* create: the sandbox the server made, for build_undo */
  /* create: the new sandbox's info, built in parse while the undo can still
   * delete it, so delivering it needs no memory whatever the reply holds
   * (E2B's create reply carries no labels today; more than 8 would) */
  struct sbx_info_view view;
  int have_view;
};

/* A create's reply (a few hundred bytes) is read into memory taken before the
 * request goes out: once the sandbox exists, nothing may fail unseen. */
#define E2B_CREATE_REPLY_RESERVE 4096

static struct sbox_op *sbox_of(struct sbx_call *k) {
  return (struct sbox_op *)k;
}

static void describe(const struct sbox_op *s, char *buf, size_t n) {
  static const char *const verbs[] = {
      "create sandbox", "connect to sandbox",     "get sandbox",   "kill sandbox",
      "pause sandbox",  "set timeout of sandbox", "list sandboxes"};
  snprintf(buf, n, "%s%s%s", verbs[s->what], s->id ? " " : "", s->id ? s->id : "");
}

/* ---- build ------------------------------------------------------------------- */

static int build(struct sbx_call *k, struct sbx_http_req *r, struct sbx_errinfo *e) {
  struct sbox_op *s = sbox_of(k);
  struct sbx_client *c = k->op.c;
  sbx__free(sbx__alloc(c), s->url);
  s->url = NULL;
  switch (s->what) {
  case W_CREATE:
    r->reserve_body = E2B_CREATE_REPLY_RESERVE;
    return e2b_api_req(c, r, &s->url, "POST", s->body, "%s",
                       s->legacy_v1 ? "/sandboxes" : "/v2/sandboxes");
  case W_CONNECT:
    return e2b_api_req(c, r, &s->url, "POST", s->body, "%s/sandboxes/%s/connect",
                       s->legacy_v1 ? "" : "/v2", s->id);
  case W_INFO: return e2b_api_req(c, r, &s->url, "GET", NULL, "/sandboxes/%s", s->id);
  case W_KILL: return e2b_api_req(c, r, &s->url, "DELETE", NULL, "/sandboxes/%s", s->id);
  case W_PAUSE: return e2b_api_req(c, r, &s->url, "POST", s->body, "/sandboxes/%s/pause", s->id);
  case W_TIMEOUT:
    return e2b_api_req(c, r, &s->url, "POST", s->body, "/sandboxes/%s/timeout", s->id);
  case W_LIST:
    r->max_body = 16u << 20;
    return e2b_api_req(c, r, &s->url, "GET", NULL, "/v2/sandboxes%s", s->query ? s->query : "");
  }
  return SBX_EINVAL;
}

/* ---- parse ------------------------------------------------------------------- */

json_t *e2b_sandbox_reply(const struct sbx_http *h, int list, const char *what,
                          struct sbx_errinfo *e) {
  json_t *doc = e2b_parse_json(h, what, e);
  if (!doc) return NULL;
  if (list && !json_is_array(doc)) {
    sbx_errinfo_set(e, SBX_EPROTO, "%s: the reply is not a JSON array", what);
  } else if (!list && (!json_is_object(doc) || !sbx_json_str(doc, "sandboxID"))) {
    sbx_errinfo_set(e, SBX_EPROTO, "%s: the reply has no sandboxID", what);
  } else {
    return doc;
  }
  json_decref(doc);
  return NULL;
}

static int parse(struct sbx_call *k, struct sbx_http *h, struct sbx_errinfo *e) {
  struct sbox_op *s = sbox_of(k);
  struct e2b_state *st = e2b_of(k->op.c);
  char what[200];
  describe(s, what, sizeof what);
  if (h->status < 200 || h->status >= 300) {
    int rc = e2b_http_error(h, 0, what, e);
    if (s->what == W_KILL && h->status == 404) e2b_token_drop(st, s->id);
    return rc;
  }
  switch (s->what) {
  case W_KILL: e2b_token_drop(st, s->id); return 0;
  case W_PAUSE:
  case W_TIMEOUT: return 0;
  default: break;
  }
  s->doc = e2b_sandbox_reply(h, s->what == W_LIST, what, e);
  if (!s->doc) return e->status;
  const char *made = sbx_json_str(s->doc, "sandboxID");
  if (s->what == W_CREATE && e2b_valid_id(made) && strlen(made) < sizeof s->made) {
    /* From here a failure for want of memory deletes it (build_undo). */
    memcpy(s->made, made, strlen(made) + 1);
    k->undo_armed = 1;
  }
  if (s->what == W_LIST) {
    if (h->next_token && !(s->next_token = sbx__strdup(sbx__alloc(k->op.c), h->next_token))) {
      sbx_errinfo_set(e, SBX_ENOMEM, "%s: out of memory", what);
      return SBX_ENOMEM;
    }
    return 0;
  }
  /* Remember the envd access token so data-plane calls need no lookup. */
  const char *token = sbx_json_str(s->doc, "envdAccessToken");
  if ((s->what != W_INFO || token) && e2b_token_put(st, sbx_json_str(s->doc, "sandboxID"), token,
                                                    sbx_json_str(s->doc, "domain")) != 0) {
    sbx_errinfo_set(e, SBX_ENOMEM, "%s: out of memory caching the access token", what);
    return SBX_ENOMEM;
  }
  if (s->what == W_CREATE) {
    const sbx_allocator *a = sbx__alloc(k->op.c);
    if (sbx__info_view_prepare(a, s->doc, e2b_info_from_json, &s->view, &s->have_view) != 0) {
      sbx_errinfo_set(e, SBX_ENOMEM, "%s: out of memory", what);
      return SBX_ENOMEM; /* undo_armed: the call machine deletes the sandbox */
    }
  }
  return 0;
}

/* The create ran out of memory after E2B made the sandbox: delete it, or the
 * caller, who never learns its id, would leave it running. */
static int build_undo(struct sbx_call *k, struct sbx_http_req *r) {
  struct sbox_op *s = sbox_of(k);
  if (!s->made[0]) return SBX_EINVAL;
  e2b_token_drop(e2b_of(k->op.c), s->made);
  sbx__free(sbx__alloc(k->op.c), s->url);
  s->url = NULL;
  return e2b_api_req(k->op.c, r, &s->url, "DELETE", NULL, "/sandboxes/%s", s->made);
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
  case W_INFO: sbx__deliver_info(op, s->scb, s->doc, err, e2b_info_from_json, ""); break;
  case W_LIST:
    sbx__deliver_list(op, s->lcb, s->doc, s->next_token, err, e2b_info_from_json, "");
    break;
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

SBX_CALL_KIND(kind_create, "e2b.create", complete, destroy);
SBX_CALL_KIND(kind_connect, "e2b.connect", complete, destroy);
SBX_CALL_KIND(kind_info, "e2b.info", complete, destroy);
SBX_CALL_KIND(kind_kill, "e2b.kill", complete, destroy);
SBX_CALL_KIND(kind_pause, "e2b.pause", complete, destroy);
SBX_CALL_KIND(kind_timeout, "e2b.set_timeout", complete, destroy);
SBX_CALL_KIND(kind_list, "e2b.list", complete, destroy);

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
      (struct sbox_op *)sbx__call_new_for(c, kind, h, sizeof *s, id, e2b_valid_id, ud, st, &idc);
  if (!s) return NULL;
  s->what = what;
  s->id = idc;
  return s;
}

/* ---- create ------------------------------------------------------------------- */

static json_t *kv_object(const sbx_kv *kv, size_t n) {
  json_t *o = json_object();
  for (size_t i = 0; o && i < n; i++)
    if (kv[i].key && kv[i].value) json_object_set_new(o, kv[i].key, json_string(kv[i].value));
  return o;
}

static json_t *str_array(const char *const *v, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < n; i++)
    if (v[i]) json_array_append_new(a, json_string(v[i]));
  return a;
}

static char *create_body(const sbx_allocator *a, const sbx_create_opts *o) {
  json_t *b = json_object();
  if (!b) return NULL;
  json_object_set_new(b, "templateID", json_string(o->template_id ? o->template_id : "base"));
  if (o->timeout_s > 0)
    json_object_set_new(b, "timeout", json_integer(o->timeout_s));
  else if (o->legacy_v1)
    json_object_set_new(b, "timeout", json_integer(300));
  if (o->n_metadata) json_object_set_new(b, "metadata", kv_object(o->metadata, o->n_metadata));
  if (o->n_envs) json_object_set_new(b, "envVars", kv_object(o->envs, o->n_envs));
  if (o->auto_pause != SBX_UNSET) json_object_set_new(b, "autoPause", json_boolean(o->auto_pause));
  if (o->allow_internet != SBX_UNSET)
    json_object_set_new(b, "allow_internet_access", json_boolean(o->allow_internet));
  if (o->n_allow_out || o->n_deny_out) {
    json_t *net = json_object();
    if (o->n_allow_out)
      json_object_set_new(net, "allowOut", str_array(o->allow_out, o->n_allow_out));
    if (o->n_deny_out) json_object_set_new(net, "denyOut", str_array(o->deny_out, o->n_deny_out));
    json_object_set_new(b, "network", net);
  }
  if (o->legacy_v1 && o->secure != SBX_UNSET)
    json_object_set_new(b, "secure", json_boolean(o->secure));
  char *s = sbx_json_dump(a, b, NULL);
  json_decref(b);
  return s;
}

sbx_status e2b_create(sbx_client *c, const sbx_create_opts *o, sbx_sandbox_cb cb, void *ud,
                      sbx_op_id *out) {
  char *body = create_body(sbx__alloc(c), o);
  if (!body) return SBX_ENOMEM;
  sbx_status st;
  struct sbox_op *s = start(c, &kind_create, &hooks_create, W_CREATE, NULL, ud, &st);
  if (!s) {
    sbx__free(sbx__alloc(c), body);
    return st;
  }
  s->body = body;
  s->legacy_v1 = o->legacy_v1;
  s->scb = cb;
  *out = s->k.op.id;
  return SBX_OK;
}

/* ---- by id ---------------------------------------------------------------------- */

static sbx_status start_simple(sbx_client *c, const struct op_kind *kind, enum sbox_what what,
                               const char *id, char *body, sbx_sandbox_cb scb, sbx_done_cb dcb,
                               void *ud, sbx_op_id *out, struct sbox_op **sp) {
  sbx_status st;
  struct sbox_op *s = start(c, kind, &hooks_lifecycle, what, id, ud, &st);
  if (!s) {
    sbx__free(sbx__alloc(c), body);
    return st;
  }
  s->body = body;
  s->scb = scb;
  s->dcb = dcb;
  *out = s->k.op.id;
  if (sp) *sp = s;
  return SBX_OK;
}

static char *timeout_body(const sbx_allocator *a, const char *key, long v) {
  return v > 0 ? sbx__asprintf(a, "{\"%s\":%ld}", key, v) : sbx__strdup(a, "{}");
}

sbx_status e2b_connect(sbx_client *c, const char *id, long timeout_s, int legacy_v1,
                       sbx_sandbox_cb cb, void *ud, sbx_op_id *out) {
  /* The v1 path requires a timeout; the SDK sent 300 by default. */
  char *body =
      timeout_body(sbx__alloc(c), "timeout", legacy_v1 && timeout_s <= 0 ? 300 : timeout_s);
  if (!body) return SBX_ENOMEM;
  struct sbox_op *s = NULL;
  sbx_status st = start_simple(c, &kind_connect, W_CONNECT, id, body, cb, NULL, ud, out, &s);
  if (st == SBX_OK) s->legacy_v1 = legacy_v1;
  return st;
}

sbx_status e2b_info(sbx_client *c, const char *id, sbx_sandbox_cb cb, void *ud, sbx_op_id *out) {
  return start_simple(c, &kind_info, W_INFO, id, NULL, cb, NULL, ud, out, NULL);
}

sbx_status e2b_kill(sbx_client *c, const char *id, sbx_done_cb cb, void *ud, sbx_op_id *out) {
  return start_simple(c, &kind_kill, W_KILL, id, NULL, NULL, cb, ud, out, NULL);
}

sbx_status e2b_pause(sbx_client *c, const char *id, sbx_done_cb cb, void *ud, sbx_op_id *out) {
  char *body = sbx__strdup(sbx__alloc(c), "{}");
  if (!body) return SBX_ENOMEM;
  return start_simple(c, &kind_pause, W_PAUSE, id, body, NULL, cb, ud, out, NULL);
}

sbx_status e2b_set_timeout(sbx_client *c, const char *id, long timeout_s, sbx_done_cb cb, void *ud,
                           sbx_op_id *out) {
  char *body = sbx__asprintf(sbx__alloc(c), "{\"timeout\":%ld}", timeout_s);
  if (!body) return SBX_ENOMEM;
  return start_simple(c, &kind_timeout, W_TIMEOUT, id, body, NULL, cb, ud, out, NULL);
}

/* ---- list ------------------------------------------------------------------------ */

/* The metadata filter is "k=v&k2=v2" with each part percent-encoded, then the
 * whole encoded twice more (E2B's server unescapes it twice; see §3.3): the
 * once-encoded string here, the caller encodes it again into the query. */
static char *metadata_param(const sbx_allocator *a, const sbx_kv *kv, size_t n) {
  struct sbx_str inner;
  sbx_str_init(&inner, a);
  for (size_t i = 0; i < n; i++) {
    if (i) sbx_str_adds(&inner, "&");
    sbx_str_url_encode(&inner, kv[i].key ? kv[i].key : "");
    sbx_str_adds(&inner, "=");
    sbx_str_url_encode(&inner, kv[i].value ? kv[i].value : "");
  }
  char *raw = sbx_str_take(&inner, NULL);
  if (!raw) return NULL;
  sbx_str_url_encode(&inner, raw);
  sbx__free(a, raw);
  return sbx_str_take(&inner, NULL);
}

/* The query string ("" or "?k=v&..."); NULL when out of memory. */
static char *list_query(const sbx_allocator *a, const sbx_list_opts *o) {
  struct sbx_str q;
  sbx_str_init(&q, a);
  char sep = '?';
  if (o->n_metadata) {
    char *m = metadata_param(a, o->metadata, o->n_metadata);
    if (!m) return NULL;
    sbx_str_addf(&q, "%cmetadata=", sep), sep = '&';
    sbx_str_url_encode(&q, m);
    sbx__free(a, m);
  }
  if (o->state && *o->state) {
    sbx_str_addf(&q, "%cstate=", sep), sep = '&';
    sbx_str_url_encode(&q, o->state);
  }
  if (o->limit > 0) sbx_str_addf(&q, "%climit=%d", sep, o->limit), sep = '&';
  if (o->next_token && *o->next_token) {
    sbx_str_addf(&q, "%cnextToken=", sep);
    sbx_str_url_encode(&q, o->next_token);
  }
  return sbx_str_take(&q, NULL);
}

sbx_status e2b_list(sbx_client *c, const sbx_list_opts *o, sbx_list_cb cb, void *ud,
                    sbx_op_id *out) {
  char *query = list_query(sbx__alloc(c), o);
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
