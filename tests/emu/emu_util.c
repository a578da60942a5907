/* emu_util.c - small helpers shared by sbx-emu's routes. */
#include "emu_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

int emu_buf_add(struct emu_buf *b, const void *data, size_t len) {
  if (len > SIZE_MAX - b->len - 1) return -1;
  if (b->len + len + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + len + 1) {
      if (cap > SIZE_MAX / 2) return -1;
      cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p) return -1;
    b->data = p;
    b->cap = cap;
  }
  if (len) memcpy(b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
  return 0;
}

int emu_buf_printf(struct emu_buf *b, const char *fmt, ...) {
  char small[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return -1;
  if ((size_t)n < sizeof small) return emu_buf_add(b, small, (size_t)n);
  char *big = malloc((size_t)n + 1);
  if (!big) return -1;
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  int rc = emu_buf_add(b, big, (size_t)n);
  free(big);
  return rc;
}

void emu_buf_consume(struct emu_buf *b, size_t n) {
  if (n >= b->len) {
    b->len = 0;
  } else {
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
  }
  if (b->data) b->data[b->len] = '\0';
}

void emu_buf_free(struct emu_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char *emu_pct_decode(const char *s, size_t len, int plus_space) {
  char *out = malloc(len + 1);
  if (!out) return NULL;
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '%') {
      int hi = i + 2 < len ? hexval((unsigned char)s[i + 1]) : -1;
      int lo = i + 2 < len ? hexval((unsigned char)s[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        free(out);
        return NULL;
      }
      out[o++] = (char)(hi * 16 + lo);
      i += 2;
    } else if (s[i] == '+' && plus_space) {
      out[o++] = ' ';
    } else {
      out[o++] = s[i];
    }
  }
  out[o] = '\0';
  return out;
}

char *emu_query_get(const char *query, const char *name) {
  size_t nlen = strlen(name);
  const char *p = query ? query : "";
  while (*p) {
    const char *amp = strchr(p, '&');
    size_t seg = amp ? (size_t)(amp - p) : strlen(p);
    const char *eq = memchr(p, '=', seg);
    size_t klen = eq ? (size_t)(eq - p) : seg;
    char *key = emu_pct_decode(p, klen, 1);
    int match = key && strlen(key) == nlen && memcmp(key, name, nlen) == 0;
    free(key);
    if (match) return eq ? emu_pct_decode(eq + 1, seg - klen - 1, 1) : strdup("");
    p += seg;
    if (*p == '&') p++;
  }
  return NULL;
}

void emu_random(void *out, size_t n) {
  unsigned char *o = out;
  size_t got = 0;
  while (got < n) {
    ssize_t r = getrandom(o + got, n - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    got += (size_t)r;
  }
  if (got < n) { /* no getrandom: good enough for ids in a test emulator */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec * 6364136223846793005ULL ^ (uint64_t)ts.tv_sec;
    for (; got < n; got++) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      o[got] = (unsigned char)(x >> 33);
    }
  }
}

void emu_random_hex(char *out, size_t n) {
  static const char digits[] = "0123456789abcdef";
  unsigned char raw[64];
  size_t done = 0;
  while (done < n) {
    size_t chunk = n - done < sizeof raw ? n - done : sizeof raw;
    emu_random(raw, chunk);
    for (size_t i = 0; i < chunk; i++)
      out[done + i] = digits[raw[i] & 15];
    done += chunk;
  }
  out[n] = '\0';
}

void emu_random_alnum(char *out, size_t n) {
  static const char alpha[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char raw[64];
  size_t done = 0;
  while (done < n) {
    size_t chunk = n - done < sizeof raw ? n - done : sizeof raw;
    emu_random(raw, chunk);
    /* 252 = 7 * 36: reject the tail so every symbol is equally likely */
    for (size_t i = 0; i < chunk && done < n; i++)
      if (raw[i] < 252) out[done++] = alpha[raw[i] % 36];
  }
  out[n] = '\0';
}

int64_t emu_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void emu_rfc3339_ms(int64_t ms, char *out, size_t out_len) {
  time_t sec = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&sec, &tm);
  char base[32];
  strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, out_len, "%s.%03dZ", base, (int)(ms % 1000));
}

