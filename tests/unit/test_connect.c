/* test_connect.c - Connect envelope decoder, code table, end-stream and unary
 * error parsing. */
#include <stdint.h>

#include "../../protocol/connect.h"
#include "sbx.h"
#include "testlib.h"

/* ---- helpers --------------------------------------------------------------- */

#define MAX_MSGS 32

/* What the callback saw: flags, payload copies, and whether each payload
 * pointed into the chunk being fed (the no-copy path). */
struct rec {
  int n;
  unsigned flags[MAX_MSGS];
  char *payload[MAX_MSGS];
  size_t len[MAX_MSGS];
  int in_chunk[MAX_MSGS];
  const char *chunk; /* the chunk currently fed */
  size_t chunk_len;
  int stop_at; /* 1-based message index to stop at, 0 = never */
  int stop_value;
};

static int rec_cb(void *ud, unsigned flags, const char *payload, size_t len) {
  struct rec *r = ud;
  REQUIRE(r->n < MAX_MSGS);
  REQUIRE(payload != NULL);
  r->flags[r->n] = flags;
  r->payload[r->n] = malloc(len + 1);
  REQUIRE(r->payload[r->n]);
  memcpy(r->payload[r->n], payload, len);
  r->payload[r->n][len] = '\0';
  r->len[r->n] = len;
  r->in_chunk[r->n] = r->chunk && payload >= r->chunk && payload + len <= r->chunk + r->chunk_len;
  r->n++;
  return r->stop_at == r->n ? r->stop_value : 0;
}

static void rec_free(struct rec *r) {
  for (int i = 0; i < r->n; i++)
    free(r->payload[i]);
  memset(r, 0, sizeof *r);
}

static int feed(struct sbx_connect_decoder *d, struct rec *r, const char *p, size_t n,
                struct sbx_errinfo *err) {
  r->chunk = p;
  r->chunk_len = n;
  return sbx_connect_decoder_feed(d, p, n, rec_cb, r, err);
}

struct msg {
  unsigned flags;
  const char *payload;
  size_t len;
};

/* Append one envelope to buf at *n. */
static void put_env(char *buf, size_t *n, unsigned flags, const char *payload, size_t len) {
  unsigned char pre[5];
  sbx_connect_encode_prefix(flags, (uint32_t)len, pre);
  memcpy(buf + *n, pre, 5);
  memcpy(buf + *n + 5, payload, len);
  *n += 5 + len;
}

static char big_payload[301];

/* The reference stream: message, zero-length message, message, 300-byte
 * message, end-stream {}. */
static size_t build_stream(char *buf, struct msg *msgs) {
  memset(big_payload, 'x', 300);
  big_payload[0] = '"';
  big_payload[299] = '"';
  static const struct msg ref[] = {
      {0, "{\"event\":{\"start\":{\"pid\":1}}}", 29},
      {0, "", 0},
      {0, "{\"event\":{\"data\":{\"stdout\":\"aGkK\"}}}", 36},
      {0, NULL, 300},
      {SBX_CONNECT_FLAG_END_STREAM, "{}", 2},
  };
  size_t n = 0;
  for (int i = 0; i < 5; i++) {
    msgs[i] = ref[i];
    if (!msgs[i].payload) msgs[i].payload = big_payload;
    put_env(buf, &n, msgs[i].flags, msgs[i].payload, msgs[i].len);
  }
  return n;
}

static void check_msgs(const struct rec *r, const struct msg *msgs, int count) {
  CHECK_EQ_INT(r->n, count);
  for (int i = 0; i < count && i < r->n; i++) {
    CHECK_EQ_INT(r->flags[i], msgs[i].flags);
    CHECK_EQ_INT(r->len[i], msgs[i].len);
    CHECK(memcmp(r->payload[i], msgs[i].payload, msgs[i].len) == 0);
  }
}

/* ---- decoder --------------------------------------------------------------- */

static void test_whole_stream_no_copy(void) {
  char buf[1024];
  struct msg msgs[5];
  size_t n = build_stream(buf, msgs);
  struct sbx_connect_decoder d;
  struct sbx_errinfo err;
  struct rec r = {0};
  sbx_connect_decoder_init(&d, 1024, NULL);
  CHECK_EQ_INT(feed(&d, &r, buf, n, &err), 0);
  check_msgs(&r, msgs, 5);
  for (int i = 0; i < r.n; i++)
    if (r.len[i] > 0) CHECK(r.in_chunk[i]);
  CHECK(d.buf == NULL); /* nothing was copied, so nothing was allocated */
  CHECK_EQ_INT(sbx_connect_decoder_finish(&d, &err), SBX_OK);
  sbx_connect_decoder_free(&d);
  rec_free(&r);
}

