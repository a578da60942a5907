/* daytona_files.c - toolbox file ops: upload through POST /files/bulk-upload
 * (multipart; one local file is streamed from disk between a prefix and a
 * suffix, never read whole), download through GET /files/download (streamed
 * to a file or a callback), and list/stat/mkdir/remove/move. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../protocol/json_util.h"
#include "daytona.h"
#include "e2b.h"

enum dfile_what { F_UPLOAD, F_DOWNLOAD, F_FS };

struct dfile_op {
  struct dt_tb_op t;
  enum dfile_what what;
  int fs_op;
  char *query;
  char *label; /* remote path(s) for messages */
  char *path2;
  /* upload */
  char boundary[40];
  char *body; /* whole multipart body, or NULL when streaming local_path */
  size_t len;
  char *local_path;
  char *prefix, *suffix;
  char **up_paths;
  int64_t *up_sizes;
  size_t n_up;
  /* download */
  char *part_path;
  int out_fd;
  uint64_t got, max_bytes;
  void (*on_data)(sbx_client *c, sbx_op_id op, const char *data, size_t len, void *ud);
  sbx_entries_cb ecb;
  sbx_done_cb dcb;
  json_t *doc;
};

static void free_paths(const sbx_allocator *a, char **paths, size_t n);

static struct dfile_op *dfile_of(struct sbx_op *op) {
  return (struct dfile_op *)op;
}

static void describe(const struct dfile_op *f, char *buf, size_t n) {
  static const char *const fs_verbs[] = {"list", "stat", "mkdir", "remove", "move"};
  const char *verb = f->what == F_UPLOAD     ? "upload"
                     : f->what == F_DOWNLOAD ? "download"
                                             : fs_verbs[f->fs_op];
  snprintf(buf, n, "daytona: %s %s in sandbox %s", verb, f->label, f->t.id);
}

/* ---- build ------------------------------------------------------------------- */

static int build_upload(struct dfile_op *f, struct sbx_http_req *r, struct sbx_errinfo *e) {
  char ctype[96];
  snprintf(ctype, sizeof ctype, "Content-Type: multipart/form-data; boundary=%s", f->boundary);
  r->headers = curl_slist_append(r->headers, ctype);
  if (!r->headers) return SBX_ENOMEM;
  r->max_body = 1u << 20;
  if (!f->local_path) {
    r->body = f->body;
    r->body_len = f->len;
    return 0;
  }
  int fd = open(f->local_path, O_RDONLY | O_CLOEXEC); /* per attempt: a retry re-reads */
  struct stat sb;
  if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    int err = fd < 0 ? errno : EINVAL;
    if (fd >= 0) close(fd);
    sbx_errinfo_set(e, SBX_EIO, "daytona: upload %s: cannot read local file %s: %s", f->label,
                    f->local_path, err == EINVAL ? "not a regular file" : strerror(err));
    return SBX_EIO;
  }
  r->upload_fd = fd;
  r->upload_size = (uint64_t)sb.st_size;
  f->up_sizes[0] = (int64_t)sb.st_size;
  r->prefix = f->prefix;
  r->prefix_len = strlen(f->prefix);
  r->suffix = f->suffix;
  r->suffix_len = strlen(f->suffix);
  return 0;
}

static int download_sink(struct sbx_op *op, const char *data, size_t len) {
  struct dfile_op *f = dfile_of(op);
  f->got += len;
  if (f->max_bytes && f->got > f->max_bytes) {
    sbx__op_fail(op, SBX_ETOOBIG, "daytona: download %s from sandbox %s: over the %llu-byte cap",
                 f->label, f->t.id, (unsigned long long)f->max_bytes);
    return 1;
  }
  if (f->out_fd < 0) {
    f->on_data(op->c, op->id, data, len, op->ud);
    return 0;
  }
  for (size_t off = 0; off < len;) {
    ssize_t w = write(f->out_fd, data + off, len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      sbx__op_fail(op, SBX_EIO, "daytona: download %s: cannot write %s: %s", f->label, f->part_path,
                   strerror(errno));
      return 1;
    }
    off += (size_t)w;
  }
  return 0;
}

