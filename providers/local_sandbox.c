/* local_sandbox.c - local sandbox lifecycle ops: create (with an optional
 * template copy in a child process), connect (resume), info, kill, pause,
 * set timeout, list. The work is quick file I/O done in the INIT step; the
 * op base runs that step from the loop, so callbacks never fire early. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../protocol/json_util.h"
#include "child_watch.h"
#include "info_view.h"
#include "local.h"

enum sbox_what { W_CREATE, W_CONNECT, W_INFO, W_KILL, W_PAUSE, W_TIMEOUT, W_LIST };

/* create: INIT -> [COPY_TEMPLATE ->] FINISH -> DONE; pause: INIT -> STOP_WAIT
 * -> DONE; every other op: INIT -> DONE. */
enum { S_INIT, S_COPY_TEMPLATE, S_FINISH, S_STOP_WAIT, S_DONE, S_N };
static const char *const state_names[S_N] = {"INIT", "COPY_TEMPLATE", "FINISH", "STOP_WAIT",
                                             "DONE"};

/* A pause waits for its processes to show stopped: polled this often, at
 * most this many times (a second), after which it completes anyway. */
#define STOP_POLL_MS 2
#define STOP_POLLS 500

struct sbox_op {
  struct sbx_op op;
  enum sbox_what what;
  char id[32];
  long timeout_s;
  sbx_sandbox_cb scb;
  sbx_done_cb dcb;
  sbx_list_cb lcb;
  json_t *rec;    /* create: the new record; connect/info: the record read */
  int stop_polls; /* pause: /proc checks so far */
  /* create */
  char *template_dir; /* NULL: an empty home */
  const char *refuse; /* an option we cannot honour: refused before anything is made */
  int made_dir;       /* the sandbox dir exists: removed unless the op succeeds */
  int ok;
  pid_t child;           /* cp -a of the template, until it is reaped */
  struct child_watch cw; /* ... watched here */
  siginfo_t copy_si;     /* how it ended */
  /* list */
  json_t *want_meta;
  char *want_state;
  char *after; /* next_token in */
  int limit;
  json_t *page;     /* array of records */
  char *next_token; /* out */
};

static const char *const verbs[] = {"create", "connect to",     "get", "kill",
                                    "pause",  "set timeout of", "list"};

static struct local_state *state_of(struct sbox_op *s) {
  return local_of(s->op.c);
}

/* A load error rephrased for this op ("local: kill sandbox lx: not found"). */
static enum op_step_result fail_load(struct sbox_op *s, struct sbx_errinfo *e) {
  if (e->status == SBX_ENOTFOUND)
    sbx__op_fail(&s->op, SBX_ENOTFOUND, "local: %s sandbox %s: not found", verbs[s->what], s->id);
  else
    sbx__op_fail_info(&s->op, e);
  op_set_state(&s->op, S_DONE);
  return OP_NEXT;
}

static enum op_step_result finish(struct sbox_op *s) {
  op_set_state(&s->op, S_DONE);
  return OP_NEXT;
}

/* ---- create ------------------------------------------------------------------------ */

static json_t *kv_object(const sbx_kv *kv, size_t n) {
  json_t *o = json_object();
  for (size_t i = 0; o && i < n; i++)
    if (kv[i].key && kv[i].value &&
        json_object_set_new(o, kv[i].key, json_string(kv[i].value)) != 0) {
      json_decref(o);
      return NULL;
    }
  return o;
}

static void copy_exited(struct child_watch *w, const siginfo_t *si) {
  struct sbox_op *s = w->data;
  s->copy_si = *si;
  s->child = 0;
  sbx__op_post(&s->op, OP_EV_IO);
}

/* cp -a TEMPLATE/. HOME/ in a child, watched through a child watch. */
static int start_copy(struct sbox_op *s, const char *home) {
  char src[PATH_MAX + 8], dst[PATH_MAX + 8];
  snprintf(src, sizeof src, "%s/.", s->template_dir);
  snprintf(dst, sizeof dst, "%s/", home);
  char cp[PATH_MAX];
  if (local_find_on_path("cp", cp, sizeof cp) != 0) return -1;
  const char *argv[] = {"cp", "-a", "--", src, dst, NULL};
  pid_t pid = local_spawn_quiet(cp, argv);
  if (pid < 0) return -1;
  s->child = pid;
  if (child_watch_start(s->op.c, &s->cw, pid, copy_exited, s) != 0) {
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    s->child = 0;
    return -1;
  }
  return 0;
}

