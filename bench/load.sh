#!/usr/bin/env bash
# hearth load benchmark: starts its own hearthd (dev region + bench/load.ini: the rate
# limiter ON) on a free loopback port with a temporary data folder, creates projects
# through the Keystone and hearth APIs, then runs three wrk processes at once with
# bench/mix.lua for BENCH_LOAD_SECONDS, 200 connections in all by default:
#   reads   150 connections: GET servers?limit=100, servers/detail?limit=100, a server
#           (of the 20 made beforehand in each project), flavors; over the 6 projects
#   writes   36 connections (6 per project): POST /servers, then DELETE of each server
#           it created, so the region does not fill up
#   flooder  14 connections: the read mix as one more project at tier 1 with the
#           default limits (20 requests/s, burst 40), several times over its limit:
#           it must be answered 429 while the 6 measured projects (tier 3, limits
#           raised) never are
# and samples hearthd's resident memory (VmRSS) every 5 s meanwhile, and the CPU
# time hearthd, wrk and any other process used. It prints a table (throughput,
# latency percentiles, statuses; reads apart from writes; the memory series) also
# written to bench/results-load.md.
#
# Usage: bench/load.sh [BUILD_DIR]        (default: the repository's build/)
# Environment (defaults in brackets):
#   BENCH_LOAD_SECONDS     [120]  length of the wrk runs
#   BENCH_LOAD_PROJECTS    [6]    measured projects (tier 3)
#   BENCH_LOAD_SERVERS     [20]   servers made beforehand in each measured project
#   BENCH_LOAD_READ_CONNS  [150]  read connections (2 wrk threads)
#   BENCH_LOAD_WRITE_CONNS [6]    write connections per measured project (1 thread each)
#   BENCH_LOAD_FLOOD_CONNS [14]   flooder connections (2 wrk threads)
#   BENCH_KEEP             [0]    1 = keep the data folder (it is kept on failure anyway)
#   BENCH_LOAD_RESULTS     [bench/results-load.md]
#
# It never asserts a time. It fails (non-zero exit) only when it cannot measure
# (hearthd dies or does not start, setup fails) or when any answer is neither 2xx
# nor 429, or a socket error occurs: it says which.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
BENCH_NAME=load
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

DUR=${BENCH_LOAD_SECONDS:-120}
NPROJ=${BENCH_LOAD_PROJECTS:-6}
NSERV=${BENCH_LOAD_SERVERS:-20}
READ_CONNS=${BENCH_LOAD_READ_CONNS:-150}
WRITE_PER=${BENCH_LOAD_WRITE_CONNS:-6}
FLOOD_CONNS=${BENCH_LOAD_FLOOD_CONNS:-14}
RESULTS=${BENCH_LOAD_RESULTS:-$here/results-load.md}
NFLOOD_SERV=5   # tier 1 allows 10 instances
SAMPLE_S=5
WRITE_CONNS=$(( NPROJ * WRITE_PER ))
TOTAL_CONNS=$(( READ_CONNS + WRITE_CONNS + FLOOD_CONNS ))
for v in DUR NPROJ NSERV READ_CONNS WRITE_PER FLOOD_CONNS; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done
[ "$READ_CONNS" -ge 2 ] && [ "$FLOOD_CONNS" -ge 2 ] ||
    die "BENCH_LOAD_READ_CONNS and BENCH_LOAD_FLOOD_CONNS must be at least 2 (2 wrk threads each)"
COMMAND="${BENCH_LOAD_SECONDS:+BENCH_LOAD_SECONDS=$BENCH_LOAD_SECONDS }bench/load.sh${1:+ $1}"

need_tools wrk curl jq

STEP="start hearthd"
hearth_start "${1:-$repo/build}" "$here/load.ini"

# ---------------------------------------------------------------- setup

STEP="admin token"
issue_token "$(cloud_field hearth-admin username)" "$(cloud_field hearth-admin password)" \
    "$(cloud_field hearth-admin project_name)"
