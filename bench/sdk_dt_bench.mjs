// sdk_dt_bench.mjs - the phases of sbx-dt-bench with the official
// @daytonaio/sdk (0.218.0, from tests/conformance/node_modules), against
// sbx-emu --exec null.
//
//   node --expose-gc bench/sdk_dt_bench.mjs [--creates N] [--execs M] [--window W]
//
// Env: DAYTONA_API_URL (https://localhost:PORT/api), DAYTONA_API_KEY and
// NODE_EXTRA_CA_CERTS (dt.sh sets them). After a warm-up of min(N, W)
// creates, execs and deletes (not measured, as sbx-dt-bench): N
// daytona.create(), M sandbox.process.executeCommand('echo x') spread over
// them and N daytona.delete(), at most W in flight. CPU is process.cpuUsage()
// (user+system) over a phase divided by its ops; RSS per sandbox is the growth
// of process.memoryUsage().rss (after a forced GC) over the create phase,
// with the Sandbox objects held, divided by N. Prints a table on stderr and
// one JSON object on stdout; exits 1 when any op failed.
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const require = createRequire(path.join(here, '..', 'tests', 'conformance', 'package.json'))
const { Daytona } = require('@daytonaio/sdk')
const version = require('@daytonaio/sdk/package.json').version

const env = (k, d) => Number(process.env[k] || d)
const o = {
  creates: env('BENCH_DT_CREATES', 1000),
  execs: env('BENCH_DT_EXECS', 2000),
  window: env('BENCH_DT_WINDOW', 100),
}
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, '')
  if (!(k in o)) {
    console.error(`sdk_dt_bench: unknown argument ${process.argv[i]}`)
    process.exit(2)
  }
  o[k] = Number(process.argv[i + 1])
}
const apiUrl = process.env.DAYTONA_API_URL
const apiKey = process.env.DAYTONA_API_KEY
if (!apiUrl || !apiKey) {
  console.error('sdk_dt_bench: DAYTONA_API_URL and DAYTONA_API_KEY must be set')
  process.exit(2)
}

const cpuUs = () => {
  const u = process.cpuUsage()
  return u.user + u.system
}
const rssKb = () => {
  if (global.gc) for (let i = 0; i < 3; i++) global.gc()
  return Math.round(process.memoryUsage().rss / 1024)
}
const errText = (e) => String((e && (e.stack || e.message)) || e).split('\n')[0].slice(0, 200)

// n ops, at most window in flight; fn(i) returns a promise.
async function phase(name, n, fn) {
  const p = { name, n, ok: 0, errors: 0, first_error: '' }
  let next = 0
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
  const c0 = cpuUs()
  await Promise.all(Array.from({ length: Math.min(o.window, n) }, worker))
  p.cpu_us_per_op = (cpuUs() - c0) / n
  return p
}

const daytona = new Daytona({ apiKey, apiUrl })
let boxes = []
const create = async (i) => {
  boxes[i] = await daytona.create()
}
const exec = async (i) => {
  const r = await boxes[i % boxes.length].process.executeCommand('echo x')
  if (r.exitCode !== 0 || r.result !== 'x\n')
    throw new Error(`wrong result: exit ${r.exitCode}, ${JSON.stringify(r.result)}`)
}
const del = (i) => daytona.delete(boxes[i])

const w = Math.min(o.creates, o.window)
const warm = [await phase('warm-up create', w, create)]
boxes = boxes.filter(Boolean)
warm.push(await phase('warm-up exec', w, exec), await phase('warm-up delete', boxes.length, del))
boxes = []
const rss0 = rssKb()
const ph = [await phase('create', o.creates, create)]
const rss1 = rssKb()
boxes = boxes.filter(Boolean)
if (boxes.length) ph.push(await phase('exec', o.execs, exec), await phase('delete', boxes.length, del))
const errors = [...warm, ...ph].reduce((a, p) => a + p.errors, 0)
const kb = ph[0].ok ? (rss1 - rss0) / ph[0].ok : 0

console.error(`@daytonaio/sdk ${version} against sbx-emu --exec null; window ${o.window} in flight`)
console.error(`  ${'op'.padEnd(8)} ${'n'.padStart(6)} ${'ok'.padStart(6)} errors  CPU us/op`)
for (const p of ph)
  console.error(`  ${p.name.padEnd(8)} ${String(p.n).padStart(6)} ${String(p.ok).padStart(6)} `
    + `${String(p.errors).padStart(6)} ${p.cpu_us_per_op.toFixed(1).padStart(10)}`)
console.error(`  RSS (after GC${global.gc ? '' : ': NOT forced, run with --expose-gc'}): `
  + `${rss0} KB before, ${rss1} KB with ${ph[0].ok} sandboxes: ${kb.toFixed(2)} KB per sandbox`)
for (const p of [...warm, ...ph]) if (p.first_error) console.error(`  first error, ${p.first_error}`)
if (errors) console.error(`  FAILED: ${errors} ops failed (warm-up included)`)
const per = (name) => ph.find((p) => p.name === name)
const num = (p, k) => (p ? p[k] : 0)
console.log(JSON.stringify({
  version,
  create_cpu_us: +num(per('create'), 'cpu_us_per_op').toFixed(2),
  exec_cpu_us: +num(per('exec'), 'cpu_us_per_op').toFixed(2),
  delete_cpu_us: +num(per('delete'), 'cpu_us_per_op').toFixed(2),
  kb_per_sandbox: +kb.toFixed(2),
  creates: num(per('create'), 'ok'),
  execs: num(per('exec'), 'ok'),
  deletes: num(per('delete'), 'ok'),
  errors,
}))
process.exit(errors ? 1 : 0)
