/* test_op.c - the op base and the call state machine: traced transitions,
 * deferred completion, cancel in every waiting state, client free with
 * pending ops and from inside a callback, rate governor and backoff. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <ev.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "../../reactor/call.h"
#include "../../reactor/client.h"
#include "../../reactor/rate.h"
#include "testlib.h"

/* ---- a toy op kind: INIT -> WAIT -> DONE, driven by its timer ------------------ */

enum { T_INIT, T_WAIT, T_DONE, T_N };
static const char *const t_names[T_N] = {"INIT", "WAIT", "DONE"};

struct toy {
  struct sbx_op op;
  int *calls;
  int *code;
  int *early;
  const int *returned;
  int bad_move;
};

static enum op_step_result t_init(struct sbx_op *op) {
  struct toy *t = (struct toy *)op;
  op_take(op, OP_EV_START);
  if (t->bad_move) {
    op_set_state(op, T_INIT + 0); /* same state: ignored */
    op_set_state(op, 7);          /* out of range: forced to DONE with an error */
    return OP_NEXT;
  }
  sbx__op_timer_start(op, 20);
  op_set_state(op, T_WAIT);
  return OP_WAIT;
}

static enum op_step_result t_wait(struct sbx_op *op) {
  if (!op_take(op, OP_EV_TIMER)) return OP_WAIT;
  op_set_state(op, T_DONE);
  return OP_NEXT;
}

static enum op_step_result t_done(struct sbx_op *op) {
  return OP_WAIT;
}

static const op_step_fn t_steps[T_N] = {t_init, t_wait, t_done};
static const uint32_t t_allowed[T_N] = {1u << T_WAIT, 1u << T_DONE, 0};

static void t_complete(struct sbx_op *op, const sbx_error *err) {
  struct toy *t = (struct toy *)op;
  (*t->calls)++;
  *t->code = err ? err->code : 0;
  if (!*t->returned) *t->early = 1;
}

static const struct op_kind toy_kind = {"toy",     T_N,    t_names,    t_steps,
                                        t_allowed, T_DONE, t_complete, NULL};

struct trace {
  char lines[4096];
};

static void log_cb(void *ud, int level, const char *comp, sbx_op_id op, const char *msg) {
  struct trace *t = ud;
  strncat(t->lines, msg, sizeof t->lines - strlen(t->lines) - 2);
  strncat(t->lines, "\n", sizeof t->lines - strlen(t->lines) - 1);
}

static sbx_client *new_client(struct ev_loop *loop, struct trace *tr) {
  sbx_config cfg;
  sbx_config_init(&cfg);
  cfg.use_env = 0;
  cfg.api_key = "k";
  cfg.api_url = "http://127.0.0.1:1";
  cfg.log = tr ? log_cb : NULL;
  cfg.log_ud = tr;
  cfg.trace = 1;
  sbx_status st;
  sbx_client *c = sbx_client_new(loop, &cfg, &st, NULL, 0);
  REQUIRE(c);
  return c;
}

static struct toy *start_toy(sbx_client *c, int *calls, int *code, int *early, const int *ret) {
  sbx_status st;
  struct toy *t = (struct toy *)sbx__op_new(c, &toy_kind, sizeof *t, NULL, &st);
  REQUIRE(t);
  t->calls = calls;
  t->code = code;
  t->early = early;
  t->returned = ret;
  return t;
}

static void run_for(struct ev_loop *loop, double s) {
  double end = ev_time() + s;
  while (ev_time() < end)
    ev_run(loop, EVRUN_ONCE | EVRUN_NOWAIT), usleep(1000);
}

