# shellcheck shell=bash
# Shared helpers for hearth's scenario tests.
#
# A scenario test starts the real hearthd (dev region, sim drivers) on a free
# loopback port with a fresh data directory, drives it with the real
# `openstack` CLI and with curl, and checks what a user would see.
#
# Usage in a test file:
#   set -u
#   . "$(dirname "$0")/lib.sh"
#   start_hearthd || finish
#   expect_ok   "server list works"  os1 server list -f json
#   expect_eq   "no servers yet"     "0" "$(jqo length)"
#   expect_fail "member cannot create flavors" "403" os1 flavor create ...
#   api GET /compute/v2.1/flavors "$(token_of hearth-tier1)"; expect_code "..." 200
#   finish                       # prints "N passed, N failed", exits non-zero on failure
#
# Assertions: expect_ok, expect_fail (NEEDLE "" = any failure), expect_fail_re,
# expect_eq, expect_contains, expect_not_contains, expect_match, expect_code,
# expect_holds (an awk expression);
# each prints "ok - DESC" or "not ok - DESC" and counts. skip DESC REASON
# prints "ok - DESC # SKIP REASON" and is counted apart.
#
# Every command run through run/expect_ok/expect_fail leaves its stdout in
# $OUT, its stderr in $ERR and its exit code in $RC; a failed assertion prints
# the last command with its output, indented with "# ".
#
# Environment:
#   HEARTH_BUILD      directory holding hearthd and hearth (default /work/main/build)
#   HEARTHD_ARGS      extra arguments for hearthd (word-split)
#   HEARTH_LISTEN_ADDR the address hearthd listens on (default 127.0.0.1; 0.0.0.0 for
#                     agents in other network namespaces)
#   HEARTH_TEST_KEEP  1 = keep the data directory even when everything passed
#   CMD_TIMEOUT       seconds allowed to one CLI call (default 120)

set -u

BUILD=${HEARTH_BUILD:-/work/main/build}
HEARTHD_BIN=$BUILD/hearthd
HEARTH_BIN=$BUILD/hearth
CMD_TIMEOUT=${CMD_TIMEOUT:-120}

# The tests must only see the clouds hearthd writes, never the caller's cloud.
for _v in $(compgen -e); do
    case $_v in OS_*) unset "$_v" ;; esac
done
unset _v

PASSED=0
FAILED=0
SKIPPED=0
_FINISHED=0
HEARTHD_PID=
HEARTH_PORT=
HEARTH_DATA=
BASE=
AUTH_URL=
OUT='' ERR='' RC=0 LAST_CMD='' CODE=''

# ---------------------------------------------------------------- reporting

_dump_last() {
    [ -n "$LAST_CMD" ] || return 0
    echo "#   command: $LAST_CMD"
    echo "#   exit code: $RC"
    if [ -n "$OUT" ]; then
        echo "#   stdout:"
        printf '%s\n' "$OUT" | head -n 40 | sed 's/^/#     /'
    fi
    if [ -n "$ERR" ]; then
        echo "#   stderr:"
        printf '%s\n' "$ERR" | tail -n 20 | sed 's/^/#     /'
    fi
}

pass() {
    PASSED=$((PASSED + 1))
    echo "ok - $1"
}

# fail DESC [DETAIL...]: DETAIL lines are printed, then the last command.
fail() {
    FAILED=$((FAILED + 1))
    echo "not ok - $1"
    shift
    local line
    for line in "$@"; do echo "#   $line"; done
    _dump_last
}

# holds EXPR: true when the awk expression EXPR holds (false on a syntax error, such as
# an empty number).
holds() { awk "BEGIN { exit !($1) }" </dev/null 2>/dev/null; }

# expect_holds DESC EXPR: EXPR (numbers already substituted) must hold.
expect_holds() {
    if holds "$2"; then
        pass "$1"
    else
        fail "$1" "expected to hold: $2"
        return 1
    fi
}

skip() {
    SKIPPED=$((SKIPPED + 1))
    echo "ok - $1 # SKIP ${2:-}"
}

note() { echo "# $*"; }

# ---------------------------------------------------------------- commands

