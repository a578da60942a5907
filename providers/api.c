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
  const sbx_allocator *al = &cfg.allocator;
  int hooks = !!al->malloc_fn + !!al->realloc_fn + !!al->free_fn;
  if (hooks != 0 && hooks != 3) {
    *err = SBX_EINVAL;
    set_err(errbuf, errlen,
            "bad config: allocator needs malloc_fn, realloc_fn and free_fn all set, or none");
    return NULL;
  }
  if (!cfg.ca_file && cfg.use_env) cfg.ca_file = getenv("SBX_CA_FILE");
  if (cfg.ca_file && !*cfg.ca_file) cfg.ca_file = NULL;
  if (!cfg.ca_file && cfg.use_env) cfg.ca_file = getenv("SBX_CA_BUNDLE"); /* an alias */
  if (cfg.ca_file && !*cfg.ca_file) cfg.ca_file = NULL;
  struct sbx_client *c = sbx__client_new(loop, &cfg, err, errbuf, errlen);
  if (!c) return NULL;
  c->cfg.ca_file = sbx__client_own(c, cfg.ca_file);
  c->cfg.provider = p->name;
  c->prov = p;
  int rc = cfg.ca_file && !c->cfg.ca_file ? SBX_ENOMEM : p->init(c, &cfg, errbuf, errlen);
  if (rc != 0) {
    *err = rc < 0 ? (sbx_status)rc : SBX_EINVAL;
    if (rc == SBX_ENOMEM) set_err(errbuf, errlen, "out of memory");
    sbx__client_free(c);
    return NULL;
  }
  c->prov_destroy = p->destroy;
  *err = SBX_OK;
  return c;
}

void sbx_client_free(sbx_client *c) {
  if (c) sbx__check_thread(c, __func__);
  sbx__client_free(c);
}

const char *sbx_client_provider(const sbx_client *c) {
  return c ? c->cfg.provider : NULL;
}

const char *sbx_last_error(const sbx_client *c) {
  return c ? c->errmsg : "";
}

/* ---- argument checks -------------------------------------------------------- */

static sbx_status check_id(const char *id) {
  if (!id || !*id || strlen(id) > 128) return SBX_EINVAL;
  return SBX_OK;
}

/* A refused call: SBX_EINVAL, with a message naming the argument kept for
 * sbx_last_error and logged. */
#define NEED(c, cond, ...)                                                                         \
  do {                                                                                             \
    if (!(cond)) return sbx__refuse((c), SBX_EINVAL, __func__, __VA_ARGS__);                       \
  } while (0)
/* Every entry point with a client: NULL is refused, and a debug build
 * aborts on a call from a thread other than the client's. */
#define NEED_CLIENT(c)                                                                             \
  do {                                                                                             \
    if (!(c)) return SBX_EINVAL;                                                                   \
    sbx__check_thread((c), __func__);                                                              \
    (c)->errmsg[0] = '\0';                                                                         \
  } while (0)
#define NEED_CALL(c, cb, out)                                                                      \
  do {                                                                                             \
    NEED_CLIENT(c);                                                                                \
    NEED(c, cb, "the callback is NULL");                                                           \
    NEED(c, out, "out (the op id) is NULL");                                                       \
  } while (0)
#define NEED_ID(c, id) NEED(c, check_id(id) == SBX_OK, "id is NULL, empty or over 128 bytes")
#define NEED_PID(c, pid) NEED(c, (pid) > 0, "pid is 0")
/* A NULL vtable entry: say which provider lacks what (the status alone
 * cannot). */
