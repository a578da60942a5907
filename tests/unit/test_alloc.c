/* test_alloc.c - the allocator wrappers (protocol/alloc.h), the string
 * builder, and every protocol parser that allocates, each run with a hook
 * allocator failing its Nth allocation in turn: the failure is reported as
 * SBX_ENOMEM and every block is given back. */
#include <stdint.h>

#include "../../protocol/alloc.h"
#include "../../protocol/connect.h"
#include "../../protocol/json_util.h"
#include "../../protocol/multipart.h"
#include "../../protocol/strbuf.h"
#include "../../protocol/ws_reader.h"
#include "failmalloc.h"
#include "testlib.h"

static void clean(const struct failmalloc *fm) {
  CHECK_EQ_INT(fm->live, 0);
  CHECK_EQ_INT(fm->bad_frees, 0);
  CHECK_EQ_INT(fm->zero_size, 0);
}

static void test_wrappers(void) {
  struct failmalloc fm;
  fm_reset(&fm, 0, 0);
  sbx_allocator a = fm_allocator(&fm);
  /* 0 bytes is asked as 1; calloc checks n * size itself. */
  void *p = sbx__malloc(&a, 0);
  REQUIRE(p);
  CHECK(sbx__calloc(&a, SIZE_MAX / 2, 4) == NULL);
  CHECK_EQ_INT(fm.calls, 1); /* the overflow never reached the hook */
  unsigned char *z = sbx__calloc(&a, 10, 10);
  REQUIRE(z);
  int zero = 1;
  for (int i = 0; i < 100; i++)
    zero &= z[i] == 0;
  CHECK(zero);
  p = sbx__realloc(&a, p, 0); /* size 0 is asked as 1 too */
  REQUIRE(p);
  char *s = sbx__strndup(&a, "abcdef", 3);
  CHECK_EQ_STR(s, "abc");
  char *f = sbx__asprintf(&a, "%s-%d", "x", 42);
  CHECK_EQ_STR(f, "x-42");
  sbx__free(&a, NULL); /* a no-op: never handed to the hook */
  sbx__free(&a, p);
  sbx__free(&a, z);
  sbx__free(&a, s);
  sbx__free(&a, f);
  clean(&fm);
  /* A failing realloc leaves the block as it was. */
  fm_reset(&fm, 2, 0);
  char *b = sbx__strdup(&a, "keep");
  REQUIRE(b);
  CHECK(sbx__realloc(&a, b, 1000) == NULL);
  CHECK_EQ_STR(b, "keep");
  sbx__free(&a, b);
  clean(&fm);
  /* No hooks set: libc's. */
  sbx_allocator none = {0};
  char *l = sbx__strdup(&none, "libc");
  CHECK_EQ_STR(l, "libc");
  sbx__free(&none, l);
  l = sbx__strdup(NULL, "libc");
  CHECK_EQ_STR(l, "libc");
  sbx__free(NULL, l);
}

/* Build a string that needs several growths. */
static char *build(const sbx_allocator *a, size_t *len) {
  struct sbx_str s;
  sbx_str_init(&s, a);
  for (int i = 0; i < 50; i++)
    sbx_str_addf(&s, "item %d;", i);
  sbx_str_url_encode(&s, "a b/c?d=é");
  sbx_str_adds(&s, "|");
  return sbx_str_take(&s, len);
}

static void test_strbuf_every_failure(void) {
  struct failmalloc fm;
  fm_reset(&fm, 0, 0);
  sbx_allocator a = fm_allocator(&fm);
  size_t len = 0;
  char *want = build(&a, &len);
  REQUIRE(want);
  CHECK(strstr(want, "item 49;a%20b%2Fc%3Fd%3D%C3%A9|") != NULL);
  CHECK_EQ_INT(len, strlen(want));
  long calls = fm.calls;
  CHECK(calls > 2);
  for (long n = 1; n <= calls; n++) {
    struct failmalloc f2;
    fm_reset(&f2, n, 0);
    sbx_allocator a2 = fm_allocator(&f2);
    size_t l2 = 7;
    char *got = build(&a2, &l2);
    CHECK(got == NULL); /* one lost append loses the string */
    CHECK_EQ_INT(l2, 0);
    clean(&f2);
  }
  sbx__free(&a, want);
  clean(&fm);
  /* An empty builder gives "". */
  struct sbx_str s;
  sbx_str_init(&s, &a);
  char *e = sbx_str_take(&s, &len);
  CHECK_EQ_STR(e, "");
  sbx__free(&a, e);
  clean(&fm);
}

