/* emu_envd_proc.c - process.Process RPCs: the Start and Connect streams and
 * the unary List, SendSignal, SendInput, CloseStdin, Update. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "emu_app.h"
#include "emu_fs.h"
#include "emu_proc.h"
#include "emu_stream.h"

static const char ka_process[] = "{\"event\":{\"keepalive\":{}}}";

/* A ProcessSelector: pid (number or string) or tag. */
static int selector(json_t *msg, uint32_t *pid, const char **tag) {
  json_t *sel = json_object_get(msg, "process");
  json_t *p = json_object_get(sel, "pid");
  *pid = 0;
  *tag = json_string_value(json_object_get(sel, "tag"));
  if (json_is_integer(p))
    *pid = (uint32_t)json_integer_value(p);
  else if (json_is_string(p))
    *pid = (uint32_t)strtoul(json_string_value(p), NULL, 10);
  return *pid || *tag ? 0 : -1;
}

/* Does cwd exist where the process will see it? Under the mounts it is the
 * local sandbox's dir; elsewhere bubblewrap shows the host read-only. */
static int cwd_exists(const struct emu_sandbox *sb, const struct emu_path *p) {
  struct stat st;
  if (emu_fs_host_visible(sb, p->sb)) return stat(p->sb, &st) == 0 && S_ISDIR(st.st_mode);
  return emu_fs_inside(sb, p->host, 1) && stat(p->host, &st) == 0 && S_ISDIR(st.st_mode);
}

static void rpc_start(struct emu_req *req, struct emu_sandbox *sb) {
  struct emu_app *app = sb->app;
  json_t *msg = emu_stream_request(req);
  struct emu_stream *st = emu_stream_open(app, req, ka_process);
  if (!st) {
    json_decref(msg);
    return;
  }
  json_t *cfg = json_object_get(msg, "process");
  const char *cmd = json_string_value(json_object_get(cfg, "cmd"));
  json_t *args = json_object_get(cfg, "args");
  json_t *envs = json_object_get(cfg, "envs");
  const char *cwd = json_string_value(json_object_get(cfg, "cwd"));
  json_t *stdin_v = json_object_get(msg, "stdin");
  if (!msg || !cmd || !*cmd || (args && !json_is_array(args)) || (envs && !json_is_object(envs))) {
    json_decref(msg);
    emu_stream_finish(st, "invalid_argument", "invalid StartRequest");
    return;
  }
  struct emu_proc_spec spec = {.cmd = cmd, .args = args, .envs = envs};
  const char *home;
  spec.user = emu_rpc_user(req, &home);
  spec.want_stdin = !stdin_v || json_is_true(stdin_v);
  spec.tag = json_string_value(json_object_get(msg, "tag"));
  spec.timeout_ms = emu_header_ms(req, "connect-timeout-ms");
  struct emu_path wd;
  const char *why = NULL;
  if (emu_fs_resolve(sb, cwd ? cwd : "", home, &wd, &why) < 0) {
    json_decref(msg);
    emu_stream_finish(st, "invalid_argument", "cwd '%s' is invalid: %s", cwd, why);
    return;
  }
  if (!app->exec_null && !cwd_exists(sb, &wd)) {
    emu_stream_finish(st, "invalid_argument", "cwd '%s' does not exist", wd.sb);
    emu_path_free(&wd);
    json_decref(msg);
    return;
  }
  spec.cwd = wd.sb;
  json_t *config = json_deep_copy(cfg);
  if (config && !json_object_get(config, "cwd"))
    json_object_set_new(config, "cwd", json_string(wd.sb));
  struct emu_proc *p = config ? emu_proc_start(sb, &spec, config, &why) : NULL;
  emu_path_free(&wd);
  json_decref(msg);
  if (!p) {
    emu_stream_finish(st, "internal", "%s", why ? why : "out of memory");
    return;
  }
  emu_proc_subscribe(p, st);
  p->starter = st;
  if (!app->exec_null) return;     /* the start event follows once the pid is known */
  emu_proc_send_start(st, p->pid); /* a faulted stream may be gone now; the process lives on */
  emu_proc_run_null(p);
}

static void rpc_connect(struct emu_req *req, struct emu_sandbox *sb) {
  json_t *msg = emu_stream_request(req);
  struct emu_stream *st = emu_stream_open(sb->app, req, ka_process);
  if (!st) {
    json_decref(msg);
    return;
  }
  uint32_t pid;
  const char *tag;
  if (!msg || selector(msg, &pid, &tag) < 0) {
    json_decref(msg);
    emu_stream_finish(st, "invalid_argument", "a process selector is required");
    return;
  }
  struct emu_proc *p = emu_proc_find(sb, pid, tag);
  if (!p) {
    if (tag)
      emu_stream_finish(st, "not_found", "process with tag %s not found", tag);
    else
      emu_stream_finish(st, "not_found", "process with pid %u not found", pid);
    json_decref(msg);
    return;
  }
  json_decref(msg);
  if (p->exited) {
    char *end = emu_proc_end_json(p);
    if (emu_proc_send_start(st, p->pid) == 0 && (!end || emu_stream_send(st, end) == 0))
      emu_stream_finish(st, NULL, NULL);
    free(end);
    return;
  }
  int64_t ms = emu_header_ms(req, "connect-timeout-ms");
  emu_proc_subscribe(p, st);
  if (emu_proc_send_start(st, p->pid) == 0 && ms > 0)
    emu_stream_set_deadline(st, (double)ms / 1000.0);
}