#define SUPPORTED(c, fn)                                                                           \
  do {                                                                                             \
    if (!(c)->prov->fn) {                                                                          \
      return sbx__refuse((c), SBX_ENOTSUP, __func__, "%s: %s is not supported by this provider",   \
                         (c)->prov->name, #fn);                                                    \
    }                                                                                              \
  } while (0)

sbx_status sbx_sandbox_create(sbx_client *c, const sbx_create_opts *o, sbx_sandbox_cb cb, void *ud,
                              sbx_op_id *out) {
  NEED_CALL(c, cb, out);
  SUPPORTED(c, create);
  sbx_create_opts def;
  if (!o) {
    sbx_create_opts_init(&def);
    o = &def;
  }
  NEED(c, o->timeout_s >= 0, "opts.timeout_s is negative (%ld)", o->timeout_s);
  NEED(c, o->n_metadata == 0 || o->metadata, "opts.metadata is NULL with n_metadata %zu",
       o->n_metadata);
  NEED(c, o->n_envs == 0 || o->envs, "opts.envs is NULL with n_envs %zu", o->n_envs);
  NEED(c, o->n_volumes == 0 || o->volumes, "opts.volumes is NULL with n_volumes %zu", o->n_volumes);
  NEED(c, o->gpu >= 0, "opts.gpu is negative (%d)", o->gpu);
  NEED(c, o->auto_archive_minutes >= 0, "opts.auto_archive_minutes is negative (%ld)",
       o->auto_archive_minutes);
  NEED(c, o->auto_delete_minutes >= 0, "opts.auto_delete_minutes is negative (%ld)",
       o->auto_delete_minutes);
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
    return sbx__refuse(c, SBX_ENOTSUP, __func__,
                       "%s: create option %s is not supported (daytona only)", c->prov->name,
                       only_dt);
  }
  return c->prov->create(c, o, cb, ud, out);
}

sbx_status sbx_sandbox_connect(sbx_client *c, const char *id, long timeout_s, int legacy_v1,
                               sbx_sandbox_cb cb, void *ud, sbx_op_id *out) {
  NEED_CALL(c, cb, out);
  NEED_ID(c, id);
  NEED(c, timeout_s >= 0, "timeout_s is negative (%ld)", timeout_s);
  SUPPORTED(c, connect);
  return c->prov->connect(c, id, timeout_s, legacy_v1, cb, ud, out);
}

sbx_status sbx_sandbox_info_get(sbx_client *c, const char *id, sbx_sandbox_cb cb, void *ud,
                                sbx_op_id *out) {
  NEED_CALL(c, cb, out);
  NEED_ID(c, id);
  SUPPORTED(c, info);
  return c->prov->info(c, id, cb, ud, out);
}

sbx_status sbx_sandbox_kill(sbx_client *c, const char *id, sbx_done_cb cb, void *ud,
                            sbx_op_id *out) {
  NEED_CALL(c, cb, out);
  NEED_ID(c, id);
  SUPPORTED(c, kill);
  return c->prov->kill(c, id, cb, ud, out);
}

sbx_status sbx_sandbox_pause(sbx_client *c, const char *id, sbx_done_cb cb, void *ud,
                             sbx_op_id *out) {
  NEED_CALL(c, cb, out);
  NEED_ID(c, id);
  SUPPORTED(c, pause);
  return c->prov->pause(c, id, cb, ud, out);
}

sbx_status sbx_sandbox_set_timeout(sbx_client *c, const char *id, long timeout_s, sbx_done_cb cb,
                                   void *ud, sbx_op_id *out) {
  NEED_CALL(c, cb, out);
  NEED_ID(c, id);
  NEED(c, timeout_s >= 0, "timeout_s is negative (%ld)", timeout_s);
  SUPPORTED(c, set_timeout);
  return c->prov->set_timeout(c, id, timeout_s, cb, ud, out);
}

sbx_status sbx_sandbox_list(sbx_client *c, const sbx_list_opts *o, sbx_list_cb cb, void *ud,
                            sbx_op_id *out) {
  NEED_CALL(c, cb, out);
  SUPPORTED(c, list);
  sbx_list_opts def;
  if (!o) {
    memset(&def, 0, sizeof def);
    o = &def;
  }
  NEED(c, o->limit >= 0 && o->limit <= 100, "opts.limit %d is not 0..100", o->limit);
  NEED(c, o->n_metadata == 0 || o->metadata, "opts.metadata is NULL with n_metadata %zu",
       o->n_metadata);
  return c->prov->list(c, o, cb, ud, out);
}

