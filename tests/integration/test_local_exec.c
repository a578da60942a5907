/* test_local_exec.c - commands of the local provider: streaming, exit codes,
 * cwd/envs, timeouts, stdin, detach/reattach/signals, isolation under
 * bubblewrap, the output cap, and no zombie or stray process afterwards. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ev.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "op_results.h"
#include "sbx.h"
#include "testlib.h"

struct ctx {
  struct ev_loop *loop;
  sbx_client *c;
  char root[128];
  char sid[256];
};

static int run_until(struct ev_loop *loop, const int *flag, double s) {
  double end = ev_time() + s;
  while (!*flag && ev_time() < end)
    ev_run(loop, EVRUN_ONCE);
  return *flag;
}

static void tick(struct ev_loop *loop, ev_timer *w, int revents) {}

static void spin(struct ev_loop *loop, double ms) {
  ev_timer t;
  ev_timer_init(&t, tick, 0.01, 0.01);
  ev_timer_start(loop, &t);
  double end = ev_time() + ms / 1000.0;
  while (ev_time() < end)
    ev_run(loop, EVRUN_ONCE);
  ev_timer_stop(loop, &t);
}

#define WAIT(x, r) REQUIRE(run_until((x)->loop, &(r)->done, 30))

static char created_id[256];
static void on_created(sbx_client *c, sbx_op_id op, const sbx_error *err,
                       const sbx_sandbox_info *info, void *ud) {
  note(ud, err);
  if (info) snprintf(created_id, sizeof created_id, "%s", info->id);
}

static sbx_client *new_client(struct ev_loop *loop, const char *root, size_t max_output) {
  sbx_config cfg;
  sbx_config_init(&cfg);
  cfg.use_env = 0;
  cfg.provider = "local";
  cfg.local_root = root;
  if (max_output) cfg.max_output = max_output;
  sbx_status st;
  char err[256] = "";
  sbx_client *c = sbx_client_new(loop, &cfg, &st, err, sizeof err);
  if (!c) fprintf(stderr, "client: %s\n", err);
  REQUIRE(c);
  return c;
}

static void ctx_open(struct ctx *x, const sbx_create_opts *co, size_t max_output) {
  memset(x, 0, sizeof *x);
  snprintf(x->root, sizeof x->root, "/tmp/sbx-ltest-XXXXXX");
  REQUIRE(mkdtemp(x->root));
  x->loop = ev_loop_new(EVFLAG_AUTO);
  x->c = new_client(x->loop, x->root, max_output);
  struct res r = {0};
  sbx_op_id id;
  REQUIRE(sbx_sandbox_create(x->c, co, on_created, &r, &id) == SBX_OK);
  WAIT(x, &r);
  REQUIRE(r.code == 0);
  snprintf(x->sid, sizeof x->sid, "%s", created_id);
}

static void ctx_close(struct ctx *x) {
  if (x->c) sbx_client_free(x->c);
  ev_loop_destroy(x->loop);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf %s", x->root);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", x->root);
}

static sbx_op_id run(struct ctx *x, const char *cmd, struct res *r, const sbx_exec_opts *base) {
  sbx_exec_opts o;
  if (base)
    o = *base;
  else
    sbx_exec_opts_init(&o);
  o.cmd = cmd;
  memset(r, 0, sizeof *r);
  sbx_op_id id;
  REQUIRE(sbx_exec_start(x->c, x->sid, &o, &exec_cbs, r, &id) == SBX_OK);
  return id;
}

/* Children of this process (zombies included). */
static int count_children(void) {
  DIR *d = opendir("/proc");
  int n = 0;
  struct dirent *e;
  char path[300], line[256];
  while (d && (e = readdir(d))) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    snprintf(path, sizeof path, "/proc/%s/status", e->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    while (fgets(line, sizeof line, f))
      if (strncmp(line, "PPid:", 5) == 0 && atoi(line + 5) == getpid()) n++;
    fclose(f);
  }
  if (d) closedir(d);
  return n;
}

static int alive(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d", (int)pid);
  struct stat sb;
  return stat(path, &sb) == 0;
}

static int have_bwrap(void) {
  return system("bwrap --ro-bind / / --dev /dev --proc /proc --unshare-pid true 2>/dev/null") == 0;
}

/* ---- cases --------------------------------------------------------------------------- */

