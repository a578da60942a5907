/* test_daytona_ctl.c - Daytona's control plane beyond the sandbox basics,
 * against a fresh sbx-emu: archive and restore, replacing labels, and
 * snapshots (create and wait, get, list over pages, delete, a build that
 * fails, the wait bound, refusals before any request); the other providers
 * answer SBX_ENOTSUP. */
#include <signal.h>

#include "dt_harness.h"

/* A snapshot callback's report. */
struct snap_res {
  struct res r;
  char id[64], name[300], state[32], image[128], reason[256], created[64];
  double size_gb;
  int cpu, mem, disk, general;
  size_t n, n_general;
  int has_small; /* list: daytona-small (1/1/3) was there */
  char names[4096];
};

static void on_snapshot(sbx_client *c, sbx_op_id op, const sbx_error *err,
                        const sbx_snapshot_info *s, void *ud) {
  struct snap_res *x = ud;
  note(&x->r, err);
  CHECK(err ? s == NULL : s != NULL);
  if (!s) return;
  snprintf(x->id, sizeof x->id, "%s", s->id);
  snprintf(x->name, sizeof x->name, "%s", s->name);
  snprintf(x->state, sizeof x->state, "%s", s->state);
  snprintf(x->image, sizeof x->image, "%s", s->image);
  snprintf(x->reason, sizeof x->reason, "%s", s->error_reason);
  snprintf(x->created, sizeof x->created, "%s", s->created_at);
  x->size_gb = s->size_gb;
  x->cpu = s->cpu;
  x->mem = s->memory_gb;
  x->disk = s->disk_gb;
  x->general = s->general;
}

static void on_snapshots(sbx_client *c, sbx_op_id op, const sbx_error *err,
                         const sbx_snapshot_info *items, size_t n, void *ud) {
  struct snap_res *x = ud;
  note(&x->r, err);
  x->n = n;
  x->names[0] = 0;
  for (size_t i = 0; i < n; i++) {
    x->n_general += items[i].general;
    if (!strcmp(items[i].name, "daytona-small"))
      x->has_small = items[i].general && items[i].cpu == 1 && items[i].disk_gb == 3;
    if (strlen(x->names) + strlen(items[i].name) + 2 < sizeof x->names) {
      strcat(x->names, items[i].name);
      strcat(x->names, ",");
    }
  }
}

#define WAITS(x, s) WAIT((x), &(s)->r)

static void snap_create(struct ctx *x, const sbx_snapshot_opts *o, struct snap_res *s) {
  memset(s, 0, sizeof *s);
  sbx_op_id id;
  REQUIRE(sbx_snapshot_create(x->c, o, on_snapshot, s, &id) == SBX_OK);
  s->r.returned = 1;
  WAITS(x, s);
  CHECK(!s->r.early);
  CHECK_EQ_INT(s->r.calls, 1);
}

static void snap_get(struct ctx *x, const char *ref, struct snap_res *s) {
  memset(s, 0, sizeof *s);
  sbx_op_id id;
  REQUIRE(sbx_snapshot_get(x->c, ref, on_snapshot, s, &id) == SBX_OK);
  WAITS(x, s);
}

static void snap_list(struct ctx *x, struct snap_res *s) {
  memset(s, 0, sizeof *s);
  sbx_op_id id;
  REQUIRE(sbx_snapshot_list(x->c, on_snapshots, s, &id) == SBX_OK);
  WAITS(x, s);
  CHECK_EQ_INT(s->r.calls, 1);
}

static int snap_delete(struct ctx *x, const char *ref) {
  struct res r = {0};
  sbx_op_id id;
  REQUIRE(sbx_snapshot_delete(x->c, ref, on_done, &r, &id) == SBX_OK);
  WAIT(x, &r);
  CHECK_EQ_INT(r.calls, 1);
  return r.code;
}

static void info(struct ctx *x, const char *sid, struct res *r) {
  memset(r, 0, sizeof *r);
  sbx_op_id id;
  REQUIRE(sbx_sandbox_info_get(x->c, sid, on_sandbox, r, &id) == SBX_OK);
  WAIT(x, r);
}

