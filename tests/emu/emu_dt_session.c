/* emu_dt_session.c - toolbox sessions: one persistent bash per session fed
 * through stdin (cd and export carry over), commands one at a time, each
 * ended by sentinel markers that carry its exit code; logs as JSON or
 * followed over a WebSocket ("\x01\x01\x01" stdout, "\x02\x02\x02" stderr) in
 * binary frames of up to 1024 bytes, which injected faults can break. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_dt.h"
#include "emu_fault.h"
#include "emu_ws.h"

/* The daemon reads the log and sends it 1024 bytes at a time: one binary
 * frame per read, the history replay included. */
#define FOLLOW_FRAME 1024

struct follow {
  struct follow *next;
  struct dt_cmd *cmd;
  struct emu_ws *ws;
  size_t sent;          /* log bytes sent */
  unsigned long frames; /* binary frames sent */
  int fault;            /* an injected rule (enum emu_ws_break), -1: none */
  unsigned long fault_after;
};

struct sync_wait {
  struct sync_wait *next;
  struct emu_hold *hold;
};

struct dt_cmd {
  struct dt_cmd *next;
  char id[EMU_DT_ID_LEN + 1];
  char *command;
  int started, exited, exit_code;
  struct emu_buf log, out, err; /* log: the raw stream with markers */
  int line_open[2];             /* stdout, stderr: a line without its newline yet */
  int echo_input;               /* input is logged as stdout (no suppressInputEcho) */
  struct emu_buf input;         /* input sent before the command started */
  int last;                     /* the stream of the latest marker, -1 none */
  struct follow *follows;
  struct sync_wait *syncs;
};

struct emu_dt_session {
  struct emu_dt_session *next;
  struct emu_dt_sb *d; /* NULL: orphaned, waiting for its shell's op to end */
  struct emu_app *app;
  char *id;
  char lid[32];
  struct dt_cmd *cmds, **tail, *running;
  sbx_op_id op; /* the shell, 0 when none */
  uint32_t pid;
  char mark_out[48], mark_err[48]; /* "\037SBX<nonce>:" and "\037SBX<nonce>\037" */
  struct emu_buf pend_out, pend_err;
  int end_out, end_err, rc;
};

/* ---- commands and their followers ---- */

static void follow_unlink(struct follow *f) {
  struct follow **pp = &f->cmd->follows;
  while (*pp && *pp != f)
    pp = &(*pp)->next;
  if (*pp) *pp = f->next;
  free(f);
}

static void follow_gone(void *ud) {
  follow_unlink(ud);
}

/* Send the log bytes f has not sent yet. -1 when an injected fault broke
 * the socket in place of a frame (f is then unlinked and freed). */
static int follow_push(struct follow *f) {
  const struct emu_buf *log = &f->cmd->log;
  while (f->sent < log->len) {
    size_t n = log->len - f->sent < FOLLOW_FRAME ? log->len - f->sent : FOLLOW_FRAME;
    if (f->fault >= 0 && f->frames >= f->fault_after) {
      emu_ws_break(f->ws, (enum emu_ws_break)f->fault, log->data + f->sent, n, 1000);
      follow_unlink(f);
      return -1;
    }
    if (emu_ws_send_binary(f->ws, log->data + f->sent, n) != 0)
      return 0; /* going away: follow_gone comes */
    f->sent += n;
    f->frames++;
  }
  return 0;
}

/* The command is over and f has all its log: close 1000, or a rule not yet
 * due fires in place of the close frame. f must be unlinked; it is freed. */
static void follow_end(struct follow *f) {
  if (f->fault >= 0)
    emu_ws_break(f->ws, (enum emu_ws_break)f->fault, NULL, 0, 1000);
  else
    emu_ws_close(f->ws, 1000);
  free(f);
}

/* The daemon logs line by line (printf '<marker>%s\n' per line read): a
 * marker starts each line, and a line cut by the other stream's output gets
 * a marker again when it goes on. */
static void log_lines(struct dt_cmd *c, int err, const char *data, size_t len) {
  while (len) {
    const char *nl = memchr(data, '\n', len);
    size_t n = nl ? (size_t)(nl - data) + 1 : len;
    if (!c->line_open[err] || c->last != err)
      emu_buf_add(&c->log, err ? "\x02\x02\x02" : "\x01\x01\x01", 3);
    emu_buf_add(&c->log, data, n);
    c->line_open[err] = !nl;
    c->last = err;
    data += n;
    len -= n;
  }
}

