// daytona-conformance.mjs - drives the unmodified official `@daytonaio/sdk`
// against sbx-emu and asserts every result. Env: DAYTONA_API_URL (the /api
// base), DAYTONA_API_KEY. Prints `ok <step>` / `FAIL <step>: why` per step and
// `daytona-sdk: N passed, N failed` at the end; exits 1 on any failure.
import {
  Daytona,
  DaytonaConflictError,
  DaytonaError,
  DaytonaNotFoundError,
  DaytonaRateLimitError,
  DaytonaValidationError,
} from '@daytonaio/sdk'

const apiUrl = process.env.DAYTONA_API_URL
const apiKey = process.env.DAYTONA_API_KEY
if (!apiUrl || !apiKey) {
  console.error('daytona-conformance: DAYTONA_API_URL and DAYTONA_API_KEY must be set')
  process.exit(2)
}

let passed = 0
let failed = 0
function check(cond, what) {
  if (!cond) throw new Error(`assertion failed: ${what}`)
}
function eq(got, want, what) {
  if (JSON.stringify(got) !== JSON.stringify(want))
    throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`)
}
async function step(name, fn) {
  try {
    await fn()
    passed++
    console.log(`ok ${name}`)
  } catch (err) {
    failed++
    console.log(`FAIL ${name}: ${err && err.stack ? err.stack : err}`)
  }
}
async function rejects(p, cls) {
  try {
    await p
  } catch (err) {
    return err instanceof cls ? err : null
  }
  return null
}
const notFound = (p) => rejects(p, DaytonaNotFoundError)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
// Poll get(id) until its state is `want` (archiving takes a moment).
async function waitState(id, want, seconds = 10) {
  for (let end = Date.now() + seconds * 1000; Date.now() < end; await sleep(100)) {
    const s = await daytona.get(id)
    if (s.state === want) return s
  }
  throw new Error(`sandbox ${id} did not reach ${want} in ${seconds} s`)
}

const tag = `conf-${process.pid}-${Date.now()}`
// apiUrl in code and no dotenv use: the SDK's endpoint safety rule stays quiet
const daytona = new Daytona({ apiKey, apiUrl })
let sbx

await step('create with labels and env', async () => {
  sbx = await daytona.create({ labels: { suite: tag }, envVars: { CONF_ENV: 'from-create' } })
  check(/^[0-9a-f-]{36}$/.test(sbx.id), `sandbox id (${sbx.id})`)
  eq(sbx.state, 'started', 'state')
  eq(sbx.labels.suite, tag, 'label echoed')
})

await step('process.executeCommand output and env', async () => {
  const r = await sbx.process.executeCommand('echo hi; echo "$CONF_ENV"')
  eq(r.exitCode, 0, 'exit code')
  eq(r.result, 'hi\nfrom-create\n', 'result')
})

await step('process.executeCommand non-zero exit, merged stderr', async () => {
  const r = await sbx.process.executeCommand('echo out; echo err 1>&2; exit 3')
  eq(r.exitCode, 3, 'exit code')
  check(r.result.includes('out') && r.result.includes('err'), `merged output (${JSON.stringify(r.result)})`)
})

await step('process.executeCommand cwd and envs', async () => {
  const r = await sbx.process.executeCommand('pwd; echo $K', '/tmp', { K: 'V' })
  eq(r.result, '/tmp\nV\n', 'result')
})

await step('session: async command, streamed logs split', async () => {
  await sbx.process.createSession('s1')
  const cmd = await sbx.process.executeSessionCommand('s1', {
    command: 'for i in 1 2 3; do echo out$i; echo err$i >&2; sleep 0.1; done; printf tail',
    runAsync: true,
  })
  check(cmd.cmdId, 'cmdId')
  let out = ''
  let err = ''
  await sbx.process.getSessionCommandLogs('s1', cmd.cmdId, (s) => (out += s), (s) => (err += s))
  eq(out, 'out1\nout2\nout3\ntail\n', 'stdout') // the daemon logs whole lines
  eq(err, 'err1\nerr2\nerr3\n', 'stderr')
  const info = await sbx.process.getSessionCommand('s1', cmd.cmdId)
  eq(info.exitCode, 0, 'exitCode')
})

await step('session: a long log in 1024-byte frames, markers split across them', async () => {
  // ~11 KB of lines, replayed after the command ended, so the cuts are the
  // daemon's 1024-byte reads of the log file: a marker straddles a frame
  // boundary. SDK 0.218's demuxer garbles a marker that ends exactly at a
  // frame's end (it emits its first byte as data and keeps two): these line
  // lengths never put one there; libsbx's demuxer is tested at every cut.
  const cmd = await sbx.process.executeSessionCommand('s1', {
    command: 'for i in $(seq 1 400); do echo "o$i-abcdefghijklmnopq"; done',
    runAsync: true,
  })
  for (let i = 0; i < 100; i++) {
    const info = await sbx.process.getSessionCommand('s1', cmd.cmdId)
    if (info.exitCode !== undefined && info.exitCode !== null) break
    await new Promise((r) => setTimeout(r, 50))
  }
  let out = ''
  let err = ''
  await sbx.process.getSessionCommandLogs('s1', cmd.cmdId, (s) => (out += s), (s) => (err += s))
  const n = [...Array(400).keys()].map((i) => i + 1)
  eq(out, n.map((i) => `o${i}-abcdefghijklmnopq\n`).join(''), 'stdout')
  eq(err, '', 'stderr')
})

await step('session: input to a running command, echoed into its log', async () => {
  await sbx.process.createSession('s-in')
  const cmd = await sbx.process.executeSessionCommand('s-in', {
    command: 'read x; echo "got $x"',
    runAsync: true,
  })
  await sbx.process.sendSessionCommandInput('s-in', cmd.cmdId, 'hello')
  let out = ''
  await sbx.process.getSessionCommandLogs('s-in', cmd.cmdId, (s) => (out += s), () => {})
  eq(out, 'hello\ngot hello\n', 'stdout (the echo, then the output)')
  const info = await sbx.process.getSessionCommand('s-in', cmd.cmdId)
  eq(info.exitCode, 0, 'exitCode')
  await sbx.process.deleteSession('s-in')
})

await step('session: state persists, sync exec exit code', async () => {
  await sbx.process.executeSessionCommand('s1', { command: 'cd /tmp && export SV=kept' })
  const r = await sbx.process.executeSessionCommand('s1', { command: 'echo $PWD $SV; echo e >&2; (exit 5)' })
  eq(r.stdout, '/tmp kept\n', 'stdout')
  eq(r.stderr, 'e\n', 'stderr')
  eq(r.exitCode, 5, 'exitCode')
  const s = await sbx.process.getSession('s1')
  eq(s.commands.length, 4, 'commands listed')
  await sbx.process.deleteSession('s1')
  check(await notFound(sbx.process.getSession('s1')), 'deleted session is not found')
})

await step('fs.uploadFile / downloadFile', async () => {
  await sbx.fs.uploadFile(Buffer.from('hello daytona\n'), 'dir/a.txt')
  const got = await sbx.fs.downloadFile('dir/a.txt')
  eq(got.toString(), 'hello daytona\n', 'content')
  const r = await sbx.process.executeCommand('cat dir/a.txt')
  eq(r.result, 'hello daytona\n', 'a command sees the upload')
})

await step('fs.downloadFile missing file is not found', async () => {
  check(await notFound(sbx.fs.downloadFile('dir/missing.txt')), 'DaytonaNotFoundError')
})

await step('fs.downloadFiles: several, one missing, a non-ASCII name', async () => {
  const name = 'dir/é "q" ✓.txt'
  await sbx.fs.uploadFile(Buffer.from('accent'), name)
  const big = Buffer.alloc(600000, 'z')
  await sbx.fs.uploadFile(big, 'dir/big.bin')
  try {
    const r = await sbx.fs.downloadFiles([
      { source: 'dir/a.txt' },
      { source: 'dir/nope.txt' },
      { source: name },
      { source: 'dir/big.bin' },
    ])
    eq(r.map((x) => x.source), ['dir/a.txt', 'dir/nope.txt', name, 'dir/big.bin'], 'sources')
    eq(r[0].result.toString(), 'hello daytona\n', 'a.txt')
    check(r[1].error && r[1].errorDetails?.code === 'FILE_NOT_FOUND', `missing: ${JSON.stringify(r[1])}`)
    eq(r[2].result?.toString(), 'accent', 'non-ASCII name')
    check(r[3].result?.equals(big), 'big file')
  } finally { // the next step lists dir/
    await sbx.fs.deleteFile(name)
    await sbx.fs.deleteFile('dir/big.bin')
  }
})

await step('fs.listFiles', async () => {
  await sbx.fs.uploadFile(Buffer.from('b'), 'dir/b.txt')
  const files = await sbx.fs.listFiles('dir')
  eq(files.map((f) => f.name).sort(), ['a.txt', 'b.txt'], 'names')
  const a = files.find((f) => f.name === 'a.txt')
  eq(a.size, 14, 'size')
  eq(a.isDir, false, 'isDir')
  check(await notFound(sbx.fs.listFiles('nope')), 'missing dir is not found')
})

await step('list({labels})', async () => {
  const other = await daytona.create({ labels: { suite: `${tag}-other` } })
  const ids = []
  for await (const s of daytona.list({ labels: { suite: tag } })) ids.push(s.id)
  eq(ids, [sbx.id], 'only the labelled sandbox')
  await daytona.delete(other)
})

await step('429 with rate-limit headers is a DaytonaRateLimitError', async () => {
  // sbx-emu's fault injection (not part of Daytona): one 429 on the next create
  const origin = new URL(apiUrl).origin
  const add = await fetch(`${origin}/_emu/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      method: 'POST', path: '/api/sandbox', status: 429, count: 1,
      headers: { 'X-RateLimit-Remaining-sandbox-create': '0', 'X-RateLimit-Reset-sandbox-create': '30' },
    }),
  })
  eq(add.status, 201, 'fault added')
  let err
  try {
    await daytona.create()
  } catch (e) {
    err = e
  }
  check(err instanceof DaytonaRateLimitError, `rate limit error (${err})`)
  const stats = await (await fetch(`${origin}/_emu/stats`)).json()
  check(stats.requests['POST /api/sandbox'] >= 3, 'creates counted')
  check(stats.requests['POST /toolbox/{id}/process/execute'] >= 4, 'executes counted')
  eq(stats.daytona.live, 1, 'one live Daytona sandbox')
})

