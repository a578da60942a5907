# emu-session.sh - sourced by run-*.sh: installs the pinned npm packages on
# demand, starts a fresh sbx-emu (cleartext and, when certificates can be
# made, TLS) and checks at the end that it exits cleanly and leaves no root.
# Needs: name (for messages), pkg (a node_modules dir that marks the install).
# Sets: here, work, certs, port, tls_port, tls_on; status=0.
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
emu=$build/sbx-emu
[ -x "$emu" ] || { echo "$name: $emu is not built" >&2; exit 2; }

if [ ! -d "$here/node_modules/$pkg" ]; then
  (cd "$here" && npm ci --silent --no-audit --no-fund) || { echo "$name: npm ci failed" >&2; exit 2; }
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
if sh "$top/tests/emu/gen-certs.sh" "$certs" && [ -f "$certs/server.pem" ]; then
  tls_args="--tls-port 0 --tls-cert $certs/server.pem --tls-key $certs/server.key"
else
  echo "$name: gen-certs.sh failed; skipping the TLS run" >&2
fi

# shellcheck disable=SC2086
"$emu" --port 0 --port-file "$work/ports" --root "$work/root" $tls_args \
  >"$work/emu.out" 2>"$work/emu.err" &
emu_pid=$!
i=0
while [ ! -s "$work/ports" ]; do
  i=$((i + 1))
  if [ $i -gt 100 ] || ! kill -0 "$emu_pid" 2>/dev/null; then
    echo "$name: sbx-emu did not start:" >&2
    cat "$work/emu.err" >&2
    exit 1
  fi
  sleep 0.1
done
read -r port tls_port <"$work/ports"
tls_on=0
[ -n "$tls_args" ] && [ "${tls_port:-0}" -gt 0 ] && tls_on=1
status=0

# Stop sbx-emu; fail when it died early, exited badly or left its root.
emu_finish() {
  if ! kill -0 "$emu_pid" 2>/dev/null; then
    echo "$name: sbx-emu died during the run:" >&2
    tail -20 "$work/emu.err" >&2
    status=1
  fi
  kill "$emu_pid" 2>/dev/null
  if ! wait "$emu_pid"; then
    echo "$name: sbx-emu did not exit cleanly" >&2
    tail -20 "$work/emu.err" >&2
    status=1
  fi
  emu_pid=
  [ ! -e "$work/root" ] || { echo "$name: sbx-emu left its root behind" >&2; status=1; }
}