static void test_split_once_every_position(void) {
  char buf[1024];
  struct msg msgs[5];
  size_t n = build_stream(buf, msgs);
  for (size_t i = 0; i <= n; i++) {
    struct sbx_connect_decoder d;
    struct sbx_errinfo err;
    struct rec r = {0};
    sbx_connect_decoder_init(&d, 1024, NULL);
    /* Separate heap chunks so ASan catches a read past either one. */
    char *a = malloc(i + 1), *b = malloc(n - i + 1);
    REQUIRE(a && b);
    memcpy(a, buf, i);
    memcpy(b, buf + i, n - i);
    CHECK_EQ_INT(feed(&d, &r, a, i, &err), 0);
    CHECK_EQ_INT(feed(&d, &r, b, n - i, &err), 0);
    check_msgs(&r, msgs, 5);
    CHECK_EQ_INT(sbx_connect_decoder_finish(&d, &err), SBX_OK);
    free(a);
    free(b);
    sbx_connect_decoder_free(&d);
    rec_free(&r);
  }
}

static void test_split_twice_every_pair(void) {
  char buf[1024];
  struct msg msgs[5];
  size_t n = build_stream(buf, msgs);
  for (size_t i = 0; i <= n; i++) {
    for (size_t j = i; j <= n; j++) {
      struct sbx_connect_decoder d;
      struct sbx_errinfo err;
      struct rec r = {0};
      sbx_connect_decoder_init(&d, 1024, NULL);
      CHECK_EQ_INT(feed(&d, &r, buf, i, &err), 0);
      CHECK_EQ_INT(feed(&d, &r, buf + i, j - i, &err), 0);
      CHECK_EQ_INT(feed(&d, &r, buf + j, n - j, &err), 0);
      check_msgs(&r, msgs, 5);
      CHECK_EQ_INT(sbx_connect_decoder_finish(&d, &err), SBX_OK);
      sbx_connect_decoder_free(&d);
      rec_free(&r);
    }
  }
}

static void test_byte_by_byte(void) {
  char buf[1024];
  struct msg msgs[5];
  size_t n = build_stream(buf, msgs);
  struct sbx_connect_decoder d;
  struct sbx_errinfo err;
  struct rec r = {0};
  sbx_connect_decoder_init(&d, 1024, NULL);
  for (size_t i = 0; i < n; i++) {
    char *one = malloc(1);
    REQUIRE(one);
    one[0] = buf[i];
    CHECK_EQ_INT(feed(&d, &r, one, 1, &err), 0);
    free(one);
  }
  check_msgs(&r, msgs, 5);
  /* Only the 1-byte messages could come from the chunk; the rest were copied. */
  for (int i = 0; i < r.n; i++)
    if (r.len[i] > 1) CHECK(!r.in_chunk[i]);
  CHECK(d.cap >= 300 && d.cap <= 1024);
  CHECK_EQ_INT(sbx_connect_decoder_finish(&d, &err), SBX_OK);
  sbx_connect_decoder_free(&d);
  rec_free(&r);
}

static void test_copy_only_when_split(void) {
  char buf[1024];
  struct msg msgs[5];
  size_t n = build_stream(buf, msgs);
  /* Split inside message 3 (offset 34 + 5 + 10): 1 whole, 3 copied, 4 whole. */
  size_t cut = (5 + 29) + 5 + 5 + 10;
  struct sbx_connect_decoder d;
  struct sbx_errinfo err;
  struct rec r = {0};
  sbx_connect_decoder_init(&d, 1024, NULL);
  CHECK_EQ_INT(feed(&d, &r, buf, cut, &err), 0);
  CHECK_EQ_INT(r.n, 2);
  CHECK(r.in_chunk[0]);
  CHECK_EQ_INT(feed(&d, &r, buf + cut, n - cut, &err), 0);
  check_msgs(&r, msgs, 5);
  CHECK(!r.in_chunk[2]);
  CHECK(r.in_chunk[3]);
  CHECK(r.in_chunk[4]);
  CHECK(d.buf != NULL && d.cap >= 36);
  sbx_connect_decoder_free(&d);
  CHECK(d.buf == NULL);
  rec_free(&r);
}

