/* cli_exec.c - `sbx exec`: run a command in a sandbox, stream its output
 * live, optionally forward our stdin, and exit with its exit code. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_cmds.h"
#include "cli_output.h"

/* Characters that never need quoting in a POSIX shell word. */
static int shell_safe(const char *s) {
  if (!*s) return 0;
  for (; *s; s++)
    if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-", *s))
      return 0;
  return 1;
}

char *cli_shell_join(int argc, char *const *argv) {
  size_t len = 1;
  for (int i = 0; i < argc; i++)
    len += strlen(argv[i]) * 4 + 3; /* ' -> '\'' */
  char *out = cli_xmalloc(len);
  char *p = out;
  for (int i = 0; i < argc; i++) {
    if (i) *p++ = ' ';
    if (shell_safe(argv[i])) {
      p = stpcpy(p, argv[i]);
      continue;
    }
    *p++ = '\'';
    for (const char *s = argv[i]; *s; s++) {
      if (*s == '\'')
        p = stpcpy(p, "'\\''");
      else
        *p++ = *s;
    }
    *p++ = '\'';
  }
  *p = '\0';
  return out;
}

/* Go's names for the signals envd reports as "signal: <name>". */
static const struct {
  const char *name;
  int signo;
} signal_names[] = {
    {"hangup", 1},
    {"interrupt", 2},
    {"quit", 3},
    {"illegal instruction", 4},
    {"trace/breakpoint trap", 5},
    {"aborted", 6},
    {"bus error", 7},
    {"floating point exception", 8},
    {"killed", 9},
    {"user defined signal 1", 10},
    {"segmentation fault", 11},
    {"user defined signal 2", 12},
    {"broken pipe", 13},
    {"alarm clock", 14},
    {"terminated", 15},
};

/* The shell-style exit code of a finished process: its exit status, or
 * 128+N when signal N killed it. */
static int exit_code_of(const sbx_exec_result *res) {
  if (res->exited && res->exit_code >= 0) return res->exit_code & 0xff;
  const char *st = res->status ? res->status : "";
  if (!strncmp(st, "exit status ", 12)) return atoi(st + 12) & 0xff;
  if (!strncmp(st, "signal: ", 8)) {
    const char *name = st + 8;
    for (size_t i = 0; i < sizeof signal_names / sizeof signal_names[0]; i++) {
      size_t len = strlen(signal_names[i].name);
      if (!strncmp(name, signal_names[i].name, len) && (!name[len] || name[len] == ' '))
        return 128 + signal_names[i].signo;
    }
    if (!strncmp(name, "signal ", 7) && atoi(name + 7) > 0) return 128 + atoi(name + 7);
    return 128 + SIGKILL; /* killed by something we cannot name */
  }
  if (res->exit_code >= 0) return res->exit_code & 0xff;
  return CLI_EXIT_FAIL;
}

struct exec_state {
  struct cli *cli;
  const char *sandbox_id;
  sbx_op_id op;
  uint32_t pid;
  int started;
  int done;
  int detach;
  /* --stdin: one write in flight at a time keeps chunks in order and
   * memory bounded; the reader pauses until it completes. */
  int forward_stdin;
  int stdin_closing;
  ev_io stdin_w;
  char buf[65536];
  /* --json: the tail of a UTF-8 sequence split across chunks, per stream. */
  char partial[3][4];
  size_t n_partial[3];
};

static void stdin_done_cb(sbx_client *c, sbx_op_id op, const sbx_error *err, void *ud);

static void stdin_stop(struct exec_state *x) {
  if (ev_is_active(&x->stdin_w)) ev_io_stop(x->cli->loop, &x->stdin_w);
}

static void stdin_close_remote(struct exec_state *x) {
  sbx_op_id op = 0;
  x->stdin_closing = 1;
  stdin_stop(x);
  sbx_status st =
      sbx_process_close_stdin(x->cli->client, x->sandbox_id, x->pid, stdin_done_cb, x, &op);
  if (st == SBX_ENOTSUP) { /* Daytona: session input has no end */
    fprintf(stderr, "sbx: %s: the provider cannot close stdin: the command gets no end of input\n",
            x->sandbox_id);
    return;
  }
  cli_track(x->cli, st, &op, "stdin");
}

static void stdin_cb(struct ev_loop *loop, ev_io *w, int revents) {
  struct exec_state *x = w->data;
  ssize_t n = read(w->fd, x->buf, sizeof x->buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) return;
  if (n < 0) {
    cli_fail_status(x->cli, "stdin", SBX_EIO, strerror(errno));
    stdin_close_remote(x);
    return;
  }
  if (n == 0) {
    stdin_close_remote(x);
    return;
  }
  /* The data is copied by the call, so buf is free again on return. */
  sbx_op_id op = 0;
  stdin_stop(x);
  if (cli_track(x->cli,
                sbx_process_write_stdin(x->cli->client, x->sandbox_id, x->pid, x->buf, (size_t)n,
                                        stdin_done_cb, x, &op),
                &op, "stdin") < 0)
    x->forward_stdin = 0;
}

