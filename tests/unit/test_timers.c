/* test_timers.c - the client timer heap (reactor/timers.c): random starts
 * and stops against a sorted reference, the tree's shape after each, and
 * the libev side: firing order, next_ms, weak timers not keeping ev_run
 * alive, timers started by a callback waiting a turn. */
#include <ev.h>

#include "../../reactor/timers.h"
#include "testlib.h"

/* ---- the heap against a sorted reference --------------------------------------- */

#define N_NODES 600

static int before_ref(const struct sbx_timer *a, const struct sbx_timer *b) {
  return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

/* Checks every parent link and the heap order; returns the node count. */
static size_t check_tree(const struct sbx_timer *t, const struct sbx_timer *parent, int *bad) {
  if (!t) return 0;
  if (t->parent != parent) *bad = 1;
  if (parent && before_ref(t, parent)) *bad = 1;
  return 1 + check_tree(t->left, t, bad) + check_tree(t->right, t, bad);
}

/* A complete tree: the depth of every leaf is within one, and the last level
 * fills from the left (position k exists for every k <= n). */
static int has_position(const struct sbx_timer_heap *h, size_t k) {
  int bit = 0;
  while ((k >> bit) > 1)
    bit++;
  const struct sbx_timer *n = h->root;
  while (n && bit-- > 0)
    n = (k >> bit) & 1 ? n->right : n->left;
  return n != NULL;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(uint64_t n) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng % n;
}

static void test_heap_random_against_sorted_reference(void) {
  static struct sbx_timer nodes[N_NODES];
  struct sbx_timer_heap h = {0};
  int in[N_NODES] = {0};
  size_t live = 0;
  uint64_t seq = 0;
  int bad_shape = 0, bad_min = 0, bad_count = 0;
  for (int step = 0; step < 40000; step++) {
    int i = (int)rnd(N_NODES);
    if (in[i]) {
      sbx__heap_remove(&h, &nodes[i]);
      in[i] = 0;
      live--;
    } else {
      nodes[i].at = (int64_t)rnd(50); /* many equal times: ties go by seq */
      nodes[i].seq = ++seq;
      sbx__heap_insert(&h, &nodes[i]);
      in[i] = 1;
      live++;
    }
    /* the reference minimum: a linear scan of what is in */
    const struct sbx_timer *ref = NULL;
    for (int k = 0; k < N_NODES; k++)
      if (in[k] && (!ref || before_ref(&nodes[k], ref))) ref = &nodes[k];
    if (h.root != ref) bad_min++;
    if (step % 97 == 0) {
      int bad = 0;
      if (check_tree(h.root, NULL, &bad) != live || h.n != live) bad_count++;
      if (live && (!has_position(&h, live) || has_position(&h, live + 1))) bad = 1;
      bad_shape += bad;
    }
  }
  CHECK_EQ_INT(bad_min, 0);
  CHECK_EQ_INT(bad_shape, 0);
  CHECK_EQ_INT(bad_count, 0);
  /* drain: pops come out sorted */
  const struct sbx_timer *prev = NULL;
  int unsorted = 0;
  while (h.root) {
    struct sbx_timer *t = h.root;
    if (prev && before_ref(t, prev)) unsorted++;
    sbx__heap_remove(&h, t);
    prev = t;
  }
  CHECK_EQ_INT(unsorted, 0);
  CHECK_EQ_INT(h.n, 0);
}

static void test_heap_remove_every_position(void) {
  /* remove the node at each position of a 31-node tree in turn */
  for (int victim = 0; victim < 31; victim++) {
    struct sbx_timer nodes[31];
    struct sbx_timer_heap h = {0};
    for (int i = 0; i < 31; i++) {
      nodes[i] = (struct sbx_timer){.at = (i * 7) % 31, .seq = (uint64_t)i + 1};
      sbx__heap_insert(&h, &nodes[i]);
    }
    sbx__heap_remove(&h, &nodes[victim]);
    int bad = 0;
    CHECK_EQ_INT(check_tree(h.root, NULL, &bad), 30);
    CHECK_EQ_INT(bad, 0);
    int64_t last = -1;
    while (h.root) {
      CHECK(h.root != &nodes[victim]);
      CHECK(h.root->at >= last);
      last = h.root->at;
      sbx__heap_remove(&h, h.root);
    }
  }
}

/* ---- on a libev loop ------------------------------------------------------------- */

struct rec {
  int order[8];
  int n;
  struct sbx_timers *ts;
  struct sbx_timer *restart; /* started again (0 ms) from its own callback */
  int restarts;
};

struct tagged {
  struct sbx_timer t;
  struct rec *r;
  int tag;
};

static void fire(struct sbx_timers *ts) {
  static const int never = 0;
  sbx__timers_run(ts, &never);
}

static void record(struct sbx_timer *t) {
  struct tagged *x = (struct tagged *)t;
  if (x->r->n < 8) x->r->order[x->r->n++] = x->tag;
  if (x->r->restart == t && x->r->restarts-- > 0) sbx__timer_start(x->r->ts, t, 0);
}

static struct sbx_timers *new_timers(struct ev_loop *loop) {
  static struct sbx_timers ts;
  sbx__timers_init(&ts, loop);
  ts.fire = fire;
  return &ts;
}

static void test_loop_fires_in_time_order(void) {
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  struct sbx_timers *ts = new_timers(loop);
  struct rec r = {.ts = ts};
  struct tagged a = {.r = &r, .tag = 1}, b = {.r = &r, .tag = 2}, c = {.r = &r, .tag = 3};
  sbx__timer_init(&a.t, record, NULL, 0);
  sbx__timer_init(&b.t, record, NULL, 0);
  sbx__timer_init(&c.t, record, NULL, 0);
  CHECK_EQ_INT(sbx__timers_next_ms(ts), -1);
  double t0 = ev_time(); /* before the starts: a fires no sooner than 60 ms after */
  sbx__timer_start(ts, &a.t, 60);
  sbx__timer_start(ts, &b.t, 20);
  sbx__timer_start(ts, &c.t, 40);
  long next = sbx__timers_next_ms(ts);
  CHECK(next >= 19 && next <= 20); /* rounded up, never past b */
  sbx__timer_stop(ts, &c.t);
  CHECK(!sbx__timer_active(&c.t));
  ev_run(loop, 0); /* returns once no strong timer is left */
  double took = ev_time() - t0;
  CHECK_EQ_INT(r.n, 2);
  CHECK_EQ_INT(r.order[0], 2);
  CHECK_EQ_INT(r.order[1], 1);
  CHECK(took >= 0.058 && took < 0.5 * test_slow());
  CHECK_EQ_INT(sbx__timers_next_ms(ts), -1);
  sbx__timers_destroy(ts);
  ev_loop_destroy(loop);
}

static void test_weak_timers_do_not_keep_ev_run(void) {
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  struct sbx_timers *ts = new_timers(loop);
  struct rec r = {.ts = ts};
  struct tagged w = {.r = &r, .tag = 1}, s = {.r = &r, .tag = 2};
  sbx__timer_init(&w.t, record, NULL, 1);
  sbx__timer_init(&s.t, record, NULL, 0);
  sbx__timer_start(ts, &w.t, 5000);
  double t0 = ev_time();
  ev_run(loop, 0); /* only a weak timer: returns at once */
  CHECK(ev_time() - t0 < 0.5);
  CHECK_EQ_INT(r.n, 0);
  CHECK(sbx__timer_active(&w.t));
  /* a strong one keeps it going, and a weak one due before it still fires */
  sbx__timer_start(ts, &w.t, 10);
  sbx__timer_start(ts, &s.t, 30);
  ev_run(loop, 0);
  CHECK_EQ_INT(r.n, 2);
  CHECK_EQ_INT(r.order[0], 1);
  CHECK_EQ_INT(r.order[1], 2);
  /* a stopped strong timer releases the loop */
  sbx__timer_start(ts, &s.t, 5000);
  sbx__timer_stop(ts, &s.t);
  t0 = ev_time();
  ev_run(loop, 0);
  CHECK(ev_time() - t0 < 0.5);
  sbx__timers_destroy(ts);
  ev_loop_destroy(loop);
}

static void test_restart_from_callback_waits_a_turn(void) {
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  struct sbx_timers *ts = new_timers(loop);
  struct rec r = {.ts = ts, .restarts = 3};
  struct tagged a = {.r = &r, .tag = 7};
  sbx__timer_init(&a.t, record, NULL, 0);
  r.restart = &a.t;
  sbx__timer_start(ts, &a.t, 0);
  CHECK_EQ_INT(sbx__timers_next_ms(ts), 0);
  ev_run(loop, EVRUN_NOWAIT);
  CHECK_EQ_INT(r.n, 1); /* not 4: the restart is due, but on the next turn */
  CHECK(sbx__timer_active(&a.t));
  ev_run(loop, 0);
  CHECK_EQ_INT(r.n, 4);
  sbx__timers_destroy(ts);
  ev_loop_destroy(loop);
}

static void test_ten_thousand_deadlines_are_cheap(void) {
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  struct sbx_timers *ts = new_timers(loop);
  static struct tagged many[10000];
  struct rec r = {.ts = ts};
  double t0 = ev_time();
  for (int i = 0; i < 10000; i++) {
    many[i].r = &r;
    sbx__timer_init(&many[i].t, record, NULL, 0);
    sbx__timer_start(ts, &many[i].t, 60000 + (long)rnd(60000));
  }
  for (int i = 0; i < 10000; i += 2)
    sbx__timer_stop(ts, &many[i].t);
  for (int i = 1; i < 10000; i += 2)
    sbx__timer_start(ts, &many[i].t, 1000 + (long)rnd(1000)); /* restart: earlier */
  double took = ev_time() - t0;
  CHECK(took <
        0.25 * test_slow()); /* about 2 ms here; a linear scan per start would take seconds */
  long next = sbx__timers_next_ms(ts);
  CHECK(next > 900 && next <= 1000);
  sbx__timers_destroy(ts);
  CHECK_EQ_INT(ts->heap.n, 0);
  ev_loop_destroy(loop);
}

int main(int argc, char **argv) {
  static const struct test_case cases[] = {
      {"heap_random_against_sorted_reference", test_heap_random_against_sorted_reference},
      {"heap_remove_every_position", test_heap_remove_every_position},
      {"loop_fires_in_time_order", test_loop_fires_in_time_order},
      {"weak_timers_do_not_keep_ev_run", test_weak_timers_do_not_keep_ev_run},
      {"restart_from_callback_waits_a_turn", test_restart_from_callback_waits_a_turn},
      {"ten_thousand_deadlines_are_cheap", test_ten_thousand_deadlines_are_cheap},
      {NULL, NULL}};
  return test_main("timers", cases, argc, argv, 30);
}
