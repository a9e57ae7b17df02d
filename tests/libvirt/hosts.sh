#!/bin/sh
# hosts.sh — N honest libvirt "hypervisors" on one machine, for scenario tests.
#
#   hosts.sh start DIR N      make hv1..hvN and start a libvirtd in each
#   hosts.sh stop  DIR [N]    stop them all, remove namespaces, veths and the bridge
#   hosts.sh exec  DIR K CMD  run CMD inside hvK (its network, mount and UTS namespaces)
#   hosts.sh uri   DIR K      print the root-namespace URI of hvK's libvirtd
#
# Each hvK is
#   - a network namespace hearth-hvK; its eth0 (10.77.0.(K+1)/24) is a veth whose other
#     end (hhvK) is in the root-namespace bridge hearthbr0 (10.77.0.1/24). Every hv
#     reaches 10.77.0.1 and every other hv; two hvs can live-migrate over TCP, and taps
#     and bridges libvirt makes stay in their hv;
#   - a private mount namespace where the folders libvirt keeps state in are bind mounts
#     of DIR/hvK/...: /run/libvirt (DIR/hvK/run), /var/lib/libvirt (lib),
#     /var/cache/libvirt (cache), /var/log/libvirt (log), /etc/libvirt (etc) and
#     /var/lib/hearth (hearth). So two libvirtds never see each other's domains, sockets or
#     config, and the root namespace reaches hvK's libvirtd through
#     DIR/hvK/run/libvirt-sock;
#   - its own hostname (UTS namespace): hvK, and an /etc/hosts naming hv1..hvN;
#   - virtlogd and libvirtd (libvirtd --listen: TCP 16509, no auth, no TLS), with a
#     host_uuid of its own (libvirt refuses to migrate to a host with the source's UUID).
#
# Pid files: DIR/hvK/libvirtd.pid and DIR/hvK/virtlogd.pid; QEMU's are libvirt's own,
# DIR/hvK/run/qemu/<domain>.pid. "stop" kills by those, then whatever is still in the
# hv's network namespace (everything in it was started by "start" or "exec").
#
# Needs root, iproute2, util-linux (unshare, nsenter), libvirt-daemon,
# libvirt-daemon-driver-qemu, libvirt-clients.
set -eu

BRIDGE=hearthbr0
NET=10.77.0
# This script runs itself inside the namespaces: it needs its own absolute path.
SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")

usage() {
    echo "usage: $0 start DIR N | stop DIR [N] | exec DIR K CMD... | uri DIR K" >&2
    exit 2
}

log() { echo "hosts.sh: $*" >&2; }

# The folders libvirt uses, each paired with its bind source under DIR/hvK.
MOUNTS="run:/run/libvirt lib:/var/lib/libvirt cache:/var/cache/libvirt log:/var/log/libvirt etc:/etc/libvirt hearth:/var/lib/hearth"

# ---- inside the namespaces (run by start) ---------------------------------------------------
# Stage 1, "hosts.sh _inner DIR K": run by start as
#   unshare --mount --uts --propagation private nsenter --net=/run/netns/hearth-hvK ...
# so it is in hvK's network namespace, in a new UTS namespace and in a new mount namespace
# (private: nothing mounted here shows in the root namespace), which still has the root
# namespace's /sys and its cgroup mounts.
#
# cgroups: a libvirtd without cgroups runs domains, but virDomainGetCPUStats fails
# ("cgroup CPUACCT controller is not mounted"), and two libvirtds sharing one cgroup tree
# would both make machine/qemu-1-<name>.libvirt-qemu for a domain being migrated between
# them. So each hv gets a cgroup hearth-hvK under this process's own cgroup in every
# cgroup v1 hierarchy, moves into it, and enters a new cgroup namespace rooted there
# (stage 2). Only cgroup v1 (or hybrid) machines, which is what these are; on a pure
# cgroup v2 machine the hv runs without cgroups (v2 forbids processes in a cgroup whose
# controllers are delegated, and libvirtd would sit in the root of its namespace).
inner() {
    dir=$1 k=$2
    hv=$dir/hv$k
    : > "$hv/cgroups"
    if grep -q '^[1-9][0-9]*:' /proc/self/cgroup; then
        while IFS=: read -r id ctrls path; do
            [ "$id" != 0 ] || continue           # the cgroup2 part of a hybrid: no controllers
            # Where the root namespace has this hierarchy mounted: the cgroup mount whose
            # options hold all of its controllers (e.g. "cpu", "name=systemd").
            mnt=$(awk -v c="$ctrls" '$3 == "cgroup" {
                      n = split(c, want, ","); ok = 1
                      for (i = 1; i <= n; i++) if (index("," $4 ",", "," want[i] ",") == 0) ok = 0
                      if (ok) { print $2; exit } }' /proc/self/mounts)
            [ -n "$mnt" ] || continue
            cg=$mnt${path%/}/hearth-hv$k
            mkdir -p "$cg"
            echo "$cg" >> "$hv/cgroups"
            # A v1 cpuset cgroup takes no task before it has cpus and mems.
            if [ -f "$cg/cpuset.cpus" ]; then
                cat "$cg/../cpuset.cpus" > "$cg/cpuset.cpus"
                cat "$cg/../cpuset.mems" > "$cg/cpuset.mems"
            fi
            echo $$ > "$cg/cgroup.procs"
        done < /proc/self/cgroup
        exec unshare --cgroup "$SELF" _inner2 "$dir" "$k" cgroups
    fi
    exec "$SELF" _inner2 "$dir" "$k" nocgroups
}

