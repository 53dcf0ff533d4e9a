#!/usr/bin/env bats
# Storage drivers and the upper dir of `cbuild run`: after a run the
# upper dir holds only what the command did, in overlayfs' form (char 0/0
# whiteouts, user.overlay.opaque=y dirs), with the overlay driver and with
# the vfs driver (a copy of the layers, compared afterwards) alike.  Looked
# at through --keep-upper.  run.bats runs once more with
# CBUILD_STORAGE_DRIVER=vfs (tests/meson.build).

load helpers

DRIVERS=(overlay vfs)

setup() {
    helpers_setup
    unshare --user true 2>/dev/null || skip "user namespaces are not available here"
    unset CBUILD_IN_USERNS CBUILD_SUBUID_FILE CBUILD_SUBGID_FILE CBUILD_STORAGE_DRIVER
    cbuild_root_setup
    import_base
}

# kept DRIVER IMAGE CMD...: run CMD with --keep-upper; the upper dir is
# then $TESTDIR/up-DRIVER, and $listing its entries, sorted, one a line,
# as "path type" (d, f, l, or c MAJOR:MINOR for devices).
kept() {
    local driver=$1 image=$2
    shift 2
    KEPT=$TESTDIR/up-$driver
    rm -rf "$KEPT"
    run_cbuild run --storage-driver "$driver" --keep-upper "$KEPT" "$image" "$@"
    listing=$(cd "$KEPT" && find . -mindepth 1 -printf '%P %y\n' | sort |
        while read -r p t; do
            if [ "$t" = c ]; then
                echo "$p c $(stat -c '%t:%T' "$p")"
            else
                echo "$p $t"
            fi
        done)
}

# The user.overlay.opaque xattr of PATH, or "none".
opaque_of() {
    python3 -c 'import os, sys
try:
    print(os.getxattr(sys.argv[1], "user.overlay.opaque", follow_symlinks=False).decode())
except OSError:
    print("none")' "$1"
}

@test "storage: a new file is all the upper dir holds (no etc, proc, dev, sys)" {
    for d in "${DRIVERS[@]}"; do
        kept "$d" base:1 touch /newfile
        assert "$listing" == "newfile f"
    done
}

@test "storage: a run that changes nothing leaves an empty upper dir" {
    for d in "${DRIVERS[@]}"; do
        kept "$d" base:1 sh -c 'cat /etc/hosts /etc/hostname >/dev/null; ls /proc /dev /sys >/dev/null'
        assert "$listing" == ""
    done
}

@test "storage: removing a lower file leaves a char 0/0 whiteout" {
    for d in "${DRIVERS[@]}"; do
        kept "$d" base:1 rm /bin/ls
        assert "$listing" == "bin d"$'\n'"bin/ls c 0:0"
    done
}

@test "storage: rm -rf DIR && mkdir DIR gives an opaque dir" {
    for d in "${DRIVERS[@]}"; do
        kept "$d" base:1 sh -c 'rm -rf /home && mkdir /home && touch /home/new'
        assert "$listing" == "home d"$'\n'"home/new f"
        assert "$(opaque_of "$KEPT/home")" == "y"
        # A dir that keeps some of its names is not opaque.
        kept "$d" base:1 rm /bin/sh
        assert "$(opaque_of "$KEPT/bin")" == "none"
    done
}

@test "storage: a changed file in /etc is kept, the sandbox's /etc files are not" {
    for d in "${DRIVERS[@]}"; do
        kept "$d" base:1 sh -c 'echo extra:x:5:5::/:/bin/sh >>/etc/passwd'
        assert "$listing" == "etc d"$'\n'"etc/passwd f"
        grep -q '^extra:' "$KEPT/etc/passwd"
        # Writing to the bound files changes neither the image nor the layer.
        kept "$d" base:1 sh -c 'echo 10.0.0.1 x >>/etc/hosts; echo n >/etc/resolv.conf'
        assert "$listing" == ""
    done
}

@test "storage: a change to a mount point's directory is kept" {
    for d in "${DRIVERS[@]}"; do
        kept "$d" base:1 chmod 700 /etc
        assert "$listing" == "etc d"
        assert "$(stat -c %a "$KEPT/etc")" == "700"
    done
}

