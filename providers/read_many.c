/* read_many.c - see read_many.h. */
#include "read_many.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../protocol/alloc.h"
#include "../reactor/op.h"

static char *dup_or_null(const sbx_allocator *a, const char *s, int *oom) {
  char *d = s ? sbx__strdup(a, s) : NULL;
  if (s && !d) *oom = 1;
  return d;
}

int rm_set_init(struct rm_set *s, const sbx_allocator *a, const char *prov, int writes,
                const char *sandbox, const sbx_download *dls, size_t n) {
  memset(s, 0, sizeof *s);
  s->a = a;
  int oom = 0;
  s->prov = prov;
  s->writes = writes;
  s->sandbox = dup_or_null(a, sandbox, &oom);
  s->f = sbx__calloc(a, n, sizeof *s->f);
  s->n = n;
  s->first_failed = n;
  for (size_t i = 0; s->f && i < n; i++) {
    struct rm_file *f = &s->f[i];
    f->path = dup_or_null(a, dls[i].path, &oom);
    f->local_path = dup_or_null(a, dls[i].local_path, &oom);
    f->user = dup_or_null(a, dls[i].user, &oom);
    f->on_data = dls[i].on_data;
    f->file_done = dls[i].file_done;
    f->file_ud = dls[i].file_ud;
    f->max_bytes = dls[i].max_bytes;
    f->fd = -1;
  }
  if (!oom && s->f) return 0;
  rm_set_free(s);
  return SBX_ENOMEM;
}

static void drop_part(const sbx_allocator *a, struct rm_file *f) {
  if (f->fd >= 0) close(f->fd);
  f->fd = -1;
  if (f->part_path) unlink(f->part_path); /* no partial file is left behind */
  sbx__free(a, f->part_path);
  f->part_path = NULL;
}

void rm_set_free(struct rm_set *s) {
  for (size_t i = 0; s->f && i < s->n; i++) {
    drop_part(s->a, &s->f[i]);
    sbx__free(s->a, s->f[i].path);
    sbx__free(s->a, s->f[i].local_path);
    sbx__free(s->a, s->f[i].user);
  }
  sbx__free(s->a, s->f);
  sbx__free(s->a, s->sandbox);
  const sbx_allocator *a = s->a;
  memset(s, 0, sizeof *s);
  s->a = a;
}

void *rm_file_ud(const struct sbx_op *op, const struct rm_file *f) {
  return f->file_ud ? f->file_ud : op->ud;
}