static void test_buffer_grows_to_cap(void) {
  /* Split messages of growing size; the buffer never exceeds max_msg. */
  static char payload[5000];
  memset(payload, 'a', sizeof payload);
  size_t sizes[] = {10, 300, 1000, 4999, 5000, 20};
  struct sbx_connect_decoder d;
  struct sbx_errinfo err;
  struct rec r = {0};
  sbx_connect_decoder_init(&d, 5000, NULL);
  char *env = malloc(5005);
  REQUIRE(env);
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    size_t n = 0;
    put_env(env, &n, 0, payload, sizes[k]);
    CHECK_EQ_INT(feed(&d, &r, env, 7, &err), 0);
    CHECK_EQ_INT(feed(&d, &r, env + 7, n - 7, &err), 0);
    CHECK_EQ_INT(r.n, (int)k + 1);
    CHECK_EQ_INT(r.len[k], sizes[k]);
    CHECK(d.cap >= sizes[k] && d.cap <= 5000);
  }
  CHECK_EQ_INT(d.cap, 5000);
  free(env);
  sbx_connect_decoder_free(&d);
  rec_free(&r);
}

static void test_oversize(void) {
  char buf[64];
  size_t n = 0;
  struct sbx_connect_decoder d;
  struct sbx_errinfo err;
  struct rec r = {0};
  /* Exactly at the cap is fine. */
  sbx_connect_decoder_init(&d, 16, NULL);
  put_env(buf, &n, 0, "0123456789abcdef", 16);
  CHECK_EQ_INT(feed(&d, &r, buf, n, &err), 0);
  CHECK_EQ_INT(r.n, 1);
  /* One over: refused on the prefix alone, before any payload arrives. */
  unsigned char pre[5];
  sbx_connect_encode_prefix(0, 17, pre);
  sbx_errinfo_clear(&err);
  CHECK_EQ_INT(feed(&d, &r, (const char *)pre, 5, &err), SBX_ETOOBIG);
  CHECK_EQ_INT(err.status, SBX_ETOOBIG);
  CHECK(strstr(err.message, "17") != NULL);
  CHECK(strstr(err.message, "16") != NULL);
  CHECK_EQ_INT(d.state, SBX_CONNECT_DEC_FAILED);
  CHECK(d.buf == NULL);
  CHECK_EQ_INT(r.n, 1);
  /* It stays failed. */
  n = 0;
  put_env(buf, &n, 0, "{}", 2);
  CHECK(feed(&d, &r, buf, n, &err) < 0);
  CHECK_EQ_INT(r.n, 1);
  CHECK_EQ_INT(sbx_connect_decoder_finish(&d, &err), SBX_EPROTO);
  sbx_connect_decoder_free(&d);
  /* A 4 GiB length does not allocate either. */
  sbx_connect_decoder_init(&d, 1 << 20, NULL);
  sbx_connect_encode_prefix(0, 0xffffffffu, pre);
  CHECK_EQ_INT(feed(&d, &r, (const char *)pre, 5, &err), SBX_ETOOBIG);
  CHECK(strstr(err.message, "4294967295") != NULL);
  sbx_connect_decoder_free(&d);
  rec_free(&r);
}

static void test_compressed_and_unknown_flags(void) {
  unsigned bad[] = {0x01, 0x03, 0x04, 0x08, 0x10, 0x40, 0x80, 0x06, 0xff};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    char buf[16];
    size_t n = 0;
    struct sbx_connect_decoder d;
    struct sbx_errinfo err;
    struct rec r = {0};
    sbx_connect_decoder_init(&d, 1024, NULL);
    put_env(buf, &n, bad[k], "{}", 2);
    CHECK_EQ_INT(feed(&d, &r, buf, n, &err), SBX_EPROTO);
    CHECK_EQ_INT(err.status, SBX_EPROTO);
    if (bad[k] & 1)
      CHECK_EQ_STR(err.message, "compressed envelope not supported");
    else
      CHECK(strstr(err.message, "unknown envelope flags") != NULL);
    CHECK_EQ_INT(r.n, 0);
    CHECK_EQ_INT(d.state, SBX_CONNECT_DEC_FAILED);
    sbx_connect_decoder_free(&d);
    rec_free(&r);
  }
}

