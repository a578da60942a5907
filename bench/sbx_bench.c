/* sbx_bench.c - client CPU and memory of libsbx against sbx-emu (--exec null).
 *
 *   sbx-bench --http URL --https URL --ca FILE [--creates N] [--execs M]
 *             [--window W] [--streams 1000,10000] [--json]
 *
 * Over TLS (h2) it times N creates, M exec round trips (`echo hi`), opens
 * concurrent `sleep 60` streams (each size in --streams) and cancels them,
 * then N kills; over HTTP/1.1 cleartext it times creates, execs and kills.
 * CPU is getrusage(RUSAGE_SELF) user+sys over a phase divided by its ops;
 * memory is VmRSS / VmHWM from /proc/self/status; connections come from the
 * emulator's GET /_emu/stats, fetched with a blocking curl call between
 * phases (over cleartext: one h1 connection per fetch, subtracted).
 * Uses only sbx.h for the library. --json: JSON on stdout, table on stderr. */
#include <curl/curl.h>
#include <ev.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "proc_stats.h"
#include "sbx.h"

enum { P_H1, P_H1_TLS, P_H2, NPROTO };
static const char *const proto_name[NPROTO] = {"h1", "h1_tls", "h2"};

/* One /_emu/stats snapshot. */
struct stats {
  int ok;
  long open[NPROTO], total[NPROTO];
  long streams_open, streams_total, max_per_conn, live;
};

struct opts {
  const char *http, *https, *ca, *key;
  int creates, execs, window, json;
  int streams[4], n_streams;
  double phase_timeout;
};

/* A timed phase of n ops. */
struct phase {
  const char *name;
  int n, ok, errors, extra; /* extra: streams that ended before cancel */
  double cpu_us, wall_s;
  char first_err[200];
  long conns_new, conns_open; /* over all protocols */
  int timed_out;
};

/* A concurrent-streams phase. */
struct streams {
  int n, opened, open_errors, ended_early, cancelled, cancel_other, not_done;
  double open_cpu_us, open_wall_s, cancel_wall_s;
  long rss_base_kb, rss_open_kb, hwm_kb;
  double kb_per_stream;
  struct stats at_open;
  long emu_left; /* streams the emulator still counts open after the cancel */
  char first_err[200];
};

struct run {
  const char *label, *url;
  int tls, done;
  struct phase create, exec, kill;
  struct streams st[4];
  int n_st;
  long conns_total;      /* all connections the client opened in this run */
  double kb_per_sandbox; /* RSS growth over the create phase / sandboxes */
  char client_err[200];
};

struct op {
  struct bench *b;
  int idx, started, finished;
  size_t out_len;
  char out[8];
};

struct bench {
  struct opts o;
  struct ev_loop *loop;
  sbx_client *c;
  struct phase *ph;
  int inflight, done, started_ok;
  char (*ids)[64];
  int n_ids;
  struct op *ops;
  sbx_op_id *op_ids;
  int stream_phase; /* 1 while waiting for on_start, 2 while cancelling */
  struct streams *cur;
};

/* ---- helpers ------------------------------------------------------------------------ */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct reply {
  char *d;
  size_t len;
};

static size_t sink(char *p, size_t sz, size_t n, void *ud) {
  struct reply *r = ud;
  char *d = realloc(r->d, r->len + sz * n + 1);
  if (!d) return 0;
  memcpy(d + r->len, p, sz * n);
  r->d = d;
  r->len += sz * n;
  d[r->len] = 0;
  return sz * n;
}

static long jget(json_t *o, const char *a, const char *b, const char *c) {
  json_t *v = json_object_get(o, a);
  if (b) v = json_object_get(v, b);
  if (c) v = json_object_get(v, c);
  return json_is_integer(v) ? (long)json_integer_value(v) : -1;
}

static long n_fetches; /* stats fetches so far: each was one h1 connection */

