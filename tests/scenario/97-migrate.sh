#!/usr/bin/env bash
# Live migration through the real openstack client, on the dev region's sim hosts (one
# cluster, rome, across D2 and D4): the scheduler's pick and an admin's named target, the
# server's host, AZ and the hosts' usage moving with it, the migration records, and every
# refusal an operator or a tenant can meet. The libvirt driver's migration between two
# hypervisors is tests/scenario/98-libvirt-guest.sh.
set -u
. "$(dirname "$0")/lib.sh"

start_hearthd || finish
tok1=$(token_of hearth-tier1)
tokadm=$(token_of hearth-admin)

# host_of NAME: the server's host, as the admin sees it.
host_of() { osadmin server show "$1" -f json 2>/dev/null |
    jq -r '."OS-EXT-SRV-ATTR:host" // ""'; }
# used_vcpus HOST: vCPUs the hypervisor has given out.
used_vcpus() {
    api GET /compute/v2.1/os-hypervisors/detail "$tokadm"
    jq -r --arg h "$1" '.hypervisors[] | select(.hypervisor_hostname == $h) | .vcpus_used' \
        <<<"$OUT"
}

expect_ok "server create --flavor m1.small --wait vm1 (tier 1)" \
    os1 server create --flavor m1.small --image debian-12 --network shared --wait vm1 -f json
vm1=$(jqo .id)
src=$(host_of "$vm1")
expect_match "vm1 runs on a compute host of the dev region" '^d[24]-c[0-9]{3}$' "$src"
src_used=$(used_vcpus "$src")

# ---- who may
expect_fail "a member may not live-migrate (403)" "403" \
    os1 server migrate --live-migration vm1
api POST "/compute/v2.1/servers/$vm1/action" "$tok1" '{"os-migrateLive":{"host":null,"block_migration":false,"disk_over_commit":false}}'
expect_code "the same over the API: 403" 403
expect_eq "403 in Nova's shape" "403" "$(jqo '.forbidden.code')"
api GET /compute/v2.1/os-migrations "$tok1"
expect_code "a member may not list migrations (403)" 403

# ---- the scheduler picks: `server migrate --live-migration` at 2.1
expect_ok "server migrate --live-migration --wait vm1 (admin, scheduler's pick)" \
    osadmin server migrate --live-migration --wait "$vm1"
dst=$(host_of "$vm1")
expect_match "vm1 moved to another host of the cluster" '^d[24]-c[0-9]{3}$' "$dst"
if [ "$dst" != "$src" ]; then pass "the target is not the source ($src -> $dst)"; else
    fail "the target is not the source ($src -> $dst)"; fi
expect_ok "server show vm1 as its owner" os1 server show vm1 -f json
expect_eq "vm1 is ACTIVE after the move" "ACTIVE" "$(jqo .status)"
expect_contains "vm1 keeps its address" "10.10." "$(jqo '.addresses | tostring')"
expect_eq "the source gave back vm1's vCPU" "$((src_used - 1))" "$(used_vcpus "$src")"

# ---- an admin names the target (2.30), across datacentres: the AZ follows
case $dst in d2-*) target=d4-c007 az=D4 ;; *) target=d2-c007 az=D2 ;; esac
before=$(used_vcpus "$target")
expect_ok "--os-compute-api-version 2.30 server migrate --live-migration --host $target --wait" \
    osadmin --os-compute-api-version 2.30 server migrate --live-migration --host "$target" \
    --wait "$vm1"
expect_eq "vm1 runs on $target" "$target" "$(host_of "$vm1")"
expect_ok "server show vm1 (admin)" osadmin server show "$vm1" -f json
expect_eq "its availability zone is now $az" "$az" "$(jqo '."OS-EXT-AZ:availability_zone"')"
expect_eq "$target counts vm1's vCPU" "$((before + 1))" "$(used_vcpus "$target")"
expect_ok "server migration list (admin)" osadmin server migration list -f json
expect_eq "two migrations, both completed" "completed completed" \
    "$(jqo '[.[] | .Status] | join(" ")')"