ADMIN_TOKEN=$ISSUED
TOKEN=$ADMIN_TOKEN

STEP="look up role, flavor, image, network"
api GET "/identity/v3/roles?name=member"
expect 200 "GET /identity/v3/roles?name=member"
MEMBER=$(jq -r '.roles[] | select(.name == "member") | .id' <<<"$BODY")
[ -n "$MEMBER" ] && [[ $MEMBER != *$'\n'* ]] || die "no single role 'member': '$MEMBER'"
info "role member $MEMBER"
find_ids
server_body() { # server_body NAME [COUNT]
    jq -cn --arg n "$1" --arg i "$IMAGE" --arg f "$FLAVOR" --arg net "$NETWORK" --argjson c "${2:-1}" \
        '{server: ({name: $n, imageRef: $i, flavorRef: $f, networks: [{uuid: $net}]}
          + (if $c > 1 then {min_count: $c, max_count: $c} else {} end))}'
}

# make_project NAME TIER: a project, a member user of it, its tier; sets P_ID, P_TOKEN.
make_project() {
    local name=$1 tier=$2 pw uid
    TOKEN=$ADMIN_TOKEN
    api POST /identity/v3/projects "$(jq -cn --arg n "$name" \
        '{project: {name: $n, domain_id: "default", description: "bench/load.sh"}}')"
    expect 201 "POST /identity/v3/projects ($name)"
    P_ID=$(jq -r .project.id <<<"$BODY")
    pw=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
    api POST /identity/v3/users "$(jq -cn --arg n "$name-user" --arg p "$pw" --arg pr "$P_ID" \
        '{user: {name: $n, password: $p, domain_id: "default", default_project_id: $pr}}')"
    expect 201 "POST /identity/v3/users ($name-user)"
    uid=$(jq -r .user.id <<<"$BODY")
    api PUT "/identity/v3/projects/$P_ID/users/$uid/roles/$MEMBER"
    expect 204 "PUT member role of $name-user on $name"
    api PUT "/hearth/v1/projects/$P_ID/tier" "{\"tier\": $tier}"
    expect 200 "PUT /hearth/v1/projects/$P_ID/tier ($name, tier $tier)"
    [ "$(jq -r .project.tier <<<"$BODY")" = "$tier" ] || die "$name is not at tier $tier: $BODY"
    issue_token "$name-user" "$pw" "$name"
    P_TOKEN=$ISSUED
}

# servers_of NAME TOKEN COUNT: waits until the project's COUNT servers are ACTIVE
# (60 s at most) and sets P_SERVERS to their ids, one a line.
servers_of() {
    local name=$1 n=$3 active
    TOKEN=$2
    for _ in $(seq 1 300); do
        api GET "/compute/v2.1/servers/detail?limit=1000"
        expect 200 "GET /compute/v2.1/servers/detail ($name)"
        active=$(jq '[.servers[] | select(.status == "ACTIVE")] | length' <<<"$BODY")
        [ "$active" = "$n" ] && break
        if jq -e '.servers[] | select(.status == "ERROR")' <<<"$BODY" >/dev/null; then
            die "a server of $name went to ERROR: $(jq -c '[.servers[] | select(.status == "ERROR")][0]' <<<"$BODY")"
        fi
        sleep 0.2
    done
    [ "$active" = "$n" ] || die "$name: $active of $n servers ACTIVE after 60 s"
    P_SERVERS=$(jq -r '.servers[].id' <<<"$BODY")
}

# The data wrk reads (tokens and ids): a Lua file only this user can read.
MIX_DATA=$DATA/mix-data.lua
umask_old=$(umask)
umask 077
: >"$MIX_DATA"
umask "$umask_old"
lua_str() { # a token or id as a Lua string literal (they are plain ASCII)
    [[ $1 =~ ^[A-Za-z0-9._~+/=-]+$ ]] || die "unexpected characters in '$1'"
    printf '"%s"' "$1"
}
lua_project() { # lua_project TOKEN IDS...
    local tok=$1 id
    shift
    printf '{ token = %s, servers = {' "$(lua_str "$tok")"
    for id in "$@"; do printf ' %s,' "$(lua_str "$id")"; done
    printf ' } }'
}

