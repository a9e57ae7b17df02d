#!/bin/sh
# guest.sh OUTDIR — build a tiny test guest for the libvirt scenario tests.
#
# Everything comes from Debian packages already installed on the machine, so the
# tests need no network and no image download:
#   OUTDIR/vmlinuz     the cloud kernel (linux-image-cloud-amd64), for direct kernel boot
#   OUTDIR/initrd.img  busybox-static + the virtio/isofs modules + an /init (cpio newc, gzip)
#   OUTDIR/disk.qcow2  a 64 MiB empty qcow2: the "image" an instance's overlay sits on
#
# The guest's /init prints markers on the serial console that tests grep for:
#   HEARTH-GUEST-BOOTED, USERDATA: <line>, HOSTNAME: <name>, IP: <addr/prefix>,
#   DISK: <what the root disk's first sector held at boot: "HEARTH-COUNTER <n>" or "empty">,
#   HEARTH-COUNTER <n> every second, forever (so a live migration can be seen not to
#   restart the guest: the counter keeps increasing). Each tick is also written to the
#   root disk's first sector, so a disk copied by a migration can be checked.
# It powers off on an ACPI power-button press, so virDomainShutdown works.
#
# Environment: KVER=<kernel version> to choose a kernel (default: the newest
# /boot/vmlinuz-*-cloud-amd64 that has its /lib/modules folder).
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
OUT=$1

# ---- the kernel -----------------------------------------------------------
if [ -z "${KVER:-}" ]; then
    # Newest cloud kernel first; it needs its modules to build the initrd.
    for k in $(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -rV); do
        v=${k#/boot/vmlinuz-}
        if [ -f "/lib/modules/$v/modules.dep" ]; then
            KVER=$v
            break
        fi
    done
fi
if [ -z "${KVER:-}" ] || [ ! -f "/boot/vmlinuz-$KVER" ]; then
    echo "$0: no /boot/vmlinuz-*-cloud-amd64 with modules (apt-get install linux-image-cloud-amd64)" >&2
    exit 1
fi
MODDIR=/lib/modules/$KVER
BUSYBOX=/bin/busybox
if command -v file >/dev/null 2>&1 && ! file -L "$BUSYBOX" | grep -q 'statically linked'; then
    # A dynamic busybox would need its libc in the initrd; insist on the static one.
    echo "$0: $BUSYBOX is not static (apt-get install busybox-static)" >&2
    exit 1
fi

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
cp "/boot/vmlinuz-$KVER" "$OUT/vmlinuz"

# ---- the initramfs tree -----------------------------------------------------
ROOT=$(mktemp -d /tmp/hearth-guest.XXXXXX)
trap 'rm -rf "$ROOT"' EXIT
mkdir -p "$ROOT/bin" "$ROOT/dev" "$ROOT/proc" "$ROOT/sys" "$ROOT/mnt/cidata" \
         "$ROOT/lib/modules" "$ROOT/etc/acpi/PWRF" "$ROOT/tmp" "$ROOT/run"
cp "$BUSYBOX" "$ROOT/bin/busybox"
# Applets are installed as links at boot (busybox --install), which keeps this
# script free of a list of applet names.

# The modules wanted, and their dependencies. modules.dep lines look like
#   kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio.ko ...
# A module is written out after all of its dependencies (depth first), so the
# order file is the insmod order. Files may be .ko, .ko.xz, .ko.zst or .ko.gz.
ORDER=$ROOT/etc/modules.order
: > "$ORDER"

# The path (relative to MODDIR) of the module named $1; names may use - or _.
modpath() {
    n1=$(echo "$1" | tr - _)
    n2=$(echo "$1" | tr _ -)
    sed -n 's/:.*//p' "$MODDIR/modules.dep" | grep -E "/($n1|$n2)\.ko(\.xz|\.zst|\.gz)?\$" | head -n 1
}

# Copy one module file (uncompressed; busybox insmod cannot read .xz/.zst).
putmod() {
    rel=$1
    base=$(basename "$rel")
    name=${base%%.ko*}
    case $rel in
        *.ko)     cp "$MODDIR/$rel" "$ROOT/lib/modules/$name.ko" ;;
        *.ko.xz)  xz -dc "$MODDIR/$rel" > "$ROOT/lib/modules/$name.ko" ;;
        *.ko.zst) zstd -qdc "$MODDIR/$rel" > "$ROOT/lib/modules/$name.ko" ;;
        *.ko.gz)  gzip -dc "$MODDIR/$rel" > "$ROOT/lib/modules/$name.ko" ;;
        *) echo "$0: unknown module file $rel" >&2; exit 1 ;;
    esac
    echo "$name" >> "$ORDER"
}

