/* ws_reader.c - see ws_reader.h.
 *
 * wslay's frame layer pulls bytes through a recv callback; here it hands out
 * the bytes of the feed in progress and says "none" when they are used up,
 * which makes wslay_frame_recv return WSLAY_ERR_WANT_READ with its state
 * kept for the next feed. wslay checks that control frames are final and at
 * most 125 bytes and that lengths use their shortest form; it does not check
 * masks, reserved bits, opcodes or fragmentation, which is done here.
 *
 * wslay fills the frame fields only once it hands over payload (or finishes
 * an empty frame), so the first piece of a frame is where its header is
 * judged, and the payload length counts down to the frame's end. */
#include "ws_reader.h"

#include "base64.h"
#include "errinfo.h"
#include "sbx.h"

#include <openssl/sha.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wslay/wslay.h>

/* More than the longest header (14 bytes): a header wslay holds started at
 * most that far before the current feed. */
enum { TAIL_MAX = 16 };

struct sbx_ws_reader {
  wslay_frame_context_ptr ctx;
  const sbx_allocator *alloc;
  const char *in; /* the feed in progress; in_pos bytes of it went to wslay */
  size_t in_len, in_pos;
  uint64_t base;     /* stream offset of in[0] */
  uint64_t frame_at; /* stream offset of the current (or next) frame's header */
  uint64_t left;     /* payload bytes of the current frame still to come */
  unsigned long pings;
  int result; /* final: SBX_WS_CLOSED, SBX_EPROTO or a stop value; 0 while reading */
  int close_code;
  unsigned char in_frame, op;           /* op: the current frame's opcode */
  unsigned char msg_op;                 /* 1 or 2 while a data message is unfinished */
  unsigned char code[2], n_code;        /* the close code's bytes: only one close is ever read */
  unsigned char tail[TAIL_MAX], n_tail; /* the stream's last bytes before in[0] */
};

static ssize_t hand_over(uint8_t *buf, size_t len, int flags, void *ud) {
  struct sbx_ws_reader *r = ud;
  size_t n = r->in_len - r->in_pos;
  if (n == 0) return -1; /* wslay then says WSLAY_ERR_WANT_READ */
  if (n > len) n = len;
  memcpy(buf, r->in + r->in_pos, n);
  r->in_pos += n;
  return (ssize_t)n;
}

struct sbx_ws_reader *sbx_ws_reader_new(const sbx_allocator *a) {
  struct sbx_ws_reader *r = SBX_NEW(a, struct sbx_ws_reader);
  if (!r) return NULL;
  r->alloc = a;
  struct wslay_frame_callbacks cbs = {NULL, hand_over, NULL}; /* never sends */
  if (wslay_frame_context_init(&r->ctx, &cbs, r) != 0) {
    sbx__free(a, r);
    return NULL;
  }
  return r;
}

void sbx_ws_reader_free(struct sbx_ws_reader *r) {
  if (!r) return;
  wslay_frame_context_free(r->ctx);
  sbx__free(r->alloc, r);
}

/* Byte off of the stream when still at hand, else -1. */
static int stream_byte(const struct sbx_ws_reader *r, uint64_t off) {
  if (off >= r->base) return off - r->base < r->in_pos ? (unsigned char)r->in[off - r->base] : -1;
  uint64_t back = r->base - off;
  return back <= r->n_tail ? r->tail[r->n_tail - back] : -1;
}

/* The feed is over: its bytes join the tail and the stream offset. */
static void keep_tail(struct sbx_ws_reader *r) {
  size_t n = r->in_pos;
  if (n == 0) return; /* in may be NULL */
  if (n >= TAIL_MAX) {
    memcpy(r->tail, r->in + n - TAIL_MAX, TAIL_MAX);
    r->n_tail = TAIL_MAX;
  } else {
    size_t keep = r->n_tail + n > TAIL_MAX ? TAIL_MAX - n : r->n_tail;
    memmove(r->tail, r->tail + r->n_tail - keep, keep);
    memcpy(r->tail + keep, r->in, n);
    r->n_tail = (unsigned char)(keep + n);
  }
  r->base += n;
}

/* wslay said WSLAY_ERR_PROTO: name which of its checks failed from the
 * header's first two bytes. */
static int bad_header(const struct sbx_ws_reader *r, char *err, size_t errlen) {
  unsigned long long at = r->frame_at;
  int b0 = stream_byte(r, r->frame_at), b1 = stream_byte(r, r->frame_at + 1);
  int op = b0 & 15;
  if (b0 < 0 || b1 < 0)
    return sbx_errbuf_set(err, errlen, SBX_EPROTO, "WebSocket: bad frame header at byte %llu", at);
  if (op >= 8 && !(b0 & 0x80))
    return sbx_errbuf_set(err, errlen, SBX_EPROTO,
                          "WebSocket: fragmented control frame (opcode %d) at byte %llu", op, at);
  if (op >= 8 && (b1 & 127) > 125)
    return sbx_errbuf_set(err, errlen, SBX_EPROTO,
                          "WebSocket: control frame (opcode %d) over 125 bytes at byte %llu", op,
                          at);
  return sbx_errbuf_set(err, errlen, SBX_EPROTO,
                        "WebSocket: frame length not in its shortest form (or over 2^63) at byte "
                        "%llu",
                        at);
}

