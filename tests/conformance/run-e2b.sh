#!/bin/sh
# run-e2b.sh [BUILD_DIR] - the official e2b SDK (pinned in package.json)
# against a fresh sbx-emu: once over cleartext HTTP/1.1 and, when TLS
# certificates can be made, once over TLS (undici negotiates h2 there).
# Exits non-zero when a run fails.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
emu=$build/sbx-emu
[ -x "$emu" ] || { echo "run-e2b: $emu is not built" >&2; exit 2; }

if [ ! -d "$here/node_modules/e2b" ]; then
  (cd "$here" && npm ci --silent --no-audit --no-fund) || { echo "run-e2b: npm ci failed" >&2; exit 2; }
fi

work=$(mktemp -d)
emu_pid=
cleanup() {
  if [ -n "$emu_pid" ]; then
    kill "$emu_pid" 2>/dev/null
    wait "$emu_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

tls_args=
certs=$work/certs
if [ -x "$top/tests/emu/gen-certs.sh" ] || [ -f "$top/tests/emu/gen-certs.sh" ]; then
  if sh "$top/tests/emu/gen-certs.sh" "$certs" && [ -f "$certs/server.pem" ]; then
    tls_args="--tls-port 0 --tls-cert $certs/server.pem --tls-key $certs/server.key"
  else
    echo "run-e2b: gen-certs.sh failed; skipping the TLS run" >&2
  fi
fi

# shellcheck disable=SC2086
"$emu" --port 0 --port-file "$work/ports" --root "$work/root" $tls_args \
  >"$work/emu.out" 2>"$work/emu.err" &
emu_pid=$!
i=0
while [ ! -s "$work/ports" ]; do
  i=$((i + 1))
  if [ $i -gt 100 ] || ! kill -0 "$emu_pid" 2>/dev/null; then
    echo "run-e2b: sbx-emu did not start:" >&2
    cat "$work/emu.err" >&2
    exit 1
  fi
  sleep 0.1
done
read -r port tls_port <"$work/ports"

status=0
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
if [ -n "$tls_args" ] && [ "${tls_port:-0}" -gt 0 ]; then
  run "TLS" "https://localhost:$tls_port" NODE_EXTRA_CA_CERTS="$certs/ca.pem"
fi

if ! kill -0 "$emu_pid" 2>/dev/null; then
  echo "run-e2b: sbx-emu died during the run:" >&2
  tail -20 "$work/emu.err" >&2
  status=1
fi
kill "$emu_pid" 2>/dev/null
if ! wait "$emu_pid"; then
  echo "run-e2b: sbx-emu did not exit cleanly" >&2
  tail -20 "$work/emu.err" >&2
  status=1
fi
emu_pid=
[ ! -e "$work/root" ] || { echo "run-e2b: sbx-emu left its root behind" >&2; status=1; }
exit $status
