/* call.c - the shared state machine of provider HTTP operations. */
#include "call.h"

#include <stdlib.h>

#include "client.h"

const char *const sbx__call_state_names[CALL_N_STATES] = {"INIT",    "WAIT_RATE", "RESOLVE",
                                                          "REQUEST", "STREAMING", "RETRY_WAIT",
                                                          "DONE",    "POLL_WAIT", "UNDO"};

#define B(s) (1u << (s))
const uint32_t sbx__call_allowed[CALL_N_STATES] = {
    [CALL_INIT] = B(CALL_WAIT_RATE),
    [CALL_WAIT_RATE] = B(CALL_RESOLVE) | B(CALL_REQUEST) | B(CALL_UNDO),
    [CALL_RESOLVE] = B(CALL_WAIT_RATE) | B(CALL_RETRY_WAIT) | B(CALL_UNDO),
    [CALL_REQUEST] = B(CALL_STREAMING) | B(CALL_RETRY_WAIT) | B(CALL_POLL_WAIT) | B(CALL_UNDO),
    /* a phased op goes on after its stream */
    [CALL_STREAMING] = B(CALL_POLL_WAIT) | B(CALL_UNDO),
    [CALL_RETRY_WAIT] = B(CALL_WAIT_RATE),
    [CALL_DONE] = 0,
    [CALL_POLL_WAIT] = B(CALL_WAIT_RATE),
    [CALL_UNDO] = 0, /* only DONE */
};
#undef B

static struct sbx_call *call_of(struct sbx_op *op) {
  return (struct sbx_call *)op;
}

struct sbx_call *sbx__call_new(struct sbx_client *c, const struct op_kind *kind,
                               const struct call_hooks *hooks, size_t size, void *ud,
                               sbx_status *st) {
  struct sbx_call *k = (struct sbx_call *)sbx__op_new(c, kind, size, ud, st);
  if (k) k->hooks = hooks;
  return k;
}

void sbx__call_streaming(struct sbx_call *k) {
  if (k->op.state != CALL_REQUEST) return;
  sbx__op_timer_stop(&k->op); /* the handshake wait is over */
  op_set_state(&k->op, CALL_STREAMING);
}

static enum op_step_result step_init(struct sbx_op *op) {
  struct sbx_call *k = call_of(op);
  op_take(op, OP_EV_START);
  k->phase = k->hooks->needs_resolve && k->hooks->needs_resolve(k) ? CALL_RESOLVE : CALL_REQUEST;
  op_set_state(op, CALL_WAIT_RATE);
  return OP_NEXT;
}

static int issue(struct sbx_call *k) {
  struct sbx_op *op = &k->op;
  struct sbx_http_req r = {.method = "GET", .upload_fd = -1};
  struct sbx_errinfo e;
  sbx_errinfo_clear(&e);
  int st;
  if (k->phase == CALL_RESOLVE)
    st = k->hooks->build_resolve(k, &r);
  else
    st = k->hooks->build(k, &r, &e);
  if (st == 0) {
    if (!r.timeout_ms && !r.sink) r.timeout_ms = op->c->cfg.request_timeout_ms;
    st = sbx__http_start(op, &r);
  } else {
    curl_slist_free_all(r.headers);
  }
  if (st != 0) {
    if (e.status) return sbx__op_fail_info(op, &e);
    return sbx__op_fail(op, st, "%s: cannot build the request: %s", op->kind->name,
                        sbx_strerror(st));
  }
  if (k->phase == CALL_REQUEST && r.sink) {
    k->streaming_call = 1;
    long ms = k->hooks->handshake_ms ? k->hooks->handshake_ms : op->c->cfg.request_timeout_ms;
    if (ms > 0) sbx__op_timer_start(op, ms);
  }
  return 0;
}

/* The op has failed (op->err is set). When it ran out of memory after the
 * server acted, undo that first (hooks->build_undo), else finish now. */
