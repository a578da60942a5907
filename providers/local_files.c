/* local_files.c - files of a local sandbox: write, read (streamed in chunks,
 * yielding to the loop between bursts), list, stat, mkdir, remove, move.
 * Every sandbox path goes through local_resolve, which keeps it inside the
 * sandbox; final components are opened with O_NOFOLLOW. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "local.h"
#include "small_file.h"

#define CHUNK (64u << 10)
#define BURST (4u << 20) /* bytes read per step before yielding to the loop */
#define MAX_DEPTH 64

enum fwhat { F_WRITE, F_READ, F_LIST, F_STAT, F_MKDIR, F_REMOVE, F_MOVE };
static const char *const fverbs[] = {"write", "read", "list", "stat", "mkdir", "remove", "move"};

/* write/fs: INIT -> DONE; read: INIT -> READING (re-armed by a zero timer) -> DONE. */
enum { S_INIT, S_READING, S_DONE, S_N };
static const char *const state_names[S_N] = {"INIT", "READING", "DONE"};

struct ents {
  const sbx_allocator *a; /* the client's: the array and every string */
  sbx_file_entry *v;
  size_t n, cap;
};

struct file_op {
  struct sbx_op op;
  enum fwhat what;
  char id[32];
  char *path, *path2; /* as given */
  int depth;
  sbx_entries_cb ecb;
  sbx_done_cb dcb;
  struct ents ents;
  /* write */
  char *data;
  size_t len;
  char *local_path;
  sbx_upload *many; /* write_many: paths and copied data, written in turn */
  size_t n_many;
  /* read */
  void (*on_data)(sbx_client *c, sbx_op_id op, const char *data, size_t len, void *ud);
  uint64_t max_bytes, total;
  int src, dst;
  char *part; /* local_path + ".sbx-part", removed unless renamed */
  char *buf;
};

static struct file_op *fop(struct sbx_op *op) {
  return (struct file_op *)op;
}

static enum op_step_result finish(struct file_op *f) {
  op_set_state(&f->op, S_DONE);
  return OP_NEXT;
}

/* "local: read '/home/user/x': no such file[: detail]" */
static enum op_step_result fail(struct file_op *f, int status, const char *msg,
                                const char *detail) {
  sbx__op_fail(&f->op, status, "local: %s '%.200s': %s%s%s", fverbs[f->what], f->path, msg,
               detail ? ": " : "", detail ? detail : "");
  return finish(f);
}

/* ---- entries ----------------------------------------------------------------------- */

/* Go's FileMode.String(): type letters (or '-') then rwxrwxrwx. */
static void perm_string(mode_t m, char *out) {
  char *p = out;
  if (S_ISDIR(m)) *p++ = 'd';
  if (S_ISLNK(m)) *p++ = 'L';
  if (S_ISBLK(m) || S_ISCHR(m)) *p++ = 'D';
  if (S_ISFIFO(m)) *p++ = 'p';
  if (S_ISSOCK(m)) *p++ = 'S';
  if (m & S_ISUID) *p++ = 'u';
  if (m & S_ISGID) *p++ = 'g';
  if (S_ISCHR(m)) *p++ = 'c';
  if (m & S_ISVTX) *p++ = 't';
  if (p == out) *p++ = '-';
  static const char rwx[] = "rwxrwxrwx";
  for (int i = 0; i < 9; i++)
    *p++ = (m & (1u << (8 - i))) ? rwx[i] : '-';
  *p = 0;
}

static char *owner_name(const sbx_allocator *a, uid_t uid) {
  char buf[1024];
  struct passwd pw, *res = NULL;
  if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res) return sbx__strdup(a, res->pw_name);
  return sbx__asprintf(a, "%lu", (unsigned long)uid);
}

static char *group_name(const sbx_allocator *a, gid_t gid) {
  char buf[1024];
  struct group gr, *res = NULL;
  if (getgrgid_r(gid, &gr, buf, sizeof buf, &res) == 0 && res) return sbx__strdup(a, res->gr_name);
  return sbx__asprintf(a, "%lu", (unsigned long)gid);
}

