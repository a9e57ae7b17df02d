#!/usr/bin/env bash
# Compute as a tier-1 user and as the admin sees it with the real CLI:
# flavors, keypairs (generated and imported), the server life cycle (create
# --wait with an address on the shared network, list, show, stop/start/reboot,
# lock/unlock, suspend/resume, delete --wait), multi-create, list filters,
# absolute limits that follow usage, and the admin views of the dev region
# (57 hypervisors, compute services with disable/enable, zones D2 and D4,
# the shared network and the HA router).
set -u
. "$(dirname "$0")/lib.sh"

start_hearthd || finish

tok1=$(token_of hearth-tier1)
keys=$HEARTH_DATA/keys
mkdir -p "$keys" && chmod 700 "$keys"

# ---------------------------------------------------------------- flavors
expect_ok "flavor list (member)" os1 flavor list -f json
flavors=$OUT
for spec in "m1.tiny 1 512 1" "m1.small 1 2048 20" "m1.medium 2 4096 40" \
    "m1.large 4 8192 80" "m1.xlarge 8 16384 160"; do
    read -r fname fcpu fram fdisk <<<"$spec"
    expect_eq "flavor list: $fname has $fcpu vCPU, $fram MB RAM, $fdisk GB disk" \
        "$fcpu $fram $fdisk" \
        "$(jq -r --arg n "$fname" '.[] | select(.Name == $n) | "\(.VCPUs) \(.RAM) \(.Disk)"' <<<"$flavors")"
done

expect_ok "flavor create as admin" \
    osadmin flavor create --vcpus 2 --ram 3072 --disk 25 t.custom -f json
expect_eq "flavor create prints name, vcpus, ram, disk" "t.custom 2 3072 25" \
    "$(jqo '"\(.name) \(.vcpus) \(.ram) \(.disk)"')"
expect_fail "a member cannot flavor create (403)" "403" \
    os1 flavor create --vcpus 1 --ram 256 --disk 1 t.member
expect_ok "flavor show t.custom (member)" os1 flavor show t.custom -f json
expect_eq "flavor show prints its sizes" "2 3072 25" "$(jqo '"\(.vcpus) \(.ram) \(.disk)"')"
expect_fail "a member cannot flavor delete (403)" "403" os1 flavor delete t.custom
expect_ok "flavor delete as admin" osadmin flavor delete t.custom
expect_fail "a deleted flavor cannot be shown" "" os1 flavor show t.custom
expect_ok "flavor list after the delete" os1 flavor list -f value -c Name
expect_not_contains "a deleted flavor is not listed" "t.custom" "$OUT"

# ---------------------------------------------------------------- keypairs
expect_ok "keypair create K (server-generated key)" os1 keypair create K
printf '%s\n' "$OUT" >"$keys/K.pem"
chmod 600 "$keys/K.pem"
expect_contains "keypair create prints the private key" "PRIVATE KEY-----" "$OUT"
expect_ok "keypair show K" os1 keypair show K -f json
expect_eq "keypair show prints the name" "K" "$(jqo .name)"
expect_match "keypair show prints an MD5 fingerprint" '^([0-9a-f]{2}:){15}[0-9a-f]{2}$' "$(jqo .fingerprint)"
expect_ok "keypair show --public-key K" os1 keypair show --public-key K
k_pub=$OUT
if command -v ssh-keygen >/dev/null; then
    derived=$(ssh-keygen -y -f "$keys/K.pem" 2>/dev/null | awk '{print $1" "$2}')
    expect_eq "the printed private key matches the stored public key" \
        "$derived" "$(awk 'NR==1{print $1" "$2}' <<<"$k_pub")"

    ssh-keygen -q -t rsa -b 2048 -N '' -C scenario@hearth -f "$keys/imp" </dev/null
    expect_ok "keypair create --public-key FILE kimp (import)" \
        os1 keypair create --public-key "$keys/imp.pub" kimp -f json
    expect_eq "the imported key's fingerprint is the MD5 of the key" \
        "$(ssh-keygen -l -E md5 -f "$keys/imp.pub" | awk '{sub(/^MD5:/, "", $2); print $2}')" \
        "$(jqo .fingerprint)"
    expect_ok "keypair show --public-key kimp" os1 keypair show --public-key kimp
    expect_eq "the imported public key is returned unchanged" \
        "$(awk '{print $1" "$2}' "$keys/imp.pub")" "$(awk 'NR==1{print $1" "$2}' <<<"$OUT")"
