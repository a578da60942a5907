#!/bin/sh
# dt.sh BUILD_DIR - the Daytona part of `make bench`: client CPU per create,
# execute and delete, RSS per concurrent sandbox and connections used, of
# libsbx (sbx-dt-bench) and, in the same run, of the official @daytonaio/sdk
# (sdk_dt_bench.mjs, tests/conformance), each against a fresh sbx-emu
# --exec null over TLS; then a side-by-side table with the bars. Env:
# BENCH_DT_CREATES (1000), BENCH_DT_EXECS (2000), BENCH_DT_WINDOW (100).
# Exits non-zero when an op failed, a client failed or sbx misses a bar.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-build}
case $B in /*) ;; *) B=$top/$B ;; esac
cd "$top" || exit 2
for f in "$B/sbx-dt-bench" "$B/sbx-emu"; do
  [ -x "$f" ] || { echo "dt: $f is not built" >&2; exit 2; }
done
creates=${BENCH_DT_CREATES:-1000}
execs=${BENCH_DT_EXECS:-2000}
window=${BENCH_DT_WINDOW:-100}
key=dt_bench_key
. bench/emu.sh

# conns: connections the client opened, from /_emu/stats (this fetch's own
# cleartext connection subtracted).
conns() {
  curl -s "http://127.0.0.1:$port/_emu/stats" | tr -d ' \n' | awk '{
    n = 0
    while (match($0, /"(h1|h1_tls|h2)":[{][^}]*[}]/)) {
      o = substr($0, RSTART, RLENGTH); $0 = substr($0, RSTART + RLENGTH)
      if (match(o, /"total":[0-9]+/)) n += substr(o, RSTART + 8, RLENGTH - 8)
    }
    print n - 1
  }'
}

echo "== sbx (libsbx, daytona): $creates creates, $execs execs, $creates deletes, window $window"
start_emu sbx
timeout 300 "$B/sbx-dt-bench" --url "https://localhost:$tls_port" --ca "$B/certs/ca.pem" \
  --key "$key" --creates "$creates" --execs "$execs" --window "$window" >"$work/sbx.json"
sbx_rc=$?
sbx_conns=$(conns)
emu_check sbx
stop_emu
[ $sbx_rc -eq 0 ] || echo "dt: sbx-dt-bench exited with $sbx_rc" >&2

sdk_rc=0 # not measured (no node, no npm install) is a warning, as in run.sh
: >"$work/sdk.json"
if ! command -v node >/dev/null 2>&1; then
  echo "dt: node is not installed; the official SDK is not measured" >&2
elif [ ! -d tests/conformance/node_modules/@daytonaio/sdk ] &&
  ! (cd tests/conformance && npm ci --silent --no-audit --no-fund); then
  echo "dt: npm ci failed; the official SDK is not measured" >&2
else
  echo
  echo "== official @daytonaio/sdk: the same phases"
  start_emu sdk
  # from $work: no .env file there can trip the SDK's endpoint check
  (cd "$work" && DAYTONA_API_URL="https://localhost:$tls_port/api" DAYTONA_API_KEY=$key \
    NODE_EXTRA_CA_CERTS="$B/certs/ca.pem" timeout 600 node --expose-gc "$top/bench/sdk_dt_bench.mjs" \
    --creates "$creates" --execs "$execs" --window "$window" >"$work/sdk.json")
  sdk_rc=$?
  sdk_conns=$(conns)
  emu_check sdk
  stop_emu
  [ $sdk_rc -eq 0 ] || echo "dt: sdk_dt_bench exited with $sdk_rc" >&2
fi

# get FILE KEY: a number from a flat JSON object, empty when missing.
get() { sed -n "s/.*\"$2\":\([0-9.e+-]*\).*/\1/p" "$1"; }
s=$work/sbx.json
d=$work/sdk.json
ver=$(sed -n 's/.*"version":"\([^"]*\)".*/\1/p' "$d")
echo
echo "== sbx vs the official Daytona SDK, same run (TLS; window $window in flight; lower is better)"
awk -v ver="${ver:-?}" \
  -v a1="$(get "$s" create_cpu_us)" -v b1="$(get "$d" create_cpu_us)" \
  -v a2="$(get "$s" exec_cpu_us)" -v b2="$(get "$d" exec_cpu_us)" \
  -v a3="$(get "$s" delete_cpu_us)" -v b3="$(get "$d" delete_cpu_us)" \
  -v a4="$(get "$s" kb_per_sandbox)" -v b4="$(get "$d" kb_per_sandbox)" \
  -v a5="${sbx_conns:-}" -v b5="${sdk_conns:-}" \
  -v ae="$(get "$s" errors)" -v be="$(get "$d" errors)" '
function f(x, d) { return x == "" ? "n/a" : sprintf("%." d "f", x) }
function row(m, a, b, d, bar,   r, ok) {
  r = (a != "" && b != "" && a > 0) ? sprintf("%.1fx", b / a) : ""
  ok = (bar == "" || a == "") ? "" : (a + 0 <= bar ? "yes" : "NO")
  if (ok == "NO") fail = 1
  printf "| %-34s | %8s | %22s | %7s | %6s | %9s |\n", m, f(a, d), f(b, d), r,
    bar == "" ? "" : "<= " bar, ok
}
BEGIN {
  printf "| %-34s | %8s | %22s | %7s | %6s | %9s |\n", "metric", "sbx",
    "@daytonaio/sdk@" ver, "SDK/sbx", "bar", "sbx meets"
  printf "|:%s|%s:|%s:|%s:|%s:|%s:|\n", "-----------------------------------", "---------",
    "-----------------------", "--------", "-------", "----------"
  row("client CPU us per create", a1, b1, 2, 25)
  row("client CPU us per execute", a2, b2, 2, 25)
  row("client CPU us per delete", a3, b3, 2, 25)
  row("RSS KB per concurrent sandbox", a4, b4, 2, 10)
  row("connections used (whole run)", a5, b5, 0, "")
  row("failed ops", ae, be, 0, "")
  exit fail
}'
bars=$?
[ $bars -eq 0 ] || echo "dt: sbx misses a bar (NO above)" >&2
[ $sbx_rc -eq 0 ] && [ $sdk_rc -eq 0 ] || echo "dt: FAILED: a client failed or ops failed (see above)" >&2
[ $sbx_rc -eq 0 ] && [ "$(get "$s" errors)" = 0 ] && [ $sdk_rc -eq 0 ] && [ $bars -eq 0 ]