static void entry_free(const sbx_allocator *a, sbx_file_entry *e) {
  sbx__free(a, (char *)e->name);
  sbx__free(a, (char *)e->path);
  sbx__free(a, (char *)e->permissions);
  sbx__free(a, (char *)e->owner);
  sbx__free(a, (char *)e->group);
  sbx__free(a, (char *)e->modified_time);
  sbx__free(a, (char *)e->symlink_target);
}

static void ents_free(struct ents *es) {
  for (size_t i = 0; i < es->n; i++)
    entry_free(es->a, &es->v[i]);
  sbx__free(es->a, es->v);
  es->v = NULL;
  es->n = es->cap = 0;
}

/* Append the entry of host (not followed), shown as spath. 0, -1 with errno
 * (ENOMEM when out of memory). */
static int ents_add(struct ents *es, const char *host, const char *spath) {
  const sbx_allocator *a = es->a;
  struct stat st;
  if (lstat(host, &st) != 0) return -1;
  if (es->n == es->cap) {
    size_t cap = es->cap ? es->cap * 2 : 8;
    sbx_file_entry *v = sbx__realloc(a, es->v, cap * sizeof *v);
    if (!v) return errno = ENOMEM, -1;
    es->v = v;
    es->cap = cap;
  }
  sbx_file_entry *e = &es->v[es->n];
  memset(e, 0, sizeof *e);
  const char *slash = strrchr(spath, '/');
  char perms[16], mtime[40];
  perm_string(st.st_mode, perms);
  local_rfc3339((double)st.st_mtime, mtime, sizeof mtime);
  e->name = sbx__strdup(a, slash && slash[1] ? slash + 1 : spath);
  e->path = sbx__strdup(a, spath);
  e->type = S_ISREG(st.st_mode)   ? SBX_FILE_REGULAR
            : S_ISDIR(st.st_mode) ? SBX_FILE_DIR
            : S_ISLNK(st.st_mode) ? SBX_FILE_SYMLINK
                                  : SBX_FILE_UNKNOWN;
  e->size = (int64_t)st.st_size;
  e->mode = (uint32_t)(st.st_mode & 07777);
  e->permissions = sbx__strdup(a, perms);
  e->owner = owner_name(a, st.st_uid);
  e->group = group_name(a, st.st_gid);
  e->modified_time = sbx__strdup(a, mtime);
  int ok = e->name && e->path && e->permissions && e->owner && e->group && e->modified_time;
  if (ok && S_ISLNK(st.st_mode)) {
    char target[PATH_MAX];
    ssize_t n = readlink(host, target, sizeof target - 1);
    target[n > 0 ? n : 0] = 0;
    ok = (e->symlink_target = sbx__strdup(a, target)) != NULL;
  }
  if (!ok) {
    entry_free(a, e);
    return errno = ENOMEM, -1;
  }
  es->n++;
  return 0;
}

static int not_dots(const struct dirent *d) {
  return strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0;
}

/* depth levels below host, names sorted, symlinked dirs not entered. */
static int list_dir(struct ents *es, const char *host, const char *spath, int level, int depth) {
  struct dirent **names = NULL;
  int n = scandir(host, &names, not_dots, alphasort);
  if (n < 0) return -1;
  int rc = 0, err = 0;
  for (int i = 0; i < n; i++) {
    char *ch = NULL, *cs = NULL;
    if (rc == 0 && (!(ch = sbx__asprintf(es->a, "%s/%s", host, names[i]->d_name)) ||
                    !(cs = sbx__asprintf(es->a, "%s/%s", spath, names[i]->d_name)))) {
      errno = ENOMEM;
      rc = -1;
    }
    if (rc == 0 && ents_add(es, ch, cs) != 0 && errno != ENOENT) rc = -1;
    if (rc == 0 && level < depth && es->n && es->v[es->n - 1].type == SBX_FILE_DIR &&
        strcmp(es->v[es->n - 1].path, cs) == 0)
      rc = list_dir(es, ch, cs, level + 1, depth);
    if (rc != 0 && !err) err = errno; /* the frees below may change errno */
    sbx__free(es->a, ch);
    sbx__free(es->a, cs);
    free(names[i]); /* libc-owned */
  }
  free(names); /* libc-owned */
  if (rc != 0) errno = err;
  return rc;
}

