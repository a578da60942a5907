/* fuzz_daytona_replies.c - Daytona's control-plane and toolbox replies as
 * the provider reads them: a Sandbox DTO loaded with only the keys it uses
 * (create, info, the toolbox URL it learns), a list (array or paginated
 * items), a session's commands, a snapshot, file entries, and the error
 * mapping of a non-2xx reply (control plane and toolbox). */
#include "../../protocol/json_util.h"
#include "../../providers/daytona.h"
#include "../../providers/e2b.h"
#include "fuzz_reply.h"

static void forget_toolboxes(struct dt_state *s) {
  for (size_t b = 0; b < DT_BUCKETS; b++)
    while (s->tb[b])
      dt_toolbox_drop(s, s->tb[b]->id);
}

static void entries(const json_t *v, size_t *sum) {
  struct dt_entries es;
  if (dt_entries_fill(NULL, v, "/home/daytona/", &es) != 0) return;
  for (size_t i = 0; i < es.n; i++)
    *sum += strlen(es.items[i].name) + strlen(es.items[i].path) + strlen(es.items[i].permissions) +
            strlen(es.items[i].owner);
  dt_entries_free(&es);
}

static void snapshot(const json_t *o, size_t *sum) {
  sbx_snapshot_info si;
  if (dt_snapshot_from_json(o, &si) != 0) return;
  *sum += strlen(si.id) + strlen(si.name) + strlen(si.state) + strlen(si.image) +
          strlen(si.error_reason) + strlen(si.created_at);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static struct dt_state st;       /* only its toolbox cache is used; emptied each run */
  static struct sbx_client client; /* only its allocator (libc's) is used */
  struct sbx_http h;
  fuzz_reply_init(&h, data, size);
  struct sbx_op op = {.id = 1, .c = &client};
  size_t sum = 0;
  op.ud = &sum;
  struct sbx_errinfo e;

  if (h.status < 200 || h.status >= 300) {
    sbx_errinfo_clear(&e);
    if (dt_http_error(&h, "create sandbox", &e) >= 0) abort();
    fuzz_touch_errinfo(&e);
    sbx_errinfo_clear(&e);
    if (dt_toolbox_error(&h, "sb-1", "read /a", &e) >= 0) abort();
    fuzz_touch_errinfo(&e);
  }
  /* a Sandbox DTO (create, info, resolve) */
  sbx_errinfo_clear(&e);
  json_t *doc = e2b_parse_json_keys(&h, dt_dto_keys, "get sandbox sb-1", &e);
  if (doc) {
    dt_toolbox_learn(&st, doc);
    const char *state = sbx_json_str(doc, "state");
    if (state) sum += strlen(dt_public_state(state));
    sbx__deliver_info(&op, fuzz_info_cb, doc, NULL, dt_info_from_json, "daytona");
    json_decref(doc);
  } else {
    fuzz_touch_errinfo(&e);
  }
  /* a list, the session lookup, a snapshot, file entries: the whole body */
  sbx_errinfo_clear(&e);
  doc = e2b_parse_json(&h, "list sandboxes", &e);
  if (doc) {
    json_t *items = dt_list_items(doc);
    for (size_t i = 0; i < json_array_size(items); i++)
      dt_toolbox_learn(&st, json_array_get(items, i));
    if (items)
      sbx__deliver_list(&op, fuzz_list_cb, items, sbx_json_str(doc, "nextCursor"), NULL,
                        dt_info_from_json, "daytona");
    snapshot(doc, &sum);
    for (size_t i = 0; i < json_array_size(items); i++)
      snapshot(json_array_get(items, i), &sum);
    entries(doc, &sum);
    json_decref(doc);
  }
  char *cmd = NULL;
  sbx_errinfo_clear(&e);
  if (dt_session_cmd_id(NULL, &h, "sb-1", "follow", &cmd, &e) == 0) {
    if (!cmd || !dt_valid_id(cmd)) abort();
    free(cmd);
  } else {
    fuzz_touch_errinfo(&e);
  }
  if (dt_says_not_started((int)h.status, h.body.data, h.body.len)) sum++;
  forget_toolboxes(&st);
  free(h.body.data);
  return 0;
}