static int open_part(const struct rm_set *s, struct rm_file *f, struct sbx_errinfo *e) {
  if (!(f->part_path = sbx__asprintf(s->a, "%s.sbx-part", f->local_path))) {
    sbx_errinfo_set(e, SBX_ENOMEM, "%s: download %s: out of memory", s->prov, f->path);
    return SBX_ENOMEM;
  }
  f->fd = open(f->part_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (f->fd >= 0) return 0;
  sbx_errinfo_set(e, SBX_EIO, "%s: download %s: cannot create %s: %s", s->prov, f->path,
                  f->part_path, strerror(errno));
  sbx__free(s->a, f->part_path);
  f->part_path = NULL;
  return SBX_EIO;
}

int rm_file_data(struct sbx_op *op, struct rm_set *s, size_t i, const char *data, size_t len,
                 struct sbx_errinfo *e) {
  struct rm_file *f = &s->f[i];
  f->got += len;
  if (f->max_bytes && f->got > f->max_bytes) {
    sbx_errinfo_set(e, SBX_ETOOBIG, "%s: download %s from sandbox %s: over the %llu-byte cap",
                    s->prov, f->path, s->sandbox, (unsigned long long)f->max_bytes);
    return SBX_ETOOBIG;
  }
  if (!f->local_path) {
    f->on_data(op->c, op->id, data, len, rm_file_ud(op, f));
    return 0;
  }
  if (f->fd < 0 && open_part(s, f, e) != 0) return e->status;
  for (size_t off = 0; off < len;) {
    ssize_t w = write(f->fd, data + off, len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      sbx_errinfo_set(e, SBX_EIO, "%s: download %s: cannot write %s: %s", s->prov, f->path,
                      f->part_path, w < 0 ? strerror(errno) : "short write");
      return SBX_EIO;
    }
    off += (size_t)w;
  }
  return 0;
}

/* The part file (created now when the file was empty) becomes local_path. */
static int finish_local(const struct rm_set *s, struct rm_file *f, struct sbx_errinfo *e) {
  if (f->fd < 0 && open_part(s, f, e) != 0) return e->status;
  int rc = close(f->fd);
  f->fd = -1;
  if (rc != 0 || rename(f->part_path, f->local_path) != 0) {
    sbx_errinfo_set(e, SBX_EIO, "%s: download %s: cannot finish %s: %s", s->prov, f->path,
                    f->local_path, strerror(errno));
    return SBX_EIO;
  }
  sbx__free(s->a, f->part_path);
  f->part_path = NULL;
  return 0;
}

static void to_public(const struct sbx_errinfo *e, sbx_error *out) {
  *out = (sbx_error){.code = (sbx_status)e->status,
                     .http_status = e->http_status,
                     .curl_code = e->curl_code,
                     .retryable = e->retryable,
                     .retry_after_ms = e->retry_after_ms,
                     .provider_code = e->provider_code,
                     .message = e->message};
}

static void from_public(const sbx_error *err, struct sbx_errinfo *e) {
  sbx_errinfo_clear(e);
  sbx_errinfo_set(e, err->code, "%s", err->message ? err->message : "");
  e->http_status = err->http_status;
  e->curl_code = err->curl_code;
  e->retryable = err->retryable;
  e->retry_after_ms = err->retry_after_ms;
  snprintf(e->provider_code, sizeof e->provider_code, "%s",
           err->provider_code ? err->provider_code : "");
}

void rm_settle(struct sbx_op *op, struct rm_set *s, size_t i, const struct sbx_errinfo *e) {
  struct rm_file *f = &s->f[i];
  if (f->settled) return;
  struct sbx_errinfo late;
  sbx_errinfo_clear(&late);
  if (!e && f->local_path && s->writes && finish_local(s, f, &late) != 0) e = &late;
  if (e) drop_part(s->a, f);
  f->settled = 1;
  s->n_settled++;
  if (e) {
    s->n_failed++;
    if (i < s->first_failed) { /* the first failure in dls order is reported */
      s->first_failed = i;
      s->first_err = *e;
    }
  }
  if (!f->file_done) return;
  sbx_error pub;
  if (e) to_public(e, &pub);
  f->file_done(op->c, op->id, e ? &pub : NULL, rm_file_ud(op, f));
}

void rm_settle_public(struct sbx_op *op, struct rm_set *s, size_t i, const sbx_error *err) {
  struct sbx_errinfo e;
  if (err) from_public(err, &e);
  rm_settle(op, s, i, err ? &e : NULL);
}

void rm_complete(struct sbx_op *op, struct rm_set *s, const sbx_error *err, sbx_done_cb cb) {
  struct sbx_errinfo stop;
  if (err)
    from_public(err, &stop);
  else /* cannot happen: each op settles every file before it succeeds */
    sbx_errinfo_set(&stop, SBX_EPROTO, "%s: the file got no outcome", s->prov);
  for (size_t i = 0; i < s->n; i++) {
    if (s->f[i].settled) continue;
    struct sbx_errinfo fe = stop;
    sbx_errinfo_prefix(&fe, "download %s", s->f[i].path);
    rm_settle(op, s, i, &fe);
  }
  if (err || !s->n_failed) {
    cb(op->c, op->id, err, op->ud);
    return;
  }
  struct sbx_errinfo first = s->first_err;
  if (s->n_failed > 1)
    sbx_errinfo_prefix(&first, "%zu of %zu files failed; first", s->n_failed, s->n);
  sbx_error pub;
  to_public(&first, &pub);
  cb(op->c, op->id, &pub, op->ud);
}
