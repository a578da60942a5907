/* emu_fs.c - sandbox path resolution and EntryInfo JSON. */
#include "emu_fs.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Join, then clean lexically: "." dropped, ".." pops; -1 when it climbs above "/". */
static char *clean_path(const char *base, const char *rel) {
  size_t n = strlen(base) + strlen(rel) + 3;
  char *joined = malloc(n);
  char *out = malloc(n);
  if (!joined || !out) {
    free(joined);
    free(out);
    return NULL;
  }
  snprintf(joined, n, "%s/%s", base, rel);
  size_t o = 0;
  int bad = 0;
  char *save = NULL;
  for (char *seg = strtok_r(joined, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
    if (strcmp(seg, ".") == 0) continue;
    if (strcmp(seg, "..") == 0) {
      if (o == 0) {
        bad = 1;
        break;
      }
      while (o > 0 && out[o - 1] != '/')
        o--;
      if (o > 0) o--; /* the slash before it */
      continue;
    }
    out[o++] = '/';
    size_t l = strlen(seg);
    memcpy(out + o, seg, l);
    o += l;
  }
  free(joined);
  if (bad) {
    free(out);
    errno = EPERM;
    return NULL;
  }
  if (o == 0) out[o++] = '/';
  out[o] = '\0';
  return out;
}

int emu_fs_resolve(const struct emu_sandbox *sb, const char *path, const char *home,
                   struct emu_path *out, const char **why) {
  out->sb = out->host = NULL;
  const char *base = "/", *rel = path ? path : "";
  if (!*rel) {
    base = home;
  } else if (rel[0] == '~') {
    if (rel[1] != '\0' && rel[1] != '/') {
      *why = "invalid path: only ~ of the current user is supported";
      return -1;
    }
    base = home;
    rel = rel + 1;
  } else if (rel[0] != '/') {
    base = home;
  }
  errno = 0;
  out->sb = clean_path(base, rel);
  if (!out->sb) {
    *why = errno == EPERM ? "path escapes the sandbox root" : "out of memory";
    return -1;
  }
  out->host = emu_fs_host(sb, out->sb);
  if (!out->host) {
    emu_path_free(out);
    *why = "out of memory";
    return -1;
  }
  return 0;
}

static const char *const mount_at[EMU_N_MOUNTS] = {"/home/user", "/tmp", "/root"};
static const char *const mount_dir[EMU_N_MOUNTS] = {"home", "tmp", "root"};

int emu_fs_mount_local(struct emu_sandbox *sb, const char *local_root, const char *lid) {
  for (int i = 0; i < EMU_N_MOUNTS; i++) {
    size_t n = strlen(local_root) + strlen(lid) + strlen(mount_dir[i]) + 3;
    if (!(sb->mnt_host[i] = malloc(n))) return -1;
    snprintf(sb->mnt_host[i], n, "%s/%s/%s", local_root, lid, mount_dir[i]);
  }
  return 0;
}

/* The mount holding sb_path; -1 for none; *rest is the path below it. */
static int mount_of(const struct emu_sandbox *sb, const char *sb_path, const char **rest) {
  if (!sb->mnt_host[0]) return -1;
  for (int i = 0; i < EMU_N_MOUNTS; i++) {
    const char *at = i == 0 && sb->home_at ? sb->home_at : mount_at[i];
    size_t n = strlen(at);
    if (strncmp(sb_path, at, n) == 0 && (sb_path[n] == '\0' || sb_path[n] == '/')) {
      *rest = sb_path + n;
      return i;
    }
  }
  return -1;
}

char *emu_fs_host(const struct emu_sandbox *sb, const char *sb_path) {
  const char *rest = NULL;
  int m = mount_of(sb, sb_path, &rest);
  const char *base = m >= 0 ? sb->mnt_host[m] : sb->fs;
  if (m < 0) rest = strcmp(sb_path, "/") == 0 ? "" : sb_path;
  size_t n = strlen(base) + strlen(rest) + 1;
  char *host = malloc(n);
  if (host) snprintf(host, n, "%s%s", base, rest);
  return host;
}

int emu_fs_host_visible(const struct emu_sandbox *sb, const char *sb_path) {
  const char *rest = NULL;
  return sb->mnt_host[0] && mount_of(sb, sb_path, &rest) < 0;
}

int emu_fs_is_mount(const struct emu_sandbox *sb, const char *sb_path) {
  const char *rest = NULL;
  return mount_of(sb, sb_path, &rest) >= 0 && rest[0] == '\0';
}

void emu_path_free(struct emu_path *p) {
  free(p->sb);
  free(p->host);
  p->sb = p->host = NULL;
}

static int under(const char *path, const char *root) {
  size_t n = strlen(root);
  return strncmp(path, root, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int emu_fs_inside(const struct emu_sandbox *sb, const char *host, int follow_last) {
  char root[PATH_MAX], real[PATH_MAX];
  const char *top = sb->fs; /* the tree host was mapped into: a mount's, or fs */
  for (int i = 0; i < EMU_N_MOUNTS && sb->mnt_host[i]; i++)
    if (under(host, sb->mnt_host[i])) top = sb->mnt_host[i];
  if (!realpath(top, root)) return 0;
  /* the top itself (a home listed as "." or "/home/daytona") is inside */
  if (realpath(host, real) && strcmp(real, root) == 0) return 1;
  char *probe = strdup(host);
  if (!probe) return 0;
  if (!follow_last) {
    char *slash = strrchr(probe, '/');
    if (slash && slash != probe) *slash = '\0';
  }
  /* walk up to the deepest existing ancestor */
  int ok = 0;
  for (;;) {
    if (realpath(probe, real)) {
      ok = under(real, root);
      break;
    }
    if (errno != ENOENT && errno != ENOTDIR) break;
    char *slash = strrchr(probe, '/');
    if (!slash || slash == probe) break;
    *slash = '\0';
  }
  free(probe);
  return ok;
}

void emu_fs_mode_string(mode_t mode, char *out) {
  static const char rwx[] = "rwxrwxrwx";
  char t = '-';
  if (S_ISDIR(mode))
    t = 'd';
  else if (S_ISLNK(mode))
    t = 'L';
  else if (S_ISFIFO(mode))
    t = 'p';
  else if (S_ISSOCK(mode))
    t = 'S';
  else if (S_ISCHR(mode))
    t = 'c';
  else if (S_ISBLK(mode))
    t = 'D';
  out[0] = t;
  for (int i = 0; i < 9; i++)
    out[i + 1] = mode & (1u << (8 - i)) ? rwx[i] : '-';
  out[10] = '\0';
}

json_t *emu_fs_entry(const char *sb_path, const char *host, const struct stat *st) {
  const char *name = strrchr(sb_path, '/');
  name = name && name[1] ? name + 1 : sb_path;
  const char *type = S_ISDIR(st->st_mode)   ? "FILE_TYPE_DIRECTORY"
                     : S_ISLNK(st->st_mode) ? "FILE_TYPE_SYMLINK"
                     : S_ISREG(st->st_mode) ? "FILE_TYPE_FILE"
                                            : "FILE_TYPE_UNSPECIFIED";
  char perms[12], size[24], mtime[48], owner[32], group[32];
  emu_fs_mode_string(st->st_mode, perms);
  snprintf(size, sizeof size, "%lld", (long long)st->st_size);
  emu_rfc3339_ns(st->st_mtim.tv_sec, st->st_mtim.tv_nsec, mtime, sizeof mtime);
  struct passwd pw, *pwp = NULL;
  struct group gr, *grp = NULL;
  char buf[1024];
  if (getpwuid_r(st->st_uid, &pw, buf, sizeof buf, &pwp) == 0 && pwp)
    snprintf(owner, sizeof owner, "%s", pwp->pw_name);
  else
    snprintf(owner, sizeof owner, "%u", (unsigned)st->st_uid);
  if (getgrgid_r(st->st_gid, &gr, buf, sizeof buf, &grp) == 0 && grp)
    snprintf(group, sizeof group, "%s", grp->gr_name);
  else
    snprintf(group, sizeof group, "%u", (unsigned)st->st_gid);
  json_t *e = json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:s,s:s}", "name", name, "type", type, "path",
                        sb_path, "size", size, "mode", (int)(st->st_mode & 0777), "permissions",
                        perms, "owner", owner, "group", group, "modifiedTime", mtime);
  if (e && S_ISLNK(st->st_mode)) {
    char target[PATH_MAX];
    ssize_t n = readlink(host, target, sizeof target - 1);
    if (n >= 0) {
      target[n] = '\0';
      json_object_set_new(e, "symlinkTarget", json_string(target));
    }
  }
  return e;
}

int emu_fs_mkparent(const char *host) {
  char *dir = strdup(host);
  if (!dir) return -1;
  char *slash = strrchr(dir, '/');
  int rc = 0;
  if (slash && slash != dir) {
    *slash = '\0';
    rc = emu_mkdir_p(dir);
  }
  free(dir);
  return rc;
}
