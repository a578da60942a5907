/* load_report.c - sbxload's report: a table on stdout, the same as JSON. */
#include <jansson.h>
#include <string.h>

#include "load.h"

static const char *const phase_names[NPHASE] = {"create", "open",     "first_byte", "exec",
                                                "upload", "download", "kill"};
static const double quantiles[] = {0.5, 0.9, 0.99, 0.999};
static const char *const quantile_names[] = {"p50", "p90", "p99", "p99.9"};
enum { NQ = 4 };

const char *load_phase_name(int p) {
  return phase_names[p];
}

const char *load_err_name(int cls) {
  return cls == ERR_BAD_RESULT ? "BAD_RESULT" : sbx_status_name(-cls);
}

/* Ops of a phase per second, over the span from its first start to its
 * last end. */
static double phase_rate(const struct load_phase *ph) {
  double span = ph->t_last - ph->t_first;
  return span > 0 ? (double)(ph->ok + ph->errors) / span : 0;
}

/* Ops the client did: every phase but the two that mark points of an exec. */
static long total_ops(const struct load *L) {
  long n = 0;
  for (int p = 0; p < NPHASE; p++)
    if (p != P_OPEN && p != P_FIRST_BYTE) n += L->ph[p].attempted;
  return n;
}

static const char *dur(uint64_t ns, char *buf, size_t len) {
  if (ns < 10000)
    snprintf(buf, len, "%lluns", (unsigned long long)ns);
  else if (ns < 10000000)
    snprintf(buf, len, "%.1fus", (double)ns / 1e3);
  else if (ns < UINT64_C(10000000000))
    snprintf(buf, len, "%.2fms", (double)ns / 1e6);
  else
    snprintf(buf, len, "%.2fs", (double)ns / 1e9);
  return buf;
}

static void hist_row(const struct hist *h, FILE *f) {
  char b[32];
  if (!h->count) { /* no sample: no figure rather than a made-up 0 */
    fprintf(f, " %9s %9s %9s %9s %9s %9s\n", "-", "-", "-", "-", "-", "-");
    return;
  }
  fprintf(f, " %9s", dur(h->min, b, sizeof b));
  for (int q = 0; q < NQ; q++)
    fprintf(f, " %9s", dur(hist_quantile(h, quantiles[q]), b, sizeof b));
  fprintf(f, " %9s\n", dur(h->max, b, sizeof b));
}

static double kb_per_sandbox(const struct load *L) {
  return L->max_live > 0 ? (double)(L->hwm_kb - L->rss0_kb) / L->max_live : 0;
}

void load_report_text(const struct load *L, FILE *f) {
  const struct load_opts *o = &L->o;
  double span = L->t_end - L->t0;
  fprintf(f, "sbxload: %s on %s, ", load_workload_name(o->workload), L->provider);
  if (o->rate > 0)
    fprintf(f, "open loop at %.6g tasks/s (at most %d in flight)", o->rate, o->c);
  else
    fprintf(f, "closed loop, %d in flight", o->c);
  if (o->burst > 1) fprintf(f, ", in bursts of %ld", o->burst);
  if (o->stagger_ms > 0) fprintf(f, ", the first %d started %.6g ms apart", o->c, o->stagger_ms);
  if (o->workload == W_EXEC || o->workload == W_FILES) fprintf(f, ", pool of %d", o->pool);
  fprintf(f, "\n%ld tasks done in %.3f s: %.1f tasks/s%s\n", L->finished, span,
          span > 0 ? (double)L->finished / span : 0.0, L->interrupted ? " (interrupted)" : "");
  if (L->fatal[0]) fprintf(f, "stopped: %s\n", L->fatal);
  fprintf(f, "\n%-10s %8s %8s %7s %9s %9s %9s %9s %9s %9s %9s\n", "phase", "count", "ok", "errors",
          "ops/s", "min", "p50", "p90", "p99", "p99.9", "max");
  for (int p = 0; p < NPHASE; p++) {
    const struct load_phase *ph = &L->ph[p];
    if (!ph->attempted) continue;
    fprintf(f, "%-10s %8ld %8ld %7ld %9.1f", phase_names[p], ph->attempted, ph->ok, ph->errors,
            phase_rate(ph));
    hist_row(&ph->lat, f);
    for (int e = 1; e < NERR; e++)
      if (ph->err[e]) fprintf(f, "  %s: %ld\n", load_err_name(e), ph->err[e]);
    if (ph->first_err[0]) fprintf(f, "  first error: %s\n", ph->first_err);
  }
  long ops = total_ops(L);
  fprintf(f, "\nclient CPU  %.3f s user+sys, %.1f us per op (%ld ops)\n", L->cpu_us / 1e6,
          ops ? L->cpu_us / (double)ops : 0.0, ops);
  fprintf(
      f,
      "memory      RSS %ld KB at start%s, peak %ld KB; %d sandboxes live at most: %.1f KB each\n",
      L->rss0_kb, L->o.warmup ? " (after the warm-up)" : "", L->hwm_kb, L->max_live,
      kb_per_sandbox(L));
  const sbx_client_stats *w = &L->wire;
  if (w->connections)
    fprintf(f,
            "wire        %llu requests on %llu new connection%s (%.1f each), %llu WebSocket "
            "upgrades\n",
            (unsigned long long)w->requests, (unsigned long long)w->connections,
            w->connections == 1 ? "" : "s", (double)w->requests / (double)w->connections,
            (unsigned long long)w->upgrades);
  else /* after a warm-up, or when nothing was sent */
    fprintf(f, "wire        %llu requests on no new connection, %llu WebSocket upgrades\n",
            (unsigned long long)w->requests, (unsigned long long)w->upgrades);
  fprintf(f, "loop lag   ");
  hist_row(&L->lag, f);
  fprintf(f, "            (min p50 p90 p99 p99.9 max of %llu probes every 10 ms)\n",
          (unsigned long long)L->lag.count);
}

