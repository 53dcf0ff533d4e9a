#!/usr/bin/env bash
# Make a minimal Debian bookworm root filesystem tar with debootstrap, for
# the SBOM test that compares `cbuild sbom` with dpkg-query in a real
# Debian image (tests/integration/sbom.bats, CB_DEBIAN_ROOTFS_TAR).
# usage: make-debian-rootfs.sh FILE.tar
# Needs root (debootstrap chroots and sets owners) and Debian's mirror, the
# one apt uses here.  FILE.tar is kept: when it exists nothing is done, so
# a machine pays the bootstrap (about two minutes) once.  Exit status 0
# when FILE.tar is there afterwards; else one line on stderr says why.
set -euo pipefail

out=${1:?usage: $0 FILE.tar}
suite=bookworm

if [ -s "$out" ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "$0: debootstrap needs root" >&2
    exit 1
fi
if ! command -v debootstrap >/dev/null 2>&1; then
    echo "$0: debootstrap is not installed" >&2
    exit 1
fi

# The mirror apt is set up with (deb822 .sources or one-line lists), else
# Debian's own.
mirror() {
    local m
    m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
        awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }')
    if [ -z "$m" ]; then
        m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
            awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:.*\/debian\/?$/) { print $i; exit } }')
    fi
    echo "${m:-http://deb.debian.org/debian}"
}

mkdir -p "$(dirname "$out")"
work=$(mktemp -d "$(dirname "$out")/debootstrap.XXXXXX")
trap 'rm -rf "$work"' EXIT
start=$SECONDS
if ! timeout 600 debootstrap --variant=minbase "$suite" "$work/root" "$(mirror)" \
        >"$work/log" 2>&1; then
    echo "$0: debootstrap $suite failed: $(tail -1 "$work/log")" >&2
    exit 1
fi
# What a container image leaves out: downloaded packages and indexes, and
# the mount points' contents the runtime provides.
rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"* \
    "$work/root/var/cache/apt/"*.bin
tar -C "$work/root" --numeric-owner --exclude='./dev/*' --exclude='./proc/*' \
    --exclude='./sys/*' -cf "$work/rootfs.tar" .
chmod 644 "$work/rootfs.tar"
mv "$work/rootfs.tar" "$out"
echo "$0: $suite bootstrapped into $out in $((SECONDS - start)) s" >&2