/* Blocking GET /_emu/stats over cleartext (its own h1 connection and stream,
 * and those of earlier fetches, are removed from the figures). */
static struct stats get_stats(const struct opts *o) {
  struct stats s;
  memset(&s, 0, sizeof s);
  struct reply r = {NULL, 0};
  char url[256];
  snprintf(url, sizeof url, "%s/_emu/stats", o->http);
  CURL *h = curl_easy_init();
  if (!h) return s;
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
  long code = 0;
  if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_cleanup(h);
  n_fetches++;
  json_t *j = code == 200 && r.d ? json_loads(r.d, 0, NULL) : NULL;
  free(r.d);
  if (!j) return s;
  for (int p = 0; p < NPROTO; p++) {
    s.open[p] = jget(j, "connections", proto_name[p], "open");
    s.total[p] = jget(j, "connections", proto_name[p], "total");
  }
  s.open[P_H1] -= 1;
  s.total[P_H1] -= n_fetches;
  s.streams_open = jget(j, "streams", "open", NULL) - 1;
  s.streams_total = jget(j, "streams", "total", NULL) - n_fetches;
  s.max_per_conn = jget(j, "streams", "max_per_connection", NULL);
  s.live = jget(j, "sandboxes", "live", NULL);
  s.ok = 1;
  json_decref(j);
  return s;
}

static long sum_open(const struct stats *s) {
  return s->open[0] + s->open[1] + s->open[2];
}
static long sum_total(const struct stats *s) {
  return s->total[0] + s->total[1] + s->total[2];
}

static void note_err(char *buf, size_t len, const char *what, const sbx_error *err) {
  if (buf[0]) return;
  snprintf(buf, len, "%s: %s (http %d, curl %d): %s", what, sbx_status_name(err->code),
           err->http_status, err->curl_code, err->message ? err->message : "");
}

static void tick(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)w, (void)revents;
}

/* ---- windowed phases ---------------------------------------------------------------- */

static void op_finish(struct bench *b, const sbx_error *err, const char *what) {
  b->inflight--;
  b->done++;
  if (err) {
    b->ph->errors++;
    note_err(b->ph->first_err, sizeof b->ph->first_err, what, err);
  } else {
    b->ph->ok++;
  }
}

static void on_created(sbx_client *c, sbx_op_id op, const sbx_error *err,
                       const sbx_sandbox_info *info, void *ud) {
  struct op *o = ud;
  struct bench *b = o->b;
  if (!err && info && info->id) snprintf(b->ids[o->idx], sizeof b->ids[0], "%s", info->id);
  op_finish(b, err, "create");
}

static void on_killed(sbx_client *c, sbx_op_id op, const sbx_error *err, void *ud) {
  struct op *o = ud;
  op_finish(o->b, err, "kill");
}

static void x_start(sbx_client *c, sbx_op_id op, uint32_t pid, void *ud) {
  ((struct op *)ud)->started = 1;
}

static void x_out(sbx_client *c, sbx_op_id op, int fd, const char *d, size_t n, void *ud) {
  struct op *o = ud;
  if (fd == SBX_STDOUT && o->out_len + n < sizeof o->out) {
    memcpy(o->out + o->out_len, d, n);
    o->out_len += n;
  } else {
    o->out_len = sizeof o->out; /* marks unexpected output */
  }
}

static void x_done(sbx_client *c, sbx_op_id op, const sbx_error *err, const sbx_exec_result *res,
                   void *ud) {
  struct op *o = ud;
  struct bench *b = o->b;
  if (!err && (!o->started || !res || res->exit_code != 0 || o->out_len != 3 ||
               memcmp(o->out, "hi\n", 3) != 0)) {
    b->ph->errors++;
    b->inflight--;
    b->done++;
    if (!b->ph->first_err[0])
      snprintf(b->ph->first_err, sizeof b->ph->first_err,
               "exec: wrong result (started %d, exit %d, %zu output bytes)", o->started,
               res ? res->exit_code : -999, o->out_len);
    return;
  }
  op_finish(b, err, "exec");
}

