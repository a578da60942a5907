/* test_embed.c - a client on a private loop (sbx_client_new with a NULL
 * loop) driven only by poll() on sbx_client_fd, sbx_client_timeout_ms and
 * sbx_client_run_once, against a fresh sbx-emu: creates, execs, kills,
 * a deadline that fires with no I/O at all, a free from a callback. */
#include <poll.h>

#include "emu_harness.h"
#include "op_results.h"

/* What the host loop saw. */
struct drive {
  int polls, timeouts, last_poll; /* last_poll: poll()'s return before a run_once */
  long max_wait_ms;               /* the longest timeout the client asked for */
};

static int drive_pass(sbx_client *c, double end, struct drive *d) {
  long t = sbx_client_timeout_ms(c);
  long left = (long)((end - ev_time()) * 1000.0) + 1;
  if (t > d->max_wait_ms) d->max_wait_ms = t;
  if (t < 0 || t > left) t = left;
  struct pollfd p = {.fd = sbx_client_fd(c), .events = POLLIN};
  int n = poll(&p, 1, (int)t);
  d->polls++;
  if (n == 0) d->timeouts++;
  d->last_poll = n;
  return sbx_client_run_once(c);
}

/* Drive c until *flag is set or limit_s passes. */
static int drive_until(sbx_client *c, const int *flag, double limit_s, struct drive *d) {
  struct drive scratch;
  if (!d) d = &scratch;
  memset(d, 0, sizeof *d);
  double end = ev_time() + limit_s;
  while (!*flag && ev_time() < end)
    if (drive_pass(c, end, d) != SBX_OK) return 0;
  return *flag;
}

static sbx_client *new_client(struct emu *e, int tls) {
  sbx_config cfg;
  emu_config(e, &cfg, tls);
  sbx_status st;
  char errbuf[256];
  sbx_client *c = sbx_client_new(NULL, &cfg, &st, errbuf, sizeof errbuf);
  if (!c) fprintf(stderr, "  sbx_client_new: %s\n", errbuf);
  return c;
}

static void create(sbx_client *c, char *id_out) {
  struct res r = {0};
  sbx_create_opts o;
  sbx_create_opts_init(&o);
  o.timeout_s = 120;
  sbx_op_id id;
  REQUIRE(sbx_sandbox_create(c, &o, on_sandbox, &r, &id) == SBX_OK);
  r.returned = 1;
  CHECK_EQ_INT(sbx_client_timeout_ms(c), 0); /* the start is due now */
  REQUIRE(drive_until(c, &r.done, 20, NULL));
  REQUIRE(r.code == 0);
  CHECK(!r.early);
  snprintf(id_out, 64, "%s", r.id);
}

/* ---- the fd and the calls in both modes ------------------------------------------ */

static void modes(void) {
  struct emu e;
  emu_start(&e, NULL);
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  sbx_config cfg;
  emu_config(&e, &cfg, 0);
  sbx_status st;
  sbx_client *on_loop = sbx_client_new(loop, &cfg, &st, NULL, 0);
  REQUIRE(on_loop != NULL);
  CHECK_EQ_INT(sbx_client_fd(on_loop), -1);
  CHECK_EQ_INT(sbx_client_run_once(on_loop), SBX_EINVAL);
  CHECK_EQ_INT(sbx_client_timeout_ms(on_loop), -1);
  sbx_client_free(on_loop);
  ev_loop_destroy(loop);

  sbx_client *own = new_client(&e, 0);
  REQUIRE(own != NULL);
  int fd = sbx_client_fd(own);
  CHECK(fd >= 0);
  char path[64], target[64] = {0};
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  CHECK(readlink(path, target, sizeof target - 1) > 0);
  CHECK_EQ_STR(target, "anon_inode:[eventpoll]");
  CHECK_EQ_INT(sbx_client_timeout_ms(own), -1); /* idle: nothing timed */
  CHECK_EQ_INT(sbx_client_run_once(own), SBX_OK);
  struct pollfd p = {.fd = fd, .events = POLLIN};
  CHECK_EQ_INT(poll(&p, 1, 0), 0); /* idle: not readable */
  CHECK_EQ_INT(sbx_client_fd(NULL), -1);
  CHECK_EQ_INT(sbx_client_run_once(NULL), SBX_EINVAL);
  /* a free with an op pending completes it there, once */
  struct res r = {0};
  sbx_op_id id;
  REQUIRE(sbx_sandbox_create(own, NULL, on_sandbox, &r, &id) == SBX_OK);
  r.returned = 1;
  CHECK_EQ_INT(sbx_client_timeout_ms(own), 0);
  sbx_client_free(own);
  CHECK_EQ_INT(r.calls, 1);
  CHECK_EQ_INT(r.code, SBX_ECLOSED);
  CHECK(fcntl(fd, F_GETFD) == -1); /* the free closed it */
  emu_stop(&e);
}

