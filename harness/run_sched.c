/* run_sched.c - the runner: loads the task file and the journal, admits
 * tasks under three caps (sandboxes starting, live, being deleted), renews
 * live sandboxes' lifetimes, handles SIGINT/SIGTERM, and ends with a sweep
 * of the run's label so no sandbox outlives it. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

/* ---- queues ---------------------------------------------------------------- */

void run_queue_push(struct run_queue *q, struct run_task *t) {
  t->next_q = NULL;
  if (q->tail)
    q->tail->next_q = t;
  else
    q->head = t;
  q->tail = t;
  q->n++;
}

struct run_task *run_queue_pop(struct run_queue *q) {
  struct run_task *t = q->head;
  if (!t) return NULL;
  q->head = t->next_q;
  if (!q->head) q->tail = NULL;
  t->next_q = NULL;
  q->n--;
  return t;
}

void run_queue_remove(struct run_queue *q, struct run_task *t) {
  struct run_task **pp = &q->head, *prev = NULL;
  while (*pp && *pp != t) {
    prev = *pp;
    pp = &(*pp)->next_q;
  }
  if (!*pp) return;
  *pp = t->next_q;
  if (q->tail == t) q->tail = prev;
  t->next_q = NULL;
  q->n--;
}

/* ---- journal ---------------------------------------------------------------- */

static void io_failed(struct run *r, const char *what) {
  if (!r->io_error) fprintf(stderr, "sbx: run: cannot write %s: %m; stopping\n", what);
  r->io_error = 1;
}

void run_journal_event(struct run *r, const char *ev, const struct run_task *t,
                       const char *sandbox) {
  /* Three of these per task: formatted directly, not through jansson. Task
   * ids are validated ([A-Za-z0-9._-]); a sandbox id is escaped. */
  char sb[160] = "", line[512];
  if (sandbox) {
    char *esc = run_json_escape(sandbox);
    snprintf(sb, sizeof sb, ",\"sandbox\":\"%.120s\"", esc);
    free(esc);
  }
  int n =
      strcmp(ev, "killed")
          ? snprintf(line, sizeof line, "{\"ev\":\"%s\",\"task\":\"%s\",\"attempt\":%d%s}", ev,
                     t->spec->id, t->attempt, sb)
          : snprintf(line, sizeof line, "{\"ev\":\"%s\",\"task\":\"%s\"%s}", ev, t->spec->id, sb);
  if (run_journal_append_line(&r->j, line, (size_t)n) != 0) io_failed(r, "the journal");
}

/* ---- the end ---------------------------------------------------------------- */

static void sweep_done_final(struct run *r) {
  ev_break(r->loop, EVBREAK_ALL);
}

static void check_finished(struct run *r) {
  if (r->sweep || r->sweeping || r->n_finished < r->n_tasks) return;
  r->sweeping = 1; /* the final sweep, once */
  run_sweep_start(r, sweep_done_final);
}

static void stop_all(struct run *r);

void run_task_finished(struct run *r, struct run_task *t) {
  t->phase_ms[PH_TOTAL] = t->started ? (ev_now(r->loop) - t->started) * 1e3 : 0;
  /* Cut short by the client's teardown: not done, a resume runs it again. */
  if (r->closing) t->status = RS_CANCELLED;
  r->counts[t->status]++;
  r->n_finished++;
  /* A cancelled task is not done: a resumed run starts it again. */
  if (t->status != RS_CANCELLED && run_results_append(&r->j, run_result_json(r, t)) != 0)
    io_failed(r, "results.jsonl");
  /* the line is written: keep only what the summary counts, so memory stays
   * flat over a batch of any length (tails were 4 KiB a task) */
  run_task_release(t);
  if (r->io_error && !r->stopping) stop_all(r);
  check_finished(r);
}

/* ---- admission --------------------------------------------------------------- */

void run_sched_changed(struct run *r) {
  if (r->pumping) {
    r->pump_again = 1;
    return;
  }
  r->pumping = 1;
  do {
    r->pump_again = 0;
    while (r->kill_wait.n && (r->hard || r->n_deleting < r->o.max_deleting))
      run_task_kill_now(run_queue_pop(&r->kill_wait));
    while (!r->stopping && r->queued.n && r->n_starting < r->o.max_starting &&
           r->n_live + r->n_starting < r->o.concurrency)
      run_task_start(run_queue_pop(&r->queued));
  } while (r->pump_again);
  r->pumping = 0;
}

/* ---- heartbeat: keep the provider-side lifetime ahead of live tasks ---------- */

static void heartbeat_done(sbx_client *c, sbx_op_id op, const sbx_error *err, void *ud) {
  struct run *r = ud;
  if (err && r->cli->verbose && err->code != SBX_ECLOSED)
    fprintf(stderr, "sbx: run: lifetime renewal failed: %s\n",
            err->message && *err->message ? err->message : sbx_strerror(err->code));
}