# run CMD...: runs a command (function or program), captures stdout in OUT,
# stderr in ERR, exit code in RC. Never fails the script.
run() {
    local of ef
    of=$(mktemp) ef=$(mktemp)
    LAST_CMD="$*"
    "$@" >"$of" 2>"$ef"
    RC=$?
    OUT=$(cat "$of")
    ERR=$(cat "$ef")
    rm -f "$of" "$ef"
    return 0
}

# The openstack CLI as each dev cloud (clouds.yaml written by hearthd).
osc() { timeout "$CMD_TIMEOUT" openstack "$@"; }
osadmin() { osc --os-cloud hearth-admin "$@"; }
os1() { osc --os-cloud hearth-tier1 "$@"; }
os2() { osc --os-cloud hearth-tier2 "$@"; }
os3() { osc --os-cloud hearth-tier3 "$@"; }

# os_as USER PASSWORD PROJECT ARGS...: the CLI as any user (Default domain).
os_as() {
    local user=$1 pass=$2 project=$3
    shift 3
    osc --os-auth-url "$AUTH_URL" --os-identity-api-version 3 \
        --os-username "$user" --os-password "$pass" \
        --os-project-name "$project" \
        --os-user-domain-name Default --os-project-domain-name Default "$@"
}

# hearth_admin ARGS...: the admin CLI with the credentials of admin-openrc.
hearth_admin() {
    (
        # shellcheck disable=SC1091
        . "$HEARTH_DATA/admin-openrc" || exit 99
        timeout "$CMD_TIMEOUT" "$HEARTH_BIN" "$@"
    )
}

# hearth_as USER PASSWORD PROJECT ARGS...: the admin CLI with other credentials.
hearth_as() {
    local user=$1 pass=$2 project=$3
    shift 3
    (
        # shellcheck disable=SC1091
        . "$HEARTH_DATA/admin-openrc" || exit 99
        export OS_USERNAME=$user OS_PASSWORD=$pass OS_PROJECT_NAME=$project
        timeout "$CMD_TIMEOUT" "$HEARTH_BIN" "$@"
    )
}

# cloud_field CLOUD FIELD: a value of clouds.yaml (username, password, project_name).
cloud_field() {
    awk -v c="  $1:" -v f="$2:" '$0 == c {on = 1; next}
        on && /^  [^ ]/ {on = 0}
        on && $1 == f {print $2; exit}' "$HEARTH_DATA/clouds.yaml"
}

# token_of CLOUD: prints a fresh token id for a cloud of clouds.yaml.
token_of() {
    osc --os-cloud "$1" token issue -f value -c id
}

# api METHOD PATH TOKEN [JSON_BODY [EXTRA_CURL_ARGS...]]: plain HTTP against
# hearthd. Sets CODE (HTTP status, 000 if no answer), OUT (body), RC.
# TOKEN may be "" for no X-Auth-Token; METHOD HEAD is supported.
api() {
    local method=$1 path=$2 token=$3 body=${4:-}
    shift 3
    [ $# -gt 0 ] && shift
    local args=(-sS -o "$HEARTH_DATA/.api-body" -w '%{http_code}' --max-time 15)
    if [ "$method" = HEAD ]; then
        args+=(-I)
    else
        args+=(-X "$method" -H 'Accept: application/json')
    fi
    [ -n "$token" ] && args+=(-H "X-Auth-Token: $token")
    [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
    LAST_CMD="curl -X $method $BASE$path $*${body:+ -d '$body'}"
    : >"$HEARTH_DATA/.api-body"
    CODE=$(curl "${args[@]}" "$@" "$BASE$path" 2>"$HEARTH_DATA/.api-err")
    RC=$?
    [ -n "$CODE" ] || CODE=000
    OUT=$(cat "$HEARTH_DATA/.api-body")
    ERR="HTTP $CODE $(cat "$HEARTH_DATA/.api-err")"
    return 0
}

# jqo FILTER: applies jq -r FILTER to $OUT (prints nothing on bad JSON).
jqo() { jq -r "$1" <<<"$OUT" 2>/dev/null; }

# limit_of NAME: value of NAME in the output of `limits show --absolute -f json`
# held in $OUT.
limit_of() { jq -r --arg n "$1" '.[] | select(.Name == $n) | .Value' <<<"$OUT" 2>/dev/null; }

# server_status TOKEN ID: prints the server's status over the API ("GONE" on 404).
server_status() {
    local code
    code=$(curl -sS -o "$HEARTH_DATA/.st-body" -w '%{http_code}' --max-time 10 \
        -H "X-Auth-Token: $1" "$BASE/compute/v2.1/servers/$2" 2>/dev/null)
    case $code in
        200) jq -r '.server.status // "?"' "$HEARTH_DATA/.st-body" 2>/dev/null ;;
        404) echo GONE ;;
        *) echo "HTTP-${code:-000}" ;;
    esac
}

