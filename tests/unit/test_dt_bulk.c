/* test_dt_bulk.c - Daytona's bulk-download reply matched to the requested
 * paths: bytes per path (binary, CRLF, delimiter look-alikes), error parts
 * and their statuses, parts out of order and for a path asked twice, a file
 * the caller gives up on, and each fatal case (a part for a path not asked
 * for, a missing boundary, a body cut off); every split point of the body. */
#include "../../include/sbx.h"
#include "../../protocol/dt_bulk.h"
#include "testlib.h"

#include <stdarg.h>

#define B "DAYTONA-FILE-BOUNDARY"
#define CT "multipart/form-data; boundary=" B

/* A transcript: "[i]" before each piece of path i's bytes, then the bytes;
 * "<end i ok>" or "<end i STATUS message>". */
struct log {
  char *buf;
  size_t n, cap;
  int empty;       /* empty data pieces (must stay 0) */
  long give_up_at; /* >= 0: path 1's bytes are not logged, and its data
                      callback fails once more than this many came */
  size_t got1;
  size_t last; /* the path of the last piece logged, -1 after anything else */
};

static void add(struct log *l, const char *p, size_t n) {
  if (l->n + n + 1 > l->cap) {
    l->cap = (l->n + n) * 2 + 64;
    l->buf = realloc(l->buf, l->cap);
    REQUIRE(l->buf);
  }
  memcpy(l->buf + l->n, p, n);
  l->n += n;
  l->buf[l->n] = 0;
}

static void addf(struct log *l, const char *fmt, ...) {
  char tmp[600];
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  REQUIRE(k >= 0 && (size_t)k < sizeof tmp);
  add(l, tmp, (size_t)k);
}

/* Consecutive pieces of one path are merged so that every split gives the
 * same transcript. */
static int on_data(void *ud, size_t i, const char *data, size_t len) {
  struct log *l = ud;
  if (!len) l->empty++;
  if (i == 1 && l->give_up_at >= 0) {
    l->got1 += len;
    if (l->got1 <= (size_t)l->give_up_at) return 0;
    addf(l, "<gave up 1>");
    l->last = (size_t)-1;
    return 1;
  }
  if (l->last != i) addf(l, "[%zu]", i);
  l->last = i;
  add(l, data, len);
  return 0;
}

static void on_end(void *ud, size_t i, const struct sbx_errinfo *e) {
  struct log *l = ud;
  l->last = (size_t)-1;
  if (!e)
    addf(l, "<end %zu ok>", i);
  else
    addf(l, "<end %zu %s %s>", i, sbx_status_name(e->status), e->message);
}

static const struct sbx_dtb_callbacks cbs = {on_data, on_end};

struct result {
  struct log log;
  int rc; /* init's, the first failing feed's, else finish's */
  char err[300];
};

static void parse_cut(struct result *r, const char *ctype, const char *const *paths, size_t n,
                      const char *body, size_t len, const size_t *cuts, size_t ncuts,
                      long give_up_at) {
  free(r->log.buf);
  memset(r, 0, sizeof *r);
  r->log.give_up_at = give_up_at;
  r->log.last = (size_t)-1;
  struct sbx_dtb d;
  struct sbx_errinfo e;
  sbx_errinfo_clear(&e);
  r->rc = sbx_dtb_init(&d, ctype, paths, n, "sb1", &cbs, &r->log, NULL, &e);
  size_t at = 0;
  for (size_t i = 0; i <= ncuts && !r->rc; i++) {
    size_t end = i < ncuts ? cuts[i] : len;
    r->rc = sbx_dtb_feed(&d, body + at, end - at, &e);
    at = end;
  }
  if (!r->rc) r->rc = sbx_dtb_finish(&d, &e);
  if (r->rc) snprintf(r->err, sizeof r->err, "%s", e.message);
  sbx_dtb_release(&d);
  if (!r->log.buf) add(&r->log, "", 0);
}

static void parse(struct result *r, const char *const *paths, size_t n, const char *body,
                  size_t len) {
  parse_cut(r, CT, paths, n, body, len, NULL, 0, -1);
}

static int same(const struct result *a, const struct result *b) {
  return a->rc == b->rc && a->log.n == b->log.n && memcmp(a->log.buf, b->log.buf, a->log.n) == 0 &&
         strcmp(a->err, b->err) == 0 && b->log.empty == 0;
}