static void heartbeat_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct run *r = w->data;
  for (size_t i = 0; i < r->n_tasks; i++) {
    struct run_task *t = &r->tasks[i];
    if (!t->sandbox || t->state < RT_UPLOADING || t->state > RT_DOWNLOADING) continue;
    long life = t->spec->lifetime_s ? t->spec->lifetime_s : r->o.backstop_s;
    sbx_op_id id;
    sbx_sandbox_set_timeout(r->c, t->sandbox, life, heartbeat_done, r, &id);
  }
}

/* ---- signals ---------------------------------------------------------------- */

static void stop_all(struct run *r) {
  r->stopping = 1;
  for (size_t i = 0; i < r->n_tasks; i++)
    if (r->tasks[i].state != RT_DONE) run_task_cancel(&r->tasks[i]);
  run_sched_changed(r);
  check_finished(r);
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents) {
  struct run *r = w->data;
  if (!r->signal) {
    r->signal = w->signum;
    if (!r->o.quiet)
      fprintf(stderr,
              "\nsbx: run: %s: starting nothing new, killing %d live sandboxes "
              "(again to stop waiting)\n",
              strsignal(w->signum), r->n_live + r->n_starting);
    stop_all(r);
    return;
  }
  /* Again: stop waiting for cancellations, but still kill every sandbox. */
  if (!r->hard && !r->o.quiet)
    fprintf(stderr, "sbx: run: killing the remaining sandboxes without waiting\n");
  r->hard = 1;
  run_sched_changed(r);
}

/* ---- setup ------------------------------------------------------------------- */

static void new_run_id(char *buf, size_t n) {
  unsigned char rnd[4] = {0};
  if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
    uint32_t x = (uint32_t)time(NULL) ^ (uint32_t)getpid() << 8;
    memcpy(rnd, &x, sizeof rnd);
  }
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  snprintf(buf, n, "r%04d%02d%02d-%02d%02d%02d-%02x%02x%02x%02x", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, rnd[0], rnd[1], rnd[2], rnd[3]);
}

/* FNV-1a of the task id: the shard a task belongs to does not depend on
 * the order of the file. */
