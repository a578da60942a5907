/* sbx_dt_bench.c - client CPU and memory of libsbx's Daytona provider
 * against sbx-emu --exec null (its /api and /toolbox/<id> half).
 *
 *   sbx-dt-bench --url https://localhost:PORT --ca FILE --key KEY
 *                [--creates N] [--execs M] [--window W]
 *
 * After a warm-up (min(N, W) creates, execs and deletes, not measured):
 * N creates, M execs (`echo x`, spread over the sandboxes) and N deletes,
 * each with at most W in flight. CPU is getrusage(RUSAGE_SELF) user+sys over
 * a phase divided by its ops; RSS per sandbox is the growth of resident
 * memory (/proc/self/statm) over the create phase, while the N sandboxes are
 * known and their toolbox URLs cached, divided by N. Uses only sbx.h.
 * Prints a table on stderr and one flat JSON object on stdout; exits 1 when
 * any op failed. */
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc_stats.h"
#include "sbx.h"

struct phase {
  const char *name;
  int n, ok, errors;
  double cpu_us;
  char first_err[256];
};

struct op {
  struct bench *b;
  int idx, bad;
  size_t out_len;
};

struct bench {
  struct ev_loop *loop;
  sbx_client *c;
  struct phase *ph;
  int window, inflight, done, n_ids;
  char (*ids)[64];
  struct op *ops;
};

typedef sbx_status (*start_fn)(struct bench *b, int i, struct op *o);

static long rss_kb(void) {
  long size = 0, res = -1;
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return -1;
  if (fscanf(f, "%ld %ld", &size, &res) != 2) res = -1;
  fclose(f);
  return res < 0 ? -1 : res * (sysconf(_SC_PAGESIZE) / 1024);
}

static void finish(struct op *o, const sbx_error *err) {
  struct bench *b = o->b;
  struct phase *ph = b->ph;
  b->inflight--;
  b->done++;
  if (!err && !o->bad) {
    ph->ok++;
    return;
  }
  ph->errors++;
  if (ph->first_err[0]) return;
  if (err)
    snprintf(ph->first_err, sizeof ph->first_err, "%s: %s (http %d): %s", ph->name,
             sbx_status_name(err->code), err->http_status, err->message ? err->message : "");
  else
    snprintf(ph->first_err, sizeof ph->first_err, "%s: wrong result", ph->name);
}

static void on_created(sbx_client *c, sbx_op_id op, const sbx_error *err,
                       const sbx_sandbox_info *info, void *ud) {
  struct op *o = ud;
  if (!err && info && info->id)
    snprintf(o->b->ids[o->idx], sizeof o->b->ids[0], "%s", info->id);
  else if (!err)
    o->bad = 1;
  finish(o, err);
}

static void on_deleted(sbx_client *c, sbx_op_id op, const sbx_error *err, void *ud) {
  finish(ud, err);
}

static void x_out(sbx_client *c, sbx_op_id op, int fd, const char *d, size_t n, void *ud) {
  struct op *o = ud;
  if (fd != SBX_STDOUT || o->out_len + n > 2 || memcmp(d, "x\n" + o->out_len, n) != 0) o->bad = 1;
  o->out_len += n;
}

static void x_done(sbx_client *c, sbx_op_id op, const sbx_error *err, const sbx_exec_result *res,
                   void *ud) {
  struct op *o = ud;
  if (!err && (!res || res->exit_code != 0 || o->out_len != 2)) o->bad = 1;
  finish(o, err);
}

static sbx_status start_create(struct bench *b, int i, struct op *o) {
  sbx_create_opts co;
  sbx_create_opts_init(&co);
  sbx_op_id id;
  return sbx_sandbox_create(b->c, &co, on_created, o, &id);
}

static const sbx_exec_cbs echo_cbs = {NULL, x_out, x_done};

static sbx_status start_exec(struct bench *b, int i, struct op *o) {
  sbx_exec_opts xo;
  sbx_exec_opts_init(&xo);
  xo.cmd = "echo x";
  xo.buffered = 1; /* process/execute, as the SDK's executeCommand */
  sbx_op_id id;
  return sbx_exec_start(b->c, b->ids[i % b->n_ids], &xo, &echo_cbs, o, &id);
}

static sbx_status start_delete(struct bench *b, int i, struct op *o) {
  sbx_op_id id;
  return sbx_sandbox_kill(b->c, b->ids[i], on_deleted, o, &id);
}

/* n ops with at most window in flight; CPU over the whole phase. */
static void run_phase(struct bench *b, struct phase *ph, const char *name, int n, start_fn fn) {
  memset(ph, 0, sizeof *ph);
  ph->name = name;
  ph->n = n;
  b->ph = ph;
  b->inflight = b->done = 0;
  int next = 0;
  double c0 = proc_cpu_us();
  while (b->done < n) {
    while (next < n && b->inflight < b->window) {
      struct op *o = &b->ops[next];
      memset(o, 0, sizeof *o);
      o->b = b;
      o->idx = next;
      b->inflight++;
      sbx_status st = fn(b, next++, o);
      if (st != SBX_OK) {
        sbx_error e = {.code = st, .message = "could not start"};
        finish(o, &e);
      }
    }
    if (b->done < n) ev_run(b->loop, EVRUN_ONCE);
  }
  ph->cpu_us = proc_cpu_us() - c0;
}