@test "storage: mount points an image lacks are made and taken out again" {
    # An image of busybox alone: no /etc, /proc, /dev or /sys.
    mkdir -p "$TESTDIR/mini/bin"
    cp "$(command -v busybox || echo /bin/busybox)" "$TESTDIR/mini/bin/busybox"
    ln -s busybox "$TESTDIR/mini/bin/sh"
    tar --numeric-owner --owner=0 --group=0 -C "$TESTDIR/mini" -cf "$TESTDIR/mini.tar" .
    run_cbuild import "$TESTDIR/mini.tar" mini:1
    for d in "${DRIVERS[@]}"; do
        kept "$d" mini:1 /bin/sh -c 'test -d /proc/self && test -f /etc/hosts && /bin/busybox touch /x'
        assert "$listing" == "x f"
    done
}

@test "storage: the vfs driver keeps the image's modes, owners and symlinks" {
    run_cbuild run --storage-driver vfs base:1 sh -c \
        'stat -c "%a %u:%g" /tmp /root /bin/busybox; readlink /bin/ls'
    assert "$output" == "1777 0:0"$'\n'"700 0:0"$'\n'"755 0:0"$'\n'"/bin/busybox"
}

@test "storage: the root is an overlay mount or the vfs copy" {
    run_cbuild run --storage-driver overlay base:1 awk '$5 == "/" {print $9}' /proc/self/mountinfo
    assert "$output" == "overlay"
    run_cbuild run --storage-driver vfs base:1 awk '$5 == "/" {print $9}' /proc/self/mountinfo
    assert "$output" != "overlay"
    assert "$output" != ""
    CBUILD_STORAGE_DRIVER=vfs run_cbuild run base:1 awk '$5 == "/" {print $9}' /proc/self/mountinfo
    assert "$output" != "overlay"
    # The option wins over the variable.
    CBUILD_STORAGE_DRIVER=vfs run_cbuild run --storage-driver overlay base:1 awk '$5 == "/" {print $9}' /proc/self/mountinfo
    assert "$output" == "overlay"
}

@test "storage: an unknown driver is a usage error naming where it came from" {
    run_cbuild 2 run --storage-driver btrfs base:1 true
    assert "$stderr" =~ "--storage-driver: unknown storage driver 'btrfs' \(overlay, vfs, auto\)"
    CBUILD_STORAGE_DRIVER=zfs run_cbuild 2 run base:1 true
    assert "$stderr" =~ "CBUILD_STORAGE_DRIVER: unknown storage driver 'zfs'"
    assert "$(ls -A "$CBUILD_ROOT/run")" == ""
}

@test "storage: --keep-upper refuses a directory that is not empty, and cleans up" {
    mkdir -p "$TESTDIR/full/x"
    run_cbuild 1 run --keep-upper "$TESTDIR/full" base:1 touch /y
    assert "$stderr" =~ "--keep-upper: cannot move the upper dir to '$TESTDIR/full'"
    assert "$(ls -A "$CBUILD_ROOT/run")" == ""
    run_cbuild run --help
    assert "$output" =~ "For debugging:"
    assert "$output" =~ "--keep-upper DIR"
}

@test "storage: doctor says which driver and why" {
    run_cbuild doctor --root "$CBUILD_ROOT"
    assert "$(echo "$output" | tail -n 1)" =~ "storage driver: (overlay \(overlay works in a user namespace here\)|vfs \(overlay does not work in a user namespace here: .*\))$"
    CBUILD_STORAGE_DRIVER=vfs run_cbuild doctor --root "$CBUILD_ROOT"
    assert "$(echo "$output" | tail -n 1)" =~ "storage driver: vfs \(set by CBUILD_STORAGE_DRIVER\)$"
    CBUILD_STORAGE_DRIVER=vfs run_cbuild doctor --format json --root "$CBUILD_ROOT"
    assert "$(json_out 'd["storage_driver"] + "|" + d["storage_reason"]')" == "vfs|set by CBUILD_STORAGE_DRIVER"
}