static void traced_transitions(void) {
  struct ev_loop *loop = ev_loop_new(0);
  struct trace tr = {{0}};
  sbx_client *c = new_client(loop, &tr);
  int calls = 0, code = 1, early = 0, ret = 1;
  struct toy *t = start_toy(c, &calls, &code, &early, &ret);
  sbx_op_id id = t->op.id;
  CHECK_EQ_INT(calls, 0); /* never before the loop runs */
  run_for(loop, 0.1);
  CHECK_EQ_INT(calls, 1);
  CHECK_EQ_INT(code, 0);
  char want[128];
  snprintf(want, sizeof want, "op#%llu toy INIT -> WAIT", (unsigned long long)id);
  CHECK(strstr(tr.lines, want) != NULL);
  snprintf(want, sizeof want, "op#%llu toy WAIT -> DONE", (unsigned long long)id);
  CHECK(strstr(tr.lines, want) != NULL);
  sbx_client_free(c);
  ev_loop_destroy(loop);
}

static void illegal_transition(void) {
  struct ev_loop *loop = ev_loop_new(0);
  struct trace tr = {{0}};
  sbx_client *c = new_client(loop, &tr);
  int calls = 0, code = 0, early = 0, ret = 1;
  struct toy *t = start_toy(c, &calls, &code, &early, &ret);
  t->bad_move = 1;
  run_for(loop, 0.05);
  CHECK_EQ_INT(calls, 1);
  CHECK_EQ_INT(code, SBX_EINVAL);
  CHECK(strstr(tr.lines, "illegal transition") != NULL);
  sbx_client_free(c);
  ev_loop_destroy(loop);
}

static void cancel_in_each_state(void) {
  struct ev_loop *loop = ev_loop_new(0);
  sbx_client *c = new_client(loop, NULL);
  /* queued, before INIT ran */
  int calls = 0, code = 0, early = 0, ret = 1;
  struct toy *t = start_toy(c, &calls, &code, &early, &ret);
  sbx_op_id id = t->op.id;
  CHECK_EQ_INT(sbx_cancel(c, id), SBX_OK);
  run_for(loop, 0.05);
  CHECK_EQ_INT(calls, 1);
  CHECK_EQ_INT(code, SBX_ECANCELED);
  CHECK_EQ_INT(sbx_cancel(c, id), SBX_ENOTFOUND);
  /* in WAIT (timer armed) */
  calls = 0;
  t = start_toy(c, &calls, &code, &early, &ret);
  id = t->op.id;
  ev_run(loop, EVRUN_NOWAIT);
  CHECK_EQ_INT(t->op.state, T_WAIT);
  CHECK_EQ_INT(sbx_cancel(c, id), SBX_OK);
  run_for(loop, 0.1);
  CHECK_EQ_INT(calls, 1);
  CHECK_EQ_INT(code, SBX_ECANCELED);
  CHECK_EQ_INT(sbx_client_pending(c), 0);
  sbx_client_free(c);
  ev_loop_destroy(loop);
}

static void free_with_pending(void) {
  struct ev_loop *loop = ev_loop_new(0);
  sbx_client *c = new_client(loop, NULL);
  int calls[3] = {0}, codes[3] = {0}, early = 0, ret = 1;
  for (int i = 0; i < 3; i++)
    start_toy(c, &calls[i], &codes[i], &early, &ret);
  ev_run(loop, EVRUN_NOWAIT);
  sbx_client_free(c);
  for (int i = 0; i < 3; i++) {
    CHECK_EQ_INT(calls[i], 1);
    CHECK_EQ_INT(codes[i], SBX_ECLOSED);
  }
  ev_loop_destroy(loop);
}

/* An op that finishes while an event for it still waits on the run queue
 * (cancelled, then its timer fired first) must not leave the queue with a
 * dangling pointer: ops queued after it still run. */