void emu_rfc3339_ns(int64_t sec, long nsec, char *out, size_t out_len) {
  time_t t = (time_t)sec;
  struct tm tm;
  gmtime_r(&t, &tm);
  char base[32];
  strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
  if (nsec <= 0) {
    snprintf(out, out_len, "%sZ", base);
    return;
  }
  char frac[24];
  snprintf(frac, sizeof frac, "%09ld", nsec);
  size_t n = strlen(frac);
  while (n > 0 && frac[n - 1] == '0')
    frac[--n] = '\0'; /* Go trims trailing zeros */
  snprintf(out, out_len, "%s.%sZ", base, frac);
}

static const char b64_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *emu_b64_encode(const void *in, size_t n, size_t *out_len) {
  const unsigned char *s = in;
  size_t olen = (n + 2) / 3 * 4;
  char *out = malloc(olen + 1);
  if (!out) return NULL;
  size_t o = 0, i = 0;
  for (; i + 2 < n; i += 3) {
    uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
    out[o++] = b64_alpha[v >> 18];
    out[o++] = b64_alpha[(v >> 12) & 63];
    out[o++] = b64_alpha[(v >> 6) & 63];
    out[o++] = b64_alpha[v & 63];
  }
  if (i < n) {
    uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);
    out[o++] = b64_alpha[v >> 18];
    out[o++] = b64_alpha[(v >> 12) & 63];
    out[o++] = i + 1 < n ? b64_alpha[(v >> 6) & 63] : '=';
    out[o++] = '=';
  }
  out[o] = '\0';
  if (out_len) *out_len = o;
  return out;
}

static int b64_val(int c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

unsigned char *emu_b64_decode(const char *in, size_t n, size_t *out_len) {
  while (n > 0 && in[n - 1] == '=')
    n--;
  unsigned char *out = malloc(n / 4 * 3 + 3);
  if (!out) return NULL;
  size_t o = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    int v = b64_val((unsigned char)in[i]);
    if (v < 0) {
      free(out);
      return NULL;
    }
    acc = acc << 6 | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (unsigned char)(acc >> bits);
    }
  }
  if (bits >= 6) { /* a lone trailing symbol carries no whole byte */
    free(out);
    return NULL;
  }
  *out_len = o;
  return out;
}

void emu_reply_json(struct emu_req *req, int status, json_t *v, const struct emu_header *extra,
                    size_t n_extra) {
  char *body = v ? json_dumps(v, JSON_COMPACT) : NULL;
  json_decref(v);
  if (!body) {
    static const char oom[] = "{\"code\":500,\"message\":\"out of memory\"}";
    struct emu_header h = {(char *)"content-type", (char *)"application/json"};
    if (emu_resp_start(req, 500, &h, 1, (int64_t)(sizeof oom - 1)) == 0)
      emu_resp_write(req, oom, sizeof oom - 1);
    emu_resp_end(req);
    return;
  }
  size_t len = strlen(body);
  struct emu_header hdrs[8];
  size_t n = 0;
  hdrs[n++] = (struct emu_header){(char *)"content-type", (char *)"application/json"};
  for (size_t i = 0; i < n_extra && n < 8; i++)
    hdrs[n++] = extra[i];
  if (emu_resp_start(req, status, hdrs, n, (int64_t)len) == 0) emu_resp_write(req, body, len);
  emu_resp_end(req);
  free(body);
}

void emu_reply_error(struct emu_req *req, int status, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  emu_reply_json(req, status, json_pack("{s:i,s:s}", "code", status, "message", msg), NULL, 0);
}

void emu_reply_empty(struct emu_req *req, int status) {
  emu_resp_start(req, status, NULL, 0, 0);
  emu_resp_end(req);
}

json_t *emu_req_json(const struct emu_req *req) {
  size_t i = 0;
  while (i < req->body_len && (req->body[i] == ' ' || req->body[i] == '\n' ||
                               req->body[i] == '\r' || req->body[i] == '\t'))
    i++;
  if (i == req->body_len) return json_object();
  json_t *v = json_loadb(req->body, req->body_len, 0, NULL);
  if (v && !json_is_object(v)) {
    json_decref(v);
    return NULL;
  }
  return v;
}
