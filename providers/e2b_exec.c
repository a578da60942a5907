/* e2b_exec.c - streaming exec over envd's process.Process/Start and
 * process.Process/Connect (Connect protocol, JSON codec). Envelopes are
 * decoded incrementally as bytes arrive; output goes straight to the user's
 * callback, nothing is buffered beyond one split message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../protocol/base64.h"
#include "../protocol/connect.h"
#include "../protocol/json_util.h"
#include "e2b.h"

#define EXEC_MAX_MESSAGE (4u << 20) /* envd sends <= 32 KiB of output per event */
#define KEEPALIVE_S 30L             /* asked of the server; 3 missed = dead stream */

struct exec_op {
  struct e2b_envd_op e; /* call, sandbox id, request URL */
  int reattach;         /* Connect(pid) instead of Start */
  char *user;
  char *body; /* one envelope */
  size_t body_len;
  long timeout_ms;
  int detach;
  sbx_exec_cbs cbs;
  struct sbx_connect_decoder dec;
  uint32_t pid;
  unsigned got_start : 1, got_end : 1, detached : 1;
  int exit_code, exited;
  char status[64];
  uint64_t out_bytes;
};

static struct exec_op *exec_of(struct sbx_op *op) {
  return (struct exec_op *)op;
}

/* ---- the stream ---------------------------------------------------------------- */

unsigned char *e2b_exec_event_output(const sbx_allocator *a, const json_t *data, int *fd,
                                     long *len) {
  *fd = SBX_STDOUT;
  *len = 0;
  const char *b64 = sbx_json_str(data, "stdout");
  if (!b64 && (b64 = sbx_json_str(data, "stderr"))) *fd = SBX_STDERR;
  if (!b64) b64 = sbx_json_str(data, "pty");
  if (!b64) return NULL;
  size_t n = strlen(b64);
  unsigned char *buf = sbx__malloc(a, n / 4 * 3 + 4);
  if (!buf) {
    *len = -2;
    return NULL;
  }
  *len = sbx_base64_decode(b64, n, buf);
  if (*len < 0) {
    sbx__free(a, buf);
    return NULL;
  }
  return buf;
}

static int on_data_event(struct exec_op *x, const json_t *data) {
  struct sbx_op *op = &x->e.k.op;
  const sbx_allocator *a = sbx__alloc(op->c);
  int fd;
  long len;
  unsigned char *buf = e2b_exec_event_output(a, data, &fd, &len);
  if (len == -2) return sbx__op_fail(op, SBX_ENOMEM, "exec: out of memory decoding output");
  if (len < 0)
    return sbx__op_fail(op, SBX_EPROTO, "exec in sandbox %s: invalid base64 in output event",
                        x->e.id);
  if (!buf) return 0;
  x->out_bytes += (uint64_t)len;
  size_t cap = op->c->cfg.max_output;
  if (cap && x->out_bytes > cap) {
    sbx__free(a, buf);
    return sbx__op_fail(op, SBX_ETOOBIG, "exec in sandbox %s: output over the %zu-byte cap",
                        x->e.id, cap);
  }
  if (x->cbs.on_output && len > 0)
    x->cbs.on_output(op->c, op->id, fd, (const char *)buf, (size_t)len, op->ud);
  sbx__free(a, buf);
  return 0;
}

static void on_end_event(struct exec_op *x, const json_t *end) {
  x->got_end = 1;
  x->exited = sbx_json_bool(end, "exited", 0);
  x->exit_code = (int)sbx_json_int(end, "exitCode", 0);
  if (!x->exited && x->exit_code == 0) x->exit_code = -1;
  const char *st = sbx_json_str(end, "status");
  snprintf(x->status, sizeof x->status, "%s", st ? st : "");
}

