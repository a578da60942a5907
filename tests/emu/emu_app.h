/* emu_app.h - the routes' state behind srv->app: sandboxes, processes, fault
 * rules and request counters, plus the functions the route files share. */
#ifndef SBX_EMU_APP_H
#define SBX_EMU_APP_H

#include <ev.h>
#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "emu_fault.h"
#include "emu_http.h"
#include "emu_util.h"
#include "sbx.h"

#define EMU_HASH_SIZE 4096
#define EMU_ID_LEN 21 /* "i" + 20 of [a-z0-9] */
#define EMU_ENVD_VERSION "0.6.13"
#define EMU_MAX_TIMEOUT_S 86400
#define EMU_N_MOUNTS 3 /* /home/user, /tmp, /root: the local sandbox's own dirs */

struct emu_proc;
struct emu_stream;
struct emu_fault;
struct emu_dt_sb;
struct emu_dt_snap;

enum emu_sb_state { EMU_SB_RUNNING = 0, EMU_SB_PAUSED = 1 };

struct emu_sandbox {
  struct emu_app *app;
  struct emu_sandbox *hnext;       /* hash chain */
  struct emu_sandbox *prev, *next; /* all sandboxes, newest first */
  char id[EMU_ID_LEN + 1];
  char token[33];
  char *template_id;
  json_t *metadata;   /* object */
  json_t *env_vars;   /* object */
  json_t *network;    /* object or NULL */
  int allow_internet; /* -1 when not given */
  int auto_pause;
  enum emu_sb_state state;
  int64_t started_ms, end_ms;
  uint64_t seq;
  char *dir; /* <root>/<id> */
  char *fs;  /* <root>/<id>/fs: the sandbox's "/" */
  /* real mode: the local-provider sandbox that runs its processes, and the
   * host dirs of its mounts (emu_fs.c), which override fs for those paths */
  char lid[32];
  char *mnt_host[EMU_N_MOUNTS];
  const char *home_at; /* the sandbox path of the home mount; NULL: /home/user */
  struct emu_proc *procs;
  ev_timer ttl;
};

struct emu_counter {
  struct emu_counter *next;
  char *key;
  unsigned long n;
};

struct emu_app {
  struct emu_server *srv;
  struct ev_loop *loop;
  char *root;
  int root_ours; /* created by us: removed at exit */
  char *api_key; /* NULL: any non-empty key */
  int exec_null;
  sbx_client *local;        /* real mode: the local provider, on our loop */
  char *local_root;         /* its root: <root>/local */
  int closing;              /* shutting down: no new work */
  unsigned long n_creating; /* creates waiting for their local sandbox */
  int max_sandboxes;        /* 0: unlimited */
  int verbose;

  struct emu_sandbox *sb_hash[EMU_HASH_SIZE];
  struct emu_sandbox *sb_head;
  unsigned long n_running, n_paused;
  uint64_t seq;

  struct emu_proc *proc_hash[EMU_HASH_SIZE];
  unsigned long n_procs_live;
  uint32_t next_null_pid;

  struct emu_fault *faults;
  const struct emu_fault *stream_fault;   /* set while a faulted stream route runs */
  unsigned long fault_hits[EMU_FK_COUNT]; /* injected faults by kind, for /_emu/stats */
  struct emu_counter *counters;

  /* the Daytona half (emu_dt.h) */
  struct emu_dt_sb *dt_head;
  unsigned long dt_started, dt_stopped, dt_archived, dt_sessions;
  struct emu_dt_snap *dt_snaps;
  unsigned long dt_n_snaps; /* not counting the general ones */
  double dt_minute_s;       /* seconds per API "minute" (60; --daytona-minute-s for tests) */
};

/* emu_store.c: sandbox table and lifecycle. */
struct emu_sandbox *emu_sb_find(struct emu_app *app, const char *id);
/* A new sandbox with its directories, not yet in the table; NULL with *why. */
struct emu_sandbox *emu_sb_new(struct emu_app *app, const char *template_id, const char **why);
/* Real mode: run its processes in local sandbox lid. 0, or -1 on no memory. */
int emu_sb_set_local(struct emu_sandbox *sb, const char *lid);
/* Put a new sandbox in the table, running, ending in timeout_s. */
void emu_sb_link(struct emu_sandbox *sb, int timeout_s);
/* Free a sandbox that never made it into the table (its dirs too). */
void emu_sb_discard(struct emu_sandbox *sb);
void emu_sb_kill(struct emu_sandbox *sb);
/* Paused at once; in real mode fn (may be NULL) learns when the local
 * sandbox's processes are stopped. */
