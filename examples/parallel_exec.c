/* parallel_exec.c - embed libsbx in a libev program: create N sandboxes at
 * once, run one command in each with streamed output, kill them all.
 *
 *   E2B_API_KEY=... parallel_exec [N] [command]
 *
 * Each sandbox walks its own little pipeline (create -> exec -> kill) driven
 * by completion callbacks; the loop runs all of them concurrently. */
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbx.h"

struct job {
  sbx_client *c;
  int index;
  char id[64];
  int exit_code;
  int failed;
  int *live;
};

static void killed(sbx_client *c, sbx_op_id op, const sbx_error *err, void *ud) {
  struct job *j = ud;
  if (err) {
    fprintf(stderr, "job %d: kill: %s\n", j->index, err->message);
    j->failed = 1;
  }
  (*j->live)--;
}

static void finish(struct job *j) {
  sbx_op_id op;
  if (!j->id[0] || sbx_sandbox_kill(j->c, j->id, killed, j, &op) != SBX_OK) (*j->live)--;
}

static void on_output(sbx_client *c, sbx_op_id op, int fd, const char *data, size_t len, void *ud) {
  struct job *j = ud;
  /* Output arrives as it is produced; prefix each chunk with the job. */
  printf("[%d %s] %.*s", j->index, fd == SBX_STDOUT ? "out" : "err", (int)len, data);
}

static void on_exec_done(sbx_client *c, sbx_op_id op, const sbx_error *err,
                         const sbx_exec_result *res, void *ud) {
  struct job *j = ud;
  if (err) {
    fprintf(stderr, "job %d: exec: %s\n", j->index, err->message);
    j->failed = 1;
  } else {
    j->exit_code = res->exit_code;
  }
  finish(j);
}

static const char *command = "echo hello from $(hostname); echo job $JOB";

static void created(sbx_client *c, sbx_op_id op, const sbx_error *err, const sbx_sandbox_info *info,
                    void *ud) {
  struct job *j = ud;
  if (err) {
    fprintf(stderr, "job %d: create: %s\n", j->index, err->message);
    j->failed = 1;
    (*j->live)--;
    return;
  }
  snprintf(j->id, sizeof j->id, "%s", info->id);
  char job[16];
  snprintf(job, sizeof job, "%d", j->index);
  sbx_kv env[] = {{"JOB", job}};
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  o.cmd = command;
  o.envs = env;
  o.n_envs = 1;
  o.timeout_ms = 60000;
  sbx_exec_cbs cbs = {NULL, on_output, on_exec_done};
  sbx_op_id eop;
  if (sbx_exec_start(c, j->id, &o, &cbs, j, &eop) != SBX_OK) {
    j->failed = 1;
    finish(j);
  }
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 3;
  if (argc > 2) command = argv[2];
  if (n < 1 || n > 1000) {
    fprintf(stderr, "usage: parallel_exec [N (1..1000)] [command]\n");
    return 2;
  }
  struct ev_loop *loop = ev_default_loop(0);
  sbx_config cfg;
  sbx_config_init(&cfg);
  char errbuf[256];
  sbx_status st;
  sbx_client *c = sbx_client_new(loop, &cfg, &st, errbuf, sizeof errbuf);
  if (!c) {
    fprintf(stderr, "parallel_exec: %s\n", errbuf);
    return 1;
  }
  struct job *jobs = calloc((size_t)n, sizeof *jobs);
  int live = n;
  sbx_kv meta[] = {{"example", "parallel_exec"}};
  sbx_create_opts co;
  sbx_create_opts_init(&co);
  co.timeout_s = 300; /* a backstop: a crash here leaks minutes, not days */
  co.metadata = meta;
  co.n_metadata = 1;
  for (int i = 0; i < n; i++) {
    jobs[i] = (struct job){.c = c, .index = i, .exit_code = -1, .live = &live};
    sbx_op_id op;
    if (sbx_sandbox_create(c, &co, created, &jobs[i], &op) != SBX_OK) {
      jobs[i].failed = 1;
      live--;
    }
  }
  while (live > 0)
    ev_run(loop, EVRUN_ONCE);
  int bad = 0;
  for (int i = 0; i < n; i++) {
    printf("job %d: sandbox %s exit %d%s\n", i, jobs[i].id[0] ? jobs[i].id : "-", jobs[i].exit_code,
           jobs[i].failed ? " (failed)" : "");
    bad += jobs[i].failed || jobs[i].exit_code != 0;
  }
  sbx_client_free(c);
  free(jobs);
  return bad ? 1 : 0;
}
