#!/bin/sh
# soak.sh - the chaos soak (`make soak`, tests/SOAK.md): SOAK_TASKS (10,000)
# tasks through `sbx run` against sbx-emu (TLS + HTTP/2, --exec null) under a
# fault mix, the runner SIGKILLed SOAK_KILLS (2) times at random points (from
# SOAK_SEED, printed) and resumed into the same results directory. Asserts:
# every task has exactly one result line with its expected final status,
# 0 live sandboxes in the emulator at the end, retries bounded by a multiple
# of the faults injected, RSS flat across runners. Prints the figures.
# Usage: sh tests/soak/soak.sh [BUILD_DIR]
# Environment: SOAK_TASKS, SOAK_SEED, SOAK_KILLS, SOAK_CONCURRENCY (200),
# SOAK_KEEP=1 keeps the work directory.
set -u
B=${1:-build}
N=${SOAK_TASKS:-10000}
KILLS=${SOAK_KILLS:-2}
CONC=${SOAK_CONCURRENCY:-200}
SEED=${SOAK_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
. "$top/tests/integration/lib/common.sh"
. "$top/tests/soak/soak_lib.sh"
SBX_BIN=$top/$B/sbx
EMU_BIN=${SBX_EMU_BIN:-$top/$B/sbx-emu}
CERTS=$top/$B/certs
[ -s "$CERTS/ca.pem" ] || sh tests/emu/gen-certs.sh "$CERTS" >/dev/null 2>&1
need soak "$SBX_BIN" "$EMU_BIN" "$CERTS/ca.pem" /usr/bin/time

T=$(mktemp -d "${TMPDIR:-/tmp}/sbx-soak.XXXXXX") || exit 1
RUNNER=
TIMER=
cleanup() {
  [ -n "$RUNNER" ] && kill -9 "$RUNNER" 2>/dev/null
  stop_emu
  if [ "${SOAK_KEEP:-0}" = 1 ]; then echo "soak: work directory kept: $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
CHECK_ERR='tail -n 8'

echo "soak: seed $SEED (SOAK_SEED=$SEED reproduces the kill points), $N tasks, $KILLS kills, concurrency $CONC"
start_emu soak --exec null --port 0 --tls-port 0 --tls-cert "$CERTS/server.pem" \
  --tls-key "$CERTS/server.key"
CTL=http://127.0.0.1:$PORT
URL=https://127.0.0.1:$TLS_PORT
export E2B_API_KEY=test-key
unset SBX_PROVIDER
# Under ASan freed memory waits in a quarantine: none here, so RSS shows reuse.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0"

# ---- the tasks: most succeed; every 25th fails on purpose (exit 3), every
# 10th uploads a file and downloads it back as an artifact ----------------------
soak_tasks "$N" >"$T/tasks.jsonl"
n_fail=$((N / 25))

# ---- calibration: requests per task of the same mix without faults ---------
ncal=$((N < 500 ? N : 500))
soak_tasks "$ncal" >"$T/calib.jsonl"
req0=$(requests_sum "$(curl -s "$CTL/_emu/stats")")
"$SBX_BIN" --api-url "$URL" --sandbox-url "$URL" --ca-file "$CERTS/ca.pem" run "$T/calib.jsonl" \
  --results "$T/calib" $RUN_OPTS --quiet >/dev/null 2>"$T/err"
crc=$?
req1=$(requests_sum "$(curl -s "$CTL/_emu/stats")")
per_task_milli=$(((req1 - req0) * 1000 / ncal))
[ "$crc" -eq 1 ] && [ "$(count_lines "$T/calib/results.jsonl" '"status":"ok"')" -eq $((ncal - ncal / 25)) ]
check "calibration without faults: $ncal tasks, $((req1 - req0)) requests ($per_task_milli per 1,000 tasks)" $?

# ---- the fault mix (first matching rule wins; "every" counts the requests
# that reach the rule, so rates are of what the rules above let through) -----
fault '{"method":"POST","path":"/v2/sandboxes","action":"lost","every":100,"count":0}' &&
  fault '{"method":"POST","path":"/process.Process/Start","action":"drop","after_messages":1,"every":100,"count":0}' &&
  fault '{"path":"/","action":"goaway","every":1000,"count":0}' &&
  fault '{"path":"/","status":503,"every":20,"count":0}' &&
  fault '{"path":"/","status":429,"retry_after":1,"every":50,"count":0}' &&
  fault '{"path":"/","delay_ms":2000,"every":100,"count":0}'
check "fault mix installed: 1% lost create replies, 1% exec streams dropped mid-stream, a GOAWAY every 1,000 requests, 5% 503, 2% 429 (Retry-After: 1), 1% delayed 2 s" $?

# ---- runs: SIGKILL at random points, then resume until done ------------------
kill_at=$(kill_points "$SEED" "$N" "$KILLS")
echo "soak: SIGKILL when results.jsonl reaches: ${kill_at:-none}"
R=$T/res/results.jsonl
t0=$(now_ms)
run=0
killed=0
for at in $kill_at end; do
  run=$((run + 1))
  start_runner "$run"
  if [ "$at" != end ]; then
    wait_done_or_exit "$R" "$at"
    if kill -0 "$RUNNER" 2>/dev/null; then
      rss_snapshot "$run"
      kill -9 "$RUNNER"
      killed=$((killed + 1))
      echo "soak: run $run SIGKILLed at $(count_lines "$R" '"task"') results, $(live) live sandboxes"
    fi
  fi
  wait_runner "$run"
  echo "soak: run $run ended (rc $rc) at $(count_lines "$R" '"task"') results"
  [ "$at" = end ] && last_rc=$rc
done
t1=$(now_ms)

# ---- assertions -------------------------------------------------------------
[ "$killed" -eq "$KILLS" ]
check "the runner was SIGKILLed $KILLS times mid-run (killed $killed)" $?
[ "$last_rc" -eq 1 ]
check "the last runner finished: exit 1, as some tasks fail on purpose (got $last_rc)" $?
lines=$(count_lines "$R" '"task"')
uniq=$(sed 's/.*"task":"\([^"]*\)".*/\1/' "$R" | sort -u | wc -l)
[ "$lines" -eq "$N" ] && [ "$uniq" -eq "$N" ]
check "every task done exactly once: $lines result lines, $uniq distinct tasks, $N tasks" $?
ok_n=$(grep '"task":"t-' "$R" | grep -c '"status":"ok"')
fail_n=$(grep '"task":"f-' "$R" | grep -c '"status":"failed"')
[ "$ok_n" -eq $((N - n_fail)) ] && [ "$fail_n" -eq "$n_fail" ]
check "every task has its expected status: $ok_n of $((N - n_fail)) ok, $fail_n of $n_fail failed (exit 3)" $?
bad_out=$(check_outputs "$R" "$T/res")
[ -z "$bad_out" ]
check "outputs and artifacts are each task's own${bad_out:+ ($bad_out)}" $?
left=$(live)
[ "$left" = 0 ]
check "0 live sandboxes in the emulator at the end (got $left)" $?
stats=$(curl -s "$CTL/_emu/stats")
faults_total=$(faults_sum "$stats")
retries=$(json_num "$T/res/summary.json" retries)
attempts_extra=$(awk -F'"attempts":' 'NF > 1 { split($2, a, /[,}]/); x += a[1] - 1 } END { print x + 0 }' "$R")
# Retries bounded: a fault touches one request, except a connection drop or
# a GOAWAY, which takes every stream of its connection (at most
# max_per_connection); each SIGKILL may redo up to CONC tasks in flight.
maxper=$(printf '%s' "$stats" | sed -n 's/.*"max_per_connection":\([0-9]*\).*/\1/p')
fk() { faults_obj "$stats" | tr ',' '\n' | sed -n "s/^\"$1\":\([0-9]*\)$/\1/p"; }
touched=$((faults_total - $(fk drop) - $(fk goaway) + ($(fk drop) + $(fk goaway)) * maxper))
requests=$(($(requests_sum "$stats") - req1))
extra=$((requests - N * per_task_milli / 1000))
kill_slack=$((KILLS * CONC))
[ "$faults_total" -gt 0 ] && [ "$attempts_extra" -gt 0 ] &&
  [ "$attempts_extra" -le $((touched + kill_slack)) ]
check "task retries bounded: $attempts_extra extra attempts <= $touched requests the faults touched + $KILLS x $CONC for the kills" $?
[ "$extra" -le $((3 * touched + kill_slack * per_task_milli / 1000)) ]
check "wire retries bounded: $extra requests over the fault-free $((N * per_task_milli / 1000)) <= 3 x $touched + the kills' $((kill_slack * per_task_milli / 1000))" $?
rss_first=$(peak_kb 1)
rss_last=$(peak_kb "$run")
[ "$rss_last" -gt 0 ] && [ "$rss_last" -le $((rss_first * 3 / 2 + 8192)) ]
check "RSS flat: peak of the last runner $rss_last KB <= 1.5 x the first's $rss_first KB + 8 MB" $?
flat=$(rss_growth "$run")
[ "$flat" -le 8192 ]
check "RSS flat within the last runner: its second half grew $flat KB over its first half's peak (<= 8 MB)" $?

orphans=$(cat "$T"/err.* | sed -n 's/.*killed \([0-9]*\) sandboxes an earlier runner left.*/\1/p' |
  awk '{ s += $1 } END { print s + 0 }')

# ---- figures ----------------------------------------------------------------
echo "soak figures:"
echo "  tasks: $N ($((N - n_fail)) expected ok, $n_fail expected failed), seed $SEED, concurrency $CONC"
echo "  runners: $run ($killed SIGKILLed, then resumed)"
echo "  faults injected: $(faults_text "$stats") (total $faults_total)"
echo "  retries: $attempts_extra extra task attempts over all runners ($retries by the last, summary.json); $extra requests over the fault-free $((N * per_task_milli / 1000)) (library retries, reattaches, reconciles); leftovers killed: $orphans by resumed runners at start, $(json_num "$T/res/summary.json" leftovers_killed) by the last one's reconciles and final sweep"
echo "  wall: $(((t1 - t0) / 1000)).$(((t1 - t0) % 1000 / 100)) s"
echo "  runner CPU: $(cpu_total "$run") s (user+sys, all runners), emulator CPU: $(emu_cpu) s"
echo "  peak RSS by runner (KB): $(peaks "$run")"
echo "  emulator: $requests requests on $(h2_conns "$stats") h2 connections, up to $maxper streams on one"
finish soak
