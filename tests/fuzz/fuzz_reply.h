/* fuzz_reply.h - a provider's HTTP reply made from a fuzz input (status from
 * the first byte, the rest as the NUL-terminated body, as reactor/http.c
 * buffers it), and sandbox callbacks that read every field they are given
 * so that ASan checks each borrowed string. */
#ifndef SBX_FUZZ_REPLY_H
#define SBX_FUZZ_REPLY_H

#include <stdlib.h>
#include <string.h>

#include "../../reactor/http.h"
#include "../../reactor/op.h"

static const int fuzz_statuses[] = {200, 201, 204, 400, 401, 403, 404, 409,
                                    410, 429, 500, 502, 503, 504, 301, 418};

/* h borrows nothing: free h->body.data when done. */
static inline void fuzz_reply_init(struct sbx_http *h, const uint8_t *data, size_t size) {
  memset(h, 0, sizeof *h);
  h->status = size ? fuzz_statuses[data[0] % (sizeof fuzz_statuses / sizeof *fuzz_statuses)] : 200;
  h->retry_after_ms = size && (data[0] & 0x10) ? 1500 : -1;
  h->rl_reset_ms = -1;
  h->rl_exhausted = size && (data[0] & 0x20);
  size_t n = size ? size - 1 : 0;
  h->body.data = malloc(n + 1);
  if (!h->body.data) abort();
  if (n) memcpy(h->body.data, data + 1, n);
  h->body.data[n] = '\0';
  h->body.len = n;
  h->body.cap = n + 1;
}

static inline size_t fuzz_touch_info(const sbx_sandbox_info *i) {
  size_t n = strlen(i->id) + strlen(i->template_id) + strlen(i->state) + strlen(i->envd_version) +
             strlen(i->started_at) + strlen(i->end_at);
  for (size_t k = 0; k < i->n_metadata; k++)
    n += strlen(i->metadata[k].key) + strlen(i->metadata[k].value);
  return n + (size_t)i->cpu_count + (size_t)i->memory_mb;
}

static inline void fuzz_touch_err(const sbx_error *err) {
  if (!err->message || strlen(err->message) == 0 || err->code >= 0) abort();
}

static inline void fuzz_info_cb(sbx_client *c, sbx_op_id id, const sbx_error *err,
                                const sbx_sandbox_info *info, void *ud) {
  if (err)
    fuzz_touch_err(err);
  else
    *(size_t *)ud += fuzz_touch_info(info);
}

static inline void fuzz_list_cb(sbx_client *c, sbx_op_id id, const sbx_error *err,
                                const sbx_sandbox_info *items, size_t n, const char *next,
                                void *ud) {
  if (err) fuzz_touch_err(err);
  for (size_t i = 0; i < n; i++)
    *(size_t *)ud += fuzz_touch_info(&items[i]);
  if (next) *(size_t *)ud += strlen(next);
}

static inline void fuzz_touch_errinfo(const struct sbx_errinfo *e) {
  if (e->status >= 0 || strlen(e->message) == 0 ||
      strlen(e->provider_code) >= sizeof e->provider_code)
    abort();
}

#endif