static void test_garbage_stays_failed(void) {
  unsigned long seed = 12345;
  for (int round = 0; round < 200; round++) {
    char junk[64];
    for (size_t i = 0; i < sizeof junk; i++) {
      seed = seed * 6364136223846793005UL + 1442695040888963407UL;
      junk[i] = (char)(seed >> 33);
    }
    junk[0] = (char)(junk[0] | 0x04); /* a flag byte with an unknown bit */
    struct sbx_connect_decoder d;
    struct sbx_errinfo err;
    struct rec r = {0};
    sbx_connect_decoder_init(&d, 1 << 16, NULL);
    CHECK_EQ_INT(feed(&d, &r, junk, sizeof junk, &err), SBX_EPROTO);
    CHECK_EQ_INT(r.n, 0);
    /* A valid stream afterwards does not revive it. */
    char buf[1024];
    struct msg msgs[5];
    size_t n = build_stream(buf, msgs);
    CHECK_EQ_INT(feed(&d, &r, buf, n, &err), SBX_EPROTO);
    CHECK_EQ_INT(r.n, 0);
    CHECK_EQ_INT(sbx_connect_decoder_finish(&d, &err), SBX_EPROTO);
    sbx_connect_decoder_free(&d);
    rec_free(&r);
  }
}

static void test_data_after_end_stream(void) {
  char buf[64];
  size_t n = 0;
  put_env(buf, &n, SBX_CONNECT_FLAG_END_STREAM, "{}", 2);
  size_t end_len = n;
  put_env(buf, &n, 0, "{}", 2);
  /* Same chunk, and in a later chunk; even one byte is too many. */
  size_t tails[] = {1, 5, n - end_len};
  for (int same = 0; same < 2; same++) {
    for (size_t k = 0; k < 3; k++) {
      struct sbx_connect_decoder d;
      struct sbx_errinfo err;
      struct rec r = {0};
      sbx_connect_decoder_init(&d, 1024, NULL);
      int rc;
      if (same) {
        rc = feed(&d, &r, buf, end_len + tails[k], &err);
      } else {
        CHECK_EQ_INT(feed(&d, &r, buf, end_len, &err), 0);
        rc = feed(&d, &r, buf + end_len, tails[k], &err);
      }
      CHECK_EQ_INT(rc, SBX_EPROTO);
      CHECK_EQ_STR(err.message, "data after end-stream envelope");
      CHECK_EQ_INT(r.n, 1); /* the end-stream itself was delivered */
      CHECK_EQ_INT(r.flags[0], SBX_CONNECT_FLAG_END_STREAM);
      CHECK_EQ_INT(sbx_connect_decoder_finish(&d, &err), SBX_EPROTO);
      sbx_connect_decoder_free(&d);
      rec_free(&r);
    }
  }
}

static void test_truncated_every_position(void) {
  char buf[1024];
  struct msg msgs[5];
  size_t n = build_stream(buf, msgs);
  /* Envelope boundaries, to predict the message for every cut. */
  size_t starts[6], s = 0;
  for (int i = 0; i < 5; i++) {
    starts[i] = s;
    s += 5 + msgs[i].len;
  }
  starts[5] = s;
  for (size_t cut = 0; cut < n; cut++) {
    struct sbx_connect_decoder d;
    struct sbx_errinfo err;
    struct rec r = {0};
    sbx_connect_decoder_init(&d, 1024, NULL);
    CHECK_EQ_INT(feed(&d, &r, buf, cut, &err), 0);
    sbx_errinfo_clear(&err);
    CHECK_EQ_INT(sbx_connect_decoder_finish(&d, &err), SBX_EPROTO);
    CHECK_EQ_INT(err.status, SBX_EPROTO);
    int k = 0;
    while (starts[k + 1] <= cut)
      k++;
    size_t into = cut - starts[k];
    char want[128];
    if (into == 0)
      snprintf(want, sizeof want, "stream ended without end-stream envelope");
    else if (into < 5)
      snprintf(want, sizeof want, "truncated envelope (got %zu of 5 prefix bytes)", into);
    else
      snprintf(want, sizeof want, "truncated envelope (got %zu of %zu bytes)", into - 5,
               msgs[k].len);
    CHECK_EQ_STR(err.message, want);
    sbx_connect_decoder_free(&d);
    rec_free(&r);
  }
}

static void test_empty_body(void) {
  struct sbx_connect_decoder d;
  struct sbx_errinfo err;
  sbx_connect_decoder_init(&d, 1024, NULL);
  CHECK_EQ_INT(sbx_connect_decoder_feed(&d, NULL, 0, NULL, NULL, &err), 0);
  CHECK_EQ_INT(sbx_connect_decoder_finish(&d, &err), SBX_EPROTO);
  CHECK_EQ_STR(err.message, "stream ended without end-stream envelope");
  sbx_connect_decoder_free(&d);
}

