#!/bin/sh
# Installs what hearth needs to build, run and test, on Debian 12 (as root, or via sudo).
#   scripts/install-deps.sh [fuzz] [bench]
# fuzz adds clang and its libFuzzer runtime; bench adds wrk.
set -eu
PKGS="meson ninja-build pkg-config gcc libmicrohttpd-dev libjansson-dev libsqlite3-dev
libsodium-dev libinih-dev nettle-dev libcurl4-openssl-dev libcmocka-dev libvirt-dev
python3-openstackclient curl jq openssh-client sqlite3"
for extra in "$@"; do
    case "$extra" in
    fuzz) PKGS="$PKGS clang libclang-rt-14-dev" ;;
    bench) PKGS="$PKGS wrk" ;;
    *) echo "install-deps.sh: unknown extra '$extra' (fuzz, bench)" >&2; exit 2 ;;
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
