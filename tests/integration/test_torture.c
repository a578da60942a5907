/* test_torture.c - allocation torture (curl's torture mode, nghttp2's
 * failmalloc): a client whose sbx_allocator fails one allocation, the Nth,
 * runs the cycle client_new -> create -> exec -> kill -> client_free, for
 * every N until the cycle no longer reaches N. Then the same with every
 * allocation from the Nth on failing (memory stays short).
 *
 * Each run must end cleanly:
 *   - no crash and no hang (every op completes within its wait);
 *   - every failure is SBX_ENOMEM (start status, completion, or
 *     sbx_client_new), and a failed allocation is never swallowed: when
 *     one failed, some call reported SBX_ENOMEM, or, for a cleanup the
 *     library does on its own after the op's result is known (deleting a
 *     Daytona exec's session), a warning naming the lack of memory was
 *     logged;
 *   - a cycle that does succeed is right (the command's output and exit);
 *   - after sbx_client_free every block the hooks gave is back, none was
 *     freed twice or came from elsewhere, none was asked for 0 bytes;
 *   - no sandbox is left behind that the caller could not know of: a create
 *     that fails after the provider made the sandbox deletes it before it
 *     completes (call_hooks.build_undo; the reply's buffer is allocated
 *     before the request goes out). With memory short for good (the second
 *     pass) that delete cannot be sent either: such sandboxes are counted
 *     and printed, not failed, as they live on until their timeout.
 *
 * One case per provider: local, e2b (h2 over TLS and HTTP/1.1), daytona;
 * then a wider cycle on each (labels and envs at create, a file written,
 * read back and listed, the sandbox's info, the sandbox list).
 * SBX_TORTURE_STEP=k tries every k-th N (default 1); an argument picks
 * cases by name as in every test here. To debug one N: SBX_TORTURE_ONLY=N,
 * with SBX_FAILMALLOC_TRACE=1 for a backtrace of the failing call and
 * SBX_TORTURE_LOG=1 for the client's log and state transitions (or a
 * breakpoint in gdb on fm_should_fail when fm->calls == N). */
#include <stdarg.h>

#include "../unit/failmalloc.h"
#include "emu_harness.h"
#include "op_results.h"

struct target {
  const char *name;
  const char *provider;
  int tls;
  int wide;       /* the wider cycle: labels, envs, files, info, list (see cycle) */
  struct emu emu; /* remote providers */
  char root[64];  /* local: the sandboxes' root */
  char api[96];   /* daytona: the emulator's API URL */
  struct ev_loop *loop;
};

struct outcome {
  int nomem;      /* some call or completion reported SBX_ENOMEM */
  int bad;        /* a failure that is not SBX_ENOMEM, or a wrong success */
  int hang;       /* an op did not complete in time */
  int created;    /* the caller learned a sandbox id */
  int killed;     /* ... and its kill succeeded */
  int completed;  /* the whole cycle succeeded */
  int logged_oom; /* a warning or error named the lack of memory */
  char why[400];  /* the first problem */
  char sid[64];
};

/* Every line is checked; printed with SBX_TORTURE_LOG=1. */
static void log_line(void *ud, int level, const char *comp, sbx_op_id op, const char *msg) {
  int *logged_oom = ud;
  if (level <= SBX_LOG_WARN && (strstr(msg, "out of memory") || strstr(msg, "Out of memory")))
    *logged_oom = 1;
  if (getenv("SBX_TORTURE_LOG")) fprintf(stderr, "    [%s] %s\n", comp, msg);
}

static void target_config(struct target *t, sbx_config *cfg) {
  if (strcmp(t->provider, "local") == 0) {
    sbx_config_init(cfg);
    cfg->use_env = 0;
    cfg->provider = "local";
    cfg->local_root = t->root;
  } else {
    emu_config(&t->emu, cfg, t->tls);
    cfg->provider = t->provider;
    if (strcmp(t->provider, "daytona") == 0) {
      snprintf(t->api, sizeof t->api, "%s/api", t->tls ? t->emu.https_url : t->emu.http_url);
      cfg->api_url = t->api;
      cfg->sandbox_url = NULL;
    }
  }
  cfg->rate_create = cfg->rate_lifecycle = 0;
  cfg->max_retries = 1;
  cfg->trace = getenv("SBX_TORTURE_LOG") != NULL; /* debugging: transitions too */
}

