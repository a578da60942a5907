/* local_exec.c - commands of the local provider: fork/exec (under bubblewrap
 * when it works) in their own session, stdout/stderr from non-blocking pipes
 * on libev watchers, the exit from a child watch (a pidfd, or a waitid poll
 * where pidfds are missing; any libev loop, unlike child watchers), or from
 * libev's own reaper on its default loop, stdin through a pipe, timeouts and signals by process
 * group. A command outlives the op streaming it (as on E2B): cancelling
 * the stream leaves it running, reattachable by pid until it ends. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child_watch.h"
#include "local.h"

#define READ_CHUNK (32 * 1024) /* as envd: one output callback per <= 32 KiB */
#define EXIT_GRACE_MS 200      /* wait this long for pipe EOF after the exit */

struct exec_op;

struct local_proc {
  struct local_proc *next;
  struct sbx_client *c;
  char id[32];
  pid_t pid; /* also the process group and session id */
  int out_fd, err_fd, in_fd;
  ev_io out_w, err_w, in_w;
  struct child_watch cw; /* the exit, off the default loop */
  ev_child child_w;      /* on libev's default loop, which reaps every child itself */
  int via_child;
  struct sbx_timer timeout_w, grace_w;
  int exited, timed_out, capped;
  siginfo_t info;
  uint64_t out_bytes;
  struct exec_op *op;          /* the op streaming it, NULL when detached */
  struct stdin_op *stdin_head; /* pending stdin writes, in order */
  int close_stdin_after;       /* close the pipe once the writes are done */
};

/* ---- process records ------------------------------------------------------------ */

static struct local_proc *find_proc(struct local_state *s, const char *id, pid_t pid) {
  for (struct local_proc *p = s->procs; p; p = p->next)
    if (p->pid == pid && strcmp(p->id, id) == 0) return p;
  return NULL;
}

static void close_fd(struct ev_loop *loop, ev_io *w, int *fd) {
  if (*fd < 0) return;
  ev_io_stop(loop, w);
  close(*fd);
  *fd = -1;
}

static void stdin_fail_all(struct local_proc *p, const char *why);

static void proc_free(struct local_state *s, struct local_proc *p) {
  struct ev_loop *loop = p->c->loop;
  child_watch_stop(&p->cw);
  close_fd(loop, &p->out_w, &p->out_fd);
  close_fd(loop, &p->err_w, &p->err_fd);
  close_fd(loop, &p->in_w, &p->in_fd);
  sbx__timer_stop(&p->c->timers, &p->timeout_w);
  sbx__timer_stop(&p->c->timers, &p->grace_w);
  if (p->via_child) ev_child_stop(loop, &p->child_w);
  struct local_proc **pp = &s->procs;
  while (*pp && *pp != p)
    pp = &(*pp)->next;
  if (*pp) *pp = p->next;
  sbx__free(sbx__alloc(p->c), p);
}

/* ---- the exec op: INIT -> RUNNING -> DONE ------------------------------------------ */

enum { X_INIT, X_RUNNING, X_DONE, X_N };
static const char *const x_names[X_N] = {"INIT", "RUNNING", "DONE"};
static const uint32_t x_allowed[X_N] = {1u << X_RUNNING, 1u << X_DONE, 0};

/* The strings of sbx_exec_opts, copied (from the client's allocator). */
struct exec_strs {
  char *cmd, *cwd, *user;
  char **argv; /* NULL-terminated */
  sbx_kv *envs;
  size_t n_envs;
};

struct exec_op {
  struct sbx_op op;
  int reattach;
  char id[32];
  uint32_t pid;
  sbx_exec_opts o;      /* its strings are borrowed: use own's */
  struct exec_strs own; /* owned copies of o's strings */
  int as_root;          /* user "root": home /root (uid 0 under bubblewrap with a user namespace) */
  sbx_exec_cbs cbs;
  struct local_proc *proc;
  int ended; /* the process ended and its output was drained */
  sbx_exec_result res;
  char status[48];
};

/* Drop the process's group from the sandbox record: SBX_ENOMEM when that
 * needed memory that was not there (the record then still names it). */
static int proc_unrecord(struct local_state *s, struct local_proc *p) {
  int rc = local_sandbox_remove_pgid(s, p->id, p->pid);
  if (rc == SBX_ENOMEM)
    sbx__log(p->c, SBX_LOG_WARN, "local", p->op ? p->op->op.id : 0,
             "sandbox %s: out of memory: process group %d stays in its record", p->id, (int)p->pid);
  return rc;
}

static void proc_detach_op(struct local_proc *p) {
  if (p->op) p->op->proc = NULL;
  p->op = NULL;
}

/* bubblewrap reports its child's death by SIGKILL or SIGTERM as exit 128 + N
 * (when the signal reached only the child): report the signal, as without
 * bubblewrap. 0 when it is a plain exit. */
static int bwrap_signal(const struct local_state *s, const siginfo_t *info) {
  if (!s->use_bwrap || info->si_code != CLD_EXITED) return 0;
  int n = info->si_status - 128;
  return n == SIGKILL || n == SIGTERM ? n : 0;
}

