// compare_capture.mjs - record the exact request sbx sends for an exec.
//
//   node bench/compare_capture.mjs PORTFILE HEADERFILE BODYFILE
//
// Listens on 127.0.0.1 (cleartext HTTP/1.1, port written to PORTFILE) for
// ONE request, writes its headers as `name: value` lines for h2load -H
// (without the hop-by-hop and HTTP/1.1 framing headers, which h2 has no
// place for) and its body byte for byte, answers 503 and exits. bench/compare
// points `sbx exec --sandbox-url` here to get the envd Start request.
import fs from 'node:fs'
import http from 'node:http'

const [portFile, headerFile, bodyFile] = process.argv.slice(2)
const skip = new Set(['host', 'content-length', 'connection', 'transfer-encoding', 'expect',
  'keep-alive', 'upgrade', 'te'])
const srv = http.createServer((req, res) => {
  const chunks = []
  req.on('data', (d) => chunks.push(d))
  req.on('end', () => {
    const lines = []
    for (let i = 0; i < req.rawHeaders.length; i += 2)
      if (!skip.has(req.rawHeaders[i].toLowerCase()))
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`)
    fs.writeFileSync(headerFile, `${req.method} ${req.url}\n${lines.join('\n')}\n`)
    fs.writeFileSync(bodyFile, Buffer.concat(chunks))
    res.writeHead(503, { 'content-type': 'text/plain', connection: 'close' })
    res.end('captured\n', () => process.exit(0))
  })
})
srv.listen(0, '127.0.0.1', () => fs.writeFileSync(portFile, `${srv.address().port}\n`))
setTimeout(() => process.exit(3), 30000).unref()
