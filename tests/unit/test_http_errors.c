/* test_http_errors.c - E2B REST error mapping, Retry-After, errinfo text. */
#include <time.h>

#include "../../protocol/http_errors.h"
#include "sbx.h"
#include "testlib.h"

static int map(enum sbx_e2b_plane plane, int status, const char *body, struct sbx_errinfo *err) {
  return sbx_e2b_map_http_error(plane, status, body, body ? strlen(body) : 0, -1, "create sandbox",
                                err);
}

/* ---- status classes ------------------------------------------------------------ */

static void test_status_classes(void) {
  static const struct {
    int http, plane, status, retry;
  } rows[] = {
      {400, SBX_E2B_API, SBX_EINVAL, 0},     {401, SBX_E2B_API, SBX_EAUTH, 0},
      {403, SBX_E2B_API, SBX_EAUTH, 0},      {404, SBX_E2B_API, SBX_ENOTFOUND, 0},
      {409, SBX_E2B_API, SBX_ECONFLICT, 0},  {429, SBX_E2B_API, SBX_ERATELIMIT, 1},
      {500, SBX_E2B_API, SBX_EPROVIDER, 0},  {502, SBX_E2B_API, SBX_EUNAVAIL, 1},
      {503, SBX_E2B_API, SBX_EUNAVAIL, 1},   {504, SBX_E2B_API, SBX_EUNAVAIL, 1},
      {507, SBX_E2B_API, SBX_EPROVIDER, 0},  {418, SBX_E2B_API, SBX_EHTTP, 0},
      {501, SBX_E2B_API, SBX_EHTTP, 0},      {302, SBX_E2B_API, SBX_EHTTP, 0},
      {400, SBX_E2B_ENVD, SBX_EINVAL, 0},    {401, SBX_E2B_ENVD, SBX_EAUTH, 0},
      {404, SBX_E2B_ENVD, SBX_ENOTFOUND, 0}, {429, SBX_E2B_ENVD, SBX_ERATELIMIT, 1},
      {500, SBX_E2B_ENVD, SBX_EPROVIDER, 0}, {502, SBX_E2B_ENVD, SBX_ENOTFOUND, 0},
      {503, SBX_E2B_ENVD, SBX_EUNAVAIL, 1},  {504, SBX_E2B_ENVD, SBX_EUNAVAIL, 1},
      {507, SBX_E2B_ENVD, SBX_EPROVIDER, 0}, {405, SBX_E2B_ENVD, SBX_EHTTP, 0},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    struct sbx_errinfo err;
    char body[128];
    snprintf(body, sizeof body, "{\"code\":%d,\"message\":\"m%d\"}", rows[i].http, rows[i].http);
    int st = map((enum sbx_e2b_plane)rows[i].plane, rows[i].http, body, &err);
    if (st != rows[i].status) fprintf(stderr, "  row %zu (%d)\n", i, rows[i].http);
    CHECK_EQ_INT(st, rows[i].status);
    CHECK_EQ_INT(err.status, rows[i].status);
    CHECK_EQ_INT(err.retryable, rows[i].retry);
    CHECK_EQ_INT(err.http_status, rows[i].http);
    CHECK_EQ_INT(err.curl_code, 0);
    char want[128];
    snprintf(want, sizeof want, "create sandbox: %d: m%d", rows[i].http, rows[i].http);
    CHECK_EQ_STR(err.message, want);
  }
}

static void test_api_not_found_body(void) {
  struct sbx_errinfo err;
  const char *b = "{\"code\":404,\"message\":\"Sandbox \\\"ixxx\\\" doesn't exist or you don't "
                  "have access to it\"}";
  CHECK_EQ_INT(sbx_e2b_map_http_error(SBX_E2B_API, 404, b, strlen(b), -1, "get sandbox", &err),
               SBX_ENOTFOUND);
  CHECK_EQ_STR(err.message,
               "get sandbox: 404: Sandbox \"ixxx\" doesn't exist or you don't have access to it");
  CHECK_EQ_STR(err.provider_code, "");
  CHECK_EQ_INT(err.retry_after_ms, -1);
  /* The optional semantic code becomes the provider code. */
  b = "{\"code\":409,\"message\":\"paused\",\"error_code\":\"sandbox_paused\"}";
  CHECK_EQ_INT(map(SBX_E2B_API, 409, b, &err), SBX_ECONFLICT);
  CHECK_EQ_STR(err.provider_code, "sandbox_paused");
  CHECK_EQ_STR(err.message, "create sandbox: 409: paused");
}

