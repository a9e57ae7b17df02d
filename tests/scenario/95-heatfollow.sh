#!/usr/bin/env bash
# Heat-following servers as a customer and an operator see them, the heat engine stepping
# every second: a follower (flavor h1.large) that asks for no daily run time
# (`--property hearth:min_run_h=0`) keeps running while its datacentre's network takes its
# heat, in D4 and in a D2 that wants a little more than it makes; once ordinary servers make
# D2 dump heat, hearth suspends it (SUSPENDED in `openstack server show`, a log line, the
# counts of /hearth/v1/heat and /metrics) and leaves the ordinary servers alone; a follower
# whose min_run_h fills the day, a locked one and one its owner suspended are not touched;
# when the ordinary servers are deleted, hearth resumes the paused follower.
#
# Deterministic at any date and hour: both datacentres feed "large" networks (constant
# demand, capacity_w) with a 67 degrees C supply all year, so the heat pumps' COP and the
# demand do not depend on the date, and the day's forecast is flat (no hour is better than
# another). D2 has no tank: with one, the tank's room would take any surplus for hours.
#
# Phase 1 measures D2's idle heat-pump output on a network that takes everything; phase 2
# gives D2 a network that takes that output plus MARGIN_W.
set -u
. "$(dirname "$0")/lib.sh"

# The model the thresholds come from:
# - virt-sim.c gives each domain, at spawn, a load drawn once from [0.05, 0.95) of its
#   vCPUs; a host's utilisation is the sum of load x vCPUs of its running domains over the
#   host's vCPUs.
# - power.c: EPYC-Rome hosts follow a SPECpower curve, 93 W at active idle and 199 W at
#   10 %, linear in between, no segment above steeper: below 10 % a host rises by exactly
#   SLOPE_W per unit of utilisation, and at 10 % or more it is at least 106 W above idle.
# - chain.c: while the network takes everything, the heat pumps deliver a fixed heat per W
#   of IT (facility, capture, COP), HEAT_PER_IT below, measured in phase 1.
# - follow.c: a running follower pauses when the last step dumped heat (in IT watts, over
#   1 W); a paused one resumes when the network would take its heat; one that needs its
#   hours runs whatever the heat.
# The m1 flavors are too small to make D2 dump deterministically (an m1.xlarge at 5 % load
# adds 3.3 W to a 128-vCPU host, less than a follower at 95 %): the ordinary load is a flavor
# as large as a host, which at 5 % load adds SLOPE_W x 0.05 = 53 W.
LOAD_MIN=0.05 LOAD_MAX=0.95
SLOPE_W=1060
MARGIN_W=150
N_BUSY=3

HF_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hearth-heatfollow-XXXXXX")

# write_config FILE D2_CAPACITY_W: [heat] stepping every second and following with no hold
# time, fast sim, no rate limits, D2 and D4 on flat large networks, D2 without a tank.
write_config() {
    cat >"$1" <<EOF
[heat]
step_s = 1
follow = true
follow_hold_s = 0
[sim]
spawn_ms = 50
power_ms = 50
delete_ms = 50
[ratelimit]
enabled = false
[heat_network d2-flat]
kind = large
capacity_w = $2
sink_summer_c = 67
sink_winter_c = 67
[heat_network d4-flat]
kind = large
capacity_w = 1000000000
sink_summer_c = 67
sink_winter_c = 67
[datacentre D2]
network = d2-flat
storage_kwh = 0
[datacentre D4]
network = d4-flat
EOF
}

# ---------------------------------------------------------------- helpers

calc() { awk "BEGIN { print $1 }" </dev/null; }

# dc FIELD NAME: a field of datacentre NAME in the /hearth/v1/heat answer held in $OUT.
dc() { jqo ".heat.datacentres[] | select(.name == \"$2\") | .$1"; }

# heat_now: GET /hearth/v1/heat as the admin; OUT holds the answer.
heat_now() { api GET /hearth/v1/heat "$tadm"; }

