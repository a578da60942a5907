// e2b-conformance.mjs - drives the unmodified official `e2b` SDK against
// sbx-emu and asserts every result. Env: E2B_API_URL, E2B_SANDBOX_URL,
// E2B_API_KEY. Prints `ok <step>` per step and `N passed, N failed` at the end;
// exits 1 on any failure.
import { Sandbox, CommandExitError, SandboxError } from 'e2b'

for (const v of ['E2B_API_URL', 'E2B_SANDBOX_URL', 'E2B_API_KEY']) {
  if (!process.env[v]) {
    console.error(`e2b-conformance: ${v} is not set`)
    process.exit(2)
  }
}

let passed = 0
let failed = 0
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

function check(cond, what) {
  if (!cond) throw new Error(`assertion failed: ${what}`)
}
function eq(got, want, what) {
  if (JSON.stringify(got) !== JSON.stringify(want))
    throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`)
}
async function waitFor(cond, what, ms = 5000) {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
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

const tag = `conf-${process.pid}-${Date.now()}`
const meta = { suite: tag, note: 'a b&c=d' }
let sbx
let sbx2

await step('Sandbox.create', async () => {
  sbx = await Sandbox.create({ metadata: meta, envs: { GLOBAL_ENV: 'from-create' }, timeoutMs: 120_000 })
  check(/^i[a-z0-9]{20}$/.test(sbx.sandboxId), `sandbox id format (${sbx.sandboxId})`)
  sbx2 = await Sandbox.create({ metadata: { suite: tag, note: 'other' } })
  check(sbx2.sandboxId !== sbx.sandboxId, 'distinct ids')
})

await step('rate limit: 429 + Retry-After is retried', async () => {
  // sbx-emu's fault injection (not part of E2B): one 429 on the next create
  const faults = `${process.env.E2B_API_URL}/_emu/faults`
  const add = await fetch(faults, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ method: 'POST', path: '/v2/sandboxes', status: 429, retry_after: 1, count: 1 }),
  })
  eq(add.status, 201, 'fault added')
  const t0 = Date.now()
  const extra = await Sandbox.create({ metadata: { suite: `${tag}-retry` } })
  check(Date.now() - t0 >= 900, 'the SDK waited for Retry-After')
  eq(await extra.kill(), true, 'kill the extra sandbox')
  const stats = await (await fetch(`${process.env.E2B_API_URL}/_emu/stats`)).json()
  check(stats.requests['POST /v2/sandboxes'] >= 4, 'stats count the retried create')
})

await step('commands.run foreground', async () => {
  const r = await sbx.commands.run('echo hello; echo err 1>&2; echo "$GLOBAL_ENV $MY_ENV"; pwd', {
    envs: { MY_ENV: 'from-run' },
    cwd: '/tmp',
  })
  eq(r.exitCode, 0, 'exit code')
  eq(r.stdout, 'hello\nfrom-create from-run\n/tmp\n', 'stdout')
  eq(r.stderr, 'err\n', 'stderr')
  const home = await sbx.commands.run('pwd; echo $HOME')
  eq(home.stdout, '/home/user\n/home/user\n', 'default cwd and HOME')
})

await step('commands.run non-zero exit', async () => {
  let caught
  try {
    await sbx.commands.run('echo partial; exit 3')
  } catch (err) {
    caught = err
  }
  check(caught instanceof CommandExitError, `CommandExitError (got ${caught})`)
  eq(caught.exitCode, 3, 'exitCode')
  eq(caught.stdout, 'partial\n', 'stdout kept')
})

await step('commands.run bad cwd', async () => {
  let caught
  try {
    await sbx.commands.run('pwd', { cwd: '/nonexistent' })
  } catch (err) {
    caught = err
  }
  check(caught && /cwd '\/nonexistent' does not exist/.test(caught.message), `bad cwd error (got ${caught})`)
})

await step('background streaming + kill', async () => {
  const out = []
  const err = []
  const h = await sbx.commands.run('for i in 1 2 3; do echo tick $i; echo tock $i 1>&2; sleep 0.2; done; sleep 30', {
    background: true,
    onStdout: (d) => out.push(d),
    onStderr: (d) => err.push(d),
  })
  check(h.pid > 0, 'pid')
  await waitFor(() => out.join('').includes('tick 3') && err.join('').includes('tock 3'), 'streamed output')
  eq(out.join(''), 'tick 1\ntick 2\ntick 3\n', 'stdout callbacks')
  const list = await sbx.commands.list()
  check(list.some((p) => p.pid === h.pid), 'commands.list shows the process')
  eq(await h.kill(), true, 'kill result')
  let caught
  try {
    await h.wait()
  } catch (e) {
    caught = e
  }
  check(caught instanceof CommandExitError, `killed wait throws CommandExitError (got ${caught})`)
  check(/signal: killed/.test(caught.error || caught.message), 'killed by signal')
  eq(await sbx.commands.kill(h.pid), false, 'second kill is false')
})

await step('commands.connect reconnect', async () => {
  const h = await sbx.commands.run('sleep 0.3; echo first; sleep 0.6; echo second; sleep 0.3', { background: true })
  await sleep(600)
  await h.disconnect()
  const got = []
  const h2 = await sbx.commands.connect(h.pid, { onStdout: (d) => got.push(d) })
  const r = await h2.wait()
  eq(r.exitCode, 0, 'exit code after reconnect')
  eq(got.join(''), 'second\n', 'only new output after reconnect')
  let caught
  try {
    await sbx.commands.connect(999999)
  } catch (e) {
    caught = e
  }
  check(caught, 'connect to an unknown pid fails')
})

await step('sendStdin + closeStdin', async () => {
  const h = await sbx.commands.run('cat; echo done', { background: true, stdin: true })
  await sbx.commands.sendStdin(h.pid, 'abc\n')
  await sbx.commands.sendStdin(h.pid, 'def\n')
  await sbx.commands.closeStdin(h.pid)
  const r = await h.wait()
  eq(r.stdout, 'abc\ndef\ndone\n', 'stdin echoed')
})

await step('files.write + read', async () => {
  const info = await sbx.files.write('/home/user/dir/a.txt', 'hello file')
  eq(info.path, '/home/user/dir/a.txt', 'write path')
  eq(info.name, 'a.txt', 'write name')
  eq(await sbx.files.read('/home/user/dir/a.txt'), 'hello file', 'read back')
  const r = await sbx.commands.run('cat /home/user/dir/a.txt')
  eq(r.stdout, 'hello file', 'visible to commands')
  await sbx.commands.run('printf "%s" from-cmd > /tmp/c.txt')
  eq(await sbx.files.read('/tmp/c.txt'), 'from-cmd', 'command output visible to files')
  const bytes = await sbx.files.read('/home/user/dir/a.txt', { format: 'bytes' })
  eq(Buffer.from(bytes).toString(), 'hello file', 'read as bytes')
})

await step('files.write multiple', async () => {
  const infos = await sbx.files.write([
    { path: '/home/user/b.txt', data: 'B' },
    { path: 'rel/c.txt', data: 'C' },
  ])
  eq(infos.map((i) => i.path), ['/home/user/b.txt', '/home/user/rel/c.txt'], 'paths')
  eq(await sbx.files.read('/home/user/rel/c.txt'), 'C', 'relative path resolved against home')
  eq(await sbx.files.read('b.txt'), 'B', 'relative read')
})

await step('files.list', async () => {
  const entries = await sbx.files.list('/home/user')
  const byName = Object.fromEntries(entries.map((e) => [e.name, e]))
  eq(byName['b.txt'] && byName['b.txt'].type, 'file', 'b.txt is a file')
  eq(byName['b.txt'].size, 1, 'b.txt size')
  eq(byName['b.txt'].path, '/home/user/b.txt', 'sandbox path')
  eq(byName['dir'] && byName['dir'].type, 'dir', 'dir is a dir')
  check(byName['b.txt'].modifiedTime instanceof Date && !isNaN(byName['b.txt'].modifiedTime), 'modifiedTime')
})

await step('files.exists + makeDir + rename + remove', async () => {
  eq(await sbx.files.exists('/home/user/b.txt'), true, 'exists')
  eq(await sbx.files.exists('/home/user/nope.txt'), false, 'not exists')
  eq(await sbx.files.makeDir('/home/user/newdir/sub'), true, 'makeDir')
  eq(await sbx.files.makeDir('/home/user/newdir/sub'), false, 'makeDir again')
  const moved = await sbx.files.rename('/home/user/b.txt', '/home/user/newdir/b2.txt')
  eq(moved.path, '/home/user/newdir/b2.txt', 'rename result')
  eq(await sbx.files.exists('/home/user/b.txt'), false, 'old name gone')
  eq(await sbx.files.read('/home/user/newdir/b2.txt'), 'B', 'content moved')
  await sbx.files.remove('/home/user/newdir')
  eq(await sbx.files.exists('/home/user/newdir'), false, 'removed')
  let caught
  try {
    await sbx.files.read('/home/user/missing.txt')
  } catch (e) {
    caught = e
  }
  check(caught && caught.name === 'FileNotFoundError', `missing file read throws FileNotFoundError (got ${caught})`)
})

await step('signed download url', async () => {
  const url = await sbx.downloadUrl('/home/user/dir/a.txt')
  check(/signature=v1_/.test(url), `url is signed (${url})`)
  const res = await fetch(url)
  eq(res.status, 200, 'status')
  eq(await res.text(), 'hello file', 'body')
  const bad = await fetch(url.replace(/signature=v1_[^&]*/, 'signature=v1_bad'))
  eq(bad.status, 401, 'bad signature is refused')
})

await step('Sandbox.list metadata + pagination', async () => {
  const all = await Sandbox.list({ query: { metadata: { suite: tag } } }).nextItems()
  eq(all.map((s) => s.sandboxId).sort(), [sbx.sandboxId, sbx2.sandboxId].sort(), 'both by suite')
  const one = await Sandbox.list({ query: { metadata: meta } }).nextItems()
  eq(one.map((s) => s.sandboxId), [sbx.sandboxId], 'value with spaces, & and =')
  eq(one[0].metadata, meta, 'metadata round trip')
  eq(one[0].state, 'running', 'state')
  const pager = Sandbox.list({ query: { metadata: { suite: tag } }, limit: 1 })
  const p1 = await pager.nextItems()
  eq(p1.length, 1, 'first page size')
  eq(pager.hasNext, true, 'hasNext after page 1')
  const p2 = await pager.nextItems()
  eq(p2.length, 1, 'second page size')
  eq(pager.hasNext, false, 'no more pages')
  eq([p1[0].sandboxId, p2[0].sandboxId], [sbx2.sandboxId, sbx.sandboxId], 'newest first')
})

await step('getInfo', async () => {
  const info = await sbx.getInfo()
  eq(info.sandboxId, sbx.sandboxId, 'id')
  eq(info.templateId, 'base', 'template')
  eq(info.metadata, meta, 'metadata')
  eq(info.state, 'running', 'state')
  eq(info.envdVersion, '0.6.13', 'envd version')
  const left = info.endAt.getTime() - Date.now()
  check(left > 100_000 && left <= 121_000, `endAt about 120 s ahead (${left} ms)`)
})

await step('setTimeout', async () => {
  await sbx.setTimeout(300_000)
  const info = await sbx.getInfo()
  const left = info.endAt.getTime() - Date.now()
  check(left > 290_000 && left <= 301_000, `endAt about 300 s ahead (${left} ms)`)
})

await step('pause + connect (resume)', async () => {
  await sbx.files.write('/home/user/keep.txt', 'kept')
  eq(await sbx.pause(), true, 'first pause')
  eq(await sbx.pause(), false, 'second pause')
  eq((await sbx.getInfo()).state, 'paused', 'state paused')
  eq(await sbx.isRunning(), false, 'envd unreachable while paused')
  const resumed = await Sandbox.connect(sbx.sandboxId)
  eq(resumed.sandboxId, sbx.sandboxId, 'same sandbox')
  eq((await resumed.getInfo()).state, 'running', 'state running')
  eq(await resumed.files.read('/home/user/keep.txt'), 'kept', 'files survive pause')
  const r = await resumed.commands.run('echo back')
  eq(r.stdout, 'back\n', 'commands work after resume')
  sbx = resumed
})

await step('kill', async () => {
  eq(await sbx.kill(), true, 'first kill')
  eq(await sbx.kill(), false, 'second kill')
  eq(await Sandbox.kill(sbx2.sandboxId), true, 'static kill')
  const left = await Sandbox.list({ query: { metadata: { suite: tag } } }).nextItems()
  eq(left.length, 0, 'list is empty after kill')
})

await step('killed sandbox rejects commands', async () => {
  let caught
  try {
    await sbx.commands.run('echo x')
  } catch (e) {
    caught = e
  }
  check(caught instanceof SandboxError || (caught && caught.name === 'TimeoutError'), `error expected (got ${caught})`)
  eq(await sbx.isRunning(), false, 'isRunning false')
  let info
  try {
    await Sandbox.getInfo(sbx.sandboxId)
  } catch (e) {
    info = e
  }
  check(info && info.name === 'SandboxNotFoundError', `getInfo throws SandboxNotFoundError (got ${info})`)
})

console.log(`${passed} passed, ${failed} failed`)
process.exit(failed ? 1 : 0)
