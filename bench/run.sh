#!/usr/bin/env bash
# hearth benchmark: starts its own hearthd (dev region + bench/bench.ini) on a free
# loopback port with a temporary data folder, measures
#   1. tokens issued per second (password, project-scoped; wrk, 4 connections), the
#      argon2id parameters in use and one token issue on its own; token validations/s
#   2. authenticated reads per second (GET /compute/v2.1/flavors; wrk, 64 connections)
#   3. servers created to ACTIVE per second and deleted per second (N = 1,000, sim)
#   4. GET /compute/v2.1/servers/detail latency with 0, 1,000 and 10,000 servers
#   5. hearthd's resident memory at idle and after the runs
# (4a, servers/detail with no servers, runs before 3 while the project is empty.)
# and prints a table comparing each figure with Debian's OpenStack on a 2-core
# machine of the same class, also written to bench/results.md.
#
# Usage: bench/run.sh [BUILD_DIR]        (default: the repository's build/)
# Environment (defaults in brackets):
#   BENCH_DURATION [10]    seconds per wrk throughput/latency run
#   BENCH_SERVERS  [1000]  servers created and deleted in step 3
#   BENCH_BIG      [10000] servers in the project for the last servers/detail run
#   BENCH_CONC     [16]    parallel POST/DELETE connections in step 3
#   BENCH_WAIT_BIG [150]   seconds to wait for the 10,000 to be ACTIVE (then it
#                          measures anyway and says how many were still building)
#   BENCH_KEEP     [0]     1 = keep the data folder (it is kept on failure anyway)
#   BENCH_RESULTS  [bench/results.md]
#
# It never asserts a time: it fails (non-zero exit) only when it cannot measure,
# i.e. hearthd dies, does not start, or a request errors or answers an unexpected
# status. The figures are the output.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)

DURATION=${BENCH_DURATION:-10}
N=${BENCH_SERVERS:-1000}
BIG=${BENCH_BIG:-10000}
CONC=${BENCH_CONC:-16}
WAIT_BIG=${BENCH_WAIT_BIG:-150}
RESULTS=${BENCH_RESULTS:-$here/results.md}

# OpenStack (Debian packages, 2 cores), measured the same way.
REF_TOKENS=3.5       # tokens issued/s, bcrypt cost 12
REF_VALIDATE=10.7    # token validations/s
REF_READS=159        # GET /compute/v2.1/flavors per second
REF_CREATE=1.0       # servers created to ACTIVE per second
REF_DELETE=1.8       # servers deleted per second
REF_DETAIL0_MS=18    # servers/detail p50, no servers
REF_DETAIL1K_MS=1190 # servers/detail p50, 1,000 servers
REF_RSS_MB=2300      # resident at idle, 27 processes

BENCH_NAME=bench
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
need_tools wrk curl jq
LOAD=("$PY" "$here/load.py")

# wrk_run NAME WRK_ARGS... URL: runs wrk with bench/request.lua (the BENCH_*
# variables of the caller's environment shape the request), keeps its output in
# $DATA/wrk-NAME.txt, fails on socket errors or a non-2xx answer, and sets
# WRK_RPS, WRK_REQS, WRK_P50, WRK_P99 (ms).
wrk_run() {
    local name=$1 out
    shift
    out=$DATA/wrk-$name.txt
    alive
    wrk --latency --timeout 30s -s "$here/request.lua" "$@" >"$out" 2>&1 ||
        die "wrk failed: $(tail -n 5 "$out")"
    wrk_read "$out"
}
# wrk_read FILE: prints, checks and parses the output of one wrk run.
wrk_read() {
    local out=$1
    sed 's/^/   | /' "$out"
    alive
    if grep -q 'Socket errors' "$out"; then die "wrk saw socket errors: $(grep 'Socket errors' "$out")"; fi
    if grep -q 'Non-2xx' "$out"; then
        die "wrk saw unexpected answers: $(grep 'Non-2xx' "$out") (hearthd.log tells which)"
    fi
    WRK_RPS=$(awk '/^Requests\/sec:/ {print $2}' "$out")
    WRK_REQS=$(awk '/requests in/ {print $1}' "$out")
    WRK_P50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
    WRK_P99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
    [ -n "$WRK_RPS" ] && [ -n "$WRK_REQS" ] && [ "$WRK_REQS" -gt 0 ] ||
        die "could not read wrk's output ($out)"
}