/* A command writing to both streams and exiting 3: all of it reported once. */
static void hello_exit_3(struct ctx *x, struct res *r) {
  run(x, "echo hello; echo err >&2; exit 3", r, NULL);
  WAIT(x, r);
  CHECK_EQ_INT(r->code, 0);
  CHECK_EQ_INT(r->calls, 1);
  CHECK(r->pid > 0);
  CHECK_EQ_STR(r->out, "hello\n");
  CHECK_EQ_STR(r->err, "err\n");
  CHECK_EQ_INT(r->exit_code, 3);
  CHECK_EQ_INT(r->exited, 1);
}

/* Make pidfd_open fail with ENOSYS in this process, as on kernels before
 * 5.3 and under valgrind: a seccomp filter (the case runs in its own forked
 * child, so nothing else is affected). 0 when installed. */
static int deny_pidfd_open(void) {
#ifdef SYS_pidfd_open
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_pidfd_open, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) return -1;
  return syscall(SYS_pidfd_open, getpid(), 0) < 0 && errno == ENOSYS ? 0 : -1;
#else
  return -1;
#endif
}

/* Without pidfds the exit comes from a waitid poll: the same results, a
 * deadline still kills, and no child is left behind. */
static void without_pidfd(void) {
  REQUIRE(deny_pidfd_open() == 0);
  struct ctx x;
  ctx_open(&x, NULL, 0);
  struct res r;
  hello_exit_3(&x, &r);
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  o.timeout_ms = 300;
  double t0 = ev_time();
  run(&x, "sleep 30", &r, &o);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ETIMEDOUT);
  CHECK(ev_time() - t0 < 5);
  /* a sandbox from a template: its cp -a child is watched the same way */
  char tdir[256], cmd[600];
  snprintf(tdir, sizeof tdir, "%s-tmpl", x.root);
  snprintf(cmd, sizeof cmd, "mkdir -p '%s' && echo hi > '%s/a.txt'", tdir, tdir);
  REQUIRE(system(cmd) == 0);
  sbx_create_opts co;
  sbx_create_opts_init(&co);
  co.template_id = tdir;
  struct res cr = {0};
  sbx_op_id id;
  REQUIRE(sbx_sandbox_create(x.c, &co, on_created, &cr, &id) == SBX_OK);
  WAIT(&x, &cr);
  CHECK_EQ_INT(cr.code, 0);
  snprintf(x.sid, sizeof x.sid, "%s", created_id);
  run(&x, "cat a.txt", &r, NULL);
  WAIT(&x, &r);
  CHECK_EQ_STR(r.out, "hi\n");
  spin(x.loop, 100);
  CHECK_EQ_INT(count_children(), 0);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tdir);
  CHECK(system(cmd) == 0);
  ctx_close(&x);
}

static void streams_and_exit_codes(void) {
  struct ctx x;
  ctx_open(&x, NULL, 0);
  struct res r;
  hello_exit_3(&x, &r);
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  sbx_kv envs[] = {{"FOO", "bar baz"}};
  o.envs = envs;
  o.n_envs = 1;
  o.cwd = "/tmp";
  run(&x, "echo $FOO; pwd; echo $HOME", &r, &o);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  if (have_bwrap())
    CHECK_EQ_STR(r.out, "bar baz\n/tmp\n/home/user\n");
  else
    CHECK(strncmp(r.out, "bar baz\n", 8) == 0);
  o.cwd = "/home/user/missing";
  run(&x, "true", &r, &o);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_EINVAL);
  CHECK(strstr(r.msg, "missing") != NULL);
  ctx_close(&x);
}

static void timeout_kills(void) {
  struct ctx x;
  ctx_open(&x, NULL, 0);
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  o.timeout_ms = 300;
  struct res r;
  double t0 = ev_time();
  run(&x, "sleep 30", &r, &o);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ETIMEDOUT);
  CHECK(ev_time() - t0 < 5);
  CHECK(!alive((pid_t)r.pid));
  CHECK_EQ_INT(count_children(), 0);
  ctx_close(&x);
}

static void stdin_roundtrip(void) {
  struct ctx x;
  ctx_open(&x, NULL, 0);
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  o.stdin_open = 1;
  struct res r;
  run(&x, "cat; echo done", &r, &o);
  for (int i = 0; i < 300 && !r.pid; i++)
    spin(x.loop, 10);
  REQUIRE(r.pid);
  struct res w = {0};
  sbx_op_id id;
  REQUIRE(sbx_process_write_stdin(x.c, x.sid, r.pid, "abc\n", 4, on_done, &w, &id) == SBX_OK);
  WAIT(&x, &w);
  CHECK_EQ_INT(w.code, 0);
  memset(&w, 0, sizeof w);
  REQUIRE(sbx_process_close_stdin(x.c, x.sid, r.pid, on_done, &w, &id) == SBX_OK);
  WAIT(&x, &w);
  CHECK_EQ_INT(w.code, 0);
  WAIT(&x, &r);
  CHECK_EQ_STR(r.out, "abc\ndone\n");
  ctx_close(&x);
}