static void finish_while_queued(void) {
  struct ev_loop *loop = ev_loop_new(0);
  sbx_client *c = new_client(loop, NULL);
  int calls = 0, code = 0, early = 0, ret = 1;
  struct toy *t = start_toy(c, &calls, &code, &early, &ret);
  ev_run(loop, EVRUN_NOWAIT);
  CHECK_EQ_INT(t->op.state, T_WAIT);
  CHECK_EQ_INT(sbx_cancel(c, t->op.id), SBX_OK); /* queued for the next turn */
  sbx__op_post(&t->op, OP_EV_TIMER);             /* ...but it finishes now */
  CHECK_EQ_INT(calls, 1);
  int calls2 = 0, code2 = 1;
  start_toy(c, &calls2, &code2, &early, &ret); /* queued behind the finished one */
  run_for(loop, 0.1);
  CHECK_EQ_INT(calls2, 1);
  CHECK_EQ_INT(code2, 0);
  CHECK_EQ_INT(sbx_client_pending(c), 0);
  /* and once more with the client freed while the finished op is queued */
  int calls3 = 0, code3 = 0;
  t = start_toy(c, &calls3, &code3, &early, &ret);
  ev_run(loop, EVRUN_NOWAIT);
  sbx_cancel(c, t->op.id);
  sbx__op_post(&t->op, OP_EV_TIMER);
  sbx_client_free(c);
  CHECK_EQ_INT(calls3, 1);
  ev_loop_destroy(loop);
}

/* ---- the call machine, against sockets we control --------------------------- */

struct call_res {
  int calls, code, retryable;
  char msg[256];
};

static void info_cb(sbx_client *c, sbx_op_id op, const sbx_error *err, const sbx_sandbox_info *info,
                    void *ud) {
  struct call_res *r = ud;
  r->calls++;
  r->code = err ? err->code : 0;
  r->retryable = err ? err->retryable : 0;
  if (err) snprintf(r->msg, sizeof r->msg, "%s", err->message);
  if (r->code == 0) sbx_client_free(c); /* never reached: here to prove nothing */
}

static void exec_done_cb(sbx_client *c, sbx_op_id op, const sbx_error *err,
                         const sbx_exec_result *res, void *ud) {
  struct call_res *r = ud;
  r->calls++;
  r->code = err ? err->code : 0;
}

/* A listener that accepts and never answers: requests sit in REQUEST. */
static int silent_listener(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  REQUIRE(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
  REQUIRE(listen(fd, 16) == 0);
  socklen_t l = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &l);
  *port = ntohs(a.sin_port);
  return fd;
}

static sbx_client *call_client(struct ev_loop *loop, const char *url, double rate) {
  sbx_config cfg;
  sbx_config_init(&cfg);
  cfg.use_env = 0;
  cfg.api_key = "k";
  cfg.api_url = url;
  cfg.rate_lifecycle = rate;
  cfg.burst_lifecycle = 1;
  cfg.retry_base_ms = 500;
  cfg.request_timeout_ms = 20000;
  sbx_status st;
  sbx_client *c = sbx_client_new(loop, &cfg, &st, NULL, 0);
  REQUIRE(c);
  return c;
}

static int state_of(sbx_client *c, sbx_op_id id) {
  struct sbx_op *op = sbx__client_find(c, id);
  return op ? op->state : -1;
}

