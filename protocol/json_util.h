/* json_util.h - small helpers over jansson. */
#ifndef SBX_PROTOCOL_JSON_UTIL_H
#define SBX_PROTOCOL_JSON_UTIL_H

#include <jansson.h>
#include <stdint.h>

#include "alloc.h"

/* Typed getters: NULL or the fallback when the key is absent or of another type. */
const char *sbx_json_str(const json_t *obj, const char *key);
long long sbx_json_int(const json_t *obj, const char *key, long long fallback);
/* int64 as proto3 JSON: a number or a decimal string. */
int64_t sbx_json_int64(const json_t *obj, const char *key, int64_t fallback);
int sbx_json_bool(const json_t *obj, const char *key, int fallback);
/* Load from a buffer; NULL on invalid JSON, with a short reason in why (>= 80 bytes). */
json_t *sbx_json_loadb(const char *buf, size_t len, char *why, size_t why_len);
/* Dump compactly into a string from allocator a (free it with sbx__free(a,
 * ...)), NULL when v is NULL or memory runs out. */
char *sbx_json_dump(const sbx_allocator *a, const json_t *v, size_t *len_out);

#endif