await step('stop, start', async () => {
  await sbx.stop()
  eq(sbx.state, 'stopped', 'stopped')
  await sbx.start()
  eq(sbx.state, 'started', 'started')
  const r = await sbx.process.executeCommand('cat dir/b.txt')
  eq(r.result, 'b', 'files survive a stop')
})

await step('archive after stop, start from archived', async () => {
  check(await rejects(sbx.archive(), DaytonaValidationError), 'a started sandbox cannot be archived')
  await sbx.stop()
  await sbx.archive()
  check(['archiving', 'archived'].includes(sbx.state), `state after archive (${sbx.state})`)
  await waitState(sbx.id, 'archived')
  const stats = await (await fetch(`${new URL(apiUrl).origin}/_emu/stats`)).json()
  eq(stats.daytona.archived, 1, 'counted as archived')
  await sbx.refreshData()
  await sbx.start()
  eq(sbx.state, 'started', 'started again (through restoring)')
  const r = await sbx.process.executeCommand('cat dir/b.txt')
  eq(r.result, 'b', 'files survive an archive')
})

await step('setLabels replaces the labels', async () => {
  const labels = await sbx.setLabels({ suite: tag, phase: 'two' })
  eq(labels, { suite: tag, phase: 'two' }, 'labels returned')
  const got = await daytona.get(sbx.id)
  eq(got.labels, { suite: tag, phase: 'two' }, 'labels replaced, not merged')
  const ids = []
  for await (const s of daytona.list({ labels: { suite: tag, phase: 'two' } })) ids.push(s.id)
  eq(ids, [sbx.id], 'list by the new labels')
})

