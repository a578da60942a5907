/* dt_harness.h - what the Daytona integration tests share: a fresh sbx-emu
 * with a libsbx client on the daytona provider pointed at its /api, the
 * emulator's own view of a sandbox, and creating one. */
#ifndef SBX_DT_HARNESS_H
#define SBX_DT_HARNESS_H

#include "emu_harness.h"
#include "op_results.h"

struct ctx {
  struct emu emu;
  struct ev_loop *loop;
  sbx_client *c;
  char api[96];
};

static inline void dt_config(struct ctx *x, sbx_config *cfg, int tls, const char *key) {
  emu_config(&x->emu, cfg, tls);
  snprintf(x->api, sizeof x->api, "%s/api", tls ? x->emu.https_url : x->emu.http_url);
  cfg->provider = "daytona";
  cfg->api_url = x->api;
  cfg->sandbox_url = NULL;
  cfg->api_key = key;
}

/* max_output: a cap on captured output per exec, 0 for the default. */
static inline sbx_client *new_client_cap(struct ctx *x, int tls, const char *key,
                                         size_t max_output) {
  sbx_config cfg;
  dt_config(x, &cfg, tls, key);
  if (max_output) cfg.max_output = max_output;
  sbx_status st;
  char errbuf[256];
  sbx_client *c = sbx_client_new(x->loop, &cfg, &st, errbuf, sizeof errbuf);
  REQUIRE(c != NULL);
  CHECK_EQ_STR(sbx_client_provider(c), "daytona");
  return c;
}

static inline sbx_client *new_client(struct ctx *x, int tls, const char *key) {
  return new_client_cap(x, tls, key, 0);
}

/* extra: more sbx-emu arguments (NULL-terminated), or NULL. */
static inline void ctx_open_with(struct ctx *x, int tls, const char *const *extra) {
  memset(x, 0, sizeof *x);
  emu_start(&x->emu, extra);
  x->loop = ev_loop_new(EVFLAG_AUTO);
  x->c = new_client(x, tls, "e2b_test_key");
}

static inline void ctx_open(struct ctx *x, int tls) {
  ctx_open_with(x, tls, NULL);
}

static inline void ctx_close(struct ctx *x) {
  sbx_client_free(x->c);
  ev_loop_destroy(x->loop);
  emu_stop(&x->emu);
}

#define WAIT(x, r) REQUIRE(run_until((x)->loop, &(r)->done, 20.0))

/* A blocking call to the emulator's Daytona API (path after /api). */
static inline long dt_api(const struct ctx *x, const char *method, const char *path,
                          const char *body, json_t **out) {
  char full[400];
  snprintf(full, sizeof full, "/api%.390s", path);
  return emu_call_as(&x->emu, "Authorization: Bearer e2b_test_key", method, full, body, out);
}

/* The emulator's view of a sandbox (GET /api/sandbox/{id}). */
static inline json_t *emu_dto(const struct ctx *x, const char *id) {
  char path[256];
  snprintf(path, sizeof path, "/sandbox/%s", id);
  json_t *d = NULL;
  long status = dt_api(x, "GET", path, NULL, &d);
  if (status != 200) json_decref(d);
  REQUIRE(status == 200 && d != NULL);
  return d;
}

static inline void create_sandbox(struct ctx *x, const char *user, int auto_pause, char *id_out) {
  struct res r = {0};
  sbx_create_opts o;
  sbx_create_opts_init(&o);
  sbx_kv meta[] = {{"user", user}, {"sbx.run", "itest"}};
  o.metadata = meta;
  o.n_metadata = 2;
  o.timeout_s = 120;
  o.auto_pause = auto_pause;
  sbx_op_id id;
  REQUIRE(sbx_sandbox_create(x->c, &o, on_sandbox, &r, &id) == SBX_OK);
  r.returned = 1;
  WAIT(x, &r);
  REQUIRE(r.code == 0);
  CHECK(!r.early);
  CHECK_EQ_INT(r.calls, 1);
  CHECK_EQ_STR(r.state, "running");
  CHECK_EQ_STR(r.meta, user);
  strcpy(id_out, r.id);
}

#endif
