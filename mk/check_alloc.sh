#!/bin/sh
# check_alloc.sh - the library allocates only through protocol/alloc.h (the
# client's allocator hooks, sbx.h "sbx_allocator"). Lists every direct call
# of libc's allocator in reactor/, protocol/ and providers/; exits 1 if any.
# A call on memory another library made (scandir's list, getline's line) is
# let through when its line says so with the marker "libc-owned".
cd "$(dirname "$0")/.." || exit 2
hits=$(grep -nE '(^|[^_a-zA-Z0-9>.])(malloc|calloc|realloc|strdup|strndup|free|asprintf|vasprintf|reallocarray)[[:space:]]*\(' \
  reactor/*.c protocol/*.c providers/*.c reactor/*.h protocol/*.h providers/*.h |
  grep -v '^protocol/alloc\.c:' | grep -v 'libc-owned' | grep -vE ':[0-9]+:[[:space:]]*(/?\*|//)')
if [ -n "$hits" ]; then
  echo "check_alloc: direct libc allocation outside protocol/alloc.c (use sbx__malloc and friends):"
  echo "$hits"
  exit 1
fi
echo "check_alloc: every allocation of the library goes through protocol/alloc.h"