# wait_status TOKEN ID STATUS [TIMEOUT_S]: polls every 0.5 s until the server
# reaches STATUS (GONE = deleted). Sets WAITED to the last status seen.
# Stops early on ERROR unless ERROR is awaited. Returns 0 if reached.
WAITED=
wait_status() {
    local token=$1 id=$2 want=$3 timeout=${4:-20}
    local deadline=$((SECONDS + timeout))
    while :; do
        WAITED=$(server_status "$token" "$id")
        [ "$WAITED" = "$want" ] && return 0
        [ "$WAITED" = ERROR ] && return 1
        [ $SECONDS -ge $deadline ] && return 1
        sleep 0.5
    done
}

# server_body NAME IMAGE_ID FLAVOR_ID NETWORK_ID: a POST /servers body (2.1).
server_body() {
    printf '{"server":{"name":"%s","imageRef":"%s","flavorRef":"%s","networks":[{"uuid":"%s"}]}}' \
        "$1" "$2" "$3" "$4"
}

# post_server DIR I TOKEN BODY [RETRY_429]: one POST /compute/v2.1/servers;
# writes DIR/I.code (HTTP status, 000 if no answer) and DIR/I.body. With
# RETRY_429=1 a 429 is retried after its Retry-After (up to 10 tries), as a
# patient user would: the tests measure quota, not rate limits.
post_server() {
    local dir=$1 i=$2 token=$3 body=$4 retry=${5:-0} try code ra
    for try in 1 2 3 4 5 6 7 8 9 10; do
        code=$(curl -s -o "$dir/$i.body" -D "$dir/$i.hdr" -w '%{http_code}' --max-time 30 \
            -X POST -H "X-Auth-Token: $token" -H 'Content-Type: application/json' \
            --data-binary "$body" "$BASE/compute/v2.1/servers" 2>/dev/null)
        if [ "$retry" != 1 ] || [ "$code" != 429 ] || [ "$try" = 10 ]; then break; fi
        ra=$(awk 'tolower($1) == "retry-after:" {print int($2)}' "$dir/$i.hdr" 2>/dev/null)
        sleep "${ra:-1}"
    done
    echo "${code:-000}" >"$dir/$i.code"
}

