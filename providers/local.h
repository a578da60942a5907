/* local.h - the local provider: a sandbox is a directory plus the process
 * groups of its commands, isolated with bubblewrap when it is installed.
 *
 * On disk, under the root (SBX_LOCAL_ROOT, else $XDG_RUNTIME_DIR/sbx, else
 * /tmp/sbx-<uid>):
 *   <root>/<id>/sandbox.json  the record: labels, envs, lifetime, state, pgids
 *   <root>/<id>/home/         the sandbox's writable home, /home/user inside
 *   <root>/<id>/tmp/          its /tmp
 *   <root>/<id>/root/         the home of user "root", /root inside
 * The record is what lets another process (a second `sbx` command) pause,
 * kill or exec in a sandbox this one created. */
#ifndef SBX_PROVIDERS_LOCAL_H
#define SBX_PROVIDERS_LOCAL_H

#include <stdint.h>
#include <sys/types.h>

#include "../protocol/errinfo.h"
#include "../reactor/client.h"
#include "provider.h"

#define LOCAL_HOME "/home/user" /* the home path commands and files see */
#define LOCAL_ROOT_HOME "/root" /* the home of exec user "root" */
#define LOCAL_MAX_PGIDS 256

struct local_proc; /* a live command started by this client (local_exec.c) */

struct local_state {
  const sbx_allocator *a;   /* the client's: every allocation of the provider */
  char *root;               /* no trailing slash */
  int use_bwrap;            /* bwrap found and working */
  int bwrap_userns;         /* bwrap --unshare-user works: user "root" gets uid 0 */
  int warned;               /* the "isolation is off" warning was logged */
  struct local_proc *procs; /* live commands of this client */
};

static inline struct local_state *local_of(struct sbx_client *c) {
  return (struct local_state *)c->prov_state;
}

/* One sandbox record (sandbox.json), loaded in memory. */
struct local_sandbox {
  char id[32];
  char state[16];            /* "running" or "paused" */
  int deny_net;              /* network policy deny-all: commands get --unshare-net */
  double created_at, end_at; /* unix seconds */
  int n_pgids;
  pid_t pgids[LOCAL_MAX_PGIDS];
  /* envs and metadata stay in the JSON; exec reads envs through this: */
  char *envs_json;        /* JSON object text from a, "{}" when none */
  const sbx_allocator *a; /* the client's (local_state.a) */
};

/* Load a record; SBX_ENOTFOUND (message names the id) when it does not exist
 * or has expired (an expired one is killed and removed on the way),
 * SBX_ENOMEM when out of memory. */
int local_sandbox_load(struct local_state *s, const char *id, struct local_sandbox *out,
                       struct sbx_errinfo *e);
void local_sandbox_release(struct local_sandbox *sb);
/* Add or remove the process group of a command (updates sandbox.json): 0,
 * SBX_ENOTFOUND when the sandbox is gone, SBX_ENOMEM, or another status. */
int local_sandbox_add_pgid(struct local_state *s, const char *id, pid_t pgid);
int local_sandbox_remove_pgid(struct local_state *s, const char *id, pid_t pgid);
/* <root>/<id>/<sub> ("home", "tmp", "root"); 0, or -1 when it does not fit. */
int local_sandbox_subdir(const struct local_state *s, const char *id, const char *sub, char *buf,
                         size_t len);

/* Map a sandbox path (absolute under /home/user, /tmp or /root, relative to
 * the home, or ~/x) to the host path, refusing anything that escapes the
 * sandbox (.., symlinks pointing out). SBX_EINVAL with a message naming the
 * path when it does. The final component need not exist. */
int local_resolve_path(struct local_state *s, const char *id, const char *path, char *host,
                       size_t host_len, struct sbx_errinfo *e);

/* The absolute path of prog on PATH, resolved before any fork (after it
 * only async-signal-safe calls are allowed); 0 when found. */
int local_find_on_path(const char *prog, char *out, size_t n);
/* Fork and exec file (absolute) with argv, stdio on /dev/null and no other
 * fd inherited. Returns the pid, or -1. */
pid_t local_spawn_quiet(const char *file, const char *const argv[]);

/* Exec side (local_exec.c). */
sbx_status local_exec_start(sbx_client *c, const char *id, const sbx_exec_opts *o,
                            const sbx_exec_cbs *cbs, void *ud, sbx_op_id *out);
sbx_status local_exec_connect(sbx_client *c, const char *id, uint32_t pid, const sbx_exec_cbs *cbs,
                              void *ud, sbx_op_id *out);
sbx_status local_signal(sbx_client *c, const char *id, uint32_t pid, int signo, sbx_done_cb cb,
                        void *ud, sbx_op_id *out);
sbx_status local_write_stdin(sbx_client *c, const char *id, uint32_t pid, const void *data,
                             size_t len, sbx_done_cb cb, void *ud, sbx_op_id *out);