static uint64_t id_hash(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

/* Options of the sandbox spec the provider cannot honour: refuse before
 * anything is created, naming the task line, the key and the provider. */
static int check_provider(struct run *r) {
  int bad = 0;
  for (size_t i = 0; i < r->specs.n; i++) {
    const struct run_spec *s = &r->specs.v[i];
    if (!strcmp(r->provider, "daytona")) { /* honours them all, within its disk limit */
      if (s->disk_gb > 10 && bad++ < 20)
        fprintf(stderr,
                "%s:%d: key 'sandbox.resources.disk_gb': daytona allows at most 10 GB per "
                "sandbox\n",
                r->o.tasks_path, s->line);
      continue;
    }
    const char *key = s->snapshot    ? "sandbox.snapshot"
                      : s->image     ? "sandbox.image"
                      : s->cpu       ? "sandbox.resources.cpu"
                      : s->memory_mb ? "sandbox.resources.memory_mb"
                      : s->disk_gb   ? "sandbox.resources.disk_gb"
                                     : NULL;
    if (!key) continue;
    if (bad++ < 20)
      fprintf(stderr, "%s:%d: key '%s': the %s provider cannot honour it (%s)\n", r->o.tasks_path,
              s->line, key, r->provider,
              !strcmp(r->provider, "e2b") ? "E2B sets resources and images by template"
                                          : "local sandboxes run on the host's own system");
  }
  return bad;
}

static void collect_secrets(struct run *r) {
  for (size_t i = 0; i < r->specs.n; i++) {
    const struct run_spec *s = &r->specs.v[i];
    for (size_t k = 0; k < s->n_secret; k++) {
      const char *v = getenv(s->secret_from[k]);
      if (!v || !*v) continue;
      int seen = 0;
      for (size_t j = 0; j < r->n_secrets && !seen; j++)
        seen = !strcmp(r->secrets[j], v);
      if (seen) continue;
      r->secrets = cli_xrealloc(r->secrets, (r->n_secrets + 1) * sizeof *r->secrets);
      r->secrets[r->n_secrets++] = cli_xstrdup(v);
    }
  }
}

static void admit_all(struct run *r) {
  for (size_t i = 0; i < r->n_tasks; i++)
    run_queue_push(&r->queued, &r->tasks[i]);
  run_sched_changed(r);
  check_finished(r);
}

static void resume_sweep_done(struct run *r) {
  if (r->n_swept && !r->o.quiet)
    fprintf(stderr, "sbx: run: killed %zu sandboxes an earlier runner left\n", r->n_swept);
  r->n_swept = 0;
  if (r->stopping) {
    ev_break(r->loop, EVBREAK_ALL);
    return;
  }
  admit_all(r);
}

static void flush_cb(struct ev_loop *loop, ev_prepare *w, int revents) {
  struct run *r = w->data;
  if (run_journal_flush(&r->j) != 0) io_failed(r, "the journal");
}

static void start_signals(struct run *r) {
  ev_signal_init(&r->sigint_w, signal_cb, SIGINT);
  r->sigint_w.data = r;
  ev_signal_start(r->loop, &r->sigint_w);
  ev_signal_init(&r->sigterm_w, signal_cb, SIGTERM);
  r->sigterm_w.data = r;
  ev_signal_start(r->loop, &r->sigterm_w);
}

static int exit_code(const struct run *r) {
  if (r->signal) return 128 + r->signal;
  if (r->io_error || r->counts[RS_ERROR] + r->prev_counts[RS_ERROR]) return 2;
  if (r->counts[RS_FAILED] + r->prev_counts[RS_FAILED] + r->counts[RS_TIMEOUT] +
      r->prev_counts[RS_TIMEOUT])
    return 1;
  return 0;
}

static void teardown(struct run *r) {
  ev_ref(r->loop);
  ev_prepare_stop(r->loop, &r->flush_w);
  ev_timer_stop(r->loop, &r->heartbeat_w);
  ev_signal_stop(r->loop, &r->sigint_w);
  ev_signal_stop(r->loop, &r->sigterm_w);
  run_progress_stop(r);
  r->stopping = r->closing = 1;
  if (r->cli->client) {
    sbx_client_free(r->cli->client); /* completes leftovers with SBX_ECLOSED */
    r->cli->client = NULL;
  }
  for (size_t i = 0; i < r->n_tasks; i++)
    run_task_free(&r->tasks[i]);
  free(r->tasks);
  for (size_t i = 0; i < r->n_secrets; i++)
    free(r->secrets[i]);
  free(r->secrets);
  run_journal_sync(&r->j);
  run_journal_close(&r->j);
  run_specs_free(&r->specs);
}

int run_main(struct cli *cli, const struct run_opts *o) {
  struct run *r = cli_xmalloc(sizeof *r);
  memset(r, 0, sizeof *r);
  r->cli = cli;
  r->o = *o;
  if (run_specs_load(o->tasks_path, &r->specs, stderr, 20) != 0) {
    free(r);
    return CLI_EXIT_USAGE;
  }
  int rc = cli_open(cli);
  if (rc) {
    run_specs_free(&r->specs);
    free(r);
    return rc;
  }
  /* The runner handles signals itself: stop, kill, sweep, then exit. */
  ev_signal_stop(cli->loop, &cli->sigint_w);
  ev_signal_stop(cli->loop, &cli->sigterm_w);
  r->loop = cli->loop;
  r->c = cli->client;
  r->provider = sbx_client_provider(r->c);
  if (check_provider(r)) {
    run_specs_free(&r->specs);
    sbx_client_free(cli->client);
    cli->client = NULL;
    free(r);
    return CLI_EXIT_USAGE;
  }
  char fresh[64];
  new_run_id(fresh, sizeof fresh);
  if (run_journal_open(&r->j, o->results_dir, fresh) != 0) {
    run_specs_free(&r->specs);
    sbx_client_free(cli->client);
    cli->client = NULL;
    free(r);
    return 2;
  }
  int resumed = r->j.n_past > 0;
  json_t *start = json_pack("{s:s, s:s, s:s, s:i, s:b}", "ev", "start", "run", r->j.run_id,
                            "provider", r->provider, "pid", (int)getpid(), "resumed", resumed);
  if (run_journal_append(&r->j, start) != 0) io_failed(r, "the journal");
  r->tasks = cli_xmalloc((r->specs.n + 1) * sizeof *r->tasks);
  for (size_t i = 0; i < r->specs.n; i++) {
    const struct run_spec *s = &r->specs.v[i];
    if (o->shard_n > 0 && id_hash(s->id) % (uint64_t)o->shard_n != (uint64_t)o->shard_i) continue;
    struct run_past *p = run_journal_past(&r->j, s->id);
    if (p && p->done) {
      r->n_skipped++;
      r->prev_counts[run_status_parse(p->status)]++;
      continue;
    }
    struct run_task *t = &r->tasks[r->n_tasks++];
    run_task_init(r, t, s);
    if (p) t->attempt = p->attempts; /* attempt numbers go on across runners */
  }
  collect_secrets(r);
  srand((unsigned)(time(NULL) ^ getpid()));
  start_signals(r);
  ev_prepare_init(&r->flush_w, flush_cb);
  r->flush_w.data = r;
  ev_prepare_start(r->loop, &r->flush_w);
  ev_unref(r->loop); /* it must not keep the loop alive by itself */
  r->t0 = ev_now(r->loop);
  double hb = (double)o->backstop_s / 3.0;
  ev_timer_init(&r->heartbeat_w, heartbeat_cb, hb, hb);
  r->heartbeat_w.data = r;
  ev_timer_start(r->loop, &r->heartbeat_w);
  run_progress_start(r);
  if (!o->quiet && !cli->json)
    fprintf(stderr, "sbx: run %s: %zu tasks on %s%s, results in %s\n", r->j.run_id, r->n_tasks,
            r->provider, resumed ? " (resumed)" : "", o->results_dir);
  /* Resuming: whatever an earlier runner may have created goes first, so no
   * task ever has two sandboxes. */
  if (resumed)
    run_sweep_start(r, resume_sweep_done);
  else
    admit_all(r);
  ev_run(r->loop, 0);
  run_progress_stop(r);
  run_journal_sync(&r->j);
  run_summary(r);
  rc = exit_code(r);
  teardown(r);
  free(r);
  return rc;
}
