// daytona-conformance.mjs - drives the unmodified official `@daytonaio/sdk`
// against sbx-emu and asserts every result. Env: DAYTONA_API_URL (the /api
// base), DAYTONA_API_KEY. Prints `ok <step>` / `FAIL <step>: why` per step and
// `daytona-sdk: N passed, N failed` at the end; exits 1 on any failure.
import { Daytona, DaytonaNotFoundError, DaytonaRateLimitError } from '@daytonaio/sdk'

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
async function notFound(p) {
  try {
    await p
  } catch (err) {
    return err instanceof DaytonaNotFoundError ? err : null
  }
  return null
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

await step('delete, get after delete is not found', async () => {
  const id = sbx.id
  await daytona.delete(sbx)
  check(await notFound(daytona.get(id)), 'DaytonaNotFoundError')
})

console.log(`daytona-sdk: ${passed} passed, ${failed} failed`)
process.exit(failed ? 1 : 0)
