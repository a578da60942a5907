/* test_misuse.c - the API's contract when misused: every refused call says
 * which argument or field was wrong (sbx_last_error), cancel and deadline of
 * a finished or unknown op give SBX_ENOTFOUND, ops started on a client being
 * freed give SBX_ECLOSED, and a call from another thread aborts in a debug
 * build with a message naming the function. On the local provider. */
#include <pthread.h>
#include <signal.h>

#include "emu_harness.h"
#include "op_results.h"

struct ctx {
  char root[128];
  struct ev_loop *loop;
  sbx_client *c;
};

static void ctx_open(struct ctx *x) {
  memset(x, 0, sizeof *x);
  snprintf(x->root, sizeof x->root, "/tmp/sbx-misuse-XXXXXX");
  REQUIRE(mkdtemp(x->root) != NULL);
  setenv("SBX_LOCAL_ROOT", x->root, 1);
  x->loop = ev_loop_new(EVFLAG_AUTO);
  sbx_config cfg;
  sbx_config_init(&cfg);
  cfg.provider = "local";
  sbx_status st;
  char err[256];
  x->c = sbx_client_new(x->loop, &cfg, &st, err, sizeof err);
  REQUIRE(x->c != NULL);
}

static void ctx_close(struct ctx *x) {
  if (x->c) sbx_client_free(x->c);
  ev_loop_destroy(x->loop);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", x->root);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", x->root);
}

static void snap_cb(sbx_client *c, sbx_op_id op, const sbx_error *err, const sbx_snapshot_info *s,
                    void *ud) {
  note(ud, err);
}

#define WAIT(x, r) REQUIRE(run_until((x)->loop, &(r)->done, 20.0))

/* The call gave want, and sbx_last_error names fn and holds what. */
#define REFUSED(x, call, want, fn, what)                                                           \
  do {                                                                                             \
    CHECK_EQ_INT((call), (want));                                                                  \
    const char *m_ = sbx_last_error((x)->c);                                                       \
    if (!strstr(m_, fn) || !strstr(m_, what))                                                      \
      fprintf(stderr, "  message '%s' lacks '%s' or '%s'\n", m_, fn, what);                        \
    CHECK(strstr(m_, fn) != NULL && strstr(m_, what) != NULL);                                     \
  } while (0)

