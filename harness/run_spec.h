/* run_spec.h - the task file of `sbx run`: JSON Lines, one task per line,
 * parsed and validated whole before anything starts (see docs/tasks.md).
 * Every error names the file, the line and the key. */
#ifndef SBX_RUN_SPEC_H
#define SBX_RUN_SPEC_H

#include <stddef.h>
#include <stdio.h>

#include "sbx.h"

#define RUN_ID_MAX 128

enum run_on_failure {
  RUN_FAIL_STOP = 0, /* default: later commands are skipped, the task failed */
  RUN_FAIL_CONTINUE, /* later commands run, the task failed */
  RUN_FAIL_IGNORE    /* the exit code is recorded, the task does not fail */
};

enum { RUN_NET_DEFAULT = -1, RUN_NET_DENY = 0, RUN_NET_ALLOW = 1 };

struct run_upload {
  char *path;    /* in the sandbox, absolute */
  char *local;   /* a host file (resolved against the task file's dir), or */
  char *content; /* inline bytes */
  size_t content_len;
};

struct run_command {
  char *run; /* shell command line */
  char *cwd; /* NULL: the home */
  sbx_kv *env;
  size_t n_env;
  long timeout_s; /* 0: only the task timeout */
  enum run_on_failure on_failure;
};

struct run_spec {
  char *id;
  int line; /* in the task file, for messages */
  /* sandbox */
  char *template_id; /* NULL: the provider's default */
  char *snapshot;
  char *image;
  int cpu, memory_mb, disk_gb; /* 0: not asked for */
  sbx_kv *env;
  size_t n_env;
  char **secret_names; /* sandbox env names whose values come from ... */
  char **secret_from;  /* ... these variables of the runner's environment */
  size_t n_secret;
  int network; /* RUN_NET_* */
  char **allow_out, **deny_out;
  size_t n_allow_out, n_deny_out;
  long lifetime_s; /* 0: the runner's backstop */
  /* work */
  struct run_upload *uploads;
  size_t n_uploads;
  struct run_command *cmds;
  size_t n_cmds;
  char **artifacts; /* absolute sandbox paths; the last component may be a glob */
  size_t n_artifacts;
  long timeout_s; /* 0: none */
  sbx_kv *labels;
  size_t n_labels;
};

struct run_specs {
  struct run_spec *v;
  size_t n;
};

/* Parse and validate path. Errors go to err (one line each, "FILE:LINE: key
 * 'x': what"), at most max_errors of them; returns the number of errors (0:
 * out is filled). Local file paths are resolved against the file's
 * directory, globs expanded, and secret references checked against the
 * environment now (their values are not kept). */
int run_specs_load(const char *path, struct run_specs *out, FILE *err, int max_errors);
/* The same from an open stream (not closed); path names it in messages and
 * anchors relative local paths. */
int run_specs_read(FILE *f, const char *path, struct run_specs *out, FILE *err, int max_errors);
void run_specs_free(struct run_specs *s);

/* A task id usable as a directory name: [A-Za-z0-9._-], not "." or "..". */
int run_valid_task_id(const char *id);

#endif