else
    skip "keypair import and private key check" "ssh-keygen not installed"
fi
expect_fail "a second keypair named K is refused (409)" "409" os1 keypair create K
expect_ok "keypair list" os1 keypair list -f value -c Name
expect_contains "keypair list shows K" "K" "$OUT"
if command -v ssh-keygen >/dev/null; then
    expect_contains "keypair list shows kimp" "kimp" "$OUT"
    expect_ok "keypair delete kimp" os1 keypair delete kimp
    expect_ok "keypair list after the delete" os1 keypair list -f value -c Name
    expect_not_contains "a deleted keypair is not listed" "kimp" "$OUT"
    expect_fail "a deleted keypair cannot be shown" "" os1 keypair show kimp
fi

# ---------------------------------------------------------------- limits before
expect_ok "limits show --absolute (no servers yet)" os1 limits show --absolute -f json
expect_eq "tier1 maxTotalInstances is 10" "10" "$(limit_of maxTotalInstances)"
expect_eq "tier1 maxTotalCores is 20" "20" "$(limit_of maxTotalCores)"
expect_eq "tier1 maxTotalRAMSize is 65536" "65536" "$(limit_of maxTotalRAMSize)"
expect_eq "totalInstancesUsed is 0 before any create" "0" "$(limit_of totalInstancesUsed)"

# ---------------------------------------------------------------- server life cycle
expect_ok "server create --flavor m1.small --image debian-12 --network shared --key-name K --wait vm1" \
    os1 server create --flavor m1.small --image debian-12 --network shared --key-name K --wait vm1 -f json
vm1=$(jqo .id)
expect_eq "server create --wait ends ACTIVE" "ACTIVE" "$(jqo .status)"
expect_match "server create prints an id" '^[0-9a-fA-F-]{8,}$' "$vm1"

expect_ok "server show vm1" os1 server show vm1 -f json
expect_eq "server show: id" "$vm1" "$(jqo .id)"
expect_eq "server show: status" "ACTIVE" "$(jqo .status)"
expect_match "server show: flavor is m1.small" '^m1\.small( |$)' "$(jqo .flavor)"
expect_match "server show: image is debian-12" '^debian-12( |$)' "$(jqo .image)"
expect_eq "server show: key_name" "K" "$(jqo .key_name)"
expect_ok "server show vm1 -c addresses" os1 server show vm1 -f table -c addresses
expect_contains "vm1 has an address on the shared network" "shared=10.10." "$OUT"

expect_ok "server list" os1 server list -f json
expect_eq "server list has one server" "1" "$(jqo length)"
expect_eq "server list row: name, status, image, flavor" "vm1 ACTIVE debian-12 m1.small" \
    "$(jqo '.[0] | "\(.Name) \(.Status) \(.Image) \(.Flavor)"')"
expect_contains "server list row: networks" "10.10." "$(jqo '.[0].Networks | tostring')"

expect_ok "limits show --absolute (one m1.small)" os1 limits show --absolute -f json
expect_eq "totalInstancesUsed is 1" "1" "$(limit_of totalInstancesUsed)"
expect_eq "totalCoresUsed is 1" "1" "$(limit_of totalCoresUsed)"
expect_eq "totalRAMUsed is 2048" "2048" "$(limit_of totalRAMUsed)"

# action STATUS DESC CLI-ARGS...: the CLI call must succeed, then the server
# must reach STATUS within 20 s.
action() {
    local want=$1 desc=$2
    shift 2
    if expect_ok "$desc" os1 "$@"; then
        wait_status "$tok1" "$vm1" "$want" 20
        expect_eq "after '$*' vm1 becomes $want" "$want" "$WAITED"
    fi
}
action SHUTOFF "server stop vm1" server stop vm1
action ACTIVE "server start vm1" server start vm1
action ACTIVE "server reboot vm1" server reboot vm1

