#!/usr/bin/env bash
# The libvirt virt driver through the real openstack client: a compute host whose driver
# is libvirt, on libvirt's own test driver (test:///default, an in-process hypervisor
# without a daemon or a guest). Its compute service is up while libvirt answers; a server
# placed on it goes through build, stop, start, suspend (a managed save), resume,
# reboot and delete as Nova's do; its serial console is read through `console log show`,
# and delete leaves no file behind. The domain itself is checked from libvirt's side by tests/unit/test_libvirt.c:
# test:///default keeps its state inside the process that opened it.
set -u
. "$(dirname "$0")/lib.sh"

LV_CFG=$(mktemp "${TMPDIR:-/tmp}/hearth-lv-XXXXXX.ini")
cat >"$LV_CFG" <<'INI'
[libvirt]
uri = test:///default
virt_type = qemu

[hosts lv]
prefix = lv
count = 1
kind = compute
az = LV
cluster = rome
cpu_model = EPYC-Rome
driver = libvirt
vcpus = 16
ram_mb = 65536
disk_gb = 500

[ratelimit]
enabled = false
INI
# shellcheck disable=SC2034 # read by lib.sh
HEARTHD_ARGS="--config $LV_CFG"
start_hearthd || finish
rm -f "$LV_CFG"
tok1=$(token_of hearth-tier1)

expect_ok "compute service list" osadmin compute service list -f json
expect_eq "the libvirt host's compute service is enabled and up" "enabled up" \
    "$(jqo '.[] | select(.Host == "lv1") | "\(.Status) \(.State)"')"
expect_ok "hypervisor list" osadmin hypervisor list -f json
expect_eq "lv1 is a hypervisor" "1" "$(jqo '[.[] | select(."Hypervisor Hostname" == "lv1")] | length')"

# ---- the cluster's CPU model: every host of the cluster must provide it
expect_ok "hearth cluster list" hearth_admin -f json cluster list
expect_eq "cluster rome requires EPYC-Rome, which all its 58 hosts provide" "EPYC-Rome 58 58" \
    "$(jqo '.clusters[] | select(.name == "rome") | "\(.cpu_model) \(.hosts) \(.hosts_providing)"')"
expect_ok "hearth cluster-set rome --cpu-model Skylake-Server" \
    hearth_admin cluster-set rome --cpu-model Skylake-Server
expect_contains "it shows the new model" "Skylake-Server" "$OUT"
expect_ok "server create --availability-zone LV --wait sky (no host provides Skylake-Server)" \
    os1 server create --flavor m1.small --image debian-12 --network shared \
    --availability-zone LV sky -f json
sky=$(jqo .id)
wait_status "$tok1" "$sky" ERROR 20
expect_eq "the scheduler finds no valid host: sky goes to ERROR" "ERROR" "$WAITED"
expect_ok "server show sky" os1 server show sky -f json
expect_contains "its fault says why" "No valid host" "$(jqo '.fault.message // ""')"
expect_ok "server delete --wait sky" os1 server delete --wait sky
expect_fail "cluster-set of an unknown cluster" "does not exist" \
    hearth_admin cluster-set nowhere --cpu-model EPYC-Rome
expect_fail "cluster-set with a model that is no libvirt name" "Invalid CPU model" \
    hearth_admin cluster-set rome --cpu-model "EPYC Rome"
api PUT /hearth/v1/clusters/rome "$tok1" '{"cluster":{"cpu_model":"EPYC-Rome"}}'
expect_eq "a member may not set a cluster's model (403)" "403" "$CODE"
expect_ok "hearth cluster-set rome --cpu-model EPYC-Rome" \
    hearth_admin cluster-set rome --cpu-model EPYC-Rome

expect_ok "server create --availability-zone LV --wait lv-vm" \
    os1 server create --flavor m1.small --image debian-12 --network shared \
    --availability-zone LV --wait lv-vm -f json
expect_eq "lv-vm is ACTIVE" "ACTIVE" "$(jqo .status)"
vm=$(jqo .id)
expect_ok "server show lv-vm (admin)" osadmin server show "$vm" -f json
expect_eq "lv-vm runs on lv1" "lv1" "$(jqo '."OS-EXT-SRV-ATTR:host"')"

# action STATUS DESC CLI-ARGS...: the CLI call succeeds, then lv-vm reaches STATUS.
action() {
    local want=$1 desc=$2
    shift 2
    if expect_ok "$desc" os1 "$@"; then
        wait_status "$tok1" "$vm" "$want" 20
        expect_eq "after '$*' lv-vm becomes $want" "$want" "$WAITED"
    fi
}
action SHUTOFF "server stop lv-vm" server stop lv-vm
action ACTIVE "server start lv-vm" server start lv-vm
action SUSPENDED "server suspend lv-vm" server suspend lv-vm
action ACTIVE "server resume lv-vm" server resume lv-vm
action ACTIVE "server reboot lv-vm" server reboot lv-vm

# The serial console is logged in the instance's folder (here, the data folder's
# instances/); test:///default runs no guest, so the test writes what a guest would.
console=$HEARTH_DATA/instances/$vm/console.log
expect_eq "lv-vm has a folder for its console" "yes" "$([ -d "${console%/*}" ] && echo yes)"
expect_ok "console log show lv-vm (nothing written yet)" os1 console log show lv-vm
expect_eq "an empty console" "" "$OUT"
printf 'Linux version 6.1\nhearth-marker-96\n' >"$console"
expect_ok "console log show lv-vm" os1 console log show lv-vm
expect_contains "it shows what the guest wrote" "hearth-marker-96" "$OUT"

expect_ok "server delete --wait lv-vm" os1 server delete --wait lv-vm
expect_fail "lv-vm is gone" "" os1 server show lv-vm
expect_eq "its folder and console log are gone" "no" "$([ -e "${console%/*}" ] && echo yes || echo no)"
expect_ok "limits show --absolute" os1 limits show --absolute -f json
expect_eq "its quota is released" "0" "$(jqo '.[] | select(.Name == "totalInstancesUsed") | .Value')"
expect_ok "hypervisor show lv1" osadmin hypervisor show lv1 -f json
expect_eq "lv1 has no vCPU in use" "0" "$(jqo .vcpus_used)"

finish