static void detach_reattach_signal(void) {
  struct ctx x;
  ctx_open(&x, NULL, 0);
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  o.detach = 1;
  struct res r;
  run(&x, "while true; do echo tick; sleep 0.1; done", &r, &o);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  REQUIRE(r.have_res && r.pid);
  uint32_t pid = r.pid;
  struct res c2 = {0};
  sbx_op_id id;
  REQUIRE(sbx_exec_connect(x.c, x.sid, pid, &exec_cbs, &c2, &id) == SBX_OK);
  for (int i = 0; i < 300 && !strstr(c2.out, "tick"); i++)
    spin(x.loop, 10);
  CHECK(strstr(c2.out, "tick") != NULL);
  struct res k = {0};
  REQUIRE(sbx_process_signal(x.c, x.sid, pid, SIGTERM, on_done, &k, &id) == SBX_OK);
  WAIT(&x, &k);
  CHECK_EQ_INT(k.code, 0);
  WAIT(&x, &c2);
  CHECK(c2.have_res);
  CHECK(!alive((pid_t)pid));
  memset(&k, 0, sizeof k);
  REQUIRE(sbx_process_signal(x.c, x.sid, 999999, SIGKILL, on_done, &k, &id) == SBX_OK);
  WAIT(&x, &k);
  CHECK_EQ_INT(k.code, SBX_ENOTFOUND);
  ctx_close(&x);
}

/* Under bubblewrap the rest of the system is read-only. */
static void cannot_write_outside(void) {
  if (!have_bwrap()) {
    fprintf(stderr, "  (bwrap unavailable: isolation not tested)\n");
    return;
  }
  struct ctx x;
  ctx_open(&x, NULL, 0);
  char outside[256];
  snprintf(outside, sizeof outside, "%s/../sbx-escape-%d", x.root, (int)getpid());
  char cmd[600];
  snprintf(cmd, sizeof cmd, "echo x > '%s' && echo wrote || echo denied; touch /etc/sbx-x || true",
           outside);
  struct res r;
  run(&x, cmd, &r, NULL);
  WAIT(&x, &r);
  CHECK_EQ_STR(r.out, "denied\n");
  struct stat sb;
  CHECK(stat(outside, &sb) != 0);
  CHECK(stat("/etc/sbx-x", &sb) != 0);
  /* but the home is writable and is the sandbox's */
  run(&x, "echo data > /home/user/f && cat /home/user/f", &r, NULL);
  WAIT(&x, &r);
  CHECK_EQ_STR(r.out, "data\n");
  ctx_close(&x);
}

static int listener(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  REQUIRE(bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 8) == 0);
  socklen_t l = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &l);
  *port = ntohs(a.sin_port);
  return fd;
}

/* A deny-all network policy is enforced (own network namespace). */
static void network_deny_all(void) {
  if (!have_bwrap()) {
    fprintf(stderr, "  (bwrap unavailable: network policy not tested)\n");
    return;
  }
  int port;
  int lfd = listener(&port);
  char cmd[256];
  snprintf(cmd, sizeof cmd,
           "(exec 3<>/dev/tcp/127.0.0.1/%d) 2>/dev/null && echo connected || echo unreachable",
           port);
  struct ctx x;
  ctx_open(&x, NULL, 0); /* default policy: allowed */
  struct res r;
  run(&x, cmd, &r, NULL);
  WAIT(&x, &r);
  CHECK_EQ_STR(r.out, "connected\n");
  ctx_close(&x);
  sbx_create_opts co;
  sbx_create_opts_init(&co);
  co.allow_internet = 0;
  ctx_open(&x, &co, 0);
  run(&x, cmd, &r, NULL);
  WAIT(&x, &r);
  CHECK_EQ_STR(r.out, "unreachable\n");
  ctx_close(&x);
  close(lfd);
}

static long rss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0) kb = atol(line + 6);
  if (f) fclose(f);
  return kb;
}

