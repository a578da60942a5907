/* emu_dt.h - the Daytona half of sbx-emu: the control plane under /api
 * (emu_dt_api.c), the toolbox under /toolbox/<id> (emu_dt_toolbox.c,
 * emu_dt_files.c, emu_dt_download.c, emu_dt_session.c). A Daytona sandbox
 * owns an emu_sandbox for its files and local sandbox; that one is not in
 * the E2B table. */
#ifndef SBX_EMU_DT_H
#define SBX_EMU_DT_H

#include <ev.h>
#include <jansson.h>
#include <stdint.h>

#include "emu_app.h"

#define EMU_DT_HOME "/home/daytona"
#define EMU_DT_ID_LEN 36 /* a UUID */

struct emu_dt_session;

struct emu_dt_sb {
  struct emu_app *app;
  struct emu_dt_sb *prev, *next; /* app->dt_head, newest first */
  char id[EMU_DT_ID_LEN + 1];
  char *name;
  json_t *labels, *env;
  int started;                               /* 1 started, 0 stopped */
  long auto_stop, auto_archive, auto_delete; /* minutes, as the API keeps them */
  int64_t created_ms, updated_ms;
  struct emu_sandbox *sb; /* files, and in real mode the local sandbox (sb->lid) */
  struct emu_dt_session *sessions;
  ev_timer stop_timer, delete_timer;
};

/* emu_dt_api.c */
void emu_dt_api_dispatch(struct emu_req *req);
/* Bearer auth of both halves; 0, or -1 after answering 401. */
int emu_dt_check_auth(struct emu_req *req);
struct emu_dt_sb *emu_dt_find(struct emu_app *app, const char *id_or_name);
/* Toolbox activity: re-arm the auto-stop timer. */
void emu_dt_touch(struct emu_dt_sb *d);
void emu_dt_shutdown(struct emu_app *app);
/* {"statusCode","message","error"[,"code"]}; code may be NULL. */
void emu_dt_error(struct emu_req *req, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A v4 UUID into out (37 bytes). */
void emu_dt_uuid(char *out);

/* emu_dt_toolbox.c */
void emu_dt_toolbox_dispatch(struct emu_req *req);
/* A sandbox path for processes: /home/daytona is the local home there. */
const char *emu_dt_proc_path(const char *path, char *buf, size_t len);
/* --exec null: echo/printf/exit/sleep, answered at once; the exit code. */
int emu_dt_null_run(const char *cmd, struct emu_buf *out, struct emu_buf *err);

/* emu_dt_files.c: rest is the path after /files ("" or "/info", ...). */
void emu_dt_files(struct emu_req *req, struct emu_dt_sb *d, const char *rest);
/* emu_dt_download.c: POST /files/bulk-download. */
void emu_dt_bulk_download(struct emu_req *req, struct emu_dt_sb *d);

/* emu_dt_session.c: rest is the path after /process/session. */
void emu_dt_session_route(struct emu_req *req, struct emu_dt_sb *d, const char *rest);
/* Is req a log follow (GET .../logs?follow=true, a WebSocket upgrade)? Its
 * injected faults act on the socket (see route_logs). */
int emu_dt_is_follow(const struct emu_req *req);
/* Stop or delete: every session's shell is killed, its followers closed. */
void emu_dt_sessions_free(struct emu_dt_sb *d);

#endif
