/* op.h - the op base: every sandbox operation is an explicit state machine.
 *
 * An op kind has a state enum, one step function per state, and a table of
 * allowed transitions. Events (start, HTTP done, timer, cancel, close) are
 * stored in op->events and the driver op_run() calls the current state's
 * step until it returns OP_WAIT. Only op_set_state() changes the state: it
 * checks the move against the table and traces it (SBX_TRACE=1). */
#ifndef SBX_REACTOR_OP_H
#define SBX_REACTOR_OP_H

#include <ev.h>
#include <stdint.h>

#include "../protocol/errinfo.h"
#include "sbx.h"
#include "timers.h"

struct sbx_client;
struct sbx_op;
struct sbx_http;

enum op_event {
  OP_EV_START = 1u << 0,  /* first run, from the loop */
  OP_EV_HTTP = 1u << 1,   /* the current transfer finished */
  OP_EV_TIMER = 1u << 2,  /* the op's wait timer fired */
  OP_EV_CANCEL = 1u << 3, /* sbx_cancel */
  OP_EV_CLOSE = 1u << 4,  /* sbx_client_free */
  OP_EV_DEADLINE = 1u << 5,
  OP_EV_IO = 1u << 6 /* provider I/O progress (e.g. a local process ended) */
};

enum op_step_result { OP_WAIT = 0, OP_NEXT = 1 };

typedef enum op_step_result (*op_step_fn)(struct sbx_op *op);

struct op_kind {
  const char *name; /* "e2b.create" */
  int n_states;
  const char *const *state_names;
  const op_step_fn *steps; /* one per state */
  const uint32_t *allowed; /* allowed[from] = bitmask of "to" states */
  int done_state;          /* the terminal state */
  /* Deliver the result to the user's callback; err is NULL on success. */
  void (*complete)(struct sbx_op *op, const sbx_error *err);
  /* Free the kind's own fields (the op itself is freed by the base). */
  void (*destroy)(struct sbx_op *op);
};

struct sbx_op {
  sbx_op_id id;
  const struct op_kind *kind;
  struct sbx_client *c;
  void *ud;
  int state;
  unsigned events;        /* pending enum op_event bits */
  unsigned queued : 1;    /* on the client's run queue */
  unsigned running : 1;   /* inside op_run (reentrancy guard) */
  unsigned completed : 1; /* the callback has fired */
  unsigned cancel_req : 1;
  /* Cancel and deadline wait: the op is undoing what the server did (see
   * call_hooks.build_undo) and must not drop that request half-way. */
  unsigned hold_stop : 1;
  struct sbx_op *runq_next;
  struct sbx_op *tbl_next;
  const struct sbx_errinfo *err; /* allocated when the op fails, or
                                   &sbx__errinfo_nomem when that failed */
  struct sbx_http *http;         /* the current transfer, if any */
  struct sbx_timer timer;        /* rate and retry waits */
  struct sbx_timer deadline;     /* optional whole-op deadline */
};

/* Allocate size bytes (>= sizeof(struct sbx_op), op first), register the op
 * and queue its start. Returns NULL with *st set on failure. */
struct sbx_op *sbx__op_new(struct sbx_client *c, const struct op_kind *kind, size_t size, void *ud,
                           sbx_status *st);
/* Post events and run the op now (from loop context only). */
void sbx__op_post(struct sbx_op *op, unsigned events);
/* Post events and run the op later from the run queue (safe anywhere). */
void sbx__op_post_deferred(struct sbx_op *op, unsigned events);
/* The step driver. */
void sbx__op_run(struct sbx_op *op);

#define op_set_state(op, to) sbx__op_set_state((op), (to), __LINE__)
void sbx__op_set_state(struct sbx_op *op, int to, int line);

/* An op's failure when no memory was left to record it: SBX_ENOMEM. */
extern const struct sbx_errinfo sbx__errinfo_nomem;

/* Record a failure (first one wins) and return its status. */
int sbx__op_fail(struct sbx_op *op, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int sbx__op_fail_info(struct sbx_op *op, const struct sbx_errinfo *e);
/* Take the events in mask that are pending, clearing them. */
static inline unsigned op_take(struct sbx_op *op, unsigned mask) {
  unsigned got = op->events & mask;
  op->events &= ~mask;
  return got;
}

/* Arm the op's wait timer (ms); OP_EV_TIMER is posted when it fires. */
void sbx__op_timer_start(struct sbx_op *op, long ms);
void sbx__op_timer_stop(struct sbx_op *op);
/* Whole-op deadline: OP_EV_DEADLINE is posted when it passes (0: none). */
void sbx__op_deadline_start(struct sbx_op *op, long ms);

/* Completion: called by the kind's DONE step. Stops timers, aborts the
 * transfer, fires the callback once, unregisters and frees the op. */
void sbx__op_finish(struct sbx_op *op);

#endif
