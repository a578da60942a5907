/* run_spec.c - read and validate a task file. Every line is parsed strictly
 * (duplicate keys, unknown keys and wrong types are errors) and errors are
 * collected, up to a cap, so one pass shows the user what to fix. */
#include "run_spec.h"

#include <errno.h>
#include <glob.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define MAX_LINE (8u << 20)       /* one task line */
#define MAX_TIMEOUT_S (7 * 86400) /* a week */
#define MAX_LIFETIME_S 86400
#define MAX_ITEMS 10000 /* files, commands, artifacts, env entries per task */

struct ctx {
  const char *file;
  char *dir; /* the task file's directory, for relative local paths */
  int line;
  FILE *err;
  int errors, max_errors;
};

static void bad(struct ctx *x, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void bad(struct ctx *x, const char *key, const char *fmt, ...) {
  x->errors++;
  if (x->errors > x->max_errors) return;
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (key && *key)
    fprintf(x->err, "%s:%d: key '%s': %s\n", x->file, x->line, key, msg);
  else
    fprintf(x->err, "%s:%d: %s\n", x->file, x->line, msg);
}

static const char *type_name(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT: return "an object";
  case JSON_ARRAY: return "an array";
  case JSON_STRING: return "a string";
  case JSON_INTEGER: return "an integer";
  case JSON_REAL: return "a number";
  case JSON_TRUE:
  case JSON_FALSE: return "a boolean";
  default: return "null";
  }
}

/* Reject keys outside allowed (NULL-terminated); 0 when all are known. */
static int known_keys(struct ctx *x, const char *where, json_t *obj, const char *const *allowed) {
  const char *k;
  json_t *v;
  int rc = 0;
  json_object_foreach(obj, k, v) {
    int ok = 0;
    for (const char *const *a = allowed; *a && !ok; a++)
      ok = !strcmp(*a, k);
    if (!ok) {
      char key[256];
      snprintf(key, sizeof key, "%s%s%s", where, *where ? "." : "", k);
      bad(x, key, "unknown key");
      rc = -1;
    }
  }
  return rc;
}

static char *dup_str(const json_t *v) {
  return cli_xstrdup(json_string_value(v));
}

/* A non-empty string without NUL bytes; NULL (after an error) otherwise. */
static const char *want_string(struct ctx *x, const char *key, const json_t *v) {
  if (!json_is_string(v)) {
    bad(x, key, "expected a string, got %s", type_name(v));
    return NULL;
  }
  const char *s = json_string_value(v);
  if (!*s || strlen(s) != json_string_length(v)) {
    bad(x, key, "expected a non-empty string without NUL bytes");
    return NULL;
  }
  return s;
}

static int want_seconds(struct ctx *x, const char *key, const json_t *v, long max, long *out) {
  if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > max) {
    bad(x, key, "expected a whole number of seconds from 1 to %ld", max);
    return -1;
  }
  *out = (long)json_integer_value(v);
  return 0;
}

static int want_count(struct ctx *x, const char *key, const json_t *v, int max, int *out) {
  if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > max) {
    bad(x, key, "expected a whole number from 1 to %d", max);
    return -1;
  }
  *out = (int)json_integer_value(v);
  return 0;
}

static int env_name_ok(const char *k) {
  if (!*k || (*k >= '0' && *k <= '9')) return 0;
  for (; *k; k++)
    if (!(*k == '_' || (*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
          (*k >= '0' && *k <= '9')))
      return 0;
  return 1;
}

/* {"NAME":"value"} into a kv array (names checked when env). */
static int parse_kvs(struct ctx *x, const char *key, json_t *obj, int env, sbx_kv **out,
                     size_t *n) {
  if (!json_is_object(obj)) {
    bad(x, key, "expected an object of strings, got %s", type_name(obj));
    return -1;
  }
  if (json_object_size(obj) > MAX_ITEMS) {
    bad(x, key, "more than %d entries", MAX_ITEMS);
    return -1;
  }
  *out = cli_xmalloc((json_object_size(obj) + 1) * sizeof **out);
  *n = 0;
  const char *k;
  json_t *v;
  int rc = 0;
  json_object_foreach(obj, k, v) {
    char sub[256];
    snprintf(sub, sizeof sub, "%s.%s", key, k);
    if (env && !env_name_ok(k)) {
      bad(x, sub, "not a valid environment variable name");
      rc = -1;
      continue;
    }
    if (!env && (!*k || !strncmp(k, "sbx.", 4))) {
      bad(x, sub, *k ? "the sbx. prefix is reserved for the runner's own labels" : "empty label");
      rc = -1;
      continue;
    }
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
      bad(x, sub, "expected a string without NUL bytes, got %s", type_name(v));
      rc = -1;
      continue;
    }
    (*out)[*n].key = cli_xstrdup(k);
    (*out)[*n].value = dup_str(v);
    (*n)++;
  }
  return rc;
}

