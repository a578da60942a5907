/* child_watch.c - see child_watch.h. */
#include "child_watch.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../reactor/client.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* One non-blocking reap: 1 when the child is gone (si filled), 0 not yet. */
static int reap(struct child_watch *w, siginfo_t *si) {
  memset(si, 0, sizeof *si);
  int rc = w->pidfd >= 0 ? waitid((idtype_t)P_PIDFD, (id_t)w->pidfd, si, WEXITED | WNOHANG)
                         : waitid(P_PID, (id_t)w->pid, si, WEXITED | WNOHANG);
  if (rc != 0) {
    if (errno == EINTR) return 0;
    memset(si, 0, sizeof *si); /* ECHILD: reaped elsewhere; status unknown */
    return 1;
  }
  return si->si_pid != 0;
}

static void report(struct child_watch *w, const siginfo_t *si) {
  child_watch_stop(w);
  w->pid = 0;
  w->cb(w, si);
}

static void io_cb(struct ev_loop *loop, ev_io *io, int revents) {
  struct child_watch *w = io->data;
  siginfo_t si;
  if (reap(w, &si)) report(w, &si);
}

static void poll_cb(struct sbx_timer *t) {
  struct child_watch *w = t->data;
  siginfo_t si;
  if (reap(w, &si))
    report(w, &si);
  else
    sbx__timer_start(&w->c->timers, &w->poll, CHILD_POLL_MS);
}

int child_watch_start(struct sbx_client *c, struct child_watch *w, pid_t pid, child_watch_fn cb,
                      void *data) {
  memset(w, 0, sizeof *w);
  w->c = c;
  w->pid = pid;
  w->cb = cb;
  w->data = data;
  w->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  sbx__timer_init(&w->poll, poll_cb, w, 0);
  if (w->pidfd >= 0) {
    fcntl(w->pidfd, F_SETFD, FD_CLOEXEC);
    ev_io_init(&w->io, io_cb, w->pidfd, EV_READ);
    w->io.data = w;
    ev_io_start(c->loop, &w->io);
    return 0;
  }
  if (errno != ENOSYS) {
    w->pid = 0;
    return -1;
  }
  sbx__timer_start(&c->timers, &w->poll, CHILD_POLL_MS);
  return 0;
}

void child_watch_stop(struct child_watch *w) {
  if (!w->c) return;
  sbx__timer_stop(&w->c->timers, &w->poll);
  if (w->pidfd >= 0) {
    ev_io_stop(w->c->loop, &w->io);
    close(w->pidfd);
    w->pidfd = -1;
  }
}

void child_watch_kill(struct child_watch *w) {
  child_watch_stop(w);
  if (w->pid <= 0) return;
  kill(w->pid, SIGKILL);
  while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR) {
  }
  w->pid = 0;
}
