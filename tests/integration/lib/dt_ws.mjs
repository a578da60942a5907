// dt_ws.mjs - run by emu_dt_ws.sh: Daytona's log-follow WebSocket and bulk
// download of sbx-emu, over one transport. A raw client sees the frames as
// sent (sizes, bits, a cut frame, no close frame); `ws`, the library the SDK
// uses, must see the same stream, or fail on a broken one; busboy (the SDK's
// multipart parser) reads the bulk download.
// Usage: node dt_ws.mjs BASE_URL [CA_FILE]   (BASE_URL http://... or https://...)
// Prints "ok NAME" / "FAIL NAME: why" per check; exits 1 on a failure.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import http2 from 'node:http2'
import { createRequire } from 'node:module'
import net from 'node:net'
import tls from 'node:tls'

const require = createRequire(new URL('../../conformance/package.json', import.meta.url))
const WebSocket = require('ws')
const busboy = require('busboy')

const base = new URL(process.argv[2])
const ca = process.argv[3] ? readFileSync(process.argv[3]) : undefined
const secure = base.protocol === 'https:'
const auth = { authorization: 'Bearer dt-ws-test' }
const FRAME = 1024
let failed = 0

async function check(name, fn) {
  try {
    await fn()
    console.log(`ok ${name}`)
  } catch (err) {
    failed++
    console.log(`FAIL ${name}: ${err && err.message ? err.message : err}`)
  }
}
function assert(cond, what) {
  if (!cond) throw new Error(what)
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

async function api(method, path, body) {
  const r = await fetch(new URL(path, base), {
    method,
    headers: { ...auth, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await r.text()
  return { status: r.status, headers: r.headers, text, json: text ? safeJson(text) : null }
}
function safeJson(t) {
  try {
    return JSON.parse(t)
  } catch {
    return null
  }
}

// ---- a raw WebSocket client: the frames exactly as the server sent them ----

// Parse server frames from buf; stops at a close frame or an incomplete one.
function parseFrames(buf) {
  const frames = []
  let off = 0
  while (off + 2 <= buf.length) {
    const b0 = buf[off]
    const b1 = buf[off + 1]
    let len = b1 & 0x7f
    let head = 2
    if (len === 126) {
      if (off + 4 > buf.length) break
      len = buf.readUInt16BE(off + 2)
      head = 4
    } else if (len === 127) {
      if (off + 10 > buf.length) break
      len = Number(buf.readBigUInt64BE(off + 2))
      head = 10
    }
    if (b1 & 0x80) head += 4
    const f = { fin: !!(b0 & 0x80), rsv: (b0 >> 4) & 7, opcode: b0 & 15, masked: !!(b1 & 0x80), len }
    if (off + head + len > buf.length) {
      return { frames, partial: { ...f, got: buf.length - off - head } }
    }
    f.payload = buf.subarray(off + head, off + head + len)
    frames.push(f)
    off += head + len
    if (f.opcode === 8) break
  }
  return { frames, partial: off < buf.length && off + 2 > buf.length ? { got: buf.length - off } : null }
}

// GET path as an upgrade; resolves at EOF or at the close frame (which it
// answers) with { status, head, frames, partial, closeCode, alpn }.
function rawFollow(path) {
  return new Promise((resolve, reject) => {
    const opts = { host: base.hostname, port: Number(base.port) }
    const sock = secure
      ? tls.connect({ ...opts, servername: base.hostname, ca, ALPNProtocols: ['http/1.1'] })
      : net.connect(opts)
    let buf = Buffer.alloc(0)
    let head = null
    let done = false
    const finish = (closed) => {
      if (done) return
      done = true
      const body = head ? buf.subarray(head.length + 4) : buf
      const status = head ? Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1]) : 0
      const r = status === 101 ? parseFrames(body) : { frames: [], partial: null }
      const close = r.frames.find((f) => f.opcode === 8)
      resolve({
        status,
        head: head || '',
        body,
        frames: r.frames.filter((f) => f.opcode !== 8),
        partial: r.partial,
        closeCode: close && close.len >= 2 ? close.payload.readUInt16BE(0) : null,
        eof: !closed,
        alpn: sock.alpnProtocol,
      })
      if (closed) sock.destroy()
    }
    sock.once(secure ? 'secureConnect' : 'connect', () => {
      sock.write(
        `GET ${path} HTTP/1.1\r\nHost: ${base.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n` +
          `Authorization: ${auth.authorization}\r\n\r\n`,
      )
    })
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d])
      if (!head) {
        const i = buf.indexOf('\r\n\r\n')
        if (i >= 0) head = buf.subarray(0, i).toString('latin1')
      }
      if (head && head.startsWith('HTTP/1.1 101')) {
        const r = parseFrames(buf.subarray(head.length + 4))
        if (r.frames.some((f) => f.opcode === 8)) finish(true)
      } else if (head) { // a plain answer on a kept-alive connection: its body
        const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] || 0)
        if (buf.length >= head.length + 4 + len) finish(true)
      }
    })
    sock.on('end', () => finish(false))
    sock.on('close', () => finish(false))
    sock.on('error', (e) => (done ? null : reject(e)))
    setTimeout(() => (done ? null : reject(new Error('raw follow timed out'))), 10000)
  })
}