static void cmd_output(struct dt_cmd *c, int err, const char *data, size_t len) {
  if (!len) return;
  emu_buf_add(err ? &c->err : &c->out, data, len);
  log_lines(c, err, data, len);
  for (struct follow *f = c->follows, *next; f; f = next) {
    next = f->next; /* a fault may free f */
    follow_push(f);
  }
}

static json_t *logs_json(const struct dt_cmd *c) {
  json_t *o = json_pack("{s:s%,s:s%,s:s%}", "output", c->log.data ? c->log.data : "", c->log.len,
                        "stdout", c->out.data ? c->out.data : "", c->out.len, "stderr",
                        c->err.data ? c->err.data : "", c->err.len);
  return o ? o : json_pack("{s:s,s:s,s:s}", "output", "", "stdout", "", "stderr", "");
}

static void reply_sync(struct emu_req *req, const struct dt_cmd *c) {
  json_t *o = logs_json(c);
  json_object_set_new(o, "cmdId", json_string(c->id));
  json_object_set_new(o, "exitCode", json_integer(c->exit_code));
  emu_reply_json(req, 200, o, NULL, 0);
}

static void cmd_finish(struct dt_cmd *c, int code) {
  for (int err = 0; err < 2; err++) /* a last line gets its newline, as printf adds it */
    if (c->line_open[err]) {
      emu_buf_add(err ? &c->err : &c->out, "\n", 1);
      log_lines(c, err, "\n", 1);
    }
  c->exited = 1;
  c->exit_code = code;
  while (c->follows) {
    struct follow *f = c->follows;
    c->follows = f->next;
    f->next = NULL;
    if (follow_push(f) == 0) follow_end(f);
  }
  while (c->syncs) {
    struct sync_wait *w = c->syncs;
    c->syncs = w->next;
    struct emu_req *req = emu_req_resume(w->hold);
    if (req) reply_sync(req, c);
    free(w);
  }
}

static void cmd_free(struct dt_cmd *c) {
  if (!c->exited) cmd_finish(c, -1);
  emu_buf_free(&c->log);
  emu_buf_free(&c->input);
  emu_buf_free(&c->out);
  emu_buf_free(&c->err);
  free(c->command);
  free(c);
}

/* ---- the shell (real mode) ---- */

static void session_kick(struct emu_dt_session *s);

static void session_free(struct emu_dt_session *s) {
  while (s->cmds) {
    struct dt_cmd *c = s->cmds;
    s->cmds = c->next;
    cmd_free(c);
  }
  emu_buf_free(&s->pend_out);
  emu_buf_free(&s->pend_err);
  free(s->id);
  free(s);
}

/* Move marker-free bytes of pend to the command; 1 when the marker was seen. */
static int scan(struct emu_dt_session *s, struct emu_buf *pend, const char *mark, int err) {
  size_t ml = strlen(mark);
  char *hit = pend->len ? memmem(pend->data, pend->len, mark, ml) : NULL;
  size_t emit = pend->len;
  if (hit) {
    emit = (size_t)(hit - pend->data);
  } else { /* hold back what may be the start of a marker */
    char *last = pend->len ? memrchr(pend->data, '\037', pend->len) : NULL;
    if (last && (size_t)(pend->data + pend->len - last) < ml + 16)
      emit = (size_t)(last - pend->data);
  }
  if (s->running) cmd_output(s->running, err, pend->data, emit);
  emu_buf_consume(pend, emit);
  if (!hit) return 0;
  if (!err) { /* "<mark><rc>\037" */
    char *end = memchr(pend->data + ml, '\037', pend->len - ml);
    if (!end) return 0;
    s->rc = atoi(pend->data + ml);
    emu_buf_consume(pend, (size_t)(end - pend->data) + 1);
  } else {
    emu_buf_consume(pend, ml);
  }
  return 1;
}

static void command_ended(struct emu_dt_session *s, int code) {
  struct dt_cmd *c = s->running;
  s->running = NULL;
  s->end_out = s->end_err = 0;
  if (c) cmd_finish(c, code);
  session_kick(s);
}

static void shell_output(sbx_client *cl, sbx_op_id op, int fd, const char *data, size_t len,
                         void *ud) {
  struct emu_dt_session *s = ud;
  if (!s->d) return;
  int err = fd == SBX_STDERR;
  struct emu_buf *pend = err ? &s->pend_err : &s->pend_out;
  emu_buf_add(pend, data, len);
  if (scan(s, pend, err ? s->mark_err : s->mark_out, err)) {
    if (err)
      s->end_err = 1;
    else
      s->end_out = 1;
  }
  if (s->end_out && s->end_err) command_ended(s, s->rc);
}

