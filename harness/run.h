/* run.h - `sbx run`: the batch runner. One struct run drives every task of
 * the file; each task is an explicit state machine (run_task.c) over the
 * public libsbx API; the runner (run_sched.c) admits tasks under the caps,
 * keeps the journal, heartbeats live sandboxes, and on a signal stops
 * starting and kills what is live. */
#ifndef SBX_RUN_H
#define SBX_RUN_H

#include <ev.h>
#include <stdint.h>

#include "cli.h"
#include "run_journal.h"
#include "run_spec.h"

enum run_state {
  RT_QUEUED = 0,  /* waiting for a starting slot */
  RT_BACKOFF,     /* waiting before the next attempt */
  RT_RECONCILING, /* a create's outcome is unknown: find and kill what it made */
  RT_CREATING,    /* sbx_sandbox_create in flight */
  RT_UPLOADING,   /* one upload at a time, in file order */
  RT_EXECUTING,   /* one command at a time */
  RT_REATTACHING, /* its stream broke: reconnect to the same process by pid */
  RT_LISTING,     /* expanding an artifact glob */
  RT_DOWNLOADING, /* one artifact at a time */
  RT_KILL_WAIT,   /* waiting for a deleting slot */
  RT_KILLING,     /* sbx_sandbox_kill in flight */
  RT_DONE,
  RT_NSTATES
};

enum run_status { RS_NONE = 0, RS_OK, RS_FAILED, RS_ERROR, RS_TIMEOUT, RS_CANCELLED };

/* Error classes: what went wrong, and whether another attempt may help. */
enum run_eclass {
  RE_NONE = 0,
  RE_TRANSIENT, /* network, reset, op timeout */
  RE_SERVER,    /* 5xx, unavailable */
  RE_RATELIMIT, /* 429 after the library's retries */
  RE_LOST,      /* the sandbox vanished, or a create's outcome is unknown */
  RE_PROTOCOL,  /* malformed reply */
  RE_AUTH,
  RE_CONFIG, /* the provider refused an option, bad argument */
  RE_LOCAL,  /* a local file could not be read or written */
  RE_TOOBIG, /* an artifact over the size cap */
  RE_TIMEOUT,
  RE_CANCELLED,
  RE_NCLASSES
};

/* Phases timed per task (milliseconds, summed over attempts). */
enum { PH_QUEUE, PH_CREATE, PH_UPLOAD, PH_COMMANDS, PH_DOWNLOAD, PH_KILL, PH_TOTAL, PH_N };

struct run_tail {
  char *buf; /* ring of cap bytes */
  size_t cap, len, start;
  uint64_t total;
};

struct run_cmd_result {
  int ran;
  int exit_code; /* -1: killed by a signal or unknown */
  char *status;  /* "exit status 1", "signal: killed" */
  double ms;
  uint32_t pid;   /* 0 until the process started */
  int reattached; /* times its stream was reconnected (output may have gaps) */
  struct run_tail out, err;
};

struct run;

struct run_task {
  struct run *run;
  const struct run_spec *spec;
  enum run_state state;
  enum run_status status;
  enum run_eclass eclass;
  char *error;        /* message of the last error, NULL when none */
  int attempt;        /* 1-based, including attempts of earlier runners */
  int tries;          /* attempts made by this runner */
  char *sandbox;      /* the live sandbox, NULL when none */
  char *killing;      /* the sandbox being killed */
  char *last_sandbox; /* of the latest attempt, for the result */
  sbx_op_id op;       /* the op in flight, 0 when none */
  size_t step;        /* index of the upload, command or artifact */
  size_t batch;       /* uploads in the request in flight */
  size_t glob;        /* artifact glob expansion: index in matches */
  char **matches;
  size_t n_matches;
  struct run_cmd_result *cmds;
  char **saved; /* artifact paths written, relative to the results dir */
  size_t n_saved;
  char **missing; /* artifact patterns that matched nothing */
  size_t n_missing;
  double phase_ms[PH_N];
  double entered; /* ev_now when the current state was entered */
  double started; /* first admission */
  double live_since;
  int stop_cmds; /* a command failed with on_failure stop */
  int cancelled; /* a signal or the task timeout cancelled the op */
  int timed_out;
  int kill_tries;
  int create_unknown;      /* the last create failed after it may have been done */
  int orphans;             /* reconcile kills in flight */
  ev_timer timer;          /* backoff wait, then the task timeout */
  struct run_task *next_q; /* in the queued or kill-wait list */
};