sbx_status sbx_exec_start(sbx_client *c, const char *id, const sbx_exec_opts *o,
                          const sbx_exec_cbs *cbs, void *ud, sbx_op_id *out) {
  NEED_CLIENT(c);
  NEED(c, o, "opts is NULL");
  NEED(c, cbs && cbs->on_done, "cbs or cbs->on_done is NULL");
  NEED(c, out, "out (the op id) is NULL");
  NEED_ID(c, id);
  NEED(c, (o->cmd && *o->cmd) || (o->argv && o->argv[0] && *o->argv[0]),
       "opts.cmd and opts.argv are both NULL or empty");
  NEED(c, o->timeout_ms >= 0, "opts.timeout_ms is negative (%ld)", o->timeout_ms);
  NEED(c, o->n_envs == 0 || o->envs, "opts.envs is NULL with n_envs %zu", o->n_envs);
  SUPPORTED(c, exec_start);
  return c->prov->exec_start(c, id, o, cbs, ud, out);
}

sbx_status sbx_exec_connect(sbx_client *c, const char *id, uint32_t pid, const sbx_exec_cbs *cbs,
                            void *ud, sbx_op_id *out) {
  NEED_CLIENT(c);
  NEED(c, cbs && cbs->on_done, "cbs or cbs->on_done is NULL");
  NEED(c, out, "out (the op id) is NULL");
  NEED_ID(c, id);
  NEED_PID(c, pid);
  SUPPORTED(c, exec_connect);
  return c->prov->exec_connect(c, id, pid, cbs, ud, out);
}

sbx_status sbx_process_signal(sbx_client *c, const char *id, uint32_t pid, int signo,
                              sbx_done_cb cb, void *ud, sbx_op_id *out) {
  NEED_CALL(c, cb, out);
  NEED_ID(c, id);
  NEED_PID(c, pid);
  NEED(c, signo > 0, "signo %d is not a signal number", signo);
  SUPPORTED(c, signal);
  return c->prov->signal(c, id, pid, signo, cb, ud, out);
}

sbx_status sbx_process_write_stdin(sbx_client *c, const char *id, uint32_t pid, const void *data,
                                   size_t len, sbx_done_cb cb, void *ud, sbx_op_id *out) {
  NEED_CALL(c, cb, out);
  NEED_ID(c, id);
  NEED_PID(c, pid);
  NEED(c, data || len == 0, "data is NULL with len %zu", len);
  SUPPORTED(c, write_stdin);
  return c->prov->write_stdin(c, id, pid, data, len, cb, ud, out);
}

sbx_status sbx_process_close_stdin(sbx_client *c, const char *id, uint32_t pid, sbx_done_cb cb,
                                   void *ud, sbx_op_id *out) {
  NEED_CALL(c, cb, out);
  NEED_ID(c, id);
  NEED_PID(c, pid);
  SUPPORTED(c, close_stdin);
  return c->prov->close_stdin(c, id, pid, cb, ud, out);
}

sbx_status sbx_file_write(sbx_client *c, const char *id, const sbx_upload *up, sbx_entries_cb cb,
                          void *ud, sbx_op_id *out) {
  NEED_CALL(c, cb, out);
  NEED_ID(c, id);
  NEED(c, up, "up is NULL");
  NEED(c, up->path && *up->path, "up.path is NULL or empty");
  /* exactly one source: a local file, or bytes in memory (possibly none) */
  NEED(c, up->local_path ? (!up->data && up->len == 0) : (up->data || up->len == 0),
       "up (%.100s): give either local_path or data/len", up->path);
  SUPPORTED(c, file_write);
  return c->prov->file_write(c, id, up, cb, ud, out);
}

