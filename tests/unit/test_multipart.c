/* test_multipart.c - the multipart/form-data reply parser: a Daytona-style
 * bulk-download body, delimiter look-alikes in binary data, every split
 * point, the boundary parameter, and each way a body can be wrong. */
#include "../../include/sbx.h"
#include "../../protocol/multipart.h"
#include "testlib.h"

#include <stdarg.h>

/* A transcript of the callbacks: "<begin ...>", the data bytes, "<end>". */
struct log {
  char *buf;
  size_t n, cap;
  int empty;              /* empty data pieces (must stay 0) */
  int stop_kind, stop_rc; /* stop: 1 begin, 2 data, 3 end; with that value */
  size_t data;            /* data bytes handed out */
};

static void add(struct log *l, const char *p, size_t n) {
  if (l->n + n > l->cap) {
    l->cap = (l->n + n) * 2 + 64;
    l->buf = realloc(l->buf, l->cap);
    REQUIRE(l->buf);
  }
  memcpy(l->buf + l->n, p, n);
  l->n += n;
}

static void addf(struct log *l, const char *fmt, ...) {
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  REQUIRE(k >= 0 && (size_t)k < sizeof tmp);
  add(l, tmp, (size_t)k);
}

static int on_begin(void *ud, const struct sbx_mp_part *p) {
  struct log *l = ud;
  addf(l, "<begin %u name=%s file=%s type=%s>", p->index, p->name ? p->name : "(none)",
       p->filename ? p->filename : "(none)", p->content_type ? p->content_type : "(none)");
  return l->stop_kind == 1 ? l->stop_rc : 0;
}

static int on_data(void *ud, const char *data, size_t len) {
  struct log *l = ud;
  if (!len) l->empty++;
  add(l, data, len);
  l->data += len;
  return l->stop_kind == 2 ? l->stop_rc : 0;
}

static int on_end(void *ud) {
  struct log *l = ud;
  add(l, "<end>", 5);
  return l->stop_kind == 3 ? l->stop_rc : 0;
}

static const struct sbx_mp_callbacks cbs = {on_begin, on_data, on_end};

/* One parse: feed the body cut at cuts (ascending, < len), then finish. */
struct result {
  struct log log;
  int rc; /* the first non-zero feed result, else finish's */
  char err[200];
};

static void parse_cut(struct result *r, const char *boundary, const char *body, size_t len,
                      const size_t *cuts, size_t ncuts) {
  free(r->log.buf);
  memset(r, 0, sizeof *r);
  struct sbx_mp m;
  REQUIRE(sbx_mp_init(&m, boundary, &cbs, &r->log, NULL) == 0);
  size_t at = 0;
  for (size_t i = 0; i <= ncuts && !r->rc; i++) {
    size_t end = i < ncuts ? cuts[i] : len;
    r->rc = sbx_mp_feed(&m, body + at, end - at, r->err, sizeof r->err);
    at = end;
  }
  if (!r->rc) r->rc = sbx_mp_finish(&m, r->err, sizeof r->err);
  sbx_mp_release(&m);
}

static void parse(struct result *r, const char *boundary, const char *body, size_t len) {
  parse_cut(r, boundary, body, len, NULL, 0);
}

static int same(const struct result *a, const struct result *b) {
  return a->rc == b->rc && a->log.n == b->log.n &&
         (!a->log.n || memcmp(a->log.buf, b->log.buf, a->log.n) == 0) &&
         strcmp(a->err, b->err) == 0 && b->log.empty == 0;
}

/* The same transcript and result whole, byte by byte, at every cut and at
 * pairs of cuts (the second every step bytes). */
static void check_all_cuts(const char *boundary, const char *body, size_t len, size_t step) {
  struct result w = {0}, t = {0};
  parse(&w, boundary, body, len);
  CHECK_EQ_INT(w.log.empty, 0);
  size_t *cuts = malloc((len + 1) * sizeof *cuts);
  REQUIRE(cuts);
  for (size_t i = 0; i + 1 < len; i++)
    cuts[i] = i + 1;
  parse_cut(&t, boundary, body, len, cuts, len ? len - 1 : 0);
  if (!same(&w, &t)) fprintf(stderr, "  byte by byte differs\n");
  CHECK(same(&w, &t));
  int bad = 0;
  for (size_t a = 1; a < len && bad < 5; a++) {
    parse_cut(&t, boundary, body, len, &a, 1);
    if (!same(&w, &t)) fprintf(stderr, "  cut at %zu differs\n", a), bad++;
    for (size_t c = a + 1; step && c < len && bad < 5; c += step) {
      size_t two[2] = {a, c};
      parse_cut(&t, boundary, body, len, two, 2);
      if (!same(&w, &t)) fprintf(stderr, "  cuts at %zu, %zu differ\n", a, c), bad++;
    }
  }
  CHECK_EQ_INT(bad, 0);
  free(cuts);
  free(w.log.buf);
  free(t.log.buf);
}