const snapName = `${tag}-snap:1.0`
let snap
await step('snapshot.create from an image name', async () => {
  const logs = []
  snap = await daytona.snapshot.create(
    {
      name: snapName,
      image: 'python:3.12-slim',
      resources: { cpu: 2, memory: 4, disk: 6 },
      entrypoint: ['sleep', 'infinity'],
    },
    { onLogs: (l) => logs.push(l) },
  )
  eq(snap.state, 'active', 'state')
  eq(snap.name, snapName, 'name')
  eq(snap.imageName, 'python:3.12-slim', 'imageName')
  eq([snap.cpu, snap.mem, snap.disk], [2, 4, 6], 'resources')
  eq(snap.entrypoint, ['sleep', 'infinity'], 'entrypoint')
  check(snap.size > 0, `size once active (${snap.size})`)
  check(logs.includes(`Created snapshot ${snapName} (active)`), `logs (${JSON.stringify(logs)})`)
})

await step('snapshot.create with a taken name is a DaytonaConflictError', async () => {
  check(
    await rejects(daytona.snapshot.create({ name: snapName, image: 'python:3.12-slim' }), DaytonaConflictError),
    'conflict',
  )
})

await step('snapshot.create of an image that fails to pull rejects with the reason', async () => {
  let err
  try {
    await daytona.snapshot.create({ name: `${tag}-bad`, image: 'fail/nope:1.0' })
  } catch (e) {
    err = e
  }
  check(err instanceof DaytonaError && /Reason: image pull failed/.test(err.message), `error (${err})`)
  const bad = await daytona.snapshot.get(`${tag}-bad`)
  eq(bad.state, 'error', 'state')
  await daytona.snapshot.delete(`${tag}-bad`) // by name: the SDK resolves the id first
  check(await notFound(daytona.snapshot.get(`${tag}-bad`)), 'deleted by name')
})

