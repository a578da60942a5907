/* test_ws_reader.c - the WebSocket reader on hand-built server frames: data,
 * fragments, control frames, every way the server can be wrong, every split
 * point of a stream, and the handshake helpers against RFC 6455's sample. */
#include "../../include/sbx.h"
#include "../../protocol/ws_reader.h"
#include "testlib.h"

#include <stdint.h>

/* One frame as RFC 6455 5.2 lays it out; mask (4 bytes) or NULL. Returns the
 * bytes written at b. */
static size_t put_frame(unsigned char *b, int fin, int rsv, int op, const void *payload, size_t n,
                        const unsigned char *mask) {
  size_t at = 0;
  b[at++] = (unsigned char)((fin ? 0x80 : 0) | rsv << 4 | op);
  unsigned char m = mask ? 0x80 : 0;
  if (n < 126) {
    b[at++] = (unsigned char)(m | n);
  } else if (n < 65536) {
    b[at++] = m | 126;
    b[at++] = (unsigned char)(n >> 8);
    b[at++] = (unsigned char)n;
  } else {
    b[at++] = m | 127;
    for (int i = 7; i >= 0; i--)
      b[at++] = (unsigned char)((uint64_t)n >> (8 * i));
  }
  if (mask) memcpy(b + at, mask, 4), at += 4;
  const unsigned char *p = payload;
  for (size_t i = 0; i < n; i++)
    b[at + i] = mask ? p[i] ^ mask[i % 4] : p[i];
  return at + n;
}

/* Unmasked frames in a row, from a table. */
struct frame {
  int fin, op;
  const void *payload;
  size_t len;
};

static size_t put_frames(unsigned char *b, const struct frame *f, size_t n) {
  size_t at = 0;
  for (size_t i = 0; i < n; i++)
    at += put_frame(b + at, f[i].fin, 0, f[i].op, f[i].payload, f[i].len, NULL);
  return at;
}

/* A close frame with a code (and reason) or none (code < 0). */
static size_t put_close(unsigned char *b, int code, const char *reason) {
  unsigned char p[125];
  size_t n = 0;
  if (code >= 0) {
    p[n++] = (unsigned char)(code >> 8);
    p[n++] = (unsigned char)code;
    memcpy(p + n, reason, strlen(reason));
    n += strlen(reason);
  }
  return put_frame(b, 1, 0, 8, p, n, NULL);
}

/* What the reader produced: the payload bytes with each byte's opcode. */
struct sink {
  char *out, *ops;
  size_t n, cap, pieces, max_piece;
  int empty, stop_at, stop_with; /* stop_at: return stop_with on that piece (1-based) */
};

static void sink_init(struct sink *s, size_t cap) {
  memset(s, 0, sizeof *s);
  s->out = malloc(cap);
  s->ops = malloc(cap);
  s->cap = cap;
  REQUIRE(s->out && s->ops);
}

static void sink_free(struct sink *s) {
  free(s->out);
  free(s->ops);
}

static int on_data(void *ud, int opcode, const char *data, size_t len) {
  struct sink *s = ud;
  if (len == 0) s->empty++;
  REQUIRE(s->n + len <= s->cap);
  memcpy(s->out + s->n, data, len);
  memset(s->ops + s->n, opcode, len);
  s->n += len;
  s->pieces++;
  if (len > s->max_piece) s->max_piece = len;
  return s->stop_at && s->pieces == (size_t)s->stop_at ? s->stop_with : 0;
}

/* One run over a stream cut at the given offsets (ascending, < len). */
struct run {
  int rc;          /* the last feed's result */
  int closed_feed; /* index of the feed that first returned SBX_WS_CLOSED, -1 if none */
  int close_code, mid_frame;
  unsigned long pings;
  char err[160];
};

static void feed_cut(struct run *o, struct sink *s, const unsigned char *in, size_t len,
                     const size_t *cuts, size_t ncuts) {
  struct sbx_ws_reader *r = sbx_ws_reader_new(NULL);
  REQUIRE(r);
  memset(o, 0, sizeof *o);
  o->closed_feed = -1;
  size_t at = 0;
  for (size_t i = 0; i <= ncuts; i++) {
    size_t end = i < ncuts ? cuts[i] : len;
    o->rc =
        sbx_ws_reader_feed(r, (const char *)in + at, end - at, on_data, s, o->err, sizeof o->err);
    if (o->rc == SBX_WS_CLOSED && o->closed_feed < 0) o->closed_feed = (int)i;
    at = end;
    if (o->rc < 0) break;
  }
  o->close_code = sbx_ws_reader_close_code(r);
  o->mid_frame = sbx_ws_reader_mid_frame(r);
  o->pings = sbx_ws_reader_pings(r);
  sbx_ws_reader_free(r);
}

