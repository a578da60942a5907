/* e2b_rpc.c - unary Connect calls to envd (JSON codec): process signals and
 * stdin, and the filesystem service (ListDir, Stat, MakeDir, Remove, Move). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../protocol/base64.h"
#include "../protocol/connect.h"
#include "../protocol/json_util.h"
#include "e2b.h"

enum rpc_result { RPC_DONE, RPC_ENTRIES };

struct rpc_op {
  struct e2b_envd_op e; /* call, sandbox id, request URL */
  char *body;
  const char *method; /* "/process.Process/SendSignal" */
  const char *verb;   /* for messages: "send signal" */
  char *subject;      /* "pid 12", "/home/user/x" */
  enum rpc_result result;
  const char *entries_key; /* "entries" (array) or "entry" (object) */
  sbx_done_cb dcb;
  sbx_entries_cb ecb;
  json_t *doc;
};

static struct rpc_op *rpc_of(struct sbx_op *op) {
  return (struct rpc_op *)op;
}

static void describe(const struct rpc_op *r, char *buf, size_t n) {
  snprintf(buf, n, "%s %s in sandbox %s", r->verb, r->subject, r->e.id);
}

static int build(struct sbx_call *k, struct sbx_http_req *r, struct sbx_errinfo *e) {
  struct rpc_op *x = rpc_of(&k->op);
  sbx__free(sbx__alloc(k->op.c), x->e.url);
  x->e.url = NULL;
  int st = e2b_envd_req(k->op.c, r, &x->e.url, x->e.id, "POST", NULL, x->method);
  if (st) return st;
  r->headers = curl_slist_append(r->headers, "Content-Type: application/json");
  if (r->headers) r->headers = curl_slist_append(r->headers, "Connect-Protocol-Version: 1");
  if (!r->headers) return SBX_ENOMEM;
  r->body = x->body;
  r->body_len = strlen(x->body);
  r->max_body = 16u << 20;
  return 0;
}

/* envd errors: the edge's 502 means the sandbox is gone; anything else is a
 * Connect unary error ({"code":"not_found","message":...}). */
static int rpc_error(const struct sbx_http *h, const char *what, struct sbx_errinfo *e) {
  if (h->status == 502) return e2b_http_error(h, 1, what, e);
  int st = sbx_connect_parse_unary_error((int)h->status, h->body.data ? h->body.data : "",
                                         h->body.len, e);
  sbx_errinfo_prefix(e, "%s", what);
  e->http_status = (int)h->status;
  return st;
}

static int parse(struct sbx_call *k, struct sbx_http *h, struct sbx_errinfo *e) {
  struct rpc_op *x = rpc_of(&k->op);
  char what[300];
  describe(x, what, sizeof what);
  if (h->status != 200) return rpc_error(h, what, e);
  if (x->result == RPC_DONE) return 0;
  x->doc = e2b_parse_json(h, what, e);
  if (!x->doc) return e->status;
  const json_t *v = json_object_get(x->doc, x->entries_key);
  if (v && !json_is_array(v) && !json_is_object(v)) {
    sbx_errinfo_set(e, SBX_EPROTO, "%s: '%s' in the reply is neither object nor array", what,
                    x->entries_key);
    return SBX_EPROTO;
  }
  return 0;
}

static void complete(struct sbx_op *op, const sbx_error *err) {
  struct rpc_op *x = rpc_of(op);
  if (x->result == RPC_DONE) {
    x->dcb(op->c, op->id, err, op->ud);
    return;
  }
  if (err) {
    x->ecb(op->c, op->id, err, NULL, 0, op->ud);
    return;
  }
  const sbx_allocator *a = sbx__alloc(op->c);
  struct e2b_entries ents = {0};
  const json_t *v = json_object_get(x->doc, x->entries_key);
  int rc = v ? e2b_entries_fill(a, v, &ents) : 0;
  if (rc != 0) {
    sbx_error bad = {.code = rc == SBX_ENOMEM ? SBX_ENOMEM : SBX_EPROTO,
                     .retry_after_ms = -1,
                     .provider_code = "",
                     .message = rc == SBX_ENOMEM ? "file entries: out of memory"
                                                 : "malformed file entry in the reply"};
    x->ecb(op->c, op->id, &bad, NULL, 0, op->ud);
    return;
  }
  x->ecb(op->c, op->id, NULL, ents.items, ents.n, op->ud);
  e2b_entries_free(a, &ents);
}