#define B "8f3c2a1b9e"
/* Binary data with CR, LF, NUL and delimiter look-alikes, ending in CR. */
static const char bin[] = "\x00\x01\r\n\r\r\n--\r\n--8f3\r\n--" B "x\r\n--" B "-x\r\n--" B
                          " \tx\r\n--" B "\rx\r\n--" B "\r\r\n--" B "b\xff--" B "\r\n"
                          "\r\n-\r\n--" B "                    \r\nafter\r";

/* What Daytona's bulk download sends: two files, an error, an empty file,
 * with a preamble, transport padding and an epilogue. */
static const char body[] =
    "preamble, ignored\r\n"
    "--" B "\r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"/home/user/a.txt\"\r\n"
    "Content-Type: application/octet-stream\r\n"
    "\r\n"
    "hello\r\n"
    "--" B "\r\n"
    "content-disposition: form-data; name=\"file\"; filename=\"/home/user/dir x/b "
    "\\\"q\\\".bin\"\r\n"
    "\r\n"
    "BIN\r\n"
    "--" B " \t\r\n"
    "Content-Disposition: form-data; name=\"error\"; filename=\"/nope\"\r\n"
    "Content-Type: application/json; charset=utf-8\r\n"
    "\r\n"
    "{\"statusCode\":404,\"message\":\"file not found: /nope\"}\r\n"
    "--" B "\r\n"
    "Content-Disposition: form-data; name=file; filename=\"/empty\"\r\n"
    "\r\n"
    "\r\n"
    "--" B "--\r\n"
    "epilogue\r\n--" B "\r\nignored too\r\n";

/* The body with "BIN" replaced by the binary data; its length in *len. */
static char *make_body(size_t *len) {
  const char *at = strstr(body, "BIN");
  size_t pre = (size_t)(at - body), post = strlen(at + 3), nb = sizeof bin - 1;
  char *b = malloc(pre + nb + post);
  REQUIRE(b);
  memcpy(b, body, pre);
  memcpy(b + pre, bin, nb);
  memcpy(b + pre + nb, at + 3, post);
  *len = pre + nb + post;
  return b;
}

static void expect_log(const struct result *r, const char *want, size_t n) {
  int ok = r->log.n == n && (!n || memcmp(r->log.buf, want, n) == 0);
  if (!ok) fprintf(stderr, "  got  %.*s\n  want %.*s\n", (int)r->log.n, r->log.buf, (int)n, want);
  CHECK(ok);
}

/* A body that parses whole to the transcript want (text only). */
static void expect_parts(const char *boundary, const char *in, size_t len, const char *want) {
  struct result r = {0};
  parse(&r, boundary, in, len);
  if (r.rc) fprintf(stderr, "  %s\n", r.err);
  CHECK_EQ_INT(r.rc, 0);
  expect_log(&r, want, strlen(want));
  free(r.log.buf);
}

static void daytona_body(void) {
  size_t len;
  char *b = make_body(&len);
  struct result r = {0};
  parse(&r, B, b, len);
  CHECK_EQ_INT(r.rc, 0);
  struct log want = {0};
  addf(&want, "<begin 0 name=file file=/home/user/a.txt type=application/octet-stream>");
  addf(&want, "hello<end>");
  addf(&want, "<begin 1 name=file file=/home/user/dir x/b \"q\".bin type=(none)>");
  add(&want, bin, sizeof bin - 1);
  addf(&want, "<end>");
  addf(&want, "<begin 2 name=error file=/nope type=application/json; charset=utf-8>");
  addf(&want, "{\"statusCode\":404,\"message\":\"file not found: /nope\"}<end>");
  addf(&want, "<begin 3 name=file file=/empty type=(none)><end>");
  expect_log(&r, want.buf, want.n);
  free(want.buf);
  free(r.log.buf);
  free(b);
}

static void every_split_point(void) {
  size_t len;
  char *b = make_body(&len);
  check_all_cuts(B, b, len, 7);
  free(b);
}