# load SUBCOMMAND ARGS...: bench/load.py; its JSON goes to LOAD_OUT.
load() {
    local rc=0
    alive
    LOAD_OUT=$(BENCH_TOKEN=${TOKEN:-} "${LOAD[@]}" "$@" --base "$BASE") || rc=$?
    info "load.py $1: $LOAD_OUT"
    alive
    [ "$rc" = 0 ] || die "load.py $1: $(jq -r '(.error // ["no detail"]) | join("; ")' <<<"$LOAD_OUT" 2>/dev/null || echo "$LOAD_OUT")"
}
lj() { jq -r "$1" <<<"$LOAD_OUT"; }

# ---------------------------------------------------------------- results

ROWS=() # "figure|value|reference|ratio|target"

# num VALUE: a figure printed to a sensible precision.
num() {
    awk -v x="$1" 'BEGIN {
        if (x >= 1000) printf "%.0f", x; else if (x >= 100) printf "%.0f", x;
        else if (x >= 10) printf "%.1f", x; else printf "%.2f", x }'
}
# ratio higher|lower VALUE REFERENCE: how many times hearth is better (>1) or worse.
ratio() {
    awk -v m="$1" -v v="$2" -v r="$3" 'BEGIN {
        if (v <= 0 || r <= 0) { print "-"; exit }
        q = (m == "higher") ? v / r : r / v
        if (q >= 100) printf "%.0f×", q; else if (q >= 10) printf "%.0f×", q; else printf "%.2f×", q }'
}
row() { ROWS+=("$1|$2|$3|$4|$5"); }

write_table() {
    local f=$1 r
    {
        echo "| figure | hearth | OpenStack reference | ratio (>1 = hearth better) | target |"
        echo "|---|---:|---:|---:|---|"
        for r in "${ROWS[@]}"; do
            IFS='|' read -r a b c d e <<<"$r"
            echo "| $a | $b | $c | $d | $e |"
        done
    } >"$f"
}

# ---------------------------------------------------------------- hearthd

STEP="start hearthd"
hearth_start "${1:-$repo/build}" "$here/bench.ini"

# The tier-3 account of clouds.yaml.
USER3=$(cloud_field hearth-tier3 username)
PASS3=$(cloud_field hearth-tier3 password)
PROJ3=$(cloud_field hearth-tier3 project_name)
[ -n "$USER3" ] && [ -n "$PASS3" ] && [ -n "$PROJ3" ] || die "no hearth-tier3 cloud in $DATA/clouds.yaml"
AUTH_BODY=$(jq -cn --arg u "$USER3" --arg p "$PASS3" --arg pr "$PROJ3" \
    '{auth: {identity: {methods: ["password"], password: {user: {name: $u,
      domain: {name: "Default"}, password: $p}}}, scope: {project: {name: $pr,
      domain: {name: "Default"}}}}}')
issue_token "$USER3" "$PASS3" "$PROJ3"
TOKEN=$ISSUED

sleep 2 # let start-up settle: "idle" is idle
RSS_IDLE=$(rss_mib)
THREADS_IDLE=$(proc_field Threads)
info "idle: VmRSS $RSS_IDLE MiB, $THREADS_IDLE threads"

# ---------------------------------------------------------------- 1. tokens

STEP="1. tokens"
say "1. tokens issued per second (POST /identity/v3/auth/tokens, $USER3 on $PROJ3)"
PWHASH=$("${LOAD[@]}" pwhash --db "$DATA/hearth.db" --user "$USER3") ||
    die "cannot read the password hash: $PWHASH"
