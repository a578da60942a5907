/* provider.h - the provider vtable behind the public API. Each entry starts
 * an op (or fails synchronously with no callback) exactly like the public
 * function of the same name; arguments are already validated by api.c. A
 * provider that cannot do something leaves the entry NULL: the API then
 * answers SBX_ENOTSUP naming the provider. */
#ifndef SBX_PROVIDERS_PROVIDER_H
#define SBX_PROVIDERS_PROVIDER_H

#include "sbx.h"

struct sbx_client;
struct sbx_errinfo;

struct sbx_provider {
  const char *name;
  /* Set up c->prov_state from the config (and the env when cfg->use_env).
   * Returns 0, SBX_EINVAL with errbuf saying why, or SBX_ENOMEM. */
  int (*init)(struct sbx_client *c, const sbx_config *cfg, char *errbuf, size_t errlen);
  void (*destroy)(struct sbx_client *c);

  sbx_status (*create)(sbx_client *c, const sbx_create_opts *o, sbx_sandbox_cb cb, void *ud,
                       sbx_op_id *out);
  sbx_status (*connect)(sbx_client *c, const char *id, long timeout_s, int legacy_v1,
                        sbx_sandbox_cb cb, void *ud, sbx_op_id *out);
  sbx_status (*info)(sbx_client *c, const char *id, sbx_sandbox_cb cb, void *ud, sbx_op_id *out);
  sbx_status (*kill)(sbx_client *c, const char *id, sbx_done_cb cb, void *ud, sbx_op_id *out);
  sbx_status (*pause)(sbx_client *c, const char *id, sbx_done_cb cb, void *ud, sbx_op_id *out);
  sbx_status (*set_timeout)(sbx_client *c, const char *id, long timeout_s, sbx_done_cb cb, void *ud,
                            sbx_op_id *out);
  sbx_status (*list)(sbx_client *c, const sbx_list_opts *o, sbx_list_cb cb, void *ud,
                     sbx_op_id *out);
  sbx_status (*exec_start)(sbx_client *c, const char *id, const sbx_exec_opts *o,
                           const sbx_exec_cbs *cbs, void *ud, sbx_op_id *out);
  sbx_status (*exec_connect)(sbx_client *c, const char *id, uint32_t pid, const sbx_exec_cbs *cbs,
                             void *ud, sbx_op_id *out);
  sbx_status (*signal)(sbx_client *c, const char *id, uint32_t pid, int signo, sbx_done_cb cb,
                       void *ud, sbx_op_id *out);
  sbx_status (*write_stdin)(sbx_client *c, const char *id, uint32_t pid, const void *data,
                            size_t len, sbx_done_cb cb, void *ud, sbx_op_id *out);
  sbx_status (*close_stdin)(sbx_client *c, const char *id, uint32_t pid, sbx_done_cb cb, void *ud,
                            sbx_op_id *out);
  sbx_status (*file_write)(sbx_client *c, const char *id, const sbx_upload *up, sbx_entries_cb cb,
                           void *ud, sbx_op_id *out);
  sbx_status (*file_write_many)(sbx_client *c, const char *id, const sbx_upload *ups, size_t n,
                                sbx_entries_cb cb, void *ud, sbx_op_id *out);
  sbx_status (*file_read)(sbx_client *c, const char *id, const sbx_download *dl, sbx_done_cb cb,
                          void *ud, sbx_op_id *out);
  /* NULL: read_many.c runs file_read a few files at a time. */
  sbx_status (*file_read_many)(sbx_client *c, const char *id, const sbx_download *dls, size_t n,
                               sbx_done_cb cb, void *ud, sbx_op_id *out);
  /* fs: op is one of the SBX_FS_* below. */
  sbx_status (*fs)(sbx_client *c, const char *id, int fs_op, const char *path, const char *path2,
                   int depth, sbx_entries_cb ecb, sbx_done_cb dcb, void *ud, sbx_op_id *out);
  /* Daytona's control plane: intervals, archive, labels, snapshots. */
  sbx_status (*set_interval)(sbx_client *c, const char *id, int which, long minutes, sbx_done_cb cb,
                             void *ud, sbx_op_id *out);
  sbx_status (*archive)(sbx_client *c, const char *id, sbx_done_cb cb, void *ud, sbx_op_id *out);
  sbx_status (*set_labels)(sbx_client *c, const char *id, const sbx_kv *labels, size_t n,
                           sbx_done_cb cb, void *ud, sbx_op_id *out);
  sbx_status (*snapshot_create)(sbx_client *c, const sbx_snapshot_opts *o, sbx_snapshot_cb cb,
                                void *ud, sbx_op_id *out);
  sbx_status (*snapshot_get)(sbx_client *c, const char *ref, sbx_snapshot_cb cb, void *ud,
                             sbx_op_id *out);
  sbx_status (*snapshot_list)(sbx_client *c, sbx_snapshot_list_cb cb, void *ud, sbx_op_id *out);
  sbx_status (*snapshot_delete)(sbx_client *c, const char *ref, sbx_done_cb cb, void *ud,
                                sbx_op_id *out);
};

enum { SBX_FS_LIST, SBX_FS_STAT, SBX_FS_MKDIR, SBX_FS_REMOVE, SBX_FS_MOVE };

extern const struct sbx_provider sbx__provider_e2b;
extern const struct sbx_provider sbx__provider_local;
extern const struct sbx_provider sbx__provider_daytona;

#endif
