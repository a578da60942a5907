/* daytona.c - the Daytona provider: configuration, the toolbox URL cache,
 * request builders and error mapping shared by its ops. */
#include "daytona.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../protocol/http_errors.h"
#include "../protocol/json_util.h"
#include "e2b.h"
#include "prov_util.h"

/* ---- config ---------------------------------------------------------------- */

static void dt_destroy(struct sbx_client *c) {
  struct dt_state *s = dt_of(c);
  if (!s) return;
  for (size_t i = 0; i < DT_BUCKETS; i++)
    while (s->tb[i])
      dt_toolbox_drop(s, s->tb[i]->id);
  sbx__free(s->a, s->token);
  sbx__free(s->a, s->org_id);
  sbx__free(s->a, s->target);
  sbx__free(s->a, s->api_url);
  sbx__free(s->a, s->api_host);
  if (s->hdr_json) s->hdr_json->next = NULL; /* its tail is hdr_auth */
  curl_slist_free_all(s->hdr_json);
  curl_slist_free_all(s->hdr_auth);
  sbx__free(s->a, s);
  c->prov_state = NULL;
}

/* A config problem (SBX_EINVAL, msg in errbuf) or SBX_ENOMEM (msg NULL). */
static int init_fail(struct sbx_client *c, char *errbuf, size_t errlen, int st, const char *msg) {
  if (errbuf && errlen && msg) snprintf(errbuf, errlen, "%s", msg);
  dt_destroy(c);
  return st;
}

static struct curl_slist *auth_headers(struct dt_state *s) {
  char bearer[64 + 4096];
  snprintf(bearer, sizeof bearer, "Bearer %s", s->token);
  struct curl_slist *h = sbx__add_header(NULL, "Authorization", bearer);
  if (h) h = sbx__add_header(h, "X-Daytona-Source", "sbx");
  if (h && s->org_id) h = sbx__add_header(h, "X-Daytona-Organization-ID", s->org_id);
  return h;
}

static int shared_headers(struct dt_state *s) {
  s->hdr_auth = sbx__http_shared_headers(auth_headers(s));
  s->hdr_json = s->hdr_auth ? curl_slist_append(NULL, "Content-Type: application/json") : NULL;
  if (!s->hdr_json) return SBX_ENOMEM;
  s->hdr_json->next = s->hdr_auth;
  return 0;
}

/* Credentials as the official SDK: an API key, or a JWT with an org id. */
static int dt_init(struct sbx_client *c, const sbx_config *cfg, char *errbuf, size_t errlen) {
  struct dt_state *s = SBX_NEW(sbx__alloc(c), struct dt_state);
  if (!s) return SBX_ENOMEM;
  s->a = sbx__alloc(c);
  c->prov_state = s;
  const char *key = sbx__pick(cfg->api_key, cfg->use_env, "DAYTONA_API_KEY");
  const char *jwt = key ? NULL : sbx__pick(NULL, cfg->use_env, "DAYTONA_JWT_TOKEN");
  const char *org = sbx__pick(cfg->organization_id, cfg->use_env, "DAYTONA_ORGANIZATION_ID");
  const char *api = sbx__pick(cfg->api_url, cfg->use_env, "DAYTONA_API_URL");
  const char *target = sbx__pick(cfg->target, cfg->use_env, "DAYTONA_TARGET");
  if (!key && !jwt)
    return init_fail(c, errbuf, errlen, SBX_EINVAL,
                     "daytona: no credentials: set DAYTONA_API_KEY (or sbx_config.api_key), "
                     "or DAYTONA_JWT_TOKEN with DAYTONA_ORGANIZATION_ID");
  if (jwt && !org)
    return init_fail(c, errbuf, errlen, SBX_EINVAL,
                     "daytona: DAYTONA_JWT_TOKEN needs DAYTONA_ORGANIZATION_ID "
                     "(or sbx_config.organization_id)");
  s->token = sbx__strdup(s->a, key ? key : jwt);
  s->org_id = org ? sbx__strdup(s->a, org) : NULL;
  s->target = target ? sbx__strdup(s->a, target) : NULL;
  s->api_url = sbx__strip_slash(s->a, api ? api : DT_DEFAULT_API_URL);
  s->api_host = s->api_url ? sbx__origin_of(s->a, s->api_url) : NULL;
  if (!s->token || (org && !s->org_id) || (target && !s->target) || !s->api_host ||
      shared_headers(s) != 0)
    return init_fail(c, errbuf, errlen, SBX_ENOMEM, NULL);
  if (strncmp(s->api_url, "http://", 7) != 0 && strncmp(s->api_url, "https://", 8) != 0) {
    if (errbuf && errlen)
      snprintf(errbuf, errlen, "daytona: API URL '%s' must start with http:// or https://",
               s->api_url);
    return init_fail(c, NULL, 0, SBX_EINVAL, NULL);
  }
  return 0;
}