static void target_open(struct target *t, const char *name, const char *provider, int tls) {
  memset(t, 0, sizeof *t);
  t->name = name;
  t->provider = provider;
  t->tls = tls;
  if (strcmp(provider, "local") == 0) {
    snprintf(t->root, sizeof t->root, "/tmp/sbx-torture-XXXXXX");
    REQUIRE(mkdtemp(t->root) != NULL);
  } else {
    emu_start(&t->emu, NULL);
  }
  t->loop = ev_loop_new(EVFLAG_AUTO);
}

static void target_close(struct target *t) {
  ev_loop_destroy(t->loop);
  if (strcmp(t->provider, "local") == 0) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->root);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", t->root);
  } else {
    emu_stop(&t->emu);
  }
}

/* Note a problem (the first one is kept). */
__attribute__((format(printf, 2, 3))) static void bad(struct outcome *o, const char *fmt, ...) {
  if (!o->bad) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->why, sizeof o->why, fmt, ap);
    va_end(ap);
  }
  o->bad = 1;
}

/* A start call's status: OK goes on, ENOMEM is clean, anything else is not. */
static int started(struct outcome *o, const char *what, sbx_status st, sbx_client *c) {
  if (st == SBX_OK) return 1;
  if (st == SBX_ENOMEM)
    o->nomem = 1;
  else
    bad(o, "%s returned %s (%s)", what, sbx_status_name(st), sbx_last_error(c));
  return 0;
}

/* Wait for r; 1 when it succeeded. */
static int finished(struct target *t, struct outcome *o, const char *what, struct res *r) {
  if (!run_until(t->loop, &r->done, 30.0)) {
    o->hang = 1;
    bad(o, "%s never completed", what);
    return 0;
  }
  if (r->calls != 1) bad(o, "%s completed %d times", what, r->calls);
  if (!r->code) return 1;
  if (r->code == SBX_ENOMEM)
    o->nomem = 1;
  else
    bad(o, "%s failed with %s: %s", what, sbx_status_name(r->code), r->msg);
  return 0;
}

/* Upload a file, read it back, list its directory, get the sandbox's info
 * and list sandboxes: 1 when all of it worked and was right. */
static int wide_steps(struct target *t, sbx_client *c, struct outcome *o) {
  sbx_op_id id;
  struct res r;
  int ok = 1;
  const sbx_upload up = {.path = "/tmp/torture.txt", .data = "payload", .len = 7};
  memset(&r, 0, sizeof r);
  ok &= started(o, "sbx_file_write", sbx_file_write(c, o->sid, &up, on_entries, &r, &id), c) &&
        finished(t, o, "file write", &r);
  const sbx_download dl = {.path = "/tmp/torture.txt", .on_data = on_bytes};
  memset(&r, 0, sizeof r);
  if (ok && started(o, "sbx_file_read", sbx_file_read(c, o->sid, &dl, on_done, &r, &id), c) &&
      finished(t, o, "file read", &r)) {
    if (strcmp(r.out, "payload") != 0) bad(o, "file read succeeded with '%.40s'", r.out);
  } else {
    ok = 0;
  }
  memset(&r, 0, sizeof r);
  if (started(o, "sbx_fs_list", sbx_fs_list(c, o->sid, "/tmp", 1, on_entries, &r, &id), c) &&
      finished(t, o, "list files", &r)) {
    if (ok && !strstr(r.names, "torture.txt,"))
      bad(o, "list files succeeded without the file (%.60s)", r.names);
  } else {
    ok = 0;
  }
  memset(&r, 0, sizeof r);
  if (started(o, "sbx_sandbox_info_get", sbx_sandbox_info_get(c, o->sid, on_sandbox, &r, &id), c) &&
      finished(t, o, "info", &r)) {
    if (strcmp(r.id, o->sid) != 0 || strcmp(r.meta, "torture") != 0)
      bad(o, "info succeeded with id '%s', user '%s'", r.id, r.meta);
  } else {
    ok = 0;
  }
  memset(&r, 0, sizeof r);
  if (started(o, "sbx_sandbox_list", sbx_sandbox_list(c, NULL, on_list, &r, &id), c) &&
      finished(t, o, "list", &r)) {
    if (r.n != 1 || strcmp(r.ids[0], o->sid) != 0)
      bad(o, "list succeeded with %zu sandboxes ('%s')", r.n, r.ids[0]);
  } else {
    ok = 0;
  }
  return ok;
}

