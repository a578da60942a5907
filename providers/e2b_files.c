/* e2b_files.c - envd /files: upload (octet-stream or multipart, from memory
 * or streamed from a local file) and download (streamed to a file or to a
 * callback, never held whole). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../protocol/json_util.h"
#include "e2b.h"
#include "prov_util.h"
#include "small_file.h"

struct file_op {
  struct e2b_envd_op e; /* call, sandbox id, request URL */
  int upload;
  char *query; /* "/files?path=...&username=..." */
  char *remote_path;
  /* upload */
  char *data; /* copied in-memory source */
  size_t len;
  char *local_path;
  int multipart;
  char *prefix, *suffix; /* multipart framing */
  char boundary[40];     /* "" : "sbx-<op id>" */
  sbx_entries_cb ecb;
  json_t *doc;
  /* download */
  char *part_path; /* local_path + ".sbx-part", renamed at the end */
  int out_fd;
  uint64_t got, max_bytes;
  void (*on_data)(sbx_client *c, sbx_op_id op, const char *data, size_t len, void *ud);
  sbx_done_cb dcb;
};

static struct file_op *file_of(struct sbx_op *op) {
  return (struct file_op *)op;
}

/* "/files?path=...&username=..." (path NULL: no path parameter); NULL when
 * out of memory. */
static char *files_query(const sbx_allocator *a, const char *path, const char *user) {
  struct sbx_str q;
  sbx_str_init(&q, a);
  sbx_str_adds(&q, "/files");
  char sep = '?';
  if (path) {
    sbx_str_adds(&q, "?path="), sep = '&';
    sbx_str_url_encode(&q, path);
  }
  if (user && *user) {
    sbx_str_addf(&q, "%cusername=", sep);
    sbx_str_url_encode(&q, user);
  }
  return sbx_str_take(&q, NULL);
}

/* ---- upload ------------------------------------------------------------------- */

static int build_upload(struct sbx_call *k, struct sbx_http_req *r, struct sbx_errinfo *e) {
  struct file_op *f = file_of(&k->op);
  const sbx_allocator *a = sbx__alloc(k->op.c);
  sbx__free(a, f->e.url);
  f->e.url = NULL;
  int st = e2b_envd_req(k->op.c, r, &f->e.url, f->e.id, "POST", NULL, f->query);
  if (st) return st;
  char ctype[128];
  if (f->multipart && f->boundary[0])
    snprintf(ctype, sizeof ctype, "Content-Type: multipart/form-data; boundary=%s", f->boundary);
  else if (f->multipart)
    snprintf(ctype, sizeof ctype, "Content-Type: multipart/form-data; boundary=sbx-%llx",
             (unsigned long long)k->op.id);
  else
    snprintf(ctype, sizeof ctype, "Content-Type: application/octet-stream");
  r->headers = curl_slist_append(r->headers, ctype);
  if (!r->headers) return SBX_ENOMEM;
  r->max_body = 1u << 20;
  if (f->multipart) {
    r->prefix = f->prefix;
    r->prefix_len = strlen(f->prefix);
    r->suffix = f->suffix;
    r->suffix_len = strlen(f->suffix);
  }
  if (f->local_path) { /* opened per attempt: a retry re-reads from the start */
    int fd = open(f->local_path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
      int err = fd < 0 ? errno : EINVAL;
      if (fd >= 0) close(fd);
      sbx_errinfo_set(e, SBX_EIO, "upload %s: cannot read local file %s: %s", f->remote_path,
                      f->local_path, err == EINVAL ? "not a regular file" : strerror(err));
      return SBX_EIO;
    }
    r->upload_fd = fd;
    r->upload_size = (uint64_t)sb.st_size;
  } else if (f->multipart) {
    /* memory with framing: a file-less upload of prefix + data + suffix */
    r->upload_fd = -1;
    size_t pl = strlen(f->prefix), sl = strlen(f->suffix);
    char *all = sbx__malloc(a, pl + f->len + sl + 1);
    if (!all) return SBX_ENOMEM;
    memcpy(all, f->prefix, pl);
    if (f->len) memcpy(all + pl, f->data, f->len);
    memcpy(all + pl + f->len, f->suffix, sl);
    sbx__free(a, f->data);
    f->data = all;
    f->len = pl + f->len + sl;
    f->prefix[0] = f->suffix[0] = 0; /* framed once, even across retries */
    f->multipart = 2;
    r->prefix = r->suffix = NULL;
    r->prefix_len = r->suffix_len = 0;
    r->body = f->data;
    r->body_len = f->len;
  } else {
    r->body = f->data ? f->data : "";
    r->body_len = f->len;
  }
  if (f->multipart == 2) r->prefix = r->suffix = NULL, r->prefix_len = r->suffix_len = 0;
  return 0;
}