/* The same transcript byte by byte and at every single cut. */
static void check_all_cuts(const char *const *paths, size_t n, const char *body, size_t len,
                           long give_up_at) {
  struct result w = {0}, t = {0};
  parse_cut(&w, CT, paths, n, body, len, NULL, 0, give_up_at);
  size_t *cuts = malloc((len + 1) * sizeof *cuts);
  REQUIRE(cuts);
  for (size_t i = 0; i + 1 < len; i++)
    cuts[i] = i + 1;
  parse_cut(&t, CT, paths, n, body, len, cuts, len ? len - 1 : 0, give_up_at);
  if (!same(&w, &t)) fprintf(stderr, "  byte by byte differs:\n  %s\n  %s\n", w.log.buf, t.log.buf);
  CHECK(same(&w, &t));
  int bad = 0;
  for (size_t a = 1; a < len && bad < 5; a++) {
    parse_cut(&t, CT, paths, n, body, len, &a, 1, give_up_at);
    if (!same(&w, &t)) fprintf(stderr, "  cut at %zu differs\n", a), bad++;
  }
  CHECK_EQ_INT(bad, 0);
  free(cuts);
  free(w.log.buf);
  free(t.log.buf);
}

static void expect(const struct result *r, int rc, const char *log) {
  CHECK_EQ_INT(r->rc, rc);
  if (strcmp(r->log.buf, log) != 0) fprintf(stderr, "  got  %s\n  want %s\n", r->log.buf, log);
  CHECK(strcmp(r->log.buf, log) == 0);
}

/* Binary bytes: NUL, CR, LF and delimiter look-alikes. */
static const char bin[] = "\x00\x01\r\n\r\r\n--\r\n--" B "x\r\n--DAYTONA\r\n\xff\r";

#define FILE_PART(path)                                                                            \
  "--" B "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" path "\"\r\n\r\n"
#define ERROR_PART(path, json)                                                                     \
  "--" B "\r\nContent-Disposition: form-data; name=\"error\"; filename=\"" path                    \
  "\"\r\nContent-Type: application/json; charset=utf-8\r\n\r\n" json "\r\n"
#define CLOSE "--" B "--\r\n"

static const char *const three[] = {"/home/daytona/a.txt", "/tmp/bin", "/tmp/missing"};

/* The body of the three paths with bin in the middle; its length in *len. */
static char *three_body(size_t *len) {
  static const char head[] = FILE_PART("/home/daytona/a.txt") "hello\r\n" FILE_PART("/tmp/bin");
  static const char tail[] =
      "\r\n" ERROR_PART("/tmp/missing", "{\"statusCode\":404,\"message\":\"file not found: "
                                        "/tmp/missing\",\"code\":\"FILE_NOT_FOUND\"}") CLOSE;
  size_t nh = sizeof head - 1, nb = sizeof bin - 1, nt = sizeof tail - 1;
  char *b = malloc(nh + nb + nt);
  REQUIRE(b);
  memcpy(b, head, nh);
  memcpy(b + nh, bin, nb);
  memcpy(b + nh + nb, tail, nt);
  *len = nh + nb + nt;
  return b;
}

static void in_order(void) {
  size_t len;
  char *body = three_body(&len);
  struct result r = {0};
  parse(&r, three, 3, body, len);
  CHECK_EQ_INT(r.rc, 0);
  struct log want = {0};
  addf(&want, "[0]hello<end 0 ok>[1]");
  add(&want, bin, sizeof bin - 1);
  addf(&want, "<end 1 ok><end 2 SBX_ENOTFOUND daytona: download /tmp/missing from sandbox sb1: "
              "404: file not found: /tmp/missing>");
  CHECK(r.log.n == want.n && memcmp(r.log.buf, want.buf, want.n) == 0);
  check_all_cuts(three, 3, body, len, -1);
  free(want.buf);
  free(r.log.buf);
  free(body);
}

/* The caller gives up on path 1 (over its cap): no end for it, the rest goes on. */
static void give_up(void) {
  size_t len;
  char *body = three_body(&len);
  struct result r = {0};
  parse_cut(&r, CT, three, 3, body, len, NULL, 0, 4);
  CHECK_EQ_INT(r.rc, 0);
  CHECK(strstr(r.log.buf, "<end 1") == NULL);
  CHECK(strncmp(r.log.buf, "[0]hello<end 0 ok><gave up 1><end 2 SBX_ENOTFOUND", 49) == 0);
  check_all_cuts(three, 3, body, len, 4);
  free(r.log.buf);
  free(body);
}