sbx_status local_close_stdin(sbx_client *c, const char *id, uint32_t pid, sbx_done_cb cb, void *ud,
                             sbx_op_id *out);
/* Kill every live command of this client and reap it (client teardown). */
void local_exec_shutdown(struct sbx_client *c);

/* ---- shared helpers of the local provider (local_store.c, local_watchdog.c) ---- */

#include <jansson.h>

#define LOCAL_DEFAULT_TIMEOUT_S 300

/* Ids are "l" + 20 of [a-z0-9]; anything else never names a sandbox. */
int local_valid_id(const char *id);
int local_new_id(char out[32]);
/* <root>/<id> and <root>/<id>/sandbox.json; 0, or -1 when it does not fit. */
int local_sandbox_path(const struct local_state *s, const char *id, char *buf, size_t len);
int local_record_path(const struct local_state *s, const char *id, char *buf, size_t len);
/* Exclusive flock on <root>/<id>/.lock: the fd, or -1 when the sandbox is gone. */
int local_lock(const struct local_state *s, const char *id);
void local_unlock(int fd);
/* The record as JSON (caller decrefs); NULL with SBX_ENOTFOUND (or SBX_EIO,
 * SBX_EPROTO, SBX_ENOMEM) in e. Does not check the lifetime. */
json_t *local_record_read(const struct local_state *s, const char *id, struct sbx_errinfo *e);
/* Write the record atomically (temp file + rename). 0 or an sbx_status
 * (SBX_ENOMEM only for a record too big for the stack buffer). */
int local_record_write(const struct local_state *s, const char *id, const json_t *rec);
/* SIGKILL the record's process groups and watchdog, then remove the tree. */
void local_destroy_sandbox(const struct local_state *s, const char *id, const json_t *rec);
/* rm -rf without following symlinks; 0, or -1 with errno (ENOENT is fine). */
int local_remove_tree(const char *path);
/* Like local_resolve_path, also giving the canonical sandbox path
 * ("/home/user/a/b"). spath may be NULL. */
int local_resolve(struct local_state *s, const char *id, const char *path, char *host,
                  size_t host_len, char *spath, size_t spath_len, struct sbx_errinfo *e);
/* Unix seconds as RFC 3339 UTC ("2024-01-02T03:04:05Z"). */
void local_rfc3339(double t, char *buf, size_t len);
double local_now(void);

/* Start the detached lifetime watchdog of a sandbox; 0 and its pid, or an
 * sbx_status with e set. */
int local_watchdog_spawn(const struct local_state *s, const char *id, pid_t *pid,
                         struct sbx_errinfo *e);
/* SIGKILL a watchdog pid, only if it still is one (pids are reused). */
void local_watchdog_kill(pid_t pid);

/* Ops (local_sandbox.c, local_files.c). */
sbx_status local_create(sbx_client *c, const sbx_create_opts *o, sbx_sandbox_cb cb, void *ud,
                        sbx_op_id *out);
sbx_status local_connect(sbx_client *c, const char *id, long timeout_s, int legacy_v1,
                         sbx_sandbox_cb cb, void *ud, sbx_op_id *out);
sbx_status local_info(sbx_client *c, const char *id, sbx_sandbox_cb cb, void *ud, sbx_op_id *out);
sbx_status local_kill(sbx_client *c, const char *id, sbx_done_cb cb, void *ud, sbx_op_id *out);
sbx_status local_pause(sbx_client *c, const char *id, sbx_done_cb cb, void *ud, sbx_op_id *out);
sbx_status local_set_timeout(sbx_client *c, const char *id, long timeout_s, sbx_done_cb cb,
                             void *ud, sbx_op_id *out);
sbx_status local_list(sbx_client *c, const sbx_list_opts *o, sbx_list_cb cb, void *ud,
                      sbx_op_id *out);
sbx_status local_file_write_many(sbx_client *c, const char *id, const sbx_upload *ups, size_t n,
                                 sbx_entries_cb cb, void *ud, sbx_op_id *out);
sbx_status local_file_write(sbx_client *c, const char *id, const sbx_upload *up, sbx_entries_cb cb,
                            void *ud, sbx_op_id *out);
sbx_status local_file_read(sbx_client *c, const char *id, const sbx_download *dl, sbx_done_cb cb,
                           void *ud, sbx_op_id *out);
sbx_status local_fs(sbx_client *c, const char *id, int fs_op, const char *path, const char *path2,
                    int depth, sbx_entries_cb ecb, sbx_done_cb dcb, void *ud, sbx_op_id *out);

/* 1 when every process of the groups (a JSON array of pgids) shows stopped
 * in /proc (or is gone, or in uninterruptible sleep), else 0. */
int local_groups_stopped(const json_t *pgids);

#endif
