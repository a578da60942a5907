/* emu_h1.c - sbx-emu's HTTP/1.1 server over a plain socket or a completed
 * TLS session: libhttp-parser for requests (chunked bodies included),
 * keep-alive, one request in flight per connection, streamed responses. */
#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "emu_h1.h"
#include "emu_http.h"

#define H1_BODY_CAP ((size_t)512 << 20) /* 413 beyond this */
#define H1_HEAD_CAP ((size_t)64 << 10)  /* URL + headers */
#define H1_IN_CAP ((size_t)1 << 20)     /* buffered input while a response runs */
#define H1_OUT_CAP ((size_t)768 << 20)  /* a peer that never reads gets dropped */
#define H1_MAX_HEADERS 128

struct h1_bytes {
  char *data;
  size_t len, cap;
};

struct h1_conn {
  struct emu_server *srv;
  int fd;
  SSL *ssl;
  enum emu_proto proto;
  ev_io io;
  int io_events;
  http_parser parser;

  struct h1_bytes in; /* received, not yet parsed */
  size_t in_off;
  struct h1_bytes out; /* to send */
  size_t out_off;

  /* the request being parsed */
  struct h1_bytes url, hname, hval, body;
  struct emu_header *hdrs;
  size_t n_hdrs;
  int last_was_value;
  int complete;    /* on_message_complete seen */
  int fail_status; /* answer with this status and close (400, 413, 431) */
  size_t head_bytes;

  struct emu_req *req; /* dispatched, response not finished */
  int chunked;         /* the current response uses chunked encoding */
  int close_after;     /* close once the output is flushed */
  int ssl_want_write;  /* SSL_read needs the socket writable */
  int eof;
  int closed;
  int depth; /* > 0 while a route runs on our stack: defer the free */

  /* after a 101: raw bytes to and from raw_ops (a WebSocket) */
  int upgraded;
  const struct emu_raw_ops *raw_ops; /* NULL once the owner closed */
  void *raw_ud;

  /* parse only (emu_h1_parser_*): requests go here, not to the routes */
  emu_h1_parsed_fn on_parsed;
  void *parsed_ud;
  int refused; /* the status fail_request answered, 0 when none */
};

static void conn_update_io(struct h1_conn *c);
static void conn_close(struct h1_conn *c);
static void conn_process(struct h1_conn *c);

static int bytes_add(struct h1_bytes *b, const void *data, size_t len) {
  if (len > SIZE_MAX / 2 - b->len) return -1;
  if (b->len + len + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 512;
    while (cap < b->len + len + 1)
      cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) return -1;
    b->data = p;
    b->cap = cap;
  }
  memcpy(b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
  return 0;
}

static void bytes_free(struct h1_bytes *b) {
  free(b->data);
  memset(b, 0, sizeof *b);
}

static struct h1_conn *conn_of(http_parser *p) {
  return p->data;
}

static void pending_reset(struct h1_conn *c) {
  c->url.len = c->hname.len = c->hval.len = c->body.len = 0;
  for (size_t i = 0; i < c->n_hdrs; i++) {
    free(c->hdrs[i].name);
    free(c->hdrs[i].value);
  }
  free(c->hdrs);
  c->hdrs = NULL;
  c->n_hdrs = 0;
  c->last_was_value = 0;
  c->complete = 0;
  c->head_bytes = 0;
}

/* ---- parser callbacks: they only collect; dispatch happens outside ---- */

static int on_message_begin(http_parser *p) {
  pending_reset(conn_of(p));
  return 0;
}

static int head_grow(struct h1_conn *c, size_t len) {
  c->head_bytes += len;
  if (c->head_bytes > H1_HEAD_CAP) {
    c->fail_status = 431;
    return -1;
  }
  return 0;
}

static int on_url(http_parser *p, const char *at, size_t len) {
  struct h1_conn *c = conn_of(p);
  if (head_grow(c, len) || bytes_add(&c->url, at, len)) return -1;
  return 0;
}

