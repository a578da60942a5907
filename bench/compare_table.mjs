// compare_table.mjs - the table of bench/compare from the reports in
// $COMPARE_WORK. Markdown on stdout; exit 1 when sbx misses a bar.
import fs from 'node:fs'

const work = process.env.COMPARE_WORK
const shapes = process.env.COMPARE_SHAPES.split(/\s+/).filter(Boolean).map(Number)
const holdN = Number(process.env.COMPARE_HOLD)
const json = (f) => {
  try {
    return JSON.parse(fs.readFileSync(`${work}/${f}`, 'utf8'))
  } catch {
    return null
  }
}
const ru = (f) => {
  try {
    const [rc, cpu, kb] = fs.readFileSync(`${work}/${f}.ru`, 'utf8').trim().split(/\s+/).map(Number)
    return { rc, cpu, kb }
  } catch {
    return null
  }
}
const num = (x) => typeof x === 'number' && Number.isFinite(x)
// sbxload: CPU per op, RSS growth per live sandbox, errors
const load = (f) => {
  const j = json(f)
  if (!j || !j.ops) return null
  let errors = j.leaked_sandboxes || 0
  for (const p of Object.values(j.phases || {})) errors += p.errors
  return { cpu: (j.cpu_s * 1e6) / j.ops, cpu_s: j.cpu_s, kb: j.kb_per_live_sandbox, errors,
    live: j.max_live_sandboxes, j }
}
const sdkOf = (f) => {
  const j = json(f)
  return j && num(j.cpu_us_per_op) ? { cpu: j.cpu_us_per_op, kb: j.kb_per_live_sandbox, j } : null
}
const execs = (r) => (r && r.j.phases.exec ? r.j.phases.exec.ok : 0)
const f = (x, d = 1) => (num(x) ? x.toFixed(d) : 'n/a')
const rows = []
let missed = 0
// bar: [text, ok] where ok is true/false/null (null: not measured)
const row = (shape, metric, sbx, sdk, h2, r1, r2, bar, ok, how) => {
  if (ok === false || ok === null) missed++
  const res = ok === undefined ? '-' : ok === true ? 'met' : ok === false ? `MISSED ${how}` : 'NOT MEASURED'
  rows.push([shape, metric, sbx, sdk, h2, r1, r2, bar, res])
}
const ratio = (a, b) => (num(a) && num(b) && b > 0 ? a / b : null)
let sdkName = { e2b: 'e2b', dt: 'daytona' }
for (const n of shapes) {
  for (const [p, prov] of [['e2b', 'e2b'], ['dt', 'daytona']]) {
    const s = load(`sbx-${p}-${n}.json`)
    const k = sdkOf(`sdk-${p}-${n}.json`)
    if (k) sdkName[p] = k.j.client
    for (const [m, key, unit] of [['CPU us per op', 'cpu', ''], ['RSS KB per concurrent sandbox', 'kb', '']]) {
      const a = s && s[key]
      const b = k && k[key]
      const r = ratio(b, a)
      const ok = num(r) ? r >= 20 : null
      row(`N=${n} ${prov}`, `${m}${unit}`, f(a), `${f(b)} (${sdkName[p]})`, '', r ? `1/${r.toFixed(1)}` : 'n/a',
        '', 'sbx <= SDK/20', ok, num(r) ? `(sbx is 1/${r.toFixed(1)} of the SDK, needs 1/20)` : '')
    }
  }
  // exec: marginal CPU per exec / per request between two run lengths
  const x1 = load(`sbx-x1-${n}.json`)
  const x2 = load(`sbx-x2-${n}.json`)
  const h1 = ru(`h2-1-${n}`)
  const h2 = ru(`h2-2-${n}`)
  const ex = x1 && x2 && execs(x2) > execs(x1) ? ((x2.cpu_s - x1.cpu_s) * 1e6) / (execs(x2) - execs(x1)) : null
  const e1 = 10 * n
  const e2 = e1 + Math.max(20000, 20 * n)
  const hx = h1 && h2 ? ((h2.cpu - h1.cpu) * 1e6) / (e2 - e1) : null
  const r = ratio(ex, hx)
  row(`N=${n} e2b exec`, 'CPU us per exec (marginal)', f(ex, 2), '', f(hx, 2), '', r ? `${r.toFixed(2)}x` : 'n/a',
    'sbx <= 2x h2load', num(r) ? r <= 2 : null, num(r) ? `(${r.toFixed(2)}x)` : '')
  row(`N=${n} e2b exec`, 'RSS KB per concurrent stream (h2load: maxRSS/N)',
    f(x2 && x2.kb), '', f(h2 && h2.kb / n), '', '', '(no bar)', undefined, '')
}
// scale: CPU per op from the smallest lifecycle shape to the hold
const base = load(`sbx-e2b-${shapes[0]}.json`)
const hold = load('sbx-hold.json')
const pts = shapes.map((n) => [`lifecycle N=${n}`, load(`sbx-e2b-${n}.json`)])
pts.push([`hold N=${holdN}`, hold])
const vals = pts.map(([, r]) => r && r.cpu)
const dev = vals.map((v) => (num(v) && base ? (v - base.cpu) / base.cpu : null))
const worst = dev.reduce((w, d) => (num(d) && Math.abs(d) > Math.abs(w) ? d : w), 0)
row(`N=${shapes[0]}..${holdN} e2b`, 'CPU us per op: ' + pts.map(([l], i) => `${l} ${f(vals[i])}`).join(', '),
  '', '', '', '', `${worst >= 0 ? '+' : ''}${(worst * 100).toFixed(0)}%`, 'within +-25% of N=' + shapes[0],
  dev.every(num) ? Math.abs(worst) <= 0.25 : null, `(${(worst * 100).toFixed(0)}%)`)