static void feed_whole(struct run *o, struct sink *s, const unsigned char *in, size_t len) {
  feed_cut(o, s, in, len, NULL, 0);
}

/* The stream must fail with a message containing want. */
static void expect_error(const unsigned char *in, size_t len, const char *want) {
  struct sink s;
  struct run o;
  sink_init(&s, len + 1);
  feed_whole(&o, &s, in, len);
  CHECK_EQ_INT(o.rc, SBX_EPROTO);
  if (!strstr(o.err, want)) fprintf(stderr, "  got \"%s\", want \"%s\"\n", o.err, want);
  CHECK(strstr(o.err, want) != NULL);
  CHECK(strncmp(o.err, "WebSocket: ", 11) == 0);
  sink_free(&s);
}

/* Fed whole, the stream ends between messages, with no close, having given
 * the payload want (len bytes, each byte's opcode in ops) and pings pings,
 * in pieces as wslay reads them (at most 4 KiB). Returns how many pieces. */
static size_t expect_stream(const unsigned char *b, size_t n, const void *want, const char *ops,
                            size_t len, unsigned long pings) {
  struct sink s;
  struct run o;
  sink_init(&s, n);
  feed_whole(&o, &s, b, n);
  CHECK_EQ_INT(o.rc, 0);
  CHECK_EQ_INT(s.n, len);
  CHECK(s.n == len && memcmp(s.out, want, len) == 0);
  CHECK(s.n == len && memcmp(s.ops, ops, len) == 0);
  CHECK_EQ_INT(o.pings, pings);
  CHECK_EQ_INT(o.mid_frame, 0);
  CHECK_EQ_INT(o.close_code, 0);
  CHECK_EQ_INT(s.empty, 0);
  CHECK(s.max_piece <= 4096);
  sink_free(&s);
  return s.pieces;
}

static void text_and_binary(void) {
  unsigned char b[64];
  size_t n = put_frame(b, 1, 0, 1, "hello", 5, NULL);
  n += put_frame(b + n, 1, 0, 2, "\0\1\2\xff", 4, NULL);
  expect_stream(b, n, "hello\0\1\2\xff", "\1\1\1\1\1\2\2\2\2", 9, 0);
}

static void empty_frames(void) {
  static const struct frame f[] = {
      {1, 1, "", 0}, {1, 2, "", 0}, {0, 1, "", 0}, /* then a message of empty fragments */
      {0, 0, "", 0}, {1, 0, "", 0}, {1, 9, "", 0}, {1, 10, "", 0},
  };
  unsigned char b[64];
  size_t n = put_frames(b, f, sizeof f / sizeof *f);
  expect_stream(b, n, "", "", 0, 1);
  /* and an empty fragment ends the message: a new text frame is fine */
  n += put_frame(b + n, 1, 0, 1, "x", 1, NULL);
  expect_stream(b, n, "x", "\1", 1, 1);
  /* an empty feed is no event at all */
  struct sink s;
  sink_init(&s, 1);
  struct sbx_ws_reader *r = sbx_ws_reader_new(NULL);
  REQUIRE(r);
  CHECK_EQ_INT(sbx_ws_reader_feed(r, NULL, 0, on_data, &s, NULL, 0), 0);
  CHECK_EQ_INT(sbx_ws_reader_mid_frame(r), 0);
  sbx_ws_reader_free(r);
  sink_free(&s);
}