# heat_time_s: the time of the last step (Unix seconds) of the answer held in $OUT.
heat_time_s() { date -d "$(jqo .heat.time)" +%s 2>/dev/null || echo 0; }

# following NAME: "running N paused N" of datacentre NAME in $OUT.
following() { jqo ".heat.datacentres[] | select(.name == \"$1\") | .heat_following |
    \"running \(.running) paused \(.paused)\""; }

# wait_following NAME WANT [TIMEOUT_S]: polls /hearth/v1/heat until following NAME is WANT.
wait_following() {
    local deadline=$((SECONDS + ${3:-10}))
    while heat_now && [ "$(following "$1")" != "$2" ] && [ $SECONDS -lt $deadline ]; do
        sleep 0.5
    done
}

# scrape FILE: GET /metrics without a token into FILE; sets CODE.
scrape() {
    CODE=$(curl -sS -o "$1" -w '%{http_code}' --max-time 10 "$BASE/metrics" 2>/dev/null)
}

# metric KEY FILE: the value of the sample KEY (name and labels, as printed) in FILE.
metric() { awk -v k="$1" '$1 == k {print $2; exit}' "$2"; }

# Server names by id, for messages.
declare -A NAME_OF

# stays SECONDS ID=STATUS...: polls the servers every 0.5 s for more than SECONDS seconds;
# false as soon as one is not in its STATUS, with STAYED saying which and what it was.
STAYED=
stays() {
    local deadline=$(($1 + SECONDS + 1)) spec st
    shift
    STAYED=
    while :; do
        for spec in "$@"; do
            st=$(server_status "$tadm" "${spec%%=*}")
            if [ "$st" != "${spec#*=}" ]; then
                STAYED="${NAME_OF[${spec%%=*}]:-${spec%%=*}} is $st, not ${spec#*=}"
                return 1
            fi
        done
        [ $SECONDS -ge $deadline ] && return 0
        sleep 0.5
    done
}

# expect_stays DESC SECONDS ID=STATUS...: the servers stay as they are for SECONDS seconds,
# while the heat engine steps (its last step moves on by SECONDS - 2 s at least: a step
# may come up to a second late, and its time is in whole seconds).
expect_stays() {
    local desc=$1 secs=$2 t0 t1
    shift 2
    heat_now
    t0=$(heat_time_s)
    if ! stays "$secs" "$@"; then
        LAST_CMD=
        fail "$desc" "$STAYED"
        return 1
    fi
    heat_now
    t1=$(heat_time_s)
    if [ $((t1 - t0)) -lt $((secs - 2)) ]; then
        LAST_CMD=
        fail "$desc" "the heat engine stepped from $(date -u -d "@$t0" +%T) to" \
            "$(date -u -d "@$t1" +%T) only, not over $((secs - 2)) s"
        return 1
    fi
    pass "$desc (steps over $((t1 - t0)) s)"
}

# log_actions ID: hearthd's INFO lines naming ID that are no HTTP request line.
log_actions() {
    awk -v id="$1" '$2 == "INFO" && index($0, id) && $0 !~ / -> [0-9][0-9][0-9] /' \
        "$HEARTH_DATA/hearthd.log"
}

# follower NAME AZ MIN_RUN_H: creates a heat-following server (h1.large, tier 2) with the
# real CLI and waits for it; FID gets its id.
FID=
follower() {
    FID=
    expect_ok "server create --flavor h1.large --availability-zone $2 --property hearth:min_run_h=$3 --wait $1" \
        os2 server create --flavor h1.large --image debian-12 --network shared \
        --availability-zone "$2" --property "hearth:min_run_h=$3" --wait "$1" -f json
    expect_eq "$1 is ACTIVE" "ACTIVE" "$(jqo .status)"
    FID=$(jqo .id)
    NAME_OF[$FID]=$1
}