A2_OPS=$(jq -r .ops <<<"$PWHASH")
A2_MIB=$(jq -r .mem_mib <<<"$PWHASH")
A2_ALG=$(jq -r .alg <<<"$PWHASH")
info "stored hash: $A2_ALG, ops (t) = $A2_OPS, memory = $A2_MIB MiB, lanes = $(jq -r .lanes <<<"$PWHASH")"

LOAD_OUT=$(BENCH_BODY=$AUTH_BODY "${LOAD[@]}" seq --base "$BASE" --method POST \
    --path /identity/v3/auth/tokens --n 20 --expect 201) || die "sequential token issues: $LOAD_OUT"
info "20 sequential token issues: $LOAD_OUT"
ONE_TOKEN_MS=$(lj .p50_ms)
ONE_TOKEN_MIN_MS=$(lj .min_ms)
alive

BENCH_METHOD=POST BENCH_BODY=$AUTH_BODY BENCH_TOKEN='' BENCH_SUBJECT_TOKEN='' \
    wrk_run tokens -t2 -c4 -d"${DURATION}s" "$BASE/identity/v3/auth/tokens"
TOKENS_RPS=$WRK_RPS
TOKENS_P50=$WRK_P50
TOKENS_P99=$WRK_P99
sleep 1 # requests wrk left in flight finish their hash
RSS_AFTER_TOKENS=$(rss_mib)
info "VmRSS after issuing tokens: $RSS_AFTER_TOKENS MiB"

BENCH_METHOD=GET BENCH_BODY='' BENCH_TOKEN=$TOKEN BENCH_SUBJECT_TOKEN=$TOKEN \
    wrk_run validate -t2 -c64 -d"$(( (DURATION + 1) / 2 ))s" "$BASE/identity/v3/auth/tokens"
VALIDATE_RPS=$WRK_RPS

row "Tokens issued/s (password, project-scoped; wrk 2 threads, 4 connections, ${DURATION} s)" \
    "$(num "$TOKENS_RPS")" "$REF_TOKENS (bcrypt cost 12)" "$(ratio higher "$TOKENS_RPS" "$REF_TOKENS")" ""
row "Password hash in use" "$A2_ALG, ops=$A2_OPS, $(num "$A2_MIB") MiB" "bcrypt, cost 12" "" ""
row "One token issue alone (median of 20 sequential; min)" \
    "$(num "$ONE_TOKEN_MS") ms ($(num "$ONE_TOKEN_MIN_MS") ms)" "" "" ""
row "  token issue latency p50 / p99 at 4 connections" \
    "$(num "$TOKENS_P50") / $(num "$TOKENS_P99") ms" "" "" ""
row "Token validations/s (GET /identity/v3/auth/tokens, 64 connections)" \
    "$(num "$VALIDATE_RPS")" "$REF_VALIDATE" "$(ratio higher "$VALIDATE_RPS" "$REF_VALIDATE")" ""

# ---------------------------------------------------------------- 2. reads

STEP="2. authenticated reads"
say "2. authenticated reads per second (GET /compute/v2.1/flavors)"
api GET /compute/v2.1/flavors
expect 200 "GET /compute/v2.1/flavors"
nflavors=$(jq '.flavors | length' <<<"$BODY")
[ "$nflavors" -ge 1 ] || die "GET /compute/v2.1/flavors listed no flavor"
info "$nflavors flavors, $(printf %s "$BODY" | wc -c) bytes per answer"
BENCH_METHOD=GET BENCH_BODY='' BENCH_TOKEN=$TOKEN BENCH_SUBJECT_TOKEN='' \
    wrk_run reads -t2 -c64 -d"${DURATION}s" "$BASE/compute/v2.1/flavors"
READS_RPS=$WRK_RPS
READS_P50=$WRK_P50
READS_P99=$WRK_P99
row "Authenticated reads/s (GET /compute/v2.1/flavors; wrk 2 threads, 64 connections)" \
    "$(num "$READS_RPS")" "$REF_READS" "$(ratio higher "$READS_RPS" "$REF_READS")" "≥ 10,000/s"
row "  latency p50 / p99 at 64 connections" "$(num "$READS_P50") / $(num "$READS_P99") ms" "" "" ""