// The same through `ws`: { messages, code, error }.
function wsFollow(path) {
  return new Promise((resolve) => {
    const url = new URL(path, base)
    url.protocol = secure ? 'wss:' : 'ws:'
    const ws = new WebSocket(url, { headers: auth, ca, ALPNProtocols: secure ? ['http/1.1'] : undefined })
    const messages = []
    let error = null
    ws.on('message', (data, isBinary) => messages.push({ data: Buffer.from(data), isBinary }))
    ws.on('error', (e) => (error = error || e))
    ws.on('close', (code) => resolve({ messages, code, error }))
  })
}

const joined = (parts) => Buffer.concat(parts.map((p) => p.payload || p.data))

// ---- setup: a sandbox and a session ----

const sb = await api('POST', '/api/sandbox', { labels: { suite: 'emu-dt-ws' } })
if (sb.status !== 200 || !sb.json?.id) {
  console.log(`FAIL create sandbox: ${sb.status} ${sb.text}`)
  process.exit(1)
}
const tb = `/toolbox/${sb.json.id}`
await api('POST', `${tb}/process/session`, { sessionId: 's1' })

async function run(command) {
  const r = await api('POST', `${tb}/process/session/s1/exec`, { command, runAsync: true })
  assert(r.status === 202 && r.json?.cmdId, `exec: ${r.status} ${r.text}`)
  return r.json.cmdId
}
const logsPath = (cid) => `${tb}/process/session/s1/command/${cid}/logs?follow=true`
async function logOf(cid) {
  const r = await api('GET', `${tb}/process/session/s1/command/${cid}/logs`)
  return Buffer.from(r.json.output, 'utf8')
}
async function exitOf(cid, waitMs = 5000) {
  for (let t = 0; t < waitMs; t += 50) {
    const r = await api('GET', `${tb}/process/session/s1/command/${cid}`)
    if (r.json && r.json.exitCode !== undefined) return r.json.exitCode
    await sleep(50)
  }
  return undefined
}
async function fault(cid, rule) {
  const path = `${tb}/process/session/s1/command/${cid}/logs`
  const r = await fetch(new URL('/_emu/faults', base), {
    method: 'POST',
    body: JSON.stringify({ method: 'GET', path, count: 1, ...rule }),
  })
  assert(r.status === 201, `fault not added: ${r.status}`)
}
// ~9 KB of history (300 stdout lines and a stderr one), then a pause, then a tail.
const noisy = (pause) =>
  `i=0; while [ $i -lt 300 ]; do echo "line $i of the history, padded to thirty"; i=$((i+1)); done; ` +
  `echo oops >&2; sleep ${pause}; echo tail-done`
async function historyReady(cid) {
  for (let t = 0; t < 100 && (await logOf(cid)).length < 9000; t++) await sleep(20)
}

// ---- 1. fidelity: frames of at most 1024 bytes, replay and live, close 1000 ----

await check('follow: binary frames <= 1024 bytes, whole log, close 1000 (raw)', async () => {
  const cid = await run(noisy(0.4))
  await historyReady(cid)
  const r = await rawFollow(logsPath(cid))
  assert(r.status === 101, `status ${r.status}`)
  assert(!/sec-websocket-protocol/i.test(r.head), 'no subprotocol')
  if (secure) assert(r.alpn === 'http/1.1', `ALPN ${r.alpn}`)
  assert(r.frames.length > 9, `${r.frames.length} frames`)
  for (const f of r.frames) {
    assert(f.opcode === 2 && f.fin && !f.rsv && !f.masked, `frame bits ${JSON.stringify(f)}`)
    assert(f.len >= 1 && f.len <= FRAME, `frame of ${f.len} bytes`)
  }
  assert(r.frames[0].len === FRAME, `the replay starts with a full frame (${r.frames[0].len})`)
  assert(r.closeCode === 1000, `close ${r.closeCode}`)
  const log = await logOf(cid)
  assert(joined(r.frames).equals(log), 'frames join to the log')
  assert(log.includes('\x02\x02\x02oops\n') && log.includes('\x01\x01\x01tail-done\n'), 'markers')
  assert((await exitOf(cid)) === 0, 'exit code 0')
})