static void test_envd_502(void) {
  struct sbx_errinfo err;
  const char *b = "{\"sandboxId\":\"i6z8\",\"message\":\"The sandbox was not found\",\"code\":502}";
  CHECK_EQ_INT(sbx_e2b_map_http_error(SBX_E2B_ENVD, 502, b, strlen(b), -1, "read file", &err),
               SBX_ENOTFOUND);
  CHECK_EQ_STR(err.message, "read file: 502: The sandbox was not found");
  CHECK_EQ_INT(err.retryable, 0);
  /* Without a usable body, the message still says what happened. */
  CHECK_EQ_INT(map(SBX_E2B_ENVD, 502, "", &err), SBX_ENOTFOUND);
  CHECK_EQ_STR(err.message, "create sandbox: 502: sandbox not found");
  CHECK_EQ_INT(map(SBX_E2B_ENVD, 502, "<html><body>oops</body></html>", &err), SBX_ENOTFOUND);
  CHECK_EQ_STR(err.message, "create sandbox: 502: sandbox not found");
  /* The same reply from the control plane is a busy gateway. */
  CHECK_EQ_INT(map(SBX_E2B_API, 502, b, &err), SBX_EUNAVAIL);
  CHECK_EQ_INT(err.retryable, 1);
}

static void test_html_body(void) {
  struct sbx_errinfo err;
  const char *html = "<!DOCTYPE html>\n<html>\n<head><TITLE> 503 Service Temporarily Unavailable "
                     "</TITLE></head>\n<body><center><h1>503</h1></center>\n<hr>nginx</body>"
                     "\n</html>\n";
  CHECK_EQ_INT(map(SBX_E2B_API, 503, html, &err), SBX_EUNAVAIL);
  CHECK_EQ_STR(err.message, "create sandbox: 503: 503 Service Temporarily Unavailable");
  /* HTML without a title: the status text, not markup. */
  CHECK_EQ_INT(map(SBX_E2B_API, 504, "<html><body>gateway timeout</body></html>", &err),
               SBX_EUNAVAIL);
  CHECK_EQ_STR(err.message, "create sandbox: 504: Gateway Timeout");
  CHECK_EQ_INT(map(SBX_E2B_API, 500, "<html><title></title></html>", &err), SBX_EPROVIDER);
  CHECK_EQ_STR(err.message, "create sandbox: 500: Internal Server Error");
  CHECK_EQ_INT(map(SBX_E2B_API, 500, "<html><title>never closed", &err), SBX_EPROVIDER);
  CHECK_EQ_STR(err.message, "create sandbox: 500: Internal Server Error");
}

static void test_empty_and_text_bodies(void) {
  struct sbx_errinfo err;
  CHECK_EQ_INT(map(SBX_E2B_API, 401, "", &err), SBX_EAUTH);
  CHECK_EQ_STR(err.message, "create sandbox: 401: Unauthorized");
  CHECK_EQ_INT(map(SBX_E2B_API, 429, NULL, &err), SBX_ERATELIMIT);
  CHECK_EQ_STR(err.message, "create sandbox: 429: Too Many Requests");
  CHECK_EQ_INT(map(SBX_E2B_API, 599, " \r\n ", &err), SBX_EHTTP);
  CHECK_EQ_STR(err.message, "create sandbox: 599: HTTP error");
  /* Plain text: first line only. */
  CHECK_EQ_INT(map(SBX_E2B_ENVD, 507, "  no space left on device\nat /x\n", &err), SBX_EPROVIDER);
  CHECK_EQ_STR(err.message, "create sandbox: 507: no space left on device");
  CHECK_EQ_INT(map(SBX_E2B_API, 400, "bad\r\nrequest", &err), SBX_EINVAL);
  CHECK_EQ_STR(err.message, "create sandbox: 400: bad");
  /* JSON without a message: the raw body, like the SDK. */
  CHECK_EQ_INT(map(SBX_E2B_API, 500, "{\"code\":500}", &err), SBX_EPROVIDER);
  CHECK_EQ_STR(err.message, "create sandbox: 500: {\"code\":500}");
  CHECK_EQ_INT(map(SBX_E2B_API, 500, "{\"code\":500,\"message\":\"\"}", &err), SBX_EPROVIDER);
  CHECK_EQ_STR(err.message, "create sandbox: 500: {\"code\":500,\"message\":\"\"}");
  CHECK_EQ_INT(map(SBX_E2B_API, 500, "{\"message\":42}", &err), SBX_EPROVIDER);
  CHECK_EQ_STR(err.message, "create sandbox: 500: {\"message\":42}");
  /* Control characters inside a JSON message are flattened. */
  CHECK_EQ_INT(map(SBX_E2B_API, 400, "{\"message\":\"line1\\nline2\\u0007end\"}", &err),
               SBX_EINVAL);
  CHECK_EQ_STR(err.message, "create sandbox: 400: line1 line2 end");
}

