/* emu_harness.h - start a fresh sbx-emu on ephemeral ports for one test,
 * talk to its /_emu endpoints, and run a libev loop until a condition holds. */
#ifndef SBX_EMU_HARNESS_H
#define SBX_EMU_HARNESS_H

#include <curl/curl.h>
#include <ev.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sbx.h"
#include "testlib.h"

struct emu {
  pid_t pid;
  int port, tls_port;
  char dir[128];
  char http_url[64];
  char https_url[64];
  char ca[256];
};

static inline const char *emu_bin(void) {
  const char *b = getenv("SBX_EMU");
  return b ? b : "build/sbx-emu";
}

static inline const char *emu_certs(void) {
  const char *c = getenv("SBX_CERTS");
  return c ? c : "build/certs";
}

/* Start the emulator; extra is NULL-terminated extra argv. */
static inline void emu_start(struct emu *e, const char *const *extra) {
  memset(e, 0, sizeof *e);
  snprintf(e->dir, sizeof e->dir, "/tmp/sbx-itest-XXXXXX");
  REQUIRE(mkdtemp(e->dir) != NULL);
  char portfile[256], root[256], cert[256], key[256];
  snprintf(portfile, sizeof portfile, "%s/ports", e->dir);
  snprintf(root, sizeof root, "%s/root", e->dir);
  snprintf(cert, sizeof cert, "%s/server.pem", emu_certs());
  snprintf(key, sizeof key, "%s/server.key", emu_certs());
  snprintf(e->ca, sizeof e->ca, "%s/ca.pem", emu_certs());
  const char *argv[40] = {emu_bin(), "--port", "0",         "--port-file", portfile,
                          "--root",  root,     "--api-key", "e2b_test_key"};
  int n = 9;
  struct stat sb;
  if (stat(cert, &sb) == 0) {
    argv[n++] = "--tls-port";
    argv[n++] = "0";
    argv[n++] = "--tls-cert";
    argv[n++] = cert;
    argv[n++] = "--tls-key";
    argv[n++] = key;
  }
  for (size_t i = 0; extra && extra[i] && n < 38; i++)
    argv[n++] = extra[i];
  argv[n] = NULL;
  e->pid = fork();
  REQUIRE(e->pid >= 0);
  if (e->pid == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) dup2(devnull, 1);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  for (int i = 0; i < 500; i++) { /* up to 5 s */
    FILE *f = fopen(portfile, "r");
    if (f) {
      int ok = fscanf(f, "%d %d", &e->port, &e->tls_port) == 2;
      fclose(f);
      if (ok && e->port > 0) break;
    }
    usleep(10000);
  }
  REQUIRE(e->port > 0);
  snprintf(e->http_url, sizeof e->http_url, "http://127.0.0.1:%d", e->port);
  snprintf(e->https_url, sizeof e->https_url, "https://localhost:%d", e->tls_port);
}

static inline void emu_stop(struct emu *e) {
  if (e->pid > 0) {
    kill(e->pid, SIGTERM);
    int st;
    for (int i = 0; i < 300 && waitpid(e->pid, &st, WNOHANG) == 0; i++)
      usleep(10000);
    kill(e->pid, SIGKILL);
    waitpid(e->pid, &st, 0);
  }
  char cmd[200];
  snprintf(cmd, sizeof cmd, "rm -rf %s", e->dir);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", e->dir);
}

/* Client config pointing at the emulator: tls=0 HTTP/1.1 cleartext, tls=1 h2. */
static inline void emu_config(const struct emu *e, sbx_config *cfg, int tls) {
  sbx_config_init(cfg);
  cfg->use_env = 0;
  cfg->api_key = "e2b_test_key";
  cfg->api_url = tls ? e->https_url : e->http_url;
  cfg->sandbox_url = tls ? e->https_url : e->http_url;
  cfg->ca_file = e->ca;
  cfg->request_timeout_ms = 10000;
  cfg->retry_base_ms = 20;
}

struct emu_reply {
  char *data;
  size_t len;
};

static inline size_t emu_reply_write(char *p, size_t sz, size_t n, void *ud) {
  struct emu_reply *r = ud;
  char *d = realloc(r->data, r->len + sz * n + 1);
  if (!d) return 0;
  memcpy(d + r->len, p, sz * n);
  r->data = d;
  r->len += sz * n;
  r->data[r->len] = 0;
  return sz * n;
}

/* Blocking call to the emulator with an auth header (E2B's X-API-Key or
 * Daytona's Authorization). Returns the status. */
static inline long emu_call_as(const struct emu *e, const char *auth, const char *method,
                               const char *path, const char *body, json_t **out) {
  CURL *h = curl_easy_init();
  char url[512];
  snprintf(url, sizeof url, "%s%s", e->http_url, path);
  struct emu_reply r = {0};
  struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
  hdrs = curl_slist_append(hdrs, auth);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  if (body) curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, emu_reply_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
  long status = 0;
  if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(h);
  if (out) *out = r.data ? json_loads(r.data, 0, NULL) : NULL;
  free(r.data);
  return status;
}

/* Blocking call to the emulator's control endpoints. Returns the status. */
static inline long emu_call(const struct emu *e, const char *method, const char *path,
                            const char *body, json_t **out) {
  return emu_call_as(e, "X-API-Key: e2b_test_key", method, path, body, out);
}

static inline void emu_fault(const struct emu *e, const char *json) {
  REQUIRE(emu_call(e, "POST", "/_emu/faults", json, NULL) / 100 == 2);
}

/* A stats number by path, e.g. ("connections", "h2", "total"). */
static inline long emu_stat(const struct emu *e, const char *a, const char *b, const char *c) {
  json_t *s = NULL;
  emu_call(e, "GET", "/_emu/stats", NULL, &s);
  REQUIRE(s != NULL);
  json_t *v = json_object_get(s, a);
  if (b) v = json_object_get(v, b);
  if (c) v = json_object_get(v, c);
  long r = json_is_integer(v) ? (long)json_integer_value(v) : -1;
  json_decref(s);
  return r;
}

/* Run the loop until *flag becomes non-zero or timeout_s (scaled by
 * test_slow) passes. */
static inline int run_until(struct ev_loop *loop, const int *flag, double timeout_s) {
  double end = ev_time() + timeout_s * test_slow();
  while (!*flag && ev_time() < end)
    ev_run(loop, EVRUN_ONCE);
  return *flag;
}

static inline void emu_noop_timer(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)w, (void)revents;
}

/* Keep the loop turning for ms (lets streams make progress). */
static inline void wait_ms_loop(struct ev_loop *loop, double ms) {
  double end = ev_time() + ms / 1000.0;
  ev_timer t;
  ev_timer_init(&t, emu_noop_timer, 0.01, 0.01);
  ev_timer_start(loop, &t);
  while (ev_time() < end)
    ev_run(loop, EVRUN_ONCE);
  ev_timer_stop(loop, &t);
}

#endif
