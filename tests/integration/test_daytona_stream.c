/* test_daytona_stream.c - Daytona streaming exec against a fresh sbx-emu:
 * a session per command, its log followed over a WebSocket (HTTP/1.1
 * upgrade, cleartext and TLS), stdout and stderr apart, live output,
 * deadlines, stdin, detach and reattach by pid, kill, the output cap, and a
 * log stream that is dropped, truncated or malformed. */
#include <signal.h>

#include "dt_harness.h"

/* An exec's results plus when things happened and its status text. */
struct sres {
  struct res r;
  double t_start, t_first_out, t_done;
  char status[64];
  int detached;
};

static void s_start(sbx_client *c, sbx_op_id op, uint32_t pid, void *ud) {
  struct sres *s = ud;
  s->t_start = ev_time();
  x_start(c, op, pid, &s->r);
}

static void s_out(sbx_client *c, sbx_op_id op, int fd, const char *d, size_t n, void *ud) {
  struct sres *s = ud;
  if (!s->t_first_out) s->t_first_out = ev_time();
  x_out(c, op, fd, d, n, &s->r);
}

static void s_done(sbx_client *c, sbx_op_id op, const sbx_error *err, const sbx_exec_result *res,
                   void *ud) {
  struct sres *s = ud;
  s->t_done = ev_time();
  if (res) {
    snprintf(s->status, sizeof s->status, "%s", res->status ? res->status : "");
    s->detached = res->detached;
  }
  x_done(c, op, err, res, &s->r);
}

static const sbx_exec_cbs s_cbs = {s_start, s_out, s_done};

static void start(struct ctx *x, const char *sid, const char *cmd, struct sres *s,
                  const sbx_exec_opts *base) {
  sbx_exec_opts o;
  if (base)
    o = *base;
  else
    sbx_exec_opts_init(&o);
  o.cmd = cmd;
  memset(s, 0, sizeof *s);
  sbx_op_id id;
  REQUIRE(sbx_exec_start(x->c, sid, &o, &s_cbs, s, &id) == SBX_OK);
}

static void run(struct ctx *x, const char *sid, const char *cmd, struct sres *s,
                const sbx_exec_opts *base) {
  start(x, sid, cmd, s, base);
  WAIT(x, &s->r);
}

static long sessions(const struct ctx *x) {
  return emu_stat(&x->emu, "daytona", "sessions", NULL);
}

/* ---- the basics, over cleartext HTTP/1.1 and over TLS ---------------------------------- */

static void basic(int tls) {
  struct ctx x;
  ctx_open(&x, tls);
  char sid[64];
  create_sandbox(&x, "u", 0, sid);
  struct sres s;
  run(&x, sid, "echo hello; echo err 1>&2; exit 3", &s, NULL);
  CHECK_EQ_INT(s.r.code, 0);
  CHECK_EQ_STR(s.r.out, "hello\n");
  CHECK_EQ_STR(s.r.err, "err\n");
  CHECK_EQ_INT(s.r.have_res, 1);
  CHECK_EQ_INT(s.r.exited, 1);
  CHECK_EQ_INT(s.r.exit_code, 3);
  CHECK_EQ_STR(s.status, "exit status 3");
  CHECK(s.r.pid != 0);
  CHECK_EQ_INT(s.r.calls, 1);
  CHECK_EQ_INT(sessions(&x), 0); /* its session is deleted afterwards */
  /* its log came over one WebSocket upgrade, on a connection of its own */
  sbx_client_stats st;
  sbx_client_stats_get(x.c, &st);
  CHECK_EQ_INT(st.upgrades, 1);
  CHECK(st.connections >= 2 && st.requests > st.upgrades);
  /* cwd, envs with quotes, an exit and a cd of its own (a subshell) */
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  sbx_kv envs[] = {{"BAR", "it's \"q\" $HOME"}, {"N", "2"}};
  o.envs = envs;
  o.n_envs = 2;
  o.cwd = "/tmp";
  run(&x, sid, "echo \"$BAR\" $N; pwd; cd /; exit 0", &s, &o);
  CHECK_EQ_INT(s.r.code, 0);
  CHECK_EQ_STR(s.r.out, "it's \"q\" $HOME 2\n/tmp\n");
  CHECK_EQ_INT(s.r.exit_code, 0);
  /* an exact argv */
  const char *argv[] = {"/bin/echo", "-n", "it's  b", NULL};
  sbx_exec_opts_init(&o);
  o.argv = argv;
  memset(&s, 0, sizeof s);
  sbx_op_id id;
  REQUIRE(sbx_exec_start(x.c, sid, &o, &s_cbs, &s, &id) == SBX_OK);
  WAIT(&x, &s.r);
  CHECK_EQ_STR(s.r.out, "it's  b\n"); /* the log adds a newline to a last line */
  /* stdin is closed unless asked for: cat ends at once */
  run(&x, sid, "cat; echo done", &s, NULL);
  CHECK_EQ_STR(s.r.out, "done\n");
  /* an env name that is not a shell name is refused before any request */
  sbx_kv bad[] = {{"A;rm", "x"}};
  sbx_exec_opts_init(&o);
  o.cmd = "true";
  o.envs = bad;
  o.n_envs = 1;
  CHECK_EQ_INT(sbx_exec_start(x.c, sid, &o, &s_cbs, &s, &id), SBX_EINVAL);
  ctx_close(&x);
}
static void basic_h1(void) {
  basic(0);
}
static void basic_tls(void) {
  basic(1);
}

