#!/usr/bin/env bash
# Quotas as users see them: a tier-1 project shows the published tier-1 limits;
# only the admin can change a quota; a create over quota is refused with nova's
# "Quota exceeded for instances" message; moving a project to tier 2 raises
# its limits at once; and a burst of 50 parallel creates against room for 10
# ends with exactly 10 servers (the check and the claim cannot race).
set -u
. "$(dirname "$0")/lib.sh"

# This file measures quotas, not rate limits (70-ratelimit does): give tier 1 a
# request rate that a burst of 50 creates fits in.
Q_CFG=$(mktemp "${TMPDIR:-/tmp}/hearth-quota-XXXXXX.ini")
printf '[ratelimit]\ntier1_rate = 1000\ntier1_burst = 1000\n' >"$Q_CFG"
HEARTHD_ARGS="--config $Q_CFG"
start_hearthd || finish
rm -f "$Q_CFG"

run os1 token issue -f value -c project_id
tier1_id=$OUT

# ---- the tier-1 limits
expect_ok "quota show (tier1 member)" os1 quota show -f json
expect_eq "tier1 quota: instances 10" "10" "$(jqo .instances)"
expect_eq "tier1 quota: cores 20" "20" "$(jqo .cores)"
expect_eq "tier1 quota: ram 65536" "65536" "$(jqo .ram)"
expect_eq "tier1 quota: gigabytes 1000" "1000" "$(jqo .gigabytes)"
expect_ok "quota show tier1 (admin)" osadmin quota show tier1 -f json
expect_eq "the admin sees the same instances quota" "10" "$(jqo .instances)"

# ---- only the admin sets quotas
expect_fail "a member cannot quota set its own project" "" os1 quota set --instances 3 "$tier1_id"
expect_ok "quota show after the refused quota set" os1 quota show -f value -c instances
expect_eq "the refused quota set changed nothing" "10" "$OUT"
expect_ok "admin: quota set --instances 3 tier1" osadmin quota set --instances 3 tier1
expect_ok "quota show after quota set" os1 quota show -f value -c instances
expect_eq "tier1 quota: instances 3" "3" "$OUT"
expect_ok "limits show --absolute" os1 limits show --absolute -f json
expect_eq "limits follow the quota: maxTotalInstances 3" "3" "$(limit_of maxTotalInstances)"

# ---- over quota
create() { os1 server create --flavor m1.tiny --image debian-12 --network shared "$@"; }
for n in 1 2 3; do
    expect_ok "server create q$n (within quota)" create "q$n"
done
expect_fail "the 4th server is refused: Quota exceeded for instances" \
    "Quota exceeded for instances" create q4
expect_contains "the message gives the numbers" \
    "Requested 1, but already used 3 of 3 instances" "$OUT$ERR"
expect_contains "the CLI shows the 403" "HTTP 403" "$OUT$ERR"
expect_ok "server list after the refusal" os1 server list -f value -c Name
expect_eq "the refused server does not exist" "3" "$(grep -c . <<<"$OUT")"

# ---- tier change: an override outlives a tier change until it is dropped
expect_ok "hearth project set-tier tier1 2" hearth_admin project set-tier tier1 2
expect_ok "quota show after set-tier 2 (override kept)" os1 quota show -f value -c instances
expect_eq "the project's own override (3) still holds after the tier change" "3" "$OUT"
admin_tok=$(token_of hearth-admin)
tier1_id=$(openstack --os-cloud hearth-admin project show tier1 -f value -c id)
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "X-Auth-Token: $admin_tok" \
    "$BASE/compute/v2.1/os-quota-sets/$tier1_id")
