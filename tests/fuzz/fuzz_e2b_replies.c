/* fuzz_e2b_replies.c - E2B's control-plane and envd replies as the provider
 * reads them: a sandbox (create, connect, info) and a list handed to the
 * caller's callbacks, file entries, and the error mapping of a non-2xx
 * reply on both planes. */
#include "../../protocol/json_util.h"
#include "../../providers/e2b.h"
#include "fuzz_reply.h"

static void entries(const json_t *v, size_t *sum) {
  struct e2b_entries es;
  if (e2b_entries_fill(NULL, v, &es) != 0) return;
  for (size_t i = 0; i < es.n; i++) {
    const sbx_file_entry *f = &es.items[i];
    *sum += strlen(f->name) + strlen(f->path) + strlen(f->permissions) + strlen(f->owner) +
            strlen(f->group) + strlen(f->modified_time) +
            (f->symlink_target ? strlen(f->symlink_target) : 0);
  }
  e2b_entries_free(NULL, &es);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct sbx_http h;
  fuzz_reply_init(&h, data, size);
  struct sbx_op op = {.id = 1};
  size_t sum = 0;
  op.ud = &sum;
  struct sbx_errinfo e;

  if (h.status < 200 || h.status >= 300) {
    for (int envd = 0; envd < 2; envd++) {
      sbx_errinfo_clear(&e);
      if (e2b_http_error(&h, envd, "get sandbox ixyz", &e) >= 0) abort();
      fuzz_touch_errinfo(&e);
    }
  }
  /* create/connect/info, then list: the same body both ways */
  for (int list = 0; list < 2; list++) {
    sbx_errinfo_clear(&e);
    json_t *doc = e2b_sandbox_reply(&h, list, list ? "list sandboxes" : "create sandbox", &e);
    if (!doc) {
      fuzz_touch_errinfo(&e);
      continue;
    }
    if (list)
      sbx__deliver_list(&op, fuzz_list_cb, doc, "tok", NULL, e2b_info_from_json, "");
    else
      sbx__deliver_info(&op, fuzz_info_cb, doc, NULL, e2b_info_from_json, "");
    json_decref(doc);
  }
  /* filesystem replies: an entry, an array, or {"entry"|"entries": ...} */
  json_t *doc = e2b_parse_json(&h, "list /home", &e);
  if (doc) {
    entries(doc, &sum);
    entries(json_object_get(doc, "entry"), &sum);
    entries(json_object_get(doc, "entries"), &sum);
    json_decref(doc);
  }
  static const char *const keys[] = {"sandboxID", "envdAccessToken", "domain", "state", NULL};
  doc = e2b_parse_json_keys(&h, keys, "look up sandbox", &e);
  if (doc) {
    (void)sbx_json_str(doc, "envdAccessToken");
    json_decref(doc);
  }
  free(h.body.data);
  return 0;
}
