#!/bin/sh
# abi.sh check|update LIB.so - the symbols libsbx.so exports, against the
# committed list mk/abi.txt and against what include/sbx.h declares.
#   check:  fails, with a diff, when the export list differs from mk/abi.txt
#           or a function declared in sbx.h is not exported (no SBX_API).
#   update: rewrites mk/abi.txt (after the header check passes); commit it
#           with the API change that caused it.
set -u
mode=${1:-check}
so=${2:-build/libsbx.so.0.1.0}
top=$(cd "$(dirname "$0")/.." && pwd)
list="$top/mk/abi.txt"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Sanitizer builds add instrumentation symbols (__asan_*, __odr_asan.*, ...):
# everything an interposer adds starts with "_"; ours never does.
nm -D --defined-only "$so" | awk '{print $NF}' | grep -v '^_' | sort -u >"$tmp/exported" || {
  echo "abi: cannot read the dynamic symbols of $so" >&2
  exit 2
}
# Functions the header declares: preprocess (drops comments), then take
# every sbx_name( ; typedefs of function pointers read "(*sbx_name)(".
${CC:-cc} -E -P "$top/include/sbx.h" | grep -oE '\bsbx_[a-z0-9_]+ *\(' | tr -d ' (' | sort -u \
  >"$tmp/declared"

missing=$(comm -23 "$tmp/declared" "$tmp/exported")
extra=$(comm -13 "$tmp/declared" "$tmp/exported")
if [ -n "$missing" ] || [ -n "$extra" ]; then
  [ -n "$missing" ] && printf 'abi: declared in sbx.h but not exported (missing SBX_API?):\n%s\n' "$missing" >&2
  [ -n "$extra" ] && printf 'abi: exported but not declared in sbx.h (make it static or hidden):\n%s\n' "$extra" >&2
  exit 1
fi

case "$mode" in
update)
  cp "$tmp/exported" "$list"
  echo "abi: wrote $(wc -l <"$list") symbols to mk/abi.txt"
  ;;
check)
  if ! diff -u "$list" "$tmp/exported" >"$tmp/diff"; then
    echo "abi: the exported symbols of $so differ from mk/abi.txt (- committed, + built):" >&2
    cat "$tmp/diff" >&2
    echo "abi: if the change is deliberate, run make abi-update and commit mk/abi.txt" >&2
    exit 1
  fi
  echo "abi: $(wc -l <"$list") exported symbols match mk/abi.txt"
  ;;
*)
  echo "usage: $0 check|update LIB.so" >&2
  exit 2
  ;;
esac
