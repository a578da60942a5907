/* http.h - one HTTP transfer of an op, on the client's curl multi handle.
 *
 * The op fills a struct sbx_http_req and calls sbx__http_start(). The body
 * is either buffered (capped) or, for a 2xx reply with a stream sink, handed
 * to the sink as it arrives (likewise the bytes after a 101 upgrade). Completion is only reported
 * while draining curl_multi_info_read: the op receives OP_EV_HTTP and reads the result. */
#ifndef SBX_REACTOR_HTTP_H
#define SBX_REACTOR_HTTP_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#include "../protocol/alloc.h"
#include "../protocol/errinfo.h"

struct sbx_op;
struct sbx_client;

/* Stream sink: return 0 to go on, non-zero to abort the transfer (the op
 * records why before returning). Called from inside curl: it must not call
 * libcurl; it may call user callbacks. */
typedef int (*sbx_http_sink_fn)(struct sbx_op *op, const char *data, size_t len);

struct sbx_buf {
  char *data;
  size_t len, cap;
};

struct sbx_http_req {
  const char *method; /* "GET", "POST", "DELETE", "PUT" */
  const char *url;
  const char *host;           /* admission key: scheme://host:port */
  struct curl_slist *headers; /* ownership passes to the transfer */
  /* Borrowed: sent after headers, never freed by the transfer; made once by
   * sbx__http_shared_headers and kept until the client is freed. Saves
   * building the same credentials headers for every request. */
  struct curl_slist *shared_headers;
  /* Request body: from memory (borrowed, must outlive the transfer) ... */
  const char *body;
  size_t body_len;
  /* ... or prefix + file (fd, size bytes) + suffix, streamed */
  int upload_fd; /* -1 when none */
  uint64_t upload_size;
  const char *prefix, *suffix;
  size_t prefix_len, suffix_len;
  size_t max_body; /* cap on a buffered reply body */
  /* Room for a buffered reply allocated before the request is sent: a
   * create's reply then needs no memory once the server has acted (see
   * call_hooks.build_undo). 0: allocated as bytes arrive. */
  size_t reserve_body;
  sbx_http_sink_fn sink; /* for 2xx replies: stream instead of buffering */
  /* With a sink: the request asks for a protocol upgrade (the caller adds
   * the headers). It goes over HTTP/1.1 on a connection of its own; a 101
   * reply calls the sink once with len 0 when its headers are complete,
   * then hands it every byte of the upgraded connection. */
  unsigned upgrade : 1;
  /* With a sink: a download, read in curl's default pieces. Otherwise a
   * stream of small messages gets a 1 KiB receive buffer (cheap to keep
   * open by the thousand). */
  unsigned bulk : 1;
  long timeout_ms;     /* whole transfer; 0: none */
  long idle_timeout_s; /* abort when no byte arrives for this long; 0: none */
};

struct sbx_http {
  CURL *easy;
  struct sbx_op *op;
  struct sbx_client *c;
  struct curl_slist *headers;
  struct curl_slist *own_last; /* last own header, linked to a shared list */
  int slot;                    /* host slot index */
  unsigned added : 1;          /* admitted (holds a host slot unless an upgrade) */
  unsigned in_multi : 1;       /* curl_multi_add_handle succeeded (curl_bridge.c) */
  unsigned mux : 1;            /* may share an HTTP/2 connection with others */
  unsigned waiting : 1;        /* queued for admission */
  unsigned done : 1;
  unsigned streaming : 1; /* body goes to the sink */
  unsigned sink_aborted : 1;
  unsigned too_big : 1;
  unsigned nomem : 1;      /* an allocation failed inside a curl callback */
  unsigned oom_listed : 1; /* on its multi's oom list (curl_bridge.c) */
  unsigned upgrade : 1;    /* see sbx_http_req.upgrade */
  unsigned small_buf : 1;  /* a 1 KiB receive buffer: pooled apart */
  char ws_accept[64];      /* Sec-WebSocket-Accept of an upgrade reply */
  long status;             /* HTTP status, 0 when none */
  CURLcode result;
  long retry_after_ms;       /* -1 when absent */
  long rl_reset_ms;          /* largest X-RateLimit-Reset-<name>, -1 when absent */
  unsigned rl_exhausted : 1; /* some X-RateLimit-Remaining-<name> was 0 */
  char *next_token;          /* X-Next-Token */
  char *content_type;        /* of a reply with a sink (e.g. a multipart boundary) */
  struct sbx_buf body;       /* buffered reply */
  size_t max_body;
  sbx_http_sink_fn sink;
  /* upload state */
  int upload_fd;
  uint64_t upload_left;
  const char *prefix, *suffix;
  size_t prefix_len, suffix_len, seg_off;
  int seg;
  int upload_errno;
  uint64_t bytes_in;
  uint64_t upload_total; /* request body size, 0 when none */
  struct sbx_http *wait_next;
  struct sbx_http *oom_next;
  char errbuf[CURL_ERROR_SIZE];
};

/* Finish a list for sbx_http_req.shared_headers: adds what every request
 * sends. On failure frees l and returns NULL. */
struct curl_slist *sbx__http_shared_headers(struct curl_slist *l);
/* Start a transfer for op (op->http is set). Returns 0 or a negative status. */
int sbx__http_start(struct sbx_op *op, struct sbx_http_req *req);
/* Abort and free op's transfer (not from inside curl callbacks). */
void sbx__http_abort(struct sbx_op *op);
/* Admit transfers that waited for their host to warm up (loop context). */
void sbx__http_admit_pending(struct sbx_client *c);
/* Free a finished transfer. */
void sbx__http_free(struct sbx_http *h);
/* Called by the bridge while draining: the transfer is done. */
void sbx__http_done(struct sbx_http *h, CURLcode result);

/* Fill e from a curl-level failure (connect, TLS, timeout, reset, size cap).
 * Returns its status, or 0 when curl reported no error (the HTTP status is
 * then the provider's to map). */
int sbx__http_curl_error(const struct sbx_http *h, const char *what, struct sbx_errinfo *e);

/* 0, -1 when over cap, SBX_ENOMEM when out of memory. */
int sbx__buf_append(const sbx_allocator *a, struct sbx_buf *b, const void *p, size_t n, size_t cap);
/* Room for n bytes (terminator included) in one allocation: 0 or
 * SBX_ENOMEM (b unchanged). */
int sbx__buf_reserve(const sbx_allocator *a, struct sbx_buf *b, size_t n);
void sbx__buf_free(const sbx_allocator *a, struct sbx_buf *b);

/* The multi bridge (curl_bridge.c). */
int sbx__bridge_init(struct sbx_client *c);
void sbx__bridge_cleanup(struct sbx_client *c);
/* Add h to its multi handle (mh, or mh_up for upgrades): 0 or -1. */
int sbx__bridge_add(struct sbx_client *c, struct sbx_http *h);
void sbx__bridge_remove(struct sbx_client *c, struct sbx_http *h);
/* Take h off its multi's oom list, if it is there (h is going away). */
void sbx__bridge_forget(struct sbx_client *c, struct sbx_http *h);

/* Free the client's pooled easy handles (client teardown). */
void sbx__http_pool_free(struct sbx_client *c);

#endif