typedef sbx_status (*start_fn)(struct bench *b, int i, struct op *o, sbx_op_id *id);

static sbx_status start_create(struct bench *b, int i, struct op *o, sbx_op_id *id) {
  sbx_create_opts co;
  sbx_create_opts_init(&co);
  co.timeout_s = 1800; /* outlives the run */
  return sbx_sandbox_create(b->c, &co, on_created, o, id);
}

static const sbx_exec_cbs echo_cbs = {x_start, x_out, x_done};

static sbx_status start_exec(struct bench *b, int i, struct op *o, sbx_op_id *id) {
  sbx_exec_opts xo;
  sbx_exec_opts_init(&xo);
  xo.cmd = "echo hi";
  return sbx_exec_start(b->c, b->ids[i % b->n_ids], &xo, &echo_cbs, o, id);
}

static sbx_status start_kill(struct bench *b, int i, struct op *o, sbx_op_id *id) {
  return sbx_sandbox_kill(b->c, b->ids[i], on_killed, o, id);
}

/* Run n ops with at most window in flight; CPU and wall time over the whole. */
static void run_phase(struct bench *b, struct phase *ph, const char *name, int n, start_fn fn) {
  memset(ph, 0, sizeof *ph);
  ph->name = name;
  ph->n = n;
  b->ph = ph;
  b->inflight = b->done = 0;
  struct stats s0 = get_stats(&b->o);
  ev_timer t;
  ev_timer_init(&t, tick, 0.25, 0.25);
  ev_timer_start(b->loop, &t);
  int next = 0;
  double c0 = proc_cpu_us(), t0 = now_s(), end = t0 + b->o.phase_timeout;
  while (b->done < n) {
    while (next < n && b->inflight < b->o.window) {
      struct op *o = &b->ops[next];
      memset(o, 0, sizeof *o);
      o->b = b;
      o->idx = next;
      sbx_op_id id;
      sbx_status st = fn(b, next, o, &id);
      next++;
      if (st == SBX_OK) {
        b->inflight++;
      } else {
        b->done++;
        ph->errors++;
        if (!ph->first_err[0])
          snprintf(ph->first_err, sizeof ph->first_err, "%s start: %s", name, sbx_status_name(st));
      }
    }
    if (b->done >= n) break;
    if (now_s() > end) {
      ph->timed_out = 1;
      break;
    }
    ev_run(b->loop, EVRUN_ONCE);
  }
  ph->cpu_us = proc_cpu_us() - c0;
  ph->wall_s = now_s() - t0;
  ev_timer_stop(b->loop, &t);
  struct stats s1 = get_stats(&b->o);
  ph->conns_new = sum_total(&s1) - sum_total(&s0);
  ph->conns_open = sum_open(&s1);
}

/* ---- concurrent streams -------------------------------------------------------------- */

static void s_start(sbx_client *c, sbx_op_id op, uint32_t pid, void *ud) {
  struct op *o = ud;
  struct bench *b = o->b;
  o->started = 1;
  b->inflight--; /* pending starts */
  b->cur->opened++;
}

static void s_done(sbx_client *c, sbx_op_id op, const sbx_error *err, const sbx_exec_result *res,
                   void *ud) {
  struct op *o = ud;
  struct bench *b = o->b;
  struct streams *s = b->cur;
  o->finished = 1;
  b->done++;
  if (!o->started) { /* failed before it started */
    b->inflight--;
    s->open_errors++;
    if (err) note_err(s->first_err, sizeof s->first_err, "stream open", err);
    return;
  }
  if (b->stream_phase == 1) {
    s->ended_early++;
    if (err) note_err(s->first_err, sizeof s->first_err, "stream", err);
  } else if (err && err->code == SBX_ECANCELED) {
    s->cancelled++;
  } else {
    s->cancel_other++;
    if (err) note_err(s->first_err, sizeof s->first_err, "cancel", err);
  }
}

