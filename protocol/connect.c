/* connect.c - Connect protocol v1 envelopes (JSON codec) and error mapping.
 *
 * The decoder works like nghttp2's session_mem_recv: the caller pushes
 * whatever bytes the transport produced and gets one callback per complete
 * message. A message that lies wholly inside the pushed chunk is handed out as
 * a pointer into that chunk; only a message split across chunks is copied
 * into d->buf, which grows as needed but never beyond max_msg.
 *
 * Stopping is final. When the callback returns non-zero, feed returns that
 * value at once, the rest of the chunk is left unread and the decoder goes to
 * the failed state: later feeds return SBX_EPROTO and finish() reports the
 * stream as not cleanly ended. A caller that stops has its own reason (a
 * cancelled op, an error already recorded) and must not rely on the decoder
 * afterwards. */
#include "connect.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_util.h"
#include "sbx.h"

#define KNOWN_FLAGS (SBX_CONNECT_FLAG_COMPRESSED | SBX_CONNECT_FLAG_END_STREAM)

void sbx_connect_decoder_init(struct sbx_connect_decoder *d, size_t max_msg,
                              const sbx_allocator *a) {
  memset(d, 0, sizeof *d);
  d->alloc = a;
  d->state = SBX_CONNECT_DEC_PREFIX;
  d->max_msg = max_msg;
}

void sbx_connect_decoder_free(struct sbx_connect_decoder *d) {
  if (!d) return;
  sbx__free(d->alloc, d->buf);
  d->buf = NULL;
  d->cap = 0;
}

/* Move to the failed state and describe why; returns status. */
__attribute__((format(printf, 4, 5))) static int
dec_fail(struct sbx_connect_decoder *d, struct sbx_errinfo *err, int status, const char *fmt, ...) {
  va_list ap;
  d->state = SBX_CONNECT_DEC_FAILED;
  va_start(ap, fmt);
  sbx_errinfo_vset(err, status, fmt, ap);
  va_end(ap);
  return status;
}

/* The 5-byte prefix is complete: check it and start the message. */
static int dec_start_message(struct sbx_connect_decoder *d, struct sbx_errinfo *err) {
  const unsigned char *p = d->prefix;
  unsigned flags = p[0];
  uint32_t len = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
  d->prefix_have = 0;
  if (flags & SBX_CONNECT_FLAG_COMPRESSED)
    return dec_fail(d, err, SBX_EPROTO, "compressed envelope not supported");
  if (flags & ~KNOWN_FLAGS)
    return dec_fail(d, err, SBX_EPROTO, "unknown envelope flags 0x%02x", flags);
  if (len > d->max_msg)
    return dec_fail(d, err, SBX_ETOOBIG, "envelope of %lu bytes exceeds the %zu-byte cap",
                    (unsigned long)len, d->max_msg);
  d->flags = flags;
  d->len = len;
  d->have = 0;
  return 0;
}

/* Hand one complete message to the callback. The decoder is back in the
 * prefix state first, so a stop leaves nothing half-done. */
static int dec_deliver(struct sbx_connect_decoder *d, const char *payload, sbx_connect_msg_fn fn,
                       void *ud) {
  d->state = SBX_CONNECT_DEC_PREFIX;
  d->have = 0;
  if (d->flags & SBX_CONNECT_FLAG_END_STREAM) d->saw_end = 1;
  int rc = fn ? fn(ud, d->flags, payload, d->len) : 0;
  if (rc != 0) d->state = SBX_CONNECT_DEC_FAILED; /* stopping is final, see above */
  return rc;
}

/* Make d->buf hold at least need bytes (need <= max_msg). */
static int dec_reserve(struct sbx_connect_decoder *d, size_t need, struct sbx_errinfo *err) {
  if (need <= d->cap) return 0;
  size_t cap = d->cap ? d->cap : 256;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  if (cap > d->max_msg) cap = d->max_msg;
  char *nb = sbx__realloc(d->alloc, d->buf, cap);
  if (!nb) return dec_fail(d, err, SBX_ENOMEM, "out of memory buffering a %zu-byte envelope", need);
  d->buf = nb;
  d->cap = cap;
  return 0;
}

/* Consume prefix bytes from data; deliver the message if it is complete in
 * data, else start buffering it. *off advances past what was used. */
