/* daytona_session.c - streaming exec on Daytona. Each command runs alone in
 * a session named after the pid sbx gives it ("sbx-<pid>"), so the pid is
 * all a later call needs (reattach, stdin, kill), and its log is followed
 * over the toolbox's WebSocket as it is written:
 *
 *   SESSION (POST /process/session) -> EXEC (POST .../exec, runAsync)
 *     -> FOLLOW (GET .../logs?follow=true, upgraded to a WebSocket)
 *     -> STATUS (GET .../command/<cid> until it has an exitCode)
 *     -> CLEANUP (DELETE the session: nothing is left running) -> done
 *   detach: done after EXEC.   reattach: LOOKUP (GET the session) -> FOLLOW
 *
 * The phases ride on the call machine, one request each (parse returns
 * CALL_POLL to move on), so rate limits, retries, cancel and deadlines are
 * the machine's; each phase change is traced like a state change. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../protocol/dt_demux.h"
#include "../protocol/json_util.h"
#include "../protocol/ws_reader.h"
#include "daytona.h"
#include "e2b.h"

enum dx_phase { DX_SESSION, DX_LOOKUP, DX_EXEC, DX_FOLLOW, DX_STATUS, DX_CLEANUP, DX_N };
static const char *const phase_names[DX_N] = {"SESSION", "LOOKUP", "EXEC",
                                              "FOLLOW",  "STATUS", "CLEANUP"};

#define DX_MAX_PID_TRIES 4    /* session names taken already: pick another pid */
#define DX_STATUS_POLLS 20    /* exitCode not yet written after the log closed */
#define DX_STATUS_MAX_MS 1000 /* backoff cap between those polls */

struct dsess_op {
  struct dt_tb_op t;
  enum dx_phase phase;
  uint32_t pid;
  char sid[24];
  char *cmd_id;
  char *command; /* the wrapped command line (EXEC) */
  char *body;    /* the current request's body */
  sbx_exec_cbs cbs;
  long timeout_ms;
  ev_tstamp deadline; /* 0: none */
  char ws_key[25];
  struct sbx_ws_reader *ws;
  struct sbx_dt_demux demux;
  size_t out_bytes;
  int pid_tries, status_polls;
  unsigned detach : 1, started : 1, ws_closed : 1, timed_out : 1, killed : 1, have_exit : 1;
  int close_code;
  int exit_code;
};

static struct dsess_op *dsess_of(struct sbx_op *op) {
  return (struct dsess_op *)op;
}

static void set_phase(struct dsess_op *x, enum dx_phase to) {
  struct sbx_op *op = &x->t.k.op;
  sbx__log(op->c, SBX_LOG_TRACE, "op", op->id, "op#%llu %s phase %s -> %s",
           (unsigned long long)op->id, op->kind->name, phase_names[x->phase], phase_names[to]);
  x->phase = to;
}

static const struct call_hooks hooks_any, hooks_unsent;

/* Move on to the next phase: the call machine builds its request. EXEC is
 * the one call not repeated unless surely unsent: the command may have
 * started. */
static int next_phase(struct sbx_call *k, enum dx_phase to, long wait_ms) {
  set_phase(dsess_of(&k->op), to);
  k->hooks = to == DX_EXEC ? &hooks_unsent : &hooks_any;
  k->poll_ms = wait_ms;
  return CALL_POLL;
}

static const char *what_of(struct dsess_op *x, char *buf, size_t n) {
  snprintf(buf, n, "daytona: exec pid %u in sandbox %s", x->pid, x->t.id);
  return buf;
}

/* ---- the follow stream: WebSocket frames -> markers -> on_output -------------------- */

static void on_demux(void *ud, int stream, const char *data, size_t len) {
  struct dsess_op *x = ud;
  struct sbx_op *op = &x->t.k.op;
  if (op->err) return; /* over the cap already */
  size_t cap = op->c->cfg.max_output;
  x->out_bytes += len;
  if (cap && x->out_bytes > cap) {
    char w[160];
    sbx__op_fail(op, SBX_ETOOBIG, "%s: output over the %zu-byte cap", what_of(x, w, sizeof w), cap);
    return;
  }
  if (x->cbs.on_output)
    x->cbs.on_output(op->c, op->id, stream == SBX_DT_STDERR ? SBX_STDERR : SBX_STDOUT, data, len,
                     op->ud);
}

