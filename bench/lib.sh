# shellcheck shell=bash
# Helpers shared by the benchmark scripts that start their own hearthd (bench/load.sh).
# Source it after `set -euo pipefail`; set BENCH_NAME first (the prefix of messages).
#
#   hearth_start BUILD_DIR CONFIG   starts hearthd --dev --config CONFIG on a free
#                                   loopback port with a fresh data folder; sets PID,
#                                   BASE, DATA, HEARTHD, PY, START_S
#   alive                           dies when hearthd has exited
#   rss_kib / rss_mib / hwm_mib / proc_field FIELD    from /proc/PID/status
#   api METHOD PATH [BODY]          one request as $TOKEN (sets CODE and BODY; waits
#                                   and retries on 429, up to 10 times)
#   expect CODE WHAT                dies unless the last api call answered CODE
#   cloud_field CLOUD KEY           a value of clouds.yaml
#   issue_token USER PASSWORD PROJECT    sets ISSUED to a project-scoped token
#   to_ms VALUE                     wrk's 12.3us / 4.5ms / 1.2s in milliseconds
#   find_ids                        FLAVOR, IMAGE, NETWORK of m1.tiny, debian-12, shared
#   bg PID                          registers a background process for cleanup
#
# The EXIT trap stops the background processes and hearthd (TERM, then KILL after
# 10 s), removes the data folder on success (unless BENCH_KEEP=1) and keeps it on
# failure. The script sets FAILED=0 when it has finished, and STEP as it goes.

BENCH_NAME=${BENCH_NAME:-bench}
PID=
BASE=
DATA=
FAILED=1
STEP=start
BG_PIDS=()

say() { printf '\n== %s\n' "$*"; }
info() { printf '   %s\n' "$*"; }

die() {
    echo "$BENCH_NAME: FAILED during '$STEP': $*" >&2
    if [ -n "$DATA" ] && [ -s "$DATA/hearthd.log" ]; then
        echo "$BENCH_NAME: last lines of $DATA/hearthd.log:" >&2
        tail -n 15 "$DATA/hearthd.log" | sed 's/^/  /' >&2
    fi
    exit 1
}

bg() { BG_PIDS+=("$1"); }

lib_cleanup() {
    local rc=$? p
    trap - EXIT
    for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$PID" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$PID" 2>/dev/null; then
            echo "$BENCH_NAME: hearthd (pid $PID) ignored SIGTERM for 10 s; killing it" >&2
            kill -KILL "$PID" 2>/dev/null || true
        fi
        wait "$PID" 2>/dev/null || true
    fi
    if [ -n "$DATA" ] && [ -d "$DATA" ]; then
        if [ "$FAILED" = 0 ] && [ "${BENCH_KEEP:-0}" != 1 ]; then
            rm -rf "$DATA"
        else
            echo "$BENCH_NAME: kept $DATA (hearthd.log, wrk-*.txt)" >&2
        fi
    fi
    [ "$rc" = 0 ] && [ "$FAILED" != 0 ] && rc=1
    exit "$rc"
}
trap lib_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

need_tools() {
    local t
    if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=$(command -v python3) || die "python3 is needed"; fi
    for t in "$@"; do
        command -v "$t" >/dev/null || die "$t is needed (apt-get install -y $t)"
    done
}

alive() {
    kill -0 "$PID" 2>/dev/null && return 0
    local code=0
    wait "$PID" 2>/dev/null || code=$?
    PID=
    die "hearthd died (exit code $code)"
}

proc_field() { awk -v k="$1:" '$1 == k {print $2; exit}' "/proc/$PID/status"; }
rss_kib() { alive && proc_field VmRSS; }
rss_mib() { alive && awk -v k="$(proc_field VmRSS)" 'BEGIN {printf "%.1f", k / 1024}'; }
hwm_mib() { alive && awk -v k="$(proc_field VmHWM)" 'BEGIN {printf "%.1f", k / 1024}'; }

