// sdk_batch.mjs - the anchor of the batch benchmark: what an eval harness
// built on the official e2b SDK (2.51.0, from tests/conformance/node_modules)
// spends on the same tasks as `sbx run`: per task create, two commands, kill,
// with at most --concurrency tasks in flight, against sbx-emu --exec null.
//
//   node bench/sdk_batch.mjs --tasks N --concurrency C
//
// The SDK reads E2B_API_URL, E2B_SANDBOX_URL, E2B_API_KEY and
// NODE_EXTRA_CA_CERTS from the environment (batch.sh sets them). Prints one
// JSON object: tasks, ok, errors, wall_s, cpu_s (process.cpuUsage, user +
// system), peak_rss_mb (resourceUsage().maxRSS).
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const sdkDir = path.join(here, '..', 'tests', 'conformance', 'node_modules', 'e2b')
const o = { tasks: 1000, concurrency: 500 }
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, '')
  if (!(k in o)) {
    console.error(`sdk_batch: unknown argument ${process.argv[i]}`)
    process.exit(2)
  }
  o[k] = Number(process.argv[i + 1])
}
// Each open command stream holds one connection in the SDK's pool.
if (!process.env.E2B_ENVD_RPC_CONNECTIONS)
  process.env.E2B_ENVD_RPC_CONNECTIONS = String(o.concurrency + 100)
const { Sandbox } = await import(pathToFileURL(path.join(sdkDir, 'dist', 'index.mjs')).href)

let next = 0
let ok = 0
let errors = 0
let firstError = ''
const task = async () => {
  const sbx = await Sandbox.create({ timeoutMs: 600_000 })
  try {
    await sbx.commands.run('echo a')
    await sbx.commands.run('echo b')
  } finally {
    await sbx.kill()
  }
}
const worker = async () => {
  while (next < o.tasks) {
    next++
    try {
      await task()
      ok++
    } catch (e) {
      errors++
      if (!firstError) firstError = String((e && e.message) || e).slice(0, 200)
    }
  }
}
const c0 = process.cpuUsage()
const t0 = performance.now()
await Promise.all(Array.from({ length: Math.min(o.concurrency, o.tasks) }, worker))
const c = process.cpuUsage(c0)
console.log(
  JSON.stringify({
    tasks: o.tasks,
    concurrency: o.concurrency,
    ok,
    errors,
    first_error: firstError,
    wall_s: (performance.now() - t0) / 1000,
    cpu_s: (c.user + c.system) / 1e6,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  }),
)