static void cycle(struct target *t, struct failmalloc *fm, struct outcome *o) {
  memset(o, 0, sizeof *o);
  sbx_config cfg;
  target_config(t, &cfg);
  cfg.allocator = fm_allocator(fm);
  cfg.log = log_line;
  cfg.log_ud = &o->logged_oom;
  sbx_status st = SBX_OK;
  char errbuf[256] = "";
  sbx_client *c = sbx_client_new(t->loop, &cfg, &st, errbuf, sizeof errbuf);
  if (!c) {
    if (st == SBX_ENOMEM)
      o->nomem = 1;
    else
      bad(o, "sbx_client_new failed with %s: %s", sbx_status_name(st), errbuf);
    return;
  }
  sbx_op_id id;
  struct res r;
  memset(&r, 0, sizeof r);
  sbx_create_opts co;
  sbx_create_opts_init(&co);
  /* More labels than an info holds inline: delivering them allocates. */
  static const sbx_kv meta[] = {{"user", "torture"}, {"run", "alloc"}, {"l1", "1"}, {"l2", "2"},
                                {"l3", "3"},         {"l4", "4"},      {"l5", "5"}, {"l6", "6"},
                                {"l7", "7"},         {"l8", "8"}};
  static const sbx_kv envs[] = {{"FOO", "bar"}};
  if (t->wide) {
    co.metadata = meta;
    co.n_metadata = sizeof meta / sizeof meta[0];
    co.envs = envs;
    co.n_envs = 1;
  }
  if (started(o, "sbx_sandbox_create", sbx_sandbox_create(c, &co, on_sandbox, &r, &id), c) &&
      finished(t, o, "create", &r)) {
    o->created = 1;
    snprintf(o->sid, sizeof o->sid, "%s", r.id);
  }
  int ran = 0;
  if (o->created) {
    sbx_exec_opts eo;
    sbx_exec_opts_init(&eo);
    eo.cmd = t->wide ? "echo torture $FOO" : "echo torture";
    const char *want = t->wide ? "torture bar\n" : "torture\n";
    memset(&r, 0, sizeof r);
    if (started(o, "sbx_exec_start", sbx_exec_start(c, o->sid, &eo, &exec_cbs, &r, &id), c) &&
        finished(t, o, "exec", &r)) {
      ran = 1;
      if (r.exit_code != 0 || strcmp(r.out, want) != 0)
        bad(o, "exec succeeded with exit %d and output '%.40s'", r.exit_code, r.out);
    }
    if (t->wide) ran &= wide_steps(t, c, o);
    memset(&r, 0, sizeof r);
    if (started(o, "sbx_sandbox_kill", sbx_sandbox_kill(c, o->sid, on_done, &r, &id), c) &&
        finished(t, o, "kill", &r))
      o->killed = 1;
  }
  o->completed = o->created && ran && o->killed;
  sbx_client_free(c);
}

/* Sandboxes still there after a cycle, killed with a plain client. Returns
 * how many there were besides `known` (the one the cycle created and could
 * not kill, which the caller knows of). */
static int sweep(struct target *t, const char *known) {
  sbx_config cfg;
  target_config(t, &cfg);
  sbx_status st;
  sbx_client *c = sbx_client_new(t->loop, &cfg, &st, NULL, 0);
  REQUIRE(c);
  struct res r;
  memset(&r, 0, sizeof r);
  sbx_op_id id;
  REQUIRE(sbx_sandbox_list(c, NULL, on_list, &r, &id) == SBX_OK);
  REQUIRE(run_until(t->loop, &r.done, 30.0) && r.code == 0);
  int unknown = 0;
  for (size_t i = 0; i < r.n && i < 8; i++) {
    if (!known || strcmp(r.ids[i], known) != 0) unknown++;
    struct res k;
    memset(&k, 0, sizeof k);
    char sid[64];
    snprintf(sid, sizeof sid, "%s", r.ids[i]);
    REQUIRE(sbx_sandbox_kill(c, sid, on_done, &k, &id) == SBX_OK);
    REQUIRE(run_until(t->loop, &k.done, 30.0));
  }
  sbx_client_free(c);
  return unknown;
}

