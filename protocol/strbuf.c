/* strbuf.c - see strbuf.h. */
#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sbx.h"

void sbx_str_init(struct sbx_str *s, const sbx_allocator *a) {
  memset(s, 0, sizeof *s);
  s->a = a;
}

static int reserve(struct sbx_str *s, size_t n) {
  if (s->failed) return SBX_ENOMEM;
  if (s->len + n + 1 <= s->cap) return 0;
  size_t cap = s->cap ? s->cap : 128;
  while (cap < s->len + n + 1)
    cap *= 2;
  char *d = sbx__realloc(s->a, s->data, cap);
  if (!d) {
    s->failed = 1;
    return SBX_ENOMEM;
  }
  s->data = d;
  s->cap = cap;
  return 0;
}

int sbx_str_add(struct sbx_str *s, const void *p, size_t n) {
  if (reserve(s, n) != 0) return SBX_ENOMEM;
  if (n) memcpy(s->data + s->len, p, n);
  s->len += n;
  s->data[s->len] = 0;
  return 0;
}

int sbx_str_adds(struct sbx_str *s, const char *z) {
  return sbx_str_add(s, z, strlen(z));
}

int sbx_str_addf(struct sbx_str *s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) {
    s->failed = 1;
    return SBX_ENOMEM;
  }
  if (reserve(s, (size_t)n) != 0) return SBX_ENOMEM;
  va_start(ap, fmt);
  vsnprintf(s->data + s->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  s->len += (size_t)n;
  return 0;
}

int sbx_str_url_encode(struct sbx_str *s, const char *z) {
  static const char hex[] = "0123456789ABCDEF";
  for (; *z; z++) {
    unsigned char ch = (unsigned char)*z;
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
        ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      if (sbx_str_add(s, z, 1) != 0) return SBX_ENOMEM;
    } else {
      char esc[3] = {'%', hex[ch >> 4], hex[ch & 15]};
      if (sbx_str_add(s, esc, 3) != 0) return SBX_ENOMEM;
    }
  }
  return s->failed ? SBX_ENOMEM : 0;
}

char *sbx_str_take(struct sbx_str *s, size_t *len) {
  char *d = NULL;
  if (!s->failed) {
    if (reserve(s, 0) == 0) d = s->data; /* "" when nothing was added */
    if (d) d[s->len] = 0;
  }
  if (len) *len = d ? s->len : 0;
  if (!d) sbx__free(s->a, s->data);
  const sbx_allocator *a = s->a;
  sbx_str_init(s, a);
  return d;
}

void sbx_str_free(struct sbx_str *s) {
  sbx__free(s->a, s->data);
  sbx_str_init(s, s->a);
}
