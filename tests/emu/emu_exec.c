/* emu_exec.c - real mode: an emulated process is a command of the sandbox's
 * local sandbox, started, signalled and fed through libsbx's public API.
 * Its callbacks drive the envd side (emu_proc.c): start, output, end. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_proc.h"
#include "emu_stream.h"

static void on_start(sbx_client *c, sbx_op_id op, uint32_t pid, void *ud) {
  struct emu_proc *p = ud;
  if (!p->sb) return; /* orphaned: the sandbox is gone */
  emu_proc_started(p, pid);
  if (p->kill_on_start) emu_exec_signal(p, p->kill_on_start);
}

static void on_output(sbx_client *c, sbx_op_id op, int fd, const char *data, size_t len, void *ud) {
  struct emu_proc *p = ud;
  if (p->sb) emu_proc_output(p, fd == SBX_STDERR ? "stderr" : "stdout", data, len);
}

/* envd's Connect code for a command that could not start. */
static const char *start_error_code(int status) {
  switch (status) {
  case SBX_EINVAL: return "invalid_argument";
  case SBX_ENOTFOUND: return "not_found";
  case SBX_ECONFLICT: return "failed_precondition";
  case SBX_ENOTSUP: return "unimplemented";
  default: return "internal";
  }
}

/* The exec op ended: the process's end event, as envd words it ("exit
 * status 3", "signal: killed"). */
static void on_done(sbx_client *c, sbx_op_id op, const sbx_error *err, const sbx_exec_result *res,
                    void *ud) {
  struct emu_proc *p = ud;
  p->op = 0;
  if (!p->sb) { /* orphaned: nobody waits for it */
    emu_proc_free(p);
    return;
  }
  if (!p->pid) { /* never started: the Start stream gets the error */
    if (p->starter) {
      struct emu_stream *st = p->starter;
      emu_proc_unsubscribe(p, st);
      emu_stream_finish(st, start_error_code(err ? err->code : SBX_EIO), "%s",
                        err ? err->message : "the process did not start");
    }
    emu_proc_free(p);
    return;
  }
  if (res && res->exited) {
    p->exit_code = res->exit_code;
  } else if (res && res->status && strncmp(res->status, "signal: ", 8) == 0) {
    emu_proc_set_signal(p, res->status + 8);
  } else { /* no status: the client went away (shutdown) and killed it */
    emu_proc_set_signal(p, strsignal(SIGKILL));
  }
  emu_proc_finish(p);
}

static const sbx_exec_cbs exec_cbs = {on_start, on_output, on_done};

/* envd's environment on top of the local sandbox's (which holds the
 * create's envs and E2B_SANDBOX): USER and LOGNAME name the RPC user unless
 * the sandbox sets them, then the request's envs. */
static sbx_kv *exec_envs(const struct emu_sandbox *sb, const struct emu_proc_spec *spec,
                         size_t *n) {
  sbx_kv *kv = calloc(json_object_size(spec->envs) + 2, sizeof *kv);
  if (!kv) return NULL;
  *n = 0;
  if (!json_object_get(sb->env_vars, "USER")) kv[(*n)++] = (sbx_kv){"USER", spec->user};
  if (!json_object_get(sb->env_vars, "LOGNAME")) kv[(*n)++] = (sbx_kv){"LOGNAME", spec->user};
  const char *k;
  json_t *v;
  json_object_foreach(spec->envs, k, v) {
    if (json_is_string(v)) kv[(*n)++] = (sbx_kv){k, json_string_value(v)};
  }
  return kv;
}

int emu_exec_start(struct emu_proc *p, const struct emu_proc_spec *spec, const char **why) {
  size_t nargs = json_array_size(spec->args), n_envs = 0, argc = 0;
  const char **argv = calloc(nargs + 2, sizeof *argv);
  sbx_kv *envs = exec_envs(p->sb, spec, &n_envs);
  int rc = -1;
  *why = "out of memory";
  if (argv && envs) {
    argv[argc++] = spec->cmd;
    for (size_t i = 0; i < nargs; i++) {
      const char *a = json_string_value(json_array_get(spec->args, i));
      if (a) argv[argc++] = a;
    }
    sbx_exec_opts o;
    sbx_exec_opts_init(&o);
    o.argv = argv;
    o.cwd = spec->cwd;
    o.user = strcmp(spec->user, "root") == 0 ? "root" : NULL;
    o.envs = envs;
    o.n_envs = n_envs;
    o.stdin_open = spec->want_stdin;
    sbx_status st = sbx_exec_start(p->app->local, p->sb->lid, &o, &exec_cbs, p, &p->op);
    if (st == SBX_OK)
      rc = 0;
    else
      *why = sbx_strerror(st);
  }
  free(argv); /* both copied by the call */
  free(envs);
  return rc;
}

void emu_exec_signal(struct emu_proc *p, int sig) {
  if (!p->pid) { /* not started yet: on_start sends it */
    p->kill_on_start = sig;
    return;
  }
  sbx_op_id id;
  sbx_process_signal(p->app->local, p->sb->lid, p->pid, sig, emu_local_log_done, p->app, &id);
}

void emu_exec_input(struct emu_proc *p, const void *data, size_t len) {
  sbx_op_id id; /* writes queue in order behind each other in the provider */
  sbx_process_write_stdin(p->app->local, p->sb->lid, p->pid, data, len, emu_local_log_done, p->app,
                          &id);
}

void emu_exec_close_stdin(struct emu_proc *p) {
  sbx_op_id id;
  sbx_process_close_stdin(p->app->local, p->sb->lid, p->pid, emu_local_log_done, p->app, &id);
}