static void cancel_call_states(void) {
  struct ev_loop *loop = ev_loop_new(0);
  int port;
  int lfd = silent_listener(&port);
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
  /* 0.5 tokens/s with a burst of 1: the second op waits in WAIT_RATE */
  sbx_client *c = call_client(loop, url, 0.5);
  struct call_res a = {0}, b = {0};
  sbx_op_id ia, ib;
  REQUIRE(sbx_sandbox_info_get(c, "ia", info_cb, &a, &ia) == SBX_OK);
  REQUIRE(sbx_sandbox_info_get(c, "ib", info_cb, &b, &ib) == SBX_OK);
  run_for(loop, 0.2);
  CHECK_EQ_INT(state_of(c, ia), CALL_REQUEST);
  CHECK_EQ_INT(state_of(c, ib), CALL_WAIT_RATE);
  CHECK_EQ_INT(sbx_cancel(c, ia), SBX_OK);
  CHECK_EQ_INT(sbx_cancel(c, ib), SBX_OK);
  run_for(loop, 0.1);
  CHECK_EQ_INT(a.calls, 1);
  CHECK_EQ_INT(a.code, SBX_ECANCELED);
  CHECK_EQ_INT(b.calls, 1);
  CHECK_EQ_INT(b.code, SBX_ECANCELED);
  sbx_client_free(c);
  /* RESOLVE: an exec on a sandbox whose access token is not cached first
   * looks the sandbox up; the silent server keeps it there */
  c = call_client(loop, url, 0);
  struct call_res e = {0};
  sbx_exec_opts eo;
  sbx_exec_opts_init(&eo);
  eo.cmd = "true";
  sbx_exec_cbs ecbs = {NULL, NULL, exec_done_cb};
  sbx_op_id ie;
  REQUIRE(sbx_exec_start(c, "iresolve", &eo, &ecbs, &e, &ie) == SBX_OK);
  run_for(loop, 0.2);
  CHECK_EQ_INT(state_of(c, ie), CALL_RESOLVE);
  CHECK_EQ_INT(sbx_cancel(c, ie), SBX_OK);
  run_for(loop, 0.05);
  CHECK_EQ_INT(e.calls, 1);
  CHECK_EQ_INT(e.code, SBX_ECANCELED);
  sbx_client_free(c);
  close(lfd);
  /* RETRY_WAIT: a refused connection is retryable and backs off */
  c = call_client(loop, "http://127.0.0.1:1", 0);
  struct call_res r = {0};
  sbx_op_id ir;
  REQUIRE(sbx_sandbox_info_get(c, "ir", info_cb, &r, &ir) == SBX_OK);
  for (int i = 0; i < 200 && state_of(c, ir) != CALL_RETRY_WAIT; i++)
    run_for(loop, 0.005);
  CHECK_EQ_INT(state_of(c, ir), CALL_RETRY_WAIT);
  CHECK_EQ_INT(sbx_cancel(c, ir), SBX_OK);
  run_for(loop, 0.05);
  CHECK_EQ_INT(r.calls, 1);
  CHECK_EQ_INT(r.code, SBX_ECANCELED);
  sbx_client_free(c);
  ev_loop_destroy(loop);
}

static void retries_are_bounded(void) {
  struct ev_loop *loop = ev_loop_new(0);
  sbx_config cfg;
  sbx_config_init(&cfg);
  cfg.use_env = 0;
  cfg.api_key = "k";
  cfg.api_url = "http://127.0.0.1:1";
  cfg.retry_base_ms = 10;
  cfg.max_retries = 2;
  struct trace tr = {{0}};
  cfg.log = log_cb;
  cfg.log_ud = &tr;
  sbx_status st;
  sbx_client *c = sbx_client_new(loop, &cfg, &st, NULL, 0);
  struct call_res r = {0};
  sbx_op_id id;
  REQUIRE(sbx_sandbox_info_get(c, "ix", info_cb, &r, &id) == SBX_OK);
  for (int i = 0; i < 500 && !r.calls; i++)
    run_for(loop, 0.01);
  CHECK_EQ_INT(r.calls, 1);
  CHECK_EQ_INT(r.code, SBX_ETRANSPORT);
  CHECK(r.retryable);
  CHECK(strstr(tr.lines, "retry 2 ") != NULL);
  CHECK(strstr(tr.lines, "retry 3 ") == NULL);
  sbx_client_free(c);
  ev_loop_destroy(loop);
}

/* ---- rate governor and backoff -------------------------------------------------- */

