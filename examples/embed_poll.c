/* embed_poll.c - drive libsbx from a plain poll() loop, without libev in
 * the host: the client runs on a private loop (sbx_client_new with a NULL
 * loop) and the host waits on sbx_client_fd for at most
 * sbx_client_timeout_ms, then calls sbx_client_run_once. Creates N
 * sandboxes, runs one command in each, prints its output, kills them.
 *
 *   E2B_API_KEY=... embed_poll [N]      (or SBX_PROVIDER=local)
 *
 * Exits 0 only when every sandbox was created, ran its command with exit
 * code 0 and was killed. A host with fds of its own puts them in the same
 * pollfd array. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbx.h"

struct job {
  sbx_client *c;
  int index;
  char id[64];
  char out[256];
  size_t out_len;
  int exit_code;
  int killed;
  int failed;
  int *live;
};

static void job_fail(struct job *j, const char *what, const sbx_error *err) {
  fprintf(stderr, "job %d: %s: %s\n", j->index, what, err->message);
  j->failed = 1;
}

static void killed(sbx_client *c, sbx_op_id op, const sbx_error *err, void *ud) {
  struct job *j = ud;
  if (err)
    job_fail(j, "kill", err);
  else
    j->killed = 1;
  (*j->live)--;
}

static void finish(struct job *j) {
  sbx_op_id op;
  if (sbx_sandbox_kill(j->c, j->id, killed, j, &op) != SBX_OK) {
    j->failed = 1;
    (*j->live)--;
  }
}

static void on_output(sbx_client *c, sbx_op_id op, int fd, const char *data, size_t len, void *ud) {
  struct job *j = ud;
  size_t room = sizeof j->out - 1 - j->out_len;
  if (len > room) len = room;
  memcpy(j->out + j->out_len, data, len);
  j->out_len += len;
  j->out[j->out_len] = 0;
}

static void on_exec_done(sbx_client *c, sbx_op_id op, const sbx_error *err,
                         const sbx_exec_result *res, void *ud) {
  struct job *j = ud;
  if (err)
    job_fail(j, "exec", err);
  else
    j->exit_code = res->exit_code;
  finish(j);
}

static void created(sbx_client *c, sbx_op_id op, const sbx_error *err, const sbx_sandbox_info *info,
                    void *ud) {
  struct job *j = ud;
  if (err) {
    job_fail(j, "create", err);
    (*j->live)--;
    return;
  }
  snprintf(j->id, sizeof j->id, "%s", info->id);
  char job[16];
  snprintf(job, sizeof job, "%d", j->index);
  sbx_kv env[] = {{"JOB", job}};
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  o.cmd = "echo hello from job $JOB";
  o.envs = env;
  o.n_envs = 1;
  sbx_exec_cbs cbs = {NULL, on_output, on_exec_done};
  sbx_op_id eop;
  if (sbx_exec_start(c, j->id, &o, &cbs, j, &eop) != SBX_OK) {
    j->failed = 1;
    finish(j);
  }
}

/* The host loop: one fd and a timeout, as any poll/epoll/select host has. */
static int drive(sbx_client *c, const int *live) {
  struct pollfd p = {.fd = sbx_client_fd(c), .events = POLLIN};
  while (*live > 0) {
    long ms = sbx_client_timeout_ms(c); /* -1: wait for I/O alone */
    if (poll(&p, 1, ms > 60000 ? 60000 : (int)ms) < 0 && errno != EINTR) {
      perror("poll");
      return -1;
    }
    if (sbx_client_run_once(c) != SBX_OK) return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 3;
  if (n < 1 || n > 1000) {
    fprintf(stderr, "usage: embed_poll [N (1..1000)]\n");
    return 2;
  }
  char errbuf[256];
  sbx_status st;
  sbx_client *c = sbx_client_new(NULL, NULL, &st, errbuf, sizeof errbuf);
  if (!c) {
    fprintf(stderr, "embed_poll: %s\n", errbuf);
    return 1;
  }
  struct job *jobs = calloc((size_t)n, sizeof *jobs);
  if (!jobs) return 1;
  int live = n;
  sbx_create_opts co;
  sbx_create_opts_init(&co);
  co.timeout_s = 300; /* a backstop: a crash here leaks minutes, not days */
  for (int i = 0; i < n; i++) {
    jobs[i] = (struct job){.c = c, .index = i, .exit_code = -1, .live = &live};
    sbx_op_id op;
    if (sbx_sandbox_create(c, &co, created, &jobs[i], &op) != SBX_OK) {
      jobs[i].failed = 1;
      live--;
    }
  }
  int bad = drive(c, &live) != 0;
  for (int i = 0; i < n; i++) {
    struct job *j = &jobs[i];
    printf("job %d: sandbox %s exit %d killed %d: %s", i, j->id[0] ? j->id : "-", j->exit_code,
           j->killed, j->out_len ? j->out : "(no output)\n");
    char want[64];
    snprintf(want, sizeof want, "hello from job %d\n", i);
    bad += j->failed || j->exit_code != 0 || !j->killed || strcmp(j->out, want) != 0;
  }
  if (sbx_client_pending(c) != 0) bad++;
  sbx_client_free(c);
  free(jobs);
  printf("embed_poll: %d of %d jobs failed\n", bad, n);
  return bad ? 1 : 0;
}
