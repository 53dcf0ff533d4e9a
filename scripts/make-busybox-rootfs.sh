#!/usr/bin/env bash
# Make a small root filesystem from Debian's busybox-static, the base image
# of the demo and the tests (no registry needed):
#   /bin/busybox, a link for each applet, /etc/passwd, /etc/group, /tmp,
#   /root, /home/user.
# usage: make-busybox-rootfs.sh DIR|FILE.tar
#   DIR       fill DIR (created) with the tree
#   FILE.tar  write the tree as a tar with numeric owners 0:0 (root owns
#             everything in the image even when an ordinary user runs this)
# Deterministic: every mtime is SOURCE_DATE_EPOCH (default 0).
set -euo pipefail

out=${1:?usage: $0 DIR|FILE.tar}
busybox=${BUSYBOX:-/bin/busybox}
epoch=${SOURCE_DATE_EPOCH:-0}

if [ ! -x "$busybox" ] || ! "$busybox" --list >/dev/null 2>&1; then
    echo "$0: $busybox is missing: install the Debian package busybox-static" >&2
    exit 1
fi

fill() {
    local root=$1 applet
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,home/user,proc,sys,dev,var/tmp}
    chmod 1777 "$root/tmp" "$root/var/tmp"
    chmod 700 "$root/root"
    cp "$busybox" "$root/bin/busybox"
    chmod 755 "$root/bin/busybox"
    # Applets as symlinks in the directory busybox itself would install them.
    "$busybox" --list-full | while read -r applet; do
        [ "$applet" = bin/busybox ] && continue
        [ -e "$root/$applet" ] || [ -L "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
    done
    cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
user:x:1000:1000:user:/home/user:/bin/sh
PASSWD
    cat >"$root/etc/group" <<'GROUP'
root:x:0:
daemon:x:1:
users:x:100:user
nogroup:x:65534:
user:x:1000:
GROUP
    printf 'cbuild-busybox\n' >"$root/etc/hostname"
    find "$root" -exec touch -h -d "@$epoch" {} +
}

case $out in
    *.tar)
        tmp=$(mktemp -d)
        trap 'rm -rf "$tmp"' EXIT
        fill "$tmp/rootfs"
        tar --sort=name --numeric-owner --owner=0 --group=0 --mtime="@$epoch" \
            --format=pax --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
            -C "$tmp/rootfs" -cf "$out" .
        ;;
    *)
        fill "$out"
        ;;
esac
