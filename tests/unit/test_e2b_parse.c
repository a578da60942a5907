/* test_e2b_parse.c - the E2B provider's reply parsers taken apart from its
 * ops: a process event message of envd's stream and its output bytes, and
 * the sandbox / list replies of the control plane. */
#include <jansson.h>

#include "../../providers/e2b.h"
#include "sbx.h"
#include "testlib.h"

static json_t *event_of(const char *msg, char *why, size_t n) {
  return e2b_exec_event_doc(msg, strlen(msg), why, n);
}

static void test_event_doc(void) {
  char why[160];
  json_t *d = event_of("{\"event\":{\"start\":{\"pid\":7}}}", why, sizeof why);
  REQUIRE(d);
  CHECK(json_is_object(json_object_get(json_object_get(d, "event"), "start")));
  json_decref(d);
  CHECK(event_of("{\"event\":[]}", why, sizeof why) == NULL);
  CHECK_EQ_STR(why, "no event object");
  CHECK(event_of("{\"evt\":{}}", why, sizeof why) == NULL);
  CHECK_EQ_STR(why, "no event object");
  CHECK(event_of("{\"event\":", why, sizeof why) == NULL);
  CHECK(strstr(why, "column") != NULL); /* jansson's reason */
}

static unsigned char *output_of(const char *data_json, int *fd, long *len) {
  json_t *v = json_loads(data_json, 0, NULL);
  REQUIRE(v);
  unsigned char *b = e2b_exec_event_output(NULL, v, fd, len); /* NULL: libc's */
  json_decref(v);
  return b;
}

static void test_event_output(void) {
  int fd;
  long len;
  unsigned char *b = output_of("{\"stdout\":\"aGVsbG8K\"}", &fd, &len);
  REQUIRE(b);
  CHECK_EQ_INT(fd, SBX_STDOUT);
  CHECK_EQ_INT(len, 6);
  CHECK(memcmp(b, "hello\n", 6) == 0);
  free(b);
  b = output_of("{\"stderr\":\"ZQ\"}", &fd, &len); /* unpadded */
  REQUIRE(b);
  CHECK_EQ_INT(fd, SBX_STDERR);
  CHECK_EQ_INT(len, 1);
  CHECK_EQ_INT(b[0], 'e');
  free(b);
  b = output_of("{\"pty\":\"\"}", &fd, &len);
  CHECK(b != NULL);
  CHECK_EQ_INT(len, 0);
  free(b);
  CHECK(output_of("{\"stdout\":\"a\"}", &fd, &len) == NULL); /* one digit is no byte */
  CHECK_EQ_INT(len, -1);
  CHECK(output_of("{\"stdout\":\"a b=\"}", &fd, &len) == NULL);
  CHECK_EQ_INT(len, -1);
  CHECK(output_of("{\"other\":\"aGk=\"}", &fd, &len) == NULL);
  CHECK_EQ_INT(len, 0);
}

static json_t *reply(int list, const char *body, struct sbx_errinfo *e) {
  struct sbx_http h;
  memset(&h, 0, sizeof h);
  h.status = 200;
  h.body.data = (char *)body;
  h.body.len = strlen(body);
  sbx_errinfo_clear(e);
  return e2b_sandbox_reply(&h, list, "create sandbox", e);
}

static void test_sandbox_reply(void) {
  struct sbx_errinfo e;
  json_t *d = reply(0, "{\"sandboxID\":\"abc\",\"envdAccessToken\":\"t\"}", &e);
  REQUIRE(d);
  json_decref(d);
  CHECK(reply(0, "{\"sandboxID\":7}", &e) == NULL);
  CHECK_EQ_INT(e.status, SBX_EPROTO);
  CHECK_EQ_STR(e.message, "create sandbox: the reply has no sandboxID");
  CHECK(reply(0, "[]", &e) == NULL);
  CHECK_EQ_INT(e.status, SBX_EPROTO);
  d = reply(1, "[{\"sandboxID\":\"a\"}]", &e);
  REQUIRE(d);
  CHECK_EQ_INT(json_array_size(d), 1);
  json_decref(d);
  CHECK(reply(1, "{\"sandboxID\":\"a\"}", &e) == NULL);
  CHECK_EQ_STR(e.message, "create sandbox: the reply is not a JSON array");
  CHECK(reply(1, "[{", &e) == NULL);
  CHECK_EQ_INT(e.status, SBX_EPROTO);
  CHECK(strstr(e.message, "invalid JSON") != NULL);
}

int main(int argc, char **argv) {
  static const struct test_case cases[] = {
      {"event_doc", test_event_doc},
      {"event_output", test_event_output},
      {"sandbox_reply", test_sandbox_reply},
      {NULL, NULL},
  };
  return test_main("e2b_parse", cases, argc, argv, 60);
}
