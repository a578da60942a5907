/* op.c - the op base and its step driver. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "http.h"
#include "op.h"

static void op_timer_cb(struct sbx_timer *t);
static void op_deadline_cb(struct sbx_timer *t);

struct sbx_op *sbx__op_new(struct sbx_client *c, const struct op_kind *kind, size_t size, void *ud,
                           sbx_status *st) {
  if (c->closing) {
    *st = sbx__refuse(c, SBX_ECLOSED, kind->name, "the client is being freed: no new ops");
    return NULL;
  }
  struct sbx_op *op = sbx__calloc(sbx__alloc(c), 1, size);
  if (!op) {
    *st = SBX_ENOMEM;
    return NULL;
  }
  op->id = c->next_id++;
  op->kind = kind;
  op->c = c;
  op->ud = ud;
  op->state = 0;
  sbx__timer_init(&op->timer, op_timer_cb, op, 0);
  sbx__timer_init(&op->deadline, op_deadline_cb, op, 0);
  sbx__client_register(c, op);
  /* Never run before the start call returns: the first step is queued. */
  sbx__op_post_deferred(op, OP_EV_START);
  *st = SBX_OK;
  return op;
}

void sbx__op_post(struct sbx_op *op, unsigned events) {
  op->events |= events;
  sbx__op_run(op);
}

void sbx__op_post_deferred(struct sbx_op *op, unsigned events) {
  op->events |= events;
  sbx__client_queue(op->c, op);
}

void sbx__op_set_state(struct sbx_op *op, int to, int line) {
  const struct op_kind *k = op->kind;
  int from = op->state;
  if (from == to) return;
  int ok =
      to >= 0 && to < k->n_states && (to == k->done_state || (k->allowed[from] & (1u << to)) != 0);
  if (!ok) {
    sbx__log(op->c, SBX_LOG_ERROR, "op", op->id,
             "op#%llu %s: illegal transition %s -> %d (line %d)", (unsigned long long)op->id,
             k->name, k->state_names[from], to, line);
    sbx__op_fail(op, SBX_EINVAL, "internal error: %s cannot go from %s to state %d", k->name,
                 k->state_names[from], to);
    to = k->done_state;
  }
  sbx__log(op->c, SBX_LOG_TRACE, "op", op->id, "op#%llu %s %s -> %s (line %d)",
           (unsigned long long)op->id, k->name, k->state_names[from], k->state_names[to], line);
  op->state = to;
}

const struct sbx_errinfo sbx__errinfo_nomem = {
    .status = SBX_ENOMEM, .retry_after_ms = -1, .message = "out of memory"};

int sbx__op_fail_info(struct sbx_op *op, const struct sbx_errinfo *e) {
  if (op->err) return op->err->status; /* the first failure is the one reported */
  struct sbx_errinfo *copy = sbx__malloc(sbx__alloc(op->c), sizeof *copy);
  if (!copy) { /* no room to say why: the op fails for want of memory */
    op->err = &sbx__errinfo_nomem;
    return SBX_ENOMEM;
  }
  *copy = *e;
  op->err = copy;
  return e->status;
}

int sbx__op_fail(struct sbx_op *op, int status, const char *fmt, ...) {
  struct sbx_errinfo e;
  sbx_errinfo_clear(&e);
  va_list ap;
  va_start(ap, fmt);
  sbx_errinfo_vset(&e, status, fmt, ap);
  va_end(ap);
  return sbx__op_fail_info(op, &e);
}

void sbx__op_timer_start(struct sbx_op *op, long ms) {
  sbx__timer_start(&op->c->timers, &op->timer, ms);
}

void sbx__op_timer_stop(struct sbx_op *op) {
  sbx__timer_stop(&op->c->timers, &op->timer);
}

void sbx__op_deadline_start(struct sbx_op *op, long ms) {
  if (ms <= 0)
    sbx__timer_stop(&op->c->timers, &op->deadline);
  else
    sbx__timer_start(&op->c->timers, &op->deadline, ms);
}

static void op_timer_cb(struct sbx_timer *t) {
  sbx__op_post(t->data, OP_EV_TIMER);
}

static void op_deadline_cb(struct sbx_timer *t) {
  sbx__op_post(t->data, OP_EV_DEADLINE);
}

static void to_public(const struct sbx_errinfo *e, sbx_error *out) {
  out->code = (sbx_status)e->status;
  out->http_status = e->http_status;
  out->curl_code = e->curl_code;
  out->retryable = e->retryable;
  out->retry_after_ms = e->retry_after_ms;
  out->provider_code = e->provider_code;
  out->message = e->message;
}

void sbx__op_finish(struct sbx_op *op) {
  struct sbx_client *c = op->c;
  sbx__timer_stop(&c->timers, &op->timer);
  sbx__timer_stop(&c->timers, &op->deadline);
  if (op->http) sbx__http_abort(op);
  op->completed = 1;
  sbx__client_unregister(c, op);
  sbx_error pub;
  sbx__client_enter(c);
  if (op->err) {
    to_public(op->err, &pub);
    sbx__log(c, SBX_LOG_DEBUG, "op", op->id, "op#%llu %s failed: %s: %s",
             (unsigned long long)op->id, op->kind->name, sbx_status_name(pub.code), pub.message);
  }
  op->kind->complete(op, op->err ? &pub : NULL);
  if (op->kind->destroy) op->kind->destroy(op);
  if (op->err != &sbx__errinfo_nomem) sbx__free(sbx__alloc(c), (void *)op->err);
  op->err = NULL;
  /* Still linked on the run queue (an event was posted for a later turn):
   * the queue frees it when it gets there, so the list never holds a
   * dangling pointer. */
  if (!op->queued) sbx__free(sbx__alloc(c), op);
  sbx__client_leave(c);
}

static int terminal_status(unsigned ev) {
  if (ev & OP_EV_CLOSE) return SBX_ECLOSED;
  if (ev & OP_EV_CANCEL) return SBX_ECANCELED;
  return SBX_ETIMEDOUT;
}

void sbx__op_run(struct sbx_op *op) {
  if (op->running || op->completed) return;
  struct sbx_client *c = op->c;
  const struct op_kind *k = op->kind;
  sbx__client_enter(c);
  op->running = 1;
  for (;;) {
    unsigned stops = op->hold_stop ? OP_EV_CLOSE : OP_EV_CANCEL | OP_EV_CLOSE | OP_EV_DEADLINE;
    unsigned stop = op_take(op, stops);
    if (stop && op->hold_stop && op->state != k->done_state)
      sbx__log(c, SBX_LOG_ERROR, "op", op->id,
               "op#%llu %s: client freed during its undo request: what the server made is "
               "left in place",
               (unsigned long long)op->id, k->name);
    if (stop && op->state != k->done_state) {
      int st = terminal_status(stop);
      sbx__op_fail(op, st, "%s %s", k->name,
                   st == SBX_ECLOSED     ? "aborted: client closed"
                   : st == SBX_ECANCELED ? "cancelled"
                                         : "deadline passed");
      op_set_state(op, k->done_state);
    }
    if (op->state == k->done_state) {
      op->running = 0;
      sbx__op_finish(op); /* frees op */
      sbx__client_leave(c);
      return;
    }
    if (k->steps[op->state](op) == OP_WAIT && !(op->events & stops) && op->state != k->done_state)
      break;
  }
  op->running = 0;
  sbx__client_leave(c);
}