static int push_header(struct h1_conn *c) {
  if (c->n_hdrs >= H1_MAX_HEADERS) {
    c->fail_status = 431;
    return -1;
  }
  struct emu_header *h = realloc(c->hdrs, (c->n_hdrs + 1) * sizeof *h);
  if (!h) return -1;
  c->hdrs = h;
  char *name = strndup(c->hname.data ? c->hname.data : "", c->hname.len);
  char *value = strndup(c->hval.data ? c->hval.data : "", c->hval.len);
  if (!name || !value) {
    free(name);
    free(value);
    return -1;
  }
  for (char *s = name; *s; s++)
    if (*s >= 'A' && *s <= 'Z') *s = (char)(*s - 'A' + 'a');
  h[c->n_hdrs].name = name;
  h[c->n_hdrs].value = value;
  c->n_hdrs++;
  c->hname.len = c->hval.len = 0;
  return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len) {
  struct h1_conn *c = conn_of(p);
  if (head_grow(c, len)) return -1;
  if (c->last_was_value && push_header(c)) return -1;
  c->last_was_value = 0;
  return bytes_add(&c->hname, at, len) ? -1 : 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len) {
  struct h1_conn *c = conn_of(p);
  if (head_grow(c, len)) return -1;
  c->last_was_value = 1;
  return bytes_add(&c->hval, at, len) ? -1 : 0;
}

static const char *pending_header(const struct h1_conn *c, const char *name) {
  for (size_t i = 0; i < c->n_hdrs; i++)
    if (strcmp(c->hdrs[i].name, name) == 0) return c->hdrs[i].value;
  return NULL;
}

static void out_add(struct h1_conn *c, const void *data, size_t len);

static int on_headers_complete(http_parser *p) {
  struct h1_conn *c = conn_of(p);
  if (c->last_was_value && push_header(c)) return -1;
  c->last_was_value = 0;
  if (!(p->flags & F_CHUNKED) && p->content_length != ULLONG_MAX &&
      p->content_length > H1_BODY_CAP) {
    c->fail_status = 413;
    return -1;
  }
  const char *expect = pending_header(c, "expect");
  if (expect && strcasecmp(expect, "100-continue") == 0) {
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    out_add(c, cont, sizeof cont - 1);
  }
  return 0;
}

static int on_body(http_parser *p, const char *at, size_t len) {
  struct h1_conn *c = conn_of(p);
  if (c->body.len + len > H1_BODY_CAP) {
    c->fail_status = 413;
    return -1;
  }
  return bytes_add(&c->body, at, len) ? -1 : 0;
}

static int on_message_complete(http_parser *p) {
  struct h1_conn *c = conn_of(p);
  c->complete = 1;
  http_parser_pause(p, 1); /* one request at a time: stop here */
  return 0;
}

static const http_parser_settings h1_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- output ---- */

static void out_add(struct h1_conn *c, const void *data, size_t len) {
  if (c->closed) return;
  if (c->out.len - c->out_off + len > H1_OUT_CAP || bytes_add(&c->out, data, len)) {
    c->close_after = 1;
    c->eof = 1; /* give up on this peer */
  }
}

/* Send what we can. Returns -1 when the connection failed. */
static int conn_flush(struct h1_conn *c) {
  while (c->out_off < c->out.len) {
    size_t left = c->out.len - c->out_off;
    ssize_t n;
    if (c->ssl) {
      ERR_clear_error();
      int r = SSL_write(c->ssl, c->out.data + c->out_off, left > INT32_MAX ? INT32_MAX : (int)left);
      if (r <= 0) {
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) return 0;
        return -1;
      }
      n = r;
    } else {
      n = send(c->fd, c->out.data + c->out_off, left, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
        return -1;
      }
    }
    c->out_off += (size_t)n;
  }
  c->out.len = c->out_off = 0;
  return 0;
}

/* ---- input ---- */