# ---------------------------------------------------------------- phase 1: D2's idle output
write_config "$HF_DIR/take-all.ini" 1000000000
# shellcheck disable=SC2034 # read by lib.sh
HEARTHD_ARGS="--config $HF_DIR/take-all.ini"
start_hearthd || finish
tadm=$(token_of hearth-admin)
expect_match "an admin token" '.' "$tadm"

# A counted step has totals since the start.
deadline=$((SECONDS + 10))
while heat_now && [ "$(dc since_start.hours D2)" = null ] && [ $SECONDS -lt $deadline ]; do
    sleep 0.5
done
expect_match "the heat engine has counted a step" '^[0-9.e+-]+$' "$(dc since_start.hours D2)"
expect_eq "D2 feeds the flat network d2-flat" "d2-flat" "$(dc network D2)"
expect_eq "D2 runs no instance" "0" "$(dc instances_running D2)"
idle_it=$(dc it_power_w D2)
idle_hp=$(dc heat_pump_output_w D2)
v=$(dc heat_dumped_w D2)
expect_holds "D2's heat pumps deliver heat when idle ($idle_hp W)" "$idle_hp > 0"
expect_holds "a network that takes everything leaves nothing dumped ($v W)" "$v < 1"
HEAT_PER_IT=$(calc "$idle_hp / $idle_it")
note "D2 idle: IT $idle_it W, heat-pump output $idle_hp W ($HEAT_PER_IT W per W of IT)"
api GET /compute/v2.1/os-hypervisors/detail "$tadm"
hvcpus=$(jqo '[.hypervisors[] | select(.hypervisor_hostname | startswith("d2-")) | .vcpus] | unique | join(",")')
expect_match "D2's hosts have one vCPU count ($hvcpus)" '^[0-9]+$' "$hvcpus"
stop_hearthd

# What the followers and the ordinary servers add to D2's heat, at most and at least (W).
fvcpus=4
follower_max=$(calc "$SLOPE_W * $LOAD_MAX * $fvcpus / $hvcpus * $HEAT_PER_IT")
follower_full=$(calc "$SLOPE_W * $fvcpus / $hvcpus * $HEAT_PER_IT") # any estimate of one
busy_min=$(calc "$N_BUSY * $SLOPE_W * $LOAD_MIN * $HEAT_PER_IT")
expect_holds "a follower stays below 10 % of its host (${fvcpus} of $hvcpus vCPUs): the curve is linear there" \
    "$LOAD_MAX * $fvcpus / $hvcpus < 0.1"
expect_holds "three followers running in D2 make less than the margin: ${follower_max} W each, $MARGIN_W W" \
    "3 * $follower_max < $MARGIN_W"
expect_holds "with two running, a third's heat fits in what is left (at full load ${follower_full} W)" \
    "$MARGIN_W - 2 * $follower_max >= $follower_full"
expect_holds "$N_BUSY host-sized servers at 5 % make more than the margin: $busy_min W" \
    "$busy_min > $MARGIN_W + 10"

# ---------------------------------------------------------------- phase 2
write_config "$HF_DIR/d2-tight.ini" "$(calc "$idle_hp + $MARGIN_W")"
# shellcheck disable=SC2034 # read by lib.sh
HEARTHD_ARGS="--config $HF_DIR/d2-tight.ini"
restart_hearthd || finish
tadm=$(token_of hearth-admin)
t2=$(token_of hearth-tier2)
t3=$(token_of hearth-tier3)
expect_match "a tier-2 token" '.' "$t2"
expect_match "a tier-3 token" '.' "$t3"

sleep 1.5
heat_now
expect_code "GET /hearth/v1/heat answers 200" 200
v=$(dc demand_w D2)
expect_holds "D2's network now takes its idle output + $MARGIN_W W ($v W)" \
    "$v - ($idle_hp + $MARGIN_W) < 0.01 && ($idle_hp + $MARGIN_W) - $v < 0.01"
