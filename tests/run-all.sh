#!/bin/bash
# Runs every test level against the build in $1 and ends with "N passed, N failed".
#   1. unit tests (cmocka), each case counted;
#   2. scenario tests: the real hearthd driven by the real openstack client.
set -uo pipefail
BUILD=$(cd "${1:-build}" && pwd)
cd "$(dirname "$0")/.."
passed=0
failed=0

echo "== unit tests =="
for t in "$BUILD"/tests/unit/test_*; do
    [ -f "$t" ] && [ -x "$t" ] || continue
    out=$("$t" 2>&1)
    rc=$?
    echo "$out" | grep -E '^\[ +(OK|FAILED|PASSED|ERROR) +\]' | sed "s|^|$(basename "$t"): |"
    p=$(echo "$out" | grep -cE '^\[       OK \]')
    f=$(echo "$out" | grep -cE '^\[  (FAILED|ERROR)  \] [a-z_]')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "$out" | tail -20
        f=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
done

echo "== scenario tests =="
log=$(mktemp)
HEARTH_BUILD="$BUILD" ./tests/scenario/run.sh 2>&1 | tee "$log"
scen=$(tail -1 "$log")
rm -f "$log"
if [[ "$scen" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
    passed=$((passed + BASH_REMATCH[1]))
    failed=$((failed + BASH_REMATCH[2]))
else
    echo "scenario runner did not report counts: $scen"
    failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
