/* load_run.c - sbxload's engine: arrivals (closed loop at concurrency C or
 * open loop at a rate), the four workloads as chains of callbacks, the loop
 * lag probe, and a teardown that kills every sandbox it created. */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"

enum { STAGE_SETUP, STAGE_TASKS, STAGE_TEARDOWN, STAGE_DONE };
static const double LAG_INTERVAL = 0.01;
static const char HOLD_CMD[] = "sleep 86400"; /* ended by our cancel, not by itself */

static void pump(struct load *L);
static void do_exec(struct load_task *t);
static void do_kill(struct load_task *t);

/* ---- figures ---------------------------------------------------------------- */

static void phase_start(struct load *L, int p, double t) {
  struct load_phase *ph = &L->ph[p];
  if (!ph->attempted || t < ph->t_first) ph->t_first = t;
  ph->attempted++;
}

/* The end of an op of phase p started (or meant to start) at t0. */
static void phase_end(struct load *L, int p, double t0, int cls, const char *why) {
  struct load_phase *ph = &L->ph[p];
  double now = ev_time();
  if (now > ph->t_last) ph->t_last = now;
  if (!cls) {
    ph->ok++;
    hist_add(&ph->lat, now > t0 ? (uint64_t)((now - t0) * 1e9) : 0);
    return;
  }
  ph->errors++;
  ph->err[cls]++;
  if (!ph->first_err[0])
    snprintf(ph->first_err, sizeof ph->first_err, "%s: %s", load_err_name(cls), why ? why : "");
}

static void phase_err(struct load *L, int p, double t0, const sbx_error *err) {
  phase_end(L, p, t0, err ? -err->code : 0, err ? err->message : NULL);
}

/* A start call refused: the op counts as attempted and failed. */
static void phase_refused(struct load *L, int p, double t0, sbx_status st) {
  phase_start(L, p, t0);
  phase_end(L, p, t0, -st, "refused at start");
}

/* Count an op whose start call returned st: 1 when it is in flight. */
static int op_started(struct load *L, int p, double t0, sbx_status st) {
  if (st != SBX_OK) {
    phase_refused(L, p, t0, st);
    return 0;
  }
  phase_start(L, p, t0);
  return 1;
}

/* ---- tasks ------------------------------------------------------------------ */

static void task_end(struct load_task *t) {
  struct load *L = t->L;
  if (t->holding) ev_timer_stop(L->loop, &t->hold);
  t->holding = 0;
  L->free_slots[L->n_free++] = t->slot;
  L->inflight--;
  L->finished++;
  if (!L->pumping) pump(L);
}

static void on_killed(sbx_client *c, sbx_op_id op, const sbx_error *err, void *ud) {
  struct load_task *t = ud;
  phase_err(t->L, P_KILL, t->t_op, err);
  if (!err || err->code == SBX_ENOTFOUND) t->L->live--;
  task_end(t);
}

static void do_kill(struct load_task *t) {
  struct load *L = t->L;
  sbx_op_id id;
  t->t_op = ev_time();
  sbx_status st = sbx_sandbox_kill(L->c, t->sb, on_killed, t, &id);
  if (!op_started(L, P_KILL, t->t_op, st)) task_end(t);
}

static void hold_over(struct ev_loop *loop, ev_timer *w, int revents) {
  struct load_task *t = w->data;
  t->holding = 0;
  t->cancelled = 1;
  sbx_cancel(t->L->c, t->exec_op);
}

static void on_exec_start(sbx_client *c, sbx_op_id op, uint32_t pid, void *ud) {
  struct load_task *t = ud;
  struct load *L = t->L;
  if (L->o.workload != W_HOLD) return;
  phase_end(L, P_OPEN, t->t_op, 0, NULL);
  t->got_first = 1;
  if (L->interrupted) {
    t->cancelled = 1;
    sbx_cancel(c, op);
    return;
  }
  ev_timer_init(&t->hold, hold_over, L->o.hold_s, 0);
  t->hold.data = t;
  ev_timer_start(L->loop, &t->hold);
  t->holding = 1;
}

static void on_exec_output(sbx_client *c, sbx_op_id op, int fd, const char *d, size_t n, void *ud) {
  struct load_task *t = ud;
  if (t->got_first || t->L->o.workload == W_HOLD) return;
  t->got_first = 1;
  phase_start(t->L, P_FIRST_BYTE, t->t_op);
  phase_end(t->L, P_FIRST_BYTE, t->t_op, 0, NULL);
}

