/* client.c - client lifecycle, op table, run queue, dispatch bracketing and
 * logging. */
#include "client.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http.h"

static void runq_flush_cb(struct sbx_timer *t);

/* Every client timer fires from here, inside one dispatch bracket. */
static void timers_fire(struct sbx_timers *ts) {
  struct sbx_client *c = (struct sbx_client *)((char *)ts - offsetof(struct sbx_client, timers));
  sbx__client_enter(c);
  sbx__timers_run(ts, &c->free_requested);
  sbx__client_leave(c);
}

static int env_flag(const char *name) {
  const char *v = getenv(name);
  return v && *v && strcmp(v, "0") != 0;
}

const char *sbx__client_own(struct sbx_client *c, const char *s) {
  if (!s) return NULL;
  if (c->n_owned >= (int)(sizeof c->owned / sizeof c->owned[0])) return NULL;
  char *d = sbx__strdup(sbx__alloc(c), s);
  if (!d) return NULL;
  c->owned[c->n_owned++] = d;
  return d;
}

static void seed_rng(struct sbx_client *c) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  c->rng = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)getpid() ^
           (uint64_t)(uintptr_t)c;
  if (!c->rng) c->rng = 0x9e3779b97f4a7c15ull;
}

uint64_t sbx__client_rand(struct sbx_client *c, uint64_t n) {
  uint64_t x = c->rng; /* xorshift64 */
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  c->rng = x;
  return n ? x % n : x;
}

struct sbx_client *sbx__client_new(struct ev_loop *loop, const sbx_config *cfg, sbx_status *st,
                                   char *errbuf, size_t errlen) {
  struct sbx_client *c = SBX_NEW(&cfg->allocator, struct sbx_client);
  if (!c) {
    *st = SBX_ENOMEM;
    return NULL;
  }
  /* Each client holds one reference on libcurl's process-wide state, so a
   * host that never calls sbx_global_init still gets it set up (and torn
   * down with the last client); see sbx_global_init in sbx.h. */
  if (sbx__global_ref() != SBX_OK) {
    snprintf(errbuf ? errbuf : (char[1]){0}, errbuf ? errlen : 1, "curl_global_init failed");
    sbx__free(&cfg->allocator, c);
    *st = SBX_ENOMEM;
    return NULL;
  }
  c->poll_fd = -1;
  if (!loop) {
    loop = sbx__own_loop_new(c, &c->poll_fd, errbuf, errlen);
    if (!loop) {
      sbx__free(&cfg->allocator, c);
      sbx__global_unref();
      *st = SBX_EINVAL;
      return NULL;
    }
    c->own_loop = 1;
  }
  c->loop = loop;
  c->cfg = *cfg;
  c->next_id = 1;
#ifndef NDEBUG
  c->owner = pthread_self();
#endif
  if (env_flag("SBX_TRACE")) c->cfg.trace = 1;
  seed_rng(c);
  double rate[SBX_RATE_N] = {cfg->rate_create, cfg->rate_lifecycle, cfg->rate_data};
  int burst[SBX_RATE_N] = {cfg->burst_create, cfg->burst_lifecycle, cfg->burst_data};
  sbx__rate_init(&c->rate, rate, burst, ev_now(loop));
  sbx__timers_init(&c->timers, loop);
  c->timers.fire = timers_fire;
  sbx__timer_init(&c->runq_timer, runq_flush_cb, c, 0);
  if (sbx__bridge_init(c) != 0) {
    snprintf(errbuf ? errbuf : (char[1]){0}, errbuf ? errlen : 1,
             "cannot initialise libcurl's multi handle");
    if (c->own_loop) ev_loop_destroy(loop);
    sbx__free(&cfg->allocator, c);
    sbx__global_unref();
    *st = SBX_ENOMEM;
    return NULL;
  }
  *st = SBX_OK;
  return c;
}

void sbx__client_enter(struct sbx_client *c) {
  c->depth++;
}

void sbx__client_leave(struct sbx_client *c) {
  if (--c->depth == 0 && c->free_requested) sbx__client_free(c);
}