# Stage 2, "hosts.sh _inner2 DIR K cgroups|nocgroups": in the new cgroup namespace, if any.
inner2() {
    dir=$1 k=$2 cg=$3
    hv=$dir/hv$k
    hostname "hv$k"
    # A sysfs of this network namespace: libvirt reads /sys/class/net for bridges and taps.
    # It hides the root's cgroup mounts; mount the hierarchies again, now seen from this
    # cgroup namespace, so libvirt's "/" is hearth-hvK.
    umount -l /sys
    mount -t sysfs sysfs /sys
    if [ "$cg" = cgroups ]; then
        mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
        while IFS=: read -r id ctrls path; do
            [ "$id" != 0 ] || continue
            name=${ctrls#name=}
            case $ctrls in name=*) opts=none,$ctrls ;; *) opts=$ctrls ;; esac
            mkdir -p "/sys/fs/cgroup/$name"
            mount -t cgroup -o "$opts" cgroup "/sys/fs/cgroup/$name"
        done < /proc/self/cgroup
    fi
    for m in $MOUNTS; do
        src=$hv/${m%%:*} dst=${m#*:}
        mount --bind "$src" "$dst"
    done
    # hvs know each other by name. Without this, libvirt's getaddrinfo() of its own
    # hostname waits for a DNS server this namespace cannot reach (about 25 s, in
    # virsh hostname and in every migration).
    mount --bind "$dir/hosts" /etc/hosts
    virtlogd -d -p "$hv/virtlogd.pid"
    libvirtd -d --listen -p "$hv/libvirtd.pid"
}

# ---- configuration for one hv ----------------------------------------------------------
write_config() {
    dir=$1 k=$2
    hv=$dir/hv$k
    ip=$NET.$((k + 1))
    # /etc/libvirt: a copy of the machine's, made once (it also keeps the hv's persistent
    # domains, etc/qemu/*.xml, across a stop and start), then our own daemon configs,
    # rewritten each start. Debian's libvirtd.conf and qemu.conf come with
    # libvirt-daemon-system, which is not installed here: libvirt runs on its built-in
    # defaults plus the lines below.
    [ -d "$hv/etc" ] || cp -a /etc/libvirt "$hv/etc"
    # A UUID per hv, kept across restarts of the same DIR.
    [ -s "$hv/host_uuid" ] || cat /proc/sys/kernel/random/uuid > "$hv/host_uuid"
    cat > "$hv/etc/libvirtd.conf" <<EOF
# written by tests/libvirt/hosts.sh for hv$k
listen_tls = 0
listen_tcp = 1
listen_addr = "$ip"
auth_tcp = "none"
auth_unix_rw = "none"
auth_unix_ro = "none"
unix_sock_group = "root"
unix_sock_ro_perms = "0777"
unix_sock_rw_perms = "0770"
host_uuid = "$(cat "$hv/host_uuid")"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
EOF
    cat > "$hv/etc/qemu.conf" <<EOF
# written by tests/libvirt/hosts.sh for hv$k
# The address a source QEMU sends migration data to when the caller gives no migrate
# URI (VIR_MIGRATE_PARAM_URI). The default is this hv's hostname, which only resolves
# through the /etc/hosts made by start; the address does not depend on it.
migration_host = "$ip"
EOF
    cat > "$hv/etc/virtlogd.conf" <<EOF
# written by tests/libvirt/hosts.sh for hv$k
log_outputs = "3:file:/var/log/libvirt/virtlogd.log"
EOF
}