static int dec_prefix_step(struct sbx_connect_decoder *d, const char *data, size_t len, size_t *off,
                           sbx_connect_msg_fn fn, void *ud, struct sbx_errinfo *err) {
  if (d->saw_end) return dec_fail(d, err, SBX_EPROTO, "data after end-stream envelope");
  size_t take = SBX_CONNECT_PREFIX_LEN - d->prefix_have;
  if (take > len - *off) take = len - *off;
  memcpy(d->prefix + d->prefix_have, data + *off, take);
  d->prefix_have += take;
  *off += take;
  if (d->prefix_have < SBX_CONNECT_PREFIX_LEN) return 0;
  int rc = dec_start_message(d, err);
  if (rc) return rc;
  if (d->len == 0) return dec_deliver(d, "", fn, ud);
  size_t avail = len - *off;
  if (avail >= d->len) { /* whole message in this chunk: no copy */
    const char *payload = data + *off;
    *off += d->len;
    return dec_deliver(d, payload, fn, ud);
  }
  rc = dec_reserve(d, d->len, err);
  if (rc) return rc;
  memcpy(d->buf, data + *off, avail);
  d->have = avail;
  *off = len;
  d->state = SBX_CONNECT_DEC_PAYLOAD;
  return 0;
}

/* Continue a message that straddles chunks. */
static int dec_payload_step(struct sbx_connect_decoder *d, const char *data, size_t len,
                            size_t *off, sbx_connect_msg_fn fn, void *ud) {
  size_t take = d->len - d->have;
  if (take > len - *off) take = len - *off;
  memcpy(d->buf + d->have, data + *off, take);
  d->have += take;
  *off += take;
  if (d->have < d->len) return 0;
  return dec_deliver(d, d->buf, fn, ud);
}

int sbx_connect_decoder_feed(struct sbx_connect_decoder *d, const char *data, size_t len,
                             sbx_connect_msg_fn fn, void *ud, struct sbx_errinfo *err) {
  size_t off = 0;
  if (d->state == SBX_CONNECT_DEC_FAILED) {
    sbx_errinfo_set(err, SBX_EPROTO, "envelope decoder already failed or stopped");
    return SBX_EPROTO;
  }
  while (off < len) {
    int rc = d->state == SBX_CONNECT_DEC_PREFIX ? dec_prefix_step(d, data, len, &off, fn, ud, err)
                                                : dec_payload_step(d, data, len, &off, fn, ud);
    if (rc) return rc;
  }
  return 0;
}

int sbx_connect_decoder_finish(const struct sbx_connect_decoder *d, struct sbx_errinfo *err) {
  int st = SBX_EPROTO;
  if (d->state == SBX_CONNECT_DEC_FAILED)
    sbx_errinfo_set(err, st, "envelope decoder already failed or stopped");
  else if (d->state == SBX_CONNECT_DEC_PAYLOAD)
    sbx_errinfo_set(err, st, "truncated envelope (got %zu of %lu bytes)", d->have,
                    (unsigned long)d->len);
  else if (d->prefix_have > 0)
    sbx_errinfo_set(err, st, "truncated envelope (got %zu of %d prefix bytes)", d->prefix_have,
                    SBX_CONNECT_PREFIX_LEN);
  else if (!d->saw_end)
    sbx_errinfo_set(err, st, "stream ended without end-stream envelope");
  else
    st = SBX_OK;
  return st;
}

void sbx_connect_encode_prefix(unsigned flags, uint32_t len, unsigned char out[5]) {
  out[0] = (unsigned char)(flags & 0xffu);
  out[1] = (unsigned char)(len >> 24);
  out[2] = (unsigned char)(len >> 16);
  out[3] = (unsigned char)(len >> 8);
  out[4] = (unsigned char)len;
}

/* ---- codes ----------------------------------------------------------------- */

struct code_row {
  const char *name;
  int status;
  int retryable;
};

static const struct code_row code_table[] = {
    {"canceled", SBX_ECANCELED, 0},         {"unknown", SBX_EPROVIDER, 0},
    {"invalid_argument", SBX_EINVAL, 0},    {"deadline_exceeded", SBX_ETIMEDOUT, 0},
    {"not_found", SBX_ENOTFOUND, 0},        {"already_exists", SBX_ECONFLICT, 0},
    {"permission_denied", SBX_EAUTH, 0},    {"resource_exhausted", SBX_ERATELIMIT, 1},
    {"failed_precondition", SBX_EINVAL, 0}, {"aborted", SBX_ECONFLICT, 1},
    {"out_of_range", SBX_EINVAL, 0},        {"unimplemented", SBX_ENOTSUP, 0},
    {"internal", SBX_EPROVIDER, 0},         {"unavailable", SBX_EUNAVAIL, 1},
    {"data_loss", SBX_EPROVIDER, 0},        {"unauthenticated", SBX_EAUTH, 0},
};

static const struct code_row *code_find(const char *code) {
  if (!code) return NULL;
  for (size_t i = 0; i < sizeof code_table / sizeof code_table[0]; i++)
    if (strcmp(code_table[i].name, code) == 0) return &code_table[i];
  return NULL;
}

int sbx_connect_code_status(const char *code) {
  const struct code_row *r = code_find(code);
  return r ? r->status : SBX_EPROVIDER;
}

int sbx_connect_code_retryable(const char *code) {
  const struct code_row *r = code_find(code);
  return r ? r->retryable : 0;
}