/* Output is delivered while the command runs, not at the end. */
static void live_output(void) {
  struct ctx x;
  ctx_open(&x, 1);
  char sid[64];
  create_sandbox(&x, "u", 0, sid);
  struct sres s;
  run(&x, sid, "echo one; sleep 1.5; echo two 1>&2", &s, NULL);
  CHECK_EQ_INT(s.r.code, 0);
  CHECK_EQ_STR(s.r.out, "one\n");
  CHECK_EQ_STR(s.r.err, "two\n");
  CHECK(s.t_first_out > 0 && s.t_done - s.t_first_out > 1.0);
  CHECK(s.t_start > 0 && s.t_start <= s.t_first_out);
  /* a big output, in many frames, arrives whole and in order */
  run(&x, sid, "seq 1 20000", &s, NULL);
  CHECK_EQ_INT(s.r.code, 0);
  CHECK_EQ_INT((long)s.r.total, 108894); /* bytes of seq 1 20000 */
  CHECK_EQ_INT(s.r.exit_code, 0);
  ctx_close(&x);
}

/* The command's deadline ends it: a timeout result, the session deleted. */
static void deadline(void) {
  struct ctx x;
  ctx_open(&x, 1);
  char sid[64];
  create_sandbox(&x, "u", 0, sid);
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  o.timeout_ms = 1000;
  struct sres s;
  double t0 = ev_time();
  run(&x, sid, "echo before; sleep 20", &s, &o);
  CHECK_EQ_INT(s.r.code, 0);
  CHECK_EQ_INT(s.r.have_res, 1);
  CHECK_EQ_STR(s.status, "timeout");
  CHECK_EQ_INT(s.r.exited, 0);
  CHECK_EQ_STR(s.r.out, "before\n"); /* what came before the deadline is kept */
  CHECK(ev_time() - t0 < 5.0);
  CHECK_EQ_INT(sessions(&x), 0);
  ctx_close(&x);
}

/* ---- process control by pid -------------------------------------------------------------- */

