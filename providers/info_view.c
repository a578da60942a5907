/* info_view.c - see info_view.h. */
#include "info_view.h"

#include <stdio.h>
#include <stdlib.h>

#include "../reactor/op.h"

void sbx__info_view_meta(struct sbx_info_view *v, const json_t *obj) {
  size_t n = json_is_object(obj) ? json_object_size(obj) : 0;
  if (!n || !(v->meta = calloc(n, sizeof *v->meta))) return;
  const char *key;
  json_t *val;
  json_object_foreach((json_t *)obj, key, val) {
    if (!json_is_string(val)) continue;
    v->meta[v->info.n_metadata].key = key;
    v->meta[v->info.n_metadata++].value = json_string_value(val);
  }
  v->info.metadata = v->meta;
}

void sbx__info_view_free(struct sbx_info_view *v) {
  free(v->meta);
  v->meta = NULL;
}

static sbx_error made_error(sbx_status code, char *buf, size_t n, const char *who,
                            const char *what) {
  snprintf(buf, n, "%s%s%s", who, *who ? ": " : "", what);
  return (sbx_error){.code = code, .retry_after_ms = -1, .provider_code = "", .message = buf};
}

void sbx__deliver_info(struct sbx_op *op, sbx_sandbox_cb cb, const json_t *doc,
                       const sbx_error *err, sbx_info_parse_fn parse, const char *who) {
  struct sbx_info_view v = {0};
  if (!err && parse(doc, &v) == 0) {
    cb(op->c, op->id, NULL, &v.info, op->ud);
    sbx__info_view_free(&v);
    return;
  }
  char msg[128];
  sbx_error bad = made_error(SBX_EPROTO, msg, sizeof msg, who, "malformed sandbox in the reply");
  cb(op->c, op->id, err ? err : &bad, NULL, op->ud);
}

void sbx__deliver_list(struct sbx_op *op, sbx_list_cb cb, const json_t *arr, const char *next_token,
                       const sbx_error *err, sbx_info_parse_fn parse, const char *who) {
  if (err) {
    cb(op->c, op->id, err, NULL, 0, NULL, op->ud);
    return;
  }
  size_t n = json_array_size(arr), got = 0;
  sbx_sandbox_info *items = n ? calloc(n, sizeof *items) : NULL;
  struct sbx_info_view *views = n ? calloc(n, sizeof *views) : NULL;
  if (n && (!items || !views)) {
    char msg[128];
    sbx_error oom = made_error(SBX_ENOMEM, msg, sizeof msg, who, "list sandboxes: out of memory");
    cb(op->c, op->id, &oom, NULL, 0, NULL, op->ud);
  } else {
    for (size_t i = 0; i < n; i++)
      if (parse(json_array_get(arr, i), &views[got]) == 0) {
        items[got] = views[got].info;
        got++;
      }
    cb(op->c, op->id, NULL, items, got, next_token, op->ud);
  }
  for (size_t i = 0; i < got; i++)
    sbx__info_view_free(&views[i]);
  free(items);
  free(views);
}