STEP="create projects"
say "setup: $NPROJ projects at tier 3 with $NSERV servers each, 1 flooder project at tier 1 with $NFLOOD_SERV"
PROJ_NAMES=()
{
    echo "-- written by bench/load.sh for bench/mix.lua"
    echo "return {"
    printf '  create_body = [[%s]],\n' "$(server_body load-w)"
    echo "  projects = {"
} >>"$MIX_DATA"
for i in $(seq 1 "$NPROJ"); do
    name=load-p$i
    make_project "$name" 3
    TOKEN=$P_TOKEN
    api POST /compute/v2.1/servers "$(server_body "$name-s" "$NSERV")"
    expect 202 "POST /compute/v2.1/servers ($NSERV in $name)"
    servers_of "$name" "$P_TOKEN" "$NSERV"
    mapfile -t ids <<<"$P_SERVERS"
    printf '    %s,\n' "$(lua_project "$P_TOKEN" "${ids[@]}")" >>"$MIX_DATA"
    PROJ_NAMES+=("$name:$P_ID:$P_TOKEN")
    info "$name ($P_ID): tier 3, $NSERV servers ACTIVE"
done
echo "  }," >>"$MIX_DATA"
make_project load-flooder 1
FLOOD_ID=$P_ID
TOKEN=$P_TOKEN
api POST /compute/v2.1/servers "$(server_body load-flooder-s "$NFLOOD_SERV")"
expect 202 "POST /compute/v2.1/servers ($NFLOOD_SERV in load-flooder)"
servers_of load-flooder "$P_TOKEN" "$NFLOOD_SERV"
mapfile -t ids <<<"$P_SERVERS"
printf '  flooder = %s,\n}\n' "$(lua_project "$P_TOKEN" "${ids[@]}")" >>"$MIX_DATA"
info "load-flooder ($FLOOD_ID): tier 1, $NFLOOD_SERV servers ACTIVE"
TOKEN=$ADMIN_TOKEN
api GET "/hearth/v1/projects/$FLOOD_ID"
expect 200 "GET /hearth/v1/projects/$FLOOD_ID"
info "load-flooder limits: $(jq -c '.project.limits | {instances}' <<<"$BODY" 2>/dev/null || echo '?')"

# ---------------------------------------------------------------- run

STEP="load"
sleep 2 # let the conductor settle
RSS_BEFORE=$(rss_mib)
THREADS_BEFORE=$(proc_field Threads)
say "load: $DUR s, $TOTAL_CONNS connections: $READ_CONNS reads, $WRITE_CONNS writes" \
    "($WRITE_PER per project), $FLOOD_CONNS flooder; hearthd VmRSS $RSS_BEFORE MiB"

