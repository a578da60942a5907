# soak_lib.sh - helpers of tests/soak/soak.sh (sourced; POSIX sh). Uses the
# suite's T, CTL, URL, CERTS, SBX_BIN, CONC and EMU_PID.

fault() { # JSON rule
  curl -s -o /dev/null -w '%{http_code}' -X POST -d "$1" "$CTL/_emu/faults" | grep -q 201
}

live() { # sandboxes the emulator holds
  curl -s "$CTL/_emu/stats" | sed -n 's/.*"sandboxes":{"live":\([0-9]*\).*/\1/p'
}

now_ms() {
  echo $(($(date +%s%N) / 1000000))
}

# soak_tasks N: the task file. t-NNNNN succeed; f-NNNNN (every 25th) fail
# at their second command; every 10th uploads a file it gets back as an
# artifact. The sleeps keep streams open while faults hit their connections.
soak_tasks() {
  awk -v n="$1" 'BEGIN {
    for (i = 1; i <= n; i++) {
      if (i % 25 == 0) {
        printf "{\"id\":\"f-%05d\",\"commands\":[\"echo out-%d\",\"exit 3\",\"echo never\"]}\n", i, i
      } else if (i % 10 == 0) {
        printf "{\"id\":\"t-%05d\",\"files\":[{\"path\":\"in/data.txt\",\"content\":\"input %d\\n\"}],", i, i
        printf "\"commands\":[\"echo out-%d\",\"sleep 0.2\"],\"artifacts\":[\"in/data.txt\"]}\n", i
      } else {
        printf "{\"id\":\"t-%05d\",\"commands\":[\"echo out-%d\",\"sleep 0.%d\"]}\n", i, i, i % 4 + 1
      }
    }
  }'
}

# kill_points SEED N K: K result counts, increasing, the i-th drawn in
# [(i - 0.8) / (K + 1), i / (K + 1)) of N: every runner gets work done.
kill_points() {
  awk -v s="$1" -v n="$2" -v k="$3" 'BEGIN {
    srand(s)
    for (i = 1; i <= k; i++) printf "%d ", int(n * (i - 0.8 + 0.8 * rand()) / (k + 1)) + 1
  }'
}

# The runner's limits: the emulator takes far more than a provider's default
# create rate (--rate create=1000/s is the budget, not the pace).
RUN_OPTS="--concurrency $CONC --max-starting 64 --retries 5 --rate create=1000/s --rate lifecycle=2000/s"

# start_runner RUN: `sbx run` under GNU time (wall, CPU, peak RSS even when
# SIGKILLed) in the background: TPID is time's pid, RUNNER sbx's; a sampler
# writes "VmRSS VmHWM" (KB) every 0.25 s to $T/rss.RUN.
start_runner() {
  /usr/bin/time -f '%e %U %S %M' -o "$T/time.$1" "$SBX_BIN" --api-url "$URL" \
    --sandbox-url "$URL" --ca-file "$CERTS/ca.pem" run "$T/tasks.jsonl" --results "$T/res" \
    $RUN_OPTS >"$T/out.$1" 2>"$T/err.$1" &
  TPID=$!
  RUNNER=
  i=0
  while [ -z "$RUNNER" ] && [ $i -lt 200 ]; do
    RUNNER=$(cat "/proc/$TPID/task/$TPID/children" 2>/dev/null | tr -d ' ')
    [ -n "$RUNNER" ] || sleep 0.01
    i=$((i + 1))
  done
  (
    while [ -r "/proc/$RUNNER/status" ]; do
      awk '/^VmRSS/ { r = $2 } /^VmHWM/ { h = $2 } END { if (r) print r, h }' "/proc/$RUNNER/status"
      sleep 0.25
    done
  ) >"$T/rss.$1" 2>/dev/null &
  SAMPLER=$!
}

# wait_done_or_exit FILE N: until FILE has N lines or the runner is gone.
wait_done_or_exit() {
  while kill -0 "$RUNNER" 2>/dev/null; do
    [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ] && return 0
    sleep 0.05
  done
}

