/* dt_harness.h - what the Daytona integration tests share: a fresh sbx-emu,
 * a loop and a daytona client on its /api (cleartext or TLS). */
#ifndef SBX_TESTS_DT_HARNESS_H
#define SBX_TESTS_DT_HARNESS_H

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

/* A client with key and, when non-zero, a cap on captured output. */
static inline sbx_client *dt_client(struct ctx *x, int tls, const char *key, size_t max_output) {
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

static inline void dt_open(struct ctx *x, int tls, size_t max_output) {
  memset(x, 0, sizeof *x);
  emu_start(&x->emu, NULL);
  x->loop = ev_loop_new(EVFLAG_AUTO);
  x->c = dt_client(x, tls, "e2b_test_key", max_output);
}

static inline void ctx_close(struct ctx *x) {
  sbx_client_free(x->c);
  ev_loop_destroy(x->loop);
  emu_stop(&x->emu);
}

#endif