static int parse_upload(struct sbx_call *k, struct sbx_http *h, struct sbx_errinfo *e) {
  struct file_op *f = file_of(&k->op);
  char what[300];
  snprintf(what, sizeof what, "upload %s to sandbox %s", f->remote_path, f->e.id);
  if (h->status != 200) return e2b_http_error(h, 1, what, e);
  f->doc = e2b_parse_json(h, what, e);
  if (!f->doc) return e->status;
  if (!json_is_array(f->doc) || json_array_size(f->doc) == 0) {
    sbx_errinfo_set(e, SBX_EPROTO, "%s: the reply is not a non-empty array of entries", what);
    return SBX_EPROTO;
  }
  return 0;
}

/* ---- download ------------------------------------------------------------------- */

static int download_sink(struct sbx_op *op, const char *data, size_t len) {
  struct file_op *f = file_of(op);
  f->got += len;
  if (f->max_bytes && f->got > f->max_bytes) {
    sbx__op_fail(op, SBX_ETOOBIG, "download %s from sandbox %s: over the %llu-byte cap",
                 f->remote_path, f->e.id, (unsigned long long)f->max_bytes);
    return 1;
  }
  if (f->out_fd >= 0) {
    size_t off = 0;
    while (off < len) {
      ssize_t w = write(f->out_fd, data + off, len - off);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        sbx__op_fail(op, SBX_EIO, "download %s: cannot write %s: %s", f->remote_path, f->part_path,
                     strerror(errno));
        return 1;
      }
      off += (size_t)w;
    }
    return 0;
  }
  f->on_data(op->c, op->id, data, len, op->ud);
  return 0;
}

