/* run_result.c - what a task leaves: its results.jsonl line (output tails
 * with secrets masked), and the run's summary.json and printed summary. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli_output.h"
#include "run.h"

static const char *const status_names[] = {"none", "ok", "failed", "error", "timeout", "cancelled"};
static const char *const eclass_names[RE_NCLASSES] = {"none",  "transient", "server",  "rate_limit",
                                                      "lost",  "protocol",  "auth",    "config",
                                                      "local", "too_big",   "timeout", "cancelled"};
static const char *const phase_names[PH_N] = {"queue",    "create", "upload", "commands",
                                              "download", "kill",   "total"};

const char *run_status_name(enum run_status s) {
  return s <= RS_CANCELLED ? status_names[s] : "?";
}

enum run_status run_status_parse(const char *name) {
  for (int s = RS_OK; s <= RS_CANCELLED; s++)
    if (!strcmp(status_names[s], name)) return (enum run_status)s;
  return RS_NONE;
}

const char *run_eclass_name(enum run_eclass e) {
  return e < RE_NCLASSES ? eclass_names[e] : "?";
}

/* ---- output tails ---------------------------------------------------------- */

void run_tail_append(struct run_tail *tl, const char *data, size_t len) {
  tl->total += len;
  if (!tl->cap) return;
  if (!tl->buf) tl->buf = cli_xmalloc(tl->cap);
  if (len >= tl->cap) {
    memcpy(tl->buf, data + len - tl->cap, tl->cap);
    tl->start = 0;
    tl->len = tl->cap;
    return;
  }
  for (size_t i = 0; i < len; i++) {
    size_t pos = (tl->start + tl->len) % tl->cap;
    tl->buf[pos] = data[i];
    if (tl->len < tl->cap)
      tl->len++;
    else
      tl->start = (tl->start + 1) % tl->cap;
  }
}

void run_tail_free(struct run_tail *tl) {
  free(tl->buf);
  memset(tl, 0, sizeof *tl);
}

/* The tail in order, NUL-terminated (caller frees). */
static char *tail_text(const struct run_tail *tl) {
  char *s = cli_xmalloc(tl->len + 1);
  for (size_t i = 0; i < tl->len; i++)
    s[i] = tl->buf[(tl->start + i) % tl->cap];
  s[tl->len] = '\0';
  return s;
}

/* Mask every secret value in s[0..*len) in place ("********"), and a tail
 * that starts with the end of one (a ring cut through it). */
static void mask_secrets(const struct run *r, char *s, size_t len) {
  for (size_t k = 0; k < r->n_secrets; k++) {
    const char *v = r->secrets[k];
    size_t vl = strlen(v);
    if (vl < 4) continue; /* too short to mask without masking everything */
    for (char *p = memmem(s, len, v, vl); p; p = memmem(p, len - (size_t)(p - s), v, vl))
      memset(p, '*', vl);
    for (size_t cut = vl - 1; cut >= 4 && cut > 0; cut--)
      if (cut <= len && !memcmp(s, v + vl - cut, cut)) {
        memset(s, '*', cut);
        break;
      }
  }
}

char *run_mask(const struct run *r, const char *msg) {
  char *s = cli_xstrdup(msg ? msg : "");
  mask_secrets(r, s, strlen(s));
  return s;
}

static json_t *tail_json(const struct run *r, const struct run_tail *tl) {
  char *s = tail_text(tl);
  mask_secrets(r, s, tl->len);
  json_t *j = out_jstrn(s, tl->len);
  free(s);
  return j;
}

static json_t *strs_json(char *const *v, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(a, out_jstr(v[i]));
  return a;
}

static double round_ms(double ms) {
  return floor(ms * 10 + 0.5) / 10;
}