static void after_exec(struct load_task *t) {
  struct load *L = t->L;
  if (L->o.workload == W_LIFECYCLE && --t->execs_left > 0 && !L->interrupted)
    do_exec(t);
  else if (L->o.workload == W_EXEC)
    task_end(t);
  else
    do_kill(t);
}

static void on_exec_done(sbx_client *c, sbx_op_id op, const sbx_error *err,
                         const sbx_exec_result *res, void *ud) {
  struct load_task *t = ud;
  struct load *L = t->L;
  if (t->holding) ev_timer_stop(L->loop, &t->hold);
  t->holding = 0;
  if (L->o.workload == W_HOLD) {
    if (!t->got_first) phase_err(L, P_OPEN, t->t_op, err ? err : &(sbx_error){.code = SBX_EPROTO});
    /* the held stream: ok when it lasted until we ended it */
    if (t->cancelled && err && err->code == SBX_ECANCELED)
      phase_end(L, P_EXEC, t->t_op, 0, NULL);
    else if (err)
      phase_err(L, P_EXEC, t->t_op, err);
    else
      phase_end(L, P_EXEC, t->t_op, ERR_BAD_RESULT, "the held stream ended by itself");
  } else if (err) {
    phase_err(L, P_EXEC, t->t_op, err);
  } else if (!res || res->exit_code != 0) {
    phase_end(L, P_EXEC, t->t_op, ERR_BAD_RESULT, res ? res->status : "no result");
  } else {
    phase_end(L, P_EXEC, t->t_op, 0, NULL);
  }
  after_exec(t);
}

static const sbx_exec_cbs exec_cbs = {on_exec_start, on_exec_output, on_exec_done};

static void do_exec(struct load_task *t) {
  struct load *L = t->L;
  sbx_exec_opts xo;
  sbx_exec_opts_init(&xo);
  xo.cmd = L->o.workload == W_HOLD ? HOLD_CMD : L->o.cmd;
  xo.buffered = L->o.workload != W_HOLD && L->o.buffered; /* a hold needs its stream */
  /* the exec workload's first op counts from the intended start */
  t->t_op = L->o.workload == W_EXEC ? t->t_start : ev_time();
  t->got_first = t->cancelled = 0;
  sbx_status st = sbx_exec_start(L->c, t->sb, &xo, &exec_cbs, t, &t->exec_op);
  if (st != SBX_OK) {
    phase_refused(L, L->o.workload == W_HOLD ? P_OPEN : P_EXEC, t->t_op, st);
    after_exec(t);
    return;
  }
  phase_start(L, P_EXEC, t->t_op);
  if (L->o.workload == W_HOLD) phase_start(L, P_OPEN, t->t_op);
}

static void on_created(sbx_client *c, sbx_op_id op, const sbx_error *err,
                       const sbx_sandbox_info *info, void *ud) {
  struct load_task *t = ud;
  struct load *L = t->L;
  if (!err && (!info || !info->id || strlen(info->id) >= sizeof t->sb)) {
    phase_end(L, P_CREATE, t->t_op, ERR_BAD_RESULT, "no usable sandbox id");
    task_end(t);
    return;
  }
  phase_err(L, P_CREATE, t->t_op, err);
  if (err) {
    task_end(t);
    return;
  }
  snprintf(t->sb, sizeof t->sb, "%s", info->id);
  if (++L->live > L->max_live) L->max_live = L->live;
  t->execs_left = L->o.m;
  if (L->interrupted || (L->o.workload == W_LIFECYCLE && L->o.m == 0))
    do_kill(t);
  else
    do_exec(t);
}

static void do_create(struct load_task *t) {
  struct load *L = t->L;
  sbx_create_opts co;
  sbx_create_opts_init(&co);
  if (L->o.template_id) co.template_id = L->o.template_id;
  sbx_op_id id;
  t->t_op = t->t_start;
  sbx_status st = sbx_sandbox_create(L->c, &co, on_created, t, &id);
  if (!op_started(L, P_CREATE, t->t_op, st)) task_end(t);
}