static int done_op(struct ctx *x, sbx_status st, struct res *r) {
  REQUIRE(st == SBX_OK);
  r->returned = 1;
  WAIT(x, r);
  CHECK(!r->early);
  CHECK_EQ_INT(r->calls, 1);
  return r->code;
}

/* Run cmd in the sandbox; the result in *r. */
static void run(struct ctx *x, const char *sid, const char *cmd, struct res *r) {
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  o.cmd = cmd;
  memset(r, 0, sizeof *r);
  sbx_op_id id;
  REQUIRE(sbx_exec_start(x->c, sid, &o, &exec_cbs, r, &id) == SBX_OK);
  WAIT(x, r);
}

static void snap_opts(sbx_snapshot_opts *o, const char *name, const char *image) {
  sbx_snapshot_opts_init(o);
  o->name = name;
  o->image = image;
}

static int archive(struct ctx *x, const char *sid, struct res *r) {
  memset(r, 0, sizeof *r);
  sbx_op_id id;
  return done_op(x, sbx_sandbox_archive(x->c, sid, on_done, r, &id), r);
}

/* ---- archive ------------------------------------------------------------------------ */

static void archive_restore(int tls) {
  struct ctx x;
  ctx_open(&x, tls);
  char sid[64];
  create_sandbox(&x, "arch", 0, sid);
  struct res r = {0}, e;
  sbx_op_id id;
  run(&x, sid, "printf kept >keep.txt", &e);
  REQUIRE(e.code == 0 && e.exit_code == 0);
  /* only a paused sandbox can be archived */
  CHECK_EQ_INT(archive(&x, sid, &r), SBX_ECONFLICT);
  CHECK(strstr(r.msg, "only a paused sandbox can be archived") != NULL);
  CHECK(strstr(r.msg, "Sandbox is not stopped") != NULL);
  memset(&r, 0, sizeof r);
  CHECK_EQ_INT(done_op(&x, sbx_sandbox_pause(x.c, sid, on_done, &r, &id), &r), 0);
  /* completes once archived, not while archiving */
  CHECK_EQ_INT(archive(&x, sid, &r), 0);
  info(&x, sid, &r);
  CHECK_EQ_STR(r.state, "archived");
  CHECK_EQ_INT(emu_stat(&x.emu, "daytona", "archived", NULL), 1);
  CHECK_EQ_INT(emu_stat(&x.emu, "daytona", "live", NULL), 1);
  CHECK_EQ_INT(archive(&x, sid, &r), SBX_ECONFLICT); /* already archived */
  run(&x, sid, "true", &e);
  CHECK_EQ_INT(e.code, SBX_ECONFLICT); /* an archive runs nothing */
  /* connect restores it (restoring -> started) */
  memset(&r, 0, sizeof r);
  CHECK_EQ_INT(done_op(&x, sbx_sandbox_connect(x.c, sid, 0, 0, on_sandbox, &r, &id), &r), 0);
  CHECK_EQ_STR(r.state, "running");
  CHECK_EQ_INT(emu_stat(&x.emu, "daytona", "archived", NULL), 0);
  CHECK_EQ_INT(emu_stat(&x.emu, "daytona", "started", NULL), 1);
  run(&x, sid, "cat keep.txt", &e);
  CHECK_EQ_INT(e.code, 0);
  CHECK_EQ_STR(e.out, "kept\n"); /* files survive the archive (the log adds the newline) */
  CHECK_EQ_INT(archive(&x, "no-such-sandbox", &r), SBX_ENOTFOUND);
  CHECK_EQ_INT(sbx_sandbox_archive(x.c, "bad/id", on_done, &r, &id), SBX_EINVAL);
  ctx_close(&x);
}
static void archive_h1(void) {
  archive_restore(0);
}
static void archive_h2(void) {
  archive_restore(1);
}

/* ---- labels ------------------------------------------------------------------------- */

static int set_labels(struct ctx *x, const char *sid, const sbx_kv *kv, size_t n) {
  struct res r = {0};
  sbx_op_id id;
  return done_op(x, sbx_sandbox_set_labels(x->c, sid, kv, n, on_done, &r, &id), &r);
}

