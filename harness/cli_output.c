/* cli_output.c - JSON lines, tables and key: value blocks for `sbx`. */
#include "cli_output.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Length of the valid UTF-8 sequence at s (at most len bytes), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t len) {
  unsigned c = s[0];
  size_t n;
  unsigned min;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf)
    n = 2, min = 0x80;
  else if (c >= 0xe0 && c <= 0xef)
    n = 3, min = 0x800;
  else if (c >= 0xf0 && c <= 0xf4)
    n = 4, min = 0x10000;
  else
    return 0;
  if (len < n) return 0;
  unsigned cp = c & (0x7f >> n);
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

json_t *out_jstrn(const char *s, size_t len) {
  if (!s) return json_null();
  json_t *j = json_stringn(s, len);
  if (j) return j;
  /* Not UTF-8 (or has NULs jansson refuses): replace the bad bytes. */
  char *buf = cli_xmalloc(len * 3 + 1);
  size_t o = 0;
  const unsigned char *u = (const unsigned char *)s;
  for (size_t i = 0; i < len;) {
    size_t n = utf8_seq(u + i, len - i);
    if (n && u[i] != 0) {
      memcpy(buf + o, u + i, n);
      o += n;
      i += n;
    } else {
      memcpy(buf + o, "\xef\xbf\xbd", 3);
      o += 3;
      i++;
    }
  }
  j = json_stringn(buf, o);
  free(buf);
  return j ? j : json_null();
}

json_t *out_jstr(const char *s) {
  return s ? out_jstrn(s, strlen(s)) : json_null();
}

void out_json_line(json_t *obj) {
  if (!obj) return;
  char *s = json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(12));
  json_decref(obj);
  if (!s) return;
  fputs(s, stdout);
  fputc('\n', stdout);
  free(s);
}

void out_ok_json(const char *cmd, const char *id) {
  json_t *o = json_object();
  json_object_set_new(o, "ok", json_true());
  json_object_set_new(o, "command", out_jstr(cmd));
  json_object_set_new(o, "id", out_jstr(id));
  out_json_line(o);
}

void out_one_line(char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f) *s = ' ';
}

static json_t *kv_object(const sbx_kv *kv, size_t n) {
  json_t *o = json_object();
  for (size_t i = 0; i < n; i++)
    if (kv[i].key) json_object_set_new(o, kv[i].key, out_jstr(kv[i].value));
  return o;
}

json_t *out_sandbox_json(const sbx_sandbox_info *info) {
  json_t *o = json_object();
  json_object_set_new(o, "id", out_jstr(info->id));
  json_object_set_new(o, "template_id", out_jstr(info->template_id));
  json_object_set_new(o, "state", out_jstr(info->state));
  json_object_set_new(o, "envd_version", out_jstr(info->envd_version));
  json_object_set_new(o, "started_at", out_jstr(info->started_at));
  json_object_set_new(o, "end_at", out_jstr(info->end_at));
  json_object_set_new(o, "cpu_count", json_integer(info->cpu_count));
  json_object_set_new(o, "memory_mb", json_integer(info->memory_mb));
  json_object_set_new(o, "metadata", kv_object(info->metadata, info->n_metadata));
  return o;
}

json_t *out_snapshot_json(const sbx_snapshot_info *s) {
  return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:i,s:i,s:i,s:b}", "id", out_jstr(s->id), "name",
                   out_jstr(s->name), "state", out_jstr(s->state), "image", out_jstr(s->image),
                   "size_gb", s->size_gb < 0 ? json_null() : json_real(s->size_gb), "error_reason",
                   out_jstr(s->error_reason), "created_at", out_jstr(s->created_at), "cpu", s->cpu,
                   "memory_gb", s->memory_gb, "disk_gb", s->disk_gb, "general", s->general);
}

const char *out_file_type(int type) {
  switch (type) {
  case SBX_FILE_REGULAR: return "file";
  case SBX_FILE_DIR: return "dir";
  case SBX_FILE_SYMLINK: return "link";
  default: return "unknown";
  }
}

json_t *out_entry_json(const sbx_file_entry *e) {
  json_t *o = json_object();
  json_object_set_new(o, "name", out_jstr(e->name));
  json_object_set_new(o, "path", out_jstr(e->path));
  json_object_set_new(o, "type", json_string(out_file_type(e->type)));
  json_object_set_new(o, "size", json_integer(e->size));
  json_object_set_new(o, "mode", json_integer(e->mode));
  json_object_set_new(o, "permissions", out_jstr(e->permissions));
  json_object_set_new(o, "owner", out_jstr(e->owner));
  json_object_set_new(o, "group", out_jstr(e->group));
  json_object_set_new(o, "modified_time", out_jstr(e->modified_time));
  json_object_set_new(o, "symlink_target", out_jstr(e->symlink_target));
  return o;
}

