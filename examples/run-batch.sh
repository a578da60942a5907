#!/bin/sh
# run-batch.sh BUILD_DIR - `make run`: examples/hello-batch.jsonl through
# `sbx run` on the local provider (a directory + process group per sandbox,
# isolated with bubblewrap): uploads, commands, artifacts, one task that
# fails on purpose and one that times out. Prints the summary, then checks
# the outcome is exactly that and that no sandbox was left behind.
set -u
B=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
export SBX_PROVIDER=local
export SBX_LOCAL_ROOT="${SBX_LOCAL_ROOT:-$top/$B/sandboxes}"
results="$B/hello-batch"
rm -rf "$results" # a rerun into the same directory would resume (and skip every task)
if command -v bwrap >/dev/null 2>&1; then iso="bubblewrap"; else iso="NO isolation (bwrap missing)"; fi
echo "sbx run examples/hello-batch.jsonl on the local provider ($iso)"
"$B/sbx" run examples/hello-batch.jsonl --results "$results" --concurrency 8
rc=$?
echo "exit code $rc (1: some task failed, as two do on purpose)"
echo "artifacts:"
(cd "$results" && find artifacts -type f | sort | sed 's/^/  /')
run=$(sed -n 's/.*"run": *"\([^"]*\)".*/\1/p' "$results/summary.json" | head -n 1)
left=$("$B/sbx" ls --meta "sbx.run=$run" --json | grep -c '"id":')
echo "sandboxes of run $run still alive: $left"
ok=$(grep -c '"status":"ok"' "$results/results.jsonl")
failed=$(grep -c '"status":"failed"' "$results/results.jsonl")
timeout=$(grep -c '"status":"timeout"' "$results/results.jsonl")
if [ "$rc" -eq 1 ] && [ "$ok" -eq 4 ] && [ "$failed" -eq 1 ] && [ "$timeout" -eq 1 ] && [ "$left" -eq 0 ]; then
  echo "make run: as expected (4 ok, 1 failed, 1 timed out, nothing leaked)"
else
  echo "make run: UNEXPECTED outcome: exit $rc, ok $ok, failed $failed, timeout $timeout, left $left" >&2
  exit 1
fi
