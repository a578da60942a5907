/* http.c - easy handles for ops: options, body capture or streaming, upload
 * from memory or from a file, per-host admission, completion. */
#include "http.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../protocol/http_errors.h"
#include "client.h"

#define DEFAULT_MAX_BODY (64u * 1024u) /* error bodies and small replies */
/* Until a host has answered once, curl 7.88 assumes 100 streams per h2
 * connection (it has not read the server's SETTINGS yet) and spreads a
 * burst over many connections. Admit at most this many before then. */
#define COLD_HOST_MAX_INFLIGHT 100
#define UPLOAD_BUFFER_SIZE 16384L /* curl's minimum */

int sbx__buf_reserve(const sbx_allocator *a, struct sbx_buf *b, size_t n) {
  if (n <= b->cap) return 0;
  char *d = sbx__realloc(a, b->data, n);
  if (!d) return SBX_ENOMEM;
  b->data = d;
  b->cap = n;
  return 0;
}

int sbx__buf_append(const sbx_allocator *a, struct sbx_buf *b, const void *p, size_t n,
                    size_t cap) {
  if (b->len + n > cap) return -1;
  if (b->len + n + 1 > b->cap) {
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < b->len + n + 1)
      ncap *= 2;
    char *d = sbx__realloc(a, b->data, ncap);
    if (!d) return SBX_ENOMEM;
    b->data = d;
    b->cap = ncap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = 0; /* always NUL-terminated for parsers */
  return 0;
}

