/* daytona_parse.c - pure encoders and decoders of the Daytona wire format
 * (no I/O, unit-tested in tests/unit/test_daytona_*.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../protocol/json_util.h"
#include "daytona.h"
#include "prov_util.h"
#include "small_file.h"

const char *dt_public_state(const char *state) {
  if (!state) return "";
  if (strcmp(state, "started") == 0) return "running";
  if (strcmp(state, "stopped") == 0) return "paused";
  return state;
}

static int contains_ci(const char *s, size_t n, const char *needle) {
  size_t k = strlen(needle);
  for (size_t i = 0; s && i + k <= n; i++)
    if (strncasecmp(s + i, needle, k) == 0) return 1;
  return 0;
}

/* The proxy answers 400 "failed to resolve container IP ... Is the Sandbox
 * started?" or 502 while a sandbox is stopping or stopped (protocol 4.1). */
int dt_says_not_started(int http_status, const char *body, size_t len) {
  if (http_status != 400 && http_status != 502) return 0;
  return contains_ci(body, len, "not started") || contains_ci(body, len, "sandbox started") ||
         contains_ci(body, len, "is not running") || contains_ci(body, len, "container IP");
}

long dt_minutes(long seconds) {
  long m = (seconds + 59) / 60;
  return m < 1 ? 1 : m;
}

long dt_backoff_ms(int n, long first_ms, long max_ms) {
  long ms = first_ms;
  for (int i = 0; i < n && ms < max_ms; i++)
    ms = ms * 3 / 2;
  return ms > max_ms ? max_ms : ms;
}

/* ---- sandbox info ---------------------------------------------------------------- */

static const char *str_or_empty(const json_t *o, const char *key) {
  const char *v = sbx_json_str(o, key);
  return v ? v : "";
}

json_t *dt_list_items(json_t *doc) {
  json_t *items = json_is_array(doc) ? doc : json_object_get(doc, "items");
  return json_is_array(items) ? items : NULL;
}

int dt_info_from_json(const sbx_allocator *a, const json_t *o, struct sbx_info_view *v) {
  memset(v, 0, sizeof *v);
  if (!json_is_object(o) || !sbx_json_str(o, "id")) return SBX_EPROTO;
  v->info.id = sbx_json_str(o, "id");
  v->info.template_id = str_or_empty(o, "snapshot");
  v->info.state = dt_public_state(sbx_json_str(o, "state"));
  v->info.envd_version = str_or_empty(o, "daemonVersion");
  v->info.started_at = str_or_empty(o, "createdAt");
  v->info.end_at = "";
  v->info.cpu_count = (int)sbx_json_int(o, "cpu", 0);
  v->info.memory_mb = (int)sbx_json_int(o, "memory", 0) * 1024; /* GiB */
  return sbx__info_view_meta(a, v, json_object_get(o, "labels"));
}

/* ---- create ------------------------------------------------------------------------ */

static json_t *kv_object(const sbx_kv *kv, size_t n) {
  json_t *o = json_object();
  for (size_t i = 0; o && i < n; i++)
    if (kv[i].key && kv[i].value) json_object_set_new(o, kv[i].key, json_string(kv[i].value));
  return o;
}

static char *refuse(sbx_status *st, sbx_status code, char *err, size_t errlen, const char *msg) {
  *st = code;
  if (err && errlen) snprintf(err, errlen, "%s", msg);
  return NULL;
}

/* Lifetime: the sandbox stops after timeout_s (rounded up to minutes) without
 * activity, and with auto_pause unset/0 a stopped sandbox is deleted at once
 * (autoDeleteInterval 0); auto_pause=1 keeps it stopped (Daytona's pause). */