json_t *run_result_json(const struct run *r, const struct run_task *t) {
  const struct run_spec *s = t->spec;
  json_t *o = json_object();
  json_object_set_new(o, "task", out_jstr(s->id));
  json_object_set_new(o, "status", json_string(run_status_name(t->status)));
  json_object_set_new(o, "attempts", json_integer(t->attempt));
  json_object_set_new(o, "run", out_jstr(r->j.run_id));
  json_object_set_new(o, "provider", out_jstr(r->provider));
  json_object_set_new(o, "sandbox", t->last_sandbox ? out_jstr(t->last_sandbox) : json_null());
  json_t *cmds = json_array(), *codes = json_array();
  for (size_t i = 0; i < s->n_cmds; i++) {
    const struct run_cmd_result *cr = &t->cmds[i];
    json_t *c = json_object();
    json_object_set_new(c, "run", out_jstr(s->cmds[i].run));
    if (cr->ran) {
      json_object_set_new(c, "exit_code", json_integer(cr->exit_code));
      json_object_set_new(c, "status", out_jstr(cr->status));
      json_object_set_new(c, "ms", json_real(round_ms(cr->ms)));
      json_object_set_new(c, "stdout_tail", tail_json(r, &cr->out));
      json_object_set_new(c, "stderr_tail", tail_json(r, &cr->err));
      json_object_set_new(c, "stdout_bytes", json_integer((json_int_t)cr->out.total));
      json_object_set_new(c, "stderr_bytes", json_integer((json_int_t)cr->err.total));
      if (cr->reattached) json_object_set_new(c, "reattached", json_integer(cr->reattached));
      json_array_append_new(codes, json_integer(cr->exit_code));
    } else {
      json_object_set_new(c, "skipped", json_true());
      json_array_append_new(codes, json_null());
    }
    json_array_append_new(cmds, c);
  }
  json_object_set_new(o, "exit_codes", codes);
  json_object_set_new(o, "commands", cmds);
  json_object_set_new(o, "artifacts", strs_json(t->saved, t->n_saved));
  if (t->n_missing)
    json_object_set_new(o, "artifacts_missing", strs_json(t->missing, t->n_missing));
  json_t *tm = json_object();
  for (int p = 0; p < PH_N; p++)
    json_object_set_new(tm, phase_names[p], json_real(round_ms(t->phase_ms[p])));
  json_object_set_new(o, "timings_ms", tm);
  if (t->eclass != RE_NONE) {
    json_t *e = json_object();
    json_object_set_new(e, "class", json_string(run_eclass_name(t->eclass)));
    char *msg = run_mask(r, t->error);
    out_one_line(msg);
    json_object_set_new(e, "message", out_jstr(msg));
    free(msg);
    json_object_set_new(o, "error", e);
  }
  if (s->n_labels) {
    json_t *l = json_object();
    for (size_t i = 0; i < s->n_labels; i++)
      json_object_set_new(l, s->labels[i].key, out_jstr(s->labels[i].value));
    json_object_set_new(o, "labels", l);
  }
  return o;
}

