/* errinfo.c - the owned error description used by the sans-I/O mappers.
 *
 * Messages end up in logs and in sbx_error.message, which callers print on one
 * line, so the text is cleaned after formatting: control characters become
 * spaces, invalid UTF-8 becomes '?', and a multi-byte character cut by the
 * truncation is dropped rather than left half-written. */
#include "errinfo.h"

#include <stdio.h>
#include <string.h>

void sbx_errinfo_clear(struct sbx_errinfo *e) {
  if (!e) return;
  memset(e, 0, sizeof *e);
  e->retry_after_ms = -1;
}

/* Length of the UTF-8 sequence led by c, 0 when c cannot start one. */
static size_t utf8_seq_len(unsigned char c) {
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return 2;
  if (c >= 0xe0 && c <= 0xef) return 3;
  if (c >= 0xf0 && c <= 0xf4) return 4;
  return 0;
}

/* Are the n-1 bytes after s[0] continuation bytes (and not an overlong or
 * surrogate form)? The caller made sure they are inside the string. */
static int utf8_seq_ok(const unsigned char *s, size_t n) {
  for (size_t i = 1; i < n; i++)
    if ((s[i] & 0xc0) != 0x80) return 0;
  if (n == 3 && s[0] == 0xe0 && s[1] < 0xa0) return 0; /* overlong */
  if (n == 3 && s[0] == 0xed && s[1] > 0x9f) return 0; /* surrogate */
  if (n == 4 && s[0] == 0xf0 && s[1] < 0x90) return 0; /* overlong */
  if (n == 4 && s[0] == 0xf4 && s[1] > 0x8f) return 0; /* > U+10FFFF */
  return 1;
}

/* Make msg (NUL-terminated) one line of valid UTF-8, in place. When the text
 * was truncated, a sequence cut at the end is removed. */
static void clean_message(char *msg, int truncated) {
  unsigned char *s = (unsigned char *)msg;
  size_t len = strlen(msg), i = 0;
  while (i < len) {
    size_t n = utf8_seq_len(s[i]);
    if (n == 1) {
      if (s[i] < 0x20 || s[i] == 0x7f) s[i] = ' ';
      i++;
    } else if (n > 1 && i + n > len && truncated) {
      s[i] = '\0'; /* a character cut by the truncation */
      return;
    } else if (n > 1 && i + n <= len && utf8_seq_ok(s + i, n)) {
      i += n;
    } else {
      s[i++] = '?';
    }
  }
}

/* Format into buf (size n > 0) and make the result one clean line. */
static void format_line(char *buf, size_t n, const char *fmt, va_list ap) {
  int k = fmt ? vsnprintf(buf, n, fmt, ap) : -1;
  if (k < 0) {
    buf[0] = '\0';
    return;
  }
  clean_message(buf, (size_t)k >= n);
}

void sbx_errinfo_vset(struct sbx_errinfo *e, int status, const char *fmt, va_list ap) {
  if (!e) return;
  e->status = status;
  format_line(e->message, sizeof e->message, fmt, ap);
}

int sbx_errbuf_set(char *buf, size_t n, int status, const char *fmt, ...) {
  if (!buf || !n) return status;
  va_list ap;
  va_start(ap, fmt);
  format_line(buf, n, fmt, ap);
  va_end(ap);
  return status;
}

void sbx_errinfo_set(struct sbx_errinfo *e, int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  sbx_errinfo_vset(e, status, fmt, ap);
  va_end(ap);
}

void sbx_errinfo_prefix(struct sbx_errinfo *e, const char *fmt, ...) {
  char prefix[SBX_ERRINFO_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  char old[SBX_ERRINFO_MSG_MAX];
  memcpy(old, e->message, sizeof old);
  old[sizeof old - 1] = 0;
  size_t pl = strlen(prefix), ol = strlen(old), cap = sizeof e->message - 1;
  size_t at = 0;
  memcpy(e->message, prefix, pl < cap ? pl : cap);
  at = pl < cap ? pl : cap;
  if (at + 2 <= cap) {
    memcpy(e->message + at, ": ", 2);
    at += 2;
  }
  size_t k = ol < cap - at ? ol : cap - at;
  memcpy(e->message + at, old, k);
  e->message[at + k] = 0;
}