sbx_status sbx_file_write_many(sbx_client *c, const char *id, const sbx_upload *ups, size_t n,
                               sbx_entries_cb cb, void *ud, sbx_op_id *out) {
  NEED_CALL(c, cb, out);
  NEED_ID(c, id);
  NEED(c, ups, "ups is NULL");
  NEED(c, n > 0 && n <= 100000, "n %zu is not 1..100000", n);
  for (size_t i = 0; i < n; i++) {
    NEED(c, ups[i].path && *ups[i].path, "ups[%zu].path is NULL or empty", i);
    NEED(c,
         ups[i].local_path ? (!ups[i].data && ups[i].len == 0) : (ups[i].data || ups[i].len == 0),
         "ups[%zu] (%.100s): give either local_path or data/len", i, ups[i].path);
  }
  SUPPORTED(c, file_write_many);
  return c->prov->file_write_many(c, id, ups, n, cb, ud, out);
}

sbx_status sbx_file_read(sbx_client *c, const char *id, const sbx_download *dl, sbx_done_cb cb,
                         void *ud, sbx_op_id *out) {
  NEED_CALL(c, cb, out);
  NEED_ID(c, id);
  NEED(c, dl, "dl is NULL");
  NEED(c, dl->path && *dl->path, "dl.path is NULL or empty");
  NEED(c, dl->local_path || dl->on_data, "dl (%.100s) has neither local_path nor on_data",
       dl->path);
  SUPPORTED(c, file_read);
  return c->prov->file_read(c, id, dl, cb, ud, out);
}

sbx_status sbx_file_read_many(sbx_client *c, const char *id, const sbx_download *dls, size_t n,
                              sbx_done_cb cb, void *ud, sbx_op_id *out) {
  NEED_CALL(c, cb, out);
  NEED_ID(c, id);
  NEED(c, dls, "dls is NULL");
  if (n == 0 || n > SBX_READ_MANY_MAX)
    return sbx__refuse(c, SBX_EINVAL, __func__, "%zu files asked for; 1 to %d per call", n,
                       SBX_READ_MANY_MAX);
  for (size_t i = 0; i < n; i++) {
    if (!dls[i].path || !*dls[i].path)
      return sbx__refuse(c, SBX_EINVAL, __func__, "dls[%zu] has no path", i);
    if (!dls[i].local_path && !dls[i].on_data)
      return sbx__refuse(c, SBX_EINVAL, __func__,
                         "dls[%zu] (%.100s) has neither local_path nor on_data", i, dls[i].path);
    for (size_t j = 0; dls[i].local_path && j < i; j++) /* two writers of one file */
      if (dls[j].local_path && strcmp(dls[j].local_path, dls[i].local_path) == 0)
        return sbx__refuse(c, SBX_EINVAL, __func__, "dls[%zu] and dls[%zu] both write %.100s", j, i,
                           dls[i].local_path);
  }
  if (c->prov->file_read_many) return c->prov->file_read_many(c, id, dls, n, cb, ud, out);
  SUPPORTED(c, file_read);
  return sbx__read_many_generic(c, id, dls, n, cb, ud, out);
}

static sbx_status fs_call(sbx_client *c, const char *id, int op, const char *p1, const char *p2,
                          int depth, sbx_entries_cb ecb, sbx_done_cb dcb, void *ud,
                          sbx_op_id *out) {
  NEED(c, out, "out (the op id) is NULL");
  NEED_ID(c, id);
  NEED(c, p1 && *p1, "path is NULL or empty");
  SUPPORTED(c, fs);
  return c->prov->fs(c, id, op, p1, p2, depth, ecb, dcb, ud, out);
}

sbx_status sbx_fs_list(sbx_client *c, const char *id, const char *path, int depth,
                       sbx_entries_cb cb, void *ud, sbx_op_id *out) {
  NEED_CALL(c, cb, out);
  NEED(c, depth >= 1, "depth %d is not >= 1", depth);
  return fs_call(c, id, SBX_FS_LIST, path, NULL, depth, cb, NULL, ud, out);
}

sbx_status sbx_fs_stat(sbx_client *c, const char *id, const char *path, sbx_entries_cb cb, void *ud,
                       sbx_op_id *out) {
  NEED_CALL(c, cb, out);
  return fs_call(c, id, SBX_FS_STAT, path, NULL, 0, cb, NULL, ud, out);
}