static int make_dirs(struct sbox_op *s, char *home, size_t hlen) {
  struct local_state *st = state_of(s);
  char dir[PATH_MAX], tmp[PATH_MAX];
  for (int tries = 0;; tries++) {
    if (local_new_id(s->id) != 0 || local_sandbox_path(st, s->id, dir, sizeof dir) != 0)
      return sbx__op_fail(&s->op, SBX_EIO, "local: create sandbox: no random id: %s",
                          strerror(errno));
    if (mkdir(dir, 0700) == 0) break;
    if (errno != EEXIST || tries > 8)
      return sbx__op_fail(&s->op, SBX_EIO, "local: create sandbox: mkdir %s: %s", dir,
                          strerror(errno));
  }
  s->made_dir = 1;
  char root_home[PATH_MAX];
  if (local_sandbox_subdir(st, s->id, "home", home, hlen) != 0 ||
      local_sandbox_subdir(st, s->id, "tmp", tmp, sizeof tmp) != 0 ||
      local_sandbox_subdir(st, s->id, "root", root_home, sizeof root_home) != 0)
    return sbx__op_fail(&s->op, SBX_EIO, "local: create sandbox %s: path too long", s->id);
  if (mkdir(home, 0755) != 0 || mkdir(tmp, 0700) != 0 || mkdir(root_home, 0700) != 0)
    return sbx__op_fail(&s->op, SBX_EIO, "local: create sandbox %s: mkdir: %s", s->id,
                        strerror(errno));
  return 0;
}