# ---- start -----------------------------------------------------------------------------------
start() {
    dir=$1 n=$2
    if [ "$(id -u)" != 0 ]; then log "start needs root"; exit 1; fi
    case $n in ''|*[!0-9]*) usage ;; esac
    if [ "$n" -lt 1 ] || [ "$n" -gt 200 ]; then usage; fi
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)

    # What libvirt-daemon-system's packaging would have made. This libvirt build runs QEMU
    # as user libvirt-qemu, group libvirt-qemu, and resolves both names when the QEMU
    # driver starts, before reading qemu.conf: either missing is "Failed to parse user
    # (or group) 'libvirt-qemu'" and no QEMU driver.
    getent group kvm >/dev/null || groupadd -r kvm
    if ! getent group libvirt-qemu >/dev/null; then
        groupadd -r libvirt-qemu
        log "created group libvirt-qemu"
    fi
    if ! getent passwd libvirt-qemu >/dev/null; then
        useradd -r -g kvm -G libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
        log "created user libvirt-qemu"
    elif ! id -nG libvirt-qemu | grep -qw libvirt-qemu; then
        usermod -a -G libvirt-qemu libvirt-qemu
    fi
    # Mount points for the bind mounts. They are created empty in the root filesystem
    # (it has no libvirt folders here); "stop" removes those it made, if still empty.
    for m in $MOUNTS; do
        dst=${m#*:}
        if [ ! -d "$dst" ]; then
            mkdir -p "$dst"
            echo "$dst" >> "$dir/mountpoints-created"
        fi
    done

    # /etc/hosts for the hvs: the machine's, plus every hv's name and address.
    { cat /etc/hosts; k=1; while [ "$k" -le "$n" ]; do echo "$NET.$((k + 1)) hv$k"; k=$((k + 1)); done; } \
        > "$dir/hosts"

    # The root-namespace bridge.
    if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
        ip link add "$BRIDGE" type bridge
        ip addr add "$NET.1/24" dev "$BRIDGE"
    fi
    ip link set "$BRIDGE" up

    k=1
    while [ "$k" -le "$n" ]; do
        hv=$dir/hv$k ns=hearth-hv$k ip=$NET.$((k + 1))
        if [ -s "$hv/libvirtd.pid" ] && kill -0 "$(cat "$hv/libvirtd.pid")" 2>/dev/null; then
            log "hv$k runs already"
            k=$((k + 1))
            continue
        fi
        for m in $MOUNTS; do mkdir -p "$hv/${m%%:*}"; done
        # libvirt's QEMU driver expects these; it makes most others itself.
        mkdir -p "$hv/lib/qemu" "$hv/lib/images" "$hv/cache/qemu" "$hv/log/qemu" "$hv/run/qemu"
        write_config "$dir" "$k"
        # libvirtd probes QEMU's capabilities at its first start (about 8 s here) and caches
        # them; every hv runs the same QEMU on the same machine, so hv1's cache serves all.
        if [ "$k" -gt 1 ] && [ -d "$dir/hv1/cache/qemu/capabilities" ] && \
           [ ! -d "$hv/cache/qemu/capabilities" ]; then
            cp -a "$dir/hv1/cache/qemu/capabilities" "$hv/cache/qemu/"
        fi

        # Network namespace and its link to the bridge.
        ip netns list | grep -qw "$ns" || ip netns add "$ns"
        if ! ip link show "hhv$k" >/dev/null 2>&1; then
            ip link add "hhv$k" type veth peer name "hhv${k}p"
            ip link set "hhv${k}p" netns "$ns"
            ip -n "$ns" link set "hhv${k}p" name eth0
            ip -n "$ns" addr add "$ip/24" dev eth0
        fi
        ip link set "hhv$k" master "$BRIDGE" up
        ip -n "$ns" link set lo up
        ip -n "$ns" link set eth0 up
        ip -n "$ns" route replace default via "$NET.1"

        # The daemons, in a mount and UTS namespace of their own. libvirtd -d forks and
        # returns; the namespaces live as long as a process is in them.
        rm -f "$hv/libvirtd.pid" "$hv/virtlogd.pid"
        unshare --mount --uts --propagation private \
            nsenter --net="/run/netns/$ns" "$SELF" _inner "$dir" "$k"

        # Wait for the socket (libvirtd answers within a second or two).
        i=0
        until virsh -q -c "qemu+unix:///system?socket=$hv/run/libvirt-sock" version >/dev/null 2>&1; do
            i=$((i + 1))
            if [ "$i" -ge 100 ]; then
                log "hv$k: libvirtd did not answer on $hv/run/libvirt-sock; see $hv/log/libvirtd.log"
                exit 1
            fi
            sleep 0.1
        done
        log "hv$k up: $ip, pid $(cat "$hv/libvirtd.pid"), socket $hv/run/libvirt-sock"
        k=$((k + 1))
    done
}