# A store on an overlay mount cannot hold another overlay's upper dir:
# the kernel refuses, as on hosts without overlay in a user namespace.
@test "storage: where overlay fails, run falls back to vfs with a note" {
    unshare -rm true 2>/dev/null || skip "unshare -rm is not allowed here"
    run_cbuild save -o "$TESTDIR/base.tar" base:1
    cat >"$TESTDIR/nested.sh" <<'EOF'
set -e
cd "$TESTDIR"
mkdir t
mount -t tmpfs none t
mkdir t/l t/u t/w t/m
mount -t overlay overlay -o lowerdir=t/l,upperdir=t/u,workdir=t/w,userxattr t/m
export CBUILD_ROOT=$TESTDIR/t/m/store
"$CBUILD" load -i "$TESTDIR/base.tar" >/dev/null 2>&1
"$CBUILD" run base:1 echo ok 2>"$TESTDIR/err"
"$CBUILD" doctor | tail -n 1
! "$CBUILD" run --storage-driver overlay base:1 true 2>/dev/null
echo overlay-refused
EOF
    run env TESTDIR="$TESTDIR" CBUILD="$CBUILD" timeout 120 unshare -rm bash "$TESTDIR/nested.sh"
    echo "$output" >&2
    [ "$status" -eq 0 ]
    assert "${lines[0]}" == "ok"
    assert "${lines[1]}" =~ "storage driver: vfs \(overlay does not work in a user namespace here: mount overlay: "
    assert "${lines[2]}" == "overlay-refused"
    assert "$(cat "$TESTDIR/err")" =~ "^cbuild: warning: using the vfs storage driver \(slower: the image is copied\): overlay does not work in a user namespace here: mount overlay: "
    assert "$(line_count "$(cat "$TESTDIR/err")")" == "1"
}

@test "storage: deletions of a built image survive save and load into another store" {
    # Layers extracted on their own keep their whiteouts in overlay form,
    # so a lower that deleted files still hides them.
    ctx=$(fixture empty)
    printf 'FROM base:1\nRUN rm /bin/ls && rm -rf /usr && mkdir /usr && echo x >/usr/only\n' >"$ctx/Dockerfile"
    run_cbuild build -q -t del:1 "$ctx"
    run_cbuild save -o "$TESTDIR/del.tar" del:1
    export CBUILD_ROOT=$TESTDIR/store2
    run_cbuild load -i "$TESTDIR/del.tar"
    for d in overlay vfs; do
        run_cbuild 1 run --storage-driver "$d" del:1 /bin/busybox test -e /bin/ls
        run_cbuild run --storage-driver "$d" del:1 /bin/busybox ls /usr
        assert "$output" == "only"
    done
    # The layer in the store, as overlayfs wants it.
    wh=$(find "$CBUILD_ROOT/unpacked" -path '*/bin/ls' -type c)
    assert "$(stat -c '%F %t:%T' "$wh")" == "character special file 0:0"
}

@test "storage: a RUN --mount bind of the context applies .dockerignore with either driver" {
    ctx=$(fixture empty)
    mkdir -p "$ctx/secret" "$ctx/docs"
    echo a >"$ctx/a"; echo l >"$ctx/drop.log"; echo k >"$ctx/keep.log"
    echo s >"$ctx/secret/s"; echo d >"$ctx/docs/x.md"; echo r >"$ctx/docs/README.md"
    printf '*.log\n!keep.log\nsecret/\n/docs/*.md\n!docs/README.md\n' >"$ctx/.dockerignore"
    printf 'FROM base:1\nRUN --mount=target=/m cd /m && find . | sort > /listing\n' >"$ctx/Dockerfile"
    for d in overlay vfs; do
        run_cbuild build --no-cache --storage-driver "$d" -t "bi-$d:1" "$ctx"
        run_cbuild run "bi-$d:1" cat /listing
        assert "$output" == "$(printf '.\n./.dockerignore\n./.keep\n./Dockerfile\n./a\n./docs\n./docs/README.md\n./keep.log')"
    done
}
