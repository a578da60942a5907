/* emu_h2.c - HTTP/2 over an established TLS session (nghttp2 + OpenSSL on
 * libev). One nghttp2 server session per connection: SSL_read feeds
 * nghttp2_session_mem_recv, nghttp2_session_mem_send feeds SSL_write. A
 * request is dispatched once its END_STREAM arrives; the route answers
 * through emu_h2_resp_*(), whose bytes sit in a per-stream queue that a
 * deferrable data provider drains.
 *
 * Lifetimes: a stream (which embeds its emu_req) lives from its first HEADERS
 * until nghttp2 closes it, the route aborts it, or the connection dies. A
 * dying connection is first "killed" (socket closed at once, watchers
 * stopped, further API calls fail) and then torn down from a zero timer, so
 * no nghttp2 session is ever freed inside one of its own callbacks and no
 * route sees another route's on_close re-entrantly. */
#include "emu_h2.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define H2_MAX_STREAMS 1000
#define H2_STREAM_WINDOW (1 << 20)      /* 1 MiB per stream */
#define H2_CONN_WINDOW ((1 << 30) - 1)  /* ~1 GiB for the whole connection */
#define H2_BODY_CAP ((size_t)512 << 20) /* request bodies above this are refused */
#define H2_OUT_BATCH (64 * 1024)        /* bytes gathered before an SSL_write */
#define H2_READ_CHUNK (16 * 1024)
#define H2_GOAWAY_LINGER 5.0 /* seconds to flush a GOAWAY before dropping */

struct h2_conn;

struct h2_stream {
  struct emu_req req; /* req.transport points back here */
  struct h2_conn *conn;
  int32_t id;
  struct h2_stream *prev, *next; /* conn->streams list */
  char *authority;               /* :authority, turned into "host" if absent */
  size_t n_hdr_cap;
  size_t body_cap;
  nghttp2_nv *held_nv; /* body-less response headers, submitted at end */
  size_t held_n;
  char *q; /* response bytes not yet handed to nghttp2: q[q_off..q_len) */
  size_t q_off, q_len, q_cap;
  unsigned dispatched : 1, started : 1, ended : 1, refused : 1, closing : 1;
};

struct h2_conn {
  struct emu_server *srv;
  int fd;
  SSL *ssl;
  nghttp2_session *session;
  ev_io rio, wio;
  ev_timer reaper;    /* zero-delay teardown after conn_kill */
  ev_timer linger;    /* deadline for flushing a GOAWAY */
  ev_cleanup cleanup; /* teardown if the loop is destroyed first */
  struct h2_stream *streams;
  unsigned long n_open; /* dispatched requests not yet freed */
  char *obuf;           /* TLS plaintext waiting for SSL_write: obuf[o_off..o_len) */
  size_t o_off, o_len, o_cap;
  unsigned dead : 1, write_wants_read : 1, read_wants_write : 1, goaway : 1;
};

static void conn_flush(struct h2_conn *c);
static void conn_kill(struct h2_conn *c);

static void vlog(struct h2_conn *c, const char *what, long detail) {
  if (c->srv->verbose) fprintf(stderr, "sbx-emu h2 fd %d: %s (%ld)\n", c->fd, what, detail);
}

/* Grow *buf (capacity *cap) to hold need bytes; doubling keeps appends O(1). */
static int grow(char **buf, size_t *cap, size_t need) {
  if (need <= *cap) return 0;
  size_t n = *cap ? *cap : 256;
  while (n < need)
    n *= 2;
  char *p = realloc(*buf, n);
  if (!p) return -1;
  *buf = p;
  *cap = n;
  return 0;
}

/* ---- streams ---- */

static struct h2_stream *stream_new(struct h2_conn *c, int32_t id) {
  struct h2_stream *st = calloc(1, sizeof *st);
  if (!st) return NULL;
  st->conn = c;
  st->id = id;
  st->req.srv = c->srv;
  st->req.proto = EMU_PROTO_H2;
  st->req.transport = st;
  st->next = c->streams;
  if (c->streams) c->streams->prev = st;
  c->streams = st;
  return st;
}

