/* child_watch.h - a child's exit on any libev loop, for the local provider:
 * through a pidfd where the kernel has pidfd_open (Linux 5.3 and later),
 * else (older kernels, and valgrind, which does not know the syscall) by
 * a waitid poll every CHILD_POLL_MS on a client timer. Either way the
 * watch reaps the child itself and reports its siginfo once. */
#ifndef SBX_CHILD_WATCH_H
#define SBX_CHILD_WATCH_H

#include <ev.h>
#include <signal.h>
#include <sys/types.h>

#include "../reactor/timers.h"

#define CHILD_POLL_MS 20

struct sbx_client;
struct child_watch;
/* si: the exit as waitid gives it; si_code 0 when another reaper (a host's
 * SIGCHLD handler) took the child first: it ended, its status is unknown. */
typedef void (*child_watch_fn)(struct child_watch *w, const siginfo_t *si);

struct child_watch {
  struct sbx_client *c;
  pid_t pid; /* 0 once reaped (or never started) */
  int pidfd; /* -1 when polling */
  ev_io io;
  struct sbx_timer poll;
  child_watch_fn cb;
  void *data;
};

/* Watch pid, a child of this process. 0, or -1 with errno set (the child
 * is left as it is: the caller kills and reaps it). */
int child_watch_start(struct sbx_client *c, struct child_watch *w, pid_t pid, child_watch_fn cb,
                      void *data);
/* Stop watching (no callback after this); a child still running is left
 * to the caller. Safe on a watch never started or already reported. */
void child_watch_stop(struct child_watch *w);
/* Stop, SIGKILL the child if it still runs, and reap it (blocking: a
 * SIGKILLed child is reaped at once). For cancel and teardown paths. */
void child_watch_kill(struct child_watch *w);

#endif
