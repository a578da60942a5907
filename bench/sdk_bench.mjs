// sdk_bench.mjs - the phases of sbx-bench with the official e2b SDK (2.51.0,
// from tests/conformance/node_modules), against sbx-emu --exec null.
//
//   node --expose-gc bench/sdk_bench.mjs --mode h1|tls --stats http://127.0.0.1:PORT
//        [--creates N] [--execs M] [--window W] [--streams 1000] [--json]
//
// The SDK reads E2B_API_URL, E2B_SANDBOX_URL and E2B_API_KEY (and Node
// NODE_EXTRA_CA_CERTS) from the environment: run.sh sets them. CPU is
// process.cpuUsage() (user+system) over a phase divided by its ops; memory is
// process.memoryUsage().rss (after a GC when --expose-gc is on) and peak
// resourceUsage().maxRSS. Connections come from GET /_emu/stats, fetched
// between phases over a fresh cleartext connection (subtracted).
// --json: JSON on stdout, table on stderr.
import http from 'node:http'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const sdkDir = path.join(here, '..', 'tests', 'conformance', 'node_modules', 'e2b')

const o = { mode: 'h1', stats: '', creates: 1000, execs: 5000, window: 100, json: false }
o.streams = [1000]
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i]
  const v = process.argv[i + 1]
  if (a === '--json') o.json = true
  else if (a === '--mode') (o.mode = v), i++
  else if (a === '--stats') (o.stats = v), i++
  else if (['--creates', '--execs', '--window'].includes(a)) (o[a.slice(2)] = Number(v)), i++
  else if (a === '--streams') (o.streams = v.split(',').map(Number)), i++
  else {
    console.error(`sdk_bench: unknown argument ${a}`)
    process.exit(2)
  }
}
for (const v of ['E2B_API_URL', 'E2B_SANDBOX_URL', 'E2B_API_KEY']) {
  if (!process.env[v]) {
    console.error(`sdk_bench: ${v} is not set`)
    process.exit(2)
  }
}
// The SDK's envd RPC pool holds 200 connections per origin and each open
// stream takes one (HTTP/1.1, and over TLS too: undici puts one stream on an
// h2 connection), so stream 201 waits for one to end: allow what we open.
const maxStreams = Math.max(...o.streams, 0)
if (!process.env.E2B_ENVD_RPC_CONNECTIONS)
  process.env.E2B_ENVD_RPC_CONNECTIONS = String(maxStreams + o.window + 100)

const sdkPkg = JSON.parse(
  await import('node:fs').then((fs) => fs.readFileSync(path.join(sdkDir, 'package.json'), 'utf8')),
)
const { Sandbox } = await import(pathToFileURL(path.join(sdkDir, 'dist', 'index.mjs')).href)

const log = (...a) => (o.json ? console.error : console.log)(...a)
const cpuUs = () => {
  const u = process.cpuUsage()
  return u.user + u.system
}
const gc = () => {
  if (global.gc) for (let i = 0; i < 3; i++) global.gc()
}
const rssKb = () => Math.round(process.memoryUsage().rss / 1024)
const peakKb = () => process.resourceUsage().maxRSS

// ---- /_emu/stats ---------------------------------------------------------------------
let fetches = 0
function statsRaw() {
  return new Promise((resolve) => {
    const req = http.get(`${o.stats}/_emu/stats`, { agent: false, timeout: 10000 }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d) => (body += d))
      res.on('end', () => {
        try {
          resolve(JSON.parse(body))
        } catch {
          resolve(null)
        }
      })
    })
    req.on('error', () => resolve(null))
    req.on('timeout', () => req.destroy())
  })
}
async function stats() {
  const j = await statsRaw()
  fetches++
  if (!j) return null
  const c = j.connections
  const s = {
    open: { h1: c.h1.open - 1, h1_tls: c.h1_tls.open, h2: c.h2.open },
    total: { h1: c.h1.total - fetches, h1_tls: c.h1_tls.total, h2: c.h2.total },
    streamsOpen: j.streams.open - 1,
    maxPerConn: j.streams.max_per_connection,
  }
  s.openAll = s.open.h1 + s.open.h1_tls + s.open.h2
  s.totalAll = s.total.h1 + s.total.h1_tls + s.total.h2
  return s
}

// ---- phases --------------------------------------------------------------------------
const errText = (e) => String((e && (e.stack || e.message)) || e).split('\n')[0].slice(0, 200)