/* One run with allocation n failing; 1 when it was clean. */
static int run_one(struct target *t, long n, int persistent, long *calls, long *failed,
                   long *orphaned) {
  struct failmalloc fm;
  struct outcome o;
  fm_reset(&fm, n, persistent);
  cycle(t, &fm, &o);
  *calls = fm.calls;
  *failed = fm.failed;
  int ok = !o.bad;
  const char *mode = persistent ? "from" : "at";
  if (fm.failed && !o.nomem && !o.logged_oom) {
    fprintf(stderr, "  %s: failing allocation %s %ld: swallowed: no SBX_ENOMEM, no warning%s\n",
            t->name, mode, n, o.completed ? " (the cycle succeeded)" : "");
    ok = 0;
  }
  if (o.bad) fprintf(stderr, "  %s: failing allocation %s %ld: %s\n", t->name, mode, n, o.why);
  if (fm.live || fm.bad_frees || fm.zero_size) {
    fprintf(stderr,
            "  %s: failing allocation %s %ld: %ld blocks (%zu bytes) not freed, %ld bad frees, "
            "%ld zero-size requests\n",
            t->name, mode, n, fm.live, fm.live_bytes, fm.bad_frees, fm.zero_size);
    ok = 0;
  }
  int orphans = sweep(t, o.created && !o.killed ? o.sid : NULL);
  if (orphans && !persistent) {
    fprintf(stderr, "  %s: failing allocation %s %ld: %d sandbox(es) left that no call returned\n",
            t->name, mode, n, orphans);
    ok = 0;
  }
  *orphaned += orphans;
  if (o.hang) ok = 0;
  return ok;
}

static long torture_step(void) {
  const char *s = getenv("SBX_TORTURE_STEP");
  long k = s ? atol(s) : 1;
  return k > 0 ? k : 1;
}

static void torture(const char *name, const char *provider, int tls, int wide) {
  struct target t;
  target_open(&t, name, provider, tls);
  t.wide = wide;
  long calls = 0, failed = 0, orphaned = 0;
  /* The cycle without failures: it works, and how many allocations it makes. */
  CHECK(run_one(&t, 0, 0, &calls, &failed, &orphaned));
  REQUIRE(calls > 0);
  long base = calls, step = torture_step(), runs = 0, bad_runs = 0;
  const char *only = getenv("SBX_TORTURE_ONLY"); /* debugging: this N alone, failing once */
  if (only) {
    CHECK(run_one(&t, atol(only), 0, &calls, &failed, &orphaned));
    target_close(&t);
    return;
  }
  for (int persistent = 0; persistent <= 1; persistent++) {
    /* The count varies a little from run to run (how replies are cut): go
     * on until three runs in a row no longer reach n. */
    int beyond = 0;
    for (long n = 1; beyond < 3 && bad_runs < 20; n += step) {
      int ok = run_one(&t, n, persistent, &calls, &failed, &orphaned);
      runs++;
      if (!ok) bad_runs++;
      beyond = failed ? 0 : beyond + 1;
      if (n > 100000) break; /* never: a runaway count */
    }
  }
  printf("  %s: %ld allocations in a clean cycle; %ld failing runs checked, %ld not clean; "
         "%ld sandboxes left with memory short for good\n",
         name, base, runs, bad_runs, orphaned);
  CHECK_EQ_INT(bad_runs, 0);
  target_close(&t);
}

/* ---- a cancel during the undo of a create ------------------------------------ */

struct undo_watch {
  sbx_client *c;
  sbx_op_id create;
  int undoing; /* the create logged that it is deleting what it made */
};

static void undo_log(void *ud, int level, const char *comp, sbx_op_id op, const char *msg) {
  struct undo_watch *w = ud;
  if (strstr(msg, "undoing it")) {
    w->undoing = 1;
    sbx_cancel(w->c, w->create); /* must wait for the delete, not drop it */
  }
}

