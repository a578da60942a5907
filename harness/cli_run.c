/* cli_run.c - `sbx run TASKS.jsonl`: options of the batch runner (run_*.c
 * does the work), and `sbx run --check` to validate a task file only. */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_args.h"
#include "cli_cmds.h"
#include "run.h"

enum {
  R_CONCURRENCY = 1,
  R_MAX_STARTING,
  R_MAX_DELETING,
  R_RATE,
  R_RETRIES,
  R_RESULTS,
  R_RESUME,
  R_SHARD,
  R_SHARDS,
  R_BACKSTOP,
  R_TAIL,
  R_MAX_ARTIFACT,
  R_QUIET,
  R_JSON_PROGRESS,
  R_CHECK,
  R_PROVIDER,
  R_JSON,
};

static const struct cli_opt run_opts[] = {
    {"--concurrency", 'c', 1, R_CONCURRENCY},
    {"--max-starting", 0, 1, R_MAX_STARTING},
    {"--max-deleting", 0, 1, R_MAX_DELETING},
    {"--rate", 0, 1, R_RATE},
    {"--retries", 0, 1, R_RETRIES},
    {"--results", 'o', 1, R_RESULTS},
    {"--resume", 0, 0, R_RESUME},
    {"--shard", 0, 1, R_SHARD},
    {"--shards", 0, 1, R_SHARDS},
    {"--backstop", 0, 1, R_BACKSTOP},
    {"--tail-bytes", 0, 1, R_TAIL},
    {"--max-artifact-bytes", 0, 1, R_MAX_ARTIFACT},
    {"--quiet", 'q', 0, R_QUIET},
    {"--json-progress", 0, 0, R_JSON_PROGRESS},
    {"--check", 0, 0, R_CHECK},
    {"--provider", 0, 1, R_PROVIDER},
    {"--json", 0, 0, R_JSON},
    {0, 0, 0, 0},
};

/* The rates asked for with --rate, applied to the client's config. */
struct run_rates {
  double create, lifecycle, data;
  int shards;  /* the budget is shared by this many runners */
  int streams; /* transfers the runner may have in flight */
};

static void apply_rates(struct cli *cli, sbx_config *cfg) {
  const struct run_rates *rt = cli->configure_ud;
  double n = rt->shards > 1 ? rt->shards : 1;
  if (rt->create > 0) cfg->rate_create = rt->create;
  if (rt->lifecycle > 0) cfg->rate_lifecycle = rt->lifecycle;
  if (rt->data > 0) cfg->rate_data = rt->data;
  /* N shards share one account: each gets 1/N of every budget */
  cfg->rate_create /= n;
  cfg->rate_lifecycle /= n;
  cfg->rate_data /= n;
  if (cfg->max_streams < rt->streams) cfg->max_streams = rt->streams;
  if (n > 1) {
    cfg->burst_create = cfg->burst_create / (int)n > 0 ? cfg->burst_create / (int)n : 1;
    cfg->burst_lifecycle = cfg->burst_lifecycle / (int)n > 0 ? cfg->burst_lifecycle / (int)n : 1;
  }
}

/* "create=20/s" (the "/s" is optional). */
static int parse_rate(struct cli *cli, const char *s, struct run_rates *rt) {
  const char *eq = strchr(s, '=');
  if (!eq) return cli_usage(cli, "--rate '%s': expected CLASS=N/s (create, lifecycle or data)", s);
  char *end;
  double v = strtod(eq + 1, &end);
  if (end == eq + 1 || (*end && strcmp(end, "/s")) || !(v > 0) || v > 1e6)
    return cli_usage(cli, "--rate '%s': the rate must be a positive number per second", s);
  size_t kl = (size_t)(eq - s);
  if (kl == 6 && !strncmp(s, "create", 6))
    rt->create = v;
  else if (kl == 9 && !strncmp(s, "lifecycle", 9))
    rt->lifecycle = v;
  else if (kl == 4 && !strncmp(s, "data", 4))
    rt->data = v;
  else
    return cli_usage(cli, "--rate '%s': unknown class (create, lifecycle or data)", s);
  return 0;
}