static void stream_unlink(struct h2_stream *st) {
  struct h2_conn *c = st->conn;
  if (st->prev)
    st->prev->next = st->next;
  else if (c->streams == st)
    c->streams = st->next;
  if (st->next) st->next->prev = st->prev;
  st->prev = st->next = NULL;
}

/* Free a stream and its req; detach it from nghttp2 so later callbacks for
 * this id (data provider, stream close) find nothing. */
static void stream_free(struct h2_stream *st) {
  struct h2_conn *c = st->conn;
  stream_unlink(st);
  if (c->session && !c->dead) nghttp2_session_set_stream_user_data(c->session, st->id, NULL);
  if (st->dispatched) {
    c->srv->stats.streams_open--;
    c->n_open--;
  }
  struct emu_req *r = &st->req;
  for (size_t i = 0; i < r->n_headers; i++) {
    free(r->headers[i].name);
    free(r->headers[i].value);
  }
  free(r->headers);
  free(r->method);
  free(r->path);
  free(r->query);
  free(r->body);
  free(st->authority);
  free(st->q);
  free(st->held_nv);
  free(st);
}

/* The peer went away before the route finished: tell the route, then free. */
static void stream_gone(struct h2_stream *st) {
  if (st->dispatched && !st->ended && st->req.on_close) {
    st->closing = 1; /* the route must not end/abort req from inside on_close */
    st->req.on_close(&st->req);
  }
  stream_free(st);
}

static int stream_add_header(struct h2_stream *st, const uint8_t *name, size_t nlen,
                             const uint8_t *value, size_t vlen) {
  struct emu_req *r = &st->req;
  if (r->n_headers == st->n_hdr_cap) {
    size_t n = st->n_hdr_cap ? st->n_hdr_cap * 2 : 16;
    struct emu_header *h = realloc(r->headers, n * sizeof *h);
    if (!h) return -1;
    r->headers = h;
    st->n_hdr_cap = n;
  }
  char *k = strndup((const char *)name, nlen), *v = strndup((const char *)value, vlen);
  if (!k || !v) {
    free(k);
    free(v);
    return -1;
  }
  for (char *p = k; *p; p++)
    *p = (char)tolower((unsigned char)*p);
  r->headers[r->n_headers++] = (struct emu_header){k, v};
  return 0;
}

/* Split :path into path and query ("" when there is no '?'). */
static int stream_set_path(struct h2_stream *st, const uint8_t *v, size_t len) {
  const uint8_t *qm = memchr(v, '?', len);
  size_t plen = qm ? (size_t)(qm - v) : len;
  free(st->req.path);
  free(st->req.query);
  st->req.path = strndup((const char *)v, plen);
  st->req.query = qm ? strndup((const char *)qm + 1, len - plen - 1) : strdup("");
  return st->req.path && st->req.query ? 0 : -1;
}

/* Size the body buffer from content-length up front; -1 when it announces
 * more than the cap (refused before any DATA is buffered). */
static int stream_reserve_body(struct h2_stream *st) {
  const char *cl = emu_req_header(&st->req, "content-length");
  if (!cl) return 0;
  unsigned long long n = strtoull(cl, NULL, 10);
  if (n > H2_BODY_CAP) return -1;
  if (n > 0) grow(&st->req.body, &st->body_cap, (size_t)n + 1);
  return 0;
}

/* Body over the cap: RST_STREAM(REFUSED_STREAM); freed when the stream closes. */
static void stream_refuse(struct h2_stream *st) {
  st->refused = 1;
  nghttp2_submit_rst_stream(st->conn->session, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_REFUSED_STREAM);
}

