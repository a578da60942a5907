/* emu_dt_toolbox.c - the Daytona toolbox under /toolbox/<id>: routing,
 * POST /process/execute (merged output, 408 on timeout), the info routes,
 * and --exec null's tiny interpreter. Files and sessions have their own files. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_dt.h"

const char *emu_dt_proc_path(const char *path, char *buf, size_t len) {
  size_t n = strlen(EMU_DT_HOME);
  if (!path || strncmp(path, EMU_DT_HOME, n) != 0 || (path[n] && path[n] != '/')) return path;
  snprintf(buf, len, "/home/user%s", path + n); /* the local sandbox's home */
  return buf;
}

/* ---- null mode ---- */

static void unquote_into(const char *s, size_t n, struct emu_buf *b) {
  while (n && isspace((unsigned char)s[n - 1]))
    n--;
  if (n >= 2 && (s[0] == '\'' || s[0] == '"') && s[n - 1] == s[0]) {
    s++;
    n -= 2;
  }
  emu_buf_add(b, s, n);
}

/* Length of the next statement: up to ';', a newline, "&&" or "||". */
static size_t statement_len(const char *p) {
  size_t n = 0;
  while (p[n] && p[n] != ';' && p[n] != '\n' && !(p[n] == '&' && p[n + 1] == '&') &&
         !(p[n] == '|' && p[n + 1] == '|'))
    n++;
  return n;
}

/* One shell word at s ('...' and \x as the shell reads them) into b;
 * returns where it ended. */
static const char *shell_word(const char *s, struct emu_buf *b) {
  int quoted = 0;
  for (; *s && (quoted || !isspace((unsigned char)*s)); s++) {
    if (*s == '\'') {
      quoted = !quoted;
    } else if (*s == '\\' && !quoted && s[1]) {
      emu_buf_add(b, ++s, 1);
    } else {
      emu_buf_add(b, s, 1);
    }
  }
  return s;
}

int emu_dt_null_run(const char *cmd, struct emu_buf *out, struct emu_buf *err) {
  const char *p = cmd;
  while (*p) {
    size_t n = statement_len(p);
    const char *s = p;
    while (n && (isspace((unsigned char)*s) || *s == '(')) { /* a subshell runs the same */
      s++;
      n--;
    }
    static const char *const shells[] = {"exec bash -l -c ", "exec bash -c ", "bash -l -c ",
                                         "bash -c "};
    for (size_t k = 0; k < sizeof shells / sizeof shells[0]; k++) {
      size_t sl = strlen(shells[k]);
      if (n > sl && !strncmp(s, shells[k], sl)) { /* e.g. sbx's session wrapper */
        struct emu_buf inner = {0};
        shell_word(s + sl, &inner);
        emu_buf_add(&inner, "", 1);
        int code = emu_dt_null_run(inner.data, out, err);
        emu_buf_free(&inner);
        return code;
      }
    }
    int to_err = 0;
    size_t m = n;
    for (size_t i = 0; i + 3 <= n; i++)
      if (!strncmp(s + i, ">&2", 3)) {
        to_err = 1;
        m = i > 0 && s[i - 1] == '1' ? i - 1 : i;
        break;
      }
    struct emu_buf *b = to_err ? err : out;
    if (m >= 4 && !strncmp(s, "echo", 4) && (m == 4 || s[4] == ' ')) {
      if (m > 5) unquote_into(s + 5, m - 5, b);
      emu_buf_add(b, "\n", 1);
    } else if (m > 7 && !strncmp(s, "printf ", 7)) {
      unquote_into(s + 7, m - 7, b);
    } else if (m >= 4 && !strncmp(s, "exit", 4)) {
      return m > 5 ? atoi(s + 5) : 0;
    } /* sleep and anything else: nothing, at once */
    p = s + n;
    while (*p == ';' || *p == '\n' || *p == '&' || *p == '|')
      p++;
  }
  return 0;
}

/* ---- POST /process/execute ---- */

struct exec_call {
  struct emu_app *app;
  struct emu_hold *hold;
  struct emu_buf out;
  long timeout_s;
  int64_t started_ms;
};

static void reply_exec(struct emu_req *req, int code, const struct emu_buf *out) {
  json_t *o =
      json_pack("{s:i,s:s%}", "exitCode", code, "result", out->data ? out->data : "", out->len);
  if (!o) o = json_pack("{s:i,s:s}", "exitCode", code, "result", ""); /* not UTF-8 */
  emu_reply_json(req, 200, o, NULL, 0);
}

static void exec_output(sbx_client *c, sbx_op_id op, int fd, const char *data, size_t len,
                        void *ud) {
  struct exec_call *x = ud;
  emu_buf_add(&x->out, data, len); /* stdout and stderr merged, as the daemon does */
}