# Handlers run on the HTTP threads: does a login (one argon2id hash) hold up the
# reads that share its thread? The same reads at 8 connections, alone and then
# while 4 connections issue tokens.
STEP="2b. reads while tokens are issued"
half=$(( (DURATION + 1) / 2 ))
say "2b. GET /compute/v2.1/flavors at 8 connections, alone and while 4 connections issue tokens"
BENCH_METHOD=GET BENCH_BODY='' BENCH_TOKEN=$TOKEN BENCH_SUBJECT_TOKEN='' \
    wrk_run reads8 -t1 -c8 -d"${half}s" "$BASE/compute/v2.1/flavors"
R8_P50=$WRK_P50 R8_P99=$WRK_P99 R8_RPS=$WRK_RPS
BENCH_METHOD=POST BENCH_BODY=$AUTH_BODY BENCH_TOKEN='' BENCH_SUBJECT_TOKEN='' \
    wrk --latency --timeout 30s -s "$here/request.lua" -t2 -c4 -d"$(( half + 2 ))s" \
    "$BASE/identity/v3/auth/tokens" >"$DATA/wrk-tokens-bg.txt" 2>&1 &
wrk_bg=$!
bg "$wrk_bg"
sleep 1
BENCH_METHOD=GET BENCH_BODY='' BENCH_TOKEN=$TOKEN BENCH_SUBJECT_TOKEN='' \
    wrk_run reads8-login -t1 -c8 -d"${half}s" "$BASE/compute/v2.1/flavors"
R8L_P50=$WRK_P50 R8L_P99=$WRK_P99 R8L_RPS=$WRK_RPS
wait "$wrk_bg" || die "the background token wrk failed: $(tail -n 5 "$DATA/wrk-tokens-bg.txt")"
info "tokens issued meanwhile (background wrk):"
wrk_read "$DATA/wrk-tokens-bg.txt"
sleep 1
row "  reads at 8 connections: p50 / p99 alone → while 4 connections issue tokens" \
    "$(num "$R8_P50") / $(num "$R8_P99") ms → $(num "$R8L_P50") / $(num "$R8L_P99") ms" "" "" ""
row "  reads/s at 8 connections: alone → while tokens are issued" \
    "$(num "$R8_RPS") → $(num "$R8L_RPS")" "" "" ""

# ---------------------------------------------------------------- detail helper

# detail_latency LABEL EXPECTED_COUNT SECONDS: checks that one GET /servers/detail
# lists EXPECTED_COUNT servers, then measures it with wrk, 1 connection, SECONDS.
detail_latency() {
    local label=$1 want=$2 got bytes
    api GET /compute/v2.1/servers/detail
    expect 200 "GET /compute/v2.1/servers/detail"
    got=$(jq '.servers | length' <<<"$BODY")
    bytes=$(printf %s "$BODY" | wc -c)
    [ "$got" = "$want" ] || die "GET /compute/v2.1/servers/detail listed $got servers, expected $want"
    info "servers/detail lists $got servers ($bytes bytes)"
    BENCH_METHOD=GET BENCH_BODY='' BENCH_TOKEN=$TOKEN BENCH_SUBJECT_TOKEN='' \
        wrk_run "detail-$label" -t1 -c1 -d"$3s" "$BASE/compute/v2.1/servers/detail"
    DETAIL_BYTES=$bytes
}

STEP="4a. servers/detail, no servers"
say "4a. GET /compute/v2.1/servers/detail with no servers"
detail_latency 0 0 "$(( (DURATION + 1) / 2 ))"
D0_P50=$WRK_P50 D0_P99=$WRK_P99 D0_N=$WRK_REQS

# ---------------------------------------------------------------- 3. create/delete

STEP="3. look up flavor, image, network"
say "3. servers created to ACTIVE and deleted per second (N = $N, $CONC parallel connections)"
find_ids

STEP="3. create $N servers"
load create --n "$N" --batch 1 --conc "$CONC" --prefix bench --deadline 300 \
    --image "$IMAGE" --flavor "$FLAVOR" --network "$NETWORK"