static void close_all_ops(struct sbx_client *c) {
  for (size_t i = 0; i < SBX_OP_TABLE_SIZE; i++) {
    while (c->ops[i]) {
      struct sbx_op *op = c->ops[i];
      sbx__op_post(op, OP_EV_CLOSE);
      if (c->ops[i] == op) { /* a kind that refused to finish: force it */
        sbx__op_fail(op, SBX_ECLOSED, "client closed");
        sbx__op_finish(op);
      }
    }
  }
}

void sbx__client_free(struct sbx_client *c) {
  if (!c) return;
  if (c->depth > 0) {
    c->free_requested = 1;
    c->closing = 1;
    return;
  }
  c->depth = 1; /* callbacks fired from here must not re-enter the free */
  c->closing = 1;
  close_all_ops(c);
  /* every op has completed: what the run queue still links is left to free */
  for (struct sbx_op *op = c->runq_head, *next; op; op = next) {
    next = op->runq_next;
    sbx__free(sbx__alloc(c), op);
  }
  c->runq_head = c->runq_tail = NULL;
  if (c->prov_destroy) c->prov_destroy(c);
  sbx__bridge_cleanup(c);
  sbx__http_pool_free(c);
  sbx__timers_destroy(&c->timers);
  if (c->own_loop) ev_loop_destroy(c->loop);
  for (int i = 0; i < c->n_hosts; i++)
    sbx__free(sbx__alloc(c), c->hosts[i].host);
  for (int i = 0; i < c->n_owned; i++)
    sbx__free(sbx__alloc(c), c->owned[i]);
  sbx_allocator a = c->cfg.allocator; /* c goes with it */
  sbx__free(&a, c);
  sbx__global_unref();
}

/* ---- op table ------------------------------------------------------------ */

static size_t bucket_of(sbx_op_id id) {
  return (size_t)(id * 0x9e3779b97f4a7c15ull >> 52) % SBX_OP_TABLE_SIZE;
}

void sbx__client_register(struct sbx_client *c, struct sbx_op *op) {
  size_t b = bucket_of(op->id);
  op->tbl_next = c->ops[b];
  c->ops[b] = op;
  /* The loop lives while ops are pending, not because curl keeps idle
   * connections open: the bridge's watchers and timer are weak. */
  if (c->n_ops++ == 0 && !c->alive_held) {
    c->alive_held = 1;
    ev_ref(c->loop);
  }
}

void sbx__client_unregister(struct sbx_client *c, struct sbx_op *op) {
  struct sbx_op **pp = &c->ops[bucket_of(op->id)];
  while (*pp && *pp != op)
    pp = &(*pp)->tbl_next;
  if (*pp) {
    *pp = op->tbl_next;
    if (--c->n_ops == 0 && c->alive_held) {
      c->alive_held = 0;
      ev_unref(c->loop);
    }
  }
}

struct sbx_op *sbx__client_find(struct sbx_client *c, sbx_op_id id) {
  for (struct sbx_op *op = c->ops[bucket_of(id)]; op; op = op->tbl_next)
    if (op->id == id) return op;
  return NULL;
}

/* ---- run queue ------------------------------------------------------------- */

void sbx__client_queue(struct sbx_client *c, struct sbx_op *op) {
  if (op->queued) return;
  op->queued = 1;
  op->runq_next = NULL;
  if (c->runq_tail)
    c->runq_tail->runq_next = op;
  else
    c->runq_head = op;
  c->runq_tail = op;
  sbx__client_kick(c);
}

void sbx__client_kick(struct sbx_client *c) {
  if (!sbx__timer_active(&c->runq_timer)) sbx__timer_start(&c->timers, &c->runq_timer, 0);
}

