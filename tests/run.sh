#!/bin/sh
# run.sh BUILD_DIR MODE - run the test suites and add up their counts.
#   MODE: unit | integration | conformance | all | sanitized (unit + integration)
#         | valgrind (unit + integration, every libsbx program under memcheck)
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
  t0=$(date +%s)
  "$@" >"$log" 2>&1
  rc=$?
  cat "$log"
  echo "($name: $(($(date +%s) - t0)) s)"
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

# Under MODE valgrind: memcheck runs every C test (its forked cases too) and,
# through wrappers in $B/vg, the sbx and sbxload the shell suites start; any
# memory error or definite/indirect leak fails the process (exit 99) and so
# its check. Timeouts of the suites are scaled by SBX_TEST_SLOW.
VG=""
vg_setup() {
  VG="valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect"
  VG="$VG --errors-for-leak-kinds=definite,indirect --num-callers=30"
  VG="$VG --suppressions=$top/tests/valgrind.supp"
  export SBX_TEST_SLOW=${SBX_TEST_SLOW:-10} SBX_TEST_TIMEOUT=${SBX_TEST_TIMEOUT:-900}
  certs # linked into $B/vg below with everything else of $B
  rm -rf "$B/vg"
  mkdir -p "$B/vg/logs"
  for f in "$B"/*; do
    [ "$f" = "$B/vg" ] || ln -s "$top/$f" "$B/vg/$(basename "$f")"
  done
  for p in sbx sbxload; do
    rm -f "$B/vg/$p"
    printf '#!/bin/sh\nexec %s --log-file=%s/%s/vg/logs/%s.%%p.log %s/%s/%s "$@"\n' \
      "$VG" "$top" "$B" "$p" "$top" "$B" "$p" >"$B/vg/$p"
    chmod +x "$B/vg/$p"
  done
}

# A wrapped program's report: memcheck wrote one log per process; an error
# or leak record ("==PID== ...") in any fails this pseudo-suite (the
# process's exit code 99 already failed its check). Valgrind's own notes
# ("--PID-- ...") are not errors.
vg_logs() {
  n=$(ls "$B"/vg/logs/*.log 2>/dev/null | wc -l)
  bad=$(grep -l '^==[0-9]*==' "$B"/vg/logs/*.log 2>/dev/null | wc -l)
  for l in $(grep -l '^==[0-9]*==' "$B"/vg/logs/*.log 2>/dev/null | head -n 5); do
    echo "== $l"
    head -n 60 "$l"
  done
  echo "valgrind-logs: $((n - bad)) passed, $bad failed"
}

unit() {
  for t in "$B"/tests/test_*; do
    [ -x "$t" ] || continue
    run_suite "$(basename "$t")" $VG "$t"
  done
}

integration() {
  certs
  export SBX_EMU="$B/sbx-emu" SBX_CERTS="$B/certs" SBX_BIN="$B/sbx"
  for t in "$B"/itests/test_*; do
    [ -x "$t" ] || continue
    run_suite "$(basename "$t")" $VG "$t"
  done
  sb=$B
  if [ -n "$VG" ]; then
    sb=$B/vg
    export SBX_BIN="$B/vg/sbx"
  fi
  for s in tests/integration/*.sh; do
    [ -f "$s" ] || continue
    case $s in
    */install.sh) run_suite install.sh sh "$s" "$B" ;; # builds and installs: the real dir
    *) run_suite "$(basename "$s")" sh "$s" "$sb" ;;
    esac
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
valgrind) vg_setup; unit; integration; run_suite valgrind-logs vg_logs ;;
*) echo "usage: $0 BUILD_DIR unit|integration|conformance|all|sanitized|valgrind" >&2; exit 2 ;;
esac

[ -n "$broken" ] && echo "broken suites:$broken"
echo "total ($MODE): $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