expect_ok "server lock vm1" os1 server lock vm1
expect_fail_re "the owner cannot stop a locked server (409 locked)" 'locked' os1 server stop vm1
sleep 1
expect_eq "the locked server is still ACTIVE" "ACTIVE" "$(server_status "$tok1" "$vm1")"
expect_ok "server unlock vm1" os1 server unlock vm1

action SUSPENDED "server suspend vm1" server suspend vm1
action ACTIVE "server resume vm1" server resume vm1

expect_ok "server delete --wait vm1" os1 server delete --wait vm1
expect_eq "vm1 is gone from the API" "GONE" "$(server_status "$tok1" "$vm1")"
expect_fail "server show of a deleted server fails" "No server with a name or ID" os1 server show vm1
expect_ok "limits show --absolute (after delete)" os1 limits show --absolute -f json
expect_eq "totalInstancesUsed is back to 0" "0" "$(limit_of totalInstancesUsed)"

# ---------------------------------------------------------------- multi-create and filters
expect_ok "server create --min 3 --max 3 multi" \
    os1 server create --flavor m1.tiny --image debian-12 --network shared --min 3 --max 3 multi -f json
expect_ok "server list --name multi" os1 server list --name multi -f json
multi_ids=$(jqo '.[].ID')
expect_eq "--min 3 --max 3 made 3 servers" "3" "$(jqo length)"
for id in $multi_ids; do
    wait_status "$tok1" "$id" ACTIVE 20
    expect_eq "multi server $id becomes ACTIVE" "ACTIVE" "$WAITED"
done

expect_ok "server create solo" \
    os1 server create --flavor m1.tiny --image debian-12 --network shared solo -f json
solo=$(jqo .id)
wait_status "$tok1" "$solo" ACTIVE 20
expect_eq "solo becomes ACTIVE" "ACTIVE" "$WAITED"
expect_ok "server stop solo" os1 server stop solo
wait_status "$tok1" "$solo" SHUTOFF 20
expect_eq "solo becomes SHUTOFF" "SHUTOFF" "$WAITED"

expect_ok "server list --name solo" os1 server list --name solo -f value -c Name
expect_eq "--name solo lists only solo" "solo" "$OUT"
expect_ok "server list --status SHUTOFF" os1 server list --status SHUTOFF -f value -c Name
expect_eq "--status SHUTOFF lists only solo" "solo" "$OUT"
expect_ok "server list --status ACTIVE" os1 server list --status ACTIVE -f json
expect_eq "--status ACTIVE lists the 3 multi servers" \
    "$(sort <<<"$multi_ids" | tr '\n' ' ')" "$(jqo '.[].ID' | sort | tr '\n' ' ')"
expect_ok "server list --limit 2" os1 server list --limit 2 -f value -c ID
expect_eq "--limit 2 lists 2 servers" "2" "$(grep -c . <<<"$OUT")"
expect_ok "server list (all 4)" os1 server list -f value -c ID
expect_eq "server list lists 4 servers" "4" "$(grep -c . <<<"$OUT")"

expect_ok "limits show --absolute (4 x m1.tiny)" os1 limits show --absolute -f json
expect_eq "totalInstancesUsed is 4" "4" "$(limit_of totalInstancesUsed)"
expect_eq "totalCoresUsed is 4" "4" "$(limit_of totalCoresUsed)"
expect_eq "totalRAMUsed is 2048" "2048" "$(limit_of totalRAMUsed)"

# ---------------------------------------------------------------- hypervisors (admin)
expect_ok "hypervisor list (admin)" osadmin hypervisor list -f json
expected_hosts=$( (for i in $(seq 1 30); do printf 'd2-c%03d\n' "$i"; done
    for i in $(seq 1 27); do printf 'd4-c%03d\n' "$i"; done) | sort | tr '\n' ' ')
expect_eq "hypervisor list has 57 rows" "57" "$(jqo length)"
expect_eq "hypervisor list names d2-c001..d2-c030 and d4-c001..d4-c027" \
    "$expected_hosts" "$(jqo '.[]."Hypervisor Hostname"' | sort | tr '\n' ' ')"