static void exec_done(sbx_client *c, sbx_op_id op, const sbx_error *err, const sbx_exec_result *res,
                      void *ud) {
  struct exec_call *x = ud;
  struct emu_req *req = emu_req_resume(x->hold);
  int64_t took = emu_now_ms() - x->started_ms;
  if (!req) {
  } else if (x->timeout_s > 0 && (!res || !res->exited) && took >= x->timeout_s * 1000 - 100) {
    emu_dt_error(req, 408, "REQUEST_TIMEOUT", "command execution timeout");
  } else if (!res) {
    emu_buf_printf(&x->out, "%s", err ? err->message : "the command did not run");
    reply_exec(req, -1, &x->out);
  } else {
    reply_exec(req, res->exited ? res->exit_code : -1, &x->out);
  }
  emu_buf_free(&x->out);
  free(x);
}

static const sbx_exec_cbs exec_cbs = {NULL, exec_output, exec_done};

static void route_execute(struct emu_req *req, struct emu_dt_sb *d) {
  json_t *body = emu_req_json(req);
  const char *cmd = json_string_value(json_object_get(body, "command"));
  if (!cmd || !cmd[strspn(cmd, " \t\r\n")]) {
    json_decref(body);
    emu_dt_error(req, 400, "BAD_REQUEST", "command is required");
    return;
  }
  long timeout = (long)json_integer_value(json_object_get(body, "timeout"));
  if (d->app->exec_null) {
    struct emu_buf out = {0};
    int code = emu_dt_null_run(cmd, &out, &out);
    json_decref(body);
    reply_exec(req, code, &out);
    emu_buf_free(&out);
    return;
  }
  json_t *envs = json_object_get(body, "envs");
  sbx_kv *kv = calloc(json_object_size(envs) + 1, sizeof *kv);
  struct exec_call *x = calloc(1, sizeof *x);
  size_t n = 0;
  const char *k;
  json_t *v;
  json_object_foreach(envs, k, v) {
    if (kv && json_is_string(v)) kv[n++] = (sbx_kv){k, json_string_value(v)};
  }
  char cwd[4096];
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  o.cmd = cmd;
  o.cwd = emu_dt_proc_path(json_string_value(json_object_get(body, "cwd")), cwd, sizeof cwd);
  o.envs = kv;
  o.n_envs = n;
  o.timeout_ms = timeout > 0 ? timeout * 1000 : 0;
  sbx_op_id op;
  sbx_status st = SBX_ENOMEM;
  if (kv && x && (x->hold = emu_req_hold(req))) {
    x->app = d->app;
    x->timeout_s = timeout;
    x->started_ms = emu_now_ms();
    st = sbx_exec_start(d->app->local, d->sb->lid, &o, &exec_cbs, x, &op);
    if (st != SBX_OK) req = emu_req_resume(x->hold);
  }
  free(kv);
  json_decref(body);
  if (st == SBX_OK) return;
  free(x);
  emu_dt_error(req, 500, NULL, "cannot run the command: %s", sbx_strerror(st));
}

/* ---- dispatch ---- */

void emu_dt_toolbox_dispatch(struct emu_req *req) {
  struct emu_app *app = req->srv->app;
  const char *p = req->path + 9; /* after "/toolbox/" */
  const char *slash = strchr(p, '/');
  char id[EMU_DT_ID_LEN + 1];
  size_t n = slash ? (size_t)(slash - p) : strlen(p);
  if (!slash || n == 0 || n > EMU_DT_ID_LEN) {
    emu_dt_error(req, 404, "NOT_FOUND", "no route for %s %s", req->method, req->path);
    return;
  }
  memcpy(id, p, n);
  id[n] = '\0';
  if (emu_dt_check_auth(req) < 0) return;
  struct emu_dt_sb *d = emu_dt_find(app, id);
  if (!d || strcmp(d->id, id) != 0) {
    emu_dt_error(req, 404, "NOT_FOUND", "sandbox container not found");
    return;
  }
  if (!d->started) {
    emu_dt_error(req, 400, "BAD_REQUEST",
                 "failed to resolve container IP for sandbox %s. Is the "
                 "Sandbox started?",
                 id);
    return;
  }
  emu_dt_touch(d);
  const char *rest = slash, *m = req->method;
  if (!strcmp(rest, "/process/execute") && !strcmp(m, "POST")) {
    route_execute(req, d);
  } else if (!strncmp(rest, "/process/session", 16) && (!rest[16] || rest[16] == '/')) {
    emu_dt_session_route(req, d, rest + 16);
  } else if (!strncmp(rest, "/files", 6) && (!rest[6] || rest[6] == '/')) {
    emu_dt_files(req, d, rest + 6);
  } else if (!strcmp(m, "GET") && (!strcmp(rest, "/user-home-dir") ||
                                   !strcmp(rest, "/project-dir") || !strcmp(rest, "/work-dir"))) {
    emu_reply_json(req, 200, json_pack("{s:s}", "dir", EMU_DT_HOME), NULL, 0);
  } else if (!strcmp(m, "GET") && !strcmp(rest, "/version")) {
    emu_reply_json(req, 200, json_pack("{s:s}", "version", "v0.190.0"), NULL, 0);
  } else {
    emu_dt_error(req, 404, "NOT_FOUND", "no route for %s %s", m, rest);
  }
}