const held = hold ? hold.j.phases.open ? hold.j.phases.open.ok : 0 : 0
row(`hold N=${holdN} e2b`, `held sandboxes (${hold ? hold.live : 0} live at most), RSS KB each`,
  `${held} held, ${f(hold && hold.kb)} KB`, '', '', '', '', 'hold 10,000', held >= 10000 && hold.errors === 0,
  `(${held} held, ${hold ? hold.errors : '?'} errors)`)

const head = ['shape', 'metric', 'sbx', 'official SDK', 'h2load', 'sbx/SDK', 'sbx/h2load', 'bar', 'result']
const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
const line = (r) => '| ' + r.map((c, i) => c.padEnd(w[i])).join(' | ') + ' |'
console.log(line(head))
console.log('|' + w.map((n) => '-'.repeat(n + 2)).join('|') + '|')
for (const r of rows) console.log(line(r))
console.log(`
How: each client runs alone against a fresh sbx-emu --exec null (TLS, h2 for sbx
and h2load). sbx = build/sbxload: CPU per op is its getrusage user+sys over all
ops (create + 10 execs + kill per sandbox, so N*12 ops), RSS per concurrent
sandbox its peak RSS growth over the most live sandboxes (no GC in C). The
daytona exec is sbxload's default exec (the library's streamed exec over a
session), the daytona SDK uses process.executeCommand (buffered). SDK =
bench/compare_sdk.mjs, the same task shape with C = N after an unmeasured
20-task warm-up: process.cpuUsage over the run / N*12 ops; RSS after a forced
GC taken when all N sandboxes are live, minus the RSS after GC before the
run, / N (its peak-RSS figure, sbxload's method, is in the JSON and is
larger). Exec CPU (no per-phase CPU in sbxload): the difference of two
sbxload -w exec runs on a pool of N sandboxes (10*N and 10*N + max(20000,
20*N) execs) divided by the extra execs; h2load the same way: two runs
replaying the captured Start request of \`sbx exec ID 'echo x'\` (headers and
Connect envelope byte for byte, E2b-Sandbox-Id and X-Access-Token of a live
sandbox) at N concurrent streams (100 per connection), getrusage of the child.
The scale row compares sbxload CPU per op of lifecycle at each N with the
hold workload (create, one open exec stream, kill) at ${holdN}.`)
process.exit(missed ? 1 : 0)
