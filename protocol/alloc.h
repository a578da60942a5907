/* alloc.h - every allocation libsbx makes for itself goes through these,
 * with the client's sbx_allocator (cfg.allocator): per client, nghttp2_mem
 * style. A NULL allocator, or one with no hooks set, means libc's.
 *
 * The hooks are only ever asked for size > 0, realloc with a live pointer
 * and free with a live pointer, so a host allocator needs no special cases.
 * Memory that another library allocates (jansson's json_dumps, libc's
 * opendir) is freed by that library's own function, never by sbx__free. */
#ifndef SBX_PROTOCOL_ALLOC_H
#define SBX_PROTOCOL_ALLOC_H

#include <stdarg.h>
#include <stddef.h>

#include "sbx.h"

void *sbx__malloc(const sbx_allocator *a, size_t n);
/* Zeroed, with the n * size overflow check a host allocator may not do. */
void *sbx__calloc(const sbx_allocator *a, size_t n, size_t size);
/* p may be NULL (then a malloc); n 0 is treated as 1. On failure p stays
 * valid and NULL is returned. */
void *sbx__realloc(const sbx_allocator *a, void *p, size_t n);
/* NULL p is a no-op. */
void sbx__free(const sbx_allocator *a, void *p);
char *sbx__strdup(const sbx_allocator *a, const char *s);
/* At most n bytes of s, always terminated. */
char *sbx__strndup(const sbx_allocator *a, const char *s, size_t n);
char *sbx__asprintf(const sbx_allocator *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
char *sbx__vasprintf(const sbx_allocator *a, const char *fmt, va_list ap);

/* An object of type T, zeroed. */
#define SBX_NEW(a, T) ((T *)sbx__calloc((a), 1, sizeof(T)))

#endif