/* ---- helpers ------------------------------------------------------------------------- */

/* mkdir -p of host (its sandbox prefix already exists and was checked). */
static int mkdir_p(const char *host) {
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof buf, "%s", host) >= (int)sizeof buf) return errno = ENAMETOOLONG, -1;
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
  struct stat st;
  if (lstat(buf, &st) != 0) return -1;
  return S_ISDIR(st.st_mode) ? 0 : (errno = ENOTDIR, -1);
}

static int mkdir_parent(const char *host) {
  char buf[PATH_MAX];
  snprintf(buf, sizeof buf, "%s", host);
  char *slash = strrchr(buf, '/');
  if (!slash || slash == buf) return 0;
  *slash = 0;
  return mkdir_p(buf);
}

static int status_of_errno(int err) {
  switch (err) {
  case ENOENT:
  case ENOTDIR: return SBX_ENOTFOUND;
  case ELOOP:
  case EISDIR:
  case EINVAL: return SBX_EINVAL;
  case ENOMEM: return SBX_ENOMEM;
  case EEXIST:
  case ENOTEMPTY: return SBX_ECONFLICT;
  default: return SBX_EIO;
  }
}

static const char *reason(int err) {
  return err == ELOOP ? "is a symlink (not followed)" : strerror(err);
}

/* The sandbox exists, is running, and path maps into it. */
static int prepare(struct file_op *f, const char *path, char *host, char *spath) {
  struct local_state *s = local_of(f->op.c);
  struct sbx_errinfo e;
  sbx_errinfo_clear(&e);
  struct local_sandbox sb;
  if (local_sandbox_load(s, f->id, &sb, &e) != 0) {
    if (e.status == SBX_ENOTFOUND)
      return sbx__op_fail(&f->op, SBX_ENOTFOUND, "local: %s '%.200s': sandbox %s not found",
                          fverbs[f->what], path, f->id);
    return sbx__op_fail_info(&f->op, &e);
  }
  int paused = strcmp(sb.state, "paused") == 0;
  local_sandbox_release(&sb);
  if (paused)
    return sbx__op_fail(&f->op, SBX_ECONFLICT,
                        "local: %s '%.200s': sandbox %s is paused; resume it first",
                        fverbs[f->what], path, f->id);
  if (local_resolve(s, f->id, path, host, PATH_MAX, spath, PATH_MAX, &e) != 0) {
    sbx_errinfo_prefix(&e, "local: %s", fverbs[f->what]);
    return sbx__op_fail_info(&f->op, &e);
  }
  return 0;
}

/* ---- write ---------------------------------------------------------------------------- */

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static enum op_step_result write_one(struct file_op *f) {
  char host[PATH_MAX], spath[PATH_MAX];
  if (prepare(f, f->path, host, spath) != 0) return finish(f);
  int src = -1;
  if (f->local_path && (src = open(f->local_path, O_RDONLY | O_CLOEXEC)) < 0)
    return fail(f, SBX_EIO, "cannot open the local file", f->local_path);
  if (mkdir_parent(host) != 0) {
    int err = errno;
    if (src >= 0) close(src);
    return fail(f, status_of_errno(err) == SBX_ENOTFOUND ? SBX_EINVAL : SBX_EIO,
                "cannot create its directory", reason(err));
  }
  int dst = open(host, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (dst < 0) {
    int err = errno;
    if (src >= 0) close(src);
    return fail(f, err == ELOOP || err == EISDIR ? SBX_EINVAL : SBX_EIO, "cannot open",
                reason(err));
  }
  int rc = 0, err = 0;
  if (src < 0) {
    rc = write_all(dst, f->data ? f->data : "", f->len);
    err = errno;
  } else {
    /* Local to local: a plain copy loop in this step is fine. */
    char *buf = sbx__malloc(sbx__alloc(f->op.c), CHUNK);
    ssize_t n = buf ? 0 : -1;
    while (buf && (n = read(src, buf, CHUNK)) != 0) {
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 || write_all(dst, buf, (size_t)n) != 0) break;
    }
    rc = n == 0 ? 0 : -1;
    err = buf ? errno : ENOMEM;
    sbx__free(sbx__alloc(f->op.c), buf);
    close(src);
  }
  if (close(dst) != 0 && rc == 0) rc = -1, err = errno;
  if (rc != 0 && err == ENOMEM) return fail(f, SBX_ENOMEM, "out of memory", NULL);
  if (rc != 0) return fail(f, SBX_EIO, "write failed", strerror(err));
  if (ents_add(&f->ents, host, spath) != 0) {
    err = errno;
    return fail(f, err == ENOMEM ? SBX_ENOMEM : SBX_EIO, "stat", strerror(err));
  }
  return finish(f);
}