static void destroy(struct sbx_op *op) {
  struct rpc_op *x = rpc_of(op);
  const sbx_allocator *al = sbx__alloc(op->c);
  sbx__free(al, x->e.id);
  sbx__free(al, x->e.url);
  sbx__free(al, x->body);
  sbx__free(al, x->subject);
  if (x->doc) json_decref(x->doc);
}

SBX_CALL_KIND(kind_signal, "e2b.signal", complete, destroy);
SBX_CALL_KIND(kind_stdin, "e2b.write_stdin", complete, destroy);
SBX_CALL_KIND(kind_close_stdin, "e2b.close_stdin", complete, destroy);
SBX_CALL_KIND(kind_fs, "e2b.fs", complete, destroy);

static const struct call_hooks hooks_idempotent = {.cls = SBX_RATE_DATA,
                                                   .retry = CALL_RETRY_ANY,
                                                   E2B_ENVD_RESOLVE_HOOKS,
                                                   .build = build,
                                                   .parse = parse};
/* Writing stdin twice would duplicate input. */
static const struct call_hooks hooks_once = {.cls = SBX_RATE_DATA,
                                             .retry = CALL_RETRY_UNSENT,
                                             E2B_ENVD_RESOLVE_HOOKS,
                                             .build = build,
                                             .parse = parse};

struct rpc_args {
  const struct op_kind *kind;
  const struct call_hooks *hooks;
  const char *method, *verb, *entries_key;
  enum rpc_result result;
  sbx_done_cb dcb;
  sbx_entries_cb ecb;
};

static sbx_status start_rpc(sbx_client *c, const char *id, const struct rpc_args *a, json_t *msg,
                            char *subject, void *ud, sbx_op_id *out) {
  const sbx_allocator *al = sbx__alloc(c);
  char *body = msg ? sbx_json_dump(al, msg, NULL) : NULL; /* no msg: jansson ran out */
  if (msg) json_decref(msg);
  char *idc = sbx__strdup(al, id);
  sbx_status st = SBX_ENOMEM;
  struct rpc_op *x = NULL;
  if (body && idc && subject)
    x = (struct rpc_op *)sbx__call_new(c, a->kind, a->hooks, sizeof *x, ud, &st);
  if (!x) {
    sbx__free(al, body);
    sbx__free(al, idc);
    sbx__free(al, subject);
    return st;
  }
  x->e.id = idc;
  x->body = body;
  x->subject = subject;
  x->method = a->method;
  x->verb = a->verb;
  x->result = a->result;
  x->entries_key = a->entries_key;
  x->dcb = a->dcb;
  x->ecb = a->ecb;
  *out = x->e.k.op.id;
  return SBX_OK;
}

static char *pid_subject(sbx_client *c, uint32_t pid) {
  return sbx__asprintf(sbx__alloc(c), "pid %u", pid);
}

sbx_status e2b_signal(sbx_client *c, const char *id, uint32_t pid, int signo, sbx_done_cb cb,
                      void *ud, sbx_op_id *out) {
  if (!e2b_valid_id(id))
    return sbx__refuse(c, SBX_EINVAL, "e2b", "id '%.128s' is not an E2B sandbox id", id);
  /* envd accepts only these two. */
  const char *name = signo == SIGKILL   ? "SIGNAL_SIGKILL"
                     : signo == SIGTERM ? "SIGNAL_SIGTERM"
                                        : NULL;
  if (!name)
    return sbx__refuse(c, SBX_ENOTSUP, "sbx_process_signal",
                       "e2b: envd sends only SIGTERM and SIGKILL, not %d", signo);
  json_t *msg = json_pack("{s:{s:I},s:s}", "process", "pid", (json_int_t)pid, "signal", name);
  struct rpc_args a = {
      &kind_signal, &hooks_idempotent, "/process.Process/SendSignal", "signal", NULL, RPC_DONE, cb,
      NULL};
  return start_rpc(c, id, &a, msg, pid_subject(c, pid), ud, out);
}

