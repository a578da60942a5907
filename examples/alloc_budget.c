/* alloc_budget.c - give a client its own allocator (cfg.allocator): a
 * memory budget per client, as a multi-tenant scheduler would give each
 * tenant. The hooks count every byte libsbx takes for the client; a
 * request over the budget gets NULL, and the call that needed it ends with
 * SBX_ENOMEM while everything else goes on.
 *
 *   E2B_API_KEY=... alloc_budget [N]      (or SBX_PROVIDER=local)
 *
 * Runs N sandboxes (create, run a command, kill) with no budget and prints
 * what libsbx used: the client alone, and at the peak; then runs the same
 * on a client whose budget is the client plus half of what the sandboxes
 * took, and shows the rest refused or failed with SBX_ENOMEM. Exits 0
 * when the first pass fully worked, the second saw SBX_ENOMEM, and both
 * clients gave every byte back. */
#include <ev.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbx.h"

/* ---- the allocator: a size header before each block, a byte budget ---- */

struct budget {
  size_t limit; /* 0: none */
  size_t used, peak;
  size_t client; /* what the idle client holds */
  long blocks;
  long refused;
};

typedef union {
  size_t size;
  max_align_t align; /* keeps the block aligned as malloc's */
} header;

static void *budget_malloc(size_t size, void *ud) {
  struct budget *b = ud;
  if (b->limit && b->used + size > b->limit) {
    b->refused++;
    return NULL;
  }
  header *h = malloc(sizeof *h + size);
  if (!h) return NULL;
  h->size = size;
  b->used += size;
  b->blocks++;
  if (b->used > b->peak) b->peak = b->used;
  return h + 1;
}

static void budget_free(void *p, void *ud) {
  struct budget *b = ud;
  header *h = (header *)p - 1;
  b->used -= h->size;
  b->blocks--;
  free(h);
}

static void *budget_realloc(void *p, size_t size, void *ud) {
  struct budget *b = ud;
  header *h = (header *)p - 1;
  size_t old = h->size;
  if (b->limit && size > old && b->used + (size - old) > b->limit) {
    b->refused++;
    return NULL; /* p stays valid, as with realloc */
  }
  header *n = realloc(h, sizeof *n + size);
  if (!n) return NULL;
  n->size = size;
  b->used = b->used - old + size;
  if (b->used > b->peak) b->peak = b->used;
  return n + 1;
}

/* ---- one sandbox: create, run a command, kill ---- */

struct job {
  sbx_client *c;
  char id[64];
  int ok, nomem, other, live, killed;
};

static void note(struct job *j, const sbx_error *err) {
  if (!err) return;
  if (err->code == SBX_ENOMEM)
    j->nomem = 1;
  else {
    j->other = 1;
    fprintf(stderr, "error: %s\n", err->message);
  }
}

static void killed(sbx_client *c, sbx_op_id op, const sbx_error *err, void *ud) {
  struct job *j = ud;
  note(j, err);
  j->ok = j->ok && !err;
  j->killed = !err;
  j->live = 0;
}

static void ran(sbx_client *c, sbx_op_id op, const sbx_error *err, const sbx_exec_result *res,
                void *ud) {
  struct job *j = ud;
  note(j, err);
  j->ok = !err && res && res->exit_code == 0;
  sbx_op_id id;
  sbx_status st = sbx_sandbox_kill(c, j->id, killed, j, &id);
  if (st != SBX_OK) {
    j->nomem |= st == SBX_ENOMEM;
    j->ok = 0;
    j->live = 0;
  }
}

static void created(sbx_client *c, sbx_op_id op, const sbx_error *err, const sbx_sandbox_info *info,
                    void *ud) {
  struct job *j = ud;
  note(j, err);
  if (err) {
    j->live = 0;
    return;
  }
  snprintf(j->id, sizeof j->id, "%s", info->id);
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  o.cmd = "echo hello";
  static const sbx_exec_cbs cbs = {NULL, NULL, ran};
  sbx_op_id id;
  sbx_status st = sbx_exec_start(c, j->id, &o, &cbs, j, &id);
  if (st != SBX_OK) {
    j->nomem |= st == SBX_ENOMEM;
    sbx_sandbox_kill(c, j->id, killed, j, &id);
  }
}

/* N jobs on a client with this budget; returns how many fully worked and
 * counts the jobs that met SBX_ENOMEM. */
static int run(struct ev_loop *loop, struct budget *b, int n, int *nomem) {
  sbx_config cfg;
  sbx_config_init(&cfg);
  cfg.allocator = (sbx_allocator){budget_malloc, budget_realloc, budget_free, b};
  char err[256];
  sbx_status st;
  sbx_client *c = sbx_client_new(loop, &cfg, &st, err, sizeof err);
  if (!c) {
    fprintf(stderr, "sbx_client_new: %s: %s\n", sbx_status_name(st), err);
    *nomem = st == SBX_ENOMEM ? n : 0;
    return 0;
  }
  b->client = b->used;
  struct job *jobs = calloc((size_t)n, sizeof *jobs);
  if (!jobs) return 0;
  for (int i = 0; i < n; i++) {
    jobs[i].c = c;
    jobs[i].live = 1;
    sbx_op_id id;
    st = sbx_sandbox_create(c, NULL, created, &jobs[i], &id);
    if (st != SBX_OK) {
      jobs[i].live = 0;
      jobs[i].nomem = st == SBX_ENOMEM;
    }
  }
  ev_run(loop, 0); /* until every op completed */
  /* A kill that met the budget is tried again now that the other jobs gave
   * their memory back: no sandbox is left running. */
  for (int i = 0; i < n; i++) {
    sbx_op_id id;
    if (jobs[i].id[0] && !jobs[i].killed) sbx_sandbox_kill(c, jobs[i].id, killed, &jobs[i], &id);
  }
  ev_run(loop, 0);
  int ok = 0;
  *nomem = 0;
  for (int i = 0; i < n; i++) {
    ok += jobs[i].ok && !jobs[i].other;
    *nomem += jobs[i].nomem;
  }
  sbx_client_free(c);
  free(jobs);
  return ok;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 4;
  if (n < 1) n = 1;
  struct ev_loop *loop = ev_default_loop(0);
  struct budget open = {0}, tight = {0};
  int nomem = 0;
  int ok = run(loop, &open, n, &nomem);
  printf("no budget: %d of %d sandboxes ok; the client holds %zu bytes, %zu at the peak, %zu "
         "left after free\n",
         ok, n, open.client, open.peak, open.used);
  tight.limit = open.client + (open.peak - open.client) / 2;
  int ok2 = run(loop, &tight, n, &nomem);
  printf("budget %zu bytes: %d ok, %d met SBX_ENOMEM (%ld requests refused), %zu bytes left "
         "after free\n",
         tight.limit, ok2, nomem, tight.refused, tight.used);
  int good = ok == n && open.used == 0 && open.blocks == 0 && nomem > 0 && tight.used == 0 &&
             tight.blocks == 0;
  return good ? 0 : 1;
}
