/* embed_libev.c - libsbx on the host's own libev loop, beside the host's
 * own watchers: a repeating 10 ms timer counts ticks while sbx creates N
 * sandboxes, runs a command that takes a while in each, and kills them.
 *
 *   E2B_API_KEY=... embed_libev [N]      (or SBX_PROVIDER=local)
 *
 * sbx shares the loop and never blocks it: the host's timer keeps ticking
 * through the sandbox work, which this checks. The host then stops its
 * timer and plain ev_run returns: a client with no pending ops keeps no
 * watcher alive (idle pooled connections do not count). Exits 0 only when
 * every job succeeded and the ticks kept coming. */
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbx.h"

#define TICK_S 0.01

struct host {
  ev_timer tick;
  int ticks;
  int ticks_while_exec; /* ticks while at least one command ran */
  int running;          /* commands running now */
  int live;             /* jobs not finished */
  int failed;
  double t0, t_end;
};

struct job {
  struct host *h;
  sbx_client *c;
  int index;
  char id[64];
  int ok;
};

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents) {
  struct host *h = w->data;
  h->ticks++;
  if (h->running > 0) h->ticks_while_exec++;
}

static void job_end(struct job *j) {
  struct host *h = j->h;
  if (!j->ok) h->failed++;
  if (--h->live == 0) h->t_end = ev_time();
}

static void killed(sbx_client *c, sbx_op_id op, const sbx_error *err, void *ud) {
  struct job *j = ud;
  if (err) {
    fprintf(stderr, "job %d: kill: %s\n", j->index, err->message);
    j->ok = 0;
  }
  job_end(j);
}

static void on_exec_done(sbx_client *c, sbx_op_id op, const sbx_error *err,
                         const sbx_exec_result *res, void *ud) {
  struct job *j = ud;
  j->h->running--;
  if (err) fprintf(stderr, "job %d: exec: %s\n", j->index, err->message);
  j->ok = !err && res->exit_code == 0;
  sbx_op_id kop;
  if (sbx_sandbox_kill(c, j->id, killed, j, &kop) != SBX_OK) {
    j->ok = 0;
    job_end(j);
  }
}

static void on_output(sbx_client *c, sbx_op_id op, int fd, const char *data, size_t len, void *ud) {
  struct job *j = ud;
  printf("[%d] %.*s", j->index, (int)len, data);
}

static void created(sbx_client *c, sbx_op_id op, const sbx_error *err, const sbx_sandbox_info *info,
                    void *ud) {
  struct job *j = ud;
  if (err) {
    fprintf(stderr, "job %d: create: %s\n", j->index, err->message);
    job_end(j);
    return;
  }
  snprintf(j->id, sizeof j->id, "%s", info->id);
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  o.cmd = "sleep 0.3; echo slept";
  sbx_exec_cbs cbs = {NULL, on_output, on_exec_done};
  sbx_op_id eop;
  if (sbx_exec_start(c, j->id, &o, &cbs, j, &eop) != SBX_OK) {
    job_end(j);
    return;
  }
  j->h->running++;
}

/* Checks on the host's own watcher, once per turn: stop ticking when done. */
static void on_check(struct ev_loop *loop, ev_check *w, int revents) {
  struct host *h = w->data;
  if (h->live == 0) {
    ev_timer_stop(loop, &h->tick);
    ev_check_stop(loop, w);
  }
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 3;
  if (n < 1 || n > 1000) {
    fprintf(stderr, "usage: embed_libev [N (1..1000)]\n");
    return 2;
  }
  struct ev_loop *loop = ev_default_loop(0);
  struct host h = {.live = n};
  ev_timer_init(&h.tick, on_tick, TICK_S, TICK_S);
  h.tick.data = &h;
  ev_timer_start(loop, &h.tick);
  ev_check done_check;
  ev_check_init(&done_check, on_check);
  done_check.data = &h;
  ev_check_start(loop, &done_check);

  char errbuf[256];
  sbx_status st;
  sbx_client *c = sbx_client_new(loop, NULL, &st, errbuf, sizeof errbuf);
  if (!c) {
    fprintf(stderr, "embed_libev: %s\n", errbuf);
    return 1;
  }
  struct job *jobs = calloc((size_t)n, sizeof *jobs);
  if (!jobs) return 1;
  h.t0 = ev_time();
  for (int i = 0; i < n; i++) {
    jobs[i] = (struct job){.h = &h, .c = c, .index = i};
    sbx_op_id op;
    if (sbx_sandbox_create(c, NULL, created, &jobs[i], &op) != SBX_OK) job_end(&jobs[i]);
  }
  ev_run(loop, 0); /* returns when neither the host nor sbx has work left */

  double took = h.t_end - h.t0;
  int expected = (int)(took / TICK_S);
  printf("embed_libev: %d jobs in %.0f ms, %d failed; %d ticks (%d while commands ran), %d "
         "expected\n",
         n, took * 1000, h.failed, h.ticks, h.ticks_while_exec, expected);
  int bad = h.failed > 0 || h.live != 0 || sbx_client_pending(c) != 0;
  /* the commands sleep 0.3 s: at 10 ms a tick, most of 30 ticks must come */
  if (h.ticks_while_exec < 20 || h.ticks < expected / 2) {
    fprintf(stderr, "embed_libev: the host's timer stalled while sbx worked\n");
    bad = 1;
  }
  sbx_client_free(c);
  free(jobs);
  return bad ? 1 : 0;
}
