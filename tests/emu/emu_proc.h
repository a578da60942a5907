/* emu_proc.h - processes inside emulated sandboxes: real ones (run by the
 * local provider through libsbx, emu_exec.c) or synthetic ones (--exec
 * null), their output fan-out to Connect streams, and their retention after
 * exit. */
#ifndef SBX_EMU_PROC_H
#define SBX_EMU_PROC_H

#include <ev.h>
#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "emu_app.h"
#include "emu_util.h"

struct emu_stream;

struct emu_proc {
  struct emu_app *app;
  struct emu_sandbox *sb;             /* NULL: orphaned, waiting for its exec op to end */
  struct emu_proc *hnext;             /* app->proc_hash chain (once the pid is known) */
  struct emu_proc *sb_prev, *sb_next; /* sb->procs */
  uint32_t pid;                       /* 0 until the process started */
  char *tag;
  json_t *config; /* ProcessConfig as sent, for List */

  int exited; /* the end event was produced */
  int exit_code;
  int signaled;      /* killed by a signal, named signame */
  char signame[32];  /* lower case, as envd prints it ("killed") */
  sbx_op_id op;      /* real mode: the local exec op, 0 once it completed */
  int want_stdin;    /* real mode: stdin is a pipe ... */
  int stdin_closed;  /* ... and CloseStdin was asked */
  int kill_on_start; /* real mode: a signal asked for before the pid was known */

  ev_timer deadline; /* Connect-Timeout-Ms of Start */
  ev_timer work;     /* null mode: the sleep; after exit: the retention */
  struct emu_stream *subs;
  struct emu_stream *starter; /* the Start stream, while it lives */
};

struct emu_proc_spec {
  const char *cmd;
  json_t *args;    /* array of strings, may be NULL */
  json_t *envs;    /* object, may be NULL */
  const char *cwd; /* sandbox path, resolved */
  const char *user;
  int want_stdin;
  const char *tag;
  int64_t timeout_ms; /* 0: none */
};

/* Start a process; config is kept (reference stolen). NULL with *why. The
 * start event goes to the subscribers once the pid is known: at once in
 * null mode (then call emu_proc_run_null), from the loop in real mode. */
struct emu_proc *emu_proc_start(struct emu_sandbox *sb, const struct emu_proc_spec *spec,
                                json_t *config, const char **why);
/* Kick off synthetic work after the start event was sent (null mode). */
void emu_proc_run_null(struct emu_proc *p);
struct emu_proc *emu_proc_find(struct emu_sandbox *sb, uint32_t pid, const char *tag);
int emu_proc_signal(struct emu_proc *p, int sig);
/* 0, or -1 with *why. */
int emu_proc_input(struct emu_proc *p, const void *data, size_t len, const char **why);
int emu_proc_close_stdin(struct emu_proc *p, const char **why);
void emu_proc_subscribe(struct emu_proc *p, struct emu_stream *st);
void emu_proc_unsubscribe(struct emu_proc *p, struct emu_stream *st);
/* {"event":{"start":{"pid":N}}} to one stream; emu_stream_send's result. */
int emu_proc_send_start(struct emu_stream *st, uint32_t pid);
/* {"event":{"end":{...}}} for an exited process; malloc'd. */
char *emu_proc_end_json(const struct emu_proc *p);
/* The sandbox dies: end streams, free every process (a real one still
 * running is orphaned until its exec op ends: the local kill ends it). */
void emu_procs_sandbox_gone(struct emu_sandbox *sb);

/* Shared with emu_exec.c (real mode). */
void emu_proc_started(struct emu_proc *p, uint32_t pid);
void emu_proc_output(struct emu_proc *p, const char *stream, const char *data, size_t len);
void emu_proc_finish(struct emu_proc *p);
/* Name the signal that ended it (lower-cased, as envd prints it). */
void emu_proc_set_signal(struct emu_proc *p, const char *name);
/* Unlink and free. */
void emu_proc_free(struct emu_proc *p);

/* emu_exec.c: real mode through libsbx (local provider). 0, or -1 with *why. */
int emu_exec_start(struct emu_proc *p, const struct emu_proc_spec *spec, const char **why);
void emu_exec_signal(struct emu_proc *p, int sig);
void emu_exec_input(struct emu_proc *p, const void *data, size_t len);
void emu_exec_close_stdin(struct emu_proc *p);

#endif
