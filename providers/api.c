/* api.c - the public API: configuration defaults, client creation, and
 * argument checks before dispatching to the provider's vtable. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../reactor/client.h"
#include "provider.h"
#include "read_many.h"

static const struct sbx_provider *const providers[] = {&sbx__provider_e2b, &sbx__provider_local,
                                                       &sbx__provider_daytona};

void sbx_config_init(sbx_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->use_env = 1;
  cfg->http_version = SBX_HTTP_AUTO;
  cfg->request_timeout_ms = 60000;
  cfg->connect_timeout_ms = 10000;
  cfg->max_connections = 8;
  cfg->max_streams = 8 * 100;
  cfg->max_retries = 3;
  cfg->retry_base_ms = 200;
  cfg->retry_max_ms = 10000;
  cfg->rate_create = 20;
  cfg->burst_create = 20;
  cfg->rate_lifecycle = 50;
  cfg->burst_lifecycle = 50;
  cfg->max_output = 64u << 20;
}

void sbx_create_opts_init(sbx_create_opts *o) {
  memset(o, 0, sizeof *o);
  o->auto_pause = SBX_UNSET;
  o->allow_internet = SBX_UNSET;
  o->secure = SBX_UNSET;
}

void sbx_exec_opts_init(sbx_exec_opts *o) {
  memset(o, 0, sizeof *o);
}

static int env_set(const sbx_config *cfg, const char *name) {
  const char *v = cfg->use_env ? getenv(name) : NULL;
  return v && *v;
}

/* An explicit key or E2B_API_KEY picks e2b (the first cloud provider), then
 * a Daytona credential picks daytona, else the embedded local provider. */
static const char *default_provider(const sbx_config *cfg) {
  if ((cfg->api_key && *cfg->api_key) || env_set(cfg, "E2B_API_KEY")) return "e2b";
  if (env_set(cfg, "DAYTONA_API_KEY") || env_set(cfg, "DAYTONA_JWT_TOKEN")) return "daytona";
  return "local";
}

static void set_err(char *buf, size_t len, const char *msg) {
  if (buf && len) snprintf(buf, len, "%s", msg);
}

sbx_client *sbx_client_new(struct ev_loop *loop, const sbx_config *cfg_in, sbx_status *err,
                           char *errbuf, size_t errlen) {
  sbx_status dummy;
  if (!err) err = &dummy;
  sbx_config cfg;
  if (cfg_in)
    cfg = *cfg_in;
  else
    sbx_config_init(&cfg);
  const char *name = cfg.provider;
  if (!name && cfg.use_env) name = getenv("SBX_PROVIDER");
  if (!name || !*name) /* cloud credentials pick the cloud; else the local default */
    name = default_provider(&cfg);
  const struct sbx_provider *p = NULL;
  for (size_t i = 0; i < sizeof providers / sizeof providers[0]; i++)
    if (strcmp(providers[i]->name, name) == 0) p = providers[i];
  if (!p) {
    *err = SBX_EINVAL;
    if (errbuf && errlen) {
      size_t off = (size_t)snprintf(errbuf, errlen, "unknown provider '%s' (known:", name);
      for (size_t i = 0; i < sizeof providers / sizeof providers[0] && off < errlen; i++)
        off += (size_t)snprintf(errbuf + off, errlen - off, "%s%s", i ? ", " : " ",
                                providers[i]->name);
      if (off < errlen) snprintf(errbuf + off, errlen - off, ")");
    }
    return NULL;
  }
  if (cfg.max_connections < 1 || cfg.max_streams < 1 || cfg.request_timeout_ms < 0 ||
      cfg.start_wait_ms < 0 || cfg.max_retries < 0 || cfg.retry_base_ms < 1 ||
      cfg.retry_max_ms < cfg.retry_base_ms) {
    *err = SBX_EINVAL;
    set_err(errbuf, errlen,
            "bad config: max_connections, max_streams and retry_base_ms must be >= 1, "
            "retry_max_ms >= retry_base_ms");
    return NULL;
  }
  if (!cfg.ca_file && cfg.use_env) cfg.ca_file = getenv("SBX_CA_FILE");
  struct sbx_client *c = sbx__client_new(loop, &cfg, err, errbuf, errlen);
  if (!c) return NULL;
  c->cfg.ca_file = sbx__client_own(c, cfg.ca_file);
  c->cfg.provider = p->name;
  c->prov = p;
  if (p->init(c, &cfg, errbuf, errlen) != 0) {
    *err = SBX_EINVAL;
    sbx__client_free(c);
    return NULL;
  }
  c->prov_destroy = p->destroy;
  *err = SBX_OK;
  return c;
}