/* --shard I/N, or auto: Kubernetes Indexed Jobs (JOB_COMPLETION_INDEX with
 * --shards N) or Slurm arrays (SLURM_ARRAY_TASK_ID / _COUNT). */
static int parse_shard(struct cli *cli, const char *s, long shards, struct run_opts *o) {
  long i, n;
  if (!strcmp(s, "auto")) {
    const char *k8s = getenv("JOB_COMPLETION_INDEX");
    const char *sid = getenv("SLURM_ARRAY_TASK_ID"), *scount = getenv("SLURM_ARRAY_TASK_COUNT");
    if (k8s && *k8s) {
      if (shards <= 0)
        return cli_usage(cli,
                         "--shard auto under Kubernetes needs --shards N (the Job's completions)");
      if (cli_parse_long(cli, "JOB_COMPLETION_INDEX", k8s, 0, shards - 1, &i))
        return CLI_EXIT_USAGE;
      n = shards;
    } else if (sid && *sid && scount && *scount) {
      /* Slurm counts from the array's first index, which --array=0-N-1 makes 0 */
      const char *smin = getenv("SLURM_ARRAY_TASK_MIN");
      long lo = 0;
      if (smin && *smin && cli_parse_long(cli, "SLURM_ARRAY_TASK_MIN", smin, 0, 1L << 30, &lo))
        return CLI_EXIT_USAGE;
      if (cli_parse_long(cli, "SLURM_ARRAY_TASK_COUNT", scount, 1, 1L << 20, &n) ||
          cli_parse_long(cli, "SLURM_ARRAY_TASK_ID", sid, lo, lo + n - 1, &i))
        return CLI_EXIT_USAGE;
      i -= lo;
    } else {
      return cli_usage(cli, "--shard auto: neither JOB_COMPLETION_INDEX nor "
                            "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT is set");
    }
  } else {
    const char *slash = strchr(s, '/');
    if (!slash) return cli_usage(cli, "--shard '%s': expected I/N (0 <= I < N) or auto", s);
    char ibuf[32];
    snprintf(ibuf, sizeof ibuf, "%.*s", (int)(slash - s), s);
    if (cli_parse_long(cli, "--shard N", slash + 1, 1, 1L << 20, &n) ||
        cli_parse_long(cli, "--shard I", ibuf, 0, n - 1, &i))
      return CLI_EXIT_USAGE;
  }
  o->shard_i = (int)i;
  o->shard_n = (int)n;
  return 0;
}

/* results/<task file name without .jsonl> */
static char *default_results(const char *tasks) {
  char *copy = cli_xstrdup(tasks);
  char *base = basename(copy);
  size_t n = strlen(base);
  if (n > 6 && !strcmp(base + n - 6, ".jsonl")) base[n - 6] = '\0';
  char *d = cli_xasprintf("results/%s", base);
  free(copy);
  return d;
}