await check('follow: ws sees the same, a replay after exit too', async () => {
  const cid = await run(noisy(0.2))
  const live = await wsFollow(logsPath(cid))
  const replay = await wsFollow(logsPath(cid))
  const log = await logOf(cid)
  for (const r of [live, replay]) {
    assert(!r.error && r.code === 1000, `close ${r.code} ${r.error}`)
    assert(r.messages.every((m) => m.isBinary && m.data.length <= FRAME), 'binary, <= 1024')
    assert(joined(r.messages).equals(log), 'content is the log')
  }
})

// ---- 2. faults on the follow socket ----

// A noisy command with ~9 KB of history, followed (by `follow`) under rule.
async function faulted(rule, follow, pause = 0.3) {
  const cid = await run(noisy(pause))
  await historyReady(cid)
  await fault(cid, rule)
  return { cid, r: await follow(logsPath(cid)) }
}
const noCloseFrame = (r, n) =>
  assert(r.frames.length === n && r.eof && r.closeCode === null, `${r.frames.length} frames (want ${n}), close ${r.closeCode}`)
const wsBroken = (r, n) =>
  assert(r.code === 1006 && r.messages.length === n, `close ${r.code}, ${r.messages.length} messages (want ${n})`)

await check('drop after 3 frames: no close frame, the command runs on', async () => {
  const { cid, r } = await faulted({ action: 'drop', after_messages: 3 }, rawFollow, 0.5)
  assert(r.status === 101 && !r.partial, `status ${r.status}`)
  noCloseFrame(r, 3)
  const log = await logOf(cid)
  assert(joined(r.frames).equals(log.subarray(0, 3 * FRAME)), 'the first 3 KiB of the log')
  assert((await exitOf(cid)) === 0, 'the command still completes')
  const again = await wsFollow(logsPath(cid))
  assert(again.code === 1000 && joined(again.messages).equals(await logOf(cid)), 'a later follow replays it all')
  assert((await logOf(cid)).includes('tail-done'), 'its tail is there')
})

await check('drop seen by ws: close 1006 after N messages', async () => {
  const { cid, r } = await faulted({ action: 'drop', after_messages: 2 }, wsFollow)
  wsBroken(r, 2)
  assert((await exitOf(cid)) === 0, 'exit code 0')
})

await check('drop not due before the end: in place of the close frame', async () => {
  const cid = await run('echo short')
  assert((await exitOf(cid)) === 0, 'done')
  await fault(cid, { action: 'drop', after_messages: 50 })
  noCloseFrame(await rawFollow(logsPath(cid)), 1)
})

await check('truncate after 2 frames: half a frame, then EOF', async () => {
  const { cid, r } = await faulted({ action: 'truncate', after_messages: 2 }, rawFollow)
  noCloseFrame(r, 2)
  const p = r.partial
  assert(p && p.opcode === 2 && p.len === FRAME && p.got === FRAME / 2, `partial ${JSON.stringify(p)}`)
  const ws = await wsFollow(logsPath(cid)) // the rule was used up: a clean replay
  assert(ws.code === 1000, `then a clean follow (${ws.code})`)
})

await check('truncate seen by ws: 1006, the cut frame never delivered', async () => {
  const { cid, r } = await faulted({ action: 'truncate', after_messages: 1 }, wsFollow)
  wsBroken(r, 1)
  assert((await exitOf(cid)) === 0, 'exit code 0')
})

await check('malformed after 1 frame: RSV1 set, then EOF; ws fails', async () => {
  const { cid, r } = await faulted({ action: 'malformed', after_messages: 1 }, rawFollow)
  noCloseFrame(r, 2)
  assert(r.frames[0].rsv === 0 && r.frames[1].rsv === 4, `rsv ${r.frames.map((f) => f.rsv)}`)
  await fault(cid, { action: 'malformed', after_messages: 1 })
  const w = await wsFollow(logsPath(cid))
  assert(w.error && /RSV1/.test(w.error.message), `ws error (${w.error})`)
  assert(w.messages.length === 1, `${w.messages.length} messages before it`)
  assert((await exitOf(cid)) === 0, 'exit code 0')
})

await check('status rule answers the upgrade itself', async () => {
  const cid = await run('echo x')
  await fault(cid, { status: 503 })
  const r = await rawFollow(logsPath(cid))
  const body = safeJson(r.body.toString())
  assert(r.status === 503 && body && body.statusCode === 503, `${r.status} ${r.body}`)
  await fault(cid, { status: 502 })
  const w = await wsFollow(logsPath(cid))
  assert(w.error && /502/.test(w.error.message), `ws error (${w.error})`)
})

// ---- 3. bulk download ----

const uni = 'dl/é "q" ✓.txt'
const prep = await api('POST', `${tb}/process/execute`, {
  command: `mkdir -p dl && printf hello > dl/a.txt && printf uni > '${uni}' && head -c 3000000 /dev/urandom > dl/big.bin && sha256sum dl/big.bin`,
})

