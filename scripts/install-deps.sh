#!/bin/sh
# Installs what hearth needs to build, run and test, on Debian 12 (as root, or via sudo).
#   scripts/install-deps.sh [fuzz] [bench] [guests]
# fuzz adds clang and its libFuzzer runtime; bench adds wrk; guests adds the libvirt daemon,
# QEMU, a cloud kernel and busybox, for the tests that boot and live-migrate real guests
# (tests/libvirt/). qemu-img and genisoimage make the libvirt driver's disks.
set -eu
PKGS="meson ninja-build pkg-config gcc libmicrohttpd-dev libjansson-dev libsqlite3-dev
libsodium-dev libinih-dev nettle-dev libcurl4-openssl-dev libcmocka-dev libvirt-dev libjemalloc-dev
python3-openstackclient curl jq openssh-client sqlite3 qemu-utils genisoimage"
for extra in "$@"; do
    case "$extra" in
    fuzz) PKGS="$PKGS clang libclang-rt-14-dev" ;;
    bench) PKGS="$PKGS wrk" ;;
    guests) PKGS="$PKGS iproute2 libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
        qemu-system-x86 linux-image-cloud-amd64 busybox-static" ;;
    *) echo "install-deps.sh: unknown extra '$extra' (fuzz, bench, guests)" >&2; exit 2 ;;
    esac
done
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "Installing:$missing"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