api GET "/compute/v2.1/os-migrations?instance_uuid=$vm1" "$tokadm" "" -H 'OpenStack-API-Version: compute 2.59'
expect_code "GET /os-migrations?instance_uuid= (2.59)" 200
expect_eq "each names its source, target and type" \
    "$target live-migration" "$(jqo '.migrations[0] | "\(.dest_compute) \(.migration_type)"')"
api GET "/compute/v2.1/servers/$vm1/migrations" "$tokadm" "" -H 'OpenStack-API-Version: compute 2.23'
expect_code "GET /servers/{id}/migrations (2.23)" 200
expect_eq "none in progress" "0" "$(jqo '.migrations | length')"

# ---- refusals, each leaving vm1 where it is
api POST "/compute/v2.1/servers/$vm1/action" "$tokadm" \
    "{\"os-migrateLive\":{\"host\":\"$target\",\"block_migration\":\"auto\"}}" \
    -H 'OpenStack-API-Version: compute 2.30'
expect_code "to its own host: 400" 400
expect_contains "the message says why" "own host" "$(jqo .badRequest.message)"
api POST "/compute/v2.1/servers/$vm1/action" "$tokadm" \
    '{"os-migrateLive":{"host":"no-such-host","block_migration":"auto"}}' \
    -H 'OpenStack-API-Version: compute 2.30'
expect_code "to a host that does not exist: 400" 400
api POST "/compute/v2.1/servers/$vm1/action" "$tokadm" \
    '{"os-migrateLive":{"host":"d2-net001","block_migration":"auto"}}' \
    -H 'OpenStack-API-Version: compute 2.30'
expect_code "to a network node: 400" 400
api POST "/compute/v2.1/servers/$vm1/action" "$tokadm" \
    '{"os-migrateLive":{"host":null,"block_migration":"auto","disk_over_commit":false}}' \
    -H 'OpenStack-API-Version: compute 2.30'
expect_code "disk_over_commit from 2.25 on: 400" 400
api POST "/compute/v2.1/servers/$vm1/action" "$tokadm" \
    '{"os-migrateLive":{"host":null,"block_migration":"auto","speed":"ludicrous"}}' \
    -H 'OpenStack-API-Version: compute 2.30'
expect_code "an unknown member: 400" 400
api POST "/compute/v2.1/servers/$vm1/action" "$tokadm" '{"os-migrateLive":"d2-c1"}'
expect_code "not an object: 400" 400
expect_ok "compute service set --disable d2-c009" \
    osadmin compute service set --disable d2-c009 nova-compute
api POST "/compute/v2.1/servers/$vm1/action" "$tokadm" \
    '{"os-migrateLive":{"host":"d2-c009","block_migration":"auto"}}' \
    -H 'OpenStack-API-Version: compute 2.30'
expect_code "to a disabled host: 400" 400
expect_contains "the message names the host" "d2-c009" "$(jqo .badRequest.message)"
expect_eq "vm1 stayed on $target through every refusal" "$target" "$(host_of "$vm1")"
expect_eq "$target still counts vm1's vCPU once" "$((before + 1))" "$(used_vcpus "$target")"

expect_ok "server stop vm1" os1 server stop vm1
wait_status "$tok1" "$vm1" SHUTOFF 20
api POST "/compute/v2.1/servers/$vm1/action" "$tokadm" \
    '{"os-migrateLive":{"host":null,"block_migration":false,"disk_over_commit":false}}'
expect_code "a stopped server cannot live-migrate: 409" 409
expect_contains "409 says its state" "vm_state stopped" "$(jqo .conflictingRequest.message)"

# ---- usage adds up after it all: the project holds one server, the hosts one vCPU
expect_ok "server delete --wait vm1" os1 server delete --wait "$vm1"
expect_eq "$target gave back vm1's vCPU" "$before" "$(used_vcpus "$target")"
api GET /compute/v2.1/os-hypervisors/statistics "$tokadm"
expect_eq "the region's hypervisors hold nothing" "0" "$(jqo .hypervisor_statistics.vcpus_used)"

finish
