#!/usr/bin/env bash
# Runs hearth's scenario tests one after the other and adds up their counts.
#   tests/scenario/run.sh                 # every tests/scenario/[0-9]*.sh
#   tests/scenario/run.sh 20-compute.sh 40   # only these (paths, names or
#                                             # unique prefixes such as "40")
# Each test prints "N passed, N failed" as its last line; a test that ends
# without that line, or exits non-zero with no failure counted, counts as one
# failure. The very last line of this script is the total "N passed, N failed";
# it exits non-zero if anything failed.
# Environment: HEARTH_BUILD (default /work/main/build), TEST_TIMEOUT (seconds
# per test file, default 900), plus what lib.sh reads.
set -u

here=$(cd "$(dirname "$0")" && pwd)
export HEARTH_BUILD=${HEARTH_BUILD:-/work/main/build}
test_timeout=${TEST_TIMEOUT:-900}

tests=()
if [ $# -gt 0 ]; then
    for t in "$@"; do
        if [ -f "$t" ]; then tests+=("$t")
        elif [ -f "$here/$t" ]; then tests+=("$here/$t")
        elif [ -f "$here/$t.sh" ]; then tests+=("$here/$t.sh")
        elif m=("$here/$t"*.sh) && [ ${#m[@]} = 1 ] && [ -f "${m[0]}" ]; then tests+=("${m[0]}")
        else
            echo "# no such test: $t" >&2
            tests+=("$t")
        fi
    done
else
    for t in "$here"/[0-9]*.sh; do
        [ -f "$t" ] && tests+=("$t")
    done
fi

total_pass=0
total_fail=0
results=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT

for t in "${tests[@]}"; do
    name=$(basename "$t")
    echo "# ==== $name"
    start=$SECONDS
    if [ -f "$t" ]; then
        timeout -k 10 "$test_timeout" bash "$t" 2>&1 | tee "$log"
        rc=${PIPESTATUS[0]}
    else
        echo "not ok - $name exists" | tee "$log"
        rc=1
    fi
    last=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
    if [ -n "$last" ]; then
        p=${last%% passed*}
        f=${last#*, }
        f=${f%% failed*}
    else
        p=0 f=0
    fi
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        echo "not ok - $name finished within ${test_timeout}s (killed)"
        f=$((f + 1))
    elif [ -z "$last" ] || { [ "$rc" != 0 ] && [ "$f" = 0 ]; }; then
        echo "not ok - $name reported its counts and exit code consistently (exit $rc)"
        f=$((f + 1))
    fi
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
    results+=("$(printf '%-20s %4s passed, %3s failed  (%ss)' "$name" "$p" "$f" $((SECONDS - start)))")
done

echo "# ==== summary"
for r in "${results[@]}"; do echo "# $r"; done
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" = 0 ]
