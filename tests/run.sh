#!/bin/sh
# run.sh BUILD_DIR MODE - run the test suites and add up their counts.
#   MODE: unit | integration | conformance | all | sanitized (unit + integration)
# Every suite prints "N passed, N failed" as its last count line; this script
# prints the total the same way and fails if anything failed or a suite broke.
B=${1:-build}
MODE=${2:-all}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
total_pass=0
total_fail=0
broken=""

run_suite() { # name, command...
  name=$1
  shift
  log=$(mktemp)
  "$@" >"$log" 2>&1
  rc=$?
  cat "$log"
  line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
  rm -f "$log"
  if [ -z "$line" ]; then
    broken="$broken $name(no-count,rc=$rc)"
    total_fail=$((total_fail + 1))
    return
  fi
  p=$(echo "$line" | sed -E 's/^(.*[^0-9])?([0-9]+) passed, .*/\2/')
  f=$(echo "$line" | sed -E 's/.* passed, ([0-9]+) failed.*/\1/')
  total_pass=$((total_pass + p))
  total_fail=$((total_fail + f))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    broken="$broken $name(rc=$rc)"
    total_fail=$((total_fail + 1))
  fi
}

certs() {
  mkdir -p "$B/certs"
  sh tests/emu/gen-certs.sh "$B/certs" >/dev/null 2>&1 || echo "warning: cannot generate test certificates" >&2
}

unit() {
  for t in "$B"/tests/test_*; do
    [ -x "$t" ] || continue
    run_suite "$(basename "$t")" "$t"
  done
}

integration() {
  certs
  export SBX_EMU="$B/sbx-emu" SBX_CERTS="$B/certs" SBX_BIN="$B/sbx"
  for t in "$B"/itests/test_*; do
    [ -x "$t" ] || continue
    run_suite "$(basename "$t")" "$t"
  done
  for s in tests/integration/*.sh; do
    [ -f "$s" ] || continue
    run_suite "$(basename "$s")" sh "$s" "$B"
  done
}

conformance() {
  certs
  for s in tests/conformance/run-*.sh; do
    [ -f "$s" ] || continue
    run_suite "$(basename "$s")" sh "$s" "$B"
  done
}

case "$MODE" in
unit) unit ;;
integration) integration ;;
conformance) conformance ;;
sanitized) unit; integration ;;
all) unit; integration; conformance ;;
*) echo "usage: $0 BUILD_DIR unit|integration|conformance|all|sanitized" >&2; exit 2 ;;
esac

[ -n "$broken" ] && echo "broken suites:$broken"
echo "total ($MODE): $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
