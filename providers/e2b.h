/* e2b.h - the E2B provider's internals: URLs, credentials, the per-client
 * cache of sandbox access tokens, request builders shared by its ops. */
#ifndef SBX_PROVIDERS_E2B_H
#define SBX_PROVIDERS_E2B_H

#include <jansson.h>

#include "../reactor/call.h"
#include "../reactor/client.h"
#include "info_view.h"
#include "provider.h"

#define E2B_ENVD_PORT "49983"
#define E2B_TOKEN_BUCKETS 1024

struct e2b_token {
  struct e2b_token *next;
  char *id;
  char *token;  /* envdAccessToken, "" when the sandbox has none */
  char *domain; /* sandbox domain from create/connect, NULL: the configured one */
};

struct e2b_state {
  const sbx_allocator *a; /* the client's: the state, its strings and tokens */
  char *api_key;
  char *domain;
  char *api_url;     /* no trailing slash */
  char *api_host;    /* admission key */
  char *sandbox_url; /* E2B_SANDBOX_URL, NULL when unset */
  int shared_host;   /* envd at https://sandbox.<domain> routed by headers */
  char *envd_host;   /* admission key of envd traffic */
  struct e2b_token *tokens[E2B_TOKEN_BUCKETS];
};

static inline struct e2b_state *e2b_of(struct sbx_client *c) {
  return (struct e2b_state *)c->prov_state;
}

/* Token cache. put: 0 or SBX_ENOMEM (the id is then not cached). */
const struct e2b_token *e2b_token_find(struct e2b_state *s, const char *id);
int e2b_token_put(struct e2b_state *s, const char *id, const char *token, const char *domain);
void e2b_token_drop(struct e2b_state *s, const char *id);

/* A sandbox id must be [a-z0-9]+ (E2B's edge rule); also keeps URLs clean. */
int e2b_valid_id(const char *id);

/* Control-plane request: url = api_url + path (printf), X-API-Key, JSON body
 * (borrowed). *url_out is from the client's allocator. Returns 0 or
 * SBX_ENOMEM. */
