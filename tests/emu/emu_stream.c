/* emu_stream.c - server-streaming Connect responses (application/connect+json):
 * one 5-byte envelope per message, keepalives, end-stream, stream faults. */
#include "emu_stream.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_proc.h"

#define EMU_KEEPALIVE_DEFAULT_S 90.0

static void stream_free(struct emu_stream *st) {
  struct ev_loop *loop = st->app->loop;
  ev_timer_stop(loop, &st->keepalive);
  ev_timer_stop(loop, &st->deadline);
  if (st->proc) emu_proc_unsubscribe(st->proc, st);
  if (st->req) {
    st->req->route_data = NULL;
    st->req->on_close = NULL;
  }
  free(st);
}

static void on_peer_close(struct emu_req *req) {
  struct emu_stream *st = req->route_data;
  if (!st) return;
  st->req = NULL; /* the transport frees it */
  stream_free(st);
}

static void put_prefix(unsigned char out[5], unsigned flags, size_t len) {
  out[0] = (unsigned char)flags;
  out[1] = (unsigned char)(len >> 24);
  out[2] = (unsigned char)(len >> 16);
  out[3] = (unsigned char)(len >> 8);
  out[4] = (unsigned char)len;
}

static int write_envelope(struct emu_stream *st, unsigned flags, const char *json, size_t len) {
  unsigned char pre[5];
  put_prefix(pre, flags, len);
  /* one write per envelope: h2 then sends it in as few frames as possible */
  char *buf = malloc(len + 5);
  if (!buf) return -1;
  memcpy(buf, pre, 5);
  memcpy(buf + 5, json, len);
  int rc = emu_resp_write(st->req, buf, len + 5);
  free(buf);
  return rc;
}

/* Play the injected fault instead of this envelope; the stream is over. */
static void play_fault(struct emu_stream *st, unsigned flags, const char *json, size_t len) {
  struct emu_req *req = st->req;
  emu_faults_note(st->app, &st->fault);
  switch (st->fault.action) {
  case EMU_FAULT_TRUNCATE: {
    unsigned char pre[5];
    put_prefix(pre, flags, len);
    emu_resp_write(req, pre, 5);
    emu_resp_write(req, json, len / 2);
    st->req = NULL;
    req->on_close = NULL;
    emu_resp_end(req);
    break;
  }
  case EMU_FAULT_MALFORMED: {
    static const unsigned char junk[] = {0x7f, 0xff, 0xff, 0xff, 0xf0, '{', '"', 'x'};
    emu_resp_write(req, junk, sizeof junk);
    st->req = NULL;
    req->on_close = NULL;
    emu_resp_end(req);
    break;
  }
  default: {
    enum emu_abort how = st->fault.action == EMU_FAULT_RST      ? EMU_ABORT_RST_STREAM
                         : st->fault.action == EMU_FAULT_GOAWAY ? EMU_ABORT_GOAWAY
                                                                : EMU_ABORT_DROP_CONN;
    st->req = NULL;
    req->on_close = NULL;
    emu_resp_abort(req, how);
    break;
  }
  }
  stream_free(st);
}

/* Send an envelope, or the fault in its place. 0, or -1 when st was freed. */
static int send_envelope(struct emu_stream *st, unsigned flags, const char *json) {
  size_t len = strlen(json);
  if (!st->req) return -1;
  if (st->has_fault && st->msgs >= st->fault.after_messages) {
    play_fault(st, flags, json, len);
    return -1;
  }
  if (write_envelope(st, flags, json, len) < 0) {
    /* the peer is gone; the transport calls on_close when it notices */
    return 0;
  }
  st->msgs++;
  if (st->keepalive.repeat > 0) ev_timer_again(st->app->loop, &st->keepalive);
  return 0;
}

static void keepalive_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct emu_stream *st = w->data;
  send_envelope(st, 0, st->ka_msg);
}

static void deadline_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct emu_stream *st = w->data;
  emu_stream_finish(st, "deadline_exceeded", "the operation timed out");
}

struct emu_stream *emu_stream_open(struct emu_app *app, struct emu_req *req, const char *ka_msg) {
  struct emu_stream *st = calloc(1, sizeof *st);
  if (!st) {
    emu_connect_error(req, "resource_exhausted", "out of memory");
    return NULL;
  }
  st->app = app;
  st->req = req;
  st->ka_msg = ka_msg;
  if (app->stream_fault) {
    st->has_fault = 1;
    st->fault = *app->stream_fault;
  }
  double ka = EMU_KEEPALIVE_DEFAULT_S;
  const char *ka_hdr = emu_req_header(req, "keepalive-ping-interval");
  if (ka_hdr) {
    char *end = NULL;
    double v = strtod(ka_hdr, &end);
    if (end != ka_hdr && *end == '\0' && v > 0 && v < 1e7) ka = v;
  }
  ev_timer_init(&st->keepalive, keepalive_cb, ka, ka);
  st->keepalive.data = st;
  ev_timer_init(&st->deadline, deadline_cb, 0., 0.);
  st->deadline.data = st;
  struct emu_header h = {(char *)"content-type", (char *)"application/connect+json"};
  if (emu_resp_start(req, 200, &h, 1, -1) < 0) {
    emu_resp_end(req);
    free(st);
    return NULL;
  }
  req->route_data = st;
  req->on_close = on_peer_close;
  ev_timer_start(app->loop, &st->keepalive);
  return st;
}

void emu_stream_set_deadline(struct emu_stream *st, double seconds) {
  ev_timer_stop(st->app->loop, &st->deadline);
  ev_timer_set(&st->deadline, seconds, 0.);
  ev_timer_start(st->app->loop, &st->deadline);
}

int emu_stream_send(struct emu_stream *st, const char *json) {
  return send_envelope(st, 0, json);
}

void emu_stream_finish(struct emu_stream *st, const char *code, const char *fmt, ...) {
  char *json = NULL;
  if (code) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *o = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
    json = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
  }
  static const char oom[] = "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
  if (send_envelope(st, 2, json ? json : code ? oom : "{}") == 0) {
    struct emu_req *req = st->req;
    st->req = NULL;
    req->on_close = NULL;
    req->route_data = NULL;
    emu_resp_end(req);
    stream_free(st);
  }
  free(json);
}

/* The single request envelope of a streaming call; NULL when malformed. */
json_t *emu_stream_request(const struct emu_req *req) {
  const unsigned char *b = (const unsigned char *)req->body;
  if (req->body_len < 5 || (b[0] & 0x01)) return NULL; /* short, or compressed */
  size_t len = (size_t)b[1] << 24 | (size_t)b[2] << 16 | (size_t)b[3] << 8 | b[4];
  if (len != req->body_len - 5) return NULL;
  json_t *v = json_loadb(req->body + 5, len, 0, NULL);
  if (v && !json_is_object(v)) {
    json_decref(v);
    return NULL;
  }
  return v;
}

int64_t emu_header_ms(const struct emu_req *req, const char *name) {
  const char *v = emu_req_header(req, name);
  if (!v) return 0;
  char *end = NULL;
  long long ms = strtoll(v, &end, 10);
  return end != v && *end == '\0' && ms > 0 ? ms : 0;
}
