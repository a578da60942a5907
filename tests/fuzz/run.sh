#!/bin/sh
# run.sh FUZZ_DIR SECONDS TARGET... - run each libFuzzer target for SECONDS
# on its committed seeds (tests/fuzz/corpus/T, only read) plus a fresh
# scratch dir that takes the new inputs, FUZZ_JOBS targets at a time. Logs, the
# scratch corpora and any crash inputs stay under FUZZ_DIR. Prints one line
# per target and "N passed, N failed"; fails when a target crashed.
FB=$1
SECS=$2
shift 2
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
mkdir -p "$FB/logs" "$FB/scratch" "$FB/crashes"

run_one() { # target
  t=$1
  rm -rf "$FB/scratch/$t" "$FB/crashes/$t"
  mkdir -p "$FB/scratch/$t" "$FB/crashes/$t"
  dict=
  [ -f "tests/fuzz/$t.dict" ] && dict="-dict=tests/fuzz/$t.dict"
  # shellcheck disable=SC2086 # dict is one word or none
  "$FB/fuzz_$t" -max_total_time="$SECS" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    $dict -artifact_prefix="$FB/crashes/$t/" "$FB/scratch/$t" "tests/fuzz/corpus/$t" \
    >"$FB/logs/$t.log" 2>&1
}

pass=0
fail=0
report() { # target exit-code
  t=$1
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$FB/logs/$t.log" | tail -n 1)
  if [ "$2" -eq 0 ]; then
    pass=$((pass + 1))
    echo "fuzz $t: ok: $done_line"
  else
    fail=$((fail + 1))
    echo "fuzz $t: FAILED (exit $2); log $FB/logs/$t.log, inputs:"
    ls "$FB/crashes/$t"/* 2>/dev/null | sed 's/^/  /'
    grep -E 'ERROR|SUMMARY|==[0-9]+==' "$FB/logs/$t.log" | head -n 5 | sed 's/^/  /'
  fi
}

# Batches of FUZZ_JOBS (default 4) at once: each target still runs its full
# SECONDS of wall time, on a share of the cores, and CI's total stays short.
jobs=${FUZZ_JOBS:-4}
while [ $# -gt 0 ]; do
  batch=
  k=0
  while [ $# -gt 0 ] && [ $k -lt "$jobs" ]; do
    run_one "$1" &
    eval "pid_$k=\$! name_$k=\$1"
    batch="$batch $k"
    k=$((k + 1))
    shift
  done
  for k in $batch; do
    eval "p=\$pid_$k n=\$name_$k"
    wait "$p"
    report "$n" $?
  done
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