rss_snapshot() { # RUN: one more sample just before the kill
  awk '/^VmRSS/ { r = $2 } /^VmHWM/ { h = $2 } END { if (r) print r, h }' \
    "/proc/$RUNNER/status" >>"$T/rss.$1" 2>/dev/null
}

wait_runner() { # RUN: exit code in rc (124: hung and killed after 15 minutes)
  wait_pid "$TPID" 900
  rc=$?
  wait "$SAMPLER" 2>/dev/null
  RUNNER=
}

peak_kb() { # RUN: peak RSS (GNU time's %M)
  awk '/^[0-9.]+ [0-9.]+ [0-9.]+ [0-9]+$/ { m = $4 } END { print m + 0 }' "$T/time.$1"
}

peaks() { # RUNS: "p1 p2 ..."
  r=1
  out=
  while [ $r -le "$1" ]; do
    out="$out$(peak_kb $r) "
    r=$((r + 1))
  done
  echo "$out"
}

cpu_total() { # RUNS: user + sys of every runner, in seconds
  r=1
  while [ $r -le "$1" ]; do
    cat "$T/time.$r"
    r=$((r + 1))
  done | awk '/^[0-9.]+ [0-9.]+ [0-9.]+ [0-9]+$/ { c += $2 + $3 } END { printf "%.1f", c }'
}

emu_cpu() { # the emulator's user + sys so far, in seconds
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($14 + $15) / hz }' "/proc/$EMU_PID/stat"
}

# rss_growth RUN: KB the runner's RSS rose in the second half of its samples
# over the first half's peak (0 when it did not).
rss_growth() {
  awk 'NF == 2 { v[n++] = $1 } END {
    if (n < 4) { print 0; exit }
    for (i = 0; i < n / 2; i++) if (v[i] > a) a = v[i]
    for (; i < n; i++) if (v[i] > b) b = v[i]
    print (b > a ? b - a : 0)
  }' "$T/rss.$1"
}

json_num() { # FILE KEY: the first "KEY": N
  sed -n "s/.*\"$2\": *\([0-9]*\).*/\1/p" "$1" | head -n 1
}

# The stats' "faults" object as "kind n, ..." and as a sum; requests
# counted by route summed.
faults_obj() {
  printf '%s' "$1" | sed -n 's/.*"faults":{\([^}]*\)}.*/\1/p'
}
faults_text() {
  faults_obj "$1" | sed 's/"//g; s/:/ /g; s/,/, /g'
}
faults_sum() {
  faults_obj "$1" | tr ',' '\n' | awk -F: '{ s += $2 } END { print s + 0 }'
}
requests_sum() {
  printf '%s' "$1" | sed -n 's/.*"requests":{\(.*\)},"daytona".*/\1/p' | tr ',' '\n' |
    awk -F: '{ s += $NF } END { print s + 0 }'
}
h2_conns() {
  printf '%s' "$1" | sed -n 's/.*"h2":{"open":[0-9]*,"total":\([0-9]*\)}.*/\1/p'
}

# check_outputs RESULTS_FILE RESULTS_DIR: prints what is wrong, nothing when
# every task's first output is its own and every artifact came back whole.
check_outputs() {
  awk '{
    if (!match($0, /"task":"[tf]-[0-9]+"/)) { bad++; next }
    id = substr($0, RSTART + 8, RLENGTH - 9); num = substr(id, 3) + 0
    if (index($0, "\"stdout_tail\":\"out-" num "\\n\"") == 0) bad++
  } END { if (bad) printf "%d wrong outputs; ", bad }' "$1"
  missing=0
  for f in $(grep -o '"task":"t-[0-9]*0"' "$1" | sed 's/.*"t-\([0-9]*\)"/\1/'); do
    [ "$(cat "$2/artifacts/t-$f/in/data.txt" 2>/dev/null)" = "input $((1$f - 100000))" ] ||
      missing=$((missing + 1))
  done
  [ "$missing" -eq 0 ] || printf '%d wrong artifacts' "$missing"
}