static int build_download(struct dfile_op *f, struct sbx_http_req *r, struct sbx_errinfo *e) {
  if (f->part_path) {
    if (f->out_fd >= 0) close(f->out_fd);
    f->out_fd = open(f->part_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (f->out_fd < 0) {
      sbx_errinfo_set(e, SBX_EIO, "daytona: download %s: cannot create %s: %s", f->label,
                      f->part_path, strerror(errno));
      return SBX_EIO;
    }
  }
  f->got = 0;
  r->sink = download_sink;
  r->bulk = 1;
  r->idle_timeout_s = f->t.k.op.c->cfg.request_timeout_ms / 1000 + 1;
  return 0;
}

static const char *method_of(const struct dfile_op *f) {
  if (f->what == F_UPLOAD) return "POST";
  if (f->what == F_DOWNLOAD) return "GET";
  switch (f->fs_op) {
  case SBX_FS_MKDIR:
  case SBX_FS_MOVE: return "POST";
  case SBX_FS_REMOVE: return "DELETE";
  default: return "GET";
  }
}

static int build(struct sbx_call *k, struct sbx_http_req *r, struct sbx_errinfo *e) {
  struct dfile_op *f = dfile_of(&k->op);
  sbx__free(sbx__alloc(k->op.c), f->t.url);
  f->t.url = NULL;
  int st = dt_toolbox_req(k->op.c, r, &f->t.url, f->t.id, method_of(f), f->query);
  if (st) return st;
  if (f->what == F_UPLOAD) return build_upload(f, r, e);
  if (f->what == F_DOWNLOAD) return build_download(f, r, e);
  r->max_body = 16u << 20;
  return 0;
}

/* ---- parse ------------------------------------------------------------------- */

static int parse(struct sbx_call *k, struct sbx_http *h, struct sbx_errinfo *e) {
  struct dfile_op *f = dfile_of(&k->op);
  char what[400];
  describe(f, what, sizeof what);
  if (f->what == F_FS && f->fs_op == SBX_FS_REMOVE && h->status == 404) return 0; /* rm -f */
  if (h->status < 200 || h->status >= 300) return dt_toolbox_error(h, f->t.id, what, e);
  if (f->what == F_DOWNLOAD && f->out_fd >= 0) {
    int rc = close(f->out_fd);
    f->out_fd = -1;
    if (rc != 0 || rename(f->part_path, f->local_path) != 0) {
      sbx_errinfo_set(e, SBX_EIO, "%s: cannot finish %s: %s", what, f->local_path, strerror(errno));
      return SBX_EIO;
    }
  }
  if (f->what == F_FS && (f->fs_op == SBX_FS_LIST || f->fs_op == SBX_FS_STAT)) {
    f->doc = e2b_parse_json(h, what, e);
    if (!f->doc) return e->status;
  }
  return 0;
}

/* ---- complete ------------------------------------------------------------------- */

/* Upload, mkdir and move report entries we know without asking again. */
static void deliver_known(struct dfile_op *f, int type) {
  struct sbx_op *op = &f->t.k.op;
  size_t n = f->n_up ? f->n_up : 1;
  sbx_file_entry *items = sbx__calloc(sbx__alloc(op->c), n, sizeof *items);
  if (!items) {
    sbx_error oom = {.code = SBX_ENOMEM,
                     .retry_after_ms = -1,
                     .provider_code = "",
                     .message = "daytona: out of memory"};
    f->ecb(op->c, op->id, &oom, NULL, 0, op->ud);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    const char *p = f->n_up ? f->up_paths[i] : f->path2 ? f->path2 : f->label;
    const char *slash = strrchr(p, '/');
    items[i] = (sbx_file_entry){.name = slash && slash[1] ? slash + 1 : p,
                                .path = p,
                                .type = type,
                                .size = f->n_up ? f->up_sizes[i] : 0,
                                .permissions = "",
                                .owner = "",
                                .group = "",
                                .modified_time = ""};
  }
  f->ecb(op->c, op->id, NULL, items, n, op->ud);
  sbx__free(sbx__alloc(op->c), items);
}

static void deliver_doc(struct dfile_op *f) {
  struct sbx_op *op = &f->t.k.op;
  struct dt_entries ents;
  const char *dir = f->fs_op == SBX_FS_LIST ? f->label : NULL;
  int rc = dt_entries_fill(sbx__alloc(op->c), f->doc, dir, &ents);
  if (rc != 0) {
    sbx_error bad = {.code = rc == SBX_ENOMEM ? SBX_ENOMEM : SBX_EPROTO,
                     .retry_after_ms = -1,
                     .provider_code = "",
                     .message = rc == SBX_ENOMEM ? "daytona: file entries: out of memory"
                                                 : "daytona: malformed FileInfo in the reply"};
    f->ecb(op->c, op->id, &bad, NULL, 0, op->ud);
    return;
  }
  if (f->fs_op == SBX_FS_STAT && ents.n == 1) ents.items[0].path = f->label;
  f->ecb(op->c, op->id, NULL, ents.items, ents.n, op->ud);
  dt_entries_free(&ents);
}

static void complete(struct sbx_op *op, const sbx_error *err) {
  struct dfile_op *f = dfile_of(op);
  if (f->out_fd >= 0) {
    close(f->out_fd);
    f->out_fd = -1;
  }
  if (err && f->part_path) unlink(f->part_path); /* no partial file is left behind */
  if (f->dcb) {
    f->dcb(op->c, op->id, err, op->ud);
  } else if (err) {
    f->ecb(op->c, op->id, err, NULL, 0, op->ud);
  } else if (f->what == F_UPLOAD) {
    deliver_known(f, SBX_FILE_REGULAR);
  } else if (f->fs_op == SBX_FS_MKDIR || f->fs_op == SBX_FS_MOVE) {
    deliver_known(f, f->fs_op == SBX_FS_MKDIR ? SBX_FILE_DIR : SBX_FILE_UNKNOWN);
  } else {
    deliver_doc(f);
  }
}

static void destroy(struct sbx_op *op) {
  struct dfile_op *f = dfile_of(op);
  const sbx_allocator *a = sbx__alloc(op->c);
  if (f->out_fd >= 0) close(f->out_fd);
  sbx__free(a, f->t.id);
  sbx__free(a, f->t.url);
  sbx__free(a, f->query);
  sbx__free(a, f->label);
  sbx__free(a, f->path2);
  sbx__free(a, f->body);
  sbx__free(a, f->local_path);
  sbx__free(a, f->prefix);
  sbx__free(a, f->suffix);
  free_paths(a, f->up_paths, f->n_up);
  sbx__free(a, f->up_sizes);
  sbx__free(a, f->part_path);
  if (f->doc) json_decref(f->doc);
}

SBX_CALL_KIND(kind_upload, "daytona.file_write", complete, destroy);
SBX_CALL_KIND(kind_download, "daytona.file_read", complete, destroy);
SBX_CALL_KIND(kind_fs, "daytona.fs", complete, destroy);

static const struct call_hooks hooks_idem = {.cls = SBX_RATE_DATA,
                                             .retry = CALL_RETRY_ANY,
                                             DT_TB_RESOLVE_HOOKS,
                                             .build = build,
                                             .parse = parse};
/* Bytes handed to a callback cannot be taken back; a move may have moved. */
static const struct call_hooks hooks_once = {.cls = SBX_RATE_DATA,
                                             .retry = CALL_RETRY_UNSENT,
                                             DT_TB_RESOLVE_HOOKS,
                                             .build = build,
                                             .parse = parse};

static struct dfile_op *new_op(sbx_client *c, const struct op_kind *kind,
                               const struct call_hooks *h, enum dfile_what what, const char *id,
                               const char *label, char *query, void *ud, sbx_status *st) {
  char *lc = sbx__strdup(sbx__alloc(c), label);
  struct dfile_op *f = NULL;
  if (!lc || !query)
    *st = SBX_ENOMEM;
  else
    f = (struct dfile_op *)dt_tb_op_new(c, kind, h, sizeof *f, id, ud, st);
  if (!f) {
    sbx__free(sbx__alloc(c), lc);
    sbx__free(sbx__alloc(c), query);
    return NULL;
  }
  f->what = what;
  f->label = lc;
  f->query = query;
  f->out_fd = -1;
  return f;
}

static int make_boundary(char *b, size_t n) {
  unsigned char rnd[8];
  if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) return SBX_EIO;
  snprintf(b, n, "sbx-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
           rnd[5], rnd[6], rnd[7]);
  return 0;
}