static enum op_step_result create_init(struct sbox_op *s) {
  op_take(&s->op, OP_EV_START);
  if (s->refuse) {
    sbx__op_fail(&s->op, SBX_ENOTSUP, "%s", s->refuse);
    return finish(s);
  }
  if (s->template_dir) {
    struct stat st;
    if (stat(s->template_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
      sbx__op_fail(&s->op, SBX_EINVAL,
                   "local: create sandbox: template '%.200s' is not a directory (use \"base\" or "
                   "a host directory)",
                   s->template_dir);
      return finish(s);
    }
  }
  char home[PATH_MAX];
  if (make_dirs(s, home, sizeof home) != 0) return finish(s);
  int rc = json_object_set_new(s->rec, "sandboxID", json_string(s->id)) != 0
               ? SBX_ENOMEM
               : local_record_write(state_of(s), s->id, s->rec);
  if (rc != 0) {
    sbx__op_fail(&s->op, rc, "local: create sandbox %s: %s", s->id,
                 rc == SBX_ENOMEM ? "out of memory" : "cannot write its record");
    return finish(s);
  }
  if (!s->template_dir) {
    op_set_state(&s->op, S_FINISH);
    return OP_NEXT;
  }
  if (start_copy(s, home) != 0) {
    sbx__op_fail(&s->op, SBX_EIO, "local: create sandbox %s: cannot start cp: %s", s->id,
                 strerror(errno));
    return finish(s);
  }
  op_set_state(&s->op, S_COPY_TEMPLATE);
  return OP_WAIT;
}

static enum op_step_result create_copy(struct sbox_op *s) {
  if (!op_take(&s->op, OP_EV_IO) || s->child) return OP_WAIT;
  const siginfo_t si = s->copy_si;
  /* si_code 0: someone else (a SIGCHLD handler) reaped it; status unknown */
  if (si.si_code != 0 && (si.si_code != CLD_EXITED || si.si_status != 0)) {
    sbx__op_fail(&s->op, SBX_EIO,
                 "local: create sandbox %s: copying template '%.200s' failed (%s %d)", s->id,
                 s->template_dir, si.si_code == CLD_EXITED ? "cp exit status" : "signal",
                 si.si_status);
    return finish(s);
  }
  op_set_state(&s->op, S_FINISH);
  return OP_NEXT;
}

static enum op_step_result create_finish(struct sbox_op *s) {
  struct local_state *st = state_of(s);
  struct sbx_errinfo e;
  sbx_errinfo_clear(&e);
  pid_t wd = 0;
  if (local_watchdog_spawn(st, s->id, &wd, &e) != 0) {
    sbx__op_fail_info(&s->op, &e);
    return finish(s);
  }
  int rc = json_object_set_new(s->rec, "watchdogPid", json_integer(wd)) != 0 ? SBX_ENOMEM : 0;
  int lk = rc ? -1 : local_lock(st, s->id);
  if (!rc) rc = lk < 0 ? SBX_EIO : local_record_write(st, s->id, s->rec);
  local_unlock(lk);
  if (rc != 0) {
    sbx__op_fail(&s->op, rc, "local: create sandbox %s: %s", s->id,
                 rc == SBX_ENOMEM ? "out of memory" : "cannot write its record");
    return finish(s);
  }
  s->ok = 1;
  return finish(s);
}

/* ---- by id: connect, info, kill, pause, set timeout ------------------------------------ */

/* Read-modify-write of the record under its lock; the expiry check first. */
static int load_locked(struct sbox_op *s, int *lk, struct sbx_errinfo *e) {
  struct local_state *st = state_of(s);
  struct local_sandbox sb;
  if (local_sandbox_load(st, s->id, &sb, e) != 0) return e->status;
  local_sandbox_release(&sb);
  *lk = local_lock(st, s->id);
  if (*lk < 0) {
    sbx_errinfo_set(e, SBX_ENOTFOUND, "not found");
    return SBX_ENOTFOUND;
  }
  s->rec = local_record_read(st, s->id, e);
  if (!s->rec) {
    local_unlock(*lk);
    *lk = -1;
    return e->status;
  }
  return 0;
}

static void signal_pgids(const json_t *rec, int sig) {
  size_t i;
  const json_t *v;
  json_array_foreach(json_object_get(rec, "pgids"), i, v) {
    json_int_t pg = json_integer_value(v);
    if (pg > 1 && pg < INT_MAX) kill(-(pid_t)pg, sig);
  }
}

static enum op_step_result byid_init(struct sbox_op *s) {
  op_take(&s->op, OP_EV_START);
  struct local_state *st = state_of(s);
  struct sbx_errinfo e;
  sbx_errinfo_clear(&e);
  if (s->what == W_INFO) {
    struct local_sandbox sb;
    if (local_sandbox_load(st, s->id, &sb, &e) != 0) return fail_load(s, &e);
    local_sandbox_release(&sb);
    s->rec = local_record_read(st, s->id, &e);
    return s->rec ? finish(s) : fail_load(s, &e);
  }
  if (s->what == W_KILL) {
    /* No expiry check: an expired sandbox is killed all the same. The
     * destroy takes the record lock itself (and reads the final record). */
    json_t *rec = local_record_read(st, s->id, &e);
    if (!rec) return fail_load(s, &e);
    local_destroy_sandbox(st, s->id, rec);
    json_decref(rec);
    return finish(s);
  }
  int lk = -1;
  if (load_locked(s, &lk, &e) != 0) return fail_load(s, &e);
  const char *state = sbx_json_str(s->rec, "state");
  int paused = state && strcmp(state, "paused") == 0;
  double now = local_now(), end = json_number_value(json_object_get(s->rec, "endAt"));
  int set = 0; /* jansson out of memory: nothing is signalled or written */
  switch (s->what) {
  case W_CONNECT:
    set |= json_object_set_new(s->rec, "state", json_string("running"));
    if (s->timeout_s > 0 && now + (double)s->timeout_s > end)
      set |= json_object_set_new(s->rec, "endAt", json_real(now + (double)s->timeout_s));
    if (paused && !set) signal_pgids(s->rec, SIGCONT);
    break;
  case W_PAUSE:
    if (paused) {
      local_unlock(lk);
      sbx__op_fail(&s->op, SBX_ECONFLICT, "local: pause sandbox %s: already paused", s->id);
      return finish(s);
    }
    set |= json_object_set_new(s->rec, "state", json_string("paused"));
    if (!set) signal_pgids(s->rec, SIGSTOP);
    break;
  case W_TIMEOUT:
    set |= json_object_set_new(s->rec, "endAt", json_real(now + (double)s->timeout_s));
    break;
  default: break;
  }
  int rc = set ? SBX_ENOMEM : local_record_write(st, s->id, s->rec);
  local_unlock(lk);
  if (rc != 0) {
    sbx__op_fail(&s->op, rc, "local: %s sandbox %s: %s", verbs[s->what], s->id,
                 rc == SBX_ENOMEM ? "out of memory" : "cannot write its record");
    return finish(s);
  }
  if (s->what != W_PAUSE) return finish(s);
  op_set_state(&s->op, S_STOP_WAIT);
  return OP_NEXT;
}

/* SIGSTOP reaches a process when it next runs, not when kill() returns: the
 * pause completes once /proc shows every process of the sandbox stopped
 * (so a caller reading their state after the callback sees it), or after a
 * second (a process in uninterruptible sleep stops when it wakes). */
static enum op_step_result pause_wait(struct sbox_op *s) {
  op_take(&s->op, OP_EV_TIMER);
  if (!local_groups_stopped(json_object_get(s->rec, "pgids")) && s->stop_polls++ < STOP_POLLS) {
    sbx__op_timer_start(&s->op, STOP_POLL_MS);
    return OP_WAIT;
  }
  return finish(s);
}

/* ---- list ------------------------------------------------------------------------------ */

static int state_matches(const char *want, const char *state) {
  if (!want || !*want) return 1;
  size_t n = strlen(state);
  for (const char *p = want; *p;) {
    size_t len = strcspn(p, ",");
    if (len == n && strncmp(p, state, n) == 0) return 1;
    p += len;
    if (*p == ',') p++;
  }
  return 0;
}

static int meta_matches(const json_t *want, const json_t *rec) {
  const json_t *have = json_object_get(rec, "metadata");
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)want, k, v) {
    const char *hv = sbx_json_str(have, k);
    if (!hv || strcmp(hv, json_string_value(v)) != 0) return 0;
  }
  return 1;
}