/* 1 GB of output meets the cap; the client's memory does not grow with it. */
static void output_cap(void) {
  struct ctx x;
  ctx_open(&x, NULL, 16u << 20);
  long before = rss_kb();
  struct res r;
  run(&x, "head -c 1000000000 /dev/zero", &r, NULL);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ETOOBIG);
  CHECK(r.total <= (16u << 20));
  CHECK(r.total >= (8u << 20));
  long grew = rss_kb() - before;
  CHECK(grew < 8 * 1024);
  CHECK_EQ_INT(count_children(), 0);
  ctx_close(&x);
}

/* Nothing is left behind: not after kill, not after client free. */
static void no_strays(void) {
  struct ctx x;
  ctx_open(&x, NULL, 0);
  struct res a, b;
  run(&x, "sleep 100", &a, NULL);
  run(&x, "sleep 100 & sleep 100", &b, NULL);
  for (int i = 0; i < 300 && (!a.pid || !b.pid); i++)
    spin(x.loop, 10);
  REQUIRE(a.pid && b.pid);
  struct res k = {0};
  sbx_op_id id;
  REQUIRE(sbx_sandbox_kill(x.c, x.sid, on_done, &k, &id) == SBX_OK);
  WAIT(&x, &k);
  CHECK_EQ_INT(k.code, 0);
  WAIT(&x, &a);
  WAIT(&x, &b);
  CHECK(!alive((pid_t)a.pid));
  CHECK(!alive((pid_t)b.pid));
  CHECK_EQ_INT(count_children(), 0);
  ctx_close(&x);
  /* client free with commands running */
  ctx_open(&x, NULL, 0);
  run(&x, "sleep 100", &a, NULL);
  for (int i = 0; i < 300 && !a.pid; i++)
    spin(x.loop, 10);
  REQUIRE(a.pid);
  sbx_client_free(x.c);
  x.c = NULL;
  CHECK_EQ_INT(a.calls, 1);
  CHECK_EQ_INT(a.code, SBX_ECLOSED);
  CHECK(!alive((pid_t)a.pid));
  CHECK_EQ_INT(count_children(), 0);
  ctx_close(&x);
}

static void paused_refuses_exec(void) {
  struct ctx x;
  ctx_open(&x, NULL, 0);
  struct res r;
  run(&x, "sleep 100", &r, NULL);
  for (int i = 0; i < 300 && !r.pid; i++)
    spin(x.loop, 10);
  struct res p = {0};
  sbx_op_id id;
  REQUIRE(sbx_sandbox_pause(x.c, x.sid, on_done, &p, &id) == SBX_OK);
  WAIT(&x, &p);
  CHECK_EQ_INT(p.code, 0);
  char path[64], line[256], state = 0;
  snprintf(path, sizeof path, "/proc/%u/stat", r.pid);
  /* the pause completes once its processes show stopped, not before */
  FILE *f = fopen(path, "r");
  if (f && fgets(line, sizeof line, f)) state = *(strrchr(line, ')') + 2);
  if (f) fclose(f);
  CHECK_EQ_INT(state, 'T'); /* stopped */
  struct res e;
  run(&x, "echo hi", &e, NULL);
  WAIT(&x, &e);
  CHECK_EQ_INT(e.code, SBX_ECONFLICT);
  memset(&p, 0, sizeof p);
  REQUIRE(sbx_sandbox_connect(x.c, x.sid, 0, 0, on_sandbox, &p, &id) == SBX_OK);
  WAIT(&x, &p);
  CHECK_EQ_INT(p.code, 0);
  run(&x, "echo back", &e, NULL);
  WAIT(&x, &e);
  CHECK_EQ_STR(e.out, "back\n");
  ctx_close(&x);
}

/* On libev's default loop (which reaps every child itself) exit codes
 * still arrive: through child watchers instead of a pidfd. */
