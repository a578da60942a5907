/* emu_fs.h - sandbox paths: a sandbox path P lives at <root>/<id>/fs/P on
 * the host, except, in real mode, under the mounts /home/user, /tmp and
 * /root: those are the local sandbox's home, tmp and root dirs, as its
 * processes see them. Resolution (~, relative to home, .. clamped to the
 * sandbox) and the EntryInfo JSON of envd's filesystem service. */
#ifndef SBX_EMU_FS_H
#define SBX_EMU_FS_H

#include <jansson.h>
#include <sys/stat.h>

#include "emu_app.h"

struct emu_path {
  char *sb;   /* cleaned absolute sandbox path */
  char *host; /* the same on the host */
};

/* Resolve path for a user whose home is home ("" means home). 0, or -1 with
 * *why: a path escaping the sandbox, "~other", or no memory. */
int emu_fs_resolve(const struct emu_sandbox *sb, const char *path, const char *home,
                   struct emu_path *out, const char **why);
void emu_path_free(struct emu_path *p);
/* Real mode: mount the local sandbox <local_root>/<lid>. 0, or -1 on no memory. */
int emu_fs_mount_local(struct emu_sandbox *sb, const char *local_root, const char *lid);
/* The host path of a clean sandbox path; malloc'd, NULL on no memory. */
char *emu_fs_host(const struct emu_sandbox *sb, const char *sb_path);
/* Real mode: is the clean sandbox path outside the mounts, where processes
 * see the host (read-only under bubblewrap)? */
int emu_fs_host_visible(const struct emu_sandbox *sb, const char *sb_path);
/* Is the clean sandbox path a mount point (never removed or moved)? */
int emu_fs_is_mount(const struct emu_sandbox *sb, const char *sb_path);
/* Does the host path stay inside the sandbox once symlinks are followed?
 * follow_last 0 checks only its parent directory (for lstat-like calls). */
int emu_fs_inside(const struct emu_sandbox *sb, const char *host, int follow_last);
/* EntryInfo for sb_path (name is its last component). NULL on no memory. */
json_t *emu_fs_entry(const char *sb_path, const char *host, const struct stat *st);
/* Go's FileMode.String() for st_mode ("-rw-r--r--", "drwxr-xr-x"); out >= 12. */
void emu_fs_mode_string(mode_t mode, char *out);
/* mkdir -p the parent directory of a host path. */
int emu_fs_mkparent(const char *host);

#endif