C_POST_S=$(lj .post_s) C_ACTIVE_S=$(lj .active_s)
C_POST_P50=$(lj .post_p50_ms) C_POST_P99=$(lj .post_p99_ms)
CREATE_RATE=$(awk -v n="$N" -v t="$C_ACTIVE_S" 'BEGIN {printf "%.2f", n / t}')
ACCEPT_RATE=$(awk -v n="$N" -v t="$C_POST_S" 'BEGIN {printf "%.2f", n / t}')
info "$N servers ACTIVE $C_ACTIVE_S s after the first POST: $CREATE_RATE servers/s" \
    "(POSTs accepted at $ACCEPT_RATE/s, p50 $C_POST_P50 ms, p99 $C_POST_P99 ms)"

STEP="4b. servers/detail, $N servers"
say "4b. GET /compute/v2.1/servers/detail with $N servers"
want=$(( N < 1000 ? N : 1000 ))
detail_latency 1k "$want" "$DURATION"
D1_P50=$WRK_P50 D1_P99=$WRK_P99 D1_N=$WRK_REQS D1_BYTES=$DETAIL_BYTES

STEP="3. delete $N servers"
say "3. (cont.) deleting the $N servers"
load delete-all --conc "$CONC" --deadline 300
[ "$(lj .n)" = "$N" ] || die "expected to delete $N servers, listed $(lj .n)"
X_POST_S=$(lj .post_s) X_EMPTY_S=$(lj .empty_s)
X_POST_P50=$(lj .delete_p50_ms) X_POST_P99=$(lj .delete_p99_ms)
DELETE_RATE=$(awk -v n="$N" -v t="$X_EMPTY_S" 'BEGIN {printf "%.2f", n / t}')
info "$N servers gone $X_EMPTY_S s after the first DELETE: $DELETE_RATE servers/s" \
    "(DELETEs answered in $X_POST_S s)"
RSS_AFTER_CREATE=$(rss_mib)

row "Servers created → ACTIVE /s (N=$N, $CONC parallel POSTs, sim spawn 50 ms)" \
    "$(num "$CREATE_RATE")" "$REF_CREATE" "$(ratio higher "$CREATE_RATE" "$REF_CREATE")" "≥ 100/s"
row "  POSTs accepted /s; POST latency p50 / p99" \
    "$(num "$ACCEPT_RATE")/s; $(num "$C_POST_P50") / $(num "$C_POST_P99") ms" "" "" ""
row "Servers deleted /s (N=$N, until the list is empty)" \
    "$(num "$DELETE_RATE")" "$REF_DELETE" "$(ratio higher "$DELETE_RATE" "$REF_DELETE")" ""
row "  DELETE latency p50 / p99" "$(num "$X_POST_P50") / $(num "$X_POST_P99") ms" "" "" ""

# ---------------------------------------------------------------- 4. 10,000

STEP="4c. create $BIG servers in batches"
say "4c. $BIG servers in the project (POSTs of min_count = max_count = 100, 4 connections)"
load create --n "$BIG" --batch 100 --conc 4 --prefix big --deadline "$WAIT_BIG" --poll 0.1 \
    --allow-timeout --image "$IMAGE" --flavor "$FLAVOR" --network "$NETWORK"
B_POST_S=$(lj .post_s) B_ACTIVE_S=$(lj .active_s) B_TIMED_OUT=$(lj .timed_out)
B_ACTIVE=$(lj .active) B_LEFT=$(lj .build_left)
B_POST_P50=$(lj .post_p50_ms)
if [ "$B_TIMED_OUT" = true ]; then
    BIG_NOTE="$B_ACTIVE of $BIG ACTIVE after ${WAIT_BIG} s (still building: $B_LEFT)"
    BIG_RATE=$(awk -v n="$B_ACTIVE" -v t="$B_ACTIVE_S" 'BEGIN {printf "%.2f", n / t}')
else
    BIG_NOTE="all $BIG ACTIVE in $B_ACTIVE_S s"
    BIG_RATE=$(awk -v n="$BIG" -v t="$B_ACTIVE_S" 'BEGIN {printf "%.2f", n / t}')