void sbx__buf_free(const sbx_allocator *a, struct sbx_buf *b) {
  sbx__free(a, b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

/* ---- curl callbacks (must not call libcurl multi functions) ---------------- */

/* Out of memory inside a curl callback: abort the transfer (0 bytes taken)
 * and remember why, so it ends as SBX_ENOMEM, not as a write error. */
static size_t nomem(struct sbx_http *h) {
  h->nomem = 1;
  return 0;
}

static size_t header_cb(char *p, size_t sz, size_t n, void *ud) {
  struct sbx_http *h = ud;
  size_t len = sz * n;
  if (len > 5 && strncmp(p, "HTTP/", 5) == 0) {
    const char *sp = memchr(p, ' ', len);
    h->status = sp ? strtol(sp + 1, NULL, 10) : 0;
    h->retry_after_ms = -1;
    h->rl_reset_ms = -1;
    h->rl_exhausted = 0;
    struct sbx_host_slot *slot = &h->c->hosts[h->slot];
    if (!slot->warm && !h->upgrade) { /* an HTTP/1.1 upgrade tells nothing of h2 */
      slot->warm = 1;                 /* admit the waiting ones from the loop, not from curl */
      h->c->admit_pending = 1;
      sbx__client_kick(h->c);
    }
    return len;
  }
  if (h->upgrade && h->status == 101 && (len == 2 || len == 1) && (*p == '\r' || *p == '\n')) {
    /* The upgrade is accepted: the sink learns it now, not at the first byte. */
    h->streaming = 1;
    if (h->op->cancel_req || h->sink(h->op, "", 0) != 0) {
      h->sink_aborted = 1;
      return 0;
    }
    return len;
  }
  const char *colon = memchr(p, ':', len);
  if (!colon) return len;
  size_t nlen = (size_t)(colon - p);
  const char *v = colon + 1;
  size_t vlen = len - nlen - 1;
  while (vlen && (*v == ' ' || *v == '\t'))
    v++, vlen--;
  while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
    vlen--;
  char val[256];
  if (vlen >= sizeof val) return len;
  memcpy(val, v, vlen);
  val[vlen] = 0;
  if (nlen == 11 && strncasecmp(p, "retry-after", 11) == 0) {
    h->retry_after_ms = sbx_parse_retry_after(val, (long)time(NULL));
  } else if (nlen > 18 && strncasecmp(p, "x-ratelimit-reset-", 18) == 0) {
    long ms = sbx_parse_retry_after(val, (long)time(NULL)); /* seconds until reset */
    if (ms > h->rl_reset_ms) h->rl_reset_ms = ms;
  } else if (nlen > 22 && strncasecmp(p, "x-ratelimit-remaining-", 22) == 0) {
    if (strcmp(val, "0") == 0) h->rl_exhausted = 1;
  } else if (nlen == 20 && h->upgrade && strncasecmp(p, "sec-websocket-accept", 20) == 0) {
    if (vlen < sizeof h->ws_accept) memcpy(h->ws_accept, val, vlen + 1); /* else stays "" */
  } else if (nlen == 12 && strncasecmp(p, "x-next-token", 12) == 0 && vlen) {
    sbx__free(sbx__alloc(h->c), h->next_token);
    if (!(h->next_token = sbx__strdup(sbx__alloc(h->c), val))) return nomem(h);
  } else if (nlen == 12 && h->sink && strncasecmp(p, "content-type", 12) == 0) {
    sbx__free(sbx__alloc(h->c), h->content_type);
    if (!(h->content_type = sbx__strdup(sbx__alloc(h->c), val))) return nomem(h);
  }
  return len;
}

/* A stream lives long after its small request body went out, and curl 7.88
 * keeps the upload buffer (16 KiB) until the transfer ends. Setting the
 * option again frees it; curl would allocate a new one if it had to send
 * more, but only once everything was handed over (nothing points into it). */
static void release_upload_buffer(struct sbx_http *h) {
  curl_off_t sent = 0;
  if (!h->upload_total) return;
  if (curl_easy_getinfo(h->easy, CURLINFO_SIZE_UPLOAD_T, &sent) != CURLE_OK) return;
  if ((uint64_t)sent >= h->upload_total)
    curl_easy_setopt(h->easy, CURLOPT_UPLOAD_BUFFERSIZE, UPLOAD_BUFFER_SIZE);
}

static size_t write_cb(char *p, size_t sz, size_t n, void *ud) {
  struct sbx_http *h = ud;
  size_t len = sz * n;
  if (h->bytes_in == 0 && h->sink && h->status >= 200 && h->status < 300 && !h->upgrade) {
    h->streaming = 1;
    release_upload_buffer(h);
  }
  h->bytes_in += len;
  if (h->streaming) {
    if (h->op->cancel_req || h->sink(h->op, p, len) != 0) {
      h->sink_aborted = 1;
      return 0;
    }
    return len;
  }
  curl_off_t size = -1; /* sized once from Content-Length, not grown by doubling */
  if (!h->body.cap && curl_easy_getinfo(h->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &size) == 0 &&
      size > 0 && (uint64_t)size <= h->max_body)
    if (sbx__buf_reserve(sbx__alloc(h->c), &h->body, (size_t)size + 1) != 0) return nomem(h);
  int rc = sbx__buf_append(sbx__alloc(h->c), &h->body, p, len, h->max_body);
  if (rc == SBX_ENOMEM) return nomem(h);
  if (rc != 0) {
    h->too_big = 1;
    return 0;
  }
  return len;
}

static size_t read_seg(const char *src, size_t src_len, size_t *off, char *dst, size_t max) {
  size_t left = src_len - *off;
  size_t k = left < max ? left : max;
  if (k) memcpy(dst, src + *off, k);
  *off += k;
  return k;
}

/* Upload body: prefix, then the file, then suffix. Regular-file reads do not
 * block the loop in practice (page cache); the file is never held whole. */
static size_t read_cb(char *dst, size_t sz, size_t n, void *ud) {
  struct sbx_http *h = ud;
  size_t max = sz * n;
  for (;;) {
    if (h->seg == 0) {
      size_t k = read_seg(h->prefix, h->prefix_len, &h->seg_off, dst, max);
      if (k) return k;
      h->seg = 1;
      h->seg_off = 0;
    }
    if (h->seg == 1) {
      if (h->upload_left > 0) {
        size_t want = h->upload_left < max ? (size_t)h->upload_left : max;
        ssize_t r = read(h->upload_fd, dst, want);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) { /* shrank or failed while sending */
          h->upload_errno = r < 0 ? errno : EIO;
          return CURL_READFUNC_ABORT;
        }
        h->upload_left -= (uint64_t)r;
        return (size_t)r;
      }
      h->seg = 2;
      h->seg_off = 0;
    }
    return read_seg(h->suffix, h->suffix_len, &h->seg_off, dst, max);
  }
}

/* ---- admission -------------------------------------------------------------------- */

static int host_slot(struct sbx_client *c, const char *host) {
  for (int i = 0; i < c->n_hosts; i++)
    if (strcmp(c->hosts[i].host, host) == 0) return i;
  if (c->n_hosts == SBX_MAX_HOSTS) return SBX_MAX_HOSTS - 1; /* share the last slot */
  char *d = sbx__strdup(sbx__alloc(c), host);
  if (!d) return -1;
  c->hosts[c->n_hosts].host = d;
  return c->n_hosts++;
}

static void admit(struct sbx_client *c, struct sbx_http *h) {
  c->hosts[h->slot].inflight++;
  h->added = 1;
  c->stats.requests++;
  if (sbx__bridge_add(c, h) != 0) sbx__http_done(h, CURLE_OUT_OF_MEMORY);
}

/* HTTP/1.1 carries one transfer per connection: more than max_connections
 * in flight would only sit in curl's pending list (rescanned as
 * connections free up), so they wait in ours instead. */
static int one_per_connection(const struct sbx_client *c, const struct sbx_host_slot *s) {
  return c->cfg.http_version == SBX_HTTP_1_1 || strncmp(s->host, "http://", 7) == 0;
}

static int slot_limit(const struct sbx_client *c, const struct sbx_host_slot *s) {
  int max = c->cfg.max_streams;
  if (one_per_connection(c, s) && c->cfg.max_connections < max) return c->cfg.max_connections;
  return s->warm || max < COLD_HOST_MAX_INFLIGHT ? max : COLD_HOST_MAX_INFLIGHT;
}

static void admit_waiting(struct sbx_client *c, struct sbx_host_slot *s) {
  while (s->wait_head && s->inflight < slot_limit(c, s)) {
    struct sbx_http *next = s->wait_head;
    s->wait_head = next->wait_next;
    if (!s->wait_head) s->wait_tail = NULL;
    next->waiting = 0;
    next->wait_next = NULL;
    admit(c, next);
  }
}

static void release_slot(struct sbx_client *c, int slot) {
  struct sbx_host_slot *s = &c->hosts[slot];
  s->inflight--;
  admit_waiting(c, s);
}

void sbx__http_admit_pending(struct sbx_client *c) {
  c->admit_pending = 0;
  for (int i = 0; i < c->n_hosts; i++)
    admit_waiting(c, &c->hosts[i]);
}

static void unlink_waiting(struct sbx_client *c, struct sbx_http *h) {
  struct sbx_host_slot *s = &c->hosts[h->slot];
  struct sbx_http **pp = &s->wait_head, *prev = NULL;
  while (*pp && *pp != h) {
    prev = *pp;
    pp = &(*pp)->wait_next;
  }
  if (!*pp) return;
  *pp = h->wait_next;
  if (s->wait_tail == h) s->wait_tail = prev;
  h->waiting = 0;
}

/* ---- start / finish ------------------------------------------------------------------ */

/* curl's own socket() call, counted: every connection it opens passes
 * here, which CURLINFO_NUM_CONNECTS of finished transfers would miss for
 * the ones still open or cancelled. */
static curl_socket_t open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a) {
  struct sbx_client *c = ud;
  curl_socket_t s = socket(a->family, a->socktype, a->protocol);
  if (s != CURL_SOCKET_BAD && purpose == CURLSOCKTYPE_IPCXN) c->stats.connections++;
  return s;
}

