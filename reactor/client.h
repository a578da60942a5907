/* client.h - the client object: one libev loop, one libcurl multi handle,
 * the op table, the run queue, the rate governor and per-host admission. */
#ifndef SBX_REACTOR_CLIENT_H
#define SBX_REACTOR_CLIENT_H

#include <curl/curl.h>
#include <ev.h>
#include <pthread.h>
#include <stdarg.h>

#include "../protocol/alloc.h"
#include "op.h"
#include "rate.h"
#include "sbx.h"
#include "timers.h"

#define SBX_OP_TABLE_SIZE 4096 /* buckets; chains are short at 10k ops */
#define SBX_MAX_HOSTS 8

struct sbx_http;

/* Concurrent transfers per host are capped by the client itself: Debian's
 * libcurl 7.88 does not queue beyond a busy multiplexed connection. */
struct sbx_host_slot {
  char *host; /* "scheme://host:port" */
  int inflight;
  int warm; /* a reply came back: the server's HTTP/2 SETTINGS are known */
  struct sbx_http *wait_head, *wait_tail;
};

/* Per kind. At 100 requests in flight, 32 left two requests in three to
 * curl_easy_init (a 5 KB handle plus buffers) and cleanup; the handles kept
 * are at most those that were in flight at once, so RSS does not grow. */
#define SBX_EASY_POOL 128

/* A libcurl multi handle on the loop (curl_bridge.c). */
struct sbx_multi {
  CURLM *m;
  struct sbx_client *c;
  struct sbx_timer timer;   /* curl's timeout: weak (idle connections do not
                               keep the host's ev_run alive) */
  struct sock_watch *socks; /* curl's sockets (curl_bridge.c) */
  int n_socks, n_mux;       /* sockets, and transfers with sbx_http.mux */
  struct sbx_http *oom;     /* transfers whose socket could not be watched
                               (out of memory): failed once curl returns */
};

struct sbx_client {
  struct ev_loop *loop;
  int own_loop;    /* created with a NULL loop: a private loop the host drives
                      with sbx_client_run_once (embed.c) */
  int poll_fd;     /* own_loop: its epoll fd; else -1 */
  int ran;         /* own_loop: the last loop pass ran callbacks */
  int busy;        /* own_loop: run_once's last pass still ran callbacks, so
                      libev may hold fd changes it has not applied yet */
  sbx_config cfg;  /* strings point into owned copies below */
  char *owned[16]; /* owned config strings */
  int n_owned;
  struct sbx_multi mh;         /* every request: h2 connections shared per host */
  struct sbx_multi mh_up;      /* WebSocket upgrades (lazy): one HTTP/1.1 connection
                                  each, kept out of mh's per-host connection cap */
  struct sbx_timers timers;    /* every timer of the client and its ops */
  struct sbx_timer runq_timer; /* flushes the run queue on the next loop turn */
  int alive_held;              /* an ev_ref is held while ops are pending */
  struct sbx_op *runq_head, *runq_tail;
  struct sbx_op *ops[SBX_OP_TABLE_SIZE];
  size_t n_ops;
  sbx_op_id next_id;
  int depth;          /* >0 while inside a dispatch from the loop */
  int free_requested; /* sbx_client_free was called during a dispatch */
  int closing;        /* no new ops */
  int admit_pending;  /* a host warmed up: admit its waiting transfers */
  struct sbx_host_slot hosts[SBX_MAX_HOSTS];
  int n_hosts;
  struct sbx_rate_governor rate;
  /* Reset easy handles kept for reuse, one pool per receive buffer size
   * (curl keeps a handle's buffer across curl_easy_reset): [0] unary, [1]
   * streams. Saves an init and the buffer allocations per request. */
  CURL *easy_pool[2][SBX_EASY_POOL];
  int n_easy_pool[2];
  uint64_t rng;                    /* xorshift state for retry jitter */
  sbx_client_stats stats;          /* sbx_client_stats_get */
  const struct sbx_provider *prov; /* the provider layer's vtable */
  void *prov_state;
  void (*prov_destroy)(struct sbx_client *c);
  char errmsg[256]; /* sbx_last_error: why the last refused call was refused */
#ifndef NDEBUG
  pthread_t owner; /* the creating thread: the only one allowed to call in */
#endif
};

struct sbx_client *sbx__client_new(struct ev_loop *loop, const sbx_config *cfg, sbx_status *st,
                                   char *errbuf, size_t errlen);
void sbx__client_free(struct sbx_client *c);
/* One reference on libcurl's global state (global.c); every client holds one. */
sbx_status sbx__global_ref(void);
void sbx__global_unref(void);

/* The client's allocator (cfg.allocator) for sbx__malloc and friends
 * (protocol/alloc.h): every allocation of the library made for a client. */
static inline const sbx_allocator *sbx__alloc(const struct sbx_client *c) {
  return &c->cfg.allocator;
}

/* Copy a string into the client's owned storage (config strings). NULL for
 * NULL s, and when out of memory or slots (then *st, if given, is set). */
const char *sbx__client_own(struct sbx_client *c, const char *s);

/* Dispatch bracketing: every entry from the loop runs between enter and
 * leave; a free requested inside happens at the outermost leave. */
void sbx__client_enter(struct sbx_client *c);
void sbx__client_leave(struct sbx_client *c);

void sbx__client_register(struct sbx_client *c, struct sbx_op *op);
void sbx__client_unregister(struct sbx_client *c, struct sbx_op *op);
struct sbx_op *sbx__client_find(struct sbx_client *c, sbx_op_id id);
void sbx__client_queue(struct sbx_client *c, struct sbx_op *op);
/* Flush the run queue on the next loop turn even when it is empty. */
void sbx__client_kick(struct sbx_client *c);

/* embed.c: a private epoll loop for a client made with a NULL loop, its
 * pollable fd in *fd. NULL with errbuf set when libev cannot embed it. */
struct ev_loop *sbx__own_loop_new(struct sbx_client *c, int *fd, char *errbuf, size_t errlen);

void sbx__log(struct sbx_client *c, int level, const char *comp, sbx_op_id op, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
int sbx__log_enabled(const struct sbx_client *c, int level);

/* Refuse a public call: status st (SBX_EINVAL, SBX_ENOTSUP, SBX_ECLOSED),
 * the message "fn: ..." kept for sbx_last_error and logged as a warning.
 * c may be NULL (nothing is kept then). Returns st. */
sbx_status sbx__refuse(struct sbx_client *c, sbx_status st, const char *fn, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Debug builds (no NDEBUG): abort with a message naming fn when called from
 * a thread other than the one that created c. A client is not thread-safe;
 * a call from another thread is a bug to catch at once, not a race to
 * debug later. Release builds: nothing. */
#ifndef NDEBUG
void sbx__check_thread(const struct sbx_client *c, const char *fn);
#else
#define sbx__check_thread(c, fn) ((void)0)
#endif

/* A pseudo-random number in [0, n) for jitter (per client, no globals). */
uint64_t sbx__client_rand(struct sbx_client *c, uint64_t n);

#endif