static void stream_dispatch(struct h2_stream *st) {
  struct h2_conn *c = st->conn;
  struct emu_req *r = &st->req;
  if (grow(&r->body, &st->body_cap, r->body_len + 1) < 0) {
    nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
    return;
  }
  r->body[r->body_len] = '\0';
  /* Routes read Host (E2B envd routes by it); h2 carries it as :authority. */
  if (st->authority && !emu_req_header(r, "host"))
    stream_add_header(st, (const uint8_t *)"host", 4, (const uint8_t *)st->authority,
                      strlen(st->authority));
  if (!r->method || !r->path) {
    nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_PROTOCOL_ERROR);
    return;
  }
  st->dispatched = 1;
  c->n_open++;
  c->srv->stats.streams_total++;
  c->srv->stats.streams_open++;
  if (c->n_open > c->srv->stats.max_streams_per_conn)
    c->srv->stats.max_streams_per_conn = c->n_open;
  emu_dispatch(r); /* st may be freed on return */
}

/* ---- nghttp2 callbacks ---- */

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *ud) {
  struct h2_conn *c = ud;
  if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  struct h2_stream *st = stream_new(c, f->hd.stream_id);
  if (!st) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  nghttp2_session_set_stream_user_data(s, f->hd.stream_id, st);
  return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
                     const uint8_t *value, size_t vlen, uint8_t flags, void *ud) {
  struct h2_stream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
  if (!st || st->dispatched) return 0;
  int rv = 0;
  if (nlen && name[0] == ':') {
    if (nlen == 7 && !memcmp(name, ":method", 7)) {
      free(st->req.method);
      rv = (st->req.method = strndup((const char *)value, vlen)) ? 0 : -1;
    } else if (nlen == 5 && !memcmp(name, ":path", 5)) {
      rv = stream_set_path(st, value, vlen);
    } else if (nlen == 10 && !memcmp(name, ":authority", 10)) {
      free(st->authority);
      rv = (st->authority = strndup((const char *)value, vlen)) ? 0 : -1;
    }
  } else {
    rv = stream_add_header(st, name, nlen, value, vlen);
  }
  return rv ? NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE : 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *ud) {
  struct h2_stream *st = nghttp2_session_get_stream_user_data(s, id);
  if (!st || st->refused || st->dispatched) return 0;
  struct emu_req *r = &st->req;
  if (r->body_len + len > H2_BODY_CAP || grow(&r->body, &st->body_cap, r->body_len + len + 1) < 0) {
    stream_refuse(st);
    return 0;
  }
  memcpy(r->body + r->body_len, data, len);
  r->body_len += len;
  return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud) {
  if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) return 0;
  struct h2_stream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
  if (!st || st->refused || st->dispatched) return 0;
  if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST &&
      stream_reserve_body(st) < 0) {
    stream_refuse(st);
    return 0;
  }
  if (f->hd.flags & NGHTTP2_FLAG_END_STREAM) stream_dispatch(st);
  return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t err, void *ud) {
  struct h2_stream *st = nghttp2_session_get_stream_user_data(s, id);
  if (st) stream_gone(st);
  return 0;
}

/* Serve queued response bytes; defer while the queue is empty and the route
 * has not ended. Looks the stream up by id, so an aborted (freed) stream is
 * simply gone. */
static ssize_t on_data_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length,
                            uint32_t *flags, nghttp2_data_source *src, void *ud) {
  struct h2_stream *st = nghttp2_session_get_stream_user_data(s, id);
  if (!st) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  size_t n = st->q_len - st->q_off;
  if (n > length) n = length;
  if (n) memcpy(buf, st->q + st->q_off, n);
  st->q_off += n;
  if (st->q_off == st->q_len) {
    st->q_off = st->q_len = 0;
    if (st->q_cap > H2_OUT_BATCH) { /* don't hold a big buffer on an idle stream */
      free(st->q);
      st->q = NULL;
      st->q_cap = 0;
    }
  }
  if (st->ended && st->q_len == 0)
    *flags |= NGHTTP2_DATA_FLAG_EOF;
  else if (n == 0)
    return NGHTTP2_ERR_DEFERRED;
  return (ssize_t)n;
}