static void test_stop_value(void) {
  char buf[1024];
  struct msg msgs[5];
  size_t n = build_stream(buf, msgs);
  /* Stop at each message, fed whole and byte by byte. */
  for (int stop = 1; stop <= 5; stop++) {
    for (int bytewise = 0; bytewise < 2; bytewise++) {
      struct sbx_connect_decoder d;
      struct sbx_errinfo err;
      struct rec r = {0};
      r.stop_at = stop;
      r.stop_value = 42 + stop;
      sbx_connect_decoder_init(&d, 1024, NULL);
      int rc = 0;
      if (bytewise) {
        for (size_t i = 0; i < n && rc == 0; i++)
          rc = feed(&d, &r, buf + i, 1, &err);
      } else {
        rc = feed(&d, &r, buf, n, &err);
      }
      CHECK_EQ_INT(rc, 42 + stop);
      CHECK_EQ_INT(r.n, stop);
      check_msgs(&r, msgs, stop);
      /* Stopping is final. */
      CHECK_EQ_INT(feed(&d, &r, buf, n, &err), SBX_EPROTO);
      CHECK_EQ_INT(r.n, stop);
      CHECK_EQ_INT(sbx_connect_decoder_finish(&d, &err), SBX_EPROTO);
      sbx_connect_decoder_free(&d);
      rec_free(&r);
    }
  }
  /* A negative stop value comes back unchanged too. */
  struct sbx_connect_decoder d;
  struct sbx_errinfo err;
  struct rec r = {0};
  r.stop_at = 1;
  r.stop_value = SBX_ECANCELED;
  sbx_connect_decoder_init(&d, 1024, NULL);
  CHECK_EQ_INT(feed(&d, &r, buf, n, &err), SBX_ECANCELED);
  sbx_connect_decoder_free(&d);
  rec_free(&r);
}

static void test_encode_prefix(void) {
  unsigned char p[5];
  sbx_connect_encode_prefix(SBX_CONNECT_FLAG_END_STREAM, 0x01020304u, p);
  CHECK(memcmp(p, "\x02\x01\x02\x03\x04", 5) == 0);
  sbx_connect_encode_prefix(0, 2, p);
  CHECK(memcmp(p, "\x00\x00\x00\x00\x02", 5) == 0);
  sbx_connect_encode_prefix(0, 0xffffffffu, p);
  CHECK(memcmp(p, "\x00\xff\xff\xff\xff", 5) == 0);
}

/* ---- codes ----------------------------------------------------------------- */

static void test_code_table(void) {
  static const struct {
    const char *code;
    int status, retry;
  } rows[] = {
      {"canceled", SBX_ECANCELED, 0},
      {"unknown", SBX_EPROVIDER, 0},
      {"invalid_argument", SBX_EINVAL, 0},
      {"deadline_exceeded", SBX_ETIMEDOUT, 0},
      {"not_found", SBX_ENOTFOUND, 0},
      {"already_exists", SBX_ECONFLICT, 0},
      {"permission_denied", SBX_EAUTH, 0},
      {"resource_exhausted", SBX_ERATELIMIT, 1},
      {"failed_precondition", SBX_EINVAL, 0},
      {"aborted", SBX_ECONFLICT, 1},
      {"out_of_range", SBX_EINVAL, 0},
      {"unimplemented", SBX_ENOTSUP, 0},
      {"internal", SBX_EPROVIDER, 0},
      {"unavailable", SBX_EUNAVAIL, 1},
      {"data_loss", SBX_EPROVIDER, 0},
      {"unauthenticated", SBX_EAUTH, 0},
      {"bogus", SBX_EPROVIDER, 0},
      {"NOT_FOUND", SBX_EPROVIDER, 0},
      {"", SBX_EPROVIDER, 0},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    CHECK_EQ_INT(sbx_connect_code_status(rows[i].code), rows[i].status);
    CHECK_EQ_INT(sbx_connect_code_retryable(rows[i].code), rows[i].retry);
  }
  CHECK_EQ_INT(sbx_connect_code_status(NULL), SBX_EPROVIDER);
  CHECK_EQ_INT(sbx_connect_code_retryable(NULL), 0);
}

static void test_code_from_http(void) {
  CHECK_EQ_STR(sbx_connect_code_from_http(400), "internal");
  CHECK_EQ_STR(sbx_connect_code_from_http(401), "unauthenticated");
  CHECK_EQ_STR(sbx_connect_code_from_http(403), "permission_denied");
  CHECK_EQ_STR(sbx_connect_code_from_http(404), "unimplemented");
  CHECK_EQ_STR(sbx_connect_code_from_http(429), "unavailable");
  CHECK_EQ_STR(sbx_connect_code_from_http(502), "unavailable");
  CHECK_EQ_STR(sbx_connect_code_from_http(503), "unavailable");
  CHECK_EQ_STR(sbx_connect_code_from_http(504), "unavailable");
  CHECK_EQ_STR(sbx_connect_code_from_http(500), "unknown");
  CHECK_EQ_STR(sbx_connect_code_from_http(409), "unknown");
  CHECK_EQ_STR(sbx_connect_code_from_http(200), "unknown");
  CHECK_EQ_STR(sbx_connect_code_from_http(0), "unknown");
}