/* The uploaded paths and sizes, reported back as entries. */
static void free_paths(const sbx_allocator *a, char **paths, size_t n) {
  for (size_t i = 0; paths && i < n; i++)
    sbx__free(a, paths[i]);
  sbx__free(a, paths);
}

static int keep_paths(const sbx_allocator *a, const sbx_upload *ups, size_t n, char ***paths_out,
                      int64_t **sizes_out) {
  char **paths = sbx__calloc(a, n, sizeof *paths);
  int64_t *sizes = sbx__calloc(a, n, sizeof *sizes);
  for (size_t i = 0; paths && sizes && i < n; i++) {
    if (!(paths[i] = sbx__strdup(a, ups[i].path))) break;
    sizes[i] = (int64_t)ups[i].len;
    struct stat sb;
    if (ups[i].local_path && stat(ups[i].local_path, &sb) == 0) sizes[i] = sb.st_size;
  }
  if (!paths || !sizes || !paths[n - 1]) {
    free_paths(a, paths, n);
    sbx__free(a, sizes);
    return SBX_ENOMEM;
  }
  *paths_out = paths;
  *sizes_out = sizes;
  return 0;
}

static sbx_status upload(sbx_client *c, const char *id, const sbx_upload *ups, size_t n,
                         sbx_entries_cb cb, void *ud, sbx_op_id *out) {
  for (size_t i = 0; i < n; i++)
    if (strpbrk(ups[i].path, "\"\r\n")) /* cannot be framed in a part header */
      return sbx__refuse(c, SBX_EINVAL, "sbx_file_write_many",
                         "ups[%zu].path holds a quote or a line break", i);
  char boundary[40];
  if (make_boundary(boundary, sizeof boundary) != 0) return SBX_EIO;
  const sbx_allocator *a = sbx__alloc(c);
  sbx_status st = SBX_OK;
  char *body = NULL, *prefix = NULL, *suffix = NULL, *local = NULL;
  size_t len = 0;
  if (n == 1 && ups[0].local_path) { /* streamed: prefix + file + suffix */
    struct sbx_str head;
    sbx_str_init(&head, a);
    dt_part_head(&head, boundary, 0, ups[0].path);
    prefix = sbx_str_take(&head, &len);
    suffix = sbx__asprintf(a, "\r\n--%s--\r\n", boundary);
    local = sbx__strdup(a, ups[0].local_path);
    if (!prefix || !suffix || !local) st = SBX_ENOMEM;
  } else {
    body = dt_multipart_body(a, boundary, ups, n, &len, &st);
  }
  char label[64];
  snprintf(label, sizeof label, "(%zu files)", n);
  struct dfile_op *f = NULL;
  char **paths = NULL;
  int64_t *sizes = NULL;
  if (st == SBX_OK) st = keep_paths(a, ups, n, &paths, &sizes);
  if (st == SBX_OK)
    f = new_op(c, &kind_upload, &hooks_idem, F_UPLOAD, id, n == 1 ? ups[0].path : label,
               sbx__strdup(a, "/files/bulk-upload"), ud, &st);
  if (f) {
    memcpy(f->boundary, boundary, sizeof boundary);
    f->body = body, f->len = len, f->prefix = prefix, f->suffix = suffix, f->local_path = local;
    f->ecb = cb;
    f->up_paths = paths, f->up_sizes = sizes, f->n_up = n;
    body = prefix = suffix = local = NULL;
    paths = NULL, sizes = NULL;
    *out = f->t.k.op.id;
  }
  free_paths(a, paths, n);
  sbx__free(a, sizes);
  sbx__free(a, body);
  sbx__free(a, prefix);
  sbx__free(a, suffix);
  sbx__free(a, local);
  return st;
}

