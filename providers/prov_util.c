/* prov_util.c - see prov_util.h. */
#include "prov_util.h"

#include "../reactor/call.h"
#include "../reactor/client.h"

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

char *sbx__strip_slash(const sbx_allocator *a, const char *s) {
  char *d = sbx__strdup(a, s);
  if (!d) return NULL;
  size_t n = strlen(d);
  while (n > 0 && d[n - 1] == '/')
    d[--n] = 0;
  return d;
}

char *sbx__origin_of(const sbx_allocator *a, const char *url) {
  const char *p = strstr(url, "://");
  p = p ? p + 3 : url;
  const char *slash = strchr(p, '/');
  size_t n = slash ? (size_t)(slash - url) : strlen(url);
  return sbx__strndup(a, url, n);
}

/* Header lines are short (tokens, ids): built on the stack, and curl copies
 * the line into its list with its own allocator. */
struct curl_slist *sbx__add_header(struct curl_slist *l, const char *name, const char *value) {
  char line[8192];
  int n = snprintf(line, sizeof line, "%s: %s", name, value);
  struct curl_slist *r = n > 0 && (size_t)n < sizeof line ? curl_slist_append(l, line) : NULL;
  if (!r) curl_slist_free_all(l);
  return r;
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
  char *idc = id ? sbx__strdup(sbx__alloc(c), id) : NULL;
  if (id && !idc) {
    *st = SBX_ENOMEM;
    return NULL;
  }
  struct sbx_call *k = sbx__call_new(c, kind, h, size, ud, st);
  if (!k) {
    sbx__free(sbx__alloc(c), idc);
    return NULL;
  }
  *id_out = idc;
  return k;
}
