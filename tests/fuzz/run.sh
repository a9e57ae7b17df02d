#!/bin/bash
# Builds the libFuzzer targets (clang, ASan+UBSan) and runs each for SECONDS.
#   tests/fuzz/run.sh [SECONDS] [TARGET...]     default: 60 s, every target
# The seed corpus in tests/fuzz/corpus/ is read, never written; what a run finds
# goes into a temporary folder (kept and printed when FUZZ_KEEP=1). A crash, a leak
# or a timeout fails the run and leaves the input in $FUZZ_OUT (default /tmp).
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_request fuzz_config)
build=${FUZZ_BUILD:-build-fuzz}
out=${FUZZ_OUT:-/tmp}

if [ ! -f "$build/build.ninja" ]; then
    CC=clang meson setup "$build" -Dwerror=true -Dfuzz=true -Dtests=false \
        -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
ninja -C "$build" >/dev/null

failed=0
for t in "${targets[@]}"; do
    seeds=tests/fuzz/corpus/${t#fuzz_}
    work=$(mktemp -d "${TMPDIR:-/tmp}/hearth-$t-XXXXXX")
    dict=()
    [ -f "tests/fuzz/${t#fuzz_}.dict" ] && dict=(-dict="tests/fuzz/${t#fuzz_}.dict")
    log=$work.log
    echo "== $t: ${secs}s from $(ls "$seeds" | wc -l) seeds"
    if UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "$build/tests/fuzz/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 \
        -max_len=65536 -print_final_stats=1 -artifact_prefix="$out/$t-" "${dict[@]}" \
        "$work" "$seeds" >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
        echo "   no finding: ${runs:-?} inputs run, $cov, corpus $(ls "$work" | wc -l) new units"
    else
        failed=1
        echo "   FINDING (log: $log):"
        grep -E 'ERROR|SUMMARY|answered|Test unit written' "$log" | head -20 | sed 's/^/   /'
    fi
    if [ "${FUZZ_KEEP:-0}" = 1 ]; then echo "   new units kept in $work"; else rm -rf "$work"; fi
done
exit $failed
