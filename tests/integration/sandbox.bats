#!/usr/bin/env bats
# Isolation of the RUN sandbox, through `cbuild run` on the busybox base,
# one property per test: what the command sees of the host (files,
# processes, mounts, network), what it can change, and what it may do
# (capabilities, no_new_privs, seccomp, rlimits).  CI runs this as the
# unprivileged user cbuild-test.

load helpers

setup() {
    helpers_setup
    unshare --user true 2>/dev/null || skip "user namespaces are not available here"
    unset CBUILD_IN_USERNS CBUILD_SUBUID_FILE CBUILD_SUBGID_FILE
    cbuild_root_setup
    import_base
}

teardown() {
    [ -n "${MARKER:-}" ] && rm -f "$MARKER"
    [ -n "${TESTDIR:-}" ] && rm -rf "$TESTDIR"
}

skip_unless_ids_mapped() {
    run_cbuild unshare cat /proc/self/uid_map
    [ "$(line_count "$output")" -gt 1 ] || [ "$(id -u)" = 0 ] ||
        skip "only uid 0 is mapped (no subuid range)"
}

# Docker's default capability set, as the hex mask /proc/PID/status
# prints, numbered from the kernel's own header.
default_cap_mask() {
    local hdr=/usr/include/linux/capability.h name n mask=0
    [ -r "$hdr" ] || skip "$hdr is missing: cannot number the capabilities"
    for name in CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID SETUID \
        SETFCAP SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE; do
        n=$(awk -v c="CAP_$name" '$1 == "#define" && $2 == c { print $3 }' "$hdr")
        [[ $n =~ ^[0-9]+$ ]] || { echo "CAP_$name not in $hdr" >&2; return 1; }
        mask=$((mask | (1 << n)))
    done
    printf '%016x\n' "$mask"
}

# A field of /proc/self/status inside the sandbox, for the run's args.
status_field() {
    local field=$1
    shift
    run_cbuild run "$@" base:1 grep "^$field:" /proc/self/status
    printf '%s\n' "${output#*:$'\t'}"
}

# probe:1: the base with the static tests/cb-sysprobe as /bin/cb-sysprobe.
import_probe() {
    local probe=${CB_SYSPROBE:-$(dirname "$CBUILD")/../tests/cb-sysprobe}
    [ -x "$probe" ] || skip "cb-sysprobe is not built ($probe)"
    mkdir -p "$TESTDIR/probe/bin"
    cp "$probe" "$TESTDIR/probe/bin/cb-sysprobe"
    cp "$(busybox_tar)" "$TESTDIR/probe.tar"
    tar -rf "$TESTDIR/probe.tar" --owner=0 --group=0 --numeric-owner \
        -C "$TESTDIR/probe" ./bin/cb-sysprobe
    SOURCE_DATE_EPOCH=0 run_cbuild import "$TESTDIR/probe.tar" probe:1
}

@test "sandbox: the host's files are invisible (a marker in \$HOME, the host's /tmp)" {
    [ -d "$HOME" ] && [ -w "$HOME" ] || skip "no writable \$HOME"
    MARKER=$HOME/cbuild-marker-$$-$RANDOM
    echo secret >"$MARKER"
    run_cbuild 1 run base:1 cat "$MARKER"
    assert "$output" == ""
    run_cbuild run base:1 find / -xdev -name "${MARKER##*/}"
    assert "$output" == ""
    # Our scratch dir is in the host's /tmp; the image's /tmp is empty.
    [ -n "$(ls -A "$(dirname "$TESTDIR")")" ]
    run_cbuild run base:1 ls -A /tmp
    assert "$output" == ""
}

@test "sandbox: the host's processes are invisible" {
    sleep 300 3>&- &
    local host_pid=$!
    # Only PID 1 (the sandbox's init) and the shell itself.
    run_cbuild run base:1 sh -c 'for p in /proc/[0-9]*; do echo "${p#/proc/}"; done'
    kill "$host_pid"
    assert "$output" == "1"$'\n'"2"
    run_cbuild run base:1 ps -o pid,args
    assert "$(line_count "$output")" == "3"
    ! grep -q 'sleep 300' <<<"$output"
}