static void shell_start(sbx_client *cl, sbx_op_id op, uint32_t pid, void *ud) {
  struct emu_dt_session *s = ud;
  s->pid = pid;
  if (!s->d)
    sbx_process_signal(s->app->local, s->lid, pid, SIGKILL, emu_local_log_done, s->app, &op);
  else
    session_kick(s);
}

static void shell_done(sbx_client *cl, sbx_op_id op, const sbx_error *err,
                       const sbx_exec_result *res, void *ud) {
  struct emu_dt_session *s = ud;
  s->op = 0;
  s->pid = 0;
  if (!s->d) {
    session_free(s);
    return;
  }
  /* the shell died (an "exit" in a command): that command ends with it */
  if (s->running) {
    if (s->running) cmd_output(s->running, 0, s->pend_out.data, s->pend_out.len);
    if (s->running) cmd_output(s->running, 1, s->pend_err.data, s->pend_err.len);
    s->pend_out.len = s->pend_err.len = 0;
    command_ended(s, res && res->exited ? res->exit_code : -1);
  } else {
    session_kick(s);
  }
}

static const sbx_exec_cbs shell_cbs = {shell_start, shell_output, shell_done};

static void write_command(struct emu_dt_session *s, struct dt_cmd *c) {
  struct emu_buf b = {0};
  emu_buf_add(&b, "eval '", 6);
  for (const char *p = c->command; *p; p++) /* single-quoted: ' becomes '\'' */
    emu_buf_add(&b, *p == '\'' ? "'\\''" : p, *p == '\'' ? 4 : 1);
  /* the markers print once the eval is done; the line is parsed as a whole,
   * so a command reading stdin cannot eat them */
  emu_buf_printf(&b,
                 "'; __sbx_rc=$?; printf '%%s%%d\\037' '%s' \"$__sbx_rc\"; printf '%%s' '%s' >&2\n",
                 s->mark_out, s->mark_err);
  sbx_op_id op;
  sbx_process_write_stdin(s->app->local, s->lid, s->pid, b.data, b.len, emu_local_log_done, s->app,
                          &op);
  emu_buf_free(&b);
}

static void session_kick(struct emu_dt_session *s) {
  if (s->running || !s->d) return;
  struct dt_cmd *c = s->cmds;
  while (c && c->started)
    c = c->next;
  if (!c) return;
  if (!s->op) {
    static const char *const argv[] = {"bash", NULL};
    sbx_exec_opts o;
    sbx_exec_opts_init(&o);
    o.argv = argv;
    o.stdin_open = 1;
    o.envs = NULL;
    if (sbx_exec_start(s->app->local, s->lid, &o, &shell_cbs, s, &s->op) != SBX_OK) {
      s->op = 0;
      c->started = 1;
      cmd_output(c, 1, "cannot start the session shell\n", 31);
      cmd_finish(c, -1);
    }
    return; /* shell_start kicks again */
  }
  if (!s->pid) return;
  c->started = 1;
  s->running = c;
  write_command(s, c);
  if (c->input.len) { /* after the command line: its reads get it */
    sbx_op_id op;
    sbx_process_write_stdin(s->app->local, s->lid, s->pid, c->input.data, c->input.len,
                            emu_local_log_done, s->app, &op);
    emu_buf_free(&c->input);
  }
}

/* ---- routes ---- */

static struct emu_dt_session *find_session(struct emu_dt_sb *d, const char *id) {
  for (struct emu_dt_session *s = d->sessions; s; s = s->next)
    if (!strcmp(s->id, id)) return s;
  return NULL;
}

static struct dt_cmd *find_cmd(struct emu_dt_session *s, const char *id) {
  for (struct dt_cmd *c = s->cmds; c; c = c->next)
    if (!strcmp(c->id, id)) return c;
  return NULL;
}

static json_t *cmd_json(const struct dt_cmd *c) {
  json_t *o = json_pack("{s:s,s:s}", "id", c->id, "command", c->command);
  if (o && c->exited) json_object_set_new(o, "exitCode", json_integer(c->exit_code));
  return o;
}

static json_t *session_json(const struct emu_dt_session *s) {
  json_t *cmds = json_array();
  for (const struct dt_cmd *c = s->cmds; cmds && c; c = c->next)
    json_array_append_new(cmds, cmd_json(c));
  return json_pack("{s:s,s:o}", "sessionId", s->id, "commands", cmds);
}

