/* read_many_op.c - sbx_file_read_many where the provider has no bulk
 * request: an op that runs the provider's single file_read for each file,
 * RM_CONCURRENCY at a time, and counts them as they complete.
 *
 *   INIT -> RUNNING (start reads while below the limit; each completion
 *   posts OP_EV_IO) -> DONE once every file has settled.
 *
 * A single read gets a small link (this op's id and the file's index), not
 * a pointer to this op: the op may complete first (cancel, deadline, close),
 * and a read finishing later then finds no op by that id and drops out. */
#include <stdlib.h>
#include <string.h>

#include "../reactor/client.h"
#include "provider.h"
#include "read_many.h"

enum { G_INIT, G_RUNNING, G_DONE, G_N_STATES };

struct gen_op {
  struct sbx_op op;
  struct rm_set set; /* set.sandbox: the sandbox id */
  size_t next;       /* the next file to start */
  size_t running;    /* single reads in flight */
  sbx_done_cb cb;
};

struct gen_link {
  sbx_op_id parent;
  size_t index;
};

static struct gen_op *gen_of(struct sbx_op *op) {
  return (struct gen_op *)op;
}

/* The op a read belongs to, NULL once it has completed (ids are never reused). */
static struct gen_op *parent_of(sbx_client *c, const struct gen_link *l) {
  struct sbx_op *op = sbx__client_find(c, l->parent);
  return op && !op->completed ? gen_of(op) : NULL;
}

static void child_data(sbx_client *c, sbx_op_id child, const char *data, size_t len, void *ud) {
  struct gen_op *g = parent_of(c, ud);
  if (!g) return;
  struct rm_file *f = &g->set.f[((struct gen_link *)ud)->index];
  f->on_data(c, g->op.id, data, len, rm_file_ud(&g->op, f));
}

static void child_done(sbx_client *c, sbx_op_id child, const sbx_error *err, void *ud) {
  struct gen_link *l = ud;
  struct gen_op *g = parent_of(c, l);
  size_t i = l->index;
  sbx__free(sbx__alloc(c), l);
  if (!g) return;
  g->set.f[i].child = 0;
  g->running--;
  rm_settle_public(&g->op, &g->set, i, err);
  sbx__op_post_deferred(&g->op, OP_EV_IO);
}

static void start_read(struct gen_op *g, size_t i) {
  struct sbx_client *c = g->op.c;
  struct rm_file *f = &g->set.f[i];
  struct gen_link *l = sbx__malloc(sbx__alloc(c), sizeof *l);
  sbx_status st = SBX_ENOMEM;
  if (l) {
    *l = (struct gen_link){g->op.id, i};
    sbx_download dl = {.path = f->path,
                       .local_path = f->local_path,
                       .on_data = f->local_path ? NULL : child_data,
                       .user = f->user,
                       .max_bytes = f->max_bytes};
    st = c->prov->file_read(c, g->set.sandbox, &dl, child_done, l, &f->child);
  }
  if (st == SBX_OK) {
    g->running++;
    return;
  }
  sbx__free(sbx__alloc(c), l);
  f->child = 0;
  struct sbx_errinfo e;
  sbx_errinfo_clear(&e);
  sbx_errinfo_set(&e, st, "%s: download %s from sandbox %s: cannot start: %s", g->set.prov, f->path,
                  g->set.sandbox, sbx_strerror(st));
  rm_settle(&g->op, &g->set, i, &e);
}

static enum op_step_result step_init(struct sbx_op *op) {
  op_take(op, OP_EV_START);
  op_set_state(op, G_RUNNING);
  return OP_NEXT;
}

static enum op_step_result step_running(struct sbx_op *op) {
  struct gen_op *g = gen_of(op);
  op_take(op, OP_EV_IO);
  while (g->running < RM_CONCURRENCY && g->next < g->set.n)
    start_read(g, g->next++);
  if (g->set.n_settled < g->set.n) return OP_WAIT;
  op_set_state(op, G_DONE);
  return OP_NEXT;
}

static enum op_step_result step_done(struct sbx_op *op) {
  return OP_WAIT; /* the driver finishes the op */
}

static void complete(struct sbx_op *op, const sbx_error *err) {
  struct gen_op *g = gen_of(op);
  rm_complete(op, &g->set, err, g->cb);
}

/* Stopped early: the reads still in flight are cancelled (their links find
 * no op when they complete). */
static void destroy(struct sbx_op *op) {
  struct gen_op *g = gen_of(op);
  for (size_t i = 0; i < g->set.n; i++)
    if (g->set.f[i].child) sbx_cancel(op->c, g->set.f[i].child);
  rm_set_free(&g->set);
}

static const char *const state_names[G_N_STATES] = {"INIT", "RUNNING", "DONE"};
static const op_step_fn steps[G_N_STATES] = {step_init, step_running, step_done};
static const uint32_t allowed[G_N_STATES] = {[G_INIT] = 1u << G_RUNNING};
static const struct op_kind kind_read_many = {"file_read_many", G_N_STATES, state_names, steps,
                                              allowed,          G_DONE,     complete,    destroy};

sbx_status sbx__read_many_generic(sbx_client *c, const char *id, const sbx_download *dls, size_t n,
                                  sbx_done_cb cb, void *ud, sbx_op_id *out) {
  struct rm_set set;
  if (rm_set_init(&set, sbx__alloc(c), c->prov->name, 0, id, dls, n) != 0) return SBX_ENOMEM;
  sbx_status st;
  struct gen_op *g = (struct gen_op *)sbx__op_new(c, &kind_read_many, sizeof *g, ud, &st);
  if (!g) {
    rm_set_free(&set);
    return st;
  }
  g->set = set;
  g->cb = cb;
  *out = g->op.id;
  return SBX_OK;
}