static const sbx_exec_cbs sleep_cbs = {s_start, NULL, s_done};

static void run_streams(struct bench *b, struct streams *s, int n) {
  memset(s, 0, sizeof *s);
  s->n = n;
  b->cur = s;
  b->inflight = b->done = 0;
  b->stream_phase = 1;
  ev_timer t;
  ev_timer_init(&t, tick, 0.25, 0.25);
  ev_timer_start(b->loop, &t);
  s->rss_base_kb = proc_status_kb("VmRSS");
  sbx_exec_opts xo;
  sbx_exec_opts_init(&xo);
  xo.cmd = "sleep 60";
  int next = 0;
  double c0 = proc_cpu_us(), t0 = now_s(), end = t0 + b->o.phase_timeout;
  /* open with at most window starts pending, until every on_start arrived */
  while (s->opened + s->open_errors < n && now_s() < end) {
    while (next < n && b->inflight < b->o.window) {
      struct op *o = &b->ops[next];
      memset(o, 0, sizeof *o);
      o->b = b;
      o->idx = next;
      sbx_status st =
          sbx_exec_start(b->c, b->ids[next % b->n_ids], &xo, &sleep_cbs, o, &b->op_ids[next]);
      next++;
      if (st == SBX_OK) {
        b->inflight++;
      } else {
        b->op_ids[next - 1] = 0;
        s->open_errors++;
        if (!s->first_err[0])
          snprintf(s->first_err, sizeof s->first_err, "stream start: %s", sbx_status_name(st));
      }
    }
    ev_run(b->loop, EVRUN_ONCE);
  }
  s->open_cpu_us = proc_cpu_us() - c0;
  s->open_wall_s = now_s() - t0;
  s->rss_open_kb = proc_status_kb("VmRSS");
  s->hwm_kb = proc_status_kb("VmHWM");
  int live = s->opened - s->ended_early;
  s->kb_per_stream = live > 0 ? (double)(s->rss_open_kb - s->rss_base_kb) / live : 0;
  s->at_open = get_stats(&b->o);
  /* cancel everything still pending (also any not yet started) */
  b->stream_phase = 2;
  double t1 = now_s();
  for (int i = 0; i < next; i++)
    if (b->op_ids[i] && !b->ops[i].finished) sbx_cancel(b->c, b->op_ids[i]);
  end = now_s() + 60;
  while (b->done < next && now_s() < end)
    ev_run(b->loop, EVRUN_ONCE);
  s->cancel_wall_s = now_s() - t1;
  s->not_done = next - b->done;
  end = now_s() + 0.5; /* let the emulator take in the resets */
  while (now_s() < end)
    ev_run(b->loop, EVRUN_ONCE);
  ev_timer_stop(b->loop, &t);
  s->emu_left = get_stats(&b->o).streams_open;
  b->stream_phase = 0;
}

#define WARMUP 200 /* creates + kills before each run's measured phases */

/* ---- one client run ------------------------------------------------------------------ */

