#!/bin/sh
# run-e2b.sh [BUILD_DIR] - the official e2b SDK (pinned in package.json)
# against a fresh sbx-emu: once over cleartext HTTP/1.1 and, when TLS
# certificates can be made, once over TLS (undici negotiates h2 there).
# Exits non-zero when a run fails.
set -u
name=run-e2b
pkg=e2b
. "$(cd "$(dirname "$0")" && pwd)/emu-session.sh"

run() {
  label=$1
  url=$2
  shift 2
  echo "== e2b conformance over $label ($url)"
  if ! env E2B_API_URL="$url" E2B_SANDBOX_URL="$url" E2B_API_KEY=e2b_conformance "$@" \
    node "$here/e2b-conformance.mjs"; then
    echo "run-e2b: FAILED over $label" >&2
    status=1
  fi
}

run "HTTP/1.1" "http://127.0.0.1:$port"
[ $tls_on -eq 1 ] && run "TLS" "https://localhost:$tls_port" NODE_EXTRA_CA_CERTS="$certs/ca.pem"
emu_finish
exit $status
