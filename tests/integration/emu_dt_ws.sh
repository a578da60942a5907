#!/bin/sh
# emu_dt_ws.sh - sbx-emu's Daytona log-follow WebSocket (1024-byte binary
# frames, close 1000; injected drop / truncate / malformed / status faults)
# and its bulk download (multipart parts, error parts, exact filenames, big
# files streamed), over cleartext HTTP/1.1 and over TLS (HTTP/1.1 by ALPN;
# the bulk download over h2 too). The client is Node (lib/dt_ws.mjs) with the
# `ws` and busboy packages of tests/conformance/node_modules, as the SDK uses.
# Usage: sh tests/integration/emu_dt_ws.sh [BUILD_DIR]
set -u

B=${1:-${SBX_BUILD:-build}}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/common.sh"
EMU_BIN=$B/sbx-emu
CERTS=$B/certs
need emu_dt_ws "$EMU_BIN" "$CERTS/ca.pem"
mods=$here/../conformance/node_modules
# The clients are the npm packages the SDK uses (ws, busboy), pinned with
# the conformance suite: installed here when missing, never skipped.
if ! command -v node >/dev/null 2>&1; then
  echo "emu_dt_ws: node is not installed (make deps / .ci/run installs it)" >&2
  exit 1
fi
if [ ! -d "$mods/ws" ] || [ ! -d "$mods/busboy" ]; then
  (cd "$here/../conformance" && npm ci --silent --no-audit --no-fund) ||
    { echo "emu_dt_ws: npm ci in tests/conformance failed" >&2; exit 1; }
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/sbx-dt-ws.XXXXXX") || exit 1
cleanup() {
  stop_emu
  [ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

start_emu emu_dt_ws --port 0 --tls-port 0 --tls-cert "$CERTS/server.pem" \
  --tls-key "$CERTS/server.key" --root "$T/root"

run_client() { # label url [ca]: the client's ok/FAIL lines count as checks
  echo "== $1"
  # the CA for fetch too (Node's default store)
  env ${3:+NODE_EXTRA_CA_CERTS="$3"} timeout 60 node "$here/lib/dt_ws.mjs" "$2" ${3:+"$3"} \
    >"$T/out" 2>"$T/err"
  rc=$?
  cat "$T/out"
  n_ok=$(count_lines "$T/out" '^ok ')
  n_bad=$(count_lines "$T/out" '^FAIL ')
  pass=$((pass + n_ok))
  fail=$((fail + n_bad))
  if [ "$rc" -ne 0 ] && [ "$n_bad" -eq 0 ]; then
    bad "$1: the client failed (rc $rc)"
    sed 's/^/    /' "$T/err" | tail -n 15
  fi
}

run_client "HTTP/1.1" "http://127.0.0.1:$PORT"
run_client "TLS (HTTP/1.1 by ALPN; h2 for the bulk download)" "https://localhost:$TLS_PORT" "$CERTS/ca.pem"
kill -0 "$EMU_PID" 2>/dev/null
check "sbx-emu is still up" $?
kill "$EMU_PID" 2>/dev/null
wait "$EMU_PID"
st=$?
EMU_PID=
cp "$T/emu.log" "$T/err"
[ "$st" -eq 0 ] && ! grep -qiE 'sanitizer|runtime error' "$T/emu.log"
check "sbx-emu exits cleanly (no sanitizer report)" $?
finish emu_dt_ws