const struct sbx_provider sbx__provider_daytona = {
    .name = "daytona",
    .init = dt_init,
    .destroy = dt_destroy,
    .create = dt_create,
    .connect = dt_connect,
    .info = dt_info,
    .kill = dt_kill,
    .pause = dt_pause,
    .set_timeout = dt_set_timeout,
    .set_interval = dt_set_interval,
    .list = dt_list,
    .exec_start = dt_exec_start,
    .exec_connect = dt_exec_connect,
    .signal = dt_signal,
    .write_stdin = dt_write_stdin,
    .file_write = dt_file_write,
    .file_write_many = dt_file_write_many,
    .file_read = dt_file_read,
    .file_read_many = dt_file_read_many,
    .fs = dt_fs,
    .archive = dt_archive,
    .set_labels = dt_set_labels,
    .snapshot_create = dt_snapshot_create,
    .snapshot_get = dt_snapshot_get,
    .snapshot_list = dt_snapshot_list,
    .snapshot_delete = dt_snapshot_delete,
};

/* ---- toolbox cache ------------------------------------------------------------ */

static size_t hash_id(const char *id) {
  return sbx__hash_str(id, DT_BUCKETS);
}

const struct dt_toolbox *dt_toolbox_find(struct dt_state *s, const char *id) {
  for (struct dt_toolbox *t = s->tb[hash_id(id)]; t; t = t->next)
    if (strcmp(t->id, id) == 0) return t;
  return NULL;
}

static void toolbox_free(const sbx_allocator *a, struct dt_toolbox *t) {
  sbx__free(a, t->id);
  sbx__free(a, t->base);
  sbx__free(a, t->host);
  sbx__free(a, t);
}

int dt_toolbox_put(struct dt_state *s, const char *id, const char *proxy_url) {
  if (!proxy_url || !*proxy_url) return 0;
  dt_toolbox_drop(s, id);
  struct dt_toolbox *t = SBX_NEW(s->a, struct dt_toolbox);
  if (!t) return SBX_ENOMEM;
  char *base = sbx__strip_slash(s->a, proxy_url);
  if (base) t->base = sbx__asprintf(s->a, "%s/%s", base, id);
  sbx__free(s->a, base);
  t->id = sbx__strdup(s->a, id);
  if (t->base) t->host = sbx__origin_of(s->a, t->base);
  if (!t->id || !t->base || !t->host) {
    toolbox_free(s->a, t);
    return SBX_ENOMEM;
  }
  size_t b = hash_id(id);
  t->next = s->tb[b];
  s->tb[b] = t;
  return 0;
}

void dt_toolbox_drop(struct dt_state *s, const char *id) {
  struct dt_toolbox **pp = &s->tb[hash_id(id)];
  while (*pp && strcmp((*pp)->id, id) != 0)
    pp = &(*pp)->next;
  if (!*pp) return;
  struct dt_toolbox *t = *pp;
  *pp = t->next;
  toolbox_free(s->a, t);
}

int dt_toolbox_learn(struct dt_state *s, const json_t *dto) {
  const char *id = sbx_json_str(dto, "id");
  const char *url = sbx_json_str(dto, "toolboxProxyUrl");
  return id && url && *url && dt_valid_id(id) ? dt_toolbox_put(s, id, url) : 0;
}

int dt_valid_id(const char *id) {
  if (!id || !*id) return 0;
  for (const char *p = id; *p; p++) {
    char ch = *p;
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
          ch == '-' || ch == '_' || ch == '.'))
      return 0;
  }
  return 1;
}

/* ---- requests -------------------------------------------------------------------- */

void dt_json_body(struct sbx_client *c, struct sbx_http_req *r, const char *body) {
  r->shared_headers = dt_of(c)->hdr_json;
  r->body = body;
  r->body_len = strlen(body);
}