/* Read what is available. Returns -1 on a dead connection, else 0. */
static int conn_read(struct h1_conn *c) {
  char buf[16384];
  c->ssl_want_write = 0;
  while (c->in.len - c->in_off < H1_IN_CAP) {
    ssize_t n;
    if (c->ssl) {
      ERR_clear_error();
      int r = SSL_read(c->ssl, buf, sizeof buf);
      if (r <= 0) {
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ) return 0;
        if (e == SSL_ERROR_WANT_WRITE) {
          c->ssl_want_write = 1;
          return 0;
        }
        if (e == SSL_ERROR_ZERO_RETURN) {
          c->eof = 1;
          return 0;
        }
        return -1;
      }
      n = r;
    } else {
      n = recv(c->fd, buf, sizeof buf, 0);
      if (n == 0) {
        c->eof = 1;
        return 0;
      }
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
        return -1;
      }
    }
    if (bytes_add(&c->in, buf, (size_t)n)) return -1;
  }
  return 0;
}

static void fail_request(struct h1_conn *c, int status) {
  c->refused = status;
  char head[160];
  const char *reason = http_status_str((enum http_status)status);
  char body[96];
  int blen = snprintf(body, sizeof body, "{\"code\":%d,\"message\":\"%s\"}", status, reason);
  int hlen = snprintf(head, sizeof head,
                      "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                      "Content-Length: %d\r\nConnection: close\r\n\r\n",
                      status, reason, blen);
  out_add(c, head, (size_t)hlen);
  out_add(c, body, (size_t)blen);
  c->close_after = 1;
}

static struct emu_req *build_req(struct h1_conn *c) {
  struct emu_req *req = calloc(1, sizeof *req);
  if (!req) return NULL;
  req->srv = c->srv;
  req->proto = c->proto;
  req->transport = c;
  req->method = strdup(http_method_str((enum http_method)c->parser.method));
  const char *url = c->url.data ? c->url.data : "/";
  const char *q = strchr(url, '?');
  req->path = q ? strndup(url, (size_t)(q - url)) : strdup(url);
  char *hash = q ? strchr(q + 1, '#') : NULL;
  req->query = q ? strndup(q + 1, hash ? (size_t)(hash - q - 1) : strlen(q + 1)) : strdup("");
  req->headers = c->hdrs;
  req->n_headers = c->n_hdrs;
  c->hdrs = NULL;
  c->n_hdrs = 0;
  req->body = c->body.data ? c->body.data : strdup("");
  req->body_len = c->body.len;
  memset(&c->body, 0, sizeof c->body);
  if (!req->method || !req->path || !req->query || !req->body) {
    req->transport = NULL;
    return req; /* the caller frees it and answers 500 */
  }
  return req;
}

static void req_free(struct emu_req *req) {
  if (!req) return;
  free(req->method);
  free(req->path);
  free(req->query);
  for (size_t i = 0; i < req->n_headers; i++) {
    free(req->headers[i].name);
    free(req->headers[i].value);
  }
  free(req->headers);
  free(req->body);
  free(req);
}

static void conn_dispatch(struct h1_conn *c) {
  struct emu_req *req = build_req(c);
  if (!req || !req->transport) {
    req_free(req);
    fail_request(c, 500);
    return;
  }
  if (!http_should_keep_alive(&c->parser)) c->close_after = 1;
  if (c->on_parsed) {
    c->on_parsed(c->parsed_ud, req);
    req_free(req);
    return;
  }
  c->req = req;
  c->chunked = 0;
  struct emu_stats *st = &c->srv->stats;
  st->streams_total++;
  st->streams_open++;
  if (st->max_streams_per_conn < 1) st->max_streams_per_conn = 1;
  c->depth++;
  emu_dispatch(req);
  c->depth--;
}