v=$(dc heat_pump_output_w D2)
expect_holds "idle D2 delivers what it did in phase 1 ($v W)" \
    "$v - $idle_hp < 0.01 && $idle_hp - $v < 0.01"
expect_eq "no heat-following server yet" "running 0 paused 0 / running 0 paused 0" \
    "$(following D2) / $(following D4)"

expect_ok "flavor create c1.host (as many vCPUs as a host: $hvcpus)" \
    osadmin flavor create --vcpus "$hvcpus" --ram 4096 --disk 20 c1.host -f json

# ---------------------------------------------------------------- followers while the heat is wanted
follower fd4 D4 0
fd4=$FID
follower f0 D2 0
f0=$FID
follower fl D2 0
fl=$FID
expect_ok "server lock fl" os2 server lock fl
expect_stays "fd4 (D4 takes all heat), f0 and fl (D2 wants more than it makes) stay ACTIVE" 10 \
    "$fd4=ACTIVE" "$f0=ACTIVE" "$fl=ACTIVE"
heat_now
v=$(dc heat_dumped_w D2)
expect_holds "D2 with its followers dumps no heat ($v W)" "$v < 1"
expect_eq "D2 counts two followers running, D4 one" "running 2 paused 0 / running 1 paused 0" \
    "$(following D2) / $(following D4)"
expect_eq "hearthd logged no action on f0" "" "$(log_actions "$f0")"

# ---------------------------------------------------------------- D2 dumps heat
expect_ok "server create --flavor c1.host --availability-zone D2 --min $N_BUSY --max $N_BUSY busy (tier 3)" \
    os3 server create --flavor c1.host --image debian-12 --network shared \
    --availability-zone D2 --min $N_BUSY --max $N_BUSY busy -f json
api GET '/compute/v2.1/servers?name=busy' "$t3"
mapfile -t busy < <(jqo '.servers[].id')
expect_eq "$N_BUSY busy servers" "$N_BUSY" "${#busy[@]}"
for id in "${busy[@]}"; do
    NAME_OF[$id]=busy
    wait_status "$t3" "$id" ACTIVE 20
    expect_eq "busy server $id becomes ACTIVE" "ACTIVE" "$WAITED"
done
api GET '/compute/v2.1/servers/detail?all_tenants=1' "$tadm"
hosts_busy=$(jqo '[.servers[] | select(.name | startswith("busy")) | .["OS-EXT-SRV-ATTR:host"]] | unique | length')
hosts_all=$(jqo '[.servers[] | .["OS-EXT-SRV-ATTR:host"]] | unique | length')
expect_eq "each busy server has a D2 host of its own (spread), away from the followers" \
    "$N_BUSY $(jqo '.servers | length')" "$hosts_busy $hosts_all"

deadline=$((SECONDS + 15))
while heat_now && ! holds "$(dc heat_dumped_w D2) > 1" && [ $SECONDS -lt $deadline ]; do
    sleep 0.5
done
v=$(dc heat_dumped_w D2)
expect_holds "D2 now dumps heat ($v W)" "$v > 1"
wait_status "$t2" "$f0" SUSPENDED 15
expect_eq "hearth suspends f0 within 15 s" "SUSPENDED" "$WAITED"
expect_ok "server show f0 (its owner)" os2 server show f0 -f json
expect_eq "its owner sees f0 SUSPENDED" "SUSPENDED" "$(jqo .status)"
expect_eq "hearthd logs one suspension of f0" "1" "$(log_actions "$f0" | grep -c suspended)"
note "$(log_actions "$f0" | tail -n 1)"
wait_following D2 "running 1 paused 1"
expect_eq "/hearth/v1/heat: D2 has f0 paused, fl (locked) running" "running 1 paused 1" \
    "$(following D2)"
scrape "$HF_DIR/m1"
expect_eq "GET /metrics answers 200" "200" "$CODE"
expect_eq "/metrics: hearth_heat_following_instances is a gauge" "1" \
    "$(grep -c '^# TYPE hearth_heat_following_instances gauge$' "$HF_DIR/m1")"