static int on_error(nghttp2_session *s, int code, const char *msg, size_t len, void *ud) {
  struct h2_conn *c = ud;
  if (c->srv->verbose) fprintf(stderr, "sbx-emu h2 fd %d: %.*s\n", c->fd, (int)len, msg);
  return 0;
}

static int session_init(struct h2_conn *c) {
  nghttp2_session_callbacks *cb;
  nghttp2_option *opt;
  if (nghttp2_session_callbacks_new(&cb)) return -1;
  if (nghttp2_option_new(&opt)) {
    nghttp2_session_callbacks_del(cb);
    return -1;
  }
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
  nghttp2_session_callbacks_set_error_callback2(cb, on_error);
  /* Test clients cancel thousands of transfers; the anti-"rapid reset"
   * default (1000 burst, 33/s) would GOAWAY them. */
  nghttp2_option_set_stream_reset_rate_limit(opt, 1000000, 1000000);
  int rv = nghttp2_session_server_new2(&c->session, cb, c, opt);
  nghttp2_session_callbacks_del(cb);
  nghttp2_option_del(opt);
  if (rv) return -1;
  nghttp2_settings_entry iv[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, H2_MAX_STREAMS},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_STREAM_WINDOW},
  };
  if (nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, iv, 2)) return -1;
  return nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0, H2_CONN_WINDOW);
}

/* ---- connection I/O ---- */

static void conn_want_write(struct h2_conn *c) {
  if (!c->dead && !c->write_wants_read) ev_io_start(c->srv->loop, &c->wio);
}

/* Gather nghttp2 output into obuf, up to a batch. */
static int conn_fill(struct h2_conn *c) {
  while (c->o_len < H2_OUT_BATCH) {
    const uint8_t *data;
    ssize_t n = nghttp2_session_mem_send(c->session, &data);
    if (n < 0) return -1;
    if (c->dead) return 0; /* a callback (route on_close) dropped the connection */
    if (n == 0) break;
    if (grow(&c->obuf, &c->o_cap, c->o_len + (size_t)n) < 0) return -1;
    memcpy(c->obuf + c->o_len, data, (size_t)n);
    c->o_len += (size_t)n;
  }
  return 0;
}

/* Close when nghttp2 is done (GOAWAY exchanged, TERM sent) and all is flushed. */
static void conn_maybe_finish(struct h2_conn *c) {
  if (c->dead || c->o_off < c->o_len) return;
  if (!nghttp2_session_want_read(c->session) && !nghttp2_session_want_write(c->session)) {
    SSL_shutdown(c->ssl); /* best effort close_notify; non-blocking */
    conn_kill(c);
  }
}

/* Streams whose queue nghttp2 has emptied (so their bytes are out, or in
 * obuf) get to write their next piece. Its on_drain may free the stream
 * (RST_STREAM) but not the next one: a dropped connection only dies later. */
static void conn_drain(struct h2_conn *c) {
  for (struct h2_stream *st = c->streams, *next; st && !c->dead; st = next) {
    next = st->next;
    if (st->req.on_drain && st->started && !st->ended && !st->closing && st->q_off == st->q_len)
      st->req.on_drain(&st->req);
  }
}

/* Write everything nghttp2 has; keep the write watcher only while blocked. */
static void conn_flush(struct h2_conn *c) {
  for (;;) {
    if (c->o_off == c->o_len) {
      c->o_off = c->o_len = 0;
      if (conn_fill(c) < 0) {
        vlog(c, "nghttp2 send failed", 0);
        conn_kill(c);
        return;
      }
      if (c->dead) return;
      if (c->o_len == 0) break;
    }
    ERR_clear_error();
    int n = SSL_write(c->ssl, c->obuf + c->o_off, (int)(c->o_len - c->o_off));
    if (n <= 0) {
      int e = SSL_get_error(c->ssl, n);
      if (e == SSL_ERROR_WANT_WRITE) {
        ev_io_start(c->srv->loop, &c->wio);
        return;
      }
      if (e == SSL_ERROR_WANT_READ) { /* resumed from the read watcher */
        c->write_wants_read = 1;
        ev_io_stop(c->srv->loop, &c->wio);
        return;
      }
      vlog(c, "SSL_write failed", e);
      conn_kill(c);
      return;
    }
    c->o_off += (size_t)n;
  }
  if (!c->read_wants_write) ev_io_stop(c->srv->loop, &c->wio);
  if (c->o_cap > 4 * H2_OUT_BATCH) { /* a burst grew obuf; give it back */
    free(c->obuf);
    c->obuf = NULL;
    c->o_cap = 0;
  }
  conn_drain(c);
  conn_maybe_finish(c);
}