static void runq_flush_cb(struct sbx_timer *t) {
  struct sbx_client *c = t->data;
  sbx__client_enter(c);
  if (c->admit_pending) sbx__http_admit_pending(c);
  /* Take the whole queue: ops queued while flushing run on the next turn. */
  struct sbx_op *op = c->runq_head;
  c->runq_head = c->runq_tail = NULL;
  while (op) {
    struct sbx_op *next = op->runq_next;
    op->queued = 0;
    op->runq_next = NULL;
    if (op->completed)
      sbx__free(sbx__alloc(c), op); /* finished while queued (sbx__op_finish left it to us) */
    else
      sbx__op_run(op); /* may free op */
    op = next;
    if (c->free_requested) break;
  }
  /* Anything left (free requested mid-flush) goes back on the queue, where
   * the free closes and releases it. */
  if (op) {
    struct sbx_op *last = op;
    while (last->runq_next)
      last = last->runq_next;
    last->runq_next = c->runq_head;
    c->runq_head = op;
    if (!c->runq_tail) c->runq_tail = last;
  }
  sbx__client_leave(c);
}

/* ---- public ------------------------------------------------------------------ */

sbx_status sbx__refuse(struct sbx_client *c, sbx_status st, const char *fn, const char *fmt, ...) {
  if (!c) return st;
  int off = snprintf(c->errmsg, sizeof c->errmsg, "%s: ", fn);
  if (off < 0 || (size_t)off >= sizeof c->errmsg) off = 0;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->errmsg + off, sizeof c->errmsg - (size_t)off, fmt, ap);
  va_end(ap);
  sbx__log(c, SBX_LOG_WARN, "api", 0, "%s", c->errmsg);
  return st;
}

#ifndef NDEBUG
void sbx__check_thread(const struct sbx_client *c, const char *fn) {
  if (pthread_equal(c->owner, pthread_self())) return;
  fprintf(stderr,
          "sbx: %s called from a thread other than the one that created the client "
          "(a client belongs to one thread)\n",
          fn);
  abort();
}
#endif

sbx_status sbx_cancel(sbx_client *c, sbx_op_id id) {
  if (!c) return SBX_EINVAL;
  sbx__check_thread(c, __func__);
  c->errmsg[0] = '\0';
  if (!id) return sbx__refuse(c, SBX_EINVAL, __func__, "op id 0 is no op");
  struct sbx_op *op = sbx__client_find(c, id);
  if (!op || op->completed)
    return sbx__refuse(c, SBX_ENOTFOUND, __func__, "op %llu is not pending (done or unknown)",
                       (unsigned long long)id);
  if (!op->cancel_req) {
    op->cancel_req = 1;
    sbx__op_post_deferred(op, OP_EV_CANCEL);
  }
  return SBX_OK;
}

size_t sbx_client_pending(const sbx_client *c) {
  return c ? c->n_ops : 0;
}

void sbx_client_stats_get(const sbx_client *c, sbx_client_stats *out) {
  if (!out) return;
  if (c)
    *out = c->stats;
  else
    memset(out, 0, sizeof *out);
}

sbx_status sbx_set_deadline(sbx_client *c, sbx_op_id id, long ms) {
  if (!c) return SBX_EINVAL;
  sbx__check_thread(c, __func__);
  c->errmsg[0] = '\0';
  if (!id) return sbx__refuse(c, SBX_EINVAL, __func__, "op id 0 is no op");
  if (ms < 0) return sbx__refuse(c, SBX_EINVAL, __func__, "ms is negative (%ld)", ms);
  struct sbx_op *op = sbx__client_find(c, id);
  if (!op || op->completed)
    return sbx__refuse(c, SBX_ENOTFOUND, __func__, "op %llu is not pending (done or unknown)",
                       (unsigned long long)id);
  sbx__op_deadline_start(op, ms);
  return SBX_OK;
}

/* ---- logging ------------------------------------------------------------------ */

int sbx__log_enabled(const struct sbx_client *c, int level) {
  if (!c->cfg.log) return 0;
  return level < SBX_LOG_TRACE || c->cfg.trace;
}

void sbx__log(struct sbx_client *c, int level, const char *comp, sbx_op_id op, const char *fmt,
              ...) {
  if (!sbx__log_enabled(c, level)) return;
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  c->cfg.log(c->cfg.log_ud, level, comp, op, buf);
}