static void route_create(struct emu_req *req, struct emu_dt_sb *d) {
  json_t *body = emu_req_json(req);
  const char *id = json_string_value(json_object_get(body, "sessionId"));
  if (!id || !*id || !strcmp(id, "entrypoint")) {
    emu_dt_error(req, 400, "BAD_REQUEST", "invalid sessionId");
  } else if (find_session(d, id)) {
    emu_dt_error(req, 409, "CONFLICT", "session already exists");
  } else {
    struct emu_dt_session *s = calloc(1, sizeof *s);
    if (s && (s->id = strdup(id))) {
      char nonce[17];
      emu_random_hex(nonce, 16);
      s->d = d;
      s->app = d->app;
      snprintf(s->lid, sizeof s->lid, "%s", d->sb->lid);
      s->tail = &s->cmds;
      snprintf(s->mark_out, sizeof s->mark_out, "\037SBX%s:", nonce);
      snprintf(s->mark_err, sizeof s->mark_err, "\037SBX%s\037", nonce);
      s->next = d->sessions;
      d->sessions = s;
      d->app->dt_sessions++;
      emu_reply_empty(req, 201);
    } else {
      free(s);
      emu_dt_error(req, 500, NULL, "out of memory");
    }
  }
  json_decref(body);
}

static void session_kill(struct emu_dt_session *s) {
  s->d = NULL;
  s->app->dt_sessions--;
  if (!s->op) {
    session_free(s);
    return;
  }
  while (s->cmds) { /* followers and waiters learn now; the shell dies later */
    struct dt_cmd *c = s->cmds;
    s->cmds = c->next;
    cmd_free(c);
  }
  s->running = NULL;
  sbx_op_id op;
  if (s->pid)
    sbx_process_signal(s->app->local, s->lid, s->pid, SIGKILL, emu_local_log_done, s->app, &op);
}

void emu_dt_sessions_free(struct emu_dt_sb *d) {
  while (d->sessions) {
    struct emu_dt_session *s = d->sessions;
    d->sessions = s->next;
    session_kill(s);
  }
}

static void route_exec(struct emu_req *req, struct emu_dt_session *s) {
  json_t *body = emu_req_json(req);
  const char *cmd = json_string_value(json_object_get(body, "command"));
  int async = json_is_true(json_object_get(body, "runAsync")) ||
              json_is_true(json_object_get(body, "async"));
  struct dt_cmd *c = cmd && cmd[strspn(cmd, " \t\r\n")] ? calloc(1, sizeof *c) : NULL;
  if (!c || !(c->command = strdup(cmd))) {
    free(c);
    json_decref(body);
    emu_dt_error(req, 400, "BAD_REQUEST", "command is required");
    return;
  }
  c->last = -1;
  c->echo_input = !json_is_true(json_object_get(body, "suppressInputEcho"));
  json_decref(body);
  emu_dt_uuid(c->id);
  *s->tail = c;
  s->tail = &c->next;
  if (s->app->exec_null) {
    struct emu_buf out = {0}, err = {0};
    c->started = 1;
    int code = emu_dt_null_run(c->command, &out, &err);
    cmd_output(c, 0, out.data, out.len);
    cmd_output(c, 1, err.data, err.len);
    emu_buf_free(&out);
    emu_buf_free(&err);
    cmd_finish(c, code);
  }
  struct sync_wait *w = NULL;
  if (!async && !c->exited && (w = calloc(1, sizeof *w)) && (w->hold = emu_req_hold(req))) {
    w->next = c->syncs;
    c->syncs = w;
  } else if (!async && !c->exited) {
    free(w);
    emu_dt_error(req, 500, NULL, "out of memory");
    return;
  }
  if (!s->app->exec_null) session_kick(s);
  if (async)
    emu_reply_json(req, 202, json_pack("{s:s}", "cmdId", c->id), NULL, 0);
  else if (!w)
    reply_sync(req, c);
}

/* The rule emu_route let through to this follow: how it breaks the socket
 * (rst and goaway have no WebSocket meaning: a drop), or -1. */
static int follow_fault(const struct emu_fault *r, unsigned long *after) {
  if (!r) return -1;
  *after = r->after_messages;
  switch (r->action) {
  case EMU_FAULT_TRUNCATE: return EMU_WS_TRUNCATE;
  case EMU_FAULT_MALFORMED: return EMU_WS_MALFORMED;
  case EMU_FAULT_STATUS: return -1;
  default: return EMU_WS_DROP;
  }
}

int emu_dt_is_follow(const struct emu_req *req) {
  size_t n = strlen(req->path);
  if (strncmp(req->path, "/toolbox/", 9) != 0 || !strstr(req->path, "/process/session/") || n < 5 ||
      strcmp(req->path + n - 5, "/logs") != 0 || !emu_ws_is_upgrade(req))
    return 0;
  char *follow = emu_query_get(req->query, "follow");
  int yes = follow && !strcmp(follow, "true");
  free(follow);
  return yes;
}