/* ---- end-stream ------------------------------------------------------------ */

static int end_stream(const char *json, struct sbx_errinfo *err) {
  sbx_errinfo_clear(err);
  return sbx_connect_parse_end_stream(json, strlen(json), err);
}

static void test_end_stream_ok(void) {
  struct sbx_errinfo err;
  CHECK_EQ_INT(end_stream("{}", &err), SBX_OK);
  CHECK_EQ_INT(err.status, 0);
  CHECK_EQ_INT(end_stream(" { } ", &err), SBX_OK);
  CHECK_EQ_INT(end_stream("{\"metadata\":{\"k\":[\"v\"],\"x-y\":[\"a\",\"b\"]}}", &err), SBX_OK);
  CHECK_EQ_INT(end_stream("{\"error\":null}", &err), SBX_OK);
  CHECK_EQ_INT(end_stream("{\"unknownField\":1}", &err), SBX_OK);
  CHECK_EQ_INT(sbx_connect_parse_end_stream("{}", 2, NULL), SBX_OK);
  /* len bounds the input: the bytes after it are not read. */
  CHECK_EQ_INT(sbx_connect_parse_end_stream("{}garbage", 2, &err), SBX_OK);
}

static void test_end_stream_error(void) {
  struct sbx_errinfo err;
  CHECK_EQ_INT(
      end_stream("{\"error\":{\"code\":\"not_found\",\"message\":\"no such file\"}}", &err),
      SBX_ENOTFOUND);
  CHECK_EQ_INT(err.status, SBX_ENOTFOUND);
  CHECK_EQ_STR(err.provider_code, "not_found");
  CHECK_EQ_STR(err.message, "[not_found] no such file");
  CHECK_EQ_INT(err.retryable, 0);

  const char *j = "{\"error\":{\"code\":\"unavailable\",\"message\":\"The sandbox was not found\","
                  "\"details\":[{\"type\":\"x\",\"value\":\"eA\"}]},"
                  "\"metadata\":{\"k\":[\"v\"]}}";
  CHECK_EQ_INT(end_stream(j, &err), SBX_EUNAVAIL);
  CHECK_EQ_INT(err.retryable, 1);
  CHECK_EQ_STR(err.message, "[unavailable] The sandbox was not found");

  CHECK_EQ_INT(end_stream("{\"error\":{\"code\":\"deadline_exceeded\"}}", &err), SBX_ETIMEDOUT);
  CHECK_EQ_STR(err.message, "[deadline_exceeded]");
  CHECK_EQ_STR(err.provider_code, "deadline_exceeded");

  CHECK_EQ_INT(end_stream("{\"error\":{\"code\":\"deadline_exceeded\",\"message\":\"\"}}", &err),
               SBX_ETIMEDOUT);
  CHECK_EQ_STR(err.message, "[deadline_exceeded]");

  /* No code: connect-es calls it unknown. */
  CHECK_EQ_INT(end_stream("{\"error\":{\"message\":\"boom\"}}", &err), SBX_EPROVIDER);
  CHECK_EQ_STR(err.provider_code, "unknown");
  CHECK_EQ_STR(err.message, "[unknown] boom");
  CHECK_EQ_INT(end_stream("{\"error\":{\"code\":14,\"message\":\"boom\"}}", &err), SBX_EPROVIDER);
  CHECK_EQ_STR(err.provider_code, "unknown");

  /* An unknown code string is kept as the provider code. */
  CHECK_EQ_INT(end_stream("{\"error\":{\"code\":\"weird_code\",\"message\":\"m\"}}", &err),
               SBX_EPROVIDER);
  CHECK_EQ_STR(err.provider_code, "weird_code");
  CHECK_EQ_STR(err.message, "[weird_code] m");

  /* A message with line breaks becomes one line. */
  CHECK_EQ_INT(end_stream("{\"error\":{\"code\":\"internal\",\"message\":\"a\\nb\\r\\tc\"}}", &err),
               SBX_EPROVIDER);
  CHECK_EQ_STR(err.message, "[internal] a b  c");
}