static void set_common(struct sbx_client *c, struct sbx_http *h, const struct sbx_http_req *r) {
  CURL *e = h->easy;
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, c);
  curl_easy_setopt(e, CURLOPT_URL, r->url);
  curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)h);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, h);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "sbx/" SBX_VERSION);
  curl_easy_setopt(e, CURLOPT_PIPEWAIT, r->upgrade ? 0L : 1L);
  long ver = c->cfg.http_version == SBX_HTTP_1_1 || r->upgrade ? CURL_HTTP_VERSION_1_1
                                                               : CURL_HTTP_VERSION_2TLS;
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, ver);
  if (c->cfg.ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, c->cfg.ca_file);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->cfg.connect_timeout_ms);
  if (r->timeout_ms > 0) curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, r->timeout_ms);
  if (r->idle_timeout_s > 0) {
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, r->idle_timeout_s);
  }
  /* Streams carry small messages: a small receive buffer keeps each open
   * stream cheap (design.md measured ~9 KB vs ~18 KB per transfer). */
  if (r->sink && !r->bulk) curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 1024L);
  /* curl 7.88 allocates a 64 KiB upload buffer per transfer by default;
   * 16 KiB (its minimum) is plenty for request bodies. */
  curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, UPLOAD_BUFFER_SIZE);
}

