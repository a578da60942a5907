/* timers.c - the client's timer heap (see timers.h).
 *
 * The heap is a complete binary tree of the timers themselves (parent and
 * child links, no array to grow), so a start cannot fail. Position k
 * (1-based, breadth-first) is reached from the root by the bits of k below
 * its leading one: 0 goes left, 1 right. */
#include "timers.h"

#include <time.h>

int64_t sbx__mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- the heap ------------------------------------------------------------------ */

static int before(const struct sbx_timer *a, const struct sbx_timer *b) {
  return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static struct sbx_timer *node_at(const struct sbx_timer_heap *h, size_t k) {
  int bit = 0;
  while ((k >> bit) > 1)
    bit++;
  struct sbx_timer *n = h->root;
  while (bit-- > 0)
    n = (k >> bit) & 1 ? n->right : n->left;
  return n;
}

static void replace_child(struct sbx_timer_heap *h, struct sbx_timer *parent, struct sbx_timer *old,
                          struct sbx_timer *new_) {
  if (!parent)
    h->root = new_;
  else if (parent->left == old)
    parent->left = new_;
  else
    parent->right = new_;
}

/* Exchange c with its parent p: c takes p's place, p goes where c was. */
static void swap_up(struct sbx_timer_heap *h, struct sbx_timer *p, struct sbx_timer *c) {
  struct sbx_timer *cl = c->left, *cr = c->right, *gp = p->parent;
  if (p->left == c) {
    c->left = p;
    c->right = p->right;
    if (c->right) c->right->parent = c;
  } else {
    c->right = p;
    c->left = p->left;
    if (c->left) c->left->parent = c;
  }
  p->left = cl;
  p->right = cr;
  if (cl) cl->parent = p;
  if (cr) cr->parent = p;
  p->parent = c;
  c->parent = gp;
  replace_child(h, gp, p, c);
}

static void sift(struct sbx_timer_heap *h, struct sbx_timer *t) {
  while (t->parent && before(t, t->parent))
    swap_up(h, t->parent, t);
  for (;;) {
    struct sbx_timer *m = t->left;
    if (t->right && before(t->right, m)) m = t->right;
    if (!m || !before(m, t)) break;
    swap_up(h, t, m);
  }
}

void sbx__heap_insert(struct sbx_timer_heap *h, struct sbx_timer *t) {
  size_t k = ++h->n;
  t->left = t->right = NULL;
  t->parent = k == 1 ? NULL : node_at(h, k >> 1);
  if (!t->parent)
    h->root = t;
  else if (k & 1)
    t->parent->right = t;
  else
    t->parent->left = t;
  sift(h, t);
}

void sbx__heap_remove(struct sbx_timer_heap *h, struct sbx_timer *t) {
  struct sbx_timer *last = node_at(h, h->n--);
  replace_child(h, last->parent, last, NULL);
  if (last == t) return;
  /* the last node takes t's place, then moves up or down */
  last->parent = t->parent;
  last->left = t->left;
  last->right = t->right;
  if (last->left) last->left->parent = last;
  if (last->right) last->right->parent = last;
  replace_child(h, t->parent, t, last);
  sift(h, last);
}

/* ---- on the loop ----------------------------------------------------------------- */

/* The libev timer never keeps ev_run alive itself (as curl_bridge.c's weak
 * watchers: a start is followed by ev_unref, and w_weak says one ev_ref is
 * owed back, also after libev stopped the expired one-shot timer). The
 * loop is kept alive instead by one plain ev_ref while strong timers are
 * active, so weak and strong timers keep their meaning on one watcher. */
static void w_stop(struct sbx_timers *ts) {
  if (ts->w_weak) {
    ts->w_weak = 0;
    ev_ref(ts->loop);
  }
  ev_timer_stop(ts->loop, &ts->w);
}

static void arm(struct sbx_timers *ts) {
  w_stop(ts);
  struct sbx_timer *min = ts->heap.root;
  if (!min) return;
  int64_t wait = min->at - sbx__mono_ns();
  ev_timer_set(&ts->w, wait > 0 ? (double)wait / 1e9 : 0., 0.);
  ev_timer_start(ts->loop, &ts->w);
  ev_unref(ts->loop);
  ts->w_weak = 1;
}

static void hold(struct sbx_timers *ts) {
  int want = ts->n_strong > 0;
  if (want == ts->held) return;
  ts->held = want;
  if (want)
    ev_ref(ts->loop);
  else
    ev_unref(ts->loop);
}

static void w_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct sbx_timers *ts = w->data;
  if (ts->w_weak) { /* libev stopped the expired one-shot timer */
    ts->w_weak = 0;
    ev_ref(loop);
  }
  ts->fire(ts);
}

void sbx__timers_init(struct sbx_timers *ts, struct ev_loop *loop) {
  *ts = (struct sbx_timers){.loop = loop};
  ev_timer_init(&ts->w, w_cb, 0., 0.);
  ts->w.data = ts;
}

void sbx__timers_destroy(struct sbx_timers *ts) {
  while (ts->heap.root)
    sbx__timer_stop(ts, ts->heap.root);
  w_stop(ts);
}

void sbx__timer_init(struct sbx_timer *t, sbx_timer_fn cb, void *data, int weak) {
  *t = (struct sbx_timer){.cb = cb, .data = data, .weak = weak ? 1 : 0};
}

static void unlink_timer(struct sbx_timers *ts, struct sbx_timer *t) {
  sbx__heap_remove(&ts->heap, t);
  t->active = 0;
  if (!t->weak) ts->n_strong--;
}

void sbx__timer_stop(struct sbx_timers *ts, struct sbx_timer *t) {
  if (!t->active) return;
  int was_min = ts->heap.root == t;
  unlink_timer(ts, t);
  hold(ts);
  if (was_min) arm(ts);
}

void sbx__timer_start(struct sbx_timers *ts, struct sbx_timer *t, long ms) {
  struct sbx_timer *old_min = ts->heap.root;
  if (t->active) unlink_timer(ts, t);
  t->at = sbx__mono_ns() + (ms > 0 ? (int64_t)ms * 1000000 : 0);
  t->seq = ++ts->seq;
  t->active = 1;
  if (!t->weak) ts->n_strong++;
  sbx__heap_insert(&ts->heap, t);
  hold(ts);
  if (ts->heap.root == t || ts->heap.root != old_min || !ev_is_active(&ts->w)) arm(ts);
}

void sbx__timers_run(struct sbx_timers *ts, const int *stop) {
  int64_t now = sbx__mono_ns();
  uint64_t limit = ts->seq; /* timers started by the callbacks wait a turn */
  struct sbx_timer *t = ts->heap.root;
  /* libev's cached time may still be from before the due time (it was
   * taken when this loop pass began): callbacks that compare ev_now with
   * what they waited for (the rate governor) must see the wait is over. */
  if (t && t->at <= now) ev_now_update(ts->loop);
  while (!*stop && (t = ts->heap.root) && t->at <= now && t->seq <= limit) {
    unlink_timer(ts, t);
    t->cb(t);
  }
  if (*stop) return; /* the client is being freed: it stops everything */
  hold(ts);
  arm(ts);
}

long sbx__timers_next_ms(const struct sbx_timers *ts) {
  const struct sbx_timer *min = ts->heap.root;
  if (!min) return -1;
  int64_t wait = min->at - sbx__mono_ns();
  if (wait <= 0) return 0;
  int64_t ms = (wait + 999999) / 1000000;
  return ms > 0x7fffffff ? 0x7fffffff : (long)ms;
}
