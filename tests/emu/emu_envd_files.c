/* emu_envd_files.c - envd GET /files (download) and POST /files (multipart
 * or octet-stream upload, gzip content encoding, mkdir -p of parents). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "emu_app.h"
#include "emu_fs.h"

#define FILES_MAX_INFLATED ((size_t)512 << 20)

/* The user's home from ?username=; NULL for an unknown user. */
static const char *query_home(const struct emu_req *req) {
  char *user = emu_query_get(req->query, "username");
  const char *home = NULL;
  if (!user || !*user || strcmp(user, "user") == 0)
    home = "/home/user";
  else if (strcmp(user, "root") == 0)
    home = "/root";
  free(user);
  return home;
}

void emu_files_get(struct emu_req *req, struct emu_sandbox *sb) {
  const char *home = query_home(req);
  if (!home) {
    emu_reply_error(req, 401, "invalid username");
    return;
  }
  char *q = emu_query_get(req->query, "path");
  struct emu_path p;
  const char *why = NULL;
  int rc = emu_fs_resolve(sb, q ? q : "", home, &p, &why);
  free(q);
  if (rc < 0) {
    emu_reply_error(req, 400, "%s", why);
    return;
  }
  struct stat st;
  int fd = -1;
  if (!emu_fs_inside(sb, p.host, 1) || stat(p.host, &st) < 0) {
    emu_reply_error(req, 404, "path '%s' does not exist", p.sb);
  } else if (S_ISDIR(st.st_mode)) {
    emu_reply_error(req, 400, "path '%s' is a directory", p.sb);
  } else if ((fd = open(p.host, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
    emu_reply_error(req, 500, "cannot open '%s': %s", p.sb, strerror(errno));
  } else {
    const char *base = strrchr(p.sb, '/') + 1;
    char disp[300];
    snprintf(disp, sizeof disp, "inline; filename=\"%.255s\"", base);
    struct emu_header h[3] = {{(char *)"content-type", (char *)"application/octet-stream"},
                              {(char *)"content-disposition", disp},
                              {(char *)"vary", (char *)"Accept-Encoding"}};
    if (emu_resp_start(req, 200, h, 3, (int64_t)st.st_size) == 0) {
      char *buf = malloc(1 << 18);
      off_t left = st.st_size;
      while (buf && left > 0) {
        ssize_t n = read(fd, buf, left < (1 << 18) ? (size_t)left : (size_t)1 << 18);
        if (n <= 0) break;
        emu_resp_write(req, buf, (size_t)n);
        left -= n;
      }
      free(buf);
      if (left > 0)
        emu_resp_abort(req, EMU_ABORT_DROP_CONN); /* shrank or failed */
      else
        emu_resp_end(req);
    } else {
      emu_resp_end(req);
    }
  }
  if (fd >= 0) close(fd);
  emu_path_free(&p);
}

/* Inflate a gzip (or zlib) body; NULL on corrupt input or over the cap. */
static char *inflate_body(const char *in, size_t len, size_t *out_len) {
  z_stream z;
  memset(&z, 0, sizeof z);
  if (inflateInit2(&z, 15 + 32) != Z_OK) return NULL;
  struct emu_buf out = {0};
  char chunk[65536];
  z.next_in = (unsigned char *)(uintptr_t)in;
  z.avail_in = (uInt)len;
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = (unsigned char *)chunk;
    z.avail_out = sizeof chunk;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) break;
    size_t got = sizeof chunk - z.avail_out;
    if (out.len + got > FILES_MAX_INFLATED || emu_buf_add(&out, chunk, got) < 0) {
      rc = Z_MEM_ERROR;
      break;
    }
    if (rc == Z_OK && got == 0 && z.avail_in == 0) rc = Z_BUF_ERROR; /* truncated */
  }
  inflateEnd(&z);
  if (rc != Z_STREAM_END) {
    emu_buf_free(&out);
    return NULL;
  }
  if (!out.data && emu_buf_add(&out, "", 0) < 0) return NULL;
  *out_len = out.len;
  return out.data;
}

/* Write one file; appends its REST EntryInfo to arr. NULL, or why it failed
 * (with *status). */
