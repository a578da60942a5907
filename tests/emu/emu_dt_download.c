/* emu_dt_download.c - POST /files/bulk-download: one multipart/form-data part
 * per requested path, in request order, streamed: a file is read a piece at
 * a time, each piece once the transport has sent the last (on_drain), so a
 * big file is never held whole. Parts as the daemon writes them: "file"
 * with the bytes, or "error" with a JSON error body; a file that fails
 * mid-part cuts the response off (no closing boundary). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emu_dt.h"
#include "emu_fs.h"

#define DL_BOUNDARY "DAYTONA-FILE-BOUNDARY"
#define DL_PIECE ((size_t)256 << 10) /* bytes written per drain */

struct dl_item {
  char *path; /* as requested: the SDK matches parts by it */
  char *host; /* NULL: not a valid sandbox path */
};

struct bulk_dl {
  struct dl_item *items;
  size_t n, i; /* i: the part being written or next */
  int parts;   /* parts started, for the delimiter */
  int fd;      /* the file of part i, -1 between parts */
  off_t left;  /* its bytes still to send */
  char *buf;
};

static void dl_free(struct bulk_dl *b) {
  for (size_t k = 0; k < b->n; k++) {
    free(b->items[k].path);
    free(b->items[k].host);
  }
  free(b->items);
  if (b->fd >= 0) close(b->fd);
  free(b->buf);
  free(b);
}

/* Go's built-in extension table (mime.TypeByExtension), which the daemon uses. */
static const char *content_type(const char *path) {
  static const char *const types[][2] = {
      {".avif", "image/avif"},
      {".css", "text/css; charset=utf-8"},
      {".gif", "image/gif"},
      {".htm", "text/html; charset=utf-8"},
      {".html", "text/html; charset=utf-8"},
      {".jpeg", "image/jpeg"},
      {".jpg", "image/jpeg"},
      {".js", "text/javascript; charset=utf-8"},
      {".json", "application/json"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".pdf", "application/pdf"},
      {".png", "image/png"},
      {".svg", "image/svg+xml"},
      {".txt", "text/plain; charset=utf-8"},
      {".wasm", "application/wasm"},
      {".webp", "image/webp"},
      {".xml", "text/xml; charset=utf-8"},
  };
  const char *base = strrchr(path, '/'), *ext = strrchr(base ? base : path, '.');
  for (size_t k = 0; ext && k < sizeof types / sizeof types[0]; k++)
    if (!strcasecmp(ext, types[k][0])) return types[k][1];
  return "application/octet-stream";
}

/* The quoted filename= value: \ and " escaped, CR and LF dropped, controls
 * and what Latin-1 cannot hold (bad UTF-8 too) as '_', the rest as Latin-1
 * bytes. filename*= carries the exact path. */
static void put_latin1(struct emu_buf *o, const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    unsigned c = *p;
    size_t n = c < 0x80                 ? 1
               : c >= 0xc2 && c <= 0xdf ? 2
               : c >= 0xe0 && c <= 0xef ? 3
               : c >= 0xf0 && c <= 0xf4 ? 4
                                        : 0;
    for (size_t k = 1; k < n; k++)
      if ((p[k] & 0xc0) != 0x80) n = 0; /* stops at the NUL too */
    unsigned r = n == 1 ? c : n == 2 ? (c & 0x1f) << 6 | (p[1] & 0x3f) : 0x100;
    p += n ? n : 1;
    if (r == '\r' || r == '\n') continue;
    if (r == '\\' || r == '"') emu_buf_add(o, "\\", 1);
    char ch = r < 0x20 || r == 0x7f || r > 0xff ? '_' : (char)r;
    emu_buf_add(o, &ch, 1);
  }
}

/* RFC 5987 value: attr-chars as they are, every other byte %XX. */
static void put_rfc5987(struct emu_buf *o, const char *s) {
  static const char safe[] = "!#$&+-.^_`|~";
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
        strchr(safe, *p))
      emu_buf_add(o, p, 1);
    else
      emu_buf_printf(o, "%%%02X", *p);
  }
}

/* The delimiter and the Content-Disposition line of the next part. */
static void part_start(struct bulk_dl *b, struct emu_buf *o, const char *name, const char *path) {
  emu_buf_printf(o,
                 "%s--" DL_BOUNDARY "\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"",
                 b->parts++ ? "\r\n" : "", name);
  put_latin1(o, path);
  emu_buf_add(o, "\"; filename*=utf-8''", 20);
  put_rfc5987(o, path);
  emu_buf_add(o, "\r\n", 2);
}

static void error_part(struct bulk_dl *b, struct emu_buf *o, const char *path, int status,
                       const char *code, const char *msg) {
  char ts[40];
  emu_rfc3339_ms(emu_now_ms(), ts, sizeof ts);
  json_t *e = json_pack("{s:i,s:s,s:s,s:s,s:s,s:s}", "statusCode", status, "message", msg, "code",
                        code, "timestamp", ts, "path", path, "method", "POST");
  char *s = e ? json_dumps(e, JSON_COMPACT) : NULL;
  part_start(b, o, "error", path);
  emu_buf_printf(o, "Content-Type: application/json; charset=utf-8\r\n\r\n%s", s ? s : "{}");
  free(s);
  json_decref(e);
}

/* Open item i as the daemon does (open, then fstat the descriptor) and
 * write its part head, or its whole error part. */
