/* emu_dt.h - the Daytona half of sbx-emu: the control plane under /api
 * (emu_dt_api.c sandboxes, emu_dt_snap.c snapshots), the toolbox under
 * /toolbox/<id> (emu_dt_toolbox.c, emu_dt_files.c, emu_dt_download.c,
 * emu_dt_session.c). A Daytona sandbox owns an emu_sandbox for its files
 * and local sandbox; that one is not in the E2B table. */
#ifndef SBX_EMU_DT_H
#define SBX_EMU_DT_H

#include <ev.h>
#include <jansson.h>
#include <stdint.h>

#include "emu_app.h"

#define EMU_DT_HOME "/home/daytona"
#define EMU_DT_ID_LEN 36 /* a UUID */
#define EMU_DT_DEFAULT_SNAPSHOT "daytona-small"
/* Archiving, restoring and each snapshot build step take this share of an
 * API minute: 0.3 s by default, shorter with --daytona-minute-s. */
#define EMU_DT_STEP_MINUTES (1.0 / 200.0)

struct emu_dt_session;

/* Where a sandbox that is not started stands (archive and restore). */
/* Builds from an image under fail/ end in build_failed, under hang/ stay in
 * pending_build (the emulator's conventions, as for snapshots). */
enum emu_dt_phase {
  EMU_DT_IDLE,
  EMU_DT_ARCHIVING,
  EMU_DT_ARCHIVED,
  EMU_DT_RESTORING,
  EMU_DT_PENDING_BUILD,
  EMU_DT_BUILD_FAILED
};

struct emu_dt_sb {
  struct emu_app *app;
  struct emu_dt_sb *prev, *next; /* app->dt_head, newest first */
  char id[EMU_DT_ID_LEN + 1];
  char *name;
  json_t *labels, *env;
  int started;                               /* 1 started, 0 stopped */
  enum emu_dt_phase phase;                   /* EMU_DT_IDLE while started */
  long auto_stop, auto_archive, auto_delete; /* minutes, as the API keeps them */
  int64_t created_ms, updated_ms;
  char *snapshot;         /* what it was made from */
  int cpu, mem, disk;     /* the snapshot's resources (GiB) */
  json_t *asked;          /* what the create set of user, public, gpu, network*,
                             target and volumes, echoed in its DTO */
  struct emu_sandbox *sb; /* files, and in real mode the local sandbox (sb->lid) */
  struct emu_dt_session *sessions;
  ev_timer stop_timer, delete_timer, phase_timer;
};

enum emu_dt_snap_state { EMU_SNAP_PENDING, EMU_SNAP_BUILDING, EMU_SNAP_ACTIVE, EMU_SNAP_ERROR };

/* A snapshot: general ones (daytona-small/-medium/-large) exist from the
 * start and cannot be deleted; created ones go pending -> building ->
 * active one step apart, or end in error when the image name starts with
 * "fail/" (the emulator's convention for a pull that fails). */
struct emu_dt_snap {
  struct emu_app *app;
  struct emu_dt_snap *next; /* app->dt_snaps, newest first */
  char id[EMU_DT_ID_LEN + 1];
  char *name, *image; /* image NULL when built from a Dockerfile */
  json_t *entrypoint; /* array or null */
  json_t *build_info; /* object or NULL */
  int cpu, mem, disk, general;
  enum emu_dt_snap_state state;
  const char *error_reason;
  int64_t created_ms, updated_ms;
  ev_timer step;
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
/* Seconds of one transition step (EMU_DT_STEP_MINUTES of an API minute). */
double emu_dt_step_s(const struct emu_app *app);

/* emu_dt_snap.c: rest is the path after /api/snapshots ("" or "/<id>"). */
void emu_dt_snap_route(struct emu_req *req, const char *rest);
/* By id or name; NULL when there is none. */
struct emu_dt_snap *emu_dt_snap_find(struct emu_app *app, const char *id_or_name);
const char *emu_dt_snap_state_name(enum emu_dt_snap_state st);
/* The general snapshots; at exit every snapshot is freed. */
int emu_dt_snap_init(struct emu_app *app);
void emu_dt_snap_shutdown(struct emu_app *app);

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
