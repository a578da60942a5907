/* alloc.c - the per-client allocator wrappers (see alloc.h). The only file
 * of the library that calls malloc, realloc and free directly. */
#include "alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hooked(const sbx_allocator *a) {
  return a && a->malloc_fn;
}

void *sbx__malloc(const sbx_allocator *a, size_t n) {
  if (n == 0) n = 1;
  return hooked(a) ? a->malloc_fn(n, a->ud) : malloc(n);
}

void *sbx__calloc(const sbx_allocator *a, size_t n, size_t size) {
  if (size && n > SIZE_MAX / size) return NULL;
  size_t total = n * size;
  if (!hooked(a)) return calloc(total ? total : 1, 1);
  void *p = sbx__malloc(a, total);
  if (p) memset(p, 0, total ? total : 1);
  return p;
}

void *sbx__realloc(const sbx_allocator *a, void *p, size_t n) {
  if (!p) return sbx__malloc(a, n);
  if (n == 0) n = 1;
  return hooked(a) ? a->realloc_fn(p, n, a->ud) : realloc(p, n);
}

void sbx__free(const sbx_allocator *a, void *p) {
  if (!p) return;
  if (hooked(a))
    a->free_fn(p, a->ud);
  else
    free(p);
}

char *sbx__strndup(const sbx_allocator *a, const char *s, size_t n) {
  size_t len = strnlen(s, n);
  char *d = sbx__malloc(a, len + 1);
  if (!d) return NULL;
  memcpy(d, s, len);
  d[len] = 0;
  return d;
}

char *sbx__strdup(const sbx_allocator *a, const char *s) {
  return sbx__strndup(a, s, SIZE_MAX);
}

char *sbx__vasprintf(const sbx_allocator *a, const char *fmt, va_list ap) {
  va_list again;
  va_copy(again, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  char *d = n < 0 ? NULL : sbx__malloc(a, (size_t)n + 1);
  if (d) vsnprintf(d, (size_t)n + 1, fmt, again);
  va_end(again);
  return d;
}

char *sbx__asprintf(const sbx_allocator *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *d = sbx__vasprintf(a, fmt, ap);
  va_end(ap);
  return d;
}
