#!/bin/sh
# sbxload.sh - smoke runs of bench/sbxload against a fresh sbx-emu (--exec
# null, TLS + HTTP/2): every workload, closed and open loop, E2B and
# Daytona; each report adds up (per phase ok + errors = attempted, errors by
# class = errors, one latency sample per success, one kill per sandbox
# created, none left alive). Then injected faults show up counted by class,
# SIGINT during a hold kills every sandbox, and bad flags exit 2.
# Usage: sh tests/integration/sbxload.sh [BUILD_DIR]
set -u
B=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
. "$top/tests/integration/lib/common.sh"
LOAD_BIN=$top/$B/sbxload
EMU_BIN=${SBX_EMU_BIN:-$top/$B/sbx-emu}
CERTS=$top/$B/certs
need sbxload "$LOAD_BIN" "$EMU_BIN" "$CERTS/ca.pem"
command -v node >/dev/null 2>&1 || need sbxload node

T=$(mktemp -d "${TMPDIR:-/tmp}/sbx-load.XXXXXX") || exit 1
BG=
cleanup() {
  [ -n "$BG" ] && kill -9 "$BG" 2>/dev/null
  stop_emu
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
check_failed() { bad "$1" "$(head -c 400 "$T/err")"; }

start_emu sbxload --exec null --port 0 --tls-port 0 --tls-cert "$CERTS/server.pem" \
  --tls-key "$CERTS/server.key"
CTL=http://127.0.0.1:$PORT
URL=https://127.0.0.1:$TLS_PORT
export E2B_API_KEY=test-key DAYTONA_API_KEY=test-key
unset SBX_PROVIDER
E2B="--provider e2b --api-url $URL --sandbox-url $URL --ca-file $CERTS/ca.pem"

load() { # NAME ARGS...: JSON report in $T/NAME.json, text in $T/out, rc in rc
  name=$1
  shift
  timeout 60 "$LOAD_BIN" "$@" --json "$T/$name.json" >"$T/out" 2>"$T/err"
  rc=$?
}
# jtrue NAME EXPR: EXPR (JavaScript, the report as r) holds for $T/NAME.json
jtrue() {
  node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1]));
    const sum = o => Object.values(o).reduce((a, b) => a + b, 0);
    const f = new Function("r", "sum", "return (" + process.argv[2] + ");");
    process.exit(f(r, sum) ? 0 : 1);' "$T/$1.json" "$2" 2>>"$T/err" ||
    { echo "not true of $1.json: $2" >>"$T/err"; return 1; }
}
# The counts of every phase add up, every sandbox created was killed.
ADDS_UP='Object.values(r.phases).every(p => p.ok + p.errors === p.attempted &&
  sum(p.by_class) === p.errors && p.latency.count === p.ok) &&
  r.phases.kill.attempted === r.phases.create.ok && r.leaked_sandboxes === 0 &&
  r.tasks_done === r.tasks_started'
# Every op is at least one request; h2 carries them on a few connections.
WIRE='r.connections >= 1 && r.requests >= r.ops && r.connections <= r.requests'
# well_formed FILE: XML that parses (xmllint when installed, else node
# checks that every tag closes in order)
well_formed() {
  if command -v xmllint >/dev/null 2>&1; then
    xmllint --noout "$1" 2>>"$T/err"
    return
  fi
  node -e 'const s = require("fs").readFileSync(process.argv[1], "utf8"), st = [];
    for (const m of s.replace(/<\?[^>]*\?>/g, "").matchAll(/<(\/?)([A-Za-z][\w:-]*)[^>]*?(\/?)>/g))
      if (m[1]) { if (st.pop() !== m[2]) process.exit(1); } else if (!m[3]) st.push(m[2]);
    process.exit(st.length || !/^\s*<\?xml[^>]*>\s*<svg[\s>]/.test(s) ? 1 : 0);' "$1" 2>>"$T/err"
}
live() { # sandboxes the emulator holds
  curl -s "$CTL/_emu/stats" | sed -n 's/.*"sandboxes":{"live":\([0-9]*\).*/\1/p'
}
fault() { # JSON rule
  curl -s -o /dev/null -w '%{http_code}' -X POST -d "$1" "$CTL/_emu/faults" | grep -q 201
}

load lc $E2B -w lifecycle -n 40 -c 8 -m 2
[ "$rc" -eq 0 ] && jtrue lc "$ADDS_UP" && jtrue lc 'r.phases.create.ok === 40 &&
  r.phases.exec.ok === 80 && r.phases.first_byte.ok === 80 && r.phases.kill.ok === 40 &&
  r.ops === 160 && r.cpu_us_per_op > 0 && r.rss_peak_kb >= r.rss_start_kb' &&
  grep -q '^create  *40  *40  *0 ' "$T/out" && [ "$(live)" = 0 ] && jtrue lc "$WIRE" &&
  jtrue lc 'r.connections <= 8 && r.upgrades === 0' &&
  grep -q '^wire  *[0-9][0-9]* requests on [0-9][0-9]* new connection' "$T/out"
