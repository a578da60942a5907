#!/bin/sh
# batch.sh BUILD_DIR - the batch part of `make bench`: `sbx run` on
# BENCH_TASKS (10,000) tasks of two commands each, at BENCH_CONCURRENCY
# (2,000) live sandboxes, against a fresh sbx-emu --exec null over TLS/h2;
# and, in the same run, the official e2b SDK doing the same per-task work
# (create, two commands, kill) on BENCH_SDK_TASKS (2,000) tasks, its anchor.
# Figures: wall time, runner CPU per task, peak RSS.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-build}
case $B in /*) ;; *) B=$top/$B ;; esac
cd "$top" || exit 2
tasks=${BENCH_TASKS:-10000}
conc=${BENCH_CONCURRENCY:-2000}
sdk_tasks=${BENCH_SDK_TASKS:-2000}
key=e2b_bench_key
. bench/emu.sh

i=1
while [ $i -le "$tasks" ]; do
  printf '{"id":"t%06d","commands":["echo a","echo b"]}\n' "$i"
  i=$((i + 1))
done >"$work/tasks.jsonl"

echo "== sbx run: $tasks tasks (2 commands each), concurrency $conc, TLS h2, sbx-emu --exec null"
start_emu sbx
E2B_API_KEY=$key timeout 600 "$B/sbx" --api-url "https://localhost:$tls_port" \
  --sandbox-url "https://localhost:$tls_port" --ca-file "$B/certs/ca.pem" run "$work/tasks.jsonl" \
  --results "$work/results" --concurrency "$conc" --max-starting 500 --max-deleting 500 \
  --rate create=100000/s --rate lifecycle=100000/s --quiet
rc=$?
live=$(curl -s "http://127.0.0.1:$port/_emu/stats" | sed -n 's/.*"sandboxes":{"live":\([0-9]*\).*/\1/p')
stop_emu
sum=$work/results/summary.json
num() { sed -n "s/.*\"$1\": *\([0-9.]*\).*/\1/p" "$sum" | head -n 1; }
ok=$(grep -c '"status":"ok"' "$work/results/results.jsonl" 2>/dev/null)
s_wall=$(num wall_s)
s_cpu=$(num runner_cpu_s)
s_rss=$(num runner_peak_rss_mb)
echo "exit $rc; $ok of $tasks ok; sandboxes left on the emulator: ${live:-?}"

sdk_json=
if command -v node >/dev/null 2>&1 &&
  { [ -d tests/conformance/node_modules/e2b ] ||
    (cd tests/conformance && npm ci --silent --no-audit --no-fund); }; then
  sdk_conc=$conc
  [ "$sdk_conc" -gt "$sdk_tasks" ] && sdk_conc=$sdk_tasks
  echo "== official SDK: $sdk_tasks tasks, same work, concurrency $sdk_conc, TLS"
  start_emu sdk
  sdk_json=$(E2B_API_KEY=$key E2B_API_URL="https://localhost:$tls_port" \
    E2B_SANDBOX_URL="https://localhost:$tls_port" NODE_EXTRA_CA_CERTS="$B/certs/ca.pem" \
    timeout 600 node bench/sdk_batch.mjs --tasks "$sdk_tasks" --concurrency "$sdk_conc" 2>"$work/sdk.err")
  [ -n "$sdk_json" ] || { echo "batch: the SDK run failed:" >&2; tail -n 5 "$work/sdk.err" >&2; }
  stop_emu
else
  echo "batch: node or the e2b package is missing; no SDK anchor" >&2
fi
jnum() { printf '%s' "$sdk_json" | sed -n "s/.*\"$1\":\([0-9.e+-]*\).*/\1/p"; }

awk -v t="$tasks" -v w="$s_wall" -v c="$s_cpu" -v r="$s_rss" -v st="$sdk_tasks" \
  -v sw="$(jnum wall_s)" -v sc="$(jnum cpu_s)" -v sr="$(jnum peak_rss_mb)" -v sok="$(jnum ok)" '
function f(x, d) { return x == "" ? "n/a" : sprintf("%." d "f", x) }
BEGIN {
  us = c * 1e6 / t; sus = (sc == "") ? "" : sc * 1e6 / st
  printf "| %-32s | %12s | %16s | %-8s | %-5s |\n", "metric", "sbx run", "e2b SDK (anchor)", "bar", "meets"
  printf "| %-32s | %12s | %16s | %-8s | %-5s |\n", "tasks", t, st " (" (sok == "" ? "?" : sok) " ok)", "", ""
  printf "| %-32s | %12s | %16s | %-8s | %-5s |\n", "wall s", f(w, 1), f(sw, 1), "", ""
  printf "| %-32s | %12s | %16s | %-8s | %-5s |\n", "runner CPU us per task", f(us, 1), f(sus, 1), "<= 150", (us <= 150 ? "yes" : "NO")
  printf "| %-32s | %12s | %16s | %-8s | %-5s |\n", "peak RSS MB", f(r, 1), f(sr, 1), "<= 200", (r <= 200 ? "yes" : "NO")
}'
[ "$rc" -eq 0 ] && [ "${ok:-0}" -eq "$tasks" ] && [ "${live:-1}" = 0 ]