struct run_opts {
  const char *tasks_path;
  const char *results_dir;
  int concurrency;   /* live sandboxes */
  int max_starting;  /* creates in flight */
  int max_deleting;  /* kills in flight */
  int retries;       /* extra attempts after an infrastructure error */
  long backstop_s;   /* provider-side lifetime, renewed by the heartbeat */
  size_t tail_bytes; /* per stream kept in results */
  uint64_t max_artifact_bytes;
  int quiet, json_progress;
  int shard_i, shard_n; /* shard_n 0: no sharding */
};

struct run_queue {
  struct run_task *head, *tail;
  size_t n;
};

struct run {
  struct cli *cli;
  sbx_client *c;
  struct ev_loop *loop;
  struct run_opts o;
  struct run_specs specs;
  struct run_task *tasks;
  size_t n_tasks;
  struct run_journal j;
  const char *provider;

  struct run_queue queued, kill_wait;
  int n_starting, n_live, n_deleting, n_busy; /* n_busy: tasks not queued and not done */
  size_t counts[RS_CANCELLED + 1];
  size_t n_skipped;                     /* done by an earlier runner ... */
  size_t prev_counts[RS_CANCELLED + 1]; /* ... with these statuses */
  size_t n_retries;
  size_t n_swept; /* leftovers killed by the final sweep */
  double t0;
  double sandbox_seconds;
  int stopping; /* a signal: start nothing new */
  int signal;   /* the first signal's number */
  int hard;     /* a second signal: skip waiting, still kill */
  int sweeping;
  int closing;  /* the client is being freed */
  int io_error; /* the journal or results could not be written */
  int pumping, pump_again;
  char **secrets; /* values of the secret env, masked in results */
  size_t n_secrets;
  struct run_sweep *sweep; /* leftovers being killed, NULL when idle */
  size_t n_finished;

  ev_signal sigint_w, sigterm_w;
  ev_timer heartbeat_w, progress_w;
  ev_prepare flush_w; /* writes the journal's pending lines before each poll */
};

/* run_task.c */
void run_task_init(struct run *r, struct run_task *t, const struct run_spec *spec);
void run_task_free(struct run_task *t);
/* After its result line: free the attempt's output tails, artifact lists and
 * messages; status, error class, attempt and timings stay for the summary. */
void run_task_release(struct run_task *t);
/* Admit a queued task: its first (or next) attempt starts now. */
void run_task_start(struct run_task *t);
/* A signal: cancel what is in flight; the task goes on to kill its sandbox. */
void run_task_cancel(struct run_task *t);
/* A deleting slot is free: kill the task's sandbox now. */
void run_task_kill_now(struct run_task *t);
const char *run_state_name(enum run_state s);
const char *run_status_name(enum run_status s);
enum run_status run_status_parse(const char *name); /* RS_NONE when unknown */
const char *run_eclass_name(enum run_eclass e);

/* run_sched.c: what tasks call back into. */
void run_sched_changed(struct run *r); /* a cap may have freed */
void run_queue_push(struct run_queue *q, struct run_task *t);
struct run_task *run_queue_pop(struct run_queue *q);
void run_queue_remove(struct run_queue *q, struct run_task *t);
void run_journal_event(struct run *r, const char *ev, const struct run_task *t,
                       const char *sandbox);
/* The task finished: write its result line. */
void run_task_finished(struct run *r, struct run_task *t);

/* run_result.c */
/* A copy of msg with secret values masked (caller frees). */
char *run_mask(const struct run *r, const char *msg);
json_t *run_result_json(const struct run *r, const struct run_task *t);
void run_tail_append(struct run_tail *tl, const char *data, size_t len);
void run_tail_free(struct run_tail *tl);
/* Print and write summary.json. */
int run_summary(struct run *r);

/* run_sweep.c: list the run's sandboxes (by the sbx.run label) and kill
 * every one found; then done(r) is called. Counts kills in r->n_swept. */
struct run_sweep;
void run_sweep_start(struct run *r, void (*done)(struct run *r));

/* run_progress.c */
void run_progress_start(struct run *r);
void run_progress_stop(struct run *r);

/* run_sched.c entry: returns the exit code. */
int run_main(struct cli *cli, const struct run_opts *o);

#endif