static void out_of_order_and_twice(void) {
  static const char *const paths[] = {"/a", "/b", "/a", "/dir/\"q\" x"};
  static const char body[] = FILE_PART("/b") "B\r\n" FILE_PART("/a") "A1\r\n" FILE_PART(
      "/dir/\\\"q\\\" x") "Q\r\n" FILE_PART("/a") "A2\r\n" CLOSE;
  struct result r = {0};
  parse(&r, paths, 4, body, sizeof body - 1);
  expect(&r, 0, "[1]B<end 1 ok>[0]A1<end 0 ok>[3]Q<end 3 ok>[2]A2<end 2 ok>");
  check_all_cuts(paths, 4, body, sizeof body - 1, -1);
  free(r.log.buf);
}

static void empty_file_and_statuses(void) {
  static const char *const paths[] = {"/e", "/d", "/x", "/y"};
  static const char body[] =
      FILE_PART("/e") "\r\n" ERROR_PART("/d", "{\"statusCode\":400,\"message\":\"is a directory\"}")
          ERROR_PART("/x", "{\"statusCode\":403,\"message\":\"denied\",\"code\":"
                           "\"FILE_ACCESS_DENIED\"}") ERROR_PART("/y", "not json") CLOSE;
  struct result r = {0};
  parse(&r, paths, 4, body, sizeof body - 1);
  CHECK_EQ_INT(r.rc, 0);
  CHECK(strstr(r.log.buf, "<end 0 ok>") == r.log.buf);
  CHECK(strstr(r.log.buf, "<end 1 SBX_EINVAL daytona: download /d from sandbox sb1: 400: is a "
                          "directory>") != NULL);
  CHECK(strstr(r.log.buf, "<end 2 SBX_EAUTH ") != NULL);
  CHECK(strstr(r.log.buf, "<end 3 SBX_EPROVIDER ") != NULL);
  check_all_cuts(paths, 4, body, sizeof body - 1, -1);
  free(r.log.buf);
}

/* An error body over SBX_DTB_ERROR_MAX is cut, not a failure. */
static void long_error(void) {
  static const char *const paths[] = {"/l"};
  size_t pad = 3 * SBX_DTB_ERROR_MAX;
  char *body = malloc(pad + 400);
  REQUIRE(body);
  int k = snprintf(body, 400,
                   "--" B "\r\nContent-Disposition: form-data; name=\"error\"; "
                   "filename=\"/l\"\r\n\r\n{\"statusCode\":404,\"message\":\"");
  memset(body + k, 'x', pad);
  k += (int)pad;
  k += snprintf(body + k, 400, "\"}\r\n" CLOSE);
  struct result r = {0};
  parse(&r, paths, 1, body, (size_t)k);
  CHECK_EQ_INT(r.rc, 0);
  CHECK(strstr(r.log.buf, "<end 0 SBX_ENOTFOUND daytona: download /l from sandbox sb1: 404") ==
        r.log.buf);
  free(r.log.buf);
  free(body);
}

/* A file holding the fixed delimiter line (here a forged close) ends its
 * part early: its Content-Length gives it away, and the paths after it get
 * no part. */
static void content_length(void) {
  static const char *const paths[] = {"/ok", "/evil", "/after"};
  static const char body[] =
      "--" B "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"/ok\"\r\n"
      "Content-Length: 2\r\n\r\nOK\r\n"
      "--" B "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"/evil\"\r\n"
      "Content-Length: 36\r\n\r\nx\r\n--" B "--\r\ny\r\n"
      "--" B "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"/after\"\r\n"
      "\r\nA\r\n" CLOSE;
  struct result r = {0};
  parse(&r, paths, 3, body, sizeof body - 1);
  expect(&r, 0,
         "[0]OK<end 0 ok>[1]x<end 1 SBX_EPROTO daytona: download /evil from sandbox sb1: its part "
         "has 1 bytes, its Content-Length says 36 (does the file hold the reply's boundary "
         "line?)><end 2 SBX_EPROTO daytona: download /after from sandbox sb1: the reply has no "
         "part for it>");
  check_all_cuts(paths, 3, body, sizeof body - 1, -1);
  free(r.log.buf);
}

static void missing_part(void) {
  static const char *const paths[] = {"/a", "/gone", "/c"};
  static const char body[] = FILE_PART("/a") "A\r\n" FILE_PART("/c") "C\r\n" CLOSE;
  struct result r = {0};
  parse(&r, paths, 3, body, sizeof body - 1);
  expect(&r, 0,
         "[0]A<end 0 ok>[2]C<end 2 ok><end 1 SBX_EPROTO daytona: download /gone from sandbox sb1: "
         "the reply has no part for it>");
  free(r.log.buf);
}