/* Parse and dispatch buffered requests until one stays in flight. */
static void conn_process(struct h1_conn *c) {
  c->depth++;
  while (!c->closed && !c->req && !c->close_after && c->in_off < c->in.len) {
    size_t n = http_parser_execute(&c->parser, &h1_settings, c->in.data + c->in_off,
                                   c->in.len - c->in_off);
    c->in_off += n;
    enum http_errno err = HTTP_PARSER_ERRNO(&c->parser);
    if (err == HPE_PAUSED) {
      http_parser_pause(&c->parser, 0);
      if (c->complete) {
        c->complete = 0;
        conn_dispatch(c);
      }
    } else if (err != HPE_OK) {
      fail_request(c, c->fail_status ? c->fail_status : 400);
      break;
    }
  }
  if (c->in_off == c->in.len) c->in.len = c->in_off = 0;
  if (c->in_off > 0 && c->in_off > c->in.len / 2) {
    memmove(c->in.data, c->in.data + c->in_off, c->in.len - c->in_off);
    c->in.len -= c->in_off;
    c->in_off = 0;
  }
  c->depth--;
}

static void conn_free(struct h1_conn *c) {
  pending_reset(c);
  bytes_free(&c->in);
  bytes_free(&c->out);
  bytes_free(&c->url);
  bytes_free(&c->hname);
  bytes_free(&c->hval);
  bytes_free(&c->body);
  free(c);
}

/* Tear the connection down. A request in flight learns it through on_close. */
static void conn_close(struct h1_conn *c) {
  if (c->closed) return;
  c->closed = 1;
  ev_io_stop(c->srv->loop, &c->io);
  struct emu_req *req = c->req;
  c->req = NULL;
  if (req) {
    c->srv->stats.streams_open--;
    c->depth++;
    if (req->on_close) req->on_close(req);
    c->depth--;
    req_free(req);
  }
  if (c->raw_ops) {
    const struct emu_raw_ops *ops = c->raw_ops;
    c->raw_ops = NULL;
    c->depth++;
    ops->on_gone(c->raw_ud);
    c->depth--;
  }
  if (c->ssl) {
    SSL_free(c->ssl);
    c->ssl = NULL;
  }
  close(c->fd);
  c->srv->stats.conns_open[c->proto]--;
}

/* Upgraded: hand what came in to the owner (dropped once it closed). */
static void raw_step(struct h1_conn *c) {
  if (conn_read(c) < 0) {
    conn_close(c);
    return;
  }
  if (c->raw_ops && c->in_off < c->in.len)
    c->raw_ops->on_data(c->raw_ud, c->in.data + c->in_off, c->in.len - c->in_off);
  c->in.len = c->in_off = 0;
  if (!c->closed && conn_flush(c) < 0) conn_close(c);
  if (!c->closed && (c->eof || (c->close_after && c->out_off == c->out.len))) conn_close(c);
}

/* Everything written went out: a streaming route writes its next piece. */
static void conn_drain(struct h1_conn *c) {
  if (c->req && c->req->on_drain && c->out_off == c->out.len && !c->eof) c->req->on_drain(c->req);
}

/* After any event: flush, read, parse, and settle the watcher. */
static void conn_step(struct h1_conn *c) {
  c->depth++;
  if (conn_flush(c) < 0) {
    conn_close(c);
  } else if (c->upgraded) {
    raw_step(c);
  } else {
    if (!c->req && !c->closed) conn_process(c);
    if (!c->closed && conn_read(c) < 0) conn_close(c);
    if (!c->closed && !c->req) conn_process(c);
    if (!c->closed && conn_flush(c) < 0) conn_close(c);
    if (!c->closed) conn_drain(c);
    if (!c->closed && c->out_off == c->out.len) {
      if (c->close_after && !c->req)
        conn_close(c);
      else if (c->eof && (c->req || c->in_off == c->in.len))
        conn_close(c);
    }
  }
  c->depth--;
  if (!c->closed) conn_update_io(c);
}

static void conn_cb(struct ev_loop *loop, ev_io *w, int revents) {
  struct h1_conn *c = w->data;
  conn_step(c);
  if (c->closed && c->depth == 0) conn_free(c);
}

