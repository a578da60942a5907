/* local_watchdog.c - the lifetime backstop of a local sandbox: a detached
 * process that outlives the client, sleeps until the record's endAt (reread
 * every second, so extensions count), then kills the sandbox's process
 * groups and removes its directory.
 *
 * The watchdog is a fork of a process that may have other threads (curl's
 * resolver), so it never calls malloc: it scans the record in a stack buffer
 * and removes the tree by exec'ing rm. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "local.h"

#define WATCHDOG_NAME "sbx-watchdog"

/* The record as the watchdog sees it. */
struct wd_view {
  double end_at;
  int n;
  pid_t pgids[LOCAL_MAX_PGIDS];
};

/* The first "key": in text. The record's own keys come first (see
 * local_sandbox.c), and a metadata string cannot fake one: its quotes are
 * escaped. */
static const char *find_key(const char *text, const char *key) {
  char pat[32];
  size_t n = strlen(key);
  if (n + 3 >= sizeof pat) return NULL;
  pat[0] = '"';
  memcpy(pat + 1, key, n);
  pat[n + 1] = '"';
  pat[n + 2] = ':';
  pat[n + 3] = 0;
  const char *p = strstr(text, pat);
  return p ? p + n + 3 : NULL;
}

/* 1 parsed, 0 the record is gone, -1 unreadable for now. */
static int wd_read(const char *path, struct wd_view *v) {
  char buf[16384];
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
  ssize_t len = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (len <= 0) return -1;
  buf[len] = 0;
  const char *p = find_key(buf, "endAt");
  if (!p) return -1;
  v->end_at = strtod(p, NULL);
  v->n = 0;
  p = find_key(buf, "pgids");
  if (p && *p == '[') {
    p++;
    while (*p && *p != ']' && v->n < LOCAL_MAX_PGIDS) {
      char *end;
      long pg = strtol(p, &end, 10);
      if (end == p) break;
      if (pg > 1 && pg < INT_MAX) v->pgids[v->n++] = (pid_t)pg;
      p = end;
      while (*p == ',' || *p == ' ')
        p++;
    }
  }
  return 1;
}

static void nap(double s) {
  if (s > 1.0) s = 1.0;
  if (s < 0.01) s = 0.01;
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static __attribute__((noreturn)) void wd_main(const char *record, const char *dir) {
  struct wd_view v;
  int misses = 0;
  for (;;) {
    int r = wd_read(record, &v);
    if (r == 0) _exit(0); /* killed or removed by someone else */
    if (r < 0) {
      if (++misses > 30) _exit(1); /* a record we cannot read for 30 s: give up */
      nap(1.0);
      continue;
    }
    misses = 0;
    double left = v.end_at - now_s();
    if (left <= 0) break;
    nap(left);
  }
  for (int i = 0; i < v.n; i++)
    kill(-v.pgids[i], SIGKILL);
  nap(0.05); /* let the killed processes go before their files do */
  const char *argv[] = {"rm", "-rf", "--", dir, NULL};
  execv("/bin/rm", (char *const *)argv);
  execv("/usr/bin/rm", (char *const *)argv);
  _exit(127);
}

static __attribute__((noreturn)) void wd_child(const char *record, const char *dir, int report) {
  setsid();
  pid_t gc = fork();
  if (gc != 0) {
    /* The intermediate: tell the client the watchdog's pid, then go, so the
     * watchdog is nobody's child in the client's process. */
    ssize_t w = write(report, &gc, sizeof gc);
    (void)w;
    _exit(gc < 0 ? 1 : 0);
  }
  close(report);
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, NULL);
  signal(SIGHUP, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  signal(SIGPIPE, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  prctl(PR_SET_NAME, WATCHDOG_NAME, 0, 0, 0);
  int null = open("/dev/null", O_RDWR);
  if (null >= 0) {
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
  }
  close_range(3, ~0U, 0); /* hold none of the client's pipes or sockets */
  if (chdir("/") != 0) _exit(1);
  wd_main(record, dir);
}

int local_watchdog_spawn(const struct local_state *s, const char *id, pid_t *pid,
                         struct sbx_errinfo *e) {
  char record[PATH_MAX], dir[PATH_MAX];
  if (local_record_path(s, id, record, sizeof record) != 0 ||
      local_sandbox_path(s, id, dir, sizeof dir) != 0) {
    sbx_errinfo_set(e, SBX_EINVAL, "local: create sandbox %s: root path too long", id);
    return SBX_EINVAL;
  }
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    sbx_errinfo_set(e, SBX_EIO, "local: create sandbox %s: pipe: %s", id, strerror(errno));
    return SBX_EIO;
  }
  pid_t mid = fork();
  if (mid < 0) {
    int err = errno;
    close(p[0]);
    close(p[1]);
    sbx_errinfo_set(e, SBX_EIO, "local: create sandbox %s: cannot start the watchdog: %s", id,
                    strerror(err));
    return SBX_EIO;
  }
  if (mid == 0) {
    close(p[0]);
    wd_child(record, dir, p[1]);
  }
  close(p[1]);
  pid_t gc = -1;
  ssize_t got;
  do
    got = read(p[0], &gc, sizeof gc);
  while (got < 0 && errno == EINTR);
  close(p[0]);
  /* The intermediate exits right after its fork: this reap does not wait. */
  while (waitpid(mid, NULL, 0) < 0 && errno == EINTR) {
  }
  if (got != (ssize_t)sizeof gc || gc <= 0) {
    sbx_errinfo_set(e, SBX_EIO, "local: create sandbox %s: the watchdog did not start", id);
    return SBX_EIO;
  }
  *pid = gc;
  return 0;
}

void local_watchdog_kill(pid_t pid) {
  if (pid <= 1) return;
  char path[64], comm[32] = {0};
  snprintf(path, sizeof path, "/proc/%ld/comm", (long)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t n = read(fd, comm, sizeof comm - 1);
  close(fd);
  if (n > 0 && comm[n - 1] == '\n') comm[n - 1] = 0;
  /* Only a process that still is a watchdog: its pid may have been reused. */
  if (strcmp(comm, WATCHDOG_NAME) == 0) kill(pid, SIGKILL);
}