void sbx_client_free(sbx_client *c) {
  sbx__client_free(c);
}

const char *sbx_client_provider(const sbx_client *c) {
  return c ? c->cfg.provider : NULL;
}

/* ---- argument checks -------------------------------------------------------- */

static sbx_status check_id(const char *id) {
  if (!id || !*id || strlen(id) > 128) return SBX_EINVAL;
  return SBX_OK;
}

#define NEED(cond)                                                                                 \
  do {                                                                                             \
    if (!(cond)) return SBX_EINVAL;                                                                \
  } while (0)
/* A NULL vtable entry: say which provider lacks what (the status alone
 * cannot). */
#define SUPPORTED(c, fn)                                                                           \
  do {                                                                                             \
    if (!(c)->prov->fn) {                                                                          \
      sbx__log((c), SBX_LOG_WARN, "api", 0, "%s: %s is not supported by this provider",            \
               (c)->prov->name, #fn);                                                              \
      return SBX_ENOTSUP;                                                                          \
    }                                                                                              \
  } while (0)

sbx_status sbx_sandbox_create(sbx_client *c, const sbx_create_opts *o, sbx_sandbox_cb cb, void *ud,
                              sbx_op_id *out) {
  NEED(c && cb && out);
  SUPPORTED(c, create);
  sbx_create_opts def;
  if (!o) {
    sbx_create_opts_init(&def);
    o = &def;
  }
  NEED(o->timeout_s >= 0 && (o->n_metadata == 0 || o->metadata) && (o->n_envs == 0 || o->envs));
  NEED((o->n_volumes == 0 || o->volumes) && o->gpu >= 0 && o->auto_archive_minutes >= 0 &&
       o->auto_delete_minutes >= 0);
  const char *only_dt = o->image                  ? "image"
                        : o->cpu                  ? "cpu"
                        : o->memory_gb            ? "memory_gb"
                        : o->disk_gb              ? "disk_gb"
                        : o->gpu                  ? "gpu"
                        : o->os_user              ? "os_user"
                        : o->public_previews == 1 ? "public_previews"
                        : o->auto_archive_minutes ? "auto_archive_minutes"
                        : o->auto_delete_minutes  ? "auto_delete_minutes"
                        : o->n_volumes            ? "volumes"
                                                  : NULL;
  if (only_dt && strcmp(c->prov->name, "daytona") != 0) {
    sbx__log(c, SBX_LOG_WARN, "api", 0, "%s: create option %s is not supported (daytona only)",
             c->prov->name, only_dt);
    return SBX_ENOTSUP;
  }
  return c->prov->create(c, o, cb, ud, out);
}

sbx_status sbx_sandbox_connect(sbx_client *c, const char *id, long timeout_s, int legacy_v1,
                               sbx_sandbox_cb cb, void *ud, sbx_op_id *out) {
  NEED(c && cb && out && check_id(id) == SBX_OK && timeout_s >= 0);
  SUPPORTED(c, connect);
  return c->prov->connect(c, id, timeout_s, legacy_v1, cb, ud, out);
}

sbx_status sbx_sandbox_info_get(sbx_client *c, const char *id, sbx_sandbox_cb cb, void *ud,
                                sbx_op_id *out) {
  NEED(c && cb && out && check_id(id) == SBX_OK);
  SUPPORTED(c, info);
  return c->prov->info(c, id, cb, ud, out);
}

sbx_status sbx_sandbox_kill(sbx_client *c, const char *id, sbx_done_cb cb, void *ud,
                            sbx_op_id *out) {
  NEED(c && cb && out && check_id(id) == SBX_OK);
  SUPPORTED(c, kill);
  return c->prov->kill(c, id, cb, ud, out);
}

sbx_status sbx_sandbox_pause(sbx_client *c, const char *id, sbx_done_cb cb, void *ud,
                             sbx_op_id *out) {
  NEED(c && cb && out && check_id(id) == SBX_OK);
  SUPPORTED(c, pause);
  return c->prov->pause(c, id, cb, ud, out);
}

sbx_status sbx_sandbox_set_timeout(sbx_client *c, const char *id, long timeout_s, sbx_done_cb cb,
                                   void *ud, sbx_op_id *out) {
  NEED(c && cb && out && check_id(id) == SBX_OK && timeout_s >= 0);
  SUPPORTED(c, set_timeout);
  return c->prov->set_timeout(c, id, timeout_s, cb, ud, out);
}

sbx_status sbx_sandbox_list(sbx_client *c, const sbx_list_opts *o, sbx_list_cb cb, void *ud,
                            sbx_op_id *out) {
  NEED(c && cb && out);
  SUPPORTED(c, list);
  sbx_list_opts def;
  if (!o) {
    memset(&def, 0, sizeof def);
    o = &def;
  }
  NEED(o->limit >= 0 && o->limit <= 100 && (o->n_metadata == 0 || o->metadata));
  return c->prov->list(c, o, cb, ud, out);
}

sbx_status sbx_exec_start(sbx_client *c, const char *id, const sbx_exec_opts *o,
                          const sbx_exec_cbs *cbs, void *ud, sbx_op_id *out) {
  NEED(c && o && cbs && cbs->on_done && out && check_id(id) == SBX_OK);
  NEED((o->cmd && *o->cmd) || (o->argv && o->argv[0] && *o->argv[0]));
  NEED(o->timeout_ms >= 0 && (o->n_envs == 0 || o->envs));
  SUPPORTED(c, exec_start);
  return c->prov->exec_start(c, id, o, cbs, ud, out);
}

sbx_status sbx_exec_connect(sbx_client *c, const char *id, uint32_t pid, const sbx_exec_cbs *cbs,
                            void *ud, sbx_op_id *out) {
  NEED(c && cbs && cbs->on_done && out && check_id(id) == SBX_OK && pid > 0);
  SUPPORTED(c, exec_connect);
  return c->prov->exec_connect(c, id, pid, cbs, ud, out);
}

sbx_status sbx_process_signal(sbx_client *c, const char *id, uint32_t pid, int signo,
                              sbx_done_cb cb, void *ud, sbx_op_id *out) {
  NEED(c && cb && out && check_id(id) == SBX_OK && pid > 0 && signo > 0);
  SUPPORTED(c, signal);
  return c->prov->signal(c, id, pid, signo, cb, ud, out);
}

sbx_status sbx_process_write_stdin(sbx_client *c, const char *id, uint32_t pid, const void *data,
                                   size_t len, sbx_done_cb cb, void *ud, sbx_op_id *out) {
  NEED(c && cb && out && check_id(id) == SBX_OK && pid > 0 && (data || len == 0));
  SUPPORTED(c, write_stdin);
  return c->prov->write_stdin(c, id, pid, data, len, cb, ud, out);
}

sbx_status sbx_process_close_stdin(sbx_client *c, const char *id, uint32_t pid, sbx_done_cb cb,
                                   void *ud, sbx_op_id *out) {
  NEED(c && cb && out && check_id(id) == SBX_OK && pid > 0);
  SUPPORTED(c, close_stdin);
  return c->prov->close_stdin(c, id, pid, cb, ud, out);
}

sbx_status sbx_file_write(sbx_client *c, const char *id, const sbx_upload *up, sbx_entries_cb cb,
                          void *ud, sbx_op_id *out) {
  NEED(c && up && cb && out && check_id(id) == SBX_OK && up->path && *up->path);
  /* exactly one source: a local file, or bytes in memory (possibly none) */
  NEED(up->local_path ? (!up->data && up->len == 0) : (up->data || up->len == 0));
  SUPPORTED(c, file_write);
  return c->prov->file_write(c, id, up, cb, ud, out);
}

sbx_status sbx_file_write_many(sbx_client *c, const char *id, const sbx_upload *ups, size_t n,
                               sbx_entries_cb cb, void *ud, sbx_op_id *out) {
  NEED(c && ups && n > 0 && n <= 100000 && cb && out && check_id(id) == SBX_OK);
  for (size_t i = 0; i < n; i++) {
    NEED(ups[i].path && *ups[i].path);
    NEED(ups[i].local_path ? (!ups[i].data && ups[i].len == 0) : (ups[i].data || ups[i].len == 0));
  }
  SUPPORTED(c, file_write_many);
  return c->prov->file_write_many(c, id, ups, n, cb, ud, out);
}

sbx_status sbx_file_read(sbx_client *c, const char *id, const sbx_download *dl, sbx_done_cb cb,
                         void *ud, sbx_op_id *out) {
  NEED(c && dl && cb && out && check_id(id) == SBX_OK && dl->path && *dl->path);
  NEED(dl->local_path || dl->on_data);
  SUPPORTED(c, file_read);
  return c->prov->file_read(c, id, dl, cb, ud, out);
}

/* A bad sbx_file_read_many argument: the status says EINVAL, the log says
 * which entry and why. */
static sbx_status bad_many(sbx_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static sbx_status bad_many(sbx_client *c, const char *fmt, ...) {
  char msg[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  sbx__log(c, SBX_LOG_WARN, "api", 0, "sbx_file_read_many: %s", msg);
  return SBX_EINVAL;
}

sbx_status sbx_file_read_many(sbx_client *c, const char *id, const sbx_download *dls, size_t n,
                              sbx_done_cb cb, void *ud, sbx_op_id *out) {
  NEED(c && dls && cb && out && check_id(id) == SBX_OK);
  if (n == 0 || n > SBX_READ_MANY_MAX)
    return bad_many(c, "%zu files asked for; 1 to %d per call", n, SBX_READ_MANY_MAX);
  for (size_t i = 0; i < n; i++) {
    if (!dls[i].path || !*dls[i].path) return bad_many(c, "dls[%zu] has no path", i);
    if (!dls[i].local_path && !dls[i].on_data)
      return bad_many(c, "dls[%zu] (%.100s) has neither local_path nor on_data", i, dls[i].path);
    for (size_t j = 0; dls[i].local_path && j < i; j++) /* two writers of one file */
      if (dls[j].local_path && strcmp(dls[j].local_path, dls[i].local_path) == 0)
        return bad_many(c, "dls[%zu] and dls[%zu] both write %.100s", j, i, dls[i].local_path);
  }
  if (c->prov->file_read_many) return c->prov->file_read_many(c, id, dls, n, cb, ud, out);
  SUPPORTED(c, file_read);
  return sbx__read_many_generic(c, id, dls, n, cb, ud, out);
}

static sbx_status fs_call(sbx_client *c, const char *id, int op, const char *p1, const char *p2,
                          int depth, sbx_entries_cb ecb, sbx_done_cb dcb, void *ud,
                          sbx_op_id *out) {
  NEED(c && out && check_id(id) == SBX_OK && p1 && *p1 && (ecb || dcb));
  SUPPORTED(c, fs);
  return c->prov->fs(c, id, op, p1, p2, depth, ecb, dcb, ud, out);
}

sbx_status sbx_fs_list(sbx_client *c, const char *id, const char *path, int depth,
                       sbx_entries_cb cb, void *ud, sbx_op_id *out) {
  NEED(depth >= 1 && cb);
  return fs_call(c, id, SBX_FS_LIST, path, NULL, depth, cb, NULL, ud, out);
}

sbx_status sbx_fs_stat(sbx_client *c, const char *id, const char *path, sbx_entries_cb cb, void *ud,
                       sbx_op_id *out) {
  NEED(cb);
  return fs_call(c, id, SBX_FS_STAT, path, NULL, 0, cb, NULL, ud, out);
}

sbx_status sbx_fs_mkdir(sbx_client *c, const char *id, const char *path, sbx_entries_cb cb,
                        void *ud, sbx_op_id *out) {
  NEED(cb);
  return fs_call(c, id, SBX_FS_MKDIR, path, NULL, 0, cb, NULL, ud, out);
}

sbx_status sbx_fs_remove(sbx_client *c, const char *id, const char *path, sbx_done_cb cb, void *ud,
                         sbx_op_id *out) {
  NEED(cb);
  return fs_call(c, id, SBX_FS_REMOVE, path, NULL, 0, NULL, cb, ud, out);
}

sbx_status sbx_fs_move(sbx_client *c, const char *id, const char *from, const char *to,
                       sbx_entries_cb cb, void *ud, sbx_op_id *out) {
  NEED(cb && to && *to);
  return fs_call(c, id, SBX_FS_MOVE, from, to, 0, cb, NULL, ud, out);
}

/* ---- Daytona: archive, labels, snapshots ------------------------------------------ */

sbx_status sbx_sandbox_archive(sbx_client *c, const char *id, sbx_done_cb cb, void *ud,
                               sbx_op_id *out) {
  NEED(c && cb && out && check_id(id) == SBX_OK);
  SUPPORTED(c, archive);
  return c->prov->archive(c, id, cb, ud, out);
}

sbx_status sbx_sandbox_set_interval(sbx_client *c, const char *id, int which, long minutes,
                                    sbx_done_cb cb, void *ud, sbx_op_id *out) {
  NEED(c && cb && out && check_id(id) == SBX_OK);
  NEED(which >= SBX_AUTO_STOP && which <= SBX_AUTO_DELETE);
  NEED(minutes >= (which == SBX_AUTO_DELETE ? -1 : 0) && minutes <= 1000000);
  SUPPORTED(c, set_interval);
  return c->prov->set_interval(c, id, which, minutes, cb, ud, out);
}

/* Labels replace each other whole: a key given twice is a caller's bug. */
static const char *bad_labels(const sbx_kv *kv, size_t n) {
  if (n && !kv) return "labels is NULL";
  for (size_t i = 0; i < n; i++) {
    if (!kv[i].key || !*kv[i].key) return "a label has an empty key";
    if (!kv[i].value) return "a label has a NULL value";
    for (size_t j = 0; j < i; j++)
      if (strcmp(kv[i].key, kv[j].key) == 0) return "a label key is given twice";
  }
  return NULL;
}

sbx_status sbx_sandbox_set_labels(sbx_client *c, const char *id, const sbx_kv *labels, size_t n,
                                  sbx_done_cb cb, void *ud, sbx_op_id *out) {
  NEED(c && cb && out && check_id(id) == SBX_OK && n <= 1000);
  const char *why = bad_labels(labels, n);
  if (why) {
    sbx__log(c, SBX_LOG_WARN, "api", 0, "set labels of %s: %s", id, why);
    return SBX_EINVAL;
  }
  SUPPORTED(c, set_labels);
  return c->prov->set_labels(c, id, labels, n, cb, ud, out);
}

void sbx_snapshot_opts_init(sbx_snapshot_opts *o) {
  memset(o, 0, sizeof *o);
}

static int check_ref(const char *ref) {
  return ref && *ref && strlen(ref) <= 255;
}

sbx_status sbx_snapshot_create(sbx_client *c, const sbx_snapshot_opts *o, sbx_snapshot_cb cb,
                               void *ud, sbx_op_id *out) {
  NEED(c && o && cb && out && check_ref(o->name) && o->image && *o->image);
  NEED(o->cpu >= 0 && o->memory_gb >= 0 && o->disk_gb >= 0 && o->timeout_s >= 0);
  SUPPORTED(c, snapshot_create);
  return c->prov->snapshot_create(c, o, cb, ud, out);
}

sbx_status sbx_snapshot_get(sbx_client *c, const char *ref, sbx_snapshot_cb cb, void *ud,
                            sbx_op_id *out) {
  NEED(c && cb && out && check_ref(ref));
  SUPPORTED(c, snapshot_get);
  return c->prov->snapshot_get(c, ref, cb, ud, out);
}

sbx_status sbx_snapshot_list(sbx_client *c, sbx_snapshot_list_cb cb, void *ud, sbx_op_id *out) {
  NEED(c && cb && out);
  SUPPORTED(c, snapshot_list);
  return c->prov->snapshot_list(c, cb, ud, out);
}

sbx_status sbx_snapshot_delete(sbx_client *c, const char *ref, sbx_done_cb cb, void *ud,
                               sbx_op_id *out) {
  NEED(c && cb && out && check_ref(ref));
  SUPPORTED(c, snapshot_delete);
  return c->prov->snapshot_delete(c, ref, cb, ud, out);
}
