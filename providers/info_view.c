/* info_view.c - see info_view.h. */
#include "info_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../reactor/client.h"
#include "../reactor/op.h"

int sbx__info_view_meta(const sbx_allocator *a, struct sbx_info_view *v, const json_t *obj) {
  size_t n = json_is_object(obj) ? json_object_size(obj) : 0;
  if (!n) return 0;
  if (n <= SBX_INFO_INLINE_META)
    v->meta = v->inline_meta;
  else if (!(v->meta = sbx__calloc(a, n, sizeof *v->meta)))
    return SBX_ENOMEM;
  const char *key;
  json_t *val;
  json_object_foreach((json_t *)obj, key, val) {
    if (!json_is_string(val)) continue;
    v->meta[v->info.n_metadata].key = key;
    v->meta[v->info.n_metadata++].value = json_string_value(val);
  }
  v->info.metadata = v->meta;
  return 0;
}

void sbx__info_view_free(const sbx_allocator *a, struct sbx_info_view *v) {
  if (v->meta != v->inline_meta) sbx__free(a, v->meta);
  v->meta = NULL;
}

int sbx__info_view_prepare(const sbx_allocator *a, const json_t *doc, sbx_info_parse_fn parse,
                           struct sbx_info_view *v, int *ready) {
  int rc = parse(a, doc, v);
  *ready = rc == 0;
  if (rc != 0) sbx__info_view_free(a, v);
  return rc == SBX_ENOMEM ? SBX_ENOMEM : 0;
}

static sbx_error made_error(sbx_status code, char *buf, size_t n, const char *who,
                            const char *what) {
  snprintf(buf, n, "%s%s%s", who, *who ? ": " : "", what);
  return (sbx_error){.code = code, .retry_after_ms = -1, .provider_code = "", .message = buf};
}

void sbx__deliver_info(struct sbx_op *op, sbx_sandbox_cb cb, const json_t *doc,
                       const sbx_error *err, sbx_info_parse_fn parse, const char *who) {
  const sbx_allocator *a = sbx__alloc(op->c);
  struct sbx_info_view v = {0};
  int rc = err ? 0 : parse(a, doc, &v);
  if (!err && rc == 0) {
    cb(op->c, op->id, NULL, &v.info, op->ud);
    sbx__info_view_free(a, &v);
    return;
  }
  sbx__info_view_free(a, &v);
  char msg[128];
  sbx_error bad =
      rc == SBX_ENOMEM
          ? made_error(SBX_ENOMEM, msg, sizeof msg, who, "sandbox info: out of memory")
          : made_error(SBX_EPROTO, msg, sizeof msg, who, "malformed sandbox in the reply");
  cb(op->c, op->id, err ? err : &bad, NULL, op->ud);
}

void sbx__deliver_list(struct sbx_op *op, sbx_list_cb cb, const json_t *arr, const char *next_token,
                       const sbx_error *err, sbx_info_parse_fn parse, const char *who) {
  if (err) {
    cb(op->c, op->id, err, NULL, 0, NULL, op->ud);
    return;
  }
  const sbx_allocator *a = sbx__alloc(op->c);
  size_t n = json_array_size(arr), got = 0;
  sbx_sandbox_info *items = n ? sbx__calloc(a, n, sizeof *items) : NULL;
  struct sbx_info_view *views = n ? sbx__calloc(a, n, sizeof *views) : NULL;
  int rc = 0;
  for (size_t i = 0; i < n && items && views && rc != SBX_ENOMEM; i++) {
    rc = parse(a, json_array_get(arr, i), &views[got]);
    if (rc == 0) {
      items[got] = views[got].info;
      got++;
    } else {
      sbx__info_view_free(a, &views[got]); /* a malformed one is skipped */
      memset(&views[got], 0, sizeof views[got]);
    }
  }
  if (n && (!items || !views || rc == SBX_ENOMEM)) {
    char msg[128];
    sbx_error oom = made_error(SBX_ENOMEM, msg, sizeof msg, who, "list sandboxes: out of memory");
    cb(op->c, op->id, &oom, NULL, 0, NULL, op->ud);
  } else {
    cb(op->c, op->id, NULL, items, got, next_token, op->ud);
  }
  for (size_t i = 0; i < got; i++)
    sbx__info_view_free(a, &views[i]);
  sbx__free(a, items);
  sbx__free(a, views);
}