/* The process is over (exit seen and output drained or grace passed). */
static void proc_finished(struct local_state *s, struct local_proc *p) {
  struct exec_op *x = p->op;
  stdin_fail_all(p, "the process has ended");
  int unrecorded = proc_unrecord(s, p) == SBX_ENOMEM;
  if (x) {
    int st = 0;
    x->res.pid = (uint32_t)p->pid;
    int bwrap_sig = bwrap_signal(local_of(p->c), &p->info);
    if (bwrap_sig) {
      x->res.exit_code = -1;
      snprintf(x->status, sizeof x->status, "signal: %s", strsignal(bwrap_sig));
    } else if (p->info.si_code == CLD_EXITED) {
      x->res.exited = 1;
      x->res.exit_code = p->info.si_status;
      snprintf(x->status, sizeof x->status, "exit status %d", p->info.si_status);
    } else if (p->info.si_code == CLD_KILLED || p->info.si_code == CLD_DUMPED) {
      x->res.exit_code = -1;
      snprintf(x->status, sizeof x->status, "signal: %s", strsignal(p->info.si_status));
    } else {
      x->res.exit_code = -1;
      snprintf(x->status, sizeof x->status, "unknown (reaped by another SIGCHLD handler)");
    }
    x->res.status = x->status;
    x->ended = 1;
    if (unrecorded) /* the result still comes with the error */
      st = sbx__op_fail(&x->op, SBX_ENOMEM, "exec in sandbox %s: pid %d: out of memory", p->id,
                        (int)p->pid);
    else if (p->timed_out)
      st = sbx__op_fail(&x->op, SBX_ETIMEDOUT, "exec in sandbox %s: pid %d killed after %ld ms",
                        p->id, (int)p->pid, x->o.timeout_ms);
    else if (p->capped)
      st = sbx__op_fail(&x->op, SBX_ETOOBIG, "exec in sandbox %s: output over the %zu-byte cap",
                        p->id, p->c->cfg.max_output);
    (void)st;
    proc_detach_op(p);
    sbx__op_post(&x->op, OP_EV_IO);
  }
  proc_free(s, p);
}

static void maybe_finished(struct local_proc *p) {
  if (p->exited && p->out_fd < 0 && p->err_fd < 0) proc_finished(local_of(p->c), p);
}

static int read_once(struct local_proc *p, int is_out);

static void grace_cb(struct sbx_timer *t) {
  struct local_proc *p = t->data;
  struct ev_loop *loop = p->c->loop;
  /* What the command wrote before it exited may still sit in the pipes (a
   * busy loop can run this timer before their read events): read it all,
   * then close what a background child keeps open. */
  for (int i = 0; i < 256 && p->out_fd >= 0 && read_once(p, 1) > 0; i++)
    ; /* bounded: a background child may keep writing */
  for (int i = 0; i < 256 && p->err_fd >= 0 && read_once(p, 0) > 0; i++)
    ;
  close_fd(loop, &p->out_w, &p->out_fd);
  close_fd(loop, &p->err_w, &p->err_fd);
  maybe_finished(p);
}

static void kill_group(struct local_proc *p) {
  if (!p->exited) kill(-p->pid, SIGKILL);
}

/* One read of stdout or stderr: 1 when bytes came (and were delivered), 0
 * when none are there now, -1 at EOF (the fd is then closed). */
