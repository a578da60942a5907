/* test_json_pick.c - loading only some members: the same values and the
 * same errors as jansson's whole parse, whichever path the input takes. */
#include "../../protocol/json_pick.h"
#include "../../protocol/json_util.h"
#include "testlib.h"

static const char *const keys[] = {"id", "state", "cpu", "labels", "r", "s", "n", NULL};

/* load_keys agrees with sbx_json_loadb on every wanted key, or both fail
 * with the same reason. Returns the picked value (or NULL). */
static json_t *same_as_jansson(const char *buf, size_t len) {
  char why_a[160] = "", why_b[160] = "";
  json_t *a = sbx_json_load_keys(buf, len, keys, why_a, sizeof why_a);
  json_t *b = sbx_json_loadb(buf, len, why_b, sizeof why_b);
  if (!a || !b) {
    if (a || b) fprintf(stderr, "  differs on validity: %.*s\n", (int)len, buf);
    CHECK(!a && !b);
    CHECK_EQ_STR(why_a, why_b);
  } else {
    for (const char *const *k = keys; *k; k++) {
      json_t *va = json_is_object(a) ? json_object_get(a, *k) : NULL;
      json_t *vb = json_is_object(b) ? json_object_get(b, *k) : NULL;
      int same = (!va && !vb) || (va && vb && json_equal(va, vb));
      if (!same) fprintf(stderr, "  differs on %s: %.*s\n", *k, (int)len, buf);
      CHECK(same);
    }
    CHECK(json_typeof(a) == json_typeof(b));
  }
  json_decref(b);
  return a;
}

static json_t *same(const char *s) {
  return same_as_jansson(s, strlen(s));
}

static void check(const char *s) {
  json_decref(same(s));
}

static void test_dto(void) {
  const char *dto = "{\"id\":\"cc12e7ce\",\"organizationId\":\"sbx-emu\",\"labels\":{\"a\":\"b\"},"
                    "\"public\":false,\"cpu\":1,\"gpu\":0,\"state\":\"started\",\"errorReason\":"
                    "null,\"nested\":{\"x\":[1,2.5,{\"y\":true}],\"z\":\"q\\\"\"},\"env\":{},"
                    "\"volumes\":[]}";
  json_t *v = same(dto);
  REQUIRE(v);
  CHECK_EQ_STR(sbx_json_str(v, "id"), "cc12e7ce");
  CHECK_EQ_STR(sbx_json_str(v, "state"), "started");
  CHECK_EQ_INT(sbx_json_int(v, "cpu", 0), 1);
  CHECK_EQ_STR(sbx_json_str(json_object_get(v, "labels"), "a"), "b");
  /* the members nobody asked for were skipped, not built */
  CHECK(json_object_get(v, "organizationId") == NULL);
  CHECK(json_object_get(v, "nested") == NULL);
  CHECK_EQ_INT(json_object_size(v), 4);
  json_decref(v);
}

static void test_values(void) {
  /* strings: escapes the scanner decodes itself, and those it leaves to jansson */
  check("{\"s\":\"a\\n\\t\\\"\\\\\\/\\b\\f\\r\"}");
  check("{\"s\":\"\\u00e9\\ud83d\\ude00\"}");
  check("{\"s\":\"\xc3\xa9\"}");
  check("{\"s\":\"\"}");
  check("{\"labels\":{\"k\":\"\\u0041\"},\"s\":\"x\"}");
  /* numbers */
  check("{\"n\":0,\"cpu\":-0}");
  check("{\"n\":-12345,\"r\":1.5,\"s\":-0.25}");
  check("{\"n\":1e3,\"r\":2E-2}");
  check("{\"n\":123456789012345678}");
  check("{\"n\":1234567890123456789}");
  check("{\"n\":99999999999999999999}");
  check("{\"n\":-9223372036854775808}");
  check("{\"r\":1.7976931348623157e309}");
  check("{\"skip\":99999999999999999999,\"n\":1}");
  /* literals, containers, duplicates, whitespace */
  check("{\"n\":null,\"s\":true,\"r\":false}");
  check("{\"labels\":[1,[2,[3]],{}],\"id\":\"a\"}");
  check("{\"id\":\"a\",\"id\":\"b\"}");
  check(" \t\r\n{ \"id\" : \"a\" , \"cpu\" :\n2 } \n");
  check("{}");
  check("{\"x\\\"y\":1,\"id\":\"a\"}");
  check("{\"i\\u0064\":\"escaped key\"}");
  /* other top-level values */
  check("[{\"id\":\"a\"}]");
  check("\"id\"");
  check("42");
}

static void test_invalid(void) {
  static const char *const bad[] = {"",
                                    "   ",
                                    "{",
                                    "{\"id\":}",
                                    "{\"id\":\"a\",}",
                                    "{\"id\"}",
                                    "{\"id\":\"a\"",
                                    "{\"id\":01}",
                                    "{\"id\":-}",
                                    "{\"id\":1.}",
                                    "{\"id\":.5}",
                                    "{\"id\":tru}",
                                    "{\"id\":nulll}",
                                    "{\"id\":\"a\"}x",
                                    "{\"id\":\"a\"}}",
                                    "{\"s\":\"\\x\"}",
                                    "{\"s\":\"\t\"}",
                                    "{\"s\":\"\xff\"}",
                                    "{\"skip\":\"\xc3\"}",
                                    "{'id':1}",
                                    "{\"id\":[1,]}",
                                    "{\"id\":{\"a\"}}",
                                    "{\"s\":\"\\u12\"}",
                                    "{\"s\":\"\\u0000\"}",
                                    "{\"id\":1 2}",
                                    "{\"id\":\"a\" \"cpu\":1}",
                                    NULL};
  for (size_t i = 0; bad[i]; i++) {
    char why[160] = "";
    CHECK(sbx_json_load_keys(bad[i], strlen(bad[i]), keys, why, sizeof why) == NULL);
    CHECK(strlen(why) > 0);
    check(bad[i]);
  }
  /* NUL bytes and a length that cuts the input */
  json_decref(same_as_jansson("{\"id\":\"a\"}\0", 11));
  json_decref(same_as_jansson("{\"s\":\"a\0b\"}", 11));
  json_decref(same_as_jansson("{\"id\":\"a\"}", 8));
  json_decref(same_as_jansson("{\"cpu\":12}", 9));
  json_decref(same_as_jansson(NULL, 0));
}

static void test_depth(void) {
  char buf[600];
  size_t n = 0;
  n += (size_t)snprintf(buf + n, sizeof buf - n, "{\"skip\":");
  for (int i = 0; i < 100; i++)
    buf[n++] = '[';
  for (int i = 0; i < 100; i++)
    buf[n++] = ']';
  n += (size_t)snprintf(buf + n, sizeof buf - n, ",\"id\":\"deep\"}");
  json_t *v = same_as_jansson(buf, n);
  REQUIRE(v);
  CHECK_EQ_STR(sbx_json_str(v, "id"), "deep");
  json_decref(v);
}

int main(int argc, char **argv) {
  static const struct test_case cases[] = {
      {"dto", test_dto}, {"values", test_values}, {"invalid", test_invalid}, {"depth", test_depth},
      {NULL, NULL},
  };
  return test_main("json_pick", cases, argc, argv, 60);
}
