#!/bin/sh
# run-sample.sh BUILD_DIR - `make run`: a sample batch of tasks, each in its
# own sandbox of the local provider (a directory + process group, isolated
# with bubblewrap), run concurrently through the sbx CLI. Every sandbox gets
# run/task labels and is killed at the end; the batch ends by listing the
# run's sandboxes to show none was left behind. No account, no network.
set -u
B=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
work=$(mktemp -d /tmp/sbx-sample-XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
export SBX_PROVIDER=local SBX_LOCAL_ROOT="$work/sandboxes"
run="sample-$(date +%s)"
printf 'the quick brown fox\njumps over\nthe lazy dog\n' >"$work/input.txt"
if command -v bwrap >/dev/null 2>&1; then iso="bubblewrap"; else iso="NO isolation (bwrap missing)"; fi
echo "sample batch $run on the local provider ($iso), sandboxes under $SBX_LOCAL_ROOT"

run_task() { # name command
  id=$("$B/sbx" create --timeout 300 --meta "sbx.run=$run" --meta "sbx.task=$1") || {
    echo "{\"task\":\"$1\",\"error\":\"create failed\"}"; return; }
  "$B/sbx" put "$id" "$work/input.txt" /home/user/input.txt >/dev/null
  out=$("$B/sbx" exec "$id" -- "$2" 2>"$work/$1.err")
  code=$?
  "$B/sbx" kill "$id" >/dev/null
  printf '{"task":"%s","sandbox":"%s","exit_code":%d,"stdout":"%s","stderr":"%s"}\n' \
    "$1" "$id" "$code" "$(printf '%s' "$out" | tr '\n"' ' \047')" \
    "$(tr '\n"' ' \047' <"$work/$1.err")"
}

grep -v '^#' examples/sample-tasks.txt >"$work/tasks"
n=0
pids=""
while IFS="	" read -r name cmd; do
  [ -n "$name" ] || continue
  # dash runs EXIT traps in background subshells too: clear it there
  (trap - EXIT INT TERM; run_task "$name" "$cmd" >"$work/$name.json") &
  pids="$pids $!"
  n=$((n + 1))
done <"$work/tasks"
for p in $pids; do wait "$p"; done
cat "$work"/*.json
done_n=$(cat "$work"/*.json | grep -c '"exit_code"')
listing=$("$B/sbx" ls --meta "sbx.run=$run" --json) || exit 1
left=$(printf '%s' "$listing" | grep -c '"id":')
echo "$done_n of $n tasks ran; sandboxes of $run still alive: $left"
[ "$done_n" -eq "$n" ] && [ "$left" -eq 0 ]