static int read_once(struct local_proc *p, int is_out) {
  struct ev_loop *loop = p->c->loop;
  ev_io *w = is_out ? &p->out_w : &p->err_w;
  int *fd = is_out ? &p->out_fd : &p->err_fd;
  char buf[READ_CHUNK];
  ssize_t n = read(*fd, buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
  if (n <= 0) {
    close_fd(loop, w, fd);
    return -1;
  }
  p->out_bytes += (uint64_t)n;
  size_t cap = p->c->cfg.max_output;
  if (cap && p->out_bytes > cap) { /* no buffering: the cap bounds the callback, not RSS */
    if (!p->capped) {
      p->capped = 1;
      kill_group(p);
    }
    return 1;
  }
  struct exec_op *x = p->op;
  if (x && x->cbs.on_output)
    x->cbs.on_output(x->op.c, x->op.id, is_out ? SBX_STDOUT : SBX_STDERR, buf, (size_t)n, x->op.ud);
  return 1;
}

static void output_cb(struct ev_loop *loop, ev_io *w, int revents) {
  struct local_proc *p = w->data;
  if (read_once(p, w == &p->out_w) < 0) maybe_finished(p);
}

static void process_exited(struct local_proc *p) {
  p->exited = 1;
  child_watch_stop(&p->cw);
  sbx__timer_stop(&p->c->timers, &p->timeout_w);
  if (p->out_fd >= 0 || p->err_fd >= 0) sbx__timer_start(&p->c->timers, &p->grace_w, EXIT_GRACE_MS);
  maybe_finished(p);
}

/* The exit, through the child watch (any loop; si_code 0 when a SIGCHLD
 * handler of the host reaped it first: it ended, status unknown). */
static void exited_cb(struct child_watch *w, const siginfo_t *si) {
  struct local_proc *p = w->data;
  p->info = *si;
  process_exited(p);
}

/* The exit, through libev's own reaper (default loop only). */
static void child_cb(struct ev_loop *loop, ev_child *w, int revents) {
  struct local_proc *p = w->data;
  ev_child_stop(loop, w);
  memset(&p->info, 0, sizeof p->info);
  if (WIFEXITED(w->rstatus)) {
    p->info.si_code = CLD_EXITED;
    p->info.si_status = WEXITSTATUS(w->rstatus);
  } else if (WIFSIGNALED(w->rstatus)) {
    p->info.si_code = CLD_KILLED;
    p->info.si_status = WTERMSIG(w->rstatus);
  }
  process_exited(p);
}

static void timeout_cb(struct sbx_timer *t) {
  struct local_proc *p = t->data;
  p->timed_out = 1;
  kill_group(p);
}

/* ---- spawning ------------------------------------------------------------------------ */

/* A NULL-terminated string vector from a (argv and envp for execve). */
struct strv {
  const sbx_allocator *a;
  char **v;
  size_t n, cap;
};

/* Append s, which a->a allocated (NULL: out of memory); freed on failure. */
static int sv_push(struct strv *a, char *s) {
  if (!s) return -1;
  if (a->n + 2 > a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 32;
    char **v = sbx__realloc(a->a, a->v, cap * sizeof *v);
    if (!v) {
      sbx__free(a->a, s);
      return -1;
    }
    a->v = v;
    a->cap = cap;
  }
  a->v[a->n] = s;
  a->v[++a->n] = NULL;
  return 0;
}

static int sv_add(struct strv *a, const char *s) {
  return sv_push(a, sbx__strdup(a->a, s));
}

static void sv_free(struct strv *a) {
  for (size_t i = 0; i < a->n; i++)
    sbx__free(a->a, a->v[i]);
  sbx__free(a->a, a->v);
}

/* Set KEY=value, replacing an earlier KEY: later sources win, one entry per key. */
static int env_set(struct strv *env, const char *key, const char *value) {
  size_t klen = strlen(key);
  if (klen == 0 || strchr(key, '=')) return 0; /* not representable: skip */
  char *kv = sbx__asprintf(env->a, "%s=%s", key, value);
  if (!kv) return -1;
  for (size_t i = 0; i < env->n; i++) {
    if (strncmp(env->v[i], key, klen) == 0 && env->v[i][klen] == '=') {
      sbx__free(env->a, env->v[i]);
      env->v[i] = kv;
      return 0;
    }
  }
  return sv_push(env, kv);
}

/* Defaults, then the sandbox's envs, then the command's. */
static int build_env(const struct exec_op *x, const struct local_sandbox *sb, const char *home,
                     struct strv *env) {
  struct passwd pw, *pwp = NULL;
  char pwbuf[1024];
  const char *user = "user";
  if (x->as_root)
    user = "root";
  else if (getpwuid_r(getuid(), &pw, pwbuf, sizeof pwbuf, &pwp) == 0 && pwp)
    user = pw.pw_name;
  if (env_set(env, "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") ||
      env_set(env, "HOME", home) || env_set(env, "USER", user) || env_set(env, "LOGNAME", user) ||
      env_set(env, "LANG", "C.UTF-8") || env_set(env, "SBX_SANDBOX", "local"))
    return -1;
  json_t *envs = sb->envs_json ? json_loads(sb->envs_json, 0, NULL) : NULL;
  if (sb->envs_json && !envs) return -1; /* our own dump: only memory can fail it */
  const char *k;
  json_t *v;
  int rc = 0;
  json_object_foreach(envs, k, v) {
    if (json_is_string(v) && env_set(env, k, json_string_value(v))) rc = -1;
  }
  if (envs) json_decref(envs);
  const sbx_kv *kv = x->own.envs;
  for (size_t i = 0; rc == 0 && i < x->own.n_envs; i++)
    if (kv[i].key && kv[i].value && env_set(env, kv[i].key, kv[i].value)) rc = -1;
  return rc;
}

/* -1 when out of memory, -2 when a sandbox path does not fit. */
static int build_argv(struct local_state *s, const struct exec_op *x,
                      const struct local_sandbox *sb, const char *id, const char *cwd,
                      struct strv *a) {
  if (s->use_bwrap) {
    char home[PATH_MAX], tmp[PATH_MAX], root_home[PATH_MAX];
    if (local_sandbox_subdir(s, id, "home", home, sizeof home) ||
        local_sandbox_subdir(s, id, "tmp", tmp, sizeof tmp) ||
        local_sandbox_subdir(s, id, "root", root_home, sizeof root_home))
      return -2;
    const char *pre[] = {"bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                         /* a tmpfs under /home makes room for the home mount point */
                         "--tmpfs", "/home", "--bind", home, LOCAL_HOME, "--bind", tmp, "/tmp",
                         "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent"};
    for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++)
      if (sv_add(a, pre[i])) return -1;
    struct stat st; /* sandboxes made before /root existed have none */
    if (stat(root_home, &st) == 0 &&
        (sv_add(a, "--bind") || sv_add(a, root_home) || sv_add(a, LOCAL_ROOT_HOME)))
      return -1;
    /* root's uid 0 is a user namespace's; without one it stays the caller's */
    if (x->as_root && s->bwrap_userns &&
        (sv_add(a, "--unshare-user") || sv_add(a, "--uid") || sv_add(a, "0") ||
         sv_add(a, "--gid") || sv_add(a, "0")))
      return -1;
    if (sb->deny_net && sv_add(a, "--unshare-net")) return -1;
    if (sv_add(a, "--chdir") || sv_add(a, cwd) || sv_add(a, "--")) return -1;
  }
  if (x->own.cmd) {
    if (sv_add(a, "/bin/bash") || sv_add(a, "-c") || sv_add(a, x->own.cmd)) return -1;
  } else {
    for (size_t i = 0; x->own.argv[i]; i++)
      if (sv_add(a, x->own.argv[i])) return -1;
  }
  return 0;
}