@test "sandbox: the host's mounts are invisible" {
    run_cbuild run base:1 cat /proc/self/mountinfo
    local mounts=$output point
    # The root is the overlay (with the vfs driver: the run's own copy
    # of the layers in the store); every other mount is one the sandbox
    # made (/proc, /dev, /sys and what is below them, the bound /etc files).
    if [ "${CBUILD_STORAGE_DRIVER:-}" = vfs ]; then
        assert "$(head -n 1 <<<"$mounts" | awk '{ print $5, $4 }')" =~ "^/ $CBUILD_ROOT/run/[^/]+/merged$"
    else
        assert "$(head -n 1 <<<"$mounts" | awk '{ print $5, $(NF - 2) }')" == "/ overlay"
    fi
    while read -r point; do
        [[ $point =~ ^/(proc|dev|sys)(/|$) || $point =~ ^/etc/(hosts|hostname|resolv\.conf)$ || $point == / ]] ||
            { echo "host mount visible: $point" >&2; return 1; }
    done < <(awk '{ print $5 }' <<<"$mounts")
    # The host's own mount points outside those are not there.
    while read -r point; do
        [[ $point =~ ^/(proc|dev|sys)(/|$) || $point == / ]] && continue
        ! grep -q " $point " <<<"$mounts" || { echo "host mount $point is visible" >&2; return 1; }
    done < <(awk '{ print $5 }' /proc/self/mountinfo)
}

@test "sandbox: with --network none only lo is there, and up" {
    run_cbuild run --network none base:1 cat /proc/net/dev
    assert "$(awk -F: 'NR > 2 { gsub(/ /, "", $1); print $1 }' <<<"$output" | paste -sd,)" == "lo"
    run_cbuild run --network none base:1 ls /sys/class/net
    assert "$output" == "lo"
    run_cbuild run --network none base:1 ping -c 1 -W 2 127.0.0.1
}

@test "sandbox: writes outside the rootfs are impossible" {
    local host_resolv=""
    [ -r /etc/resolv.conf ] && host_resolv=$(cksum </etc/resolv.conf)
    # A write to / and to a path that exists on the host land in the
    # throwaway upper dir.
    run_cbuild run base:1 sh -c "echo x >/cbuild-write && mkdir -p '$TESTDIR/out' &&
        echo x >'$TESTDIR/out/f' && cat /cbuild-write '$TESTDIR/out/f'"
    assert "$output" == "x"$'\n'"x"
    [ ! -e /cbuild-write ]
    [ ! -e "$TESTDIR/out" ]
    run_cbuild 1 run base:1 cat /cbuild-write
    # What the sandbox takes from the host is read-only.
    run_cbuild 1 run base:1 sh -c 'echo x >/proc/sys/kernel/hostname'
    assert "$stderr" =~ "Read-only file system"
    run_cbuild run base:1 cat /proc/self/mountinfo
    assert "$(awk '$5 ~ "^/sys" && $6 !~ /^ro,/ { print $5 }' <<<"$output")" == ""
    # /etc/resolv.conf is the sandbox's copy: writable, the host's
    # unchanged.
    run_cbuild run base:1 sh -c 'echo "# x" >>/etc/resolv.conf'
    if [ -n "$host_resolv" ]; then
        assert "$(cksum </etc/resolv.conf)" == "$host_resolv"
    fi
}

@test "sandbox: /proc hides what Docker hides" {
    # Empty files and directories over kernel memory, keys and timers.
    run_cbuild run base:1 sh -c 'for f in /proc/keys /proc/timer_list /proc/kcore; do
        test -e $f && wc -c <$f; done; ls -A /sys/firmware /proc/acpi 2>/dev/null | grep -v :'
    assert "$(tr -d ' \n' <<<"$output" | tr -d 0)" == ""
}