int cmd_run(struct cli *cli, int argc, char **argv) {
  struct run_opts o = {.concurrency = 64,
                       .max_starting = 16,
                       .max_deleting = 32,
                       .retries = 2,
                       .backstop_s = 600,
                       .tail_bytes = 4096,
                       .max_artifact_bytes = 256u << 20};
  struct run_rates rt = {0};
  const char *shard = NULL;
  long shards = 0, n;
  int check = 0, resume = 0;
  char *results = NULL;
  struct cli_args a;
  cli_args_init(&a, cli, argc, argv);
  int id, rc = 0;
  while ((id = cli_args_next(&a, run_opts)) != CLI_END) {
    switch (id) {
    case CLI_ERR: rc = CLI_EXIT_USAGE; break;
    case CLI_HELP:
      cli_print_usage(stdout, "run");
      free(results);
      return CLI_EXIT_OK;
    case CLI_POS:
      if (o.tasks_path)
        rc = cli_usage(cli, "unexpected argument '%s'", a.val);
      else if (!*a.val)
        rc = cli_usage(cli, "empty task file name");
      else
        o.tasks_path = a.val;
      break;
    case R_CONCURRENCY:
      rc = cli_parse_long(cli, "--concurrency", a.val, 1, 100000, &n);
      o.concurrency = (int)n;
      break;
    case R_MAX_STARTING:
      rc = cli_parse_long(cli, "--max-starting", a.val, 1, 100000, &n);
      o.max_starting = (int)n;
      break;
    case R_MAX_DELETING:
      rc = cli_parse_long(cli, "--max-deleting", a.val, 1, 100000, &n);
      o.max_deleting = (int)n;
      break;
    case R_RATE: rc = parse_rate(cli, a.val, &rt); break;
    case R_RETRIES:
      rc = cli_parse_long(cli, "--retries", a.val, 0, 100, &n);
      o.retries = (int)n;
      break;
    case R_RESULTS:
      if (!*a.val) rc = cli_usage(cli, "--results needs a directory");
      free(results);
      results = cli_xstrdup(a.val);
      break;
    case R_RESUME: resume = 1; break;
    case R_SHARD: shard = a.val; break;
    case R_SHARDS: rc = cli_parse_long(cli, "--shards", a.val, 1, 1L << 20, &shards); break;
    case R_BACKSTOP: rc = cli_parse_long(cli, "--backstop", a.val, 3, 86400, &o.backstop_s); break;
    case R_TAIL:
      rc = cli_parse_long(cli, "--tail-bytes", a.val, 0, 16L << 20, &n);
      o.tail_bytes = (size_t)n;
      break;
    case R_MAX_ARTIFACT:
      rc = cli_parse_long(cli, "--max-artifact-bytes", a.val, 1, 1L << 40, &n);
      o.max_artifact_bytes = (uint64_t)n;
      break;
    case R_QUIET: o.quiet = 1; break;
    case R_JSON_PROGRESS: o.json_progress = 1; break;
    case R_CHECK: check = 1; break;
    case R_PROVIDER:
      if (!*a.val) rc = cli_usage(cli, "--provider needs a name");
      cli->provider = a.val;
      break;
    case R_JSON: cli->json = 1; break;
    }
    if (rc) {
      free(results);
      return rc;
    }
  }
  if (!o.tasks_path) return free(results), cli_usage(cli, "missing task file (TASKS.jsonl)");
  if (shard && (rc = parse_shard(cli, shard, shards, &o))) return free(results), rc;
  if (shards && !shard) return free(results), cli_usage(cli, "--shards needs --shard auto");
  if (check) {
    free(results);
    struct run_specs specs;
    int errors = run_specs_load(o.tasks_path, &specs, stderr, 50);
    if (errors) return CLI_EXIT_USAGE;
    printf("%s: %zu tasks, all valid\n", o.tasks_path, specs.n);
    run_specs_free(&specs);
    return CLI_EXIT_OK;
  }
  if (!results) results = default_results(o.tasks_path);
  o.results_dir = results;
  if (resume) {
    char *j = cli_xasprintf("%s/journal.jsonl", results);
    FILE *f = fopen(j, "r");
    free(j);
    if (!f) {
      rc = cli_usage(cli, "--resume: %s has no journal.jsonl to resume", results);
      free(results);
      return rc;
    }
    fclose(f);
  }
  rt.shards = o.shard_n;
  /* every live task may hold a stream, plus creates, kills and heartbeats */
  rt.streams = o.concurrency + o.max_starting + o.max_deleting + 64;
  cli->configure = apply_rates;
  cli->configure_ud = &rt;
  rc = run_main(cli, &o);
  free(results);
  return rc;
}