fi
info "$BIG_NOTE; POSTs of 100 answered in $B_POST_S s (p50 $B_POST_P50 ms each)"

STEP="4d. servers/detail, $BIG servers"
say "4d. GET /compute/v2.1/servers/detail with $BIG servers (first page)"
want=$(( BIG < 1000 ? BIG : 1000 ))
detail_latency 10k "$want" "$DURATION"
D10_P50=$WRK_P50 D10_P99=$WRK_P99 D10_N=$WRK_REQS
api GET "/compute/v2.1/servers/detail"
[ "$BIG" -le 1000 ] || jq -e '.servers_links[0].rel == "next"' <<<"$BODY" >/dev/null ||
    die "servers/detail with $BIG servers has no next link"

row "Servers → ACTIVE /s in POSTs of 100 (to $BIG; $BIG_NOTE)" "$(num "$BIG_RATE")" "" "" ""
row "servers/detail p50 / p99, no servers ($D0_N requests)" \
    "$(num "$D0_P50") / $(num "$D0_P99") ms" "$REF_DETAIL0_MS ms (p50)" \
    "$(ratio lower "$D0_P50" "$REF_DETAIL0_MS")" ""
row "servers/detail p50 / p99, $N servers ($D1_N requests, $(( D1_BYTES / 1024 )) KiB)" \
    "$(num "$D1_P50") / $(num "$D1_P99") ms" "$REF_DETAIL1K_MS ms (p50)" \
    "$(ratio lower "$D1_P50" "$REF_DETAIL1K_MS")" "< 50 ms"
row "servers/detail p50 / p99, $BIG servers, page of 1000 ($D10_N requests)" \
    "$(num "$D10_P50") / $(num "$D10_P99") ms" "" "" "< 50 ms"

# ---------------------------------------------------------------- 5. memory

STEP="5. memory"
say "5. resident memory"
sleep 1
RSS_END=$(rss_mib)
HWM_END=$(hwm_mib)
THREADS_END=$(proc_field Threads)
info "idle after start $RSS_IDLE MiB; after tokens $RSS_AFTER_TOKENS; after create/delete" \
    "$RSS_AFTER_CREATE; at the end ($BIG servers) $RSS_END MiB, peak $HWM_END MiB, $THREADS_END threads"
row "Resident memory at idle after start (VmRSS; 1 process, $THREADS_IDLE threads)" \
    "$RSS_IDLE MiB" "$REF_RSS_MB MB (27 processes)" "$(ratio lower "$RSS_IDLE" "$REF_RSS_MB")" "< 30 MB"
row "Resident memory after the runs ($BIG servers held; peak VmHWM)" \
    "$RSS_END MiB (peak $HWM_END)" "" "" ""
row "hearthd start to first answer (57 sim hosts, fresh database)" "$START_S s" "" "" ""

# ---------------------------------------------------------------- report

STEP="report"
alive
table=$DATA/table.md
write_table "$table"
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo "+dirty" || true)
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || echo unknown)
{
    echo "# hearth benchmark"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit$dirty, $(nproc) cores ($cpu)."
    echo "\`bench/run.sh\`: hearthd --dev with \`bench/bench.ini\` (4 API threads, sim spawn"
    echo "50 ms, power/delete 20 ms, tier 3 unlimited), embedded SQLite, wrk $(wrk -v 2>&1 | awk 'NR==1 {print $2}'),"
    echo "client and server on the same machine. Tokens are $USER3 on $PROJ3 (password auth)."
    echo
    echo "OpenStack reference: Debian's OpenStack packages on a 2-core machine of this"
    echo "class, measured the same way. Ratios read \"hearth is N× better\" (higher rates,"
    echo "lower latencies and memory); below 1× hearth is worse. Targets are goals, not"
    echo "assertions: this script only fails when it cannot measure."
    echo
    cat "$table"
} >"$RESULTS"
say "results (also in $RESULTS)"
echo
cat "$table"
FAILED=0