static void bench_run(struct bench *b, struct run *r) {
  sbx_config cfg;
  sbx_config_init(&cfg);
  cfg.use_env = 0;
  cfg.api_key = b->o.key;
  cfg.api_url = r->url;
  cfg.sandbox_url = r->url;
  cfg.ca_file = b->o.ca;
  cfg.http_version = r->tls ? SBX_HTTP_2 : SBX_HTTP_1_1;
  cfg.max_connections = 64;
  cfg.max_streams = 64 * 200;
  cfg.request_timeout_ms = 60000;
  cfg.rate_create = 0; /* measure the client, not the governor */
  cfg.rate_lifecycle = 0;
  sbx_status st;
  struct stats s0 = get_stats(&b->o);
  b->c = sbx_client_new(b->loop, &cfg, &st, r->client_err, sizeof r->client_err);
  if (!b->c) return;
  int n = b->o.creates;
  /* Warm-up, not measured (the SDK bench does the same): connections are
   * open and the emulator's paths are warm before the figures start. */
  int warm = n < WARMUP ? n : WARMUP;
  struct phase scratch;
  b->n_ids = warm;
  run_phase(b, &scratch, "warm-up create", warm, start_create);
  run_phase(b, &scratch, "warm-up kill", warm, start_kill);
  memset(b->ids, 0, sizeof b->ids[0] * (size_t)warm);
  b->n_ids = n;
  long rss0 = proc_status_kb("VmRSS");
  run_phase(b, &r->create, "create", n, start_create);
  if (r->create.ok) r->kb_per_sandbox = (double)(proc_status_kb("VmRSS") - rss0) / r->create.ok;
  int have = 0; /* compact the ids that were created */
  for (int i = 0; i < n; i++)
    if (b->ids[i][0]) memmove(b->ids[have++], b->ids[i], sizeof b->ids[0]);
  b->n_ids = have;
  if (have > 0) {
    run_phase(b, &r->exec, "exec", b->o.execs, start_exec);
    if (r->tls)
      for (int i = 0; i < b->o.n_streams; i++)
        run_streams(b, &r->st[r->n_st++], b->o.streams[i]);
    run_phase(b, &r->kill, "kill", have, start_kill);
  }
  struct stats s1 = get_stats(&b->o);
  r->conns_total = sum_total(&s1) - sum_total(&s0);
  sbx_client_free(b->c);
  b->c = NULL;
  memset(b->ids, 0, sizeof b->ids[0] * (size_t)n);
  r->done = 1;
}

/* ---- output -------------------------------------------------------------------------- */

static void print_phase(FILE *f, const char *mode, const struct phase *p) {
  fprintf(f, "  %-10s %-7s %6d %6d %5d %10.1f %10.0f %7ld %6ld%s\n", mode, p->name, p->n, p->ok,
          p->errors, p->n ? p->cpu_us / p->n : 0, p->wall_s > 0 ? p->ok / p->wall_s : 0,
          p->conns_new, p->conns_open, p->timed_out ? "  TIMED OUT" : "");
  if (p->first_err[0]) fprintf(f, "    first error: %s\n", p->first_err);
}

static void print_table(FILE *f, const struct opts *o, const struct run *runs, int nr) {
  fprintf(f, "sbx %s against sbx-emu --exec null on loopback; window %d in flight\n", sbx_version(),
          o->window);
  fprintf(f, "  %-10s %-7s %6s %6s %5s %10s %10s %7s %6s\n", "transport", "op", "n", "ok", "err",
          "CPU us/op", "wall op/s", "conns+", "open");
  for (int i = 0; i < nr; i++) {
    const struct run *r = &runs[i];
    if (!r->done) {
      fprintf(f, "  %-10s client failed: %s\n", r->label, r->client_err);
      continue;
    }
    print_phase(f, r->label, &r->create);
    print_phase(f, r->label, &r->exec);
    print_phase(f, r->label, &r->kill);
  }
  for (int i = 0; i < nr; i++) {
    const struct run *r = &runs[i];
    if (!r->n_st) continue;
    fprintf(f, "\n  concurrent exec streams (`sleep 60`) over %s, max_connections 64:\n", r->label);
    fprintf(f, "  %7s %7s %6s %9s %10s %7s %7s %7s %8s %9s %8s %8s\n", "streams", "opened", "err",
            "KB/stream", "peak RSS", "open s", "h2 conn", "emu str", "max/conn", "cancelled",
            "not done", "emu left");
    for (int k = 0; k < r->n_st; k++) {
      const struct streams *s = &r->st[k];
      fprintf(f, "  %7d %7d %6d %9.2f %7.1f MB %7.2f %7ld %7ld %8ld %9d %8d %8ld\n", s->n,
              s->opened, s->open_errors + s->ended_early + s->cancel_other, s->kb_per_stream,
              s->hwm_kb / 1024.0, s->open_wall_s, s->at_open.open[P_H2], s->at_open.streams_open,
              s->at_open.max_per_conn, s->cancelled, s->not_done, s->emu_left);
      if (s->first_err[0]) fprintf(f, "    first error: %s\n", s->first_err);
      if (s->at_open.open[P_H1] + s->at_open.open[P_H1_TLS] > 0)
        fprintf(f, "    also open: %ld h1, %ld h1_tls connections\n", s->at_open.open[P_H1],
                s->at_open.open[P_H1_TLS]);
    }
  }
  for (int i = 0; i < nr; i++)
    if (runs[i].done)
      fprintf(f,
              "  %s: %ld connections opened by the client in all; %.2f KB RSS per created"
              " sandbox\n",
              runs[i].label, runs[i].conns_total, runs[i].kb_per_sandbox);
}