static void child_exec(const char *file, char **argv, char **env, int in, int out, int err,
                       const char *dir) {
  /* Between fork and exec: only async-signal-safe calls. */
  setsid(); /* own session and process group: signals and pause reach it all */
  dup2(in, 0);
  dup2(out, 1);
  dup2(err, 2);
  if (dir && chdir(dir) != 0) _exit(126);
  execve(file, argv, env);
  _exit(127);
}

static int is_sandbox_path(const char *p) {
  static const char *const bases[] = {LOCAL_HOME, "/tmp", LOCAL_ROOT_HOME};
  if (p[0] != '/') return 1; /* relative to the home */
  for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
    size_t n = strlen(bases[i]);
    if (strncmp(p, bases[i], n) == 0 && (p[n] == 0 || p[n] == '/')) return 1;
  }
  return 0;
}

/* The host directory of cwd. Under bubblewrap the rest of the host is
 * visible read-only, so an existing directory there ("/", "/usr") is a
 * valid cwd too; host is then "" (bwrap changes into it itself). */
static int resolve_cwd(struct local_state *s, const char *id, const char *cwd, char *host, size_t n,
                       struct sbx_errinfo *e) {
  struct stat sbuf;
  if (s->use_bwrap && !is_sandbox_path(cwd)) {
    host[0] = 0;
    if (stat(cwd, &sbuf) == 0 && S_ISDIR(sbuf.st_mode)) return 0;
  } else {
    int st = local_resolve_path(s, id, cwd, host, n, e);
    if (st) return st;
    if (stat(host, &sbuf) == 0 && S_ISDIR(sbuf.st_mode)) return 0;
  }
  sbx_errinfo_set(e, SBX_EINVAL, "exec in sandbox %s: cwd '%s' does not exist", id, cwd);
  return SBX_EINVAL;
}