/* One file, or each of write_many's in turn (f->path names the current one
 * in messages); the first failure ends the op. */
static enum op_step_result write_init(struct file_op *f) {
  if (!f->many) return write_one(f);
  /* every path is checked before anything is written */
  for (size_t i = 0; i < f->n_many; i++) {
    char host[PATH_MAX], spath[PATH_MAX];
    char *p = sbx__strdup(sbx__alloc(f->op.c), f->many[i].path);
    if (!p) {
      sbx__op_fail(&f->op, SBX_ENOMEM, "local: write: out of memory");
      return finish(f);
    }
    sbx__free(sbx__alloc(f->op.c), f->path);
    f->path = p;
    if (prepare(f, f->path, host, spath) != 0) return finish(f);
  }
  for (size_t i = 0; i < f->n_many; i++) {
    sbx__free(sbx__alloc(f->op.c), f->path);
    f->path = (char *)f->many[i].path;
    f->many[i].path = NULL;
    f->data = (char *)f->many[i].data;
    f->many[i].data = NULL;
    f->len = f->many[i].len;
    write_one(f);
    sbx__free(sbx__alloc(f->op.c), f->data);
    f->data = NULL;
    if (f->op.err) break;
  }
  return finish(f);
}

/* ---- read ------------------------------------------------------------------------------ */

