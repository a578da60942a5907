#!/bin/sh
# soak_quick.sh - the chaos soak of `make soak` (tests/soak/soak.sh) cut to
# 300 tasks and one SIGKILL, as a regression test in `make test` (about 15 s):
# the same fault mix and the same assertions (every task once with its
# expected status, 0 live sandboxes, bounded retries, flat RSS).
# Usage: sh tests/integration/soak_quick.sh [BUILD_DIR]
top=$(cd "$(dirname "$0")/../.." && pwd)
SOAK_TASKS=${SOAK_QUICK_TASKS:-300} SOAK_KILLS=1 exec sh "$top/tests/soak/soak.sh" "$@"