/* One process event. Returns non-zero to stop the stream. */
static int on_event(struct exec_op *x, const json_t *ev) {
  struct sbx_op *op = &x->e.k.op;
  const json_t *v;
  if ((v = json_object_get(ev, "start"))) {
    if (x->got_start) return 0;
    x->got_start = 1;
    x->pid = (uint32_t)sbx_json_int(v, "pid", 0);
    sbx__call_streaming(&x->e.k);
    if (x->cbs.on_start) x->cbs.on_start(op->c, op->id, x->pid, op->ud);
    if (x->detach) {
      x->detached = 1;
      return 1; /* the process keeps running; only the stream ends */
    }
    return 0;
  }
  if (!x->got_start) /* envd always sends start first */
    return sbx__op_fail(op, SBX_EPROTO, "exec in sandbox %s: expected a start event first",
                        x->e.id);
  if ((v = json_object_get(ev, "data"))) return on_data_event(x, v);
  if ((v = json_object_get(ev, "end"))) on_end_event(x, v);
  return 0; /* keepalive and unknown events are ignored */
}

json_t *e2b_exec_event_doc(const char *payload, size_t len, char *why, size_t whylen) {
  json_t *doc = sbx_json_loadb(payload, len, why, whylen);
  if (doc && !json_is_object(json_object_get(doc, "event"))) {
    json_decref(doc);
    snprintf(why, whylen, "no event object");
    return NULL;
  }
  return doc;
}

static int on_message(void *ud, unsigned flags, const char *payload, size_t len) {
  struct exec_op *x = ud;
  struct sbx_op *op = &x->e.k.op;
  if (flags & SBX_CONNECT_FLAG_END_STREAM) {
    struct sbx_errinfo e;
    sbx_errinfo_clear(&e);
    if (sbx_connect_parse_end_stream(payload, len, &e) != 0) {
      sbx_errinfo_prefix(&e, "exec in sandbox %s", x->e.id);
      sbx__op_fail_info(op, &e);
      return 1;
    }
    return 0;
  }
  char why[160];
  json_t *doc = e2b_exec_event_doc(payload, len, why, sizeof why);
  if (!doc) {
    sbx__op_fail(op, SBX_EPROTO, "exec in sandbox %s: malformed event: %s", x->e.id, why);
    return 1;
  }
  int stop = on_event(x, json_object_get(doc, "event"));
  json_decref(doc);
  return stop;
}

static int sink(struct sbx_op *op, const char *data, size_t len) {
  struct exec_op *x = exec_of(op);
  struct sbx_errinfo e;
  sbx_errinfo_clear(&e);
  int rc = sbx_connect_decoder_feed(&x->dec, data, len, on_message, x, &e);
  if (rc < 0) {
    sbx_errinfo_prefix(&e, "exec in sandbox %s", x->e.id);
    sbx__op_fail_info(op, &e);
  }
  return rc != 0;
}

/* ---- request / reply ------------------------------------------------------------ */

static int build(struct sbx_call *k, struct sbx_http_req *r, struct sbx_errinfo *e) {
  struct exec_op *x = exec_of(&k->op);
  sbx__free(sbx__alloc(k->op.c), x->e.url);
  x->e.url = NULL;
  const char *path = x->reattach ? "/process.Process/Connect" : "/process.Process/Start";
  int st = e2b_envd_req(k->op.c, r, &x->e.url, x->e.id, "POST", x->user, path);
  if (st) return st;
  char hdr[64];
  r->headers = curl_slist_append(r->headers, "Content-Type: application/connect+json");
  if (r->headers) r->headers = curl_slist_append(r->headers, "Connect-Protocol-Version: 1");
  snprintf(hdr, sizeof hdr, "Keepalive-Ping-Interval: %ld", KEEPALIVE_S);
  if (r->headers) r->headers = curl_slist_append(r->headers, hdr);
  if (x->timeout_ms > 0 && r->headers) {
    snprintf(hdr, sizeof hdr, "Connect-Timeout-Ms: %ld", x->timeout_ms);
    r->headers = curl_slist_append(r->headers, hdr);
  }
  if (!r->headers) return SBX_ENOMEM;
  r->body = x->body;
  r->body_len = x->body_len;
  r->sink = sink;
  r->idle_timeout_s = KEEPALIVE_S * 3;
  /* A retried attempt starts a fresh stream. */
  sbx_connect_decoder_free(&x->dec);
  sbx_connect_decoder_init(&x->dec, EXEC_MAX_MESSAGE, sbx__alloc(k->op.c));
  return 0;
}