static void on_downloaded(sbx_client *c, sbx_op_id op, const sbx_error *err, void *ud) {
  struct load_task *t = ud;
  if (!err && t->got != t->L->o.size)
    phase_end(t->L, P_DOWNLOAD, t->t_op, ERR_BAD_RESULT, "wrong length");
  else
    phase_err(t->L, P_DOWNLOAD, t->t_op, err);
  task_end(t);
}

static void on_data(sbx_client *c, sbx_op_id op, const char *d, size_t n, void *ud) {
  struct load_task *t = ud;
  t->got += n;
}

/* Each slot has its own file, so concurrent tasks on one sandbox never race
 * and the files on the pool stay bounded. */
static void file_path(const struct load_task *t, char *buf, size_t len) {
  snprintf(buf, len, "/home/user/sbxload-%d.bin", t->slot);
}

static void on_uploaded(sbx_client *c, sbx_op_id op, const sbx_error *err, const sbx_file_entry *e,
                        size_t n, void *ud) {
  struct load_task *t = ud;
  struct load *L = t->L;
  phase_err(L, P_UPLOAD, t->t_op, err);
  if (err) {
    task_end(t);
    return;
  }
  char path[96];
  file_path(t, path, sizeof path);
  sbx_download dl = {.path = path, .on_data = on_data, .max_bytes = L->o.size + 1};
  t->got = 0;
  t->t_op = ev_time();
  sbx_op_id id;
  sbx_status st = sbx_file_read(c, t->sb, &dl, on_downloaded, t, &id);
  if (!op_started(L, P_DOWNLOAD, t->t_op, st)) task_end(t);
}

static void do_upload(struct load_task *t) {
  struct load *L = t->L;
  char path[96];
  file_path(t, path, sizeof path);
  sbx_upload up = {.path = path, .data = L->payload, .len = L->o.size};
  t->t_op = t->t_start;
  sbx_op_id id;
  sbx_status st = sbx_file_write(L->c, t->sb, &up, on_uploaded, t, &id);
  if (!op_started(L, P_UPLOAD, t->t_op, st)) task_end(t);
}

static void task_begin(struct load *L, double t_start) {
  struct load_task *t = &L->tasks[L->free_slots[--L->n_free]];
  int slot = t->slot;
  memset(t, 0, sizeof *t);
  t->L = L;
  t->slot = slot;
  t->idx = L->started++;
  t->t_start = t_start;
  L->inflight++;
  switch (L->o.workload) {
  case W_LIFECYCLE:
  case W_HOLD: do_create(t); break;
  case W_EXEC:
  case W_FILES:
    snprintf(t->sb, sizeof t->sb, "%s", L->pool[t->idx % L->pool_n]);
    if (L->o.workload == W_EXEC)
      do_exec(t);
    else
      do_upload(t);
    break;
  }
}

/* ---- the pool (exec, files) ------------------------------------------------- */

static void stage_done(struct load *L) {
  L->stage = STAGE_DONE;
  ev_break(L->loop, EVBREAK_ALL);
}

static void on_pool_killed(sbx_client *c, sbx_op_id op, const sbx_error *err, void *ud) {
  struct load_pool_op *p = ud;
  struct load *L = p->L;
  phase_err(L, P_KILL, p->t_op, err);
  if (!err || err->code == SBX_ENOTFOUND) L->live--;
  if (--L->pool_pending == 0) stage_done(L);
}

static void pool_teardown(struct load *L) {
  L->stage = STAGE_TEARDOWN;
  L->pool_pending = 1; /* held while starting, so a refusal cannot finish early */
  for (int i = 0; i < L->pool_n; i++) {
    struct load_pool_op *p = &L->pool_ops[i];
    p->t_op = ev_time();
    sbx_op_id id;
    sbx_status st = sbx_sandbox_kill(L->c, L->pool[i], on_pool_killed, p, &id);
    L->pool_pending += op_started(L, P_KILL, p->t_op, st);
  }
  if (--L->pool_pending == 0) stage_done(L);
}

static void on_arrival(struct ev_loop *loop, ev_timer *w, int revents) {
  pump(w->data);
}

static void tasks_begin(struct load *L) {
  L->stage = STAGE_TASKS;
  L->t0 = ev_time();
  if (L->o.duration > 0) { /* the pool's setup is not part of the duration */
    ev_timer_set(&L->stop_timer, L->o.duration, 0);
    ev_timer_start(L->loop, &L->stop_timer);
  }
  ev_timer_init(&L->arrival, on_arrival, 0, 0); /* armed by pump for the next due start */
  L->arrival.data = L;
  pump(L);
}

