/* e2b.c - the E2B provider: configuration, URLs, headers, token cache and
 * the JSON views shared by its ops. */
#include "e2b.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../protocol/base64.h"
#include "../protocol/http_errors.h"
#include "../protocol/json_pick.h"
#include "../protocol/json_util.h"
#include "prov_util.h"

/* ---- config ---------------------------------------------------------------- */

static int is_e2b_domain(const char *d) {
  static const char *const known[] = {"e2b.app", "e2b.dev", "e2b.pro", "e2b-staging.dev"};
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strcmp(d, known[i]) == 0) return 1;
  return 0;
}

static void token_free(const sbx_allocator *a, struct e2b_token *t) {
  sbx__free(a, t->id);
  sbx__free(a, t->token);
  sbx__free(a, t->domain);
  sbx__free(a, t);
}

static void e2b_destroy(struct sbx_client *c) {
  struct e2b_state *s = e2b_of(c);
  if (!s) return;
  const sbx_allocator *a = s->a;
  for (size_t i = 0; i < E2B_TOKEN_BUCKETS; i++) {
    struct e2b_token *t = s->tokens[i];
    while (t) {
      struct e2b_token *n = t->next;
      token_free(a, t);
      t = n;
    }
  }
  sbx__free(a, s->api_key);
  sbx__free(a, s->domain);
  sbx__free(a, s->api_url);
  sbx__free(a, s->api_host);
  sbx__free(a, s->sandbox_url);
  sbx__free(a, s->envd_host);
  sbx__free(a, s);
  c->prov_state = NULL;
}

static int e2b_init(struct sbx_client *c, const sbx_config *cfg, char *errbuf, size_t errlen) {
  const sbx_allocator *a = sbx__alloc(c);
  struct e2b_state *s = SBX_NEW(a, struct e2b_state);
  if (!s) return SBX_ENOMEM;
  s->a = a;
  c->prov_state = s;
  const char *key = sbx__pick(cfg->api_key, cfg->use_env, "E2B_API_KEY");
  const char *domain = sbx__pick(cfg->domain, cfg->use_env, "E2B_DOMAIN");
  const char *api = sbx__pick(cfg->api_url, cfg->use_env, "E2B_API_URL");
  const char *sburl = sbx__pick(cfg->sandbox_url, cfg->use_env, "E2B_SANDBOX_URL");
  if (!key) {
    if (errbuf && errlen)
      snprintf(errbuf, errlen, "e2b: no API key: set E2B_API_KEY (or sbx_config.api_key)");
    e2b_destroy(c);
    return SBX_EINVAL;
  }
  s->api_key = sbx__strdup(a, key);
  s->domain = sbx__strdup(a, domain ? domain : "e2b.app");
  if (!s->api_key || !s->domain) {
    e2b_destroy(c);
    return SBX_ENOMEM;
  }
  char buf[512];
  if (!api) {
    snprintf(buf, sizeof buf, "https://api.%s", s->domain);
    api = buf;
  }
  s->api_url = sbx__strip_slash(a, api);
  s->api_host = s->api_url ? sbx__origin_of(a, s->api_url) : NULL;
  s->sandbox_url = sburl ? sbx__strip_slash(a, sburl) : NULL;
  s->shared_host = is_e2b_domain(s->domain);
  /* Admission key for envd traffic: one shared origin, or one class for all
   * per-sandbox hosts (each of those is its own connection anyway). */
  if (s->sandbox_url)
    s->envd_host = sbx__origin_of(a, s->sandbox_url);
  else if (s->shared_host)
    s->envd_host = sbx__asprintf(a, "https://sandbox.%s", s->domain);
  else
    s->envd_host = sbx__strdup(a, "envd:per-sandbox-hosts");
  if (!s->api_url || !s->api_host || (sburl && !s->sandbox_url) || !s->envd_host) {
    e2b_destroy(c);
    return SBX_ENOMEM;
  }
  if (strncmp(s->api_url, "http://", 7) != 0 && strncmp(s->api_url, "https://", 8) != 0) {
    if (errbuf && errlen)
      snprintf(errbuf, errlen, "e2b: API URL '%s' must start with http:// or https://", s->api_url);
    e2b_destroy(c);
    return SBX_EINVAL;
  }
  return 0;
}