check "lifecycle: 40 sandboxes x 2 execs, counts add up, table on stdout, requests on few connections" $?

# a warm-up runs first and is not counted: the figures are the measured run's,
# on the warm-up's connections, and its sandboxes are gone too
load warm $E2B -w lifecycle -n 20 -c 5 -m 1 --warmup 5
[ "$rc" -eq 0 ] && jtrue warm "$ADDS_UP" && jtrue warm 'r.warmup_tasks === 5 &&
  r.phases.create.attempted === 20 && r.phases.kill.ok === 20 && r.ops === 60 &&
  r.requests >= 60 && r.connections === 0 && r.rss_peak_kb >= r.rss_start_kb' &&
  grep -q 'at start (after the warm-up)' "$T/out" && [ "$(live)" = 0 ]
check "lifecycle --warmup 5: only the 20 measured tasks counted, connections reused" $?

load ex $E2B -w exec -n 300 -c 16 --pool 4
[ "$rc" -eq 0 ] && jtrue ex "$ADDS_UP" && jtrue ex 'r.phases.create.ok === 4 &&
  r.phases.exec.ok === 300 && r.phases.kill.ok === 4 && r.max_live_sandboxes === 4 &&
  r.phases.exec.latency.p50_ns <= r.phases.exec.latency.p99_ns &&
  r.phases.exec.latency.p99_ns <= r.phases.exec.latency.max_ns' && [ "$(live)" = 0 ]
check "exec: 300 execs on a pool of 4, percentiles ordered" $?

load open $E2B -w exec --rate 200 --duration 1 -c 50 --pool 2
[ "$rc" -eq 0 ] && jtrue open "$ADDS_UP" && jtrue open 'r.loop === "open" &&
  r.phases.exec.attempted >= 150 && r.phases.exec.attempted <= 202 && r.loop_lag.count > 50'
check "open loop: 200/s for 1 s starts about 200 execs, loop lag probed" $?

# 10/s in bursts of 10 for 0.5 s: one burst of 10 at the start (evenly
# spaced it would be 5)
load burst $E2B -w exec --rate 10 --burst 10 --duration 0.5 --pool 2
[ "$rc" -eq 0 ] && jtrue burst "$ADDS_UP" && jtrue burst 'r.burst === 10 &&
  r.tasks_started === 10 && r.phases.exec.ok === 10' && grep -q 'in bursts of 10' "$T/out"
check "--burst: 10/s in bursts of 10 for 0.5 s starts one burst of 10" $?

# closed loop, 4 in flight, the first 4 started 200 ms apart: the run lasts
# at least 0.6 s, and the 4 after them do not wait (well under 1.4 s)
load stagger $E2B -w exec -n 8 -c 4 --stagger 200 --pool 1
[ "$rc" -eq 0 ] && jtrue stagger "$ADDS_UP" && jtrue stagger 'r.stagger_ms === 200 &&
  r.tasks_done === 8 && r.duration_s >= 0.6 && r.duration_s < 1.2' &&
  grep -q 'the first 4 started 200 ms apart' "$T/out"
check "--stagger: the first 4 tasks start 200 ms apart, the rest at once" $?

load files $E2B -w files -n 40 -c 8 --size 64K --pool 2
[ "$rc" -eq 0 ] && jtrue files "$ADDS_UP" && jtrue files 'r.phases.upload.ok === 40 &&
  r.phases.download.ok === 40 && r.phases.create.ok === 2' && jtrue files "$WIRE" &&
  [ "$(live)" = 0 ]
check "files: 40 uploads and downloads of 64 KiB" $?

load hold $E2B -w hold -n 20 --hold-s 1 --svg "$T/hold.svg"
[ "$rc" -eq 0 ] && jtrue hold "$ADDS_UP" && jtrue hold 'r.phases.open.ok === 20 &&
  r.phases.exec.ok === 20 && r.phases.exec.latency.min_ns >= 1e9 &&
  r.max_live_sandboxes === 20 && r.kb_per_live_sandbox > 0' && [ "$(live)" = 0 ]
check "hold: 20 sandboxes held 1 s with a stream each, RSS per sandbox" $?
# the SVG: well-formed, no script, titled, a plot with a legend per phase that ran
ok=0
well_formed "$T/hold.svg" && ! grep -qi '<script\|@import\|url(' "$T/hold.svg" &&
  grep -q 'sbxload: hold on e2b' "$T/hold.svg" && grep -q '>percentile<' "$T/hold.svg" &&
  grep -q '>latency<' "$T/hold.svg" && [ "$(grep -c '<polyline' "$T/hold.svg")" -eq 4 ] || ok=1
for p in create open exec kill; do
  grep -q ">$p: 20 ok of 20, 0 errors; p50 " "$T/hold.svg" || ok=1
