#!/bin/sh
# cli_local.sh - the `sbx` command line on the local provider (the default
# when no cloud key is set): every command, from separate processes sharing
# sandboxes through their on-disk records.
# Usage: sh tests/integration/cli_local.sh [BUILD_DIR]
set -u
B=${1:-build}
. "$(dirname "$0")/lib/common.sh"
SBX_BIN=$B/sbx
need cli_local "$SBX_BIN"
T=$(mktemp -d "${TMPDIR:-/tmp}/sbx-cli-local.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP
unset E2B_API_KEY SBX_PROVIDER
export SBX_LOCAL_ROOT="$T/root"

sbx() {
  timeout 60 "$SBX_BIN" "$@" >"$T/out" 2>"$T/err"
  rc=$?
}
check_failed() { bad "$1" "$(head -c 300 "$T/err")"; } # for check NAME STATUS

sbx create --meta suite=cli-local --env GREETING=hi
id=$(cat "$T/out")
case "$id" in l*) ok "create prints an id ($id)" ;; *) bad "create" "rc=$rc out=$id" ;; esac

sbx exec "$id" -- 'echo $GREETING; echo to-err >&2; exit 7'
[ "$rc" -eq 7 ] && [ "$(cat "$T/out")" = "hi" ] && [ "$(cat "$T/err")" = "to-err" ]
check "exec streams and exits with the command's code" $?

head -c 3000000 /dev/urandom >"$T/big"
sbx put "$id" "$T/big" /home/user/data/big.bin
check "put a 3 MB file" $rc
sbx exec "$id" -- 'wc -c < /home/user/data/big.bin'
[ "$(cat "$T/out" | tr -d ' ')" = "3000000" ]
check "the command sees the uploaded file" $?
sbx get "$id" /home/user/data/big.bin "$T/back"
cmp -s "$T/big" "$T/back"
check "get returns the same bytes" $?
mkdir "$T/many"
sbx --json get "$id" /home/user/data/big.bin /home/user/nope /etc/passwd "$T/many"
[ "$rc" -eq 1 ] && cmp -s "$T/big" "$T/many/big.bin" && [ "$(grep -c '"ok":true' "$T/out")" -eq 1 ] &&
  grep -q '"local_path":"'"$T/many/big.bin"'"' "$T/out" && grep -q "/home/user/nope: SBX_ENOTFOUND" "$T/err" &&
  grep -q "/etc/passwd: SBX_EINVAL: .*outside" "$T/err" && [ ! -e "$T/many/nope" ] && [ ! -e "$T/many/passwd" ]
check "get of several: each file reported, the good one kept, no file for the others" $?
sbx get "$id" /home/user/data/big.bin /tmp/big.bin "$T/many"
[ "$rc" -eq 2 ] && grep -q "would both be written to $T/many/big.bin" "$T/err"
check "get of several refuses two paths with one name" $?

sbx fs ls "$id" /home/user/data
grep -q big.bin "$T/out"
check "fs ls" $?
sbx get "$id" /etc/passwd "$T/nope"
[ "$rc" -ne 0 ] && grep -q "outside" "$T/err"
check "paths outside the sandbox are refused" $?

sbx ls --meta suite=cli-local
grep -q "$id" "$T/out"
check "ls finds it by label" $?
sbx pause "$id"
check "pause" $rc
sbx info "$id"
grep -q paused "$T/out"
check "info says paused" $?
sbx exec "$id" -- true
[ "$rc" -ne 0 ] && grep -q SBX_ECONFLICT "$T/err"
check "exec in a paused sandbox is refused" $?
sbx resume "$id"
check "resume" $rc
sbx exec "$id" --detach -- 'sleep 100'
[ "$rc" -eq 1 ] && grep -q "SBX_ENOTSUP: local: --detach" "$T/err"
check "--detach is refused on local, naming option and provider" $?

# a command streaming in one process; the sandbox killed from another
timeout 60 "$SBX_BIN" exec "$id" -- 'echo $$ > /home/user/pid; sleep 100' >"$T/bg.out" 2>"$T/bg.err" &
bg=$!
i=0
while [ ! -s "$T/root/$id/home/pid" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
sbx kill "$id"
check "kill from another process" $rc
wait "$bg"
bgrc=$?
[ "$bgrc" -ne 0 ] && [ "$bgrc" -ne 124 ] && [ ! -d "$T/root/$id" ]
check "kill stops its commands (exec exited $bgrc) and removes the sandbox" $?
sbx info "$id"
[ "$rc" -eq 1 ] && grep -q SBX_ENOTFOUND "$T/err"
check "a killed sandbox is not found" $?
sbx --provider nosuch ls
[ "$rc" -eq 2 ] && grep -q "local" "$T/err"
check "an unknown provider is named" $?

finish cli_local