sbx_status e2b_write_stdin(sbx_client *c, const char *id, uint32_t pid, const void *data,
                           size_t len, sbx_done_cb cb, void *ud, sbx_op_id *out) {
  if (!e2b_valid_id(id))
    return sbx__refuse(c, SBX_EINVAL, "e2b", "id '%.128s' is not an E2B sandbox id", id);
  char *b64 = sbx__malloc(sbx__alloc(c), sbx_base64_encoded_len(len) + 1);
  if (!b64) return SBX_ENOMEM;
  sbx_base64_encode(data, len, b64);
  json_t *msg =
      json_pack("{s:{s:I},s:{s:s}}", "process", "pid", (json_int_t)pid, "input", "stdin", b64);
  sbx__free(sbx__alloc(c), b64);
  struct rpc_args a = {
      &kind_stdin, &hooks_once, "/process.Process/SendInput", "write stdin of", NULL, RPC_DONE,
      cb,          NULL};
  return start_rpc(c, id, &a, msg, pid_subject(c, pid), ud, out);
}

sbx_status e2b_close_stdin(sbx_client *c, const char *id, uint32_t pid, sbx_done_cb cb, void *ud,
                           sbx_op_id *out) {
  if (!e2b_valid_id(id))
    return sbx__refuse(c, SBX_EINVAL, "e2b", "id '%.128s' is not an E2B sandbox id", id);
  json_t *msg = json_pack("{s:{s:I}}", "process", "pid", (json_int_t)pid);
  struct rpc_args a = {&kind_close_stdin,
                       &hooks_idempotent,
                       "/process.Process/CloseStdin",
                       "close stdin of",
                       NULL,
                       RPC_DONE,
                       cb,
                       NULL};
  return start_rpc(c, id, &a, msg, pid_subject(c, pid), ud, out);
}

sbx_status e2b_fs(sbx_client *c, const char *id, int fs_op, const char *path, const char *path2,
                  int depth, sbx_entries_cb ecb, sbx_done_cb dcb, void *ud, sbx_op_id *out) {
  if (!e2b_valid_id(id))
    return sbx__refuse(c, SBX_EINVAL, "e2b", "id '%.128s' is not an E2B sandbox id", id);
  struct rpc_args a = {&kind_fs, &hooks_idempotent, NULL, NULL, NULL, RPC_ENTRIES, NULL, ecb};
  json_t *msg = NULL;
  switch (fs_op) {
  case SBX_FS_LIST:
    a.method = "/filesystem.Filesystem/ListDir", a.verb = "list", a.entries_key = "entries";
    msg = json_pack("{s:s,s:i}", "path", path, "depth", depth);
    break;
  case SBX_FS_STAT:
    a.method = "/filesystem.Filesystem/Stat", a.verb = "stat", a.entries_key = "entry";
    msg = json_pack("{s:s}", "path", path);
    break;
  case SBX_FS_MKDIR:
    a.method = "/filesystem.Filesystem/MakeDir", a.verb = "make directory", a.entries_key = "entry";
    msg = json_pack("{s:s}", "path", path);
    break;
  case SBX_FS_REMOVE:
    a.method = "/filesystem.Filesystem/Remove", a.verb = "remove", a.result = RPC_DONE;
    a.dcb = dcb;
    msg = json_pack("{s:s}", "path", path);
    break;
  case SBX_FS_MOVE:
    a.method = "/filesystem.Filesystem/Move", a.verb = "move", a.entries_key = "entry";
    msg = json_pack("{s:s,s:s}", "source", path, "destination", path2);
    break;
  default: return SBX_EINVAL;
  }
  if (!msg) return SBX_ENOMEM;
  return start_rpc(c, id, &a, msg, sbx__strdup(sbx__alloc(c), path), ud, out);
}