static int newer_first(const void *a, const void *b) {
  const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
  double cx = json_number_value(json_object_get(x, "createdAt"));
  double cy = json_number_value(json_object_get(y, "createdAt"));
  if (cx != cy) return cx < cy ? 1 : -1;
  return strcmp(sbx_json_str(y, "sandboxID"), sbx_json_str(x, "sandboxID"));
}

/* Every live, matching record, newest first. */
static int collect(struct sbox_op *s, json_t ***out, size_t *n_out) {
  struct local_state *st = state_of(s);
  DIR *d = opendir(st->root);
  if (!d)
    return sbx__op_fail(&s->op, SBX_EIO, "local: list sandboxes: cannot read %s: %s", st->root,
                        strerror(errno));
  json_t **all = NULL;
  size_t n = 0, cap = 0;
  int rc = 0;
  struct dirent *de;
  while (rc == 0 && (de = readdir(d)) != NULL) {
    if (!local_valid_id(de->d_name)) continue;
    struct sbx_errinfo e;
    struct local_sandbox sb;
    sbx_errinfo_clear(&e);
    json_t *rec = NULL;
    if (local_sandbox_load(st, de->d_name, &sb, &e) == 0) { /* else gone or expired */
      local_sandbox_release(&sb);
      rec = local_record_read(st, de->d_name, &e);
    }
    if (e.status == SBX_ENOMEM) { /* a sandbox left out of the list would be a lie */
      rc = sbx__op_fail(&s->op, SBX_ENOMEM, "local: list sandboxes: out of memory");
      break;
    }
    if (!rec) continue;
    const char *state = sbx_json_str(rec, "state");
    if (!sbx_json_str(rec, "sandboxID") || !state_matches(s->want_state, state ? state : "") ||
        !meta_matches(s->want_meta, rec)) {
      json_decref(rec);
      continue;
    }
    if (n == cap) {
      size_t ncap = cap ? cap * 2 : 16;
      json_t **grown = sbx__realloc(sbx__alloc(s->op.c), all, ncap * sizeof *grown);
      if (!grown) {
        json_decref(rec);
        rc = sbx__op_fail(&s->op, SBX_ENOMEM, "local: list sandboxes: out of memory");
        break;
      }
      all = grown;
      cap = ncap;
    }
    all[n++] = rec;
  }
  closedir(d);
  if (n) qsort(all, n, sizeof *all, newer_first);
  *out = all;
  *n_out = n;
  return rc;
}