/* Read all TLS records available and feed them to nghttp2. */
static void conn_read(struct h2_conn *c) {
  uint8_t buf[H2_READ_CHUNK];
  for (;;) {
    ERR_clear_error();
    int n = SSL_read(c->ssl, buf, sizeof buf);
    if (n <= 0) {
      int e = SSL_get_error(c->ssl, n);
      if (e == SSL_ERROR_WANT_READ) break;
      if (e == SSL_ERROR_WANT_WRITE) { /* resumed from the write watcher */
        c->read_wants_write = 1;
        ev_io_start(c->srv->loop, &c->wio);
        break;
      }
      vlog(c, e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL ? "peer closed" : "SSL_read", e);
      conn_kill(c);
      return;
    }
    ssize_t rv = nghttp2_session_mem_recv(c->session, buf, (size_t)n);
    if (c->dead) return;
    if (rv < 0) {
      vlog(c, nghttp2_strerror((int)rv), (long)rv);
      conn_kill(c);
      return;
    }
  }
  conn_flush(c);
}

static void on_readable(struct ev_loop *loop, ev_io *w, int revents) {
  struct h2_conn *c = w->data;
  if (c->write_wants_read) {
    c->write_wants_read = 0;
    conn_flush(c);
    if (c->dead) return;
  }
  conn_read(c);
}

static void on_writable(struct ev_loop *loop, ev_io *w, int revents) {
  struct h2_conn *c = w->data;
  if (c->read_wants_write) {
    c->read_wants_write = 0;
    conn_read(c);
    if (c->dead) return;
  }
  conn_flush(c);
}

/* ---- connection lifetime ---- */

/* Tear down: every live req gets on_close (unless its route ended it) and
 * is freed; then the session, TLS and the struct go. */
static void conn_destroy(struct h2_conn *c) {
  struct ev_loop *loop = c->srv->loop;
  ev_timer_stop(loop, &c->reaper);
  ev_cleanup_stop(loop, &c->cleanup);
  /* Re-read the head each time: an on_close may abort a sibling. */
  while (c->streams)
    stream_gone(c->streams);
  nghttp2_session_del(c->session);
  SSL_free(c->ssl);
  c->srv->stats.conns_open[EMU_PROTO_H2]--;
  free(c->obuf);
  free(c);
}

static void on_reaper(struct ev_loop *loop, ev_timer *w, int revents) {
  conn_destroy(w->data);
}

static void on_linger(struct ev_loop *loop, ev_timer *w, int revents) {
  struct h2_conn *c = w->data;
  vlog(c, "GOAWAY not flushed in time", 0);
  conn_kill(c);
}

static void on_loop_cleanup(struct ev_loop *loop, ev_cleanup *w, int revents) {
  struct h2_conn *c = w->data;
  conn_kill(c);
  conn_destroy(c);
}

/* Close the socket now; free everything from a fresh loop iteration. */
static void conn_kill(struct h2_conn *c) {
  if (c->dead) return;
  struct ev_loop *loop = c->srv->loop;
  c->dead = 1;
  ev_io_stop(loop, &c->rio);
  ev_io_stop(loop, &c->wio);
  ev_timer_stop(loop, &c->linger);
  close(c->fd);
  ev_timer_start(loop, &c->reaper);
}

