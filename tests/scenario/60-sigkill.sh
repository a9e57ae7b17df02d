#!/usr/bin/env bash
# Crash safety as users see it: hearthd is killed with SIGKILL while 40
# server creates are in flight. After a restart on the same data, every
# create that was acknowledged (202) exists, no server is stuck in BUILD
# (each is ACTIVE or ERROR), no create was carried out twice, the project's
# usage (limits show --absolute) equals what its live servers really hold,
# and the cloud accepts new creates.
set -u
. "$(dirname "$0")/lib.sh"

start_hearthd || finish

tok=$(token_of hearth-tier2)
run os2 image show debian-12 -f value -c id
img=$OUT
run os2 network show shared -f value -c id
net=$OUT
expect_ok "flavor list" os2 flavor list -f json
flavors=$OUT
tiny=$(jq -r '.[] | select(.Name == "m1.tiny") | .ID' <<<"$flavors")
medium=$(jq -r '.[] | select(.Name == "m1.medium") | .ID' <<<"$flavors")
if [ -z "$img" ] || [ -z "$net" ] || [ -z "$tiny" ] || [ -z "$medium" ] || [ -z "$tok" ]; then
    fail "found token and ids" "token '$tok' image '$img' network '$net' m1.tiny '$tiny' m1.medium '$medium'"
    finish
fi

# ---- 40 creates in flight, then SIGKILL
crash=$HEARTH_DATA/crash
mkdir -p "$crash"
pids=()
for i in $(seq 1 40); do
    if [ $((i % 2)) = 0 ]; then f=$medium; else f=$tiny; fi
    post_server "$crash" "$i" "$tok" "$(server_body "crash-$i" "$img" "$f" "$net")" 0 &
    pids+=($!)
done
sleep 0.3
kill9_hearthd
wait "${pids[@]}"
acked=$(for f in "$crash"/*.code; do
    [ "$(cat "$f")" = 202 ] && jq -r '.server.id // empty' "${f%.code}.body"
done)
n_acked=$(grep -c . <<<"$acked")
note "answers before the kill: $(code_summary "$crash") ($n_acked acknowledged)"
bad_codes=$(cat "$crash"/*.code | grep -vxE '202|429|000' | sort | uniq -c | tr '\n' ' ')
expect_eq "no create got an error answer before the kill (only 202, 429 or no answer)" "" "$bad_codes"

# ---- restart on the same data and port
if ! restart_hearthd 30; then finish; fi
pass "hearthd restarts on the same data directory after SIGKILL"
tok=$(token_of hearth-tier2)

deadline=$((SECONDS + 60))
building="(no answer)"
while [ $SECONDS -lt $deadline ]; do
    api GET /compute/v2.1/servers/detail "$tok"
    if [ "$CODE" = 200 ]; then
        building=$(jqo '[.servers[] | select(.status != "ACTIVE" and .status != "ERROR")] | length')
        [ "$building" = 0 ] && break
    fi
    sleep 1
done
expect_eq "within 60 s no server is left outside ACTIVE/ERROR" "0" "$building"

expect_ok "server list --long" os2 server list --long -f json
servers=$OUT
n_all=$(jq length <<<"$servers")
note "servers after restart: $n_all ($(jq -r '[.[].Status] | group_by(.) | map("\(.[0]) x\(length)") | join(", ")' <<<"$servers"))"
expect_eq "every server is ACTIVE or ERROR" "" \
    "$(jq -r '.[] | select(.Status != "ACTIVE" and .Status != "ERROR") | "\(.Name)=\(.Status)"' <<<"$servers")"

missing=
for id in $acked; do
    jq -e --arg id "$id" 'any(.[]; .ID == $id)' <<<"$servers" >/dev/null || missing="$missing $id"
done
expect_eq "every acknowledged create exists after the restart ($n_acked)" "" "$missing"
expect_eq "no create was carried out twice (names are unique)" "" \
    "$(jq -r '[.[].Name] | group_by(.) | map(select(length > 1) | .[0]) | join(" ")' <<<"$servers")"
if [ "$n_all" -le 40 ]; then pass "no more servers than creates sent ($n_all <= 40)"
else fail "no more servers than creates sent" "$n_all servers"; fi

# Usage must be what the live (non-ERROR) servers hold.
usage=$(jq -r --argjson fl "$flavors" '
    ($fl | map({(.ID): .}) | add) as $by_id
    | [.[] | select(.Status != "ERROR")]
    | "\(length) \(map($by_id[."Flavor ID"].VCPUs // 0) | add // 0) \(map($by_id[."Flavor ID"].RAM // 0) | add // 0)"' \
    <<<"$servers")
read -r want_inst want_cores want_ram <<<"$usage"
expect_ok "limits show --absolute" os2 limits show --absolute -f json
expect_eq "totalInstancesUsed equals the live servers" "$want_inst" "$(limit_of totalInstancesUsed)"
expect_eq "totalCoresUsed equals their vCPUs" "$want_cores" "$(limit_of totalCoresUsed)"
expect_eq "totalRAMUsed equals their RAM" "$want_ram" "$(limit_of totalRAMUsed)"

# ---- and the cloud still works
after=$HEARTH_DATA/after
mkdir -p "$after"
post_server "$after" 1 "$tok" "$(server_body after-crash "$img" "$tiny" "$net")" 1
expect_eq "a create after the restart is accepted (202)" "202" "$(cat "$after/1.code")"
new_id=$(jq -r '.server.id // empty' "$after/1.body")
wait_status "$tok" "$new_id" ACTIVE 20
expect_eq "the new server becomes ACTIVE" "ACTIVE" "$WAITED"

finish
