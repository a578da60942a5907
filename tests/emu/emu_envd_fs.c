/* emu_envd_fs.c - filesystem.Filesystem unary RPCs: Stat, ListDir, MakeDir,
 * Remove, Move, and a WatchDir that reports no events. Errors are Connect codes with their HTTP
 * status. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emu_app.h"
#include "emu_fs.h"
#include "emu_stream.h"

#define LISTDIR_MAX_ENTRIES 100000

/* Resolve a JSON path field; answers the error itself and returns -1. */
static int resolve_field(struct emu_req *req, struct emu_sandbox *sb, json_t *body,
                         const char *field, struct emu_path *p, int follow_last) {
  const char *home;
  emu_rpc_user(req, &home);
  const char *path = json_string_value(json_object_get(body, field));
  const char *why = NULL;
  if (emu_fs_resolve(sb, path ? path : "", home, p, &why) < 0) {
    emu_connect_error(req, "invalid_argument", "%s", why);
    return -1;
  }
  if (!emu_fs_inside(sb, p->host, follow_last)) {
    emu_connect_error(req, "permission_denied", "path '%s' escapes the sandbox", p->sb);
    emu_path_free(p);
    return -1;
  }
  return 0;
}

static void reply_entry(struct emu_req *req, const struct emu_path *p) {
  struct stat st;
  if (lstat(p->host, &st) < 0) {
    emu_connect_error(req, "not_found", "file not found: %s", p->sb);
    return;
  }
  emu_reply_json(req, 200, json_pack("{s:o}", "entry", emu_fs_entry(p->sb, p->host, &st)), NULL, 0);
}

static char *join(const char *a, const char *b) {
  size_t n = strlen(a) + strlen(b) + 2;
  char *s = malloc(n);
  if (s) snprintf(s, n, "%s%s%s", a, strcmp(a, "/") == 0 ? "" : "/", b);
  return s;
}

/* Append the entries of dir (depth levels) to arr; -1 on no memory. Each
 * entry is mapped on its own: a mount point leads into its mount. */
static int list_into(const struct emu_sandbox *sb, json_t *arr, const char *sb_dir,
                     const char *host_dir, unsigned depth) {
  struct dirent **names = NULL;
  int n = scandir(host_dir, &names, NULL, alphasort);
  if (n < 0) return 0; /* unreadable subdirectory: skip, as a walk would */
  int rc = 0;
  for (int i = 0; i < n; i++) {
    const char *name = names[i]->d_name;
    if (rc == 0 && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
        json_array_size(arr) < LISTDIR_MAX_ENTRIES) {
      char *sbp = join(sb_dir, name), *hp = sbp ? emu_fs_host(sb, sbp) : NULL;
      struct stat st;
      if (!sbp || !hp) {
        rc = -1;
      } else if (lstat(hp, &st) == 0) {
        json_t *e = emu_fs_entry(sbp, hp, &st);
        if (e) json_array_append_new(arr, e);
        if (S_ISDIR(st.st_mode) && depth > 1) rc = list_into(sb, arr, sbp, hp, depth - 1);
      }
      free(sbp);
      free(hp);
    }
    free(names[i]);
  }
  free(names);
  return rc;
}

static void rpc_list_dir(struct emu_req *req, struct emu_sandbox *sb, json_t *body) {
  struct emu_path p;
  if (resolve_field(req, sb, body, "path", &p, 1) < 0) return;
  json_int_t depth = json_integer_value(json_object_get(body, "depth"));
  if (depth < 1) depth = 1;
  if (depth > 64) depth = 64;
  struct stat st;
  if (stat(p.host, &st) < 0) {
    emu_connect_error(req, "not_found", "path '%s' does not exist", p.sb);
  } else if (!S_ISDIR(st.st_mode)) {
    emu_connect_error(req, "invalid_argument", "path '%s' is not a directory", p.sb);
  } else {
    json_t *arr = json_array();
    if (!arr || list_into(sb, arr, p.sb, p.host, (unsigned)depth) < 0) {
      json_decref(arr);
      emu_connect_error(req, "internal", "out of memory");
    } else {
      emu_reply_json(req, 200, json_pack("{s:o}", "entries", arr), NULL, 0);
    }
  }
  emu_path_free(&p);
}

static void rpc_make_dir(struct emu_req *req, struct emu_sandbox *sb, json_t *body) {
  struct emu_path p;
  if (resolve_field(req, sb, body, "path", &p, 1) < 0) return;
  struct stat st;
  if (stat(p.host, &st) == 0) {
    if (S_ISDIR(st.st_mode))
      emu_connect_error(req, "already_exists", "directory '%s' already exists", p.sb);
    else
      emu_connect_error(req, "invalid_argument", "path '%s' exists and is not a directory", p.sb);
  } else if (emu_mkdir_p(p.host) < 0) {
    emu_connect_error(req, "internal", "cannot create directory '%s': %s", p.sb, strerror(errno));
  } else {
    reply_entry(req, &p);
  }
  emu_path_free(&p);
}

