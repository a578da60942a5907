/* load_opts.c - sbxload's flags, h2load-style. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"

static const char *const workload_names[] = {"lifecycle", "exec", "files", "hold"};

const char *load_workload_name(enum load_workload w) {
  return workload_names[w];
}

static void usage(FILE *f) {
  fprintf(f, "usage: sbxload [options]\n"
             "  -w, --workload W    lifecycle | exec | files | hold (default lifecycle)\n"
             "                      lifecycle: create, M execs, kill per sandbox\n"
             "                      exec:      execs on a pool of live sandboxes\n"
             "                      files:     upload then download of --size bytes\n"
             "                      hold:      create, hold one open stream --hold-s, kill\n"
             "  -n N                tasks: sandboxes (lifecycle, hold) or ops (exec,\n"
             "                      files); default 100, unlimited with --duration\n"
             "  -c C                tasks in flight at most (default 10; hold: N)\n"
             "  --rate R            open loop: start R tasks/s, latency measured from\n"
             "                      each task's intended start (default: closed loop)\n"
             "  --burst N           open loop: start N tasks at once every N/R s\n"
             "                      instead of one every 1/R s (default 1)\n"
             "  --stagger MS        closed loop: start the first C tasks MS ms apart\n"
             "                      instead of all at once (default 0)\n"
             "  --duration S        stop starting tasks after S seconds\n"
             "  -m M                execs per sandbox (lifecycle, default 1)\n"
             "  --pool S            sandboxes shared by exec and files tasks (default C)\n"
             "  --cmd CMD           command of each exec (default 'echo x')\n"
             "  --size B            bytes per upload (files, default 4096; K/M suffix)\n"
             "  --hold-s T          seconds each held sandbox keeps its stream (default 5)\n"
             "  --template T        template / snapshot of new sandboxes\n"
             "  --retries N         library retries of retryable errors (default 3)\n"
             "  --governor          keep the library's default request-rate governor\n"
             "  --buffered          execs with opts.buffered (Daytona: one POST /process/execute\n"
             "                      instead of a session followed over a WebSocket)\n"
             "  --warmup K          first run K tasks of the same shape, unmeasured:\n"
             "                      figures then start from a warm client (connections\n"
             "                      open, code and heap paged in), as SDK benchmarks do\n"
             "  --provider P        local | e2b | daytona (default: from the env)\n"
             "  --api-url URL       control plane URL (E2B_API_URL, DAYTONA_API_URL)\n"
             "  --sandbox-url URL   E2B envd base URL for every sandbox (E2B_SANDBOX_URL)\n"
             "  --ca-file F         extra CA bundle to trust (SBX_CA_FILE)\n"
             "  --json FILE         also write the report as JSON\n"
             "  --svg FILE          also plot latency by percentile per phase (SVG)\n"
             "  -h, --help\n");
}

static int bad(const char *flag, const char *v, const char *why) {
  fprintf(stderr, "sbxload: %s %s: %s (see --help)\n", flag, v ? v : "", why);
  return 2;
}

static int num(const char *flag, const char *v, double lo, double hi, double *out) {
  char *end;
  errno = 0;
  double d = strtod(v, &end);
  double mul = 1;
  if (end != v && (*end == 'k' || *end == 'K')) mul = 1024, end++;
  if (end != v && (*end == 'm' || *end == 'M')) mul = 1024 * 1024, end++;
  if (end == v || *end || errno || d != d) return bad(flag, v, "not a number");
  d *= mul;
  if (d < lo || d > hi) return bad(flag, v, "out of range");
  *out = d;
  return 0;
}

int load_opts_parse(struct load_opts *o, int argc, char **argv) {
  memset(o, 0, sizeof *o);
  o->n = -1;
  o->c = -1;
  o->m = 1;
  o->pool = -1;
  o->cmd = "echo x";
  o->size = 4096;
  o->hold_s = 5;
  o->retries = -1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      return 1;
    }
    if (!strcmp(a, "--buffered")) {
      o->buffered = 1;
      continue;
    }
    if (!strcmp(a, "--governor")) {
      o->governor = 1;
      continue;
    }
    if (i + 1 >= argc) return bad(a, NULL, a[0] == '-' ? "needs a value" : "unexpected");
    const char *v = argv[++i];
    double d = 0;
    int rc = 0;
    if (!strcmp(a, "-w") || !strcmp(a, "--workload")) {
      size_t k = 0;
      while (k < 4 && strcmp(v, workload_names[k]))
        k++;
      if (k == 4) return bad(a, v, "unknown workload");
      o->workload = (enum load_workload)k;
    } else if (!strcmp(a, "-n")) {
      if (!(rc = num(a, v, 1, 1e9, &d))) o->n = (long)d;
    } else if (!strcmp(a, "-c")) {
      if (!(rc = num(a, v, 1, 1e6, &d))) o->c = (int)d;
    } else if (!strcmp(a, "--rate")) {
      rc = num(a, v, 1e-3, 1e7, &o->rate);
    } else if (!strcmp(a, "--burst")) {
      if (!(rc = num(a, v, 1, 1e6, &d))) o->burst = (long)d;
    } else if (!strcmp(a, "--stagger")) {
      rc = num(a, v, 0, 1e7, &o->stagger_ms);
    } else if (!strcmp(a, "--duration")) {
      rc = num(a, v, 1e-3, 1e7, &o->duration);
    } else if (!strcmp(a, "-m")) {
      if (!(rc = num(a, v, 0, 1e6, &d))) o->m = (int)d;
    } else if (!strcmp(a, "--pool")) {
      if (!(rc = num(a, v, 1, 1e6, &d))) o->pool = (int)d;
    } else if (!strcmp(a, "--size")) {
      if (!(rc = num(a, v, 0, 1 << 30, &d))) o->size = (size_t)d;
    } else if (!strcmp(a, "--hold-s")) {
      rc = num(a, v, 0, 1e6, &o->hold_s);
    } else if (!strcmp(a, "--warmup")) {
      if (!(rc = num(a, v, 0, 1e7, &d))) o->warmup = (long)d;
    } else if (!strcmp(a, "--retries")) {
      if (!(rc = num(a, v, 0, 100, &d))) o->retries = (int)d;
    } else if (!strcmp(a, "--cmd")) {
      o->cmd = v;
    } else if (!strcmp(a, "--template")) {
      o->template_id = v;
    } else if (!strcmp(a, "--provider")) {
      if (strcmp(v, "local") && strcmp(v, "e2b") && strcmp(v, "daytona"))
        return bad(a, v, "not local, e2b or daytona");
      o->provider = v;
    } else if (!strcmp(a, "--api-url")) {
      o->api_url = v;
    } else if (!strcmp(a, "--sandbox-url")) {
      o->sandbox_url = v;
    } else if (!strcmp(a, "--ca-file")) {
      o->ca_file = v;
    } else if (!strcmp(a, "--json")) {
      o->json_path = v;
    } else if (!strcmp(a, "--svg")) {
      o->svg_path = v;
    } else {
      return bad(a, NULL, "unknown option");
    }
    if (rc) return rc;
  }
  if (o->n < 0) o->n = o->duration > 0 ? 0 : 100; /* 0: no limit */
  if (o->c < 0) o->c = o->workload == W_HOLD && o->n > 0 ? (int)o->n : 10;
  if (o->pool < 0) o->pool = o->c;
  if (!o->cmd[0]) return bad("--cmd", "''", "empty command");
  if (o->workload == W_HOLD && !o->n) return bad("-n", "", "hold needs -n sandboxes");
  if (o->burst && o->rate <= 0) return bad("--burst", "", "needs --rate (open loop)");
  if (o->stagger_ms > 0 && o->rate > 0)
    return bad("--stagger", "", "closed loop only, not with --rate");
  if (!o->burst) o->burst = 1;
  return 0;
}
