/* emu_store.c - the sandbox table: ids, directories, TTL timers, pause,
 * resume and kill. A sandbox is <root>/<id>/fs with home/user and tmp; in
 * real mode those (and /root) are its local sandbox's dirs (emu_fs.c). */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emu_app.h"
#include "emu_fs.h"
#include "emu_proc.h"

/* The local sandbox outlives the emulated one by this much: its watchdog is
 * only a backstop for an emulator that died. */
#define LOCAL_MARGIN_S 60

static unsigned hash_id(const char *id) {
  unsigned h = 2166136261u;
  for (; *id; id++)
    h = (h ^ (unsigned char)*id) * 16777619u;
  return h % EMU_HASH_SIZE;
}

struct emu_sandbox *emu_sb_find(struct emu_app *app, const char *id) {
  if (!id) return NULL;
  for (struct emu_sandbox *sb = app->sb_hash[hash_id(id)]; sb; sb = sb->hnext)
    if (strcmp(sb->id, id) == 0) return sb;
  return NULL;
}

int emu_mkdir_p(const char *path) {
  char *tmp = strdup(path);
  if (!tmp) return -1;
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(tmp, 0755) < 0 && errno != EEXIST) {
      free(tmp);
      return -1;
    }
    *p = '/';
  }
  int rc = mkdir(tmp, 0755) < 0 && errno != EEXIST ? -1 : 0;
  free(tmp);
  if (rc == 0) {
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) return -1;
  }
  return rc;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  if (flag == FTW_DP || flag == FTW_D) return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
  return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int emu_rm_rf(const char *path) {
  struct stat st;
  if (lstat(path, &st) < 0) return errno == ENOENT ? 0 : -1;
  if (!S_ISDIR(st.st_mode)) return unlink(path);
  return nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

static void ttl_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct emu_sandbox *sb = w->data;
  if (sb->state != EMU_SB_RUNNING) return;
  int64_t left = sb->end_ms - emu_now_ms();
  if (left > 0) { /* the wall clock and the loop clock drifted: wait the rest */
    ev_timer_set(w, (double)left / 1000.0, 0.);
    ev_timer_start(loop, w);
    return;
  }
  if (sb->app->verbose)
    fprintf(stderr, "sbx-emu: sandbox %s reached its end (%s)\n", sb->id,
            sb->auto_pause ? "pause" : "kill");
  if (sb->auto_pause)
    emu_sb_pause(sb, NULL, NULL);
  else
    emu_sb_kill(sb);
}

/* Real mode: the local sandbox's lifetime covers the emulated one. A paused
 * sandbox does not age here, so its local one gets the longest lifetime. */
static void mirror_lifetime(struct emu_sandbox *sb) {
  if (!sb->lid[0]) return;
  long left = EMU_MAX_TIMEOUT_S;
  if (sb->state == EMU_SB_RUNNING) {
    int64_t ms = sb->end_ms - emu_now_ms();
    left = ms > 0 ? (long)((ms + 999) / 1000) : 0;
  }
  emu_local_lifetime(sb->app, sb->lid, left + LOCAL_MARGIN_S);
}

void emu_sb_set_end(struct emu_sandbox *sb, int64_t end_ms) {
  sb->end_ms = end_ms;
  ev_timer_stop(sb->app->loop, &sb->ttl);
  if (sb->state != EMU_SB_RUNNING) return;
  int64_t left = end_ms - emu_now_ms();
  ev_timer_set(&sb->ttl, left > 0 ? (double)left / 1000.0 : 0., 0.);
  ev_timer_start(sb->app->loop, &sb->ttl);
  mirror_lifetime(sb);
}

static char *path_join(const char *a, const char *b) {
  size_t n = strlen(a) + strlen(b) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s", a, b);
  return p;
}

static int make_dirs(struct emu_sandbox *sb) {
  char *home = path_join(sb->fs, "home/user");
  char *root_home = path_join(sb->fs, "root"); /* for commands run as root */
  char *tmp = path_join(sb->fs, "tmp");
  int rc = home && root_home && tmp && emu_mkdir_p(home) == 0 && emu_mkdir_p(root_home) == 0 &&
                   emu_mkdir_p(tmp) == 0
               ? 0
               : -1;
  if (rc == 0) chmod(tmp, 01777);
  free(home);
  free(root_home);
  free(tmp);
  return rc;
}

static void sb_free(struct emu_sandbox *sb) {
  free(sb->template_id);
  json_decref(sb->metadata);
  json_decref(sb->env_vars);
  json_decref(sb->network);
  free(sb->dir);
  free(sb->fs);
  for (int i = 0; i < EMU_N_MOUNTS; i++)
    free(sb->mnt_host[i]);
  free(sb);
}