static int on_ws_data(void *ud, int opcode, const char *data, size_t len) {
  struct dsess_op *x = ud;
  sbx_dt_demux_feed(&x->demux, data, len, on_demux, x);
  return x->t.k.op.err ? 2 : 0; /* not 1: that is SBX_WS_CLOSED */
}

static int follow_sink(struct sbx_op *op, const char *data, size_t len) {
  struct dsess_op *x = dsess_of(op);
  char w[160];
  if (len == 0) { /* 101 headers complete */
    if (!sbx_ws_accept_ok(x->ws_key, op->http->ws_accept)) {
      sbx__op_fail(op, SBX_EPROTO, "%s: the WebSocket upgrade has a wrong Sec-WebSocket-Accept",
                   what_of(x, w, sizeof w));
      return 1;
    }
    sbx__call_streaming(&x->t.k);
    return 0;
  }
  char why[160] = "";
  int r = sbx_ws_reader_feed(x->ws, data, len, on_ws_data, x, why, sizeof why);
  if (r == SBX_WS_CLOSED) {
    x->ws_closed = 1;
    x->close_code = sbx_ws_reader_close_code(x->ws);
    return 1; /* the log is complete: stop reading */
  }
  if (r < 0) {
    sbx__op_fail(op, r, "%s: log stream: %s", what_of(x, w, sizeof w), why);
    return 1;
  }
  return r;
}

/* ---- requests ---------------------------------------------------------------------- */

static int json_body(struct sbx_http_req *r, struct dsess_op *x, json_t *o) {
  const sbx_allocator *a = sbx__alloc(x->t.k.op.c);
  sbx__free(a, x->body);
  x->body = o ? sbx_json_dump(a, o, NULL) : NULL;
  json_decref(o);
  if (!x->body) return SBX_ENOMEM;
  dt_json_body(x->t.k.op.c, r, x->body);
  return 0;
}

static int build_follow(struct sbx_call *k, struct dsess_op *x, struct sbx_http_req *r) {
  unsigned char nonce[16];
  for (size_t i = 0; i < sizeof nonce; i++)
    nonce[i] = (unsigned char)sbx__client_rand(k->op.c, 256);
  sbx_ws_make_key(nonce, x->ws_key);
  char key[64];
  snprintf(key, sizeof key, "Sec-WebSocket-Key: %s", x->ws_key);
  static const char *const fixed[] = {"Connection: Upgrade", "Upgrade: websocket",
                                      "Sec-WebSocket-Version: 13"};
  for (size_t i = 0; i < 4; i++) { /* r->headers starts empty: the shared ones follow */
    struct curl_slist *l = curl_slist_append(r->headers, i < 3 ? fixed[i] : key);
    if (!l) return SBX_ENOMEM; /* the caller frees r->headers */
    r->headers = l;
  }
  sbx_ws_reader_free(x->ws);
  x->ws = sbx_ws_reader_new(sbx__alloc(k->op.c));
  if (!x->ws) return SBX_ENOMEM;
  sbx_dt_demux_init(&x->demux);
  x->ws_closed = 0;
  r->sink = follow_sink;
  r->upgrade = 1;
  if (x->deadline > 0) {
    double left = x->deadline - ev_now(k->op.c->loop);
    r->timeout_ms = left > 0.001 ? (long)(left * 1000) : 1;
  }
  return 0;
}

