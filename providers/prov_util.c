/* prov_util.c - see prov_util.h. */
#include "prov_util.h"

#include "../reactor/call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sbx__pick(const char *explicit_value, int use_env, const char *env) {
  if (explicit_value && *explicit_value) return explicit_value;
  if (use_env) {
    const char *v = getenv(env);
    if (v && *v) return v;
  }
  return NULL;
}

char *sbx__strip_slash(const char *s) {
  char *d = strdup(s);
  if (!d) return NULL;
  size_t n = strlen(d);
  while (n > 0 && d[n - 1] == '/')
    d[--n] = 0;
  return d;
}

char *sbx__origin_of(const char *url) {
  const char *p = strstr(url, "://");
  p = p ? p + 3 : url;
  const char *slash = strchr(p, '/');
  size_t n = slash ? (size_t)(slash - url) : strlen(url);
  return strndup(url, n);
}

struct curl_slist *sbx__add_header(struct curl_slist *l, const char *name, const char *value) {
  size_t n = strlen(name) + strlen(value) + 3;
  char *line = malloc(n);
  if (!line) {
    curl_slist_free_all(l);
    return NULL;
  }
  snprintf(line, n, "%s: %s", name, value);
  struct curl_slist *r = curl_slist_append(l, line);
  free(line);
  if (!r) curl_slist_free_all(l);
  return r;
}

void sbx__url_encode(FILE *f, const char *s) {
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
        ch == '-' || ch == '_' || ch == '.' || ch == '~')
      fputc(ch, f);
    else
      fprintf(f, "%%%02X", ch);
  }
}

size_t sbx__hash_str(const char *s, size_t buckets) {
  size_t h = 5381;
  for (; *s; s++)
    h = h * 33 + (unsigned char)*s;
  return h % buckets;
}

struct sbx_call *sbx__call_new_for(struct sbx_client *c, const struct op_kind *kind,
                                   const struct call_hooks *h, size_t size, const char *id,
                                   int (*valid)(const char *), void *ud, sbx_status *st,
                                   char **id_out) {
  *id_out = NULL;
  if (id && !valid(id)) {
    *st = SBX_EINVAL;
    return NULL;
  }
  char *idc = id ? strdup(id) : NULL;
  if (id && !idc) {
    *st = SBX_ENOMEM;
    return NULL;
  }
  struct sbx_call *k = sbx__call_new(c, kind, h, size, ud, st);
  if (!k) {
    free(idc);
    return NULL;
  }
  *id_out = idc;
  return k;
}