# code_count DIR CODE: how many DIR/*.code hold CODE.
code_count() { cat "$1"/*.code 2>/dev/null | grep -cx -- "$2"; }

# code_summary DIR: "202 x10, 403 x40"
code_summary() {
    cat "$1"/*.code 2>/dev/null | sort | uniq -c | awk '{printf "%s%s x%s", sep, $2, $1; sep=", "}'
}

# ---------------------------------------------------------------- assertions

# expect_ok DESC CMD...: CMD must exit 0.
expect_ok() {
    local desc=$1
    shift
    run "$@"
    if [ "$RC" -eq 0 ]; then pass "$desc"; else fail "$desc"; fi
    return "$RC"
}

# expect_fail DESC NEEDLE CMD...: CMD must exit non-zero and, if NEEDLE is not
# empty, print NEEDLE (fixed string) on stdout or stderr.
expect_fail() {
    local desc=$1 needle=$2
    shift 2
    run "$@"
    if [ "$RC" -eq 0 ]; then
        fail "$desc" "the command succeeded but should have failed"
        return 1
    fi
    if [ -n "$needle" ] && ! grep -qF -- "$needle" <<<"$OUT$ERR"; then
        fail "$desc" "the command failed, but its output lacks: $needle"
        return 1
    fi
    pass "$desc"
}

# expect_fail_re DESC ERE CMD...: as expect_fail, NEEDLE is a case-insensitive ERE.
expect_fail_re() {
    local desc=$1 re=$2
    shift 2
    run "$@"
    if [ "$RC" -eq 0 ]; then
        fail "$desc" "the command succeeded but should have failed"
        return 1
    fi
    if ! grep -qEi -- "$re" <<<"$OUT$ERR"; then
        fail "$desc" "the command failed, but its output does not match /$re/"
        return 1
    fi
    pass "$desc"
}

# expect_eq DESC EXPECTED ACTUAL
expect_eq() {
    if [ "$2" = "$3" ]; then
        pass "$1"
    else
        fail "$1" "expected: '$2'" "actual:   '$3'"
        return 1
    fi
}

# expect_contains DESC NEEDLE HAYSTACK (fixed string)
expect_contains() {
    if grep -qF -- "$2" <<<"$3"; then
        pass "$1"
    else
        fail "$1" "expected to contain: '$2'" "actual: '$(head -c 600 <<<"$3")'"
        return 1
    fi
}

# expect_not_contains DESC NEEDLE HAYSTACK (fixed string)
expect_not_contains() {
    if grep -qF -- "$2" <<<"$3"; then
        fail "$1" "expected NOT to contain: '$2'" "actual: '$(head -c 600 <<<"$3")'"
        return 1
    fi
    pass "$1"
}

# expect_match DESC ERE ACTUAL
expect_match() {
    if grep -qE -- "$2" <<<"$3"; then
        pass "$1"
    else
        fail "$1" "expected to match: /$2/" "actual: '$(head -c 600 <<<"$3")'"
        return 1
    fi
}

# expect_code DESC EXPECTED_HTTP_CODE: checks CODE of the last api call.
expect_code() {
    if [ "$CODE" = "$2" ]; then
        pass "$1"
    else
        fail "$1" "expected HTTP $2, got HTTP $CODE"
        return 1
    fi
}

# ---------------------------------------------------------------- hearthd

_free_port() {
    /usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' 2>/dev/null && return 0
    local p
    for p in $(shuf -i 20000-60000 -n 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
    done
    return 1
}

# _launch_hearthd: starts hearthd on HEARTH_PORT/HEARTH_DATA and waits up to
# TIMEOUT seconds (default 15) until GET /identity/v3 answers 200 and the
# clouds.yaml and admin-openrc files exist.
_launch_hearthd() {
    local timeout=${1:-15}
    # shellcheck disable=SC2086
    "$HEARTHD_BIN" --dev --listen "${HEARTH_LISTEN_ADDR:-127.0.0.1}:$HEARTH_PORT" \
        --data "$HEARTH_DATA" \
        ${HEARTHD_ARGS:-} 2>>"$HEARTH_DATA/hearthd.log" >/dev/null &
    HEARTHD_PID=$!
    local deadline=$((SECONDS + timeout)) code
    while :; do
        if ! kill -0 "$HEARTHD_PID" 2>/dev/null; then
            wait "$HEARTHD_PID" 2>/dev/null
            code=$?
            LAST_CMD=
            fail "hearthd starts (it exited with code $code)" \
                "last lines of $HEARTH_DATA/hearthd.log:" \
                "$(tail -n 15 "$HEARTH_DATA/hearthd.log" 2>/dev/null | sed 's/^/  /')"
            HEARTHD_PID=
            return 1
        fi
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BASE/identity/v3" 2>/dev/null)
        if [ "$code" = 200 ] && [ -s "$HEARTH_DATA/clouds.yaml" ] &&
            [ -s "$HEARTH_DATA/admin-openrc" ]; then
            return 0
        fi
        if [ $SECONDS -ge $deadline ]; then
            LAST_CMD=
            fail "hearthd is ready within ${timeout}s (last GET /identity/v3: ${code:-none})" \
                "last lines of $HEARTH_DATA/hearthd.log:" \
                "$(tail -n 15 "$HEARTH_DATA/hearthd.log" 2>/dev/null | sed 's/^/  /')"
            return 1
        fi
        sleep 0.2
    done
}

# start_hearthd: new data directory, free port, start, wait for readiness,
# export OS_CLIENT_CONFIG_FILE. Returns non-zero (after recording a failure)
# if hearthd could not be started.
start_hearthd() {
    if [ ! -x "$HEARTHD_BIN" ]; then
        LAST_CMD=
        fail "hearthd binary exists at $HEARTHD_BIN (set HEARTH_BUILD)"
        return 1
    fi
    HEARTH_DATA=$(mktemp -d "${TMPDIR:-/tmp}/hearth-scenario.XXXXXX") || return 1
    HEARTH_PORT=$(_free_port) || { fail "found a free port"; return 1; }
    BASE=http://127.0.0.1:$HEARTH_PORT
    _launch_hearthd 15 || return 1
    export OS_CLIENT_CONFIG_FILE=$HEARTH_DATA/clouds.yaml
    AUTH_URL=$(
        # shellcheck disable=SC1091
        . "$HEARTH_DATA/admin-openrc" && echo "${OS_AUTH_URL:-}"
    )
    [ -n "$AUTH_URL" ] || AUTH_URL=$BASE/identity/v3
    note "hearthd pid $HEARTHD_PID on $BASE, data $HEARTH_DATA"
    return 0
}

# stop_hearthd: SIGTERM, wait up to 10 s (a failure if that is not enough),
# then SIGKILL.
stop_hearthd() {
    [ -n "$HEARTHD_PID" ] || return 0
    local pid=$HEARTHD_PID i
    HEARTHD_PID=
    kill -TERM "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        LAST_CMD=
        fail "hearthd (pid $pid) stops within 10 s of SIGTERM" \
            "last lines of $HEARTH_DATA/hearthd.log:" \
            "$(tail -n 5 "$HEARTH_DATA/hearthd.log" 2>/dev/null | sed 's/^/  /')"
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    return 0
}

# kill9_hearthd: SIGKILL, no grace.
kill9_hearthd() {
    [ -n "$HEARTHD_PID" ] || return 0
    kill -KILL "$HEARTHD_PID" 2>/dev/null
    wait "$HEARTHD_PID" 2>/dev/null
    HEARTHD_PID=
}

# restart_hearthd [TIMEOUT_S]: starts hearthd again on the same port and data.
restart_hearthd() {
    _launch_hearthd "${1:-15}"
}

# ---------------------------------------------------------------- end

_cleanup_data() {
    if [ -n "$HEARTH_DATA" ] && [ -d "$HEARTH_DATA" ]; then
        if [ "$FAILED" -gt 0 ] || [ "${HEARTH_TEST_KEEP:-0}" = 1 ]; then
            note "kept data directory and log: $HEARTH_DATA (hearthd.log)"
        else
            rm -rf "$HEARTH_DATA"
        fi
    fi
    HEARTH_DATA=
}

_summary() {
    if [ "$SKIPPED" -gt 0 ]; then note "$SKIPPED skipped"; fi
    echo "$PASSED passed, $FAILED failed"
}

# at_exit CMD: runs CMD (eval'd) when the test ends, however it ends, before hearthd
# stops (agents, test hypervisors). Last added, first run.
_AT_EXIT=()
at_exit() { _AT_EXIT=("$1" "${_AT_EXIT[@]}"); }
_run_at_exit() {
    local cmd
    for cmd in "${_AT_EXIT[@]}"; do eval "$cmd"; done
    _AT_EXIT=()
}

_on_exit() {
    local rc=$?
    [ "$_FINISHED" -eq 1 ] && return
    _FINISHED=1
    _run_at_exit
    stop_hearthd
    LAST_CMD=
    fail "test script ran to its end (it stopped early with exit code $rc)"
    _cleanup_data
    _summary
    exit 1
}
trap _on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# finish: stops hearthd, removes the data directory unless something failed,
# prints the counts as the last line, exits non-zero if anything failed.
finish() {
    _run_at_exit
    stop_hearthd
    _FINISHED=1
    _cleanup_data
    _summary
    if [ "$FAILED" -gt 0 ]; then exit 1; fi
    exit 0
}