char *dt_create_body(const sbx_allocator *a, const sbx_create_opts *o, const char *target,
                     sbx_status *st, char *err, size_t errlen) {
  if (o->n_deny_out)
    return refuse(st, SBX_ENOTSUP, err, errlen,
                  "daytona: deny_out is not supported (use allow_internet=0 with allow_out)");
  if (o->disk_gb > DT_MAX_DISK_GB)
    return refuse(st, SBX_EINVAL, err, errlen,
                  "daytona: disk_gb is over the per-sandbox limit of 10 GB");
  if (o->cpu < 0 || o->memory_gb < 0 || o->disk_gb < 0)
    return refuse(st, SBX_EINVAL, err, errlen, "daytona: negative cpu, memory_gb or disk_gb");
  int custom_tmpl = o->template_id && *o->template_id && strcmp(o->template_id, "base") != 0;
  int image = o->image && *o->image;
  if (image && custom_tmpl)
    return refuse(st, SBX_EINVAL, err, errlen,
                  "daytona: give a snapshot (template_id) or an image, not both");
  if (!image && (o->cpu || o->memory_gb || o->disk_gb || o->gpu))
    return refuse(st, SBX_ENOTSUP, err, errlen,
                  "daytona: cpu, gpu, memory_gb and disk_gb need an image (a snapshot fixes them)");
  for (size_t i = 0; i < o->n_volumes; i++)
    if (!o->volumes[i].key || !*o->volumes[i].key || !o->volumes[i].value ||
        o->volumes[i].value[0] != '/')
      return refuse(st, SBX_EINVAL, err, errlen,
                    "daytona: every volume needs an id and an absolute mount path");
  *st = SBX_ENOMEM;
  json_t *b = json_object();
  if (!b) return NULL;
  if (custom_tmpl) json_object_set_new(b, "snapshot", json_string(o->template_id));
  if (image) {
    char *df = sbx__asprintf(a, "FROM %s\n", o->image);
    if (!df) {
      json_decref(b);
      return NULL;
    }
    json_t *bi = json_object();
    json_object_set_new(bi, "dockerfileContent", json_string(df));
    json_object_set_new(b, "buildInfo", bi);
    sbx__free(a, df);
    if (o->cpu) json_object_set_new(b, "cpu", json_integer(o->cpu));
    if (o->memory_gb) json_object_set_new(b, "memory", json_integer(o->memory_gb));
    if (o->disk_gb) json_object_set_new(b, "disk", json_integer(o->disk_gb));
    if (o->gpu) json_object_set_new(b, "gpu", json_integer(o->gpu));
  }
  if (o->os_user && *o->os_user) json_object_set_new(b, "user", json_string(o->os_user));
  if (o->public_previews == 0 || o->public_previews == 1)
    json_object_set_new(b, "public", json_boolean(o->public_previews));
  if (o->auto_archive_minutes)
    json_object_set_new(b, "autoArchiveInterval", json_integer(o->auto_archive_minutes));
  if (o->n_volumes) {
    json_t *vols = json_array();
    for (size_t i = 0; i < o->n_volumes; i++)
      json_array_append_new(vols, json_pack("{s:s,s:s}", "volumeId", o->volumes[i].key, "mountPath",
                                            o->volumes[i].value));
    json_object_set_new(b, "volumes", vols);
  }
  json_object_set_new(b, "labels", kv_object(o->metadata, o->n_metadata));
  json_object_set_new(b, "env", kv_object(o->envs, o->n_envs));
  if (target && *target) json_object_set_new(b, "target", json_string(target));
  if (o->allow_internet == 0) json_object_set_new(b, "networkBlockAll", json_true());
  if (o->n_allow_out) {
    size_t len = 1;
    for (size_t i = 0; i < o->n_allow_out; i++)
      len += strlen(o->allow_out[i] ? o->allow_out[i] : "") + 1;
    char *list = sbx__calloc(a, 1, len);
    if (!list) {
      json_decref(b);
      return NULL;
    }
    for (size_t i = 0; i < o->n_allow_out; i++) {
      if (!o->allow_out[i] || !*o->allow_out[i]) continue;
      if (*list) strcat(list, ",");
      strcat(list, o->allow_out[i]);
    }
    json_object_set_new(b, "networkAllowList", json_string(list));
    sbx__free(a, list);
  }
  long lifetime = o->timeout_s > 0 ? o->timeout_s : 300;
  json_object_set_new(b, "autoStopInterval", json_integer(dt_minutes(lifetime)));
  if (o->auto_delete_minutes)
    json_object_set_new(b, "autoDeleteInterval", json_integer(o->auto_delete_minutes));
  else if (o->auto_pause != 1)
    json_object_set_new(b, "autoDeleteInterval", json_integer(0));
  char *s = sbx_json_dump(a, b, NULL);
  json_decref(b);
  if (s) *st = SBX_OK;
  return s;
}

