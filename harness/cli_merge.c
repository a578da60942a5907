/* cli_merge.c - `sbx merge --out DIR SHARD_DIR...`: combine the results of
 * sharded runs into one results.jsonl and summary.json. A task found in two
 * shards is an error (the shards overlapped); artifact paths are rewritten
 * to stay valid from the merged directory. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_args.h"
#include "cli_cmds.h"
#include "cli_output.h"

static const char *const statuses[] = {"ok", "failed", "error", "timeout", "cancelled"};
#define N_STATUS (sizeof statuses / sizeof statuses[0])

struct merge {
  json_t *seen;   /* task id -> shard dir */
  json_t *errors; /* class -> count */
  size_t counts[N_STATUS];
  double *total_ms; /* per task, for percentiles */
  size_t n, cap;
  FILE *out;
  int bad;
};

static void rewrite_artifacts(json_t *line, const char *rel) {
  json_t *arts = json_object_get(line, "artifacts");
  size_t i;
  json_t *a;
  json_array_foreach(arts, i, a) {
    if (!json_is_string(a)) continue;
    char *p = cli_xasprintf("%s/%s", rel, json_string_value(a));
    json_array_set_new(arts, i, json_string(p));
    free(p);
  }
}

static int merge_dir(struct merge *m, const char *dir, const char *rel) {
  char *path = cli_xasprintf("%s/results.jsonl", dir);
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "sbx: merge: %s: %s\n", path, strerror(errno));
    free(path);
    return -1;
  }
  char *buf = NULL;
  size_t cap = 0;
  ssize_t len;
  int lineno = 0, rc = 0;
  while ((len = getline(&buf, &cap, f)) > 0) {
    lineno++;
    if (buf[len - 1] != '\n') {
      fprintf(stderr, "sbx: merge: %s:%d: torn last line skipped (resume that shard)\n", path,
              lineno);
      break;
    }
    json_error_t je;
    json_t *o = json_loadb(buf, (size_t)len, 0, &je);
    const char *task = json_string_value(json_object_get(o, "task"));
    const char *st = json_string_value(json_object_get(o, "status"));
    if (!o || !task || !st) {
      fprintf(stderr, "sbx: merge: %s:%d: not a result line\n", path, lineno);
      json_decref(o);
      rc = -1;
      break;
    }
    const char *prev = json_string_value(json_object_get(m->seen, task));
    if (prev) {
      fprintf(stderr, "sbx: merge: task %s is in both %s and %s: the shards overlap\n", task, prev,
              dir);
      json_decref(o);
      rc = -1;
      continue;
    }
    json_object_set_new(m->seen, task, json_string(dir));
    for (size_t s = 0; s < N_STATUS; s++)
      if (!strcmp(st, statuses[s])) m->counts[s]++;
    const char *cls = json_string_value(json_object_get(json_object_get(o, "error"), "class"));
    if (cls) {
      json_int_t n = json_integer_value(json_object_get(m->errors, cls));
      json_object_set_new(m->errors, cls, json_integer(n + 1));
    }
    if (m->n == m->cap) {
      m->cap = m->cap ? m->cap * 2 : 1024;
      m->total_ms = cli_xrealloc(m->total_ms, m->cap * sizeof *m->total_ms);
    }
    m->total_ms[m->n++] =
        json_number_value(json_object_get(json_object_get(o, "timings_ms"), "total"));
    rewrite_artifacts(o, rel);
    char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(12));
    if (s) fprintf(m->out, "%s\n", s);
    free(s);
    json_decref(o);
  }
  free(buf);
  fclose(f);
  free(path);
  return rc;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The shard dir as seen from out (both as given, made absolute). */
static char *relative_to(const char *out, const char *dir) {
  char a[PATH_MAX], b[PATH_MAX];
  if (!realpath(out, a) || !realpath(dir, b)) return cli_xstrdup(dir);
  /* the longest common prefix that ends on a component boundary */
  size_t la = strlen(a), lb = strlen(b), i = 0, common;
  while (i < la && i < lb && a[i] == b[i])
    i++;
  if ((i == la || a[i] == '/') && (i == lb || b[i] == '/')) {
    common = i;
  } else {
    while (i > 0 && a[i - 1] != '/')
      i--;
    common = i > 0 ? i - 1 : 0;
  }
  /* one ".." per component of out below the common prefix */
  char *rel = cli_xstrdup("");
  for (const char *p = a + common; *p; p++)
    if (*p == '/') {
      char *n = cli_xasprintf("%s%s..", rel, *rel ? "/" : "");
      free(rel);
      rel = n;
    }
  const char *rest = b + common;
  while (*rest == '/')
    rest++;
  char *full = cli_xasprintf("%s%s%s", *rel ? rel : ".", *rest ? "/" : "", rest);
  free(rel);
  return full;
}