static int build_download(struct sbx_call *k, struct sbx_http_req *r, struct sbx_errinfo *e) {
  struct file_op *f = file_of(&k->op);
  sbx__free(sbx__alloc(k->op.c), f->e.url);
  f->e.url = NULL;
  if (f->part_path) {
    if (f->out_fd >= 0) close(f->out_fd);
    f->out_fd = open(f->part_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (f->out_fd < 0) {
      sbx_errinfo_set(e, SBX_EIO, "download %s: cannot create %s: %s", f->remote_path, f->part_path,
                      strerror(errno));
      return SBX_EIO;
    }
  }
  f->got = 0;
  int st = e2b_envd_req(k->op.c, r, &f->e.url, f->e.id, "GET", NULL, f->query);
  if (st) return st;
  r->sink = download_sink;
  r->bulk = 1;
  r->idle_timeout_s = k->op.c->cfg.request_timeout_ms / 1000 + 1;
  return 0;
}

static int parse_download(struct sbx_call *k, struct sbx_http *h, struct sbx_errinfo *e) {
  struct file_op *f = file_of(&k->op);
  char what[300];
  snprintf(what, sizeof what, "download %s from sandbox %s", f->remote_path, f->e.id);
  if (h->status != 200) return e2b_http_error(h, 1, what, e);
  if (f->out_fd >= 0) {
    int rc = close(f->out_fd);
    f->out_fd = -1;
    if (rc != 0 || rename(f->part_path, f->local_path) != 0) {
      sbx_errinfo_set(e, SBX_EIO, "%s: cannot finish %s: %s", what, f->local_path, strerror(errno));
      return SBX_EIO;
    }
  }
  return 0;
}

static void complete(struct sbx_op *op, const sbx_error *err) {
  struct file_op *f = file_of(op);
  if (!f->upload) {
    if (f->out_fd >= 0) {
      close(f->out_fd);
      f->out_fd = -1;
    }
    if (err && f->part_path) unlink(f->part_path); /* no partial file is left behind */
    f->dcb(op->c, op->id, err, op->ud);
    return;
  }
  if (err) {
    f->ecb(op->c, op->id, err, NULL, 0, op->ud);
    return;
  }
  const sbx_allocator *a = sbx__alloc(op->c);
  struct e2b_entries ents = {0};
  int rc = e2b_entries_fill(a, f->doc, &ents);
  if (rc != 0) {
    sbx_error bad = {.code = rc == SBX_ENOMEM ? SBX_ENOMEM : SBX_EPROTO,
                     .retry_after_ms = -1,
                     .provider_code = "",
                     .message = rc == SBX_ENOMEM ? "upload reply entries: out of memory"
                                                 : "malformed entry in the upload reply"};
    f->ecb(op->c, op->id, &bad, NULL, 0, op->ud);
    return;
  }
  f->ecb(op->c, op->id, NULL, ents.items, ents.n, op->ud);
  e2b_entries_free(a, &ents);
}

static void destroy(struct sbx_op *op) {
  struct file_op *f = file_of(op);
  const sbx_allocator *a = sbx__alloc(op->c);
  if (f->out_fd >= 0) close(f->out_fd);
  sbx__free(a, f->e.id);
  sbx__free(a, f->e.url);
  sbx__free(a, f->query);
  sbx__free(a, f->remote_path);
  sbx__free(a, f->data);
  sbx__free(a, f->local_path);
  sbx__free(a, f->prefix);
  sbx__free(a, f->suffix);
  sbx__free(a, f->part_path);
  if (f->doc) json_decref(f->doc);
}

SBX_CALL_KIND(kind_upload, "e2b.file_write", complete, destroy);
SBX_CALL_KIND(kind_download, "e2b.file_read", complete, destroy);

static const struct call_hooks hooks_upload = {.cls = SBX_RATE_DATA,
                                               .retry = CALL_RETRY_ANY,
                                               E2B_ENVD_RESOLVE_HOOKS,
                                               .build = build_upload,
                                               .parse = parse_upload};
/* Bytes already handed to a callback cannot be taken back: no blind retry. */
static const struct call_hooks hooks_download = {.cls = SBX_RATE_DATA,
                                                 .retry = CALL_RETRY_UNSENT,
                                                 E2B_ENVD_RESOLVE_HOOKS,
                                                 .build = build_download,
                                                 .parse = parse_download};

/* A file op on sandbox id: query is its "/files?..." (taken over: freed on
 * failure too), label names the remote side in messages. */
static struct file_op *new_file_op(sbx_client *c, const struct op_kind *kind,
                                   const struct call_hooks *h, const char *id, const char *label,
                                   char *q, void *ud, sbx_status *st) {
  const sbx_allocator *a = sbx__alloc(c);
  if (!e2b_valid_id(id)) {
    sbx__free(a, q);
    *st = sbx__refuse(c, SBX_EINVAL, "e2b", "id '%.128s' is not an E2B sandbox id", id);
    return NULL;
  }
  char *idc = sbx__strdup(a, id), *pc = sbx__strdup(a, label);
  struct file_op *f = NULL;
  *st = SBX_ENOMEM;
  if (idc && q && pc) f = (struct file_op *)sbx__call_new(c, kind, h, sizeof *f, ud, st);
  if (!f) {
    sbx__free(a, idc);
    sbx__free(a, q);
    sbx__free(a, pc);
    return NULL;
  }
  f->e.id = idc;
  f->query = q;
  f->remote_path = pc;
  f->out_fd = -1;
  return f;
}

/* A one-file multipart upload is framed with boundary "sbx-<op id>", and the
 * id is known only once the op exists: room for the longest id is taken
 * before (a failure then starts nothing), the text written after. */
#define MP_PREFIX                                                                                  \
  "--sbx-%llx\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"               \
  "Content-Type: application/octet-stream\r\n\r\n"
#define MP_SUFFIX "\r\n--sbx-%llx--\r\n"

struct mp_framing {
  char *prefix, *suffix;
  size_t prefix_cap, suffix_cap;
};

static int framing_reserve(const sbx_allocator *a, struct mp_framing *m, const char *path) {
  m->prefix_cap = (size_t)snprintf(NULL, 0, MP_PREFIX, ULLONG_MAX, path) + 1;
  m->suffix_cap = (size_t)snprintf(NULL, 0, MP_SUFFIX, ULLONG_MAX) + 1;
  m->prefix = sbx__malloc(a, m->prefix_cap);
  m->suffix = sbx__malloc(a, m->suffix_cap);
  return m->prefix && m->suffix ? 0 : SBX_ENOMEM;
}

static void framing_write(struct mp_framing *m, sbx_op_id id, const char *path) {
  snprintf(m->prefix, m->prefix_cap, MP_PREFIX, (unsigned long long)id, path);
  snprintf(m->suffix, m->suffix_cap, MP_SUFFIX, (unsigned long long)id);
}

sbx_status e2b_file_write(sbx_client *c, const char *id, const sbx_upload *up, sbx_entries_cb cb,
                          void *ud, sbx_op_id *out) {
  if (strpbrk(up->path, "\"\r\n")) /* cannot be framed in a multipart header */
    return sbx__refuse(c, SBX_EINVAL, "sbx_file_write", "up.path holds a quote or a line break");
  const sbx_allocator *a = sbx__alloc(c);
  char *data = NULL, *local = NULL;
  struct mp_framing mp = {0};
  int nomem = 0;
  if (up->local_path)
    nomem = !(local = sbx__strdup(a, up->local_path));
  else if (up->len && (data = sbx__malloc(a, up->len)))
    memcpy(data, up->data, up->len);
  else if (up->len)
    nomem = 1;
  if (up->multipart && !nomem) nomem = framing_reserve(a, &mp, up->path) != 0;
  sbx_status st = SBX_ENOMEM;
  struct file_op *f = NULL;
  if (!nomem)
    f = new_file_op(c, &kind_upload, &hooks_upload, id, up->path,
                    files_query(a, up->path, up->user), ud, &st);
  if (!f) {
    sbx__free(a, data);
    sbx__free(a, local);
    sbx__free(a, mp.prefix);
    sbx__free(a, mp.suffix);
    return st;
  }
  f->upload = 1;
  f->data = data;
  f->len = up->len;
  f->local_path = local;
  f->ecb = cb;
  f->multipart = up->multipart ? 1 : 0;
  if (f->multipart) {
    framing_write(&mp, f->e.k.op.id, up->path);
    f->prefix = mp.prefix;
    f->suffix = mp.suffix;
  }
  *out = f->e.k.op.id;
  return SBX_OK;
}

/* envd writes each part named "file" to the path in its filename
 * (e2b-protocol.md 4.3). */
static void e2b_part_head(struct sbx_str *body, const char *boundary, size_t i, const char *path) {
  (void)i;
  sbx_str_addf(body,
               "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
               "Content-Type: application/octet-stream\r\n\r\n",
               boundary, path);
}

sbx_status e2b_file_write_many(sbx_client *c, const char *id, const sbx_upload *ups, size_t n,
                               sbx_entries_cb cb, void *ud, sbx_op_id *out) {
  for (size_t i = 0; i < n; i++)
    if (strpbrk(ups[i].path, "\"\r\n")) /* cannot be framed in a part header */
      return sbx__refuse(c, SBX_EINVAL, "sbx_file_write_many",
                         "ups[%zu].path holds a quote or a line break", i);
  /* A random boundary: the body is built before the op (and its id) exists. */
  unsigned char rnd[8];
  if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) return SBX_EIO;
  char boundary[40];
  snprintf(boundary, sizeof boundary, "sbx-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1],
           rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
  const sbx_allocator *a = sbx__alloc(c);
  sbx_status st;
  size_t len = 0;
  char *body = sbx__multipart_body(a, boundary, ups, n, e2b_part_head, &len, &st);
  if (!body) return st;
  char *pre = sbx__strdup(a, ""), *suf = sbx__strdup(a, "");
  char label[64];
  snprintf(label, sizeof label, "(%zu files)", n);
  struct file_op *f = NULL;
  st = SBX_ENOMEM;
  if (pre && suf) /* no path parameter: each part names its own target */
    f = new_file_op(c, &kind_upload, &hooks_upload, id, label, files_query(a, NULL, ups[0].user),
                    ud, &st);
  if (!f) {
    sbx__free(a, body);
    sbx__free(a, pre);
    sbx__free(a, suf);
    return st;
  }
  f->upload = 1;
  f->ecb = cb;
  f->multipart = 1; /* framed already: the empty prefix and suffix add nothing */
  f->prefix = pre;
  f->suffix = suf;
  snprintf(f->boundary, sizeof f->boundary, "%s", boundary);
  f->data = body;
  f->len = len;
  *out = f->e.k.op.id;
  return SBX_OK;
}

sbx_status e2b_file_read(sbx_client *c, const char *id, const sbx_download *dl, sbx_done_cb cb,
                         void *ud, sbx_op_id *out) {
  const sbx_allocator *a = sbx__alloc(c);
  char *local = NULL, *part = NULL;
  if (dl->local_path) {
    local = sbx__strdup(a, dl->local_path);
    part = sbx__asprintf(a, "%s.sbx-part", dl->local_path);
    if (!local || !part) {
      sbx__free(a, local);
      sbx__free(a, part);
      return SBX_ENOMEM;
    }
  }
  sbx_status st;
  struct file_op *f = new_file_op(c, &kind_download, &hooks_download, id, dl->path,
                                  files_query(a, dl->path, dl->user), ud, &st);
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
  *out = f->e.k.op.id;
  return SBX_OK;
}