static void extended_lengths(void) {
  size_t sizes[] = {125, 126, 300, 65535, 65536, 70000};
  for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
    size_t len = sizes[k];
    unsigned char *pay = malloc(len), *b = malloc(len + 32);
    char *ops = malloc(len);
    REQUIRE(pay && b && ops);
    for (size_t i = 0; i < len; i++)
      pay[i] = (unsigned char)(i * 7 + i / 251);
    memset(ops, 2, len);
    size_t n = put_frame(b, 1, 0, 2, pay, len, NULL);
    CHECK_EQ_INT(n - len, len < 126 ? 2 : len < 65536 ? 4 : 10);
    /* never handed over as one whole payload */
    size_t pieces = expect_stream(b, n, pay, ops, len, 0);
    if (len > 4096) CHECK(pieces > 1);
    /* the same split in two odd places */
    struct sink s;
    struct run o;
    sink_init(&s, len);
    size_t cuts[2] = {3, n / 2 + 1};
    feed_cut(&o, &s, b, n, cuts, 2);
    CHECK_EQ_INT(o.rc, 0);
    CHECK(s.n == len && memcmp(s.out, pay, len) == 0);
    sink_free(&s);
    free(ops);
    free(pay);
    free(b);
  }
}

static void fragmented_with_ping(void) {
  static const struct frame f[] = {
      {0, 1, "Hel", 3}, {1, 9, "p1", 2},     {0, 0, "lo", 2},   {1, 10, "pong", 4},
      {1, 9, "", 0},    {1, 0, " world", 6}, {0, 2, "\x01", 1}, {1, 0, "\x02", 1},
  };
  unsigned char b[128];
  size_t n = put_frames(b, f, sizeof f / sizeof *f);
  expect_stream(b, n, "Hello world\x01\x02", "\1\1\1\1\1\1\1\1\1\1\1\2\2", 13, 2);
}

static void close_frames(void) {
  unsigned char b[64];
  struct sink s;
  struct run o;
  sink_init(&s, 64);
  size_t n = put_close(b, 1000, "");
  feed_whole(&o, &s, b, n);
  CHECK_EQ_INT(o.rc, SBX_WS_CLOSED);
  CHECK_EQ_INT(o.close_code, 1000);
  CHECK_EQ_INT(o.mid_frame, 0);
  n = put_close(b, 4321, "going away, bye");
  feed_whole(&o, &s, b, n);
  CHECK_EQ_INT(o.rc, SBX_WS_CLOSED);
  CHECK_EQ_INT(o.close_code, 4321);
  n = put_close(b, -1, NULL);
  feed_whole(&o, &s, b, n);
  CHECK_EQ_INT(o.rc, SBX_WS_CLOSED);
  CHECK_EQ_INT(o.close_code, 1005);
  /* 0 before any close */
  n = put_frame(b, 1, 0, 1, "a", 1, NULL);
  feed_whole(&o, &s, b, n);
  CHECK_EQ_INT(o.close_code, 0);
  sink_free(&s);
}

static void close_codes(void) {
  static const int good[] = {1000, 1001, 1002, 1003, 1007, 1008,
                             1011, 1012, 1014, 3000, 4000, 4999};
  static const int bad[] = {0, 1, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535};
  unsigned char b[16];
  struct sink s;
  struct run o;
  sink_init(&s, 16);
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    feed_whole(&o, &s, b, put_close(b, good[i], ""));
    CHECK_EQ_INT(o.rc, SBX_WS_CLOSED);
    CHECK_EQ_INT(o.close_code, good[i]);
  }
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    size_t n = put_close(b, bad[i], "r");
    expect_error(b, n, "close code");
    feed_whole(&o, &s, b, n);
    CHECK_EQ_INT(o.close_code, 0);
  }
  static const unsigned char one[] = {0x88, 0x01, 0x03};
  expect_error(one, sizeof one, "close frame with a 1-byte payload");
  sink_free(&s);
}

/* A stream of every kind of frame, the close, then junk that would be an
 * error were it read. */
static size_t sample_stream(unsigned char *b) {
  unsigned char big[300];
  for (size_t i = 0; i < sizeof big; i++)
    big[i] = (unsigned char)(i ^ 0x5a);
  const struct frame f[] = {
      {1, 1, "one", 3}, {0, 1, "fr", 2},         {1, 9, "ping", 4}, {0, 0, "", 0}, {1, 10, "", 0},
      {1, 0, "ag", 2},  {1, 2, big, sizeof big}, {1, 1, "", 0},     {1, 9, "", 0},
  };
  size_t n = put_frames(b, f, sizeof f / sizeof *f);
  n += put_close(b + n, 1001, "bye");
  memcpy(b + n, "\xff\xff\x80\x01x", 5);
  return n + 5;
}