static void next_part(struct bulk_dl *b, struct emu_buf *o) {
  const struct dl_item *it = &b->items[b->i];
  char msg[4200];
  struct stat st;
  int fd = it->host ? open(it->host, O_RDONLY | O_CLOEXEC | O_NONBLOCK) : -1;
  if (!it->host) {
    snprintf(msg, sizeof msg,
             *it->path ? "invalid file path: %s" : "invalid file path: path is empty", it->path);
    error_part(b, o, it->path, 400, "INVALID_FILE_PATH", msg);
  } else if (fd < 0 && (errno == ENOENT || errno == ENOTDIR)) {
    snprintf(msg, sizeof msg, "file not found: %s", it->path);
    error_part(b, o, it->path, 404, "FILE_NOT_FOUND", msg);
  } else if (fd < 0 && (errno == EACCES || errno == EPERM)) {
    snprintf(msg, sizeof msg, "permission denied: %s", it->path);
    error_part(b, o, it->path, 403, "FILE_ACCESS_DENIED", msg);
  } else if (fd < 0 || fstat(fd, &st) < 0) {
    snprintf(msg, sizeof msg, "failed to open file: %s", strerror(errno));
    error_part(b, o, it->path, 500, "FILE_READ_FAILED", msg);
  } else if (!S_ISREG(st.st_mode)) {
    snprintf(msg, sizeof msg, "invalid file path: path points to a %s: %s",
             S_ISDIR(st.st_mode) ? "directory" : "special file", it->path);
    error_part(b, o, it->path, 400, "INVALID_FILE_PATH", msg);
  } else {
    part_start(b, o, "file", it->path);
    emu_buf_printf(o, "Content-Length: %lld\r\nContent-Type: %s\r\n\r\n", (long long)st.st_size,
                   content_type(it->path));
    b->fd = fd;
    b->left = st.st_size;
    return;
  }
  if (fd >= 0) close(fd);
  b->i++;
}

static void dl_closed(struct emu_req *req) {
  dl_free(req->route_data);
}

/* Write up to a piece: part heads, error parts, file bytes; at the end the
 * closing boundary. The transport calls again once that went out. */
static void dl_pump(struct emu_req *req) {
  struct bulk_dl *b = req->route_data;
  struct emu_buf o = {0};
  int cut = 0; /* the file shrank or failed under us */
  while (!cut && o.len < DL_PIECE && b->i < b->n) {
    if (b->fd < 0) {
      next_part(b, &o);
      continue;
    }
    size_t want = DL_PIECE - o.len < (size_t)b->left ? DL_PIECE - o.len : (size_t)b->left;
    ssize_t n = want ? read(b->fd, b->buf, want) : 0;
    if (n > 0) {
      emu_buf_add(&o, b->buf, (size_t)n);
      b->left -= n;
    } else if (b->left > 0) {
      cut = 1;
    }
    if (!cut && b->left == 0) {
      close(b->fd);
      b->fd = -1;
      b->i++;
    }
  }
  int done = !cut && b->i == b->n;
  if (done) emu_buf_printf(&o, "\r\n--%s--\r\n", DL_BOUNDARY);
  int gone = o.len && emu_resp_write(req, o.data, o.len) < 0;
  emu_buf_free(&o);
  if (gone) return; /* on_close frees b */
  if (!cut && !done) return;
  req->route_data = NULL;
  req->on_close = req->on_drain = NULL;
  dl_free(b);
  emu_resp_end(req); /* cut: the body ends without its closing boundary */
}

/* The items of {"paths":[...]}; 0, or -1 when the body is not that. */
static int dl_items(struct bulk_dl *b, struct emu_dt_sb *d, json_t *paths) {
  size_t n = json_array_size(paths);
  if (!json_is_array(paths) || !n || !(b->items = calloc(n, sizeof *b->items))) return -1;
  b->n = n;
  for (size_t k = 0; k < b->n; k++) {
    const char *path = json_string_value(json_array_get(paths, k));
    struct emu_path p;
    const char *why = NULL;
    if (!path || !(b->items[k].path = strdup(path))) return -1;
    if (!*path || emu_fs_resolve(d->sb, path, EMU_DT_HOME, &p, &why) < 0) continue;
    if (emu_fs_inside(d->sb, p.host, 1)) {
      b->items[k].host = p.host;
      p.host = NULL;
    }
    emu_path_free(&p);
  }
  return 0;
}

void emu_dt_bulk_download(struct emu_req *req, struct emu_dt_sb *d) {
  json_t *body = emu_req_json(req);
  struct bulk_dl *b = calloc(1, sizeof *b);
  int bad = !b || dl_items(b, d, json_object_get(body, "paths")) < 0;
  json_decref(body);
  if (b) b->fd = -1;
  if (!bad && !(b->buf = malloc(DL_PIECE))) {
    dl_free(b);
    emu_dt_error(req, 500, NULL, "out of memory");
    return;
  }
  if (bad) {
    if (b) dl_free(b);
    emu_reply_json(
        req, 400,
        json_pack("{s:s}", "error", "request body must be {\"paths\": [ ... ]} and non-empty"),
        NULL, 0);
    return;
  }
  struct emu_header h = {(char *)"content-type",
                         (char *)"multipart/form-data; boundary=" DL_BOUNDARY};
  if (emu_resp_start(req, 200, &h, 1, -1) < 0) { /* the peer is gone */
    dl_free(b);
    emu_resp_end(req);
    return;
  }
  req->route_data = b;
  req->on_close = dl_closed;
  req->on_drain = dl_pump;
  dl_pump(req);
}
