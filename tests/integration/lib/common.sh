# common.sh - sourced by the shell suites in tests/integration (POSIX sh;
# not a suite itself: tests/run.sh runs tests/integration/*.sh only).
#   . "$top/tests/integration/lib/common.sh"
# Counts checks: "ok NAME" or "FAIL NAME[: why]" per check, then
# `finish SUITE` prints "SUITE: N passed, N failed" and returns 1 on failures.
# The suite sets T (its temporary directory) before it runs anything here.

pass=0
fail=0

ok() { # name
  pass=$((pass + 1))
  printf 'ok %s\n' "$1"
}

bad() { # name [why]
  fail=$((fail + 1))
  if [ $# -ge 2 ]; then
    printf 'FAIL %s: %s\n' "$1" "$2" # not echo: dash's echo expands backslashes
  else
    printf 'FAIL %s\n' "$1"
  fi
}

# check NAME STATUS: ok when STATUS is 0, else check_failed NAME.
check() {
  if [ "$2" -eq 0 ]; then ok "$1"; else check_failed "$1"; fi
}

# What a failed check prints; a suite may define its own after sourcing this.
# This one: "FAIL NAME", then $CHECK_ERR (default: the last 15 lines) of
# $T/err, indented.
CHECK_ERR='tail -n 15'
check_failed() {
  bad "$1"
  [ -s "$T/err" ] && $CHECK_ERR "$T/err" | sed 's/^/    /'
}

finish() { # suite
  echo "$1: $pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}

# slow SECONDS: SECONDS scaled by $SBX_TEST_SLOW (make valgrind sets it: a
# program under memcheck runs 10-50 times slower), for sleeps that give a
# program time to reach a point.
slow() {
  awk -v x="$1" -v s="${SBX_TEST_SLOW:-1}" 'BEGIN { print x * s }'
}

count_lines() { # file pattern -> lines matching (0 when the file is missing)
  n=$(grep -c "$2" "$1" 2>/dev/null)
  echo "${n:-0}"
}

# wait_lines FILE PATTERN N TRIES [SECONDS]: until FILE has N lines matching
# PATTERN, looking every SECONDS (0.05) at most TRIES times.
wait_lines() {
  i=0
  while [ "$(count_lines "$1" "$2")" -lt "$3" ] && [ $i -lt "$4" ]; do
    sleep "${5:-0.05}"
    i=$((i + 1))
  done
}

# need SUITE FILE...: each FILE exists, or the suite ends as 1 failed check.
need() {
  suite=$1
  shift
  for f in "$@"; do
    [ -e "$f" ] || {
      echo "$suite: missing $f (run make)" >&2
      echo "$suite: 0 passed, 1 failed"
      exit 1
    }
  done
}

# start_emu SUITE ARGS...: start $EMU_BIN ARGS with its port file in $T/port
# and its log in $T/emu.log (pid in EMU_PID, for stop_emu), wait up to 10 s
# for the port file ("HTTP_PORT HTTPS_PORT") and set PORT and TLS_PORT. If it
# did not start (or, given --tls-port, has no TLS port), the suite ends as 1
# failed check.
EMU_PID=
start_emu() {
  suite=$1
  shift
  want_tls=
  for a in "$@"; do [ "$a" = --tls-port ] && want_tls=1; done
  "$EMU_BIN" "$@" --port-file "$T/port" >"$T/emu.log" 2>&1 &
  EMU_PID=$!
  i=0
  while [ ! -s "$T/port" ] && [ $i -lt 100 ]; do
    kill -0 "$EMU_PID" 2>/dev/null || break
    sleep 0.1
    i=$((i + 1))
  done
  PORT=$(cut -d' ' -f1 "$T/port" 2>/dev/null)
  TLS_PORT=$(cut -s -d' ' -f2 "$T/port" 2>/dev/null)
  if [ -z "$PORT" ] || { [ -n "$want_tls" ] && [ -z "$TLS_PORT" ]; }; then
    echo "$suite: sbx-emu did not start:" >&2
    cat "$T/emu.log" >&2
    echo "$suite: 0 passed, 1 failed"
    exit 1
  fi
}

stop_emu() {
  if [ -n "$EMU_PID" ]; then
    kill "$EMU_PID" 2>/dev/null
    wait "$EMU_PID" 2>/dev/null
  fi
}

# wait_pid PID SECONDS: the exit code of the background job PID, or 124
# after killing it (-9) when it is still running after SECONDS: a hung
# runner fails its check instead of hanging the suite.
wait_pid() {
  n=0
  while [ $n -lt $(($2 * 10)) ]; do
    st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)
    [ -z "$st" ] || [ "$st" = Z ] && break # gone, or a zombie waiting for wait
    sleep 0.1
    n=$((n + 1))
  done
  if [ $n -ge $(($2 * 10)) ]; then
    echo "wait_pid: $1 still running after $2 s: killed" >&2
    kill -9 "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 124
  fi
  wait "$1"
}
