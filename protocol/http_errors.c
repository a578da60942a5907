/* http_errors.c - E2B REST error replies and Retry-After.
 *
 * E2B's control plane answers errors with {"code":<status>,"message":...}
 * (optionally "error_code"); envd behind the edge answers 502 with
 * {"sandboxId":...,"message":"The sandbox was not found","code":502} when the
 * sandbox is gone, and browsers or proxies may get HTML or nothing at all.
 * The message is picked like the SDK does: JSON "message", then the body
 * text, then the status text. */
#include "http_errors.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "json_util.h"
#include "sbx.h"

#define RETRY_AFTER_CAP_S 3600L

/* ---- Retry-After ------------------------------------------------------------ */

static const char *const wkdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const wkdays_long[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                          "Thursday", "Friday", "Saturday"};
static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static int is_digit(char c) {
  return c >= '0' && c <= '9';
}

/* n decimal digits at s (a leading space allowed when space_ok), or -1. */
static int num_at(const char *s, int n, int space_ok) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (space_ok && i == 0 && s[i] == ' ') continue;
    if (!is_digit(s[i])) return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

/* Index of the name at s (exactly len bytes) in names, or -1. Names are
 * case-sensitive per RFC 9110. */
static int name_at(const char *s, size_t len, const char *const *names, int count) {
  for (int i = 0; i < count; i++)
    if (strlen(names[i]) == len && memcmp(s, names[i], len) == 0) return i;
  return -1;
}

/* "HH:MM:SS" at s into tm. */
static int time_at(const char *s, struct tm *tm) {
  if (s[2] != ':' || s[5] != ':') return -1;
  tm->tm_hour = num_at(s, 2, 0);
  tm->tm_min = num_at(s + 3, 2, 0);
  tm->tm_sec = num_at(s + 6, 2, 0);
  return tm->tm_hour < 0 || tm->tm_min < 0 || tm->tm_sec < 0 ? -1 : 0;
}

/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" (29 bytes). */
static int parse_imf(const char *s, size_t n, struct tm *tm) {
  if (n != 29 || name_at(s, 3, wkdays, 7) < 0 || memcmp(s + 3, ", ", 2) != 0 || s[7] != ' ' ||
      s[11] != ' ' || s[16] != ' ' || memcmp(s + 25, " GMT", 4) != 0)
    return -1;
  tm->tm_mday = num_at(s + 5, 2, 0);
  tm->tm_mon = name_at(s + 8, 3, months, 12);
  tm->tm_year = num_at(s + 12, 4, 0) - 1900;
  return time_at(s + 17, tm);
}

/* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" (two-digit year). */
static int parse_rfc850(const char *s, size_t n, struct tm *tm) {
  const char *comma = memchr(s, ',', n);
  if (!comma || name_at(s, (size_t)(comma - s), wkdays_long, 7) < 0) return -1;
  const char *p = comma + 1;
  if ((size_t)(s + n - p) != 23 || p[0] != ' ' || p[3] != '-' || p[7] != '-' || p[10] != ' ' ||
      memcmp(p + 19, " GMT", 4) != 0)
    return -1;
  int yy = num_at(p + 8, 2, 0);
  tm->tm_mday = num_at(p + 1, 2, 0);
  tm->tm_mon = name_at(p + 4, 3, months, 12);
  tm->tm_year = yy < 0 ? -1 : yy < 70 ? yy + 100 : yy; /* RFC 9110 allows this cut-off */
  return time_at(p + 11, tm);
}

/* asctime: "Sun Nov  6 08:49:37 1994" (24 bytes). */
static int parse_asctime(const char *s, size_t n, struct tm *tm) {
  if (n != 24 || name_at(s, 3, wkdays, 7) < 0 || s[3] != ' ' || s[7] != ' ' || s[10] != ' ' ||
      s[19] != ' ')
    return -1;
  tm->tm_mon = name_at(s + 4, 3, months, 12);
  tm->tm_mday = num_at(s + 8, 2, 1);
  tm->tm_year = num_at(s + 20, 4, 0) - 1900;
  return time_at(s + 11, tm);
}