static enum op_step_result list_init(struct sbox_op *s) {
  op_take(&s->op, OP_EV_START);
  json_t **all = NULL;
  size_t n = 0;
  if (collect(s, &all, &n) == 0) {
    size_t start = 0;
    if (s->after) {
      while (start < n && strcmp(sbx_json_str(all[start], "sandboxID"), s->after) != 0)
        start++;
      if (start == n)
        sbx__op_fail(&s->op, SBX_EINVAL,
                     "local: list sandboxes: next_token '%.64s' is unknown (that sandbox is gone)",
                     s->after);
      start++;
    }
    size_t limit = s->limit > 0 ? (size_t)s->limit : 100;
    s->page = json_array();
    if (!s->page) sbx__op_fail(&s->op, SBX_ENOMEM, "local: list sandboxes: out of memory");
    for (size_t i = start; !s->op.err && i < n && i < start + limit; i++)
      if (json_array_append(s->page, all[i]) != 0)
        sbx__op_fail(&s->op, SBX_ENOMEM, "local: list sandboxes: out of memory");
    if (!s->op.err && start + limit < n) {
      s->next_token =
          sbx__strdup(sbx__alloc(s->op.c), sbx_json_str(all[start + limit - 1], "sandboxID"));
      if (!s->next_token) sbx__op_fail(&s->op, SBX_ENOMEM, "local: list sandboxes: out of memory");
    }
  }
  for (size_t i = 0; i < n; i++)
    json_decref(all[i]);
  sbx__free(sbx__alloc(s->op.c), all);
  return finish(s);
}

/* ---- completion ---------------------------------------------------------------------------- */

struct info_view {
  sbx_sandbox_info info;
  sbx_kv *meta; /* inline_meta, or an array from the client's allocator */
  char started[40], end[40];
  /* A few labels need no memory: a create's sandbox, once made, is then
   * delivered for sure (see info_view.h). */
  sbx_kv inline_meta[SBX_INFO_INLINE_META];
};

static void view_free(const sbx_allocator *a, struct info_view *v) {
  if (v->meta != v->inline_meta) sbx__free(a, v->meta);
  v->meta = NULL;
}

/* 0, SBX_ENOMEM, or SBX_EPROTO when rec has no id. v->meta is from a. */
static int view_of(const sbx_allocator *a, const json_t *rec, struct info_view *v) {
  memset(v, 0, sizeof *v);
  const json_t *meta = json_object_get(rec, "metadata");
  size_t n = json_is_object(meta) ? json_object_size(meta) : 0;
  if (n && n <= SBX_INFO_INLINE_META)
    v->meta = v->inline_meta;
  else if (n && !(v->meta = sbx__calloc(a, n, sizeof *v->meta)))
    return SBX_ENOMEM;
  const char *k;
  json_t *val;
  json_object_foreach((json_t *)meta, k, val) {
    if (!json_is_string(val) || v->info.n_metadata >= n) continue;
    v->meta[v->info.n_metadata].key = k;
    v->meta[v->info.n_metadata++].value = json_string_value(val);
  }
  local_rfc3339(json_number_value(json_object_get(rec, "createdAt")), v->started,
                sizeof v->started);
  local_rfc3339(json_number_value(json_object_get(rec, "endAt")), v->end, sizeof v->end);
  const char *tmpl = sbx_json_str(rec, "templateID"), *state = sbx_json_str(rec, "state");
  v->info.id = sbx_json_str(rec, "sandboxID");
  v->info.template_id = tmpl ? tmpl : "base";
  v->info.state = state ? state : "running";
  v->info.envd_version = "";
  v->info.started_at = v->started;
  v->info.end_at = v->end;
  v->info.metadata = v->meta;
  v->info.cpu_count = (int)sysconf(_SC_NPROCESSORS_ONLN);
  return v->info.id ? 0 : SBX_EPROTO;
}

