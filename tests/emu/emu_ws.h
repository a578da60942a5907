/* emu_ws.h - server WebSockets (RFC 6455) over an upgraded HTTP/1.1
 * connection; libwslay does the framing. */
#ifndef SBX_EMU_WS_H
#define SBX_EMU_WS_H

#include <stddef.h>
#include <stdint.h>

#include "emu_http.h"

struct emu_ws;
/* The peer went away before the owner closed: the ws is freed after this. */
typedef void (*emu_ws_gone_fn)(void *ud);

/* Is this a WebSocket upgrade request? */
int emu_ws_is_upgrade(const struct emu_req *req);
/* Answer 101 (no subprotocol) and return the socket; NULL when that failed
 * (req was then answered). */
struct emu_ws *emu_ws_accept(struct emu_req *req, emu_ws_gone_fn gone, void *ud);
/* Queue one binary message (copied). 0, or -1 when the socket is going away. */
int emu_ws_send_binary(struct emu_ws *ws, const void *data, size_t len);
/* Send a close frame after what is queued; the owner forgets ws (it frees
 * itself once the peer answered or left). */
void emu_ws_close(struct emu_ws *ws, uint16_t code);
/* How an injected fault breaks a socket (emu_ws_break). */
enum emu_ws_break {
  EMU_WS_DROP,      /* the connection closes: no close frame */
  EMU_WS_TRUNCATE,  /* the frame's header and half its payload, then that */
  EMU_WS_MALFORMED, /* the frame with RSV1 set (no extension allows it), then that */
};
/* Break the socket in place of sending data as the next binary message
 * (data NULL: in place of the close frame with code). Queued frames go out
 * first; the connection then closes without a close frame (TLS without
 * close_notify). The owner forgets ws; its gone function is not called. */
void emu_ws_break(struct emu_ws *ws, enum emu_ws_break how, const void *data, size_t len,
                  uint16_t code);
/* Open sockets, for /_emu/stats. */
unsigned long emu_ws_open_count(void);

#endif
