/* test_local.c - the local provider: sandboxes as directories under a
 * per-test root, their records, the lifetime watchdog, files and path
 * confinement, and the op contract (never early, cancel, close). */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>

#include "emu_harness.h"
#include "op_results.h"

struct ctx {
  char root[128];
  struct ev_loop *loop;
  sbx_client *c;
};

static sbx_client *new_client(struct ev_loop *loop) {
  sbx_config cfg;
  sbx_config_init(&cfg);
  cfg.provider = "local";
  sbx_status st;
  char err[256];
  sbx_client *c = sbx_client_new(loop, &cfg, &st, err, sizeof err);
  if (!c) fprintf(stderr, "  client: %s\n", err);
  REQUIRE(c != NULL);
  return c;
}

static void ctx_open(struct ctx *x) {
  memset(x, 0, sizeof *x);
  snprintf(x->root, sizeof x->root, "/tmp/sbx-ltest-XXXXXX");
  REQUIRE(mkdtemp(x->root) != NULL);
  setenv("SBX_LOCAL_ROOT", x->root, 1);
  x->loop = ev_loop_new(EVFLAG_AUTO);
  x->c = new_client(x->loop);
}

static void ctx_close(struct ctx *x) {
  if (x->c) sbx_client_free(x->c);
  ev_loop_destroy(x->loop);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", x->root); /* watchdogs exit when it goes */
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", x->root);
}

#define WAIT(x, r) REQUIRE(run_until((x)->loop, &(r)->done, 20.0))
#define RESET(r) (memset(&(r), 0, sizeof(r)), (r).returned = 1)

static void create(struct ctx *x, const sbx_create_opts *o, struct res *r) {
  sbx_op_id id;
  memset(r, 0, sizeof *r);
  REQUIRE(sbx_sandbox_create(x->c, o, on_sandbox, r, &id) == SBX_OK);
  r->returned = 1;
  WAIT(x, r);
  CHECK(!r->early);
  CHECK_EQ_INT(r->calls, 1);
}

static void create_labeled(struct ctx *x, const char *run, long timeout_s, char *id_out) {
  sbx_create_opts o;
  sbx_create_opts_init(&o);
  sbx_kv meta[] = {{"user", "a b&c=d"}, {"run", run}};
  sbx_kv envs[] = {{"FOO", "bar"}};
  o.metadata = meta;
  o.n_metadata = 2;
  o.envs = envs;
  o.n_envs = 1;
  o.timeout_s = timeout_s;
  struct res r;
  create(x, &o, &r);
  REQUIRE(r.code == 0);
  strcpy(id_out, r.id);
}

static int path_exists(const char *root, const char *id, const char *rest) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s%s", root, id, rest);
  struct stat st;
  return lstat(p, &st) == 0;
}

static json_t *record(const struct ctx *x, const char *id) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s/sandbox.json", x->root, id);
  return json_load_file(p, 0, NULL);
}

static int count_dirs(const char *root) {
  DIR *d = opendir(root);
  int n = 0;
  struct dirent *de;
  while (d && (de = readdir(d)) != NULL)
    if (de->d_name[0] != '.') n++;
  if (d) closedir(d);
  return n;
}

