/* ws_reader.h - the client's read side of a WebSocket (RFC 6455), sans-I/O:
 * the server's bytes in, message payload pieces and the close code out.
 * Frames are taken apart by libwslay's frame layer; this module adds what a
 * client must check on top (unmasked server frames, no reserved bits, known
 * opcodes, message fragmentation, close codes). Payloads are never buffered
 * whole: each piece goes out as wslay hands it over (at most 4 KiB). Not
 * done: UTF-8 checks of text (pieces may cut a character anyway) and of the
 * close reason; where a message ends is not reported (a log stream needs
 * neither).
 *
 * Memory: one reader per live stream, about 5 KiB, nearly all of it wslay's
 * frame context (its 4 KiB input buffer); the reader's own part is ~100 bytes.
 *
 * Also the two handshake helpers: the Sec-WebSocket-Key a client sends and
 * the check of the server's Sec-WebSocket-Accept. */
#ifndef SBX_PROTOCOL_WS_READER_H
#define SBX_PROTOCOL_WS_READER_H

#include "alloc.h"
#include <stddef.h>

enum { SBX_WS_CLOSED = 1 };

struct sbx_ws_reader; /* opaque, allocated */

/* Called for each piece of a text or binary message's payload, in order
 * (continuations included; pieces may be any size, never empty). opcode is
 * the message's: 1 text, 2 binary. Return 0 to go on; non-zero stops the
 * feed, which returns that value. */
typedef int (*sbx_ws_data_fn)(void *ud, int opcode, const char *data, size_t len);

/* NULL when out of memory. */
/* a: the reader's own memory (NULL: libc's); borrowed, must outlive it.
 * wslay's frame context uses libc's. */
struct sbx_ws_reader *sbx_ws_reader_new(const sbx_allocator *a);
void sbx_ws_reader_free(struct sbx_ws_reader *r);

/* Feed the next bytes. Returns 0 (need more); SBX_WS_CLOSED once a whole
 * close frame was read (bytes after it are ignored, later feeds return
 * SBX_WS_CLOSED again); SBX_EPROTO with a one-line reason in err (errlen
 * bytes, may be NULL/0); or on_data's non-zero value. Errors and stops are
 * final: later feeds return the same value (SBX_EPROTO with "WebSocket:
 * reader already failed or stopped"). */
int sbx_ws_reader_feed(struct sbx_ws_reader *r, const char *data, size_t len,
                       sbx_ws_data_fn on_data, void *ud, char *err, size_t errlen);

/* The close frame's code: 1005 when it had none; 0 before a close. */
int sbx_ws_reader_close_code(const struct sbx_ws_reader *r);
/* The stream ended here: 1 when it stopped inside a frame or a fragmented
 * message (truncated), else 0. */
int sbx_ws_reader_mid_frame(const struct sbx_ws_reader *r);
/* Pings seen (a read-only reader cannot answer them). */
unsigned long sbx_ws_reader_pings(const struct sbx_ws_reader *r);

/* Sec-WebSocket-Key: base64 of the 16-byte nonce, NUL-terminated. */
void sbx_ws_make_key(const unsigned char nonce[16], char out[25]);
/* 1 when accept is base64(SHA-1(key + the RFC 6455 GUID)), else 0. */
int sbx_ws_accept_ok(const char *key, const char *accept);

#endif