static void refused_args_name_the_field(void) {
  struct ctx x;
  ctx_open(&x);
  struct res r = {0};
  sbx_op_id id = 0;
  CHECK_EQ_INT(strlen(sbx_last_error(x.c)), 0);
  CHECK_EQ_INT(strlen(sbx_last_error(NULL)), 0);
  REFUSED(&x, sbx_sandbox_create(x.c, NULL, NULL, &r, &id), SBX_EINVAL, "sbx_sandbox_create",
          "callback");
  REFUSED(&x, sbx_sandbox_create(x.c, NULL, on_sandbox, &r, NULL), SBX_EINVAL, "sbx_sandbox_create",
          "out");
  sbx_create_opts o;
  sbx_create_opts_init(&o);
  o.timeout_s = -3;
  REFUSED(&x, sbx_sandbox_create(x.c, &o, on_sandbox, &r, &id), SBX_EINVAL, "sbx_sandbox_create",
          "opts.timeout_s");
  sbx_create_opts_init(&o);
  o.n_metadata = 2;
  REFUSED(&x, sbx_sandbox_create(x.c, &o, on_sandbox, &r, &id), SBX_EINVAL, "sbx_sandbox_create",
          "opts.metadata");
  sbx_create_opts_init(&o);
  o.cpu = 2; /* daytona only */
  REFUSED(&x, sbx_sandbox_create(x.c, &o, on_sandbox, &r, &id), SBX_ENOTSUP, "sbx_sandbox_create",
          "cpu");
  REFUSED(&x, sbx_sandbox_kill(x.c, NULL, on_done, &r, &id), SBX_EINVAL, "sbx_sandbox_kill", "id");
  REFUSED(&x, sbx_sandbox_kill(x.c, "", on_done, &r, &id), SBX_EINVAL, "sbx_sandbox_kill", "id");
  REFUSED(&x, sbx_sandbox_connect(x.c, "sb1", -1, 0, on_sandbox, &r, &id), SBX_EINVAL,
          "sbx_sandbox_connect", "timeout_s");
  sbx_list_opts lo = {0};
  lo.limit = 101;
  REFUSED(&x, sbx_sandbox_list(x.c, &lo, on_list, &r, &id), SBX_EINVAL, "sbx_sandbox_list",
          "opts.limit");
  sbx_exec_opts eo;
  sbx_exec_opts_init(&eo);
  sbx_exec_cbs cbs = exec_cbs;
  REFUSED(&x, sbx_exec_start(x.c, "sb1", NULL, &cbs, &r, &id), SBX_EINVAL, "sbx_exec_start",
          "opts is NULL");
  REFUSED(&x, sbx_exec_start(x.c, "sb1", &eo, &cbs, &r, &id), SBX_EINVAL, "sbx_exec_start",
          "opts.cmd");
  eo.cmd = "true";
  eo.timeout_ms = -5;
  REFUSED(&x, sbx_exec_start(x.c, "sb1", &eo, &cbs, &r, &id), SBX_EINVAL, "sbx_exec_start",
          "opts.timeout_ms is negative (-5)");
  eo.timeout_ms = 0;
  sbx_exec_cbs nocb = {0};
  REFUSED(&x, sbx_exec_start(x.c, "sb1", &eo, &nocb, &r, &id), SBX_EINVAL, "sbx_exec_start",
          "on_done");
  REFUSED(&x, sbx_process_signal(x.c, "sb1", 0, SIGTERM, on_done, &r, &id), SBX_EINVAL,
          "sbx_process_signal", "pid");
  REFUSED(&x, sbx_process_signal(x.c, "sb1", 5, 0, on_done, &r, &id), SBX_EINVAL,
          "sbx_process_signal", "signo");
  REFUSED(&x, sbx_process_write_stdin(x.c, "sb1", 5, NULL, 3, on_done, &r, &id), SBX_EINVAL,
          "sbx_process_write_stdin", "data");
  sbx_upload up = {0};
  REFUSED(&x, sbx_file_write(x.c, "sb1", &up, on_entries, &r, &id), SBX_EINVAL, "sbx_file_write",
          "up.path");
  up.path = "/tmp/f";
  up.local_path = "/etc/hostname";
  up.data = "x";
  up.len = 1;
  REFUSED(&x, sbx_file_write(x.c, "sb1", &up, on_entries, &r, &id), SBX_EINVAL, "sbx_file_write",
          "local_path or data");
  sbx_download dl = {0};
  dl.path = "/tmp/f";
  REFUSED(&x, sbx_file_read(x.c, "sb1", &dl, on_done, &r, &id), SBX_EINVAL, "sbx_file_read",
          "neither local_path nor on_data");
  sbx_download two[2] = {{.path = "/a", .local_path = "/tmp/same"},
                         {.path = "/b", .local_path = "/tmp/same"}};
  REFUSED(&x, sbx_file_read_many(x.c, "sb1", two, 2, on_done, &r, &id), SBX_EINVAL,
          "sbx_file_read_many", "dls[0] and dls[1]");
  REFUSED(&x, sbx_fs_list(x.c, "sb1", "/", 0, on_entries, &r, &id), SBX_EINVAL, "sbx_fs_list",
          "depth");
  REFUSED(&x, sbx_fs_move(x.c, "sb1", "/a", "", on_entries, &r, &id), SBX_EINVAL, "sbx_fs_move",
          "to is");
  REFUSED(&x, sbx_sandbox_set_interval(x.c, "sb1", 9, 5, on_done, &r, &id), SBX_EINVAL,
          "sbx_sandbox_set_interval", "which 9");
  sbx_kv dup[2] = {{"k", "1"}, {"k", "2"}};
  REFUSED(&x, sbx_sandbox_set_labels(x.c, "sb1", dup, 2, on_done, &r, &id), SBX_EINVAL,
          "sbx_sandbox_set_labels", "given twice");
  sbx_snapshot_opts so;
  sbx_snapshot_opts_init(&so);
  so.name = "snap";
  REFUSED(&x, sbx_snapshot_create(x.c, &so, snap_cb, &r, &id), SBX_EINVAL, "sbx_snapshot_create",
          "opts.image");
  REFUSED(&x, sbx_set_deadline(x.c, 1, -1), SBX_EINVAL, "sbx_set_deadline", "ms is negative");
  /* a supported call the provider lacks says which provider */
  REFUSED(&x, sbx_sandbox_archive(x.c, "sb1", on_done, &r, &id), SBX_ENOTSUP, "sbx_sandbox_archive",
          "local");
  CHECK_EQ_INT(sbx_cancel(NULL, 1), SBX_EINVAL);
  CHECK_EQ_INT(sbx_sandbox_kill(NULL, "sb1", on_done, &r, &id), SBX_EINVAL);
  /* nothing was started by any of them */
  CHECK_EQ_INT(sbx_client_pending(x.c), 0);
  CHECK_EQ_INT(r.calls, 0);
  ctx_close(&x);
}

