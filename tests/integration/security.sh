#!/bin/sh
# security.sh - secrets, TLS trust, path confinement and the emulator's own
# guard, as checks: API keys and secret values never reach logs (SBX_TRACE=1
# and -vvv), machine output, argv of any process, or run results; TLS
# verification is on by default and a wrong CA fails with one clear line,
# while SBX_CA_FILE / SBX_CA_BUNDLE trust a test CA; a remote file name
# cannot make `sbx get` write outside its directory; sbx-emu listens on
# loopback unless told otherwise and refuses requests without the key.
# Usage: sh tests/integration/security.sh [BUILD_DIR]
set -u

B=${1:-${SBX_BUILD:-build}}
. "$(dirname "$0")/lib/common.sh"
SBX_BIN=$B/sbx
EMU_BIN=$B/sbx-emu
need security "$SBX_BIN" "$EMU_BIN"
command -v curl >/dev/null 2>&1 || { echo "security: curl missing"; echo "security: 0 passed, 1 failed"; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/sbx-sec.XXXXXX") || exit 1
cleanup() {
  stop_emu
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

CERTS=$B/certs
mkdir -p "$CERTS"
sh tests/emu/gen-certs.sh "$CERTS" >/dev/null 2>&1 || { echo "security: no test certificates"; echo "security: 0 passed, 1 failed"; exit 1; }

KEY="e2b_sec_$$_k3y_value"
DKEY="dtn_sec_$$_k3y_value"
# the key in the environment: the emulator's argv must not hold it either
SBX_EMU_API_KEY=$KEY start_emu security --port 0 --tls-port 0 --tls-cert "$CERTS/server.pem" \
  --tls-key "$CERTS/server.key"
URL=http://127.0.0.1:$PORT
TURL=https://localhost:$TLS_PORT

# e2b ARGS...: the CLI on the emulator over TLS with the test CA, tracing and
# verbose logs on, every byte it prints kept in $T/all.
e2b() {
  SBX_TRACE=1 E2B_API_KEY=$KEY SBX_CA_FILE=$CERTS/ca.pem timeout 60 "$SBX_BIN" -vvv \
    --api-url "$TURL" --sandbox-url "$TURL" "$@" >"$T/out" 2>"$T/err"
  rc=$?
  cat "$T/out" "$T/err" >>"$T/all"
}
dt() {
  SBX_TRACE=1 DAYTONA_API_KEY=$KEY SBX_CA_FILE=$CERTS/ca.pem timeout 60 "$SBX_BIN" -vvv \
    --provider daytona --api-url "$TURL/api" "$@" >"$T/out" 2>"$T/err"
  rc=$?
  cat "$T/out" "$T/err" >>"$T/all"
}
: >"$T/all"

# ---- API keys: not in logs, output or argv -----------------------------------
e2b create
SB=$(tail -n 1 "$T/out")
[ "$rc" -eq 0 ] && [ -n "$SB" ]
check "e2b: create with tracing on" $?
e2b --json exec "$SB" 'echo hi; echo oops >&2; exit 3'
[ "$rc" -ne 0 ] && grep -q hi "$T/out"
check "e2b: exec with tracing on" $?
# a running CLI: its argv and every other process's must not hold the key
SBX_TRACE=1 E2B_API_KEY=$KEY SBX_CA_FILE=$CERTS/ca.pem timeout 60 "$SBX_BIN" \
  --api-url "$TURL" --sandbox-url "$TURL" exec "$SB" 'sleep 1' >"$T/bg.out" 2>"$T/bg.err" &
bg=$!
leak=0
seen=0
i=0
while [ $i -lt 20 ]; do
  kill -0 $bg 2>/dev/null && seen=1
  if grep -qsF -- "$KEY" /proc/[0-9]*/cmdline 2>/dev/null; then leak=1; fi
  sleep 0.05
  i=$((i + 1))
done
wait $bg
cat "$T/bg.out" "$T/bg.err" >>"$T/all"
[ $seen -eq 1 ] && [ $leak -eq 0 ]
check "e2b: the API key is in no process's argv while a command runs" $?
e2b kill "$SB"
[ "$rc" -eq 0 ]
check "e2b: kill" $?
grep -q "e2b_sec_\|state\|->" "$T/all" && ! grep -qF -- "$KEY" "$T/all"
check "e2b: the API key appears nowhere in traces, logs or output" $?
# --api-key is refused outright: a key in argv is visible to every user
E2B_API_KEY=$KEY timeout 20 "$SBX_BIN" --api-key "$KEY" ls >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" -eq 2 ] && ! grep -qF -- "$KEY" "$T/err" "$T/out"
check "e2b: --api-key is refused and the refusal does not echo it" $?

: >"$T/all"
dt create
DSB=$(tail -n 1 "$T/out")
[ "$rc" -eq 0 ] && [ -n "$DSB" ]
check "daytona: create with tracing on" $?
dt exec "$DSB" 'echo hi'
[ "$rc" -eq 0 ] && grep -q hi "$T/out"
check "daytona: exec with tracing on" $?
dt kill "$DSB"
! grep -qF -- "$KEY" "$T/all" && ! grep -qF -- "$DKEY" "$T/all"
check "daytona: the API key appears nowhere in traces, logs or output" $?

# ---- secret env values: masked in results, absent from argv ------------------
# (the batch runner's secret_env; run_local.sh covers the local provider)
SECRET="sbx-sec-$$-secret"
cat >"$T/tasks.jsonl" <<EOF
{"id":"s1","sandbox":{"secret_env":{"TOKEN":"SBX_SEC_TOKEN"}},"commands":["echo token=\$TOKEN; echo \$TOKEN >&2"]}
EOF
SBX_SEC_TOKEN=$SECRET SBX_TRACE=1 E2B_API_KEY=$KEY SBX_CA_FILE=$CERTS/ca.pem timeout 120 \
  "$SBX_BIN" -vvv --api-url "$TURL" --sandbox-url "$TURL" run "$T/tasks.jsonl" --results "$T/run" \
  >"$T/out" 2>"$T/err"
rc=$?
grep -q '"status":"ok"' "$T/run/results.jsonl" 2>/dev/null && grep -q 'token=\*\*\*' "$T/run/results.jsonl"
check "e2b run: the secret reaches the sandbox and is masked in results" $?
! grep -rqF -- "$SECRET" "$T/run" "$T/out" "$T/err" && ! grep -rqF -- "$KEY" "$T/run" "$T/out" "$T/err"
check "e2b run: neither the secret nor the key is in results, journal, logs or traces" $?

# ---- TLS: on by default, a clear error, CAs trusted on request ----------------
E2B_API_KEY=$KEY timeout 20 "$SBX_BIN" --api-url "$TURL" --sandbox-url "$TURL" ls >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" -ne 0 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -qi "certificate" "$T/err"
check "tls: an untrusted server certificate fails in one line naming the certificate" $?
# a CA that did not sign the server's certificate fails the same way
mkdir -p "$T/other"
sh tests/emu/gen-certs.sh "$T/other" >/dev/null 2>&1
E2B_API_KEY=$KEY SBX_CA_FILE=$T/other/ca.pem timeout 20 "$SBX_BIN" --api-url "$TURL" \
  --sandbox-url "$TURL" ls >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" -ne 0 ] && grep -qi "certificate" "$T/err"
check "tls: a CA that did not sign the server's certificate is refused" $?
E2B_API_KEY=$KEY SBX_CA_BUNDLE=$CERTS/ca.pem timeout 20 "$SBX_BIN" --api-url "$TURL" \
  --sandbox-url "$TURL" ls >"$T/out" 2>"$T/err"
check "tls: SBX_CA_BUNDLE trusts the test CA" $?
E2B_API_KEY=$KEY SBX_CA_FILE=$CERTS/ca.pem timeout 20 "$SBX_BIN" --api-url "$TURL" \
  --sandbox-url "$TURL" ls >"$T/out" 2>"$T/err"
check "tls: SBX_CA_FILE trusts the test CA" $?
# the name must match too: 127.0.0.1 is not in the certificate's names
if ! openssl x509 -in "$CERTS/server.pem" -noout -text 2>/dev/null | grep -q "IP Address:127.0.0.1"; then
  E2B_API_KEY=$KEY SBX_CA_FILE=$CERTS/ca.pem timeout 20 "$SBX_BIN" \
    --api-url "https://127.0.0.1:$TLS_PORT" --sandbox-url "https://127.0.0.1:$TLS_PORT" ls \
    >"$T/out" 2>"$T/err"
  rc=$?
  [ "$rc" -ne 0 ] && grep -qi "certificate\|host\|name" "$T/err"
  check "tls: a certificate for another name is refused" $?
fi

# ---- paths: a remote name cannot escape the download directory ---------------
e2b create
SB=$(tail -n 1 "$T/out")
mkdir -p "$T/dl" "$T/outside"
e2b exec "$SB" 'mkdir -p /tmp/d && echo inner > /tmp/d/f.txt'
e2b get "$SB" "/tmp/d/../d/f.txt" "$T/dl"
find "$T/dl" -type f >"$T/files"
[ "$rc" -eq 0 ] && [ "$(wc -l <"$T/files")" -eq 1 ] && grep -q "^$T/dl/" "$T/files" &&
  [ -z "$(ls -A "$T/outside")" ] && ! [ -e "$T/f.txt" ]
check "paths: sbx get writes only inside its directory" $?
e2b kill "$SB"

# ---- the emulator's own guard ------------------------------------------------
# listening sockets of the emulator: all on 127.0.0.1
hexport=$(printf '%04X' "$PORT")
hextls=$(printf '%04X' "$TLS_PORT")
grep -E ":($hexport|$hextls) 00000000:0000 0A" /proc/net/tcp >"$T/listen"
[ "$(wc -l <"$T/listen")" -eq 2 ] && ! grep -q "^ *[0-9]*: 00000000:" "$T/listen" &&
  grep -q "0100007F:$hexport" "$T/listen"
check "emu: listens on 127.0.0.1 only by default" $?
# status NAME WANT PATH [HEADER]: the emulator answers PATH with WANT.
status() {
  if [ $# -ge 4 ]; then
    code=$(curl -s -o "$T/body" -w '%{http_code}' -H "$4" "$URL$3")
  else
    code=$(curl -s -o "$T/body" -w '%{http_code}' "$URL$3")
  fi
  [ "$code" = "$2" ]
  check "$1 (got $code)" $?
}
status "emu: e2b API without a key is 401" 401 /v2/sandboxes
status "emu: e2b API with a wrong key is 401" 401 /v2/sandboxes "X-API-Key: wrong"
status "emu: daytona API without a key is 401" 401 /api/sandbox
status "emu: daytona API with a wrong key is 401" 401 /api/sandbox "Authorization: Bearer wrong"
status "emu: e2b API with the key is 200" 200 /v2/sandboxes "X-API-Key: $KEY"

finish security