int dt_api_req(struct sbx_client *c, struct sbx_http_req *r, char **url_out, const char *method,
               const char *body, const char *fmt, ...) {
  struct dt_state *s = dt_of(c);
  char path[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(path, sizeof path, fmt, ap);
  va_end(ap);
  if (!(*url_out = sbx__asprintf(s->a, "%s%s", s->api_url, path))) return SBX_ENOMEM;
  r->method = method;
  r->url = *url_out;
  r->host = s->api_host;
  r->shared_headers = s->hdr_auth;
  if (body) dt_json_body(c, r, body);
  return 0;
}

int dt_toolbox_req(struct sbx_client *c, struct sbx_http_req *r, char **url_out, const char *id,
                   const char *method, const char *path_and_query) {
  struct dt_state *s = dt_of(c);
  const struct dt_toolbox *t = dt_toolbox_find(s, id);
  if (!t) return SBX_ENOTFOUND;
  if (!(*url_out = sbx__asprintf(s->a, "%s%s", t->base, path_and_query))) return SBX_ENOMEM;
  r->method = method;
  r->url = *url_out;
  r->host = t->host;
  r->shared_headers = s->hdr_auth;
  return 0;
}

/* ---- replies -------------------------------------------------------------------- */

/* dt_info_from_json, dt_toolbox_learn, the state checks and the resolve. */
const char *const dt_dto_keys[] = {"id",  "snapshot", "state",  "daemonVersion",   "createdAt",
                                   "cpu", "memory",   "labels", "toolboxProxyUrl", "errorReason",
                                   "url", NULL};

int dt_http_error(const struct sbx_http *h, const char *what, struct sbx_errinfo *e) {
  long wait = h->retry_after_ms;
  if (wait < 0 && h->rl_exhausted) wait = h->rl_reset_ms; /* -1 when absent too */
  return sbx_e2b_map_http_error(SBX_DAYTONA, (int)h->status, h->body.data ? h->body.data : "",
                                h->body.len, wait, what, e);
}

int dt_toolbox_error(const struct sbx_http *h, const char *id, const char *what,
                     struct sbx_errinfo *e) {
  int st = dt_http_error(h, what, e);
  if (dt_says_not_started((int)h->status, h->body.data, h->body.len)) {
    sbx_errinfo_set(e, SBX_ECONFLICT, "%s: sandbox %s is not started (HTTP %ld); start it first",
                    what, id, h->status);
    e->retryable = 0;
    return SBX_ECONFLICT;
  }
  return st;
}

/* ---- toolbox resolve ------------------------------------------------------------- */

static struct dt_tb_op *tb_op(struct sbx_call *k) {
  return (struct dt_tb_op *)k; /* the call is the op's first member */
}

int dt_tb_needs_resolve(struct sbx_call *k) {
  return dt_toolbox_find(dt_of(k->op.c), tb_op(k)->id) == NULL;
}

int dt_tb_build_resolve(struct sbx_call *k, struct sbx_http_req *r) {
  struct dt_tb_op *t = tb_op(k);
  sbx__free(sbx__alloc(k->op.c), t->url);
  t->url = NULL;
  if (t->asked_proxy) /* the DTO had no toolboxProxyUrl */
    return dt_api_req(k->op.c, r, &t->url, "GET", NULL, "/sandbox/%s/toolbox-proxy-url", t->id);
  return dt_api_req(k->op.c, r, &t->url, "GET", NULL, "/sandbox/%s", t->id);
}

int dt_tb_parse_resolve(struct sbx_call *k, struct sbx_http *h, struct sbx_errinfo *e) {
  struct dt_tb_op *t = tb_op(k);
  char what[200];
  snprintf(what, sizeof what, "look up sandbox %s", t->id);
  if (h->status != 200) return dt_http_error(h, what, e);
  json_t *doc = e2b_parse_json_keys(h, dt_dto_keys, what, e);
  if (!doc) return e->status;
  int st = 0;
  if (t->asked_proxy) {
    st = dt_toolbox_put(dt_of(k->op.c), t->id, sbx_json_str(doc, "url"));
  } else {
    const char *state = sbx_json_str(doc, "state");
    if (state && strcmp(state, "started") != 0) {
      sbx_errinfo_set(e, SBX_ECONFLICT, "%s: sandbox %s is not started (state %s)", what, t->id,
                      state);
      st = SBX_ECONFLICT;
    } else {
      st = dt_toolbox_learn(dt_of(k->op.c), doc);
    }
  }
  if (st == SBX_ENOMEM) sbx_errinfo_set(e, SBX_ENOMEM, "%s: out of memory", what);
  if (!st && !t->asked_proxy && dt_tb_needs_resolve(k))
    t->asked_proxy = 1;
  else if (!st && dt_tb_needs_resolve(k)) {
    sbx_errinfo_set(e, SBX_EPROTO, "%s: the reply names no toolbox URL", what);
    st = SBX_EPROTO;
  }
  json_decref(doc);
  return st;
}

struct dt_tb_op *dt_tb_op_new(sbx_client *c, const struct op_kind *kind, const struct call_hooks *h,
                              size_t size, const char *id, void *ud, sbx_status *st) {
  if (!id) {
    *st = SBX_EINVAL;
    return NULL;
  }
  char *idc;
  struct dt_tb_op *t =
      (struct dt_tb_op *)sbx__call_new_for(c, kind, h, size, id, dt_valid_id, ud, st, &idc);
  if (t) t->id = idc;
  return t;
}
