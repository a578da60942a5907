/* test_daytona.c - every Daytona operation of libsbx against a fresh sbx-emu
 * (its /api and /toolbox/<id> routes), over cleartext HTTP/1.1 and over TLS
 * with HTTP/2. */
#include <signal.h>

#include "dt_harness.h"

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
  ctx_open(&x, tls);
  char sid[64], other[64];
  create_sandbox(&x, "a b&c=d", 1, sid);
  create_sandbox(&x, "someone-else", 0, other);
  struct res r = {0};
  sbx_op_id id;
  REQUIRE(sbx_sandbox_info_get(x.c, sid, on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_STR(r.id, sid);
  CHECK_EQ_STR(r.state, "running");
  CHECK_EQ_STR(r.meta, "a b&c=d");
  CHECK(r.started[0] != 0);
  /* list by labels: only the matching sandbox */
  sbx_kv want[] = {{"user", "a b&c=d"}};
  sbx_list_opts lo = {.metadata = want, .n_metadata = 1};
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_sandbox_list(x.c, &lo, on_list, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_INT((int)r.n, 1);
  CHECK_EQ_STR(r.ids[0], sid);
  CHECK_EQ_STR(r.next, "");
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_sandbox_list(x.c, NULL, on_list, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT((int)r.n, 2);
  /* set_timeout: autostop in minutes */
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_sandbox_set_timeout(x.c, sid, 90, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  json_t *d = emu_dto(&x, sid);
  CHECK_EQ_INT(json_integer_value(json_object_get(d, "autoStopInterval")), 2);
  json_decref(d);
  /* pause = stop; a second stop conflicts; the toolbox says "not started" */
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_sandbox_pause(x.c, sid, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_sandbox_info_get(x.c, sid, on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_STR(r.state, "paused");
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_sandbox_pause(x.c, sid, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ECONFLICT);
  struct res e;
  exec_cmd(&x, sid, "echo hi", &e, NULL);
  CHECK(e.code == SBX_ECONFLICT || e.code == SBX_EUNAVAIL);
  /* made without auto_pause (delete-on-stop): a pause still keeps it */
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_sandbox_pause(x.c, other, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  wait_ms_loop(x.loop, 200);
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_sandbox_info_get(x.c, other, on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_STR(r.state, "paused");
  d = emu_dto(&x, other);
  CHECK_EQ_INT(json_integer_value(json_object_get(d, "autoDeleteInterval")), -1);
  json_decref(d);
  /* connect = start */
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_sandbox_connect(x.c, sid, 60, 0, on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_STR(r.state, "running");
  exec_cmd(&x, sid, "echo back", &e, NULL);
  CHECK_EQ_INT(e.code, 0);
  CHECK_EQ_STR(e.out, "back\n");
  /* kill = delete */
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
  ctx_close(&x);
}
static void lifecycle_h1(void) {
  lifecycle(0);
}
static void lifecycle_h2(void) {
  lifecycle(1);
}

/* Create options reach the control plane as Daytona's fields. */
static void create_options(void) {
  struct ctx x;
  ctx_open(&x, 0);
  sbx_create_opts o;
  sbx_create_opts_init(&o);
  o.timeout_s = 600;
  o.allow_internet = 0;
  const char *allow[] = {"10.0.0.0/8"};
  o.allow_out = allow;
  o.n_allow_out = 1;
  struct res r = {0};
  sbx_op_id id;
  REQUIRE(sbx_sandbox_create(x.c, &o, on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  REQUIRE(r.code == 0);
  json_t *d = emu_dto(&x, r.id);
  CHECK_EQ_INT(json_integer_value(json_object_get(d, "autoStopInterval")), 10);
  CHECK_EQ_INT(json_integer_value(json_object_get(d, "autoDeleteInterval")), 0);
  CHECK(json_is_true(json_object_get(d, "networkBlockAll")));
  CHECK_EQ_STR(json_string_value(json_object_get(d, "networkAllowList")), "10.0.0.0/8");
  json_decref(d);
  /* every Daytona option reaches the API */
  sbx_create_opts_init(&o);
  o.image = "python:3.12";
  o.cpu = 2;
  o.gpu = 1;
  o.memory_gb = 4;
  o.disk_gb = 8;
  o.os_user = "worker";
  o.public_previews = 1;
  o.auto_archive_minutes = 90;
  o.auto_delete_minutes = 30;
  sbx_kv vols[] = {{"vol-1", "/data"}, {"vol-2", "/cache"}};
  o.volumes = vols;
  o.n_volumes = 2;
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_sandbox_create(x.c, &o, on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  REQUIRE(r.code == 0);
  d = emu_dto(&x, r.id);
  CHECK_EQ_INT(json_integer_value(json_object_get(d, "cpu")), 2);
  CHECK_EQ_INT(json_integer_value(json_object_get(d, "gpu")), 1);
  CHECK_EQ_INT(json_integer_value(json_object_get(d, "memory")), 4);
  CHECK_EQ_INT(json_integer_value(json_object_get(d, "disk")), 8);
  CHECK_EQ_STR(json_string_value(json_object_get(d, "user")), "worker");
  CHECK(json_is_true(json_object_get(d, "public")));
  CHECK_EQ_INT(json_integer_value(json_object_get(d, "autoArchiveInterval")), 90);
  CHECK_EQ_INT(json_integer_value(json_object_get(d, "autoDeleteInterval")), 30);
  json_t *v = json_object_get(d, "volumes");
  CHECK_EQ_INT(json_array_size(v), 2);
  CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(v, 1), "mountPath")), "/cache");
  CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(v, 0), "volumeId")), "vol-1");
  json_decref(d);
  sbx_kv bad_vol[] = {{"vol-1", "relative/path"}};
  o.volumes = bad_vol;
  o.n_volumes = 1;
  CHECK_EQ_INT(sbx_sandbox_create(x.c, &o, on_sandbox, &r, &id), SBX_EINVAL);
  sbx_create_opts_init(&o);
  o.gpu = 1; /* a snapshot fixes the resources */
  CHECK_EQ_INT(sbx_sandbox_create(x.c, &o, on_sandbox, &r, &id), SBX_ENOTSUP);
  sbx_create_opts_init(&o);
  o.timeout_s = 600;
  o.allow_internet = 0;
  /* refused before any request */
  const char *deny[] = {"0.0.0.0/0"};
  o.deny_out = deny;
  o.n_deny_out = 1;
  CHECK_EQ_INT(sbx_sandbox_create(x.c, &o, on_sandbox, &r, &id), SBX_ENOTSUP);
  sbx_create_opts_init(&o);
  o.image = "python:3.12";
  o.disk_gb = 20;
  CHECK_EQ_INT(sbx_sandbox_create(x.c, &o, on_sandbox, &r, &id), SBX_EINVAL);
  ctx_close(&x);
}

/* A build that fails, or never ends within the client's bound, fails the
 * create with the state (and reason), and the sandbox is deleted. */
static void create_fails(void) {
  struct ctx x;
  ctx_open(&x, 1);
  sbx_create_opts o;
  sbx_create_opts_init(&o);
  o.image = "fail/nope:1.0";
  struct res r = {0};
  sbx_op_id id;
  REQUIRE(sbx_sandbox_create(x.c, &o, on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_EPROVIDER);
  CHECK(strstr(r.msg, "build_failed") != NULL);
  CHECK(strstr(r.msg, "failed to pull the image") != NULL);
  CHECK_EQ_INT(emu_stat(&x.emu, "daytona", "live", NULL), 0);
  sbx_client_free(x.c);
  sbx_config cfg;
  dt_config(&x, &cfg, 1, "e2b_test_key");
  cfg.start_wait_ms = 1500;
  sbx_status st;
  x.c = sbx_client_new(x.loop, &cfg, &st, NULL, 0);
  REQUIRE(x.c != NULL);
  o.image = "hang/slow:1.0";
  memset(&r, 0, sizeof r);
  double t0 = ev_time();
  REQUIRE(sbx_sandbox_create(x.c, &o, on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ETIMEDOUT);
  CHECK(strstr(r.msg, "still 'pending_build' after 1 s") != NULL);
  CHECK(ev_time() - t0 < 5.0);
  CHECK_EQ_INT(emu_stat(&x.emu, "daytona", "live", NULL), 0);
  ctx_close(&x);
}

/* Each lifecycle interval is set on a live sandbox and shows in its DTO. */
static void intervals(void) {
  struct ctx x;
  ctx_open(&x, 1);
  char sid[64];
  create_sandbox(&x, "u", 0, sid);
  static const struct {
    int which;
    long minutes;
    const char *field;
  } want[] = {{SBX_AUTO_STOP, 45, "autoStopInterval"},
              {SBX_AUTO_ARCHIVE, 120, "autoArchiveInterval"},
              {SBX_AUTO_DELETE, -1, "autoDeleteInterval"}};
  for (size_t i = 0; i < 3; i++) {
    struct res r = {0};
    sbx_op_id id;
    REQUIRE(sbx_sandbox_set_interval(x.c, sid, want[i].which, want[i].minutes, on_done, &r, &id) ==
            SBX_OK);
    WAIT(&x, &r);
    CHECK_EQ_INT(r.code, 0);
    json_t *d = emu_dto(&x, sid);
    CHECK_EQ_INT(json_integer_value(json_object_get(d, want[i].field)), want[i].minutes);
    json_decref(d);
  }
  struct res r = {0};
  sbx_op_id id;
  CHECK_EQ_INT(sbx_sandbox_set_interval(x.c, sid, 9, 1, on_done, &r, &id), SBX_EINVAL);
  CHECK_EQ_INT(sbx_sandbox_set_interval(x.c, sid, SBX_AUTO_STOP, -1, on_done, &r, &id), SBX_EINVAL);
  REQUIRE(sbx_sandbox_set_interval(x.c, "no-such", SBX_AUTO_STOP, 5, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ENOTFOUND);
  ctx_close(&x);
}

/* ---- exec ------------------------------------------------------------------------ */

/* opts.buffered: one POST /process/execute, stdout and stderr combined, the
 * daemon's own timeout (408). Streaming exec is test_daytona_stream.c's. */
static void exec_basic(int tls) {
  struct ctx x;
  ctx_open(&x, tls);
  char sid[64];
  create_sandbox(&x, "u", 0, sid);
  struct res r;
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  o.buffered = 1;
  exec_cmd(&x, sid, "echo hello; echo err 1>&2; exit 3", &r, &o);
  CHECK_EQ_INT(r.code, 0);
  CHECK(!r.early);
  CHECK_EQ_INT(r.calls, 1);
  CHECK(strstr(r.out, "hello\n") != NULL); /* combined output */
  CHECK(strstr(r.out, "err\n") != NULL);
  CHECK_EQ_INT(r.exit_code, 3);
  CHECK_EQ_INT(r.exited, 1);
  CHECK_EQ_INT(emu_stat(&x.emu, "daytona", "sessions", NULL), 0);
  sbx_kv envs[] = {{"BAR", "baz qux"}};
  o.envs = envs;
  o.n_envs = 1;
  o.cwd = "/tmp";
  exec_cmd(&x, sid, "echo $BAR; pwd", &r, &o);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_STR(r.out, "baz qux\n/tmp\n");
  const char *argv[] = {"/bin/echo", "-n", "it's  b", NULL};
  sbx_exec_opts_init(&o);
  o.buffered = 1;
  o.argv = argv;
  sbx_op_id id;
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_exec_start(x.c, sid, &o, &exec_cbs, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_STR(r.out, "it's  b");
  /* the daemon's timeout: 408, reported as a timed-out command */
  sbx_exec_opts_init(&o);
  o.buffered = 1;
  o.timeout_ms = 1000;
  exec_cmd(&x, sid, "sleep 5", &r, &o);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_INT(r.have_res, 1);
  CHECK_EQ_INT(r.exited, 0);
  CHECK_EQ_INT(r.exit_code, -1);
  /* no toolbox call runs as another user */
  sbx_exec_opts_init(&o);
  o.cmd = "id";
  o.user = "root";
  CHECK_EQ_INT(sbx_exec_start(x.c, sid, &o, &exec_cbs, &r, &id), SBX_ENOTSUP);
  ctx_close(&x);
}
static void exec_h1(void) {
  exec_basic(0);
}
static void exec_h2(void) {
  exec_basic(1);
}

/* A fresh client has no toolbox URL cached: it looks the sandbox up first. */
static void exec_fresh_client(void) {
  struct ctx x;
  ctx_open(&x, 0);
  char sid[64];
  create_sandbox(&x, "u", 0, sid);
  sbx_client_free(x.c);
  x.c = new_client(&x, 0, "e2b_test_key");
  struct res r;
  exec_cmd(&x, sid, "echo fresh", &r, NULL);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_STR(r.out, "fresh\n");
  exec_cmd(&x, "no-such-sandbox", "true", &r, NULL);
  CHECK_EQ_INT(r.code, SBX_ENOTFOUND);
  ctx_close(&x);
}

/* ---- files ---------------------------------------------------------------------- */

static void files(int tls) {
  struct ctx x;
  ctx_open(&x, tls);
  char sid[64];
  create_sandbox(&x, "u", 0, sid);
  struct res r = {0};
  sbx_op_id id;
  sbx_upload up = {.path = "/tmp/d1/a.txt", .data = "hello daytona", .len = 13};
  REQUIRE(sbx_file_write(x.c, sid, &up, on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_STR(r.paths, "/tmp/d1/a.txt,");
  CHECK_EQ_INT((int)r.size0, 13);
  /* streamed from a local file */
  char local[256];
  snprintf(local, sizeof local, "%s/local.bin", x.emu.dir);
  FILE *f = fopen(local, "w");
  REQUIRE(f);
  for (int i = 0; i < 100000; i++)
    fputc('a' + i % 26, f);
  fclose(f);
  sbx_upload up2 = {.path = "/tmp/d1/big.bin", .local_path = local};
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_file_write(x.c, sid, &up2, on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_INT((int)r.size0, 100000);
  /* many in one request */
  sbx_upload many[3] = {{.path = "/tmp/d2/x", .data = "1", .len = 1},
                        {.path = "/tmp/d2/y", .data = "22", .len = 2},
                        {.path = "/tmp/d2/sub/z", .data = "", .len = 0}};
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_file_write_many(x.c, sid, many, 3, on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_INT((int)r.n, 3);
  /* read to a callback and to a file */
  sbx_download dl = {.path = "/tmp/d1/a.txt", .on_data = on_bytes};
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_file_read(x.c, sid, &dl, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_STR(r.out, "hello daytona");
  char back[256];
  snprintf(back, sizeof back, "%s/back.bin", x.emu.dir);
  sbx_download dl2 = {.path = "/tmp/d1/big.bin", .local_path = back};
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_file_read(x.c, sid, &dl2, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  struct stat sb;
  CHECK(stat(back, &sb) == 0 && sb.st_size == 100000);
  sbx_download dl3 = {.path = "/tmp/d1/big.bin", .on_data = on_bytes, .max_bytes = 1000};
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_file_read(x.c, sid, &dl3, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ETOOBIG);
  sbx_download dl4 = {.path = "/tmp/d1/missing", .on_data = on_bytes};
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_file_read(x.c, sid, &dl4, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ENOTFOUND);
  /* list, stat */
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_fs_list(x.c, sid, "/tmp/d2", 1, on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_INT((int)r.n, 3);
  CHECK(strstr(r.names, "x,") && strstr(r.names, "y,") && strstr(r.names, "sub,"));
  CHECK(strstr(r.paths, "/tmp/d2/y,") != NULL);
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_fs_stat(x.c, sid, "/tmp/d2/y", on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_INT((int)r.n, 1);
  CHECK_EQ_INT((int)r.size0, 2);
  CHECK_EQ_INT(r.type0, SBX_FILE_REGULAR);
  CHECK_EQ_STR(r.paths, "/tmp/d2/y,");
  CHECK(r.mtime0[0] != 0);
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_fs_stat(x.c, sid, "/tmp/d2/nope", on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ENOTFOUND);
  /* mkdir, move, remove */
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_fs_mkdir(x.c, sid, "/tmp/d3/deep", on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_INT(r.type0, SBX_FILE_DIR);
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_fs_move(x.c, sid, "/tmp/d2/x", "/tmp/d3/deep/x2", on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_STR(r.paths, "/tmp/d3/deep/x2,");
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_fs_stat(x.c, sid, "/tmp/d3/deep/x2", on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_fs_remove(x.c, sid, "/tmp/d3", on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_fs_remove(x.c, sid, "/tmp/d3", on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0); /* a missing path is not an error */
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_fs_stat(x.c, sid, "/tmp/d3/deep/x2", on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ENOTFOUND);
  ctx_close(&x);
}
static void files_h1(void) {
  files(0);
}
static void files_h2(void) {
  files(1);
}

/* ---- errors ----------------------------------------------------------------------- */

static void bad_api_key(void) {
  struct ctx x;
  ctx_open(&x, 0);
  sbx_client_free(x.c);
  x.c = new_client(&x, 0, "wrong-key");
  struct res r = {0};
  sbx_op_id id;
  REQUIRE(sbx_sandbox_create(x.c, NULL, on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_EAUTH);
  CHECK(strstr(r.msg, "wrong-key") == NULL); /* secrets never in messages */
  ctx_close(&x);
}

static void unknown_sandbox(void) {
  struct ctx x;
  ctx_open(&x, 0);
  struct res r = {0};
  sbx_op_id id;
  REQUIRE(sbx_sandbox_info_get(x.c, "no-such-id", on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ENOTFOUND);
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_sandbox_pause(x.c, "no-such-id", on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ENOTFOUND);
  CHECK_EQ_INT(sbx_sandbox_info_get(x.c, "bad/id", on_sandbox, &r, &id), SBX_EINVAL);
  ctx_close(&x);
}

static void no_credentials(void) {
  sbx_config cfg;
  sbx_config_init(&cfg);
  cfg.use_env = 0;
  cfg.provider = "daytona";
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  sbx_status st;
  char errbuf[256] = "";
  CHECK(sbx_client_new(loop, &cfg, &st, errbuf, sizeof errbuf) == NULL);
  CHECK_EQ_INT(st, SBX_EINVAL);
  CHECK(strstr(errbuf, "DAYTONA_API_KEY") != NULL);
  ev_loop_destroy(loop);
}

/* ---- multiplexing ------------------------------------------------------------------ */

#define N_SB 200
#define N_EXEC 1000

static void toolbox_multiplexing(void) {
  struct ctx x;
  ctx_open(&x, 1);
  static char sids[N_SB][64];
  static struct res cr[N_SB];
  sbx_op_id id;
  for (int i = 0; i < N_SB; i++) {
    sbx_create_opts o;
    sbx_create_opts_init(&o);
    REQUIRE(sbx_sandbox_create(x.c, &o, on_sandbox, &cr[i], &id) == SBX_OK);
  }
  for (int i = 0; i < N_SB; i++) {
    WAIT(&x, &cr[i]);
    REQUIRE(cr[i].code == 0);
    strcpy(sids[i], cr[i].id);
  }
  static struct res er[N_EXEC];
  for (int i = 0; i < N_EXEC; i++) {
    sbx_exec_opts o;
    sbx_exec_opts_init(&o);
    o.buffered = 1; /* process/execute: one h2 stream each */
    o.cmd = "echo m";
    REQUIRE(sbx_exec_start(x.c, sids[i % N_SB], &o, &exec_cbs, &er[i], &id) == SBX_OK);
  }
  /* Every call succeeds with exit 0 and its own output (a lost pipe tail in
   * the local provider under load showed up here first). */
  int ok = 0, same_out = 0;
  for (int i = 0; i < N_EXEC; i++) {
    REQUIRE(run_until(x.loop, &er[i].done, 60.0));
    ok += er[i].code == 0 && er[i].have_res && er[i].exit_code == 0;
    same_out += !strcmp(er[i].out, "m\n");
  }
  CHECK_EQ_INT(same_out, N_EXEC);
  CHECK_EQ_INT(ok, N_EXEC);
  long conns = emu_stat(&x.emu, "connections", "h2", "total");
  CHECK(conns >= 1 && conns <= 8);
  ctx_close(&x);
}

static const struct test_case cases[] = {
    {"lifecycle_h1", lifecycle_h1},
    {"lifecycle_h2", lifecycle_h2},
    {"create_options", create_options},
    {"create_fails", create_fails},
    {"intervals", intervals},
    {"exec_h1", exec_h1},
    {"exec_h2", exec_h2},
    {"exec_fresh_client", exec_fresh_client},
    {"files_h1", files_h1},
    {"files_h2", files_h2},
    {"bad_api_key", bad_api_key},
    {"unknown_sandbox", unknown_sandbox},
    {"no_credentials", no_credentials},
    {"toolbox_multiplexing", toolbox_multiplexing},
    {NULL, NULL},
};

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  return test_main("daytona", cases, argc, argv, 90);
}