# ---- stop ----------------------------------------------------------------------------------------
# The pids named in pid files that are still alive.
pidsof() {
    for f in "$@"; do
        [ -s "$f" ] || continue
        p=$(cat "$f")
        if kill -0 "$p" 2>/dev/null; then echo "$p"; fi
    done
}
# TERM the pids, wait for them, KILL those left after 5 s.
killlist() {
    [ $# -gt 0 ] || return 0
    kill "$@" 2>/dev/null || true
    i=0
    while [ $i -lt 50 ]; do
        alive=
        for p in "$@"; do if kill -0 "$p" 2>/dev/null; then alive="$alive $p"; fi; done
        [ -n "$alive" ] || return 0
        sleep 0.1
        i=$((i + 1))
    done
    kill -9 $alive 2>/dev/null || true
}

stop() {
    dir=$1 n=${2:-0}
    if [ -d "$dir" ]; then dir=$(cd "$dir" && pwd); fi
    # Every hv of DIR, and hv1..hvN even if DIR lost track of them (a partial start).
    ks=
    for d in "$dir"/hv*; do if [ -d "$d" ]; then ks="$ks ${d##*/hv}"; fi; done
    k=1
    while [ "$k" -le "$n" ]; do ks="$ks $k"; k=$((k + 1)); done
    ks=$(echo $ks | tr ' ' '\n' | sort -un)

    # All hvs at once (libvirtd takes 1.5 s to stop, virtlogd 2 s). libvirtd first, so it
    # does not react to its QEMUs going away; then QEMU; then virtlogd.
    pids=
    for k in $ks; do pids="$pids $(pidsof "$dir/hv$k/libvirtd.pid")"; done
    killlist $pids
    pids=
    for k in $ks; do
        for f in "$dir/hv$k"/run/qemu/*.pid; do
            # driver.pid is libvirtd's own lock file, not a QEMU.
            case $f in */driver.pid) ;; *) pids="$pids $(pidsof "$f")" ;; esac
        done
    done
    killlist $pids
    pids=
    for k in $ks; do pids="$pids $(pidsof "$dir/hv$k/virtlogd.pid")"; done
    killlist $pids
    # Anything else in an hv (a hearth-agent started with "exec", a QEMU whose pid file is
    # gone): everything in these namespaces was started by this script.
    pids=
    for k in $ks; do
        if ip netns list | grep -qw "hearth-hv$k"; then pids="$pids $(ip netns pids "hearth-hv$k")"; fi
    done
    killlist $pids

    for k in $ks; do
        hv=$dir/hv$k
        if ip netns list | grep -qw "hearth-hv$k"; then ip netns del "hearth-hv$k"; fi
        # Deleting the namespace deleted the veth's inner end, and with it hhvK; in case not:
        ip link del "hhv$k" 2>/dev/null || true
        rm -f "$hv/libvirtd.pid" "$hv/virtlogd.pid"
        # The hv's cgroups, and what libvirt made in them (empty now: their tasks are gone).
        if [ -f "$hv/cgroups" ]; then
            for cg in $(cat "$hv/cgroups"); do
                if [ -d "$cg" ]; then find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null || true; fi
            done
            rm -f "$hv/cgroups"
        fi
    done
    # The bind mounts were made in the hvs' private mount namespaces, which went away with
    # their last process: nothing is mounted in the root namespace. Remove the bridge once
    # no hv is left on it.
    if ip link show "$BRIDGE" >/dev/null 2>&1 && [ -z "$(ls "/sys/class/net/$BRIDGE/brif" 2>/dev/null)" ]; then
        ip link del "$BRIDGE"
    fi
    if [ -f "$dir/mountpoints-created" ]; then
        for d in $(sort -r "$dir/mountpoints-created"); do rmdir "$d" 2>/dev/null || true; done
        rm -f "$dir/mountpoints-created"
    fi
}

# ---- exec ----------------------------------------------------------------------------------------
# The namespaces are those of hvK's libvirtd: network, mount (its bind mounts) and UTS.
hvexec() {
    dir=$1 k=$2
    shift 2
    pidf=$dir/hv$k/libvirtd.pid
    if [ ! -s "$pidf" ] || ! kill -0 "$(cat "$pidf")" 2>/dev/null; then
        log "hv$k is not running ($pidf)"
        exit 1
    fi
    exec nsenter -t "$(cat "$pidf")" -n -m -u -- "$@"
}

[ $# -ge 2 ] || usage
cmd=$1
shift
case $cmd in
    start)  [ $# -eq 2 ] || usage; start "$1" "$2" ;;
    stop)   [ $# -ge 1 ] || usage; stop "$1" "${2:-0}" ;;
    exec)   [ $# -ge 3 ] || usage; hvexec "$@" ;;
    uri)    [ $# -eq 2 ] || usage; d=$(cd "$1" && pwd); echo "qemu+unix:///system?socket=$d/hv$2/run/libvirt-sock" ;;
    _inner) inner "$1" "$2" ;;
    _inner2) inner2 "$1" "$2" "$3" ;;
    *) usage ;;
esac