static void rpc_remove(struct emu_req *req, struct emu_sandbox *sb, json_t *body) {
  struct emu_path p;
  if (resolve_field(req, sb, body, "path", &p, 0) < 0) return;
  if (strcmp(p.sb, "/") == 0 || strcmp(p.sb, "/home") == 0 || strcmp(p.sb, "/tmp") == 0 ||
      emu_fs_is_mount(sb, p.sb))
    emu_connect_error(req, "permission_denied", "cannot remove '%s'", p.sb);
  else if (emu_rm_rf(p.host) < 0)
    emu_connect_error(req, "internal", "cannot remove '%s': %s", p.sb, strerror(errno));
  else
    emu_reply_json(req, 200, json_object(), NULL, 0);
  emu_path_free(&p);
}

static void rpc_move(struct emu_req *req, struct emu_sandbox *sb, json_t *body) {
  struct emu_path src, dst;
  if (resolve_field(req, sb, body, "source", &src, 0) < 0) return;
  if (resolve_field(req, sb, body, "destination", &dst, 0) < 0) {
    emu_path_free(&src);
    return;
  }
  struct stat st;
  if (lstat(src.host, &st) < 0)
    emu_connect_error(req, "not_found", "source '%s' does not exist", src.sb);
  else if (emu_fs_is_mount(sb, src.sb))
    emu_connect_error(req, "permission_denied", "cannot move '%s'", src.sb);
  else if (emu_fs_mkparent(dst.host) < 0 || rename(src.host, dst.host) < 0)
    emu_connect_error(req, "internal", "cannot move '%s' to '%s': %s", src.sb, dst.sb,
                      strerror(errno));
  else
    reply_entry(req, &dst);
  emu_path_free(&src);
  emu_path_free(&dst);
}

static void rpc_stat(struct emu_req *req, struct emu_sandbox *sb, json_t *body) {
  struct emu_path p;
  if (resolve_field(req, sb, body, "path", &p, 0) < 0) return;
  reply_entry(req, &p);
  emu_path_free(&p);
}

static const char ka_watch[] = "{\"keepalive\":{}}";

/* WatchDir: start, then keepalives until the deadline; no file events. */
static void rpc_watch_dir(struct emu_req *req, struct emu_sandbox *sb) {
  json_t *msg = emu_stream_request(req);
  struct emu_stream *st = emu_stream_open(sb->app, req, ka_watch);
  if (!st) {
    json_decref(msg);
    return;
  }
  const char *home;
  emu_rpc_user(req, &home);
  const char *path = json_string_value(json_object_get(msg, "path"));
  struct emu_path p;
  const char *why = NULL;
  struct stat s;
  if (!msg || emu_fs_resolve(sb, path ? path : "", home, &p, &why) < 0) {
    json_decref(msg);
    emu_stream_finish(st, "invalid_argument", "%s", why ? why : "invalid request");
    return;
  }
  json_decref(msg);
  if (stat(p.host, &s) < 0)
    emu_stream_finish(st, "not_found", "path '%s' does not exist", p.sb);
  else if (!S_ISDIR(s.st_mode))
    emu_stream_finish(st, "invalid_argument", "path '%s' is not a directory", p.sb);
  else if (emu_stream_send(st, "{\"start\":{}}") == 0) {
    int64_t ms = emu_header_ms(req, "connect-timeout-ms");
    if (ms > 0) emu_stream_set_deadline(st, (double)ms / 1000.0);
  }
  emu_path_free(&p);
}

void emu_fs_rpc(struct emu_req *req, struct emu_sandbox *sb, const char *method) {
  const char *ctype = emu_req_header(req, "content-type");
  if (strcmp(method, "WatchDir") == 0) {
    if (!ctype || strncmp(ctype, "application/connect+json", 24) != 0) {
      emu_connect_error(req, "unimplemented", "streams need application/connect+json");
      return;
    }
    rpc_watch_dir(req, sb);
    return;
  }
  if (!ctype || strncmp(ctype, "application/json", 16) != 0) {
    emu_connect_error(req, "unimplemented", "only the Connect JSON codec is supported");
    return;
  }
  json_t *body = emu_req_json(req);
  if (!body) {
    emu_connect_error(req, "invalid_argument", "request is not a JSON object");
    return;
  }
  if (strcmp(method, "Stat") == 0)
    rpc_stat(req, sb, body);
  else if (strcmp(method, "ListDir") == 0)
    rpc_list_dir(req, sb, body);
  else if (strcmp(method, "MakeDir") == 0)
    rpc_make_dir(req, sb, body);
  else if (strcmp(method, "Remove") == 0)
    rpc_remove(req, sb, body);
  else if (strcmp(method, "Move") == 0)
    rpc_move(req, sb, body);
  else
    emu_connect_error(req, "unimplemented", "filesystem.Filesystem/%s is not implemented", method);
  json_decref(body);
}