static void test_end_stream_long_fields(void) {
  struct sbx_errinfo err;
  char j[4000];
  char longmsg[2000], longcode[100];
  memset(longmsg, 'm', sizeof longmsg - 1);
  longmsg[sizeof longmsg - 1] = '\0';
  memset(longcode, 'c', sizeof longcode - 1);
  longcode[sizeof longcode - 1] = '\0';
  snprintf(j, sizeof j, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", longcode, longmsg);
  CHECK_EQ_INT(end_stream(j, &err), SBX_EPROVIDER);
  CHECK_EQ_INT(strlen(err.provider_code), SBX_ERRINFO_CODE_MAX - 1);
  CHECK_EQ_INT(strlen(err.message), SBX_ERRINFO_MSG_MAX - 1);
  CHECK(strncmp(err.message, "[ccc", 4) == 0);
  /* Multi-byte text cut at the end stays valid UTF-8 (no dangling lead byte). */
  char utf[1200] = "";
  for (int i = 0; i < 300; i++)
    strcat(utf, "\xc3\xa9"); /* é */
  snprintf(j, sizeof j, "{\"error\":{\"code\":\"internal\",\"message\":\"x%s\"}}", utf);
  CHECK_EQ_INT(end_stream(j, &err), SBX_EPROVIDER);
  size_t n = strlen(err.message);
  CHECK(n <= SBX_ERRINFO_MSG_MAX - 1);
  CHECK(((unsigned char)err.message[n - 1] & 0xc0) == 0x80); /* ends on a whole é */
  CHECK(((unsigned char)err.message[n - 2]) == 0xc3);
}

static void test_end_stream_invalid(void) {
  struct sbx_errinfo err;
  const char *bad[] = {"", "{", "nope", "{\"error\":", "{}}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    CHECK_EQ_INT(end_stream(bad[i], &err), SBX_EPROTO);
    CHECK_EQ_INT(err.status, SBX_EPROTO);
    CHECK(strstr(err.message, "invalid end-stream JSON") != NULL);
  }
  CHECK_EQ_INT(end_stream("[]", &err), SBX_EPROTO);
  CHECK(strstr(err.message, "not a JSON object") != NULL);
  CHECK_EQ_INT(end_stream("42", &err), SBX_EPROTO);
  CHECK_EQ_INT(end_stream("{\"error\":\"not_found\"}", &err), SBX_EPROTO);
  CHECK_EQ_INT(end_stream("{\"error\":[1]}", &err), SBX_EPROTO);
  CHECK_EQ_INT(sbx_connect_parse_end_stream("{}", 1, &err), SBX_EPROTO);
  CHECK_EQ_INT(sbx_connect_parse_end_stream(NULL, 0, &err), SBX_EPROTO);
}

/* ---- unary errors ----------------------------------------------------------- */

static int unary(int status, const char *body, struct sbx_errinfo *err) {
  return sbx_connect_parse_unary_error(status, body, body ? strlen(body) : 0, err);
}

static void test_unary_json(void) {
  struct sbx_errinfo err;
  CHECK_EQ_INT(unary(404, "{\"code\":\"not_found\",\"message\":\"path /x not found\"}", &err),
               SBX_ENOTFOUND);
  CHECK_EQ_INT(err.http_status, 404);
  CHECK_EQ_STR(err.provider_code, "not_found");
  CHECK_EQ_STR(err.message, "[not_found] path /x not found");
  CHECK_EQ_INT(err.retry_after_ms, -1);

  /* The body's code wins over the status. */
  CHECK_EQ_INT(unary(400, "{\"code\":\"already_exists\",\"message\":\"dup\",\"details\":[]}", &err),
               SBX_ECONFLICT);
  CHECK_EQ_STR(err.provider_code, "already_exists");
  CHECK_EQ_INT(unary(429, "{\"code\":\"resource_exhausted\",\"message\":\"slow\"}", &err),
               SBX_ERATELIMIT);
  CHECK_EQ_INT(err.retryable, 1);
  CHECK_EQ_INT(unary(400, "{\"code\":\"invalid_argument\"}", &err), SBX_EINVAL);
  CHECK_EQ_STR(err.message, "[invalid_argument]");
}

static void test_unary_missing_code(void) {
  struct sbx_errinfo err;
  /* envd behind the edge: numeric code, so the status decides. */
  const char *edge =
      "{\"sandboxId\":\"ixyz\",\"message\":\"The sandbox was not found\",\"code\":502}";
  CHECK_EQ_INT(unary(502, edge, &err), SBX_EUNAVAIL);
  CHECK_EQ_STR(err.provider_code, "unavailable");
  CHECK_EQ_STR(err.message, "[unavailable] The sandbox was not found");
  CHECK_EQ_INT(err.retryable, 1);
  CHECK_EQ_INT(err.http_status, 502);

  CHECK_EQ_INT(unary(401, "{\"message\":\"bad token\"}", &err), SBX_EAUTH);
  CHECK_EQ_STR(err.message, "[unauthenticated] bad token");
  CHECK_EQ_INT(unary(403, "{}", &err), SBX_EAUTH);
  CHECK_EQ_STR(err.provider_code, "permission_denied");
  CHECK_EQ_STR(err.message, "[permission_denied]");
  CHECK_EQ_INT(unary(404, "{\"code\":null}", &err), SBX_ENOTSUP);
  CHECK_EQ_STR(err.provider_code, "unimplemented");
  CHECK_EQ_INT(unary(400, "{\"code\":5}", &err), SBX_EPROVIDER);
  CHECK_EQ_STR(err.provider_code, "internal");
  CHECK_EQ_INT(unary(418, "{\"message\":\"teapot\"}", &err), SBX_EPROVIDER);
  CHECK_EQ_STR(err.provider_code, "unknown");
  CHECK_EQ_INT(unary(503, "[\"not\",\"an object\"]", &err), SBX_EUNAVAIL);
  CHECK_EQ_STR(err.message, "[unavailable] HTTP 503: [\"not\",\"an object\"]");
}

static void test_unary_non_json(void) {
  struct sbx_errinfo err;
  CHECK_EQ_INT(unary(502, "<html><body>502 Bad Gateway</body></html>", &err), SBX_EUNAVAIL);
  CHECK_EQ_STR(err.provider_code, "unavailable");
  CHECK_EQ_STR(err.message, "[unavailable] HTTP 502");
  CHECK_EQ_INT(unary(503, "upstream connect error\nreset reason: overflow", &err), SBX_EUNAVAIL);
  CHECK_EQ_STR(err.message, "[unavailable] HTTP 503: upstream connect error");
  CHECK_EQ_INT(unary(504, "", &err), SBX_EUNAVAIL);
  CHECK_EQ_STR(err.message, "[unavailable] HTTP 504");
  CHECK_EQ_INT(unary(504, NULL, &err), SBX_EUNAVAIL);
  CHECK_EQ_INT(unary(401, "   \r\n", &err), SBX_EAUTH);
  CHECK_EQ_STR(err.message, "[unauthenticated] HTTP 401");
  CHECK_EQ_INT(unary(500, "{\"code\":\"internal\"", &err), SBX_EPROVIDER);
  CHECK_EQ_STR(err.provider_code, "unknown");
  /* Every mapped status is negative, even for odd input. */
  CHECK(unary(200, "{}", &err) < 0);
  CHECK(unary(0, NULL, NULL) < 0);
  /* A long text body is truncated into the buffer. */
  char body[2000];
  memset(body, 'z', sizeof body - 1);
  body[sizeof body - 1] = '\0';
  CHECK_EQ_INT(unary(503, body, &err), SBX_EUNAVAIL);
  CHECK_EQ_INT(strlen(err.message), SBX_ERRINFO_MSG_MAX - 1);
  CHECK(strncmp(err.message, "[unavailable] HTTP 503: zzz", 27) == 0);
}

int main(int argc, char **argv) {
  static const struct test_case cases[] = {
      {"whole_stream_no_copy", test_whole_stream_no_copy},
      {"split_once_every_position", test_split_once_every_position},
      {"split_twice_every_pair", test_split_twice_every_pair},
      {"byte_by_byte", test_byte_by_byte},
      {"copy_only_when_split", test_copy_only_when_split},
      {"buffer_grows_to_cap", test_buffer_grows_to_cap},
      {"oversize", test_oversize},
      {"compressed_and_unknown_flags", test_compressed_and_unknown_flags},
      {"garbage_stays_failed", test_garbage_stays_failed},
      {"data_after_end_stream", test_data_after_end_stream},
      {"truncated_every_position", test_truncated_every_position},
      {"empty_body", test_empty_body},
      {"stop_value", test_stop_value},
      {"encode_prefix", test_encode_prefix},
      {"code_table", test_code_table},
      {"code_from_http", test_code_from_http},
      {"end_stream_ok", test_end_stream_ok},
      {"end_stream_error", test_end_stream_error},
      {"end_stream_long_fields", test_end_stream_long_fields},
      {"end_stream_invalid", test_end_stream_invalid},
      {"unary_json", test_unary_json},
      {"unary_missing_code", test_unary_missing_code},
      {"unary_non_json", test_unary_non_json},
      {NULL, NULL},
  };
  return test_main("connect", cases, argc, argv, 60);
}
