#!/bin/sh
# cli_daytona.sh - the `sbx` command line and `sbx run` with --provider
# daytona against a fresh sbx-emu (its Daytona half, real exec through the
# local provider, TLS so toolbox calls share h2 connections).
# Usage: sh tests/integration/cli_daytona.sh [BUILD_DIR]
set -u

B=${1:-${SBX_BUILD:-build}}
. "$(dirname "$0")/lib/common.sh"
SBX_BIN=$B/sbx
EMU_BIN=$B/sbx-emu
CERTS=$B/certs
need cli_daytona "$SBX_BIN" "$EMU_BIN" "$CERTS/ca.pem"

T=$(mktemp -d "${TMPDIR:-/tmp}/sbx-cli-dt.XXXXXX") || exit 1
RUNNER=
cleanup() {
  [ -n "$RUNNER" ] && kill -9 "$RUNNER" 2>/dev/null
  stop_emu
  [ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

start_emu cli_daytona --port 0 --tls-port 0 --tls-cert "$CERTS/server.pem" \
  --tls-key "$CERTS/server.key"
CTL=http://127.0.0.1:$PORT
API=https://127.0.0.1:$TLS_PORT/api
unset E2B_API_KEY SBX_PROVIDER

sbx() { # stdout in $T/out, stderr in $T/err, exit code in $rc
  DAYTONA_API_KEY=dt-test-key timeout 60 "$SBX_BIN" --provider daytona --api-url "$API" \
    --ca-file "$CERTS/ca.pem" "$@" >"$T/out" 2>"$T/err"
  rc=$?
}
stat_of() { # jq-less: a number from /_emu/stats by a "key":N pattern
  curl -s "$CTL/_emu/stats" | sed -n "s/.*$1\([0-9]*\).*/\1/p"
}

# ---- one sandbox through every subcommand -------------------------------------
sbx create --meta suite=cli-dt --env GREETING=hi --timeout 600
id=$(cat "$T/out")
[ "$rc" -eq 0 ] && [ -n "$id" ]
check "create prints the id" $?
sbx ls --meta suite=cli-dt --json
[ "$rc" -eq 0 ] && grep -q "\"$id\"" "$T/out" && [ "$(grep -c '"id":' "$T/out")" -eq 1 ]
check "ls by label finds it (and only it)" $?
sbx info "$id"
[ "$rc" -eq 0 ] && grep -q "running" "$T/out"
check "info says running" $?
sbx exec "$id" -- 'echo "$GREETING from daytona"; exit 3'
[ "$rc" -eq 3 ] && [ "$(cat "$T/out")" = "hi from daytona" ]
check "exec prints the output and exits with the command's code" $?
printf 'payload\n' >"$T/in.txt"
sbx put "$id" "$T/in.txt" /home/daytona/d/in.txt
[ "$rc" -eq 0 ]
check "put" $?
sbx get "$id" /home/daytona/d/in.txt "$T/back.txt"
[ "$rc" -eq 0 ] && cmp -s "$T/in.txt" "$T/back.txt"
check "get returns the same bytes" $?
sbx exec "$id" -- 'cat d/in.txt'
[ "$rc" -eq 0 ] && [ "$(cat "$T/out")" = "payload" ]
check "the command sees the uploaded file" $?
sbx fs mkdir "$id" /home/daytona/d/sub
[ "$rc" -eq 0 ]
check "fs mkdir" $?
sbx fs mv "$id" /home/daytona/d/in.txt /home/daytona/d/sub/moved.txt
[ "$rc" -eq 0 ]
check "fs mv" $?
sbx fs ls "$id" /home/daytona/d/sub
[ "$rc" -eq 0 ] && grep -q "moved.txt" "$T/out"
check "fs ls" $?
sbx fs stat "$id" /home/daytona/d/sub/moved.txt
[ "$rc" -eq 0 ] && grep -q "8" "$T/out"
check "fs stat" $?
sbx fs rm "$id" /home/daytona/d/sub
[ "$rc" -eq 0 ]
check "fs rm" $?
sbx get "$id" /home/daytona/d/sub/moved.txt "$T/gone.txt"
[ "$rc" -eq 1 ] && grep -q SBX_ENOTFOUND "$T/err"
check "a removed file is not found" $?
requests() { # ROUTE: requests the emulator has seen on it
  n=$(curl -s "$CTL/_emu/stats" | grep -o "\"$1\":[0-9]*" | cut -d: -f2)
  echo "${n:-0}"
}
bulk_requests() { requests 'POST /toolbox/{id}/files/bulk-download'; }
single_requests() { requests 'GET /toolbox/{id}/files/download'; }
printf 'one\r\n' >"$T/m1"
head -c 300000 /dev/urandom >"$T/m2"
sbx put "$id" "$T/m1" /home/daytona/m/one.txt && sbx put "$id" "$T/m2" /home/daytona/m/two.bin
mkdir "$T/mdir" "$T/mdir2"
before=$(bulk_requests)
sbx get "$id" /home/daytona/m/one.txt /home/daytona/m/two.bin "$T/mdir"
[ "$rc" -eq 0 ] && cmp -s "$T/m1" "$T/mdir/one.txt" && cmp -s "$T/m2" "$T/mdir/two.bin" &&
  [ $(($(bulk_requests) - before)) -eq 1 ]
check "get of two files into a directory, in one bulk-download request" $?
sbx get "$id" /home/daytona/m/nope.txt /home/daytona/m/one.txt "$T/mdir2"
[ "$rc" -eq 1 ] && grep -q "^sbx: get: $id:/home/daytona/m/nope.txt: SBX_ENOTFOUND: " "$T/err" &&
  [ "$(wc -l <"$T/err")" -eq 1 ] && cmp -s "$T/m1" "$T/mdir2/one.txt" && [ ! -e "$T/mdir2/nope.txt" ]
check "get of several: a missing one is named, the others still arrive" $?
sbx get "$id" /home/daytona/m/one.txt /home/daytona/m/two.bin "$T/not-a-dir"
[ "$rc" -eq 2 ] && grep -q "'$T/not-a-dir' is not a directory" "$T/err"
check "get of several into something not a directory is a usage error" $?
sbx timeout "$id" 900
[ "$rc" -eq 0 ]
check "timeout" $?
sbx pause "$id"
[ "$rc" -eq 0 ]
check "pause (stop)" $?
sbx info "$id"
[ "$rc" -eq 0 ] && grep -q "paused" "$T/out"
check "a paused sandbox is kept (info says paused)" $?
sbx exec "$id" -- true
[ "$rc" -ne 0 ] && grep -q "not started" "$T/err"
check "exec in a stopped sandbox is refused, saying it is not started" $?
sbx resume "$id"
[ "$rc" -eq 0 ]
check "resume (start)" $?
sbx exec "$id" -- 'ls d'
[ "$rc" -eq 0 ]
check "exec after resume" $?
sbx exec "$id" -- 'echo o; echo e 1>&2; exit 5'
[ "$rc" -eq 5 ] && [ "$(cat "$T/out")" = "o" ] && grep -qx "e" "$T/err"
check "exec streams stdout and stderr apart and exits with the command's code" $?
printf 'line one\nline two\n' | DAYTONA_API_KEY=dt-test-key timeout 60 "$SBX_BIN" \
  --provider daytona --api-url "$API" --ca-file "$CERTS/ca.pem" exec --stdin "$id" -- \
  'read a; read b; echo "$b/$a"' >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" -eq 0 ] && [ "$(cat "$T/out")" = "line two/line one" ]
check "exec --stdin forwards input" $?
sbx exec "$id" --detach -- 'echo detached >/tmp/det.txt; sleep 1'
[ "$rc" -eq 0 ] && grep -qE '^[0-9]+$' "$T/out"
check "exec --detach prints the pid" $?
sbx kill "$id"
[ "$rc" -eq 0 ]
check "kill" $?
sbx info "$id"
[ "$rc" -eq 1 ] && grep -q SBX_ENOTFOUND "$T/err"
check "a killed sandbox is not found" $?
DAYTONA_API_KEY= timeout 60 "$SBX_BIN" --provider daytona --api-url "$API" ls >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" -eq 2 ] && grep -qi "DAYTONA_API_KEY" "$T/err"
check "no credentials: a usage error naming DAYTONA_API_KEY" $?

# ---- create from an image with Daytona's own options; stop/start aliases --------------
sbx create --image python:3.12 --cpu 2 --gpu 1 --memory 4 --disk 8 --os-user worker --public \
  --auto-archive 90 --auto-delete 30 --volume vol-1=/data --meta suite=cli-img
iid=$(cat "$T/out")
dto=$(curl -s -H "Authorization: Bearer dt-test-key" "$CTL/api/sandbox/$iid" | tr -d ' \n')
[ "$rc" -eq 0 ] && echo "$dto" | grep -q '"cpu":2' && echo "$dto" | grep -q '"gpu":1' &&
  echo "$dto" | grep -q '"memory":4' && echo "$dto" | grep -q '"disk":8' &&
  echo "$dto" | grep -q '"user":"worker"' && echo "$dto" | grep -q '"public":true' &&
  echo "$dto" | grep -q '"autoArchiveInterval":90' && echo "$dto" | grep -q '"autoDeleteInterval":30' &&
  echo "$dto" | grep -q '"volumeId":"vol-1","mountPath":"/data"\|"mountPath":"/data","volumeId":"vol-1"'
check "create --image with cpu/gpu/memory/disk/os-user/public/auto-archive/auto-delete/volume" $?
sbx create --image python:3.12 --disk 11
[ "$rc" -eq 2 ] && grep -q "disk" "$T/err"
check "create --disk over 10 GB is a usage error" $?
sbx auto "$iid" archive 120
[ "$rc" -eq 0 ] && curl -s -H "Authorization: Bearer dt-test-key" "$CTL/api/sandbox/$iid" |
  tr -d ' \n' | grep -q '"autoArchiveInterval":120'
check "auto ID archive 120 sets the interval" $?
sbx auto "$iid" delete never
[ "$rc" -eq 0 ] && curl -s -H "Authorization: Bearer dt-test-key" "$CTL/api/sandbox/$iid" |
  tr -d ' \n' | grep -q '"autoDeleteInterval":-1'
check "auto ID delete never turns auto-delete off" $?
sbx auto "$iid" sleep 5
[ "$rc" -eq 2 ] && grep -q "stop, archive or delete" "$T/err"
check "auto with a bad kind is a usage error" $?
sbx stop "$iid"
[ "$rc" -eq 0 ]
check "stop (alias of pause)" $?
sbx info "$iid"
[ "$rc" -eq 0 ] && grep -q "paused" "$T/out"
check "a stopped sandbox is kept" $?
sbx start "$iid"
[ "$rc" -eq 0 ]
check "start (alias of resume)" $?
sbx kill "$iid"

# ---- archive, labels, snapshots (Daytona's control plane) ---------------------------
sbx create --meta suite=cli-arch --timeout 600
aid=$(cat "$T/out")
sbx exec "$aid" -- 'echo kept >keep.txt'
sbx archive "$aid"
[ "$rc" -eq 1 ] && grep -q SBX_ECONFLICT "$T/err" && grep -q "only a paused sandbox" "$T/err"
check "archive of a running sandbox is refused, saying to pause it first" $?
sbx pause "$aid"
sbx archive "$aid"
[ "$rc" -eq 0 ] && [ ! -s "$T/out" ]
check "archive (after pause) waits and prints nothing" $?
sbx info "$aid"
[ "$rc" -eq 0 ] && grep -q "state: *archived" "$T/out"
check "info says archived" $?
[ "$(stat_of '"archived":')" = 1 ]
check "the emulator counts one archived sandbox" $?
sbx resume "$aid"
[ "$rc" -eq 0 ]
check "resume restores an archived sandbox" $?
sbx exec "$aid" -- 'cat keep.txt'
[ "$rc" -eq 0 ] && [ "$(cat "$T/out")" = "kept" ]
check "files survive the archive" $?
sbx labels "$aid" team=blue owner=cli
[ "$rc" -eq 0 ]
check "labels" $?
sbx ls --meta team=blue --json
[ "$rc" -eq 0 ] && grep -q "\"$aid\"" "$T/out" && grep -q '"owner":"cli"' "$T/out" &&
  ! grep -q '"suite"' "$T/out"
check "ls finds it by the new labels; the old ones are gone" $?
sbx labels "$aid" team=x team=y
[ "$rc" -eq 2 ] && grep -q "label 'team' is given twice" "$T/err"
check "labels: a key given twice is a usage error" $?
sbx labels "$aid"
[ "$rc" -eq 2 ] && grep -q "missing KEY=VALUE" "$T/err"
check "labels: none given is a usage error (--clear removes all)" $?
sbx --json labels "$aid" --clear
[ "$rc" -eq 0 ] && grep -q '"ok":true,"command":"labels"' "$T/out"
check "labels --clear (--json)" $?
sbx kill "$aid"

sbx snapshot create cli/snap:1 --image python:3.12-slim --cpu 2 --memory 2 --disk 5 -- sleep infinity
[ "$rc" -eq 0 ] && grep -q "state: *active" "$T/out" && grep -q "cpu: *2" "$T/out"
check "snapshot create waits until active and prints it" $?
sbx --json snapshot get cli/snap:1
[ "$rc" -eq 0 ] && grep -q '"name":"cli/snap:1"' "$T/out" && grep -q '"state":"active"' "$T/out" &&
  grep -q '"disk_gb":5' "$T/out"
check "snapshot get --json" $?
sbx snapshot list
[ "$rc" -eq 0 ] && head -n 1 "$T/out" | grep -q "^NAME *STATE" && grep -q "^cli/snap:1 *active" "$T/out" &&
  grep -q "^daytona-small .* yes " "$T/out"
check "snapshot list: a table, ours and the general ones" $?
sbx --json snapshot list
[ "$rc" -eq 0 ] && [ "$(count_lines "$T/out" '"name":')" -eq 4 ]
check "snapshot list --json: one line per snapshot" $?
sbx snapshot create cli/snap:1 --image python:3.12-slim
[ "$rc" -eq 1 ] && grep -q SBX_ECONFLICT "$T/err" && grep -q "already exists" "$T/err"
check "snapshot create: a taken name conflicts" $?
sbx snapshot create cli-bad --image fail/nope:1.0
[ "$rc" -eq 1 ] && grep -q SBX_EPROVIDER "$T/err" && grep -q "image pull failed" "$T/err"
check "snapshot create: a failed build says why" $?
sbx snapshot create cli-big --image python:3.12 --disk 20
[ "$rc" -eq 2 ] && grep -q -- "--disk" "$T/err"
check "snapshot create: --disk over 10 GB is a usage error" $?
sbx snapshot create cli-latest --image python:latest
[ "$rc" -eq 1 ] && grep -q SBX_EINVAL "$T/err" && grep -q "has the tag latest" "$T/err"
check "snapshot create: an unpinned image is refused before any request" $?
sbx create --template cli/snap:1
sid2=$(cat "$T/out")
sbx info "$sid2"
[ "$rc" -eq 0 ] && grep -q "template: *cli/snap:1" "$T/out" && grep -q "cpu_count: *2" "$T/out"
check "a sandbox from the snapshot" $?
sbx kill "$sid2"
sbx snapshot delete cli/snap:1
[ "$rc" -eq 0 ]
check "snapshot delete" $?
sbx snapshot delete cli-bad
sbx snapshot get cli/snap:1
[ "$rc" -eq 1 ] && grep -q SBX_ENOTFOUND "$T/err"
check "a deleted snapshot is not found" $?
[ "$(stat_of '"snapshots":')" = 0 ]
check "no snapshot left" $?
sbx snapshot rebuild x
[ "$rc" -eq 2 ] && grep -q "unknown subcommand 'rebuild'" "$T/err"
check "snapshot: an unknown subcommand is a usage error" $?
SBX_LOCAL_ROOT=$T/local timeout 60 "$SBX_BIN" --provider local snapshot list >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" -eq 1 ] && grep -q "local: 'snapshot list' is not supported by this provider" "$T/err"
check "snapshots on local: not supported, naming the provider" $?
E2B_API_KEY=e2b-unused timeout 60 "$SBX_BIN" --provider e2b archive some-id >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" -eq 1 ] && grep -q "e2b: 'archive' is not supported by this provider" "$T/err" &&
  grep -q SBX_ENOTSUP "$T/err"
check "archive on e2b: not supported, naming the provider" $?

# ---- sbx run on daytona, through 429s that carry rate-limit headers ----------------
i=1
while [ $i -le 60 ]; do
  printf '{"id":"dt-%02d","files":[{"path":"a.txt","content":"%d"},{"path":"b.txt","content":"b"}],"commands":["cat a.txt b.txt"],"artifacts":["*.txt"]}\n' "$i" "$i"
  i=$((i + 1))
done >"$T/tasks.jsonl"
curl -s -o /dev/null -X POST "$CTL/_emu/faults" -d '{"method":"POST","path":"/api/sandbox","status":429,"every":10,"count":0,"headers":{"X-RateLimit-Remaining-sandbox-create":"0","X-RateLimit-Reset-sandbox-create":"1"}}'
h2_before=$(stat_of '"h2":{"open":[0-9]*,"total":')
bulk_before=$(bulk_requests)
single_before=$(single_requests)
t0=$(date +%s)
DAYTONA_API_KEY=dt-test-key "$SBX_BIN" --provider daytona --api-url "$API" --ca-file "$CERTS/ca.pem" \
  run "$T/tasks.jsonl" --results "$T/res" --concurrency 20 --quiet >"$T/out" 2>"$T/err" &
RUNNER=$!
wait_pid "$RUNNER" 120
rc=$?
RUNNER=
t1=$(date +%s)
R=$T/res/results.jsonl
[ "$rc" -eq 0 ] && [ "$(count_lines "$R" '"status":"ok"')" -eq 60 ] &&
  grep '"task":"dt-07"' "$R" | grep -q '"stdout_tail":"7b\\n"' && [ -f "$T/res/artifacts/dt-07/b.txt" ]
check "sbx run: 60 tasks on daytona through 429s, all ok (exit $rc in $((t1 - t0)) s)" $?
[ $(($(bulk_requests) - bulk_before)) -ge 60 ] && [ "$(single_requests)" -eq "$single_before" ]
check "sbx run: each task's glob artifacts came down in one bulk-download request" $?
[ "$(stat_of '"daytona":{"live":')" = 0 ]
check "sbx run: no daytona sandbox left" $?
h2=$(($(stat_of '"h2":{"open":[0-9]*,"total":') - h2_before))
[ "$h2" -ge 1 ] && [ "$h2" -le 8 ]
check "the batch (control plane and toolbox) used $h2 h2 connections (at most 8)" $?

finish cli_daytona
