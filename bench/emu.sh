# emu.sh - sourced by the bench scripts (POSIX sh): a work directory removed
# at exit, test certificates, and fresh sbx-emu --exec null instances. The
# emulator keeps its sandboxes in its default root (tmpfs when /dev/shm is
# there), so the server side of a run does not measure ext4. Needs B and key.
# 10,000 streams over loopback need file descriptors on both sides.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

work=$(mktemp -d /tmp/sbx-bench-XXXXXX)
emu_pid=
stop_emu() {
  if [ -n "$emu_pid" ]; then
    kill "$emu_pid" 2>/dev/null
    wait "$emu_pid" 2>/dev/null
    emu_pid=
  fi
}
cleanup() {
  stop_emu
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$B/certs"
sh tests/emu/gen-certs.sh "$B/certs" >/dev/null 2>&1 ||
  { echo "bench: cannot make test certificates" >&2; exit 1; }

# start_emu NAME: a fresh emulator; sets port and tls_port.
start_emu() {
  "$B/sbx-emu" --exec null --host 127.0.0.1 --port 0 --tls-port 0 \
    --tls-cert "$B/certs/server.pem" --tls-key "$B/certs/server.key" \
    --port-file "$work/$1.ports" --api-key "$key" >"$work/$1.out" 2>"$work/$1.err" &
  emu_pid=$!
  i=0
  while [ ! -s "$work/$1.ports" ]; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 "$emu_pid" 2>/dev/null; then
      echo "bench: sbx-emu did not start:" >&2
      cat "$work/$1.err" >&2
      exit 1
    fi
    sleep 0.1
  done
  read -r port tls_port <"$work/$1.ports"
}

# emu_check NAME: report an emulator that died during the run.
emu_check() {
  if ! kill -0 "$emu_pid" 2>/dev/null; then
    echo "bench: sbx-emu ($1) died during the run:" >&2
    tail -n 20 "$work/$1.err" >&2
  fi
}