/* ---- queries --------------------------------------------------------------------- */

/* labels is one JSON object, URL-encoded (daytona-protocol.md 3.4); the
 * public states map back: running -> started, paused -> stopped. */
char *dt_list_query(const sbx_allocator *a, const sbx_list_opts *o) {
  struct sbx_str q;
  sbx_str_init(&q, a);
  char sep = '?';
  if (o->next_token && *o->next_token) {
    sbx_str_addf(&q, "%ccursor=", sep), sep = '&';
    sbx_str_url_encode(&q, o->next_token);
  }
  sbx_str_addf(&q, "%climit=%d", sep, o->limit > 0 ? o->limit : 100), sep = '&';
  if (o->n_metadata) {
    /* No filter would list every sandbox: a labels string that cannot be
     * made fails the query. */
    json_t *labels = kv_object(o->metadata, o->n_metadata);
    char *js = labels ? sbx_json_dump(a, labels, NULL) : NULL;
    json_decref(labels);
    if (!js) {
      sbx_str_free(&q);
      return NULL;
    }
    sbx_str_adds(&q, "&labels=");
    sbx_str_url_encode(&q, js);
    sbx__free(a, js);
  }
  if (o->state && *o->state) {
    if (strstr(o->state, "running")) sbx_str_adds(&q, "&states=started");
    if (strstr(o->state, "paused")) sbx_str_adds(&q, "&states=stopped");
  }
  return sbx_str_take(&q, NULL);
}

char *dt_files_query(const sbx_allocator *a, const char *sub, const char *k1, const char *v1,
                     const char *k2, const char *v2) {
  struct sbx_str q;
  sbx_str_init(&q, a);
  sbx_str_addf(&q, "/files%s?%s=", sub, k1);
  sbx_str_url_encode(&q, v1);
  if (k2) {
    sbx_str_addf(&q, "&%s=", k2);
    sbx_str_url_encode(&q, v2);
  }
  return sbx_str_take(&q, NULL);
}

/* 'it'\''s' quoting: safe for any byte but NUL. */
char *dt_join_argv(const sbx_allocator *a, const char *const *argv) {
  struct sbx_str s;
  sbx_str_init(&s, a);
  for (size_t i = 0; argv[i]; i++) {
    if (i) sbx_str_adds(&s, " ");
    sbx_str_adds(&s, "'");
    for (const char *p = argv[i]; *p; p++)
      if (*p == '\'')
        sbx_str_adds(&s, "'\\''");
      else
        sbx_str_add(&s, p, 1);
    sbx_str_adds(&s, "'");
  }
  return sbx_str_take(&s, NULL);
}

/* ---- FileInfo --------------------------------------------------------------------- */

/* "0644" (or "644") as octal; 0 when absent or not octal. */
static uint32_t octal(const char *s) {
  uint32_t v = 0;
  for (; s && *s; s++) {
    if (*s < '0' || *s > '7') return 0;
    v = v * 8 + (uint32_t)(*s - '0');
  }
  return v;
}

static void fill_entry(sbx_file_entry *f, const json_t *o) {
  f->name = str_or_empty(o, "name");
  f->type = sbx_json_bool(o, "isDir", 0) ? SBX_FILE_DIR : SBX_FILE_REGULAR;
  const char *mode = sbx_json_str(o, "mode"); /* "-rw-r--r--" */
  if (mode && mode[0] == 'l') f->type = SBX_FILE_SYMLINK;
  f->size = sbx_json_int64(o, "size", 0);
  f->mode = octal(sbx_json_str(o, "permissions"));
  f->permissions = mode ? mode : "";
  f->owner = str_or_empty(o, "owner");
  f->group = str_or_empty(o, "group");
  const char *mt = sbx_json_str(o, "modifiedAt");
  f->modified_time = mt ? mt : str_or_empty(o, "modTime");
  f->symlink_target = NULL;
}

