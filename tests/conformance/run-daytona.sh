#!/bin/sh
# run-daytona.sh [BUILD_DIR] - the official @daytonaio/sdk (pinned in
# package.json) against a fresh sbx-emu: once over cleartext HTTP/1.1 and,
# when TLS certificates can be made, once over TLS (the SDK speaks HTTP/1.1).
# Exits non-zero when a run fails.
set -u
name=run-daytona
pkg=@daytonaio/sdk
. "$(cd "$(dirname "$0")" && pwd)/emu-session.sh"

run() {
  label=$1
  url=$2
  shift 2
  echo "== daytona conformance over $label ($url)"
  # from $work: no .env file there can trip the SDK's endpoint check
  if ! (cd "$work" && env DAYTONA_API_URL="$url/api" DAYTONA_API_KEY=dt-conformance "$@" \
    node "$here/daytona-conformance.mjs"); then
    echo "run-daytona: FAILED over $label" >&2
    status=1
  fi
}

run "HTTP/1.1" "http://127.0.0.1:$port"
[ $tls_on -eq 1 ] && run "TLS" "https://localhost:$tls_port" NODE_EXTRA_CA_CERTS="$certs/ca.pem"
emu_finish
exit $status
