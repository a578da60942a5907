/* timers.h - the client's own timers: an intrusive binary min-heap (no
 * allocation, O(log n) start and stop) driven by one libev timer armed at
 * the earliest. sbx keeps its timers itself because libev does not say
 * when its next timer is due, and a host driving sbx from another loop
 * must know how long it may wait (sbx_client_timeout_ms). */
#ifndef SBX_REACTOR_TIMERS_H
#define SBX_REACTOR_TIMERS_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>

struct sbx_timer;
typedef void (*sbx_timer_fn)(struct sbx_timer *t);

struct sbx_timer {
  struct sbx_timer *parent, *left, *right;
  int64_t at;   /* CLOCK_MONOTONIC ns */
  uint64_t seq; /* start order: ties, and "started during this dispatch" */
  sbx_timer_fn cb;
  void *data;
  unsigned active : 1;
  unsigned weak : 1; /* does not keep the host's ev_run alive */
};

/* The heap alone: what the unit test drives. */
struct sbx_timer_heap {
  struct sbx_timer *root;
  size_t n;
};

void sbx__heap_insert(struct sbx_timer_heap *h, struct sbx_timer *t);
void sbx__heap_remove(struct sbx_timer_heap *h, struct sbx_timer *t);

/* A client's timers on its loop. */
struct sbx_timers {
  struct sbx_timer_heap heap;
  struct ev_loop *loop;
  ev_timer w;      /* armed at the heap's minimum; always unref'd */
  int w_weak;      /* w owes the loop an ev_ref (see curl_bridge.c) */
  size_t n_strong; /* active timers that are not weak */
  int held;        /* one ev_ref held while n_strong > 0 */
  uint64_t seq;
  void (*fire)(struct sbx_timers *ts); /* the dispatch, set by the client */
};

void sbx__timers_init(struct sbx_timers *ts, struct ev_loop *loop);
void sbx__timers_destroy(struct sbx_timers *ts);

void sbx__timer_init(struct sbx_timer *t, sbx_timer_fn cb, void *data, int weak);
/* (Re)start t to fire ms from now (ms <= 0: on the next loop turn). */
void sbx__timer_start(struct sbx_timers *ts, struct sbx_timer *t, long ms);
void sbx__timer_stop(struct sbx_timers *ts, struct sbx_timer *t);
static inline int sbx__timer_active(const struct sbx_timer *t) {
  return t->active;
}

/* Fire every timer due now that was started before this call, earliest
 * first, until *stop becomes non-zero (a callback freed the client); then
 * re-arm. Callbacks may start and stop timers. */
void sbx__timers_run(struct sbx_timers *ts, const int *stop);

/* ms until the earliest timer, rounded up; 0 when one is due, -1 when none. */
long sbx__timers_next_ms(const struct sbx_timers *ts);

int64_t sbx__mono_ns(void);

#endif
