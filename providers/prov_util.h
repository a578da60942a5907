/* prov_util.h - small helpers every remote provider needs: config values
 * from explicit fields or the env, URL pieces, request headers. */
#ifndef SBX_PROVIDERS_PROV_UTIL_H
#define SBX_PROVIDERS_PROV_UTIL_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdio.h>

/* The explicit value when set, else $env when use_env and set, else NULL. */
const char *sbx__pick(const char *explicit_value, int use_env, const char *env);
/* A copy without trailing slashes (malloc'd). */
char *sbx__strip_slash(const char *s);
/* "https://host:port/path" -> "https://host:port" (malloc'd): the admission key. */
char *sbx__origin_of(const char *url);
/* Append "name: value"; on failure frees the list and returns NULL. */
struct curl_slist *sbx__add_header(struct curl_slist *l, const char *name, const char *value);

/* Percent-encode everything but RFC 3986 unreserved characters into f. */
void sbx__url_encode(FILE *f, const char *s);
/* djb2 of s, modulo buckets: the per-client sandbox caches. */
size_t sbx__hash_str(const char *s, size_t buckets);

#endif