static enum op_step_result read_init(struct file_op *f) {
  char host[PATH_MAX], spath[PATH_MAX];
  if (prepare(f, f->path, host, spath) != 0) return finish(f);
  f->src = open(host, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (f->src < 0) {
    int err = errno;
    return fail(f, status_of_errno(err), err == ENOENT ? "no such file" : "cannot open",
                err == ENOENT ? NULL : reason(err));
  }
  struct stat st;
  if (fstat(f->src, &st) != 0 || !S_ISREG(st.st_mode))
    return fail(f, SBX_EINVAL, "not a regular file", NULL);
  if (f->max_bytes && (uint64_t)st.st_size > f->max_bytes) {
    sbx__op_fail(&f->op, SBX_ETOOBIG, "local: read '%.200s': %lld bytes exceed the cap of %llu",
                 f->path, (long long)st.st_size, (unsigned long long)f->max_bytes);
    return finish(f);
  }
  const sbx_allocator *a = sbx__alloc(f->op.c);
  if (!(f->buf = sbx__malloc(a, CHUNK))) return fail(f, SBX_ENOMEM, "out of memory", NULL);
  if (f->local_path) {
    if (!(f->part = sbx__asprintf(a, "%s.sbx-part", f->local_path)))
      return fail(f, SBX_ENOMEM, "out of memory", NULL);
    f->dst = open(f->part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (f->dst < 0) {
      int err = errno;
      sbx__free(a, f->part); /* nothing was created */
      f->part = NULL;
      return fail(f, SBX_EIO, "cannot create the local file", strerror(err));
    }
  }
  op_set_state(&f->op, S_READING);
  sbx__op_timer_start(&f->op, 0);
  return OP_WAIT;
}

static enum op_step_result read_more(struct file_op *f) {
  if (!op_take(&f->op, OP_EV_TIMER)) return OP_WAIT;
  for (size_t done = 0; done < BURST;) {
    ssize_t n = read(f->src, f->buf, CHUNK);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(f, SBX_EIO, "read failed", strerror(errno));
    if (n == 0) {
      if (f->dst >= 0) {
        int rc = close(f->dst);
        f->dst = -1;
        if (rc != 0 || rename(f->part, f->local_path) != 0)
          return fail(f, SBX_EIO, "cannot write the local file", strerror(errno));
        sbx__free(sbx__alloc(f->op.c), f->part);
        f->part = NULL;
      }
      return finish(f);
    }
    f->total += (uint64_t)n;
    done += (size_t)n;
    if (f->max_bytes && f->total > f->max_bytes) {
      sbx__op_fail(&f->op, SBX_ETOOBIG, "local: read '%.200s': more than the cap of %llu bytes",
                   f->path, (unsigned long long)f->max_bytes);
      return finish(f);
    }
    if (f->dst >= 0) {
      if (write_all(f->dst, f->buf, (size_t)n) != 0)
        return fail(f, SBX_EIO, "cannot write the local file", strerror(errno));
    } else {
      f->on_data(f->op.c, f->op.id, f->buf, (size_t)n, f->op.ud);
      /* Cancelled or client freed from inside the callback: stop delivering. */
      if ((f->op.events & (OP_EV_CANCEL | OP_EV_CLOSE | OP_EV_DEADLINE)) || f->op.c->free_requested)
        return OP_NEXT;
    }
  }
  sbx__op_timer_start(&f->op, 0); /* let the loop breathe, then go on */
  return OP_WAIT;
}

/* ---- fs ----------------------------------------------------------------------------------- */

static int is_base(const char *spath) {
  return strcmp(spath, LOCAL_HOME) == 0 || strcmp(spath, "/tmp") == 0 ||
         strcmp(spath, LOCAL_ROOT_HOME) == 0;
}

static enum op_step_result fs_init(struct file_op *f) {
  char host[PATH_MAX], spath[PATH_MAX];
  if (prepare(f, f->path, host, spath) != 0) return finish(f);
  struct stat st;
  int exists = lstat(host, &st) == 0;
  switch (f->what) {
  case F_STAT:
    if (!exists) return fail(f, SBX_ENOTFOUND, "no such file or directory", NULL);
    if (ents_add(&f->ents, host, spath) != 0)
      return fail(f, status_of_errno(errno), "stat", strerror(errno));
    break;
  case F_LIST:
    if (!exists) return fail(f, SBX_ENOTFOUND, "no such directory", NULL);
    if (!S_ISDIR(st.st_mode)) return fail(f, SBX_EINVAL, "not a directory", NULL);
    if (list_dir(&f->ents, host, spath, 1, f->depth > MAX_DEPTH ? MAX_DEPTH : f->depth) != 0)
      return fail(f, status_of_errno(errno), "cannot list", strerror(errno));
    break;
  case F_MKDIR:
    if (exists) return fail(f, SBX_ECONFLICT, "already exists", NULL);
    if (mkdir_p(host) != 0) return fail(f, SBX_EIO, "cannot create", reason(errno));
    if (ents_add(&f->ents, host, spath) != 0)
      return fail(f, errno == ENOMEM ? SBX_ENOMEM : SBX_EIO, "cannot create", reason(errno));
    break;
  case F_REMOVE:
    if (is_base(spath)) return fail(f, SBX_EINVAL, "refusing to remove a sandbox root", NULL);
    if (local_remove_tree(host) != 0) return fail(f, SBX_EIO, "cannot remove", strerror(errno));
    break;
  case F_MOVE: {
    char host2[PATH_MAX], spath2[PATH_MAX];
    if (!exists) return fail(f, SBX_ENOTFOUND, "no such file or directory", NULL);
    if (is_base(spath)) return fail(f, SBX_EINVAL, "refusing to move a sandbox root", NULL);
    if (prepare(f, f->path2, host2, spath2) != 0) return finish(f);
    if (mkdir_parent(host2) != 0 || rename(host, host2) != 0) {
      int err = errno;
      sbx__op_fail(&f->op, status_of_errno(err) == SBX_ENOTFOUND ? SBX_EIO : status_of_errno(err),
                   "local: move '%.200s' to '%.200s': %s", f->path, f->path2, strerror(err));
      return finish(f);
    }
    if (ents_add(&f->ents, host2, spath2) != 0)
      return fail(f, errno == ENOMEM ? SBX_ENOMEM : SBX_EIO, "stat", strerror(errno));
    break;
  }
  default: break;
  }
  return finish(f);
}

/* ---- kinds ------------------------------------------------------------------------------ */

static enum op_step_result step_init(struct sbx_op *op) {
  struct file_op *f = fop(op);
  op_take(op, OP_EV_START);
  if (f->what == F_WRITE) return write_init(f);
  if (f->what == F_READ) return read_init(f);
  return fs_init(f);
}
static enum op_step_result step_reading(struct sbx_op *op) {
  return read_more(fop(op));
}
static enum op_step_result step_done(struct sbx_op *op) {
  return OP_WAIT;
}

static void complete(struct sbx_op *op, const sbx_error *err) {
  struct file_op *f = fop(op);
  if (f->dcb)
    f->dcb(op->c, op->id, err, op->ud);
  else
    f->ecb(op->c, op->id, err, err ? NULL : f->ents.v, err ? 0 : f->ents.n, op->ud);
}

static void destroy(struct sbx_op *op) {
  struct file_op *f = fop(op);
  if (f->src >= 0) close(f->src);
  if (f->dst >= 0) close(f->dst);
  if (f->part) unlink(f->part); /* no partial file on error or cancel */
  ents_free(&f->ents);
  const sbx_allocator *a = sbx__alloc(op->c);
  sbx__free(a, f->part);
  sbx__free(a, f->buf);
  sbx__free(a, f->path);
  sbx__free(a, f->path2);
  sbx__free(a, f->data);
  sbx__free(a, f->local_path);
  for (size_t i = 0; i < f->n_many; i++) {
    sbx__free(a, (char *)f->many[i].path);
    sbx__free(a, (void *)f->many[i].data);
  }
  sbx__free(a, f->many);
}

static const op_step_fn steps[S_N] = {step_init, step_reading, step_done};
static const uint32_t allowed_read[S_N] = {
    [S_INIT] = 1u << S_READING | 1u << S_DONE, [S_READING] = 1u << S_DONE};
static const uint32_t allowed_simple[S_N] = {[S_INIT] = 1u << S_DONE};

#define FILE_KIND(var, name, allowed)                                                              \
  static const struct op_kind var = {name,    S_N,    state_names, steps,                          \
                                     allowed, S_DONE, complete,    destroy}
FILE_KIND(kind_write, "local.file_write", allowed_simple);
FILE_KIND(kind_read, "local.file_read", allowed_read);
FILE_KIND(kind_fs, "local.fs", allowed_simple);

static struct file_op *start(sbx_client *c, const struct op_kind *kind, enum fwhat what,
                             const char *id, const char *path, void *ud, sbx_status *st) {
  char *p = sbx__strdup(sbx__alloc(c), path);
  if (!p) {
    *st = SBX_ENOMEM;
    return NULL;
  }
  struct file_op *f = (struct file_op *)sbx__op_new(c, kind, sizeof *f, ud, st);
  if (!f) {
    sbx__free(sbx__alloc(c), p);
    return NULL;
  }
  f->what = what;
  f->path = p;
  f->ents.a = sbx__alloc(c);
  f->src = f->dst = -1;
  /* An id of another shape names no sandbox: the op reports "not found". */
  snprintf(f->id, sizeof f->id, "%s", local_valid_id(id) ? id : "(invalid id)");
  return f;
}

sbx_status local_file_write(sbx_client *c, const char *id, const sbx_upload *up, sbx_entries_cb cb,
                            void *ud, sbx_op_id *out) {
  const sbx_allocator *a = sbx__alloc(c);
  char *data = NULL, *lp = NULL;
  if (up->local_path && !(lp = sbx__strdup(a, up->local_path))) return SBX_ENOMEM;
  if (!up->local_path && up->len && !(data = sbx__malloc(a, up->len))) return SBX_ENOMEM;
  if (data) memcpy(data, up->data, up->len);
  sbx_status st;
  struct file_op *f = start(c, &kind_write, F_WRITE, id, up->path, ud, &st);
  if (!f) {
    sbx__free(a, data);
    sbx__free(a, lp);
    return st;
  }
  f->data = data;
  f->len = up->len;
  f->local_path = lp;
  f->ecb = cb;
  *out = f->op.id;
  return SBX_OK;
}

sbx_status local_file_write_many(sbx_client *c, const char *id, const sbx_upload *ups, size_t n,
                                 sbx_entries_cb cb, void *ud, sbx_op_id *out) {
  const sbx_allocator *a = sbx__alloc(c);
  sbx_upload *many = sbx__calloc(a, n, sizeof *many);
  sbx_status st = many ? SBX_OK : SBX_ENOMEM;
  for (size_t i = 0; st == SBX_OK && i < n; i++) {
    size_t len = ups[i].len;
    char *data = ups[i].local_path ? sbx__read_small_file(a, ups[i].local_path, &len)
                                   : sbx__malloc(a, len + 1);
    int read_err = !data && ups[i].local_path && errno != ENOMEM; /* before errno changes */
    char *path = sbx__strdup(a, ups[i].path);
    if (data && !ups[i].local_path && len) memcpy(data, ups[i].data, len);
    many[i] = (sbx_upload){.path = path, .data = data, .len = len};
    if (!data || !path) st = read_err ? SBX_EIO : SBX_ENOMEM;
  }
  struct file_op *f = NULL;
  if (st == SBX_OK) f = start(c, &kind_write, F_WRITE, id, ups[0].path, ud, &st);
  if (!f) {
    for (size_t i = 0; many && i < n; i++) {
      sbx__free(a, (char *)many[i].path);
      sbx__free(a, (void *)many[i].data);
    }
    sbx__free(a, many);
    return st;
  }
  f->many = many;
  f->n_many = n;
  f->ecb = cb;
  *out = f->op.id;
  return SBX_OK;
}

sbx_status local_file_read(sbx_client *c, const char *id, const sbx_download *dl, sbx_done_cb cb,
                           void *ud, sbx_op_id *out) {
  char *lp = dl->local_path ? sbx__strdup(sbx__alloc(c), dl->local_path) : NULL;
  if (dl->local_path && !lp) return SBX_ENOMEM;
  sbx_status st;
  struct file_op *f = start(c, &kind_read, F_READ, id, dl->path, ud, &st);
  if (!f) {
    sbx__free(sbx__alloc(c), lp);
    return st;
  }
  f->local_path = lp;
  f->on_data = dl->on_data;
  f->max_bytes = dl->max_bytes;
  f->dcb = cb;
  *out = f->op.id;
  return SBX_OK;
}

sbx_status local_fs(sbx_client *c, const char *id, int fs_op, const char *path, const char *path2,
                    int depth, sbx_entries_cb ecb, sbx_done_cb dcb, void *ud, sbx_op_id *out) {
  static const enum fwhat map[] = {[SBX_FS_LIST] = F_LIST,
                                   [SBX_FS_STAT] = F_STAT,
                                   [SBX_FS_MKDIR] = F_MKDIR,
                                   [SBX_FS_REMOVE] = F_REMOVE,
                                   [SBX_FS_MOVE] = F_MOVE};
  if (fs_op < 0 || fs_op > SBX_FS_MOVE) return SBX_EINVAL;
  char *p2 = path2 ? sbx__strdup(sbx__alloc(c), path2) : NULL;
  if (path2 && !p2) return SBX_ENOMEM;
  sbx_status st;
  struct file_op *f = start(c, &kind_fs, map[fs_op], id, path, ud, &st);
  if (!f) {
    sbx__free(sbx__alloc(c), p2);
    return st;
  }
  f->path2 = p2;
  f->depth = depth;
  f->ecb = ecb;
  f->dcb = ecb ? NULL : dcb;
  *out = f->op.id;
  return SBX_OK;
}