// n ops, at most window in flight; fn(i) returns a promise.
async function phase(name, n, fn) {
  const p = { n, ok: 0, errors: 0, first_error: '', timed_out: false }
  const s0 = await stats()
  let next = 0
  const c0 = cpuUs()
  const t0 = performance.now()
  const worker = async () => {
    while (next < n) {
      const i = next++
      try {
        await fn(i)
        p.ok++
      } catch (e) {
        p.errors++
        if (!p.first_error) p.first_error = `${name}: ${errText(e)}`
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(o.window, n) }, worker))
  const cpu = cpuUs() - c0
  p.wall_s = (performance.now() - t0) / 1000
  p.cpu_us_per_op = cpu / n
  p.ops_per_s = p.wall_s > 0 ? p.ok / p.wall_s : 0
  const s1 = await stats()
  p.conns_new = s0 && s1 ? s1.totalAll - s0.totalAll : -1
  p.conns_open = s1 ? s1.openAll : -1
  return p
}

const withTimeout = (promise, ms) =>
  Promise.race([promise, new Promise((r) => setTimeout(() => r('timeout'), ms).unref())])

async function streamsPhase(n, sandboxes) {
  const s = { n, opened: 0, open_errors: 0, ended_early: 0, cancelled: 0, cancel_other: 0 }
  s.first_error = ''
  gc()
  s.rss_base_kb = rssKb()
  const handles = []
  let next = 0
  const c0 = cpuUs()
  const t0 = performance.now()
  let measuring = true
  const worker = async () => {
    while (next < n) {
      const i = next++
      try {
        const h = await sandboxes[i % sandboxes.length].commands.run('sleep 60', {
          background: true,
          timeoutMs: 0,
        })
        s.opened++
        h.ended = false
        h.wait().then(
          () => {
            h.ended = true
            if (measuring) s.ended_early++
          },
          (e) => {
            h.ended = true
            h.err = e
            if (measuring) {
              s.ended_early++
              if (!s.first_error) s.first_error = `stream: ${errText(e)}`
            }
          },
        )
        handles.push(h)
      } catch (e) {
        s.open_errors++
        if (!s.first_error) s.first_error = `stream open: ${errText(e)}`
      }
    }
  }
  const all = Promise.all(Array.from({ length: Math.min(o.window, n) }, worker))
  if ((await withTimeout(all, 50000)) === 'timeout') s.first_error ||= 'open timed out after 50 s'
  s.open_cpu_us_per_stream = (cpuUs() - c0) / n
  s.open_wall_s = (performance.now() - t0) / 1000
  gc()
  s.rss_open_kb = rssKb()
  s.peak_rss_kb = peakKb()
  const live = s.opened - s.ended_early
  s.kb_per_stream = live > 0 ? (s.rss_open_kb - s.rss_base_kb) / live : 0
  const st = await stats()
  s.conns_open = st ? st.open : null
  s.emu_streams_open = st ? st.streamsOpen : -1
  s.max_streams_per_conn = st ? st.maxPerConn : -1
  // cancel: disconnect every handle, then wait for each to settle
  measuring = false
  const t1 = performance.now()
  const settled = handles.map((h) =>
    h.wait().then(
      () => 'ended',
      () => 'cancelled',
    ),
  )
  for (const h of handles) h.disconnect().catch(() => {})
  const res = await withTimeout(Promise.all(settled), 60000)
  s.cancel_wall_s = (performance.now() - t1) / 1000
  if (res === 'timeout') {
    s.not_done = handles.filter((h) => !h.ended).length
  } else {
    s.not_done = 0
    s.cancelled = res.filter((r) => r === 'cancelled').length
    s.cancel_other = res.length - s.cancelled
  }
  await new Promise((r) => setTimeout(r, 500)) // as sbx-bench: let the server take it in
  const left = await stats()
  s.emu_streams_left = left ? left.streamsOpen : -1
  return s
}