static enum op_step_result finish_failed(struct sbx_call *k) {
  struct sbx_op *op = &k->op;
  if (k->undo_armed && !k->undoing && k->hooks->build_undo && op->err &&
      op->err->status == SBX_ENOMEM) {
    k->undoing = 1;
    struct sbx_http_req r = {.method = "DELETE", .upload_fd = -1};
    int st = k->hooks->build_undo(k, &r);
    if (st == 0) {
      if (!r.timeout_ms) r.timeout_ms = op->c->cfg.request_timeout_ms;
      st = sbx__http_start(op, &r); /* frees r.headers when it fails */
    } else {
      curl_slist_free_all(r.headers);
    }
    if (st == 0) {
      sbx__log(op->c, SBX_LOG_WARN, "call", op->id,
               "op#%llu %s: out of memory after the server acted: undoing it with %s %s",
               (unsigned long long)op->id, op->kind->name, r.method, r.url ? r.url : "");
      op->hold_stop = 1; /* a cancel or deadline now waits for the undo */
      op_set_state(op, CALL_UNDO);
      return OP_WAIT;
    }
    sbx__log(op->c, SBX_LOG_ERROR, "call", op->id,
             "op#%llu %s: out of memory after the server acted, and it cannot be undone%s%s",
             (unsigned long long)op->id, op->kind->name, r.url ? ": " : "", r.url ? r.url : "");
  }
  op_set_state(op, CALL_DONE);
  return OP_NEXT;
}

static enum op_step_result step_wait_rate(struct sbx_op *op) {
  struct sbx_call *k = call_of(op);
  op_take(op, OP_EV_TIMER | OP_EV_START);
  enum sbx_rate_class cls = k->phase == CALL_RESOLVE ? SBX_RATE_LIFECYCLE : k->hooks->cls;
  long wait = sbx__rate_take(&op->c->rate, cls, ev_now(op->c->loop));
  if (wait > 0) {
    sbx__op_timer_start(op, wait);
    return OP_WAIT;
  }
  if (issue(k) != 0) return finish_failed(k);
  op_set_state(op, k->phase);
  return OP_WAIT;
}

/* Only when the server surely did not act on the request. */
static int unsent(const struct sbx_http *h) {
  if (h->status == 429 || h->status == 503) return 1;
  return h->status == 0 &&
         (h->result == CURLE_COULDNT_CONNECT || h->result == CURLE_COULDNT_RESOLVE_HOST);
}

/* A failure: retry when allowed, else finish with the error. */
static enum op_step_result fail_or_retry(struct sbx_call *k, struct sbx_errinfo *e,
                                         int was_unsent) {
  struct sbx_op *op = &k->op;
  const sbx_config *cfg = &op->c->cfg;
  int allowed = e->retryable && k->attempts < cfg->max_retries && op->state != CALL_STREAMING &&
                (k->hooks->retry == CALL_RETRY_ANY || was_unsent);
  long delay = 0;
  if (allowed) {
    delay = sbx__backoff_ms(cfg->retry_base_ms, cfg->retry_max_ms, k->attempts + 1,
                            (double)sbx__client_rand(op->c, 1u << 30) / (double)(1u << 30));
    if (e->retry_after_ms >= 0) {
      /* Retry-After beyond the request timeout is not waited out blindly. */
      if (e->retry_after_ms > cfg->request_timeout_ms) allowed = 0;
      delay = e->retry_after_ms;
      int resolving = k->phase == CALL_RESOLVE;
      enum sbx_rate_class cls = resolving ? SBX_RATE_LIFECYCLE : k->hooks->cls;
      if (e->http_status == 429 && (resolving || !k->hooks->scoped_429))
        sbx__rate_block(&op->c->rate, cls, ev_now(op->c->loop), delay);
    }
  }
  if (!allowed) {
    sbx__op_fail_info(op, e);
    return finish_failed(k);
  }
  k->attempts++;
  sbx__log(op->c, SBX_LOG_INFO, "call", op->id, "op#%llu %s: retry %d in %ld ms after: %s",
           (unsigned long long)op->id, op->kind->name, k->attempts, delay, e->message);
  sbx__op_timer_start(op, delay);
  op_set_state(op, CALL_RETRY_WAIT);
  return OP_WAIT;
}