static int arg_int(const char *env, int def) {
  const char *v = getenv(env);
  return v && *v ? atoi(v) : def;
}

int main(int argc, char **argv) {
  const char *url = NULL, *ca = NULL, *key = "dt_bench_key";
  int n = arg_int("BENCH_DT_CREATES", 1000), m = arg_int("BENCH_DT_EXECS", 2000);
  int w = arg_int("BENCH_DT_WINDOW", 100);
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *a = argv[i], *v = argv[i + 1];
    if (!strcmp(a, "--url"))
      url = v;
    else if (!strcmp(a, "--ca"))
      ca = v;
    else if (!strcmp(a, "--key"))
      key = v;
    else if (!strcmp(a, "--creates"))
      n = atoi(v);
    else if (!strcmp(a, "--execs"))
      m = atoi(v);
    else if (!strcmp(a, "--window"))
      w = atoi(v);
    else {
      fprintf(stderr, "sbx-dt-bench: unknown argument %s\n", a);
      return 2;
    }
  }
  if (!url || n < 1 || m < 1 || w < 1) {
    fprintf(stderr, "usage: sbx-dt-bench --url https://HOST:PORT --ca FILE [--key KEY]"
                    " [--creates N] [--execs M] [--window W]\n");
    return 2;
  }
  char api[512];
  snprintf(api, sizeof api, "%s/api", url);
  sbx_config cfg;
  sbx_config_init(&cfg);
  cfg.provider = "daytona";
  cfg.use_env = 0;
  cfg.api_key = key;
  cfg.api_url = api;
  cfg.ca_file = ca;
  cfg.rate_create = 0; /* the emulator has no limit: measure the client, not the governor */
  cfg.rate_lifecycle = 0;
  struct bench b = {.loop = EV_DEFAULT, .window = w};
  int cap = n > m ? n : m;
  b.ids = calloc((size_t)cap, sizeof b.ids[0]);
  b.ops = calloc((size_t)cap, sizeof b.ops[0]);
  sbx_status st;
  char err[256] = "";
  if (!b.ids || !b.ops || !(b.c = sbx_client_new(b.loop, &cfg, &st, err, sizeof err))) {
    fprintf(stderr, "sbx-dt-bench: no client: %s\n", err);
    return 1;
  }
  struct phase warm[3], ph[3];
  b.n_ids = n < w ? n : w;
  run_phase(&b, &warm[0], "warm-up create", b.n_ids, start_create);
  run_phase(&b, &warm[1], "warm-up exec", b.n_ids, start_exec);
  run_phase(&b, &warm[2], "warm-up delete", b.n_ids, start_delete);
  memset(b.ids, 0, sizeof b.ids[0] * (size_t)cap);
  b.n_ids = n;
  long rss0 = rss_kb();
  run_phase(&b, &ph[0], "create", n, start_create);
  long rss1 = rss_kb();
  int have = 0; /* the created ones, for the execs and deletes */
  for (int i = 0; i < n; i++)
    if (b.ids[i][0]) memmove(b.ids[have++], b.ids[i], sizeof b.ids[0]);
  b.n_ids = have;
  if (have) {
    run_phase(&b, &ph[1], "exec", m, start_exec);
    run_phase(&b, &ph[2], "delete", have, start_delete);
  } else {
    memset(&ph[1], 0, 2 * sizeof ph[1]);
  }
  sbx_client_free(b.c);
  int errors = 0;
  for (int i = 0; i < 3; i++)
    errors += warm[i].errors + ph[i].errors;
  double kb = ph[0].ok ? (double)(rss1 - rss0) / ph[0].ok : 0;
  fprintf(stderr, "sbx %s (daytona) against sbx-emu --exec null; window %d in flight\n",
          sbx_version(), w);
  fprintf(stderr, "  %-8s %6s %6s %6s %10s\n", "op", "n", "ok", "errors", "CPU us/op");
  for (int i = 0; i < 3; i++)
    fprintf(stderr, "  %-8s %6d %6d %6d %10.1f\n", ph[i].name ? ph[i].name : "-", ph[i].n, ph[i].ok,
            ph[i].errors, ph[i].n ? ph[i].cpu_us / ph[i].n : 0.0);
  fprintf(stderr, "  RSS: %ld KB before, %ld KB with %d sandboxes: %.2f KB per sandbox\n", rss0,
          rss1, ph[0].ok, kb);
  for (int i = 0; i < 3; i++) {
    if (warm[i].first_err[0]) fprintf(stderr, "  first error, %s\n", warm[i].first_err);
    if (ph[i].first_err[0]) fprintf(stderr, "  first error, %s\n", ph[i].first_err);
  }
  if (errors) fprintf(stderr, "  FAILED: %d ops failed (warm-up included)\n", errors);
  printf("{\"create_cpu_us\":%.2f,\"exec_cpu_us\":%.2f,\"delete_cpu_us\":%.2f,"
         "\"kb_per_sandbox\":%.2f,\"creates\":%d,\"execs\":%d,\"deletes\":%d,\"errors\":%d}\n",
         ph[0].cpu_us / n, ph[1].n ? ph[1].cpu_us / ph[1].n : 0.0,
         ph[2].n ? ph[2].cpu_us / ph[2].n : 0.0, kb, ph[0].ok, ph[1].ok, ph[2].ok, errors);
  free(b.ids);
  free(b.ops);
  return errors ? 1 : 0;
}
