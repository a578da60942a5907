/* emu_http.h - the seam between sbx-emu's transports (HTTP/1.1 cleartext or
 * TLS, HTTP/2 over TLS) and its routes (E2B control plane, envd, /_emu).
 *
 * A transport parses a request, buffers its whole body, and calls
 * emu_dispatch(). The route answers through emu_resp_*(), now or later
 * (streams). Everything runs on the one libev loop of the emulator. */
#ifndef SBX_EMU_HTTP_H
#define SBX_EMU_HTTP_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

enum emu_proto { EMU_PROTO_H1 = 0, EMU_PROTO_H1_TLS = 1, EMU_PROTO_H2 = 2, EMU_PROTO_COUNT = 3 };

struct emu_stats {
  unsigned long conns_total[EMU_PROTO_COUNT]; /* accepted, by protocol */
  unsigned long conns_open[EMU_PROTO_COUNT];
  unsigned long streams_total;        /* requests dispatched */
  unsigned long streams_open;         /* requests not yet finished */
  unsigned long max_streams_per_conn; /* most concurrent requests seen on one connection */
};

struct emu_server {
  struct ev_loop *loop;
  struct emu_stats stats;
  SSL_CTX *ssl_ctx; /* NULL when TLS is off */
  void *app;        /* the routes' state */
  int verbose;
};

struct emu_header {
  char *name; /* lower-case */
  char *value;
};

struct emu_req;
typedef void (*emu_req_close_fn)(struct emu_req *req);

struct emu_req {
  /* Read-only for routes. */
  struct emu_server *srv;
  enum emu_proto proto;
  char *method;
  char *path;  /* percent-encoded, without the query */
  char *query; /* raw query after '?', "" when none */
  struct emu_header *headers;
  size_t n_headers;
  char *body; /* whole request body (chunked bodies de-chunked), NUL-terminated */
  size_t body_len;

  /* For routes: their per-request state, and a hook the transport calls when
   * the peer goes away (reset, connection closed) before emu_resp_end or
   * emu_resp_abort. After on_close returns, req is freed. */
  void *route_data;
  emu_req_close_fn on_close;
  /* For routes that stream a big body: called from the loop once the
   * transport has sent all the bytes written so far, so the next piece is
   * read only when the peer has taken the last one. */
  emu_req_close_fn on_drain;
  /* Set by a "lost" fault before the route runs: the route's reply is
   * swallowed and, at emu_resp_end, the stream is reset instead (h1: the
   * connection dropped). The work the route did stays done. */
  int lose_reply;

  void *transport; /* private to the transport */
};

/* Implemented by the routes: handle one complete request. */
void emu_dispatch(struct emu_req *req);

/* Case-insensitive header lookup; NULL when absent. */
const char *emu_req_header(const struct emu_req *req, const char *name);

/* Start the response. content_length -1 means a streamed body (chunked on
 * HTTP/1.1, DATA frames on h2). Returns 0, or -1 when the peer is gone. */
int emu_resp_start(struct emu_req *req, int status, const struct emu_header *hdrs, size_t n_hdrs,
                   int64_t content_length);
/* Queue body bytes (copied); sent as soon as the socket allows. */
int emu_resp_write(struct emu_req *req, const void *data, size_t len);
/* Finish the response; the transport frees req after sending it. */
void emu_resp_end(struct emu_req *req);
/* Convenience: start + write + end with a Content-Type and a body. */
void emu_resp_simple(struct emu_req *req, int status, const char *content_type, const char *body,
                     size_t len);

enum emu_abort {
  EMU_ABORT_DROP_CONN = 0,  /* close the TCP connection now (all its streams die) */
  EMU_ABORT_RST_STREAM = 1, /* h2: RST_STREAM(INTERNAL_ERROR) this stream; h1: drop */
  EMU_ABORT_GOAWAY = 2      /* h2: GOAWAY then close; h1: drop */
};
/* Abort the response; req is freed (on_close is not called). */
void emu_resp_abort(struct emu_req *req, enum emu_abort how);

/* Upgrades (WebSocket). After a 101 on HTTP/1.1 the connection is a byte
 * pipe between the peer and ops. */
struct emu_raw_ops {
  void (*on_data)(void *ud, const char *data, size_t len); /* bytes received */
  void (*on_gone)(void *ud); /* the peer went away: no more calls, no more sends */
};
struct emu_raw;
/* Answer 101 with hdrs and hand the connection to ops; req is freed. NULL
 * (req untouched) on h2, which does not upgrade, or when the peer is gone. */
struct emu_raw *emu_resp_upgrade(struct emu_req *req, const struct emu_header *hdrs, size_t n_hdrs,
                                 const struct emu_raw_ops *ops, void *ud);
/* Queue bytes (copied). 0, or -1 when the connection is going away. */
int emu_raw_send(struct emu_raw *r, const void *data, size_t len);
/* Close once the output is flushed; ops get no more calls. */
void emu_raw_close(struct emu_raw *r);

/* Hold a request open while a route waits for something async (a libsbx
 * callback): the hold outlives the request when the peer goes away first.
 * emu_req_hold returns NULL on no memory; emu_req_resume frees the hold and
 * gives back the request to answer, or NULL when the peer is gone. */
struct emu_hold;
struct emu_hold *emu_req_hold(struct emu_req *req);
struct emu_req *emu_req_resume(struct emu_hold *h);

/* Transports. */
/* Cleartext HTTP/1.1 listener; returns the bound port or -1. */
int emu_h1_listen(struct emu_server *srv, const char *host, int port);
/* Start an HTTP/1.1 connection on an accepted fd; ssl is NULL in cleartext,
 * else a TLS session whose handshake is complete. Takes ownership of both. */
void emu_h1_conn_new(struct emu_server *srv, int fd, SSL *ssl);
/* TLS listener (ALPN h2, http/1.1); returns the bound port or -1. */
int emu_tls_listen(struct emu_server *srv, const char *host, int port, const char *cert_file,
                   const char *key_file);
/* Start an HTTP/2 connection on a completed TLS session. Takes ownership. */
void emu_h2_conn_new(struct emu_server *srv, int fd, SSL *ssl);

#endif
