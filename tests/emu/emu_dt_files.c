/* emu_dt_files.c - the toolbox's /files routes: list, info, folder, delete,
 * move, download, and the multipart bulk upload the SDK uses (its bulk
 * download: emu_dt_download.c). Paths resolve like the E2B half's
 * (emu_fs.c), relative to /home/daytona. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "emu_dt.h"
#include "emu_fs.h"

/* Resolve; -1 after answering 400. */
static int resolve(struct emu_req *req, struct emu_dt_sb *d, const char *path,
                   struct emu_path *out) {
  const char *why = NULL;
  if (!path || !*path) {
    emu_dt_error(req, 400, "INVALID_FILE_PATH", "path is required");
    return -1;
  }
  if (emu_fs_resolve(d->sb, path, EMU_DT_HOME, out, &why) < 0 ||
      !emu_fs_inside(d->sb, out->host, 0)) {
    if (out->sb) emu_path_free(out);
    emu_dt_error(req, 400, "INVALID_FILE_PATH", "invalid path %s: %s", path,
                 why ? why : "outside the sandbox");
    return -1;
  }
  return 0;
}

static json_t *file_info(const char *name, const struct stat *st) {
  char mode[12], perms[8], mod[48], gotime[64];
  emu_fs_mode_string(st->st_mode, mode);
  snprintf(perms, sizeof perms, "%04o", (unsigned)(st->st_mode & 07777));
  emu_rfc3339_ns(st->st_mtim.tv_sec, 0, mod, sizeof mod);
  struct tm tm;
  gmtime_r(&st->st_mtim.tv_sec, &tm);
  size_t n = strftime(gotime, sizeof gotime, "%Y-%m-%d %H:%M:%S", &tm);
  snprintf(gotime + n, sizeof gotime - n, ".%09ld +0000 UTC", st->st_mtim.tv_nsec);
  char owner[16], group[16];
  snprintf(owner, sizeof owner, "%u", (unsigned)st->st_uid);
  snprintf(group, sizeof group, "%u", (unsigned)st->st_gid);
  return json_pack("{s:s,s:I,s:s,s:s,s:s,s:b,s:s,s:s,s:s}", "name", name, "size",
                   (json_int_t)st->st_size, "mode", mode, "modTime", gotime, "modifiedAt", mod,
                   "isDir", S_ISDIR(st->st_mode), "owner", owner, "group", group, "permissions",
                   perms);
}

static void route_list(struct emu_req *req, struct emu_dt_sb *d, const char *path) {
  struct emu_path p;
  if (resolve(req, d, path ? path : ".", &p) < 0) return;
  DIR *dir = opendir(p.host);
  if (!dir) {
    emu_dt_error(req, errno == ENOTDIR ? 400 : 404, "FILE_NOT_FOUND", "directory not found: %s",
                 p.sb);
    emu_path_free(&p);
    return;
  }
  json_t *arr = json_array();
  struct dirent *e;
  while ((e = readdir(dir))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    struct stat st;
    if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
      json_array_append_new(arr, file_info(e->d_name, &st));
  }
  closedir(dir);
  emu_path_free(&p);
  emu_reply_json(req, 200, arr, NULL, 0);
}

static void route_info(struct emu_req *req, struct emu_dt_sb *d, const char *path) {
  struct emu_path p;
  struct stat st;
  if (resolve(req, d, path, &p) < 0) return;
  if (lstat(p.host, &st) < 0) {
    emu_dt_error(req, 404, "FILE_NOT_FOUND", "file not found: %s", p.sb);
  } else {
    const char *name = strrchr(p.sb, '/');
    emu_reply_json(req, 200, file_info(name && name[1] ? name + 1 : p.sb, &st), NULL, 0);
  }
  emu_path_free(&p);
}

static void route_folder(struct emu_req *req, struct emu_dt_sb *d, const char *path,
                         const char *mode) {
  struct emu_path p;
  if (resolve(req, d, path, &p) < 0) return;
  if (emu_mkdir_p(p.host) < 0) {
    emu_dt_error(req, 400, "BAD_REQUEST", "cannot create %s: %s", p.sb, strerror(errno));
  } else {
    if (mode && *mode) chmod(p.host, (mode_t)strtol(mode, NULL, 8) & 07777);
    emu_reply_empty(req, 201);
  }
  emu_path_free(&p);
}

