#!/usr/bin/env bash
# Real guests through the real openstack client: two hypervisors on this machine
# (tests/libvirt/hosts.sh: each its own network, mount and cgroup namespaces, its own
# libvirtd over TCP, its own instances folder), each with hearth-agent on the libvirt driver,
# virt type qemu (TCG: nested KVM hangs here). A tiny guest the test builds from Debian's
# kernel and busybox (tests/libvirt/guest.sh) boots from a qcow2 overlay with its kernel and
# ramdisk as Glance images, reads its NoCloud config drive, prints a marker and then a
# counter. The test reads the console through `console log show`, live-migrates the guest
# from hv1 to hv2 and sees the counter go on, deletes it and finds nothing left, and kills
# an agent in the middle of a spawn.
set -u
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")/../libvirt" && pwd)
AGENT_BIN=$BUILD/hearth-agent
if [ "$(id -u)" != 0 ] || ! command -v libvirtd >/dev/null || ! command -v qemu-system-x86_64 \
    >/dev/null; then
    skip "real guests on two libvirt hypervisors" \
        "needs root, libvirtd and QEMU (scripts/install-deps.sh guests)"
    finish
fi
# The hypervisors are namespaces: a machine that may not make them cannot run this test.
if ! ip netns add "hearth-probe-$$" 2>/dev/null || ! ip netns del "hearth-probe-$$" ||
    ! unshare --mount --uts true 2>/dev/null; then
    skip "real guests on two libvirt hypervisors" \
        "this machine may not make network or mount namespaces"
    finish
fi

HEARTH_LISTEN_ADDR=0.0.0.0
start_hearthd || finish
HV=$HEARTH_DATA/hv
GUEST=$HEARTH_DATA/guest
at_exit '"$HERE/hosts.sh" stop "$HV" 2 >/dev/null 2>&1'
AGENT_PIDS=(x "" "")
at_exit 'agent_stop 1 KILL; agent_stop 2 KILL'

expect_ok "tests/libvirt/guest.sh builds the guest" "$HERE/guest.sh" "$GUEST"
expect_ok "tests/libvirt/hosts.sh starts hv1 and hv2" "$HERE/hosts.sh" start "$HV" 2

# ---- the agents
# agent_start K: hearth-agent for hvK inside hvK's namespaces.
agent_start() {
    local k=$1 ip=10.77.0.$(($1 + 1))
    cat >"$HEARTH_DATA/agent-hv$k.ini" <<INI
[agent]
hearthd_url = http://10.77.0.1:$HEARTH_PORT
host = hv$k
secret = ${SECRETS[$k]}
driver = libvirt
az = KVM
cluster = kvm
cpu_model = EPYC-Rome
vcpus = 4
ram_mb = 4096
disk_gb = 50
host_ip = $ip
migrate_uri = qemu+tcp://$ip/system
report_s = 2

[libvirt]
uri = qemu:///system
virt_type = qemu
instances_dir = /var/lib/hearth/instances
INI
    "$HERE/hosts.sh" exec "$HV" "$k" "$AGENT_BIN" --config "$HEARTH_DATA/agent-hv$k.ini" \
        >>"$HEARTH_DATA/agent-hv$k.log" 2>&1 &
    AGENT_PIDS[$k]=$!
}
agent_stop() {
    [ -n "${AGENT_PIDS[$1]}" ] || return 0
    kill "-${2:-TERM}" "${AGENT_PIDS[$1]}" 2>/dev/null
    wait "${AGENT_PIDS[$1]}" 2>/dev/null
    AGENT_PIDS[$1]=
}
# on_hv K CMD...: CMD inside hvK (virsh, ls, ip).
on_hv() { local k=$1; shift; "$HERE/hosts.sh" exec "$HV" "$k" "$@"; }
service_up() {
    osadmin compute service list -f json 2>/dev/null |
        jq -r --arg h "$1" '.[] | select(.Host == $h) | .State'
}
# console_of ID: the guest's console through the API (the agent reads it on its host).
console_of() { osadmin console log show "$1" 2>/dev/null | tr -d '\r'; }
# last_count ID: the last counter value the guest printed.
last_count() { console_of "$1" | awk '/^HEARTH-COUNTER [0-9]+$/ {n = $2} END {print n + 0}'; }
# wait_console ID REGEX [TIMEOUT]: until the console has a line matching REGEX.
wait_console() {
    local deadline=$((SECONDS + ${3:-90}))
    while [ $SECONDS -lt $deadline ]; do
        console_of "$1" | grep -Eq "$2" && return 0
        sleep 1
    done
    return 1
}

