// compare_sdk.mjs - sbxload's lifecycle workload with an official SDK (e2b
// 2.51.0 or @daytonaio/sdk 0.218.0, from tests/conformance/node_modules),
// against sbx-emu --exec null. Used by bench/compare.
//
//   node --expose-gc bench/compare_sdk.mjs --sdk e2b|daytona -n N -c C -m M
//
// Env: e2b: E2B_API_URL, E2B_SANDBOX_URL, E2B_API_KEY; daytona:
// DAYTONA_API_URL, DAYTONA_API_KEY; NODE_EXTRA_CA_CERTS for both.
// A task is: create a sandbox, run M commands `echo x` one after the other
// (e2b: sandbox.commands.run; daytona: sandbox.process.executeCommand, the
// buffered execute), kill it (daytona.delete). At most C tasks in flight.
// A warm-up of min(N, 20) tasks runs first and is not measured.
// CPU: process.cpuUsage() (user+system) over the run / ops (N + N*M + N),
// as sbxload counts ops. RSS: process.memoryUsage().rss after a forced GC
// before the run, and again (forced GC) at the moment the most sandboxes are
// live (all N created, none killed yet, when C = N): growth / live sandboxes.
// The CPU of that GC is subtracted. Also: peak RSS growth (maxRSS, no GC) per
// live sandbox, sbxload's own method. One JSON object on stdout.
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const require = createRequire(path.join(here, '..', 'tests', 'conformance', 'package.json'))

const o = { sdk: 'e2b', n: 100, c: 100, m: 10 }
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^-+/, '')
  if (!(k in o)) {
    console.error(`compare_sdk: unknown argument ${process.argv[i]}`)
    process.exit(2)
  }
  o[k] = k === 'sdk' ? process.argv[i + 1] : Number(process.argv[i + 1])
}
if (o.sdk === 'e2b' && !process.env.E2B_ENVD_RPC_CONNECTIONS)
  process.env.E2B_ENVD_RPC_CONNECTIONS = String(o.c + 100) // its default pool is 200

let create, exec, kill, version
if (o.sdk === 'e2b') {
  const { Sandbox } = require('e2b')
  version = 'e2b@' + require('e2b/package.json').version
  create = () => Sandbox.create({ timeoutMs: 1_800_000 })
  exec = async (s) => {
    const r = await s.commands.run('echo x')
    if (r.exitCode !== 0 || r.stdout !== 'x\n') throw new Error(`wrong result ${JSON.stringify(r)}`)
  }
  kill = (s) => s.kill()
} else if (o.sdk === 'daytona') {
  const { Daytona } = require('@daytonaio/sdk')
  version = '@daytonaio/sdk@' + require('@daytonaio/sdk/package.json').version
  const d = new Daytona({ apiKey: process.env.DAYTONA_API_KEY, apiUrl: process.env.DAYTONA_API_URL })
  create = () => d.create()
  exec = async (s) => {
    const r = await s.process.executeCommand('echo x')
    if (r.exitCode !== 0 || r.result !== 'x\n') throw new Error(`wrong result ${JSON.stringify(r)}`)
  }
  kill = (s) => d.delete(s)
} else {
  console.error(`compare_sdk: --sdk e2b or daytona`)
  process.exit(2)
}

const cpuUs = () => {
  const u = process.cpuUsage()
  return u.user + u.system
}
const gcRss = () => {
  if (global.gc) for (let i = 0; i < 3; i++) global.gc()
  return Math.round(process.memoryUsage().rss / 1024)
}
const errText = (e) => String((e && (e.stack || e.message)) || e).split('\n')[0].slice(0, 200)

const st = { live: 0, maxLive: 0, created: 0, errors: 0, first_error: '', gcKb: 0, gcLive: 0, gcCpu: 0 }
async function task(measure) {
  let s
  try {
    s = await create()
  } catch (e) {
    st.errors++
    st.first_error ||= `create: ${errText(e)}`
    return
  }
  st.live++
  st.created++
  if (st.live > st.maxLive) st.maxLive = st.live
  if (measure && st.created === o.n && st.live === st.maxLive && !st.gcLive) {
    const c0 = cpuUs()
    st.gcKb = gcRss()
    st.gcLive = st.live
    st.gcCpu += cpuUs() - c0
  }
  for (let j = 0; j < o.m; j++) {
    try {
      await exec(s)
    } catch (e) {
      st.errors++
      st.first_error ||= `exec: ${errText(e)}`
    }
  }
  try {
    await kill(s)
  } catch (e) {
    st.errors++
    st.first_error ||= `kill: ${errText(e)}`
  }
  st.live--
}
async function run(n, c, measure) {
  let next = 0
  const worker = async () => {
    while (next < n) {
      next++
      await task(measure)
    }
  }
  await Promise.all(Array.from({ length: Math.min(c, n) }, worker))
}

await run(Math.min(o.n, 20), Math.min(o.c, 20), false)
st.maxLive = st.created = 0
const warmErrors = st.errors
const rss0 = gcRss()
const peak0 = process.resourceUsage().maxRSS
const c0 = cpuUs()
const t0 = performance.now()
await run(o.n, o.c, true)
const cpu = cpuUs() - c0 - st.gcCpu
const wall = (performance.now() - t0) / 1000
const peak = process.resourceUsage().maxRSS
const ops = o.n * (o.m + 2)
const out = {
  client: version,
  node: process.version,
  n: o.n,
  c: o.c,
  m: o.m,
  wall_s: +wall.toFixed(3),
  ops,
  cpu_s: +(cpu / 1e6).toFixed(4),
  cpu_us_per_op: +(cpu / ops).toFixed(2),
  rss_start_kb: rss0,
  rss_gc_at_max_live_kb: st.gcKb,
  live_at_gc: st.gcLive,
  kb_per_live_sandbox: st.gcLive ? +((st.gcKb - rss0) / st.gcLive).toFixed(2) : null,
  max_live_sandboxes: st.maxLive,
  peak_rss_kb: peak,
  kb_per_live_sandbox_peak: st.maxLive && peak > peak0 ? +((peak - rss0) / st.maxLive).toFixed(2) : null,
  gc_forced: !!global.gc,
  errors: st.errors,
  warmup_errors: warmErrors,
  first_error: st.first_error,
}
console.log(JSON.stringify(out))
process.exit(st.errors ? 1 : 0)
