/* call.h - the state machine shared by every provider operation made of
 * HTTP requests: an optional resolve request (e.g. fetch a sandbox's access
 * token), then the main request, unary or streaming.
 *
 *   INIT -> WAIT_RATE -> [RESOLVE -> WAIT_RATE ->]+ REQUEST [-> STREAMING] -> DONE
 *   a retryable failure in RESOLVE/REQUEST: -> RETRY_WAIT -> WAIT_RATE -> ...
 *   parse asks to poll (CALL_POLL): REQUEST -> POLL_WAIT -> WAIT_RATE -> REQUEST
 *   (also after a stream: STREAMING -> POLL_WAIT, for ops made of phases)
 *   out of memory after the server acted (k->undo_armed): -> UNDO -> DONE
 *
 * A resolve repeats while needs_resolve still says so (at most 3 times): a
 * lookup may take two requests.
 *
 * A provider defines an op kind per operation with SBX_CALL_KIND() and
 * supplies hooks that build requests and parse replies; the machine owns
 * rate limiting, retries with backoff, Retry-After, cancel and deadlines. */
#ifndef SBX_REACTOR_CALL_H
#define SBX_REACTOR_CALL_H

#include "http.h"
#include "op.h"
#include "rate.h"

enum call_state {
  CALL_INIT,
  CALL_WAIT_RATE,
  CALL_RESOLVE,
  CALL_REQUEST,
  CALL_STREAMING,
  CALL_RETRY_WAIT,
  CALL_DONE,
  CALL_POLL_WAIT, /* parse asked for the request again after k->poll_ms */
  CALL_UNDO,      /* failed for want of memory: undoing what the server did */
  CALL_N_STATES
};

enum call_retry {
  CALL_RETRY_ANY = 0,   /* idempotent: every retryable error is retried */
  CALL_RETRY_UNSENT = 1 /* not idempotent: only when the server surely did nothing */
};

struct sbx_call;

#define CALL_POLL 1 /* parse: not yet; poll again after k->poll_ms */

struct call_hooks {
  enum sbx_rate_class cls;
  enum call_retry retry;
  /* 1 when a resolve request must come first (NULL: never). */
  int (*needs_resolve)(struct sbx_call *k);
  int (*build_resolve)(struct sbx_call *k, struct sbx_http_req *r);
  /* Parse the resolve reply; 0 or a negative status with e filled. */
  int (*parse_resolve)(struct sbx_call *k, struct sbx_http *h, struct sbx_errinfo *e);
  /* Build the main request: 0 or a negative status with e filled. */
  int (*build)(struct sbx_call *k, struct sbx_http_req *r, struct sbx_errinfo *e);
  /* Parse the finished main request (status, body or stream end). May
   * return CALL_POLL with k->poll_ms set: wait, then build and send again
   * (e.g. poll a sandbox until it has started). */
  int (*parse)(struct sbx_call *k, struct sbx_http *h, struct sbx_errinfo *e);
  /* Streaming calls: how long to wait for the stream to be established
   * (sbx__call_streaming) before failing; 0: the request timeout. */
  long handshake_ms;
  /* 1: parse also sees transport failures (h->result != CURLE_OK) and maps
   * them itself, e.g. a deadline that is a result rather than an error. */
  unsigned parse_transport : 1;
  /* 1: a 429 of the main request speaks for one sandbox (E2B's envd), so
   * only this call waits out its Retry-After; else every call of the class
   * does (an account's rate limit on the control plane). */
  unsigned scoped_429 : 1;
  /* Calls with a remote effect (a create): the request that undoes it,
   * e.g. DELETE the sandbox just made. Sent when the op fails with
   * SBX_ENOMEM after parse set k->undo_armed (the server acted and the
   * caller would never learn of it): the op then completes with that
   * error once the undo request ends, whatever its result. 0: send r;
   * non-zero: nothing can be undone. NULL: never. */
  int (*build_undo)(struct sbx_call *k, struct sbx_http_req *r);
};

struct sbx_call {
  struct sbx_op op;
  const struct call_hooks *hooks;
  int attempts;
  int phase; /* CALL_RESOLVE or CALL_REQUEST: where WAIT_RATE goes next */
  int resolves;
  long poll_ms; /* set by parse with CALL_POLL */
  unsigned streaming_call : 1;
  unsigned undo_armed : 1; /* parse: the server acted (see build_undo) */
  unsigned undoing : 1;
};

extern const char *const sbx__call_state_names[CALL_N_STATES];
extern const op_step_fn sbx__call_steps[CALL_N_STATES];
extern const uint32_t sbx__call_allowed[CALL_N_STATES];

#define SBX_CALL_KIND(var, name_, complete_, destroy_)                                             \
  static const struct op_kind var = {name_,           CALL_N_STATES,     sbx__call_state_names,    \
                                     sbx__call_steps, sbx__call_allowed, CALL_DONE,                \
                                     complete_,       destroy_}

/* Start a call op of kind (size >= sizeof(struct sbx_call), call first). */
struct sbx_call *sbx__call_new(struct sbx_client *c, const struct op_kind *kind,
                               const struct call_hooks *hooks, size_t size, void *ud,
                               sbx_status *st);
/* From a stream sink: the stream is established (e.g. the first event came). */
void sbx__call_streaming(struct sbx_call *k);

#endif