SECRETS=(x)
for k in 1 2; do
    expect_ok "hearth host-credential create hv$k" hearth_admin -f json host-credential create "hv$k"
    SECRETS[$k]=$(jqo .credential.secret)
    agent_start "$k"
done
for _ in $(seq 1 60); do
    [ "$(service_up hv1)" = up ] && [ "$(service_up hv2)" = up ] && break
    sleep 0.5
done
expect_eq "both hypervisors' compute services are up" "up up" "$(service_up hv1) $(service_up hv2)"
expect_ok "hearth cluster-set kvm --cpu-model EPYC-Rome" \
    hearth_admin cluster-set kvm --cpu-model EPYC-Rome

# ---- the images: a kernel and a ramdisk, and a root disk that names them (AMI style)
expect_ok "image create tiny-kernel (aki)" osadmin image create --public --disk-format aki \
    --container-format aki --file "$GUEST/vmlinuz" tiny-kernel -f json
kernel=$(jqo .id)
expect_ok "image create tiny-ramdisk (ari)" osadmin image create --public --disk-format ari \
    --container-format ari --file "$GUEST/initrd.img" tiny-ramdisk -f json
ramdisk=$(jqo .id)
expect_ok "image create tiny (qcow2, kernel_id, ramdisk_id, os_command_line)" \
    osadmin image create --public --disk-format qcow2 --container-format bare \
    --file "$GUEST/disk.qcow2" --property "kernel_id=$kernel" --property "ramdisk_id=$ramdisk" \
    --property "os_command_line=console=ttyS0 panic=-1" tiny -f json

# ---- a real guest
printf 'HEARTH-USERDATA-MARKER\nsecond line\n' >"$HEARTH_DATA/user-data"
expect_ok "keypair create k" osadmin keypair create k
expect_ok "server create --image tiny --user-data --key-name k --availability-zone KVM:hv1 --wait g1" \
    osadmin server create --flavor m1.tiny --image tiny --network shared --key-name k \
    --user-data "$HEARTH_DATA/user-data" --availability-zone KVM:hv1 --wait g1 -f json
g1=$(jqo .id)
expect_eq "g1 is ACTIVE" "ACTIVE" "$(jqo .status)"
expect_eq "on hv1" "hv1" "$(jqo '."OS-EXT-SRV-ATTR:host"')"
ip=$(jqo '.addresses | tostring' | grep -oE '10\.10\.[0-9]+\.[0-9]+' | head -1)
note "g1 $g1 at $ip"
if wait_console "$g1" '^HEARTH-COUNTER 2$' 120; then pass "g1 boots: its console counts"; else
    fail "g1 boots: its console counts" "$(console_of "$g1" | tail -20)"; fi
out=$(console_of "$g1")
expect_contains "the guest printed its marker" "HEARTH-GUEST-BOOTED" "$out"
expect_contains "it read the user data from the config drive" "USERDATA: HEARTH-USERDATA-MARKER" "$out"
expect_contains "its hostname from the meta-data" "HOSTNAME: g1" "$out"
expect_contains "the address hearthd allocated, from network-config" "IP: $ip/" "$out"
expect_ok "virsh list on hv1" on_hv 1 virsh -c qemu:///system list --name
expect_contains "hv1's libvirt runs the domain hearth-$g1" "hearth-$g1" "$OUT"
expect_ok "virsh dumpxml on hv1" on_hv 1 virsh -c qemu:///system dumpxml "hearth-$g1"
expect_contains "its CPU is the cluster's model" "<model fallback='forbid'>EPYC-Rome</model>" "$OUT"
expect_contains "its type is qemu" "domain type='qemu'" "$OUT"
tap=$(grep -oE "tap[0-9a-f-]{11}" <<<"$OUT" | head -1)
expect_match "its NIC is a tap on a bridge" '^tap' "$tap"

# ---- live migration hv1 -> hv2: the counter goes on
before=$(last_count "$g1")
start=$SECONDS
expect_ok "--os-compute-api-version 2.30 server migrate --live-migration --host hv2 --wait g1" \
    osadmin --os-compute-api-version 2.30 server migrate --live-migration --host hv2 --wait "$g1"
