/* json_pick.c - see json_pick.h. The scanner accepts a subset of what
 * jansson accepts and builds the values it keeps exactly as jansson would;
 * anything else makes it give up, and jansson parses the whole buffer. */
#include "json_pick.h"

#include <stdlib.h>
#include <string.h>

#include "json_util.h"

#define PICK_MAX_DEPTH 32     /* deeper nesting: jansson */
#define PICK_MAX_INT_LEN 18   /* sign and digits: never overflows json_int_t */
#define PICK_MAX_REAL_LEN 300 /* no exponent and this short: always finite */

struct scan {
  const char *p, *end;
};

enum kind { K_BAD = -1, K_STR, K_ESC_STR, K_INT, K_OTHER, K_TRUE, K_FALSE, K_NULL };

static void skip_ws(struct scan *s) {
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
    s->p++;
}

/* Skip whitespace, then ch when it comes next. */
static int take(struct scan *s, char ch) {
  skip_ws(s);
  if (s->p == s->end || *s->p != ch) return 0;
  s->p++;
  return 1;
}

/* A string at s->p: printable ASCII and one-character escapes only. The
 * body (escapes left in) goes to *str and *n; *esc tells of escapes. */
static int scan_string(struct scan *s, const char **str, size_t *n, int *esc) {
  *esc = 0;
  for (const char *p = s->p + 1; p < s->end; p++) {
    unsigned char ch = (unsigned char)*p;
    if (ch == '"') {
      *str = s->p + 1;
      *n = (size_t)(p - *str);
      s->p = p + 1;
      return 0;
    }
    if (ch < 0x20 || ch >= 0x80) return -1;
    if (ch == '\\') {
      if (++p == s->end || !memchr("\"\\/bfnrt", *p, 8)) return -1;
      *esc = 1;
    }
  }
  return -1;
}

/* A key: a string without escapes (an escaped key might be a wanted one). */
static int scan_key(struct scan *s, const char **key, size_t *n) {
  int esc;
  skip_ws(s);
  if (s->p == s->end || *s->p != '"' || scan_string(s, key, n, &esc) != 0 || esc) return -1;
  return take(s, ':') ? 0 : -1;
}

static const char *digits(const char *p, const char *end) {
  while (p < end && *p >= '0' && *p <= '9')
    p++;
  return p;
}

/* K_INT, K_OTHER for a real without an exponent, or K_BAD. */
static enum kind scan_number(struct scan *s) {
  const char *p = s->p, *end = s->end;
  if (p < end && *p == '-') p++;
  if (p == end || *p < '0' || *p > '9') return K_BAD;
  p = *p == '0' ? p + 1 : digits(p, end);
  enum kind k = K_INT;
  if (p < end && *p == '.') {
    const char *q = digits(p + 1, end);
    if (q == p + 1) return K_BAD;
    p = q;
    k = K_OTHER;
  }
  if (p < end && (*p == 'e' || *p == 'E')) return K_BAD;
  if ((size_t)(p - s->p) > (k == K_INT ? PICK_MAX_INT_LEN : PICK_MAX_REAL_LEN)) return K_BAD;
  s->p = p;
  return k;
}

static int scan_literal(struct scan *s, const char *lit, size_t n) {
  if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0) return -1;
  s->p += n;
  return 0;
}

static enum kind skip_value(struct scan *s, int depth);

/* The members of an object or the items of an array, after the bracket. */
static int skip_items(struct scan *s, char close, int depth) {
  if (depth > PICK_MAX_DEPTH) return -1;
  if (take(s, close)) return 0;
  for (;;) {
    const char *key;
    size_t n;
    if (close == '}' && scan_key(s, &key, &n) != 0) return -1;
    if (skip_value(s, depth) == K_BAD) return -1;
    if (take(s, close)) return 0;
    if (!take(s, ',')) return -1;
  }
}