expect_eq "every hypervisor is of type sim" "sim" "$(jqo '[.[]."Hypervisor Type"] | unique | join(",")')"

expect_ok "hypervisor show d2-c001" osadmin hypervisor show d2-c001 -f json
expect_eq "hypervisor show: hostname" "d2-c001" "$(jqo .hypervisor_hostname)"
expect_eq "hypervisor show: 128 vCPUs" "128" "$(jqo .vcpus)"
expect_eq "hypervisor show: 524288 MB" "524288" "$(jqo .memory_mb)"
expect_eq "hypervisor show: type sim" "sim" "$(jqo .hypervisor_type)"
expect_contains "hypervisor show: CPU model EPYC-Rome" "EPYC-Rome" "$(jqo '.cpu_info | tostring')"

expect_ok "hypervisor stats show" osadmin hypervisor stats show -f json
expect_eq "hypervisor stats: count 57" "57" "$(jqo .count)"
expect_eq "hypervisor stats: vcpus 57 x 128" "7296" "$(jqo .vcpus)"
expect_eq "hypervisor stats: memory_mb 57 x 524288" "29884416" "$(jqo .memory_mb)"

expect_fail "a member cannot list hypervisors (403)" "403" os1 hypervisor list

# ---------------------------------------------------------------- compute services (admin)
expect_ok "compute service list (admin)" osadmin compute service list -f json
n_compute=$(jqo '[.[] | select(.Binary == "nova-compute")] | length')
if [ "${n_compute:-0}" -ge 57 ]; then pass "compute service list has >= 57 nova-compute rows ($n_compute)"
else fail "compute service list has >= 57 nova-compute rows" "got ${n_compute:-none}"; fi
expect_eq "d2-c001's nova-compute is in zone D2" "D2" \
    "$(jqo '.[] | select(.Host == "d2-c001" and .Binary == "nova-compute") | .Zone')"
expect_eq "d4-c027's nova-compute is in zone D4" "D4" \
    "$(jqo '.[] | select(.Host == "d4-c027" and .Binary == "nova-compute") | .Zone')"

expect_ok "compute service set --disable --disable-reason maint d2-c001 nova-compute" \
    osadmin compute service set --disable --disable-reason maint d2-c001 nova-compute
expect_ok "compute service list --host d2-c001 --long" \
    osadmin compute service list --host d2-c001 --service nova-compute --long -f json
expect_eq "d2-c001 is disabled with reason maint" "disabled maint" \
    "$(jqo '.[0] | "\(.Status) \(."Disabled Reason")"')"
expect_ok "compute service set --enable d2-c001 nova-compute" \
    osadmin compute service set --enable d2-c001 nova-compute
expect_ok "compute service list --host d2-c001" \
    osadmin compute service list --host d2-c001 --service nova-compute -f json
expect_eq "d2-c001 is enabled again" "enabled" "$(jqo '.[0].Status')"

# ---------------------------------------------------------------- zones and network
expect_ok "availability zone list --compute (member)" os1 availability zone list --compute -f json
expect_eq "zone D2 is available" "available" "$(jqo '.[] | select(."Zone Name" == "D2") | ."Zone Status"' | head -n1)"
expect_eq "zone D4 is available" "available" "$(jqo '.[] | select(."Zone Name" == "D4") | ."Zone Status"' | head -n1)"

expect_ok "network list (member)" os1 network list -f json
expect_eq "network list shows shared" "shared" "$(jqo '.[] | select(.Name == "shared") | .Name')"
expect_match "network shared has a subnet" '[0-9a-fA-F]' "$(jqo '.[] | select(.Name == "shared") | .Subnets | tostring')"
expect_ok "subnet show shared-v4" os1 subnet show shared-v4 -f value -c cidr
expect_eq "shared-v4 is 10.10.0.0/16" "10.10.0.0/16" "$OUT"

expect_ok "router list (admin)" osadmin router list -f json
expect_eq "router list shows shared-router" "shared-router" \
    "$(jqo '.[] | select(.Name == "shared-router") | .Name')"
expect_match "shared-router is HA" '^(true|True)$' \
    "$(jqo '.[] | select(.Name == "shared-router") | .HA | tostring')"

finish
