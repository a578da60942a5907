/* sbxload.c - h2load for sandboxes: drives a workload through libsbx's
 * public API on one libev loop and reports per-phase latency percentiles,
 * errors by class, client CPU per op, memory and loop lag.
 * See `sbxload --help` and README.md. */
#include <ev.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"
#include "proc_stats.h"

static void log_line(void *ud, int level, const char *comp, sbx_op_id op, const char *msg) {
  if (level <= SBX_LOG_WARN) fprintf(stderr, "sbxload: %s: %s\n", comp, msg);
}

/* --warmup K: K tasks of the run's shape on the same client, unmeasured,
 * then the peak-RSS mark is reset, so the figures count from a warm client
 * like the SDK driver's (bench/compare_sdk.mjs warms up the same way). */
static int warm_up(const struct load *L) {
  struct load *W = calloc(1, sizeof *W);
  if (!W) return -1;
  W->o = L->o;
  W->o.n = L->o.warmup;
  W->o.duration = 0;
  W->o.rate = 0;
  W->o.burst = 1;
  W->o.stagger_ms = 0;
  if (W->o.c > W->o.n) W->o.c = (int)W->o.n;
  if (W->o.pool > W->o.c) W->o.pool = W->o.c;
  W->loop = L->loop;
  W->c = L->c;
  W->provider = L->provider;
  int rc = load_run(W);
  long errors = 0;
  for (int p = 0; p < NPHASE; p++)
    errors += W->ph[p].errors;
  if (rc || errors || W->interrupted) {
    fprintf(stderr, "sbxload: the warm-up failed (%ld errors%s%s)\n", errors,
            W->fatal[0] ? ": " : "", W->fatal);
    rc = -1;
  }
  load_free(W);
  free(W);
  if (rc == 0 && proc_reset_peak_rss() != 0)
    fprintf(stderr, "sbxload: cannot reset the peak RSS mark: the peak includes the warm-up\n");
  return rc;
}

int main(int argc, char **argv) {
  struct load *L = calloc(1, sizeof *L); /* the histograms make it large */
  if (!L) return 1;
  int rc = load_opts_parse(&L->o, argc, argv);
  if (rc) {
    free(L);
    return rc == 1 ? 0 : 2;
  }
  const struct load_opts *o = &L->o;
  sbx_config cfg;
  sbx_config_init(&cfg);
  cfg.provider = o->provider;
  cfg.api_url = o->api_url;
  cfg.sandbox_url = o->sandbox_url;
  cfg.ca_file = o->ca_file;
  cfg.log = log_line;
  if (o->retries >= 0) cfg.max_retries = o->retries;
  if (!o->governor) /* measure the service, not the client's own pacing */
    cfg.rate_create = cfg.rate_lifecycle = cfg.rate_data = 0;
  L->loop = EV_DEFAULT;
  sbx_status st;
  char err[256] = "";
  L->c = sbx_client_new(L->loop, &cfg, &st, err, sizeof err);
  if (!L->c) {
    fprintf(stderr, "sbxload: no client: %s: %s\n", sbx_status_name(st), err);
    free(L);
    return 1;
  }
  L->provider = sbx_client_provider(L->c);
  if (o->warmup > 0 && warm_up(L) != 0) {
    sbx_client_free(L->c);
    free(L);
    return 1;
  }
  L->rss0_kb = proc_status_kb("VmRSS");
  double cpu0 = proc_cpu_us();
  sbx_client_stats wire0;
  sbx_client_stats_get(L->c, &wire0);
  rc = load_run(L);
  L->cpu_us = proc_cpu_us() - cpu0;
  L->hwm_kb = proc_status_kb("VmHWM");
  sbx_client_stats_get(L->c, &L->wire);
  L->wire.requests -= wire0.requests;
  L->wire.connections -= wire0.connections;
  L->wire.upgrades -= wire0.upgrades;
  sbx_client_free(L->c);
  if (rc) {
    fprintf(stderr, "sbxload: %s\n", L->fatal);
    load_free(L);
    free(L);
    return 1;
  }
  load_report_text(L, stdout);
  if (o->json_path && load_report_json(L, o->json_path)) {
    fprintf(stderr, "sbxload: cannot write %s\n", o->json_path);
    rc = 1;
  }
  if (o->svg_path && load_report_svg(L, o->svg_path)) {
    fprintf(stderr, "sbxload: cannot write %s\n", o->svg_path);
    rc = 1;
  }
  long errors = 0;
  for (int p = 0; p < NPHASE; p++)
    errors += L->ph[p].errors;
  if (!rc && (errors || L->fatal[0])) rc = 1;
  if (L->live > 0) fprintf(stderr, "sbxload: %d sandboxes may be left alive\n", L->live);
  load_free(L);
  free(L);
  return rc;
}
