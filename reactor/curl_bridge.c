/* curl_bridge.c - libcurl's multi_socket API on libev.
 *
 * curl tells us which sockets to watch (socket callback) and when to call it
 * back (timer callback); libev watchers call curl_multi_socket_action; then
 * finished transfers are drained from curl_multi_info_read and only there
 * handed to their ops (never from inside a curl callback). */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "client.h"
#include "http.h"

/* Weak watchers: they do not keep ev_run alive on their own (idle pooled
 * connections would otherwise stop the host's ev_run from returning). Each
 * start is followed by ev_unref, and *weak remembers that one unref is
 * owed back: libev stops watchers by itself (an expired one-shot timer, an
 * fd it had to kill), and a stopped watcher can also lose its pending event
 * to a later ev_*_stop, so ev_is_active cannot tell whether to ev_ref. */
static void unweaken(struct ev_loop *loop, int *weak) {
  if (!*weak) return;
  *weak = 0;
  ev_ref(loop);
}

static void io_stop_weak(struct ev_loop *loop, ev_io *w, int *weak) {
  unweaken(loop, weak);
  ev_io_stop(loop, w);
}

static void io_start_weak(struct ev_loop *loop, ev_io *w, int *weak) {
  ev_io_start(loop, w);
  ev_unref(loop);
  *weak = 1;
}

struct sock_watch {
  ev_io io;
  struct sbx_multi *bm;
  curl_socket_t fd;
  int weak;   /* an ev_unref is owed back */
  int corked; /* TCP_CORK is on until the callback ends */
  struct sock_watch *next;
};

/* curl 7.88 writes every HTTP/2 frame with its own SSL_write and send(), so
 * a burst of requests costs a TCP segment per frame, each through the whole
 * kernel send path (and, on loopback, the peer's receive path too). While
 * one callback runs curl, its connections are corked: the kernel coalesces
 * the frames, and uncorking at the end of the callback sends them in the
 * same loop turn, so no request waits. Only while transfers that may share
 * a connection outnumber the connections: an HTTP/1.1 connection carries one
 * request at a time, and corking it would only add two syscalls. A timer
 * callback (where new requests go out) corks every connection, an io
 * callback the one that fired (with many connections, the others would
 * mostly cost syscalls). */
static void cork_one(struct sock_watch *sw) {
  int on = 1;
  if (!sw->corked && setsockopt(sw->fd, IPPROTO_TCP, TCP_CORK, &on, sizeof on) == 0) sw->corked = 1;
}

static void cork(struct sbx_multi *bm, struct sock_watch *only) {
  if (bm->n_socks == 0 || bm->n_mux < 2 * bm->n_socks) return;
  for (struct sock_watch *sw = only ? only : bm->socks; sw; sw = only ? NULL : sw->next)
    cork_one(sw);
}

static void uncork_one(struct sock_watch *sw) {
  int off = 0;
  if (sw->corked) setsockopt(sw->fd, IPPROTO_TCP, TCP_CORK, &off, sizeof off);
  sw->corked = 0;
}

static void uncork(struct sbx_multi *bm) {
  for (struct sock_watch *sw = bm->socks; sw; sw = sw->next)
    uncork_one(sw);
}

static void drain(struct sbx_multi *bm) {
  struct sbx_client *c = bm->c;
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(bm->m, &left))) {
    if (msg->msg != CURLMSG_DONE) continue;
    struct sbx_http *h = NULL;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&h);
    if (h) sbx__http_done(h, msg->data.result); /* may run the op, start others */
    if (c->free_requested) return;
  }
}

/* Transfers whose new socket got no watcher (socket_cb ran out of memory)
 * end now with CURLE_OUT_OF_MEMORY, their connection closed with them: an
 * unwatched connection left in curl's cache would stall whoever reused it. */
static void fail_oom(struct sbx_multi *bm) {
  struct sbx_client *c = bm->c;
  while (bm->oom && !c->free_requested) {
    struct sbx_http *h = bm->oom;
    bm->oom = h->oom_next;
    h->oom_next = NULL;
    h->oom_listed = 0;
    curl_easy_setopt(h->easy, CURLOPT_FORBID_REUSE, 1L);
    sbx__http_done(h, CURLE_OUT_OF_MEMORY); /* may run the op */
  }
}