free_port() {
    "$PY" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# hearth_start BUILD_DIR CONFIG
hearth_start() {
    local build=$1 config=$2 t0 code ready=
    [ -d "$build" ] || die "no build folder '$build'"
    build=$(cd "$build" && pwd)
    HEARTHD=$build/hearthd
    # Someone may be rebuilding: the binary can be missing for a moment.
    for _ in $(seq 1 60); do
        [ -x "$HEARTHD" ] && break
        echo "$BENCH_NAME: no $HEARTHD yet (a build is running?); waiting" >&2
        sleep 5
    done
    [ -x "$HEARTHD" ] || die "no hearthd binary at $HEARTHD"
    DATA=$(mktemp -d "${TMPDIR:-/tmp}/hearth-$BENCH_NAME.XXXXXX")
    PORT=$(free_port) || die "no free port"
    BASE=http://127.0.0.1:$PORT
    say "hearthd $HEARTHD on $BASE, data $DATA, config $config"
    t0=$("$PY" -c 'import time; print(time.monotonic())')
    "$HEARTHD" --dev --config "$config" --listen "127.0.0.1:$PORT" --data "$DATA" \
        >"$DATA/hearthd.out" 2>"$DATA/hearthd.log" &
    PID=$!
    for _ in $(seq 1 150); do
        alive
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BASE/identity/v3" 2>/dev/null) || true
        if [ "$code" = 200 ] && [ -s "$DATA/clouds.yaml" ]; then
            ready=1
            break
        fi
        sleep 0.2
    done
    [ -n "$ready" ] || die "hearthd did not answer GET /identity/v3 with 200 within 30 s"
    START_S=$("$PY" -c "import time; print(round(time.monotonic() - $t0, 2))")
    info "ready in $START_S s (pid $PID)"
}

# api METHOD PATH [BODY]: one request as $TOKEN; sets CODE and BODY. A 429 is
# waited out (Retry-After) and retried: setup must not fail on the rate limiter.
api() {
    local args=(-sS -o "$DATA/.body" -D "$DATA/.hdr" -w '%{http_code}' --max-time 60 -X "$1"
        -H 'Accept: application/json') wait try
    [ -n "${TOKEN:-}" ] && args+=(-H "X-Auth-Token: $TOKEN")
    [ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
    for try in $(seq 1 10); do
        CODE=$(curl "${args[@]}" "$BASE$2" 2>"$DATA/.err") || CODE=000
        BODY=$(cat "$DATA/.body" 2>/dev/null || true)
        [ "$CODE" = 429 ] || return 0
        wait=$(awk 'tolower($1) == "retry-after:" {print $2 + 0}' "$DATA/.hdr" | tr -d '\r')
        info "$1 $2: 429, retrying after ${wait:-1} s (try $try)"
        sleep "${wait:-1}"
    done
}
expect() { # expect CODE WHAT
    [ "$CODE" = "$1" ] || die "$2: HTTP $CODE (expected $1): $(head -c 400 <<<"$BODY") $(cat "$DATA/.err")"
}

cloud_field() {
    awk -v c="  $1:" -v k="$2:" '$0 == c {f = 1; next} f && /^  [^ ]/ {f = 0} f && $1 == k {print $2; exit}' \
        "$DATA/clouds.yaml"
}

# issue_token USER PASSWORD PROJECT: sets ISSUED (password auth, scoped to the project
# named PROJECT in the Default domain).
issue_token() {
    local body
    body=$(jq -cn --arg u "$1" --arg p "$2" --arg pr "$3" \
        '{auth: {identity: {methods: ["password"], password: {user: {name: $u,
          domain: {name: "Default"}, password: $p}}}, scope: {project: {name: $pr,
          domain: {name: "Default"}}}}}')
    TOKEN='' api POST /identity/v3/auth/tokens "$body"
    expect 201 "POST /identity/v3/auth/tokens as $1"
    ISSUED=$(awk 'tolower($1) == "x-subject-token:" {print $2}' "$DATA/.hdr" | tr -d '\r')
    [ -n "$ISSUED" ] || die "no X-Subject-Token in the answer to POST /identity/v3/auth/tokens"
}

# to_ms VALUE: wrk's "12.3us" / "4.5ms" / "1.2s" / "2.0m" in milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        x = v + 0
        if (v ~ /us$/) x /= 1000; else if (v ~ /ms$/) x = x; else if (v ~ /m$/) x *= 60000;
        else if (v ~ /s$/) x *= 1000; else x = -1
        printf "%.2f", x }'
}

# find_ids: the ids of flavor m1.tiny, image debian-12 and network shared (as $TOKEN)
# into FLAVOR, IMAGE and NETWORK; dies when one is missing or not unique.
find_ids() {
    api GET /compute/v2.1/flavors
    expect 200 "GET /compute/v2.1/flavors"
    FLAVOR=$(jq -r '.flavors[] | select(.name == "m1.tiny") | .id' <<<"$BODY")
    api GET /image/v2/images
    expect 200 "GET /image/v2/images"
    IMAGE=$(jq -r '.images[] | select(.name == "debian-12") | .id' <<<"$BODY")
    api GET "/network/v2.0/networks?name=shared"
    expect 200 "GET /network/v2.0/networks?name=shared"
    NETWORK=$(jq -r '.networks[] | select(.name == "shared") | .id' <<<"$BODY")
    [ -n "$FLAVOR" ] && [ -n "$IMAGE" ] && [ -n "$NETWORK" ] ||
        die "ids not found: flavor m1.tiny '$FLAVOR', image debian-12 '$IMAGE', network shared '$NETWORK'"
    case "$FLAVOR$IMAGE$NETWORK" in *$'\n'*) die "more than one m1.tiny, debian-12 or shared" ;; esac
    info "m1.tiny $FLAVOR, debian-12 $IMAGE, shared $NETWORK"
}