static void pool_created_all(struct load *L) {
  if (L->interrupted || L->pool_n == 0) {
    if (!L->pool_n) snprintf(L->fatal, sizeof L->fatal, "no sandbox of the pool was created");
    pool_teardown(L);
    return;
  }
  tasks_begin(L);
}

static void on_pool_created(sbx_client *c, sbx_op_id op, const sbx_error *err,
                            const sbx_sandbox_info *info, void *ud) {
  struct load_pool_op *p = ud;
  struct load *L = p->L;
  if (!err && (!info || !info->id || strlen(info->id) >= sizeof L->pool[0]))
    phase_end(L, P_CREATE, p->t_op, ERR_BAD_RESULT, "no usable sandbox id");
  else
    phase_err(L, P_CREATE, p->t_op, err);
  if (!err && info && info->id && strlen(info->id) < sizeof L->pool[0]) {
    snprintf(L->pool[L->pool_n++], sizeof L->pool[0], "%s", info->id);
    if (++L->live > L->max_live) L->max_live = L->live;
  }
  if (--L->pool_pending == 0) pool_created_all(L);
}

static void pool_setup(struct load *L) {
  L->stage = STAGE_SETUP;
  L->pool_pending = 1;
  sbx_create_opts co;
  sbx_create_opts_init(&co);
  if (L->o.template_id) co.template_id = L->o.template_id;
  for (int i = 0; i < L->o.pool; i++) {
    struct load_pool_op *p = &L->pool_ops[i];
    p->t_op = ev_time();
    sbx_op_id id;
    sbx_status st = sbx_sandbox_create(L->c, &co, on_pool_created, p, &id);
    L->pool_pending += op_started(L, P_CREATE, p->t_op, st);
  }
  if (--L->pool_pending == 0) pool_created_all(L);
}

/* ---- arrivals ----------------------------------------------------------------- */

static void tasks_over(struct load *L) {
  L->t_end = ev_time();
  ev_timer_stop(L->loop, &L->arrival);
  ev_timer_stop(L->loop, &L->stop_timer);
  ev_timer_stop(L->loop, &L->kick);
  if (L->o.workload == W_EXEC || L->o.workload == W_FILES)
    pool_teardown(L);
  else
    stage_done(L);
}

static void on_kick(struct ev_loop *loop, ev_timer *w, int revents) {
  pump(w->data);
}

/* When the next task is due: open loop, task i at t0 + i/R, or with bursts
 * of B the whole burst at t0 + floor(i/B)*B/R; closed loop with a stagger,
 * the first C tasks S ms apart; else now (0). */
static double next_due(const struct load *L) {
  const struct load_opts *o = &L->o;
  if (o->rate > 0) return L->t0 + (double)(L->started / o->burst * o->burst) / o->rate;
  if (o->stagger_ms > 0 && L->started < o->c)
    return L->t0 + (double)L->started * o->stagger_ms / 1e3;
  return 0;
}

/* Start what is due. Closed loop: up to C in flight. Open loop: a task that
 * waits for a free slot keeps its intended start, so the wait shows in its
 * latency (no coordinated omission). */
static void pump(struct load *L) {
  if (L->stage != STAGE_TASKS || L->pumping) return;
  L->pumping = 1;
  long budget = L->o.c; /* bounded per call: refused starts end at once */
  double wait = 0;      /* until the next start that is not due yet */
  while (!L->stopping && L->inflight < L->o.c && (!L->o.n || L->started < L->o.n) && budget > 0) {
    double t = ev_time(), due = next_due(L);
    if (due > t) {
      wait = due - t;
      break;
    }
    task_begin(L, L->o.rate > 0 ? due : t); /* closed loop: from its real start */
    budget--;
  }
  L->pumping = 0;
  if (wait > 0 && !L->stopping) { /* at most one wake-up per ms: a late start counts */
    ev_timer_stop(L->loop, &L->arrival);
    ev_timer_set(&L->arrival, wait < 0.001 ? 0.001 : wait, 0);
    ev_timer_start(L->loop, &L->arrival);
  }
  if (L->o.n && L->started >= L->o.n) L->stopping = 1;
  if (L->stopping && L->inflight == 0) {
    tasks_over(L);
    return;
  }
  if (!budget) ev_timer_start(L->loop, &L->kick); /* go on after the loop's other work */
}