static void route_delete(struct emu_req *req, struct emu_dt_sb *d, const char *path,
                         int recursive) {
  struct emu_path p;
  struct stat st;
  if (resolve(req, d, path, &p) < 0) return;
  if (lstat(p.host, &st) < 0)
    emu_dt_error(req, 404, "FILE_NOT_FOUND", "file not found: %s", p.sb);
  else if (emu_fs_is_mount(d->sb, p.sb) || !strcmp(p.sb, "/"))
    emu_dt_error(req, 400, "BAD_REQUEST", "cannot delete %s", p.sb);
  else if (S_ISDIR(st.st_mode) && !recursive)
    emu_dt_error(req, 400, "BAD_REQUEST", "%s is a directory: use recursive", p.sb);
  else if (emu_rm_rf(p.host) < 0)
    emu_dt_error(req, 500, NULL, "cannot delete %s: %s", p.sb, strerror(errno));
  else
    emu_reply_empty(req, 204);
  emu_path_free(&p);
}

static void route_move(struct emu_req *req, struct emu_dt_sb *d, const char *src, const char *dst) {
  struct emu_path s, t;
  struct stat st;
  if (resolve(req, d, src, &s) < 0) return;
  if (resolve(req, d, dst, &t) < 0) {
    emu_path_free(&s);
    return;
  }
  if (lstat(s.host, &st) < 0)
    emu_dt_error(req, 404, "FILE_NOT_FOUND", "source not found: %s", s.sb);
  else if (lstat(t.host, &st) == 0)
    emu_dt_error(req, 409, "CONFLICT", "destination exists: %s", t.sb);
  else if (rename(s.host, t.host) < 0)
    emu_dt_error(req, errno == ENOENT ? 404 : 400, NULL, "cannot move: %s", strerror(errno));
  else
    emu_reply_empty(req, 200);
  emu_path_free(&s);
  emu_path_free(&t);
}

/* The whole regular file into b; 0, or an HTTP status with *code. */
static int read_file(struct emu_dt_sb *d, const char *path, struct emu_buf *b, const char **code,
                     char *sb_path, size_t sb_len) {
  struct emu_path p;
  const char *why = NULL;
  struct stat st;
  *code = "INVALID_FILE_PATH";
  if (!path || !*path || emu_fs_resolve(d->sb, path, EMU_DT_HOME, &p, &why) < 0) return 400;
  snprintf(sb_path, sb_len, "%s", p.sb);
  int rc = 0;
  FILE *f = NULL;
  if (!emu_fs_inside(d->sb, p.host, 1)) {
    rc = 400;
  } else if (stat(p.host, &st) < 0) {
    rc = 404;
    *code = "FILE_NOT_FOUND";
  } else if (S_ISDIR(st.st_mode)) {
    rc = 400;
  } else if (!(f = fopen(p.host, "rb"))) {
    rc = 403;
    *code = "FILE_ACCESS_DENIED";
  } else {
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
      emu_buf_add(b, buf, n);
    fclose(f);
  }
  emu_path_free(&p);
  return rc;
}

static void route_download(struct emu_req *req, struct emu_dt_sb *d, const char *path) {
  struct emu_buf b = {0};
  const char *code;
  char sp[4096];
  int rc = read_file(d, path, &b, &code, sp, sizeof sp);
  if (rc)
    emu_dt_error(req, rc, code, "cannot read %s", path ? path : "");
  else
    emu_resp_simple(req, 200, "application/octet-stream", b.data, b.len);
  emu_buf_free(&b);
}

/* ---- bulk upload: files[i].path then files[i].file ---- */

/* The value of attr (name, filename) in a Content-Disposition line; malloc'd. */
static char *disp_attr(const char *head, size_t head_len, const char *attr) {
  char key[32];
  int kn = snprintf(key, sizeof key, " %s=\"", attr);
  for (const char *p = head; p + kn <= head + head_len; p++) {
    if (strncasecmp(p, key, (size_t)kn) != 0 &&
        !(p[0] == ';' && !strncasecmp(p + 1, key + 1, (size_t)kn - 1)))
      continue;
    const char *v = p + kn;
    const char *e = memchr(v, '"', (size_t)(head + head_len - v));
    return e ? strndup(v, (size_t)(e - v)) : NULL;
  }
  return NULL;
}

static int write_upload(struct emu_dt_sb *d, const char *path, const char *data, size_t len,
                        const char **why) {
  struct emu_path p;
  if (emu_fs_resolve(d->sb, path, EMU_DT_HOME, &p, why) < 0) return -1;
  int rc = -1;
  FILE *f = NULL;
  *why = "invalid path";
  if (emu_fs_inside(d->sb, p.host, 1) && emu_fs_mkparent(p.host) == 0 &&
      (f = fopen(p.host, "wb"))) {
    rc = fwrite(data, 1, len, f) == len ? 0 : -1;
    if (fclose(f) != 0) rc = -1;
    *why = rc ? strerror(errno) : NULL;
  }
  emu_path_free(&p);
  return rc;
}