void emu_h2_conn_new(struct emu_server *srv, int fd, SSL *ssl) {
  struct h2_conn *c = calloc(1, sizeof *c);
  if (!c) {
    SSL_free(ssl);
    close(fd);
    return;
  }
  c->srv = srv;
  c->fd = fd;
  c->ssl = ssl;
  srv->stats.conns_total[EMU_PROTO_H2]++;
  srv->stats.conns_open[EMU_PROTO_H2]++;
  ev_io_init(&c->rio, on_readable, fd, EV_READ);
  ev_io_init(&c->wio, on_writable, fd, EV_WRITE);
  ev_timer_init(&c->reaper, on_reaper, 0., 0.);
  ev_timer_init(&c->linger, on_linger, H2_GOAWAY_LINGER, 0.);
  ev_cleanup_init(&c->cleanup, on_loop_cleanup);
  c->rio.data = c->wio.data = c->reaper.data = c->linger.data = c->cleanup.data = c;
  ev_cleanup_start(srv->loop, &c->cleanup);
  if (session_init(c) < 0) {
    vlog(c, "nghttp2 session setup failed", 0);
    conn_kill(c);
    return;
  }
  ev_io_start(srv->loop, &c->rio);
  /* The handshake may have left decrypted bytes inside SSL; read now. */
  conn_read(c);
}

/* ---- responses (called through emu_resp_*) ---- */

static int is_h1_only_header(const char *name) {
  static const char *const drop[] = {"connection", "keep-alive", "proxy-connection",
                                     "transfer-encoding", "upgrade"};
  for (size_t i = 0; i < sizeof drop / sizeof *drop; i++)
    if (!strcasecmp(name, drop[i])) return 1;
  return 0;
}

/* Copy name (lower-cased) and value to p, point nv at them; returns the end. */
static char *nv_put(nghttp2_nv *nv, char *p, const char *name, const char *value) {
  size_t nlen = strlen(name), vlen = strlen(value);
  *nv = (nghttp2_nv){(uint8_t *)p, (uint8_t *)p + nlen + 1, nlen, vlen, NGHTTP2_NV_FLAG_NONE};
  for (size_t i = 0; i <= nlen; i++)
    p[i] = (char)tolower((unsigned char)name[i]);
  memcpy(p + nlen + 1, value, vlen + 1);
  return p + nlen + 1 + vlen + 1;
}

/* Build the response header block in one allocation (nv array, then the
 * strings, names lower-cased as h2 requires) so it can be held until
 * emu_resp_end for body-less responses. *count gets the number of entries. */
static nghttp2_nv *nv_pack(int status, const struct emu_header *hdrs, size_t n,
                           int64_t content_length, size_t *count) {
  char status_s[16], cl_s[32];
  snprintf(status_s, sizeof status_s, "%03d", status);
  snprintf(cl_s, sizeof cl_s, "%" PRId64, content_length);
  size_t bytes = (n + 2) * sizeof(nghttp2_nv) + sizeof ":status" + strlen(status_s) + 1 +
                 sizeof "content-length" + strlen(cl_s) + 1;
  for (size_t i = 0; i < n; i++)
    bytes += strlen(hdrs[i].name) + strlen(hdrs[i].value) + 2;
  nghttp2_nv *nv = malloc(bytes);
  if (!nv) return NULL;
  char *p = (char *)(nv + n + 2);
  size_t k = 0;
  p = nv_put(&nv[k++], p, ":status", status_s);
  for (size_t i = 0; i < n; i++) {
    const char *name = hdrs[i].name, *value = hdrs[i].value;
    if (is_h1_only_header(name)) continue;
    if (content_length >= 0 && !strcasecmp(name, "content-length")) continue;
    p = nv_put(&nv[k++], p, name, value);
  }
  if (content_length >= 0) p = nv_put(&nv[k++], p, "content-length", cl_s);
  *count = k;
  return nv;
}

/* HEAD, 204 and 304 answers carry no DATA frame at all (clients treat even an
 * empty one as a protocol error). */
static int resp_is_bodyless(const struct h2_stream *st, int status) {
  return status == 204 || status == 304 || !strcmp(st->req.method, "HEAD");
}