await step('snapshot.get by name and by id', async () => {
  eq((await daytona.snapshot.get(snapName)).id, snap.id, 'by name')
  eq((await daytona.snapshot.get(snap.id)).name, snapName, 'by id')
  check(await notFound(daytona.snapshot.get(`${tag}-none`)), 'unknown is not found')
})

await step('snapshot.list pages', async () => {
  const all = await daytona.snapshot.list()
  check(all.items.some((s) => s.id === snap.id), 'the new snapshot is listed')
  eq(all.page, 1, 'page')
  eq(all.total, all.items.length, 'one page holds all')
  const one = await daytona.snapshot.list(2, 1)
  eq(one.items.length, 1, 'a page of one')
  eq([one.page, one.total, one.totalPages], [2, all.total, all.total], 'page 2 of total')
})

await step('create a sandbox from the snapshot; an unknown one is refused', async () => {
  const s = await daytona.create({ snapshot: snapName })
  eq(s.snapshot, snapName, 'snapshot')
  eq([s.cpu, s.memory, s.disk], [2, 4, 6], 'the snapshot fixes the resources')
  await daytona.delete(s)
  const err = await rejects(daytona.create({ snapshot: `${tag}-none` }), DaytonaValidationError)
  check(err && /not found/.test(err.message), `unknown snapshot (${err})`)
})

await step('snapshot.delete', async () => {
  await daytona.snapshot.delete(snap)
  check(await notFound(daytona.snapshot.get(snap.id)), 'deleted')
  const stats = await (await fetch(`${new URL(apiUrl).origin}/_emu/stats`)).json()
  check(stats.requests['GET /api/snapshots/{id}'] >= 3, 'snapshot gets counted by route')
  eq(stats.daytona.snapshots, 0, 'no snapshot left')
})

await step('delete, get after delete is not found', async () => {
  const id = sbx.id
  await daytona.delete(sbx)
  check(await notFound(daytona.get(id)), 'DaytonaNotFoundError')
})

console.log(`daytona-sdk: ${passed} passed, ${failed} failed`)
process.exit(failed ? 1 : 0)
