/* load.h - sbxload's run: options, per-phase statistics, and the state of
 * one run on one libev loop (no globals: everything hangs off struct load). */
#ifndef SBX_BENCH_LOAD_H
#define SBX_BENCH_LOAD_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hist.h"
#include "sbx.h"

enum load_workload { W_LIFECYCLE, W_EXEC, W_FILES, W_HOLD };

struct load_opts {
  const char *provider, *api_url, *sandbox_url, *ca_file, *template_id;
  enum load_workload workload;
  long n;            /* tasks (lifecycle, hold: sandboxes; exec, files: ops); -1: unset */
  int c;             /* tasks in flight at most */
  double rate;       /* open loop: tasks started per second; 0: closed loop */
  long burst;        /* open loop: tasks started together per tick (1: evenly spaced) */
  double stagger_ms; /* closed loop: the first c tasks start this far apart */
  double duration;   /* seconds; 0: until n */
  int m;             /* execs per sandbox (lifecycle) */
  int pool;          /* sandboxes shared by the exec and files tasks */
  const char *cmd;
  size_t size;   /* bytes per upload (files) */
  double hold_s; /* seconds each held sandbox keeps its stream (hold) */
  int retries;   /* library retries; -1: its default */
  int governor;  /* 1: keep the library's default rate governor */
  int buffered;  /* 1: execs with opts.buffered */
  long warmup;   /* tasks of the same shape run first, unmeasured */
  const char *json_path;
  const char *svg_path;
};

/* Fill o from argv: 0 when good, 1 after --help (usage printed), 2 after a
 * usage error (named on stderr). */
int load_opts_parse(struct load_opts *o, int argc, char **argv);
const char *load_workload_name(enum load_workload w);

enum load_phase_id { P_CREATE, P_OPEN, P_FIRST_BYTE, P_EXEC, P_UPLOAD, P_DOWNLOAD, P_KILL, NPHASE };

/* Error classes: -status for the sbx_status codes (1..17), then ours. */
enum { ERR_BAD_RESULT = 18, NERR = 19 };

struct load_phase {
  long attempted, ok, errors;
  long err[NERR];
  double t_first, t_last; /* ev_time() of the first start and last end */
  char first_err[200];
  struct hist lat; /* ns, successful ops only */
};

struct load;

/* One task: a sandbox's life (lifecycle, hold) or one op on the pool. */
struct load_task {
  struct load *L;
  long idx;
  int slot;
  double t_start; /* intended start: the first op's latency counts from it */
  double t_op;    /* start of the op in flight */
  char sb[64];
  int execs_left, got_first, cancelled;
  size_t got;
  sbx_op_id exec_op;
  ev_timer hold;
  int holding;
};

/* A pool sandbox's create or kill. */
struct load_pool_op {
  struct load *L;
  int i;
  double t_op;
};

struct load {
  struct load_opts o;
  struct ev_loop *loop;
  sbx_client *c;
  struct load_phase ph[NPHASE];
  struct hist lag; /* loop lateness, ns */
  ev_timer lag_timer, arrival, stop_timer, kick;
  ev_signal sigint, sigterm;
  double lag_expected;   /* ev_time() the lag timer should fire at */
  double t0, t_end;      /* ev_time() at the start and end of the task stage */
  double cpu_us;         /* user+sys over the run */
  long rss0_kb, hwm_kb;  /* resident at the start, peak */
  sbx_client_stats wire; /* requests and connections over the run */
  const char *provider;
  long started, finished; /* tasks */
  int inflight, stopping, interrupted, pumping;
  int live, max_live; /* sandboxes created and not yet killed */
  /* pool (exec, files) */
  char (*pool)[64];
  struct load_pool_op *pool_ops;
  int pool_n, pool_pending;
  int stage;               /* 0: pool setup, 1: tasks, 2: pool teardown, 3: done */
  struct load_task *tasks; /* o.c slots */
  int *free_slots;
  int n_free;
  char *payload; /* files: the bytes uploaded */
  char fatal[256];
};

/* The run (load_run.c): 0 when it ran (errors are in the figures). */
int load_run(struct load *L);
void load_free(struct load *L);
/* Report (load_report.c). */
void load_report_text(const struct load *L, FILE *f);
int load_report_json(const struct load *L, const char *path);
/* Latency plots per phase as a self-contained SVG (load_svg.c): 0 or -1. */
int load_report_svg(const struct load *L, const char *path);
const char *load_phase_name(int p);
const char *load_err_name(int cls);

#endif
