/* connect.h - Connect-RPC (protocol v1, JSON codec) envelopes and errors.
 * Sans-I/O: no sockets, no curl. The decoder accepts input split at any byte
 * and copies only the part of a message that straddles two inputs. */
#ifndef SBX_PROTOCOL_CONNECT_H
#define SBX_PROTOCOL_CONNECT_H

#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "errinfo.h"

#define SBX_CONNECT_FLAG_COMPRESSED 0x01u
#define SBX_CONNECT_FLAG_END_STREAM 0x02u
#define SBX_CONNECT_PREFIX_LEN 5

/* Called once per complete message. payload is borrowed for the call.
 * Return 0 to go on, non-zero to stop feeding (feed then returns that value). */
typedef int (*sbx_connect_msg_fn)(void *ud, unsigned flags, const char *payload, size_t len);

enum sbx_connect_dec_state {
  SBX_CONNECT_DEC_PREFIX,
  SBX_CONNECT_DEC_PAYLOAD,
  SBX_CONNECT_DEC_FAILED
};

struct sbx_connect_decoder {
  enum sbx_connect_dec_state state;
  unsigned char prefix[SBX_CONNECT_PREFIX_LEN];
  size_t prefix_have;
  unsigned flags;
  uint32_t len; /* payload length of the current message */
  size_t have;  /* payload bytes buffered so far */
  char *buf;    /* only for a message split across feeds */
  size_t cap;
  size_t max_msg;             /* hard cap on one message's payload */
  int saw_end;                /* an end-stream envelope was decoded */
  const sbx_allocator *alloc; /* for buf */
};

/* a: where a split message is buffered (NULL: libc's); borrowed. */
void sbx_connect_decoder_init(struct sbx_connect_decoder *d, size_t max_msg,
                              const sbx_allocator *a);
void sbx_connect_decoder_free(struct sbx_connect_decoder *d);
/* Feed bytes. Returns 0, the callback's non-zero stop value, or a negative
 * sbx_status with err filled: SBX_ETOOBIG (message over max_msg), SBX_EPROTO
 * (compressed flag, unknown flags, data after end-stream). After an error the
 * decoder stays failed. */
int sbx_connect_decoder_feed(struct sbx_connect_decoder *d, const char *data, size_t len,
                             sbx_connect_msg_fn fn, void *ud, struct sbx_errinfo *err);
/* At end of body: SBX_OK when the stream ended cleanly with an end-stream
 * envelope, else SBX_EPROTO ("truncated envelope" / "missing end-stream"). */
int sbx_connect_decoder_finish(const struct sbx_connect_decoder *d, struct sbx_errinfo *err);

/* Write the 5-byte prefix for a payload of len bytes into out. */
void sbx_connect_encode_prefix(unsigned flags, uint32_t len, unsigned char out[5]);

/* Connect code name ("not_found") -> sbx_status; unknown names -> SBX_EPROVIDER. */
int sbx_connect_code_status(const char *code);
/* Is a Connect code worth retrying (unavailable, resource_exhausted, aborted)? */
int sbx_connect_code_retryable(const char *code);
/* The client-side mapping of an HTTP status to a Connect code name. */
const char *sbx_connect_code_from_http(int http_status);

/* Parse an end-stream payload: {} -> SBX_OK;
 * {"error":{"code","message"}} -> the mapped status with err filled;
 * invalid JSON -> SBX_EPROTO. */
int sbx_connect_parse_end_stream(const char *json, size_t len, struct sbx_errinfo *err);
/* Parse a unary error body {"code":"not_found","message":...} sent with a
 * non-200 status; falls back to the status mapping when the body is not
 * JSON or has no string code. Always returns a negative status. */
int sbx_connect_parse_unary_error(int http_status, const char *body, size_t len,
                                  struct sbx_errinfo *err);

#endif