int e2b_api_req(struct sbx_client *c, struct sbx_http_req *r, char **url_out, const char *method,
                const char *body, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* envd request for sandbox id: base URL per E2B_SANDBOX_URL / domain rules,
 * E2b-Sandbox-Id/Port, X-Access-Token (from the cache), optional Basic user. */
int e2b_envd_req(struct sbx_client *c, struct sbx_http_req *r, char **url_out, const char *id,
                 const char *method, const char *user, const char *path_and_query);

/* The head of every envd op: its call, the sandbox id, and the URL of its
 * current request. The resolve hooks work on any such op: they fetch the
 * sandbox's access token (GET /sandboxes/{id}) when the cache lacks it. */
struct e2b_envd_op {
  struct sbx_call k;
  char *id;
  char *url;
};

int e2b_envd_needs_resolve(struct sbx_call *k);
int e2b_envd_build_resolve(struct sbx_call *k, struct sbx_http_req *r);
int e2b_envd_parse_resolve(struct sbx_call *k, struct sbx_http *h, struct sbx_errinfo *e);
/* envd runs in each sandbox: its 429 holds back that call only (scoped_429). */
#define E2B_ENVD_RESOLVE_HOOKS                                                                     \
  .needs_resolve = e2b_envd_needs_resolve, .build_resolve = e2b_envd_build_resolve,                \
  .parse_resolve = e2b_envd_parse_resolve, .scoped_429 = 1

/* Map a non-2xx reply; what names the operation ("kill sandbox ixyz"). */
int e2b_http_error(const struct sbx_http *h, int envd, const char *what, struct sbx_errinfo *e);
/* Parse a JSON body; SBX_EPROTO with a message naming what on failure. */
json_t *e2b_parse_json(const struct sbx_http *h, const char *what, struct sbx_errinfo *e);
/* The same, but when the reply is an object the result may hold only the
 * members named in keys (NULL-terminated): for large replies read in part. */
json_t *e2b_parse_json_keys(const struct sbx_http *h, const char *const *keys, const char *what,
                            struct sbx_errinfo *e);

/* A 2xx reply of create, connect or info (list 0: an object with a
 * sandboxID) or of list (an array), parsed; NULL with SBX_EPROTO in e. */
json_t *e2b_sandbox_reply(const struct sbx_http *h, int list, const char *what,
                          struct sbx_errinfo *e);

/* Sandbox info over a sandbox JSON object (info_view.h): 0, SBX_EPROTO or
 * SBX_ENOMEM. */
int e2b_info_from_json(const sbx_allocator *a, const json_t *o, struct sbx_info_view *v);

/* Entry views over EntryInfo JSON (proto or REST shape). */
struct e2b_entries {
  sbx_file_entry *items;
  size_t n;
};
/* 0, SBX_EPROTO (not entries) or SBX_ENOMEM; items are from a. */
int e2b_entries_fill(const sbx_allocator *a, const json_t *v, struct e2b_entries *out);
void e2b_entries_free(const sbx_allocator *a, struct e2b_entries *e);

/* envd's process stream (e2b_exec.c), parsed apart for the fuzz target:
 * a message's document, whose "event" member is an object (NULL with a
 * reason in why); a data event's output bytes (stdout, stderr or pty, in
 * base64) in a buffer from a (free with sbx__free(a, ...)) with their fd,
 * NULL with *len 0 when it has none, -1 on bad base64, -2 out of memory. */
json_t *e2b_exec_event_doc(const char *payload, size_t len, char *why, size_t whylen);
unsigned char *e2b_exec_event_output(const sbx_allocator *a, const json_t *data, int *fd,
                                     long *len);

/* Ops (one file each area). */
sbx_status e2b_create(sbx_client *c, const sbx_create_opts *o, sbx_sandbox_cb cb, void *ud,
                      sbx_op_id *out);
sbx_status e2b_connect(sbx_client *c, const char *id, long timeout_s, int legacy_v1,
                       sbx_sandbox_cb cb, void *ud, sbx_op_id *out);
sbx_status e2b_info(sbx_client *c, const char *id, sbx_sandbox_cb cb, void *ud, sbx_op_id *out);
sbx_status e2b_kill(sbx_client *c, const char *id, sbx_done_cb cb, void *ud, sbx_op_id *out);
sbx_status e2b_pause(sbx_client *c, const char *id, sbx_done_cb cb, void *ud, sbx_op_id *out);
sbx_status e2b_set_timeout(sbx_client *c, const char *id, long timeout_s, sbx_done_cb cb, void *ud,
                           sbx_op_id *out);
sbx_status e2b_list(sbx_client *c, const sbx_list_opts *o, sbx_list_cb cb, void *ud,
                    sbx_op_id *out);
sbx_status e2b_exec_start(sbx_client *c, const char *id, const sbx_exec_opts *o,
                          const sbx_exec_cbs *cbs, void *ud, sbx_op_id *out);
sbx_status e2b_exec_connect(sbx_client *c, const char *id, uint32_t pid, const sbx_exec_cbs *cbs,
                            void *ud, sbx_op_id *out);
sbx_status e2b_signal(sbx_client *c, const char *id, uint32_t pid, int signo, sbx_done_cb cb,
                      void *ud, sbx_op_id *out);
sbx_status e2b_write_stdin(sbx_client *c, const char *id, uint32_t pid, const void *data,
                           size_t len, sbx_done_cb cb, void *ud, sbx_op_id *out);
sbx_status e2b_close_stdin(sbx_client *c, const char *id, uint32_t pid, sbx_done_cb cb, void *ud,
                           sbx_op_id *out);
sbx_status e2b_file_write_many(sbx_client *c, const char *id, const sbx_upload *ups, size_t n,
                               sbx_entries_cb cb, void *ud, sbx_op_id *out);
sbx_status e2b_file_write(sbx_client *c, const char *id, const sbx_upload *up, sbx_entries_cb cb,
                          void *ud, sbx_op_id *out);
sbx_status e2b_file_read(sbx_client *c, const char *id, const sbx_download *dl, sbx_done_cb cb,
                         void *ud, sbx_op_id *out);
sbx_status e2b_fs(sbx_client *c, const char *id, int fs_op, const char *path, const char *path2,
                  int depth, sbx_entries_cb ecb, sbx_done_cb dcb, void *ud, sbx_op_id *out);

#endif