static int build(struct sbx_call *k, struct sbx_http_req *r, struct sbx_errinfo *e) {
  struct dsess_op *x = dsess_of(&k->op);
  static const char *const methods[DX_N] = {"POST", "GET", "POST", "GET", "GET", "DELETE"};
  char path[512];
  switch (x->phase) {
  case DX_SESSION:
  case DX_LOOKUP:
  case DX_CLEANUP:
    snprintf(path, sizeof path, "/process/session%s%s", x->phase == DX_SESSION ? "" : "/",
             x->phase == DX_SESSION ? "" : x->sid);
    break;
  case DX_EXEC: snprintf(path, sizeof path, "/process/session/%s/exec", x->sid); break;
  case DX_FOLLOW:
    snprintf(path, sizeof path, "/process/session/%s/command/%s/logs?follow=true", x->sid,
             x->cmd_id);
    break;
  case DX_STATUS:
    snprintf(path, sizeof path, "/process/session/%s/command/%s", x->sid, x->cmd_id);
    break;
  default: return SBX_EINVAL;
  }
  sbx__free(sbx__alloc(k->op.c), x->t.url);
  x->t.url = NULL;
  int st = dt_toolbox_req(k->op.c, r, &x->t.url, x->t.id, methods[x->phase], path);
  if (st) return st;
  if (x->phase == DX_SESSION) return json_body(r, x, json_pack("{s:s}", "sessionId", x->sid));
  if (x->phase == DX_EXEC)
    return json_body(r, x,
                     json_pack("{s:s,s:b,s:b}", "command", x->command, "runAsync", 1,
                               "suppressInputEcho", 1)); /* stdin is not output */
  if (x->phase == DX_FOLLOW) return build_follow(k, x, r);
  return 0;
}

/* ---- replies ----------------------------------------------------------------------- */

static int parse_session(struct sbx_call *k, struct dsess_op *x, struct sbx_http *h,
                         struct sbx_errinfo *e, const char *what) {
  k->undo_armed = h->status == 200 || h->status == 201 || (h->status == 409 && k->attempts > 0);
  if (h->status == 409 && k->attempts > 0) /* our own earlier try made it */
    return next_phase(k, DX_EXEC, 0);
  if (h->status == 409 && ++x->pid_tries < DX_MAX_PID_TRIES) { /* taken: another pid */
    x->pid = (uint32_t)(1 + sbx__client_rand(k->op.c, 0x7ffffffe));
    snprintf(x->sid, sizeof x->sid, "sbx-%u", x->pid);
    return next_phase(k, DX_SESSION, 0);
  }
  if (h->status != 200 && h->status != 201) return dt_toolbox_error(h, x->t.id, what, e);
  return next_phase(k, DX_EXEC, 0);
}

static int parse_exec(struct sbx_call *k, struct dsess_op *x, struct sbx_http *h,
                      struct sbx_errinfo *e, const char *what) {
  if (h->status != 200 && h->status != 202) return dt_toolbox_error(h, x->t.id, what, e);
  json_t *doc = e2b_parse_json(h, what, e);
  if (!doc) return e->status;
  const char *cid = sbx_json_str(doc, "cmdId");
  int valid = cid && dt_valid_id(cid);
  x->cmd_id = valid ? sbx__strdup(sbx__alloc(k->op.c), cid) : NULL;
  json_decref(doc);
  if (!x->cmd_id) {
    sbx_errinfo_set(e, valid ? SBX_ENOMEM : SBX_EPROTO, "%s: %s", what,
                    valid ? "out of memory" : "the reply has no valid cmdId");
    return e->status;
  }
  x->started = 1;
  k->undo_armed = 0; /* the caller learns the pid: the command is theirs */
  if (x->cbs.on_start) x->cbs.on_start(k->op.c, k->op.id, x->pid, k->op.ud);
  if (x->detach) return 0;
  return next_phase(k, DX_FOLLOW, 0);
}

/* GET /process/session/sbx-<pid>: the session holds one command, ours. */
int dt_session_cmd_id(const sbx_allocator *a, const struct sbx_http *h, const char *id,
                      const char *what, char **cmd_id, struct sbx_errinfo *e) {
  if (h->status == 404) {
    sbx_errinfo_set(e, SBX_ENOTFOUND, "%s: no such process", what);
    return SBX_ENOTFOUND;
  }
  if (h->status != 200) return dt_toolbox_error(h, id, what, e);
  json_t *doc = e2b_parse_json(h, what, e);
  if (!doc) return e->status;
  json_t *cmds = json_object_get(doc, "commands");
  size_t n = json_array_size(cmds);
  const char *cid = n ? sbx_json_str(json_array_get(cmds, n - 1), "id") : NULL;
  int valid = cid && dt_valid_id(cid);
  *cmd_id = valid ? sbx__strdup(a, cid) : NULL;
  json_decref(doc);
  if (!*cmd_id) {
    if (valid)
      sbx_errinfo_set(e, SBX_ENOMEM, "%s: out of memory", what);
    else
      sbx_errinfo_set(e, n ? SBX_EPROTO : SBX_ENOTFOUND, "%s: %s", what,
                      n ? "the session's command has no valid id" : "the session ran no command");
    return e->status;
  }
  return 0;
}