static void not_asked_for(void) {
  static const char *const paths[] = {"/a", "/b"};
  static const char body[] = FILE_PART("/a") "A\r\n" FILE_PART("/etc/passwd") "root\r\n" CLOSE;
  struct result r = {0};
  parse(&r, paths, 2, body, sizeof body - 1);
  expect(&r, SBX_EPROTO, "[0]A<end 0 ok>");
  CHECK_EQ_STR(r.err, "daytona: bulk download from sandbox sb1: part 1 is for \"/etc/passwd\", "
                      "which was not asked for");
  static const char twice[] = FILE_PART("/a") "A\r\n" FILE_PART("/a") "A\r\n" CLOSE;
  parse(&r, paths, 2, twice, sizeof twice - 1);
  expect(&r, SBX_EPROTO, "[0]A<end 0 ok>");
  CHECK(strstr(r.err, "part 1 is for \"/a\", which already had its part") != NULL);
  check_all_cuts(paths, 2, body, sizeof body - 1, -1);
  free(r.log.buf);
}

static void bad_parts(void) {
  static const char *const paths[] = {"/a"};
  static const char other[] =
      "--" B
      "\r\nContent-Disposition: form-data; name=\"files[0]\"; filename=\"/a\"\r\n\r\nA\r\n" CLOSE;
  struct result r = {0};
  parse(&r, paths, 1, other, sizeof other - 1);
  expect(&r, SBX_EPROTO, "");
  CHECK(strstr(r.err, "part 0 is named \"files[0]\", not file or error") != NULL);
  static const char nofile[] =
      "--" B "\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nA\r\n" CLOSE;
  parse(&r, paths, 1, nofile, sizeof nofile - 1);
  expect(&r, SBX_EPROTO, "");
  CHECK(strstr(r.err, "part 0 (file) has no filename") != NULL);
  free(r.log.buf);
}

/* Cut off mid-file (the daemon does this when a read fails): fatal, with the
 * parser's reason; the file being written gets no end. */
static void truncated(void) {
  static const char *const paths[] = {"/a", "/b"};
  static const char body[] = FILE_PART("/a") "A\r\n" FILE_PART("/b") "half of it";
  struct result r = {0};
  parse(&r, paths, 2, body, sizeof body - 1);
  expect(&r, SBX_EPROTO, "[0]A<end 0 ok>[1]half of it");
  CHECK(strstr(r.err, "daytona: bulk download from sandbox sb1: multipart: body ends in part 1") ==
        r.err);
  CHECK(strstr(r.err, "no closing delimiter") != NULL);
  parse(&r, paths, 2, "", 0);
  expect(&r, SBX_EPROTO, "");
  CHECK(strstr(r.err, "no opening delimiter") != NULL);
  free(r.log.buf);
}

static void bad_content_type(void) {
  static const char *const paths[] = {"/a"};
  static const char body[] = FILE_PART("/a") "A\r\n" CLOSE;
  struct result r = {0};
  parse_cut(&r, "application/json", paths, 1, body, sizeof body - 1, NULL, 0, -1);
  expect(&r, SBX_EPROTO, "");
  CHECK_EQ_STR(r.err, "daytona: bulk download from sandbox sb1: reply multipart: Content-Type "
                      "\"application/json\" is not multipart");
  parse_cut(&r, NULL, paths, 1, body, sizeof body - 1, NULL, 0, -1);
  CHECK_EQ_INT(r.rc, SBX_EPROTO);
  parse_cut(&r, "multipart/form-data", paths, 1, body, sizeof body - 1, NULL, 0, -1);
  CHECK_EQ_INT(r.rc, SBX_EPROTO);
  CHECK(strstr(r.err, "no boundary") != NULL);
  /* a boundary other than the body's: no opening delimiter */
  parse_cut(&r, "multipart/form-data; boundary=\"other\"", paths, 1, body, sizeof body - 1, NULL, 0,
            -1);
  expect(&r, SBX_EPROTO, "");
  CHECK(strstr(r.err, "no opening delimiter \"--other\"") != NULL);
  free(r.log.buf);
}

static const struct test_case cases[] = {
    {"in_order", in_order},
    {"give_up", give_up},
    {"out_of_order_and_twice", out_of_order_and_twice},
    {"empty_file_and_statuses", empty_file_and_statuses},
    {"long_error", long_error},
    {"content_length", content_length},
    {"missing_part", missing_part},
    {"not_asked_for", not_asked_for},
    {"bad_parts", bad_parts},
    {"truncated", truncated},
    {"bad_content_type", bad_content_type},
    {NULL, NULL},
};

int main(int argc, char **argv) {
  return test_main("dt_bulk", cases, argc, argv, 120);
}