static void rpc_list(struct emu_req *req, struct emu_sandbox *sb) {
  json_t *arr = json_array();
  for (struct emu_proc *p = sb->procs; arr && p; p = p->sb_next) {
    if (p->exited || !p->pid) continue;
    json_t *info = json_pack("{s:O,s:i}", "config", p->config, "pid", (json_int_t)p->pid);
    if (info && p->tag) json_object_set_new(info, "tag", json_string(p->tag));
    if (info) json_array_append_new(arr, info);
  }
  emu_reply_json(req, 200, json_pack("{s:o}", "processes", arr), NULL, 0);
}

static struct emu_proc *live_proc(struct emu_req *req, struct emu_sandbox *sb, json_t *msg) {
  uint32_t pid;
  const char *tag;
  if (selector(msg, &pid, &tag) < 0) {
    emu_connect_error(req, "invalid_argument", "a process selector is required");
    return NULL;
  }
  struct emu_proc *p = emu_proc_find(sb, pid, tag);
  if (!p || p->exited) {
    if (tag)
      emu_connect_error(req, "not_found", "process with tag %s not found", tag);
    else
      emu_connect_error(req, "not_found", "process with pid %u not found", pid);
    return NULL;
  }
  return p;
}

static void rpc_send_signal(struct emu_req *req, struct emu_sandbox *sb, json_t *msg) {
  json_t *s = json_object_get(msg, "signal");
  int sig = 0;
  if (json_is_string(s) && strcmp(json_string_value(s), "SIGNAL_SIGKILL") == 0)
    sig = SIGKILL;
  else if (json_is_string(s) && strcmp(json_string_value(s), "SIGNAL_SIGTERM") == 0)
    sig = SIGTERM;
  else if (json_is_integer(s) && (json_integer_value(s) == 9 || json_integer_value(s) == 15))
    sig = (int)json_integer_value(s);
  struct emu_proc *p = live_proc(req, sb, msg);
  if (!p) return;
  if (!sig) {
    emu_connect_error(req, "unimplemented", "only SIGKILL and SIGTERM are supported");
    return;
  }
  if (emu_proc_signal(p, sig) < 0 && errno != ESRCH) {
    emu_connect_error(req, "internal", "cannot signal the process: %s", strerror(errno));
    return;
  }
  emu_reply_json(req, 200, json_object(), NULL, 0);
}

static void rpc_send_input(struct emu_req *req, struct emu_sandbox *sb, json_t *msg) {
  struct emu_proc *p = live_proc(req, sb, msg);
  if (!p) return;
  json_t *input = json_object_get(msg, "input");
  const char *b64 = json_string_value(json_object_get(input, "stdin"));
  if (!b64) b64 = json_string_value(json_object_get(input, "pty"));
  size_t n = 0;
  unsigned char *data = b64 ? emu_b64_decode(b64, strlen(b64), &n) : NULL;
  if (!data) {
    emu_connect_error(req, "invalid_argument", "input must be base64 bytes");
    return;
  }
  const char *why = NULL;
  int rc = emu_proc_input(p, data, n, &why);
  free(data);
  if (rc < 0) {
    emu_connect_error(req, "failed_precondition", "%s", why);
    return;
  }
  emu_reply_json(req, 200, json_object(), NULL, 0);
}

static void rpc_close_stdin(struct emu_req *req, struct emu_sandbox *sb, json_t *msg) {
  struct emu_proc *p = live_proc(req, sb, msg);
  if (!p) return;
  const char *why = NULL;
  if (emu_proc_close_stdin(p, &why) < 0) {
    emu_connect_error(req, "failed_precondition", "%s", why);
    return;
  }
  emu_reply_json(req, 200, json_object(), NULL, 0);
}

void emu_proc_rpc(struct emu_req *req, struct emu_sandbox *sb, const char *method) {
  const char *ctype = emu_req_header(req, "content-type");
  if (!strcmp(method, "Start") || !strcmp(method, "Connect")) {
    if (!ctype || strncmp(ctype, "application/connect+json", 24) != 0) {
      emu_connect_error(req, "unimplemented", "streams need application/connect+json");
      return;
    }
    if (!strcmp(method, "Start")) {
      rpc_start(req, sb);
      return;
    }
    rpc_connect(req, sb);
    return;
  }
  if (!ctype || strncmp(ctype, "application/json", 16) != 0) {
    emu_connect_error(req, "unimplemented", "only the Connect JSON codec is supported");
    return;
  }
  json_t *msg = emu_req_json(req);
  if (!msg) {
    emu_connect_error(req, "invalid_argument", "request is not a JSON object");
    return;
  }
  if (!strcmp(method, "List"))
    rpc_list(req, sb);
  else if (!strcmp(method, "SendSignal"))
    rpc_send_signal(req, sb, msg);
  else if (!strcmp(method, "SendInput"))
    rpc_send_input(req, sb, msg);
  else if (!strcmp(method, "CloseStdin"))
    rpc_close_stdin(req, sb, msg);
  else if (!strcmp(method, "Update")) {
    if (live_proc(req, sb, msg)) emu_reply_json(req, 200, json_object(), NULL, 0);
  } else
    emu_connect_error(req, "unimplemented", "process.Process/%s is not implemented", method);
  json_decref(msg);
}
