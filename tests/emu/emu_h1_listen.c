/* emu_h1_listen.c - the cleartext listener: accept, then hand each socket
 * to the HTTP/1.1 transport. */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "emu_http.h"

struct h1_listener {
  struct emu_server *srv;
  int fd;
  ev_io io;
};

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents) {
  struct h1_listener *l = w->data;
  for (int i = 0; i < 64; i++) {
    int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return; /* EAGAIN, or EMFILE: try again on the next event */
    emu_h1_conn_new(l->srv, fd, NULL);
  }
}

int emu_h1_listen(struct emu_server *srv, const char *host, int port) {
  struct addrinfo hints = {
      .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
  struct addrinfo *res = NULL;
  char pstr[16];
  snprintf(pstr, sizeof pstr, "%d", port);
  if (getaddrinfo(host, pstr, &hints, &res) != 0 || !res) return -1;
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
      bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 1024) < 0) {
    if (fd >= 0) close(fd);
    freeaddrinfo(res);
    return -1;
  }
  freeaddrinfo(res);
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  int bound = -1;
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
    bound = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                     : ntohs(((struct sockaddr_in *)&ss)->sin_port);
  struct h1_listener *l = calloc(1, sizeof *l);
  if (!l || bound < 0) {
    free(l);
    close(fd);
    return -1;
  }
  l->srv = srv;
  l->fd = fd;
  ev_io_init(&l->io, accept_cb, fd, EV_READ);
  l->io.data = l;
  ev_io_start(srv->loop, &l->io);
  return bound;
}