static size_t list_by(struct ctx *x, const char *key, const char *value, char *first) {
  sbx_kv want[] = {{key, value}};
  sbx_list_opts lo = {.metadata = want, .n_metadata = 1};
  struct res r = {0};
  sbx_op_id id;
  REQUIRE(sbx_sandbox_list(x->c, &lo, on_list, &r, &id) == SBX_OK);
  WAIT(x, &r);
  CHECK_EQ_INT(r.code, 0);
  if (first) strcpy(first, r.n ? r.ids[0] : "");
  return r.n;
}

static void labels(void) {
  struct ctx x;
  ctx_open(&x, 0);
  char sid[64], other[64], found[64];
  create_sandbox(&x, "before", 0, sid);
  create_sandbox(&x, "other", 0, other);
  sbx_kv kv[] = {{"user", "after"}, {"team", "blue green"}};
  CHECK_EQ_INT(set_labels(&x, sid, kv, 2), 0);
  struct res r;
  info(&x, sid, &r);
  CHECK_EQ_INT(r.n_meta, 2); /* replaced: sbx.run is gone */
  CHECK_EQ_STR(r.meta, "after");
  CHECK_EQ_INT(list_by(&x, "team", "blue green", found), 1);
  CHECK_EQ_STR(found, sid);
  CHECK_EQ_INT(list_by(&x, "user", "before", NULL), 0);
  CHECK_EQ_INT(list_by(&x, "sbx.run", "itest", found), 1); /* only the other one now */
  CHECK_EQ_STR(found, other);
  CHECK_EQ_INT(set_labels(&x, sid, NULL, 0), 0); /* none at all */
  info(&x, sid, &r);
  CHECK_EQ_INT(r.n_meta, 0);
  CHECK_EQ_INT(set_labels(&x, "no-such-sandbox", kv, 1), SBX_ENOTFOUND);
  /* bad labels are refused at the call */
  sbx_op_id id;
  sbx_kv dup[] = {{"a", "1"}, {"a", "2"}};
  sbx_kv empty_key[] = {{"", "1"}};
  sbx_kv null_value[] = {{"a", NULL}};
  CHECK_EQ_INT(sbx_sandbox_set_labels(x.c, sid, dup, 2, on_done, &r, &id), SBX_EINVAL);
  CHECK_EQ_INT(sbx_sandbox_set_labels(x.c, sid, empty_key, 1, on_done, &r, &id), SBX_EINVAL);
  CHECK_EQ_INT(sbx_sandbox_set_labels(x.c, sid, null_value, 1, on_done, &r, &id), SBX_EINVAL);
  CHECK_EQ_INT(sbx_sandbox_set_labels(x.c, sid, NULL, 1, on_done, &r, &id), SBX_EINVAL);
  CHECK_EQ_INT(emu_stat(&x.emu, "requests", "PUT /api/sandbox/{id}/labels", NULL), 3);
  ctx_close(&x);
}

/* ---- snapshots ---------------------------------------------------------------------- */

