/* run_progress.c - the live progress of `sbx run` on stderr: one line
 * redrawn in place on a terminal, a plain line every 10 s otherwise, or
 * JSON lines with --json-progress. --quiet turns it off. */
#include <stdio.h>
#include <unistd.h>

#include "run.h"

struct progress_counts {
  size_t ok, bad, done, running, starting, queued;
  double rate, eta;
};

static void count(const struct run *r, struct progress_counts *p) {
  p->ok = r->counts[RS_OK];
  p->bad =
      r->counts[RS_FAILED] + r->counts[RS_ERROR] + r->counts[RS_TIMEOUT] + r->counts[RS_CANCELLED];
  p->done = r->n_finished;
  p->running = (size_t)r->n_live;
  p->starting = (size_t)r->n_starting;
  p->queued = r->n_tasks - p->done - p->running - p->starting;
  if (p->queued > r->n_tasks) p->queued = 0; /* tasks being killed count as running */
  double el = ev_now(r->loop) - r->t0;
  p->rate = el > 0 ? (double)p->done / el : 0;
  p->eta = p->rate > 0 ? (double)(r->n_tasks - p->done) / p->rate : -1;
}

static int on_tty(const struct run *r) {
  return !r->o.json_progress && isatty(2);
}

static void draw(struct run *r, int final) {
  struct progress_counts p;
  count(r, &p);
  if (r->o.json_progress) {
    fprintf(stderr,
            "{\"progress\":{\"total\":%zu,\"done\":%zu,\"ok\":%zu,\"failed\":%zu,\"running\":%zu,"
            "\"starting\":%zu,\"queued\":%zu,\"rate\":%.2f,\"eta_s\":%.0f}}\n",
            r->n_tasks, p.done, p.ok, p.bad, p.running, p.starting, p.queued, p.rate, p.eta);
    return;
  }
  char eta[32];
  if (p.eta < 0)
    snprintf(eta, sizeof eta, "--");
  else if (p.eta < 120)
    snprintf(eta, sizeof eta, "%.0fs", p.eta);
  else
    snprintf(eta, sizeof eta, "%.0fm", p.eta / 60);
  int width = 24, fill = r->n_tasks ? (int)((double)p.done / (double)r->n_tasks * width) : width;
  char bar[32];
  for (int i = 0; i < width; i++)
    bar[i] = i < fill ? '#' : '.';
  bar[width] = '\0';
  fprintf(stderr,
          "%s[%s] %zu/%zu  ok %zu  failed %zu  running %zu  starting %zu  queued %zu  "
          "%.1f/s  eta %s%s",
          on_tty(r) ? "\r\033[K" : "", bar, p.done, r->n_tasks, p.ok, p.bad, p.running, p.starting,
          p.queued, p.rate, eta, on_tty(r) && !final ? "" : "\n");
}

static void tick(struct ev_loop *loop, ev_timer *w, int revents) {
  draw(w->data, 0);
}

void run_progress_start(struct run *r) {
  if (r->o.quiet) return;
  double every = on_tty(r) ? 0.25 : 10.0;
  if (r->o.json_progress) every = 1.0;
  ev_timer_init(&r->progress_w, tick, every, every);
  r->progress_w.data = r;
  ev_timer_start(r->loop, &r->progress_w);
}

void run_progress_stop(struct run *r) {
  if (r->o.quiet || !ev_is_active(&r->progress_w)) return;
  ev_timer_stop(r->loop, &r->progress_w);
  draw(r, 1);
}
