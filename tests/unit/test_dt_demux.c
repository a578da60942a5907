/* test_dt_demux.c - the Daytona log demultiplexer at every split point,
 * byte by byte, with marker look-alikes, and on garbage. */
#include "../../protocol/dt_demux.h"
#include "testlib.h"

struct sink {
  char out[4096], err[4096];
  size_t n_out, n_err;
  int empty_calls, bad_stream;
  size_t dropped; /* the demuxer's count of bytes before the first marker */
};

static void on_bytes(void *ud, int stream, const char *data, size_t len) {
  struct sink *s = ud;
  if (len == 0) s->empty_calls++;
  if (stream == SBX_DT_STDOUT && s->n_out + len < sizeof s->out) {
    memcpy(s->out + s->n_out, data, len);
    s->n_out += len;
  } else if (stream == SBX_DT_STDERR && s->n_err + len < sizeof s->err) {
    memcpy(s->err + s->n_err, data, len);
    s->n_err += len;
  } else if (stream != SBX_DT_STDOUT && stream != SBX_DT_STDERR) {
    s->bad_stream++;
  }
}

/* Feed in pieces cut at the given offsets (ascending, < len). */
static void feed_cut(struct sink *s, const char *in, size_t len, const size_t *cuts, size_t n) {
  struct sbx_dt_demux d;
  sbx_dt_demux_init(&d);
  memset(s, 0, sizeof *s);
  size_t at = 0;
  for (size_t i = 0; i <= n; i++) {
    size_t end = i < n ? cuts[i] : len;
    sbx_dt_demux_feed(&d, in + at, end - at, on_bytes, s);
    at = end;
  }
  sbx_dt_demux_finish(&d, on_bytes, s);
  s->dropped = d.dropped;
}

static void expect(const struct sink *s, const char *out, size_t n_out, const char *err,
                   size_t n_err) {
  CHECK_EQ_INT(s->n_out, n_out);
  CHECK_EQ_INT(s->n_err, n_err);
  if (s->n_out == n_out) CHECK(memcmp(s->out, out, n_out) == 0);
  if (s->n_err == n_err) CHECK(memcmp(s->err, err, n_err) == 0);
  CHECK_EQ_INT(s->empty_calls, 0);
  CHECK_EQ_INT(s->bad_stream, 0);
}

/* Junk before the first marker is dropped; "\x01\x01x" inside stderr is
 * data; a run of four marker bytes is a marker and one data byte. */
static const char sample[] = "junk\x01\x01\x01out1\n\x02\x02\x02"
                             "err1\n\x01\x01x\x01\x01\x01o2\n\x02\x02\x02\x02z\x01";
static const char want_out[] = "out1\no2\n";
static const char want_err[] = "err1\n\x01\x01x\x02z\x01";

static void whole(void) {
  struct sink s;
  feed_cut(&s, sample, sizeof sample - 1, NULL, 0);
  expect(&s, want_out, sizeof want_out - 1, want_err, sizeof want_err - 1);
  CHECK_EQ_INT(s.dropped, 4); /* "junk" is counted, so callers can refuse it */
}

static void every_split_point(void) {
  size_t len = sizeof sample - 1;
  for (size_t a = 1; a < len; a++) {
    struct sink s;
    feed_cut(&s, sample, len, &a, 1);
    expect(&s, want_out, sizeof want_out - 1, want_err, sizeof want_err - 1);
    for (size_t b = a + 1; b < len; b++) {
      size_t cuts[2] = {a, b};
      feed_cut(&s, sample, len, cuts, 2);
      expect(&s, want_out, sizeof want_out - 1, want_err, sizeof want_err - 1);
    }
  }
}

static void byte_by_byte(void) {
  size_t len = sizeof sample - 1, cuts[sizeof sample];
  for (size_t i = 0; i + 1 < len; i++)
    cuts[i] = i + 1;
  struct sink s;
  feed_cut(&s, sample, len, cuts, len - 1);
  expect(&s, want_out, sizeof want_out - 1, want_err, sizeof want_err - 1);
}

static void held_bytes_at_the_end(void) {
  /* a stream that ends on "\x02\x02" while in stdout: they were data */
  static const char in[] = "\x01\x01\x01"
                           "a\x02\x02";
  struct sink s;
  feed_cut(&s, in, sizeof in - 1, NULL, 0);
  expect(&s, "a\x02\x02", 3, "", 0);
  /* markers only, and nothing before the first: no output at all */
  static const char only[] = "\x01\x01\x01\x02\x02\x02";
  feed_cut(&s, only, sizeof only - 1, NULL, 0);
  expect(&s, "", 0, "", 0);
}

static void garbage(void) {
  unsigned int seed = 12345;
  char buf[2048];
  for (int round = 0; round < 200; round++) {
    for (size_t i = 0; i < sizeof buf; i++) {
      seed = seed * 1103515245u + 12345u;
      unsigned int r = (seed >> 16) & 0xff;
      buf[i] = (char)(r < 40 ? 1 : r < 80 ? 2 : r); /* many marker bytes */
    }
    size_t cuts[3] = {(size_t)round % 7 + 1, 1000, 1001 + (size_t)round};
    struct sink s;
    feed_cut(&s, buf, sizeof buf, cuts, 3);
    CHECK(s.n_out + s.n_err <= sizeof buf);
    CHECK_EQ_INT(s.empty_calls, 0);
    CHECK_EQ_INT(s.bad_stream, 0);
  }
}

int main(int argc, char **argv) {
  static const struct test_case cases[] = {
      {"whole", whole},
      {"every_split_point", every_split_point},
      {"byte_by_byte", byte_by_byte},
      {"held_bytes_at_the_end", held_bytes_at_the_end},
      {"garbage", garbage},
      {NULL, NULL},
  };
  return test_main("dt_demux", cases, argc, argv, 60);
}