/* ---- a whole lifecycle by poll() alone --------------------------------------------- */

static void lifecycle(int tls) {
  struct emu e;
  emu_start(&e, NULL);
  sbx_client *c = new_client(&e, tls);
  REQUIRE(c != NULL);
  char sid[3][64];
  for (int i = 0; i < 3; i++)
    create(c, sid[i]);
  struct res r[3];
  for (int i = 0; i < 3; i++) {
    memset(&r[i], 0, sizeof r[i]);
    sbx_exec_opts o;
    sbx_exec_opts_init(&o);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "echo out-%d; sleep 0.1; echo again-%d", i, i);
    o.cmd = cmd;
    sbx_op_id id;
    REQUIRE(sbx_exec_start(c, sid[i], &o, &exec_cbs, &r[i], &id) == SBX_OK);
    r[i].returned = 1;
  }
  for (int i = 0; i < 3; i++)
    REQUIRE(drive_until(c, &r[i].done, 20, NULL));
  for (int i = 0; i < 3; i++) {
    char want[64];
    snprintf(want, sizeof want, "out-%d\nagain-%d\n", i, i);
    CHECK_EQ_INT(r[i].code, 0);
    CHECK_EQ_INT(r[i].exit_code, 0);
    CHECK_EQ_STR(r[i].out, want);
    CHECK(!r[i].early);
  }
  for (int i = 0; i < 3; i++) {
    struct res k = {0};
    sbx_op_id id;
    REQUIRE(sbx_sandbox_kill(c, sid[i], on_done, &k, &id) == SBX_OK);
    REQUIRE(drive_until(c, &k.done, 20, NULL));
    CHECK_EQ_INT(k.code, 0);
  }
  CHECK_EQ_INT(sbx_client_pending(c), 0);
  CHECK_EQ_INT(emu_stat(&e, "sandboxes", "live", NULL), 0);
  sbx_client_free(c);
  emu_stop(&e);
}
static void lifecycle_h1(void) {
  lifecycle(0);
}
static void lifecycle_h2(void) {
  lifecycle(1);
}

/* ---- a deadline with no I/O at all --------------------------------------------------- */

struct timed {
  struct res r;
  struct drive *d;
  int polls_at_done, last_poll_at_done;
  double at;
};

static void timed_done(sbx_client *c, sbx_op_id op, const sbx_error *err,
                       const sbx_exec_result *res, void *ud) {
  struct timed *t = ud;
  x_done(c, op, err, res, &t->r);
  t->at = ev_time();
  t->last_poll_at_done = t->d->last_poll;
}

static void deadline_without_io(void) {
  struct emu e;
  emu_start(&e, NULL);
  sbx_client *c = new_client(&e, 1);
  REQUIRE(c != NULL);
  char sid[64];
  create(c, sid);
  struct drive d = {0};
  struct timed t = {.d = &d};
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  o.cmd = "sleep 5";
  sbx_exec_cbs cbs = {x_start, x_out, timed_done};
  sbx_op_id id;
  REQUIRE(sbx_exec_start(c, sid, &o, &cbs, &t, &id) == SBX_OK);
  /* let the stream start (the pid arrives), then give it 200 ms */
  struct drive d0;
  REQUIRE(drive_until(c, (const int *)&t.r.pid, 10, &d0));
  double t0 = ev_time();
  REQUIRE(sbx_set_deadline(c, id, 200) == SBX_OK);
  long first = sbx_client_timeout_ms(c);
  CHECK(first >= 0 && first <= 200);
  double end = ev_time() + 5;
  while (!t.r.done && ev_time() < end)
    REQUIRE(drive_pass(c, end, &d) == SBX_OK);
  double took = t.at - t0;
  CHECK(t.r.done);
  CHECK_EQ_INT(t.r.code, SBX_ETIMEDOUT);
  CHECK(took >= 0.195 && took < 0.6);
  CHECK_EQ_INT(t.last_poll_at_done, 0); /* woken by the timeout, not by I/O */
  CHECK(d.max_wait_ms >= 150 && d.max_wait_ms <= 200);
  CHECK(d.polls < 20); /* it slept, it did not spin */
  fprintf(stderr, "  deadline: %.0f ms, %d polls (%d timed out), longest wait %ld ms\n",
          took * 1000, d.polls, d.timeouts, d.max_wait_ms);
  struct res k = {0};
  REQUIRE(sbx_sandbox_kill(c, sid, on_done, &k, &id) == SBX_OK);
  REQUIRE(drive_until(c, &k.done, 20, NULL));
  CHECK_EQ_INT(k.code, 0);
  sbx_client_free(c);
  emu_stop(&e);
}

/* ---- the local provider: pipes and a pidfd on the private loop ---------------------- */