/* ---- summary --------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double p) {
  if (!n) return 0;
  size_t i = (size_t)ceil(p / 100.0 * (double)n);
  return v[i ? i - 1 : 0];
}

int run_summary(struct run *r) {
  double wall = ev_now(r->loop) - r->t0;
  json_t *o = json_object();
  json_object_set_new(o, "run", out_jstr(r->j.run_id));
  json_object_set_new(o, "provider", out_jstr(r->provider));
  json_object_set_new(o, "tasks", json_integer((json_int_t)r->specs.n));
  json_object_set_new(o, "this_runner", json_integer((json_int_t)r->n_tasks));
  json_object_set_new(o, "skipped_done_before", json_integer((json_int_t)r->n_skipped));
  /* statuses over the whole run: this runner's and earlier runners' */
  size_t all[RS_CANCELLED + 1];
  json_t *st = json_object();
  for (int s = RS_OK; s <= RS_CANCELLED; s++) {
    all[s] = r->counts[s] + r->prev_counts[s];
    json_object_set_new(st, status_names[s], json_integer((json_int_t)all[s]));
  }
  json_object_set_new(o, "status", st);
  size_t by_class[RE_NCLASSES] = {0};
  double *v = cli_xmalloc((r->n_tasks + 1) * sizeof *v);
  for (size_t i = 0; i < r->n_tasks; i++)
    if (r->tasks[i].state == RT_DONE && r->tasks[i].eclass != RE_NONE)
      by_class[r->tasks[i].eclass]++;
  json_t *ec = json_object();
  for (int c = 1; c < RE_NCLASSES; c++)
    if (by_class[c])
      json_object_set_new(ec, eclass_names[c], json_integer((json_int_t)by_class[c]));
  json_object_set_new(o, "errors", ec);
  json_t *ph = json_object();
  for (int p = 0; p < PH_N; p++) {
    size_t n = 0;
    for (size_t i = 0; i < r->n_tasks; i++)
      if (r->tasks[i].state == RT_DONE && r->tasks[i].attempt > 0) v[n++] = r->tasks[i].phase_ms[p];
    qsort(v, n, sizeof *v, cmp_double);
    json_t *q = json_object();
    json_object_set_new(q, "p50", json_real(round_ms(pct(v, n, 50))));
    json_object_set_new(q, "p90", json_real(round_ms(pct(v, n, 90))));
    json_object_set_new(q, "p99", json_real(round_ms(pct(v, n, 99))));
    json_object_set_new(q, "max", json_real(round_ms(n ? v[n - 1] : 0)));
    json_object_set_new(ph, phase_names[p], q);
  }
  free(v);
  json_object_set_new(o, "phases_ms", ph);
  json_object_set_new(o, "wall_s", json_real(round_ms(wall)));
  json_object_set_new(o, "sandbox_seconds", json_real(round_ms(r->sandbox_seconds)));
  json_object_set_new(o, "retries", json_integer((json_int_t)r->n_retries));
  json_object_set_new(o, "leftovers_killed", json_integer((json_int_t)r->n_swept));
  json_object_set_new(o, "interrupted", json_boolean(r->signal != 0));
  /* what the runner itself cost, for capacity planning and the benchmark */
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) == 0) {
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
                 ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
    json_object_set_new(o, "runner_cpu_s", json_real(floor(cpu * 1000 + 0.5) / 1000));
    json_object_set_new(o, "runner_peak_rss_mb", json_real(round_ms((double)ru.ru_maxrss / 1024)));
  }

  char *path = cli_xasprintf("%s/summary.json", r->o.results_dir);
  int rc = json_dump_file(o, path, JSON_INDENT(2) | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(12));
  if (rc != 0) fprintf(stderr, "sbx: run: cannot write %s\n", path);
  free(path);

  if (r->cli->json) {
    out_json_line(json_incref(o));
  } else if (!r->o.quiet) {
    printf("run %s on %s: %zu tasks in %.1f s", r->j.run_id, r->provider, r->n_tasks, wall);
    if (r->n_skipped) printf(" (+%zu done before)", r->n_skipped);
    printf("\n  ok %zu  failed %zu  error %zu  timeout %zu  cancelled %zu   retries %zu\n",
           all[RS_OK], all[RS_FAILED], all[RS_ERROR], all[RS_TIMEOUT], all[RS_CANCELLED],
           r->n_retries);
    for (int c = 1; c < RE_NCLASSES; c++)
      if (by_class[c]) printf("  errors %-10s %zu\n", eclass_names[c], by_class[c]);
    json_t *tot = json_object_get(ph, "total");
    printf("  task time p50 %.0f ms  p90 %.0f ms  p99 %.0f ms;  sandbox-seconds %.1f\n",
           json_real_value(json_object_get(tot, "p50")),
           json_real_value(json_object_get(tot, "p90")),
           json_real_value(json_object_get(tot, "p99")), r->sandbox_seconds);
    printf("  results: %s/results.jsonl\n", r->o.results_dir);
  }
  json_decref(o);
  return rc;
}