int emu_h2_resp_start(struct emu_req *req, int status, const struct emu_header *hdrs, size_t n,
                      int64_t content_length) {
  struct h2_stream *st = req->transport;
  struct h2_conn *c = st->conn;
  if (c->dead || st->started || st->closing) return -1;
  size_t k;
  nghttp2_nv *nv = nv_pack(status, hdrs, n, content_length, &k);
  if (!nv) return -1;
  if (resp_is_bodyless(st, status)) {
    /* Held until emu_resp_end: with no data provider the stream would close
     * (and req be freed) as soon as the headers went out. */
    st->held_nv = nv;
    st->held_n = k;
    st->started = 1;
    return 0;
  }
  /* A data provider keeps the stream open until the route ends it. */
  nghttp2_data_provider prd = {.source.ptr = NULL, .read_callback = on_data_read};
  int rv = nghttp2_submit_response(c->session, st->id, nv, k, &prd);
  free(nv);
  if (rv) return -1;
  st->started = 1;
  conn_want_write(c);
  return 0;
}

int emu_h2_resp_write(struct emu_req *req, const void *data, size_t len) {
  struct h2_stream *st = req->transport;
  struct h2_conn *c = st->conn;
  if (c->dead || !st->started || st->ended || st->closing) return -1;
  if (len == 0 || st->held_nv) return 0;         /* body-less: bytes are dropped */
  if (st->q_off && st->q_off >= st->q_cap / 2) { /* reclaim the consumed front */
    memmove(st->q, st->q + st->q_off, st->q_len - st->q_off);
    st->q_len -= st->q_off;
    st->q_off = 0;
  }
  if (grow(&st->q, &st->q_cap, st->q_len + len) < 0) return -1;
  memcpy(st->q + st->q_len, data, len);
  st->q_len += len;
  nghttp2_session_resume_data(c->session, st->id); /* fails harmlessly if not deferred */
  conn_want_write(c);
  return 0;
}

void emu_h2_resp_end(struct emu_req *req) {
  struct h2_stream *st = req->transport;
  struct h2_conn *c = st->conn;
  if (st->ended || st->closing) return;
  if (!st->started && emu_h2_resp_start(req, 500, NULL, 0, 0) < 0 && !c->dead) {
    /* cannot answer at all: reset rather than leave the stream hanging */
    nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
  }
  st->ended = 1; /* freed on stream close, or by conn_destroy */
  if (c->dead) return;
  if (st->held_nv) {
    nghttp2_submit_response(c->session, st->id, st->held_nv, st->held_n, NULL);
    free(st->held_nv);
    st->held_nv = NULL;
  }
  nghttp2_session_resume_data(c->session, st->id);
  conn_want_write(c);
}

void emu_h2_resp_abort(struct emu_req *req, enum emu_abort how) {
  struct h2_stream *st = req->transport;
  struct h2_conn *c = st->conn;
  int32_t id = st->id;
  if (st->closing) return; /* inside its own on_close: freed by the caller */
  stream_free(st);
  if (c->dead) return;
  switch (how) {
  case EMU_ABORT_RST_STREAM:
    nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, id, NGHTTP2_INTERNAL_ERROR);
    conn_want_write(c);
    break;
  case EMU_ABORT_GOAWAY:
    /* last-stream-id = the last one we processed, as real servers do: the
     * client must fail those streams, not silently replay them (a replayed
     * create would make a second sandbox). nghttp2 closes ours once the
     * GOAWAY is out (on_close for each), then we close. */
    if (!c->goaway) {
      c->goaway = 1;
      nghttp2_session_terminate_session2(
          c->session, nghttp2_session_get_last_proc_stream_id(c->session), NGHTTP2_INTERNAL_ERROR);
      ev_timer_start(c->srv->loop, &c->linger);
    }
    conn_want_write(c);
    break;
  case EMU_ABORT_DROP_CONN:
  default: conn_kill(c); break;
  }
}