static enum kind skip_value(struct scan *s, int depth) {
  skip_ws(s);
  if (s->p == s->end) return K_BAD;
  const char *str;
  size_t n;
  int esc;
  switch (*s->p) {
  case '"': return scan_string(s, &str, &n, &esc) ? K_BAD : esc ? K_ESC_STR : K_STR;
  case '{': s->p++; return skip_items(s, '}', depth + 1) ? K_BAD : K_OTHER;
  case '[': s->p++; return skip_items(s, ']', depth + 1) ? K_BAD : K_OTHER;
  case 't': return scan_literal(s, "true", 4) ? K_BAD : K_TRUE;
  case 'f': return scan_literal(s, "false", 5) ? K_BAD : K_FALSE;
  case 'n': return scan_literal(s, "null", 4) ? K_BAD : K_NULL;
  default: return scan_number(s);
  }
}

/* A string body with one-character escapes. */
static json_t *unescape(const char *str, size_t n) {
  /* Scratch for a jansson value: jansson's memory, like the value itself. */
  json_malloc_t jmalloc;
  json_free_t jfree;
  json_get_alloc_funcs(&jmalloc, &jfree);
  char *d = jmalloc(n + 1), *o = d;
  if (!d) return NULL;
  for (size_t i = 0; i < n; i++) {
    char ch = str[i];
    if (ch == '\\') {
      ch = str[++i];
      ch = ch == 'b'   ? '\b'
           : ch == 'f' ? '\f'
           : ch == 'n' ? '\n'
           : ch == 'r' ? '\r'
           : ch == 't' ? '\t'
                       : ch;
    }
    *o++ = ch;
  }
  json_t *v = json_stringn(d, (size_t)(o - d));
  jfree(d);
  return v;
}

/* The value scanned from v to end, as jansson would build it. */
static json_t *build(enum kind k, const char *v, const char *end) {
  size_t n = (size_t)(end - v);
  char num[PICK_MAX_INT_LEN + 1];
  switch (k) {
  case K_STR: return json_stringn(v + 1, n - 2);
  case K_ESC_STR: return unescape(v + 1, n - 2);
  case K_INT:
    memcpy(num, v, n);
    num[n] = 0;
    return json_integer(strtoll(num, NULL, 10));
  case K_TRUE: return json_true();
  case K_FALSE: return json_false();
  case K_NULL: return json_null();
  default: return json_loadb(v, n, JSON_DECODE_ANY, NULL); /* objects, arrays, reals */
  }
}

static const char *wanted(const char *const *keys, const char *k, size_t n) {
  for (; *keys; keys++) /* the first byte rules out most keys without a call */
    if (n && (*keys)[0] == k[0] && strncmp(*keys, k, n) == 0 && (*keys)[n] == 0) return *keys;
  return NULL;
}

/* The wanted members of the object in buf, or NULL: let jansson decide. */
static json_t *pick(const char *buf, size_t len, const char *const *keys) {
  struct scan s = {buf, buf + len};
  if (!take(&s, '{')) return NULL;
  json_t *o = json_object();
  if (!o) return NULL;
  if (!take(&s, '}')) {
    for (;;) {
      const char *k;
      size_t n;
      if (scan_key(&s, &k, &n) != 0) goto bail;
      const char *key = wanted(keys, k, n);
      skip_ws(&s);
      const char *v = s.p;
      enum kind kind = skip_value(&s, 1);
      if (kind == K_BAD) goto bail;
      if (key) {
        json_t *val = build(kind, v, s.p);
        if (!val || json_object_set_new(o, key, val) != 0) goto bail;
      }
      if (take(&s, '}')) break;
      if (!take(&s, ',')) goto bail;
    }
  }
  skip_ws(&s);
  if (s.p == s.end) return o;
bail:
  json_decref(o);
  return NULL;
}

json_t *sbx_json_load_keys(const char *buf, size_t len, const char *const *keys, char *why,
                           size_t why_len) {
  json_t *v = buf && keys ? pick(buf, len, keys) : NULL;
  return v ? v : sbx_json_loadb(buf, len, why, why_len);
}