static void lookalikes_are_data(void) {
  static const char *datas[] = {
      "",
      "\r",
      "\r\n",
      "\r\n-",
      "\r\n--",
      "\r\n--XY",
      "\r\n--XX\r\n",
      "--X\r\n",
      "a\r\n--X-",
      "\r\n--X-x",
      "\r\n--X\r",
      "\r\n--X\rz",
      "\r\n--X \r",
      "\r\n\r\n--X\t\tq",
      "\r\r\r\n\n\n",
      "\r\n--X\r\r\n--XZ",
  };
  for (size_t i = 0; i < sizeof datas / sizeof *datas; i++) {
    const char *d = datas[i];
    char bodybuf[256], want[256];
    int n = snprintf(bodybuf, sizeof bodybuf,
                     "--X\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n%s\r\n--X--", d);
    snprintf(want, sizeof want, "<begin 0 name=file file=(none) type=(none)>%s<end>", d);
    expect_parts("X", bodybuf, (size_t)n, want);
    check_all_cuts("X", bodybuf, (size_t)n, 1);
  }
}

static void boundary_param(void) {
  char out[SBX_MP_BOUNDARY_MAX + 1], err[200];
  CHECK_EQ_INT(sbx_mp_boundary("multipart/form-data; boundary=" B, out, err, sizeof err), 0);
  CHECK_EQ_STR(out, B);
  CHECK_EQ_INT(sbx_mp_boundary("Multipart/Form-Data;charset=utf-8;BOUNDARY=\"a b'()+_,-./:=?\"",
                               out, err, sizeof err),
               0);
  CHECK_EQ_STR(out, "a b'()+_,-./:=?");
  CHECK_EQ_INT(
      sbx_mp_boundary("multipart/mixed ; boundary = \"q\\\"x\" ; x=y;", out, err, sizeof err), 0);
  CHECK_EQ_STR(out, "q\"x");
  CHECK_EQ_INT(sbx_mp_boundary("multipart/form-data; boundary=abc==", out, err, sizeof err), 0);
  CHECK_EQ_STR(out, "abc==");
  char b70[120], b71[120];
  memset(b70, 'z', 70);
  b70[70] = 0;
  memset(b71, 'z', 71);
  b71[71] = 0;
  char ct[200];
  snprintf(ct, sizeof ct, "multipart/form-data; boundary=%s", b70);
  CHECK_EQ_INT(sbx_mp_boundary(ct, out, err, sizeof err), 0);
  CHECK_EQ_STR(out, b70);
  snprintf(ct, sizeof ct, "multipart/form-data; boundary=\"%s\"", b71);
  CHECK_EQ_INT(sbx_mp_boundary(ct, out, err, sizeof err), SBX_EPROTO);
  CHECK(strstr(err, "boundary over 70 characters") != NULL);
  static const struct {
    const char *ct, *want;
  } bad[] = {
      {"multipart/form-data", "no boundary"},
      {"multipart/form-data; charset=utf-8", "no boundary"},
      {"multipart/form-data; boundary=", "malformed"},
      {"multipart/form-data; boundary=\"\"", "boundary empty"},
      {"multipart/form-data; boundary=\"abc", "malformed"},
      {"multipart/form-data boundary=abc", "malformed"},
      {"multipart/form-data; =abc", "malformed"},
      {"multipart/form-data; boundary=\"a\tb\"", "control characters"},
      {"application/json; boundary=abc", "is not multipart"},
      {"", "is not multipart"},
      {NULL, "is not multipart"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    err[0] = 0;
    int rc = sbx_mp_boundary(bad[i].ct, out, err, sizeof err);
    if (rc != SBX_EPROTO || !strstr(err, bad[i].want))
      fprintf(stderr, "  \"%s\": rc %d, \"%s\"\n", bad[i].ct ? bad[i].ct : "(null)", rc, err);
    CHECK_EQ_INT(rc, SBX_EPROTO);
    CHECK(strstr(err, bad[i].want) != NULL);
  }
}

static void quoted_boundary(void) {
  char bnd[SBX_MP_BOUNDARY_MAX + 1], err[200];
  REQUIRE(sbx_mp_boundary("multipart/form-data; boundary=\"sp ace:=?\"", bnd, err, sizeof err) ==
          0);
  static const char in[] = "--sp ace:=?\r\nContent-Disposition: form-data; name=\"file\"; "
                           "filename=\"f\"\r\n\r\ndata\r\n--sp ace:\r\n--sp ace:=?--\r\n";
  expect_parts(bnd, in, sizeof in - 1,
               "<begin 0 name=file file=f type=(none)>data\r\n--sp ace:<end>");
  check_all_cuts(bnd, in, sizeof in - 1, 1);
}

static void empty_parts(void) {
  /* no headers at all, an empty body, and two in a row */
  static const char in[] = "--X\r\n\r\n\r\n--X\r\n\r\nx\r\n--X\r\nA: b\r\n\r\n\r\n--X--";
  expect_parts("X", in, sizeof in - 1,
               "<begin 0 name=(none) file=(none) type=(none)><end>"
               "<begin 1 name=(none) file=(none) type=(none)>x<end>"
               "<begin 2 name=(none) file=(none) type=(none)><end>");
  expect_parts("X", "--X--\r\n", 7, ""); /* no part at all */
  check_all_cuts("X", in, sizeof in - 1, 1);
}

static void disposition_params(void) {
  static const char in[] =
      "--X\r\n"
      "CONTENT-DISPOSITION:form-data;filename=\"a \\\"b\\\" \\\\c d.txt\";name=file\r\n"
      "Content-Type:   text/plain  \r\n"
      "X-Other: whatever; \"x\r\n"
      "\r\nA\r\n--X\r\n"
      "Content-Disposition: attachment; name=\"n\"; filename=\"\"; filename*=UTF-8''x\r\n"
      " ; size=3\r\n" /* a folded line */
      "\r\nB\r\n--X--";
  expect_parts("X", in, sizeof in - 1,
               "<begin 0 name=file file=a \"b\" \\c d.txt type=text/plain>A<end>"
               "<begin 1 name=n file= type=(none)>B<end>");
}

static void expect_error(const char *boundary, const char *in, size_t len, const char *want) {
  struct result r = {0};
  parse(&r, boundary, in, len);
  if (r.rc != SBX_EPROTO || !strstr(r.err, want))
    fprintf(stderr, "  rc %d, \"%s\", want \"%s\"\n", r.rc, r.err, want);
  CHECK_EQ_INT(r.rc, SBX_EPROTO);
  CHECK(strstr(r.err, want) != NULL);
  CHECK(strncmp(r.err, "multipart: ", 11) == 0);
  free(r.log.buf);
  check_all_cuts(boundary, in, len, 0);
}

static void bad_headers(void) {
  static const char nocolon[] = "--X\r\n\r\na\r\n--X\r\nContent-Type text/plain\r\n\r\nb\r\n--X--";
  expect_error("X", nocolon, sizeof nocolon - 1,
               "part 1: header line without ':' (header block at byte 15)");
  static const char baddisp[] =
      "--X\r\nContent-Disposition: form-data; filename=\"open\r\n\r\nb\r\n--X--";
  expect_error("X", baddisp, sizeof baddisp - 1, "part 0: malformed Content-Disposition");
  static const char nodisp[] = "--X\r\nContent-Disposition: ; name=a\r\n\r\nb\r\n--X--";
  expect_error("X", nodisp, sizeof nodisp - 1, "malformed Content-Disposition");
  static const char nul[] = "--X\r\nA: b\0c\r\n\r\nb\r\n--X--";
  expect_error("X", nul, sizeof nul - 1, "part 0: NUL byte in the header block at byte 9");
}

static void header_block_too_big(void) {
  char *in = malloc(2 * SBX_MP_HEADER_MAX + 200);
  REQUIRE(in);
  /* part 1's header block is exactly the cap: fine; part 2's is one more */
  size_t n = (size_t)sprintf(in, "--X\r\n\r\na\r\n--X\r\n");
  size_t start1 = n;
  n += (size_t)sprintf(in + n, "X-Pad: ");
  while (n - start1 < SBX_MP_HEADER_MAX - 4)
    in[n++] = 'p';
  n += (size_t)sprintf(in + n, "\r\n\r\nb\r\n--X\r\n");
  CHECK_EQ_INT(strstr(in + start1, "\r\n\r\n") + 4 - (in + start1), SBX_MP_HEADER_MAX);
  size_t start2 = n;
  n += (size_t)sprintf(in + n, "X-Pad: ");
  while (n - start2 < SBX_MP_HEADER_MAX - 3)
    in[n++] = 'p';
  n += (size_t)sprintf(in + n, "\r\n\r\nc\r\n--X--");
  struct result r = {0};
  char want[100];
  snprintf(want, sizeof want, "part 2: header block over %d bytes (from byte %zu)",
           SBX_MP_HEADER_MAX, start2);
  parse(&r, "X", in, n);
  CHECK_EQ_INT(r.rc, SBX_EPROTO);
  if (!strstr(r.err, want)) fprintf(stderr, "  got \"%s\"\n", r.err);
  CHECK(strstr(r.err, want) != NULL);
  CHECK(r.log.n > 0 && memcmp(r.log.buf + r.log.n - 6, "b<end>", 6) == 0);
  size_t cuts[3] = {start2 - 1, start2 + 100, start2 + SBX_MP_HEADER_MAX};
  struct result t = {0};
  parse_cut(&t, "X", in, n, cuts, 3);
  CHECK(same(&r, &t));
  free(r.log.buf);
  free(t.log.buf);
  free(in);
}

static void truncated(void) {
  static const char *cut_off[] = {
      "--X\r\n\r\nsome data",
      "--X\r\n\r\nsome data\r\n--X",
      "--X\r\n\r\nsome data\r\n--X-",
      "--X\r\n\r\nsome data\r\n--X\r",
      "--X\r\n\r\nsome data\r\n--X\r\n",
      "--X\r\nContent-Type: a",
      "--X\r\n\r\na\r\n--X\r\n\r\n",
  };
  static const char *wants[] = {
      "body ends in part 0 at byte 16, with no closing delimiter",
      "body ends in part 0 at byte 21",
      "body ends in part 0 at byte 22",
      "body ends in part 0 at byte 22",
      "body ends in part 1's header block at byte 23",
      "body ends in part 0's header block at byte 20",
      "body ends in part 1 at byte 17",
  };
  for (size_t i = 0; i < sizeof cut_off / sizeof *cut_off; i++)
    expect_error("X", cut_off[i], strlen(cut_off[i]), wants[i]);
}

static void no_opening_delimiter(void) {
  static const char html[] = "<html><body>502 Bad Gateway</body></html>\r\n";
  expect_error("X", html, sizeof html - 1, "no opening delimiter \"--X\" in 43 bytes");
  static const char lookalike[] = "--Xjunk\r\n--X-\r\n --X\r\n";
  expect_error("X", lookalike, sizeof lookalike - 1, "no opening delimiter");
  expect_error("X", "", 0, "no opening delimiter \"--X\" in 0 bytes");
  /* garbage, then a real delimiter on its own line: a preamble */
  static const char late[] = "junk--X\r\n--X\r\n\r\nd\r\n--X--";
  expect_parts("X", late, sizeof late - 1, "<begin 0 name=(none) file=(none) type=(none)>d<end>");
  /* an empty preamble: the CRLF before the first delimiter is its own */
  static const char crlf[] = "\r\n--X\r\n\r\nd\r\n--X--";
  expect_parts("X", crlf, sizeof crlf - 1, "<begin 0 name=(none) file=(none) type=(none)>d<end>");
}

static void stop_values(void) {
  size_t len;
  char *b = make_body(&len);
  for (int kind = 1; kind <= 3; kind++) {
    struct sbx_mp m;
    struct log l = {0};
    l.stop_kind = kind;
    l.stop_rc = 40 + kind;
    REQUIRE(sbx_mp_init(&m, B, &cbs, &l, NULL) == 0);
    char err[200] = "";
    CHECK_EQ_INT(sbx_mp_feed(&m, b, len, err, sizeof err), 40 + kind);
    /* final: later feeds and finish say so */
    CHECK_EQ_INT(sbx_mp_feed(&m, b, len, err, sizeof err), 40 + kind);
    CHECK(strstr(err, "already failed or stopped") != NULL);
    CHECK_EQ_INT(sbx_mp_finish(&m, err, sizeof err), 40 + kind);
    if (kind == 1) CHECK_EQ_INT(l.data, 0);
    if (kind == 3) CHECK(l.n > 5 && memcmp(l.buf + l.n - 10, "hello<end>", 10) == 0);
    sbx_mp_release(&m);
    free(l.buf);
  }
  free(b);
}

/* Data goes out as it comes: at most a delimiter line is ever held back. */
static void streaming(void) {
  char *in = malloc(40000);
  REQUIRE(in);
  size_t n = (size_t)sprintf(in, "--" B "\r\n\r\n"), start = n;
  unsigned seed = 99;
  while (n < 39000) {
    seed = seed * 1103515245u + 12345u;
    /* look-alikes that can never join into a delimiter line */
    static const char *bits[] = {"\r\n--" B "z",   "\r\n--8f3",      "\r", "\n", "abc",
                                 "\r\n--" B "\rz", "\r\n--" B " \tz"};
    const char *s = bits[(seed >> 16) % 7];
    memcpy(in + n, s, strlen(s));
    n += strlen(s);
  }
  size_t data_len = n - start;
  n += (size_t)sprintf(in + n, "\r\n--" B "--");
  struct sbx_mp m;
  struct log l = {0};
  REQUIRE(sbx_mp_init(&m, B, &cbs, &l, NULL) == 0);
  size_t max_lag = 0;
  for (size_t at = 0; at < n; at += 5) {
    size_t k = n - at < 5 ? n - at : 5;
    REQUIRE(sbx_mp_feed(&m, in + at, k, NULL, 0) == 0);
    size_t fed = at + k > start ? at + k - start : 0;
    if (fed > data_len) fed = data_len;
    if (fed > l.data && fed - l.data > max_lag) max_lag = fed - l.data;
  }
  CHECK_EQ_INT(sbx_mp_finish(&m, NULL, 0), 0);
  CHECK_EQ_INT(l.data, data_len);
  CHECK(max_lag <= SBX_MP_LOOK_MAX);
  CHECK(max_lag >= 4 + strlen(B)); /* look-alikes were held, then let go */
  sbx_mp_release(&m);
  free(l.buf);
  free(in);
}

static void init_checks(void) {
  struct sbx_mp m;
  CHECK_EQ_INT(sbx_mp_init(&m, "", &cbs, NULL, NULL), SBX_EINVAL);
  CHECK_EQ_INT(sbx_mp_init(&m, NULL, &cbs, NULL, NULL), SBX_EINVAL);
  CHECK_EQ_INT(sbx_mp_init(&m, "a\rb", &cbs, NULL, NULL), SBX_EINVAL);
  char b71[72];
  memset(b71, 'q', 71);
  b71[71] = 0;
  CHECK_EQ_INT(sbx_mp_init(&m, b71, &cbs, NULL, NULL), SBX_EINVAL);
  b71[70] = 0;
  CHECK_EQ_INT(sbx_mp_init(&m, b71, &cbs, NULL, NULL), 0);
  sbx_mp_release(&m);
  /* no callbacks at all, and finish twice */
  CHECK_EQ_INT(sbx_mp_init(&m, "X", NULL, NULL, NULL), 0);
  static const char in[] = "--X\r\nA: b\r\n\r\ndata\r\n--X--\r\n";
  CHECK_EQ_INT(sbx_mp_feed(&m, in, sizeof in - 1, NULL, 0), 0);
  CHECK_EQ_INT(sbx_mp_finish(&m, NULL, 0), 0);
  CHECK_EQ_INT(sbx_mp_finish(&m, NULL, 0), 0);
  sbx_mp_release(&m);
  sbx_mp_release(&m);
}

static void garbage(void) {
  static const char alphabet[] = "\r\n-XY: ;=\"\\a";
  char buf[2000];
  unsigned seed = 4242;
  for (int round = 0; round < 400; round++) {
    for (size_t i = 0; i < sizeof buf; i++) {
      seed = seed * 1103515245u + 12345u;
      buf[i] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
    }
    if (round % 2) memcpy(buf, "--X\r\n", 5);
    size_t cuts[3] = {(size_t)round % 11 + 1, 900, 901 + (size_t)round};
    struct result r = {0};
    parse_cut(&r, "X", buf, sizeof buf, cuts, 3);
    CHECK(r.rc == 0 || r.rc == SBX_EPROTO);
    CHECK_EQ_INT(r.log.empty, 0);
    CHECK(r.log.data <= sizeof buf);
    free(r.log.buf);
  }
}

int main(int argc, char **argv) {
  static const struct test_case cases[] = {
      {"daytona_body", daytona_body},
      {"every_split_point", every_split_point},
      {"lookalikes_are_data", lookalikes_are_data},
      {"boundary_param", boundary_param},
      {"quoted_boundary", quoted_boundary},
      {"empty_parts", empty_parts},
      {"disposition_params", disposition_params},
      {"bad_headers", bad_headers},
      {"header_block_too_big", header_block_too_big},
      {"truncated", truncated},
      {"no_opening_delimiter", no_opening_delimiter},
      {"stop_values", stop_values},
      {"streaming", streaming},
      {"init_checks", init_checks},
      {"garbage", garbage},
      {NULL, NULL},
  };
  return test_main("multipart", cases, argc, argv, 120);
}
