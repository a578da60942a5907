/* daytona_exec.c - exec with opts.buffered: the toolbox's unary POST
 * /process/execute, whose combined output arrives whole in the reply and is
 * delivered once through on_output(SBX_STDOUT), then on_done. Everything
 * else streams through a session (daytona_session.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../protocol/json_util.h"
#include "daytona.h"
#include "e2b.h"

#define DT_NO_TIMEOUT_MS (24L * 3600 * 1000) /* the SDK's default request deadline */

struct dexec_op {
  struct dt_tb_op t;
  char *body;
  long timeout_ms;
  sbx_exec_cbs cbs;
  json_t *doc;
  int timed_out; /* 408: the daemon killed the command */
};

static struct dexec_op *dexec_of(struct sbx_op *op) {
  return (struct dexec_op *)op;
}

static int build(struct sbx_call *k, struct sbx_http_req *r, struct sbx_errinfo *e) {
  struct dexec_op *x = dexec_of(&k->op);
  sbx__free(sbx__alloc(k->op.c), x->t.url);
  x->t.url = NULL;
  int st = dt_toolbox_req(k->op.c, r, &x->t.url, x->t.id, "POST", "/process/execute");
  if (st) return st;
  dt_json_body(k->op.c, r, x->body);
  /* JSON escaping can double the output; the cap is checked on the result */
  r->max_body = k->op.c->cfg.max_output * 2 + 4096;
  r->timeout_ms = x->timeout_ms ? x->timeout_ms + 5000 : DT_NO_TIMEOUT_MS;
  return 0;
}

static int parse(struct sbx_call *k, struct sbx_http *h, struct sbx_errinfo *e) {
  struct dexec_op *x = dexec_of(&k->op);
  char what[200];
  snprintf(what, sizeof what, "daytona: exec in sandbox %s", x->t.id);
  if (h->status == 408) {
    x->timed_out = 1;
    return 0;
  }
  if (h->status != 200) return dt_toolbox_error(h, x->t.id, what, e);
  static const char *const keys[] = {"result", "exitCode", "code", NULL};
  x->doc = e2b_parse_json_keys(h, keys, what, e);
  if (!x->doc) return e->status;
  if (!json_is_object(x->doc)) {
    sbx_errinfo_set(e, SBX_EPROTO, "%s: the reply is not an object", what);
    return SBX_EPROTO;
  }
  size_t cap = k->op.c->cfg.max_output;
  const char *out = sbx_json_str(x->doc, "result");
  if (cap && out && strlen(out) > cap) {
    sbx_errinfo_set(e, SBX_ETOOBIG, "%s: output over the %zu-byte cap", what, cap);
    return SBX_ETOOBIG;
  }
  return 0;
}

static void complete(struct sbx_op *op, const sbx_error *err) {
  struct dexec_op *x = dexec_of(op);
  if (err) {
    x->cbs.on_done(op->c, op->id, err, NULL, op->ud);
    return;
  }
  sbx_exec_result res = {.exit_code = -1, .status = "timeout"};
  if (!x->timed_out) {
    const json_t *rv = json_object_get(x->doc, "result");
    const char *out = json_string_value(rv);
    if (out && json_string_length(rv) && x->cbs.on_output)
      x->cbs.on_output(op->c, op->id, SBX_STDOUT, out, json_string_length(rv), op->ud);
    json_t *code = json_object_get(x->doc, "exitCode");
    if (!code) code = json_object_get(x->doc, "code");
    res.exit_code = json_is_integer(code) ? (int)json_integer_value(code) : -1;
    res.exited = res.exit_code >= 0;
    res.status = "";
  }
  char status[32];
  if (res.exited) {
    snprintf(status, sizeof status, "exit status %d", res.exit_code);
    res.status = status;
  }
  x->cbs.on_done(op->c, op->id, NULL, &res, op->ud);
}

static void destroy(struct sbx_op *op) {
  struct dexec_op *x = dexec_of(op);
  const sbx_allocator *a = sbx__alloc(op->c);
  sbx__free(a, x->t.id);
  sbx__free(a, x->t.url);
  sbx__free(a, x->body);
  if (x->doc) json_decref(x->doc);
}

SBX_CALL_KIND(kind_exec, "daytona.exec", complete, destroy);

/* Not idempotent: a command that may have run is not run again. */
static const struct call_hooks hooks_exec = {.cls = SBX_RATE_DATA,
                                             .retry = CALL_RETRY_UNSENT,
                                             DT_TB_RESOLVE_HOOKS,
                                             .build = build,
                                             .parse = parse};

static char *request_body(const sbx_allocator *a, const sbx_exec_opts *o) {
  char *joined = o->cmd ? NULL : dt_join_argv(a, o->argv);
  json_t *b = json_object();
  if ((!o->cmd && !joined) || !b) {
    sbx__free(a, joined);
    json_decref(b);
    return NULL;
  }
  json_object_set_new(b, "command", json_string(o->cmd ? o->cmd : joined));
  sbx__free(a, joined);
  if (o->cwd && *o->cwd) json_object_set_new(b, "cwd", json_string(o->cwd));
  if (o->n_envs) {
    json_t *env = json_object();
    for (size_t i = 0; i < o->n_envs; i++)
      if (o->envs[i].key && o->envs[i].value)
        json_object_set_new(env, o->envs[i].key, json_string(o->envs[i].value));
    json_object_set_new(b, "envs", env);
  }
  if (o->timeout_ms > 0)
    json_object_set_new(b, "timeout", json_integer((o->timeout_ms + 999) / 1000));
  char *s = sbx_json_dump(a, b, NULL);
  json_decref(b);
  return s;
}

sbx_status dt_exec_start(sbx_client *c, const char *id, const sbx_exec_opts *o,
                         const sbx_exec_cbs *cbs, void *ud, sbx_op_id *out) {
  if (o->user && *o->user) {
    return sbx__refuse(c, SBX_ENOTSUP, "sbx_exec_start",
                       "daytona: exec option user is not supported (the toolbox runs commands "
                       "as the sandbox's user)");
  }
  if (!o->buffered || o->stdin_open || o->detach)
    return dt_session_exec_start(c, id, o, cbs, ud, out);
  char *body = request_body(sbx__alloc(c), o);
  if (!body) return SBX_ENOMEM;
  sbx_status st;
  struct dexec_op *x =
      (struct dexec_op *)dt_tb_op_new(c, &kind_exec, &hooks_exec, sizeof *x, id, ud, &st);
  if (!x) {
    sbx__free(sbx__alloc(c), body);
    return st;
  }
  x->body = body;
  x->timeout_ms = o->timeout_ms;
  x->cbs = *cbs;
  *out = x->t.k.op.id;
  return SBX_OK;
}