const struct sbx_provider sbx__provider_e2b = {
    .name = "e2b",
    .init = e2b_init,
    .destroy = e2b_destroy,
    .create = e2b_create,
    .connect = e2b_connect,
    .info = e2b_info,
    .kill = e2b_kill,
    .pause = e2b_pause,
    .set_timeout = e2b_set_timeout,
    .list = e2b_list,
    .exec_start = e2b_exec_start,
    .exec_connect = e2b_exec_connect,
    .signal = e2b_signal,
    .write_stdin = e2b_write_stdin,
    .close_stdin = e2b_close_stdin,
    .file_write = e2b_file_write,
    .file_write_many = e2b_file_write_many,
    .file_read = e2b_file_read,
    .fs = e2b_fs,
};

/* ---- token cache -------------------------------------------------------------- */

static size_t hash_id(const char *id) {
  return sbx__hash_str(id, E2B_TOKEN_BUCKETS);
}

const struct e2b_token *e2b_token_find(struct e2b_state *s, const char *id) {
  for (struct e2b_token *t = s->tokens[hash_id(id)]; t; t = t->next)
    if (strcmp(t->id, id) == 0) return t;
  return NULL;
}

int e2b_token_put(struct e2b_state *s, const char *id, const char *token, const char *domain) {
  e2b_token_drop(s, id);
  struct e2b_token *t = SBX_NEW(s->a, struct e2b_token);
  if (!t) return SBX_ENOMEM;
  t->id = sbx__strdup(s->a, id);
  t->token = sbx__strdup(s->a, token ? token : "");
  t->domain = domain && *domain ? sbx__strdup(s->a, domain) : NULL;
  if (!t->id || !t->token || (domain && *domain && !t->domain)) {
    token_free(s->a, t);
    return SBX_ENOMEM;
  }
  size_t b = hash_id(id);
  t->next = s->tokens[b];
  s->tokens[b] = t;
  return 0;
}

void e2b_token_drop(struct e2b_state *s, const char *id) {
  struct e2b_token **pp = &s->tokens[hash_id(id)];
  while (*pp && strcmp((*pp)->id, id) != 0)
    pp = &(*pp)->next;
  if (!*pp) return;
  struct e2b_token *t = *pp;
  *pp = t->next;
  token_free(s->a, t);
}

int e2b_valid_id(const char *id) {
  if (!id || !*id) return 0;
  for (const char *p = id; *p; p++)
    if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p))) return 0;
  return 1;
}

/* ---- requests ------------------------------------------------------------------- */

