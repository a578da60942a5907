#!/bin/sh
# run.sh BUILD_DIR - `make bench`: client CPU and memory of sbx and, in the
# same run, of the official e2b SDK (tests/conformance, e2b@2.51.0), each
# against a fresh sbx-emu --exec null on loopback; then a side-by-side table.
# Builds nothing (the Makefile does). Env: BENCH_CREATES (1000), BENCH_EXECS
# (5000), BENCH_WINDOW (100), BENCH_STREAMS (1000,10000; the SDK gets 1000).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-build}
case $B in /*) ;; *) B=$top/$B ;; esac
cd "$top" || exit 2
for f in "$B/sbx-bench" "$B/sbx-emu"; do
  [ -x "$f" ] || { echo "bench: $f is not built" >&2; exit 2; }
done
creates=${BENCH_CREATES:-1000}
execs=${BENCH_EXECS:-5000}
window=${BENCH_WINDOW:-100}
streams=${BENCH_STREAMS:-1000,10000}
key=e2b_bench_key

. bench/emu.sh

echo "== sbx (libsbx) against a fresh sbx-emu"
start_emu sbx
timeout 200 "$B/sbx-bench" --http "http://127.0.0.1:$port" --https "https://localhost:$tls_port" \
  --ca "$B/certs/ca.pem" --key "$key" --creates "$creates" --execs "$execs" --window "$window" \
  --streams "$streams" --json >"$work/sbx.json" 2>"$work/sbx.table"
sbx_rc=$?
cat "$work/sbx.table"
[ $sbx_rc -eq 0 ] || echo "bench: sbx-bench exited with $sbx_rc" >&2
emu_check sbx
stop_emu

sdk_ok=0
if ! command -v node >/dev/null 2>&1; then
  echo "bench: node is not installed; the official SDK is not measured" >&2
elif [ ! -d tests/conformance/node_modules/e2b ] &&
  ! (cd tests/conformance && npm ci --silent --no-audit --no-fund); then
  echo "bench: npm ci failed; the official SDK is not measured" >&2
else
  sdk_ok=1
fi

# run_sdk MODE URL: one SDK run against a fresh emulator.
run_sdk() {
  start_emu "sdk-$1"
  url=http://127.0.0.1:$port
  [ "$1" = tls ] && url=https://localhost:$tls_port
  E2B_API_KEY=$key E2B_API_URL=$url E2B_SANDBOX_URL=$url \
    NODE_EXTRA_CA_CERTS=$B/certs/ca.pem \
    timeout 150 node --expose-gc bench/sdk_bench.mjs --mode "$1" --stats "http://127.0.0.1:$port" \
    --creates "$creates" --execs "$execs" --window "$window" --streams 1000 --json \
    >"$work/sdk-$1.json" 2>"$work/sdk-$1.table"
  rc=$?
  cat "$work/sdk-$1.table"
  [ $rc -eq 0 ] || echo "bench: sdk_bench ($1) exited with $rc" >&2
  emu_check "sdk-$1"
  stop_emu
}

if [ $sdk_ok -eq 1 ]; then
  echo
  echo "== official SDK over HTTP/1.1 against a fresh sbx-emu"
  run_sdk h1
  echo
  echo "== official SDK over TLS against a fresh sbx-emu"
  run_sdk tls
fi

command -v node >/dev/null 2>&1 || exit $sbx_rc
echo
SBX_JSON=$work/sbx.json SDK_H1=$work/sdk-h1.json SDK_TLS=$work/sdk-tls.json node - <<'EOF'
// The side-by-side table from the three JSON reports.
const fs = require('fs')
const load = (p) => {
  try {
    return JSON.parse(fs.readFileSync(p, 'utf8'))
  } catch {
    return null
  }
}
const sbx = load(process.env.SBX_JSON)
const h1 = load(process.env.SDK_H1)
const tls = load(process.env.SDK_TLS)
const m = (j, mode) => (j && j.modes && j.modes[mode]) || null
const sx = { h1: m(sbx, 'h1'), tls: m(sbx, 'tls') }
const sd = { h1: m(h1, 'h1'), tls: m(tls, 'tls') }
const cpu = (r, op) => (r && r[op] && r[op].n ? r[op].cpu_us_per_op : null)
const errs = (r, op) => (r && r[op] ? r[op].errors : 0)
const st = (r, n) => (r && r.streams ? r.streams.find((s) => s.n === n) : null)
const get = (o, k) => (o && typeof o[k] === 'number' ? o[k] : null)
const fmt = (v, d) => (typeof v === 'number' ? v.toFixed(d) : 'n/a')
const rows = []
// metric, sbx, SDK, decimals, bar (null: none), note
const row = (metric, a, b, d, bar, note = '') => {
  const num = (x) => typeof x === 'number'
  const ratio = num(a) && num(b) && a > 0 ? `${(b / a).toFixed(1)}x` : ''
  const meets = bar === null || !num(a) ? '' : a <= bar ? 'yes' : 'NO'
  rows.push([metric, fmt(a, d), fmt(b, d), ratio, bar === null ? '' : `<= ${bar}`, meets, note])
}
const ver = (h1 && h1.version) || (tls && tls.version) || '?'
const modes = [['h1', 'HTTP/1.1', 'HTTP/1.1'], ['tls', 'TLS h2', 'TLS']]
for (const [mode, label, sdkLabel] of modes) {
  for (const [op, what] of [['create', 'create'], ['exec', 'exec round trip'], ['kill', 'kill']]) {
    const a = errs(sx[mode], op)
    const b = errs(sd[mode], op)
    row(`CPU us per ${what}, ${label} (SDK ${sdkLabel})`, cpu(sx[mode], op), cpu(sd[mode], op), 1,
      45, a || b ? `errors: ${a} sbx, ${b} SDK` : '')
  }
}
const s1 = st(sx.tls, 1000)
const s10 = st(sx.tls, 10000)
const d1 = st(sd.tls, 1000)
const d1h = st(sd.h1, 1000)
const bad = (s) => (s ? s.open_errors + s.ended_early + s.cancel_other + s.not_done : 0)
const conns = (s) =>
  s && s.conns_open ? s.conns_open.h1 + s.conns_open.h1_tls + s.conns_open.h2 : null
const note = (s, who) => (s && bad(s) ? `${who}: ${s.opened}/${s.n} opened, ${bad(s)} failed` : '')
const notes = (...a) => a.filter(Boolean).join('; ')
const kb = (s) => get(s, 'kb_per_stream')
const peak = (s) => (s ? s.peak_rss_kb / 1024 : null)
row('RSS KB per open stream, 1,000 (SDK TLS)', kb(s1), kb(d1), 2, 16,
  notes(note(s1, 'sbx'), note(d1, 'SDK')))
row('RSS KB per open stream, 1,000 (SDK HTTP/1.1)', kb(s1), kb(d1h), 2, 16, note(d1h, 'SDK'))
row('RSS KB per open stream, 10,000', kb(s10), null, 2, 16,
  notes(note(s10, 'sbx'), 'SDK measured at 1,000 only'))
row('peak RSS MB, 1,000 streams (SDK TLS)', peak(s1), peak(d1), 1, null)
row('peak RSS MB, 1,000 streams (SDK HTTP/1.1)', peak(s1), peak(d1h), 1, null)
row('peak RSS MB, 10,000 streams', peak(s10), null, 1, null)
row('RSS KB per created sandbox, TLS', get(sx.tls, 'kb_per_sandbox'),
  get(sd.tls, 'kb_per_sandbox'), 1, null)
row('connections open, 1,000 streams (SDK TLS)', conns(s1), conns(d1), 0, null)
row('connections open, 1,000 streams (SDK HTTP/1.1)', conns(s1), conns(d1h), 0, null)
row('connections open, 10,000 streams', conns(s10), null, 0, 64,
  s10 ? `max ${s10.max_streams_per_conn} streams on one` : '')
row('server streams open 0.5 s after cancelling 1,000 (SDK TLS)', get(s1, 'emu_streams_left'),
  get(d1, 'emu_streams_left'), 0, null, 'should be 0')
row('server streams open 0.5 s after cancelling 10,000', get(s10, 'emu_streams_left'), null, 0,
  null, 'should be 0')
row('connections opened in all, TLS run', get(sx.tls, 'conns_total'),
  get(sd.tls, 'conns_total'), 0, null)
row('connections opened in all, HTTP/1.1 run', get(sx.h1, 'conns_total'),
  get(sd.h1, 'conns_total'), 0, null)
const head = ['metric', 'sbx', `e2b@${ver} (same run)`, 'SDK/sbx', 'bar', 'sbx meets', 'note']
const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
const left = (i) => i === 0 || i === 6
const cell = (c, i) => (left(i) ? c.padEnd(w[i]) : c.padStart(w[i]))
const line = (r) => '| ' + r.map(cell).join(' | ') + ' |'
const rule = w.map((n, i) => (left(i) ? ':' + '-'.repeat(n + 1) : '-'.repeat(n + 1) + ':'))
const win = (sbx && sbx.window) || '?'
console.log(`== sbx vs the official SDK, same run (window ${win} in flight; lower is better)`)
console.log(line(head))
console.log('|' + rule.join('|') + '|')
for (const r of rows) console.log(line(r))
if (!h1 || !tls) console.log('(the official SDK was not measured in full: see above)')
const sdk = sd.tls || sd.h1
if (sdk) {
  console.log(`SDK: E2B_ENVD_RPC_CONNECTIONS=${sdk.envd_rpc_connections} (its default pool of 200`
    + ' holds stream 201 until one ends)' + ((h1 || tls).gc ? '; RSS read after a forced GC' : ''))
}
EOF
exit $sbx_rc