@test "sandbox: the capabilities are Docker's default set" {
    local want
    want=$(default_cap_mask)
    assert "$(status_field CapEff)" == "$want"
    assert "$(status_field CapPrm)" == "$want"
    assert "$(status_field CapBnd)" == "$want"
    assert "$(status_field CapInh)" == "0000000000000000"
    assert "$(status_field CapAmb)" == "0000000000000000"
}

@test "sandbox: a non-root user has no effective capabilities, the same bounding set" {
    skip_unless_ids_mapped
    local want
    want=$(default_cap_mask)
    assert "$(status_field CapEff -u 1000)" == "0000000000000000"
    assert "$(status_field CapPrm -u 1000)" == "0000000000000000"
    assert "$(status_field CapBnd -u 1000)" == "$want"
    assert "$(status_field NoNewPrivs -u 1000)" == "1"
    assert "$(status_field Seccomp -u 1000)" == "2"
}

@test "sandbox: no_new_privs is set and a seccomp filter is on" {
    assert "$(status_field NoNewPrivs)" == "1"
    assert "$(status_field Seccomp)" == "2"
}

@test "sandbox: seccomp refuses keyctl, new namespaces and mounts with EPERM" {
    import_probe
    local calls=(keyctl add_key unshare-user clone-newuser mount io_uring_setup
        userfaultfd personality-no-aslr socket-vsock)
    for c in "${calls[@]}"; do
        run_cbuild run probe:1 cb-sysprobe "$c"
        assert "$output" == "$c: Operation not permitted"
    done
    # clone3 says ENOSYS so that libc falls back to clone; clone without
    # namespace flags and personality queries still work.
    run_cbuild run probe:1 cb-sysprobe clone3 clone personality-query
    assert "$output" == "clone3: Function not implemented"$'\n'"clone: ok"$'\n'"personality-query: ok"
    # busybox's own applets meet the same filter.
    run_cbuild 1 run base:1 unshare -U true
    assert "$stderr" =~ "Operation not permitted"
    run_cbuild 1 run base:1 mount -t tmpfs none /mnt
    assert "$stderr" =~ "permission denied"
}

@test "sandbox: the probe's calls work outside the sandbox (the EPERMs are the filter's)" {
    local probe=${CB_SYSPROBE:-$(dirname "$CBUILD")/../tests/cb-sysprobe}
    run "$probe" keyctl
    assert "$output" == "keyctl: ok"
    run "$probe" unshare-user
    assert "$output" == "unshare-user: ok"
    run "$probe" clone3
    assert "$output" == "clone3: ok"
}

@test "sandbox: RLIMIT_NOFILE is 1048576, or the hard limit we have when lower" {
    local hard want
    hard=$(ulimit -Hn)
    if [ "$hard" = unlimited ] || [ "$hard" -ge 1048576 ]; then
        want=1048576
    else
        want=$hard
    fi
    run_cbuild run base:1 sh -c 'ulimit -n; ulimit -Hn'
    assert "$output" == "$want"$'\n'"$want"
}

@test "sandbox: PID 1 reaps orphans" {
    # The subshell's sleep is orphaned and re-parented to PID 1; once it
    # exits nothing may be left as a zombie.
    run_cbuild run base:1 sh -c '(sleep 0.2 &); sleep 1; cat /proc/[0-9]*/stat | awk "{ print \$3 }"'
    [ -n "$output" ]
    ! grep -qx Z <<<"$output"
}

@test "sandbox: cbuild doctor says RUN commands get the seccomp filter" {
    run_cbuild doctor --root "$TESTDIR/store"
    assert "$output" =~ "seccomp +yes: .*RUN commands get cbuild's filter \(tried: keyctl refused\)"
}

@test "sandbox: a failing set-up step is named in one line" {
    run_cbuild 1 run -w /bin/busybox/sub base:1 true
    assert "$(line_count "$stderr")" == "1"
    assert "$stderr" =~ "sandbox: create the working directory: Not a directory"
}