static int proc_alive(pid_t pid) {
  char p[64], buf[512];
  snprintf(p, sizeof p, "/proc/%ld/stat", (long)pid);
  FILE *f = fopen(p, "r");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  const char *rp = strrchr(buf, ')');
  return !(rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X')); /* a zombie is gone */
}

/* ---- lifecycle --------------------------------------------------------------------- */

static void lifecycle(void) {
  struct ctx x;
  ctx_open(&x);
  char sid[64];
  create_labeled(&x, "one", 120, sid);
  CHECK_EQ_INT(strlen(sid), 21);
  CHECK(sid[0] == 'l');
  CHECK(path_exists(x.root, sid, "/home") && path_exists(x.root, sid, "/tmp"));
  json_t *rec = record(&x, sid);
  REQUIRE(rec);
  CHECK_EQ_STR(json_string_value(json_object_get(rec, "state")), "running");
  CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(rec, "envs"), "FOO")), "bar");
  pid_t wd = (pid_t)json_integer_value(json_object_get(rec, "watchdogPid"));
  CHECK(wd > 1 && proc_alive(wd));
  double end0 = json_number_value(json_object_get(rec, "endAt"));
  double created = json_number_value(json_object_get(rec, "createdAt"));
  CHECK(end0 - created > 119 && end0 - created < 121);
  json_decref(rec);
  struct res r;
  sbx_op_id id;
  RESET(r);
  REQUIRE(sbx_sandbox_info_get(x.c, sid, on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_STR(r.id, sid);
  CHECK_EQ_STR(r.state, "running");
  CHECK_EQ_STR(r.tmpl, "base");
  CHECK_EQ_STR(r.meta, "a b&c=d");
  CHECK_EQ_INT(r.n_meta, 2);
  CHECK(strlen(r.started) == 20 && r.started[10] == 'T' && r.started[19] == 'Z');
  CHECK(strlen(r.end) == 20);
  RESET(r);
  REQUIRE(sbx_sandbox_set_timeout(x.c, sid, 600, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  rec = record(&x, sid);
  REQUIRE(rec);
  double end1 = json_number_value(json_object_get(rec, "endAt"));
  CHECK(end1 - ev_time() > 590 && end1 - ev_time() < 610);
  json_decref(rec);
  RESET(r);
  REQUIRE(sbx_sandbox_kill(x.c, sid, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK(!path_exists(x.root, sid, ""));
  for (int i = 0; i < 100 && proc_alive(wd); i++)
    usleep(10000);
  CHECK(!proc_alive(wd));
  RESET(r);
  REQUIRE(sbx_sandbox_kill(x.c, sid, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ENOTFOUND);
  CHECK(strstr(r.msg, sid) && strstr(r.msg, "kill"));
  RESET(r);
  REQUIRE(sbx_sandbox_info_get(x.c, sid, on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ENOTFOUND);
  CHECK(strstr(r.msg, sid) != NULL);
  /* ids of another shape name nothing; no crash, no path escape */
  RESET(r);
  REQUIRE(sbx_sandbox_info_get(x.c, "../../etc", on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ENOTFOUND);
  ctx_close(&x);
}

static void list_pages(void) {
  struct ctx x;
  ctx_open(&x);
  char a1[64], a2[64], b1[64];
  create_labeled(&x, "a", 120, a1);
  usleep(10000);
  create_labeled(&x, "b", 120, b1);
  usleep(10000);
  create_labeled(&x, "a", 120, a2);
  struct res r;
  sbx_op_id id;
  RESET(r);
  REQUIRE(sbx_sandbox_list(x.c, NULL, on_list, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_INT(r.n, 3);
  CHECK_EQ_STR(r.ids[0], a2); /* newest first */
  CHECK_EQ_STR(r.ids[2], a1);
  CHECK_EQ_STR(r.next, "");
  sbx_kv want[] = {{"run", "a"}};
  sbx_list_opts lo = {.metadata = want, .n_metadata = 1, .limit = 1};
  RESET(r);
  REQUIRE(sbx_sandbox_list(x.c, &lo, on_list, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.n, 1);
  CHECK_EQ_STR(r.ids[0], a2);
  CHECK(r.next[0] != 0);
  char next[64];
  strcpy(next, r.next);
  lo.next_token = next;
  RESET(r);
  REQUIRE(sbx_sandbox_list(x.c, &lo, on_list, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.n, 1);
  CHECK_EQ_STR(r.ids[0], a1);
  CHECK_EQ_STR(r.next, "");
  sbx_list_opts paused = {.state = "paused"};
  RESET(r);
  REQUIRE(sbx_sandbox_list(x.c, &paused, on_list, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_INT(r.n, 0);
  sbx_list_opts bad = {.next_token = "lzzzzzzzzzzzzzzzzzzzz"};
  RESET(r);
  REQUIRE(sbx_sandbox_list(x.c, &bad, on_list, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_EINVAL);
  ctx_close(&x);
}

static void pause_connect(void) {
  struct ctx x;
  ctx_open(&x);
  char sid[64];
  create_labeled(&x, "p", 60, sid);
  struct res r;
  sbx_op_id id;
  RESET(r);
  REQUIRE(sbx_sandbox_pause(x.c, sid, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  RESET(r);
  REQUIRE(sbx_sandbox_info_get(x.c, sid, on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_STR(r.state, "paused");
  RESET(r);
  REQUIRE(sbx_sandbox_pause(x.c, sid, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ECONFLICT);
  sbx_list_opts paused = {.state = "paused"};
  RESET(r);
  REQUIRE(sbx_sandbox_list(x.c, &paused, on_list, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.n, 1);
  /* files of a paused sandbox wait for a resume */
  RESET(r);
  REQUIRE(sbx_fs_list(x.c, sid, "/home/user", 1, on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ECONFLICT);
  RESET(r);
  REQUIRE(sbx_sandbox_connect(x.c, sid, 900, 0, on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_STR(r.state, "running");
  json_t *rec = record(&x, sid);
  REQUIRE(rec);
  CHECK(json_number_value(json_object_get(rec, "endAt")) - ev_time() > 890);
  json_decref(rec);
  /* connect never shortens the lifetime */
  RESET(r);
  REQUIRE(sbx_sandbox_connect(x.c, sid, 10, 0, on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  rec = record(&x, sid);
  REQUIRE(rec);
  CHECK(json_number_value(json_object_get(rec, "endAt")) - ev_time() > 890);
  json_decref(rec);
  RESET(r);
  REQUIRE(sbx_sandbox_info_get(x.c, sid, on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_STR(r.state, "running");
  ctx_close(&x);
}

/* The watchdog removes an expired sandbox though its client is long gone. */
static void lifetime(void) {
  struct ctx x;
  ctx_open(&x);
  char sid[64];
  create_labeled(&x, "ttl", 1, sid);
  json_t *rec = record(&x, sid);
  REQUIRE(rec);
  pid_t wd = (pid_t)json_integer_value(json_object_get(rec, "watchdogPid"));
  json_decref(rec);
  sbx_client_free(x.c);
  x.c = NULL;
  CHECK(wd > 1 && proc_alive(wd));
  usleep(2500000);
  CHECK(!path_exists(x.root, sid, ""));
  CHECK(!proc_alive(wd));
  x.c = new_client(x.loop);
  struct res r;
  sbx_op_id id;
  RESET(r);
  REQUIRE(sbx_sandbox_info_get(x.c, sid, on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ENOTFOUND);
  /* set_timeout extends it: still there after the first deadline */
  char sid2[64];
  create_labeled(&x, "ttl", 1, sid2);
  RESET(r);
  REQUIRE(sbx_sandbox_set_timeout(x.c, sid2, 30, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  usleep(2200000);
  CHECK(path_exists(x.root, sid2, "/sandbox.json"));
  ctx_close(&x);
}

static void lazy_reap(void) {
  struct ctx x;
  ctx_open(&x);
  char sid[64];
  create_labeled(&x, "lazy", 120, sid);
  json_t *rec = record(&x, sid);
  REQUIRE(rec);
  /* as if the machine had rebooted: no watchdog, endAt in the past */
  pid_t wd = (pid_t)json_integer_value(json_object_get(rec, "watchdogPid"));
  kill(wd, SIGKILL);
  json_object_set_new(rec, "endAt", json_real(ev_time() - 10));
  char p[512];
  snprintf(p, sizeof p, "%s/%s/sandbox.json", x.root, sid);
  REQUIRE(json_dump_file(rec, p, 0) == 0);
  json_decref(rec);
  struct res r;
  sbx_op_id id;
  RESET(r);
  REQUIRE(sbx_sandbox_list(x.c, NULL, on_list, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.n, 0);
  CHECK(!path_exists(x.root, sid, ""));
  ctx_close(&x);
}

static void template_copy(void) {
  struct ctx x;
  ctx_open(&x);
  char tdir[256], cmd[1024];
  snprintf(tdir, sizeof tdir, "%s-tmpl", x.root);
  snprintf(cmd, sizeof cmd, "mkdir -p '%s/sub' && echo hi > '%s/a.txt' && echo b > '%s/sub/b'",
           tdir, tdir, tdir);
  REQUIRE(system(cmd) == 0);
  sbx_create_opts o;
  sbx_create_opts_init(&o);
  o.template_id = tdir;
  struct res r;
  create(&x, &o, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_STR(r.tmpl, tdir);
  CHECK(path_exists(x.root, r.id, "/home/a.txt") && path_exists(x.root, r.id, "/home/sub/b"));
  sbx_op_id id;
  char sid[64];
  strcpy(sid, r.id);
  RESET(r);
  sbx_download dl = {.path = "a.txt", .on_data = on_bytes};
  REQUIRE(sbx_file_read(x.c, sid, &dl, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_STR(r.out, "hi\n");
  /* a missing template: EINVAL naming it, nothing left behind */
  int before = count_dirs(x.root);
  o.template_id = "/nonexistent/template-dir";
  create(&x, &o, &r);
  CHECK_EQ_INT(r.code, SBX_EINVAL);
  CHECK(strstr(r.msg, "/nonexistent/template-dir") != NULL);
  CHECK_EQ_INT(count_dirs(x.root), before);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tdir);
  CHECK(system(cmd) == 0);
  ctx_close(&x);
}

/* ---- files ------------------------------------------------------------------------------ */

static int files_equal(const char *a, const char *b) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", a, b);
  return system(cmd) == 0;
}

static void files(void) {
  struct ctx x;
  ctx_open(&x);
  char sid[64];
  create_labeled(&x, "f", 120, sid);
  struct res r;
  sbx_op_id id;
  RESET(r);
  sbx_upload up = {.path = "/home/user/dir/a.txt", .data = "hello file", .len = 10};
  REQUIRE(sbx_file_write(x.c, sid, &up, on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_STR(r.names, "a.txt,");
  CHECK_EQ_STR(r.paths, "/home/user/dir/a.txt,");
  CHECK_EQ_INT(r.size0, 10);
  CHECK_EQ_STR(r.perms0, "-rw-r--r--");
  RESET(r);
  sbx_upload rel = {.path = "rel/./b.txt", .data = "multi\npart", .len = 10};
  REQUIRE(sbx_file_write(x.c, sid, &rel, on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_STR(r.paths, "/home/user/rel/b.txt,");
  RESET(r);
  sbx_upload tmpf = {.path = "/tmp/t.txt", .data = "t", .len = 1};
  REQUIRE(sbx_file_write(x.c, sid, &tmpf, on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK(path_exists(x.root, sid, "/tmp/t.txt"));
  /* many at once; an escaping path fails the op and names the path */
  RESET(r);
  sbx_upload many[2] = {{.path = "/tmp/m/one.txt", .data = "one", .len = 3},
                        {.path = "/tmp/m2.txt", .data = "", .len = 0}};
  REQUIRE(sbx_file_write_many(x.c, sid, many, 2, on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_STR(r.paths, "/tmp/m/one.txt,/tmp/m2.txt,");
  CHECK(path_exists(x.root, sid, "/tmp/m2.txt"));
  RESET(r);
  sbx_upload evil[2] = {{.path = "/tmp/ok.txt", .data = "1", .len = 1},
                        {.path = "../../escape.txt", .data = "2", .len = 1}};
  REQUIRE(sbx_file_write_many(x.c, sid, evil, 2, on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_EINVAL);
  CHECK(strstr(r.msg, "escape.txt") != NULL);
  CHECK(!path_exists(x.root, sid, "/tmp/ok.txt")); /* checked whole before any write */
  RESET(r);
  sbx_download dl = {.path = "~/rel/b.txt", .on_data = on_bytes};
  REQUIRE(sbx_file_read(x.c, sid, &dl, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_STR(r.out, "multi\npart");
  /* 5 MB from disk and back, to a file and through the callback */
  char big[256], back[256], cmd[600];
  snprintf(big, sizeof big, "%s-big.bin", x.root);
  snprintf(back, sizeof back, "%s-back.bin", x.root);
  snprintf(cmd, sizeof cmd, "head -c 5000000 /dev/urandom > '%s'", big);
  REQUIRE(system(cmd) == 0);
  RESET(r);
  sbx_upload fu = {.path = "/home/user/big.bin", .local_path = big};
  REQUIRE(sbx_file_write(x.c, sid, &fu, on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_INT(r.size0, 5000000);
  RESET(r);
  sbx_download fd = {.path = "/home/user/big.bin", .local_path = back};
  REQUIRE(sbx_file_read(x.c, sid, &fd, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK(files_equal(big, back));
  RESET(r);
  sbx_download cbd = {.path = "/home/user/big.bin", .on_data = on_bytes};
  REQUIRE(sbx_file_read(x.c, sid, &cbd, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_INT(r.out_len, 5000000);
  /* capped: fails, no file, no part file */
  char capped[256], part[300];
  snprintf(capped, sizeof capped, "%s-capped.bin", x.root);
  snprintf(part, sizeof part, "%s.sbx-part", capped);
  RESET(r);
  sbx_download cd = {.path = "/home/user/big.bin", .local_path = capped, .max_bytes = 1000};
  REQUIRE(sbx_file_read(x.c, sid, &cd, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ETOOBIG);
  CHECK(access(capped, F_OK) != 0 && access(part, F_OK) != 0);
  /* a missing local source */
  RESET(r);
  sbx_upload nosrc = {.path = "x.bin", .local_path = "/nonexistent/file"};
  REQUIRE(sbx_file_write(x.c, sid, &nosrc, on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_EIO);
  CHECK(strstr(r.msg, "/nonexistent/file") != NULL);
  CHECK(!path_exists(x.root, sid, "/home/x.bin"));
  /* fs */
  RESET(r);
  REQUIRE(sbx_fs_list(x.c, sid, "/home/user", 1, on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_STR(r.names, "big.bin,dir,rel,");
  RESET(r);
  REQUIRE(sbx_fs_list(x.c, sid, "/home/user", 2, on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_STR(r.paths, "/home/user/big.bin,/home/user/dir,/home/user/dir/a.txt,/home/user/rel,"
                        "/home/user/rel/b.txt,");
  RESET(r);
  REQUIRE(sbx_fs_stat(x.c, sid, "/home/user/dir", on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.type0, SBX_FILE_DIR);
  CHECK_EQ_STR(r.perms0, "drwxr-xr-x");
  CHECK(strlen(r.mtime0) == 20);
  RESET(r);
  REQUIRE(sbx_fs_mkdir(x.c, sid, "/home/user/newdir/sub", on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_STR(r.paths, "/home/user/newdir/sub,");
  RESET(r);
  REQUIRE(sbx_fs_mkdir(x.c, sid, "/home/user/newdir/sub", on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ECONFLICT);
  RESET(r);
  REQUIRE(sbx_fs_move(x.c, sid, "/home/user/dir/a.txt", "/tmp/moved/a2.txt", on_entries, &r, &id) ==
          SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_STR(r.paths, "/tmp/moved/a2.txt,");
  RESET(r);
  REQUIRE(sbx_fs_remove(x.c, sid, "/home/user/newdir", on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  RESET(r);
  REQUIRE(sbx_fs_remove(x.c, sid, "/home/user/newdir", on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0); /* missing is fine */
  RESET(r);
  REQUIRE(sbx_fs_stat(x.c, sid, "/home/user/newdir", on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ENOTFOUND);
  RESET(r);
  sbx_download missing = {.path = "/home/user/nope.txt", .on_data = on_bytes};
  REQUIRE(sbx_file_read(x.c, sid, &missing, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ENOTFOUND);
  CHECK(strstr(r.msg, "nope.txt") != NULL);
  RESET(r);
  REQUIRE(sbx_fs_list(x.c, "lnotasandbox000000000", "/home/user", 1, on_entries, &r, &id) ==
          SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ENOTFOUND);
  unlink(big);
  unlink(back);
  ctx_close(&x);
}

static void expect_code(struct ctx *x, const char *sid, const char *path, int code) {
  struct res r;
  sbx_op_id id;
  RESET(r);
  sbx_download dl = {.path = path, .on_data = on_bytes};
  REQUIRE(sbx_file_read(x->c, sid, &dl, on_done, &r, &id) == SBX_OK);
  WAIT(x, &r);
  if (r.code != code) fprintf(stderr, "  read %s: %d (%s)\n", path, r.code, r.msg);
  CHECK_EQ_INT(r.code, code);
  CHECK(r.out_len == 0);
}

static void path_escapes(void) {
  struct ctx x;
  ctx_open(&x);
  char sid[64];
  create_labeled(&x, "esc", 120, sid);
  expect_code(&x, sid, "../../etc/passwd", SBX_EINVAL);
  expect_code(&x, sid, "/home/user/../../../etc/passwd", SBX_EINVAL);
  expect_code(&x, sid, "/etc/passwd", SBX_EINVAL);
  expect_code(&x, sid, "/home/userx/a", SBX_EINVAL);
  char p[512];
  snprintf(p, sizeof p, "%s/%s/home/etc", x.root, sid);
  REQUIRE(symlink("/etc", p) == 0);
  snprintf(p, sizeof p, "%s/%s/home/pw", x.root, sid);
  REQUIRE(symlink("/etc/passwd", p) == 0);
  expect_code(&x, sid, "etc/passwd", SBX_EINVAL);
  expect_code(&x, sid, "/home/user/pw", SBX_EINVAL);
  struct res r;
  sbx_op_id id;
  RESET(r);
  REQUIRE(sbx_fs_list(x.c, sid, "/home/user/etc", 1, on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_EINVAL);
  CHECK(strstr(r.msg, "outside") != NULL);
  RESET(r);
  sbx_upload up = {.path = "etc/evil", .data = "x", .len = 1};
  REQUIRE(sbx_file_write(x.c, sid, &up, on_entries, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_EINVAL);
  CHECK(access("/etc/evil", F_OK) != 0);
  RESET(r);
  REQUIRE(sbx_fs_remove(x.c, sid, "/etc", on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_EINVAL);
  CHECK(strstr(r.msg, "'/etc' is outside the sandbox") != NULL);
  /* inside links are fine, and the sandbox root cannot be removed */
  expect_code(&x, sid, "/home/user/../user/nope", SBX_EINVAL); /* /home is outside */
  expect_code(&x, sid, "/home/user/a/../nope", SBX_ENOTFOUND);
  RESET(r);
  REQUIRE(sbx_fs_remove(x.c, sid, "/home/user", on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_EINVAL);
  /* removing the symlink removes the link only */
  RESET(r);
  REQUIRE(sbx_fs_remove(x.c, sid, "/home/user/pw", on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK(access("/etc/passwd", F_OK) == 0);
  ctx_close(&x);
}

/* ---- contract ------------------------------------------------------------------------------ */

static void cancel_and_close(void) {
  struct ctx x;
  ctx_open(&x);
  char sid[64];
  create_labeled(&x, "c", 120, sid);
  struct res r;
  sbx_op_id id;
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_sandbox_info_get(x.c, sid, on_sandbox, &r, &id) == SBX_OK);
  CHECK_EQ_INT(sbx_cancel(x.c, id), SBX_OK);
  CHECK_EQ_INT(sbx_cancel(x.c, id), SBX_OK);
  r.returned = 1;
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ECANCELED);
  CHECK_EQ_INT(r.calls, 1);
  CHECK_EQ_INT(sbx_cancel(x.c, id), SBX_ENOTFOUND);
  /* a cancelled create leaves no directory */
  int before = count_dirs(x.root);
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_sandbox_create(x.c, NULL, on_sandbox, &r, &id) == SBX_OK);
  CHECK_EQ_INT(sbx_cancel(x.c, id), SBX_OK);
  r.returned = 1;
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ECANCELED);
  CHECK_EQ_INT(count_dirs(x.root), before);
  /* cancel during the template copy */
  char tdir[256], cmd[1024];
  snprintf(tdir, sizeof tdir, "%s-tmpl", x.root);
  snprintf(cmd, sizeof cmd, "mkdir -p '%s' && head -c 200000000 /dev/zero > '%s/big'", tdir, tdir);
  REQUIRE(system(cmd) == 0);
  sbx_create_opts o;
  sbx_create_opts_init(&o);
  o.template_id = tdir;
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_sandbox_create(x.c, &o, on_sandbox, &r, &id) == SBX_OK);
  r.returned = 1;
  for (int i = 0; i < 100 && count_dirs(x.root) == before; i++)
    ev_run(x.loop, EVRUN_NOWAIT); /* INIT runs: the copy starts */
  CHECK_EQ_INT(count_dirs(x.root), before + 1);
  CHECK(!r.done);
  CHECK_EQ_INT(sbx_cancel(x.c, id), SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ECANCELED);
  CHECK_EQ_INT(count_dirs(x.root), before);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tdir);
  CHECK(system(cmd) == 0);
  /* free with a pending op: ECLOSED, once */
  memset(&r, 0, sizeof r);
  REQUIRE(sbx_fs_list(x.c, sid, "/home/user", 1, on_entries, &r, &id) == SBX_OK);
  r.returned = 1;
  sbx_client_free(x.c);
  x.c = NULL;
  CHECK_EQ_INT(r.calls, 1);
  CHECK_EQ_INT(r.code, SBX_ECLOSED);
  ctx_close(&x);
}

static void cancel_from_data(sbx_client *c, sbx_op_id op, const char *d, size_t n, void *ud) {
  on_bytes(c, op, d, n, ud);
  sbx_cancel(c, op);
}

/* A read yields between bursts and stops at once when cancelled from on_data. */
static void cancel_read(void) {
  struct ctx x;
  ctx_open(&x);
  char sid[64];
  create_labeled(&x, "cr", 120, sid);
  size_t len = 12u << 20;
  char *data = calloc(1, len);
  REQUIRE(data);
  struct res r;
  sbx_op_id id;
  RESET(r);
  sbx_upload up = {.path = "big", .data = data, .len = len};
  REQUIRE(sbx_file_write(x.c, sid, &up, on_entries, &r, &id) == SBX_OK);
  free(data);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  RESET(r);
  sbx_download dl = {.path = "big", .on_data = cancel_from_data};
  REQUIRE(sbx_file_read(x.c, sid, &dl, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ECANCELED);
  CHECK_EQ_INT(r.calls, 1);
  CHECK_EQ_INT(r.out_len, 64u << 10);
  ctx_close(&x);
}

static void network_policy(void) {
  struct ctx x;
  ctx_open(&x);
  sbx_create_opts o;
  sbx_create_opts_init(&o);
  const char *allow[] = {"1.1.1.1"};
  o.allow_internet = 0;
  o.allow_out = allow;
  o.n_allow_out = 1;
  struct res r;
  create(&x, &o, &r);
  CHECK_EQ_INT(r.code, SBX_ENOTSUP);
  CHECK(strstr(r.msg, "allow-lists are not supported") != NULL);
  CHECK_EQ_INT(count_dirs(x.root), 0);
  const char *deny[] = {"0.0.0.0/0"};
  sbx_create_opts_init(&o);
  o.deny_out = deny;
  o.n_deny_out = 1;
  create(&x, &o, &r);
  CHECK_EQ_INT(r.code, 0);
  json_t *rec = record(&x, r.id);
  REQUIRE(rec);
  CHECK(json_is_true(json_object_get(rec, "denyNet")));
  json_decref(rec);
  sbx_create_opts_init(&o);
  create(&x, &o, &r);
  rec = record(&x, r.id);
  REQUIRE(rec);
  CHECK(json_is_false(json_object_get(rec, "denyNet")));
  json_decref(rec);
  /* an option the provider cannot honour is refused, naming it, before
   * anything is created */
  int dirs = count_dirs(x.root);
  sbx_create_opts_init(&o);
  o.auto_pause = 1;
  create(&x, &o, &r);
  CHECK_EQ_INT(r.code, SBX_ENOTSUP);
  CHECK(strstr(r.msg, "auto_pause") != NULL && strstr(r.msg, "local") != NULL);
  CHECK_EQ_INT(count_dirs(x.root), dirs);
  ctx_close(&x);
}

static void unknown_provider(void) {
  struct ev_loop *loop = ev_loop_new(0);
  sbx_config cfg;
  sbx_config_init(&cfg);
  cfg.provider = "nope";
  sbx_status st;
  char err[256] = {0};
  CHECK(sbx_client_new(loop, &cfg, &st, err, sizeof err) == NULL);
  CHECK_EQ_INT(st, SBX_EINVAL);
  CHECK(strstr(err, "e2b") && strstr(err, "local"));
  ev_loop_destroy(loop);
}

/* ---- with real processes (exec is local_exec.c's) ---------------------------------------- */

/* The state letter of a process ('S', 'T', ...), 0 when it is gone. */
static char proc_state(pid_t pid) {
  char p[64], buf[512];
  snprintf(p, sizeof p, "/proc/%ld/stat", (long)pid);
  FILE *f = fopen(p, "r");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  const char *rp = strrchr(buf, ')');
  return rp && rp[1] == ' ' ? rp[2] : 0;
}

static void processes(void) {
  struct ctx x;
  ctx_open(&x);
  char sid[64];
  create_labeled(&x, "proc", 120, sid);
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  o.cmd = "sleep 60";
  o.detach = 1;
  static const sbx_exec_cbs cbs = {x_start, NULL, x_done};
  struct res r;
  sbx_op_id id;
  RESET(r);
  REQUIRE(sbx_exec_start(x.c, sid, &o, &cbs, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  REQUIRE(r.code == 0);
  json_t *rec = record(&x, sid);
  REQUIRE(rec);
  json_t *pg = json_array_get(json_object_get(rec, "pgids"), 0);
  pid_t pgid = pg ? (pid_t)json_integer_value(pg) : 0;
  json_decref(rec);
  REQUIRE(pgid > 1);
  RESET(r);
  REQUIRE(sbx_sandbox_pause(x.c, sid, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  usleep(100000);
  CHECK_EQ_INT(proc_state(pgid), 'T');
  RESET(r);
  REQUIRE(sbx_sandbox_connect(x.c, sid, 0, 0, on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  usleep(100000);
  CHECK(proc_state(pgid) != 'T' && proc_state(pgid) != 0);
  RESET(r);
  REQUIRE(sbx_sandbox_kill(x.c, sid, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  for (int i = 0; i < 100 && proc_state(pgid) && proc_state(pgid) != 'Z'; i++)
    wait_ms_loop(x.loop, 10);
  CHECK(proc_state(pgid) == 0 || proc_state(pgid) == 'Z');
  ctx_close(&x);
}

static const struct test_case cases[] = {
    {"lifecycle", lifecycle},
    {"list_pages", list_pages},
    {"pause_connect", pause_connect},
    {"lifetime", lifetime},
    {"lazy_reap", lazy_reap},
    {"template_copy", template_copy},
    {"files", files},
    {"path_escapes", path_escapes},
    {"cancel_and_close", cancel_and_close},
    {"cancel_read", cancel_read},
    {"network_policy", network_policy},
    {"unknown_provider", unknown_provider},
    {"processes", processes},
    {NULL, NULL},
};

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  return test_main("local", cases, argc, argv, 60);
}