done
! grep -q '>first_byte\|>upload\|>download' "$T/hold.svg" || ok=1
check "--svg: well-formed XML, one titled plot with a legend per phase that ran" $ok

load dt --provider daytona --api-url "$URL/api" --ca-file "$CERTS/ca.pem" -n 10 -c 5 -m 2
[ "$rc" -eq 0 ] && jtrue dt "$ADDS_UP" && jtrue dt 'r.provider === "daytona" &&
  r.phases.exec.ok === 20' && jtrue dt "$WIRE" && [ "$(live)" = 0 ]
check "lifecycle on daytona" $?
load dtb --provider daytona --api-url "$URL/api" --ca-file "$CERTS/ca.pem" -n 10 -c 5 -m 2 \
  --buffered
[ "$rc" -eq 0 ] && jtrue dtb "$ADDS_UP" && jtrue dtb 'r.buffered === true &&
  r.phases.exec.ok === 20 && r.upgrades === 0' && jtrue dt 'r.upgrades === 20' && [ "$(live)" = 0 ]
check "--buffered on daytona: process/execute, no WebSocket (the streamed run used 20)" $?

# faults: every 3rd create a 500, every 4th exec start a 503; no retries
fault '{"method":"POST","path":"/v2/sandboxes","status":500,"every":3,"count":0}' &&
  fault '{"method":"POST","path":"/process.Process/Start","status":503,"every":4,"count":0}'
check "faults injected" $?
load faults $E2B -w lifecycle -n 30 -c 5 -m 2 --retries 0
[ "$rc" -eq 1 ] && jtrue faults "$ADDS_UP" && jtrue faults 'r.phases.create.errors === 10 &&
  r.phases.create.by_class.SBX_EPROVIDER === 10 && r.phases.create.ok === 20 &&
  r.phases.exec.attempted === 40 && r.phases.exec.by_class.SBX_EUNAVAIL === 10 &&
  r.phases.exec.first_error.startsWith("SBX_EUNAVAIL")' &&
  grep -q '^  SBX_EPROVIDER: 10$' "$T/out" && grep -q '^  SBX_EUNAVAIL: 10$' "$T/out" &&
  [ "$(live)" = 0 ]
check "faults: errors counted by class (10 SBX_EPROVIDER, 10 SBX_EUNAVAIL), exit 1" $?
curl -s -X DELETE "$CTL/_emu/faults" >/dev/null

fault '{"method":"POST","path":"/v2/sandboxes","status":400,"count":0}'
load nopool $E2B -w exec -n 10 --pool 2
[ "$rc" -eq 1 ] && jtrue nopool "$ADDS_UP" && jtrue nopool 'r.tasks_started === 0 &&
  r.phases.create.by_class.SBX_EINVAL === 2 && r.fatal.includes("no sandbox of the pool")' &&
  grep -q '^stopped: no sandbox of the pool was created' "$T/out"
check "exec without a pool: stops, says why, exit 1" $?
curl -s -X DELETE "$CTL/_emu/faults" >/dev/null

# SIGINT while 10 sandboxes are held for a minute: all killed, report written
"$LOAD_BIN" $E2B -w hold -n 10 --hold-s 60 --json "$T/int.json" >"$T/out" 2>"$T/err" &
BG=$!
i=0
while [ "$(live)" != 10 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill -INT "$BG"
wait_pid "$BG" 20
rc=$?
BG=
[ "$rc" -eq 0 ] && jtrue int "$ADDS_UP" && jtrue int 'r.interrupted === true &&
  r.phases.kill.ok === 10 && r.duration_s < 30' && [ "$(live)" = 0 ]
check "SIGINT during a hold: every sandbox killed, report written" $?

"$LOAD_BIN" -w bogus >"$T/out" 2>"$T/err"
rc=$?
"$LOAD_BIN" --rate abc >>"$T/out" 2>>"$T/err"
rc2=$?
"$LOAD_BIN" -n >>"$T/out" 2>>"$T/err"
rc3=$?
"$LOAD_BIN" --burst 5 >>"$T/out" 2>>"$T/err"
rc4=$?
"$LOAD_BIN" --rate 5 --stagger 10 >>"$T/out" 2>>"$T/err"
rc5=$?
[ "$rc" -eq 2 ] && [ "$rc2" -eq 2 ] && [ "$rc3" -eq 2 ] && [ "$rc4" -eq 2 ] && [ "$rc5" -eq 2 ] &&
  grep -q 'bogus: unknown workload' "$T/err" && grep -q -- '--rate abc: not a number' "$T/err" &&
  grep -q -- '-n : needs a value' "$T/err" && grep -q -- '--burst : needs --rate' "$T/err" &&
  grep -q -- '--stagger : closed loop only' "$T/err"
check "bad flags: exit 2 naming the flag" $?

finish sbxload