const char *sbx_connect_code_from_http(int http_status) {
  switch (http_status) {
  case 400: return "internal";
  case 401: return "unauthenticated";
  case 403: return "permission_denied";
  case 404: return "unimplemented";
  case 429:
  case 502:
  case 503:
  case 504: return "unavailable";
  default: return "unknown";
  }
}

/* ---- errors ---------------------------------------------------------------- */

/* Fill err from a Connect code and message: "[code] message", or "[code]"
 * alone when the message is empty, as connect-es words it. */
static int fill_code_error(struct sbx_errinfo *err, int http_status, const char *code,
                           const char *msg, size_t msg_len) {
  int st = sbx_connect_code_status(code);
  if (!err) return st;
  sbx_errinfo_clear(err);
  err->http_status = http_status;
  err->retryable = sbx_connect_code_retryable(code);
  /* The code goes through the message cleaner so that it is one clean line
   * too, then is cut, on a character boundary, to fit provider_code. */
  sbx_errinfo_set(err, st, "%s", code);
  size_t n = strlen(err->message);
  if (n >= sizeof err->provider_code) {
    n = sizeof err->provider_code - 1;
    while (n > 0 && ((unsigned char)err->message[n] & 0xc0) == 0x80)
      n--;
  }
  memcpy(err->provider_code, err->message, n);
  err->provider_code[n] = '\0';
  if (msg_len > 0)
    sbx_errinfo_set(err, st, "[%s] %.*s", code, (int)(msg_len > 4096 ? 4096 : msg_len), msg);
  else
    sbx_errinfo_set(err, st, "[%s]", code);
  return st;
}

int sbx_connect_parse_end_stream(const char *json, size_t len, struct sbx_errinfo *err) {
  char why[128];
  json_t *root = sbx_json_loadb(json, len, why, sizeof why);
  if (!root) {
    sbx_errinfo_set(err, SBX_EPROTO, "invalid end-stream JSON: %s", why);
    return SBX_EPROTO;
  }
  int st = SBX_OK;
  json_t *e = json_is_object(root) ? json_object_get(root, "error") : NULL;
  if (!json_is_object(root)) {
    st = SBX_EPROTO;
    sbx_errinfo_set(err, st, "end-stream payload is not a JSON object");
  } else if (e && !json_is_null(e) && !json_is_object(e)) {
    st = SBX_EPROTO;
    sbx_errinfo_set(err, st, "end-stream \"error\" is not an object");
  } else if (json_is_object(e)) {
    /* connect-es treats an error without a valid code as "unknown". */
    const char *code = sbx_json_str(e, "code");
    json_t *m = json_object_get(e, "message");
    st = fill_code_error(err, 0, code ? code : "unknown", json_string_value(m),
                         json_is_string(m) ? json_string_length(m) : 0);
  }
  json_decref(root);
  return st;
}

/* First line of a non-JSON body, for the message; NULL for HTML, which
 * says nothing useful in its first line. */
static const char *body_snippet(const char *body, size_t len, size_t *out_len) {
  while (len > 0 && (*body == ' ' || *body == '\t' || *body == '\r' || *body == '\n')) {
    body++;
    len--;
  }
  if (len == 0 || *body == '<') return NULL;
  size_t n = 0;
  while (n < len && body[n] != '\r' && body[n] != '\n')
    n++;
  while (n > 0 && (body[n - 1] == ' ' || body[n - 1] == '\t'))
    n--;
  *out_len = n;
  return n ? body : NULL;
}

int sbx_connect_parse_unary_error(int http_status, const char *body, size_t len,
                                  struct sbx_errinfo *err) {
  json_t *root = body && len ? sbx_json_loadb(body, len, NULL, 0) : NULL;
  const char *code = NULL;
  int st;
  if (json_is_object(root)) {
    code = sbx_json_str(root, "code");
    json_t *m = json_object_get(root, "message");
    st = fill_code_error(err, http_status, code ? code : sbx_connect_code_from_http(http_status),
                         json_string_value(m), json_is_string(m) ? json_string_length(m) : 0);
  } else {
    /* Not JSON: the code comes from the status alone (connect-es says
     * "HTTP <status>"); a plain-text first line is kept for the reader. */
    char text[SBX_ERRINFO_MSG_MAX];
    size_t n = 0;
    const char *snip = body ? body_snippet(body, len, &n) : NULL;
    if (snip)
      snprintf(text, sizeof text, "HTTP %d: %.*s", http_status,
               (int)(n > sizeof text ? sizeof text : n), snip);
    else
      snprintf(text, sizeof text, "HTTP %d", http_status);
    st = fill_code_error(err, http_status, sbx_connect_code_from_http(http_status), text,
                         strlen(text));
  }
  json_decref(root);
  return st;
}