static void route_logs(struct emu_req *req, struct dt_cmd *c) {
  if (!emu_dt_is_follow(req)) {
    emu_reply_json(req, 200, logs_json(c), NULL, 0);
    return;
  }
  struct follow *f = calloc(1, sizeof *f);
  if (!f) {
    emu_dt_error(req, 500, NULL, "out of memory");
    return;
  }
  struct emu_app *app = req->srv->app;
  f->fault = follow_fault(app->stream_fault, &f->fault_after);
  if (!(f->ws = emu_ws_accept(req, follow_gone, f))) {
    free(f);
    return;
  }
  f->cmd = c;
  if (follow_push(f) < 0) return; /* the replay, from the start */
  if (c->exited) {
    follow_end(f);
    return;
  }
  f->next = c->follows;
  c->follows = f;
}

static void route_input(struct emu_req *req, struct emu_dt_session *s, struct dt_cmd *c) {
  json_t *body = emu_req_json(req);
  const char *data = json_string_value(json_object_get(body, "data"));
  if (c->exited) {
    emu_dt_error(req, 410, "COMMAND_ALREADY_COMPLETED", "command has already completed");
  } else if (!data) {
    emu_dt_error(req, 400, "BAD_REQUEST", "data is required");
  } else {
    struct emu_buf b = {0};
    size_t n = strlen(data);
    emu_buf_add(&b, data, n);
    if (!n || data[n - 1] != '\n') emu_buf_add(&b, "\n", 1);
    if (c->echo_input) cmd_output(c, 0, b.data, b.len); /* the daemon's echo */
    if (s->pid && c == s->running) {
      sbx_op_id op;
      sbx_process_write_stdin(s->app->local, s->lid, s->pid, b.data, b.len, emu_local_log_done,
                              s->app, &op);
    } else if (!s->app->exec_null) { /* queued behind another command, or the shell starting */
      emu_buf_add(&c->input, b.data, b.len);
    }
    emu_buf_free(&b);
    emu_reply_empty(req, 200);
  }
  json_decref(body);
}

void emu_dt_session_route(struct emu_req *req, struct emu_dt_sb *d, const char *rest) {
  const char *m = req->method;
  if (!*rest || !strcmp(rest, "/")) {
    if (!strcmp(m, "POST")) {
      route_create(req, d);
      return;
    }
    json_t *arr = json_array();
    for (struct emu_dt_session *s = d->sessions; arr && s; s = s->next)
      json_array_append_new(arr, session_json(s));
    emu_reply_json(req, 200, arr, NULL, 0);
    return;
  }
  char sid[256], cid[64], tail[32] = "";
  const char *p = rest + 1;
  size_t n = strcspn(p, "/");
  if (n == 0 || n >= sizeof sid) goto nope;
  memcpy(sid, p, n);
  sid[n] = '\0';
  struct emu_dt_session *s = find_session(d, sid);
  if (!s) {
    emu_dt_error(req, 404, "NOT_FOUND", "session not found");
    return;
  }
  p += n;
  if (!*p) {
    if (!strcmp(m, "GET")) {
      emu_reply_json(req, 200, session_json(s), NULL, 0);
    } else if (!strcmp(m, "DELETE")) {
      struct emu_dt_session **pp = &d->sessions;
      while (*pp != s)
        pp = &(*pp)->next;
      *pp = s->next;
      session_kill(s);
      emu_reply_empty(req, 204);
    } else {
      goto nope;
    }
    return;
  }
  if (!strcmp(p, "/exec") && !strcmp(m, "POST")) {
    route_exec(req, s);
    return;
  }
  if (strncmp(p, "/command/", 9) != 0) goto nope;
  p += 9;
  n = strcspn(p, "/");
  if (n == 0 || n >= sizeof cid || strlen(p + n) >= sizeof tail) goto nope;
  memcpy(cid, p, n);
  cid[n] = '\0';
  snprintf(tail, sizeof tail, "%s", p + n);
  struct dt_cmd *c = find_cmd(s, cid);
  if (!c) {
    emu_dt_error(req, 404, "NOT_FOUND", "command not found");
  } else if (!*tail && !strcmp(m, "GET")) {
    emu_reply_json(req, 200, cmd_json(c), NULL, 0);
  } else if (!strcmp(tail, "/logs") && !strcmp(m, "GET")) {
    route_logs(req, c);
  } else if (!strcmp(tail, "/input") && !strcmp(m, "POST")) {
    route_input(req, s, c);
  } else {
    goto nope;
  }
  return;
nope:
  emu_dt_error(req, 404, "NOT_FOUND", "no route for %s /process/session%s", m, rest);
}
