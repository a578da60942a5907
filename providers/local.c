/* local.c - the local provider: its root directory, the bubblewrap probe and
 * the vtable. A sandbox is a directory under the root (see local.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "local.h"

/* mkdir -p with mode 0700 for each created level. */
static int mkdir_p(const char *path) {
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
    errno = ENAMETOOLONG;
    return -1;
  }
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, 0700) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  if (mkdir(buf, 0700) != 0 && errno != EEXIST) return -1;
  struct stat st;
  if (stat(buf, &st) != 0) return -1;
  if (!S_ISDIR(st.st_mode)) {
    errno = ENOTDIR;
    return -1;
  }
  return 0;
}

/* The root path from a (NULL when out of memory). */
static char *pick_root(const sbx_allocator *a, const sbx_config *cfg) {
  const char *env = cfg->local_root ? cfg->local_root
                    : cfg->use_env  ? getenv("SBX_LOCAL_ROOT")
                                    : NULL;
  char *r = NULL;
  if (env && *env) {
    r = sbx__strdup(a, env);
  } else {
    const char *xdg = cfg->use_env ? getenv("XDG_RUNTIME_DIR") : NULL;
    r = xdg && *xdg ? sbx__asprintf(a, "%s/sbx", xdg)
                    : sbx__asprintf(a, "/tmp/sbx-%ld", (long)getuid());
  }
  if (!r) return NULL;
  size_t len = strlen(r);
  while (len > 1 && r[len - 1] == '/')
    r[--len] = 0;
  return r;
}

/* Run bwrap once (a blocking child wait, at client creation only); userns
 * adds --unshare-user --uid 0, which some kernels refuse to unprivileged
 * users. */
static int bwrap_probe(const char *bin, int userns) {
  const char *argv[] = {bin,
                        "--ro-bind",
                        "/",
                        "/",
                        "--dev",
                        "/dev",
                        "--proc",
                        "/proc",
                        "--unshare-pid",
                        "--unshare-user",
                        "--uid",
                        "0",
                        "--gid",
                        "0",
                        "true",
                        NULL};
  if (!userns) argv[9] = "true", argv[10] = NULL;
  pid_t pid = local_spawn_quiet(bin, argv);
  if (pid < 0) return 0;
  int st = 0;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return 0;
  return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* One probe where user namespaces work, a second only where they do not. */
static void probe_bwrap(struct local_state *s) {
  char bin[PATH_MAX];
  if (local_find_on_path("bwrap", bin, sizeof bin) != 0) return;
  s->bwrap_userns = bwrap_probe(bin, 1);
  s->use_bwrap = s->bwrap_userns || bwrap_probe(bin, 0);
}

static void local_destroy(struct sbx_client *c) {
  struct local_state *s = local_of(c);
  if (!s) return;
  local_exec_shutdown(c);
  sbx__free(s->a, s->root);
  sbx__free(s->a, s);
  c->prov_state = NULL;
}

static int local_init(struct sbx_client *c, const sbx_config *cfg, char *errbuf, size_t errlen) {
  const sbx_allocator *a = sbx__alloc(c);
  struct local_state *s = SBX_NEW(a, struct local_state);
  if (!s) return SBX_ENOMEM;
  s->a = a;
  s->root = pick_root(a, cfg);
  if (!s->root) {
    sbx__free(a, s);
    return SBX_ENOMEM;
  }
  if (mkdir_p(s->root) != 0) {
    if (errbuf && errlen)
      snprintf(errbuf, errlen, "local: cannot create the root directory %s: %s", s->root,
               strerror(errno));
    sbx__free(a, s->root);
    sbx__free(a, s);
    return SBX_EINVAL;
  }
  probe_bwrap(s);
  c->prov_state = s;
  return 0;
}

const struct sbx_provider sbx__provider_local = {
    .name = "local",
    .init = local_init,
    .destroy = local_destroy,
    .create = local_create,
    .connect = local_connect,
    .info = local_info,
    .kill = local_kill,
    .pause = local_pause,
    .set_timeout = local_set_timeout,
    .list = local_list,
    .exec_start = local_exec_start,
    .exec_connect = local_exec_connect,
    .signal = local_signal,
    .write_stdin = local_write_stdin,
    .close_stdin = local_close_stdin,
    .file_write = local_file_write,
    .file_write_many = local_file_write_many,
    .file_read = local_file_read,
    .fs = local_fs,
};
