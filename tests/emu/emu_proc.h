/* emu_proc.h - processes inside emulated sandboxes: real children (under
 * bubblewrap when it works) or synthetic ones (--exec null), their output
 * fan-out to Connect streams, and their retention after exit. */
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
  struct emu_sandbox *sb;
  struct emu_proc *hnext;             /* app->proc_hash chain */
  struct emu_proc *sb_prev, *sb_next; /* sb->procs */
  uint32_t pid;
  pid_t pgid; /* real mode: the child's process group; 0 in null mode */
  char *tag;
  json_t *config; /* ProcessConfig as sent, for List */

  int exited; /* the end event was produced */
  int exit_code;
  int signaled; /* killed by signal sig */
  int sig;

  int out_fd, err_fd, in_fd;
  ev_io out_io, err_io, in_io;
  struct emu_buf in_pending;
  int in_close_pending;
  ev_child child;
  int child_running;

  ev_timer deadline; /* Connect-Timeout-Ms of Start */
  ev_timer work;     /* null mode: the sleep; after exit: the retention */
  struct emu_stream *subs;
  struct emu_stream *starter; /* the Start stream, while it lives */
};

struct emu_proc_spec {
  const char *cmd;
  json_t *args;         /* array of strings, may be NULL */
  json_t *envs;         /* object, may be NULL */
  const char *cwd;      /* sandbox path, resolved */
  const char *cwd_host; /* the same on the host */
  const char *user;
  const char *home;
  int want_stdin;
  const char *tag;
  int64_t timeout_ms; /* 0: none */
};

/* Probe bubblewrap once at startup; sets app->use_bwrap. */
void emu_proc_probe(struct emu_app *app);
/* Start a process; config is kept (reference stolen). NULL with *why. */
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
/* {"event":{"end":{...}}} for an exited process; malloc'd. */
char *emu_proc_end_json(const struct emu_proc *p);
/* The sandbox dies: kill every process group, end streams, free all. */
void emu_procs_sandbox_gone(struct emu_sandbox *sb);
/* Pause or resume the sandbox's process groups (SIGSTOP / SIGCONT). */
void emu_procs_sandbox_signal(struct emu_sandbox *sb, int sig);

#endif