struct emu_sandbox *emu_sb_new(struct emu_app *app, const char *template_id, const char **why) {
  struct emu_sandbox *sb = calloc(1, sizeof *sb);
  if (!sb) {
    *why = "out of memory";
    return NULL;
  }
  sb->app = app;
  do {
    sb->id[0] = 'i';
    emu_random_alnum(sb->id + 1, EMU_ID_LEN - 1);
  } while (emu_sb_find(app, sb->id));
  emu_random_hex(sb->token, 32);
  sb->template_id = strdup(template_id);
  sb->metadata = json_object();
  sb->env_vars = json_object();
  sb->allow_internet = -1;
  sb->dir = path_join(app->root, sb->id);
  sb->fs = sb->dir ? path_join(sb->dir, "fs") : NULL;
  if (!sb->template_id || !sb->metadata || !sb->env_vars || !sb->fs) {
    sb_free(sb);
    *why = "out of memory";
    return NULL;
  }
  /* in real mode home/user, root and tmp stay as the empty mount points a
   * listing of / or /home shows */
  if (make_dirs(sb) < 0) {
    emu_rm_rf(sb->dir);
    sb_free(sb);
    *why = "cannot create the sandbox directory";
    return NULL;
  }
  ev_timer_init(&sb->ttl, ttl_cb, 0., 0.);
  sb->ttl.data = sb;
  return sb;
}

int emu_sb_set_local(struct emu_sandbox *sb, const char *lid) {
  snprintf(sb->lid, sizeof sb->lid, "%s", lid);
  return emu_fs_mount_local(sb, sb->app->local_root, lid);
}

void emu_sb_link(struct emu_sandbox *sb, int timeout_s) {
  struct emu_app *app = sb->app;
  sb->state = EMU_SB_RUNNING;
  sb->started_ms = emu_now_ms();
  sb->seq = ++app->seq;
  unsigned h = hash_id(sb->id);
  sb->hnext = app->sb_hash[h];
  app->sb_hash[h] = sb;
  sb->next = app->sb_head;
  if (app->sb_head) app->sb_head->prev = sb;
  app->sb_head = sb;
  app->n_running++;
  emu_sb_set_end(sb, sb->started_ms + (int64_t)timeout_s * 1000);
}

void emu_sb_discard(struct emu_sandbox *sb) {
  if (emu_rm_rf(sb->dir) < 0 && sb->app->verbose)
    fprintf(stderr, "sbx-emu: cannot remove %s\n", sb->dir);
  sb_free(sb);
}

void emu_sb_kill(struct emu_sandbox *sb) {
  struct emu_app *app = sb->app;
  ev_timer_stop(app->loop, &sb->ttl);
  emu_procs_sandbox_gone(sb);
  if (sb->lid[0]) emu_local_kill(app, sb->lid); /* its processes and dirs */
  struct emu_sandbox **pp = &app->sb_hash[hash_id(sb->id)];
  while (*pp && *pp != sb)
    pp = &(*pp)->hnext;
  if (*pp) *pp = sb->hnext;
  if (sb->prev)
    sb->prev->next = sb->next;
  else
    app->sb_head = sb->next;
  if (sb->next) sb->next->prev = sb->prev;
  if (sb->state == EMU_SB_RUNNING)
    app->n_running--;
  else
    app->n_paused--;
  emu_sb_discard(sb);
}

void emu_sb_pause(struct emu_sandbox *sb, emu_local_fn fn, void *ud) {
  struct emu_app *app = sb->app;
  if (sb->state == EMU_SB_PAUSED) {
    if (fn) fn(app, NULL, sb->lid, ud);
    return;
  }
  ev_timer_stop(app->loop, &sb->ttl);
  sb->state = EMU_SB_PAUSED;
  app->n_running--;
  app->n_paused++;
  if (sb->lid[0]) { /* SIGSTOP of its process groups */
    static const sbx_error refused = {.code = SBX_ENOMEM,
                                      .retry_after_ms = -1,
                                      .provider_code = "",
                                      .message = "the local provider refused the pause"};
    if (emu_local_pause(app, sb->lid, fn, ud) < 0 && fn) fn(app, &refused, sb->lid, ud);
    mirror_lifetime(sb);
  } else if (fn) {
    fn(app, NULL, NULL, ud);
  }
}

void emu_sb_resume(struct emu_sandbox *sb, int timeout_s) {
  if (sb->state == EMU_SB_PAUSED) {
    sb->state = EMU_SB_RUNNING;
    sb->app->n_paused--;
    sb->app->n_running++;
  }
  emu_sb_set_end(sb, emu_now_ms() + (int64_t)timeout_s * 1000);
}

void emu_store_shutdown(struct emu_app *app) {
  app->closing = 1;
  while (app->sb_head)
    emu_sb_kill(app->sb_head);
}
