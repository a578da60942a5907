/* emu_tls.c - the TLS listener of sbx-emu: accepts TCP connections, runs a
 * non-blocking SSL_accept on each, and hands the finished session to the
 * HTTP/2 transport (ALPN "h2") or to HTTP/1.1 (ALPN "http/1.1" or none).
 * HTTP/2 is offered only here: libcurl 7.88.1 cannot reuse h2c connections. */
#include "emu_http.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TLS_HANDSHAKE_TIMEOUT 10.0
#define TLS_BACKLOG 4096

/* ALPN wire format, in our order of preference. */
static const unsigned char alpn_protos[] = "\x02h2\x08http/1.1";

struct tls_listener {
  struct emu_server *srv;
  int fd;
  ev_io io;
  ev_cleanup cleanup; /* frees the listener if the loop is destroyed */
};

/* One TLS handshake in progress. */
struct tls_hs {
  struct emu_server *srv;
  int fd;
  SSL *ssl;
  ev_io io;
  ev_timer timer;
  ev_cleanup cleanup;
};

/* Pick h2, else http/1.1; no overlap means no ALPN, i.e. HTTP/1.1. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg) {
  unsigned char *sel;
  if (SSL_select_next_proto(&sel, outlen, alpn_protos, sizeof alpn_protos - 1, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = sel;
  return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *tls_ctx_new(const char *cert_file, const char *key_file) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return NULL;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  /* Partial writes and a movable buffer suit the transports' output queues. */
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    fprintf(stderr, "sbx-emu tls: cannot load %s / %s: %s\n", cert_file, key_file,
            ERR_reason_error_string(ERR_peek_last_error()));
    SSL_CTX_free(ctx);
    return NULL;
  }
  SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
  return ctx;
}

/* ---- handshakes ---- */

static void hs_free(struct tls_hs *hs, int close_conn) {
  struct ev_loop *loop = hs->srv->loop;
  ev_io_stop(loop, &hs->io);
  ev_timer_stop(loop, &hs->timer);
  ev_cleanup_stop(loop, &hs->cleanup);
  if (close_conn) {
    SSL_free(hs->ssl);
    close(hs->fd);
  }
  free(hs);
}

/* Hand the session to the protocol ALPN chose; ownership passes. */
static void hs_done(struct tls_hs *hs) {
  struct emu_server *srv = hs->srv;
  int fd = hs->fd;
  SSL *ssl = hs->ssl;
  const unsigned char *proto;
  unsigned int len;
  hs_free(hs, 0);
  SSL_get0_alpn_selected(ssl, &proto, &len);
  if (len == 2 && !memcmp(proto, "h2", 2))
    emu_h2_conn_new(srv, fd, ssl);
  else
    emu_h1_conn_new(srv, fd, ssl);
}

/* Drive SSL_accept; re-arm for whichever direction OpenSSL waits on. */
static void hs_step(struct tls_hs *hs) {
  ERR_clear_error();
  int rv = SSL_accept(hs->ssl);
  if (rv == 1) {
    hs_done(hs);
    return;
  }
  int events;
  switch (SSL_get_error(hs->ssl, rv)) {
  case SSL_ERROR_WANT_READ: events = EV_READ; break;
  case SSL_ERROR_WANT_WRITE: events = EV_WRITE; break;
  default:
    if (hs->srv->verbose)
      fprintf(stderr, "sbx-emu tls: handshake failed: %s\n",
              ERR_reason_error_string(ERR_peek_last_error()));
    hs_free(hs, 1);
    return;
  }
  if (hs->io.events != events) {
    ev_io_stop(hs->srv->loop, &hs->io);
    ev_io_set(&hs->io, hs->fd, events);
    ev_io_start(hs->srv->loop, &hs->io);
  }
}

static void on_hs_io(struct ev_loop *loop, ev_io *w, int revents) {
  hs_step(w->data);
}

static void on_hs_timeout(struct ev_loop *loop, ev_timer *w, int revents) {
  struct tls_hs *hs = w->data;
  if (hs->srv->verbose) fprintf(stderr, "sbx-emu tls: handshake timed out\n");
  hs_free(hs, 1);
}

static void on_hs_cleanup(struct ev_loop *loop, ev_cleanup *w, int revents) {
  hs_free(w->data, 1);
}

static void hs_start(struct emu_server *srv, int fd) {
  struct tls_hs *hs = calloc(1, sizeof *hs);
  SSL *ssl = hs ? SSL_new(srv->ssl_ctx) : NULL;
  if (!ssl || SSL_set_fd(ssl, fd) != 1) {
    SSL_free(ssl);
    free(hs);
    close(fd);
    return;
  }
  hs->srv = srv;
  hs->fd = fd;
  hs->ssl = ssl;
  ev_io_init(&hs->io, on_hs_io, fd, EV_READ);
  ev_timer_init(&hs->timer, on_hs_timeout, TLS_HANDSHAKE_TIMEOUT, 0.);
  ev_cleanup_init(&hs->cleanup, on_hs_cleanup);
  hs->io.data = hs->timer.data = hs->cleanup.data = hs;
  ev_io_start(srv->loop, &hs->io);
  ev_timer_start(srv->loop, &hs->timer);
  ev_cleanup_start(srv->loop, &hs->cleanup);
}

/* ---- listener ---- */

static void on_accept(struct ev_loop *loop, ev_io *w, int revents) {
  struct tls_listener *l = w->data;
  for (;;) {
    int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        fprintf(stderr, "sbx-emu tls: accept: %s\n", strerror(errno));
      return; /* EMFILE and the like: retried on the next readiness */
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* h2 frames are small */
    hs_start(l->srv, fd);
  }
}

static void on_listener_cleanup(struct ev_loop *loop, ev_cleanup *w, int revents) {
  struct tls_listener *l = w->data;
  ev_io_stop(loop, &l->io);
  close(l->fd);
  free(l);
}

/* Bind a non-blocking listening socket; returns the fd, or -1. */
static int listen_socket(const char *host, int port, int *bound_port) {
  struct addrinfo hints = {
      .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
  struct addrinfo *res, *ai;
  char port_s[16];
  snprintf(port_s, sizeof port_s, "%d", port);
  int err = getaddrinfo(host && *host ? host : NULL, port_s, &hints, &res);
  if (err) {
    fprintf(stderr, "sbx-emu tls: %s: %s\n", host ? host : "*", gai_strerror(err));
    return -1;
  }
  int fd = -1;
  for (ai = res; ai; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, TLS_BACKLOG) == 0) break;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) {
    fprintf(stderr, "sbx-emu tls: cannot listen on %s:%d: %s\n", host ? host : "*", port,
            strerror(errno));
    return -1;
  }
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  getsockname(fd, (struct sockaddr *)&ss, &sl);
  *bound_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
  return fd;
}

int emu_tls_listen(struct emu_server *srv, const char *host, int port, const char *cert_file,
                   const char *key_file) {
  if (!srv->ssl_ctx && !(srv->ssl_ctx = tls_ctx_new(cert_file, key_file))) return -1;
  int bound;
  int fd = listen_socket(host, port, &bound);
  if (fd < 0) return -1;
  struct tls_listener *l = calloc(1, sizeof *l);
  if (!l) {
    close(fd);
    return -1;
  }
  l->srv = srv;
  l->fd = fd;
  ev_io_init(&l->io, on_accept, fd, EV_READ);
  ev_cleanup_init(&l->cleanup, on_listener_cleanup);
  l->io.data = l->cleanup.data = l;
  ev_io_start(srv->loop, &l->io);
  ev_cleanup_start(srv->loop, &l->cleanup);
  return bound;
}
