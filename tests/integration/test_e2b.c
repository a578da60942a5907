/* test_e2b.c - every E2B operation of libsbx against a fresh sbx-emu, over
 * cleartext HTTP/1.1 and over TLS with HTTP/2. */
#include <fcntl.h>
#include <signal.h>

#include "emu_harness.h"
#include "op_results.h"

struct ctx {
  struct emu emu;
  struct ev_loop *loop;
  sbx_client *c;
  int tls;
};

static void ctx_open(struct ctx *x, int tls, const char *const *emu_args) {
  memset(x, 0, sizeof *x);
  emu_start(&x->emu, emu_args);
  x->tls = tls;
  x->loop = ev_loop_new(EVFLAG_AUTO);
  sbx_config cfg;
  emu_config(&x->emu, &cfg, tls);
  sbx_status st;
  char errbuf[256];
  x->c = sbx_client_new(x->loop, &cfg, &st, errbuf, sizeof errbuf);
  REQUIRE(x->c != NULL);
}

static void ctx_close(struct ctx *x) {
  sbx_client_free(x->c);
  ev_loop_destroy(x->loop);
  emu_stop(&x->emu);
}

#define WAIT(x, r) REQUIRE(run_until((x)->loop, &(r)->done, 20.0))

static void create_sandbox(struct ctx *x, char *id_out) {
  struct res r = {0};
  sbx_create_opts o;
  sbx_create_opts_init(&o);
  sbx_kv meta[] = {{"user", "a b&c=d"}, {"sbx.run", "itest"}};
  sbx_kv envs[] = {{"FOO", "bar"}};
  o.metadata = meta;
  o.n_metadata = 2;
  o.envs = envs;
  o.n_envs = 1;
  o.timeout_s = 120;
  sbx_op_id id;
  REQUIRE(sbx_sandbox_create(x->c, &o, on_sandbox, &r, &id) == SBX_OK);
  r.returned = 1;
  WAIT(x, &r);
  REQUIRE(r.code == 0);
  CHECK(!r.early);
  CHECK_EQ_INT(r.calls, 1);
  CHECK(r.id[0] == 'i');
  strcpy(id_out, r.id);
}

static void exec_cmd(struct ctx *x, const char *sid, const char *cmd, struct res *r,
                     const sbx_exec_opts *base) {
  sbx_exec_opts o;
  if (base)
    o = *base;
  else
    sbx_exec_opts_init(&o);
  o.cmd = cmd;
  sbx_op_id id;
  memset(r, 0, sizeof *r);
  REQUIRE(sbx_exec_start(x->c, sid, &o, &exec_cbs, r, &id) == SBX_OK);
  r->returned = 1;
  WAIT(x, r);
}

/* ---- lifecycle ------------------------------------------------------------------ */