static void snapshot_lifecycle(int tls) {
  struct ctx x;
  ctx_open(&x, tls);
  const char *ep[] = {"sleep", "infinity", NULL};
  sbx_snapshot_opts o;
  snap_opts(&o, "itest/py:1.0", "python:3.12-slim");
  o.cpu = 2;
  o.memory_gb = 4;
  o.disk_gb = 6;
  o.entrypoint = ep;
  struct snap_res s, g;
  snap_create(&x, &o, &s);
  CHECK_EQ_INT(s.r.code, 0);
  CHECK_EQ_STR(s.state, "active"); /* waited through pending and building */
  CHECK_EQ_STR(s.name, "itest/py:1.0");
  CHECK_EQ_STR(s.image, "python:3.12-slim");
  CHECK(s.size_gb > 0);
  CHECK(s.created[0] != 0);
  CHECK_EQ_INT(s.cpu, 2);
  CHECK_EQ_INT(s.mem, 4);
  CHECK_EQ_INT(s.disk, 6);
  CHECK_EQ_INT(s.general, 0);
  CHECK(emu_stat(&x.emu, "requests", "GET /api/snapshots/{id}", NULL) >= 2);
  CHECK_EQ_INT(emu_stat(&x.emu, "daytona", "snapshots", NULL), 1);
  /* by name ('/' and ':' escaped in the path) and by id */
  snap_get(&x, "itest/py:1.0", &g);
  CHECK_EQ_INT(g.r.code, 0);
  CHECK_EQ_STR(g.id, s.id);
  snap_get(&x, s.id, &g);
  CHECK_EQ_STR(g.name, "itest/py:1.0");
  snap_get(&x, "no-such-snapshot", &g);
  CHECK_EQ_INT(g.r.code, SBX_ENOTFOUND);
  CHECK_EQ_INT(g.r.http, 404);
  /* the list: ours first, then the general ones */
  snap_list(&x, &g);
  CHECK_EQ_INT(g.r.code, 0);
  CHECK_EQ_INT((int)g.n, 4);
  CHECK_EQ_INT((int)g.n_general, 3);
  CHECK_EQ_INT(g.has_small, 1);
  CHECK(strncmp(g.names, "itest/py:1.0,", 13) == 0);
  /* a taken name conflicts */
  snap_create(&x, &o, &g);
  CHECK_EQ_INT(g.r.code, SBX_ECONFLICT);
  CHECK_EQ_INT(g.r.http, 409);
  CHECK(strstr(g.r.msg, "already exists") != NULL);
  /* a sandbox from it gets its resources */
  struct res r = {0};
  sbx_create_opts co;
  sbx_create_opts_init(&co);
  co.template_id = "itest/py:1.0";
  sbx_op_id id;
  CHECK_EQ_INT(done_op(&x, sbx_sandbox_create(x.c, &co, on_sandbox, &r, &id), &r), 0);
  CHECK_EQ_STR(r.tmpl, "itest/py:1.0");
  json_t *d = emu_dto(&x, r.id);
  CHECK_EQ_INT(json_integer_value(json_object_get(d, "cpu")), 2);
  CHECK_EQ_INT(json_integer_value(json_object_get(d, "disk")), 6);
  json_decref(d);
  /* an unknown snapshot is refused as the API does (400) */
  co.template_id = "no-such-snapshot";
  memset(&r, 0, sizeof r);
  CHECK_EQ_INT(done_op(&x, sbx_sandbox_create(x.c, &co, on_sandbox, &r, &id), &r), SBX_EINVAL);
  CHECK(strstr(r.msg, "Snapshot no-such-snapshot not found") != NULL);
  /* delete by name (looked up), then it is gone */
  CHECK_EQ_INT(snap_delete(&x, "itest/py:1.0"), 0);
  snap_get(&x, s.id, &g);
  CHECK_EQ_INT(g.r.code, SBX_ENOTFOUND);
  CHECK_EQ_INT(snap_delete(&x, "itest/py:1.0"), SBX_ENOTFOUND);
  CHECK_EQ_INT(snap_delete(&x, s.id), SBX_ENOTFOUND); /* by id: DELETE, 404, lookup, 404 */
  CHECK_EQ_INT(emu_stat(&x.emu, "daytona", "snapshots", NULL), 0);
  /* general snapshots stay */
  CHECK_EQ_INT(snap_delete(&x, "daytona-small"), SBX_EAUTH);
  ctx_close(&x);
}
static void snapshot_h1(void) {
  snapshot_lifecycle(0);
}
static void snapshot_h2(void) {
  snapshot_lifecycle(1);
}

/* sbx-emu's convention: an image under fail/ cannot be pulled. */
static void snapshot_build_fails(void) {
  struct ctx x;
  ctx_open(&x, 0);
  sbx_snapshot_opts o;
  snap_opts(&o, "broken", "fail/nope:1.0");
  struct snap_res s, g;
  snap_create(&x, &o, &s);
  CHECK_EQ_INT(s.r.code, SBX_EPROVIDER);
  CHECK(strstr(s.r.msg, "create snapshot broken: the build failed: state error: image pull "
                        "failed") != NULL);
  snap_get(&x, "broken", &g);
  CHECK_EQ_STR(g.state, "error");
  CHECK(g.reason[0] != 0);
  CHECK(g.size_gb == -1);
  /* a sandbox cannot come from it */
  struct res r = {0};
  sbx_create_opts co;
  sbx_create_opts_init(&co);
  co.template_id = "broken";
  sbx_op_id id;
  CHECK_EQ_INT(done_op(&x, sbx_sandbox_create(x.c, &co, on_sandbox, &r, &id), &r), SBX_EINVAL);
  CHECK(strstr(r.msg, "Snapshot broken is error") != NULL);
  CHECK_EQ_INT(snap_delete(&x, g.id), 0); /* by id: one DELETE */
  CHECK_EQ_INT(emu_stat(&x.emu, "requests", "DELETE /api/snapshots/{id}", NULL), 1);
  ctx_close(&x);
}