static void stdin_and_kill(void) {
  struct ctx x;
  ctx_open(&x, 1);
  char sid[64];
  create_sandbox(&x, "u", 0, sid);
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  o.stdin_open = 1;
  struct sres s;
  start(&x, sid, "read a; read b; echo \"got $a+$b\"", &s, &o);
  double end = ev_time() + 10;
  while (!s.r.pid && ev_time() < end)
    ev_run(x.loop, EVRUN_ONCE);
  REQUIRE(s.r.pid != 0);
  struct res w = {0};
  sbx_op_id id;
  REQUIRE(sbx_process_write_stdin(x.c, sid, s.r.pid, "x\ny", 3, on_done, &w, &id) == SBX_OK);
  WAIT(&x, &w);
  CHECK_EQ_INT(w.code, 0); /* "y" gets its newline from the toolbox */
  WAIT(&x, &s.r);
  CHECK_EQ_STR(s.r.out, "got x+y\n");
  CHECK_EQ_INT(s.r.exit_code, 0);
  /* stdin of a finished process: gone */
  memset(&w, 0, sizeof w);
  REQUIRE(sbx_process_write_stdin(x.c, sid, s.r.pid, "z", 1, on_done, &w, &id) == SBX_OK);
  WAIT(&x, &w);
  CHECK_EQ_INT(w.code, SBX_ENOTFOUND);
  CHECK_EQ_INT(sbx_process_close_stdin(x.c, sid, s.r.pid, on_done, &w, &id), SBX_ENOTSUP);
  /* kill a running process: the exec ends as killed */
  start(&x, sid, "echo up; sleep 30", &s, NULL);
  end = ev_time() + 10;
  while (!s.t_first_out && ev_time() < end)
    ev_run(x.loop, EVRUN_ONCE);
  REQUIRE(s.r.pid != 0);
  CHECK_EQ_INT(sbx_process_signal(x.c, sid, s.r.pid, SIGINT, on_done, &w, &id), SBX_ENOTSUP);
  memset(&w, 0, sizeof w);
  REQUIRE(sbx_process_signal(x.c, sid, s.r.pid, SIGKILL, on_done, &w, &id) == SBX_OK);
  WAIT(&x, &w);
  CHECK_EQ_INT(w.code, 0);
  WAIT(&x, &s.r);
  CHECK_EQ_INT(s.r.code, 0);
  CHECK_EQ_STR(s.status, "signal: killed");
  CHECK_EQ_INT(s.r.exited, 0);
  CHECK_EQ_INT(sessions(&x), 0);
  /* an unknown pid */
  memset(&w, 0, sizeof w);
  REQUIRE(sbx_process_signal(x.c, sid, 12345, SIGTERM, on_done, &w, &id) == SBX_OK);
  WAIT(&x, &w);
  CHECK_EQ_INT(w.code, SBX_ENOTFOUND);
  ctx_close(&x);
}

/* Detach, then reattach by pid: the log is replayed from its start. */
static void detach_reattach(void) {
  struct ctx x;
  ctx_open(&x, 1);
  char sid[64];
  create_sandbox(&x, "u", 0, sid);
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  o.detach = 1;
  struct sres s;
  run(&x, sid, "echo a; sleep 1; echo b 1>&2; exit 4", &s, &o);
  CHECK_EQ_INT(s.r.code, 0);
  CHECK_EQ_INT(s.detached, 1);
  REQUIRE(s.r.pid != 0);
  CHECK_EQ_INT(sessions(&x), 1);
  uint32_t pid = s.r.pid;
  memset(&s, 0, sizeof s);
  sbx_op_id id;
  REQUIRE(sbx_exec_connect(x.c, sid, pid, &s_cbs, &s, &id) == SBX_OK);
  WAIT(&x, &s.r);
  CHECK_EQ_INT(s.r.code, 0);
  CHECK_EQ_STR(s.r.out, "a\n");
  CHECK_EQ_STR(s.r.err, "b\n");
  CHECK_EQ_INT(s.r.exit_code, 4);
  CHECK_EQ_INT(s.r.pid, pid);
  CHECK_EQ_INT(sessions(&x), 0);
  /* the process is gone now */
  memset(&s, 0, sizeof s);
  REQUIRE(sbx_exec_connect(x.c, sid, pid, &s_cbs, &s, &id) == SBX_OK);
  WAIT(&x, &s.r);
  CHECK_EQ_INT(s.r.code, SBX_ENOTFOUND);
  ctx_close(&x);
}

/* ---- bad streams ------------------------------------------------------------------------- */

static void output_cap(void) {
  struct ctx x;
  ctx_open(&x, 1);
  sbx_client_free(x.c);
  x.c = new_client_cap(&x, 1, "e2b_test_key", 4096);
  char sid[64];
  create_sandbox(&x, "u", 0, sid);
  struct sres s;
  run(&x, sid, "seq 1 5000", &s, NULL);
  CHECK_EQ_INT(s.r.code, SBX_ETOOBIG);
  CHECK(s.r.total <= 4096);
  CHECK(strstr(s.r.msg, "4096") != NULL);
  ctx_close(&x);
}

/* A fault rule on sandbox sid's first toolbox GET under /process/session/:
 * the log follow, in every flow here (session and exec are POSTs). */
static void ws_fault(struct ctx *x, const char *sid, const char *what) {
  char rule[512];
  snprintf(rule, sizeof rule,
           "{\"method\":\"GET\",\"path\":\"/toolbox/%s/process/session/\",\"count\":1,%s}", sid,
           what);
  emu_fault(&x->emu, rule);
}