static void route_bulk_upload(struct emu_req *req, struct emu_dt_sb *d) {
  const char *ct = emu_req_header(req, "content-type");
  const char *bp = ct ? strcasestr(ct, "boundary=") : NULL;
  if (!bp) {
    emu_dt_error(req, 400, "BAD_REQUEST", "multipart/form-data with a boundary is required");
    return;
  }
  char delim[256];
  bp += 9;
  size_t bl = strcspn(bp, ";");
  if (bl >= 2 && bp[0] == '"') {
    bp++;
    bl = strcspn(bp, "\"");
  }
  int dn = snprintf(delim, sizeof delim, "--%.*s", (int)bl, bp);
  json_t *files = json_array(), *errors = json_array();
  json_t *paths = json_object(); /* "files[i]" -> destination */
  const char *body = req->body, *end = body + req->body_len;
  const char *p = memmem(body, req->body_len, delim, (size_t)dn);
  while (p && p + dn + 2 <= end && strncmp(p + dn, "--", 2) != 0) {
    const char *head = p + dn + 2; /* after CRLF */
    const char *hend = memmem(head, (size_t)(end - head), "\r\n\r\n", 4);
    if (!hend) break;
    const char *data = hend + 4;
    char crlf_delim[260];
    int cn = snprintf(crlf_delim, sizeof crlf_delim, "\r\n%s", delim);
    const char *next = memmem(data, (size_t)(end - data), crlf_delim, (size_t)cn);
    if (!next) break;
    char *name = disp_attr(head, (size_t)(hend - head), "name");
    size_t nl = name ? strlen(name) : 0;
    if (name && nl > 5 && !strcmp(name + nl - 5, ".path")) {
      name[nl - 5] = '\0';
      json_object_set_new(paths, name, json_stringn(data, (size_t)(next - data)));
    } else if (name && nl > 5 && !strcmp(name + nl - 5, ".file")) {
      name[nl - 5] = '\0';
      const char *dest = json_string_value(json_object_get(paths, name)), *why = NULL;
      if (!dest)
        json_array_append_new(
            errors, json_pack("{s:s,s:s}", "path", name, "error", "file part before its path"));
      else if (write_upload(d, dest, data, (size_t)(next - data), &why) < 0)
        json_array_append_new(errors, json_pack("{s:s,s:s}", "path", dest, "error", why));
      else
        json_array_append_new(
            files, json_pack("{s:s,s:I}", "path", dest, "bytes", (json_int_t)(next - data)));
    }
    free(name);
    p = next + 2;
  }
  json_decref(paths);
  int bad = json_array_size(errors) > 0;
  emu_reply_json(req, bad ? 400 : 200, json_pack("{s:o,s:o}", "errors", errors, "files", files),
                 NULL, 0);
}

void emu_dt_files(struct emu_req *req, struct emu_dt_sb *d, const char *rest) {
  const char *m = req->method;
  char *path = emu_query_get(req->query, "path");
  if (!strcmp(m, "GET") && (!*rest || !strcmp(rest, "/"))) {
    route_list(req, d, path);
  } else if (!strcmp(m, "DELETE") && !*rest) {
    char *rec = emu_query_get(req->query, "recursive");
    route_delete(req, d, path, rec && !strcmp(rec, "true"));
    free(rec);
  } else if (!strcmp(m, "GET") && !strcmp(rest, "/info")) {
    route_info(req, d, path);
  } else if (!strcmp(m, "GET") && !strcmp(rest, "/download")) {
    route_download(req, d, path);
  } else if (!strcmp(m, "POST") && !strcmp(rest, "/folder")) {
    char *mode = emu_query_get(req->query, "mode");
    route_folder(req, d, path, mode);
    free(mode);
  } else if (!strcmp(m, "POST") && !strcmp(rest, "/move")) {
    char *src = emu_query_get(req->query, "source"),
         *dst = emu_query_get(req->query, "destination");
    route_move(req, d, src, dst);
    free(src);
    free(dst);
  } else if (!strcmp(m, "POST") && !strcmp(rest, "/bulk-upload")) {
    route_bulk_upload(req, d);
  } else if (!strcmp(m, "POST") && !strcmp(rest, "/bulk-download")) {
    emu_dt_bulk_download(req, d);
  } else {
    emu_dt_error(req, 404, "NOT_FOUND", "no route for %s /files%s", m, rest);
  }
  free(path);
}