/* Bad options never reach the API. */
static void snapshot_refused(void) {
  struct ctx x;
  ctx_open(&x, 0);
  struct snap_res s;
  sbx_op_id id;
  sbx_snapshot_opts o;
  snap_opts(&o, "ok", "python:3.12");
  o.disk_gb = 11;
  CHECK_EQ_INT(sbx_snapshot_create(x.c, &o, on_snapshot, &s, &id), SBX_EINVAL);
  o.disk_gb = 0;
  o.image = "python";
  CHECK_EQ_INT(sbx_snapshot_create(x.c, &o, on_snapshot, &s, &id), SBX_EINVAL);
  o.image = "python:latest";
  CHECK_EQ_INT(sbx_snapshot_create(x.c, &o, on_snapshot, &s, &id), SBX_EINVAL);
  o.image = "python:3.12";
  o.name = "two//slashes";
  CHECK_EQ_INT(sbx_snapshot_create(x.c, &o, on_snapshot, &s, &id), SBX_EINVAL);
  o.name = NULL;
  CHECK_EQ_INT(sbx_snapshot_create(x.c, &o, on_snapshot, &s, &id), SBX_EINVAL);
  o.name = "ok";
  o.cpu = -1;
  CHECK_EQ_INT(sbx_snapshot_create(x.c, &o, on_snapshot, &s, &id), SBX_EINVAL);
  CHECK_EQ_INT(sbx_snapshot_get(x.c, "", on_snapshot, &s, &id), SBX_EINVAL);
  CHECK_EQ_INT(sbx_snapshot_get(x.c, "a b", on_snapshot, &s, &id), SBX_EINVAL);
  CHECK_EQ_INT(sbx_snapshot_delete(x.c, "a?b", on_done, &s, &id), SBX_EINVAL);
  CHECK_EQ_INT(sbx_snapshot_list(x.c, NULL, &s, &id), SBX_EINVAL);
  CHECK_EQ_INT(sbx_client_pending(x.c), 0);
  CHECK_EQ_INT(emu_stat(&x.emu, "requests", "POST /api/snapshots", NULL), -1);
  ctx_close(&x);
}

/* A long build: the wait is bounded, and a cancel ends it at once. */
static void snapshot_wait_bound(void) {
  static const char *const slow[] = {"--daytona-minute-s", "3600", NULL}; /* 18 s a step */
  struct ctx x;
  ctx_open_with(&x, 0, slow);
  sbx_snapshot_opts o;
  snap_opts(&o, "slow", "python:3.12");
  o.timeout_s = 1;
  struct snap_res s;
  double t0 = ev_time();
  snap_create(&x, &o, &s);
  double took = ev_time() - t0;
  CHECK_EQ_INT(s.r.code, SBX_ETIMEDOUT);
  CHECK(strstr(s.r.msg, "still 'pending' after 1 s") != NULL);
  CHECK(took >= 0.9 && took < 3.0);
  struct snap_res g;
  snap_get(&x, "slow", &g);
  CHECK_EQ_STR(g.state, "pending"); /* the build goes on */
  o.name = "slow2";
  o.timeout_s = 0;
  memset(&s, 0, sizeof s);
  sbx_op_id id;
  REQUIRE(sbx_snapshot_create(x.c, &o, on_snapshot, &s, &id) == SBX_OK);
  wait_ms_loop(x.loop, 400); /* posted and polling */
  CHECK_EQ_INT(s.r.done, 0);
  CHECK_EQ_INT(sbx_cancel(x.c, id), SBX_OK);
  WAITS(&x, &s);
  CHECK_EQ_INT(s.r.code, SBX_ECANCELED);
  CHECK_EQ_INT(s.r.calls, 1);
  ctx_close(&x);
}

