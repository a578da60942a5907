#!/bin/sh
# install.sh - make install into a temporary prefix, then build
# examples/version.c against it with nothing but pkg-config (shared, and
# --static against libsbx.a), run both and compare sbx_version() with the
# header; lint the installed man pages; make uninstall leaves no file behind.
# Also runs make abi-check's script on this build's libsbx.so.
# Under a sanitized build dir (libsbx.so links libasan) the install passes
# the same SANITIZE so make rebuilds nothing, and the examples are compiled
# with the sanitizer flags the library needs.
# Usage: sh tests/integration/install.sh [BUILD_DIR]
set -u
B=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
. "$top/tests/integration/lib/common.sh"
SO=$top/$B/libsbx.so.0.1.0
need install "$SO" "$top/$B/libsbx.a" "$top/$B/sbx" "$top/$B/sbxload" "$top/$B/sbx-emu"

T=$(mktemp -d "${TMPDIR:-/tmp}/sbx-install.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP
P=$T/prefix
VERSION=$(sed -n 's/^#define SBX_VERSION "\(.*\)"$/\1/p' include/sbx.h)

sh mk/abi.sh check "$SO" >"$T/err" 2>&1
check abi-check $?

SAN=
SANFLAGS=
if ldd "$SO" | grep -q libasan; then
  SAN=SANITIZE=address,undefined
  SANFLAGS="-fsanitize=address,undefined"
fi
# A make of its own: not the jobserver or variables of a calling make.
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -C "$top" B="$B" $SAN "$@"; }

mk -q "$B/libsbx.a" "$B/libsbx.so.0.1.0" "$B/sbx" "$B/sbxload" "$B/sbx-emu"
check "build dir up to date (install rebuilds nothing)" $?

mk install PREFIX="$P" >"$T/err" 2>&1
check "make install" $?
for f in include/sbx.h lib/libsbx.a lib/libsbx.so.$VERSION lib/pkgconfig/sbx.pc bin/sbx \
  bin/sbxload bin/sbx-emu share/man/man1/sbx.1 share/man/man1/sbxload.1 share/man/man3/libsbx.3; do
  [ -f "$P/$f" ] || bad "installed $f"
done
[ "$(readlink "$P/lib/libsbx.so.0")" = "libsbx.so.$VERSION" ] && [ "$(readlink "$P/lib/libsbx.so")" = libsbx.so.0 ]
check "soname symlinks" $?
ok "installed files present"

export PKG_CONFIG_PATH="$P/lib/pkgconfig"
[ "$(pkg-config --modversion sbx 2>"$T/err")" = "$VERSION" ]
check "pkg-config --modversion sbx" $?
grep -qx "prefix=$P" "$P/lib/pkgconfig/sbx.pc"
check "sbx.pc names the prefix" $?

# shared: the runtime must find libsbx.so.0 in the prefix, by its soname
# shellcheck disable=SC2046 # word splitting of pkg-config's flags is wanted
${CC:-cc} $SANFLAGS -o "$T/v-shared" examples/version.c $(pkg-config --cflags --libs sbx) \
  >"$T/err" 2>&1
check "build against the shared library with pkg-config" $?
LD_LIBRARY_PATH="$P/lib" ldd "$T/v-shared" 2>&1 | grep -q "libsbx.so.0 => $P/lib/libsbx.so.0"
check "loads libsbx.so.0 from the prefix" $?
SBX_LOCAL_ROOT=$T/local LD_LIBRARY_PATH="$P/lib" "$T/v-shared" >"$T/out" 2>"$T/err"
check "shared example runs" $?
grep -qx "libsbx $VERSION (header $VERSION)" "$T/out"
check "sbx_version() of the shared library is $VERSION" $?

# static: libsbx.a in place of -lsbx, its dependencies from --static
flags=$(pkg-config --static --libs sbx | sed "s/-lsbx /-l:libsbx.a /")
# shellcheck disable=SC2046
${CC:-cc} $SANFLAGS -o "$T/v-static" examples/version.c $(pkg-config --cflags sbx) $flags \
  >"$T/err" 2>&1
check "build against libsbx.a with pkg-config --static" $?
[ -x "$T/v-static" ] && ! ldd "$T/v-static" | grep -q libsbx
check "static example does not need libsbx.so" $?
SBX_LOCAL_ROOT=$T/local "$T/v-static" >"$T/out" 2>"$T/err" &&
  grep -qx "libsbx $VERSION (header $VERSION)" "$T/out"
check "static example runs, sbx_version() is $VERSION" $?

# the man pages render without warnings
for m in man1/sbx.1 man1/sbxload.1 man3/libsbx.3; do
  groff -t -man -ww -z "$P/share/man/$m" >"$T/err" 2>&1 && [ ! -s "$T/err" ]
  check "groff -man -ww $m" $?
done

mk uninstall PREFIX="$P" >"$T/err" 2>&1
check "make uninstall" $?
left=$(find "$P" -mindepth 1 | head -n 5)
[ -z "$left" ] && [ -d "$P" ]
CHECK_ERR=cat
echo "$left" >"$T/err"
check "uninstall leaves the prefix empty" $?

finish install.sh
