/* daytona.h - the Daytona provider's internals: credentials and URLs, the
 * per-client cache of toolbox base URLs, request builders, and the pure
 * encoders/decoders its ops share (daytona_parse.c, unit-tested).
 *
 * Control plane: <api_url>/sandbox... with Authorization: Bearer.
 * Toolbox: <toolboxProxyUrl>/<id>/... on one shared proxy host, so calls for
 * many sandboxes multiplex over few HTTP/2 connections.
 *
 * Commands stream through sessions followed over a WebSocket
 * (daytona_session.c); opts.buffered takes the unary POST /process/execute.
 * A pid is sbx's own number, naming the command's session "sbx-<pid>". */
#ifndef SBX_PROVIDERS_DAYTONA_H
#define SBX_PROVIDERS_DAYTONA_H

#include <jansson.h>
#include <stdio.h>

#include "../protocol/strbuf.h"
#include "../reactor/call.h"
#include "../reactor/client.h"
#include "info_view.h"
#include "provider.h"

#define DT_BUCKETS 1024
#define DT_DEFAULT_API_URL "https://app.daytona.io/api"
#define DT_MAX_DISK_GB 10    /* per-sandbox maximum (daytona-protocol.md 5) */
#define DT_WAIT_MAX_MS 60000 /* bound on waiting for a sandbox to start */
/* Archiving and restoring an archive move the filesystem to and from object
 * storage (a restore took 33-66 s in third-party measurements). */
#define DT_SLOW_WAIT_MS 300000
#define DT_SNAPSHOT_WAIT_S 600 /* default bound on a snapshot build */

struct dt_toolbox {
  struct dt_toolbox *next;
  char *id;
  char *base; /* <toolboxProxyUrl>/<id>, no trailing slash */
  char *host; /* admission key: scheme://host:port */
};

struct dt_state {
  const sbx_allocator *a; /* the client's: everything below */
  char *token;            /* API key or JWT: never logged */
  char *org_id;
  char *target;
  char *api_url; /* no trailing slash */
  char *api_host;
  /* Headers of every request, built once (sbx_http_req.shared_headers):
   * credentials; and Content-Type: application/json followed by hdr_auth. */
  struct curl_slist *hdr_auth, *hdr_json;
  struct dt_toolbox *tb[DT_BUCKETS];
};

static inline struct dt_state *dt_of(struct sbx_client *c) {
  return (struct dt_state *)c->prov_state;
}

/* ---- daytona.c: cache, requests, replies ---- */

const struct dt_toolbox *dt_toolbox_find(struct dt_state *s, const char *id);
/* 0 or SBX_ENOMEM (the cache then lacks id). */
int dt_toolbox_put(struct dt_state *s, const char *id, const char *proxy_url);
void dt_toolbox_drop(struct dt_state *s, const char *id);
/* Remember the toolbox URL of a Sandbox DTO (when it has one): 0 or
 * SBX_ENOMEM. */
int dt_toolbox_learn(struct dt_state *s, const json_t *dto);

/* Ids and names go into URL paths: [A-Za-z0-9._-]+ only. */
int dt_valid_id(const char *id);

/* Control-plane request: url = api_url + path (printf), auth headers, JSON
 * body (borrowed, "" for none). Returns 0 or SBX_ENOMEM. */