typedef void (*emu_local_fn)(struct emu_app *app, const sbx_error *err, const char *lid, void *ud);
void emu_sb_pause(struct emu_sandbox *sb, emu_local_fn fn, void *ud);
/* Running again (real mode: after the local sandbox was resumed). */
void emu_sb_resume(struct emu_sandbox *sb, int timeout_s);
/* Set end_ms and re-arm the TTL timer (running sandboxes only tick). */
void emu_sb_set_end(struct emu_sandbox *sb, int64_t end_ms);
void emu_store_shutdown(struct emu_app *app);
/* rm -rf; 0 when gone (or never there). */
int emu_rm_rf(const char *path);
/* mkdir -p with mode 0755. */
int emu_mkdir_p(const char *path);

/* emu_local.c: real mode's local provider (libsbx public API). An async
 * call returns 0 and reports through fn once, later (fn NULL: errors are
 * logged), or returns -1 and never calls fn. */
int emu_local_open(struct emu_app *app);
/* Finish what is pending (kills included, bounded), free the client. */
void emu_local_close(struct emu_app *app);
int emu_local_create(struct emu_app *app, const struct emu_sandbox *sb, long lifetime_s,
                     emu_local_fn fn, void *ud);
int emu_local_pause(struct emu_app *app, const char *lid, emu_local_fn fn, void *ud);
int emu_local_resume(struct emu_app *app, const char *lid, emu_local_fn fn, void *ud);
void emu_local_lifetime(struct emu_app *app, const char *lid, long lifetime_s);
void emu_local_kill(struct emu_app *app, const char *lid);
/* A libsbx done callback that logs a failure with --verbose (ud is the app). */
void emu_local_log_done(sbx_client *c, sbx_op_id op, const sbx_error *err, void *ud);

/* emu_api.c: the control plane (API key checked there). */
void emu_api_dispatch(struct emu_req *req);

/* emu_envd.c: envd REST and Connect-RPC for one sandbox. */
int emu_is_envd_request(const struct emu_req *req, char *id_out, size_t id_len);
void emu_envd_dispatch(struct emu_req *req, const char *sandbox_id);
/* A Connect unary error: status from the code table, {"code","message"}. */
void emu_connect_error(struct emu_req *req, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The RPC user from Authorization: Basic (default "user"); its home in *home. */
const char *emu_rpc_user(const struct emu_req *req, const char **home);

/* emu_envd_files.c, emu_envd_fs.c, emu_envd_proc.c */
void emu_files_get(struct emu_req *req, struct emu_sandbox *sb);
void emu_files_post(struct emu_req *req, struct emu_sandbox *sb);
void emu_fs_rpc(struct emu_req *req, struct emu_sandbox *sb, const char *method);
void emu_proc_rpc(struct emu_req *req, struct emu_sandbox *sb, const char *method);

/* emu_faults.c */
void emu_faults_route(struct emu_req *req);
/* Find and consume a rule for this request: 1 with a copy in *out (its path
 * is NULL), else 0. */
int emu_faults_take(struct emu_app *app, const char *method, const char *path,
                    struct emu_fault *out);
/* Apply a rule that does not need the route: a status reply, or an abort of a
 * non-streaming request. 1 when it answered, 0 when the route must run (the
 * rule then reaches the stream through app->stream_fault). */
int emu_faults_apply(struct emu_req *req, const struct emu_fault *f, int is_stream);
void emu_faults_free(struct emu_app *app);
/* Count a fault that took effect (by its action; a status rule by its code). */
void emu_faults_note(struct emu_app *app, const struct emu_fault *f);
/* {"5xx": n, "429": n, ...}: every kind, zeros included. */
json_t *emu_faults_hits_json(const struct emu_app *app);

/* emu_stats.c */
void emu_stats_count(struct emu_app *app, const char *method, const char *path);
void emu_stats_route(struct emu_req *req);
void emu_stats_free(struct emu_app *app);

#endif
