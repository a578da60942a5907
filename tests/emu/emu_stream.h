/* emu_stream.h - a server-streaming Connect response: 5-byte envelopes,
 * keepalives after silence, an end-stream envelope, injected stream faults. */
#ifndef SBX_EMU_STREAM_H
#define SBX_EMU_STREAM_H

#include <ev.h>
#include <jansson.h>
#include <stdint.h>

#include "emu_app.h"
#include "emu_fault.h"

struct emu_stream {
  struct emu_app *app;
  struct emu_req *req;
  struct emu_proc *proc; /* subscribed to, or NULL */
  struct emu_stream *next_sub;
  ev_timer keepalive;
  const char *ka_msg; /* static JSON */
  ev_timer deadline;
  unsigned long msgs;
  int has_fault;
  struct emu_fault fault;
};

/* Answer 200 application/connect+json and return the stream; NULL when the
 * peer is gone or memory ran out (the request is then answered or freed).
 * ka_msg is sent every Keepalive-Ping-Interval seconds of silence. */
struct emu_stream *emu_stream_open(struct emu_app *app, struct emu_req *req, const char *ka_msg);
/* Arm a stream deadline (Connect-Timeout-Ms): at expiry, end-stream
 * deadline_exceeded. */
void emu_stream_set_deadline(struct emu_stream *st, double seconds);
/* Send one message envelope. 0, or -1 when the stream is over (it was then
 * freed: the caller must forget it). */
int emu_stream_send(struct emu_stream *st, const char *json);
/* End-stream envelope ({} or an error when code != NULL), end, free. */
void emu_stream_finish(struct emu_stream *st, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The single request envelope of a streaming call; NULL when malformed. */
json_t *emu_stream_request(const struct emu_req *req);
/* A positive integer header (Connect-Timeout-Ms); 0 when absent or invalid. */
int64_t emu_header_ms(const struct emu_req *req, const char *name);

#endif