static json_t *phase_json(const struct phase *p) {
  return json_pack("{s:i,s:i,s:i,s:f,s:f,s:f,s:I,s:I,s:b,s:s}", "n", p->n, "ok", p->ok, "errors",
                   p->errors, "cpu_us_per_op", p->n ? p->cpu_us / p->n : 0.0, "wall_s", p->wall_s,
                   "ops_per_s", p->wall_s > 0 ? p->ok / p->wall_s : 0.0, "conns_new",
                   (json_int_t)p->conns_new, "conns_open", (json_int_t)p->conns_open, "timed_out",
                   p->timed_out, "first_error", p->first_err);
}

static json_t *streams_json(const struct streams *s) {
  json_t *conns = json_object();
  for (int p = 0; p < NPROTO; p++)
    json_object_set_new(conns, proto_name[p], json_integer(s->at_open.open[p]));
  return json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:f,s:f,s:f,s:f,s:I,s:I,s:I,s:o,s:I,s:I,s:I,s:s}",
                   "n", s->n, "opened", s->opened, "open_errors", s->open_errors, "ended_early",
                   s->ended_early, "cancelled", s->cancelled, "cancel_other", s->cancel_other,
                   "not_done", s->not_done, "kb_per_stream", s->kb_per_stream,
                   "open_cpu_us_per_stream", s->n ? s->open_cpu_us / s->n : 0.0, "open_wall_s",
                   s->open_wall_s, "cancel_wall_s", s->cancel_wall_s, "rss_base_kb",
                   (json_int_t)s->rss_base_kb, "rss_open_kb", (json_int_t)s->rss_open_kb,
                   "peak_rss_kb", (json_int_t)s->hwm_kb, "conns_open", conns, "emu_streams_open",
                   (json_int_t)s->at_open.streams_open, "max_streams_per_conn",
                   (json_int_t)s->at_open.max_per_conn, "emu_streams_left", (json_int_t)s->emu_left,
                   "first_error", s->first_err);
}

static void print_json(const struct opts *o, const struct run *runs, int nr) {
  json_t *modes = json_object();
  for (int i = 0; i < nr; i++) {
    const struct run *r = &runs[i];
    json_t *m =
        json_pack("{s:s,s:b,s:s}", "label", r->label, "ok", r->done, "client_error", r->client_err);
    if (r->done) {
      json_object_set_new(m, "create", phase_json(&r->create));
      json_object_set_new(m, "exec", phase_json(&r->exec));
      json_object_set_new(m, "kill", phase_json(&r->kill));
      json_t *st = json_array();
      for (int k = 0; k < r->n_st; k++)
        json_array_append_new(st, streams_json(&r->st[k]));
      json_object_set_new(m, "streams", st);
      json_object_set_new(m, "conns_total", json_integer(r->conns_total));
      json_object_set_new(m, "kb_per_sandbox", json_real(r->kb_per_sandbox));
    }
    json_object_set_new(modes, r->tls ? "tls" : "h1", m);
  }
  json_t *j = json_pack("{s:s,s:s,s:i,s:o}", "client", "sbx", "version", sbx_version(), "window",
                        o->window, "modes", modes);
  char *s = json_dumps(j, JSON_INDENT(1));
  if (s) puts(s);
  free(s);
  json_decref(j);
}

