/* emu_util.h - small helpers shared by sbx-emu's routes: growable buffers,
 * percent-decoding, query parameters, ids, time stamps, JSON replies. */
#ifndef SBX_EMU_UTIL_H
#define SBX_EMU_UTIL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "emu_http.h"

struct emu_buf {
  char *data;
  size_t len;
  size_t cap;
};

/* Append; -1 on allocation failure (the buffer is left as it was). */
int emu_buf_add(struct emu_buf *b, const void *data, size_t len);
int emu_buf_printf(struct emu_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drop the first n bytes. */
void emu_buf_consume(struct emu_buf *b, size_t n);
void emu_buf_free(struct emu_buf *b);

/* Percent-decode len bytes; '+' becomes a space when plus_space. Returns a
 * malloc'd NUL-terminated string (NULL on bad escapes or no memory). */
char *emu_pct_decode(const char *s, size_t len, int plus_space);
/* The decoded value of a query parameter (form encoding), or NULL. */
char *emu_query_get(const char *query, const char *name);

/* Random bytes from the kernel; falls back to a time-seeded mix. */
void emu_random(void *out, size_t n);
/* n random lower-case hex digits plus NUL into out (n + 1 bytes). */
void emu_random_hex(char *out, size_t n);
/* n random [a-z0-9] plus NUL into out. */
void emu_random_alnum(char *out, size_t n);

/* Wall clock in milliseconds since the epoch. */
int64_t emu_now_ms(void);
/* RFC 3339 UTC with milliseconds ("2026-11-25T19:15:32.955Z"); out >= 32. */
void emu_rfc3339_ms(int64_t ms, char *out, size_t out_len);
/* RFC 3339 UTC with nanoseconds when non-zero; out >= 40. */
void emu_rfc3339_ns(int64_t sec, long nsec, char *out, size_t out_len);

/* Standard base64 with padding; malloc'd, NUL-terminated. */
char *emu_b64_encode(const void *in, size_t n, size_t *out_len);
/* Decode standard or URL-safe base64, padded or not; malloc'd. NULL on bad input. */
unsigned char *emu_b64_decode(const char *in, size_t n, size_t *out_len);

/* Replies. emu_reply_json steals the reference to v. */
void emu_reply_json(struct emu_req *req, int status, json_t *v, const struct emu_header *extra,
                    size_t n_extra);
/* {"code":status,"message":msg} */
void emu_reply_error(struct emu_req *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* 204 without a body. */
void emu_reply_empty(struct emu_req *req, int status);

/* Parse the request body as a JSON object; an empty body gives {}. NULL when
 * it is not an object (the caller answers 400). */
json_t *emu_req_json(const struct emu_req *req);

#endif