/* The first piece of a frame: judge its header. */
static int frame_start(struct sbx_ws_reader *r, const struct wslay_frame_iocb *io, char *err,
                       size_t errlen) {
  unsigned long long at = r->frame_at;
  int op = io->opcode;
  if (io->mask)
    return sbx_errbuf_set(err, errlen, SBX_EPROTO,
                          "WebSocket: masked frame from the server at byte %llu", at);
  if (io->rsv)
    return sbx_errbuf_set(err, errlen, SBX_EPROTO,
                          "WebSocket: reserved bits 0x%x set (no extension agreed) at byte %llu",
                          (unsigned)io->rsv << 4, at);
  if (op == 0 && !r->msg_op)
    return sbx_errbuf_set(err, errlen, SBX_EPROTO,
                          "WebSocket: continuation frame with no message started at byte %llu", at);
  if ((op == 1 || op == 2) && r->msg_op)
    return sbx_errbuf_set(err, errlen, SBX_EPROTO,
                          "WebSocket: new %s frame inside an unfinished fragmented message at byte "
                          "%llu",
                          op == 1 ? "text" : "binary", at);
  if ((op > 2 && op < 8) || op > 10)
    return sbx_errbuf_set(err, errlen, SBX_EPROTO, "WebSocket: unknown opcode %d at byte %llu", op,
                          at);
  if (op == 1 || op == 2) r->msg_op = (unsigned char)op;
  r->in_frame = 1;
  r->op = (unsigned char)op;
  r->left = io->payload_length;
  return 0;
}

/* 1000-1003, 1007-1014 (IANA), 3000-4999; the rest is reserved, or only for
 * an endpoint's own use and never sent (1005, 1006, 1015). */
static int close_code_ok(unsigned c) {
  if (c >= 3000 && c <= 4999) return 1;
  return c >= 1000 && c <= 1014 && (c < 1004 || c > 1006);
}

static int frame_end(struct sbx_ws_reader *r, const struct wslay_frame_iocb *io, char *err,
                     size_t errlen) {
  unsigned long long at = r->frame_at;
  uint64_t len = io->payload_length;
  /* unmasked, length in its shortest form: wslay and frame_start saw to it */
  r->frame_at += 2 + (len < 126 ? 0 : len < 65536 ? 2 : 8) + len;
  r->in_frame = 0;
  if (r->op < 8) {
    if (io->fin) r->msg_op = 0;
    return 0;
  }
  if (r->op == 9) r->pings++;
  if (r->op != 8) return 0;
  if (len == 1)
    return sbx_errbuf_set(err, errlen, SBX_EPROTO,
                          "WebSocket: close frame with a 1-byte payload at byte %llu", at);
  unsigned code = len ? (unsigned)r->code[0] << 8 | r->code[1] : 1005;
  if (len && !close_code_ok(code))
    return sbx_errbuf_set(err, errlen, SBX_EPROTO,
                          "WebSocket: close code %u is not valid on the wire at byte %llu", code,
                          at);
  r->close_code = (int)code;
  return SBX_WS_CLOSED;
}

static int on_piece(struct sbx_ws_reader *r, const struct wslay_frame_iocb *io,
                    sbx_ws_data_fn on_data, void *ud, char *err, size_t errlen) {
  if (!r->in_frame) {
    int rc = frame_start(r, io, err, errlen);
    if (rc) return rc;
  }
  int stop = 0;
  r->left -= io->data_length;
  if (r->op < 8 && io->data_length)
    stop = on_data(ud, r->msg_op, (const char *)io->data, io->data_length);
  for (size_t i = 0; r->op == 8 && i < io->data_length && r->n_code < 2; i++)
    r->code[r->n_code++] = io->data[i];
  int end = r->left ? 0 : frame_end(r, io, err, errlen);
  return stop ? stop : end;
}

int sbx_ws_reader_feed(struct sbx_ws_reader *r, const char *data, size_t len,
                       sbx_ws_data_fn on_data, void *ud, char *err, size_t errlen) {
  if (r->result == SBX_WS_CLOSED) return r->result;
  if (r->result)
    return sbx_errbuf_set(err, errlen, r->result, "WebSocket: reader already failed or stopped");
  r->in = data;
  r->in_len = len;
  r->in_pos = 0;
  int rc = 0;
  while (!rc) {
    struct wslay_frame_iocb io;
    ssize_t n = wslay_frame_recv(r->ctx, &io);
    if (n == WSLAY_ERR_WANT_READ) break; /* every byte fed is in wslay's hands */
    if (n == WSLAY_ERR_PROTO)
      rc = bad_header(r, err, errlen);
    else if (n < 0)
      rc = sbx_errbuf_set(err, errlen, SBX_EPROTO, "WebSocket: wslay error %zd", n);
    else
      rc = on_piece(r, &io, on_data, ud, err, errlen); /* n == 0: an empty frame */
  }
  keep_tail(r);
  r->in = NULL;
  r->in_len = r->in_pos = 0;
  r->result = rc;
  return rc;
}

int sbx_ws_reader_close_code(const struct sbx_ws_reader *r) {
  return r->close_code;
}

int sbx_ws_reader_mid_frame(const struct sbx_ws_reader *r) {
  if (r->result == SBX_WS_CLOSED) return 0;
  return r->in_frame || r->msg_op || r->base > r->frame_at; /* base > frame_at: a partial header */
}

unsigned long sbx_ws_reader_pings(const struct sbx_ws_reader *r) {
  return r->pings;
}

void sbx_ws_make_key(const unsigned char nonce[16], char out[25]) {
  sbx_base64_encode(nonce, 16, out);
}

int sbx_ws_accept_ok(const char *key, const char *accept) {
  static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  char buf[64 + sizeof guid];
  if (!key || !accept) return 0;
  size_t k = strlen(key);
  if (k > 64) return 0; /* a key is 24 characters */
  memcpy(buf, key, k);
  memcpy(buf + k, guid, sizeof guid - 1);
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA1((const unsigned char *)buf, k + sizeof guid - 1, md);
  char want[29];
  sbx_base64_encode(md, sizeof md, want);
  return strcmp(want, accept) == 0;
}