sbx_status sbx_fs_mkdir(sbx_client *c, const char *id, const char *path, sbx_entries_cb cb,
                        void *ud, sbx_op_id *out) {
  NEED_CALL(c, cb, out);
  return fs_call(c, id, SBX_FS_MKDIR, path, NULL, 0, cb, NULL, ud, out);
}

sbx_status sbx_fs_remove(sbx_client *c, const char *id, const char *path, sbx_done_cb cb, void *ud,
                         sbx_op_id *out) {
  NEED_CALL(c, cb, out);
  return fs_call(c, id, SBX_FS_REMOVE, path, NULL, 0, NULL, cb, ud, out);
}

sbx_status sbx_fs_move(sbx_client *c, const char *id, const char *from, const char *to,
                       sbx_entries_cb cb, void *ud, sbx_op_id *out) {
  NEED_CALL(c, cb, out);
  NEED(c, to && *to, "to is NULL or empty");
  return fs_call(c, id, SBX_FS_MOVE, from, to, 0, cb, NULL, ud, out);
}

/* ---- Daytona: archive, labels, snapshots ------------------------------------------ */

sbx_status sbx_sandbox_archive(sbx_client *c, const char *id, sbx_done_cb cb, void *ud,
                               sbx_op_id *out) {
  NEED_CALL(c, cb, out);
  NEED_ID(c, id);
  SUPPORTED(c, archive);
  return c->prov->archive(c, id, cb, ud, out);
}

sbx_status sbx_sandbox_set_interval(sbx_client *c, const char *id, int which, long minutes,
                                    sbx_done_cb cb, void *ud, sbx_op_id *out) {
  NEED_CALL(c, cb, out);
  NEED_ID(c, id);
  NEED(c, which >= SBX_AUTO_STOP && which <= SBX_AUTO_DELETE,
       "which %d is not SBX_AUTO_STOP, SBX_AUTO_ARCHIVE or SBX_AUTO_DELETE", which);
  NEED(c, minutes >= (which == SBX_AUTO_DELETE ? -1 : 0) && minutes <= 1000000,
       "minutes %ld is out of range", minutes);
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
  NEED_CALL(c, cb, out);
  NEED_ID(c, id);
  NEED(c, n <= 1000, "n %zu is over 1000 labels", n);
  const char *why = bad_labels(labels, n);
  NEED(c, !why, "labels of %s: %s", id, why);
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
  NEED_CALL(c, cb, out);
  NEED(c, o, "opts is NULL");
  NEED(c, check_ref(o->name), "opts.name is NULL, empty or over 255 bytes");
  NEED(c, o->image && *o->image, "opts.image is NULL or empty");
  NEED(c, o->cpu >= 0 && o->memory_gb >= 0 && o->disk_gb >= 0,
       "opts.cpu, memory_gb and disk_gb must not be negative");
  NEED(c, o->timeout_s >= 0, "opts.timeout_s is negative (%ld)", o->timeout_s);
  SUPPORTED(c, snapshot_create);
  return c->prov->snapshot_create(c, o, cb, ud, out);
}

sbx_status sbx_snapshot_get(sbx_client *c, const char *ref, sbx_snapshot_cb cb, void *ud,
                            sbx_op_id *out) {
  NEED_CALL(c, cb, out);
  NEED(c, check_ref(ref), "ref is NULL, empty or over 255 bytes");
  SUPPORTED(c, snapshot_get);
  return c->prov->snapshot_get(c, ref, cb, ud, out);
}

sbx_status sbx_snapshot_list(sbx_client *c, sbx_snapshot_list_cb cb, void *ud, sbx_op_id *out) {
  NEED_CALL(c, cb, out);
  SUPPORTED(c, snapshot_list);
  return c->prov->snapshot_list(c, cb, ud, out);
}

sbx_status sbx_snapshot_delete(sbx_client *c, const char *ref, sbx_done_cb cb, void *ud,
                               sbx_op_id *out) {
  NEED_CALL(c, cb, out);
  NEED(c, check_ref(ref), "ref is NULL, empty or over 255 bytes");
  SUPPORTED(c, snapshot_delete);
  return c->prov->snapshot_delete(c, ref, cb, ud, out);
}