static void cancel_finished_or_unknown(void) {
  struct ctx x;
  ctx_open(&x);
  struct res r = {0};
  sbx_op_id id = 0;
  REFUSED(&x, sbx_cancel(x.c, 424242), SBX_ENOTFOUND, "sbx_cancel", "424242 is not pending");
  REFUSED(&x, sbx_cancel(x.c, 0), SBX_EINVAL, "sbx_cancel", "op id 0");
  REQUIRE(sbx_sandbox_create(x.c, NULL, on_sandbox, &r, &id) == SBX_OK);
  r.returned = 1;
  CHECK_EQ_INT(sbx_client_pending(x.c), 1);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_INT(r.calls, 1);
  char sid[64];
  snprintf(sid, sizeof sid, "%s", r.id);
  /* the op is done: both calls now say so, and nothing fires again */
  REFUSED(&x, sbx_cancel(x.c, id), SBX_ENOTFOUND, "sbx_cancel", "is not pending");
  REFUSED(&x, sbx_set_deadline(x.c, id, 10), SBX_ENOTFOUND, "sbx_set_deadline", "is not pending");
  wait_ms_loop(x.loop, 50);
  CHECK_EQ_INT(r.calls, 1);
  /* a cancel of a pending op is accepted once; the op ends cancelled */
  struct res k = {0};
  REQUIRE(sbx_sandbox_kill(x.c, sid, on_done, &k, &id) == SBX_OK);
  k.returned = 1;
  CHECK_EQ_INT(sbx_cancel(x.c, id), SBX_OK);
  CHECK_EQ_INT(sbx_cancel(x.c, id), SBX_OK);
  WAIT(&x, &k);
  CHECK_EQ_INT(k.calls, 1);
  CHECK_EQ_INT(k.code, SBX_ECANCELED);
  CHECK_EQ_INT(sbx_cancel(x.c, id), SBX_ENOTFOUND);
  ctx_close(&x);
}

/* What a callback fired by sbx_client_free tries to start. */
struct closing {
  sbx_client *c;
  int calls, code;
  sbx_status restart;
  char msg[256];
};

static void on_closed(sbx_client *c, sbx_op_id op, const sbx_error *err,
                      const sbx_sandbox_info *info, void *ud) {
  struct closing *k = ud;
  k->calls++;
  k->code = err ? err->code : 0;
  sbx_op_id id = 0;
  k->restart = sbx_sandbox_create(c, NULL, on_closed, k, &id);
  snprintf(k->msg, sizeof k->msg, "%s", sbx_last_error(c));
}

static void ops_on_a_client_being_freed(void) {
  struct ctx x;
  ctx_open(&x);
  struct closing k = {.c = x.c};
  sbx_op_id id = 0;
  REQUIRE(sbx_sandbox_create(x.c, NULL, on_closed, &k, &id) == SBX_OK);
  sbx_client_free(x.c); /* completes the pending create, whose callback starts another */
  x.c = NULL;
  CHECK_EQ_INT(k.calls, 1);
  CHECK_EQ_INT(k.code, SBX_ECLOSED);
  CHECK_EQ_INT(k.restart, SBX_ECLOSED);
  CHECK(strstr(k.msg, "being freed") != NULL);
  ctx_close(&x);
}

/* sbx_client_free called from inside a callback: the free is deferred to
 * the callback's return, and ops started meanwhile are refused. */
struct deferred {
  int calls;
  sbx_status after_free;
};

static void on_free_inside(sbx_client *c, sbx_op_id op, const sbx_error *err,
                           const sbx_sandbox_info *info, void *ud) {
  struct deferred *d = ud;
  d->calls++;
  sbx_client_free(c);
  sbx_op_id id = 0;
  d->after_free = sbx_sandbox_create(c, NULL, on_free_inside, d, &id);
}

static void free_inside_callback(void) {
  struct ctx x;
  ctx_open(&x);
  struct deferred d = {0};
  sbx_op_id id = 0;
  REQUIRE(sbx_sandbox_create(x.c, NULL, on_free_inside, &d, &id) == SBX_OK);
  for (int i = 0; i < 200 && d.calls == 0; i++)
    ev_run(x.loop, EVRUN_ONCE);
  x.c = NULL; /* freed by the callback */
  CHECK_EQ_INT(d.calls, 1);
  CHECK_EQ_INT(d.after_free, SBX_ECLOSED);
  ctx_close(&x);
}

#ifndef NDEBUG
static void *cancel_from_thread(void *arg) {
  sbx_cancel(arg, 1);
  return NULL;
}

/* Debug builds abort a call from a foreign thread, naming the function. */
static void other_thread_aborts(void) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    struct ctx x;
    ctx_open(&x);
    pthread_t t;
    pthread_create(&t, NULL, cancel_from_thread, x.c);
    pthread_join(t, NULL);
    _exit(0); /* reached only when the call was not caught */
  }
  close(fds[1]);
  char buf[512] = {0};
  size_t got = 0;
  ssize_t n;
  while (got < sizeof buf - 1 && (n = read(fds[0], buf + got, sizeof buf - 1 - got)) > 0)
    got += (size_t)n;
  close(fds[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
  CHECK(strstr(buf, "sbx_cancel called from a thread other than") != NULL);
  if (!strstr(buf, "sbx_cancel")) fprintf(stderr, "  child said: %s\n", buf);
}
#endif

static const struct test_case cases[] = {
    {"refused_args_name_the_field", refused_args_name_the_field},
    {"cancel_finished_or_unknown", cancel_finished_or_unknown},
    {"ops_on_a_client_being_freed", ops_on_a_client_being_freed},
    {"free_inside_callback", free_inside_callback},
#ifndef NDEBUG
    {"other_thread_aborts", other_thread_aborts},
#endif
    {NULL, NULL},
};

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  return test_main("misuse", cases, argc, argv, 60);
}
