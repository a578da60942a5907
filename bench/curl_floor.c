/* curl_floor.c - the libcurl floor for bench/compare: the smallest libcurl
 * client doing h2load's job there (replay one captured request N times at C
 * concurrent transfers over TLS h2), so the table shows how much of sbx's
 * CPU per exec is libcurl's own and how much is sbx's. It links libcurl
 * only, never libsbx: curl_multi_socket_action driven by epoll, one easy
 * handle per concurrent transfer, reused (removed and re-added).
 *
 *   curl-floor -n N -c C [--ca-file F] --headers FILE [--body FILE] URL
 *
 * FILE (as bench/compare_capture.mjs writes it): the request line
 * `POST /path` (the path of URL), then one `Name: value` header a line. */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define STREAMS_PER_CONN 100 /* h2load -m in bench/compare */

struct floor {
  CURLM *m;
  int ep;
  long long deadline_ms; /* curl's timer; -1: none */
  long total, started, ok, failed, connects;
};

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int usage(FILE *out, int rc) {
  fprintf(out,
          "usage: curl-floor -n N -c C [--ca-file F] --headers FILE [--body FILE] URL\n"
          "       curl-floor --version\n"
          "  POST the request of FILE (line 1 `POST /path`, then `Name: value` lines)\n"
          "  with the body of --body to URL N times, C at once, over TLS h2 on at most\n"
          "  ceil(C/%d) connections; the response bodies are discarded.\n"
          "  Exit 0 when every request got HTTP 200 and all its bytes, 1 otherwise.\n",
          STREAMS_PER_CONN);
  return rc;
}

static int bad(const char *what, const char *arg) {
  fprintf(stderr, "curl-floor: %s: %s\n", what, arg);
  return 2;
}

static long positive(const char *s) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  return errno || *s == '\0' || *end != '\0' || v < 1 ? -1 : v;
}

/* The whole file in *buf (NUL-terminated, *len bytes); -1 on error. */
static int slurp(const char *path, char **buf, size_t *len) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return -1;
  size_t cap = 4096, n = 0, got;
  char *b = malloc(cap);
  while (b && (got = fread(b + n, 1, cap - n - 1, fp)) > 0) {
    n += got;
    if (cap - n > 1) continue;
    char *nb = realloc(b, cap *= 2);
    if (!nb) free(b);
    b = nb;
  }
  int err = ferror(fp) || !b;
  fclose(fp);
  if (err) {
    free(b);
    return -1;
  }
  b[n] = '\0';
  *buf = b;
  *len = n;
  return 0;
}

/* The path of URL: from the first '/' after "scheme://host". */
static const char *url_path(const char *url) {
  const char *p = strstr(url, "://");
  p = p ? strchr(p + 3, '/') : NULL;
  return p ? p : "/";
}

/* list + line; 0, or -1 (list kept) when out of memory. */
static int append(struct curl_slist **list, const char *line) {
  struct curl_slist *l = curl_slist_append(*list, line);
  if (!l) return -1;
  *list = l;
  return 0;
}

/* The headers of FILE as a curl list; NULL (and a message) when FILE is not
 * a request line for URL followed by headers. libcurl's own defaults that
 * the capture lacks (Accept, Content-Type) are suppressed so the wire
 * request is the captured one. */
static struct curl_slist *headers_of(const char *file, const char *url) {
  char *text;
  size_t len;
  if (slurp(file, &text, &len) != 0) {
    fprintf(stderr, "curl-floor: cannot read --headers %s: %s\n", file, strerror(errno));
    return NULL;
  }
  struct curl_slist *list = NULL;
  int lineno = 0, accept = 0, ctype = 0, ok = 1;
  for (char *l = text, *next; ok && *l; l = next) {
    next = l + strcspn(l, "\n");
    if (*next) *next++ = '\0';
    l[strcspn(l, "\r")] = '\0';
    if (++lineno == 1) {
      ok = strncmp(l, "POST /", 6) == 0 && strcmp(l + 5, url_path(url)) == 0;
      if (!ok)
        fprintf(stderr, "curl-floor: %s: line 1 is not `POST %s` (the path of the URL)\n", file,
                url_path(url));
      continue;
    }
    if (*l == '\0') continue;
    char *colon = strchr(l, ':');
    if (!colon || colon == l) {
      fprintf(stderr, "curl-floor: %s:%d: not a `Name: value` header\n", file, lineno);
      ok = 0;
      break;
    }
    accept |= strncasecmp(l, "accept:", 7) == 0;
    ctype |= strncasecmp(l, "content-type:", 13) == 0;
    ok = append(&list, l) == 0;
  }
  if (ok && lineno == 0) {
    fprintf(stderr, "curl-floor: %s is empty (want `POST /path`, then headers)\n", file);
    ok = 0;
  }
  if (ok && !accept) ok = append(&list, "Accept:") == 0;
  if (ok && !ctype) ok = append(&list, "Content-Type:") == 0;
  free(text);
  if (!ok) curl_slist_free_all(list);
  return ok ? list : NULL;
}

