/* strbuf.h - a growable string on a client's allocator, for building
 * request paths and bodies (in place of open_memstream, whose buffer is
 * libc's). A failed append makes the builder fail for good: build the whole
 * string, then check once in sbx_str_take. */
#ifndef SBX_PROTOCOL_STRBUF_H
#define SBX_PROTOCOL_STRBUF_H

#include <stddef.h>

#include "alloc.h"

struct sbx_str {
  const sbx_allocator *a;
  char *data; /* NUL-terminated once anything was added */
  size_t len, cap;
  int failed; /* an allocation failed: the string is lost */
};

void sbx_str_init(struct sbx_str *s, const sbx_allocator *a);
/* 0, or SBX_ENOMEM (then and from then on). */
int sbx_str_add(struct sbx_str *s, const void *p, size_t n);
int sbx_str_adds(struct sbx_str *s, const char *z);
int sbx_str_addf(struct sbx_str *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Percent-encode z as one URL query value or path segment (RFC 3986
 * unreserved characters kept). */
int sbx_str_url_encode(struct sbx_str *s, const char *z);
/* The string (free it with sbx__free(s->a, ...)) and its length; NULL when
 * an append failed. The builder is empty again either way. */
char *sbx_str_take(struct sbx_str *s, size_t *len);
void sbx_str_free(struct sbx_str *s);

#endif