static int parse(struct sbx_call *k, struct sbx_http *h, struct sbx_errinfo *e) {
  struct exec_op *x = exec_of(&k->op);
  char what[160];
  snprintf(what, sizeof what, "exec in sandbox %s", x->e.id);
  if (h->status != 200) return e2b_http_error(h, 1, what, e);
  if (x->detached) return 0;
  if (!h->streaming) { /* 200 with an empty body */
    sbx_errinfo_set(e, SBX_EPROTO, "%s: empty stream (no start event)", what);
    return SBX_EPROTO;
  }
  if (sbx_connect_decoder_finish(&x->dec, e) != 0) {
    sbx_errinfo_prefix(e, "%s", what);
    return e->status;
  }
  if (!x->got_end) {
    sbx_errinfo_set(e, SBX_EPROTO, "%s: the stream ended without an end event (pid %u)", what,
                    x->pid);
    return SBX_EPROTO;
  }
  return 0;
}

static void complete(struct sbx_op *op, const sbx_error *err) {
  struct exec_op *x = exec_of(op);
  sbx_exec_result res = {.pid = x->pid,
                         .exit_code = x->exit_code,
                         .exited = x->exited,
                         .status = x->status,
                         .detached = x->detached};
  if (!x->got_end && !x->detached) {
    res.exit_code = -1;
  }
  x->cbs.on_done(op->c, op->id, err, (x->got_end || x->detached) ? &res : NULL, op->ud);
}

static void destroy(struct sbx_op *op) {
  struct exec_op *x = exec_of(op);
  const sbx_allocator *a = sbx__alloc(op->c);
  sbx_connect_decoder_free(&x->dec);
  sbx__free(a, x->e.id);
  sbx__free(a, x->e.url);
  sbx__free(a, x->user);
  sbx__free(a, x->body);
}

SBX_CALL_KIND(kind_start, "e2b.exec", complete, destroy);
SBX_CALL_KIND(kind_connect, "e2b.exec_connect", complete, destroy);

/* Starting a process twice is worse than failing: retry only unsent. */
static const struct call_hooks hooks_start = {.cls = SBX_RATE_DATA,
                                              .retry = CALL_RETRY_UNSENT,
                                              E2B_ENVD_RESOLVE_HOOKS,
                                              .build = build,
                                              .parse = parse};
static const struct call_hooks hooks_connect = {.cls = SBX_RATE_DATA,
                                                .retry = CALL_RETRY_ANY,
                                                E2B_ENVD_RESOLVE_HOOKS,
                                                .build = build,
                                                .parse = parse};

/* Frame a JSON message as one Connect envelope. */
static char *envelope(const sbx_allocator *a, json_t *msg, size_t *len_out) {
  size_t n = 0;
  char *json = sbx_json_dump(a, msg, &n);
  if (!json) return NULL;
  char *buf = sbx__malloc(a, n + SBX_CONNECT_PREFIX_LEN);
  if (buf) {
    sbx_connect_encode_prefix(0, (uint32_t)n, (unsigned char *)buf);
    memcpy(buf + SBX_CONNECT_PREFIX_LEN, json, n);
    *len_out = n + SBX_CONNECT_PREFIX_LEN;
  }
  sbx__free(a, json);
  return buf;
}