sbx_status dt_file_write(sbx_client *c, const char *id, const sbx_upload *up, sbx_entries_cb cb,
                         void *ud, sbx_op_id *out) {
  return upload(c, id, up, 1, cb, ud, out);
}

sbx_status dt_file_write_many(sbx_client *c, const char *id, const sbx_upload *ups, size_t n,
                              sbx_entries_cb cb, void *ud, sbx_op_id *out) {
  return upload(c, id, ups, n, cb, ud, out);
}

sbx_status dt_file_read(sbx_client *c, const char *id, const sbx_download *dl, sbx_done_cb cb,
                        void *ud, sbx_op_id *out) {
  const sbx_allocator *a = sbx__alloc(c);
  char *local = NULL, *part = NULL;
  if (dl->local_path) {
    local = sbx__strdup(a, dl->local_path);
    part = local ? sbx__asprintf(a, "%s.sbx-part", dl->local_path) : NULL;
    if (!part) {
      sbx__free(a, local);
      return SBX_ENOMEM;
    }
  }
  sbx_status st;
  struct dfile_op *f =
      new_op(c, &kind_download, &hooks_once, F_DOWNLOAD, id, dl->path,
             dt_files_query(a, "/download", "path", dl->path, NULL, NULL), ud, &st);
  if (!f) {
    sbx__free(a, local);
    sbx__free(a, part);
    return st;
  }
  f->local_path = local;
  f->part_path = part;
  f->on_data = dl->on_data;
  f->max_bytes = dl->max_bytes;
  f->dcb = cb;
  *out = f->t.k.op.id;
  return SBX_OK;
}

