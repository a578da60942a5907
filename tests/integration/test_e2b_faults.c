/* test_e2b_faults.c - libsbx under injected faults (sbx-emu /_emu/faults) and
 * HTTP/2 multiplexing at scale (asserted from /_emu/stats). */
#include "emu_harness.h"
#include "op_results.h"

struct ctx {
  struct emu emu;
  struct ev_loop *loop;
  sbx_client *c;
};

static void ctx_open(struct ctx *x, int tls, const char *const *args, long req_timeout) {
  memset(x, 0, sizeof *x);
  emu_start(&x->emu, args);
  x->loop = ev_loop_new(EVFLAG_AUTO);
  sbx_config cfg;
  emu_config(&x->emu, &cfg, tls);
  if (req_timeout) cfg.request_timeout_ms = req_timeout;
  cfg.max_connections = 8;
  cfg.max_streams = 8 * 200;
  cfg.rate_create = 0;
  cfg.rate_lifecycle = 0;
  sbx_status st;
  x->c = sbx_client_new(x->loop, &cfg, &st, NULL, 0);
  REQUIRE(x->c);
}

static void ctx_close(struct ctx *x) {
  sbx_client_free(x->c);
  ev_loop_destroy(x->loop);
  emu_stop(&x->emu);
}

#define WAIT(x, r) REQUIRE(run_until((x)->loop, &(r)->done, 30.0))

static void create(struct ctx *x, struct res *r) {
  memset(r, 0, sizeof *r);
  sbx_op_id id;
  REQUIRE(sbx_sandbox_create(x->c, NULL, on_sandbox, r, &id) == SBX_OK);
  WAIT(x, r);
}

static sbx_op_id exec(struct ctx *x, const char *sid, const char *cmd, struct res *r) {
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  o.cmd = cmd;
  memset(r, 0, sizeof *r);
  sbx_op_id id;
  REQUIRE(sbx_exec_start(x->c, sid, &o, &exec_cbs, r, &id) == SBX_OK);
  return id;
}

/* ---- status faults ------------------------------------------------------------------ */

