/* small_file.h - read a small local file whole (multi-file uploads read
 * their sources at call time; large files are streamed instead). */
#ifndef SBX_PROVIDERS_SMALL_FILE_H
#define SBX_PROVIDERS_SMALL_FILE_H

#include <stddef.h>

/* The bytes of the regular file at path (malloc'd, NUL-terminated) and its
 * length in *len; NULL with errno set when it cannot be read. */
char *sbx__read_small_file(const char *path, size_t *len);

#endif
