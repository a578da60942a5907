/* daytona_process.c - acting on a process a session exec started, by pid
 * (its session is "sbx-<pid>", daytona_session.c):
 *   signal SIGTERM/SIGKILL: DELETE the session (the toolbox sends SIGTERM
 *     to the process tree, SIGKILL after a grace period);
 *   write stdin: LOOKUP (GET the session: its command id) -> INPUT (POST
 *     .../command/<cid>/input {"data"}; the toolbox appends a newline when
 *     the data does not end with one).
 * Other signals and closing stdin have no toolbox call: SBX_ENOTSUP. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../protocol/json_util.h"
#include "daytona.h"
#include "e2b.h"

enum dp_phase { DP_KILL, DP_LOOKUP, DP_INPUT };

struct dproc_op {
  struct dt_tb_op t;
  enum dp_phase phase;
  uint32_t pid;
  char sid[24];
  char *cmd_id;
  char *body; /* {"data": ...} for INPUT */
  sbx_done_cb cb;
};

static const struct call_hooks hooks[2];

static struct dproc_op *dproc_of(struct sbx_op *op) {
  return (struct dproc_op *)op;
}

static int build(struct sbx_call *k, struct sbx_http_req *r, struct sbx_errinfo *e) {
  struct dproc_op *x = dproc_of(&k->op);
  char path[256];
  const char *method = "GET";
  if (x->phase == DP_INPUT) {
    snprintf(path, sizeof path, "/process/session/%s/command/%s/input", x->sid, x->cmd_id);
    method = "POST";
  } else {
    snprintf(path, sizeof path, "/process/session/%s", x->sid);
    if (x->phase == DP_KILL) method = "DELETE";
  }
  sbx__free(sbx__alloc(k->op.c), x->t.url);
  x->t.url = NULL;
  int st = dt_toolbox_req(k->op.c, r, &x->t.url, x->t.id, method, path);
  if (st || x->phase != DP_INPUT) return st;
  dt_json_body(k->op.c, r, x->body);
  return 0;
}

static int parse(struct sbx_call *k, struct sbx_http *h, struct sbx_errinfo *e) {
  struct dproc_op *x = dproc_of(&k->op);
  char what[160];
  snprintf(what, sizeof what, "daytona: %s pid %u in sandbox %s",
           x->phase == DP_KILL ? "signal" : "write stdin of", x->pid, x->t.id);
  if (x->phase == DP_LOOKUP) {
    int st = dt_session_cmd_id(sbx__alloc(k->op.c), h, x->t.id, what, &x->cmd_id, e);
    if (st) return st;
  } else if (h->status == 404 || h->status == 410) {
    sbx_errinfo_set(e, SBX_ENOTFOUND, "%s: %s", what,
                    h->status == 410 ? "the process has finished" : "no such process");
    return SBX_ENOTFOUND;
  } else if (h->status < 200 || h->status >= 300) {
    return dt_toolbox_error(h, x->t.id, what, e);
  } else {
    return 0;
  }
  sbx__log(k->op.c, SBX_LOG_TRACE, "op", k->op.id, "op#%llu %s phase LOOKUP -> INPUT",
           (unsigned long long)k->op.id, k->op.kind->name);
  x->phase = DP_INPUT;
  k->hooks = &hooks[1]; /* input is not idempotent */
  k->poll_ms = 0;
  return CALL_POLL;
}

static void complete(struct sbx_op *op, const sbx_error *err) {
  struct dproc_op *x = dproc_of(op);
  if (x->cb) x->cb(op->c, op->id, err, op->ud);
}

static void destroy(struct sbx_op *op) {
  struct dproc_op *x = dproc_of(op);
  const sbx_allocator *a = sbx__alloc(op->c);
  sbx__free(a, x->t.id);
  sbx__free(a, x->t.url);
  sbx__free(a, x->cmd_id);
  sbx__free(a, x->body);
}

SBX_CALL_KIND(kind_signal, "daytona.signal", complete, destroy);
SBX_CALL_KIND(kind_stdin, "daytona.write_stdin", complete, destroy);

/* [0] the kill and the lookup; [1] the input, sent again only when surely
 * unsent (the command would read it twice). */
static const struct call_hooks hooks[2] = {{.cls = SBX_RATE_DATA,
                                            .retry = CALL_RETRY_ANY,
                                            DT_TB_RESOLVE_HOOKS,
                                            .build = build,
                                            .parse = parse},
                                           {.cls = SBX_RATE_DATA,
                                            .retry = CALL_RETRY_UNSENT,
                                            DT_TB_RESOLVE_HOOKS,
                                            .build = build,
                                            .parse = parse}};

static struct dproc_op *new_op(sbx_client *c, const struct op_kind *kind, const char *id,
                               uint32_t pid, sbx_done_cb cb, void *ud, sbx_status *st) {
  if (pid == 0) {
    *st = SBX_EINVAL;
    return NULL;
  }
  struct dproc_op *x = (struct dproc_op *)dt_tb_op_new(c, kind, &hooks[0], sizeof *x, id, ud, st);
  if (!x) return NULL;
  x->pid = pid;
  x->cb = cb;
  snprintf(x->sid, sizeof x->sid, "sbx-%u", pid);
  return x;
}

sbx_status dt_signal(sbx_client *c, const char *id, uint32_t pid, int signo, sbx_done_cb cb,
                     void *ud, sbx_op_id *out) {
  if (signo != SIGTERM && signo != SIGKILL) {
    return sbx__refuse(c, SBX_ENOTSUP, "sbx_process_signal",
                       "daytona: signal %d is not supported: the toolbox can only end a process "
                       "(SIGTERM, then SIGKILL)",
                       signo);
  }
  sbx_status st = SBX_OK;
  struct dproc_op *x = new_op(c, &kind_signal, id, pid, cb, ud, &st);
  if (!x) return st;
  x->phase = DP_KILL;
  *out = x->t.k.op.id;
  return SBX_OK;
}

sbx_status dt_write_stdin(sbx_client *c, const char *id, uint32_t pid, const void *data, size_t len,
                          sbx_done_cb cb, void *ud, sbx_op_id *out) {
  /* The toolbox takes input as a JSON string: UTF-8 text only. */
  json_t *o = json_object();
  json_t *s = json_stringn((const char *)data, len);
  if (!o || !s) {
    json_decref(o);
    json_decref(s);
    if (o) {
      return sbx__refuse(
          c, SBX_EINVAL, "sbx_process_write_stdin",
          "daytona: stdin data must be UTF-8 text (the toolbox takes it as a JSON string)");
    }
    return SBX_ENOMEM;
  }
  json_object_set_new(o, "data", s);
  char *body = sbx_json_dump(sbx__alloc(c), o, NULL);
  json_decref(o);
  if (!body) return SBX_ENOMEM;
  sbx_status st = SBX_OK;
  struct dproc_op *x = new_op(c, &kind_stdin, id, pid, cb, ud, &st);
  if (!x) {
    sbx__free(sbx__alloc(c), body);
    return st;
  }
  x->body = body;
  x->phase = DP_LOOKUP;
  *out = x->t.k.op.id;
  return SBX_OK;
}