static void test_what_prefix(void) {
  struct sbx_errinfo err;
  const char *b = "{\"message\":\"nope\"}";
  CHECK_EQ_INT(sbx_e2b_map_http_error(SBX_E2B_API, 404, b, strlen(b), -1, NULL, &err),
               SBX_ENOTFOUND);
  CHECK_EQ_STR(err.message, "404: nope");
  CHECK_EQ_INT(sbx_e2b_map_http_error(SBX_E2B_API, 404, b, strlen(b), -1, "", &err), SBX_ENOTFOUND);
  CHECK_EQ_STR(err.message, "404: nope");
  CHECK_EQ_INT(sbx_e2b_map_http_error(SBX_E2B_API, 404, b, strlen(b), -1, "kill sandbox", NULL),
               SBX_ENOTFOUND);
}

static void test_body_length_respected(void) {
  struct sbx_errinfo err;
  /* Not NUL-terminated, and len cuts a valid JSON body short. */
  const char *full = "{\"message\":\"full\"}trailing";
  char *b = malloc(18);
  REQUIRE(b);
  memcpy(b, full, 18);
  CHECK_EQ_INT(sbx_e2b_map_http_error(SBX_E2B_API, 409, b, 18, -1, "x", &err), SBX_ECONFLICT);
  CHECK_EQ_STR(err.message, "x: 409: full");
  CHECK_EQ_INT(sbx_e2b_map_http_error(SBX_E2B_API, 409, b, 10, -1, "x", &err), SBX_ECONFLICT);
  CHECK_EQ_STR(err.message, "x: 409: {\"message\"");
  free(b);
}

static void test_retry_after_stored(void) {
  struct sbx_errinfo err;
  CHECK_EQ_INT(sbx_e2b_map_http_error(SBX_E2B_API, 429, "{}", 2, 5000, "create sandbox", &err),
               SBX_ERATELIMIT);
  CHECK_EQ_INT(err.retry_after_ms, 5000);
  CHECK_EQ_INT(err.retryable, 1);
  CHECK_EQ_INT(sbx_e2b_map_http_error(SBX_E2B_API, 503, "{}", 2, -7, "create sandbox", &err),
               SBX_EUNAVAIL);
  CHECK_EQ_INT(err.retry_after_ms, -1);
}

static void test_message_truncation(void) {
  struct sbx_errinfo err;
  char body[3000];
  char msg[2001];
  memset(msg, 'q', 2000);
  msg[2000] = '\0';
  snprintf(body, sizeof body, "{\"code\":500,\"message\":\"%s\"}", msg);
  CHECK_EQ_INT(map(SBX_E2B_API, 500, body, &err), SBX_EPROVIDER);
  CHECK_EQ_INT(strlen(err.message), SBX_ERRINFO_MSG_MAX - 1);
  CHECK(strncmp(err.message, "create sandbox: 500: qqqq", 25) == 0);
  /* A huge plain-text body. */
  char *big = malloc(100001);
  REQUIRE(big);
  memset(big, 'w', 100000);
  big[100000] = '\0';
  CHECK_EQ_INT(map(SBX_E2B_API, 503, big, &err), SBX_EUNAVAIL);
  CHECK_EQ_INT(strlen(err.message), SBX_ERRINFO_MSG_MAX - 1);
  free(big);
  /* Multi-byte characters: the cut never leaves half a character. */
  for (int shift = 0; shift < 4; shift++) {
    char m[1600] = "";
    for (int i = 0; i < shift; i++)
      strcat(m, "a");
    for (int i = 0; i < 300; i++)
      strcat(m, "\xe2\x82\xac"); /* € */
    snprintf(body, sizeof body, "{\"message\":\"%s\"}", m);
    CHECK_EQ_INT(map(SBX_E2B_API, 400, body, &err), SBX_EINVAL);
    size_t n = strlen(err.message);
    CHECK(n >= SBX_ERRINFO_MSG_MAX - 3 && n <= SBX_ERRINFO_MSG_MAX - 1);
    size_t tail = n - strlen("create sandbox: 400: ") - (size_t)shift;
    CHECK_EQ_INT(tail % 3, 0);
    CHECK(memcmp(err.message + n - 3, "\xe2\x82\xac", 3) == 0);
  }
}