/* More snapshots than one page holds: the list follows every page. */
static void snapshot_list_pages(void) {
  struct ctx x;
  ctx_open(&x, 0);
  for (int i = 0; i < 205; i++) {
    char body[128];
    snprintf(body, sizeof body, "{\"name\":\"many-%03d\",\"imageName\":\"alpine:3.20\"}", i);
    REQUIRE(dt_api(&x, "POST", "/snapshots", body, NULL) == 200);
  }
  struct snap_res s;
  snap_list(&x, &s);
  CHECK_EQ_INT(s.r.code, 0);
  CHECK_EQ_INT((int)s.n, 208);
  CHECK_EQ_INT((int)s.n_general, 3);
  CHECK(strncmp(s.names, "many-204,many-203,", 18) == 0); /* newest first */
  CHECK_EQ_INT(emu_stat(&x.emu, "requests", "GET /api/snapshots", NULL), 2);
  ctx_close(&x);
}

/* ---- other providers ---------------------------------------------------------------- */

static void log_line(void *ud, int level, const char *component, sbx_op_id op, const char *msg) {
  snprintf(ud, 256, "%s", msg);
}

static void not_supported(const char *provider) {
  char dir[] = "/tmp/sbx-itest-ns-XXXXXX";
  REQUIRE(mkdtemp(dir) != NULL);
  char logged[256] = "";
  sbx_config cfg;
  sbx_config_init(&cfg);
  cfg.use_env = 0;
  cfg.provider = provider;
  cfg.api_key = "e2b_test_key";
  cfg.local_root = dir;
  cfg.log = log_line;
  cfg.log_ud = logged;
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  sbx_client *c = sbx_client_new(loop, &cfg, NULL, NULL, 0);
  REQUIRE(c != NULL);
  struct res r;
  sbx_op_id id;
  sbx_snapshot_opts o;
  snap_opts(&o, "n", "python:3.12");
  sbx_kv kv[] = {{"a", "b"}};
  CHECK_EQ_INT(sbx_sandbox_archive(c, "sb1", on_done, &r, &id), SBX_ENOTSUP);
  CHECK(strstr(logged, provider) && strstr(logged, "archive is not supported"));
  CHECK_EQ_INT(sbx_sandbox_set_labels(c, "sb1", kv, 1, on_done, &r, &id), SBX_ENOTSUP);
  CHECK_EQ_INT(sbx_snapshot_create(c, &o, on_snapshot, &r, &id), SBX_ENOTSUP);
  CHECK_EQ_INT(sbx_snapshot_get(c, "n", on_snapshot, &r, &id), SBX_ENOTSUP);
  CHECK_EQ_INT(sbx_snapshot_list(c, on_snapshots, &r, &id), SBX_ENOTSUP);
  CHECK_EQ_INT(sbx_snapshot_delete(c, "n", on_done, &r, &id), SBX_ENOTSUP);
  CHECK(strstr(logged, provider) && strstr(logged, "snapshot_delete is not supported"));
  CHECK_EQ_INT(sbx_client_pending(c), 0);
  sbx_client_free(c);
  ev_loop_destroy(loop);
  char cmd[100];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK(system(cmd) == 0);
}
static void not_supported_e2b(void) {
  not_supported("e2b");
}
static void not_supported_local(void) {
  not_supported("local");
}

static const struct test_case cases[] = {
    {"archive_h1", archive_h1},
    {"archive_h2", archive_h2},
    {"labels", labels},
    {"snapshot_h1", snapshot_h1},
    {"snapshot_h2", snapshot_h2},
    {"snapshot_build_fails", snapshot_build_fails},
    {"snapshot_refused", snapshot_refused},
    {"snapshot_wait_bound", snapshot_wait_bound},
    {"snapshot_list_pages", snapshot_list_pages},
    {"not_supported_e2b", not_supported_e2b},
    {"not_supported_local", not_supported_local},
    {NULL, NULL},
};

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  return test_main("daytona_ctl", cases, argc, argv, 90);
}