int dt_api_req(struct sbx_client *c, struct sbx_http_req *r, char **url_out, const char *method,
               const char *body, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* A JSON request body (borrowed, must outlive the transfer) and its type. */
void dt_json_body(struct sbx_client *c, struct sbx_http_req *r, const char *body);
/* Toolbox request for sandbox id (the cache must hold it). */
int dt_toolbox_req(struct sbx_client *c, struct sbx_http_req *r, char **url_out, const char *id,
                   const char *method, const char *path_and_query);

/* The members of a Sandbox DTO (and of the toolbox-proxy-url reply) that
 * sbx reads: replies are loaded with only these (e2b_parse_json_keys). */
extern const char *const dt_dto_keys[];

/* Map a non-2xx reply; what names the operation. Honours Retry-After and,
 * when a limit is used up, X-RateLimit-Reset-<name>. */
int dt_http_error(const struct sbx_http *h, const char *what, struct sbx_errinfo *e);
/* A toolbox reply: as above, but a sandbox that is not running becomes
 * "sandbox <id> is not started" (SBX_ECONFLICT). */
int dt_toolbox_error(const struct sbx_http *h, const char *id, const char *what,
                     struct sbx_errinfo *e);

/* The head of every toolbox op: the call, the sandbox id and the URL of the
 * current request. The resolve hooks fill the toolbox cache when it lacks
 * the sandbox (GET /sandbox/{id}, then /toolbox-proxy-url when empty). */
struct dt_tb_op {
  struct sbx_call k;
  char *id;
  char *url;
  int asked_proxy; /* GET /sandbox/{id}/toolbox-proxy-url was sent */
};
int dt_tb_needs_resolve(struct sbx_call *k);
int dt_tb_build_resolve(struct sbx_call *k, struct sbx_http_req *r);
int dt_tb_parse_resolve(struct sbx_call *k, struct sbx_http *h, struct sbx_errinfo *e);
#define DT_TB_RESOLVE_HOOKS                                                                        \
  .needs_resolve = dt_tb_needs_resolve, .build_resolve = dt_tb_build_resolve,                      \
  .parse_resolve = dt_tb_parse_resolve
/* Allocate a toolbox op (size >= sizeof(struct dt_tb_op), head first). */
struct dt_tb_op *dt_tb_op_new(sbx_client *c, const struct op_kind *kind, const struct call_hooks *h,
                              size_t size, const char *id, void *ud, sbx_status *st);

/* ---- daytona_parse.c: pure helpers ---- */

/* Public state names: started -> "running", stopped -> "paused", else as is. */
const char *dt_public_state(const char *state);
/* 1 when a toolbox error says the sandbox is not running (proxy 400/502). */
int dt_says_not_started(int http_status, const char *body, size_t len);
/* Seconds to whole minutes, rounded up, at least 1. */
long dt_minutes(long seconds);
/* The n-th poll interval: first_ms growing x1.5, at most max_ms. */
long dt_backoff_ms(int n, long first_ms, long max_ms);

/* The sandboxes of a list reply: the array itself (old servers) or its
 * "items" (paginated); NULL when neither is an array. */
json_t *dt_list_items(json_t *doc);

/* Sandbox info over a Sandbox DTO (info_view.h, sbx_info_parse_fn): 0,
 * SBX_EPROTO or SBX_ENOMEM. */
int dt_info_from_json(const sbx_allocator *a, const json_t *o, struct sbx_info_view *v);

/* The strings below are from a (free them with sbx__free(a, ...)); NULL
 * means out of memory unless said otherwise. */

/* POST /sandbox body; NULL with a message in err (status in *st) when an
 * option cannot be honoured, or *st SBX_ENOMEM. */
char *dt_create_body(const sbx_allocator *a, const sbx_create_opts *o, const char *target,
                     sbx_status *st, char *err, size_t errlen);
/* "?labels=<urlencoded JSON>&states=..&limit=..&cursor=.." ("" when none). */
char *dt_list_query(const sbx_allocator *a, const sbx_list_opts *o);
/* "/files<sub>?<k1>=<enc v1>[&<k2>=<enc v2>]" (k2 NULL: one pair). */
char *dt_files_query(const sbx_allocator *a, const char *sub, const char *k1, const char *v1,
                     const char *k2, const char *v2);
/* argv joined into one shell command line, each word single-quoted. */
char *dt_join_argv(const sbx_allocator *a, const char *const *argv);

/* PUT /sandbox/{id}/labels body: {"labels":{...}}. */
char *dt_labels_body(const sbx_allocator *a, const sbx_kv *labels, size_t n);
/* A path segment: everything but unreserved characters percent-encoded. */
char *dt_path_escape(const sbx_allocator *a, const char *s);
/* A snapshot name as the API accepts it (names may hold ':' and '/'). */
int dt_valid_ref(const char *s);
/* POST /snapshots body; NULL with a message in err (status in *st) when an
 * option is refused before any request (bad name or image, disk > 10 GB),
 * or *st SBX_ENOMEM. */
char *dt_snapshot_body(const sbx_allocator *a, const sbx_snapshot_opts *o, const char *target,
                       sbx_status *st, char *err, size_t errlen);
/* A SnapshotDto as the public view (strings borrowed from o). */
int dt_snapshot_from_json(const json_t *o, sbx_snapshot_info *out);

/* Entries over FileInfo JSON (an array or one object); dir names the listed
 * directory so entries get a path when the reply has none. */
struct dt_entries {
  const sbx_allocator *a; /* items and paths */
  sbx_file_entry *items;
  char **paths; /* owned */
  size_t n;
};
/* 0, SBX_EPROTO (not FileInfo) or SBX_ENOMEM; out is empty on failure. */
int dt_entries_fill(const sbx_allocator *a, const json_t *v, const char *dir,
                    struct dt_entries *out);
void dt_entries_free(struct dt_entries *e);

/* Multipart framing of bulk-upload, file i: the text part files[i].path, then
 * the header of files[i].file (filename = basename). Appended to body
 * (sbx_part_head_fn). */
void dt_part_head(struct sbx_str *body, const char *boundary, size_t i, const char *path);
/* A whole bulk-upload body of n in-memory or small local files; NULL with
 * *st SBX_EIO or SBX_ENOMEM. */
char *dt_multipart_body(const sbx_allocator *a, const char *boundary, const sbx_upload *ups,
                        size_t n, size_t *len, sbx_status *st);

/* ---- ops ---- */
sbx_status dt_create(sbx_client *c, const sbx_create_opts *o, sbx_sandbox_cb cb, void *ud,
                     sbx_op_id *out);
sbx_status dt_connect(sbx_client *c, const char *id, long timeout_s, int legacy_v1,
                      sbx_sandbox_cb cb, void *ud, sbx_op_id *out);
sbx_status dt_info(sbx_client *c, const char *id, sbx_sandbox_cb cb, void *ud, sbx_op_id *out);
sbx_status dt_kill(sbx_client *c, const char *id, sbx_done_cb cb, void *ud, sbx_op_id *out);
sbx_status dt_pause(sbx_client *c, const char *id, sbx_done_cb cb, void *ud, sbx_op_id *out);
sbx_status dt_set_timeout(sbx_client *c, const char *id, long timeout_s, sbx_done_cb cb, void *ud,
                          sbx_op_id *out);
sbx_status dt_set_interval(sbx_client *c, const char *id, int which, long minutes, sbx_done_cb cb,
                           void *ud, sbx_op_id *out);
sbx_status dt_list(sbx_client *c, const sbx_list_opts *o, sbx_list_cb cb, void *ud, sbx_op_id *out);
sbx_status dt_exec_start(sbx_client *c, const char *id, const sbx_exec_opts *o,
                         const sbx_exec_cbs *cbs, void *ud, sbx_op_id *out);
/* daytona_session.c: streaming exec in a session of its own, and reattach */
sbx_status dt_session_exec_start(sbx_client *c, const char *id, const sbx_exec_opts *o,
                                 const sbx_exec_cbs *cbs, void *ud, sbx_op_id *out);
sbx_status dt_exec_connect(sbx_client *c, const char *id, uint32_t pid, const sbx_exec_cbs *cbs,
                           void *ud, sbx_op_id *out);
/* The reply of GET /process/session/<sid>: its (last) command's id into
 * *cmd_id (from a), or an error (SBX_ENOTFOUND for an unknown session,
 * SBX_ENOMEM). */
int dt_session_cmd_id(const sbx_allocator *a, const struct sbx_http *h, const char *id,
                      const char *what, char **cmd_id, struct sbx_errinfo *e);
/* daytona_process.c */
sbx_status dt_signal(sbx_client *c, const char *id, uint32_t pid, int signo, sbx_done_cb cb,
                     void *ud, sbx_op_id *out);
sbx_status dt_write_stdin(sbx_client *c, const char *id, uint32_t pid, const void *data, size_t len,
                          sbx_done_cb cb, void *ud, sbx_op_id *out);
sbx_status dt_file_write(sbx_client *c, const char *id, const sbx_upload *up, sbx_entries_cb cb,
                         void *ud, sbx_op_id *out);
sbx_status dt_file_write_many(sbx_client *c, const char *id, const sbx_upload *ups, size_t n,
                              sbx_entries_cb cb, void *ud, sbx_op_id *out);
sbx_status dt_file_read(sbx_client *c, const char *id, const sbx_download *dl, sbx_done_cb cb,
                        void *ud, sbx_op_id *out);
/* daytona_bulk.c */
sbx_status dt_file_read_many(sbx_client *c, const char *id, const sbx_download *dls, size_t n,
                             sbx_done_cb cb, void *ud, sbx_op_id *out);
sbx_status dt_fs(sbx_client *c, const char *id, int fs_op, const char *path, const char *path2,
                 int depth, sbx_entries_cb ecb, sbx_done_cb dcb, void *ud, sbx_op_id *out);
sbx_status dt_archive(sbx_client *c, const char *id, sbx_done_cb cb, void *ud, sbx_op_id *out);
sbx_status dt_set_labels(sbx_client *c, const char *id, const sbx_kv *labels, size_t n,
                         sbx_done_cb cb, void *ud, sbx_op_id *out);
sbx_status dt_snapshot_create(sbx_client *c, const sbx_snapshot_opts *o, sbx_snapshot_cb cb,
                              void *ud, sbx_op_id *out);
sbx_status dt_snapshot_get(sbx_client *c, const char *ref, sbx_snapshot_cb cb, void *ud,
                           sbx_op_id *out);
sbx_status dt_snapshot_list(sbx_client *c, sbx_snapshot_list_cb cb, void *ud, sbx_op_id *out);
sbx_status dt_snapshot_delete(sbx_client *c, const char *ref, sbx_done_cb cb, void *ud,
                              sbx_op_id *out);

#endif