static void stdin_done_cb(sbx_client *c, sbx_op_id op, const sbx_error *err, void *ud) {
  struct exec_state *x = ud;
  /* Once the process has ended, a refused write is expected, not news. */
  if (err && !x->done) {
    cli_fail(x->cli, "stdin", err);
    x->forward_stdin = 0;
  }
  if (!err && !x->done && !x->stdin_closing && x->forward_stdin && !x->cli->interrupted)
    ev_io_start(x->cli->loop, &x->stdin_w);
  cli_done(x->cli, op);
}

static void on_start(sbx_client *c, sbx_op_id op, uint32_t pid, void *ud) {
  struct exec_state *x = ud;
  x->pid = pid;
  x->started = 1;
  if (x->cli->json && !x->detach) {
    json_t *o = json_object();
    json_object_set_new(o, "event", json_string("start"));
    json_object_set_new(o, "pid", json_integer(pid));
    out_json_line(o);
    fflush(stdout);
  }
  if (x->forward_stdin && !x->cli->interrupted) ev_io_start(x->cli->loop, &x->stdin_w);
}

/* --json: one {"event":"stdout","data":...} line per chunk, holding back an
 * incomplete UTF-8 sequence at the end for the next chunk. */
static void output_json(struct exec_state *x, int fd, const char *data, size_t len) {
  size_t hold = 0;
  /* Find a trailing lead byte whose sequence is cut short. */
  for (size_t k = 1; k <= 3 && k <= len; k++) {
    unsigned char b = (unsigned char)data[len - k];
    if ((b & 0xc0) == 0x80) continue;
    size_t need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    if (need > k) hold = k;
    break;
  }
  size_t np = x->n_partial[fd];
  char *chunk = cli_xmalloc(np + len);
  memcpy(chunk, x->partial[fd], np);
  memcpy(chunk + np, data, len - hold);
  memcpy(x->partial[fd], data + len - hold, hold);
  x->n_partial[fd] = hold;
  if (np + len - hold) {
    json_t *o = json_object();
    json_object_set_new(o, "event", json_string(fd == SBX_STDERR ? "stderr" : "stdout"));
    json_object_set_new(o, "data", out_jstrn(chunk, np + len - hold));
    out_json_line(o);
    if (fflush(stdout) != 0) cli_stdout_broken(x->cli);
  }
  free(chunk);
}

static void on_output(sbx_client *c, sbx_op_id op, int fd, const char *data, size_t len, void *ud) {
  struct exec_state *x = ud;
  if (x->cli->out_broken) return;
  if (fd != SBX_STDERR) fd = SBX_STDOUT;
  if (x->cli->json) {
    output_json(x, fd, data, len);
    return;
  }
  /* Straight to the descriptors, unbuffered: output shows as it arrives. */
  if (cli_write_all(fd == SBX_STDERR ? 2 : 1, data, len) < 0 && fd == SBX_STDOUT)
    cli_stdout_broken(x->cli);
}

static void on_done(sbx_client *c, sbx_op_id op, const sbx_error *err, const sbx_exec_result *res,
                    void *ud) {
  struct exec_state *x = ud;
  struct cli *cli = x->cli;
  x->done = 1;
  stdin_stop(x);
  if (cli->json)
    for (int fd = SBX_STDOUT; fd <= SBX_STDERR; fd++)
      if (x->n_partial[fd]) output_json(x, fd, "", 0); /* flushes the held bytes */
  if (err) {
    cli_fail(cli, x->sandbox_id, err);
  } else if (res && (res->detached || x->detach)) {
    if (cli->json) {
      json_t *o = json_object();
      json_object_set_new(o, "sandbox_id", out_jstr(x->sandbox_id));
      json_object_set_new(o, "pid", json_integer(res->pid));
      out_json_line(o);
    } else {
      printf("%u\n", (unsigned)res->pid);
    }
    cli->exit_code = CLI_EXIT_OK;
  } else if (res) {
    cli->exit_code = exit_code_of(res);
    if (cli->json) {
      json_t *o = json_object();
      json_object_set_new(o, "event", json_string("exit"));
      json_object_set_new(o, "pid", json_integer(res->pid));
      json_object_set_new(o, "exit_code", json_integer(res->exit_code));
      json_object_set_new(o, "exited", json_boolean(res->exited));
      json_object_set_new(o, "status", out_jstr(res->status));
      json_object_set_new(o, "code", json_integer(cli->exit_code));
      out_json_line(o);
    }
  } else {
    cli_fail_status(cli, x->sandbox_id, SBX_EPROTO, "exec ended without a result");
  }
  cli_done(cli, op);
}

static void kill_done_cb(sbx_client *c, sbx_op_id op, const sbx_error *err, void *ud) {
  struct exec_state *x = ud;
  cli_done(x->cli, op);
}

/* Ctrl-C: besides cancelling our ops, stop the remote process, which would
 * otherwise keep running unseen. */