static void set_method_and_body(struct sbx_http *h, const struct sbx_http_req *r) {
  CURL *e = h->easy;
  if (r->upload_fd >= 0) {
    h->upload_fd = r->upload_fd;
    h->upload_left = r->upload_size;
    h->prefix = r->prefix;
    h->prefix_len = r->prefix_len;
    h->suffix = r->suffix;
    h->suffix_len = r->suffix_len;
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(e, CURLOPT_READDATA, h);
    curl_off_t total = (curl_off_t)(r->prefix_len + r->upload_size + r->suffix_len);
    h->upload_total = (uint64_t)total;
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, total);
  } else if (r->body) {
    h->upload_total = r->body_len;
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
  }
  if (strcmp(r->method, "GET") == 0)
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  else if (strcmp(r->method, "POST") == 0 && !r->body && r->upload_fd < 0) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
  } else if (strcmp(r->method, "POST") != 0)
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
}

struct curl_slist *sbx__http_shared_headers(struct curl_slist *l) {
  /* "Expect:" off: no 100-continue round trip before uploads. */
  struct curl_slist *r = curl_slist_append(l, "Expect:");
  if (!r) curl_slist_free_all(l);
  return r;
}

/* A reset handle of this kind from the pool, else a new one. A new one
 * retires an idle handle of the other kind: a burst of creates followed by
 * a burst of execs then holds as many handles as transfers in flight, not
 * twice as many (each idle unary handle keeps ~25 KB: its 16 KiB buffer). */
static CURL *take_easy(struct sbx_client *c, int kind) {
  if (c->n_easy_pool[kind]) return c->easy_pool[kind][--c->n_easy_pool[kind]];
  int other = !kind;
  if (c->n_easy_pool[other]) curl_easy_cleanup(c->easy_pool[other][--c->n_easy_pool[other]]);
  return curl_easy_init();
}

int sbx__http_start(struct sbx_op *op, struct sbx_http_req *r) {
  struct sbx_client *c = op->c;
  struct sbx_http *h = SBX_NEW(sbx__alloc(c), struct sbx_http);
  if (!h) goto nomem;
  int kind = r->sink && !r->bulk ? 1 : 0;
  h->easy = take_easy(c, kind);
  h->upload_fd = -1;
  h->slot = host_slot(c, r->host);
  if (!h->easy || h->slot < 0) goto nomem;
  h->op = op;
  h->c = c;
  h->retry_after_ms = -1;
  h->rl_reset_ms = -1;
  h->max_body = r->max_body ? r->max_body : DEFAULT_MAX_BODY;
  if (r->reserve_body && !r->sink) {
    if (sbx__buf_reserve(sbx__alloc(c), &h->body, r->reserve_body + 1) != 0) goto nomem;
  }
  h->sink = r->sink;
  h->small_buf = r->sink && !r->bulk;
  h->upgrade = r->upgrade && r->sink;
  h->mux = !h->upgrade && !one_per_connection(c, &c->hosts[h->slot]);
  if (!r->shared_headers) {
    r->headers = sbx__http_shared_headers(r->headers);
    if (!r->headers) goto nomem;
  } else if (r->headers) { /* own headers first, then the shared ones */
    h->own_last = r->headers;
    while (h->own_last->next)
      h->own_last = h->own_last->next;
    h->own_last->next = r->shared_headers;
  }
  h->headers = r->headers;
  r->headers = NULL;
  set_common(c, h, r);
  curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, h->headers ? h->headers : r->shared_headers);
  set_method_and_body(h, r);
  op->http = h;
  if (h->upgrade) { /* its own connection: no host slot to wait for */
    h->added = 1;
    c->stats.requests++;
    c->stats.upgrades++;
    if (sbx__bridge_add(c, h) != 0) sbx__http_done(h, CURLE_OUT_OF_MEMORY);
  } else if (c->hosts[h->slot].inflight >= slot_limit(c, &c->hosts[h->slot])) {
    struct sbx_host_slot *s = &c->hosts[h->slot];
    h->waiting = 1;
    if (s->wait_tail)
      s->wait_tail->wait_next = h;
    else
      s->wait_head = h;
    s->wait_tail = h;
  } else {
    admit(c, h);
  }
  return 0;