static void on_stop(struct ev_loop *loop, ev_timer *w, int revents) {
  struct load *L = w->data;
  L->stopping = 1;
  pump(L);
}

/* SIGINT, SIGTERM: start nothing new, end the holds, kill what lives. */
static void on_signal(struct ev_loop *loop, ev_signal *w, int revents) {
  struct load *L = w->data;
  L->interrupted = L->stopping = 1;
  for (int i = 0; i < L->o.c; i++) {
    struct load_task *t = &L->tasks[i];
    if (!t->holding) continue;
    ev_timer_stop(loop, &t->hold);
    t->holding = 0;
    t->cancelled = 1;
    sbx_cancel(L->c, t->exec_op);
  }
  pump(L);
}

/* ---- loop lag ------------------------------------------------------------------ */

/* A timer that measures how late it fires: the loop's own latency. */
static void on_lag(struct ev_loop *loop, ev_timer *w, int revents) {
  struct load *L = w->data;
  double late = ev_time() - L->lag_expected;
  hist_add(&L->lag, late > 0 ? (uint64_t)(late * 1e9) : 0);
  ev_timer_set(w, LAG_INTERVAL, 0);
  ev_timer_start(loop, w);
  L->lag_expected = ev_now(loop) + LAG_INTERVAL;
}

int load_run(struct load *L) {
  struct load_opts *o = &L->o;
  int slots = o->c;
  L->tasks = calloc((size_t)slots, sizeof *L->tasks);
  L->free_slots = calloc((size_t)slots, sizeof *L->free_slots);
  int pooled = o->workload == W_EXEC || o->workload == W_FILES;
  if (pooled) {
    L->pool = calloc((size_t)o->pool, sizeof *L->pool);
    L->pool_ops = calloc((size_t)o->pool, sizeof *L->pool_ops);
  }
  if (o->workload == W_FILES) L->payload = malloc(o->size ? o->size : 1);
  if (!L->tasks || !L->free_slots || (pooled && (!L->pool || !L->pool_ops)) ||
      (o->workload == W_FILES && !L->payload)) {
    snprintf(L->fatal, sizeof L->fatal, "out of memory");
    return -1;
  }
  for (size_t i = 0; L->payload && i < o->size; i++)
    L->payload[i] = (char)('a' + i % 26);
  for (int i = 0; i < slots; i++) {
    L->tasks[i].slot = i;
    L->free_slots[L->n_free++] = slots - 1 - i;
  }
  for (int i = 0; pooled && i < o->pool; i++) {
    L->pool_ops[i].L = L;
    L->pool_ops[i].i = i;
  }
  hist_init(&L->lag);
  for (int p = 0; p < NPHASE; p++)
    hist_init(&L->ph[p].lat);
  ev_timer_init(&L->kick, on_kick, 0, 0);
  L->kick.data = L;
  ev_timer_init(&L->stop_timer, on_stop, o->duration, 0);
  L->stop_timer.data = L;
  ev_signal_init(&L->sigint, on_signal, SIGINT);
  ev_signal_init(&L->sigterm, on_signal, SIGTERM);
  L->sigint.data = L->sigterm.data = L;
  ev_signal_start(L->loop, &L->sigint);
  ev_signal_start(L->loop, &L->sigterm);
  ev_timer_init(&L->lag_timer, on_lag, LAG_INTERVAL, 0);
  L->lag_timer.data = L;
  ev_now_update(L->loop);
  L->t0 = ev_time(); /* the task stage resets it; kept when there is none */
  L->lag_expected = ev_now(L->loop) + LAG_INTERVAL;
  ev_timer_start(L->loop, &L->lag_timer);

  if (pooled)
    pool_setup(L);
  else
    tasks_begin(L);
  if (L->stage != STAGE_DONE) ev_run(L->loop, 0);

  ev_timer_stop(L->loop, &L->lag_timer);
  ev_timer_stop(L->loop, &L->stop_timer);
  ev_signal_stop(L->loop, &L->sigint);
  ev_signal_stop(L->loop, &L->sigterm);
  if (!L->t_end) L->t_end = ev_time();
  return 0;
}

void load_free(struct load *L) {
  free(L->tasks);
  free(L->free_slots);
  free(L->pool);
  free(L->pool_ops);
  free(L->payload);
}
