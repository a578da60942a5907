/* emu_app.h - the routes' state behind srv->app: sandboxes, processes, fault
 * rules and request counters, plus the functions the route files share. */
#ifndef SBX_EMU_APP_H
#define SBX_EMU_APP_H

#include <ev.h>
#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "emu_http.h"
#include "emu_util.h"

#define EMU_HASH_SIZE 4096
#define EMU_ID_LEN 21 /* "i" + 20 of [a-z0-9] */
#define EMU_ENVD_VERSION "0.6.13"
#define EMU_MAX_TIMEOUT_S 86400

struct emu_proc;
struct emu_stream;
struct emu_fault;

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
  int use_bwrap;
  int max_sandboxes; /* 0: unlimited */
  int verbose;

  struct emu_sandbox *sb_hash[EMU_HASH_SIZE];
  struct emu_sandbox *sb_head;
  unsigned long n_running, n_paused;
  uint64_t seq;

  struct emu_proc *proc_hash[EMU_HASH_SIZE];
  unsigned long n_procs_live;
  uint32_t next_null_pid;

  struct emu_fault *faults;
  const struct emu_fault *stream_fault; /* set while a faulted stream route runs */
  struct emu_counter *counters;
};

/* emu_store.c: sandbox table and lifecycle. */
struct emu_sandbox *emu_sb_find(struct emu_app *app, const char *id);
/* Create the sandbox (directories included); NULL with *why set on failure. */
struct emu_sandbox *emu_sb_create(struct emu_app *app, const char *template_id, int timeout_s,
                                  const char **why);
void emu_sb_kill(struct emu_sandbox *sb);
void emu_sb_pause(struct emu_sandbox *sb);
void emu_sb_resume(struct emu_sandbox *sb, int timeout_s);
/* Set end_ms and re-arm the TTL timer (running sandboxes only tick). */
void emu_sb_set_end(struct emu_sandbox *sb, int64_t end_ms);
void emu_store_shutdown(struct emu_app *app);
/* rm -rf; 0 when gone (or never there). */
int emu_rm_rf(const char *path);
/* mkdir -p with mode 0755. */
int emu_mkdir_p(const char *path);

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

/* emu_stats.c */
void emu_stats_count(struct emu_app *app, const char *method, const char *path);
void emu_stats_route(struct emu_req *req);
void emu_stats_free(struct emu_app *app);

#endif