nomem:
  if (r->upload_fd >= 0) close(r->upload_fd);
  r->upload_fd = -1;
  curl_slist_free_all(r->headers);
  r->headers = NULL;
  if (h) {
    if (h->easy) curl_easy_cleanup(h->easy);
    sbx__buf_free(sbx__alloc(c), &h->body);
    sbx__free(sbx__alloc(c), h);
  }
  return SBX_ENOMEM;
}

/* Keep a detached handle for the next request of the same kind. */
static void release_easy(struct sbx_client *c, struct sbx_http *h) {
  int kind = h->small_buf ? 1 : 0;
  if (c && !c->closing && !h->added && c->n_easy_pool[kind] < SBX_EASY_POOL) {
    curl_easy_reset(h->easy);
    c->easy_pool[kind][c->n_easy_pool[kind]++] = h->easy;
  } else {
    curl_easy_cleanup(h->easy);
  }
}

void sbx__http_pool_free(struct sbx_client *c) {
  for (int k = 0; k < 2; k++)
    while (c->n_easy_pool[k])
      curl_easy_cleanup(c->easy_pool[k][--c->n_easy_pool[k]]);
}

void sbx__http_free(struct sbx_http *h) {
  if (!h) return;
  if (h->easy) release_easy(h->c, h);
  if (h->own_last) h->own_last->next = NULL; /* the shared tail is not ours */
  curl_slist_free_all(h->headers);
  const sbx_allocator *a = sbx__alloc(h->c);
  sbx__buf_free(a, &h->body);
  sbx__free(a, h->next_token);
  sbx__free(a, h->content_type);
  if (h->upload_fd >= 0) close(h->upload_fd);
  sbx__free(a, h);
}

static void detach(struct sbx_client *c, struct sbx_http *h) {
  if (h->waiting) unlink_waiting(c, h);
  if (h->oom_listed) sbx__bridge_forget(c, h);
  if (!h->added) return;
  /* curl 7.88 only queues the RST_STREAM of an h2 stream removed mid-way:
   * it goes out with the connection's next frame. When no other stream
   * would carry it, closing the connection tells the server instead. */
  if (!h->done) curl_easy_setopt(h->easy, CURLOPT_FORBID_REUSE, 1L);
  sbx__bridge_remove(c, h);
  h->added = 0;
  if (!h->upgrade) release_slot(c, h->slot);
}

void sbx__http_done(struct sbx_http *h, CURLcode result) {
  struct sbx_client *c = h->c;
  h->done = 1;
  h->result = result;
  if (!h->status) {
    long st = 0;
    curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &st);
    h->status = st;
  }
  detach(c, h);
  sbx__op_post(h->op, OP_EV_HTTP);
}

void sbx__http_abort(struct sbx_op *op) {
  struct sbx_http *h = op->http;
  if (!h) return;
  op->http = NULL;
  detach(op->c, h);
  sbx__http_free(h);
}

int sbx__http_curl_error(const struct sbx_http *h, const char *what, struct sbx_errinfo *e) {
  if (h->result == CURLE_OK) return 0;
  const char *detail = h->errbuf[0] ? h->errbuf : curl_easy_strerror(h->result);
  int st = SBX_ETRANSPORT, retry = 1;
  const char *kind = "connection lost";
  switch (h->result) {
  case CURLE_OPERATION_TIMEDOUT:
    st = SBX_ETIMEDOUT;
    kind = "timed out";
    break;
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_CONNECT: kind = "cannot connect"; break;
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CERTPROBLEM:
    kind = "TLS failure";
    retry = 0;
    break;
  case CURLE_WRITE_ERROR:
    if (h->nomem) {
      st = SBX_ENOMEM;
      kind = "out of memory";
      retry = 0;
      detail = "reading the reply";
    } else if (h->too_big) {
      st = SBX_ETOOBIG;
      kind = "reply too large";
      retry = 0;
      detail = "over the size cap";
    }
    break;
  case CURLE_READ_ERROR:
  case CURLE_ABORTED_BY_CALLBACK:
    st = SBX_EIO;
    kind = "upload source failed";
    retry = 0;
    if (h->upload_errno) detail = strerror(h->upload_errno);
    break;
  case CURLE_OUT_OF_MEMORY:
    st = SBX_ENOMEM;
    kind = "out of memory";
    retry = 0;
    break;
  default: break;
  }
  sbx_errinfo_set(e, st, "%s: %s: %s", what, kind, detail);
  e->curl_code = (int)h->result;
  e->retryable = retry;
  return st;
}