// ---- run -----------------------------------------------------------------------------
const label = o.mode === 'tls' ? `TLS (${process.env.E2B_API_URL})` : 'HTTP/1.1'
const run = { label: o.mode === 'tls' ? 'TLS' : 'HTTP/1.1', ok: true, client_error: '' }
log(`sdk_bench: e2b ${sdkPkg.version} over ${label} ...`)
const s0 = await stats()
if (!s0) {
  console.error(`sdk_bench: cannot read ${o.stats}/_emu/stats`)
  process.exit(1)
}
// Warm-up, not measured (sbx-bench does the same): connections are open and
// the emulator's paths are warm before the figures start.
{
  const warm = new Array(Math.min(200, o.creates))
  await phase('warm-up create', warm.length, async (i) => {
    warm[i] = await Sandbox.create({ timeoutMs: 1_800_000 })
  })
  await phase('warm-up kill', warm.length, async (i) => {
    if (warm[i]) await warm[i].kill()
  })
}
const sandboxes = new Array(o.creates)
gc()
const rss0 = rssKb()
run.create = await phase('create', o.creates, async (i) => {
  sandboxes[i] = await Sandbox.create({ timeoutMs: 1_800_000 })
})
const live = sandboxes.filter(Boolean)
gc()
run.kb_per_sandbox = live.length ? (rssKb() - rss0) / live.length : 0
if (!live.length) {
  console.error(`sdk_bench: no sandbox was created (${run.create.first_error})`)
  process.exit(1)
}
run.exec = await phase('exec', o.execs, async (i) => {
  const r = await live[i % live.length].commands.run('echo hi')
  if (r.exitCode !== 0 || r.stdout !== 'hi\n') throw new Error(`wrong result ${JSON.stringify(r)}`)
})
run.streams = []
for (const n of o.streams) {
  log(`sdk_bench: ${n} concurrent streams ...`)
  run.streams.push(await streamsPhase(n, live))
}
run.kill = await phase('kill', live.length, async (i) => {
  await live[i].kill()
})
const s1 = await stats()
run.conns_total = s1 ? s1.totalAll - s0.totalAll : -1
run.envd_rpc_connections = process.env.E2B_ENVD_RPC_CONNECTIONS

// ---- output --------------------------------------------------------------------------
const out = o.json ? console.error : console.log
// right-aligned columns: [value, width] pairs
const cols = (...c) => c.map(([v, w]) => String(v).padStart(w)).join(' ')
out(`e2b ${sdkPkg.version} (Node ${process.version}) against sbx-emu --exec null;` +
  ` window ${o.window} in flight`)
out(`  ${'transport'.padEnd(10)} ${'op'.padEnd(7)} ` +
  cols(['n', 6], ['ok', 6], ['err', 5], ['CPU us/op', 10], ['wall op/s', 10], ['conns+', 7],
    ['open', 6]))
for (const name of ['create', 'exec', 'kill']) {
  const p = run[name]
  out(`  ${run.label.padEnd(10)} ${name.padEnd(7)} ` +
    cols([p.n, 6], [p.ok, 6], [p.errors, 5], [p.cpu_us_per_op.toFixed(1), 10],
      [p.ops_per_s.toFixed(0), 10], [p.conns_new, 7], [p.conns_open, 6]))
  if (p.first_error) out(`    first error: ${p.first_error}`)
}
out(`\n  concurrent background commands (\`sleep 60\`) over ${run.label}:`)
out('  ' + cols(['streams', 7], ['opened', 7], ['err', 6], ['KB/stream', 9], ['peak RSS', 10],
  ['open s', 7], ['conns', 7], ['emu str', 7], ['max/conn', 8], ['cancelled', 9],
  ['not done', 8], ['emu left', 8]))
for (const s of run.streams) {
  const conns = s.conns_open ? s.conns_open.h1 + s.conns_open.h1_tls + s.conns_open.h2 : -1
  out('  ' + cols([s.n, 7], [s.opened, 7], [s.open_errors + s.ended_early + s.cancel_other, 6],
    [s.kb_per_stream.toFixed(2), 9], [(s.peak_rss_kb / 1024).toFixed(1) + ' MB', 10],
    [s.open_wall_s.toFixed(2), 7], [conns, 7], [s.emu_streams_open, 7],
    [s.max_streams_per_conn, 8], [s.cancelled, 9], [s.not_done, 8], [s.emu_streams_left, 8]))
  if (s.conns_open) out(`    open connections: ${JSON.stringify(s.conns_open)}`)
  if (s.first_error) out(`    first error: ${s.first_error}`)
}
out(`  ${run.label}: ${run.conns_total} connections opened by the SDK in all` +
  ` (E2B_ENVD_RPC_CONNECTIONS=${run.envd_rpc_connections}); ` +
  `${run.kb_per_sandbox.toFixed(2)} KB RSS per created sandbox`)
if (o.json) {
  const j = { client: 'e2b', version: sdkPkg.version, node: process.version, window: o.window }
  j.gc = !!global.gc
  j.modes = { [o.mode]: run }
  console.log(JSON.stringify(j, null, 1))
}
const bad = run.create.errors || run.exec.errors || run.kill.errors
process.exit(bad ? 1 : 0)
