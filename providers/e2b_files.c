/* e2b_files.c - envd /files: upload (octet-stream or multipart, from memory
 * or streamed from a local file) and download (streamed to a file or to a
 * callback, never held whole). */
#include <errno.h>
#include <fcntl.h>
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

static char *files_query(const char *path, const char *user) {
  char *q = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&q, &n);
  if (!f) return NULL;
  fputs("/files?path=", f);
  sbx__url_encode(f, path);
  if (user && *user) {
    fputs("&username=", f);
    sbx__url_encode(f, user);
  }
  fclose(f);
  return q;
}

/* ---- upload ------------------------------------------------------------------- */

static int build_upload(struct sbx_call *k, struct sbx_http_req *r, struct sbx_errinfo *e) {
  struct file_op *f = file_of(&k->op);
  free(f->e.url);
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
    char *all = malloc(pl + f->len + sl + 1);
    if (!all) return SBX_ENOMEM;
    memcpy(all, f->prefix, pl);
    if (f->len) memcpy(all + pl, f->data, f->len);
    memcpy(all + pl + f->len, f->suffix, sl);
    free(f->data);
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
  free(f->e.url);
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
  struct e2b_entries ents = {0};
  if (e2b_entries_fill(f->doc, &ents) != 0) {
    sbx_error bad = {.code = SBX_EPROTO,
                     .retry_after_ms = -1,
                     .provider_code = "",
                     .message = "malformed entry in the upload reply"};
    f->ecb(op->c, op->id, &bad, NULL, 0, op->ud);
    return;
  }
  f->ecb(op->c, op->id, NULL, ents.items, ents.n, op->ud);
  e2b_entries_free(&ents);
}

static void destroy(struct sbx_op *op) {
  struct file_op *f = file_of(op);
  if (f->out_fd >= 0) close(f->out_fd);
  free(f->e.id);
  free(f->e.url);
  free(f->query);
  free(f->remote_path);
  free(f->data);
  free(f->local_path);
  free(f->prefix);
  free(f->suffix);
  free(f->part_path);
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

static struct file_op *new_file_op(sbx_client *c, const struct op_kind *kind,
                                   const struct call_hooks *h, const char *id, const char *path,
                                   const char *user, void *ud, sbx_status *st) {
  if (!e2b_valid_id(id)) {
    *st = sbx__refuse(c, SBX_EINVAL, "e2b", "id '%.128s' is not an E2B sandbox id", id);
    return NULL;
  }
  char *idc = strdup(id), *q = files_query(path, user), *pc = strdup(path);
  if (!idc || !q || !pc) {
    free(idc);
    free(q);
    free(pc);
    *st = SBX_ENOMEM;
    return NULL;
  }
  struct file_op *f = (struct file_op *)sbx__call_new(c, kind, h, sizeof *f, ud, st);
  if (!f) {
    free(idc);
    free(q);
    free(pc);
    return NULL;
  }
  f->e.id = idc;
  f->query = q;
  f->remote_path = pc;
  f->out_fd = -1;
  return f;
}

static int multipart_framing(struct file_op *f, sbx_op_id id, const char *path) {
  if (asprintf(&f->prefix,
               "--sbx-%llx\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
               "Content-Type: application/octet-stream\r\n\r\n",
               (unsigned long long)id, path) < 0) {
    f->prefix = NULL;
    return SBX_ENOMEM;
  }
  if (asprintf(&f->suffix, "\r\n--sbx-%llx--\r\n", (unsigned long long)id) < 0) {
    f->suffix = NULL;
    return SBX_ENOMEM;
  }
  return 0;
}

sbx_status e2b_file_write(sbx_client *c, const char *id, const sbx_upload *up, sbx_entries_cb cb,
                          void *ud, sbx_op_id *out) {
  if (strpbrk(up->path, "\"\r\n")) /* cannot be framed in a multipart header */
    return sbx__refuse(c, SBX_EINVAL, "sbx_file_write", "up.path holds a quote or a line break");
  char *data = NULL, *local = NULL;
  if (up->local_path) {
    if (!(local = strdup(up->local_path))) return SBX_ENOMEM;
  } else if (up->len) {
    if (!(data = malloc(up->len))) return SBX_ENOMEM;
    memcpy(data, up->data, up->len);
  }
  sbx_status st;
  struct file_op *f = new_file_op(c, &kind_upload, &hooks_upload, id, up->path, up->user, ud, &st);
  if (!f) {
    free(data);
    free(local);
    return st;
  }
  f->upload = 1;
  f->data = data;
  f->len = up->len;
  f->local_path = local;
  f->ecb = cb;
  f->multipart = up->multipart ? 1 : 0;
  if (f->multipart && multipart_framing(f, f->e.k.op.id, up->path) != 0) {
    f->multipart = 0; /* falls back to octet-stream rather than failing late */
  }
  *out = f->e.k.op.id;
  return SBX_OK;
}

/* envd writes each part named "file" to the path in its filename
 * (e2b-protocol.md 4.3). */
static void e2b_part_head(FILE *f, const char *boundary, size_t i, const char *path) {
  fprintf(f,
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
  sbx_status st;
  size_t len = 0;
  char *body = sbx__multipart_body(boundary, ups, n, e2b_part_head, &len, &st);
  if (!body) return st;
  /* no path query: each part names its own target */
  char *query = NULL;
  if (ups[0].user && *ups[0].user) {
    char *q = files_query("", ups[0].user); /* "/files?path=&username=u" */
    if (q && asprintf(&query, "/files?%s", strstr(q, "username=")) < 0) query = NULL;
    free(q);
  } else {
    query = strdup("/files");
  }
  char *pre = strdup(""), *suf = strdup("");
  char label[64];
  snprintf(label, sizeof label, "(%zu files)", n);
  struct file_op *f = NULL;
  if (query && pre && suf)
    f = new_file_op(c, &kind_upload, &hooks_upload, id, label, NULL, ud, &st);
  else
    st = SBX_ENOMEM;
  if (!f) {
    free(body);
    free(query);
    free(pre);
    free(suf);
    return st;
  }
  free(f->query);
  f->query = query;
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
  char *local = NULL, *part = NULL;
  if (dl->local_path) {
    local = strdup(dl->local_path);
    if (!local || asprintf(&part, "%s.sbx-part", dl->local_path) < 0) {
      free(local);
      return SBX_ENOMEM;
    }
  }
  sbx_status st;
  struct file_op *f =
      new_file_op(c, &kind_download, &hooks_download, id, dl->path, dl->user, ud, &st);
  if (!f) {
    free(local);
    free(part);
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