static size_t discard(char *p, size_t size, size_t n, void *ud) {
  return size * n;
}

/* CURLMOPT_SOCKETFUNCTION: mirror curl's interest in epoll; a socket known
 * to epoll carries a non-NULL socketp (curl_multi_assign). */
static int on_socket(CURL *e, curl_socket_t s, int what, void *ud, void *sockp) {
  struct floor *f = ud;
  if (what == CURL_POLL_REMOVE) {
    epoll_ctl(f->ep, EPOLL_CTL_DEL, s, NULL); /* may be closed already */
    return 0;
  }
  struct epoll_event ev = {0};
  ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
  ev.data.fd = s;
  if (epoll_ctl(f->ep, sockp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev) != 0) {
    fprintf(stderr, "curl-floor: epoll_ctl: %s\n", strerror(errno));
    return -1;
  }
  if (!sockp) curl_multi_assign(f->m, s, f);
  return 0;
}

/* CURLMOPT_TIMERFUNCTION: the loop sleeps at most until this deadline. */
static int on_timer(CURLM *m, long ms, void *ud) {
  struct floor *f = ud;
  f->deadline_ms = ms < 0 ? -1 : now_ms() + ms;
  return 0;
}

/* Count the finished transfers and start the next request on each handle. */
static void reap(struct floor *f) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(f->m, &left))) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL *e = msg->easy_handle;
    CURLcode res = msg->data.result;
    long code = 0, connects = 0;
    curl_off_t want = -1, got = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &connects);
    curl_easy_getinfo(e, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &want);
    curl_easy_getinfo(e, CURLINFO_SIZE_DOWNLOAD_T, &got);
    f->connects += connects;
    if (res == CURLE_OK && code == 200 && (want < 0 || got == want)) {
      f->ok++;
    } else if (f->failed++ < 3) { /* the first few tell what went wrong */
      if (res != CURLE_OK)
        fprintf(stderr, "curl-floor: request failed: %s\n", curl_easy_strerror(res));
      else
        fprintf(stderr, "curl-floor: request failed: HTTP %ld, %ld of %ld bytes\n", code, (long)got,
                (long)want);
    }
    curl_multi_remove_handle(f->m, e);
    if (f->started < f->total && curl_multi_add_handle(f->m, e) == CURLM_OK) f->started++;
  }
}

/* Until every started request is done (or epoll fails): wait for a socket
 * or curl's deadline, hand what fired to curl_multi_socket_action. */