struct outcome {
  struct run o;
  struct sink s;
};

static void same(const struct outcome *a, const struct outcome *b, size_t cut1, size_t cut2) {
  int ok = a->o.rc == b->o.rc && a->o.close_code == b->o.close_code && a->o.pings == b->o.pings &&
           a->o.mid_frame == b->o.mid_frame && a->s.n == b->s.n &&
           memcmp(a->s.out, b->s.out, a->s.n) == 0 && memcmp(a->s.ops, b->s.ops, a->s.n) == 0 &&
           b->s.empty == 0 && strcmp(a->o.err, b->o.err) == 0;
  if (!ok) fprintf(stderr, "  differs when cut at %zu, %zu\n", cut1, cut2);
  CHECK(ok);
}

static void check_whole(const struct outcome *w) {
  static const char want_text[] = "onefrag";
  CHECK_EQ_INT(w->o.rc, SBX_WS_CLOSED);
  CHECK_EQ_INT(w->o.close_code, 1001);
  CHECK_EQ_INT(w->o.pings, 2);
  CHECK_EQ_INT(w->o.mid_frame, 0);
  CHECK_EQ_INT(w->s.n, 7 + 300);
  CHECK(memcmp(w->s.out, want_text, 7) == 0);
  CHECK(w->s.ops[6] == 1 && w->s.ops[7] == 2 && w->s.ops[306] == 2);
}

static void every_split_point(void) {
  unsigned char b[512];
  size_t len = sample_stream(b);
  struct outcome w, t;
  sink_init(&w.s, 512);
  sink_init(&t.s, 512);
  feed_whole(&w.o, &w.s, b, len);
  check_whole(&w);
  for (size_t a = 1; a < len; a++) {
    t.s.n = 0;
    feed_cut(&t.o, &t.s, b, len, &a, 1);
    same(&w, &t, a, 0);
    for (size_t c = a + 1; c < len; c += 3) {
      size_t cuts[2] = {a, c};
      t.s.n = 0;
      feed_cut(&t.o, &t.s, b, len, cuts, 2);
      same(&w, &t, a, c);
    }
  }
  sink_free(&w.s);
  sink_free(&t.s);
}

static void byte_by_byte(void) {
  unsigned char b[512];
  size_t len = sample_stream(b), cuts[512];
  for (size_t i = 0; i + 1 < len; i++)
    cuts[i] = i + 1;
  struct outcome w, t;
  sink_init(&w.s, 512);
  sink_init(&t.s, 512);
  feed_whole(&w.o, &w.s, b, len);
  feed_cut(&t.o, &t.s, b, len, cuts, len - 1);
  same(&w, &t, 0, 0);
  /* the close is read by the feed holding its last byte (the 5 after it are junk) */
  CHECK_EQ_INT(t.o.closed_feed, (int)(len - 5) - 1);
  sink_free(&w.s);
  sink_free(&t.s);
}

/* The same error, and the same message, at every cut and byte by byte (the
 * header bytes a message is drawn from may lie in an earlier feed). */
static void error_at_every_cut(const unsigned char *in, size_t len, const char *want) {
  expect_error(in, len, want);
  struct outcome w, t;
  sink_init(&w.s, len + 1);
  sink_init(&t.s, len + 1);
  feed_whole(&w.o, &w.s, in, len);
  size_t cuts[600] = {0};
  REQUIRE(len <= sizeof cuts / sizeof *cuts);
  for (size_t i = 0; i + 1 < len; i++)
    cuts[i] = i + 1;
  t.s.n = 0;
  feed_cut(&t.o, &t.s, in, len, cuts, len - 1);
  same(&w, &t, 0, 0);
  for (size_t a = 1; a < len; a++) {
    t.s.n = 0;
    feed_cut(&t.o, &t.s, in, len, &a, 1);
    same(&w, &t, a, 0);
  }
  sink_free(&w.s);
  sink_free(&t.s);
}

/* Good frames first, so the bad one starts well inside the stream. */
static size_t lead_in(unsigned char *b) {
  size_t n = put_frame(b, 1, 0, 1, "0123456789abcdefghij", 20, NULL);
  return n + put_frame(b + n, 1, 0, 10, "x", 1, NULL);
}