static void test_json_dump_every_failure(void) {
  json_t *o = json_pack("{s:s, s:[i,i,i], s:{s:s}}", "name", "a long enough value to grow twice",
                        "list", 1, 2, 3, "nested", "k", "v");
  REQUIRE(o);
  for (long n = 1;; n++) {
    struct failmalloc fm;
    fm_reset(&fm, n, 0);
    sbx_allocator a = fm_allocator(&fm);
    size_t len = 9;
    char *s = sbx_json_dump(&a, o, &len);
    if (!fm.failed) { /* past the last allocation: it worked */
      REQUIRE(s);
      CHECK_EQ_INT(len, strlen(s));
      CHECK(n > 1);
      sbx__free(&a, s);
      clean(&fm);
      break;
    }
    CHECK(s == NULL);
    CHECK_EQ_INT(len, 0);
    clean(&fm);
  }
  json_decref(o);
}

static int on_msg(void *ud, unsigned flags, const char *payload, size_t len) {
  (*(int *)ud)++;
  return 0;
}

/* A message split across feeds is buffered: that buffer's failure. */
static void test_connect_split_message(void) {
  unsigned char msg[5 + 600];
  sbx_connect_encode_prefix(0, 600, msg);
  memset(msg + 5, 'x', 600);
  for (long n = 1;; n++) {
    struct failmalloc fm;
    fm_reset(&fm, n, 0);
    sbx_allocator a = fm_allocator(&fm);
    struct sbx_connect_decoder d;
    struct sbx_errinfo err;
    sbx_errinfo_clear(&err);
    sbx_connect_decoder_init(&d, 1024, &a);
    int got = 0, rc = 0;
    for (size_t off = 0; off < sizeof msg && !rc; off += 100) {
      size_t k = sizeof msg - off < 100 ? sizeof msg - off : 100;
      rc = sbx_connect_decoder_feed(&d, (const char *)msg + off, k, on_msg, &got, &err);
    }
    sbx_connect_decoder_free(&d);
    clean(&fm);
    if (!fm.failed) {
      CHECK_EQ_INT(rc, 0);
      CHECK_EQ_INT(got, 1);
      CHECK(n > 1);
      break;
    }
    CHECK_EQ_INT(rc, SBX_ENOMEM);
    CHECK_EQ_INT(err.status, SBX_ENOMEM);
    CHECK_EQ_INT(got, 0);
  }
}

static int mp_begin(void *ud, const struct sbx_mp_part *p) {
  return 0;
}

static int mp_data(void *ud, const char *d, size_t n) {
  return 0;
}

static int mp_end(void *ud) {
  (*(int *)ud)++;
  return 0;
}

/* Part headers are collected in a buffer: its failure. */
static void test_multipart_headers(void) {
  static const struct sbx_mp_callbacks cbs = {mp_begin, mp_data, mp_end};
  char body[2048];
  char pad[700];
  memset(pad, 'h', sizeof pad - 1);
  pad[sizeof pad - 1] = 0;
  int blen =
      snprintf(body, sizeof body,
               "--B\r\nContent-Type: text/plain\r\nX-Pad: %s\r\n\r\nhello\r\n--B--\r\n", pad);
  for (long n = 1;; n++) {
    struct failmalloc fm;
    fm_reset(&fm, n, 0);
    sbx_allocator a = fm_allocator(&fm);
    struct sbx_mp m;
    int parts = 0;
    char why[200] = "";
    REQUIRE(sbx_mp_init(&m, "B", &cbs, &parts, &a) == 0);
    int rc = sbx_mp_feed(&m, body, (size_t)blen, why, sizeof why);
    if (!rc) rc = sbx_mp_finish(&m, why, sizeof why);
    sbx_mp_release(&m);
    clean(&fm);
    if (!fm.failed) {
      CHECK_EQ_INT(rc, 0);
      CHECK_EQ_INT(parts, 1);
      CHECK(n > 1);
      break;
    }
    CHECK_EQ_INT(rc, SBX_ENOMEM);
    CHECK(strstr(why, "out of memory") != NULL);
  }
}

static void test_ws_reader_new(void) {
  struct failmalloc fm;
  fm_reset(&fm, 1, 0);
  sbx_allocator a = fm_allocator(&fm);
  CHECK(sbx_ws_reader_new(&a) == NULL);
  clean(&fm);
  fm_reset(&fm, 0, 0);
  struct sbx_ws_reader *r = sbx_ws_reader_new(&a);
  REQUIRE(r);
  CHECK_EQ_INT(fm.live, 1);
  sbx_ws_reader_free(r);
  clean(&fm);
}

int main(int argc, char **argv) {
  static const struct test_case cases[] = {
      {"wrappers", test_wrappers},
      {"strbuf_every_failure", test_strbuf_every_failure},
      {"json_dump_every_failure", test_json_dump_every_failure},
      {"connect_split_message", test_connect_split_message},
      {"multipart_headers", test_multipart_headers},
      {"ws_reader_new", test_ws_reader_new},
      {NULL, NULL}};
  return test_main("test_alloc", cases, argc, argv, 60);
}