static int parse_lookup(struct sbx_call *k, struct dsess_op *x, struct sbx_http *h,
                        struct sbx_errinfo *e, const char *what) {
  int st = dt_session_cmd_id(sbx__alloc(k->op.c), h, x->t.id, what, &x->cmd_id, e);
  return st ? st : next_phase(k, DX_FOLLOW, 0);
}

static int parse_follow(struct sbx_call *k, struct dsess_op *x, struct sbx_http *h,
                        struct sbx_errinfo *e, const char *what) {
  if (h->result == CURLE_OPERATION_TIMEDOUT && x->deadline > 0 &&
      ev_now(k->op.c->loop) >= x->deadline - 0.05) {
    x->timed_out = 1; /* the command's own deadline: end it */
    return next_phase(k, DX_CLEANUP, 0);
  }
  if (h->status != 101) {
    if (h->result != CURLE_OK) return sbx__http_curl_error(h, what, e);
    if (h->status >= 200 && h->status < 300) {
      sbx_errinfo_set(e, SBX_EPROTO, "%s: the log follow was not upgraded (HTTP %ld)", what,
                      h->status);
      return SBX_EPROTO;
    }
    return dt_toolbox_error(h, x->t.id, what, e);
  }
  if (!x->ws_closed) {
    if (sbx_ws_reader_mid_frame(x->ws)) {
      sbx_errinfo_set(e, SBX_EPROTO, "%s: log stream: truncated WebSocket frame", what);
      return SBX_EPROTO;
    }
    sbx__http_curl_error(h, what, e);
    sbx_errinfo_set(e, SBX_ETRANSPORT,
                    "%s: the log stream ended without a close frame (%s); the command may still "
                    "run: reattach with its pid",
                    what,
                    h->result == CURLE_OK ? "connection closed" : curl_easy_strerror(h->result));
    e->retryable = 1;
    return SBX_ETRANSPORT;
  }
  sbx_dt_demux_finish(&x->demux, on_demux, x);
  if (k->op.err) return k->op.err->status;
  if (x->demux.dropped) {
    sbx_errinfo_set(e, SBX_EPROTO, "%s: log stream: %zu bytes before the first stream marker", what,
                    x->demux.dropped);
    return SBX_EPROTO;
  }
  if (x->close_code != 1000 && x->close_code != 1005) {
    sbx_errinfo_set(e, SBX_EUNAVAIL,
                    "%s: the log stream closed with code %d; the command may still run", what,
                    x->close_code);
    e->retryable = 1;
    return SBX_EUNAVAIL;
  }
  return next_phase(k, DX_STATUS, 0);
}

static int parse_status(struct sbx_call *k, struct dsess_op *x, struct sbx_http *h,
                        struct sbx_errinfo *e, const char *what) {
  if (h->status == 404) { /* the session was deleted under it: killed */
    x->killed = 1;
    return 0;
  }
  if (h->status != 200) return dt_toolbox_error(h, x->t.id, what, e);
  json_t *doc = e2b_parse_json(h, what, e);
  if (!doc) return e->status;
  json_t *code = json_object_get(doc, "exitCode");
  x->have_exit = json_is_integer(code);
  x->exit_code = x->have_exit ? (int)json_integer_value(code) : -1;
  json_decref(doc);
  if (x->have_exit) return next_phase(k, DX_CLEANUP, 0);
  if (++x->status_polls > DX_STATUS_POLLS) {
    sbx_errinfo_set(e, SBX_EPROTO, "%s: the log closed but the command reports no exit code", what);
    return SBX_EPROTO;
  }
  long wait = 50L << (x->status_polls < 5 ? x->status_polls : 5);
  return next_phase(k, DX_STATUS, wait < DX_STATUS_MAX_MS ? wait : DX_STATUS_MAX_MS);
}

