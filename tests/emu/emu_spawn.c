/* emu_spawn.c - run one sandbox command: pipes, environment in envd's order,
 * a new session (so the whole group can be signalled), bubblewrap binding
 * the sandbox's /home and /tmp over a read-only view of the host. */
#include "emu_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SPAWN_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct strv {
  char **v; /* NULL-terminated */
  size_t n, cap;
};

static int strv_add(struct strv *s, const char *str) {
  if (s->n + 2 > s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 32;
    char **v = realloc(s->v, cap * sizeof *v);
    if (!v) return -1;
    s->v = v;
    s->cap = cap;
  }
  if (!(s->v[s->n] = strdup(str))) return -1;
  s->v[++s->n] = NULL;
  return 0;
}

static void strv_free(struct strv *s) {
  for (size_t i = 0; i < s->n; i++)
    free(s->v[i]);
  free(s->v);
  memset(s, 0, sizeof *s);
}

/* Set KEY=value, replacing an earlier KEY: later sources win. */
static int env_set(struct strv *env, const char *key, const char *value) {
  size_t klen = strlen(key), vlen = strlen(value);
  if (klen == 0 || strchr(key, '=')) return 0; /* not representable: skip */
  char *kv = malloc(klen + vlen + 2);
  if (!kv) return -1;
  memcpy(kv, key, klen);
  kv[klen] = '=';
  memcpy(kv + klen + 1, value, vlen + 1);
  for (size_t i = 0; i < env->n; i++) {
    if (strncmp(env->v[i], kv, klen + 1) == 0) {
      free(env->v[i]);
      env->v[i] = kv;
      return 0;
    }
  }
  int rc = strv_add(env, kv);
  free(kv);
  return rc;
}

static int env_merge(struct strv *env, json_t *obj) {
  const char *k;
  json_t *v;
  json_object_foreach(obj, k, v) {
    if (json_is_string(v) && env_set(env, k, json_string_value(v)) < 0) return -1;
  }
  return 0;
}

static int build_env(const struct emu_app *app, const struct emu_sandbox *sb,
                     const struct emu_proc_spec *spec, const char *home_host, struct strv *env) {
  if (env_set(env, "PATH", SPAWN_PATH) < 0 ||
      env_set(env, "HOME", app->use_bwrap ? spec->home : home_host) < 0 ||
      env_set(env, "USER", spec->user) < 0 || env_set(env, "LOGNAME", spec->user) < 0 ||
      env_merge(env, sb->env_vars) < 0 || env_set(env, "E2B_SANDBOX", "true") < 0 ||
      env_merge(env, spec->envs) < 0)
    return -1;
  return 0;
}

static int build_argv(const struct emu_app *app, const struct emu_sandbox *sb,
                      const struct emu_proc_spec *spec, struct strv *argv) {
  if (app->use_bwrap) {
    char home[4096], tmp[4096], root_home[4096];
    snprintf(home, sizeof home, "%s/home", sb->fs);
    snprintf(tmp, sizeof tmp, "%s/tmp", sb->fs);
    snprintf(root_home, sizeof root_home, "%s/root", sb->fs);
    const char *pre[] = {"bwrap",
                         "--ro-bind",
                         "/",
                         "/",
                         "--dev",
                         "/dev",
                         "--proc",
                         "/proc",
                         "--bind",
                         home,
                         "/home",
                         "--bind",
                         tmp,
                         "/tmp",
                         "--bind",
                         root_home,
                         "/root",
                         "--unshare-pid",
                         "--die-with-parent",
                         "--chdir",
                         spec->cwd,
                         "--"};
    for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++)
      if (strv_add(argv, pre[i]) < 0) return -1;
  }
  if (strv_add(argv, spec->cmd) < 0) return -1;
  for (size_t i = 0; i < json_array_size(spec->args); i++) {
    const char *a = json_string_value(json_array_get(spec->args, i));
    if (a && strv_add(argv, a) < 0) return -1;
  }
  return 0;
}

static void set_nonblock(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* In the child: only async-signal-safe calls from here on. */
static void child_exec(const struct emu_app *app, const struct emu_proc_spec *spec, char **argv,
                       char **envp, int in_fd, int out_fd, int err_fd) {
  setsid();
  if (!app->use_bwrap) prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (in_fd < 0) in_fd = open("/dev/null", O_RDONLY);
  if (in_fd < 0 || dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) _exit(126);
  signal(SIGPIPE, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  if (close_range(3, ~0U, 0) < 0)
    for (int fd = 3; fd < 65536; fd++)
      close(fd);
  if (!app->use_bwrap && spec->cwd_host && chdir(spec->cwd_host) < 0) _exit(126);
  execvpe(argv[0], argv, envp);
  static const char msg[] = "sbx-emu: exec failed\n";
  ssize_t ignored = write(2, msg, sizeof msg - 1);
  (void)ignored;
  _exit(127);
}

int emu_spawn(struct emu_app *app, const struct emu_sandbox *sb, const struct emu_proc_spec *spec,
              struct emu_spawned *out, const char **why) {
  int o[2] = {-1, -1}, e[2] = {-1, -1}, in[2] = {-1, -1};
  struct strv argv = {0}, env = {0};
  char home_host[4096];
  snprintf(home_host, sizeof home_host, "%s%s", sb->fs, spec->home);
  int rc = -1;
  *why = "cannot start the process";
  if (build_argv(app, sb, spec, &argv) < 0 || build_env(app, sb, spec, home_host, &env) < 0) {
    *why = "out of memory";
    goto done;
  }
  if (pipe2(o, O_CLOEXEC) < 0 || pipe2(e, O_CLOEXEC) < 0 ||
      (spec->want_stdin && pipe2(in, O_CLOEXEC) < 0)) {
    *why = "cannot create pipes (too many open files?)";
    goto done;
  }
  pid_t pid = fork();
  if (pid < 0) {
    *why = "fork failed";
    goto done;
  }
  if (pid == 0) child_exec(app, spec, argv.v, env.v, in[0], o[1], e[1]);
  /* the child calls setsid too; doing it here as well closes the race
   * where a signal to the group arrives before the child ran */
  setpgid(pid, pid);
  close(o[1]);
  close(e[1]);
  if (in[0] >= 0) close(in[0]);
  set_nonblock(o[0]);
  set_nonblock(e[0]);
  if (in[1] >= 0) set_nonblock(in[1]);
  out->pid = pid;
  out->out_fd = o[0];
  out->err_fd = e[0];
  out->in_fd = in[1];
  o[0] = o[1] = e[0] = e[1] = in[0] = in[1] = -1;
  rc = 0;
done:
  for (int i = 0; i < 2; i++) {
    if (o[i] >= 0) close(o[i]);
    if (e[i] >= 0) close(e[i]);
    if (in[i] >= 0) close(in[i]);
  }
  strv_free(&argv);
  strv_free(&env);
  return rc;
}

void emu_proc_probe(struct emu_app *app) {
  app->use_bwrap = 0;
  if (app->exec_null) return;
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, 1);
      dup2(null, 2);
    }
    execlp("bwrap", "bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
           "--unshare-pid", "--die-with-parent", "--", "/bin/true", (char *)NULL);
    _exit(127);
  }
  int status = 0;
  if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0)
    app->use_bwrap = 1;
  else
    fprintf(stderr, "sbx-emu: warning: bubblewrap does not work here; commands run unconfined "
                    "with HOME and cwd mapped into the sandbox directory\n");
}