function multipart(buf, contentType) {
  return new Promise((resolve, reject) => {
    const parts = []
    const bb = busboy({ headers: { 'content-type': contentType }, preservePath: true })
    bb.on('file', (name, stream, info) => {
      const chunks = []
      stream.on('data', (c) => chunks.push(c))
      stream.on('end', () => parts.push({ name, filename: info.filename, data: Buffer.concat(chunks) }))
    })
    bb.on('field', (name, value, info) => parts.push({ name, value }))
    bb.on('close', () => resolve(parts))
    bb.on('error', reject)
    bb.end(buf)
  })
}

const paths = ['dl/a.txt', 'dl/missing.txt', 'dl/big.bin', 'dl', '/home/daytona/dl/a.txt', uni]
const bigSha = prep.json?.result?.split(' ')[0]

function checkParts(parts) {
  assert(parts.length === paths.length, `${parts.length} parts`)
  parts.forEach((p, i) => assert(p.filename === paths[i], `part ${i} filename ${JSON.stringify(p.filename)}`))
  const kinds = parts.map((p) => p.name).join(',')
  assert(kinds === 'file,error,file,error,file,file', kinds)
  assert(parts[0].data.toString() === 'hello' && parts[4].data.toString() === 'hello', 'small file')
  assert(createHash('sha256').update(parts[2].data).digest('hex') === bigSha, 'big file intact')
  assert(parts[5].data.toString() === 'uni', 'unicode path')
  const e1 = JSON.parse(parts[1].data)
  assert(e1.statusCode === 404 && e1.code === 'FILE_NOT_FOUND' && e1.path === 'dl/missing.txt' && e1.method === 'POST', `missing: ${parts[1].data}`)
  const e3 = JSON.parse(parts[3].data)
  assert(e3.statusCode === 400 && e3.code === 'INVALID_FILE_PATH', `directory: ${parts[3].data}`)
}

await check('bulk-download: multipart parts, error parts, exact filenames (busboy)', async () => {
  assert(prep.status === 200 && bigSha, `prep: ${prep.text}`)
  const r = await fetch(new URL(`${tb}/files/bulk-download`, base), {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ paths }),
  })
  const ct = r.headers.get('content-type')
  assert(r.status === 200 && ct === 'multipart/form-data; boundary=DAYTONA-FILE-BOUNDARY', `${r.status} ${ct}`)
  const buf = Buffer.from(await r.arrayBuffer())
  checkParts(await multipart(buf, ct))
  const text = buf.toString('latin1')
  assert(text.startsWith('--DAYTONA-FILE-BOUNDARY\r\n') && text.endsWith('\r\n--DAYTONA-FILE-BOUNDARY--\r\n'), 'delimiters')
  const h0 = text.slice(0, text.indexOf('\r\n\r\n'))
  assert(h0.includes(`Content-Disposition: form-data; name="file"; filename="dl/a.txt"; filename*=utf-8''dl%2Fa.txt`), h0)
  assert(h0.includes('Content-Length: 5') && h0.includes('Content-Type: text/plain; charset=utf-8'), h0)
  assert(text.includes(`Content-Length: 3000000\r\nContent-Type: application/octet-stream\r\n`), 'big part head')
  assert(text.includes('filename="dl/\xe9 \\"q\\" _.txt"; filename*=utf-8\'\'dl%2F%C3%A9%20%22q%22%20%E2%9C%93.txt'), 'latin-1 and RFC 5987 names')
  assert(text.includes('name="error"; filename="dl/missing.txt"') && text.includes('Content-Type: application/json; charset=utf-8'), 'error part head')
})

await check('bulk-download: empty or bad body is 400', async () => {
  for (const body of [{ paths: [] }, { nope: 1 }]) {
    const r = await api('POST', `${tb}/files/bulk-download`, body)
    assert(r.status === 400 && /non-empty/.test(r.json?.error), `${r.status} ${r.text}`)
  }
})

if (secure) {
  await check('bulk-download over h2: streamed and whole', async () => {
    const s = http2.connect(base.origin, { ca })
    try {
      const { ct, buf } = await new Promise((resolve, reject) => {
        const req = s.request({ ':method': 'POST', ':path': `${tb}/files/bulk-download`, 'content-type': 'application/json', ...auth })
        const chunks = []
        let ct
        req.on('response', (h) => (ct = h['content-type']))
        req.on('data', (c) => chunks.push(c))
        req.on('end', () => resolve({ ct, buf: Buffer.concat(chunks) }))
        req.on('error', reject)
        req.end(JSON.stringify({ paths }))
      })
      checkParts(await multipart(buf, ct))
    } finally {
      s.close()
    }
  })
}

await api('DELETE', `/api/sandbox/${sb.json.id}`)
process.exit(failed ? 1 : 0)