/* Any of the three HTTP-date forms into seconds since the epoch, or -1. */
static long long parse_http_date(const char *s, size_t n) {
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  if (parse_imf(s, n, &tm) && parse_rfc850(s, n, &tm) && parse_asctime(s, n, &tm)) return -1;
  if (tm.tm_mon < 0 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_year < 70 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60)
    return -1;
  /* timegm normalises 31 Feb to 3 Mar; refuse such dates. */
  int mday = tm.tm_mday;
  time_t t = timegm(&tm);
  if (t == (time_t)-1 || tm.tm_mday != mday) return -1;
  return (long long)t;
}

/* Delta-seconds: digits only. Huge values saturate at the cap. */
static long parse_delta(const char *s, size_t n) {
  long v = 0;
  for (size_t i = 0; i < n; i++) {
    if (!is_digit(s[i])) return -1;
    if (v <= RETRY_AFTER_CAP_S) v = v * 10 + (s[i] - '0');
  }
  return v > RETRY_AFTER_CAP_S ? RETRY_AFTER_CAP_S : v;
}

long sbx_parse_retry_after(const char *value, long now_unix) {
  if (!value) return -1;
  size_t n = strlen(value);
  while (n > 0 && (*value == ' ' || *value == '\t'))
    value++, n--;
  while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
    n--;
  if (n == 0) return -1;
  if (is_digit(value[0])) {
    long s = parse_delta(value, n);
    return s < 0 ? -1 : s * 1000;
  }
  long long t = parse_http_date(value, n);
  if (t < 0) return -1;
  long long d = t - (long long)now_unix;
  if (d < 0) d = 0; /* a date in the past means "retry now" */
  if (d > RETRY_AFTER_CAP_S) d = RETRY_AFTER_CAP_S;
  return (long)d * 1000;
}

/* ---- error mapping ------------------------------------------------------------ */

static const char *status_text(int status) {
  switch (status) {
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 410: return "Gone";
  case 413: return "Content Too Large";
  case 415: return "Unsupported Media Type";
  case 422: return "Unprocessable Content";
  case 429: return "Too Many Requests";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  case 507: return "Insufficient Storage";
  default: return "HTTP error";
  }
}

struct mapping {
  int status;
  int retryable;
};

static struct mapping map_status(enum sbx_e2b_plane plane, int http_status) {
  switch (http_status) {
  case 400: return (struct mapping){SBX_EINVAL, 0};
  case 401:
  case 403: return (struct mapping){SBX_EAUTH, 0};
  case 404: return (struct mapping){SBX_ENOTFOUND, 0};
  case 408:
    if (plane == SBX_DAYTONA) return (struct mapping){SBX_ETIMEDOUT, 0};
    return (struct mapping){SBX_EHTTP, 0};
  case 409: return (struct mapping){SBX_ECONFLICT, 0};
  case 429: return (struct mapping){SBX_ERATELIMIT, 1};
  case 500:
  case 507: return (struct mapping){SBX_EPROVIDER, 0};
  case 502:
    if (plane == SBX_E2B_ENVD) return (struct mapping){SBX_ENOTFOUND, 0};
    return (struct mapping){SBX_EUNAVAIL, 1};
  case 503:
  case 504: return (struct mapping){SBX_EUNAVAIL, 1};
  default: return (struct mapping){SBX_EHTTP, 0};
  }
}

static int is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Trim s[0..*n) of surrounding white space; returns the new start. */
static const char *trim(const char *s, size_t *n) {
  while (*n > 0 && is_space(*s))
    s++, (*n)--;
  while (*n > 0 && is_space(s[*n - 1]))
    (*n)--;
  return s;
}