/* An op step starts the pipe and pidfd watchers inside run_once; libev
 * puts them in the epoll set only on its next pass, so run_once must not
 * return before that pass (else the host sleeps on an fd that never wakes). */
static void local_by_poll(void) {
  char root[64];
  snprintf(root, sizeof root, "/tmp/sbx-embed-XXXXXX");
  REQUIRE(mkdtemp(root));
  sbx_config cfg;
  sbx_config_init(&cfg);
  cfg.use_env = 0;
  cfg.provider = "local";
  cfg.local_root = root;
  sbx_status st;
  char errbuf[256] = "";
  sbx_client *c = sbx_client_new(NULL, &cfg, &st, errbuf, sizeof errbuf);
  if (!c) fprintf(stderr, "  client: %s\n", errbuf);
  REQUIRE(c != NULL);
  char sid[64];
  create(c, sid);
  struct res r = {0};
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  o.cmd = "echo one; sleep 0.2; echo two";
  sbx_op_id id;
  REQUIRE(sbx_exec_start(c, sid, &o, &exec_cbs, &r, &id) == SBX_OK);
  struct drive d;
  double t0 = ev_time();
  REQUIRE(drive_until(c, &r.done, 10, &d));
  CHECK(ev_time() - t0 < 2.0); /* woken by the pipes and the exit, not a stray timer */
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_INT(r.exit_code, 0);
  CHECK_EQ_STR(r.out, "one\ntwo\n");
  /* a deadline on a process that says nothing */
  struct drive dd = {0};
  struct timed t = {.d = &dd};
  o.cmd = "sleep 5";
  sbx_exec_cbs cbs = {x_start, x_out, timed_done};
  REQUIRE(sbx_exec_start(c, sid, &o, &cbs, &t, &id) == SBX_OK);
  t0 = ev_time();
  REQUIRE(sbx_set_deadline(c, id, 200) == SBX_OK);
  double end = ev_time() + 5;
  while (!t.r.done && ev_time() < end)
    REQUIRE(drive_pass(c, end, &dd) == SBX_OK);
  CHECK_EQ_INT(t.r.code, SBX_ETIMEDOUT);
  CHECK(t.at - t0 >= 0.195 && t.at - t0 < 0.6);
  struct res k = {0};
  REQUIRE(sbx_sandbox_kill(c, sid, on_done, &k, &id) == SBX_OK);
  REQUIRE(drive_until(c, &k.done, 10, NULL));
  CHECK_EQ_INT(k.code, 0);
  CHECK_EQ_INT(sbx_client_pending(c), 0);
  sbx_client_free(c);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", root);
  CHECK(system(cmd) == 0);
}

/* ---- free from a callback inside run_once ------------------------------------------- */

struct freer {
  struct res info, exec;
  int run_once_inside;
  int freed;
};

static void free_in_cb(sbx_client *c, sbx_op_id op, const sbx_error *err,
                       const sbx_sandbox_info *info, void *ud) {
  struct freer *f = ud;
  on_sandbox(c, op, err, info, &f->info);
  f->run_once_inside = sbx_client_run_once(c);
  sbx_client_free(c); /* deferred until run_once returns */
  f->freed = 1;
  CHECK_EQ_INT(f->exec.done, 0);
}

static void free_from_callback(void) {
  struct emu e;
  emu_start(&e, NULL);
  sbx_client *c = new_client(&e, 0);
  REQUIRE(c != NULL);
  char sid[64];
  create(c, sid);
  struct freer f = {0};
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  o.cmd = "sleep 5";
  sbx_op_id id;
  REQUIRE(sbx_exec_start(c, sid, &o, &exec_cbs, &f.exec, &id) == SBX_OK);
  REQUIRE(drive_until(c, (const int *)&f.exec.pid, 10, NULL));
  REQUIRE(sbx_sandbox_info_get(c, sid, free_in_cb, &f, &id) == SBX_OK);
  struct drive d = {0};
  double end = ev_time() + 10;
  while (!f.freed && ev_time() < end)
    REQUIRE(drive_pass(c, end, &d) == SBX_OK);
  /* c is gone now: the pending exec was closed inside that run_once */
  CHECK(f.freed);
  CHECK_EQ_INT(f.info.code, 0);
  CHECK_EQ_INT(f.run_once_inside, SBX_EINVAL);
  CHECK_EQ_INT(f.exec.calls, 1);
  CHECK_EQ_INT(f.exec.code, SBX_ECLOSED);
  emu_stop(&e);
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  static const struct test_case cases[] = {{"modes", modes},
                                           {"lifecycle_h1", lifecycle_h1},
                                           {"lifecycle_h2", lifecycle_h2},
                                           {"deadline_without_io", deadline_without_io},
                                           {"free_from_callback", free_from_callback},
                                           {"local_by_poll", local_by_poll},
                                           {NULL, NULL}};
  return test_main("embed", cases, argc, argv, 60);
}
