#!/bin/sh
# cli_e2b.sh - the `sbx` command line against a fresh sbx-emu (E2B provider).
# Usage: sh tests/integration/cli_e2b.sh [BUILD_DIR]   (default: build)
# Prints "ok <name>" or "FAIL <name>: why" per check, then
# "cli: N passed, N failed"; exits 1 when any check failed.
set -u

B=${1:-${SBX_BUILD:-build}}
. "$(dirname "$0")/lib/common.sh"
SBX_BIN=$B/sbx
EMU_BIN=$B/sbx-emu
need cli "$SBX_BIN" "$EMU_BIN"

T=$(mktemp -d "${TMPDIR:-/tmp}/sbx-cli.XXXXXX") || exit 1
cleanup() {
  stop_emu
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

start_emu cli --port 0
URL=http://127.0.0.1:$PORT

# sbx ARGS...: run the CLI against the emulator; stdout in $T/out, stderr in
# $T/err, exit code in $rc. A hung CLI fails after 60 s instead of hanging.
sbx() {
  E2B_API_KEY=test-key timeout 60 "$SBX_BIN" --api-url "$URL" --sandbox-url "$URL" "$@" \
    >"$T/out" 2>"$T/err"
  rc=$?
}
# The same with stdin from a file.
sbx_in() {
  in=$1
  shift
  E2B_API_KEY=test-key timeout 60 "$SBX_BIN" --api-url "$URL" --sandbox-url "$URL" "$@" \
    <"$in" >"$T/out" 2>"$T/err"
  rc=$?
}
lines() { wc -l <"$1" | tr -d ' '; }
why() {
  printf 'exit %s; stdout: %.200s; stderr: %.300s' "$rc" "$(cat "$T/out")" "$(cat "$T/err")"
}
# check NAME STATUS (after the condition): a failure says why.
check_failed() { bad "$1" "$(why)"; }

# expect NAME RC [STDOUT_ERE] [STDERR_ERE]
expect() {
  if [ "$rc" != "$2" ]; then
    bad "$1" "want exit $2, $(why)"
  elif [ -n "${3-}" ] && ! grep -Eq -- "$3" "$T/out"; then
    bad "$1" "stdout does not match /$3/; $(why)"
  elif [ -n "${4-}" ] && ! grep -Eq -- "$4" "$T/err"; then
    bad "$1" "stderr does not match /$4/; $(why)"
  else
    ok "$1"
  fi
}
# expect_err NAME RC STDERR_ERE: a failure reported as exactly one stderr line.
expect_err() {
  if [ "$rc" != "$2" ]; then
    bad "$1" "want exit $2, $(why)"
  elif [ "$(lines "$T/err")" != 1 ]; then
    bad "$1" "want one stderr line, $(why)"
  elif ! grep -Eq -- "$3" "$T/err"; then
    bad "$1" "stderr does not match /$3/; $(why)"
  else
    ok "$1"
  fi
}
# usage NAME ERE ARGS...: a usage error: exit 2, one line naming the argument
# and pointing to `sbx help`, nothing on stdout.
usage() {
  name=$1
  re=$2
  shift 2
  sbx "$@"
  if [ "$rc" = 2 ] && [ ! -s "$T/out" ] && grep -q "sbx help" "$T/err"; then
    expect_err "$name" 2 "$re"
  else
    bad "$name" "want a usage error, $(why)"
  fi
}

# ---- help, version, usage errors -------------------------------------------
sbx help
expect help 0 "E2B_API_KEY"
! grep -q -- "--api-key" "$T/out"
check help-no-key-option $?
sbx --help
expect help-option 0 "^usage: sbx"
sbx exec --help
expect help-exec 0 "sbx exec ID"
sbx --version
expect version 0 "^sbx [0-9]+\.[0-9]+\.[0-9]+"

usage usage-no-command "missing command"
usage usage-unknown-command "'frobnicate'" frobnicate
usage usage-unknown-global "'--bogus'" --bogus ls
usage usage-api-key-refused "'--api-key'" --api-key secret ls
usage usage-global-missing-value "'--timeout-ms'" --timeout-ms
usage usage-global-bad-number "'12x'" --timeout-ms 12x ls
usage usage-create-unknown "'--frob'" create --frob
usage usage-create-bad-timeout "'abc'" create --timeout abc
usage usage-create-meta-no-eq "'owner'" create --meta owner
usage usage-create-env-no-key "'=v'" create --env =v
usage usage-create-missing-value "'--template'" create --template
usage usage-create-flag-value "'--auto-pause'" create --auto-pause=1
usage usage-ls-limit-range "'101'" ls --limit 101
usage usage-ls-state "'sleeping'" ls --state sleeping
usage usage-exec-no-id "sandbox id" exec
usage usage-exec-no-cmd "missing command" exec i123
usage usage-exec-bad-timeout "'-5'" exec i123 --timeout-ms -5 -- true
usage usage-exec-stdin-detach "--stdin" exec i123 --stdin --detach -- cat
usage usage-info-extra "'extra'" info i1 extra
usage usage-kill-none "sandbox id" kill
usage usage-timeout-bad "'soon'" timeout i1 soon
usage usage-put-missing "sandbox path" put i1 /etc/hostname
usage usage-get-many-not-dir "'x' is not a directory" get i1 /a /b x
usage usage-fs-unknown "'chmod'" fs chmod i1 /a
usage usage-fs-ls-depth "'two'" fs ls i1 / --depth two

# ---- create, info, ls -----------------------------------------------------------
sbx create --meta owner=cli-test --meta run=$$ --env CREATE_ENV=from-create --timeout 600
expect create 0 "^i[a-z0-9]+$"
SB=$(cat "$T/out")
[ "$(lines "$T/out")" = 1 ]
check create-prints-id-only $?

sbx --json create --template base --meta owner=cli-test --meta run=$$
expect create-json 0 '^\{"id":"i[a-z0-9]+",'
[ "$(lines "$T/out")" = 1 ] && ok create-json-one-line || bad create-json-one-line "$(why)"
SB2=$(sed -n 's/^{"id":"\([^"]*\)".*/\1/p' "$T/out")

sbx info "$SB"
expect info 0 "^id: +$SB$"
grep -Eq '^state: +running$' "$T/out" && ok info-state || bad info-state "$(why)"
grep -Eq '^metadata: .*owner=cli-test' "$T/out" && ok info-metadata || bad info-metadata "$(why)"

sbx --json info "$SB"
expect info-json 0 "^\{\"id\":\"$SB\".*\"state\":\"running\".*\"metadata\":\{"
[ "$(lines "$T/out")" = 1 ] && ok info-json-one-line || bad info-json-one-line "$(why)"

sbx ls --meta run=$$
expect ls-table 0 "^ID +TEMPLATE +STATE +STARTED +END +METADATA$"
grep -q "^$SB " "$T/out" && grep -q "^$SB2 " "$T/out" && ok ls-rows || bad ls-rows "$(why)"
[ "$(lines "$T/out")" = 3 ] && ok ls-meta-filter || bad ls-meta-filter "want 3 lines, $(why)"

sbx ls --meta run=nobody-$$
expect ls-empty 0 "^ID"
[ "$(lines "$T/out")" = 1 ] && ok ls-empty-header-only || bad ls-empty-header-only "$(why)"

sbx --json ls --meta run=$$ --state running
expect ls-json 0 '^\{"id":"i'
[ "$(lines "$T/out")" = 2 ] && ! grep -qv "^{\"id\":" "$T/out"
check ls-json-lines $?

sbx ls --meta run=$$ --json
[ "$rc" = 0 ] && [ "$(lines "$T/out")" = 2 ] && ! grep -qv "^{\"id\":" "$T/out"
check ls-json-after-command $?

sbx ls --meta run=$$ --limit 1 --all
expect ls-all-pages 0 "^$SB2 "
[ "$(lines "$T/out")" = 3 ] && ok ls-all-every-page || bad ls-all-every-page "$(why)"

sbx info i00000000000000000000
expect_err info-unknown 1 "^sbx: info: i00000000000000000000: SBX_ENOTFOUND: .+"
sbx --json info i00000000000000000000
expect json-error 1 '^\{"error":\{"status":"SBX_ENOTFOUND","http_status":404,.*"message":"' \
  "^sbx: info: i00000000000000000000: SBX_ENOTFOUND"

# ---- exec --------------------------------------------------------------------
sbx exec "$SB" -- echo hello
expect exec-echo 0 "^hello$"
sbx exec "$SB" 'exit 3'
expect exec-exit-code 3
sbx exec "$SB" -- sh -c 'kill -9 $$'
expect exec-killed-137 137
sbx exec "$SB" 'echo out; echo err >&2'
if [ "$rc" = 0 ] && [ "$(cat "$T/out")" = out ] && [ "$(cat "$T/err")" = err ]; then
  ok exec-stdout-stderr
else
  bad exec-stdout-stderr "$(why)"
fi
sbx exec "$SB" -- printf '%s|\n' 'a b' "c'd" '$HOME' ''
if [ "$rc" = 0 ] && [ "$(cat "$T/out")" = "a b|
c'd|
\$HOME|
|" ]; then ok exec-argv-quoting; else bad exec-argv-quoting "$(why)"; fi
sbx exec "$SB" ls -d /
expect exec-cmd-options-pass-through 0 "^/$"
sbx exec "$SB" --cwd /tmp -- pwd
expect exec-cwd 0 "^/tmp$"
sbx exec "$SB" --env GREETING=hi-there -- 'echo $GREETING'
expect exec-env 0 "^hi-there$"
sbx exec "$SB" 'echo $CREATE_ENV'
expect exec-create-env 0 "^from-create$"

# Order across the two streams, with both sent to one file.
E2B_API_KEY=test-key timeout 60 "$SBX_BIN" --api-url "$URL" --sandbox-url "$URL" exec "$SB" \
  'echo 1; sleep 0.3; echo 2 >&2; sleep 0.3; echo 3' >"$T/mixed" 2>&1
rc=$?
if [ "$rc" = 0 ] && [ "$(tr -d '\n' <"$T/mixed")" = 123 ]; then ok exec-stream-order; else
  bad exec-stream-order "exit $rc: $(cat "$T/mixed")"; fi

# Live streaming: the first line shows before the command ends.
E2B_API_KEY=test-key timeout 60 "$SBX_BIN" --api-url "$URL" --sandbox-url "$URL" exec "$SB" \
  'echo first; sleep 3; echo second' >"$T/live" 2>&1 &
live=$!
sleep 1.5
if grep -q first "$T/live" && ! grep -q second "$T/live"; then ok exec-live-output; else
  bad exec-live-output "after 1.5 s: $(cat "$T/live")"; fi
wait $live
rc=$?
[ "$rc" = 0 ] && grep -q second "$T/live"
check exec-live-complete $?

printf 'line one\nline two\n' >"$T/small.in"
sbx_in "$T/small.in" exec "$SB" --stdin -- cat
[ "$rc" = 0 ] && cmp -s "$T/small.in" "$T/out"
check exec-stdin $?
head -c 1000000 /dev/urandom >"$T/stdin.bin"
sbx_in "$T/stdin.bin" exec "$SB" --stdin -- md5sum
want=$(md5sum <"$T/stdin.bin" | cut -d' ' -f1)
expect exec-stdin-1mb 0 "^$want "
sbx_in /dev/null exec "$SB" --stdin -- wc -c
expect exec-stdin-empty 0 "^0$"

sbx exec "$SB" --detach -- sleep 5
expect exec-detach 0 "^[0-9]+$"

start=$(date +%s)
sbx exec "$SB" --timeout-ms 500 -- sleep 10
end=$(date +%s)
if [ "$rc" != 0 ] && [ $((end - start)) -lt 8 ]; then ok exec-timeout; else
  bad exec-timeout "$((end - start)) s, $(why)"; fi

sbx --json exec "$SB" 'echo hi; exit 4'
expect exec-json 4 '^\{"event":"start","pid":[0-9]+\}$'
grep -qFx "{\"event\":\"stdout\",\"data\":\"hi\\n\"}" "$T/out"
check exec-json-output $?
grep -Eq '^\{"event":"exit","pid":[0-9]+,"exit_code":4,"exited":true,.*"code":4\}$' "$T/out" &&
  ok exec-json-exit || bad exec-json-exit "$(why)"

sbx exec i00000000000000000000 -- true
expect_err exec-unknown-sandbox 1 "^sbx: exec: i00000000000000000000: SBX_ENOTFOUND: "

# SIGINT: the pending exec is cancelled, the remote process killed, exit 130.
# First the control: the marker check below can see a file the command makes.
sbx exec "$SB" 'touch /tmp/control-marker'
sbx fs stat "$SB" /tmp/control-marker
expect exec-marker-control 0 "^type: +file$"
E2B_API_KEY=test-key "$SBX_BIN" --api-url "$URL" --sandbox-url "$URL" exec "$SB" \
  "sleep $(slow 2); touch /tmp/not-interrupted" >"$T/int.out" 2>"$T/int.err" &
intr=$!
sleep "$(slow 0.7)"
kill -INT $intr
wait $intr
rc=$?
if [ "$rc" = 130 ] && [ ! -s "$T/int.err" ]; then ok exec-sigint-130; else
  bad exec-sigint-130 "exit $rc; stderr: $(cat "$T/int.err")"; fi
sleep "$(slow 2.5)"
sbx fs stat "$SB" /tmp/not-interrupted
expect exec-sigint-kills-remote 1 "" "SBX_ENOTFOUND"

# ---- files -----------------------------------------------------------------
head -c 5242880 /dev/urandom >"$T/big.bin"
sbx put "$SB" "$T/big.bin" /home/user/up/big.bin
expect put-5mb 0
sbx get "$SB" /home/user/up/big.bin "$T/big.out"
if [ "$rc" = 0 ] && cmp -s "$T/big.bin" "$T/big.out"; then ok get-5mb-roundtrip; else
  bad get-5mb-roundtrip "$(why)"; fi
E2B_API_KEY=test-key timeout 60 "$SBX_BIN" --api-url "$URL" --sandbox-url "$URL" \
  get "$SB" /home/user/up/big.bin >"$T/big.stdout" 2>"$T/err"
rc=$?
if [ "$rc" = 0 ] && cmp -s "$T/big.bin" "$T/big.stdout"; then ok get-stdout; else
  bad get-stdout "exit $rc: $(cat "$T/err")"; fi
mkdir "$T/dir"
sbx get "$SB" /home/user/up/big.bin "$T/dir"
if [ "$rc" = 0 ] && cmp -s "$T/big.bin" "$T/dir/big.bin"; then ok get-into-dir; else
  bad get-into-dir "$(why)"; fi
E2B_API_KEY=test-key timeout 60 "$SBX_BIN" --api-url "$URL" --sandbox-url "$URL" \
  get "$SB" /home/user/up/big.bin - 2>"$T/err" | head -c 10 >/dev/null
# Reaching here means no hang; a closed pipe is not an error worth a line.
[ ! -s "$T/err" ] && ok get-stdout-closed-early || bad get-stdout-closed-early "$(cat "$T/err")"
sbx get "$SB" /home/user/missing.txt "$T/missing"
expect_err get-missing 1 "^sbx: get: $SB:/home/user/missing.txt: SBX_ENOTFOUND: "
[ ! -e "$T/missing" ] && ok get-missing-no-file || bad get-missing-no-file "left $T/missing"
sbx put "$SB" "$T/no-such-file" /home/user/x
expect_err put-missing-local 1 "^sbx: put: $T/no-such-file: SBX_EIO: "

sbx fs mkdir "$SB" /home/user/d1/d2
expect fs-mkdir 0
sbx fs ls "$SB" /home/user
expect fs-ls 0 "^dir +[0-9]+ /home/user/d1$"
grep -Eq '^dir +[0-9]+ /home/user/up$' "$T/out" && ok fs-ls-dirs || bad fs-ls-dirs "$(why)"
grep -q "d2" "$T/out" && bad fs-ls-depth1 "depth 1 shows d2" || ok fs-ls-depth1
sbx fs ls "$SB" /home/user --depth 2
expect fs-ls-depth2 0 "^dir +[0-9]+ /home/user/d1/d2$"
grep -Eq "^file +5242880 /home/user/up/big.bin$" "$T/out"
check fs-ls-file-size $?
sbx --json fs ls "$SB" /home/user/up
expect fs-ls-json 0 \
  '^\{"name":"big.bin","path":"/home/user/up/big.bin","type":"file","size":5242880,'
sbx fs stat "$SB" /home/user/up/big.bin
expect fs-stat 0 "^size: +5242880$"
grep -Eq '^type: +file$' "$T/out" && ok fs-stat-type || bad fs-stat-type "$(why)"
sbx fs mv "$SB" /home/user/up/big.bin /home/user/d1/moved.bin
expect fs-mv 0
sbx fs stat "$SB" /home/user/up/big.bin
expect_err fs-mv-source-gone 1 "SBX_ENOTFOUND"
sbx fs stat "$SB" /home/user/d1/moved.bin
expect fs-mv-dest 0 "^size: +5242880$"
sbx fs rm "$SB" /home/user/d1
expect fs-rm 0
sbx fs stat "$SB" /home/user/d1/moved.bin
expect_err fs-rm-gone 1 "^sbx: fs stat: $SB:/home/user/d1/moved.bin: SBX_ENOTFOUND: "
sbx fs rm "$SB" /home/user/d1
expect fs-rm-missing-ok 0

# ---- lifecycle -----------------------------------------------------------------
sbx timeout "$SB" 900
expect timeout 0
sbx pause "$SB2"
expect pause 0
sbx info "$SB2"
expect pause-state 0 "^state: +paused$"
sbx pause "$SB2"
expect_err pause-again-conflict 1 "^sbx: pause: $SB2: SBX_ECONFLICT: "
sbx ls --meta run=$$ --state paused
if [ "$rc" = 0 ] && [ "$(lines "$T/out")" = 2 ] && grep -q "^$SB2 .* paused " "$T/out"; then
  ok ls-state-paused
else
  bad ls-state-paused "$(why)"
fi
sbx resume "$SB2" --timeout 300
expect resume 0
sbx info "$SB2"
expect resume-state 0 "^state: +running$"
sbx --json pause "$SB2"
expect pause-json 0 "^\{\"ok\":true,\"command\":\"pause\",\"id\":\"$SB2\"\}$"
sbx --json resume "$SB2"
expect resume-json 0 "^\{\"id\":\"$SB2\""

sbx kill "$SB" "$SB2"
expect kill-two 0
[ ! -s "$T/out" ] && [ ! -s "$T/err" ] && ok kill-quiet || bad kill-quiet "$(why)"
sbx ls --meta run=$$
[ "$rc" = 0 ] && [ "$(lines "$T/out")" = 1 ] && ok kill-gone || bad kill-gone "$(why)"
sbx create --meta run=$$
SB3=$(cat "$T/out")
sbx kill "$SB" "$SB3"
expect_err kill-partial 1 "^sbx: kill: $SB: SBX_ENOTFOUND: "
sbx info "$SB3"
expect_err kill-partial-other-killed 1 "SBX_ENOTFOUND"
sbx create --meta run=$$
SB4=$(cat "$T/out")
sbx --json kill "$SB4" "$SB"
if [ "$rc" = 1 ] && grep -q "^{\"ok\":true,\"command\":\"kill\",\"id\":\"$SB4\"}$" "$T/out" &&
  grep -q "^{\"error\":{\"status\":\"SBX_ENOTFOUND\",\"http_status\":404,.*\"target\":\"$SB\"}}$" \
    "$T/out" &&
  [ "$(lines "$T/out")" = 2 ] && [ "$(lines "$T/err")" = 1 ]; then
  ok kill-json-mixed
else
  bad kill-json-mixed "$(why)"
fi

# ---- configuration --------------------------------------------------------------
SBX_TRACE=1 E2B_API_KEY=test-key timeout 60 "$SBX_BIN" --api-url "$URL" --sandbox-url "$URL" \
  ls --limit 1 >"$T/out" 2>"$T/err"
rc=$?
expect trace-log 0 "^ID" "^sbx: trace: .*->"
sbx ls --limit 1
[ ! -s "$T/err" ] && ok quiet-by-default || bad quiet-by-default "$(why)"
sbx --http1 ls --limit 1
expect http1 0 "^ID"
rc=0
env -u E2B_API_KEY timeout 60 "$SBX_BIN" --provider e2b --api-url "$URL" --sandbox-url "$URL" ls \
  >"$T/out" 2>"$T/err" || rc=$?
if [ "$rc" = 1 ] || [ "$rc" = 2 ]; then expect_err no-api-key "$rc" "^sbx: ls: "; else
  bad no-api-key "$(why)"; fi
sbx --api-url http://127.0.0.1:1 --timeout-ms 2000 ls
expect_err unreachable 1 "^sbx: ls: sandboxes: SBX_(ETRANSPORT|EUNAVAIL|ETIMEDOUT): "

finish cli