static void masked_frame(void) {
  static const unsigned char key[4] = {1, 2, 3, 4};
  unsigned char b[64];
  size_t n = lead_in(b);
  n += put_frame(b + n, 1, 0, 1, "hi", 2, key);
  error_at_every_cut(b, n, "masked frame from the server at byte 25");
  n = put_frame(b, 1, 0, 9, "", 0, key); /* masked and empty */
  expect_error(b, n, "masked frame");
}

static void reserved_bits(void) {
  for (int rsv = 1; rsv < 8; rsv++) {
    unsigned char b[64];
    size_t n = lead_in(b);
    n += put_frame(b + n, 1, rsv, rsv & 1 ? 1 : 9, "x", 1, NULL);
    error_at_every_cut(b, n, "reserved bits");
  }
}

static void bad_opcodes(void) {
  for (int op = 3; op < 16; op++) {
    if (op >= 8 && op <= 10) continue;
    unsigned char b[64];
    size_t n = lead_in(b);
    n += put_frame(b + n, 1, 0, op, "x", 1, NULL);
    char want[40];
    snprintf(want, sizeof want, "unknown opcode %d", op);
    error_at_every_cut(b, n, want);
  }
}

static void bad_control_frames(void) {
  unsigned char big[126] = {0x03, 0xe8}, b[256];
  for (int op = 8; op <= 10; op++) {
    size_t n = lead_in(b);
    n += put_frame(b + n, 1, 0, op, big, sizeof big, NULL);
    error_at_every_cut(b, n, "over 125 bytes at byte 25");
    n = lead_in(b);
    n += put_frame(b + n, 0, 0, op, "", 0, NULL);
    error_at_every_cut(b, n, "fragmented control frame");
  }
  /* a 125-byte ping is fine */
  struct sink s;
  struct run o;
  sink_init(&s, 8);
  feed_whole(&o, &s, b, put_frame(b, 1, 0, 9, big, 125, NULL));
  CHECK_EQ_INT(o.rc, 0);
  CHECK_EQ_INT(o.pings, 1);
  sink_free(&s);
  /* lengths not in their shortest form: wslay's own check */
  static const unsigned char long16[] = {0x81, 0x7e, 0x00, 0x05, 'a', 'b', 'c', 'd', 'e'};
  error_at_every_cut(long16, sizeof long16, "shortest form");
  static const unsigned char long64[] = {0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 'a'};
  error_at_every_cut(long64, sizeof long64, "shortest form");
  static const unsigned char top_bit[] = {0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0, 'a'};
  expect_error(top_bit, sizeof top_bit, "over 2^63");
}

static void fragmentation_errors(void) {
  unsigned char b[64];
  size_t n = lead_in(b);
  n += put_frame(b + n, 1, 0, 0, "x", 1, NULL);
  error_at_every_cut(b, n, "continuation frame with no message started");
  n = put_frame(b, 1, 0, 0, "", 0, NULL);
  expect_error(b, n, "continuation frame with no message started");
  n = put_frame(b, 0, 0, 1, "a", 1, NULL);
  n += put_frame(b + n, 1, 0, 1, "b", 1, NULL);
  error_at_every_cut(b, n, "new text frame inside an unfinished fragmented message");
  n = put_frame(b, 0, 0, 2, "a", 1, NULL);
  n += put_frame(b + n, 1, 0, 9, "", 0, NULL);
  n += put_frame(b + n, 0, 0, 0, "b", 1, NULL);
  n += put_frame(b + n, 0, 0, 2, "c", 1, NULL);
  error_at_every_cut(b, n, "new binary frame inside");
}

static void truncated(void) {
  unsigned char b[400];
  unsigned char big[300] = {0};
  size_t one = put_frame(b, 1, 0, 1, "abc", 3, NULL);
  size_t n = one + put_frame(b + one, 1, 0, 2, big, sizeof big, NULL);
  struct sink s;
  struct run o;
  sink_init(&s, 400);
  /* every prefix: mid_frame unless it ends exactly between frames */
  for (size_t k = 0; k <= n; k++) {
    s.n = 0;
    feed_whole(&o, &s, b, k);
    CHECK_EQ_INT(o.rc, 0);
    int between = k == 0 || k == one || k == n;
    if (o.mid_frame != !between) fprintf(stderr, "  prefix %zu\n", k);
    CHECK_EQ_INT(o.mid_frame, !between);
  }
  /* whole frames, but a fragmented message left open */
  n = put_frame(b, 0, 0, 1, "abc", 3, NULL);
  n += put_frame(b + n, 1, 0, 9, "", 0, NULL);
  feed_whole(&o, &s, b, n);
  CHECK_EQ_INT(o.rc, 0);
  CHECK_EQ_INT(o.mid_frame, 1);
  n += put_frame(b + n, 1, 0, 0, "", 0, NULL);
  feed_whole(&o, &s, b, n);
  CHECK_EQ_INT(o.mid_frame, 0);
  sink_free(&s);
}