char *out_metadata_text(const sbx_kv *kv, size_t n) {
  size_t len = 1;
  for (size_t i = 0; i < n; i++)
    len += strlen(kv[i].key ? kv[i].key : "") + strlen(kv[i].value ? kv[i].value : "") + 2;
  char *s = cli_xmalloc(len);
  size_t o = 0;
  for (size_t i = 0; i < n; i++)
    o += (size_t)snprintf(s + o, len - o, "%s%s=%s", i ? "," : "", kv[i].key ? kv[i].key : "",
                          kv[i].value ? kv[i].value : "");
  s[o] = '\0';
  return s;
}

/* Terminal output: reply text must not carry escape sequences or newlines. */
static void put_clean(const char *s) {
  for (; s && *s; s++)
    fputc(((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s, stdout);
}

static void kv_line(const char *key, const char *value) {
  printf("%-14s", key);
  put_clean(value);
  fputc('\n', stdout);
}

void out_info_text(const sbx_sandbox_info *info) {
  char num[32];
  kv_line("id:", info->id);
  kv_line("template:", info->template_id);
  kv_line("state:", info->state);
  kv_line("envd_version:", info->envd_version);
  kv_line("started_at:", info->started_at);
  kv_line("end_at:", info->end_at);
  snprintf(num, sizeof num, "%d", info->cpu_count);
  kv_line("cpu_count:", num);
  snprintf(num, sizeof num, "%d", info->memory_mb);
  kv_line("memory_mb:", num);
  char *meta = out_metadata_text(info->metadata, info->n_metadata);
  kv_line("metadata:", meta);
  free(meta);
}

const char *out_size_gb(double gb, char *buf, size_t len) {
  if (gb < 0)
    buf[0] = '\0';
  else
    snprintf(buf, len, "%.2f", gb);
  return buf;
}

void out_snapshot_text(const sbx_snapshot_info *s) {
  char num[32];
  const char *keys[] = {"cpu:", "memory_gb:", "disk_gb:"};
  int vals[] = {s->cpu, s->memory_gb, s->disk_gb};
  kv_line("id:", s->id);
  kv_line("name:", s->name);
  kv_line("state:", s->state);
  kv_line("image:", s->image);
  kv_line("size_gb:", out_size_gb(s->size_gb, num, sizeof num));
  for (int i = 0; i < 3; i++) {
    snprintf(num, sizeof num, "%d", vals[i]);
    kv_line(keys[i], num);
  }
  kv_line("general:", s->general ? "yes" : "no");
  kv_line("created_at:", s->created_at);
  if (*s->error_reason) kv_line("error_reason:", s->error_reason);
}

void out_entry_text(const sbx_file_entry *e) {
  char num[32];
  kv_line("name:", e->name);
  kv_line("path:", e->path);
  kv_line("type:", out_file_type(e->type));
  snprintf(num, sizeof num, "%" PRId64, e->size);
  kv_line("size:", num);
  snprintf(num, sizeof num, "0%o", (unsigned)e->mode);
  kv_line("mode:", num);
  kv_line("permissions:", e->permissions);
  kv_line("owner:", e->owner);
  kv_line("group:", e->group);
  kv_line("modified:", e->modified_time);
  if (e->symlink_target) kv_line("target:", e->symlink_target);
}

void out_entry_line(const sbx_file_entry *e) {
  printf("%-4s %12" PRId64 " ", out_file_type(e->type), e->size);
  put_clean(e->path ? e->path : e->name);
  if (e->symlink_target) {
    fputs(" -> ", stdout);
    put_clean(e->symlink_target);
  }
  fputc('\n', stdout);
}

void out_table_init(struct out_table *t, size_t ncols) {
  t->ncols = ncols;
  t->nrows = 0;
  t->cells = NULL;
}

void out_table_add(struct out_table *t, const char *const *cells) {
  t->cells = cli_xrealloc(t->cells, (t->nrows + 1) * t->ncols * sizeof *t->cells);
  for (size_t i = 0; i < t->ncols; i++) {
    char *c = cli_xstrdup(cells[i] ? cells[i] : "");
    for (char *p = c; *p; p++)
      if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
    t->cells[t->nrows * t->ncols + i] = c;
  }
  t->nrows++;
}

void out_table_print(const struct out_table *t) {
  size_t *w = cli_xmalloc(t->ncols * sizeof *w);
  for (size_t c = 0; c < t->ncols; c++) {
    w[c] = 0;
    for (size_t r = 0; r < t->nrows; r++) {
      size_t l = strlen(t->cells[r * t->ncols + c]);
      if (l > w[c]) w[c] = l;
    }
  }
  for (size_t r = 0; r < t->nrows; r++) {
    /* Pad every column but the last; empty trailing cells leave no blanks. */
    size_t last = t->ncols;
    while (last > 1 && !*t->cells[r * t->ncols + last - 1])
      last--;
    for (size_t c = 0; c < last; c++) {
      const char *s = t->cells[r * t->ncols + c];
      if (c + 1 < last)
        printf("%-*s  ", (int)w[c], s);
      else
        printf("%s", s);
    }
    fputc('\n', stdout);
  }
  free(w);
}

void out_table_free(struct out_table *t) {
  for (size_t i = 0; i < t->nrows * t->ncols; i++)
    free(t->cells[i]);
  free(t->cells);
  t->cells = NULL;
  t->nrows = 0;
}
