/* embed.c - a client on a private libev loop, driven by a host on another
 * event loop: the loop's epoll fd to poll, how long the host may wait
 * (sbx's own timer heap, timers.c), and a non-blocking run-once. */
#include <stdio.h>

#include "client.h"

/* libev applies fd changes (epoll_ctl) only at the start of a loop pass, so
 * a watcher started by a callback is not in the epoll set until the next
 * pass. run_once therefore runs passes until one runs no callback; this
 * hook tells whether a pass did. */
static void invoke_pending(struct ev_loop *loop) {
  struct sbx_client *c = ev_userdata(loop);
  if (ev_pending_count(loop)) c->ran = 1;
  ev_invoke_pending(loop);
}

static struct ev_loop *fail(char *errbuf, size_t errlen, const char *msg) {
  if (errbuf && errlen) snprintf(errbuf, errlen, "%s", msg);
  return NULL;
}

struct ev_loop *sbx__own_loop_new(struct sbx_client *c, int *fd, char *errbuf, size_t errlen) {
  if (!(ev_embeddable_backends() & ev_supported_backends() & EVBACKEND_EPOLL))
    return fail(errbuf, errlen, "libev's epoll backend cannot be embedded here: pass a loop");
  struct ev_loop *loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOENV);
  if (!loop) return fail(errbuf, errlen, "cannot create a libev epoll loop");
  /* libev has no accessor for its backend fd, but embedding a loop in
   * another one opens the embed watcher's io on it: do that on a throwaway
   * outer loop and keep the fd. */
  struct ev_loop *outer = ev_loop_new(EVBACKEND_POLL | EVFLAG_NOENV);
  if (!outer) outer = ev_loop_new(EVFLAG_NOENV);
  if (!outer || !(ev_backend(loop) & ev_embeddable_backends())) {
    if (outer) ev_loop_destroy(outer);
    ev_loop_destroy(loop);
    return fail(errbuf, errlen, "cannot embed a libev loop: pass a loop");
  }
  ev_embed e;
  ev_embed_init(&e, NULL, loop);
  ev_embed_start(outer, &e);
  *fd = e.io.fd;
  ev_embed_stop(outer, &e);
  ev_loop_destroy(outer);
  if (*fd < 0) {
    ev_loop_destroy(loop);
    return fail(errbuf, errlen, "libev gave no backend fd for its epoll loop");
  }
  ev_set_userdata(loop, c);
  ev_set_invoke_pending_cb(loop, invoke_pending);
  return loop;
}

int sbx_client_fd(const sbx_client *c) {
  return c && c->own_loop ? c->poll_fd : -1;
}

long sbx_client_timeout_ms(sbx_client *c) {
  if (!c) return -1;
  sbx__check_thread(c, __func__);
  if (c->busy) return 0;
  return sbx__timers_next_ms(&c->timers);
}

/* Passes per run_once: enough for a request's start (a timer pass, then
 * the connect's io), bounded so a busy stream cannot starve the host. */
#define RUN_PASSES 8

sbx_status sbx_client_run_once(sbx_client *c) {
  if (!c) return SBX_EINVAL;
  sbx__check_thread(c, __func__);
  c->errmsg[0] = '\0';
  if (!c->own_loop)
    return sbx__refuse(c, SBX_EINVAL, __func__, "the client runs on the caller's libev loop");
  if (c->depth > 0)
    return sbx__refuse(c, SBX_EINVAL, __func__, "called from one of the client's callbacks");
  sbx__client_enter(c); /* a free from a callback waits for the return */
  ev_now_update(c->loop);
  for (int i = 0; i < RUN_PASSES; i++) {
    c->ran = 0;
    ev_run(c->loop, EVRUN_NOWAIT);
    if (!c->ran || c->free_requested) break;
  }
  c->busy = c->ran;
  sbx__client_leave(c);
  return SBX_OK;
}