# Depth-first: dependencies of $1 (a path relative to MODDIR), then $1 itself. sh has no
# local variables: the loop's word list is expanded before recursing, and putmod works
# from $1 alone.
addmod() {
    base=$(basename "$1")
    name=${base%%.ko*}
    if grep -qx "$name" "$ORDER"; then
        return 0
    fi
    for dep in $(grep -E "^$1:" "$MODDIR/modules.dep" | sed 's/^[^:]*://'); do
        addmod "$dep"
    done
    putmod "$1"
}

# virtio disks and NIC, the iso9660 config drive, the ACPI power button (button, evdev),
# and an IDE CD-ROM (ata_piix, sr_mod) in case the config drive is attached as one, the
# way Nova attaches it by default.
for m in virtio_pci virtio_blk virtio_net isofs button evdev ata_piix sr_mod; do
    p=$(modpath "$m")
    if [ -z "$p" ]; then
        # Built into the kernel (=y) needs nothing; say so in case a module is missing.
        if grep -qE "/$m\.ko" "$MODDIR/modules.builtin" 2>/dev/null; then
            continue
        fi
        echo "$0: module $m not found in $MODDIR" >&2
        exit 1
    fi
    addmod "$p"
done

# ACPI power button -> power off. busybox acpid runs /etc/acpi/<event> for an event;
# the power button is "PWRF/00000080" in its built-in table.
cat > "$ROOT/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
echo "HEARTH-GUEST-POWEROFF" > /dev/console
sync
poweroff -f
EOF
chmod 755 "$ROOT/etc/acpi/PWRF/00000080"

# ---- /init --------------------------------------------------------------------
# No "set -e" here: /init is PID 1, and if it exits the kernel panics. Each step
# reports its failure on the console and the guest carries on to the counter.
cat > "$ROOT/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# Keep kernel messages off the console so the markers below are whole lines.
echo "1 4 1 7" > /proc/sys/kernel/printk

while read -r m; do
    insmod "/lib/modules/$m.ko" || echo "HEARTH-GUEST: insmod $m failed"
done < /etc/modules.order

echo "HEARTH-GUEST-BOOTED"

# Power button -> poweroff (see /etc/acpi). acpid opens /dev/input/event*.
acpid -c /etc/acpi -l /dev/null 2>/dev/null || echo "HEARTH-GUEST: no acpid"