expect_eq "admin drops the overrides (DELETE os-quota-sets): 202" "202" "$code"
expect_ok "hearth project show tier1" hearth_admin project show tier1
expect_match "hearth project show reports tier 2" '[Tt][Ii][Ee][Rr][^0-9a-zA-Z]*2([^0-9]|$)' "$OUT"
expect_ok "quota show after set-tier 2" os1 quota show -f json
expect_eq "tier-2 quota: instances 50" "50" "$(jqo .instances)"
expect_eq "tier-2 quota: cores 200" "200" "$(jqo .cores)"
expect_eq "tier-2 quota: ram 1048576" "1048576" "$(jqo .ram)"
expect_eq "tier-2 quota: gigabytes 10000" "10000" "$(jqo .gigabytes)"
expect_ok "the 4th server can now be created" create q4

# ---- burst: 50 parallel creates against room for 10
expect_ok "server list (ids before the delete)" os1 server list -f value -c ID
q_ids=$OUT
expect_eq "the project holds q1..q4" "4" "$(grep -c . <<<"$q_ids")"
expect_ok "server delete q1 q2 q3 q4" os1 server delete q1 q2 q3 q4
tok=$(token_of hearth-tier1)
gone=1
for id in $q_ids; do
    wait_status "$tok" "$id" GONE 30 || { gone=0; note "server $id is still $WAITED"; }
done
if [ $gone = 1 ]; then pass "the deleted servers disappear"; else fail "the deleted servers disappear"; fi

expect_ok "hearth project set-tier tier1 1" hearth_admin project set-tier tier1 1
expect_ok "quota show after set-tier 1" os1 quota show -f value -c instances
expect_eq "back to the tier-1 quota: instances 10" "10" "$OUT"

run os1 image show debian-12 -f value -c id
img=$OUT
run os1 flavor show m1.tiny -f value -c id
flv=$OUT
run os1 network show shared -f value -c id
net=$OUT
if [ -z "$img" ] || [ -z "$flv" ] || [ -z "$net" ]; then
    fail "found the ids of debian-12, m1.tiny and shared" "image '$img' flavor '$flv' network '$net'"
fi

burst=$HEARTH_DATA/burst
mkdir -p "$burst"
pids=()
for i in $(seq 1 50); do
    post_server "$burst" "$i" "$tok" "$(server_body "burst-$i" "$img" "$flv" "$net")" 1 &
    pids+=($!)
done
wait "${pids[@]}"
summary=$(code_summary "$burst")
note "burst answers: $summary"
expect_eq "exactly 10 of 50 parallel creates are accepted (202)" "10" "$(code_count "$burst" 202)"
expect_eq "the 40 others are refused with 403" "40" "$(code_count "$burst" 403)"
refusals_ok=1
for f in "$burst"/*.code; do
    [ "$(cat "$f")" = 403 ] || continue
    grep -qF "Quota exceeded for instances" "${f%.code}.body" || { refusals_ok=0; bad=${f%.code}.body; }
done
if [ $refusals_ok = 1 ]; then pass "every 403 says Quota exceeded for instances"
else fail "every 403 says Quota exceeded for instances" "e.g. $(head -c 300 "$bad")"; fi

all_active=1
for f in "$burst"/*.code; do
    [ "$(cat "$f")" = 202 ] || continue
    id=$(jq -r '.server.id // empty' "${f%.code}.body")
    if ! wait_status "$tok" "$id" ACTIVE 30; then all_active=0; note "server ${id:-?} is $WAITED"; fi
done
if [ $all_active = 1 ]; then pass "every accepted server becomes ACTIVE"
else fail "every accepted server becomes ACTIVE"; fi

expect_ok "server list after the burst" os1 server list -f value -c ID
expect_eq "the project holds exactly 10 servers" "10" "$(grep -c . <<<"$OUT")"
expect_ok "limits show --absolute after the burst" os1 limits show --absolute -f json
expect_eq "totalInstancesUsed is 10" "10" "$(limit_of totalInstancesUsed)"
expect_eq "totalCoresUsed is 10" "10" "$(limit_of totalCoresUsed)"
expect_eq "totalRAMUsed is 10 x 512" "5120" "$(limit_of totalRAMUsed)"
expect_fail "one more create is still refused" "Quota exceeded for instances" create extra

finish