static const char *write_one(struct emu_sandbox *sb, const char *home, const char *target,
                             const char *data, size_t len, json_t *arr, int *status) {
  struct emu_path p;
  const char *why = NULL;
  *status = 400;
  if (!target || !*target) return "a target path is required";
  if (emu_fs_resolve(sb, target, home, &p, &why) < 0) return why;
  struct stat st;
  if (!emu_fs_inside(sb, p.host, 1)) {
    why = "path escapes the sandbox root";
  } else if (stat(p.host, &st) == 0 && S_ISDIR(st.st_mode)) {
    why = "path is a directory";
  } else if (emu_fs_mkparent(p.host) < 0) {
    why = "cannot create the parent directory";
  } else {
    int fd = open(p.host, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    size_t done = 0;
    while (fd >= 0 && done < len) {
      ssize_t n = write(fd, data + done, len - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += (size_t)n;
    }
    if (fd < 0 || done < len) {
      *status = errno == ENOSPC ? 507 : 500;
      why = "cannot write the file";
    }
    if (fd >= 0) close(fd);
  }
  if (!why) {
    const char *name = strrchr(p.sb, '/') + 1;
    json_array_append_new(arr,
                          json_pack("{s:s,s:s,s:s}", "path", p.sb, "name", name, "type", "file"));
  }
  emu_path_free(&p);
  return why;
}

/* A quoted or bare parameter value of a header ("name", "filename", "boundary"). */
static char *header_param(const char *h, size_t hlen, const char *param) {
  size_t plen = strlen(param);
  for (size_t i = 0; i + plen + 1 < hlen; i++) {
    if (strncasecmp(h + i, param, plen) != 0 || h[i + plen] != '=') continue;
    if (i > 0 && h[i - 1] != ' ' && h[i - 1] != ';' && h[i - 1] != '\t') continue;
    const char *v = h + i + plen + 1, *end = h + hlen;
    if (v < end && *v == '"') {
      const char *q = memchr(v + 1, '"', (size_t)(end - v - 1));
      return q ? strndup(v + 1, (size_t)(q - v - 1)) : NULL;
    }
    const char *stop = v;
    while (stop < end && *stop != ';' && *stop != '\r' && *stop != '\n' && *stop != ' ')
      stop++;
    return strndup(v, (size_t)(stop - v));
  }
  return NULL;
}

/* Parse multipart/form-data and write every part named "file". */
static const char *write_multipart(struct emu_sandbox *sb, const char *home, const char *ctype,
                                   const char *body, size_t len, const char *qpath, json_t *arr,
                                   int *status) {
  *status = 400;
  char *boundary = header_param(ctype, strlen(ctype), "boundary");
  if (!boundary || !*boundary || strlen(boundary) > 200) {
    free(boundary);
    return "multipart boundary missing";
  }
  char delim[208];
  int dlen = snprintf(delim, sizeof delim, "\r\n--%s", boundary);
  free(boundary);
  /* the first delimiter may sit at the very start, without the CRLF */
  const char *p = memmem(body, len, delim + 2, (size_t)dlen - 2);
  const char *end = body + len;
  const char *why = NULL;
  if (!p) return "multipart body has no boundary";
  p += dlen - 2;
  while (!why) {
    if (end - p >= 2 && p[0] == '-' && p[1] == '-') break; /* closing delimiter */
    while (p < end && (*p == ' ' || *p == '\t'))
      p++;
    if (end - p < 2 || p[0] != '\r' || p[1] != '\n') return "malformed multipart body";
    p += 2;
    const char *hend = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
    if (!hend) return "malformed multipart part headers";
    const char *data = hend + 4;
    const char *next = memmem(data, (size_t)(end - data), delim, (size_t)dlen);
    if (!next) return "multipart body is truncated";
    char *name = header_param(p, (size_t)(hend - p), "name");
    char *filename = header_param(p, (size_t)(hend - p), "filename");
    if (name && strcmp(name, "file") == 0)
      why = write_one(sb, home, qpath && *qpath ? qpath : filename, data, (size_t)(next - data),
                      arr, status);
    free(name);
    free(filename);
    p = next + dlen;
  }
  return why;
}

void emu_files_post(struct emu_req *req, struct emu_sandbox *sb) {
  const char *home = query_home(req);
  if (!home) {
    emu_reply_error(req, 401, "invalid username");
    return;
  }
  const char *ctype = emu_req_header(req, "content-type");
  const char *enc = emu_req_header(req, "content-encoding");
  const char *body = req->body;
  size_t len = req->body_len;
  char *inflated = NULL;
  if (enc && strcasecmp(enc, "gzip") == 0) {
    inflated = inflate_body(req->body, req->body_len, &len);
    if (!inflated) {
      emu_reply_error(req, 400, "invalid gzip body");
      return;
    }
    body = inflated;
  } else if (enc && *enc && strcasecmp(enc, "identity") != 0) {
    emu_reply_error(req, 400, "unsupported content encoding '%s'", enc);
    return;
  }
  char *qpath = emu_query_get(req->query, "path");
  json_t *arr = json_array();
  const char *why = NULL;
  int status = 400;
  if (!arr) {
    why = "out of memory";
    status = 500;
  } else if (ctype && strncasecmp(ctype, "multipart/form-data", 19) == 0) {
    why = write_multipart(sb, home, ctype, body, len, qpath, arr, &status);
  } else if (!ctype || strncasecmp(ctype, "application/octet-stream", 24) == 0) {
    why = qpath && *qpath ? write_one(sb, home, qpath, body, len, arr, &status)
                          : "path is required for octet-stream uploads";
  } else {
    why = "unsupported content type";
  }
  if (!why && json_array_size(arr) == 0) why = "no file part in the upload";
  free(qpath);
  free(inflated);
  if (why) {
    json_decref(arr);
    emu_reply_error(req, status, "%s", why);
    return;
  }
  emu_reply_json(req, 200, arr, NULL, 0);
}
