/* prov_util.h - small helpers every remote provider needs: config values
 * from explicit fields or the env, URL pieces, request headers. */
#ifndef SBX_PROVIDERS_PROV_UTIL_H
#define SBX_PROVIDERS_PROV_UTIL_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdio.h>

#include "../protocol/alloc.h"
#include "../protocol/strbuf.h"
#include "sbx.h"

/* The explicit value when set, else $env when use_env and set, else NULL. */
const char *sbx__pick(const char *explicit_value, int use_env, const char *env);
/* A copy without trailing slashes, from a (NULL when out of memory). */
char *sbx__strip_slash(const sbx_allocator *a, const char *s);
/* "https://host:port/path" -> "https://host:port", from a: the admission key. */
char *sbx__origin_of(const sbx_allocator *a, const char *url);
/* Append "name: value" (curl copies it into its own list); on failure frees
 * the list and returns NULL. */
struct curl_slist *sbx__add_header(struct curl_slist *l, const char *name, const char *value);
/* djb2 of s, modulo buckets: the per-client sandbox caches. */
size_t sbx__hash_str(const char *s, size_t buckets);

struct sbx_call;
struct op_kind;
struct call_hooks;
/* A call op about one sandbox: id (NULL: none) is checked with valid and a
 * copy goes to *id_out for the op to own. NULL with *st set (SBX_EINVAL for
 * a bad id) when that fails; nothing is left allocated then. */
struct sbx_call *sbx__call_new_for(struct sbx_client *c, const struct op_kind *kind,
                                   const struct call_hooks *h, size_t size, const char *id,
                                   int (*valid)(const char *), void *ud, sbx_status *st,
                                   char **id_out);

#endif
