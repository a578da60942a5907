/* small_file.h - read a small local file whole (multi-file uploads read
 * their sources at call time; large files are streamed instead). */
#ifndef SBX_PROVIDERS_SMALL_FILE_H
#define SBX_PROVIDERS_SMALL_FILE_H

#include <stddef.h>

#include "../protocol/alloc.h"
#include "../protocol/strbuf.h"
#include "sbx.h"

/* The bytes of the regular file at path (from a, NUL-terminated) and its
 * length in *len; NULL with errno set (ENOMEM when out of memory) when it
 * cannot be read. */
char *sbx__read_small_file(const sbx_allocator *a, const char *path, size_t *len);

/* Writes the headers of part i (the file's path given) into a body. */
typedef void (*sbx_part_head_fn)(struct sbx_str *body, const char *boundary, size_t i,
                                 const char *path);

/* A multipart/form-data body from a: for each upload, head() then its bytes
 * (local files read whole), then the closing boundary. NULL with *st
 * SBX_EIO (a local file cannot be read) or SBX_ENOMEM. */
char *sbx__multipart_body(const sbx_allocator *a, const char *boundary, const sbx_upload *ups,
                          size_t n, sbx_part_head_fn head, size_t *len, sbx_status *st);

#endif