# cpu_snapshot FILE: the CPU time of every process and of the machine, now (JSON).
cpu_snapshot() {
    "$PY" - "$1" <<'PYEOF'
import json, os, sys
procs = {}
for pid in os.listdir("/proc"):
    if not pid.isdigit():
        continue
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
    except OSError:
        continue
    comm = st[st.index("(") + 1:st.rindex(")")]
    f = st[st.rindex(")") + 2:].split()
    procs[pid] = [comm, int(f[11]) + int(f[12]), int(f[16])]  # utime + stime, nice
with open("/proc/stat") as f:
    cpu = [int(x) for x in f.readline().split()[1:]]
with open("/proc/uptime") as f:
    up = float(f.read().split()[0])
json.dump({"uptime": up, "cpu": cpu, "procs": procs}, open(sys.argv[1], "w"))
PYEOF
}
# cpu_report A B HEARTHD_PID: sets CPU_SECS, CPU_HEARTHD, CPU_WRK (% of one core),
# CPU_OTHERS (other processes over 5 % of a core) and CPU_MACHINE (all CPUs).
cpu_report() {
    local out
    out=$("$PY" - "$@" <<'PYEOF'
import json, os, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
hz = os.sysconf("SC_CLK_TCK")
secs = max(b["uptime"] - a["uptime"], 0.01)
def pct(ticks):
    return 100.0 * ticks / hz / secs
used = {}
for pid, (comm, t, nice) in b["procs"].items():
    t0 = a["procs"].get(pid, [comm, 0, nice])[1]
    if t - t0 > 0:
        used[pid] = (comm, t - t0, nice)
hearthd = pct(used.get(sys.argv[3], ("", 0, 0))[1])
wrk = pct(sum(t for c, t, n in used.values() if c == "wrk"))
others = sorted(((pct(t), c, p, n) for p, (c, t, n) in used.items()
                 if p != sys.argv[3] and c != "wrk"), reverse=True)
others = ", ".join(f"{c} (pid {p}, nice {n}) {x:.0f} %" for x, c, p, n in others if x >= 5)
others = others or "none over 5 % of a core"
d = [y - x for x, y in zip(a["cpu"], b["cpu"])]
tot = sum(d[:8]) or 1
names = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"]
machine = ", ".join(f"{n} {100.0 * v / tot:.0f} %" for n, v in zip(names, d[:8])
                    if n in ("user", "nice", "system", "idle", "iowait", "steal"))
print(f"{secs:.0f}\t{hearthd:.0f}\t{wrk:.0f}\t{others}\t{machine}")
PYEOF
    ) || die "cpu_report: $out"
    IFS=$'\t' read -r CPU_SECS CPU_HEARTHD CPU_WRK CPU_OTHERS CPU_MACHINE <<<"$out"
}

run_wrk() { # run_wrk MODE THREADS CONNECTIONS: in the background; sets WRK_PID
    MIX_MODE=$1 MIX_DATA=$MIX_DATA wrk -t"$2" -c"$3" -d"${DUR}s" --timeout 30s \
        -s "$here/mix.lua" "$BASE" >"$DATA/wrk-$1.txt" 2>&1 &
    WRK_PID=$!
    bg "$WRK_PID"
}
run_wrk read 2 "$READ_CONNS"
W_READ=$WRK_PID
run_wrk write "$NPROJ" "$WRITE_CONNS"
W_WRITE=$WRK_PID
run_wrk flood 2 "$FLOOD_CONNS"
W_FLOOD=$WRK_PID

# VmRSS every SAMPLE_S seconds from the start until the three have finished.
RSS_T=()
RSS_K=()
t0=$EPOCHREALTIME
cpu_snapshot "$DATA/cpu-0.json"
k=0
while :; do
    alive
    running=0
    for p in "$W_READ" "$W_WRITE" "$W_FLOOD"; do kill -0 "$p" 2>/dev/null && running=1; done
    [ "$running" = 1 ] || break
    RSS_T+=("$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.0f", b - a}')")
    RSS_K+=("$(proc_field VmRSS)")
    # The CPU figures end at the last sample well before wrk's end: an exiting process
    # may show no CPU time at all.
    [ "${RSS_T[-1]}" -gt $(( DUR - 2 )) ] || cpu_snapshot "$DATA/cpu-1.json"
    k=$((k + 1))
    # sleep until the next multiple of SAMPLE_S, or until the runs end
    next=$(awk -v a="$t0" -v b="$EPOCHREALTIME" -v k="$k" -v s="$SAMPLE_S" \
        'BEGIN {d = a + k * s - b; printf "%.3f", (d > 0 ? d : 0)}')
    end=$(awk -v a="$t0" -v b="$EPOCHREALTIME" -v d="$DUR" 'BEGIN {print ((b - a > d + 30) ? 1 : 0)}')
    [ "$end" = 0 ] || die "wrk has not finished $DUR s + 30 s after it started"
    sleep "$next"
done
for m in read write flood; do
    p=W_${m^^}
    rc=0
    wait "${!p}" || rc=$?
    [ "$rc" = 0 ] || die "wrk ($m) failed with exit code $rc: $(tail -n 5 "$DATA/wrk-$m.txt")"