static void retry_after_429(void) {
  struct ctx x;
  ctx_open(&x, 1, NULL, 0);
  emu_fault(&x.emu, "{\"method\":\"POST\",\"path\":\"/v2/sandboxes\",\"status\":429,"
                    "\"retry_after\":1,\"count\":1}");
  double t0 = ev_time();
  struct res r;
  create(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK(r.id[0] == 'i');
  CHECK(ev_time() - t0 >= 0.9); /* Retry-After: 1 was waited out */
  CHECK_EQ_INT(emu_stat(&x.emu, "requests", "POST /v2/sandboxes", NULL), 2);
  ctx_close(&x);
}

/* A 429 from one sandbox's envd holds back that call only: another
 * sandbox's command runs meanwhile (it used to wait out the Retry-After of
 * every data call; under 2% of 429s a soak ran 20 times slower). */
static void envd_429_is_per_call(void) {
  const char *args[] = {"--exec", "null", NULL};
  struct ctx x;
  ctx_open(&x, 1, args, 0);
  struct res sa, sb;
  create(&x, &sa);
  create(&x, &sb);
  emu_fault(&x.emu, "{\"method\":\"POST\",\"path\":\"/process.Process/Start\",\"status\":429,"
                    "\"retry_after\":2,\"count\":1}");
  double t0 = ev_time();
  struct res a, b;
  exec(&x, sa.id, "echo a", &a);
  for (int i = 0; i < 300 && emu_stat(&x.emu, "faults", "429", NULL) < 1; i++)
    wait_ms_loop(x.loop, 10);
  exec(&x, sb.id, "echo b", &b);
  WAIT(&x, &b);
  CHECK_EQ_INT(b.code, 0);
  CHECK_EQ_STR(b.out, "b\n");
  CHECK(!a.done);
  CHECK(ev_time() - t0 < 1.5); /* not behind a's Retry-After */
  WAIT(&x, &a);
  CHECK_EQ_INT(a.code, 0);
  CHECK_EQ_STR(a.out, "a\n");
  CHECK(ev_time() - t0 >= 1.9); /* a itself waited it out */
  CHECK_EQ_INT(emu_stat(&x.emu, "faults", "429", NULL), 1);
  ctx_close(&x);
}

/* sbx-emu's "lost" fault: the sandbox is created, the reply never comes
 * (stream reset); the create is not retried blind, and /_emu/stats counts it. */
static void lost_create_reply(void) {
  const char *args[] = {"--exec", "null", NULL};
  struct ctx x;
  ctx_open(&x, 1, args, 0);
  emu_fault(&x.emu, "{\"method\":\"POST\",\"path\":\"/v2/sandboxes\",\"action\":\"lost\"}");
  struct res r;
  create(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ETRANSPORT);
  CHECK_EQ_INT(emu_stat(&x.emu, "requests", "POST /v2/sandboxes", NULL), 1);
  CHECK_EQ_INT(emu_stat(&x.emu, "sandboxes", "live", NULL), 1);
  CHECK_EQ_INT(emu_stat(&x.emu, "faults", "lost", NULL), 1);
  CHECK_EQ_INT(emu_stat(&x.emu, "faults", "5xx", NULL), 0);
  create(&x, &r); /* the rule was used up: the next reply arrives */
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_INT(emu_stat(&x.emu, "sandboxes", "live", NULL), 2);
  ctx_close(&x);
}

static void concurrency_cap_429(void) {
  const char *args[] = {"--max-sandboxes", "1", NULL};
  struct ctx x;
  ctx_open(&x, 0, args, 0);
  struct res a, b;
  create(&x, &a);
  CHECK_EQ_INT(a.code, 0);
  /* the second create meets the cap: 429 + Retry-After 1, retried; kill the
   * first meanwhile so the retry fits */
  memset(&b, 0, sizeof b);
  sbx_op_id id;
  REQUIRE(sbx_sandbox_create(x.c, NULL, on_sandbox, &b, &id) == SBX_OK);
  wait_ms_loop(x.loop, 300);
  struct res k = {0};
  REQUIRE(sbx_sandbox_kill(x.c, a.id, on_done, &k, &id) == SBX_OK);
  WAIT(&x, &k);
  WAIT(&x, &b);
  CHECK_EQ_INT(b.code, 0);
  CHECK(emu_stat(&x.emu, "requests", "POST /v2/sandboxes", NULL) >= 3);
  ctx_close(&x);
}

static void retry_503_then_ok(void) {
  struct ctx x;
  ctx_open(&x, 0, NULL, 0);
  struct res r;
  create(&x, &r);
  char sid[64];
  strcpy(sid, r.id);
  emu_fault(&x.emu, "{\"method\":\"GET\",\"path\":\"/sandboxes/\",\"status\":503,\"count\":2}");
  memset(&r, 0, sizeof r);
  sbx_op_id id;
  REQUIRE(sbx_sandbox_info_get(x.c, sid, on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, 0);
  CHECK_EQ_INT(emu_stat(&x.emu, "requests", "GET /sandboxes/{id}", NULL), 3);
  ctx_close(&x);
}

static void no_retry_500(void) {
  struct ctx x;
  ctx_open(&x, 0, NULL, 0);
  struct res r;
  create(&x, &r);
  char sid[64];
  strcpy(sid, r.id);
  emu_fault(&x.emu, "{\"method\":\"DELETE\",\"path\":\"/sandboxes/\",\"status\":500,\"count\":5}");
  memset(&r, 0, sizeof r);
  sbx_op_id id;
  REQUIRE(sbx_sandbox_kill(x.c, sid, on_done, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_EPROVIDER);
  CHECK_EQ_INT(r.http, 500);
  CHECK(!r.retryable);
  CHECK_EQ_INT(emu_stat(&x.emu, "requests", "DELETE /sandboxes/{id}", NULL), 1);
  ctx_close(&x);
}

static void create_not_retried_after_5xx(void) {
  struct ctx x;
  ctx_open(&x, 0, NULL, 0);
  /* a 502 on create: the server may have created it; no blind retry */
  emu_fault(&x.emu, "{\"method\":\"POST\",\"path\":\"/v2/sandboxes\",\"status\":502,\"count\":5}");
  struct res r;
  create(&x, &r);
  CHECK_EQ_INT(r.code, SBX_EUNAVAIL);
  CHECK(r.retryable);
  CHECK_EQ_INT(emu_stat(&x.emu, "requests", "POST /v2/sandboxes", NULL), 1);
  ctx_close(&x);
}

static void slow_reply_times_out(void) {
  struct ctx x;
  ctx_open(&x, 0, NULL, 300);
  emu_fault(&x.emu, "{\"method\":\"POST\",\"path\":\"/v2/sandboxes\",\"status\":201,"
                    "\"delay_ms\":5000,\"count\":1}");
  double t0 = ev_time();
  struct res r;
  create(&x, &r);
  CHECK_EQ_INT(r.code, SBX_ETIMEDOUT);
  CHECK(ev_time() - t0 < 3.0);
  ctx_close(&x);
}

/* ---- stream faults ------------------------------------------------------------------ */

/* A connection dropped mid-stream fails the streams on it with a retryable
 * error; a stream on another connection is untouched (HTTP/1.1: one each). */
static void drop_mid_stream_h1(void) {
  struct ctx x;
  ctx_open(&x, 0, NULL, 0);
  struct res s;
  create(&x, &s);
  emu_fault(&x.emu, "{\"method\":\"POST\",\"path\":\"/process.Process/Start\",\"action\":\"drop\","
                    "\"after_messages\":2,\"count\":1}");
  struct res a, b;
  exec(&x, s.id, "echo one; sleep 0.5; echo two", &a);
  for (int i = 0; i < 300 && !a.pid; i++)
    wait_ms_loop(x.loop, 10);
  exec(&x, s.id, "echo b1; sleep 0.5; echo b2", &b);
  WAIT(&x, &a);
  WAIT(&x, &b);
  CHECK_EQ_INT(a.code, SBX_ETRANSPORT);
  CHECK(a.retryable);
  CHECK(strstr(a.msg, "exec") != NULL);
  CHECK_EQ_INT(b.code, 0);
  CHECK_EQ_STR(b.out, "b1\nb2\n");
  ctx_close(&x);
}

/* On h2 a reset stream fails alone; its neighbours on the connection go on. */
static void rst_stream_h2(void) {
  struct ctx x;
  ctx_open(&x, 1, NULL, 0);
  struct res s;
  create(&x, &s);
  struct res b;
  exec(&x, s.id, "sleep 0.3; echo b", &b);
  for (int i = 0; i < 300 && !b.pid; i++)
    wait_ms_loop(x.loop, 10);
  emu_fault(&x.emu, "{\"method\":\"POST\",\"path\":\"/process.Process/Start\",\"action\":\"rst\","
                    "\"after_messages\":1,\"count\":1}");
  struct res a;
  exec(&x, s.id, "echo one; sleep 0.5; echo two", &a);
  WAIT(&x, &a);
  WAIT(&x, &b);
  CHECK_EQ_INT(a.code, SBX_ETRANSPORT);
  CHECK(a.retryable);
  CHECK_EQ_INT(b.code, 0);
  CHECK_EQ_STR(b.out, "b\n");
  CHECK_EQ_INT(emu_stat(&x.emu, "connections", "h2", "total"), 1);
  ctx_close(&x);
}

static void goaway_h2(void) {
  struct ctx x;
  ctx_open(&x, 1, NULL, 0);
  struct res s;
  create(&x, &s);
  emu_fault(&x.emu,
            "{\"method\":\"POST\",\"path\":\"/process.Process/Start\",\"action\":\"goaway\","
            "\"after_messages\":1,\"count\":1}");
  struct res a;
  exec(&x, s.id, "echo one; sleep 0.5; echo two", &a);
  WAIT(&x, &a);
  CHECK_EQ_INT(a.code, SBX_ETRANSPORT);
  CHECK(a.retryable);
  /* the client recovers on a new connection */
  struct res b;
  exec(&x, s.id, "echo after", &b);
  WAIT(&x, &b);
  CHECK_EQ_INT(b.code, 0);
  CHECK_EQ_STR(b.out, "after\n");
  CHECK(emu_stat(&x.emu, "connections", "h2", "total") >= 2);
  ctx_close(&x);
}

static void malformed_envelope(void) {
  struct ctx x;
  ctx_open(&x, 1, NULL, 0);
  struct res s;
  create(&x, &s);
  emu_fault(&x.emu, "{\"method\":\"POST\",\"path\":\"/process.Process/Start\","
                    "\"action\":\"malformed\",\"after_messages\":1,\"count\":1}");
  struct res a;
  exec(&x, s.id, "echo one; sleep 0.2; echo two", &a);
  WAIT(&x, &a);
  CHECK_EQ_INT(a.code, SBX_EPROTO);
  CHECK(strstr(a.msg, s.id) != NULL);
  CHECK(strlen(a.msg) > 20);
  ctx_close(&x);
}

static void truncated_stream(void) {
  struct ctx x;
  ctx_open(&x, 0, NULL, 0);
  struct res s;
  create(&x, &s);
  emu_fault(&x.emu, "{\"method\":\"POST\",\"path\":\"/process.Process/Start\","
                    "\"action\":\"truncate\",\"after_messages\":1,\"count\":1}");
  struct res a;
  exec(&x, s.id, "echo one; sleep 0.2; echo two", &a);
  WAIT(&x, &a);
  CHECK_EQ_INT(a.code, SBX_EPROTO);
  CHECK(strstr(a.msg, "truncated") != NULL || strstr(a.msg, "end") != NULL);
  ctx_close(&x);
}

/* A 200 whose body is not JSON: one clear error, no crash, no retry storm. */
static void invalid_json_reply(void) {
  struct ctx x;
  ctx_open(&x, 0, NULL, 0);
  struct res s;
  create(&x, &s);
  emu_fault(&x.emu, "{\"method\":\"GET\",\"path\":\"/sandboxes/\",\"action\":\"malformed\","
                    "\"count\":1}");
  struct res r = {0};
  sbx_op_id id;
  REQUIRE(sbx_sandbox_info_get(x.c, s.id, on_sandbox, &r, &id) == SBX_OK);
  WAIT(&x, &r);
  CHECK_EQ_INT(r.code, SBX_EPROTO);
  CHECK(strstr(r.msg, "invalid JSON") != NULL);
  CHECK(strstr(r.msg, s.id) != NULL);
  CHECK_EQ_INT(emu_stat(&x.emu, "requests", "GET /sandboxes/{id}", NULL), 1);
  ctx_close(&x);
}

static void sandbox_gone_502(void) {
  struct ctx x;
  ctx_open(&x, 1, NULL, 0);
  struct res s;
  create(&x, &s);
  /* killed behind the client's back: envd answers 502 */
  REQUIRE(emu_call(&x.emu, "DELETE", "/sandboxes/x", NULL, NULL) > 0);
  char path[128];
  snprintf(path, sizeof path, "/sandboxes/%s", s.id);
  REQUIRE(emu_call(&x.emu, "DELETE", path, NULL, NULL) == 204);
  struct res a;
  exec(&x, s.id, "echo hi", &a);
  WAIT(&x, &a);
  CHECK_EQ_INT(a.code, SBX_ENOTFOUND);
  CHECK_EQ_INT(a.http, 502);
  CHECK(!a.retryable);
  ctx_close(&x);
}

/* ---- multiplexing ------------------------------------------------------------------- */

struct mux {
  struct res *rs;
  int started, done;
};

static void m_start(sbx_client *c, sbx_op_id op, uint32_t pid, void *ud) {
  ((struct mux *)ud)->started++;
}

static void m_done(sbx_client *c, sbx_op_id op, const sbx_error *err, const sbx_exec_result *res,
                   void *ud) {
  struct mux *m = ud;
  m->done++;
  if (err || !res || res->exit_code != 0) m->rs[0].code = err ? err->code : -100;
}

static void many_streams_few_connections(void) {
  const char *args[] = {"--exec", "null", NULL};
  struct ctx x;
  ctx_open(&x, 1, args, 0);
  enum { SANDBOXES = 200, EXECS = 1000 };
  static char ids[SANDBOXES][64];
  static struct res rs[SANDBOXES];
  sbx_op_id id;
  for (int i = 0; i < SANDBOXES; i++)
    REQUIRE(sbx_sandbox_create(x.c, NULL, on_sandbox, &rs[i], &id) == SBX_OK);
  for (int i = 0; i < SANDBOXES; i++) {
    WAIT(&x, &rs[i]);
    REQUIRE(rs[i].code == 0);
    strcpy(ids[i], rs[i].id);
  }
  long after_creates = emu_stat(&x.emu, "connections", "h2", "total");
  printf("  200 creates over %ld h2 connections\n", after_creates);
  struct res agg = {0};
  struct mux m = {&agg, 0, 0};
  sbx_exec_cbs mc = {m_start, NULL, m_done};
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  char cmd[32]; /* long enough for every stream to open before the first ends */
  snprintf(cmd, sizeof cmd, "sleep %.0f", 2 * test_slow());
  o.cmd = cmd;
  for (int i = 0; i < EXECS; i++)
    REQUIRE(sbx_exec_start(x.c, ids[i % SANDBOXES], &o, &mc, &m, &id) == SBX_OK);
  double end = ev_time() + 30 * test_slow();
  while (m.started < EXECS && ev_time() < end)
    ev_run(x.loop, EVRUN_ONCE);
  CHECK_EQ_INT(m.started, EXECS);
  CHECK_EQ_INT(m.done, 0); /* all 1,000 streams are open at once */
  long open = emu_stat(&x.emu, "streams", "open", NULL);
  CHECK(open >= EXECS);
  while (m.done < EXECS && ev_time() < end + 30 * test_slow())
    ev_run(x.loop, EVRUN_ONCE);
  CHECK_EQ_INT(m.done, EXECS);
  CHECK_EQ_INT(agg.code, 0);
  long conns = emu_stat(&x.emu, "connections", "h2", "total");
  long per = emu_stat(&x.emu, "streams", "max_per_connection", NULL);
  printf("  1000 execs over %ld h2 connections, up to %ld streams on one\n", conns, per);
  CHECK(conns >= 1 && conns <= 8);
  CHECK(per >= EXECS / 8);
  ctx_close(&x);
}

/* Cancelling an h2 stream resets it on the server too, not only locally. */
static void cancel_resets_server_stream(void) {
  const char *args[] = {"--exec", "null", NULL};
  struct ctx x;
  ctx_open(&x, 1, args, 0);
  struct res s;
  create(&x, &s);
  enum { N = 20 };
  struct res rs[N];
  sbx_op_id ids[N];
  for (int i = 0; i < N; i++)
    ids[i] = exec(&x, s.id, "sleep 30", &rs[i]);
  int started = 0;
  for (int k = 0; k < 300 && started < N; k++) {
    wait_ms_loop(x.loop, 10);
    started = 0;
    for (int i = 0; i < N; i++)
      started += rs[i].pid > 0;
  }
  REQUIRE(started == N);
  long before = emu_stat(&x.emu, "streams", "open", NULL);
  CHECK(before >= N);
  /* all but the last: curl 7.88 queues their RST_STREAMs, which leave
   * with the connection's next frame (here: the next request) */
  for (int i = 0; i < N - 1; i++)
    CHECK_EQ_INT(sbx_cancel(x.c, ids[i]), SBX_OK);
  for (int i = 0; i < N - 1; i++)
    WAIT(&x, &rs[i]);
  struct res one;
  exec(&x, s.id, "echo flush", &one);
  WAIT(&x, &one);
  CHECK_EQ_INT(one.code, 0);
  wait_ms_loop(x.loop, 300);
  long after = emu_stat(&x.emu, "streams", "open", NULL);
  CHECK(after <= before - (N - 1));
  /* then the last one, leaving the connection idle: it is closed */
  CHECK_EQ_INT(sbx_cancel(x.c, ids[N - 1]), SBX_OK);
  WAIT(&x, &rs[N - 1]);
  wait_ms_loop(x.loop, 300);
  CHECK(emu_stat(&x.emu, "streams", "open", NULL) <= before - N);
  ctx_close(&x);
}

static const struct test_case cases[] = {
    {"cancel_resets_server_stream", cancel_resets_server_stream},
    {"retry_after_429", retry_after_429},
    {"concurrency_cap_429", concurrency_cap_429},
    {"envd_429_is_per_call", envd_429_is_per_call},
    {"lost_create_reply", lost_create_reply},
    {"retry_503_then_ok", retry_503_then_ok},
    {"no_retry_500", no_retry_500},
    {"create_not_retried_after_5xx", create_not_retried_after_5xx},
    {"slow_reply_times_out", slow_reply_times_out},
    {"drop_mid_stream_h1", drop_mid_stream_h1},
    {"rst_stream_h2", rst_stream_h2},
    {"goaway_h2", goaway_h2},
    {"malformed_envelope", malformed_envelope},
    {"truncated_stream", truncated_stream},
    {"invalid_json_reply", invalid_json_reply},
    {"sandbox_gone_502", sandbox_gone_502},
    {"many_streams_few_connections", many_streams_few_connections},
    {NULL, NULL},
};

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  return test_main("e2b_faults", cases, argc, argv, 90);
}
