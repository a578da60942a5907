/* emu_ws.c - server WebSockets: the 101 handshake, then libwslay frames the
 * bytes of the upgraded connection (no frame parser of our own). The owner
 * only sends; pings and the close handshake are wslay's. Injected faults
 * break the socket the way a dying or buggy server would (emu_ws_break). */
#include "emu_ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wslay/wslay.h>

#include <openssl/sha.h>

#include "emu_util.h"

struct emu_ws {
  struct emu_raw *raw;
  wslay_event_context_ptr ctx;
  struct emu_buf in;       /* received, not yet taken by wslay */
  struct emu_buf *capture; /* set: wslay's output goes here, not to the peer */
  emu_ws_gone_fn gone;
  void *ud;
  int owner_closed;
};

static unsigned long n_open;

unsigned long emu_ws_open_count(void) {
  return n_open;
}

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *ud) {
  struct emu_ws *ws = ud;
  if (ws->in.len == 0) {
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  size_t n = len < ws->in.len ? len : ws->in.len;
  memcpy(buf, ws->in.data, n);
  emu_buf_consume(&ws->in, n);
  return (ssize_t)n;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *ud) {
  struct emu_ws *ws = ud;
  int rc = ws->capture ? emu_buf_add(ws->capture, data, len)
           : ws->raw   ? emu_raw_send(ws->raw, data, len)
                       : -1;
  if (rc < 0) {
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
  }
  return (ssize_t)len;
}

static int genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *ud) {
  emu_random(buf, len);
  return 0;
}

static void msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *ud) {} /* client messages carry nothing we use */

static const struct wslay_event_callbacks ws_cbs = {recv_cb, send_cb, genmask_cb, NULL,
                                                    NULL,    NULL,    msg_cb};

static void ws_free(struct emu_ws *ws) {
  wslay_event_context_free(ws->ctx);
  emu_buf_free(&ws->in);
  free(ws);
  n_open--;
}

/* Run wslay; once the close handshake is over, drop the connection. */
static void pump(struct emu_ws *ws) {
  if (wslay_event_recv(ws->ctx) != 0 || wslay_event_send(ws->ctx) != 0 ||
      (!wslay_event_want_read(ws->ctx) && !wslay_event_want_write(ws->ctx))) {
    struct emu_raw *raw = ws->raw;
    emu_ws_gone_fn gone = ws->owner_closed ? NULL : ws->gone;
    void *ud = ws->ud;
    ws->raw = NULL;
    if (raw) emu_raw_close(raw);
    ws_free(ws);
    if (gone) gone(ud);
  }
}

static void on_data(void *ud, const char *data, size_t len) {
  struct emu_ws *ws = ud;
  if (emu_buf_add(&ws->in, data, len) < 0) wslay_event_shutdown_read(ws->ctx);
  pump(ws);
}

static void on_gone(void *ud) {
  struct emu_ws *ws = ud;
  emu_ws_gone_fn gone = ws->owner_closed ? NULL : ws->gone;
  void *owner = ws->ud;
  ws->raw = NULL;
  ws_free(ws);
  if (gone) gone(owner);
}

static const struct emu_raw_ops raw_ops = {on_data, on_gone};

int emu_ws_is_upgrade(const struct emu_req *req) {
  const char *up = emu_req_header(req, "upgrade");
  return up && strcasecmp(up, "websocket") == 0 && emu_req_header(req, "sec-websocket-key");
}

struct emu_ws *emu_ws_accept(struct emu_req *req, emu_ws_gone_fn gone, void *ud) {
  static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  const char *key = emu_req_header(req, "sec-websocket-key");
  if (!key || strlen(key) > 64) {
    emu_reply_error(req, 400, "not a WebSocket upgrade");
    return NULL;
  }
  char cat[160];
  unsigned char sha[SHA_DIGEST_LENGTH];
  size_t n = (size_t)snprintf(cat, sizeof cat, "%s%s", key, guid);
  SHA1((const unsigned char *)cat, n, sha);
  char *accept = emu_b64_encode(sha, sizeof sha, NULL);
  struct emu_ws *ws = calloc(1, sizeof *ws);
  if (!accept || !ws || wslay_event_context_server_init(&ws->ctx, &ws_cbs, ws) != 0) {
    free(accept);
    free(ws);
    emu_reply_error(req, 500, "out of memory");
    return NULL;
  }
  ws->gone = gone;
  ws->ud = ud;
  n_open++;
  struct emu_header h[] = {{(char *)"Upgrade", (char *)"websocket"},
                           {(char *)"Connection", (char *)"Upgrade"},
                           {(char *)"Sec-WebSocket-Accept", accept}};
  ws->raw = emu_resp_upgrade(req, h, 3, &raw_ops, ws);
  free(accept);
  if (!ws->raw) {
    ws_free(ws);
    emu_reply_error(req, 400, "WebSocket upgrades need HTTP/1.1");
    return NULL;
  }
  return ws;
}

int emu_ws_send_binary(struct emu_ws *ws, const void *data, size_t len) {
  struct wslay_event_msg m = {WSLAY_BINARY_FRAME, data, len};
  if (!ws->raw || wslay_event_queue_msg(ws->ctx, &m) != 0) return -1;
  return wslay_event_send(ws->ctx) == 0 ? 0 : -1;
}

void emu_ws_close(struct emu_ws *ws, uint16_t code) {
  ws->owner_closed = 1;
  if (!ws->raw) return;
  wslay_event_queue_close(ws->ctx, code, NULL, 0);
  pump(ws);
}

/* Hand what is queued to the peer, then close without a close frame (and,
 * on TLS, without close_notify); the ws is freed, gone is not called. */
static void drop(struct emu_ws *ws) {
  struct emu_raw *raw = ws->raw;
  ws->raw = NULL;
  if (raw) emu_raw_close(raw);
  ws_free(ws);
}

/* wslay frames the message (or the close) into cap instead of the wire. */
static int frame_into(struct emu_ws *ws, struct emu_buf *cap, const void *data, size_t len,
                      uint16_t code) {
  struct wslay_event_msg m = {WSLAY_BINARY_FRAME, data, len};
  ws->capture = cap;
  int rc =
      data ? wslay_event_queue_msg(ws->ctx, &m) : wslay_event_queue_close(ws->ctx, code, NULL, 0);
  if (rc == 0) rc = wslay_event_send(ws->ctx);
  ws->capture = NULL;
  return rc;
}

void emu_ws_break(struct emu_ws *ws, enum emu_ws_break how, const void *data, size_t len,
                  uint16_t code) {
  if (ws->raw && how == EMU_WS_TRUNCATE) {
    struct emu_buf frame = {0};
    size_t plen = data ? len : 2; /* a close frame carries its code */
    if (frame_into(ws, &frame, data, len, code) == 0 && frame.len >= plen) {
      size_t head = frame.len - plen;
      emu_raw_send(ws->raw, frame.data, head + plen / 2); /* the header, half the payload */
    }
    emu_buf_free(&frame);
  } else if (ws->raw && how == EMU_WS_MALFORMED) {
    /* RSV1 without a negotiated extension: every client must fail the
     * connection (RFC 6455 5.2); wslay sets it only once it is allowed */
    struct wslay_event_msg m = {WSLAY_BINARY_FRAME, data ? data : "", data ? len : 0};
    wslay_event_config_set_allowed_rsv_bits(ws->ctx, WSLAY_RSV1_BIT);
    if (wslay_event_queue_msg_ex(ws->ctx, &m, WSLAY_RSV1_BIT) == 0) wslay_event_send(ws->ctx);
  }
  drop(ws);
}
