#!/bin/sh
# run_e2b.sh - `sbx run` on the E2B provider against sbx-emu (--exec null,
# TLS + HTTP/2): a 2,000-task batch under injected faults (5% 5xx and 2% 429
# with Retry-After on creates, 5% 5xx on kills, 1% of exec streams dropped
# with their connection mid-stream) ends with every task done exactly once
# and 0 live sandboxes; SIGINT mid-batch leaves 0 live sandboxes; SIGKILL
# mid-batch then a resume completes every task once with nothing leaked;
# finished tasks give their output tails back (flat memory).
# Usage: sh tests/integration/run_e2b.sh [BUILD_DIR] [N_TASKS]
set -u
B=${1:-build}
N=${2:-${SBX_RUN_TASKS:-2000}}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
. "$top/tests/integration/lib/common.sh"
SBX_BIN=$top/$B/sbx
EMU_BIN=${SBX_EMU_BIN:-$top/$B/sbx-emu}
CERTS=$top/$B/certs
need run_e2b "$SBX_BIN" "$EMU_BIN" "$CERTS/ca.pem"

T=$(mktemp -d "${TMPDIR:-/tmp}/sbx-run-e2b.XXXXXX") || exit 1
RUNNER=
cleanup() {
  [ -n "$RUNNER" ] && kill -9 "$RUNNER" 2>/dev/null
  stop_emu
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

start_emu run_e2b --exec null --port 0 --tls-port 0 --tls-cert "$CERTS/server.pem" \
  --tls-key "$CERTS/server.key"
CTL=http://127.0.0.1:$PORT
URL=https://127.0.0.1:$TLS_PORT
export E2B_API_KEY=test-key
unset SBX_PROVIDER

sbx_run() { # args... (in the background; pid in RUNNER)
  "$SBX_BIN" --api-url "$URL" --sandbox-url "$URL" --ca-file "$CERTS/ca.pem" run "$@" \
    >"$T/out" 2>"$T/err" &
  RUNNER=$!
}
wait_runner() { # [SECONDS]: exit code in rc (124: hung and killed)
  wait_pid "$RUNNER" "${1:-300}"
  rc=$?
  RUNNER=
}
live() { # sandboxes the emulator holds
  curl -s "$CTL/_emu/stats" | sed -n 's/.*"sandboxes":{"live":\([0-9]*\).*/\1/p'
}
fault() { # JSON rule
  curl -s -o /dev/null -w '%{http_code}' -X POST -d "$1" "$CTL/_emu/faults" | grep -q 201
}
unique_tasks() { # results file -> distinct task ids
  sed 's/.*"task":"\([^"]*\)".*/\1/' "$1" | sort -u | wc -l
}

# ---- N tasks under faults -------------------------------------------------------
i=1
while [ $i -le "$N" ]; do
  printf '{"id":"task-%05d","files":[{"path":"in/data.txt","content":"input %d\\n"},{"path":"in/more.txt","content":"more"}],"commands":["echo out-%d","sleep 0.05"],"artifacts":["in/*.txt"]}\n' "$i" "$i" "$i"
  i=$((i + 1))
done >"$T/batch.jsonl"
fault '{"method":"POST","path":"/v2/sandboxes","status":500,"every":20,"count":0}' &&
  fault '{"method":"POST","path":"/v2/sandboxes","status":429,"retry_after":1,"every":50,"count":0}' &&
  fault '{"method":"DELETE","path":"/sandboxes/","status":500,"every":20,"count":0}' &&
  fault '{"method":"POST","path":"/process.Process/Start","action":"drop","after_messages":1,"every":100,"count":0}'
check "faults injected (5% 5xx + 2% 429 on create, 5% 5xx on kill, 1% stream drops)" $?
t0=$(date +%s)
sbx_run "$T/batch.jsonl" --results "$T/big" --concurrency 400 --max-starting 100 --retries 5 \
  --rate create=2000/s --rate lifecycle=2000/s --quiet
wait_runner
t1=$(date +%s)
R=$T/big/results.jsonl
[ "$rc" -eq 0 ]
check "$N tasks under faults: exit 0 in $((t1 - t0)) s (got $rc)" $?
[ "$(count_lines "$R" '"task"')" -eq "$N" ] && [ "$(unique_tasks "$R")" -eq "$N" ] &&
  [ "$(count_lines "$R" '"status":"ok"')" -eq "$N" ]
check "every task done exactly once, all ok ($(count_lines "$R" '"status":"ok"') ok lines)" $?
grep '"task":"task-00007"' "$R" | grep -q '"stdout_tail":"out-7\\n"' &&
  [ "$(cat "$T/big/artifacts/task-00007/in/data.txt")" = "input 7" ] &&
  [ "$(cat "$T/big/artifacts/task-00007/in/more.txt")" = "more" ]
check "outputs and artifacts (two files up in one request, a glob down) are each task's own" $?
retries=$(sed -n 's/.*"retries": \([0-9]*\).*/\1/p' "$T/big/summary.json")
[ "${retries:-0}" -gt 0 ]
check "the faults caused retries ($retries), none of them visible in the results" $?
[ "$(live)" = "0" ]
check "the emulator holds 0 live sandboxes after the batch" $?
curl -s -X DELETE "$CTL/_emu/faults" >/dev/null

# ---- memory stays flat over a batch ------------------------------------------
# A finished task gives back its output tails and messages once its result
# line is written: they were kept, about 5 KB a task (50 MB over 10,000).
awk 'BEGIN { for (i = 1; i <= 2000; i++) printf "{\"id\":\"m-%04d\",\"commands\":[\"echo m-%d\",\"echo n-%d\"]}\n", i, i, i }' >"$T/mem.jsonl"
# (under ASan freed memory waits in a quarantine: none here, to see reuse)
asan=${ASAN_OPTIONS:-}
export ASAN_OPTIONS="${asan:+$asan:}quarantine_size_mb=0"
sbx_run "$T/mem.jsonl" --results "$T/mem" --concurrency 100 --quiet \
  --rate create=2000/s --rate lifecycle=2000/s
export ASAN_OPTIONS="$asan"
wait_lines "$T/mem/results.jsonl" '"task"' 500 600 0.02
rss1=$(awk '/^VmRSS/ { print $2 }' "/proc/$RUNNER/status" 2>/dev/null)
wait_runner
peak=$(sed -n 's/.*"runner_peak_rss_mb": \([0-9.]*\).*/\1/p' "$T/mem/summary.json")
grew=$(awk -v p="${peak:-0}" -v r="${rss1:-0}" 'BEGIN { printf "%d", p * 1024 - r }')
[ "$rc" -eq 0 ] && [ "$(count_lines "$T/mem/results.jsonl" '"stdout_tail":"n-')" -eq 2000 ] &&
  [ -n "$rss1" ] && [ -n "$peak" ] && [ "$grew" -lt 2048 ]
check "RSS flat: from 500 to 2,000 tasks done the runner grew ${grew} KB (< 2 MB; from ${rss1:-?} KB)" $?

# ---- SIGINT mid-batch ------------------------------------------------------------
i=1
while [ $i -le 300 ]; do
  printf '{"id":"slow-%03d","commands":["sleep 30"]}\n' "$i"
  i=$((i + 1))
done >"$T/slow.jsonl"
sbx_run "$T/slow.jsonl" --results "$T/int" --concurrency 100 --quiet
wait_lines "$T/int/journal.jsonl" '"ev":"created"' 100 300
kill -INT "$RUNNER"
wait_runner
[ "$rc" -eq 130 ] && [ "$(live)" = "0" ]
check "SIGINT mid-batch: exit 130 and 0 live sandboxes (rc $rc, live $(live))" $?

# ---- SIGKILL mid-batch, then resume ---------------------------------------------
i=1
while [ $i -le 400 ]; do
  printf '{"id":"c-%03d","commands":["sleep 0.%d","echo done-%d"]}\n' "$i" "$((i % 5 + 1))" "$i"
  i=$((i + 1))
done >"$T/crash.jsonl"
sbx_run "$T/crash.jsonl" --results "$T/crash" --concurrency 100 --quiet
wait_lines "$T/crash/results.jsonl" '"task"' 100 600 0.02
kill -9 "$RUNNER"
wait_runner
done_before=$(count_lines "$T/crash/results.jsonl" '"task"')
left=$(live)
[ "$done_before" -ge 100 ] && [ "$done_before" -lt 400 ] && [ "${left:-0}" -gt 0 ]
check "SIGKILL mid-batch: $done_before of 400 done, $left sandboxes left alive" $?
sbx_run "$T/crash.jsonl" --results "$T/crash" --resume --concurrency 100
wait_runner
[ "$rc" -eq 0 ] && grep -q "killed $left sandboxes an earlier runner left" "$T/err"
check "resume: the earlier runner's sandboxes are killed first, then the rest runs" $?
[ "$(count_lines "$T/crash/results.jsonl" '"task"')" -eq 400 ] && [ "$(unique_tasks "$T/crash/results.jsonl")" -eq 400 ]
check "every task completed exactly once across the crash" $?
[ "$(live)" = "0" ]
check "0 live sandboxes after the resumed run" $?

finish run_e2b
