/* test_json.c - the typed getters, load with a reason, compact dump. */
#include "../../protocol/json_util.h"
#include "testlib.h"

static json_t *load(const char *s) {
  char why[128];
  json_t *v = sbx_json_loadb(s, strlen(s), why, sizeof why);
  if (!v) fprintf(stderr, "  load failed: %s\n", why);
  REQUIRE(v);
  return v;
}

static void test_str(void) {
  json_t *o = load("{\"a\":\"x\",\"n\":1,\"e\":\"\",\"z\":null,\"u\":\"\\u00e9\"}");
  CHECK_EQ_STR(sbx_json_str(o, "a"), "x");
  CHECK_EQ_STR(sbx_json_str(o, "e"), "");
  CHECK_EQ_STR(sbx_json_str(o, "u"), "\xc3\xa9");
  CHECK(sbx_json_str(o, "n") == NULL);
  CHECK(sbx_json_str(o, "z") == NULL);
  CHECK(sbx_json_str(o, "missing") == NULL);
  CHECK(sbx_json_str(NULL, "a") == NULL);
  CHECK(sbx_json_str(o, NULL) == NULL);
  json_t *arr = load("[\"a\"]");
  CHECK(sbx_json_str(arr, "a") == NULL);
  json_decref(arr);
  json_decref(o);
}

static void test_int(void) {
  json_t *o = load("{\"i\":42,\"neg\":-7,\"r\":3.0,\"rf\":3.5,\"e\":1e3,\"s\":\"5\",\"b\":true,"
                   "\"big\":9223372036854775807,\"huge\":1e300,\"nan\":null}");
  CHECK_EQ_INT(sbx_json_int(o, "i", -1), 42);
  CHECK_EQ_INT(sbx_json_int(o, "neg", -1), -7);
  CHECK_EQ_INT(sbx_json_int(o, "r", -1), 3); /* integral real */
  CHECK_EQ_INT(sbx_json_int(o, "e", -1), 1000);
  CHECK_EQ_INT(sbx_json_int(o, "rf", -1), -1); /* fractional: not an integer */
  CHECK_EQ_INT(sbx_json_int(o, "huge", -1), -1);
  CHECK_EQ_INT(sbx_json_int(o, "s", -1), -1); /* strings only for int64 */
  CHECK_EQ_INT(sbx_json_int(o, "b", -1), -1);
  CHECK_EQ_INT(sbx_json_int(o, "nan", -1), -1);
  CHECK_EQ_INT(sbx_json_int(o, "missing", 99), 99);
  CHECK(sbx_json_int(o, "big", 0) == 9223372036854775807LL);
  CHECK_EQ_INT(sbx_json_int(NULL, "i", 5), 5);
  json_decref(o);
}

static void test_int64(void) {
  json_t *o =
      load("{\"n\":12,\"s\":\"1\",\"big\":\"9223372036854775807\","
           "\"min\":\"-9223372036854775808\",\"neg\":\"-3\",\"over\":\"9223372036854775808\","
           "\"sp\":\" 5\",\"tail\":\"5x\",\"plus\":\"+5\",\"empty\":\"\",\"dash\":\"-\","
           "\"hex\":\"0x10\",\"real\":\"1.5\",\"r\":2.0,\"b\":false,\"zero\":\"0\"}");
  CHECK(sbx_json_int64(o, "n", -1) == 12);
  CHECK(sbx_json_int64(o, "s", -1) == 1);
  CHECK(sbx_json_int64(o, "big", -1) == INT64_MAX);
  CHECK(sbx_json_int64(o, "min", -1) == INT64_MIN);
  CHECK(sbx_json_int64(o, "neg", -1) == -3);
  CHECK(sbx_json_int64(o, "zero", -1) == 0);
  CHECK(sbx_json_int64(o, "r", -1) == 2);
  const char *bad[] = {"over", "sp", "tail", "plus", "empty", "dash", "hex", "real", "b", "none"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (sbx_json_int64(o, bad[i], -77) != -77) fprintf(stderr, "  accepted %s\n", bad[i]);
    CHECK(sbx_json_int64(o, bad[i], -77) == -77);
  }
  json_decref(o);
}

static void test_bool(void) {
  json_t *o = load("{\"t\":true,\"f\":false,\"n\":1,\"s\":\"true\",\"z\":null}");
  CHECK_EQ_INT(sbx_json_bool(o, "t", 0), 1);
  CHECK_EQ_INT(sbx_json_bool(o, "f", 1), 0);
  CHECK_EQ_INT(sbx_json_bool(o, "n", -1), -1);
  CHECK_EQ_INT(sbx_json_bool(o, "s", -1), -1);
  CHECK_EQ_INT(sbx_json_bool(o, "z", -1), -1);
  CHECK_EQ_INT(sbx_json_bool(o, "missing", 7), 7);
  CHECK_EQ_INT(sbx_json_bool(NULL, "t", 3), 3);
  json_decref(o);
}

static void test_loadb(void) {
  char why[128];
  /* Length bounds the input. */
  json_t *v = sbx_json_loadb("{\"a\":1}xyz", 7, why, sizeof why);
  REQUIRE(v);
  CHECK_EQ_INT(sbx_json_int(v, "a", 0), 1);
  json_decref(v);
  /* Any top-level value. */
  v = sbx_json_loadb("42", 2, why, sizeof why);
  REQUIRE(v);
  CHECK(json_is_integer(v));
  json_decref(v);
  /* Errors carry a reason with a position. */
  why[0] = '\0';
  CHECK(sbx_json_loadb("{\"a\":", 5, why, sizeof why) == NULL);
  CHECK(strlen(why) > 0);
  CHECK(strstr(why, "line 1") != NULL);
  CHECK(sbx_json_loadb("", 0, why, sizeof why) == NULL);
  CHECK(strlen(why) > 0);
  CHECK(sbx_json_loadb(NULL, 0, why, sizeof why) == NULL);
  CHECK(sbx_json_loadb("{}}", 3, NULL, 0) == NULL);
  /* A tiny reason buffer is not overrun. */
  char small[4] = "zzz";
  CHECK(sbx_json_loadb("nope", 4, small, sizeof small) == NULL);
  CHECK(strlen(small) <= 3);
  /* Embedded NUL in the input is invalid, not a cut. */
  CHECK(sbx_json_loadb("{}\0{}", 5, why, sizeof why) == NULL);
}

static void test_dump(void) {
  json_t *o = load("{ \"b\" : [1, 2, {\"c\": \"d\"}],  \"a\": \"\\n\" }");
  size_t len = 0;
  char *s = sbx_json_dump(NULL, o, &len);
  REQUIRE(s);
  CHECK_EQ_STR(s, "{\"b\":[1,2,{\"c\":\"d\"}],\"a\":\"\\n\"}");
  CHECK_EQ_INT(len, strlen(s));
  free(s);
  json_decref(o);
  json_t *str = json_string("x");
  s = sbx_json_dump(NULL, str, NULL);
  CHECK_EQ_STR(s, "\"x\"");
  free(s);
  json_decref(str);
  len = 5;
  CHECK(sbx_json_dump(NULL, NULL, &len) == NULL);
  CHECK_EQ_INT(len, 0);
}

int main(int argc, char **argv) {
  static const struct test_case cases[] = {
      {"str", test_str},     {"int", test_int},   {"int64", test_int64}, {"bool", test_bool},
      {"loadb", test_loadb}, {"dump", test_dump}, {NULL, NULL},
  };
  return test_main("json", cases, argc, argv, 60);
}
