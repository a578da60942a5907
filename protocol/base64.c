/* base64.c - RFC 4648 base64 for proto3 JSON bytes fields.
 *
 * Writers emit the standard alphabet with padding (what protojson and
 * protobuf-es send); readers must also accept the URL-safe alphabet and
 * unpadded input (proto3 JSON rules). Anything else is rejected: whitespace,
 * other characters, a mix of both alphabets, misplaced or partial padding. */
#include "base64.h"

static const char enc_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t sbx_base64_encoded_len(size_t n) {
  return (n + 2) / 3 * 4;
}

size_t sbx_base64_encode(const void *in, size_t n, char *out) {
  const unsigned char *p = in;
  size_t o = 0, i = 0;
  for (; i + 3 <= n; i += 3) {
    unsigned long v = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8 | p[i + 2];
    out[o++] = enc_std[v >> 18 & 63];
    out[o++] = enc_std[v >> 12 & 63];
    out[o++] = enc_std[v >> 6 & 63];
    out[o++] = enc_std[v & 63];
  }
  if (n - i == 1) {
    unsigned long v = (unsigned long)p[i] << 16;
    out[o++] = enc_std[v >> 18 & 63];
    out[o++] = enc_std[v >> 12 & 63];
    out[o++] = '=';
    out[o++] = '=';
  } else if (n - i == 2) {
    unsigned long v = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8;
    out[o++] = enc_std[v >> 18 & 63];
    out[o++] = enc_std[v >> 12 & 63];
    out[o++] = enc_std[v >> 6 & 63];
    out[o++] = '=';
  }
  out[o] = '\0';
  return o;
}

enum { ALPHA_STD = 1, ALPHA_URL = 2 };

/* Value of one base64 digit, or -1. *seen collects which alphabet-specific
 * digits appeared, so that a mix of the two can be refused. */
static int dec_digit(unsigned char c, unsigned *seen) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  switch (c) {
  case '+': *seen |= ALPHA_STD; return 62;
  case '/': *seen |= ALPHA_STD; return 63;
  case '-': *seen |= ALPHA_URL; return 62;
  case '_': *seen |= ALPHA_URL; return 63;
  default: return -1;
  }
}

/* Strip valid padding from the end of in: returns the data length, or
 * (size_t)-1 when the padding is malformed. */
static size_t strip_padding(const char *in, size_t n) {
  size_t pad = 0;
  while (pad < n && in[n - 1 - pad] == '=')
    pad++;
  if (pad == 0) return n;
  size_t data = n - pad;
  /* Padded input comes in whole quads, with 1 or 2 '=' after 3 or 2 digits. */
  if (n % 4 != 0 || pad > 2 || data % 4 != 4 - pad) return (size_t)-1;
  return data;
}

long sbx_base64_decode(const char *in, size_t n, unsigned char *out) {
  size_t data = strip_padding(in, n);
  if (data == (size_t)-1 || data % 4 == 1) return -1;
  unsigned seen = 0;
  unsigned long acc = 0;
  int bits = 0;
  long o = 0;
  for (size_t i = 0; i < data; i++) {
    int v = dec_digit((unsigned char)in[i], &seen);
    if (v < 0) return -1;
    acc = (acc << 6 | (unsigned long)v) & 0xffffffUL;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (unsigned char)(acc >> bits & 0xff);
    }
  }
  if (seen == (ALPHA_STD | ALPHA_URL)) return -1;
  return o;
}