/* Each allocation of a create failing in turn; whenever the create starts
 * to delete what the server made, it is cancelled at once. It must still
 * end with SBX_ENOMEM after its delete, and leave no sandbox behind. */
static void undo_waits_for_cancel(const char *name, const char *provider) {
  struct target t;
  target_open(&t, name, provider, 1);
  int undos = 0, bad_runs = 0, beyond = 0;
  for (long n = 1; beyond < 3 && n < 1000; n++) {
    struct failmalloc fm;
    fm_reset(&fm, n, 0);
    sbx_config cfg;
    target_config(&t, &cfg);
    cfg.allocator = fm_allocator(&fm);
    struct undo_watch w = {0};
    cfg.log = undo_log;
    cfg.log_ud = &w;
    w.c = sbx_client_new(t.loop, &cfg, NULL, NULL, 0);
    if (!w.c) continue;
    struct res r;
    memset(&r, 0, sizeof r);
    char known[64] = ""; /* created, and its kill failed: the caller knows of it */
    if (sbx_sandbox_create(w.c, NULL, on_sandbox, &r, &w.create) == SBX_OK) {
      REQUIRE(run_until(t.loop, &r.done, 30.0));
      if (w.undoing && r.code != SBX_ENOMEM) {
        fprintf(stderr, "  %s: failing allocation at %ld: cancelled undo ended with %s\n", name, n,
                sbx_status_name(r.code));
        bad_runs++;
      }
      if (!r.code) { /* the create worked: kill it */
        struct res k;
        memset(&k, 0, sizeof k);
        sbx_op_id id;
        if (sbx_sandbox_kill(w.c, r.id, on_done, &k, &id) == SBX_OK)
          REQUIRE(run_until(t.loop, &k.done, 30.0));
        if (!k.done || k.code) snprintf(known, sizeof known, "%s", r.id);
      }
    }
    sbx_client_free(w.c);
    undos += w.undoing;
    beyond = fm.failed ? 0 : beyond + 1;
    int left = sweep(&t, known[0] ? known : NULL);
    if (left) {
      fprintf(stderr, "  %s: failing allocation at %ld: %d sandbox(es) left\n", name, n, left);
      bad_runs++;
    }
  }
  printf("  %s: %d creates deleted what they made though cancelled meanwhile\n", name, undos);
  CHECK(undos > 0);
  CHECK_EQ_INT(bad_runs, 0);
  target_close(&t);
}

static void undo_cancel_e2b(void) {
  undo_waits_for_cancel("undo-cancel-e2b", "e2b");
}

static void undo_cancel_daytona(void) {
  undo_waits_for_cancel("undo-cancel-daytona", "daytona");
}

static void torture_local(void) {
  torture("local", "local", 0, 0);
}

static void torture_e2b_h2(void) {
  torture("e2b-h2", "e2b", 1, 0);
}

static void torture_e2b_h1(void) {
  torture("e2b-h1", "e2b", 0, 0);
}

static void torture_daytona_h2(void) {
  torture("daytona-h2", "daytona", 1, 0);
}

static void torture_local_wide(void) {
  torture("local-wide", "local", 0, 1);
}

static void torture_e2b_h2_wide(void) {
  torture("e2b-h2-wide", "e2b", 1, 1);
}

static void torture_daytona_h2_wide(void) {
  torture("daytona-h2-wide", "daytona", 1, 1);
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  static const struct test_case cases[] = {{"local", torture_local},
                                           {"e2b_h2", torture_e2b_h2},
                                           {"e2b_h1", torture_e2b_h1},
                                           {"daytona_h2", torture_daytona_h2},
                                           {"local_wide", torture_local_wide},
                                           {"e2b_h2_wide", torture_e2b_h2_wide},
                                           {"daytona_h2_wide", torture_daytona_h2_wide},
                                           {"undo_cancel_e2b", undo_cancel_e2b},
                                           {"undo_cancel_daytona", undo_cancel_daytona},
                                           {NULL, NULL}};
  return test_main("test_torture", cases, argc, argv, 600);
}
