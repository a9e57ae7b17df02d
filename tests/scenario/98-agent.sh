#!/usr/bin/env bash
# hearth-agent against the real hearthd, with the agent's sim driver (no hypervisor): the
# host credential, registration and the compute service going up and down with the agent,
# servers built, powered, read (console, diagnostics) and deleted through the agent's jobs,
# a server asked for while the agent is away and built when it comes back, and the agent
# protocol refusing what a stranger or a broken agent sends. The same agent on libvirt,
# with real guests and a live migration between two hypervisors, is 99-libvirt-guests.sh.
set -u
. "$(dirname "$0")/lib.sh"

AGENT_BIN=$BUILD/hearth-agent
start_hearthd || finish
tok1=$(token_of hearth-tier1)
tokadm=$(token_of hearth-admin)
AGENT_PID=

# agent_start NAME SECRET: starts hearth-agent for host NAME (sim driver, AZ AG).
agent_start() {
    cat >"$HEARTH_DATA/agent-$1.ini" <<INI
[agent]
hearthd_url = $BASE
host = $1
secret = $2
driver = sim
az = AG
cluster = ag
vcpus = 32
ram_mb = 131072
disk_gb = 1000
host_ip = 127.0.0.1
poll_s = 20
report_s = 1

[libvirt]
instances_dir = $HEARTH_DATA/agent-$1
INI
    "$AGENT_BIN" --config "$HEARTH_DATA/agent-$1.ini" >>"$HEARTH_DATA/agent-$1.log" 2>&1 &
    AGENT_PID=$!
}
agent_stop() {
    [ -n "$AGENT_PID" ] || return 0
    kill "-${1:-TERM}" "$AGENT_PID" 2>/dev/null
    wait "$AGENT_PID" 2>/dev/null
    AGENT_PID=
}
at_exit 'agent_stop KILL'

# service_state HOST: "enabled up" as `compute service list` shows it.
service_state() {
    osadmin compute service list -f json 2>/dev/null |
        jq -r --arg h "$1" '.[] | select(.Host == $h) | "\(.Status) \(.State)"'
}
# agent_api METHOD PATH HOST SECRET [BODY]: an agent's request.
agent_api() {
    local m=$1 p=$2 h=$3 s=$4 b=${5:-}
    api "$m" "/hearth/v1/agent$p" "" "$b" -H "X-Hearth-Host: $h" -H "X-Hearth-Secret: $s"
}

# ---- the credential
expect_fail "a member cannot make host credentials (403)" "403" \
    hearth_as "$(cloud_field hearth-tier1 username)" "$(cloud_field hearth-tier1 password)" \
    "$(cloud_field hearth-tier1 project_name)" host-credential create ag1
expect_ok "hearth host-credential create ag1 (admin)" hearth_admin -f json host-credential create ag1
secret=$(jqo .credential.secret)
expect_match "the secret is 43 characters of base64url" '^[A-Za-z0-9_-]{43}$' "$secret"
expect_fail "a host name with a space is refused (400)" "400" \
    hearth_admin host-credential create "ag 1"

# ---- strangers and broken agents
agent_api POST /register ag1 "wrong" '{"host":{}}'
expect_code "a wrong secret: 401" 401
api POST /hearth/v1/agent/register "" '{"host":{}}'
expect_code "no credential: 401" 401
api POST /hearth/v1/agent/report "$tok1" '{"domains":[]}'
expect_code "a user's token is no agent's credential: 401" 401
agent_api POST /report ag1 "$secret" '{"domains":[]}'
expect_code "a report before registering: 404" 404
agent_api POST /register ag1 "$secret" '{"host":{"az":"AG","vcpus":"many","ram_mb":1024,"driver":"sim","boot_id":"x"}}'
expect_code "a registration with vcpus of the wrong type: 400" 400
expect_ok "compute service list" osadmin compute service list -f json
expect_eq "a refused registration made no host" "0" "$(jqo '[.[] | select(.Host == "ag1")] | length')"

# ---- the agent comes up
agent_start ag1 "$secret"
for _ in $(seq 1 40); do [ "$(service_state ag1)" = "enabled up" ] && break; sleep 0.25; done
expect_eq "ag1's compute service is enabled and up once the agent runs" "enabled up" \
    "$(service_state ag1)"
expect_ok "hypervisor show ag1" osadmin hypervisor show ag1 -f json
expect_eq "ag1 has the agent's 32 vCPUs" "32" "$(jqo .vcpus)"

