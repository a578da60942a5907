#!/bin/sh
# examples_embed.sh - the embedding examples against a fresh sbx-emu (E2B
# provider over TLS + HTTP/2, real exec) and on the local provider:
# examples/embed_poll.c (a plain poll() loop), examples/embed_libev.c (the
# host's own libev loop and timer beside sbx) and examples/python_ctypes.py
# (asyncio + ctypes, 100 sandboxes), examples/alloc_budget.c (a memory
# budget per client through cfg.allocator), each exiting 0 only when every job
# succeeded; afterwards the emulator holds no live sandbox.
# The python example loads libsbx.so into python3: a sanitized libsbx.so
# needs the sanitizer runtimes it links preloaded into the interpreter, and
# LeakSanitizer is off there (it would report CPython's own allocations);
# when the runtimes cannot be found that run skips it and says so (the
# plain run covers it).
# Usage: sh tests/integration/examples_embed.sh [BUILD_DIR]
set -u
B=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
. "$top/tests/integration/lib/common.sh"
EMU_BIN=$top/$B/sbx-emu
EX=$top/$B/examples
CERTS=$top/$B/certs
need examples_embed "$EMU_BIN" "$EX/embed_poll" "$EX/embed_libev" "$EX/alloc_budget" \
  "$top/$B/libsbx.so" \
  "$CERTS/ca.pem"

T=$(mktemp -d "${TMPDIR:-/tmp}/sbx-ex-embed.XXXXXX") || exit 1
cleanup() {
  stop_emu
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

start_emu examples_embed --port 0 --tls-port 0 --tls-cert "$CERTS/server.pem" \
  --tls-key "$CERTS/server.key" --root "$T/root"
unset SBX_PROVIDER SBX_TRACE
export E2B_API_KEY=test-key SBX_CA_FILE="$CERTS/ca.pem"
export E2B_API_URL=https://127.0.0.1:$TLS_PORT E2B_SANDBOX_URL=https://127.0.0.1:$TLS_PORT

# run NAME SECONDS CMD...: CMD's stdout in $T/out, stderr in $T/err, exit
# code in rc (124: hung and killed).
run() {
  name=$1
  secs=$2
  shift 2
  "$@" >"$T/out" 2>"$T/err" &
  wait_pid $! "$secs"
  rc=$?
  [ "$rc" -eq 0 ] || { echo "$name: exit $rc" >>"$T/err"; cat "$T/out" >>"$T/err"; }
}

run embed_poll 60 "$EX/embed_poll" 5
check embed_poll.e2b $rc
[ "$(count_lines "$T/out" '^job [0-4]: sandbox i.* exit 0 killed 1: hello from job [0-4]$')" -eq 5 ]
check embed_poll.e2b_output $?

run embed_libev 60 "$EX/embed_libev" 3
check embed_libev.e2b $rc
[ "$(count_lines "$T/out" '^\[[0-2]\] slept$')" -eq 3 ]
check embed_libev.e2b_output $?

# A per-client allocator: the budget pass must meet SBX_ENOMEM, and both
# clients give every byte back (the example checks; its kills are retried).
run alloc_budget 60 "$EX/alloc_budget" 4
check alloc_budget.e2b $rc
grep -q '^no budget: 4 of 4 sandboxes ok; .* 0 left after free$' "$T/out"
check alloc_budget.e2b_output $?

# the sanitizer runtimes libsbx.so links, if any: "" for a plain build
runtimes=$(ldd "$top/$B/libsbx.so" 2>/dev/null | awk '/lib(asan|ubsan)\.so/ { printf "%s ", $3 }')
if ldd "$top/$B/libsbx.so" 2>/dev/null | grep -q 'libasan.*not found'; then
  echo "skip python_ctypes: cannot find the sanitizer runtime to preload (run in the plain run)"
elif ! command -v python3 >/dev/null 2>&1; then
  bad python_ctypes "python3 is not installed"
else
  if [ -n "$runtimes" ]; then
    run python_ctypes 300 env LD_PRELOAD="$runtimes" \
      ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
      python3 examples/python_ctypes.py "$top/$B/libsbx.so" 100
  else
    run python_ctypes 180 python3 examples/python_ctypes.py "$top/$B/libsbx.so" 100
  fi
  check python_ctypes $rc
  grep -q '^python_ctypes: 100 of 100 sandboxes ok, 0 failed, 0 pending' "$T/out"
  check python_ctypes.counts $?
fi

live=$(curl -s "http://127.0.0.1:$PORT/_emu/stats" | sed -n 's/.*"sandboxes":{"live":\([0-9]*\).*/\1/p')
[ "$live" = 0 ]
check emu_no_live_sandboxes $?

# The same C examples on the local provider: the private loop watches the
# children through pidfds, the default loop through libev's SIGCHLD reaper.
export SBX_PROVIDER=local SBX_LOCAL_ROOT=$T/local
unset E2B_API_KEY
run embed_poll_local 60 "$EX/embed_poll" 3
check embed_poll.local $rc
run embed_libev_local 60 "$EX/embed_libev" 2
check embed_libev.local $rc
run alloc_budget_local 60 "$EX/alloc_budget" 3
check alloc_budget.local $rc

finish examples_embed