/* Faults on the follow WebSocket (the emulator's drop/truncate/malformed
 * rules): a dropped stream is retryable and names the pid to reattach. */
static void dropped_stream(void) {
  struct ctx x;
  ctx_open(&x, 1);
  char sid[64];
  create_sandbox(&x, "u", 0, sid);
  ws_fault(&x, sid, "\"action\":\"drop\",\"after_messages\":1");
  struct sres s;
  run(&x, sid, "echo one; sleep 1; echo two", &s, NULL);
  CHECK_EQ_INT(s.r.code, SBX_ETRANSPORT);
  CHECK_EQ_INT(s.r.retryable, 1);
  CHECK_EQ_STR(s.r.out, "one\n");
  CHECK(strstr(s.r.msg, "reattach") != NULL);
  /* the command ran on: reattaching gets all of it */
  uint32_t pid = s.r.pid;
  REQUIRE(pid != 0);
  memset(&s, 0, sizeof s);
  sbx_op_id id;
  REQUIRE(sbx_exec_connect(x.c, sid, pid, &s_cbs, &s, &id) == SBX_OK);
  WAIT(&x, &s.r);
  CHECK_EQ_INT(s.r.code, 0);
  CHECK_EQ_STR(s.r.out, "one\ntwo\n");
  CHECK_EQ_INT(s.r.exit_code, 0);
  /* a frame cut in half, then a frame no server may send */
  ws_fault(&x, sid, "\"action\":\"truncate\",\"after_messages\":0");
  run(&x, sid, "echo cut", &s, NULL);
  CHECK_EQ_INT(s.r.code, SBX_EPROTO);
  CHECK(strstr(s.r.msg, "truncated") != NULL);
  ws_fault(&x, sid, "\"action\":\"malformed\",\"after_messages\":0");
  run(&x, sid, "echo bad", &s, NULL);
  CHECK_EQ_INT(s.r.code, SBX_EPROTO);
  CHECK(strstr(s.r.msg, "WebSocket") != NULL);
  /* a 502 on the upgrade is retried (nothing was streamed yet) */
  ws_fault(&x, sid, "\"status\":502");
  run(&x, sid, "echo retried", &s, NULL);
  CHECK_EQ_INT(s.r.code, 0);
  CHECK_EQ_STR(s.r.out, "retried\n");
  /* a refused upgrade that is not worth retrying is the toolbox's error */
  ws_fault(&x, sid, "\"status\":403");
  run(&x, sid, "echo refused", &s, NULL);
  CHECK(s.r.code != 0);
  CHECK_EQ_INT(s.r.http, 403);
  CHECK_EQ_INT(s.r.retryable, 0);
  /* and afterwards all is well again */
  run(&x, sid, "echo fine", &s, NULL);
  CHECK_EQ_INT(s.r.code, 0);
  CHECK_EQ_STR(s.r.out, "fine\n");
  ctx_close(&x);
}

/* Many streams at once: each upgrade has its own connection, none waits for
 * another (the h2 connection cap does not apply to them). */
#define N_STREAMS 24
static void many_streams(void) {
  struct ctx x;
  ctx_open(&x, 1);
  char sid[64];
  create_sandbox(&x, "u", 0, sid);
  static struct sres s[N_STREAMS];
  for (int i = 0; i < N_STREAMS; i++)
    start(&x, sid, "echo go; sleep 1; echo end", &s[i], NULL);
  double t0 = ev_time();
  int ok = 0;
  for (int i = 0; i < N_STREAMS; i++) {
    WAIT(&x, &s[i].r);
    ok += s[i].r.code == 0 && !strcmp(s[i].r.out, "go\nend\n") && s[i].r.exit_code == 0;
  }
  CHECK_EQ_INT(ok, N_STREAMS);
  CHECK(ev_time() - t0 < 10.0);
  CHECK_EQ_INT(sessions(&x), 0);
  ctx_close(&x);
}

static const struct test_case cases[] = {
    {"basic_h1", basic_h1},
    {"basic_tls", basic_tls},
    {"live_output", live_output},
    {"deadline", deadline},
    {"stdin_and_kill", stdin_and_kill},
    {"detach_reattach", detach_reattach},
    {"output_cap", output_cap},
    {"dropped_stream", dropped_stream},
    {"many_streams", many_streams},
    {NULL, NULL},
};

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  return test_main("daytona_stream", cases, argc, argv, 120);
}
