/* emu_local.c - real exec mode: every emulated sandbox is backed by a
 * local-provider sandbox (libsbx's public API on the emulator's loop), so
 * process handling exists once, in providers/local*.c. Lifetimes stay the
 * emulator's; the local sandbox gets a longer one as a backstop only. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emu_app.h"

#define DRAIN_S 5.0 /* at shutdown: how long kills and exits may take */

static void log_line(void *ud, int level, const char *component, sbx_op_id op, const char *msg) {
  const struct emu_app *app = ud;
  if (level <= SBX_LOG_WARN || (app->verbose && level <= SBX_LOG_INFO))
    fprintf(stderr, "sbx-emu: %s: %s\n", component, msg);
}

int emu_local_open(struct emu_app *app) {
  size_t n = strlen(app->root) + sizeof "/local";
  app->local_root = malloc(n);
  if (!app->local_root) return -1;
  snprintf(app->local_root, n, "%s/local", app->root);
  sbx_config cfg;
  sbx_config_init(&cfg);
  cfg.use_env = 0;
  cfg.provider = "local";
  cfg.local_root = app->local_root;
  cfg.max_output = SIZE_MAX; /* envd streams output without a cap */
  cfg.log = log_line;
  cfg.log_ud = app;
  sbx_status st;
  char err[256] = "";
  app->local = sbx_client_new(app->loop, &cfg, &st, err, sizeof err);
  if (!app->local) fprintf(stderr, "sbx-emu: cannot start the local provider: %s\n", err);
  return app->local ? 0 : -1;
}

static void tick(struct ev_loop *loop, ev_timer *w, int revents) {}

void emu_local_close(struct emu_app *app) {
  if (!app->local) return;
  /* Kills were started by emu_store_shutdown; let them and the exits they
   * cause complete, then free (which SIGKILLs and reaps any straggler). */
  ev_timer t;
  ev_timer_init(&t, tick, 0.05, 0.05);
  ev_timer_start(app->loop, &t);
  double end = ev_time() + DRAIN_S;
  while (sbx_client_pending(app->local) > 0 && ev_time() < end)
    ev_run(app->loop, EVRUN_ONCE);
  ev_timer_stop(app->loop, &t);
  sbx_client_free(app->local);
  app->local = NULL;
  if (rmdir(app->local_root) < 0 && errno != ENOENT && app->verbose)
    fprintf(stderr, "sbx-emu: cannot remove %s: %s\n", app->local_root, strerror(errno));
  free(app->local_root);
  app->local_root = NULL;
}

/* ---- async calls: a trampoline from the libsbx callback to fn ---- */

struct call {
  struct emu_app *app;
  emu_local_fn fn;
  void *ud;
};

static struct call *call_new(struct emu_app *app, emu_local_fn fn, void *ud) {
  struct call *k = malloc(sizeof *k);
  if (k) *k = (struct call){app, fn, ud};
  return k;
}

static void call_end(struct call *k, const sbx_error *err, const char *lid) {
  if (k->fn)
    k->fn(k->app, err, lid, k->ud);
  else if (err)
    log_line(k->app, SBX_LOG_WARN, "local", 0, err->message);
  free(k);
}

static void on_sandbox(sbx_client *c, sbx_op_id op, const sbx_error *err,
                       const sbx_sandbox_info *info, void *ud) {
  call_end(ud, err, info ? info->id : NULL);
}

static void on_done(sbx_client *c, sbx_op_id op, const sbx_error *err, void *ud) {
  call_end(ud, err, NULL);
}

void emu_local_log_done(sbx_client *c, sbx_op_id op, const sbx_error *err, void *ud) {
  const struct emu_app *app = ud; /* e.g. a signal racing the exit: expected, so quiet */
  if (err && app->verbose) log_line(ud, SBX_LOG_INFO, "local", op, err->message);
}

/* A start call refused at once: no callback follows. */
static int refused(struct call *k) {
  free(k);
  return -1;
}

int emu_local_create(struct emu_app *app, const struct emu_sandbox *sb, long lifetime_s,
                     emu_local_fn fn, void *ud) {
  /* envd's environment: the create's envs, then E2B_SANDBOX=true over them */
  size_t n = json_object_size(sb->env_vars), i = 0;
  sbx_kv *envs = calloc(n + 1, sizeof *envs);
  struct call *k = call_new(app, fn, ud);
  if (!envs || !k) {
    free(envs);
    return refused(k);
  }
  const char *key;
  json_t *v;
  json_object_foreach(sb->env_vars, key, v) {
    if (strcmp(key, "E2B_SANDBOX") != 0) envs[i++] = (sbx_kv){key, json_string_value(v)};
  }
  envs[i++] = (sbx_kv){"E2B_SANDBOX", "true"};
  sbx_kv meta = {"sbx-emu.sandbox", sb->id}; /* which emulated sandbox it backs */
  sbx_create_opts o;
  sbx_create_opts_init(&o);
  o.timeout_s = lifetime_s;
  o.envs = envs;
  o.n_envs = i;
  o.metadata = &meta;
  o.n_metadata = 1;
  sbx_op_id id;
  sbx_status st = sbx_sandbox_create(app->local, &o, on_sandbox, k, &id);
  free(envs); /* copied by the call */
  return st == SBX_OK ? 0 : refused(k);
}

int emu_local_pause(struct emu_app *app, const char *lid, emu_local_fn fn, void *ud) {
  struct call *k = call_new(app, fn, ud);
  sbx_op_id id;
  if (!k) return -1;
  sbx_status st = sbx_sandbox_pause(app->local, lid, on_done, k, &id);
  return st == SBX_OK ? 0 : refused(k);
}

int emu_local_resume(struct emu_app *app, const char *lid, emu_local_fn fn, void *ud) {
  struct call *k = call_new(app, fn, ud);
  sbx_op_id id;
  if (!k) return -1;
  /* timeout 0: the lifetime is mirrored separately (emu_sb_set_end) */
  sbx_status st = sbx_sandbox_connect(app->local, lid, 0, 0, on_sandbox, k, &id);
  return st == SBX_OK ? 0 : refused(k);
}

void emu_local_lifetime(struct emu_app *app, const char *lid, long lifetime_s) {
  sbx_op_id id;
  sbx_sandbox_set_timeout(app->local, lid, lifetime_s, emu_local_log_done, app, &id);
}

void emu_local_kill(struct emu_app *app, const char *lid) {
  sbx_op_id id;
  sbx_sandbox_kill(app->local, lid, emu_local_log_done, app, &id);
}