static const sbx_error oom_error = {.code = SBX_ENOMEM,
                                    .retry_after_ms = -1,
                                    .provider_code = "",
                                    .message = "local: out of memory"};
static const sbx_error noid_error = {.code = SBX_EPROTO,
                                     .retry_after_ms = -1,
                                     .provider_code = "",
                                     .message = "local: the sandbox record has no id"};

/* The page as infos; a record without an id is left out (collect skips
 * those already), but one that no memory was left for fails the list. */
static void deliver_list(struct sbox_op *s) {
  const sbx_allocator *a = sbx__alloc(s->op.c);
  size_t n = json_array_size(s->page), got = 0;
  sbx_sandbox_info *items = n ? sbx__calloc(a, n, sizeof *items) : NULL;
  struct info_view *views = n ? sbx__calloc(a, n, sizeof *views) : NULL;
  int rc = n && (!items || !views) ? SBX_ENOMEM : 0;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    int vr = view_of(a, json_array_get(s->page, i), &views[got]);
    if (vr == 0)
      items[got] = views[got].info, got++;
    else
      view_free(a, &views[got]);
    if (vr == SBX_ENOMEM) rc = vr;
  }
  if (rc == SBX_ENOMEM)
    s->lcb(s->op.c, s->op.id, &oom_error, NULL, 0, NULL, s->op.ud);
  else
    s->lcb(s->op.c, s->op.id, NULL, items, got, s->next_token, s->op.ud);
  for (size_t i = 0; i < got; i++)
    view_free(a, &views[i]);
  sbx__free(a, items);
  sbx__free(a, views);
}

static void complete(struct sbx_op *op, const sbx_error *err) {
  struct sbox_op *s = (struct sbox_op *)op;
  if (s->what == W_LIST) {
    if (err)
      s->lcb(op->c, op->id, err, NULL, 0, NULL, op->ud);
    else
      deliver_list(s);
    return;
  }
  if (!s->scb) {
    s->dcb(op->c, op->id, err, op->ud);
    return;
  }
  const sbx_allocator *a = sbx__alloc(s->op.c);
  struct info_view v;
  int rc = 0;
  if (err || !s->rec) {
    s->scb(op->c, op->id, err ? err : &oom_error, NULL, op->ud);
  } else if ((rc = view_of(a, s->rec, &v)) != 0) {
    view_free(a, &v);
    s->ok = 0; /* a sandbox the caller is not told of is not left behind */
    s->scb(op->c, op->id, rc == SBX_ENOMEM ? &oom_error : &noid_error, NULL, op->ud);
  } else {
    s->scb(op->c, op->id, NULL, &v.info, op->ud);
    view_free(a, &v);
  }
}

static void destroy(struct sbx_op *op) {
  struct sbox_op *s = (struct sbox_op *)op;
  child_watch_kill(&s->cw); /* cancelled mid-copy: a SIGKILLed cp is reaped at once */
  if (s->made_dir && !s->ok) local_destroy_sandbox(local_of(op->c), s->id, s->rec);
  if (s->rec) json_decref(s->rec);
  if (s->want_meta) json_decref(s->want_meta);
  if (s->page) json_decref(s->page);
  const sbx_allocator *a = sbx__alloc(op->c);
  sbx__free(a, s->template_dir);
  sbx__free(a, s->want_state);
  sbx__free(a, s->after);
  sbx__free(a, s->next_token);
}

/* ---- kinds and start calls --------------------------------------------------------------- */

static enum op_step_result step_init(struct sbx_op *op) {
  struct sbox_op *s = (struct sbox_op *)op;
  if (s->what == W_CREATE) return create_init(s);
  if (s->what == W_LIST) return list_init(s);
  return byid_init(s);
}
static enum op_step_result step_copy(struct sbx_op *op) {
  return create_copy((struct sbox_op *)op);
}
static enum op_step_result step_finish(struct sbx_op *op) {
  return create_finish((struct sbox_op *)op);
}
static enum op_step_result step_stop_wait(struct sbx_op *op) {
  return pause_wait((struct sbox_op *)op);
}
static enum op_step_result step_done(struct sbx_op *op) {
  return OP_WAIT;
}

