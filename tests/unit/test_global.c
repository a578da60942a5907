/* test_global.c - sbx_global_init/cleanup and the reference every client
 * holds on libcurl's global state; the version macros against
 * sbx_version(). Whether libcurl is initialised is observed through
 * curl_global_init_mem, which installs its allocators only when it is not. */
#include <curl/curl.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbx.h"
#include "testlib.h"

static int n_allocs;
static void *count_malloc(size_t n) {
  n_allocs++;
  return malloc(n);
}
static void *count_calloc(size_t a, size_t b) {
  n_allocs++;
  return calloc(a, b);
}
static void *count_realloc(void *p, size_t n) {
  return realloc(p, n);
}
static char *count_strdup(const char *s) {
  n_allocs++;
  return strdup(s);
}

/* 1 when libcurl's global state is set up (someone holds a reference). */
static int curl_initialised(void) {
  n_allocs = 0;
  if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, count_malloc, free, count_realloc, count_strdup,
                           count_calloc) != CURLE_OK)
    return -1;
  CURL *e = curl_easy_init(); /* allocates through our functions only if installed */
  curl_easy_cleanup(e);
  curl_global_cleanup();
  return n_allocs == 0;
}

static sbx_client *e2b_client(struct ev_loop *loop) {
  sbx_config cfg;
  sbx_config_init(&cfg);
  cfg.use_env = 0;
  cfg.provider = "e2b";
  cfg.api_key = "test-key";
  cfg.api_url = "http://127.0.0.1:1"; /* nothing listens: refused at once */
  cfg.max_retries = 0;
  sbx_status st;
  char err[200];
  sbx_client *c = sbx_client_new(loop, &cfg, &st, err, sizeof err);
  if (!c) fprintf(stderr, "  sbx_client_new: %s\n", err);
  return c;
}

static void global_init_takes_a_reference(void) {
  CHECK_EQ_INT(curl_initialised(), 0);
  CHECK_EQ_INT(sbx_global_init(SBX_GLOBAL_DEFAULT), SBX_OK);
  CHECK_EQ_INT(curl_initialised(), 1);
  sbx_global_cleanup();
  CHECK_EQ_INT(curl_initialised(), 0);
}

static void global_init_nests(void) {
  CHECK_EQ_INT(sbx_global_init(SBX_GLOBAL_DEFAULT), SBX_OK);
  CHECK_EQ_INT(sbx_global_init(SBX_GLOBAL_DEFAULT), SBX_OK);
  sbx_global_cleanup();
  CHECK_EQ_INT(curl_initialised(), 1);
  sbx_global_cleanup();
  CHECK_EQ_INT(curl_initialised(), 0);
}

static void global_init_rejects_reserved_flags(void) {
  CHECK_EQ_INT(sbx_global_init(1), SBX_EINVAL);
  CHECK_EQ_INT(sbx_global_init(-1), SBX_EINVAL);
  CHECK_EQ_INT(curl_initialised(), 0); /* a refused call takes no reference */
}

struct list_result {
  int calls;
  int code;
};

static void on_list(sbx_client *c, sbx_op_id op, const sbx_error *err,
                    const sbx_sandbox_info *items, size_t n, const char *next_token, void *ud) {
  struct list_result *r = ud;
  r->calls++;
  r->code = err ? err->code : SBX_OK;
}

/* Without sbx_global_init each client holds a reference: libcurl is set up
 * while one lives, torn down after the last, and set up again for the next,
 * which still makes requests. */
static void client_holds_a_reference(void) {
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  sbx_client *a = e2b_client(loop);
  REQUIRE(a);
  CHECK_EQ_INT(curl_initialised(), 1);
  sbx_client *b = e2b_client(loop);
  REQUIRE(b);
  sbx_client_free(a);
  CHECK_EQ_INT(curl_initialised(), 1);
  sbx_client_free(b);
  CHECK_EQ_INT(curl_initialised(), 0);

  sbx_client *c = e2b_client(loop);
  REQUIRE(c);
  struct list_result r = {0, 0};
  sbx_op_id id = 0;
  CHECK_EQ_INT(sbx_sandbox_list(c, NULL, on_list, &r, &id), SBX_OK);
  CHECK(id != 0);
  CHECK_EQ_INT(r.calls, 0); /* never inside the start call */
  ev_run(loop, 0);
  CHECK_EQ_INT(r.calls, 1);
  CHECK_EQ_INT(r.code, SBX_ETRANSPORT);
  sbx_client_free(c);
  CHECK_EQ_INT(curl_initialised(), 0);
  ev_loop_destroy(loop);
}

static void version_matches_header(void) {
  CHECK_EQ_STR(sbx_version(), SBX_VERSION);
  char buf[32];
  snprintf(buf, sizeof buf, "%d.%d.%d", SBX_VERSION_MAJOR, SBX_VERSION_MINOR, SBX_VERSION_PATCH);
  CHECK_EQ_STR(buf, SBX_VERSION);
  CHECK_EQ_INT(SBX_VERSION_NUM,
               SBX_VERSION_MAJOR * 65536 + SBX_VERSION_MINOR * 256 + SBX_VERSION_PATCH);
}

static const struct test_case cases[] = {
    {"global_init_takes_a_reference", global_init_takes_a_reference},
    {"global_init_nests", global_init_nests},
    {"global_init_rejects_reserved_flags", global_init_rejects_reserved_flags},
    {"client_holds_a_reference", client_holds_a_reference},
    {"version_matches_header", version_matches_header},
    {NULL, NULL},
};

int main(int argc, char **argv) {
  return test_main("global", cases, argc, argv, 30);
}