expect_eq "/metrics: D2 has 1 follower paused, 1 running; D4 0 paused, 1 running" "1 1 0 1" \
    "$(for s in 'D2",state="paused' 'D2",state="running' 'D4",state="paused' 'D4",state="running'; do
        metric "hearth_heat_following_instances{datacentre=\"$s\"}" "$HF_DIR/m1"
    done | awk '{printf "%s%g", sep, $1; sep = " "}')"

# ---------------------------------------------------------------- who is not paused
follower f24 D2 24
f24=$FID
follower fs D4 0
fs=$FID
expect_ok "server suspend fs (by its owner)" os2 server suspend fs
wait_status "$t2" "$fs" SUSPENDED 15
expect_eq "fs becomes SUSPENDED" "SUSPENDED" "$WAITED"
stay=("$f24=ACTIVE" "$fl=ACTIVE" "$fs=SUSPENDED" "$fd4=ACTIVE" "$f0=SUSPENDED")
for id in "${busy[@]}"; do stay+=("$id=ACTIVE"); done
expect_stays "while D2 dumps: f24 (24 h a day) and fl (locked) stay ACTIVE, fs (suspended by its owner) SUSPENDED in a D4 that wants heat, the busy servers ACTIVE" \
    6 "${stay[@]}"
heat_now
v=$(dc heat_dumped_w D2)
expect_holds "D2 still dumps heat ($v W)" "$v > 1"
expect_eq "/hearth/v1/heat: D2 has f24 and fl running, f0 paused; D4 fd4 running, fs not hearth's" \
    "running 2 paused 1 / running 1 paused 0" "$(following D2) / $(following D4)"
for id in "$f24" "$fl" "$fs" "$fd4" "${busy[@]}"; do
    expect_eq "hearthd logged no action on ${NAME_OF[$id]} $id" "" "$(log_actions "$id")"
done

# ---------------------------------------------------------------- a follower built while D2 dumps
# hearth leaves a new follower running for a while (FOLLOW_GRACE_S, 20 s), so that a
# client waiting for ACTIVE sees it; then the rule pauses it like any other.
follower fn D2 0
fn=$FID
wait_status "$t2" "$fn" SUSPENDED 40
expect_eq "after its grace, hearth suspends fn, built while D2 dumps" "SUSPENDED" "$WAITED"
expect_eq "hearthd logs one suspension of fn" "1" "$(log_actions "$fn" | grep -c suspended)"
expect_ok "server delete --wait fn" os2 server delete --wait fn

# ---------------------------------------------------------------- D2 wants heat again
expect_ok "server delete --wait the busy servers" os3 server delete --wait "${busy[@]}"
wait_status "$t2" "$f0" ACTIVE 15
expect_eq "hearth resumes f0 within 15 s" "ACTIVE" "$WAITED"
expect_ok "server show f0 (its owner)" os2 server show f0 -f json
expect_eq "its owner sees f0 ACTIVE" "ACTIVE" "$(jqo .status)"
expect_eq "hearthd logs one resumption of f0" "1" "$(log_actions "$f0" | grep -c resumed)"
expect_stays "f0 keeps running: D2's three followers do not make it dump" 3 \
    "$f0=ACTIVE" "$f24=ACTIVE" "$fl=ACTIVE" "$fs=SUSPENDED" "$fd4=ACTIVE"
heat_now
v=$(dc heat_dumped_w D2)
expect_holds "D2 dumps no heat ($v W)" "$v < 1"
expect_eq "/hearth/v1/heat: D2 has three followers running, none paused" \
    "running 3 paused 0" "$(following D2)"
expect_ok "server show fs (its owner)" os2 server show fs -f json
expect_eq "fs is still SUSPENDED, as its owner left it" "SUSPENDED" "$(jqo .status)"

rm -rf "$HF_DIR"
note "ran in $SECONDS s"
finish