static void on_interrupt(struct cli *cli, void *ud) {
  struct exec_state *x = ud;
  stdin_stop(x);
  if (!x->started || x->done || x->detach) return;
  sbx_op_id op = 0;
  if (sbx_process_signal(cli->client, x->sandbox_id, x->pid, SIGKILL, kill_done_cb, x, &op) ==
      SBX_OK)
    cli_track(cli, SBX_OK, &op, "kill");
}

enum { E_CWD = 1, E_USER, E_ENV, E_TIMEOUT_MS, E_STDIN, E_DETACH };

static const struct cli_opt exec_opts[] = {
    {"--cwd", 0, 1, E_CWD},
    {"--user", 0, 1, E_USER},
    {"--env", 0, 1, E_ENV},
    {"--timeout-ms", 0, 1, E_TIMEOUT_MS},
    {"--stdin", 0, 0, E_STDIN},
    {"--detach", 0, 0, E_DETACH},
    {0, 0, 0, 0},
};

int cmd_exec(struct cli *cli, int argc, char **argv) {
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  struct cli_kvs envs = {0};
  const char *sid = NULL;
  char **cmd_argv = NULL;
  int cmd_argc = 0;
  struct cli_args a;
  cli_args_init(&a, cli, argc, argv);
  int rc = 0, id;
  long n;
  /* Options end at the first word of CMD, so CMD's own options pass through
   * untouched ("sbx exec ID ls -la"). */
  while (!rc && !cmd_argv && (id = cli_args_next(&a, exec_opts)) != CLI_END) {
    switch (id) {
    case CLI_ERR: rc = CLI_EXIT_USAGE; break;
    case CLI_HELP:
      rc = -1;
      cli_print_usage(stdout, cli->cmd);
      break;
    case CLI_POS:
      if (sid) {
        cmd_argv = a.argv + a.i - 1;
        cmd_argc = a.argc - a.i + 1;
      } else if (!*a.val) {
        rc = cli_usage(cli, "empty sandbox id");
      } else {
        sid = a.val;
      }
      break;
    case E_CWD:
      if (!*a.val) rc = cli_usage(cli, "--cwd needs a non-empty value");
      o.cwd = a.val;
      break;
    case E_USER:
      if (!*a.val) rc = cli_usage(cli, "--user needs a non-empty value");
      o.user = a.val;
      break;
    case E_ENV: rc = cli_kvs_add(cli, &envs, "--env", a.val); break;
    case E_TIMEOUT_MS:
      rc = cli_parse_long(cli, "--timeout-ms", a.val, 0, LONG_MAX, &n);
      o.timeout_ms = n;
      break;
    case E_STDIN: o.stdin_open = 1; break;
    case E_DETACH: o.detach = 1; break;
    }
  }
  if (!rc && !sid) rc = cli_usage(cli, "missing sandbox id");
  if (!rc && !cmd_argv) rc = cli_usage(cli, "missing command (sbx exec ID [OPTIONS] -- CMD...)");
  if (!rc && cmd_argc == 1 && !*cmd_argv[0]) rc = cli_usage(cli, "empty command");
  if (!rc && o.stdin_open && o.detach)
    rc = cli_usage(cli, "--stdin and --detach exclude each other");
  if (rc) {
    cli_kvs_free(&envs);
    return rc < 0 ? CLI_EXIT_OK : rc;
  }

  /* One word is already a shell command line; several are quoted and joined
   * so each stays one argument. */
  char *line = cmd_argc == 1 ? cli_xstrdup(cmd_argv[0]) : cli_shell_join(cmd_argc, cmd_argv);
  struct exec_state *x = cli_xmalloc(sizeof *x);
  memset(x, 0, sizeof *x);
  x->cli = cli;
  x->sandbox_id = sid;
  x->detach = o.detach;
  x->forward_stdin = o.stdin_open;
  ev_io_init(&x->stdin_w, stdin_cb, 0, EV_READ);
  x->stdin_w.data = x;

  rc = cli_open(cli);
  const char *prov = rc ? NULL : sbx_client_provider(cli->client);
  if (o.detach && prov && strcmp(prov, "local") == 0) {
    /* A local command lives as long as the client that started it: this
     * process is about to exit, so the command would die with it. */
    cli_fail_status(cli, sid, SBX_ENOTSUP,
                    "local: --detach is not supported (a local command ends with the sbx "
                    "process that started it)");
    cli_run(cli); /* nothing pending: frees the client */
    rc = CLI_EXIT_FAIL;
  } else if (!rc) {
    cli->on_interrupt = on_interrupt;
    cli->interrupt_ud = x;
    o.cmd = line;
    o.envs = envs.v;
    o.n_envs = envs.n;
    static const sbx_exec_cbs cbs = {on_start, on_output, on_done};
    /* Until the process reports, the exit code is "failed". */
    cli->exit_code = CLI_EXIT_FAIL;
    cli_track(cli, sbx_exec_start(cli->client, sid, &o, &cbs, x, &x->op), &x->op, sid);
    cli_run(cli);
    stdin_stop(x);
    rc = cli_exit_code(cli);
  }
  free(x);
  free(line);
  cli_kvs_free(&envs);
  return rc;
}