static const op_step_fn steps[S_N] = {step_init, step_copy, step_finish, step_stop_wait, step_done};
static const uint32_t allowed_create[S_N] = {
    [S_INIT] = 1u << S_COPY_TEMPLATE | 1u << S_FINISH | 1u << S_DONE,
    [S_COPY_TEMPLATE] = 1u << S_FINISH | 1u << S_DONE,
    [S_FINISH] = 1u << S_DONE,
};
static const uint32_t allowed_simple[S_N] = {[S_INIT] = 1u << S_DONE};
static const uint32_t allowed_pause[S_N] = {
    [S_INIT] = 1u << S_STOP_WAIT | 1u << S_DONE, [S_STOP_WAIT] = 1u << S_DONE};

#define LOCAL_KIND(var, name, allowed)                                                             \
  static const struct op_kind var = {name,    S_N,    state_names, steps,                          \
                                     allowed, S_DONE, complete,    destroy}
LOCAL_KIND(kind_create, "local.create", allowed_create);
LOCAL_KIND(kind_connect, "local.connect", allowed_simple);
LOCAL_KIND(kind_info, "local.info", allowed_simple);
LOCAL_KIND(kind_kill, "local.kill", allowed_simple);
LOCAL_KIND(kind_pause, "local.pause", allowed_pause);
LOCAL_KIND(kind_timeout, "local.set_timeout", allowed_simple);
LOCAL_KIND(kind_list, "local.list", allowed_simple);

static struct sbox_op *start(sbx_client *c, const struct op_kind *kind, enum sbox_what what,
                             const char *id, void *ud, sbx_status *st) {
  struct sbox_op *s = (struct sbox_op *)sbx__op_new(c, kind, sizeof *s, ud, st);
  if (!s) return NULL;
  s->what = what;
  /* An id of another shape names no sandbox: the op reports "not found". */
  if (id) snprintf(s->id, sizeof s->id, "%s", local_valid_id(id) ? id : "(invalid id)");
  return s;
}

static int denies_all(const sbx_create_opts *o) {
  if (o->allow_internet == 0) return 1;
  for (size_t i = 0; i < o->n_deny_out; i++)
    if (o->deny_out[i] && strcmp(o->deny_out[i], "0.0.0.0/0") == 0) return 1;
  return 0;
}

static json_t *new_record(const sbx_create_opts *o, const char *tmpl) {
  double now = local_now();
  long t = o->timeout_s > 0 ? o->timeout_s : LOCAL_DEFAULT_TIMEOUT_S;
  json_t *rec = json_object(), *meta = kv_object(o->metadata, o->n_metadata),
         *envs = kv_object(o->envs, o->n_envs);
  /* Key order matters: the watchdog scans for the first "endAt" and "pgids",
   * so the fixed keys precede anything user-supplied. */
  if (!rec || !meta || !envs || json_object_set_new(rec, "sandboxID", json_string("")) ||
      json_object_set_new(rec, "state", json_string("running")) ||
      json_object_set_new(rec, "endAt", json_real(now + (double)t)) ||
      json_object_set_new(rec, "createdAt", json_real(now)) ||
      json_object_set_new(rec, "denyNet", json_boolean(denies_all(o))) ||
      json_object_set_new(rec, "watchdogPid", json_integer(0)) ||
      json_object_set_new(rec, "pgids", json_array()) ||
      json_object_set_new(rec, "templateID", json_string(tmpl)) ||
      json_object_set(rec, "metadata", meta) || json_object_set(rec, "envs", envs)) {
    if (rec) json_decref(rec);
    rec = NULL;
  }
  if (meta) json_decref(meta);
  if (envs) json_decref(envs);
  return rec;
}