agent_api POST /report ag1 "$secret" '{"domains":[{"id":"not-a-uuid","state":"running"}]}'
expect_code "a report with a bad domain id: 400" 400
agent_api POST /jobs/999999 ag1 "$secret" '{"result":"done"}'
expect_code "the outcome of a job that is not ag1's: 404" 404
agent_api GET "/images/$(osc --os-cloud hearth-admin image show debian-12 -f value -c id)" ag1 "$secret"
expect_code "an image no job of ag1 names: 404" 404

# ---- a server through the agent
start=$SECONDS
expect_ok "server create --availability-zone AG --wait ag-vm1" \
    os1 server create --flavor m1.small --image debian-12 --network shared \
    --availability-zone AG --wait ag-vm1 -f json
vm1=$(jqo .id)
expect_eq "ag-vm1 is ACTIVE" "ACTIVE" "$(jqo .status)"
note "built through the agent in $((SECONDS - start)) s"
expect_ok "server show ag-vm1 (admin)" osadmin server show "$vm1" -f json
expect_eq "it runs on ag1" "ag1" "$(jqo '."OS-EXT-SRV-ATTR:host"')"
expect_contains "the agent ran the spawn job" "Job spawn of instance $vm1 done" \
    "$(cat "$HEARTH_DATA/agent-ag1.log")"
expect_ok "console log show ag-vm1 (read by the agent)" os1 console log show ag-vm1
expect_contains "the console comes from ag1" "on ag1" "$OUT"
expect_ok "server stop ag-vm1" os1 server stop ag-vm1
wait_status "$tok1" "$vm1" SHUTOFF 20
expect_eq "ag-vm1 reaches SHUTOFF through a power job" "SHUTOFF" "$WAITED"
expect_ok "server start ag-vm1" os1 server start ag-vm1
wait_status "$tok1" "$vm1" ACTIVE 20
expect_eq "ag-vm1 is ACTIVE again" "ACTIVE" "$WAITED"
sleep 2 # a report with the domain's counters
api GET "/compute/v2.1/servers/$vm1/diagnostics" "$tokadm" "" -H 'OpenStack-API-Version: compute 2.48'
expect_code "server diagnostics (admin, 2.48)" 200
expect_holds "its CPU time comes from the agent's counters ($(jqo .cpu_time_ns) ns)" \
    "$(jqo '.cpu_time_ns // 0') > 0"
api GET "/compute/v2.1/servers/$vm1/diagnostics" "$tok1"
expect_code "a member may not read diagnostics (403)" 403

# ---- the agent goes away: the service goes down, work waits for it
agent_stop TERM
expect_contains "the agent stopped cleanly" "hearth-agent stops." \
    "$(cat "$HEARTH_DATA/agent-ag1.log")"
expect_ok "server create --availability-zone AG ag-vm2 while ag1's agent is away" \
    os1 server create --flavor m1.small --image debian-12 --network shared \
    --availability-zone AG ag-vm2 -f json
vm2=$(jqo .id)
sleep 2
expect_eq "ag-vm2 waits in BUILD" "BUILD" "$(server_status "$tok1" "$vm2")"
agent_start ag1 "$secret"
wait_status "$tok1" "$vm2" ACTIVE 30
expect_eq "the agent back, ag-vm2 is built: ACTIVE" "ACTIVE" "$WAITED"
expect_eq "its spawn ran once" "1" \
    "$(grep -c "Job spawn of instance $vm2 starts" "$HEARTH_DATA/agent-ag1.log")"

# ---- hearthd is killed under the agent and restarts: the agent reconnects
kill9_hearthd
sleep 2
restart_hearthd || finish
for _ in $(seq 1 60); do [ "$(service_state ag1)" = "enabled up" ] && break; sleep 0.5; done
expect_eq "after hearthd's restart ag1 is up again" "enabled up" "$(service_state ag1)"
expect_ok "console log show ag-vm2 through the reconnected agent" os1 console log show ag-vm2
expect_contains "the agent answers" "on ag1" "$OUT"

# ---- delete through the agent; usage adds up
expect_ok "server delete --wait ag-vm1 ag-vm2" os1 server delete --wait ag-vm1 ag-vm2
expect_ok "hypervisor show ag1" osadmin hypervisor show ag1 -f json
expect_eq "ag1 holds nothing" "0" "$(jqo .vcpus_used)"
expect_ok "limits show --absolute" os1 limits show --absolute -f json
expect_eq "tier1 holds no instance" "0" "$(limit_of totalInstancesUsed)"

# ---- a new secret locks the old agent out
expect_ok "hearth host-credential create ag1 again" hearth_admin -f json host-credential create ag1
agent_api POST /report ag1 "$secret" '{"domains":[]}'
expect_code "the old secret is refused: 401" 401
agent_stop TERM
finish