/* Case-insensitive search for needle in s[0..n). */
static const char *find_ci(const char *s, size_t n, const char *needle) {
  size_t k = strlen(needle);
  for (size_t i = 0; i + k <= n; i++)
    if (strncasecmp(s + i, needle, k) == 0) return s + i;
  return NULL;
}

/* The <title> of an HTML page (e.g. "502 Bad Gateway"), or NULL. */
static const char *html_title(const char *s, size_t n, size_t *out_n) {
  const char *open = find_ci(s, n, "<title>");
  if (!open) return NULL;
  const char *t = open + 7;
  const char *close = find_ci(t, (size_t)(s + n - t), "</title>");
  if (!close) return NULL;
  *out_n = (size_t)(close - t);
  t = trim(t, out_n);
  return *out_n ? t : NULL;
}

/* The server's words from a non-JSON (or message-less JSON) body: the HTML
 * title, or the first line of text; NULL when there is nothing useful. */
static const char *body_text(const char *body, size_t len, size_t *out_n) {
  size_t n = len;
  const char *s = body ? trim(body, &n) : NULL;
  if (!s || n == 0) return NULL;
  if (s[0] == '<') return html_title(s, n, out_n);
  size_t line = 0;
  while (line < n && s[line] != '\r' && s[line] != '\n')
    line++;
  *out_n = line;
  return trim(s, out_n);
}

/* Copy a semantic error code, keeping it printable ASCII (codes are
 * identifiers such as "sandbox_not_found"; anything else is replaced). */
static void copy_code(char *dst, size_t cap, const char *code) {
  size_t i = 0;
  for (; code && code[i] && i + 1 < cap; i++)
    dst[i] = code[i] > 0x20 && code[i] < 0x7f ? code[i] : '?';
  dst[i] = '\0';
}

/* Pick the server message: JSON "message", body text, or NULL. Also takes
 * "error_code" from an API body as the provider code. */
static const char *server_message(const char *body, size_t len, json_t **root, size_t *out_n,
                                  struct sbx_errinfo *err) {
  *root = body && len ? sbx_json_loadb(body, len, NULL, 0) : NULL;
  if (json_is_object(*root)) {
    const char *code = sbx_json_str(*root, "error_code");
    copy_code(err->provider_code, sizeof err->provider_code,
              code ? code : sbx_json_str(*root, "code"));
    static const char *const keys[] = {"message", "error"};
    for (size_t i = 0; i < 2; i++) {
      json_t *m = json_object_get(*root, keys[i]);
      if (!json_is_string(m) || json_string_length(m) == 0) continue;
      size_t n = json_string_length(m);
      const char *s = trim(json_string_value(m), &n);
      *out_n = n;
      if (n) return s;
    }
  }
  return body_text(body, len, out_n);
}

int sbx_e2b_map_http_error(enum sbx_e2b_plane plane, int http_status, const char *body, size_t len,
                           long retry_after_ms, const char *what, struct sbx_errinfo *err) {
  struct mapping m = map_status(plane, http_status);
  struct sbx_errinfo scratch;
  if (!err) err = &scratch;
  sbx_errinfo_clear(err);
  err->http_status = http_status;
  err->retryable = m.retryable;
  err->retry_after_ms = retry_after_ms < 0 ? -1 : retry_after_ms;
  json_t *root = NULL;
  size_t n = 0;
  const char *msg = server_message(body, len, &root, &n, err);
  if (!msg) {
    int gone = plane == SBX_E2B_ENVD && http_status == 502;
    msg = gone ? "sandbox not found" : status_text(http_status);
    n = strlen(msg);
  }
  int cut = n > 4096 ? 4096 : (int)n; /* the message is capped far below this */
  if (what && *what)
    sbx_errinfo_set(err, m.status, "%s: %d: %.*s", what, http_status, cut, msg);
  else
    sbx_errinfo_set(err, m.status, "%d: %.*s", http_status, cut, msg);
  json_decref(root);
  return m.status;
}