sbx_status local_create(sbx_client *c, const sbx_create_opts *o, sbx_sandbox_cb cb, void *ud,
                        sbx_op_id *out) {
  const char *tmpl = o->template_id && *o->template_id ? o->template_id : "base";
  const sbx_allocator *a = sbx__alloc(c);
  json_t *rec = new_record(o, tmpl);
  char *tdir = strcmp(tmpl, "base") != 0 ? sbx__strdup(a, tmpl) : NULL;
  if (!rec || (strcmp(tmpl, "base") != 0 && !tdir)) {
    if (rec) json_decref(rec);
    sbx__free(a, tdir);
    return SBX_ENOMEM;
  }
  sbx_status st;
  struct sbox_op *s = start(c, &kind_create, W_CREATE, NULL, ud, &st);
  if (!s) {
    json_decref(rec);
    sbx__free(a, tdir);
    return st;
  }
  s->rec = rec;
  s->template_dir = tdir;
  if (o->n_allow_out > 0 && denies_all(o))
    s->refuse = "local: network allow-lists are not supported (only allow-all or deny-all)";
  else if (denies_all(o) && !local_of(c)->use_bwrap)
    s->refuse = "local: a deny-all network policy cannot be enforced without bubblewrap "
                "(bwrap is not installed or does not work here)";
  else if (o->auto_pause == 1)
    s->refuse = "local: auto_pause is not supported (a local sandbox is killed at its timeout)";
  s->scb = cb;
  *out = s->op.id;
  return SBX_OK;
}

static sbx_status start_byid(sbx_client *c, const struct op_kind *kind, enum sbox_what what,
                             const char *id, long timeout_s, sbx_sandbox_cb scb, sbx_done_cb dcb,
                             void *ud, sbx_op_id *out) {
  sbx_status st;
  struct sbox_op *s = start(c, kind, what, id, ud, &st);
  if (!s) return st;
  s->timeout_s = timeout_s;
  s->scb = scb;
  s->dcb = dcb;
  *out = s->op.id;
  return SBX_OK;
}

sbx_status local_connect(sbx_client *c, const char *id, long timeout_s, int legacy_v1,
                         sbx_sandbox_cb cb, void *ud, sbx_op_id *out) {
  return start_byid(c, &kind_connect, W_CONNECT, id, timeout_s, cb, NULL, ud, out);
}

sbx_status local_info(sbx_client *c, const char *id, sbx_sandbox_cb cb, void *ud, sbx_op_id *out) {
  return start_byid(c, &kind_info, W_INFO, id, 0, cb, NULL, ud, out);
}

sbx_status local_kill(sbx_client *c, const char *id, sbx_done_cb cb, void *ud, sbx_op_id *out) {
  return start_byid(c, &kind_kill, W_KILL, id, 0, NULL, cb, ud, out);
}

sbx_status local_pause(sbx_client *c, const char *id, sbx_done_cb cb, void *ud, sbx_op_id *out) {
  return start_byid(c, &kind_pause, W_PAUSE, id, 0, NULL, cb, ud, out);
}

sbx_status local_set_timeout(sbx_client *c, const char *id, long timeout_s, sbx_done_cb cb,
                             void *ud, sbx_op_id *out) {
  return start_byid(c, &kind_timeout, W_TIMEOUT, id, timeout_s, NULL, cb, ud, out);
}

sbx_status local_list(sbx_client *c, const sbx_list_opts *o, sbx_list_cb cb, void *ud,
                      sbx_op_id *out) {
  const sbx_allocator *a = sbx__alloc(c);
  json_t *meta = kv_object(o->metadata, o->n_metadata);
  char *state = o->state ? sbx__strdup(a, o->state) : NULL;
  char *after = o->next_token && *o->next_token ? sbx__strdup(a, o->next_token) : NULL;
  sbx_status st = SBX_ENOMEM;
  struct sbox_op *s = NULL;
  if (meta && (!o->state || state) && (!(o->next_token && *o->next_token) || after))
    s = start(c, &kind_list, W_LIST, NULL, ud, &st);
  if (!s) {
    if (meta) json_decref(meta);
    sbx__free(a, state);
    sbx__free(a, after);
    return st;
  }
  s->want_meta = meta;
  s->want_state = state;
  s->after = after;
  s->limit = o->limit;
  s->lcb = cb;
  *out = s->op.id;
  return SBX_OK;
}