static enum op_step_result step_resolve(struct sbx_op *op) {
  struct sbx_call *k = call_of(op);
  if (!op_take(op, OP_EV_HTTP)) return OP_WAIT;
  struct sbx_http *h = op->http;
  struct sbx_errinfo e;
  sbx_errinfo_clear(&e);
  int st = sbx__http_curl_error(h, op->kind->name, &e);
  if (!st) st = k->hooks->parse_resolve(k, h, &e);
  int was_unsent = unsent(h);
  op->http = NULL;
  sbx__http_free(h);
  if (st) return fail_or_retry(k, &e, was_unsent);
  k->resolves++;
  k->phase = k->resolves < 3 && k->hooks->needs_resolve(k) ? CALL_RESOLVE : CALL_REQUEST;
  op_set_state(op, CALL_WAIT_RATE);
  return OP_NEXT;
}

static enum op_step_result finish_request(struct sbx_call *k) {
  struct sbx_op *op = &k->op;
  struct sbx_http *h = op->http;
  struct sbx_errinfo e;
  sbx_errinfo_clear(&e);
  int st = 0;
  if (op->err) /* the stream sink already recorded why it stopped */
    st = op->err->status;
  else if (!h->sink_aborted && !k->hooks->parse_transport)
    st = sbx__http_curl_error(h, op->kind->name, &e);
  if (!op->err && !st) st = k->hooks->parse(k, h, &e);
  int was_unsent = unsent(h);
  op->http = NULL;
  sbx__http_free(h);
  if (op->err) return finish_failed(k);
  if (st == CALL_POLL) {
    k->attempts = 0; /* each poll gets its own retries */
    sbx__op_timer_start(op, k->poll_ms > 0 ? k->poll_ms : 1);
    op_set_state(op, CALL_POLL_WAIT);
    return OP_WAIT;
  }
  if (st) return fail_or_retry(k, &e, was_unsent);
  op_set_state(op, CALL_DONE);
  return OP_NEXT;
}

static enum op_step_result step_request(struct sbx_op *op) {
  struct sbx_call *k = call_of(op);
  if (op_take(op, OP_EV_TIMER) && !(op->events & OP_EV_HTTP)) {
    struct sbx_errinfo e;
    sbx_errinfo_clear(&e);
    sbx_errinfo_set(&e, SBX_ETIMEDOUT, "%s: no reply within %ld ms", op->kind->name,
                    k->hooks->handshake_ms ? k->hooks->handshake_ms
                                           : op->c->cfg.request_timeout_ms);
    e.retryable = 1;
    sbx__op_fail_info(op, &e);
    op_set_state(op, CALL_DONE);
    return OP_NEXT;
  }
  if (!op_take(op, OP_EV_HTTP)) return OP_WAIT;
  sbx__op_timer_stop(op);
  return finish_request(k);
}

static enum op_step_result step_streaming(struct sbx_op *op) {
  if (!op_take(op, OP_EV_HTTP)) return OP_WAIT;
  return finish_request(call_of(op));
}

static enum op_step_result step_retry_wait(struct sbx_op *op) {
  if (!op_take(op, OP_EV_TIMER)) return OP_WAIT;
  op_set_state(op, CALL_WAIT_RATE);
  return OP_NEXT;
}

static enum op_step_result step_poll_wait(struct sbx_op *op) {
  if (!op_take(op, OP_EV_TIMER)) return OP_WAIT;
  op_set_state(op, CALL_WAIT_RATE);
  return OP_NEXT;
}

static enum op_step_result step_undo(struct sbx_op *op) {
  if (!op_take(op, OP_EV_HTTP)) return OP_WAIT;
  struct sbx_http *h = op->http;
  sbx__log(op->c, h->status >= 200 && h->status < 300 ? SBX_LOG_INFO : SBX_LOG_ERROR, "call",
           op->id, "op#%llu %s: undo request ended with HTTP %ld (%s)", (unsigned long long)op->id,
           op->kind->name, h->status, curl_easy_strerror(h->result));
  op->http = NULL;
  sbx__http_free(h);
  op_set_state(op, CALL_DONE);
  return OP_NEXT;
}

static enum op_step_result step_done(struct sbx_op *op) {
  return OP_WAIT; /* the driver finishes the op */
}

const op_step_fn sbx__call_steps[CALL_N_STATES] = {step_init,    step_wait_rate, step_resolve,
                                                   step_request, step_streaming, step_retry_wait,
                                                   step_done,    step_poll_wait, step_undo};