static void free_kvs(sbx_kv *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free((char *)v[i].key);
    free((char *)v[i].value);
  }
  free(v);
}

/* A sandbox path: absolute or relative to the home, no "..", ".", "~" or
 * empty components (so it maps to a local artifact path that cannot escape). */
static int sandbox_path_ok(const char *p) {
  if (!*p || *p == '~') return 0;
  const char *s = p;
  while (*s) {
    while (*s == '/')
      s++;
    if (!*s) break;
    const char *e = strchr(s, '/');
    size_t len = e ? (size_t)(e - s) : strlen(s);
    if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.')) return 0;
    s += len;
  }
  return strstr(p, "//") == NULL;
}

static const char *want_sandbox_path(struct ctx *x, const char *key, const json_t *v) {
  const char *s = want_string(x, key, v);
  if (s && !sandbox_path_ok(s)) {
    bad(x, key, "'%.200s' is not a clean sandbox path (no '..', '.', '~' or '//')", s);
    return NULL;
  }
  return s;
}

/* The host path of a local file named in the task file. */
static char *local_path(struct ctx *x, const char *p) {
  if (*p == '/') return cli_xstrdup(p);
  return cli_xasprintf("%s/%s", x->dir, p);
}

static int readable_file(struct ctx *x, const char *key, const char *host, const char *shown) {
  struct stat st;
  if (stat(host, &st) != 0) {
    bad(x, key, "local file '%.200s': %s", shown, strerror(errno));
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    bad(x, key, "local file '%.200s' is not a regular file", shown);
    return -1;
  }
  if (access(host, R_OK) != 0) {
    bad(x, key, "local file '%.200s' is not readable", shown);
    return -1;
  }
  return 0;
}

static void add_upload(struct run_spec *t, char *path, char *local, char *content, size_t len) {
  t->uploads = cli_xrealloc(t->uploads, (t->n_uploads + 1) * sizeof *t->uploads);
  struct run_upload *u = &t->uploads[t->n_uploads++];
  u->path = path;
  u->local = local;
  u->content = content;
  u->content_len = len;
}