static void token_bucket(void) {
  struct sbx_rate_governor g;
  double rate[SBX_RATE_N] = {2, 0, 0};
  int burst[SBX_RATE_N] = {2, 0, 0};
  sbx__rate_init(&g, rate, burst, 100.0);
  CHECK_EQ_INT(sbx__rate_take(&g, SBX_RATE_CREATE, 100.0), 0);
  CHECK_EQ_INT(sbx__rate_take(&g, SBX_RATE_CREATE, 100.0), 0);
  long w = sbx__rate_take(&g, SBX_RATE_CREATE, 100.0);
  CHECK(w >= 490 && w <= 500);
  CHECK_EQ_INT(sbx__rate_take(&g, SBX_RATE_CREATE, 100.5), 0);
  CHECK_EQ_INT(sbx__rate_take(&g, SBX_RATE_DATA, 100.0), 0); /* unlimited */
  sbx__rate_block(&g, SBX_RATE_DATA, 100.0, 1500);
  w = sbx__rate_take(&g, SBX_RATE_DATA, 100.0);
  CHECK(w >= 1499 && w <= 1500);
  CHECK_EQ_INT(sbx__rate_take(&g, SBX_RATE_DATA, 101.6), 0);
}

static void backoff(void) {
  CHECK_EQ_INT(sbx__backoff_ms(100, 10000, 1, 0.0), 50);
  CHECK_EQ_INT(sbx__backoff_ms(100, 10000, 1, 0.999999), 99);
  CHECK_EQ_INT(sbx__backoff_ms(100, 10000, 3, 0.0), 200);
  long hi = sbx__backoff_ms(100, 1000, 10, 0.999999);
  CHECK(hi <= 1000 && hi >= 999);
}

/* 10,000 ops at once on a private loop, each waiting 20 ms on its timer,
 * half of them with a 10 ms deadline, driven by poll() on the client's fd
 * alone: the deadlines fire, the others finish, and the host slept on the
 * client's timeouts rather than spinning. */
#define N_MANY 10000
static void many_deadlines_by_poll(void) {
  static int calls[N_MANY], code[N_MANY], early[N_MANY];
  int ret = 1;
  sbx_client *c = new_client(NULL, NULL);
  int fd = sbx_client_fd(c);
  REQUIRE(fd >= 0);
  double t0 = ev_time();
  for (int i = 0; i < N_MANY; i++) {
    struct toy *t = start_toy(c, &calls[i], &code[i], &early[i], &ret);
    if (i % 2 == 0) REQUIRE(sbx_set_deadline(c, t->op.id, 10) == SBX_OK);
  }
  double started = ev_time() - t0;
  CHECK(started < 0.5 * test_slow()); /* about 10 ms here */
  CHECK_EQ_INT(sbx_client_timeout_ms(c), 0);
  int polls = 0;
  while (sbx_client_pending(c) > 0 && ev_time() - t0 < 10) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    poll(&p, 1, (int)sbx_client_timeout_ms(c));
    polls++;
    REQUIRE(sbx_client_run_once(c) == SBX_OK);
  }
  int ok = 0, timed_out = 0, once = 1;
  for (int i = 0; i < N_MANY; i++) {
    ok += code[i] == 0 && i % 2 == 1;
    timed_out += code[i] == SBX_ETIMEDOUT && i % 2 == 0;
    once &= calls[i] == 1;
  }
  CHECK_EQ_INT(ok, N_MANY / 2);
  CHECK_EQ_INT(timed_out, N_MANY / 2);
  CHECK(once);
  CHECK(polls < 100);
  fprintf(stderr, "  %d ops started in %.1f ms, done in %.0f ms with %d polls\n", N_MANY,
          started * 1000, (ev_time() - t0) * 1000, polls);
  CHECK_EQ_INT(sbx_client_timeout_ms(c), -1); /* nothing left timed */
  sbx_client_free(c);
}

static const struct test_case cases[] = {
    {"traced_transitions", traced_transitions},
    {"illegal_transition", illegal_transition},
    {"cancel_in_each_state", cancel_in_each_state},
    {"free_with_pending", free_with_pending},
    {"finish_while_queued", finish_while_queued},
    {"cancel_call_states", cancel_call_states},
    {"retries_are_bounded", retries_are_bounded},
    {"token_bucket", token_bucket},
    {"backoff", backoff},
    {"many_deadlines_by_poll", many_deadlines_by_poll},
    {NULL, NULL},
};

int main(int argc, char **argv) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  return test_main("op", cases, argc, argv, 30);
}