static void after_close(void) {
  unsigned char b[64];
  size_t n = put_frame(b, 1, 0, 1, "a", 1, NULL);
  n += put_close(b + n, 1000, "");
  size_t closed = n;
  n += put_frame(b + n, 1, 0, 1, "ignored", 7, NULL);
  memcpy(b + n, "\x80\x01x\xff\xff", 5); /* would be errors */
  n += 5;
  struct sink s;
  sink_init(&s, 64);
  struct sbx_ws_reader *r = sbx_ws_reader_new(NULL);
  REQUIRE(r);
  char err[128];
  CHECK_EQ_INT(sbx_ws_reader_feed(r, (const char *)b, n, on_data, &s, err, sizeof err),
               SBX_WS_CLOSED);
  CHECK_EQ_INT(s.n, 1);
  CHECK_EQ_INT(sbx_ws_reader_close_code(r), 1000);
  CHECK_EQ_INT(sbx_ws_reader_feed(r, (const char *)b, closed, on_data, &s, err, sizeof err),
               SBX_WS_CLOSED);
  CHECK_EQ_INT(sbx_ws_reader_feed(r, "\xff", 1, on_data, &s, err, sizeof err), SBX_WS_CLOSED);
  CHECK_EQ_INT(s.n, 1);
  CHECK_EQ_INT(sbx_ws_reader_close_code(r), 1000);
  CHECK_EQ_INT(sbx_ws_reader_mid_frame(r), 0);
  sbx_ws_reader_free(r);
  sink_free(&s);
}

static void stop_value(void) {
  unsigned char b[64];
  size_t n = put_frame(b, 1, 0, 1, "first", 5, NULL);
  n += put_frame(b + n, 1, 0, 1, "second", 6, NULL);
  n += put_close(b + n, 1000, "");
  struct sink s;
  sink_init(&s, 64);
  s.stop_at = 2;
  s.stop_with = 42;
  struct sbx_ws_reader *r = sbx_ws_reader_new(NULL);
  REQUIRE(r);
  char err[128];
  CHECK_EQ_INT(sbx_ws_reader_feed(r, (const char *)b, n, on_data, &s, err, sizeof err), 42);
  CHECK_EQ_INT(s.n, 11); /* the piece that stopped it was delivered */
  CHECK_EQ_INT(sbx_ws_reader_close_code(r), 0);
  /* stopping is final */
  err[0] = 0;
  CHECK_EQ_INT(sbx_ws_reader_feed(r, (const char *)b, n, on_data, &s, err, sizeof err), 42);
  CHECK(strstr(err, "already failed or stopped") != NULL);
  CHECK_EQ_INT(s.n, 11);
  sbx_ws_reader_free(r);
  /* a negative stop value too */
  s.n = s.pieces = 0;
  s.stop_at = 1;
  s.stop_with = SBX_ECANCELED;
  r = sbx_ws_reader_new(NULL);
  REQUIRE(r);
  CHECK_EQ_INT(sbx_ws_reader_feed(r, (const char *)b, n, on_data, &s, NULL, 0), SBX_ECANCELED);
  sbx_ws_reader_free(r);
  sink_free(&s);
}