# The config drive: a virtio disk (or an IDE CD-ROM) with an iso9660 filesystem labelled
# "cidata".
# An iso9660 primary volume descriptor sits at byte 32768: "CD001" at offset 1,
# the volume label (32 bytes, space padded) at offset 40.
find_cidata() {
    for d in /dev/vd* /dev/sr*; do
        [ -b "$d" ] || continue
        # An empty CD-ROM drive has size 0; reading it only waits.
        [ "$(cat "/sys/class/block/${d#/dev/}/size" 2>/dev/null)" != 0 ] || continue
        magic=$(dd if="$d" bs=1 skip=32769 count=5 2>/dev/null)
        [ "$magic" = "CD001" ] || continue
        label=$(dd if="$d" bs=1 skip=32808 count=32 2>/dev/null | tr -d ' \000')
        if [ "$label" = "cidata" ] || [ "$label" = "CIDATA" ]; then
            echo "$d"
            return 0
        fi
    done
    return 1
}
# virtio disks exist once virtio_blk is loaded; an IDE CD-ROM shows up a moment later
# (libata probes in the background): look for up to 3 s.
CIDATA=
i=0
while [ $i -lt 12 ]; do
    CIDATA=$(find_cidata) && break
    CIDATA=
    sleep 0.25
    i=$((i + 1))
done

# Read a "key: value" from a NoCloud YAML or JSON file. Splitting at , { } first puts
# each pair of a JSON object or YAML flow mapping on a line of its own.
yval() {
    tr ',{}' '\n\n\n' < "$2" \
        | sed -n "s/^[[:space:]\"-]*$1\"\{0,1\}[[:space:]]*:[[:space:]]*//p" | head -n 1 \
        | tr -d '"'"'"'' | sed 's/[[:space:]]*$//'
}

if [ -n "$CIDATA" ]; then
    echo "HEARTH-GUEST: config drive $CIDATA"
    if mount -t iso9660 -o ro "$CIDATA" /mnt/cidata; then
        C=/mnt/cidata
        if [ -f $C/user-data ]; then
            while IFS= read -r line || [ -n "$line" ]; do
                echo "USERDATA: $line"
            done < $C/user-data
        fi
        if [ -f $C/meta-data ]; then
            h=$(yval local-hostname $C/meta-data)
            echo "HOSTNAME: $h"
            [ -n "$h" ] && hostname "$h"
        fi
        if [ -f $C/network-config ]; then
            NC=$C/network-config
            # v2: "addresses: [10.0.0.5/16]" or "addresses:" then "- 10.0.0.5/16".
            addr=$(sed -n 's/^[[:space:]]*addresses:[[:space:]]*\[[[:space:]]*\([^],[:space:]]*\).*/\1/p' $NC | head -n 1)
            if [ -z "$addr" ]; then
                addr=$(sed -n '/^[[:space:]]*addresses:[[:space:]]*$/{n;s/^[[:space:]]*-[[:space:]]*//p;}' $NC | head -n 1)
            fi
            # v1: "address: 10.0.0.5/16" (a netmask line is not handled: hearth writes a prefix).
            [ -z "$addr" ] && addr=$(yval address $NC)
            addr=$(echo "$addr" | tr -d '"'"'")
            gw=$(yval gateway4 $NC)
            [ -z "$gw" ] && gw=$(yval gateway $NC)
            [ -z "$gw" ] && gw=$(yval via $NC)
            # v2 "macaddress:" or v1 "mac_address:": the first MAC in the file.
            mac=$(grep -oE '([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}' $NC | head -n 1 | tr 'A-F' 'a-f')
            # The interface: the one with the MAC the config names, else eth0.
            ifc=eth0
            if [ -n "$mac" ]; then
                for n in /sys/class/net/*; do
                    if [ "$(cat $n/address)" = "$mac" ]; then ifc=${n##*/}; fi
                done
            fi
            if [ -n "$addr" ]; then
                ip link set lo up
                ip link set "$ifc" up
                ip addr add "$addr" dev "$ifc" || echo "HEARTH-GUEST: ip addr add $addr failed"
                [ -n "$gw" ] && { ip route add default via "$gw" || echo "HEARTH-GUEST: no route via $gw"; }
                echo "IP: $addr"
            else
                echo "HEARTH-GUEST: no address in network-config"
            fi
        fi
        umount /mnt/cidata
    else
        echo "HEARTH-GUEST: mount $CIDATA failed"
    fi
else
    echo "HEARTH-GUEST: no config drive"
fi

# The root disk: the first virtio disk that is not the config drive. The counter is also
# written to its first sector each second (synchronously), and a boot prints what the
# disk held: so a test sees that the disk came along in a migration, or survived a reboot.
ROOTDISK=
for d in /dev/vd?; do
    if [ -b "$d" ] && [ "$d" != "$CIDATA" ]; then ROOTDISK=$d; break; fi
done
if [ -n "$ROOTDISK" ]; then
    prev=$(dd if="$ROOTDISK" bs=512 count=1 2>/dev/null | tr -d '\000' | head -n 1)
    case $prev in
        HEARTH-COUNTER*) echo "DISK: $prev" ;;
        *) echo "DISK: empty" ;;
    esac
else
    echo "HEARTH-GUEST: no root disk"
fi

n=1
while true; do
    echo "HEARTH-COUNTER $n"
    if [ -n "$ROOTDISK" ]; then
        echo "HEARTH-COUNTER $n" | dd of="$ROOTDISK" bs=512 count=1 conv=sync,notrunc,fsync 2>/dev/null
    fi
    n=$((n + 1))
    sleep 1
done
EOF
chmod 755 "$ROOT/init"

# ---- pack ---------------------------------------------------------------------
# newc is the only cpio format the kernel unpacks; files owned by root.
if cpio --version 2>/dev/null | grep -q GNU; then CPIO="cpio --quiet"; else CPIO="$BUSYBOX cpio"; fi
(cd "$ROOT" && find . | sort | $CPIO -o -H newc -R 0:0) | gzip -9 > "$OUT/initrd.img.tmp"
mv "$OUT/initrd.img.tmp" "$OUT/initrd.img"

# ---- the root disk image ----------------------------------------------------------
# Empty: the guest runs from its initrd. It exists so an instance has a qcow2 base for
# its overlay, as a real image would be.
rm -f "$OUT/disk.qcow2"
qemu-img create -q -f qcow2 "$OUT/disk.qcow2" 64M

echo "kernel $KVER -> $OUT/vmlinuz"
echo "initrd ($(tr '\n' ' ' < "$ORDER")) -> $OUT/initrd.img $(wc -c < "$OUT/initrd.img") bytes"
echo "disk -> $OUT/disk.qcow2"