static const struct cli_opt merge_opts[] = {{"--out", 'o', 1, 1}, {0, 0, 0, 0}};

int cmd_merge(struct cli *cli, int argc, char **argv) {
  const char *out_dir = NULL;
  struct cli_strs dirs = {0};
  struct cli_args a;
  cli_args_init(&a, cli, argc, argv);
  int id;
  while ((id = cli_args_next(&a, merge_opts)) != CLI_END) {
    if (id == CLI_ERR) return cli_strs_free(&dirs), CLI_EXIT_USAGE;
    if (id == CLI_HELP) return cli_strs_free(&dirs), cli_print_usage(stdout, "merge"), 0;
    if (id == 1) out_dir = a.val;
    if (id == CLI_POS) cli_strs_add(&dirs, a.val);
  }
  if (!out_dir || !*out_dir) return cli_strs_free(&dirs), cli_usage(cli, "missing --out DIR");
  if (!dirs.n) return cli_usage(cli, "missing shard result directories");
  if (mkdir(out_dir, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "sbx: merge: %s: %s\n", out_dir, strerror(errno));
    cli_strs_free(&dirs);
    return CLI_EXIT_FAIL;
  }
  struct merge m = {.seen = json_object(), .errors = json_object()};
  char *rpath = cli_xasprintf("%s/results.jsonl", out_dir);
  m.out = fopen(rpath, "w");
  if (!m.out) {
    fprintf(stderr, "sbx: merge: %s: %s\n", rpath, strerror(errno));
    free(rpath);
    cli_strs_free(&dirs);
    json_decref(m.seen);
    json_decref(m.errors);
    return CLI_EXIT_FAIL;
  }
  int bad = 0;
  for (size_t i = 0; i < dirs.n; i++) {
    char *rel = relative_to(out_dir, dirs.v[i]);
    if (merge_dir(&m, dirs.v[i], rel) < 0) bad = 1;
    free(rel);
  }
  if (fclose(m.out) != 0) bad = 1;
  qsort(m.total_ms, m.n, sizeof *m.total_ms, cmp_double);
  json_t *sum = json_object(), *st = json_object(), *ph = json_object();
  for (size_t s = 0; s < N_STATUS; s++)
    json_object_set_new(st, statuses[s], json_integer((json_int_t)m.counts[s]));
  static const double pcts[] = {50, 90, 99};
  static const char *const names[] = {"p50", "p90", "p99"};
  for (int k = 0; k < 3; k++) {
    size_t i = (size_t)ceil(pcts[k] / 100.0 * (double)m.n);
    json_object_set_new(ph, names[k], json_real(m.n ? m.total_ms[i ? i - 1 : 0] : 0));
  }
  json_object_set_new(sum, "shards", json_integer((json_int_t)dirs.n));
  json_object_set_new(sum, "tasks", json_integer((json_int_t)m.n));
  json_object_set_new(sum, "status", st);
  json_object_set_new(sum, "errors", m.errors);
  json_object_set_new(sum, "task_total_ms", ph);
  char *spath = cli_xasprintf("%s/summary.json", out_dir);
  if (json_dump_file(sum, spath, JSON_INDENT(2) | JSON_REAL_PRECISION(12)) != 0) bad = 1;
  if (cli->json)
    out_json_line(json_incref(sum));
  else
    printf("merged %zu shards: %zu tasks: ok %zu  failed %zu  error %zu  timeout %zu -> %s\n",
           dirs.n, m.n, m.counts[0], m.counts[1], m.counts[2], m.counts[3], rpath);
  json_decref(sum);
  json_decref(m.seen);
  free(m.total_ms);
  free(rpath);
  free(spath);
  cli_strs_free(&dirs);
  if (bad) return 2;
  if (m.counts[2]) return 2;
  return m.counts[1] || m.counts[3] ? 1 : 0;
}