static int parse_cleanup(struct sbx_call *k, struct dsess_op *x, struct sbx_http *h,
                         struct sbx_errinfo *e, const char *what) {
  if (h->result == CURLE_OK && (h->status < 300 || h->status == 404)) return 0;
  int st = h->result != CURLE_OK ? sbx__http_curl_error(h, what, e)
                                 : dt_toolbox_error(h, x->t.id, what, e);
  if (e->retryable && k->attempts < k->op.c->cfg.max_retries) return st;
  /* The result is known; a session left behind ends with its sandbox. */
  sbx__log(k->op.c, SBX_LOG_WARN, "daytona", k->op.id, "%s: session %s not deleted: %s", what,
           x->sid, e->message);
  return 0;
}

static int parse(struct sbx_call *k, struct sbx_http *h, struct sbx_errinfo *e) {
  struct dsess_op *x = dsess_of(&k->op);
  char what[160];
  what_of(x, what, sizeof what);
  if (x->phase == DX_FOLLOW) return parse_follow(k, x, h, e, what);
  if (x->phase == DX_CLEANUP) return parse_cleanup(k, x, h, e, what);
  if (h->result != CURLE_OK) return sbx__http_curl_error(h, what, e);
  switch (x->phase) {
  case DX_SESSION: return parse_session(k, x, h, e, what);
  case DX_EXEC: return parse_exec(k, x, h, e, what);
  case DX_LOOKUP: return parse_lookup(k, x, h, e, what);
  case DX_STATUS: return parse_status(k, x, h, e, what);
  default: return SBX_EINVAL;
  }
}

static void complete(struct sbx_op *op, const sbx_error *err) {
  struct dsess_op *x = dsess_of(op);
  sbx_exec_result res = {.pid = x->pid, .exit_code = -1, .status = ""};
  char status[32];
  if (x->detach && x->started) {
    res.detached = 1;
  } else if (x->timed_out) {
    res.status = "timeout";
  } else if (x->killed) {
    res.status = "signal: killed";
  } else if (x->have_exit) {
    res.exit_code = x->exit_code;
    res.exited = 1;
    snprintf(status, sizeof status, "exit status %d", x->exit_code);
    res.status = status;
  }
  int have = !err && (res.detached || x->timed_out || x->killed || x->have_exit);
  x->cbs.on_done(op->c, op->id, err, have ? &res : NULL, op->ud);
}

static void destroy(struct sbx_op *op) {
  struct dsess_op *x = dsess_of(op);
  const sbx_allocator *a = sbx__alloc(op->c);
  sbx__free(a, x->t.id);
  sbx__free(a, x->t.url);
  sbx__free(a, x->cmd_id);
  sbx__free(a, x->command);
  sbx__free(a, x->body);
  sbx_ws_reader_free(x->ws);
}

SBX_CALL_KIND(kind_exec, "daytona.exec", complete, destroy);
SBX_CALL_KIND(kind_connect, "daytona.exec_connect", complete, destroy);

/* Out of memory between making the session and telling the caller its
 * pid: delete the session (and the command in it), which no one could
 * reach otherwise. */
static int build_undo(struct sbx_call *k, struct sbx_http_req *r) {
  struct dsess_op *x = dsess_of(&k->op);
  char path[64];
  snprintf(path, sizeof path, "/process/session/%s", x->sid);
  sbx__free(sbx__alloc(k->op.c), x->t.url);
  x->t.url = NULL;
  return dt_toolbox_req(k->op.c, r, &x->t.url, x->t.id, "DELETE", path);
}

/* The calls are idempotent but for EXEC (see next_phase). */
static const struct call_hooks hooks_any = {.cls = SBX_RATE_DATA,
                                            .retry = CALL_RETRY_ANY,
                                            DT_TB_RESOLVE_HOOKS,
                                            .build = build,
                                            .parse = parse,
                                            .parse_transport = 1,
                                            .build_undo = build_undo};
static const struct call_hooks hooks_unsent = {.cls = SBX_RATE_DATA,
                                               .retry = CALL_RETRY_UNSENT,
                                               DT_TB_RESOLVE_HOOKS,
                                               .build = build,
                                               .parse = parse,
                                               .parse_transport = 1,
                                               .build_undo = build_undo};

/* ---- the command line -------------------------------------------------------------- */

static void put_quoted(struct sbx_str *f, const char *s) {
  sbx_str_adds(f, "'");
  for (; *s; s++)
    if (*s == '\'')
      sbx_str_adds(f, "'\\''");
    else
      sbx_str_add(f, s, 1);
  sbx_str_adds(f, "'");
}

