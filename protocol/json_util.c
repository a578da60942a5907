/* json_util.c - small typed getters over jansson, lenient where proto3 JSON
 * readers must be (int64 as a string, integral numbers written as reals). */
#include "json_util.h"

#include "strbuf.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* obj[key] when obj is an object, else NULL. */
static json_t *get(const json_t *obj, const char *key) {
  if (!json_is_object(obj) || !key) return NULL;
  return json_object_get(obj, key);
}

/* An integral real within [lo, hi] into *out (proto3 readers accept 1.0 or 1e3
 * for integer fields). */
static int real_to_int(const json_t *v, double lo, double hi, long long *out) {
  double d = json_real_value(v);
  if (!isfinite(d) || d < lo || d >= hi || d != (double)(long long)d) return 0;
  *out = (long long)d;
  return 1;
}

const char *sbx_json_str(const json_t *obj, const char *key) {
  json_t *v = get(obj, key);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

long long sbx_json_int(const json_t *obj, const char *key, long long fallback) {
  json_t *v = get(obj, key);
  long long r;
  if (json_is_integer(v)) return (long long)json_integer_value(v);
  /* 2^63 bounds: every double below 9.223372036854775807e18 fits. */
  if (json_is_real(v) && real_to_int(v, -9223372036854775808.0, 9223372036854775808.0, &r))
    return r;
  return fallback;
}

/* A proto3 int64 string: optional '-', decimal digits, nothing else. */
static int parse_int64_str(const char *s, int64_t *out) {
  const char *p = s[0] == '-' ? s + 1 : s;
  if (*p < '0' || *p > '9') return 0;
  for (const char *q = p; *q; q++)
    if (*q < '0' || *q > '9') return 0;
  errno = 0;
  long long v = strtoll(s, NULL, 10);
  if (errno == ERANGE) return 0; /* long long is int64_t on our targets */
  *out = (int64_t)v;
  return 1;
}

int64_t sbx_json_int64(const json_t *obj, const char *key, int64_t fallback) {
  json_t *v = get(obj, key);
  int64_t r;
  if (json_is_string(v) && parse_int64_str(json_string_value(v), &r)) return r;
  if (json_is_string(v)) return fallback;
  return (int64_t)sbx_json_int(obj, key, (long long)fallback);
}

int sbx_json_bool(const json_t *obj, const char *key, int fallback) {
  json_t *v = get(obj, key);
  return json_is_boolean(v) ? json_is_true(v) : fallback;
}

json_t *sbx_json_loadb(const char *buf, size_t len, char *why, size_t why_len) {
  json_error_t e;
  /* Any top-level value: callers check the type they expect. */
  json_t *v = json_loadb(buf ? buf : "", buf ? len : 0, JSON_DECODE_ANY, &e);
  if (!v && why && why_len)
    snprintf(why, why_len, "%s (line %d, column %d)", e.text, e.line, e.column);
  return v;
}

static int dump_piece(const char *p, size_t n, void *ud) {
  return sbx_str_add(ud, p, n) == 0 ? 0 : -1;
}

/* Through a callback rather than json_dumps, so the string is ours (the
 * client's allocator), not jansson's. */
char *sbx_json_dump(const sbx_allocator *a, const json_t *v, size_t *len_out) {
  if (len_out) *len_out = 0;
  if (!v) return NULL;
  struct sbx_str b;
  sbx_str_init(&b, a);
  if (json_dump_callback(v, dump_piece, &b, JSON_COMPACT | JSON_ENCODE_ANY) != 0) {
    sbx_str_free(&b);
    return NULL;
  }
  return sbx_str_take(&b, len_out);
}
