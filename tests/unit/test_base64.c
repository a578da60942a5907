/* test_base64.c - RFC 4648 vectors, both alphabets, padding rules, garbage. */
#include "../../protocol/base64.h"
#include "testlib.h"

/* Decode s (its strlen) into an exactly-sized heap buffer, so ASan sees any
 * write past the documented bound. Returns the length, result in *out. */
static long dec(const char *s, unsigned char **out) {
  size_t n = strlen(s);
  *out = malloc((n / 4 + 1) * 3);
  REQUIRE(*out);
  return sbx_base64_decode(s, n, *out);
}

static void check_dec(const char *in, const char *want) {
  unsigned char *out;
  long n = dec(in, &out);
  CHECK_EQ_INT(n, (long)strlen(want));
  if (n == (long)strlen(want)) CHECK(memcmp(out, want, (size_t)n) == 0);
  free(out);
}

static void check_bad(const char *in) {
  unsigned char *out;
  long n = dec(in, &out);
  if (n != -1) fprintf(stderr, "  accepted bad input \"%s\"\n", in);
  CHECK_EQ_INT(n, -1);
  free(out);
}

static void test_encoded_len(void) {
  CHECK_EQ_INT(sbx_base64_encoded_len(0), 0);
  CHECK_EQ_INT(sbx_base64_encoded_len(1), 4);
  CHECK_EQ_INT(sbx_base64_encoded_len(2), 4);
  CHECK_EQ_INT(sbx_base64_encoded_len(3), 4);
  CHECK_EQ_INT(sbx_base64_encoded_len(4), 8);
  CHECK_EQ_INT(sbx_base64_encoded_len(1000), 1336);
}

static void test_rfc4648_encode(void) {
  static const char *const vec[][2] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
    size_t n = strlen(vec[i][0]);
    char *out = malloc(sbx_base64_encoded_len(n) + 1); /* exact size */
    REQUIRE(out);
    CHECK_EQ_INT(sbx_base64_encode(vec[i][0], n, out), strlen(vec[i][1]));
    CHECK_EQ_STR(out, vec[i][1]);
    free(out);
  }
  char out[8];
  CHECK_EQ_INT(sbx_base64_encode("hi\n", 3, out), 4);
  CHECK_EQ_STR(out, "aGkK"); /* the stdout of `echo hi` in a process event */
  CHECK_EQ_INT(sbx_base64_encode("\xfb\xff", 2, out), 4);
  CHECK_EQ_STR(out, "+/8="); /* standard alphabet on output */
}

static void test_rfc4648_decode(void) {
  check_dec("", "");
  check_dec("Zg==", "f");
  check_dec("Zm8=", "fo");
  check_dec("Zm9v", "foo");
  check_dec("Zm9vYg==", "foob");
  check_dec("Zm9vYmE=", "fooba");
  check_dec("Zm9vYmFy", "foobar");
  check_dec("aGkK", "hi\n");
}

static void test_unpadded(void) {
  check_dec("Zg", "f");
  check_dec("Zm8", "fo");
  check_dec("Zm9vYg", "foob");
  check_dec("Zm9vYmE", "fooba");
}

static void test_url_alphabet(void) {
  check_dec("+/8=", "\xfb\xff");
  check_dec("-_8=", "\xfb\xff");
  check_dec("-_8", "\xfb\xff");
  check_dec("+/8", "\xfb\xff");
  check_dec("____", "\xff\xff\xff");
  check_dec("////", "\xff\xff\xff");
  check_dec("----", "\xfb\xef\xbe");
}

static void test_garbage(void) {
  check_bad("Zm9v!");
  check_bad("Zm 9v");
  check_bad("Zm9v\n");
  check_bad(" Zm9v");
  check_bad("Zm9v\t");
  check_bad("Zm.v");
  check_bad("\xc3\xa9\xc3\xa9");
  check_bad("+_8="); /* both alphabets in one value */
  check_bad("-/8=");
  check_bad("Z"); /* 6 bits can't make a byte */
  check_bad("Zm9vY");
  check_bad("Z===");
  check_bad("Zg="); /* partial padding */
  check_bad("Zg===");
  check_bad("Zm9v=");
  check_bad("Zm9v====");
  check_bad("====");
  check_bad("=");
  check_bad("==");
  check_bad("=Zg=");
  check_bad("Zg==Zg==");
  check_bad("Zg=a");
  check_bad("Zm8==");
  /* An embedded NUL inside n is garbage too. */
  unsigned char out[8];
  CHECK_EQ_INT(sbx_base64_decode("Zm\0v", 4, out), -1);
}

static void test_length_bounds_input(void) {
  /* Only n bytes are read; input needs no NUL. */
  char *in = malloc(6);
  REQUIRE(in);
  memcpy(in, "Zm9vYg", 6);
  unsigned char out[9];
  CHECK_EQ_INT(sbx_base64_decode(in, 4, out), 3);
  CHECK(memcmp(out, "foo", 3) == 0);
  CHECK_EQ_INT(sbx_base64_decode(in, 6, out), 4);
  CHECK(memcmp(out, "foob", 4) == 0);
  CHECK_EQ_INT(sbx_base64_decode(in, 0, out), 0);
  CHECK_EQ_INT(sbx_base64_decode(NULL, 0, out), 0);
  free(in);
}

static void test_roundtrip_all_lengths(void) {
  unsigned long seed = 7;
  for (size_t n = 0; n <= 300; n++) {
    unsigned char *src = malloc(n + 1);
    REQUIRE(src);
    for (size_t i = 0; i < n; i++) {
      seed = seed * 6364136223846793005UL + 1442695040888963407UL;
      src[i] = (unsigned char)(seed >> 40);
    }
    size_t elen = sbx_base64_encoded_len(n);
    char *enc = malloc(elen + 1);
    REQUIRE(enc);
    CHECK_EQ_INT(sbx_base64_encode(src, n, enc), elen);
    CHECK_EQ_INT(strlen(enc), elen);
    /* As sent; URL-safe; URL-safe without padding. */
    for (int form = 0; form < 3; form++) {
      char *s = strdup(enc);
      REQUIRE(s);
      if (form >= 1)
        for (char *p = s; *p; p++)
          *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
      if (form == 2)
        while (*s && s[strlen(s) - 1] == '=')
          s[strlen(s) - 1] = '\0';
      unsigned char *out;
      long got = dec(s, &out);
      CHECK_EQ_INT(got, (long)n);
      if (got == (long)n) CHECK(n == 0 || memcmp(out, src, n) == 0);
      free(out);
      free(s);
    }
    free(enc);
    free(src);
  }
}

int main(int argc, char **argv) {
  static const struct test_case cases[] = {
      {"encoded_len", test_encoded_len},
      {"rfc4648_encode", test_rfc4648_encode},
      {"rfc4648_decode", test_rfc4648_decode},
      {"unpadded", test_unpadded},
      {"url_alphabet", test_url_alphabet},
      {"garbage", test_garbage},
      {"length_bounds_input", test_length_bounds_input},
      {"roundtrip_all_lengths", test_roundtrip_all_lengths},
      {NULL, NULL},
  };
  return test_main("base64", cases, argc, argv, 60);
}