static void conn_update_io(struct h1_conn *c) {
  int ev = 0;
  if (!c->eof && c->in.len - c->in_off < H1_IN_CAP) ev |= EV_READ;
  if (c->out_off < c->out.len || c->ssl_want_write) ev |= EV_WRITE;
  if (c->req && c->req->on_drain && !c->eof) ev |= EV_WRITE; /* its next piece (conn_drain) */
  /* TLS may hold decrypted bytes that poll() cannot see: come back soon */
  if (c->ssl && SSL_pending(c->ssl) > 0 && (!c->req || c->upgraded)) ev |= EV_WRITE;
  if (ev == c->io_events && ev_is_active(&c->io)) return;
  ev_io_stop(c->srv->loop, &c->io);
  ev_io_set(&c->io, c->fd, ev);
  c->io_events = ev;
  if (ev) ev_io_start(c->srv->loop, &c->io);
}

/* Called when a route finished or wrote: flush and let the loop carry on. */
static void conn_kick(struct h1_conn *c) {
  if (c->closed) return;
  if (conn_flush(c) < 0) {
    /* the peer is gone; close from the loop, not under the route's feet */
    c->eof = 1;
    c->out.len = c->out_off = 0;
  }
  int ev = c->io_events | EV_WRITE;
  ev_io_stop(c->srv->loop, &c->io);
  ev_io_set(&c->io, c->fd, ev);
  c->io_events = ev;
  ev_io_start(c->srv->loop, &c->io);
}

void emu_h1_conn_new(struct emu_server *srv, int fd, SSL *ssl) {
  struct h1_conn *c = calloc(1, sizeof *c);
  if (!c) {
    if (ssl) SSL_free(ssl);
    close(fd);
    return;
  }
  int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->srv = srv;
  c->fd = fd;
  c->ssl = ssl;
  c->proto = ssl ? EMU_PROTO_H1_TLS : EMU_PROTO_H1;
  if (ssl) SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  srv->stats.conns_total[c->proto]++;
  srv->stats.conns_open[c->proto]++;
  ev_io_init(&c->io, conn_cb, fd, EV_READ);
  c->io.data = c;
  c->io_events = EV_READ;
  ev_io_start(srv->loop, &c->io);
  if (ssl) ev_feed_event(srv->loop, &c->io, EV_READ); /* the handshake may have left data */
}

/* ---- parsing without a socket (the fuzz target) ---- */

struct h1_conn *emu_h1_parser_new(emu_h1_parsed_fn fn, void *ud) {
  struct h1_conn *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->fd = -1;
  c->on_parsed = fn;
  c->parsed_ud = ud;
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  return c;
}

int emu_h1_parser_feed(struct h1_conn *c, const char *data, size_t len) {
  if (!c->refused && !c->close_after) {
    if (bytes_add(&c->in, data, len)) return 500;
    conn_process(c);
  }
  return c->refused ? c->refused : c->close_after ? -1 : 0;
}

void emu_h1_parser_free(struct h1_conn *c) {
  conn_free(c);
}

/* ---- the response API (through emu_req.c) ---- */

static struct h1_conn *live_conn(struct emu_req *req) {
  struct h1_conn *c = req->transport;
  if (!c || c->closed || c->req != req) return NULL;
  return c;
}