/* The entry's path: the reply's "path", else dir + "/" + name. */
static char *entry_path(const sbx_allocator *a, const json_t *o, const char *dir,
                        const char *name) {
  const char *p = sbx_json_str(o, "path");
  if (p && *p) return sbx__strdup(a, p);
  if (!dir || !*dir) return sbx__strdup(a, name);
  size_t dl = strlen(dir);
  return sbx__asprintf(a, "%.*s/%s", (int)(dl > 1 && dir[dl - 1] == '/' ? dl - 1 : dl), dir, name);
}

int dt_entries_fill(const sbx_allocator *a, const json_t *v, const char *dir,
                    struct dt_entries *out) {
  memset(out, 0, sizeof *out);
  out->a = a;
  if (!json_is_object(v) && !json_is_array(v)) return SBX_EPROTO;
  size_t n = json_is_object(v) ? 1 : json_array_size(v);
  if (n == 0) return 0;
  out->items = sbx__calloc(a, n, sizeof *out->items);
  out->paths = sbx__calloc(a, n, sizeof *out->paths);
  if (!out->items || !out->paths) {
    dt_entries_free(out);
    return SBX_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    const json_t *o = json_is_object(v) ? v : json_array_get(v, i);
    if (!json_is_object(o)) {
      dt_entries_free(out);
      return SBX_EPROTO;
    }
    out->n = i + 1;
    fill_entry(&out->items[i], o);
    if (!(out->paths[i] = entry_path(a, o, dir, out->items[i].name))) {
      dt_entries_free(out);
      return SBX_ENOMEM;
    }
    out->items[i].path = out->paths[i];
  }
  return 0;
}

void dt_entries_free(struct dt_entries *e) {
  const sbx_allocator *a = e->a;
  for (size_t i = 0; e->paths && i < e->n; i++)
    sbx__free(a, e->paths[i]);
  sbx__free(a, e->paths);
  sbx__free(a, e->items);
  memset(e, 0, sizeof *e);
  e->a = a;
}

/* ---- multipart --------------------------------------------------------------------- */

void dt_part_head(struct sbx_str *body, const char *boundary, size_t i, const char *path) {
  const char *base = strrchr(path, '/');
  base = base && base[1] ? base + 1 : path;
  sbx_str_addf(
      body,
      "--%s\r\nContent-Disposition: form-data; name=\"files[%zu].path\"\r\n\r\n%s\r\n"
      "--%s\r\nContent-Disposition: form-data; name=\"files[%zu].file\"; filename=\"%s\"\r\n"
      "Content-Type: application/octet-stream\r\n\r\n",
      boundary, i, path, boundary, i, base);
}

char *dt_multipart_body(const sbx_allocator *a, const char *boundary, const sbx_upload *ups,
                        size_t n, size_t *len, sbx_status *st) {
  return sbx__multipart_body(a, boundary, ups, n, dt_part_head, len, st);
}

/* ---- labels, snapshots --------------------------------------------------------------- */

char *dt_path_escape(const sbx_allocator *a, const char *s) {
  struct sbx_str out;
  sbx_str_init(&out, a);
  sbx_str_url_encode(&out, s);
  return sbx_str_take(&out, NULL);
}

/* Parts of [A-Za-z0-9._:-] joined by single slashes (the API's rule). */
int dt_valid_ref(const char *s) {
  if (!s || !*s || *s == '/' || strlen(s) > 255) return 0;
  for (const char *p = s; *p; p++) {
    int part = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
               *p == '.' || *p == '_' || *p == '-' || *p == ':';
    if (!part && !(*p == '/' && p[1] && p[1] != '/')) return 0;
  }
  return 1;
}