int e2b_api_req(struct sbx_client *c, struct sbx_http_req *r, char **url_out, const char *method,
                const char *body, const char *fmt, ...) {
  struct e2b_state *s = e2b_of(c);
  char path[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(path, sizeof path, fmt, ap);
  va_end(ap);
  if (!(*url_out = sbx__asprintf(s->a, "%s%s", s->api_url, path))) return SBX_ENOMEM;
  r->method = method;
  r->url = *url_out;
  r->host = s->api_host;
  r->headers = sbx__add_header(NULL, "X-API-Key", s->api_key);
  if (r->headers && body) {
    r->headers = sbx__add_header(r->headers, "Content-Type", "application/json");
    r->body = body;
    r->body_len = strlen(body);
  }
  return r->headers ? 0 : SBX_ENOMEM;
}

int e2b_envd_req(struct sbx_client *c, struct sbx_http_req *r, char **url_out, const char *id,
                 const char *method, const char *user, const char *path_and_query) {
  struct e2b_state *s = e2b_of(c);
  const struct e2b_token *t = e2b_token_find(s, id);
  const char *domain = t && t->domain ? t->domain : s->domain;
  if (s->sandbox_url)
    *url_out = sbx__asprintf(s->a, "%s%s", s->sandbox_url, path_and_query);
  else if (s->shared_host)
    *url_out = sbx__asprintf(s->a, "https://sandbox.%s%s", domain, path_and_query);
  else
    *url_out = sbx__asprintf(s->a, "https://" E2B_ENVD_PORT "-%s.%s%s", id, domain, path_and_query);
  if (!*url_out) return SBX_ENOMEM;
  r->method = method;
  r->url = *url_out;
  r->host = s->envd_host;
  struct curl_slist *h = sbx__add_header(NULL, "E2b-Sandbox-Id", id);
  if (h) h = sbx__add_header(h, "E2b-Sandbox-Port", E2B_ENVD_PORT);
  if (h && t && t->token[0]) h = sbx__add_header(h, "X-Access-Token", t->token);
  if (h && user && *user) {
    char raw[256], enc[400];
    snprintf(raw, sizeof raw, "%s:", user);
    sbx_base64_encode(raw, strlen(raw), enc);
    char basic[420];
    snprintf(basic, sizeof basic, "Basic %s", enc);
    h = sbx__add_header(h, "Authorization", basic);
  }
  r->headers = h;
  return h ? 0 : SBX_ENOMEM;
}

/* ---- token resolve ------------------------------------------------------------------- */

static struct e2b_envd_op *envd_op(struct sbx_call *k) {
  return (struct e2b_envd_op *)k; /* the call is the op's first member */
}

int e2b_envd_needs_resolve(struct sbx_call *k) {
  return e2b_token_find(e2b_of(k->op.c), envd_op(k)->id) == NULL;
}

int e2b_envd_build_resolve(struct sbx_call *k, struct sbx_http_req *r) {
  struct e2b_envd_op *v = envd_op(k);
  sbx__free(sbx__alloc(k->op.c), v->url);
  v->url = NULL;
  return e2b_api_req(k->op.c, r, &v->url, "GET", NULL, "/sandboxes/%s", v->id);
}

int e2b_envd_parse_resolve(struct sbx_call *k, struct sbx_http *h, struct sbx_errinfo *e) {
  const char *id = envd_op(k)->id;
  char what[200];
  snprintf(what, sizeof what, "look up sandbox %s", id);
  if (h->status != 200) return e2b_http_error(h, 0, what, e);
  json_t *doc = e2b_parse_json(h, what, e);
  if (!doc) return e->status;
  const char *token = sbx_json_str(doc, "envdAccessToken");
  const char *domain = sbx_json_str(doc, "domain");
  const char *state = sbx_json_str(doc, "state");
  int st = 0;
  if (state && strcmp(state, "paused") == 0) {
    sbx_errinfo_set(e, SBX_ECONFLICT, "%s: the sandbox is paused; resume it first", what);
    st = SBX_ECONFLICT;
  } else if ((st = e2b_token_put(e2b_of(k->op.c), id, token, domain)) != 0) {
    /* the call machine reports what e says: it must say so */
    sbx_errinfo_set(e, st, "%s: out of memory caching the access token", what);
  }
  json_decref(doc);
  return st;
}

/* ---- replies --------------------------------------------------------------------------- */

int e2b_http_error(const struct sbx_http *h, int envd, const char *what, struct sbx_errinfo *e) {
  return sbx_e2b_map_http_error(envd ? SBX_E2B_ENVD : SBX_E2B_API, (int)h->status,
                                h->body.data ? h->body.data : "", h->body.len, h->retry_after_ms,
                                what, e);
}

json_t *e2b_parse_json(const struct sbx_http *h, const char *what, struct sbx_errinfo *e) {
  return e2b_parse_json_keys(h, NULL, what, e);
}

json_t *e2b_parse_json_keys(const struct sbx_http *h, const char *const *keys, const char *what,
                            struct sbx_errinfo *e) {
  char why[160];
  json_t *doc =
      sbx_json_load_keys(h->body.data ? h->body.data : "", h->body.len, keys, why, sizeof why);
  if (!doc) {
    sbx_errinfo_set(e, SBX_EPROTO, "%s: invalid JSON in the reply (HTTP %ld): %s", what, h->status,
                    why);
    e->http_status = (int)h->status;
  }
  return doc;
}

static const char *str_or_empty(const json_t *o, const char *key) {
  const char *v = sbx_json_str(o, key);
  return v ? v : "";
}

int e2b_info_from_json(const sbx_allocator *a, const json_t *o, struct sbx_info_view *v) {
  memset(v, 0, sizeof *v);
  if (!json_is_object(o) || !sbx_json_str(o, "sandboxID")) return SBX_EPROTO;
  v->info.id = sbx_json_str(o, "sandboxID");
  v->info.template_id = str_or_empty(o, "templateID");
  v->info.state = sbx_json_str(o, "state") ? sbx_json_str(o, "state") : "running";
  v->info.envd_version = str_or_empty(o, "envdVersion");
  v->info.started_at = str_or_empty(o, "startedAt");
  v->info.end_at = str_or_empty(o, "endAt");
  v->info.cpu_count = (int)sbx_json_int(o, "cpuCount", 0);
  v->info.memory_mb = (int)sbx_json_int(o, "memoryMB", 0);
  return sbx__info_view_meta(a, v, json_object_get(o, "metadata"));
}

static int file_type(const json_t *o) {
  const json_t *t = json_object_get(o, "type");
  if (json_is_integer(t)) return (int)json_integer_value(t);
  const char *s = json_string_value(t);
  if (!s) return SBX_FILE_UNKNOWN;
  if (!strcmp(s, "FILE_TYPE_FILE") || !strcmp(s, "file")) return SBX_FILE_REGULAR;
  if (!strcmp(s, "FILE_TYPE_DIRECTORY") || !strcmp(s, "dir") || !strcmp(s, "directory"))
    return SBX_FILE_DIR;
  if (!strcmp(s, "FILE_TYPE_SYMLINK") || !strcmp(s, "symlink")) return SBX_FILE_SYMLINK;
  return SBX_FILE_UNKNOWN;
}

static void fill_entry(sbx_file_entry *f, const json_t *o) {
  f->name = str_or_empty(o, "name");
  f->path = str_or_empty(o, "path");
  f->type = file_type(o);
  f->size = sbx_json_int64(o, "size", 0);
  f->mode = (uint32_t)sbx_json_int(o, "mode", 0);
  f->permissions = str_or_empty(o, "permissions");
  f->owner = str_or_empty(o, "owner");
  f->group = str_or_empty(o, "group");
  f->modified_time = str_or_empty(o, "modifiedTime");
  f->symlink_target = sbx_json_str(o, "symlinkTarget");
}

/* Views over an array of entries, or over a single entry object. */
int e2b_entries_fill(const sbx_allocator *a, const json_t *v, struct e2b_entries *out) {
  out->items = NULL;
  out->n = 0;
  size_t n = json_is_object(v) ? 1 : json_is_array(v) ? json_array_size(v) : 0;
  if (!json_is_object(v) && !json_is_array(v)) return SBX_EPROTO;
  if (n == 0) return 0;
  out->items = sbx__calloc(a, n, sizeof *out->items);
  if (!out->items) return SBX_ENOMEM;
  out->n = n;
  for (size_t i = 0; i < n; i++) {
    const json_t *o = json_is_object(v) ? v : json_array_get(v, i);
    if (!json_is_object(o)) {
      e2b_entries_free(a, out);
      return SBX_EPROTO;
    }
    fill_entry(&out->items[i], o);
  }
  return 0;
}

void e2b_entries_free(const sbx_allocator *a, struct e2b_entries *e) {
  sbx__free(a, e->items);
  e->items = NULL;
  e->n = 0;
}