/* "base64" → bytes; -1 when malformed. */
static int b64_value(int c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

static char *b64_decode(const char *s, size_t *len) {
  size_t n = strlen(s);
  if (n % 4) return NULL;
  char *out = cli_xmalloc(n / 4 * 3 + 1);
  size_t o = 0;
  for (size_t i = 0; i < n; i += 4) {
    int v[4];
    for (int j = 0; j < 4; j++) {
      v[j] = s[i + j] == '=' ? -2 : b64_value((unsigned char)s[i + j]);
      if (v[j] == -1 || (v[j] == -2 && (i + 4 < n || j < 2))) goto fail;
    }
    if (v[2] == -2 && v[3] != -2) goto fail;
    out[o++] = (char)(v[0] << 2 | v[1] >> 4);
    if (v[2] >= 0) out[o++] = (char)((v[1] & 15) << 4 | v[2] >> 2);
    if (v[3] >= 0) out[o++] = (char)((v[2] & 3) << 6 | v[3]);
  }
  *len = o;
  return out;
fail:
  free(out);
  return NULL;
}

static void parse_file(struct ctx *x, struct run_spec *t, size_t i, json_t *f) {
  char key[64];
  snprintf(key, sizeof key, "files[%zu]", i);
  if (!json_is_object(f)) {
    bad(x, key, "expected an object, got %s", type_name(f));
    return;
  }
  static const char *const keys[] = {"path", "local", "content", "content_base64", "glob", NULL};
  if (known_keys(x, key, f, keys) < 0) return;
  json_t *path = json_object_get(f, "path"), *local = json_object_get(f, "local"),
         *content = json_object_get(f, "content"), *b64 = json_object_get(f, "content_base64"),
         *glb = json_object_get(f, "glob");
  char sub[96];
  snprintf(sub, sizeof sub, "%s.path", key);
  if (!path) {
    bad(x, sub, "missing (the destination in the sandbox)");
    return;
  }
  const char *dst = want_sandbox_path(x, sub, path);
  if (!dst) return;
  if (!!local + !!content + !!b64 + !!glb != 1) {
    bad(x, key, "give exactly one of local, content, content_base64 or glob");
    return;
  }
  if (content) {
    snprintf(sub, sizeof sub, "%s.content", key);
    if (!json_is_string(content)) {
      bad(x, sub, "expected a string, got %s", type_name(content));
      return;
    }
    size_t len = json_string_length(content);
    char *c = cli_xmalloc(len + 1);
    memcpy(c, json_string_value(content), len + 1);
    add_upload(t, cli_xstrdup(dst), NULL, c, len);
  } else if (b64) {
    snprintf(sub, sizeof sub, "%s.content_base64", key);
    size_t len = 0;
    char *c = json_is_string(b64) ? b64_decode(json_string_value(b64), &len) : NULL;
    if (!c) {
      bad(x, sub, "expected a base64 string");
      return;
    }
    add_upload(t, cli_xstrdup(dst), NULL, c, len);
  } else if (local) {
    snprintf(sub, sizeof sub, "%s.local", key);
    const char *p = want_string(x, sub, local);
    if (!p) return;
    char *host = local_path(x, p);
    if (readable_file(x, sub, host, p) < 0) {
      free(host);
      return;
    }
    add_upload(t, cli_xstrdup(dst), host, NULL, 0);
  } else {
    /* glob: every matching regular file goes to path/<its name> */
    snprintf(sub, sizeof sub, "%s.glob", key);
    const char *p = want_string(x, sub, glb);
    if (!p) return;
    char *pat = local_path(x, p);
    glob_t g;
    int r = glob(pat, GLOB_ERR, NULL, &g);
    if (r == GLOB_NOMATCH || (r == 0 && g.gl_pathc == 0)) {
      bad(x, sub, "'%.200s' matches no file", p);
    } else if (r != 0) {
      bad(x, sub, "'%.200s' cannot be expanded (%s)", p,
          r == GLOB_NOSPACE ? "no memory" : "read error");
    } else {
      size_t dl = strlen(dst);
      for (size_t j = 0; j < g.gl_pathc; j++) {
        struct stat st;
        if (stat(g.gl_pathv[j], &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if (readable_file(x, sub, g.gl_pathv[j], g.gl_pathv[j]) < 0) continue;
        char *copy = cli_xstrdup(g.gl_pathv[j]);
        char *dest =
            cli_xasprintf("%s%s%s", dst, dl && dst[dl - 1] == '/' ? "" : "/", basename(copy));
        free(copy);
        add_upload(t, dest, cli_xstrdup(g.gl_pathv[j]), NULL, 0);
      }
    }
    if (r == 0) globfree(&g);
    free(pat);
  }
}

static void parse_command(struct ctx *x, struct run_spec *t, size_t i, json_t *c) {
  char key[64], sub[96];
  snprintf(key, sizeof key, "commands[%zu]", i);
  struct run_command *cmd = &t->cmds[t->n_cmds];
  memset(cmd, 0, sizeof *cmd);
  if (json_is_string(c)) {
    const char *s = want_string(x, key, c);
    if (!s) return;
    cmd->run = cli_xstrdup(s);
    t->n_cmds++;
    return;
  }
  if (!json_is_object(c)) {
    bad(x, key, "expected a string or an object, got %s", type_name(c));
    return;
  }
  static const char *const keys[] = {"run", "cwd", "env", "timeout_s", "on_failure", NULL};
  if (known_keys(x, key, c, keys) < 0) return;
  int ok = 1;
  json_t *v;
  snprintf(sub, sizeof sub, "%s.run", key);
  const char *run = (v = json_object_get(c, "run")) ? want_string(x, sub, v) : NULL;
  if (!v) bad(x, sub, "missing (the shell command line)");
  if (!run) ok = 0;
  snprintf(sub, sizeof sub, "%s.cwd", key);
  const char *cwd = NULL;
  if ((v = json_object_get(c, "cwd")) && !(cwd = want_sandbox_path(x, sub, v))) ok = 0;
  snprintf(sub, sizeof sub, "%s.timeout_s", key);
  if ((v = json_object_get(c, "timeout_s")) &&
      want_seconds(x, sub, v, MAX_TIMEOUT_S, &cmd->timeout_s) < 0)
    ok = 0;
  snprintf(sub, sizeof sub, "%s.on_failure", key);
  if ((v = json_object_get(c, "on_failure"))) {
    const char *s = json_string_value(v);
    if (s && !strcmp(s, "stop"))
      cmd->on_failure = RUN_FAIL_STOP;
    else if (s && !strcmp(s, "continue"))
      cmd->on_failure = RUN_FAIL_CONTINUE;
    else if (s && !strcmp(s, "ignore"))
      cmd->on_failure = RUN_FAIL_IGNORE;
    else {
      bad(x, sub, "expected \"stop\", \"continue\" or \"ignore\"");
      ok = 0;
    }
  }
  snprintf(sub, sizeof sub, "%s.env", key);
  if ((v = json_object_get(c, "env")) && parse_kvs(x, sub, v, 1, &cmd->env, &cmd->n_env) < 0)
    ok = 0;
  if (!ok) {
    free_kvs(cmd->env, cmd->n_env);
    cmd->env = NULL;
    cmd->n_env = 0;
    return;
  }
  cmd->run = cli_xstrdup(run);
  cmd->cwd = cwd ? cli_xstrdup(cwd) : NULL;
  t->n_cmds++;
}

static void parse_network(struct ctx *x, struct run_spec *t, json_t *v) {
  const char *s = json_string_value(v);
  if (s && !strcmp(s, "allow")) {
    t->network = RUN_NET_ALLOW;
    return;
  }
  if (s && !strcmp(s, "deny")) {
    t->network = RUN_NET_DENY;
    return;
  }
  if (!json_is_object(v)) {
    bad(x, "sandbox.network",
        "expected \"allow\", \"deny\" or {\"allow_out\":[...],\"deny_out\":[...]}");
    return;
  }
  static const char *const keys[] = {"allow_out", "deny_out", NULL};
  if (known_keys(x, "sandbox.network", v, keys) < 0) return;
  static const char *const names[] = {"allow_out", "deny_out"};
  char ***lists[] = {&t->allow_out, &t->deny_out};
  size_t *counts[] = {&t->n_allow_out, &t->n_deny_out};
  for (int k = 0; k < 2; k++) {
    json_t *a = json_object_get(v, names[k]);
    if (!a) continue;
    char key[64];
    snprintf(key, sizeof key, "sandbox.network.%s", names[k]);
    if (!json_is_array(a) || json_array_size(a) > MAX_ITEMS) {
      bad(x, key, "expected an array of strings");
      continue;
    }
    *lists[k] = cli_xmalloc((json_array_size(a) + 1) * sizeof(char *));
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e) {
      char sub[96];
      snprintf(sub, sizeof sub, "%s[%zu]", key, i);
      const char *str = want_string(x, sub, e);
      if (str) (*lists[k])[(*counts[k])++] = cli_xstrdup(str);
    }
  }
}

static void parse_sandbox(struct ctx *x, struct run_spec *t, json_t *sb) {
  if (!json_is_object(sb)) {
    bad(x, "sandbox", "expected an object, got %s", type_name(sb));
    return;
  }
  static const char *const keys[] = {"template",   "snapshot", "image",      "resources", "env",
                                     "secret_env", "network",  "lifetime_s", NULL};
  if (known_keys(x, "sandbox", sb, keys) < 0) return;
  json_t *v;
  const char *s;
  if ((v = json_object_get(sb, "template")) && (s = want_string(x, "sandbox.template", v)))
    t->template_id = cli_xstrdup(s);
  if ((v = json_object_get(sb, "snapshot")) && (s = want_string(x, "sandbox.snapshot", v)))
    t->snapshot = cli_xstrdup(s);
  if ((v = json_object_get(sb, "image")) && (s = want_string(x, "sandbox.image", v)))
    t->image = cli_xstrdup(s);
  if (!!t->template_id + !!t->snapshot + !!t->image > 1)
    bad(x, "sandbox", "give at most one of template, snapshot or image");
  if ((v = json_object_get(sb, "lifetime_s")))
    want_seconds(x, "sandbox.lifetime_s", v, MAX_LIFETIME_S, &t->lifetime_s);
  if ((v = json_object_get(sb, "env"))) parse_kvs(x, "sandbox.env", v, 1, &t->env, &t->n_env);
  if ((v = json_object_get(sb, "network"))) parse_network(x, t, v);
  if ((v = json_object_get(sb, "resources"))) {
    static const char *const rkeys[] = {"cpu", "memory_mb", "disk_gb", NULL};
    if (!json_is_object(v)) {
      bad(x, "sandbox.resources", "expected an object, got %s", type_name(v));
    } else if (known_keys(x, "sandbox.resources", v, rkeys) == 0) {
      json_t *r;
      if ((r = json_object_get(v, "cpu"))) want_count(x, "sandbox.resources.cpu", r, 256, &t->cpu);
      if ((r = json_object_get(v, "memory_mb")))
        want_count(x, "sandbox.resources.memory_mb", r, 1 << 22, &t->memory_mb);
      if ((r = json_object_get(v, "disk_gb")))
        want_count(x, "sandbox.resources.disk_gb", r, 1 << 16, &t->disk_gb);
    }
  }
  if ((v = json_object_get(sb, "secret_env"))) {
    /* {"NAME_IN_SANDBOX": "RUNNER_VARIABLE"}: only the reference is kept; the
     * value is read from the environment when the sandbox is created. */
    sbx_kv *refs = NULL;
    size_t n = 0;
    if (parse_kvs(x, "sandbox.secret_env", v, 1, &refs, &n) == 0) {
      t->secret_names = cli_xmalloc((n + 1) * sizeof(char *));
      t->secret_from = cli_xmalloc((n + 1) * sizeof(char *));
      for (size_t i = 0; i < n; i++) {
        char sub[256];
        snprintf(sub, sizeof sub, "sandbox.secret_env.%s", refs[i].key);
        if (!env_name_ok(refs[i].value)) {
          bad(x, sub, "'%.100s' is not a valid environment variable name", refs[i].value);
          continue;
        }
        if (!getenv(refs[i].value)) {
          bad(x, sub, "the runner's environment has no variable %.100s", refs[i].value);
          continue;
        }
        t->secret_names[t->n_secret] = cli_xstrdup(refs[i].key);
        t->secret_from[t->n_secret++] = cli_xstrdup(refs[i].value);
      }
    }
    free_kvs(refs, n);
  }
}

/* The fields that need an array: files, commands, artifacts. */
static json_t *want_array(struct ctx *x, const char *key, json_t *task) {
  json_t *v = json_object_get(task, key);
  if (!v) return NULL;
  if (!json_is_array(v)) {
    bad(x, key, "expected an array, got %s", type_name(v));
    return NULL;
  }
  if (json_array_size(v) > MAX_ITEMS) {
    bad(x, key, "more than %d entries", MAX_ITEMS);
    return NULL;
  }
  return v;
}

int run_valid_task_id(const char *id) {
  size_t n = strlen(id);
  if (n == 0 || n > RUN_ID_MAX || !strcmp(id, ".") || !strcmp(id, "..")) return 0;
  for (const char *p = id; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
          *p == '.' || *p == '_' || *p == '-'))
      return 0;
  return 1;
}

static void spec_free(struct run_spec *t) {
  free(t->id);
  free(t->template_id);
  free(t->snapshot);
  free(t->image);
  free_kvs(t->env, t->n_env);
  for (size_t i = 0; i < t->n_secret; i++) {
    free(t->secret_names[i]);
    free(t->secret_from[i]);
  }
  free(t->secret_names);
  free(t->secret_from);
  for (size_t i = 0; i < t->n_allow_out; i++)
    free(t->allow_out[i]);
  for (size_t i = 0; i < t->n_deny_out; i++)
    free(t->deny_out[i]);
  free(t->allow_out);
  free(t->deny_out);
  for (size_t i = 0; i < t->n_uploads; i++) {
    free(t->uploads[i].path);
    free(t->uploads[i].local);
    free(t->uploads[i].content);
  }
  free(t->uploads);
  for (size_t i = 0; i < t->n_cmds; i++) {
    free(t->cmds[i].run);
    free(t->cmds[i].cwd);
    free_kvs(t->cmds[i].env, t->cmds[i].n_env);
  }
  free(t->cmds);
  for (size_t i = 0; i < t->n_artifacts; i++)
    free(t->artifacts[i]);
  free(t->artifacts);
  free_kvs(t->labels, t->n_labels);
  memset(t, 0, sizeof *t);
}

/* One task object; 0 when it is valid. */
static int parse_task(struct ctx *x, json_t *task, struct run_spec *t) {
  int before = x->errors;
  t->line = x->line;
  t->network = RUN_NET_DEFAULT;
  if (!json_is_object(task)) {
    bad(x, NULL, "expected a JSON object (one task per line), got %s", type_name(task));
    return -1;
  }
  static const char *const keys[] = {"id",        "sandbox",   "files",  "commands",
                                     "artifacts", "timeout_s", "labels", NULL};
  known_keys(x, "", task, keys);
  json_t *v = json_object_get(task, "id");
  const char *id = v ? want_string(x, "id", v) : NULL;
  if (!v) bad(x, "id", "missing (every task needs a unique id)");
  if (id && !run_valid_task_id(id))
    bad(x, "id", "'%.140s' must be 1 to %d of [A-Za-z0-9._-] and not '.' or '..'", id, RUN_ID_MAX);
  else if (id)
    t->id = cli_xstrdup(id);
  if ((v = json_object_get(task, "sandbox"))) parse_sandbox(x, t, v);
  if ((v = json_object_get(task, "timeout_s")))
    want_seconds(x, "timeout_s", v, MAX_TIMEOUT_S, &t->timeout_s);
  if ((v = json_object_get(task, "labels"))) parse_kvs(x, "labels", v, 0, &t->labels, &t->n_labels);
  json_t *a;
  size_t i;
  json_t *e;
  if ((a = want_array(x, "files", task))) json_array_foreach(a, i, e) parse_file(x, t, i, e);
  if ((a = want_array(x, "commands", task))) {
    t->cmds = cli_xmalloc((json_array_size(a) + 1) * sizeof *t->cmds);
    json_array_foreach(a, i, e) parse_command(x, t, i, e);
  }
  if ((a = want_array(x, "artifacts", task))) {
    t->artifacts = cli_xmalloc((json_array_size(a) + 1) * sizeof(char *));
    json_array_foreach(a, i, e) {
      char key[64];
      snprintf(key, sizeof key, "artifacts[%zu]", i);
      const char *p = want_sandbox_path(x, key, e);
      if (!p) continue;
      const char *slash = strrchr(p, '/');
      const char *g = strpbrk(p, "*?[");
      if (g && slash && g < slash) {
        bad(x, key, "'%.200s': only the last path component may be a glob", p);
        continue;
      }
      t->artifacts[t->n_artifacts++] = cli_xstrdup(p);
    }
  }
  return x->errors == before ? 0 : -1;
}

/* Read one line of any length; NULL at EOF. The newline is stripped, and
 * *had_newline tells whether there was one. */
static char *read_line(FILE *f, size_t *len, int *had_newline, int *too_long) {
  char *buf = NULL;
  size_t cap = 0;
  ssize_t n = getline(&buf, &cap, f);
  if (n < 0) {
    free(buf);
    return NULL;
  }
  *had_newline = n > 0 && buf[n - 1] == '\n';
  if (*had_newline) buf[--n] = '\0';
  if (n > 0 && buf[n - 1] == '\r') buf[--n] = '\0';
  *len = (size_t)n;
  *too_long = (size_t)n > MAX_LINE;
  return buf;
}

static int blank(const char *s) {
  for (; *s; s++)
    if (*s != ' ' && *s != '\t') return 0;
  return 1;
}

/* Duplicate ids: sort a copy by id and compare neighbours. */
static int by_id(const void *a, const void *b) {
  const struct run_spec *const *x = a, *const *y = b;
  int c = strcmp((*x)->id, (*y)->id);
  return c ? c : (*x)->line - (*y)->line;
}

static void check_duplicates(struct ctx *x, struct run_specs *s) {
  if (s->n < 2) return;
  struct run_spec **v = cli_xmalloc(s->n * sizeof *v);
  for (size_t i = 0; i < s->n; i++)
    v[i] = &s->v[i];
  qsort(v, s->n, sizeof *v, by_id);
  for (size_t i = 1; i < s->n; i++) {
    if (strcmp(v[i]->id, v[i - 1]->id)) continue;
    x->line = v[i]->line;
    bad(x, "id", "duplicate id '%s' (first on line %d)", v[i]->id, v[i - 1]->line);
  }
  free(v);
}

int run_specs_load(const char *path, struct run_specs *out, FILE *err, int max_errors) {
  memset(out, 0, sizeof *out);
  FILE *f = strcmp(path, "-") ? fopen(path, "r") : NULL;
  if (!f) {
    fprintf(err, "%s: cannot open: %s\n", path,
            strcmp(path, "-") ? strerror(errno) : "stdin is not supported; give a file");
    return 1;
  }
  int errors = run_specs_read(f, path, out, err, max_errors);
  fclose(f);
  return errors;
}

int run_specs_read(FILE *f, const char *path, struct run_specs *out, FILE *err, int max_errors) {
  memset(out, 0, sizeof *out);
  struct ctx x = {.file = path, .err = err, .max_errors = max_errors > 0 ? max_errors : 1};
  char *copy = cli_xstrdup(path);
  x.dir = cli_xstrdup(dirname(copy));
  free(copy);
  size_t cap = 0;
  char *line;
  size_t len;
  int nl, too_long;
  while ((line = read_line(f, &len, &nl, &too_long))) {
    x.line++;
    if (too_long) {
      bad(&x, NULL, "line longer than %u bytes", MAX_LINE);
    } else if (!blank(line)) {
      json_error_t je;
      json_t *task = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
      if (!task) {
        bad(&x, NULL, "invalid JSON at column %d: %s", je.column, je.text);
      } else {
        if (out->n == cap) {
          cap = cap ? cap * 2 : 64;
          out->v = cli_xrealloc(out->v, cap * sizeof *out->v);
        }
        struct run_spec *t = &out->v[out->n];
        memset(t, 0, sizeof *t);
        if (parse_task(&x, task, t) == 0)
          out->n++;
        else
          spec_free(t);
        json_decref(task);
      }
    }
    free(line);
  }
  if (ferror(f)) {
    fprintf(err, "%s: read error: %s\n", path, strerror(errno));
    x.errors++;
  }
  check_duplicates(&x, out);
  if (x.errors == 0 && out->n == 0) {
    fprintf(err, "%s: no tasks\n", path);
    x.errors++;
  }
  if (x.errors > x.max_errors)
    fprintf(err, "%s: %d more errors not shown\n", path, x.errors - x.max_errors);
  free(x.dir);
  if (x.errors) run_specs_free(out);
  return x.errors;
}

void run_specs_free(struct run_specs *s) {
  for (size_t i = 0; i < s->n; i++)
    spec_free(&s->v[i]);
  free(s->v);
  memset(s, 0, sizeof *s);
}