static int run(struct floor *f) {
  struct epoll_event evs[64];
  int running;
  while (f->ok + f->failed < f->started) {
    int wait = -1;
    if (f->deadline_ms >= 0) {
      long long d = f->deadline_ms - now_ms();
      wait = d < 0 ? 0 : (int)d;
    }
    int n = epoll_wait(f->ep, evs, 64, wait);
    if (n < 0 && errno != EINTR) return -1;
    for (int i = 0; i < n; i++) {
      int mask = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                 (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                 (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
      curl_multi_socket_action(f->m, evs[i].data.fd, mask, &running);
    }
    if (f->deadline_ms >= 0 && now_ms() >= f->deadline_ms) {
      f->deadline_ms = -1;
      curl_multi_socket_action(f->m, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    reap(f);
  }
  return 0;
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
      {"ca-file", required_argument, NULL, 'a'}, {"headers", required_argument, NULL, 'H'},
      {"body", required_argument, NULL, 'b'},    {"help", no_argument, NULL, 'h'},
      {"version", no_argument, NULL, 'V'},       {NULL, 0, NULL, 0}};
  long n = -1, c = -1;
  const char *ca = NULL, *hfile = NULL, *bfile = NULL;
  int o;
  while ((o = getopt_long(argc, argv, "n:c:h", opts, NULL)) != -1) {
    switch (o) {
    case 'n':
      if ((n = positive(optarg)) < 0) return bad("-n wants a positive request count", optarg);
      break;
    case 'c':
      if ((c = positive(optarg)) < 0) return bad("-c wants a positive concurrency", optarg);
      break;
    case 'a': ca = optarg; break;
    case 'H': hfile = optarg; break;
    case 'b': bfile = optarg; break;
    case 'h': return usage(stdout, 0);
    case 'V': printf("curl-floor (%s)\n", curl_version()); return 0;
    default: return usage(stderr, 2);
    }
  }
  if (optind != argc - 1) {
    fprintf(stderr, "curl-floor: want exactly one URL (-h for usage)\n");
    return 2;
  }
  const char *url = argv[optind];
  if (strncmp(url, "https://", 8) != 0) return bad("the URL is not https:// (h2 needs TLS)", url);
  if (n < 0 || c < 0 || !hfile) {
    fprintf(stderr, "curl-floor: -n, -c and --headers are required (-h for usage)\n");
    return 2;
  }
  char *body = NULL;
  size_t body_len = 0;
  if (bfile && slurp(bfile, &body, &body_len) != 0) return bad("cannot read --body", bfile);
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return bad("curl_global_init", "failed");
  struct curl_slist *hdrs = headers_of(hfile, url);
  if (!hdrs) {
    free(body);
    return 2;
  }
  long conns = (c + STREAMS_PER_CONN - 1) / STREAMS_PER_CONN;
  long handles = c < n ? c : n;
  struct floor f = {.m = curl_multi_init(), .ep = epoll_create1(EPOLL_CLOEXEC), .deadline_ms = -1};
  f.total = n;
  curl_multi_setopt(f.m, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(f.m, CURLMOPT_SOCKETDATA, &f);
  curl_multi_setopt(f.m, CURLMOPT_TIMERFUNCTION, on_timer);
  curl_multi_setopt(f.m, CURLMOPT_TIMERDATA, &f);
  curl_multi_setopt(f.m, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
  curl_multi_setopt(f.m, CURLMOPT_MAX_HOST_CONNECTIONS, conns);
  curl_multi_setopt(f.m, CURLMOPT_MAX_CONCURRENT_STREAMS, (long)STREAMS_PER_CONN);
  CURL **easy = calloc((size_t)handles, sizeof *easy);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long i = 0; easy && i < handles; i++) {
    CURL *e = easy[i] = curl_easy_init();
    if (!e) break;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body ? body : "");
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    if (ca) curl_easy_setopt(e, CURLOPT_CAINFO, ca);
    /* the buffers libsbx sets on an exec stream, so RSS compares like for like */
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 1024L);
    curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, 16384L);
    if (curl_multi_add_handle(f.m, e) != CURLM_OK) break;
    f.started++;
  }
  int rc = -1;
  if (!f.m || f.ep < 0 || f.started != handles)
    fprintf(stderr, "curl-floor: cannot set up %ld transfers\n", handles);
  else if ((rc = run(&f)) != 0)
    fprintf(stderr, "curl-floor: epoll_wait: %s\n", strerror(errno));
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf("requests: %ld total, %ld succeeded, %ld failed\n", n, f.ok, n - f.ok);
  printf("connections: %ld opened (at most %ld), %ld concurrent transfers\n", f.connects, conns,
         handles);
  printf("finished in %.3f s, %.1f req/s\n", s, s > 0 ? (double)f.ok / s : 0.);
  for (long i = 0; easy && i < handles; i++) {
    if (!easy[i]) continue;
    curl_multi_remove_handle(f.m, easy[i]);
    curl_easy_cleanup(easy[i]);
  }
  free(easy);
  curl_multi_cleanup(f.m);
  if (f.ep >= 0) close(f.ep);
  curl_slist_free_all(hdrs);
  free(body);
  curl_global_cleanup();
  return rc == 0 && f.ok == n ? 0 : 1;
}