note "migrated in $((SECONDS - start)) s (the client polls every 5 s)"
expect_ok "server show g1" osadmin server show "$g1" -f json
expect_eq "g1 is ACTIVE on hv2" "ACTIVE hv2" "$(jqo '"\(.status) \(."OS-EXT-SRV-ATTR:host")"')"
sleep 3
after=$(last_count "$g1")
expect_holds "the counter went on on hv2 ($before before, $after after)" "$after > $before + 1"
# hv2's console log begins at the switchover (the source's log stays behind): a guest that
# booted again there would print its marker and count from 1.
first=$(console_of "$g1" | awk '/^HEARTH-COUNTER [0-9]+$/ {print $2; exit}')
expect_holds "hv2's console goes on from the count before the move (first there: $first)" \
    "${first:-0} > 1 && ${first:-0} <= $after"
expect_eq "the guest did not boot again" "0" "$(console_of "$g1" | grep -c '^HEARTH-GUEST-BOOTED$')"
expect_ok "virsh list --all on hv1" on_hv 1 virsh -c qemu:///system list --all --name
expect_not_contains "hv1 has no domain left" "hearth-$g1" "$OUT"
expect_ok "the source's instance folder is gone" on_hv 1 test ! -e "/var/lib/hearth/instances/$g1"
expect_ok "server migration list" osadmin server migration list -f json
expect_eq "one completed migration hv1 -> hv2" "completed hv1 hv2" \
    "$(jqo '.[0] | "\(.Status) \(."Source Node") \(."Dest Node")"')"

# ---- delete: nothing left behind
expect_ok "server delete --wait g1" osadmin server delete --wait "$g1"
expect_ok "virsh list --all on hv2" on_hv 2 virsh -c qemu:///system list --all --name
expect_not_contains "no domain left on hv2" "hearth-$g1" "$OUT"
expect_ok "no instance folder (disk, config drive, console) left on hv2" \
    on_hv 2 test ! -e "/var/lib/hearth/instances/$g1"
expect_ok "ip link on hv2" on_hv 2 ip -o link
expect_not_contains "no tap device left on hv2" "$tap" "$OUT"
expect_ok "the image cache keeps the base" on_hv 2 test -s "/var/lib/hearth/instances/_base/$kernel"

# ---- kill -9 the agent in the middle of a spawn
expect_ok "server create --availability-zone KVM:hv1 g2" \
    osadmin server create --flavor m1.tiny --image tiny --network shared \
    --availability-zone KVM:hv1 g2 -f json
g2=$(jqo .id)
for _ in $(seq 1 200); do
    grep -q "Job spawn of instance $g2 starts" "$HEARTH_DATA/agent-hv1.log" && break
    sleep 0.05
done
agent_stop 1 KILL
expect_contains "the agent was killed during g2's spawn" "Job spawn of instance $g2 starts" \
    "$(cat "$HEARTH_DATA/agent-hv1.log")"
note "g2 is $(osadmin server show "$g2" -f value -c status 2>/dev/null) with its agent gone"
agent_start 1
deadline=$((SECONDS + 120))
st=
while [ $SECONDS -lt $deadline ]; do
    st=$(osadmin server show "$g2" -f value -c status 2>/dev/null)
    case $st in ACTIVE | ERROR) break ;; esac
    sleep 1
done
expect_match "after the agent's restart g2 ends ACTIVE or ERROR, not stuck ($st)" '^(ACTIVE|ERROR)$' "$st"
expect_ok "virsh list --all on hv1" on_hv 1 virsh -c qemu:///system list --all --name
expect_holds "one domain for g2 at most ($(grep -c "hearth-$g2" <<<"$OUT"))" \
    "$(grep -c "hearth-$g2" <<<"$OUT") <= 1"
if [ "$st" = ACTIVE ]; then
    expect_eq "ACTIVE means one domain" "1" "$(grep -c "hearth-$g2" <<<"$OUT")"
    if wait_console "$g2" '^HEARTH-COUNTER 1$' 120; then pass "g2 boots"; else fail "g2 boots"; fi
fi
expect_ok "server delete --wait g2" osadmin server delete --wait "$g2"
expect_ok "virsh list --all on hv1" on_hv 1 virsh -c qemu:///system list --all --name
expect_not_contains "no domain left for g2" "hearth-$g2" "$OUT"
agent_stop 1
agent_stop 2
finish