done
BG_PIDS=()
alive
[ -s "$DATA/cpu-1.json" ] || cpu_snapshot "$DATA/cpu-1.json"
cpu_report "$DATA/cpu-0.json" "$DATA/cpu-1.json" "$PID"
sleep "$SAMPLE_S"
RSS_AFTER=$(rss_mib)
HWM=$(hwm_mib)
THREADS_AFTER=$(proc_field Threads)

# ---------------------------------------------------------------- figures

STEP="read wrk's output"
for m in read write flood; do
    say "wrk $m"
    sed 's/^/   | /' "$DATA/wrk-$m.txt"
    grep -q '^mix: rps' "$DATA/wrk-$m.txt" || die "no figures in $DATA/wrk-$m.txt"
done
fig() { awk -v k="$2" '$1 == "mix:" && $2 == k {print $3; exit}' "$DATA/wrk-$1.txt"; }
statuses() { # statuses MODE: "200 1234, 429 5" (every status seen)
    awk '$1 == "mix:" && $2 == "status" {printf "%s%s %s", sep, $3, $4; sep = ", "}' "$DATA/wrk-$1.txt"
}
status_n() { awk -v s="$2" '$1 == "mix:" && $2 == "status" && $3 == s {print $4; f = 1} END {if (!f) print 0}' "$DATA/wrk-$1.txt"; }
sent() {
    awk '$1 == "mix:" && $2 == "sent" {printf "%s%s %s", sep, $3, $4; sep = ", "}' "$DATA/wrk-$1.txt"
}
sockerr() { awk '$1 == "mix:" && $2 == "socket_errors" {print $3, $4, $5, $6}' "$DATA/wrk-$1.txt"; }

# Every answer must be 2xx or 429, and no socket error.
PROBLEMS=()
for m in read write flood; do
    bad=$(awk '$1 == "mix:" && $2 == "status" && !($3 ~ /^2[0-9][0-9]$/ || $3 == "429") {printf "%s%s ×%s", sep, $3, $4; sep = ", "}' \
        "$DATA/wrk-$m.txt")
    [ -z "$bad" ] || PROBLEMS+=("$m: unexpected answers: $bad")
    se=$(sockerr "$m")
    [ "$se" = "connect=0 read=0 write=0 timeout=0" ] || PROBLEMS+=("$m: socket errors: $se")
done

secs() { fig "$1" seconds; }
per_s() { awk -v n="$1" -v s="$2" 'BEGIN {printf "%.1f", n / s}'; }
R_RPS=$(fig read rps) W_RPS=$(fig write rps) F_RPS=$(fig flood rps)
R_429=$(status_n read 429) W_429=$(status_n write 429) F_429=$(status_n flood 429)
F_REQS=$(fig flood requests)
F_OK=$(awk '$1 == "mix:" && $2 == "status" && $3 ~ /^2/ {n += $4} END {print n + 0}' "$DATA/wrk-flood.txt")
F_OK_S=$(per_s "$F_OK" "$(secs flood)")
CREATED=$(status_n write 202) DELETED=$(status_n write 204)
CREATE_S=$(per_s "$CREATED" "$(secs write)") DELETE_S=$(per_s "$DELETED" "$(secs write)")
UNDELETED=$(fig write undeleted)

# What the write mix left behind, and the state of every server of the measured
# projects (a server in ERROR would be a fault of hearthd).
STEP="after the run"
sleep 1
LEFT=0
STATES=$(
    for e in "${PROJ_NAMES[@]}"; do
        IFS=: read -r name _ tok <<<"$e"
        TOKEN=$tok api GET "/compute/v2.1/servers/detail?limit=1000"
        [ "$CODE" = 200 ] || { echo "HTTP$CODE"; continue; }
        jq -r '.servers[].status' <<<"$BODY"
    done | sort | uniq -c | awk '{printf "%s%s %s", sep, $2, $1; sep = ", "}'
)
TOTAL_LEFT=$(awk -F', ' '{for (i = 1; i <= NF; i++) {split($i, a, " "); n += a[2]}} END {print n + 0}' <<<"$STATES")
LEFT=$(( TOTAL_LEFT - NPROJ * NSERV ))
grep -q 'HTTP' <<<"$STATES" && PROBLEMS+=("listing the servers after the run: $STATES")
grep -q 'ERROR' <<<"$STATES" && PROBLEMS+=("servers in ERROR after the run: $STATES")
LOG_ERRORS=$(grep -c ' ERROR ' "$DATA/hearthd.log" || true)
LOG_WARN=$(grep -c ' WARN ' "$DATA/hearthd.log" || true)
alive