static json_t *hist_json(const struct hist *h) {
  json_t *j = json_pack("{s:I,s:I,s:I,s:f}", "count", (json_int_t)h->count, "min_ns",
                        (json_int_t)h->min, "max_ns", (json_int_t)h->max, "mean_ns", hist_mean(h));
  for (int q = 0; q < NQ; q++) {
    char k[16];
    snprintf(k, sizeof k, "%s_ns", quantile_names[q]);
    json_object_set_new(j, k, json_integer((json_int_t)hist_quantile(h, quantiles[q])));
  }
  return j;
}

int load_report_json(const struct load *L, const char *path) {
  const struct load_opts *o = &L->o;
  json_t *phases = json_object();
  for (int p = 0; p < NPHASE; p++) {
    const struct load_phase *ph = &L->ph[p];
    json_t *errs = json_object();
    for (int e = 1; e < NERR; e++)
      if (ph->err[e]) json_object_set_new(errs, load_err_name(e), json_integer(ph->err[e]));
    json_t *j = json_pack("{s:I,s:I,s:I,s:o,s:f,s:o,s:s}", "attempted", (json_int_t)ph->attempted,
                          "ok", (json_int_t)ph->ok, "errors", (json_int_t)ph->errors, "by_class",
                          errs, "ops_per_s", phase_rate(ph), "latency", hist_json(&ph->lat),
                          "first_error", ph->first_err);
    json_object_set_new(phases, phase_names[p], j);
  }
  long ops = total_ops(L);
  double span = L->t_end - L->t0;
  json_t *root =
      json_pack("{s:s,s:s,s:s,s:I,s:i,s:f,s:f,s:i,s:i,s:I,s:I,s:b,s:f,s:f,s:o}", "workload",
                load_workload_name(o->workload), "provider", L->provider, "loop",
                o->rate > 0 ? "open" : "closed", "n", (json_int_t)o->n, "c", o->c, "rate", o->rate,
                "duration_s", span, "m", o->m, "pool", o->pool, "tasks_started",
                (json_int_t)L->started, "tasks_done", (json_int_t)L->finished, "interrupted",
                L->interrupted, "tasks_per_s", span > 0 ? (double)L->finished / span : 0.0,
                "cpu_us_per_op", ops ? L->cpu_us / (double)ops : 0.0, "phases", phases);
  json_object_set_new(root, "burst", json_integer(o->burst));
  json_object_set_new(root, "buffered", json_boolean(o->buffered));
  json_object_set_new(root, "stagger_ms", json_real(o->stagger_ms));
  json_object_set_new(root, "cpu_s", json_real(L->cpu_us / 1e6));
  json_object_set_new(root, "ops", json_integer(ops));
  json_object_set_new(root, "warmup_tasks", json_integer(o->warmup));
  json_object_set_new(root, "rss_start_kb", json_integer(L->rss0_kb));
  json_object_set_new(root, "rss_peak_kb", json_integer(L->hwm_kb));
  json_object_set_new(root, "max_live_sandboxes", json_integer(L->max_live));
  json_object_set_new(root, "kb_per_live_sandbox", json_real(kb_per_sandbox(L)));
  json_object_set_new(root, "requests", json_integer((json_int_t)L->wire.requests));
  json_object_set_new(root, "connections", json_integer((json_int_t)L->wire.connections));
  json_object_set_new(root, "upgrades", json_integer((json_int_t)L->wire.upgrades));
  json_object_set_new(root, "loop_lag", hist_json(&L->lag));
  json_object_set_new(root, "leaked_sandboxes", json_integer(L->live));
  if (L->fatal[0]) json_object_set_new(root, "fatal", json_string(L->fatal));
  int rc = json_dump_file(root, path, JSON_INDENT(1) | JSON_SORT_KEYS);
  json_decref(root);
  return rc;
}