static void default_loop_exit_codes(void) {
  struct ctx x;
  memset(&x, 0, sizeof x);
  snprintf(x.root, sizeof x.root, "/tmp/sbx-ltest-XXXXXX");
  REQUIRE(mkdtemp(x.root));
  x.loop = ev_default_loop(0);
  x.c = new_client(x.loop, x.root, 0);
  struct res r = {0};
  sbx_op_id id;
  REQUIRE(sbx_sandbox_create(x.c, NULL, on_created, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  snprintf(x.sid, sizeof x.sid, "%s", created_id);
  enum { N = 20 };
  struct res rs[N];
  char cmd[N][48];
  for (int i = 0; i < N; i++) {
    snprintf(cmd[i], sizeof cmd[i], "echo %d; exit %d", i, i);
    run(&x, cmd[i], &rs[i], NULL);
  }
  for (int i = 0; i < N; i++) {
    WAIT(&x, &rs[i]);
    CHECK_EQ_INT(rs[i].code, 0);
    CHECK_EQ_INT(rs[i].exit_code, i);
  }
  CHECK_EQ_INT(count_children(), 0);
  sbx_client_free(x.c);
  char c2[256];
  snprintf(c2, sizeof c2, "rm -rf %s", x.root);
  if (system(c2) != 0) fprintf(stderr, "cannot remove %s\n", x.root);
}

/* Exec user "root": home and default cwd /root (a per-sandbox directory);
 * unknown users are refused with a message naming the user and provider. */
static void exec_as_root(void) {
  struct ctx x;
  ctx_open(&x, NULL, 0);
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  o.user = "root";
  struct res r;
  run(&x, "echo $HOME $USER $LOGNAME; touch mark", &r, &o);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  char mark[512];
  snprintf(mark, sizeof mark, "%s/%s/root/mark", x.root, x.sid);
  struct stat st;
  CHECK(stat(mark, &st) == 0); /* the cwd was root's own directory */
  if (have_bwrap()) {
    CHECK_EQ_STR(r.out, "/root root root\n");
    run(&x, "pwd; ls /root", &r, &o);
    WAIT(&x, &r);
    CHECK_EQ_STR(r.out, "/root\nmark\n");
    /* uid 0 where bubblewrap can make a user namespace */
    if (system("bwrap --ro-bind / / --unshare-user --uid 0 --gid 0 true 2>/dev/null") == 0) {
      run(&x, "id -u", &r, &o);
      WAIT(&x, &r);
      CHECK_EQ_STR(r.out, "0\n");
    }
  } else {
    CHECK(strstr(r.out, " root root\n") != NULL);
  }
  o.user = "alice";
  run(&x, "true", &r, &o);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ENOTSUP);
  CHECK(strstr(r.msg, "alice") && strstr(r.msg, "local"));
  ctx_close(&x);
}

/* Later sources replace earlier ones, one entry per key: the command's envs
 * over the sandbox's over the defaults. */
static void env_later_wins(void) {
  sbx_create_opts co;
  sbx_create_opts_init(&co);
  sbx_kv senv[] = {{"PATH", "/bin:/usr/bin"}, {"A", "sandbox"}, {"B", "sandbox"}};
  co.envs = senv;
  co.n_envs = 3;
  struct ctx x;
  ctx_open(&x, &co, 0);
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  sbx_kv xenv[] = {{"B", "exec"}, {"HOME", "/tmp"}};
  o.envs = xenv;
  o.n_envs = 2;
  const char *argv[] = {"/usr/bin/env", NULL};
  o.argv = argv;
  struct res r;
  run(&x, NULL, &r, &o);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK(strstr(r.out, "PATH=/bin:/usr/bin\n") != NULL);
  CHECK(strstr(r.out, "A=sandbox\n") != NULL);
  CHECK(strstr(r.out, "B=exec\n") != NULL);
  CHECK(strstr(r.out, "HOME=/tmp\n") != NULL);
  const char *keys[] = {"\nPATH=", "\nB=", "\nHOME="};
  for (size_t i = 0; i < 3; i++) { /* once each ("\n" + out: the first line counts too) */
    char all[sizeof r.out + 1];
    snprintf(all, sizeof all, "\n%s", r.out);
    const char *first = strstr(all, keys[i]);
    CHECK(first && !strstr(first + 1, keys[i]));
  }
  ctx_close(&x);
}

static const struct test_case cases[] = {
    {"without_pidfd", without_pidfd},
    {"default_loop_exit_codes", default_loop_exit_codes},
    {"streams_and_exit_codes", streams_and_exit_codes},
    {"timeout_kills", timeout_kills},
    {"stdin_roundtrip", stdin_roundtrip},
    {"detach_reattach_signal", detach_reattach_signal},
    {"cannot_write_outside", cannot_write_outside},
    {"network_deny_all", network_deny_all},
    {"output_cap", output_cap},
    {"no_strays", no_strays},
    {"paused_refuses_exec", paused_refuses_exec},
    {"exec_as_root", exec_as_root},
    {"env_later_wins", env_later_wins},
    {NULL, NULL},
};

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  return test_main("local_exec", cases, argc, argv, 60);
}