static json_t *start_request(const sbx_exec_opts *o) {
  json_t *proc = json_object(), *args = json_array(), *req = json_object();
  if (!proc || !args || !req) goto fail;
  if (o->cmd) {
    json_object_set_new(proc, "cmd", json_string("/bin/bash"));
    json_array_append_new(args, json_string("-l"));
    json_array_append_new(args, json_string("-c"));
    json_array_append_new(args, json_string(o->cmd));
  } else {
    json_object_set_new(proc, "cmd", json_string(o->argv[0]));
    for (size_t i = 1; o->argv[i]; i++)
      json_array_append_new(args, json_string(o->argv[i]));
  }
  json_object_set_new(proc, "args", args);
  args = NULL;
  if (o->n_envs) {
    json_t *envs = json_object();
    for (size_t i = 0; envs && i < o->n_envs; i++)
      if (o->envs[i].key && o->envs[i].value)
        json_object_set_new(envs, o->envs[i].key, json_string(o->envs[i].value));
    json_object_set_new(proc, "envs", envs);
  }
  if (o->cwd && *o->cwd) json_object_set_new(proc, "cwd", json_string(o->cwd));
  json_object_set_new(req, "process", proc);
  json_object_set_new(req, "stdin", json_boolean(o->stdin_open));
  return req;
fail:
  if (proc) json_decref(proc);
  if (args) json_decref(args);
  if (req) json_decref(req);
  return NULL;
}

static sbx_status start_op(sbx_client *c, const struct op_kind *kind, const struct call_hooks *h,
                           const char *id, const char *user, json_t *msg, const sbx_exec_cbs *cbs,
                           void *ud, struct exec_op **xp) {
  if (!e2b_valid_id(id)) {
    json_decref(msg);
    return sbx__refuse(c, SBX_EINVAL, "e2b", "id '%.128s' is not an E2B sandbox id", id);
  }
  const sbx_allocator *a = sbx__alloc(c);
  size_t len = 0;
  char *body = envelope(a, msg, &len);
  json_decref(msg);
  char *idc = sbx__strdup(a, id), *userc = user ? sbx__strdup(a, user) : NULL;
  sbx_status st = SBX_ENOMEM;
  struct exec_op *x = NULL;
  if (body && idc && (!user || userc))
    x = (struct exec_op *)sbx__call_new(c, kind, h, sizeof *x, ud, &st);
  if (!x) {
    sbx__free(a, body);
    sbx__free(a, idc);
    sbx__free(a, userc);
    return st;
  }
  x->e.id = idc;
  x->user = userc;
  x->body = body;
  x->body_len = len;
  x->cbs = *cbs;
  sbx_connect_decoder_init(&x->dec, EXEC_MAX_MESSAGE, a);
  *xp = x;
  return SBX_OK;
}

sbx_status e2b_exec_start(sbx_client *c, const char *id, const sbx_exec_opts *o,
                          const sbx_exec_cbs *cbs, void *ud, sbx_op_id *out) {
  json_t *msg = start_request(o);
  if (!msg) return SBX_ENOMEM;
  struct exec_op *x;
  sbx_status st = start_op(c, &kind_start, &hooks_start, id, o->user, msg, cbs, ud, &x);
  if (st) return st;
  x->timeout_ms = o->timeout_ms;
  x->detach = o->detach;
  *out = x->e.k.op.id;
  return SBX_OK;
}

sbx_status e2b_exec_connect(sbx_client *c, const char *id, uint32_t pid, const sbx_exec_cbs *cbs,
                            void *ud, sbx_op_id *out) {
  json_t *msg = json_pack("{s:{s:I}}", "process", "pid", (json_int_t)pid);
  if (!msg) return SBX_ENOMEM;
  struct exec_op *x;
  sbx_status st = start_op(c, &kind_connect, &hooks_connect, id, NULL, msg, cbs, ud, &x);
  if (st) return st;
  x->reattach = 1;
  *out = x->e.k.op.id;
  return SBX_OK;
}