int emu_h1_resp_start(struct emu_req *req, int status, const struct emu_header *hdrs, size_t n_hdrs,
                      int64_t content_length) {
  struct h1_conn *c = live_conn(req);
  if (!c) return -1;
  char line[256];
  const char *reason = http_status_str((enum http_status)status);
  int n = snprintf(line, sizeof line, "HTTP/1.1 %d %s\r\n", status,
                   strcmp(reason, "<unknown>") == 0 ? "Status" : reason);
  out_add(c, line, (size_t)n);
  for (size_t i = 0; i < n_hdrs; i++) {
    if (strcasecmp(hdrs[i].name, "connection") == 0) {
      if (strcasecmp(hdrs[i].value, "close") == 0) c->close_after = 1;
      continue;
    }
    if (strcasecmp(hdrs[i].name, "content-length") == 0 ||
        strcasecmp(hdrs[i].name, "transfer-encoding") == 0)
      continue;
    out_add(c, hdrs[i].name, strlen(hdrs[i].name));
    out_add(c, ": ", 2);
    out_add(c, hdrs[i].value, strlen(hdrs[i].value));
    out_add(c, "\r\n", 2);
  }
  int bodyless = status == 204 || status == 304 || (status >= 100 && status < 200);
  if (content_length < 0 && !bodyless) {
    c->chunked = 1;
    n = snprintf(line, sizeof line, "Transfer-Encoding: chunked\r\n");
  } else if (!bodyless) {
    n = snprintf(line, sizeof line, "Content-Length: %lld\r\n", (long long)content_length);
  } else {
    n = 0;
  }
  out_add(c, line, (size_t)n);
  n = snprintf(line, sizeof line, "Connection: %s\r\n\r\n",
               c->close_after ? "close" : "keep-alive");
  out_add(c, line, (size_t)n);
  conn_kick(c);
  return 0;
}

int emu_h1_resp_write(struct emu_req *req, const void *data, size_t len) {
  struct h1_conn *c = live_conn(req);
  if (!c || c->eof) return -1;
  if (len == 0) return 0;
  if (c->chunked) {
    char size[24];
    int n = snprintf(size, sizeof size, "%zx\r\n", len);
    out_add(c, size, (size_t)n);
    out_add(c, data, len);
    out_add(c, "\r\n", 2);
  } else {
    out_add(c, data, len);
  }
  conn_kick(c);
  return 0;
}

void emu_h1_resp_end(struct emu_req *req) {
  struct h1_conn *c = live_conn(req);
  if (!c) return;
  if (c->chunked) out_add(c, "0\r\n\r\n", 5);
  c->chunked = 0;
  c->req = NULL;
  c->srv->stats.streams_open--;
  req_free(req);
  conn_kick(c);
}

void emu_h1_resp_abort(struct emu_req *req, enum emu_abort how) {
  struct h1_conn *c = live_conn(req);
  if (!c) return;
  req->on_close = NULL;
  c->out.len = c->out_off = 0;
  conn_close(c);
  /* free from the loop: the caller may be on our stack */
  if (c->depth == 0) conn_free(c);
}

/* ---- 101 Switching Protocols: the connection becomes a byte pipe ---- */

struct emu_raw *emu_h1_upgrade(struct emu_req *req, const struct emu_header *hdrs, size_t n_hdrs,
                               const struct emu_raw_ops *ops, void *ud) {
  struct h1_conn *c = live_conn(req);
  if (!c || c->eof) return NULL;
  static const char line[] = "HTTP/1.1 101 Switching Protocols\r\n";
  out_add(c, line, sizeof line - 1);
  for (size_t i = 0; i < n_hdrs; i++) {
    out_add(c, hdrs[i].name, strlen(hdrs[i].name));
    out_add(c, ": ", 2);
    out_add(c, hdrs[i].value, strlen(hdrs[i].value));
    out_add(c, "\r\n", 2);
  }
  out_add(c, "\r\n", 2);
  c->req = NULL;
  c->srv->stats.streams_open--;
  req_free(req);
  c->upgraded = 1;
  c->close_after = 0;
  c->raw_ops = ops;
  c->raw_ud = ud;
  conn_kick(c); /* bytes that came with the request reach ops from the loop */
  return (struct emu_raw *)c;
}

int emu_raw_send(struct emu_raw *r, const void *data, size_t len) {
  struct h1_conn *c = (struct h1_conn *)r;
  if (c->closed || c->eof) return -1;
  out_add(c, data, len);
  conn_kick(c);
  return 0;
}

void emu_raw_close(struct emu_raw *r) {
  struct h1_conn *c = (struct h1_conn *)r;
  c->raw_ops = NULL;
  c->close_after = 1;
  conn_kick(c);
}