char *dt_labels_body(const sbx_allocator *a, const sbx_kv *labels, size_t n) {
  json_t *b = json_object();
  if (!b || json_object_set_new(b, "labels", kv_object(labels, n)) < 0) {
    json_decref(b);
    return NULL;
  }
  char *s = sbx_json_dump(a, b, NULL);
  json_decref(b);
  return s;
}

/* Images need a pinned tag or a digest: a moving "latest" is refused. */
static const char *image_problem(const char *img) {
  if (strpbrk(img, " \t\r\n")) return "has whitespace";
  if (strstr(img, "@sha256:")) return NULL;
  const char *tag = strrchr(img, ':'), *slash = strrchr(img, '/');
  if (!tag || (slash && tag < slash) || !tag[1]) return "needs a tag (e.g. python:3.12-slim)";
  if (strcmp(tag, ":latest") == 0) return "has the tag latest (pin a version instead)";
  return NULL;
}

char *dt_snapshot_body(const sbx_allocator *a, const sbx_snapshot_opts *o, const char *target,
                       sbx_status *st, char *err, size_t errlen) {
  char why[256];
  const char *img = image_problem(o->image);
  if (!dt_valid_ref(o->name)) {
    snprintf(why, sizeof why,
             "daytona: snapshot name '%.100s' is not valid (letters, digits, '.', '_', '-', ':' "
             "and single '/' between parts)",
             o->name);
    return refuse(st, SBX_EINVAL, err, errlen, why);
  }
  if (img) {
    snprintf(why, sizeof why, "daytona: snapshot image '%.100s' %s", o->image, img);
    return refuse(st, SBX_EINVAL, err, errlen, why);
  }
  if (o->disk_gb > DT_MAX_DISK_GB)
    return refuse(st, SBX_EINVAL, err, errlen,
                  "daytona: snapshot disk_gb is over the per-sandbox limit of 10 GB");
  if (o->cpu < 0 || o->memory_gb < 0 || o->disk_gb < 0)
    return refuse(st, SBX_EINVAL, err, errlen, "daytona: negative cpu, memory_gb or disk_gb");
  *st = SBX_ENOMEM;
  json_t *b = json_pack("{s:s,s:s}", "name", o->name, "imageName", o->image);
  if (!b) return NULL;
  if (o->entrypoint && o->entrypoint[0]) {
    json_t *ep = json_array();
    for (size_t i = 0; ep && o->entrypoint[i]; i++)
      json_array_append_new(ep, json_string(o->entrypoint[i]));
    json_object_set_new(b, "entrypoint", ep);
  }
  if (o->cpu) json_object_set_new(b, "cpu", json_integer(o->cpu));
  if (o->memory_gb) json_object_set_new(b, "memory", json_integer(o->memory_gb));
  if (o->disk_gb) json_object_set_new(b, "disk", json_integer(o->disk_gb));
  if (target && *target) json_object_set_new(b, "regionId", json_string(target));
  char *s = sbx_json_dump(a, b, NULL);
  json_decref(b);
  if (s) *st = SBX_OK;
  return s;
}

int dt_snapshot_from_json(const json_t *o, sbx_snapshot_info *out) {
  memset(out, 0, sizeof *out);
  if (!json_is_object(o) || !sbx_json_str(o, "id") || !sbx_json_str(o, "name")) return SBX_EPROTO;
  out->id = sbx_json_str(o, "id");
  out->name = sbx_json_str(o, "name");
  out->state = str_or_empty(o, "state");
  out->image = str_or_empty(o, "imageName");
  const json_t *size = json_object_get(o, "size");
  out->size_gb = json_is_number(size) ? json_number_value(size) : -1;
  out->error_reason = str_or_empty(o, "errorReason");
  out->created_at = str_or_empty(o, "createdAt");
  out->cpu = (int)sbx_json_int(o, "cpu", 0);
  out->memory_gb = (int)sbx_json_int(o, "mem", 0);
  out->disk_gb = (int)sbx_json_int(o, "disk", 0);
  out->general = sbx_json_bool(o, "general", 0);
  return 0;
}
