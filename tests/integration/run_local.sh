#!/bin/sh
# run_local.sh - `sbx run` on the local provider: the task-file validator on
# good and bad files, a batch with uploads/commands/artifacts, secrets kept
# out of results, logs and argv, a malicious artifact path refused, SIGINT
# mid-batch (0 live sandboxes, exit 130), SIGKILL mid-batch then a resume
# (no task completed twice, nothing leaked), and `sbx reap`.
# Usage: sh tests/integration/run_local.sh [BUILD_DIR]
set -u
B=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
. "$top/tests/integration/lib/common.sh"
SBX_BIN=$top/$B/sbx
need run_local "$SBX_BIN"

T=$(mktemp -d "${TMPDIR:-/tmp}/sbx-run-local.XXXXXX") || exit 1
# Host files the sandboxes may read (read-only): not under /tmp, which is
# each sandbox's own.
H=$(mktemp -d "$top/$B/run-local-host.XXXXXX") || exit 1
RUNNER=
cleanup() {
  [ -n "$RUNNER" ] && kill -9 "$RUNNER" 2>/dev/null
  SBX_PROVIDER=local SBX_LOCAL_ROOT="$T/root" "$SBX_BIN" reap --all >/dev/null 2>&1
  rm -rf "$T" "$H"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
export SBX_PROVIDER=local SBX_LOCAL_ROOT="$T/root"
unset E2B_API_KEY

# shellcheck disable=SC2034 # read by check_failed (lib/common.sh)
CHECK_ERR="head -n 20" # of $T/err after a failed check
sbx() { # stdout in $T/out, stderr in $T/err, exit code in $rc
  timeout 120 "$SBX_BIN" "$@" >"$T/out" 2>"$T/err"
  rc=$?
}
alive() { # run id -> number of its sandboxes still listed
  "$SBX_BIN" ls --meta "sbx.run=$1" --json 2>/dev/null | grep -c '"id":'
}
run_id() { # results dir -> run id from the journal's first record
  sed -n '1s/.*"run":"\([^"]*\)".*/\1/p' "$1/journal.jsonl"
}

# ---- the validator ----------------------------------------------------------
sbx run --check examples/hello-batch.jsonl
[ "$rc" -eq 0 ] && grep -q "6 tasks, all valid" "$T/out"
check "--check accepts the example" $?

printf 'data\n' >"$T/in.txt"
export SBX_TEST_SECRET_PRESENT=x
unset SBX_TEST_NO_SUCH_VAR
cat >"$T/bad.jsonl" <<'EOF'
{"id":"a","commands":["true"]}
{"id":"b","comands":["true"]}
{"id":"c","commands":[{"run":"true","timeout_s":"10"}]}
{"id":"a","commands":["true"]}
{"id":"d","commands":["true"],
{"id":"e","files":[{"path":"/home/user/x","local":"no-such-file.txt"}]}
{"id":"f","artifacts":["../../x"]}
{"id":"g","sandbox":{"secret_env":{"TOKEN":"SBX_TEST_NO_SUCH_VAR"}}}
{"id":"../h"}
{"id":"i","labels":{"sbx.run":"mine"}}
{"id":"j","files":[{"path":"/home/user/x","content":"a","local":"in.txt"}]}
{"id":"k","sandbox":{"network":"maybe"}}
{"id":"l","commands":[{"run":"true","on_failure":"explode"}]}
[1,2]
EOF
sbx run --check "$T/bad.jsonl"
[ "$rc" -eq 2 ]
check "--check rejects a bad file with exit 2" $?
expect_err() { # name pattern
  grep -qF -- "$2" "$T/err"
  check "validator: $1" $?
}
expect_err "unknown key, with file:line" "bad.jsonl:2: key 'comands': unknown key"
expect_err "wrong type" "bad.jsonl:3: key 'commands[0].timeout_s': expected a whole number"
expect_err "duplicate id names both lines" "bad.jsonl:4: key 'id': duplicate id 'a' (first on line 1)"
expect_err "invalid JSON" "bad.jsonl:5: invalid JSON"
expect_err "missing local file" "bad.jsonl:6: key 'files[0].local': local file 'no-such-file.txt'"
expect_err "artifact escaping with .." "bad.jsonl:7: key 'artifacts[0]': '../../x' is not a clean sandbox path"
expect_err "secret from a missing variable" "bad.jsonl:8: key 'sandbox.secret_env.TOKEN': the runner's environment has no variable SBX_TEST_NO_SUCH_VAR"
expect_err "bad task id" "bad.jsonl:9: key 'id'"
expect_err "reserved label prefix" "bad.jsonl:10: key 'labels.sbx.run'"
expect_err "two sources for one file" "bad.jsonl:11: key 'files[0]': give exactly one of"
expect_err "bad network policy" "bad.jsonl:12: key 'sandbox.network'"
expect_err "bad on_failure" "bad.jsonl:13: key 'commands[0].on_failure'"
expect_err "a line that is not an object" "bad.jsonl:14: expected a JSON object"
sbx run "$T/bad.jsonl" --results "$T/never"
[ "$rc" -eq 2 ] && [ ! -e "$T/never" ] && [ ! -d "$T/root" -o -z "$(ls -A "$T/root" 2>/dev/null | grep -v '^\.')" ]
check "a bad file starts nothing (no results dir, no sandbox)" $?
printf '\n\n' >"$T/empty.jsonl"
sbx run --check "$T/empty.jsonl"
[ "$rc" -eq 2 ] && grep -q "no tasks" "$T/err"
check "an empty file is refused" $?
printf '{"id":"x","sandbox":{"resources":{"cpu":2}}}\n' >"$T/res.jsonl"
sbx run "$T/res.jsonl" --results "$T/res"
[ "$rc" -eq 2 ] && grep -q "res.jsonl:1: key 'sandbox.resources.cpu': the local provider cannot honour it" "$T/err"
check "an option the provider cannot honour is refused before anything starts" $?

# ---- a batch: uploads, commands, artifacts, secrets -------------------------
printf 'the quick brown fox\n' >"$H/input.txt"
SECRET="sbx-secret-$$-value"
export SBX_TEST_TOKEN="$SECRET"
cat >"$H/batch.jsonl" <<EOF
{"id":"upload","files":[{"path":"/home/user/in/input.txt","local":"input.txt"},{"path":"b64.bin","content_base64":"AAEC/w=="}],"commands":["wc -c < in/input.txt","od -An -tx1 b64.bin | tr -d ' '"],"artifacts":["/home/user/in/input.txt","/home/user/*.bin","/home/user/missing.txt","*.bin"]}
{"id":"secret","sandbox":{"secret_env":{"TOKEN":"SBX_TEST_TOKEN"}},"commands":["echo token=\$TOKEN; echo \$TOKEN >&2; sleep 1"]}
{"id":"fail-stop","commands":["exit 4","echo skipped"]}
{"id":"fail-continue","commands":[{"run":"exit 5","on_failure":"continue"},"echo still runs"]}
{"id":"fail-ignore","commands":[{"run":"exit 6","on_failure":"ignore"},"echo fine"]}
{"id":"cmd-timeout","commands":[{"run":"sleep 30","timeout_s":1}]}
{"id":"evil-listing","commands":["mkdir -p out && touch out/a.txt"],"artifacts":["/home/user/out/*.txt"]}
EOF
"$SBX_BIN" -v run "$H/batch.jsonl" --results "$T/r1" >"$T/out" 2>"$T/err" &
RUNNER=$!
# while the secret task runs, no process's argv may carry the secret
leak=0
i=0
while kill -0 "$RUNNER" 2>/dev/null && [ $i -lt 40 ]; do
  if grep -qsF -- "$SECRET" /proc/[0-9]*/cmdline 2>/dev/null; then leak=1; fi
  sleep 0.05
  i=$((i + 1))
done
wait_pid "$RUNNER" 120
rc=$?
RUNNER=
[ "$rc" -eq 1 ]
check "batch exits 1 when some task failed (got $rc)" $?
[ "$leak" -eq 0 ]
check "the secret never appears in any process's argv" $?
R=$T/r1/results.jsonl
[ "$(wc -l <"$R")" -eq 7 ] && [ "$(cut -d, -f1 "$R" | sort -u | wc -l)" -eq 7 ]
check "one result line per task" $?
grep '"task":"upload"' "$R" | grep -q '"status":"ok"' &&
  grep '"task":"upload"' "$R" | grep -q '"stdout_tail":"20\\n"' &&
  grep '"task":"upload"' "$R" | grep -q '"stdout_tail":"000102ff\\n"' &&
  cmp -s "$H/input.txt" "$T/r1/artifacts/upload/home/user/in/input.txt" &&
  [ "$(od -An -tx1 "$T/r1/artifacts/upload/home/user/b64.bin" | tr -d ' ')" = "000102ff" ] &&
  grep '"task":"upload"' "$R" | grep -q '"artifacts_missing":\["/home/user/missing.txt"\]' &&
  cmp -s "$T/r1/artifacts/upload/home/user/b64.bin" "$T/r1/artifacts/upload/b64.bin"
check "uploads (file, base64), commands, artifacts (path, glob, bare glob, missing)" $?
grep '"task":"secret"' "$R" | grep -q '"status":"ok"' && grep '"task":"secret"' "$R" | grep -q 'token=\*\*\*'
check "the secret reaches the sandbox and is masked in the output tails" $?
! grep -rqF -- "$SECRET" "$T/r1" "$T/err" "$T/out"
check "the secret appears nowhere in results, journal, summary or logs" $?
grep '"task":"fail-stop"' "$R" | grep -q '"status":"failed".*"exit_codes":\[4,null\]'
check "on_failure stop: failed, later commands skipped" $?
grep '"task":"fail-continue"' "$R" | grep -q '"status":"failed".*"exit_codes":\[5,0\]'
check "on_failure continue: failed, later commands run" $?
grep '"task":"fail-ignore"' "$R" | grep -q '"status":"ok".*"exit_codes":\[6,0\]'
check "on_failure ignore: ok" $?
grep '"task":"cmd-timeout"' "$R" | grep -q '"status":"failed"'
check "a command's own timeout fails the task" $?
grep '"task":"evil-listing"' "$R" | grep -q '"status":"ok"' && [ -f "$T/r1/artifacts/evil-listing/home/user/out/a.txt" ]
check "glob artifacts land under artifacts/<task>/" $?
grep -q '"timings_ms":{"queue":[0-9.]*,"create":[0-9.]*,"upload":[0-9.]*,"commands":[0-9.]*,"download":[0-9.]*,"kill":[0-9.]*,"total":[0-9.]*}' "$R" &&
  grep -q '"ok": 4' "$T/r1/summary.json" && grep -q '"failed": 3' "$T/r1/summary.json"
check "per-phase timings and summary.json" $?
[ "$(alive "$(run_id "$T/r1")")" -eq 0 ]
check "no sandbox left after the batch" $?
sbx run "$H/batch.jsonl" --results "$T/r1"
[ "$rc" -eq 1 ] && [ "$(wc -l <"$R")" -eq 7 ] && grep -q "+7 done before" "$T/out"
check "a rerun into the same dir skips every done task" $?

# ---- SIGINT mid-batch --------------------------------------------------------
: >"$T/slow.jsonl"
for n in 1 2 3 4 5 6 7 8 9 10; do
  printf '{"id":"slow-%s","commands":["sleep 60"]}\n' "$n" >>"$T/slow.jsonl"
done
"$SBX_BIN" run "$T/slow.jsonl" --results "$T/int" --concurrency 4 >"$T/out" 2>"$T/err" &
RUNNER=$!
wait_lines "$T/int/journal.jsonl" '"ev":"created"' 4 200
kill -INT "$RUNNER"
t0=$(date +%s)
wait_pid "$RUNNER" 60
rc=$?
RUNNER=
t1=$(date +%s)
[ "$rc" -eq 130 ] && [ $((t1 - t0)) -le 10 ]
check "SIGINT: the runner stops promptly with 130 (got $rc in $((t1 - t0)) s)" $?
[ "$(alive "$(run_id "$T/int")")" -eq 0 ] && [ ! -s "$T/int/results.jsonl" ]
check "SIGINT: 0 live sandboxes, no result for the interrupted tasks" $?
"$SBX_BIN" run "$T/slow.jsonl" --results "$T/int2" --concurrency 4 >"$T/out" 2>"$T/err" &
RUNNER=$!
wait_lines "$T/int2/journal.jsonl" '"ev":"created"' 4 200
kill -TERM "$RUNNER"
kill -TERM "$RUNNER" # the second one: stop waiting, but still kill
wait_pid "$RUNNER" 60
rc=$?
RUNNER=
[ "$rc" -eq 143 ] && [ "$(alive "$(run_id "$T/int2")")" -eq 0 ]
check "two SIGTERMs in a row: exit 143, still 0 live sandboxes (got $rc)" $?

# ---- progress ----------------------------------------------------------------
printf '{"id":"p1","commands":["sleep 2.5"]}\n{"id":"p2","commands":["true"]}\n' >"$T/prog.jsonl"
sbx run "$T/prog.jsonl" --results "$T/prog" --json-progress
n=$(grep -c '^{"progress":{"total":2,' "$T/err")
[ "$rc" -eq 0 ] && [ "$n" -ge 2 ] && tail -n 1 "$T/err" | grep -q '"done":2,"ok":2'
check "--json-progress: a JSON line a second on stderr, the last one final ($n lines)" $?
if command -v script >/dev/null 2>&1; then
  # on a terminal: one line redrawn in place (\r + erase line), never scrolled
  script -qc "'$SBX_BIN' run '$T/prog.jsonl' --results '$T/prog-tty'" /dev/null >"$T/tty.out" 2>&1
  redraws=$(grep -o "$(printf '\r\033')\[K\[" "$T/tty.out" | wc -l)
  [ "$redraws" -ge 5 ] && grep -q "2/2  ok 2" "$T/tty.out"
  check "progress on a terminal is one line redrawn in place ($redraws redraws)" $?
fi
sbx run "$T/prog.jsonl" --results "$T/prog-q" --quiet
[ "$rc" -eq 0 ] && [ ! -s "$T/err" ] && [ ! -s "$T/out" ]
check "--quiet prints nothing" $?

# ---- SIGKILL mid-batch, then resume -------------------------------------------
# Each task appends its id to a host-visible log when it completes... the log
# is in the sandbox; completions are counted from results.jsonl instead.
: >"$T/crash.jsonl"
for n in $(seq 1 24); do
  printf '{"id":"t%02d","commands":["sleep 0.%s; echo done-%s"]}\n' "$n" "$((n % 7 + 2))" "$n" >>"$T/crash.jsonl"
done
"$SBX_BIN" run "$T/crash.jsonl" --results "$T/crash" --concurrency 6 >"$T/out" 2>"$T/err" &
RUNNER=$!
wait_lines "$T/crash/results.jsonl" task 6 400 0.02
kill -9 "$RUNNER"
wait_pid "$RUNNER" 30 2>/dev/null
RUNNER=
before=$(count_lines "$T/crash/results.jsonl" task)
run=$(run_id "$T/crash")
leftover=$(alive "$run")
[ "$before" -ge 6 ] && [ "$before" -lt 24 ]
check "SIGKILL landed mid-batch ($before of 24 done, $leftover sandboxes left alive)" $?
# a torn tail, as a crash in the middle of a write would leave
printf '{"ev":"intent","task":"t2' >>"$T/crash/journal.jsonl"
sbx run "$T/crash.jsonl" --results "$T/crash" --resume --concurrency 6
[ "$rc" -eq 0 ] && grep -q "dropping a torn last line" "$T/err"
check "resume after SIGKILL succeeds and repairs a torn journal line" $?
[ "$(wc -l <"$T/crash/results.jsonl")" -eq 24 ] &&
  [ "$(sed 's/.*"task":"\([^"]*\)".*/\1/' "$T/crash/results.jsonl" | sort -u | wc -l)" -eq 24 ]
check "every task completed exactly once across the crash" $?
[ "$(alive "$run")" -eq 0 ]
check "no sandbox leaked across the crash" $?

# ---- heartbeat: the provider-side lifetime is renewed while a task runs -------
printf '{"id":"long","commands":["sleep 5","echo survived"]}\n' >"$T/long.jsonl"
sbx run "$T/long.jsonl" --results "$T/long" --backstop 3
[ "$rc" -eq 0 ] && grep -q '"stdout_tail":"survived\\n"' "$T/long/results.jsonl"
check "a 5 s task outlives a 3 s lifetime backstop thanks to the heartbeat" $?

# ---- shards and merge ------------------------------------------------------------
task_ids() { # results file -> sorted task ids on one line
  sed 's/.*"task":"\([^"]*\)".*/\1/' "$1" 2>/dev/null | sort | tr '\n' ' '
}
: >"$T/sh.jsonl"
for n in $(seq 1 30); do printf '{"id":"s%02d","commands":["echo %s"]}\n' "$n" "$n" >>"$T/sh.jsonl"; done
for i in 0 1 2; do
  "$SBX_BIN" run "$T/sh.jsonl" --results "$T/shard-$i" --shard "$i/3" --quiet >/dev/null 2>&1
done
total=0
for i in 0 1 2; do total=$((total + $(count_lines "$T/shard-$i/results.jsonl" task))); done
all=$(cat "$T"/shard-*/results.jsonl | sed 's/.*"task":"\([^"]*\)".*/\1/' | sort -u | wc -l)
[ "$total" -eq 30 ] && [ "$all" -eq 30 ] && [ "$(count_lines "$T/shard-0/results.jsonl" task)" -lt 30 ]
check "three shards split 30 tasks without overlap ($total lines, $all distinct)" $?
SLURM_ARRAY_TASK_ID=4 SLURM_ARRAY_TASK_MIN=3 SLURM_ARRAY_TASK_COUNT=3 \
  "$SBX_BIN" run "$T/sh.jsonl" --results "$T/slurm-1" --shard auto --quiet >/dev/null 2>&1
JOB_COMPLETION_INDEX=1 "$SBX_BIN" run "$T/sh.jsonl" --results "$T/k8s-1" --shard auto --shards 3 \
  --quiet >/dev/null 2>&1
a=$(task_ids "$T/shard-1/results.jsonl")
[ -n "$a" ] && [ "$a" = "$(task_ids "$T/slurm-1/results.jsonl")" ] && [ "$a" = "$(task_ids "$T/k8s-1/results.jsonl")" ]
check "--shard auto reads Slurm and Kubernetes Indexed Job variables" $?
sbx run "$T/sh.jsonl" --shard auto --results "$T/none"
[ "$rc" -eq 2 ] && grep -q "neither JOB_COMPLETION_INDEX" "$T/err"
check "--shard auto without a scheduler's variables is a usage error" $?
sbx merge --out "$T/merged" "$T/shard-0" "$T/shard-1" "$T/shard-2"
[ "$rc" -eq 0 ] && [ "$(count_lines "$T/merged/results.jsonl" task)" -eq 30 ] && grep -q '"ok": 30' "$T/merged/summary.json"
check "merge combines the shards' results and summary" $?
sbx merge --out "$T/merged2" "$T/shard-0" "$T/shard-0"
[ "$rc" -eq 2 ] && grep -q "in both" "$T/err"
check "merge refuses overlapping shards" $?
printf '{"id":"art","commands":["echo hi > a.txt"],"artifacts":["a.txt"]}\n' >"$T/art.jsonl"
"$SBX_BIN" run "$T/art.jsonl" --results "$T/art-shard" --quiet >/dev/null 2>&1
sbx merge --out "$T/art-merged" "$T/art-shard"
p=$(sed -n 's/.*"artifacts":\["\([^"]*\)".*/\1/p' "$T/art-merged/results.jsonl")
[ "$rc" -eq 0 ] && [ -n "$p" ] && [ "$(cat "$T/art-merged/$p")" = "hi" ]
check "merged artifact paths stay valid from the merged directory ($p)" $?

# ---- reap -----------------------------------------------------------------------
id=$("$SBX_BIN" create --meta sbx.run=orphan-run --meta sbx.task=x 2>/dev/null)
id2=$("$SBX_BIN" create --meta other=1 2>/dev/null)
sbx reap --run orphan-run --dry-run
[ "$rc" -eq 0 ] && grep -qx "$id" "$T/out" && [ "$(alive orphan-run)" -eq 1 ]
check "reap --dry-run lists and kills nothing" $?
sbx reap --all
[ "$rc" -eq 0 ] && [ "$(alive orphan-run)" -eq 0 ] && "$SBX_BIN" info "$id2" >/dev/null 2>&1
check "reap --all kills sbx-labelled sandboxes only" $?
"$SBX_BIN" kill "$id2" >/dev/null 2>&1

finish run_local
