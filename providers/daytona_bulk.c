/* daytona_bulk.c - sbx_file_read_many on Daytona: one POST
 * /toolbox/<id>/files/bulk-download {"paths":[...]}, its multipart reply
 * streamed part by part (protocol/dt_bulk.h) into each file's local_path or
 * on_data, never holding a file whole; each file settles as its part ends.
 *
 * The request is idempotent, so any retryable failure is retried, but only
 * until the reply's body begins: from then on bytes may have reached the
 * caller, and the call is STREAMING, which the call machine never retries. */
#include <stdlib.h>
#include <string.h>

#include "../protocol/dt_bulk.h"
#include "../protocol/json_util.h"
#include "daytona.h"
#include "prov_util.h"
#include "read_many.h"

struct dbulk_op {
  struct dt_tb_op t;
  char *body;         /* {"paths":[...]} */
  const char **paths; /* set.f[i].path, as the demux wants them */
  struct rm_set set;
  struct sbx_dtb demux;
  int demux_on; /* the demux was started (the reply's body began) */
  sbx_done_cb cb;
};

static struct dbulk_op *bulk_of(struct sbx_op *op) {
  return (struct dbulk_op *)op;
}

static int on_file_data(void *ud, size_t i, const char *data, size_t len) {
  struct dbulk_op *b = ud;
  struct sbx_errinfo e;
  sbx_errinfo_clear(&e);
  if (rm_file_data(&b->t.k.op, &b->set, i, data, len, &e) == 0) return 0;
  rm_settle(&b->t.k.op, &b->set, i, &e); /* over its cap or unwritable: skip the rest */
  return 1;
}

static void on_file_end(void *ud, size_t i, const struct sbx_errinfo *e) {
  struct dbulk_op *b = ud;
  rm_settle(&b->t.k.op, &b->set, i, e);
}

static int start_demux(struct dbulk_op *b, const char *content_type, struct sbx_errinfo *e) {
  static const struct sbx_dtb_callbacks cbs = {on_file_data, on_file_end};
  b->demux_on = 1;
  return sbx_dtb_init(&b->demux, content_type, b->paths, b->set.n, b->t.id, &cbs, b,
                      sbx__alloc(b->t.k.op.c), e);
}

static int bulk_sink(struct sbx_op *op, const char *data, size_t len) {
  struct dbulk_op *b = bulk_of(op);
  struct sbx_errinfo e;
  sbx_errinfo_clear(&e);
  if (!b->demux_on) {
    sbx__call_streaming(&b->t.k); /* no retry from here on */
    if (start_demux(b, op->http->content_type, &e) != 0) {
      sbx__op_fail_info(op, &e);
      return 1;
    }
  }
  if (sbx_dtb_feed(&b->demux, data, len, &e) != 0) {
    sbx__op_fail_info(op, &e);
    return 1;
  }
  return 0;
}

static int build(struct sbx_call *k, struct sbx_http_req *r, struct sbx_errinfo *e) {
  struct dbulk_op *b = bulk_of(&k->op);
  sbx__free(sbx__alloc(k->op.c), b->t.url);
  b->t.url = NULL;
  int st = dt_toolbox_req(k->op.c, r, &b->t.url, b->t.id, "POST", "/files/bulk-download");
  if (st) return st;
  if (!(r->headers = sbx__add_header(r->headers, "Content-Type", "application/json")))
    return SBX_ENOMEM;
  r->body = b->body;
  r->body_len = strlen(b->body);
  r->sink = bulk_sink;
  r->bulk = 1; /* curl 7.88 stalls on an h2 body that ends beyond a 1 KiB buffer */
  r->idle_timeout_s = k->op.c->cfg.request_timeout_ms / 1000 + 1;
  return 0;
}

static int parse(struct sbx_call *k, struct sbx_http *h, struct sbx_errinfo *e) {
  struct dbulk_op *b = bulk_of(&k->op);
  if (h->status < 200 || h->status >= 300) {
    char what[200];
    snprintf(what, sizeof what, "daytona: bulk download of %zu files from sandbox %s", b->set.n,
             b->t.id);
    return dt_toolbox_error(h, b->t.id, what, e);
  }
  if (!b->demux_on && start_demux(b, h->content_type, e) != 0) return e->status; /* no body */
  return sbx_dtb_finish(&b->demux, e); /* files with no part fail here */
}

static void complete(struct sbx_op *op, const sbx_error *err) {
  struct dbulk_op *b = bulk_of(op);
  rm_complete(op, &b->set, err, b->cb);
}

static void destroy(struct sbx_op *op) {
  struct dbulk_op *b = bulk_of(op);
  if (b->demux_on) sbx_dtb_release(&b->demux);
  const sbx_allocator *a = sbx__alloc(op->c);
  rm_set_free(&b->set);
  sbx__free(a, b->paths);
  sbx__free(a, b->body);
  sbx__free(a, b->t.id);
  sbx__free(a, b->t.url);
}

SBX_CALL_KIND(kind_bulk, "daytona.file_read_many", complete, destroy);

static const struct call_hooks hooks = {.cls = SBX_RATE_DATA,
                                        .retry = CALL_RETRY_ANY,
                                        DT_TB_RESOLVE_HOOKS,
                                        .build = build,
                                        .parse = parse};

/* {"paths":[...]}; NULL with *st: SBX_EINVAL for a path that is not UTF-8
 * (JSON cannot carry it), else SBX_ENOMEM. */
static char *paths_body(sbx_client *c, const sbx_download *dls, size_t n, sbx_status *st) {
  json_t *arr = json_array(), *doc = arr ? json_pack("{s:o}", "paths", arr) : NULL;
  *st = doc ? SBX_OK : SBX_ENOMEM;
  for (size_t i = 0; *st == SBX_OK && i < n; i++) {
    json_t *s = json_string(dls[i].path);
    json_t *raw = s ? NULL : json_string_nocheck(dls[i].path); /* fails only for memory */
    if (raw) {
      *st = sbx__refuse(c, SBX_EINVAL, "sbx_file_read_many", "dls[%zu].path is not UTF-8", i);
      json_decref(raw);
    } else if (!s || json_array_append_new(arr, s) != 0) {
      *st = SBX_ENOMEM;
    }
  }
  char *body = *st == SBX_OK ? sbx_json_dump(sbx__alloc(c), doc, NULL) : NULL;
  if (*st == SBX_OK && !body) *st = SBX_ENOMEM;
  json_decref(doc);
  return body;
}

sbx_status dt_file_read_many(sbx_client *c, const char *id, const sbx_download *dls, size_t n,
                             sbx_done_cb cb, void *ud, sbx_op_id *out) {
  sbx_status st;
  char *body = paths_body(c, dls, n, &st);
  if (!body) return st;
  const sbx_allocator *a = sbx__alloc(c);
  const char **paths = sbx__calloc(a, n, sizeof *paths);
  struct rm_set set;
  if (!paths || rm_set_init(&set, a, "daytona", 1, id, dls, n) != 0) {
    sbx__free(a, paths);
    sbx__free(a, body);
    return SBX_ENOMEM;
  }
  for (size_t i = 0; i < n; i++)
    paths[i] = set.f[i].path;
  struct dbulk_op *b =
      (struct dbulk_op *)dt_tb_op_new(c, &kind_bulk, &hooks, sizeof *b, id, ud, &st);
  if (!b) {
    rm_set_free(&set);
    sbx__free(a, paths);
    sbx__free(a, body);
    return st;
  }
  b->body = body;
  b->paths = paths;
  b->set = set;
  b->cb = cb;
  *out = b->t.k.op.id;
  return SBX_OK;
}