/* Spawn the command; fills *procp. Returns 0 or a status with e filled. */
static int spawn(struct exec_op *x, struct local_sandbox *sb, struct sbx_errinfo *e) {
  struct sbx_client *c = x->op.c;
  struct local_state *s = local_of(c);
  const char *home_sb = x->as_root ? LOCAL_ROOT_HOME : LOCAL_HOME;
  char home[PATH_MAX], cwd_buf[PATH_MAX], cwd_host[PATH_MAX];
  if (local_sandbox_subdir(s, x->id, x->as_root ? "root" : "home", home, sizeof home) != 0) {
    sbx_errinfo_set(e, SBX_EINVAL, "exec in sandbox %s: root path too long", x->id);
    return SBX_EINVAL;
  }
  const char *cwd = x->own.cwd && *x->own.cwd ? x->own.cwd : home_sb;
  if (x->as_root && cwd[0] != '/') { /* ~ and relative paths start at root's home */
    const char *rest = cwd[0] == '~' ? cwd + 1 : cwd;
    snprintf(cwd_buf, sizeof cwd_buf, "%s%s%s", LOCAL_ROOT_HOME, rest[0] == '/' ? "" : "/", rest);
    cwd = cwd_buf;
  }
  int st = resolve_cwd(s, x->id, cwd, cwd_host, sizeof cwd_host, e);
  if (st) return st;
  if (!s->use_bwrap && !s->warned) {
    s->warned = 1;
    sbx__log(c, SBX_LOG_WARN, "local", x->op.id,
             "bubblewrap (bwrap) is not available: commands run WITHOUT isolation");
  }
  /* argv and envp are built here: the child must not allocate */
  struct strv argv = {sbx__alloc(c), NULL, 0, 0}, env = {sbx__alloc(c), NULL, 0, 0};
  int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
  int rc = SBX_ENOMEM;
  int built = build_argv(s, x, sb, x->id, cwd, &argv);
  if (built == -2) {
    sbx_errinfo_set(e, SBX_EINVAL, "exec in sandbox %s: root path too long", x->id);
    rc = SBX_EINVAL;
  }
  if (built || build_env(x, sb, s->use_bwrap ? home_sb : home, &env)) goto out;
  char file[1024];
  if (local_find_on_path(argv.v[0], file, sizeof file) != 0) {
    sbx_errinfo_set(e, SBX_EINVAL, "exec in sandbox %s: '%s' not found", x->id, argv.v[0]);
    rc = SBX_EINVAL;
    goto out;
  }
  rc = SBX_EIO;
  if (pipe2(pout, O_CLOEXEC) || pipe2(perr, O_CLOEXEC)) goto fail_errno;
  if (x->o.stdin_open ? pipe2(pin, O_CLOEXEC)
                      : (pin[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
    goto fail_errno;
  pid_t pid = fork();
  if (pid < 0) goto fail_errno;
  if (pid == 0)
    child_exec(file, argv.v, env.v, pin[0], pout[1], perr[1], s->use_bwrap ? NULL : cwd_host);
  /* The child's setsid may not have run yet: make it a group leader now, so
   * a pause or kill of its group right after this cannot miss it. (When this
   * wins, the child's setsid fails and it keeps our session, in its own group.) */
  setpgid(pid, pid);
  struct local_proc *p = SBX_NEW(sbx__alloc(c), struct local_proc);
  /* libev's default loop reaps every child on SIGCHLD: take the status
   * from it (below) rather than racing it with waitid. */
  int on_default = ev_is_default_loop(c->loop);
  if (!p || (!on_default && child_watch_start(c, &p->cw, pid, exited_cb, p) != 0)) {
    int err = errno;
    kill(-pid, SIGKILL); /* cannot watch it: do not leave it running */
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    sbx__free(sbx__alloc(c), p);
    if (!p) {
      rc = SBX_ENOMEM;
      goto out;
    }
    errno = err;
    goto fail_errno;
  }
  p->c = c;
  snprintf(p->id, sizeof p->id, "%s", x->id);
  p->pid = pid;
  p->out_fd = pout[0];
  p->err_fd = perr[0];
  p->in_fd = x->o.stdin_open ? pin[1] : -1;
  pout[0] = perr[0] = -1;
  if (x->o.stdin_open) pin[1] = -1;
  fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
  fcntl(p->err_fd, F_SETFL, O_NONBLOCK);
  if (p->in_fd >= 0) fcntl(p->in_fd, F_SETFL, O_NONBLOCK);
  ev_io_init(&p->out_w, output_cb, p->out_fd, EV_READ);
  ev_io_init(&p->err_w, output_cb, p->err_fd, EV_READ);
  p->out_w.data = p->err_w.data = p;
  sbx__timer_init(&p->timeout_w, timeout_cb, p, 0);
  sbx__timer_init(&p->grace_w, grace_cb, p, 0);
  if (on_default) {
    p->via_child = 1;
    ev_child_init(&p->child_w, child_cb, pid, 0);
    p->child_w.data = p;
    ev_child_start(c->loop, &p->child_w);
  }
  ev_io_start(c->loop, &p->out_w);
  ev_io_start(c->loop, &p->err_w);
  if (x->o.timeout_ms > 0) sbx__timer_start(&c->timers, &p->timeout_w, x->o.timeout_ms);
  p->next = s->procs;
  s->procs = p;
  x->proc = p;
  p->op = x;
  x->pid = (uint32_t)pid;
  /* Recorded so pause/kill from any process reach it; a sandbox killed
   * meanwhile takes the command with it. */
  rc = local_sandbox_add_pgid(s, x->id, pid);
  if (rc != 0) {
    kill(-pid, SIGKILL);
    if (rc == SBX_ENOTFOUND)
      sbx_errinfo_set(e, rc, "exec in sandbox %s: the sandbox was killed", x->id);
    else
      sbx_errinfo_set(e, rc, "exec in sandbox %s: cannot record the command%s", x->id,
                      rc == SBX_ENOMEM ? ": out of memory" : "");
    goto out; /* the process is reaped by its watcher; the op fails */
  }
  rc = 0;
  goto out;
fail_errno:
  sbx_errinfo_set(e, SBX_EIO, "exec in sandbox %s: cannot start the command: %s", x->id,
                  strerror(errno));
out:
  for (int i = 0; i < 2; i++) {
    if (pin[i] >= 0) close(pin[i]);
    if (pout[i] >= 0) close(pout[i]);
    if (perr[i] >= 0) close(perr[i]);
  }
  sv_free(&argv);
  sv_free(&env);
  if (rc == SBX_ENOMEM && !e->status) sbx_errinfo_set(e, SBX_ENOMEM, "exec: out of memory");
  return rc;
}

static enum op_step_result x_init(struct sbx_op *op) {
  struct exec_op *x = (struct exec_op *)op;
  struct local_state *s = local_of(op->c);
  op_take(op, OP_EV_START);
  struct sbx_errinfo e;
  sbx_errinfo_clear(&e);
  if (x->reattach) {
    struct local_proc *p = find_proc(s, x->id, (pid_t)x->pid);
    if (!p || p->op) {
      sbx__op_fail(op, SBX_ENOTFOUND,
                   "exec in sandbox %s: pid %u is not a live command of this client%s", x->id,
                   x->pid, p ? " that is free to attach" : "");
      op_set_state(op, X_DONE);
      return OP_NEXT;
    }
    p->op = x;
    x->proc = p;
  } else {
    struct local_sandbox sb;
    memset(&sb, 0, sizeof sb);
    int st = local_sandbox_load(s, x->id, &sb, &e);
    if (!st && strcmp(sb.state, "paused") == 0) {
      sbx_errinfo_set(&e, SBX_ECONFLICT, "exec in sandbox %s: the sandbox is paused", x->id);
      st = SBX_ECONFLICT;
    }
    if (!st) st = spawn(x, &sb, &e);
    local_sandbox_release(&sb);
    if (st) {
      sbx__op_fail_info(op, &e);
      op_set_state(op, X_DONE);
      return OP_NEXT;
    }
  }
  if (x->cbs.on_start) x->cbs.on_start(op->c, op->id, x->pid, op->ud);
  if (x->o.detach && !x->reattach) {
    x->res.pid = x->pid;
    x->res.detached = 1;
    x->res.exit_code = -1;
    x->res.status = "";
    x->ended = 1;
    proc_detach_op(x->proc);
    op_set_state(op, X_DONE);
    return OP_NEXT;
  }
  op_set_state(op, X_RUNNING);
  return OP_WAIT;
}

static enum op_step_result x_running(struct sbx_op *op) {
  if (!op_take(op, OP_EV_IO)) return OP_WAIT;
  op_set_state(op, X_DONE);
  return OP_NEXT;
}

static enum op_step_result x_done(struct sbx_op *op) {
  return OP_WAIT;
}

static const op_step_fn x_steps[X_N] = {x_init, x_running, x_done};

static void x_complete(struct sbx_op *op, const sbx_error *err) {
  struct exec_op *x = (struct exec_op *)op;
  x->cbs.on_done(op->c, op->id, err, x->ended ? &x->res : NULL, op->ud);
}

static void strs_free(const sbx_allocator *a, struct exec_strs *s) {
  sbx__free(a, s->cmd);
  sbx__free(a, s->cwd);
  sbx__free(a, s->user);
  for (size_t i = 0; s->argv && s->argv[i]; i++)
    sbx__free(a, s->argv[i]);
  sbx__free(a, s->argv);
  for (size_t i = 0; s->envs && i < s->n_envs; i++) {
    sbx__free(a, (char *)s->envs[i].key);
    sbx__free(a, (char *)s->envs[i].value);
  }
  sbx__free(a, s->envs);
  memset(s, 0, sizeof *s);
}

static void x_destroy(struct sbx_op *op) {
  struct exec_op *x = (struct exec_op *)op;
  if (x->proc) proc_detach_op(x->proc); /* a cancelled stream leaves the process running */
  strs_free(sbx__alloc(op->c), &x->own);
}

static const struct op_kind kind_exec = {"local.exec", X_N,    x_names,    x_steps,
                                         x_allowed,    X_DONE, x_complete, x_destroy};
static const struct op_kind kind_connect = {
    "local.exec_connect", X_N, x_names, x_steps, x_allowed, X_DONE, x_complete, x_destroy};

/* Copy o's strings into d: 0, or SBX_ENOMEM with nothing left in d. */
static int strs_copy(const sbx_allocator *a, struct exec_strs *d, const sbx_exec_opts *o) {
  memset(d, 0, sizeof *d);
  int ok = (!o->cmd || (d->cmd = sbx__strdup(a, o->cmd))) &&
           (!o->cwd || (d->cwd = sbx__strdup(a, o->cwd))) &&
           (!o->user || (d->user = sbx__strdup(a, o->user)));
  if (ok && o->argv && !o->cmd) {
    size_t n = 0;
    while (o->argv[n])
      n++;
    ok = (d->argv = sbx__calloc(a, n + 1, sizeof *d->argv)) != NULL;
    for (size_t i = 0; ok && i < n; i++)
      ok = (d->argv[i] = sbx__strdup(a, o->argv[i])) != NULL;
  }
  if (ok && o->n_envs) {
    ok = (d->envs = sbx__calloc(a, o->n_envs, sizeof *d->envs)) != NULL;
    if (ok) d->n_envs = o->n_envs;
    for (size_t i = 0; ok && i < o->n_envs; i++) {
      const sbx_kv *kv = &o->envs[i];
      ok = (!kv->key || (d->envs[i].key = sbx__strdup(a, kv->key))) &&
           (!kv->value || (d->envs[i].value = sbx__strdup(a, kv->value)));
    }
  }
  if (ok) return 0;
  strs_free(a, d);
  return SBX_ENOMEM;
}

sbx_status local_exec_start(sbx_client *c, const char *id, const sbx_exec_opts *o,
                            const sbx_exec_cbs *cbs, void *ud, sbx_op_id *out) {
  if (strlen(id) >= sizeof((struct exec_op *)0)->id) return SBX_EINVAL;
  int known_user =
      !o->user || !*o->user || strcmp(o->user, "user") == 0 || strcmp(o->user, "root") == 0;
  struct exec_strs own = {0};
  if (known_user && strs_copy(sbx__alloc(c), &own, o) != 0) return SBX_ENOMEM;
  sbx_status st;
  struct exec_op *x = (struct exec_op *)sbx__op_new(c, &kind_exec, sizeof *x, ud, &st);
  if (!x) {
    strs_free(sbx__alloc(c), &own);
    return st;
  }
  snprintf(x->id, sizeof x->id, "%s", id);
  x->cbs = *cbs;
  x->as_root = o->user && strcmp(o->user, "root") == 0;
  if (known_user) {
    x->o = *o;
    x->own = own;
  } else { /* completes later with the error, never silently */
    sbx__op_fail(&x->op, SBX_ENOTSUP,
                 "local: exec as user '%.64s' is not supported (only \"user\" and \"root\")",
                 o->user);
    sbx__op_post_deferred(&x->op, OP_EV_CANCEL);
  }
  *out = x->op.id;
  return SBX_OK;
}

sbx_status local_exec_connect(sbx_client *c, const char *id, uint32_t pid, const sbx_exec_cbs *cbs,
                              void *ud, sbx_op_id *out) {
  if (strlen(id) >= sizeof((struct exec_op *)0)->id) return SBX_EINVAL;
  sbx_status st;
  struct exec_op *x = (struct exec_op *)sbx__op_new(c, &kind_connect, sizeof *x, ud, &st);
  if (!x) return st;
  snprintf(x->id, sizeof x->id, "%s", id);
  x->cbs = *cbs;
  x->reattach = 1;
  x->pid = pid;
  *out = x->op.id;
  return SBX_OK;
}

/* ---- signal, stdin ------------------------------------------------------------------- */

enum { S_INIT, S_WAIT, S_DONE, S_N };
static const char *const s_names[S_N] = {"INIT", "WAIT", "DONE"};
static const uint32_t s_allowed[S_N] = {1u << S_WAIT, 1u << S_DONE, 0};

enum stdin_kind { K_SIGNAL, K_WRITE, K_CLOSE };

struct stdin_op {
  struct sbx_op op;
  enum stdin_kind kind;
  char id[32];
  pid_t pid;
  int signo;
  char *data;
  size_t len, off;
  sbx_done_cb cb;
  struct local_proc *proc;
  struct stdin_op *next; /* in the process's queue */
};

static void stdin_dequeue(struct stdin_op *w) {
  struct local_proc *p = w->proc;
  if (!p) return;
  struct stdin_op **pp = &p->stdin_head;
  while (*pp && *pp != w)
    pp = &(*pp)->next;
  if (*pp) *pp = w->next;
  w->proc = NULL;
}

static void stdin_fail_all(struct local_proc *p, const char *why) {
  while (p->stdin_head) {
    struct stdin_op *w = p->stdin_head;
    p->stdin_head = w->next;
    w->proc = NULL;
    sbx__op_fail(&w->op, SBX_ENOTFOUND, "stdin of pid %d in sandbox %s: %s", (int)p->pid, p->id,
                 why);
    sbx__op_post_deferred(&w->op, OP_EV_IO);
  }
}

/* Write what the pipe takes; the head op completes when its bytes are in. */
static void stdin_pump(struct local_proc *p) {
  struct ev_loop *loop = p->c->loop;
  while (p->stdin_head) {
    struct stdin_op *w = p->stdin_head;
    if (w->kind == K_CLOSE) {
      close_fd(loop, &p->in_w, &p->in_fd);
    } else {
      while (w->off < w->len) {
        ssize_t n = write(p->in_fd, w->data + w->off, w->len - w->off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) {
          if (!ev_is_active(&p->in_w)) {
            ev_io_set(&p->in_w, p->in_fd, EV_WRITE);
            ev_io_start(loop, &p->in_w);
          }
          return;
        }
        if (n < 0) {
          sbx__op_fail(&w->op, SBX_EIO, "stdin of pid %d: %s", (int)p->pid, strerror(errno));
          break;
        }
        w->off += (size_t)n;
      }
    }
    p->stdin_head = w->next;
    w->proc = NULL;
    sbx__op_post_deferred(&w->op, OP_EV_IO);
  }
  ev_io_stop(loop, &p->in_w);
}

static void stdin_writable_cb(struct ev_loop *loop, ev_io *w, int revents) {
  stdin_pump(w->data);
}

static enum op_step_result s_init(struct sbx_op *op) {
  struct stdin_op *w = (struct stdin_op *)op;
  struct local_state *s = local_of(op->c);
  op_take(op, OP_EV_START);
  struct local_proc *p = find_proc(s, w->id, w->pid);
  if (w->kind == K_SIGNAL) {
    struct local_sandbox sb;
    struct sbx_errinfo e;
    sbx_errinfo_clear(&e);
    int known = p != NULL;
    memset(&sb, 0, sizeof sb);
    int st = known ? 0 : local_sandbox_load(s, w->id, &sb, &e); /* another process's command? */
    for (int i = 0; st == 0 && i < sb.n_pgids; i++)
      known |= sb.pgids[i] == w->pid;
    local_sandbox_release(&sb);
    if (st == SBX_ENOMEM) /* not knowing is not "no such command" */
      sbx__op_fail_info(op, &e);
    else if (!known || (kill(-w->pid, w->signo) != 0 && errno == ESRCH))
      sbx__op_fail(op, SBX_ENOTFOUND, "signal pid %d in sandbox %s: no such command", (int)w->pid,
                   w->id);
    op_set_state(op, S_DONE);
    return OP_NEXT;
  }
  if (!p || p->in_fd < 0) {
    sbx__op_fail(op, SBX_ENOTFOUND, "stdin of pid %d in sandbox %s: %s", (int)w->pid, w->id,
                 !p ? "not a live command of this client" : "stdin is closed (or was never open)");
    op_set_state(op, S_DONE);
    return OP_NEXT;
  }
  w->proc = p;
  struct stdin_op **pp = &p->stdin_head;
  while (*pp)
    pp = &(*pp)->next;
  *pp = w;
  if (!ev_is_active(&p->in_w)) {
    ev_init(&p->in_w, stdin_writable_cb);
    p->in_w.data = p;
  }
  op_set_state(op, S_WAIT);
  stdin_pump(p);
  return OP_WAIT;
}

static enum op_step_result s_wait(struct sbx_op *op) {
  if (!op_take(op, OP_EV_IO)) return OP_WAIT;
  op_set_state(op, S_DONE);
  return OP_NEXT;
}

static const op_step_fn s_steps[S_N] = {s_init, s_wait, x_done};

static void s_complete(struct sbx_op *op, const sbx_error *err) {
  struct stdin_op *w = (struct stdin_op *)op;
  w->cb(op->c, op->id, err, op->ud);
}

static void s_destroy(struct sbx_op *op) {
  struct stdin_op *w = (struct stdin_op *)op;
  stdin_dequeue(w);
  sbx__free(sbx__alloc(op->c), w->data);
}

static const struct op_kind kind_signal = {"local.signal", S_N,    s_names,    s_steps,
                                           s_allowed,      S_DONE, s_complete, s_destroy};
static const struct op_kind kind_stdin = {"local.write_stdin", S_N,    s_names,    s_steps,
                                          s_allowed,           S_DONE, s_complete, s_destroy};
static const struct op_kind kind_close = {"local.close_stdin", S_N,    s_names,    s_steps,
                                          s_allowed,           S_DONE, s_complete, s_destroy};

static sbx_status start_small(sbx_client *c, const struct op_kind *k, enum stdin_kind kind,
                              const char *id, uint32_t pid, sbx_done_cb cb, void *ud,
                              sbx_op_id *out, struct stdin_op **wp) {
  if (strlen(id) >= sizeof((struct stdin_op *)0)->id) return SBX_EINVAL;
  sbx_status st;
  struct stdin_op *w = (struct stdin_op *)sbx__op_new(c, k, sizeof *w, ud, &st);
  if (!w) return st;
  w->kind = kind;
  snprintf(w->id, sizeof w->id, "%s", id);
  w->pid = (pid_t)pid;
  w->cb = cb;
  *out = w->op.id;
  if (wp) *wp = w;
  return SBX_OK;
}

sbx_status local_signal(sbx_client *c, const char *id, uint32_t pid, int signo, sbx_done_cb cb,
                        void *ud, sbx_op_id *out) {
  if (signo <= 0 || signo >= NSIG)
    return sbx__refuse(c, SBX_EINVAL, "sbx_process_signal", "signo %d is not a signal number",
                       signo);
  struct stdin_op *w = NULL;
  sbx_status st = start_small(c, &kind_signal, K_SIGNAL, id, pid, cb, ud, out, &w);
  if (st == SBX_OK) w->signo = signo;
  return st;
}

sbx_status local_write_stdin(sbx_client *c, const char *id, uint32_t pid, const void *data,
                             size_t len, sbx_done_cb cb, void *ud, sbx_op_id *out) {
  char *copy = sbx__malloc(sbx__alloc(c), len ? len : 1);
  if (!copy) return SBX_ENOMEM;
  if (len) memcpy(copy, data, len);
  struct stdin_op *w = NULL;
  sbx_status st = start_small(c, &kind_stdin, K_WRITE, id, pid, cb, ud, out, &w);
  if (st != SBX_OK) {
    sbx__free(sbx__alloc(c), copy);
    return st;
  }
  w->data = copy;
  w->len = len;
  return SBX_OK;
}

sbx_status local_close_stdin(sbx_client *c, const char *id, uint32_t pid, sbx_done_cb cb, void *ud,
                             sbx_op_id *out) {
  return start_small(c, &kind_close, K_CLOSE, id, pid, cb, ud, out, NULL);
}

/* ---- teardown -------------------------------------------------------------------------- */

void local_exec_shutdown(struct sbx_client *c) {
  struct local_state *s = local_of(c);
  while (s && s->procs) {
    struct local_proc *p = s->procs;
    if (!p->exited) {
      kill(-p->pid, SIGKILL);
      /* SIGKILL'd: this wait is short, and it leaves no zombie behind
       * (ECHILD: libev's reaper got it first, fine too) */
      while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR) {
      }
      p->exited = 1;
    }
    proc_detach_op(p);
    stdin_fail_all(p, "the client was freed");
    proc_unrecord(s, p);
    proc_free(s, p);
  }
}