static void errors_are_final(void) {
  static const unsigned char bad[] = {0x83, 0x00};
  unsigned char b[16];
  size_t n = put_frame(b, 1, 0, 1, "ok", 2, NULL);
  struct sink s;
  sink_init(&s, 16);
  struct sbx_ws_reader *r = sbx_ws_reader_new(NULL);
  REQUIRE(r);
  char err[128];
  CHECK_EQ_INT(sbx_ws_reader_feed(r, (const char *)bad, 2, on_data, &s, err, sizeof err),
               SBX_EPROTO);
  CHECK(strstr(err, "unknown opcode 3 at byte 0") != NULL);
  CHECK_EQ_INT(sbx_ws_reader_feed(r, (const char *)b, n, on_data, &s, err, sizeof err), SBX_EPROTO);
  CHECK(strstr(err, "already failed") != NULL);
  CHECK_EQ_INT(s.n, 0);
  /* a tiny error buffer is truncated, NUL-terminated */
  char tiny[8];
  CHECK_EQ_INT(sbx_ws_reader_feed(r, (const char *)b, n, on_data, &s, tiny, sizeof tiny),
               SBX_EPROTO);
  CHECK_EQ_INT(strlen(tiny), 7);
  sbx_ws_reader_free(r);
  sink_free(&s);
}

static void garbage(void) {
  unsigned int seed = 777;
  unsigned char buf[3000];
  struct sink s;
  sink_init(&s, sizeof buf);
  for (int round = 0; round < 300; round++) {
    for (size_t i = 0; i < sizeof buf; i++) {
      seed = seed * 1103515245u + 12345u;
      buf[i] = (unsigned char)(seed >> 16);
      /* often a plausible header: small lengths, known opcodes */
      if (i % 7 == 0 && round % 2) buf[i] = (unsigned char)((seed >> 8) % 3 ? 0x81 : 0x09);
      if (i % 7 == 1 && round % 2) buf[i] = (unsigned char)((seed >> 8) & 0x0f);
    }
    size_t cuts[3] = {(size_t)round % 13 + 1, 1500, 1501 + (size_t)round};
    struct run o;
    s.n = s.pieces = 0;
    feed_cut(&o, &s, buf, sizeof buf, cuts, 3);
    CHECK(o.rc == 0 || o.rc == SBX_WS_CLOSED || o.rc == SBX_EPROTO);
    CHECK(s.n <= sizeof buf);
    CHECK_EQ_INT(s.empty, 0);
  }
  sink_free(&s);
}

static void handshake(void) {
  char key[25];
  sbx_ws_make_key((const unsigned char *)"the sample nonce", key);
  CHECK_EQ_STR(key, "dGhlIHNhbXBsZSBub25jZQ==");
  CHECK_EQ_INT(sbx_ws_accept_ok(key, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), 1);
  CHECK_EQ_INT(sbx_ws_accept_ok(key, "s3pPLMBiTxaQ9kYGzzhZRbK+xOp="), 0);
  CHECK_EQ_INT(sbx_ws_accept_ok(key, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo= "), 0);
  CHECK_EQ_INT(sbx_ws_accept_ok(key, ""), 0);
  CHECK_EQ_INT(sbx_ws_accept_ok(key, NULL), 0);
  CHECK_EQ_INT(sbx_ws_accept_ok(NULL, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), 0);
  CHECK_EQ_INT(sbx_ws_accept_ok("dGhlIHNhbXBsZSBub25jZQ=", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), 0);
  char longkey[200];
  memset(longkey, 'A', sizeof longkey - 1);
  longkey[sizeof longkey - 1] = 0;
  CHECK_EQ_INT(sbx_ws_accept_ok(longkey, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), 0);
  unsigned char zero[16] = {0};
  sbx_ws_make_key(zero, key);
  CHECK_EQ_STR(key, "AAAAAAAAAAAAAAAAAAAAAA==");
}

int main(int argc, char **argv) {
  static const struct test_case cases[] = {
      {"text_and_binary", text_and_binary},
      {"empty_frames", empty_frames},
      {"extended_lengths", extended_lengths},
      {"fragmented_with_ping", fragmented_with_ping},
      {"close_frames", close_frames},
      {"close_codes", close_codes},
      {"every_split_point", every_split_point},
      {"byte_by_byte", byte_by_byte},
      {"masked_frame", masked_frame},
      {"reserved_bits", reserved_bits},
      {"bad_opcodes", bad_opcodes},
      {"bad_control_frames", bad_control_frames},
      {"fragmentation_errors", fragmentation_errors},
      {"truncated", truncated},
      {"after_close", after_close},
      {"stop_value", stop_value},
      {"errors_are_final", errors_are_final},
      {"garbage", garbage},
      {"handshake", handshake},
      {NULL, NULL},
  };
  return test_main("ws_reader", cases, argc, argv, 60);
}