/* ---- main ------------------------------------------------------------------------------ */

static void usage(void) {
  fprintf(stderr, "usage: sbx-bench --http URL --https URL --ca FILE [--key KEY] [--creates N]\n"
                  "                 [--execs M] [--window W] [--streams 1000,10000] [--json]\n");
  exit(2);
}

static int parse_streams(struct opts *o, const char *s) {
  o->n_streams = 0;
  while (*s && o->n_streams < 4) {
    char *e;
    long v = strtol(s, &e, 10);
    if (e == s || v < 1 || v > 1000000) return -1;
    o->streams[o->n_streams++] = (int)v;
    s = *e == ',' ? e + 1 : e;
    if (*e && *e != ',') return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  struct opts o = {.key = "e2b_bench_key",
                   .creates = 1000,
                   .execs = 5000,
                   .window = 100,
                   .streams = {1000, 10000},
                   .n_streams = 2,
                   .phase_timeout = 120};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--json") == 0) {
      o.json = 1;
      continue;
    }
    if (!v) usage();
    i++;
    if (strcmp(a, "--http") == 0)
      o.http = v;
    else if (strcmp(a, "--https") == 0)
      o.https = v;
    else if (strcmp(a, "--ca") == 0)
      o.ca = v;
    else if (strcmp(a, "--key") == 0)
      o.key = v;
    else if (strcmp(a, "--creates") == 0)
      o.creates = atoi(v);
    else if (strcmp(a, "--execs") == 0)
      o.execs = atoi(v);
    else if (strcmp(a, "--window") == 0)
      o.window = atoi(v);
    else if (strcmp(a, "--streams") == 0) {
      if (parse_streams(&o, v) < 0) usage();
    } else
      usage();
  }
  if (!o.http || !o.https || o.creates < 1 || o.execs < 1 || o.window < 1) usage();
  signal(SIGPIPE, SIG_IGN);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (!get_stats(&o).ok) {
    fprintf(stderr, "sbx-bench: cannot read %s/_emu/stats\n", o.http);
    return 1;
  }
  int max_ops = o.creates > o.execs ? o.creates : o.execs;
  for (int i = 0; i < o.n_streams; i++)
    if (o.streams[i] > max_ops) max_ops = o.streams[i];
  struct bench b;
  memset(&b, 0, sizeof b);
  b.o = o;
  b.loop = ev_default_loop(0);
  b.ids = calloc((size_t)o.creates, sizeof *b.ids);
  b.ops = calloc((size_t)max_ops, sizeof *b.ops);
  b.op_ids = calloc((size_t)max_ops, sizeof *b.op_ids);
  if (!b.ids || !b.ops || !b.op_ids) return 1;
  static struct run runs[2];
  /* HTTP/1.1 first: the TLS run ends with the 10,000-stream phase, whose
   * large heap and busy emulator would otherwise weigh on the next run. */
  runs[0] = (struct run){.label = "HTTP/1.1", .url = o.http, .tls = 0};
  runs[1] = (struct run){.label = "TLS h2", .url = o.https, .tls = 1};
  for (int i = 0; i < 2; i++) {
    fprintf(stderr, "sbx-bench: %s ...\n", runs[i].label);
    bench_run(&b, &runs[i]);
  }
  print_table(o.json ? stderr : stdout, &o, runs, 2);
  if (o.json) print_json(&o, runs, 2);
  free(b.ids);
  free(b.ops);
  free(b.op_ids);
  curl_global_cleanup();
  int bad = 0;
  for (int i = 0; i < 2; i++)
    bad |= !runs[i].done || runs[i].create.errors || runs[i].exec.errors || runs[i].kill.errors;
  return bad ? 1 : 0;
}