void sbx__bridge_forget(struct sbx_client *c, struct sbx_http *h) {
  struct sbx_multi *bm = h->upgrade ? &c->mh_up : &c->mh;
  for (struct sbx_http **pp = &bm->oom; *pp; pp = &(*pp)->oom_next)
    if (*pp == h) {
      *pp = h->oom_next;
      break;
    }
  h->oom_next = NULL;
  h->oom_listed = 0;
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents) {
  struct sock_watch *sw = (struct sock_watch *)w;
  struct sbx_multi *bm = sw->bm;
  struct sbx_client *c = bm->c;
  if (revents & EV_ERROR) unweaken(loop, &sw->weak); /* libev stopped it */
  int action =
      (revents & EV_READ ? CURL_CSELECT_IN : 0) | (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
  int running;
  sbx__client_enter(c);
  cork(bm, sw);
  curl_multi_socket_action(bm->m, sw->fd, action, &running);
  fail_oom(bm);
  drain(bm);
  uncork(bm);
  sbx__client_leave(c);
}

static void timer_cb(struct sbx_timer *t) {
  struct sbx_multi *bm = t->data;
  struct sbx_client *c = bm->c;
  int running;
  sbx__client_enter(c);
  cork(bm, NULL);
  curl_multi_socket_action(bm->m, CURL_SOCKET_TIMEOUT, 0, &running);
  fail_oom(bm);
  drain(bm);
  uncork(bm);
  sbx__client_leave(c);
}

/* CURLMOPT_SOCKETFUNCTION. Under HTTP/2 a socket is not a transfer, so the
 * watcher lives in curl's per-socket slot, never per easy handle. */
static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
  struct sbx_multi *bm = userp;
  struct sbx_client *c = bm->c;
  struct sock_watch *sw = socketp;
  if (what == CURL_POLL_REMOVE) {
    if (sw) {
      io_stop_weak(c->loop, &sw->io, &sw->weak);
      curl_multi_assign(bm->m, fd, NULL);
      uncork_one(sw);
      struct sock_watch **pp = &bm->socks; /* a few connections: a short walk */
      while (*pp != sw)
        pp = &(*pp)->next;
      *pp = sw->next;
      bm->n_socks--;
      sbx__free(sbx__alloc(c), sw);
    }
    return 0;
  }
  if (!sw) {
    sw = SBX_NEW(sbx__alloc(c), struct sock_watch);
    if (!sw) {
      /* Never -1: curl 7.88 then marks the whole multi handle dead. The
       * transfer that opened the socket fails once curl returns. */
      struct sbx_http *h = NULL;
      if (easy) curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&h);
      if (h && !h->oom_listed) {
        h->oom_listed = 1;
        h->oom_next = bm->oom;
        bm->oom = h;
      }
      return 0;
    }
    sw->bm = bm;
    sw->fd = fd;
    ev_init(&sw->io, io_cb);
    curl_multi_assign(bm->m, fd, sw);
    sw->next = bm->socks;
    bm->socks = sw;
    bm->n_socks++;
  }
  int ev = (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
  if (ev_is_active(&sw->io) && (sw->io.events & (EV_READ | EV_WRITE)) == ev) return 0;
  /* Stop + set + start on a change: libev re-checks a reused fd number. A
   * socket curl closed and reopened under the same number comes with a new
   * (NULL) socketp, so it never takes the shortcut above. */
  io_stop_weak(c->loop, &sw->io, &sw->weak);
  ev_io_set(&sw->io, fd, ev);
  io_start_weak(c->loop, &sw->io, &sw->weak);
  return 0;
}

/* CURLMOPT_TIMERFUNCTION: never call curl from here; arm a (weak) timer. */
static int timerfunc_cb(CURLM *multi, long timeout_ms, void *userp) {
  struct sbx_multi *bm = userp;
  if (timeout_ms >= 0)
    sbx__timer_start(&bm->c->timers, &bm->timer, timeout_ms);
  else
    sbx__timer_stop(&bm->c->timers, &bm->timer);
  return 0;
}

static int multi_init(struct sbx_client *c, struct sbx_multi *bm) {
  bm->m = curl_multi_init();
  if (!bm->m) return -1;
  bm->c = c;
  sbx__timer_init(&bm->timer, timer_cb, bm, 1);
  curl_multi_setopt(bm->m, CURLMOPT_SOCKETFUNCTION, socket_cb);
  curl_multi_setopt(bm->m, CURLMOPT_SOCKETDATA, bm);
  curl_multi_setopt(bm->m, CURLMOPT_TIMERFUNCTION, timerfunc_cb);
  curl_multi_setopt(bm->m, CURLMOPT_TIMERDATA, bm);
  return 0;
}

int sbx__bridge_init(struct sbx_client *c) {
  if (multi_init(c, &c->mh) != 0) return -1;
  CURLM *m = c->mh.m;
  curl_multi_setopt(m, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
  curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)c->cfg.max_connections);
  curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)c->cfg.max_connections * 4);
  long streams = c->cfg.max_connections > 0 ? c->cfg.max_streams / c->cfg.max_connections : 100;
  if (streams < 1) streams = 1;
  curl_multi_setopt(m, CURLMOPT_MAX_CONCURRENT_STREAMS, streams);
  return 0;
}

/* An upgraded connection carries one WebSocket until it closes, so upgrades
 * get a multi handle of their own: mh's per-host connection cap is meant
 * for shared h2 connections and would make streams wait for each other. */
int sbx__bridge_add(struct sbx_client *c, struct sbx_http *h) {
  struct sbx_multi *bm = h->upgrade ? &c->mh_up : &c->mh;
  if (!bm->m && multi_init(c, bm) != 0) return -1;
  if (curl_multi_add_handle(bm->m, h->easy) != CURLM_OK) return -1;
  h->in_multi = 1;
  bm->n_mux += h->mux;
  return 0;
}

void sbx__bridge_remove(struct sbx_client *c, struct sbx_http *h) {
  struct sbx_multi *bm = h->upgrade ? &c->mh_up : &c->mh;
  if (!h->in_multi) return;
  curl_multi_remove_handle(bm->m, h->easy);
  h->in_multi = 0;
  bm->n_mux -= h->mux;
}

static void multi_cleanup(struct sbx_multi *bm) {
  if (!bm->m) return;
  /* Every easy handle is gone by now (ops were closed); cleanup may still
   * call the socket callback while it closes pooled connections. */
  curl_multi_cleanup(bm->m);
  bm->m = NULL;
  sbx__timer_stop(&bm->c->timers, &bm->timer);
}

void sbx__bridge_cleanup(struct sbx_client *c) {
  multi_cleanup(&c->mh_up);
  multi_cleanup(&c->mh);
}