static int valid_env_key(const char *k) {
  if (!k || !*k || (*k >= '0' && *k <= '9')) return 0;
  for (; *k; k++)
    if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') ||
          *k == '_'))
      return 0;
  return 1;
}

/* The session shell runs each command in itself, so ours goes in a subshell
 * (an exit or cd of its own cannot end or move the session) with the cwd,
 * envs and stdin sbx promises: ( cd DIR && export K=V && exec CMD ) */
static char *session_command(const sbx_allocator *al, const sbx_exec_opts *o, sbx_status *st) {
  struct sbx_str f;
  sbx_str_init(&f, al);
  sbx_str_adds(&f, "( ");
  if (o->cwd && *o->cwd) {
    sbx_str_adds(&f, "cd -- ");
    put_quoted(&f, o->cwd);
    sbx_str_adds(&f, " && ");
  }
  for (size_t i = 0; i < o->n_envs; i++) {
    if (!o->envs[i].key || !o->envs[i].value) continue;
    if (!valid_env_key(o->envs[i].key)) {
      sbx_str_free(&f);
      *st = SBX_EINVAL;
      return NULL;
    }
    sbx_str_addf(&f, "export %s=", o->envs[i].key);
    put_quoted(&f, o->envs[i].value);
    sbx_str_adds(&f, " && ");
  }
  if (o->cmd) {
    sbx_str_adds(&f, "exec bash -l -c ");
    put_quoted(&f, o->cmd);
  } else {
    sbx_str_adds(&f, "exec");
    for (const char *const *a = o->argv; *a; a++) {
      sbx_str_adds(&f, " ");
      put_quoted(&f, *a);
    }
  }
  sbx_str_adds(&f, o->stdin_open ? " )" : " ) </dev/null");
  char *out = sbx_str_take(&f, NULL);
  if (!out) *st = SBX_ENOMEM;
  return out;
}

/* ---- entry points ------------------------------------------------------------------ */

static struct dsess_op *new_op(sbx_client *c, const struct op_kind *kind, const char *id,
                               const sbx_exec_cbs *cbs, void *ud, sbx_status *st) {
  struct dsess_op *x = (struct dsess_op *)dt_tb_op_new(c, kind, &hooks_any, sizeof *x, id, ud, st);
  if (x) x->cbs = *cbs;
  return x;
}

sbx_status dt_session_exec_start(sbx_client *c, const char *id, const sbx_exec_opts *o,
                                 const sbx_exec_cbs *cbs, void *ud, sbx_op_id *out) {
  sbx_status st = SBX_OK;
  char *command = session_command(sbx__alloc(c), o, &st);
  if (!command) {
    if (st == SBX_EINVAL)
      sbx__refuse(c, st, "sbx_exec_start", "daytona: an env name is not a shell name");
    return st;
  }
  struct dsess_op *x = new_op(c, &kind_exec, id, cbs, ud, &st);
  if (!x) {
    sbx__free(sbx__alloc(c), command);
    return st;
  }
  x->command = command;
  x->detach = o->detach ? 1 : 0;
  x->timeout_ms = o->timeout_ms;
  if (o->timeout_ms > 0) x->deadline = ev_now(c->loop) + (double)o->timeout_ms / 1000.0;
  x->pid = (uint32_t)(1 + sbx__client_rand(c, 0x7ffffffe));
  snprintf(x->sid, sizeof x->sid, "sbx-%u", x->pid);
  x->phase = DX_SESSION;
  *out = x->t.k.op.id;
  return SBX_OK;
}

sbx_status dt_exec_connect(sbx_client *c, const char *id, uint32_t pid, const sbx_exec_cbs *cbs,
                           void *ud, sbx_op_id *out) {
  if (pid == 0) return SBX_EINVAL;
  sbx_status st = SBX_OK;
  struct dsess_op *x = new_op(c, &kind_connect, id, cbs, ud, &st);
  if (!x) return st;
  x->pid = pid;
  x->started = 1;
  snprintf(x->sid, sizeof x->sid, "sbx-%u", pid);
  x->phase = DX_LOOKUP;
  *out = x->t.k.op.id;
  return SBX_OK;
}