/* Directory listings are one level (depth > 1 lists the first level only). */
sbx_status dt_fs(sbx_client *c, const char *id, int fs_op, const char *path, const char *path2,
                 int depth, sbx_entries_cb ecb, sbx_done_cb dcb, void *ud, sbx_op_id *out) {
  const sbx_allocator *a = sbx__alloc(c);
  char *q = NULL;
  switch (fs_op) {
  case SBX_FS_LIST: q = dt_files_query(a, "", "path", path, NULL, NULL); break;
  case SBX_FS_STAT: q = dt_files_query(a, "/info", "path", path, NULL, NULL); break;
  case SBX_FS_MKDIR: q = dt_files_query(a, "/folder", "path", path, "mode", "755"); break;
  case SBX_FS_REMOVE: q = dt_files_query(a, "", "path", path, "recursive", "true"); break;
  case SBX_FS_MOVE: q = dt_files_query(a, "/move", "source", path, "destination", path2); break;
  default: return SBX_EINVAL;
  }
  char *p2 = path2 ? sbx__strdup(a, path2) : NULL;
  if (path2 && !p2) {
    sbx__free(a, q);
    return SBX_ENOMEM;
  }
  sbx_status st;
  const struct call_hooks *h = fs_op == SBX_FS_MOVE ? &hooks_once : &hooks_idem;
  struct dfile_op *f = new_op(c, &kind_fs, h, F_FS, id, path, q, ud, &st);
  if (!f) {
    sbx__free(a, p2);
    return st;
  }
  f->fs_op = fs_op;
  f->path2 = p2;
  f->ecb = ecb;
  f->dcb = dcb;
  *out = f->t.k.op.id;
  return SBX_OK;
}