/* ---- errinfo ------------------------------------------------------------------- */

static void test_errinfo_basics(void) {
  struct sbx_errinfo err;
  memset(&err, 0x5a, sizeof err);
  sbx_errinfo_clear(&err);
  CHECK_EQ_INT(err.status, 0);
  CHECK_EQ_INT(err.http_status, 0);
  CHECK_EQ_INT(err.retryable, 0);
  CHECK_EQ_INT(err.retry_after_ms, -1);
  CHECK_EQ_STR(err.message, "");
  CHECK_EQ_STR(err.provider_code, "");
  err.http_status = 404;
  sbx_errinfo_set(&err, SBX_ENOTFOUND, "file %s: %d", "/x", 7);
  CHECK_EQ_INT(err.status, SBX_ENOTFOUND);
  CHECK_EQ_INT(err.http_status, 404); /* set touches status and message only */
  CHECK_EQ_STR(err.message, "file /x: 7");
  sbx_errinfo_set(&err, SBX_EIO, "tab\there\r\nand \x7f del");
  CHECK_EQ_STR(err.message, "tab here  and   del");
  sbx_errinfo_set(NULL, SBX_EIO, "ignored");
  sbx_errinfo_clear(NULL);
}

static void test_errinfo_utf8(void) {
  struct sbx_errinfo err;
  sbx_errinfo_clear(&err);
  sbx_errinfo_set(&err, SBX_EPROTO, "ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  CHECK_EQ_STR(err.message, "ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  /* Invalid bytes become '?': stray continuation, bad lead, truncated inside. */
  sbx_errinfo_set(&err, SBX_EPROTO,
                  "a\x80"
                  "b\xff"
                  "c\xc3"
                  "d\xe2\x82"
                  "e");
  CHECK_EQ_STR(err.message, "a?b?c?d??e");
  /* Overlong and surrogate forms. */
  sbx_errinfo_set(&err, SBX_EPROTO, "\xc0\xaf|\xe0\x80\xaf|\xed\xa0\x80");
  CHECK_EQ_STR(err.message, "??|???|???");
  /* Untruncated text that ends in half a character: '?', not a cut. */
  sbx_errinfo_set(&err, SBX_EPROTO, "end\xe2\x82");
  CHECK_EQ_STR(err.message, "end??");
  /* Truncation in the middle of a 4-byte character drops it. */
  char big[SBX_ERRINFO_MSG_MAX + 8];
  memset(big, 'a', SBX_ERRINFO_MSG_MAX - 3);
  memcpy(big + SBX_ERRINFO_MSG_MAX - 3, "\xf0\x9f\x98\x80", 5);
  sbx_errinfo_set(&err, SBX_EPROTO, "%s", big);
  CHECK_EQ_INT(strlen(err.message), SBX_ERRINFO_MSG_MAX - 3);
  CHECK(err.message[SBX_ERRINFO_MSG_MAX - 4] == 'a');
}

/* ---- Retry-After ----------------------------------------------------------------- */

/* The IMF-fixdate of t. */
static void imf(time_t t, char *buf, size_t n) {
  static const char *const d[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char *const m[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  struct tm tm;
  gmtime_r(&t, &tm);
  snprintf(buf, n, "%s, %02d %s %04d %02d:%02d:%02d GMT", d[tm.tm_wday], tm.tm_mday, m[tm.tm_mon],
           tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void test_retry_after_seconds(void) {
  long now = 1700000000;
  CHECK_EQ_INT(sbx_parse_retry_after("120", now), 120000);
  CHECK_EQ_INT(sbx_parse_retry_after("0", now), 0);
  CHECK_EQ_INT(sbx_parse_retry_after("1", now), 1000);
  CHECK_EQ_INT(sbx_parse_retry_after(" 5 ", now), 5000);
  CHECK_EQ_INT(sbx_parse_retry_after("\t7", now), 7000);
  CHECK_EQ_INT(sbx_parse_retry_after("007", now), 7000);
  CHECK_EQ_INT(sbx_parse_retry_after("3600", now), 3600000);
  CHECK_EQ_INT(sbx_parse_retry_after("3601", now), 3600000);
  CHECK_EQ_INT(sbx_parse_retry_after("2147483", now), 3600000);
  CHECK_EQ_INT(sbx_parse_retry_after("99999999999999999999999999999", now), 3600000);
}

static void test_retry_after_garbage(void) {
  long now = 1700000000;
  const char *bad[] = {NULL,
                       "",
                       "   ",
                       "-5",
                       "-0",
                       "+5",
                       "5s",
                       "1.5",
                       "1e3",
                       "abc",
                       "5 6",
                       "0x10",
                       "Sun",
                       "Sun, 06 Nov 1994 08:49:37 UTC",
                       "Sun, 06 Nov 1994 08:49:37",
                       "Sun, 6 Nov 1994 08:49:37 GMT",
                       "Sun, 32 Nov 1994 08:49:37 GMT",
                       "Sun, 06 Foo 1994 08:49:37 GMT",
                       "Sun, 06 Nov 1994 24:49:37 GMT",
                       "Sun, 06 Nov 1994 08:60:37 GMT",
                       "Xyz, 06 Nov 1994 08:49:37 GMT",
                       "Sun, 31 Feb 2030 08:49:37 GMT",
                       "Sun, 06 Nov 19x4 08:49:37 GMT",
                       "sun, 06 nov 1994 08:49:37 gmt",
                       "Sunday, 06-Nov-94 08:49:37",
                       "Sun Nov 6 08:49:37 1994"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    long v = sbx_parse_retry_after(bad[i], now);
    if (v != -1) fprintf(stderr, "  accepted \"%s\" -> %ld\n", bad[i] ? bad[i] : "(null)", v);
    CHECK_EQ_INT(v, -1);
  }
}

static void test_retry_after_dates(void) {
  long now = 1700000000; /* Tue, 14 Nov 2023 22:13:20 GMT */
  char buf[64];
  imf(now + 30, buf, sizeof buf);
  CHECK_EQ_INT(sbx_parse_retry_after(buf, now), 30000);
  imf(now, buf, sizeof buf);
  CHECK_EQ_INT(sbx_parse_retry_after(buf, now), 0);
  imf(now - 100, buf, sizeof buf); /* in the past: retry now */
  CHECK_EQ_INT(sbx_parse_retry_after(buf, now), 0);
  imf(now + 7200, buf, sizeof buf);
  CHECK_EQ_INT(sbx_parse_retry_after(buf, now), 3600000);
  CHECK_EQ_INT(sbx_parse_retry_after("Tue, 14 Nov 2023 22:13:20 GMT", now), 0);
  CHECK_EQ_INT(sbx_parse_retry_after("Tue, 14 Nov 2023 22:14:20 GMT", now), 60000);
  CHECK_EQ_INT(sbx_parse_retry_after("  Tue, 14 Nov 2023 22:14:20 GMT  ", now), 60000);
  /* The obsolete forms recipients must still accept (RFC 9110 5.6.7). */
  CHECK_EQ_INT(sbx_parse_retry_after("Tuesday, 14-Nov-23 22:14:20 GMT", now), 60000);
  CHECK_EQ_INT(sbx_parse_retry_after("Tue Nov 14 22:14:20 2023", now), 60000);
  CHECK_EQ_INT(sbx_parse_retry_after("Sun Nov  6 08:49:37 1994", now), 0);
  CHECK_EQ_INT(sbx_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), 0);
  /* Leap day. */
  CHECK_EQ_INT(sbx_parse_retry_after("Thu, 29 Feb 2024 00:00:10 GMT", 1709164800), 10000);
}

int main(int argc, char **argv) {
  static const struct test_case cases[] = {
      {"status_classes", test_status_classes},
      {"api_not_found_body", test_api_not_found_body},
      {"envd_502", test_envd_502},
      {"html_body", test_html_body},
      {"empty_and_text_bodies", test_empty_and_text_bodies},
      {"what_prefix", test_what_prefix},
      {"body_length_respected", test_body_length_respected},
      {"retry_after_stored", test_retry_after_stored},
      {"message_truncation", test_message_truncation},
      {"errinfo_basics", test_errinfo_basics},
      {"errinfo_utf8", test_errinfo_utf8},
      {"retry_after_seconds", test_retry_after_seconds},
      {"retry_after_garbage", test_retry_after_garbage},
      {"retry_after_dates", test_retry_after_dates},
      {NULL, NULL},
  };
  return test_main("http_errors", cases, argc, argv, 60);
}