static void lifecycle(int tls) {
  struct ctx x;
  ctx_open(&x, tls, NULL);
  char sid[64];
  create_sandbox(&x, sid);
  struct res r = {0};
  sbx_op_id id;
  REQUIRE(sbx_sandbox_info_get(x.c, sid, on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_STR(r.id, sid);
  CHECK_EQ_STR(r.state, "running");
  CHECK_EQ_STR(r.meta, "a b&c=d");
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_sandbox_set_timeout(x.c, sid, 60, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_sandbox_kill(x.c, sid, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_sandbox_kill(x.c, sid, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ENOTFOUND);
  CHECK_EQ_INT(r.http, 404);
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_sandbox_info_get(x.c, sid, on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ENOTFOUND);
  CHECK(strstr(r.msg, sid) != NULL);
  /* 6 requests, one after another: h2 multiplexes them on one connection,
   * HTTP/1.1 keeps its connection alive between them */
  sbx_client_stats s;
  sbx_client_stats_get(x.c, &s);
  CHECK_EQ_INT(s.requests, 6);
  CHECK(s.connections >= 1 && s.connections <= 2);
  CHECK_EQ_INT(s.upgrades, 0);
  ctx_close(&x);
}
static void lifecycle_h1(void) {
  lifecycle(0);
}
static void lifecycle_h2(void) {
  lifecycle(1);
}

/* Create options reach the control plane as E2B's fields (read back from the
 * emulator's SandboxDetail), and the TTL backstop kills or pauses. */
static void create_options_and_ttl(void) {
  struct ctx x;
  ctx_open(&x, 0, NULL);
  sbx_create_opts o;
  sbx_create_opts_init(&o);
  o.template_id = "base";
  o.timeout_s = 1;
  o.auto_pause = 1;
  o.allow_internet = 0;
  const char *allow[] = {"example.com", "10.0.0.0/8"};
  const char *deny[] = {"0.0.0.0/0"};
  o.allow_out = allow;
  o.n_allow_out = 2;
  o.deny_out = deny;
  o.n_deny_out = 1;
  struct res r = {0};
  sbx_op_id id;
  REQUIRE(sbx_sandbox_create(x.c, &o, on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  REQUIRE(r.code == 0);
  char path[128];
  snprintf(path, sizeof path, "/sandboxes/%s", r.id);
  json_t *d = NULL;
  CHECK_EQ_INT(emu_call(&x.emu, "GET", path, NULL, &d), 200);
  REQUIRE(d);
  CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(d, "lifecycle"), "onTimeout")),
               "pause");
  CHECK(json_is_false(json_object_get(d, "allowInternetAccess")));
  json_t *net = json_object_get(d, "network");
  CHECK_EQ_STR(json_string_value(json_array_get(json_object_get(net, "allowOut"), 1)),
               "10.0.0.0/8");
  CHECK_EQ_STR(json_string_value(json_array_get(json_object_get(net, "denyOut"), 0)), "0.0.0.0/0");
  json_decref(d);
  /* after the 1 s timeout the reaper pauses it (autoPause) */
  wait_ms_loop(x.loop, 1800);
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_sandbox_info_get(x.c, path + 11, on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_STR(r.state, "paused");
  /* without autoPause it is killed */
  sbx_create_opts_init(&o);
  o.timeout_s = 1;
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_sandbox_create(x.c, &o, on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  char sid[64];
  strcpy(sid, r.id);
  wait_ms_loop(x.loop, 1800);
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_sandbox_info_get(x.c, sid, on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ENOTFOUND);
  ctx_close(&x);
}

static void legacy_v1_paths(void) {
  struct ctx x;
  ctx_open(&x, 0, NULL);
  struct res r = {0};
  sbx_create_opts o;
  sbx_create_opts_init(&o);
  o.legacy_v1 = 1;
  o.secure = 1;
  sbx_op_id id;
  REQUIRE(sbx_sandbox_create(x.c, &o, on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  char sid[64];
  strcpy(sid, r.id);
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_sandbox_connect(x.c, sid, 30, 1, on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_STR(r.id, sid);
  CHECK(emu_stat(&x.emu, "requests", "POST /sandboxes", NULL) == 1);
  CHECK(emu_stat(&x.emu, "requests", "POST /sandboxes/{id}/connect", NULL) == 1);
  ctx_close(&x);
}

static void pause_resume(int tls) {
  struct ctx x;
  ctx_open(&x, tls, NULL);
  char sid[64];
  create_sandbox(&x, sid);
  struct res r = {0};
  sbx_op_id id;
  REQUIRE(sbx_sandbox_pause(x.c, sid, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_sandbox_pause(x.c, sid, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ECONFLICT);
  struct res e;
  exec_cmd(&x, sid, "echo hi", &e, NULL);
  CHECK_EQ_INT(e.code, SBX_ENOTFOUND); /* envd of a paused sandbox answers 502 */
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_sandbox_info_get(x.c, sid, on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_STR(r.state, "paused");
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_sandbox_connect(x.c, sid, 60, 0, on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  exec_cmd(&x, sid, "echo back", &e, NULL);
  CHECK_EQ_INT(e.code, 0);
  CHECK_EQ_STR(e.out, "back\n");
  ctx_close(&x);
}
static void pause_resume_h1(void) {
  pause_resume(0);
}
static void pause_resume_h2(void) {
  pause_resume(1);
}

static void list_pages(int tls) {
  struct ctx x;
  ctx_open(&x, tls, NULL);
  char ids[3][64];
  for (int i = 0; i < 3; i++)
    create_sandbox(&x, ids[i]);
  /* One more without the run label: the filter must leave it out. */
  struct res r = {0};
  sbx_op_id id;
  REQUIRE(sbx_sandbox_create(x.c, NULL, on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  sbx_kv meta[] = {{"user", "a b&c=d"}};
  sbx_list_opts lo = {.metadata = meta, .n_metadata = 1, .limit = 2};
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_sandbox_list(x.c, &lo, on_list, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_INT(r.n, 2);
  CHECK(r.next[0] != 0);
  char next[256];
  strcpy(next, r.next);
  lo.next_token = next;
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_sandbox_list(x.c, &lo, on_list, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.n, 1);
  CHECK_EQ_STR(r.next, "");
  sbx_list_opts all = {.state = "running"};
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_sandbox_list(x.c, &all, on_list, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.n, 4);
  ctx_close(&x);
}
static void list_h1(void) {
  list_pages(0);
}
static void list_h2(void) {
  list_pages(1);
}

/* ---- exec --------------------------------------------------------------------- */

static void exec_basic(int tls) {
  struct ctx x;
  ctx_open(&x, tls, NULL);
  char sid[64];
  create_sandbox(&x, sid);
  struct res r;
  exec_cmd(&x, sid, "echo hello; echo err 1>&2; exit 3", &r, NULL);
  CHECK_EQ_INT(r.code, 0);
  CHECK(!r.early);
  CHECK_EQ_INT(r.calls, 1);
  CHECK(r.pid > 0);
  CHECK_EQ_STR(r.out, "hello\n");
  CHECK_EQ_STR(r.err, "err\n");
  CHECK_EQ_INT(r.exit_code, 3);
  CHECK_EQ_INT(r.exited, 1);
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  sbx_kv envs[] = {{"BAR", "baz qux"}};
  o.envs = envs;
  o.n_envs = 1;
  o.cwd = "/tmp";
  exec_cmd(&x, sid, "echo $FOO $BAR; pwd", &r, &o);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_STR(r.out, "bar baz qux\n/tmp\n");
  CHECK_EQ_INT(r.exit_code, 0);
  /* argv form */
  const char *argv[] = {"/bin/echo", "-n", "a  b", NULL};
  sbx_exec_opts_init(&o);
  o.argv = argv;
  sbx_op_id id;
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_exec_start(x.c, sid, &o, &exec_cbs, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_STR(r.out, "a  b");
  /* a big output arrives whole, in order */
  exec_cmd(&x, sid, "seq 1 1000 | tr -d '\\n' | head -c 3000", &r, NULL);
  CHECK_EQ_INT(r.out_len, 2893);
  CHECK(strncmp(r.out, "12345678910", 11) == 0);
  /* the user option reaches envd (Basic auth): root's default cwd is /root */
  sbx_exec_opts_init(&o);
  o.user = "root";
  exec_cmd(&x, sid, "pwd", &r, &o);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_STR(r.out, "/root\n");
  /* bad cwd: the server's invalid_argument */
  sbx_exec_opts_init(&o);
  o.cwd = "/nonexistent-dir";
  exec_cmd(&x, sid, "true", &r, &o);
  CHECK_EQ_INT(r.code, SBX_EINVAL);
  CHECK(strstr(r.msg, "nonexistent-dir") != NULL);
  ctx_close(&x);
}
static void exec_h1(void) {
  exec_basic(0);
}
static void exec_h2(void) {
  exec_basic(1);
}

static void exec_timeout(void) {
  struct ctx x;
  ctx_open(&x, 1, NULL);
  char sid[64];
  create_sandbox(&x, sid);
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  o.timeout_ms = 300;
  struct res r;
  exec_cmd(&x, sid, "sleep 20", &r, &o);
  CHECK_EQ_INT(r.code, SBX_ETIMEDOUT);
  CHECK(strstr(r.msg, "deadline_exceeded") != NULL);
  ctx_close(&x);
}

static struct res *stdin_res;
static void stdin_written(sbx_client *c, sbx_op_id op, const sbx_error *err, void *ud) {
  struct res *w = ud;
  note(w, err);
}

static void exec_stdin(int tls) {
  struct ctx x;
  ctx_open(&x, tls, NULL);
  char sid[64];
  create_sandbox(&x, sid);
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  o.cmd = "cat; echo done";
  o.stdin_open = 1;
  struct res r = {0};
  sbx_op_id id;
  REQUIRE(sbx_exec_start(x.c, sid, &o, &exec_cbs, &r, &id) == SBX_OK);
  stdin_res = &r;
  for (int i = 0; i < 200 && !r.pid; i++)
    wait_ms_loop(x.loop, 10);
  REQUIRE(r.pid > 0);
  struct res w = {0};
  REQUIRE(sbx_process_write_stdin(x.c, sid, r.pid, "abc\n", 4, stdin_written, &w, &id) == SBX_OK);
  WAIT(&x, &w);
  CHECK_EQ_INT(w.code, 0);
  memset(&w, 0, sizeof w);
  REQUIRE(sbx_process_close_stdin(x.c, sid, r.pid, stdin_written, &w, &id) == SBX_OK);
  WAIT(&x, &w);
  CHECK_EQ_INT(w.code, 0);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_STR(r.out, "abc\ndone\n");
  ctx_close(&x);
}
static void stdin_h1(void) {
  exec_stdin(0);
}
static void stdin_h2(void) {
  exec_stdin(1);
}

static void detach_reconnect_kill(int tls) {
  struct ctx x;
  ctx_open(&x, tls, NULL);
  char sid[64];
  create_sandbox(&x, sid);
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  o.detach = 1;
  struct res r;
  exec_cmd(&x, sid, "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.1; done", &r, &o);
  CHECK_EQ_INT(r.code, 0);
  REQUIRE(r.have_res && r.pid > 0);
  uint32_t pid = r.pid;
  struct res c2 = {0};
  sbx_op_id id;
  REQUIRE(sbx_exec_connect(x.c, sid, pid, &exec_cbs, &c2, &id) == SBX_OK);
  for (int i = 0; i < 300 && !strstr(c2.out, "tick"); i++)
    wait_ms_loop(x.loop, 10);
  CHECK(strstr(c2.out, "tick") != NULL);
  struct res k = {0};
  REQUIRE(sbx_process_signal(x.c, sid, pid, SIGKILL, on_done, &k, &id) == SBX_OK);
  WAIT(&x, &k);
  CHECK_EQ_INT(k.code, 0);
  WAIT(&x, &c2);
  CHECK_EQ_INT(c2.code, 0);
  CHECK(c2.have_res);
  CHECK_EQ_INT(c2.exited, 0);
  CHECK_EQ_INT(c2.exit_code, -1);
  memset(&k, 0, sizeof k);
  REQUIRE(sbx_process_signal(x.c, sid, 999999, SIGKILL, on_done, &k, &id) == SBX_OK);
  WAIT(&x, &k);
  CHECK_EQ_INT(k.code, SBX_ENOTFOUND);
  CHECK_EQ_INT(sbx_process_signal(x.c, sid, pid, SIGUSR1, on_done, &k, &id), SBX_ENOTSUP);
  ctx_close(&x);
}
static void detach_h1(void) {
  detach_reconnect_kill(0);
}
static void detach_h2(void) {
  detach_reconnect_kill(1);
}

/* ---- files ----------------------------------------------------------------------- */

static int files_equal(const char *a, const char *b) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", a, b);
  return system(cmd) == 0;
}

static void files(int tls) {
  struct ctx x;
  ctx_open(&x, tls, NULL);
  char sid[64];
  create_sandbox(&x, sid);
  sbx_op_id id;
  struct res r = {0};
  sbx_upload up = {.path = "/home/user/dir/a.txt", .data = "hello file", .len = 10};
  REQUIRE(sbx_file_write(x.c, sid, &up, on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_STR(r.names, "a.txt,");
  memset(&r, 0, sizeof r);
  sbx_upload mp = {.path = "rel/b.txt", .data = "multi\npart", .len = 10, .multipart = 1};
  REQUIRE(sbx_file_write(x.c, sid, &mp, on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  memset(&r, 0, sizeof r);
  sbx_download dl = {.path = "/home/user/rel/b.txt", .on_data = on_bytes};
  REQUIRE(sbx_file_read(x.c, sid, &dl, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_STR(r.out, "multi\npart");
  /* the process sees the file */
  struct res e;
  exec_cmd(&x, sid, "cat /home/user/dir/a.txt", &e, NULL);
  CHECK_EQ_STR(e.out, "hello file");
  /* many files in one multipart request, from memory and from disk */
  char small[256];
  snprintf(small, sizeof small, "%s/small.txt", x.emu.dir);
  FILE *sf = fopen(small, "w");
  REQUIRE(sf != NULL);
  fputs("from disk", sf);
  fclose(sf);
  sbx_upload many[3] = {{.path = "/home/user/m/one.txt", .data = "one", .len = 3},
                        {.path = "m/two.txt", .data = "", .len = 0},
                        {.path = "/tmp/m3.txt", .local_path = small}};
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_file_write_many(x.c, sid, many, 3, on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_INT(r.n, 3);
  CHECK_EQ_STR(r.names, "one.txt,two.txt,m3.txt,");
  exec_cmd(&x, sid, "cat /home/user/m/one.txt; wc -c < /home/user/m/two.txt; cat /tmp/m3.txt", &e,
           NULL);
  CHECK_EQ_STR(e.out, "one0\nfrom disk");
  sbx_upload bad[1] = {{.path = "a\"b", .data = "x", .len = 1}};
  CHECK_EQ_INT(sbx_file_write_many(x.c, sid, bad, 1, on_entries, &r, &id), SBX_EINVAL);
  sbx_upload gone[1] = {{.path = "x", .local_path = "/nonexistent/file"}};
  CHECK_EQ_INT(sbx_file_write_many(x.c, sid, gone, 1, on_entries, &r, &id), SBX_EIO);
  /* the emulator saw one upload request for the three */
  CHECK_EQ_INT(emu_stat(&x.emu, "requests", "POST /files", NULL), 3);
  /* 5 MB from disk and back to disk */
  char big[256], back[256];
  snprintf(big, sizeof big, "%s/big.bin", x.emu.dir);
  snprintf(back, sizeof back, "%s/back.bin", x.emu.dir);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "head -c 5000000 /dev/urandom > '%s'", big);
  REQUIRE(system(cmd) == 0);
  memset(&r, 0, sizeof r);
  sbx_upload fu = {.path = "/home/user/big.bin", .local_path = big};
  REQUIRE(sbx_file_write(x.c, sid, &fu, on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  memset(&r, 0, sizeof r);
  sbx_download fd = {.path = "/home/user/big.bin", .local_path = back};
  REQUIRE(sbx_file_read(x.c, sid, &fd, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK(files_equal(big, back));
  /* capped download fails and leaves no file */
  char capped[256];
  snprintf(capped, sizeof capped, "%s/capped.bin", x.emu.dir);
  memset(&r, 0, sizeof r);
  sbx_download cd = {.path = "/home/user/big.bin", .local_path = capped, .max_bytes = 1000};
  REQUIRE(sbx_file_read(x.c, sid, &cd, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ETOOBIG);
  CHECK(access(capped, F_OK) != 0);
  /* fs */
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_fs_list(x.c, sid, "/home/user", 1, on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK(strstr(r.names, "big.bin,") && strstr(r.names, "dir,") && strstr(r.names, "rel,"));
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_fs_stat(x.c, sid, "/home/user/big.bin", on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_INT(r.size0, 5000000);
  CHECK_EQ_INT(r.type0, SBX_FILE_REGULAR);
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_fs_mkdir(x.c, sid, "/home/user/newdir/sub", on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_fs_mkdir(x.c, sid, "/home/user/newdir/sub", on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ECONFLICT);
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_fs_move(x.c, sid, "/home/user/dir/a.txt", "/home/user/newdir/a2.txt", on_entries, &r,
                      &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_STR(r.names, "a2.txt,");
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_fs_remove(x.c, sid, "/home/user/newdir", on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_fs_stat(x.c, sid, "/home/user/newdir", on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ENOTFOUND);
  memset(&r, 0, sizeof r);
  sbx_download missing = {.path = "/home/user/nope.txt", .on_data = on_bytes};
  REQUIRE(sbx_file_read(x.c, sid, &missing, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ENOTFOUND);
  CHECK(strstr(r.msg, "nope.txt") != NULL);
  ctx_close(&x);
}
static void files_h1(void) {
  files(0);
}
static void files_h2(void) {
  files(1);
}

/* ---- wire use: sbx_client_stats ------------------------------------------------------- */

/* 20 requests at once: h2 carries them as streams of one connection,
 * HTTP/1.1 on at most max_connections connections. */
static void wire_stats(int tls) {
  struct ctx x;
  memset(&x, 0, sizeof x);
  emu_start(&x.emu, NULL);
  x.loop = ev_loop_new(EVFLAG_AUTO);
  sbx_config cfg;
  emu_config(&x.emu, &cfg, tls);
  cfg.max_connections = 2;
  sbx_status st;
  x.c = sbx_client_new(x.loop, &cfg, &st, NULL, 0);
  REQUIRE(x.c != NULL);
  char sid[64];
  create_sandbox(&x, sid);
  enum { N = 20 };
  struct res rs[N];
  memset(rs, 0, sizeof rs);
  sbx_op_id id;
  for (int i = 0; i < N; i++)
    REQUIRE(sbx_sandbox_info_get(x.c, sid, on_sandbox, &rs[i], &id) == SBX_OK);
  for (int i = 0; i < N; i++) {
    WAIT(&x, &rs[i]);
    CHECK_EQ_INT(rs[i].code, 0);
  }
  sbx_client_stats s;
  sbx_client_stats_get(x.c, &s);
  CHECK_EQ_INT(s.requests, N + 1);
  CHECK(s.connections >= 1 && s.connections <= 2);
  CHECK_EQ_INT(s.upgrades, 0);
  sbx_client_stats_get(NULL, &s);
  CHECK_EQ_INT(s.requests + s.connections + s.upgrades, 0);
  ctx_close(&x);
}
static void wire_stats_h1(void) {
  wire_stats(0);
}
static void wire_stats_h2(void) {
  wire_stats(1);
}

/* ---- contract: cancel, free, deadlines, unknown sandbox ------------------------------- */

static void cancel_exec(void) {
  struct ctx x;
  ctx_open(&x, 1, NULL);
  char sid[64];
  create_sandbox(&x, sid);
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  o.cmd = "sleep 30";
  struct res r = {0};
  sbx_op_id id;
  REQUIRE(sbx_exec_start(x.c, sid, &o, &exec_cbs, &r, &id) == SBX_OK);
  for (int i = 0; i < 300 && !r.pid; i++)
    wait_ms_loop(x.loop, 10);
  CHECK(r.pid > 0);
  CHECK_EQ_INT(sbx_cancel(x.c, id), SBX_OK);
  CHECK_EQ_INT(sbx_cancel(x.c, id), SBX_OK); /* idempotent while pending */
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ECANCELED);
  CHECK_EQ_INT(r.calls, 1);
  CHECK_EQ_INT(sbx_cancel(x.c, id), SBX_ENOTFOUND);
  wait_ms_loop(x.loop, 50);
  CHECK_EQ_INT(r.calls, 1);
  CHECK_EQ_INT(sbx_client_pending(x.c), 0);
  /* cancel right after start, before the loop ran: still exactly once */
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_sandbox_info_get(x.c, sid, on_sandbox, &r, &id) == SBX_OK);
  CHECK_EQ_INT(sbx_cancel(x.c, id), SBX_OK);
  r.returned = 1;
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ECANCELED);
  CHECK_EQ_INT(r.calls, 1);
  ctx_close(&x);
}

static void free_with_pending(void) {
  struct ctx x;
  ctx_open(&x, 1, NULL);
  char sid[64];
  create_sandbox(&x, sid);
  struct res rs[4];
  memset(rs, 0, sizeof rs);
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  o.cmd = "sleep 30";
  sbx_op_id id;
  REQUIRE(sbx_exec_start(x.c, sid, &o, &exec_cbs, &rs[0], &id) == SBX_OK);
  REQUIRE(sbx_exec_start(x.c, sid, &o, &exec_cbs, &rs[1], &id) == SBX_OK);
  wait_ms_loop(x.loop, 300);
  REQUIRE(sbx_sandbox_info_get(x.c, sid, on_sandbox, &rs[2], &id) == SBX_OK);
  REQUIRE(sbx_sandbox_kill(x.c, sid, on_done, &rs[3], &id) == SBX_OK);
  sbx_client_free(x.c);
  for (int i = 0; i < 4; i++) {
    CHECK_EQ_INT(rs[i].calls, 1);
    CHECK_EQ_INT(rs[i].code, SBX_ECLOSED);
  }
  x.c = NULL;
  ev_loop_destroy(x.loop);
  emu_stop(&x.emu);
}

static sbx_client *freeing_client;
static void free_in_callback_cb(sbx_client *c, sbx_op_id op, const sbx_error *err,
                                const sbx_sandbox_info *info, void *ud) {
  struct res *r = ud;
  note(r, err);
  sbx_client_free(c);           /* deferred until this callback returns */
  r->n = sbx_client_pending(c); /* c is still valid here */
}

static void free_in_callback(void) {
  struct ctx x;
  ctx_open(&x, 0, NULL);
  char sid[64];
  create_sandbox(&x, sid);
  struct res a = {0}, b = {0};
  sbx_op_id id;
  REQUIRE(sbx_sandbox_info_get(x.c, sid, free_in_callback_cb, &a, &id) == SBX_OK);
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  o.cmd = "sleep 30";
  REQUIRE(sbx_exec_start(x.c, sid, &o, &exec_cbs, &b, &id) == SBX_OK);
  freeing_client = x.c;
  WAIT(&x, &a);
  CHECK_EQ_INT(a.calls, 1);
  CHECK_EQ_INT(a.code, 0);
  CHECK_EQ_INT(b.calls, 1);
  CHECK_EQ_INT(b.code, SBX_ECLOSED);
  ev_loop_destroy(x.loop);
  emu_stop(&x.emu);
}

static void op_deadline(void) {
  struct ctx x;
  ctx_open(&x, 0, NULL);
  char sid[64];
  create_sandbox(&x, sid);
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  o.cmd = "sleep 30";
  struct res r = {0};
  sbx_op_id id;
  REQUIRE(sbx_exec_start(x.c, sid, &o, &exec_cbs, &r, &id) == SBX_OK);
  CHECK_EQ_INT(sbx_set_deadline(x.c, id, 300), SBX_OK);
  double t0 = ev_time();
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ETIMEDOUT);
  CHECK(ev_time() - t0 < 5.0);
  ctx_close(&x);
}

static void unknown_sandbox(void) {
  struct ctx x;
  ctx_open(&x, 1, NULL);
  struct res r;
  exec_cmd(&x, "inosuchsandbox0000000", "true", &r, NULL);
  CHECK_EQ_INT(r.code, SBX_ENOTFOUND);
  CHECK(strstr(r.msg, "inosuchsandbox0000000") != NULL);
  sbx_op_id id;
  CHECK_EQ_INT(sbx_sandbox_kill(x.c, "Bad/Id", on_done, &r, &id), SBX_EINVAL);
  ctx_close(&x);
}

/* ---- bad input ------------------------------------------------------------------------ */

static void no_api_key(void) {
  struct ev_loop *loop = ev_loop_new(0);
  sbx_config cfg;
  sbx_config_init(&cfg);
  cfg.use_env = 0;
  cfg.provider = "e2b";
  sbx_status st;
  char err[256] = "";
  sbx_client *c = sbx_client_new(loop, &cfg, &st, err, sizeof err);
  CHECK(c == NULL);
  CHECK_EQ_INT(st, SBX_EINVAL);
  CHECK(strstr(err, "E2B_API_KEY") != NULL);
  ev_loop_destroy(loop);
}

static void unreachable_host(void) {
  struct ev_loop *loop = ev_loop_new(0);
  sbx_config cfg;
  sbx_config_init(&cfg);
  cfg.use_env = 0;
  cfg.api_key = "e2b_secret_value";
  cfg.api_url = "http://127.0.0.1:1"; /* nothing listens on port 1 */
  cfg.retry_base_ms = 10;
  sbx_status st;
  sbx_client *c = sbx_client_new(loop, &cfg, &st, NULL, 0);
  REQUIRE(c);
  struct res r = {0};
  sbx_op_id id;
  REQUIRE(sbx_sandbox_info_get(c, "iabc", on_sandbox, &r, &id) == SBX_OK);
  REQUIRE(run_until(loop, &r.done, 20));
  CHECK_EQ_INT(r.code, SBX_ETRANSPORT);
  CHECK(r.retryable);
  CHECK(strstr(r.msg, "cannot connect") != NULL);
  CHECK(strstr(r.msg, "e2b_secret_value") == NULL);
  sbx_client_free(c);
  ev_loop_destroy(loop);
}

static void wrong_certificate(void) {
  struct ctx x;
  ctx_open(&x, 1, NULL);
  sbx_client_free(x.c);
  sbx_config cfg;
  emu_config(&x.emu, &cfg, 1);
  cfg.ca_file = "/etc/ssl/certs/ca-certificates.crt"; /* not the emulator's CA */
  sbx_status st;
  x.c = sbx_client_new(x.loop, &cfg, &st, NULL, 0);
  REQUIRE(x.c);
  struct res r = {0};
  sbx_op_id id;
  REQUIRE(sbx_sandbox_create(x.c, NULL, on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ETRANSPORT);
  CHECK(strstr(r.msg, "TLS") != NULL);
  CHECK(!r.retryable);
  ctx_close(&x);
}

static void bad_api_key(void) {
  struct ctx x;
  ctx_open(&x, 0, NULL);
  sbx_client_free(x.c);
  sbx_config cfg;
  emu_config(&x.emu, &cfg, 0);
  cfg.api_key = "e2b_wrong_secret";
  sbx_status st;
  x.c = sbx_client_new(x.loop, &cfg, &st, NULL, 0);
  struct res r = {0};
  sbx_op_id id;
  REQUIRE(sbx_sandbox_create(x.c, NULL, on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_EAUTH);
  CHECK_EQ_INT(r.http, 401);
  CHECK(strstr(r.msg, "e2b_wrong_secret") == NULL);
  ctx_close(&x);
}

static const struct test_case cases[] = {
    {"lifecycle_h1", lifecycle_h1},
    {"lifecycle_h2", lifecycle_h2},
    {"create_options_and_ttl", create_options_and_ttl},
    {"legacy_v1_paths", legacy_v1_paths},
    {"pause_resume_h1", pause_resume_h1},
    {"pause_resume_h2", pause_resume_h2},
    {"list_h1", list_h1},
    {"list_h2", list_h2},
    {"exec_h1", exec_h1},
    {"exec_h2", exec_h2},
    {"exec_timeout", exec_timeout},
    {"stdin_h1", stdin_h1},
    {"stdin_h2", stdin_h2},
    {"detach_h1", detach_h1},
    {"detach_h2", detach_h2},
    {"files_h1", files_h1},
    {"files_h2", files_h2},
    {"wire_stats_h1", wire_stats_h1},
    {"wire_stats_h2", wire_stats_h2},
    {"cancel_exec", cancel_exec},
    {"free_with_pending", free_with_pending},
    {"free_in_callback", free_in_callback},
    {"op_deadline", op_deadline},
    {"unknown_sandbox", unknown_sandbox},
    {"no_api_key", no_api_key},
    {"unreachable_host", unreachable_host},
    {"wrong_certificate", wrong_certificate},
    {"bad_api_key", bad_api_key},
    {NULL, NULL},
};

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  return test_main("e2b", cases, argc, argv, 60);
}