# Memory: the series, first / last / max, growth from the first 30 s to the last 30 s.
N=${#RSS_K[@]}
SERIES=""
for i in $(seq 0 $((N - 1))); do
    SERIES+="${SERIES:+, }${RSS_T[$i]} s: $(awk -v k="${RSS_K[$i]}" 'BEGIN {printf "%.1f", k / 1024}')"
done
MEM=$(for i in $(seq 0 $((N - 1))); do echo "${RSS_T[$i]} ${RSS_K[$i]}"; done | awk -v d="$DUR" '
    NR == 1 {first = $2} {last = $2; lt = $1; if ($2 > max) max = $2}
    $1 > 0 && $1 <= 30 {fs += $2; fn++}
    {t[NR] = $1; v[NR] = $2}
    END {
        for (i = 1; i <= NR; i++) if (t[i] >= lt - 30) {ls += v[i]; ln++}
        f = fs / fn / 1024; l = ls / ln / 1024
        printf "%.1f %.1f %.1f %.1f %.1f %.1f %.1f", first / 1024, last / 1024, max / 1024, f, l, l - f, (l - f) / f * 100
    }')
read -r M_FIRST M_LAST M_MAX M_F30 M_L30 M_GROW M_GROW_PCT <<<"$MEM"

# ---------------------------------------------------------------- report

STEP="report"
row() { printf '| %s | %s | %s | %s |\n' "$@"; }
num() { # a figure to a sensible precision
    awk -v x="$1" 'BEGIN { if (x >= 100) printf "%.0f", x; else if (x >= 10) printf "%.1f", x;
        else printf "%.2f", x }'
}
ms3() { printf '%s / %s / %s' "$(num "$(fig "$1" p50_ms)")" "$(num "$(fig "$1" p99_ms)")" "$(num "$(fig "$1" max_ms)")"; }
ms2() { printf '%s / %s' "$(num "$(fig "$1" p90_ms)")" "$(num "$(fig "$1" p99.9_ms)")"; }
table=$DATA/table.md
{
    row "" "reads" "writes" "flooder (tier 1)"
    echo "|---|---:|---:|---:|"
    row "connections (wrk threads)" "$READ_CONNS (2)" "$WRITE_CONNS ($NPROJ, one per project)" "$FLOOD_CONNS (2)"
    row "requests in $DUR s" "$(fig read requests)" "$(fig write requests)" "$F_REQS"
    row "throughput, requests/s" "**$(num "$R_RPS")**" "**$(num "$W_RPS")**" "$(num "$F_RPS")"
    row "latency p50 / p99 / max, ms" "**$(ms3 read)**" "**$(ms3 write)**" "$(ms3 flood)"
    row "latency p90 / p99.9, ms" "$(ms2 read)" "$(ms2 write)" "$(ms2 flood)"
    row "answers by status" "$(statuses read)" "$(statuses write)" "$(statuses flood)"
    row "requests sent by kind" "$(sent read)" "$(sent write)" "$(sent flood)"
    row "socket errors" "$(sockerr read)" "$(sockerr write)" "$(sockerr flood)"
    row "servers created / deleted per second" "" "$CREATE_S / $DELETE_S" ""
    row "flooder answered 2xx per second (limit 20/s, burst 40)" "" "" "$F_OK_S"
    row "CPU used over ${CPU_SECS} s, % of one core" "hearthd $CPU_HEARTHD %" "wrk (3 processes) $CPU_WRK %" ""
} >"$table"
memtable=$DATA/mem.md
{
    echo "| hearthd memory (VmRSS) | MiB |"
    echo "|---|---:|"
    echo "| before the run (after setup; $THREADS_BEFORE threads) | $RSS_BEFORE |"
    echo "| first sample (0 s) / last sample / max during the run | $M_FIRST / $M_LAST / $M_MAX |"
    echo "| mean of the samples of the first 30 s (5–30 s) → of the last 30 s | $M_F30 → $M_L30 (growth $M_GROW MiB, $M_GROW_PCT %) |"
    echo "| $SAMPLE_S s after the run ($THREADS_AFTER threads); peak VmHWM | $RSS_AFTER; $HWM |"
} >"$memtable"
checks=$DATA/checks.md
{
    echo "- Measured projects answered 429: reads $R_429, writes $W_429 (the flooder: $F_429 of $F_REQS)."
    echo "- Servers the write mix left undeleted (in flight when wrk stopped): $LEFT by count" \
        "after the run ($UNDELETED by wrk's count); states of all servers of the measured" \
        "projects: $STATES."
    echo "- hearthd.log: $LOG_ERRORS ERROR and $LOG_WARN WARN lines."
    echo "- The machine over the run ($(nproc) CPUs): $CPU_MACHINE. Other processes: $CPU_OTHERS."
    if [ ${#PROBLEMS[@]} -eq 0 ]; then
        echo "- Every answer was 2xx or 429; no socket error."
    else
        for p in "${PROBLEMS[@]}"; do echo "- **PROBLEM**: $p"; done
    fi
} >"$checks"

commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo "+dirty" || true)
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || echo unknown)
{
    echo "# hearth load benchmark"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit$dirty, $(nproc) cores ($cpu), $(uname -sr)."
    echo "Command: \`$COMMAND\`. hearthd --dev with \`bench/load.ini\` (4 API threads, sim spawn"
    echo "50 ms, delete 20 ms; rate limiter on: per-address limits raised, tier 3 at 100,000"
    echo "requests/s, tier 1 at its default 20/s, burst 40), embedded SQLite, wrk"
    echo "$(wrk -v 2>&1 | awk 'NR==1 {print $2}') with \`bench/mix.lua\`, client and server on the same machine."
    echo
    echo "Three wrk processes ran at once for $DUR s, $TOTAL_CONNS connections in all, against $NPROJ"
    echo "projects at tier 3 with $NSERV servers each (made beforehand) and one flooder project at tier 1:"
    echo "- reads: GET \`/compute/v2.1/servers?limit=100\` (5 in 20), \`servers/detail?limit=100\` (4),"
    echo "  \`servers/{id}\` (8), \`flavors\` (3), spread over the $NPROJ projects;"
    echo "- writes: POST \`/compute/v2.1/servers\` (m1.tiny, debian-12, shared), then DELETE of each"
    echo "  server created, one wrk thread per project;"
    echo "- flooder: the read mix on its own project, as fast as $FLOOD_CONNS connections go."
    echo
    echo "Latencies are wrk's, per process (each has its own distribution); the writes mix"
    echo "POSTs (202) and DELETEs (204). Nothing here is asserted: the script fails only when"
    echo "it cannot measure or an answer is neither 2xx nor 429."
    echo
    cat "$table"
    echo
    cat "$memtable"
    echo
    echo "VmRSS every $SAMPLE_S s during the run (seconds: MiB): $SERIES."
    echo
    cat "$checks"
} >"$RESULTS"

say "results (also in $RESULTS)"
echo
cat "$table"
echo
cat "$memtable"
echo
echo "VmRSS every $SAMPLE_S s (s: MiB): $SERIES"
echo
cat "$checks"
if [ ${#PROBLEMS[@]} -ne 0 ]; then
    STEP="checks"
    die "$(printf '%s; ' "${PROBLEMS[@]}")"
fi
FAILED=0
