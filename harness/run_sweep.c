/* run_sweep.c - find and kill every sandbox that carries this run's
 * sbx.run label: before a resumed run starts (whatever an earlier runner
 * left, created or not as far as its journal knows) and after the last task
 * (anything a lost create or a failed kill left). A small state machine:
 *
 *   LISTING (one page at a time) -> KILLING (a window of kills) -> DONE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

enum sweep_state { SW_LISTING, SW_KILLING, SW_DONE };

struct run_sweep {
  struct run *r;
  enum sweep_state state;
  void (*done)(struct run *r);
  char *next_token;
  char **ids;
  int *tries; /* kill attempts per id */
  size_t n_ids, next_kill;
  int in_flight;
  int list_failures;
};

static void sweep_step(struct run_sweep *s);

#define SWEEP_KILL_TRIES 4

static void add_id(struct run_sweep *s, const char *id, int tries) {
  s->ids = cli_xrealloc(s->ids, (s->n_ids + 1) * sizeof *s->ids);
  s->tries = cli_xrealloc(s->tries, (s->n_ids + 1) * sizeof *s->tries);
  s->ids[s->n_ids] = cli_xstrdup(id);
  s->tries[s->n_ids++] = tries;
}

static void sweep_set(struct run_sweep *s, enum sweep_state to) {
  static const char *const names[] = {"listing", "killing", "done"};
  if (s->r->cli->trace || s->r->cli->verbose >= 2)
    fprintf(stderr, "sbx: run: sweep: %s -> %s\n", names[s->state], names[to]);
  s->state = to;
  sweep_step(s);
}

static void list_cb(sbx_client *c, sbx_op_id op, const sbx_error *err,
                    const sbx_sandbox_info *items, size_t n, const char *next_token, void *ud) {
  struct run_sweep *s = ud;
  free(s->next_token);
  s->next_token = NULL;
  if (err) {
    /* The library retried already; one more full try, then say so. */
    if (err->code != SBX_ECLOSED && ++s->list_failures < 2) {
      sweep_set(s, SW_LISTING);
      return;
    }
    fprintf(stderr, "sbx: run: listing the run's sandboxes failed: %s; run 'sbx reap --run %s'\n",
            err->message && *err->message ? err->message : sbx_strerror(err->code), s->r->j.run_id);
    s->r->io_error = 1;
    sweep_set(s, SW_KILLING);
    return;
  }
  for (size_t i = 0; i < n; i++)
    add_id(s, items[i].id, 0);
  if (next_token && *next_token) {
    s->next_token = cli_xstrdup(next_token);
    sweep_set(s, SW_LISTING);
  } else {
    sweep_set(s, SW_KILLING);
  }
}

/* One kill in flight: which id it was (the array may grow meanwhile). */
struct sweep_kill {
  struct run_sweep *s;
  size_t idx;
};

static void kill_cb(sbx_client *c, sbx_op_id op, const sbx_error *err, void *ud) {
  struct sweep_kill *k = ud;
  struct run_sweep *s = k->s;
  size_t idx = k->idx;
  free(k);
  s->in_flight--;
  if (!err) {
    s->r->n_swept++;
  } else if (err->code != SBX_ENOTFOUND && err->code != SBX_ECLOSED &&
             s->tries[idx] < SWEEP_KILL_TRIES) {
    add_id(s, s->ids[idx], s->tries[idx]); /* a kill is idempotent: try again */
  } else if (err->code != SBX_ENOTFOUND) {
    fprintf(stderr,
            "sbx: run: a leftover sandbox could not be killed: %s; run 'sbx reap --run %s'\n",
            err->message && *err->message ? err->message : sbx_strerror(err->code), s->r->j.run_id);
    s->r->io_error = 1;
  }
  sweep_step(s);
}

static void sweep_step(struct run_sweep *s) {
  struct run *r = s->r;
  switch (s->state) {
  case SW_LISTING: {
    sbx_kv label = {"sbx.run", r->j.run_id};
    sbx_list_opts o = {
        .metadata = &label, .n_metadata = 1, .limit = 100, .next_token = s->next_token};
    sbx_op_id id;
    sbx_status st = sbx_sandbox_list(r->c, &o, list_cb, s, &id);
    if (st != SBX_OK) {
      fprintf(stderr, "sbx: run: cannot list the run's sandboxes: %s\n", sbx_strerror(st));
      r->io_error = 1;
      sweep_set(s, SW_KILLING);
    }
    return;
  }
  case SW_KILLING: {
    int window = r->hard ? 1 << 20 : (r->o.max_deleting > 0 ? r->o.max_deleting : 1);
    while (s->next_kill < s->n_ids && s->in_flight < window) {
      sbx_op_id id;
      struct sweep_kill *k = cli_xmalloc(sizeof *k);
      *k = (struct sweep_kill){s, s->next_kill++};
      s->tries[k->idx]++;
      if (sbx_sandbox_kill(r->c, s->ids[k->idx], kill_cb, k, &id) == SBX_OK)
        s->in_flight++;
      else
        free(k);
    }
    if (s->next_kill == s->n_ids && s->in_flight == 0) sweep_set(s, SW_DONE);
    return;
  }
  case SW_DONE: {
    void (*done)(struct run *) = s->done;
    for (size_t i = 0; i < s->n_ids; i++)
      free(s->ids[i]);
    free(s->ids);
    free(s->tries);
    free(s->next_token);
    r->sweep = NULL;
    free(s);
    done(r);
    return;
  }
  }
}

void run_sweep_start(struct run *r, void (*done)(struct run *r)) {
  struct run_sweep *s = cli_xmalloc(sizeof *s);
  memset(s, 0, sizeof *s);
  s->r = r;
  s->done = done;
  s->state = SW_LISTING;
  r->sweep = s;
  sweep_step(s);
}
