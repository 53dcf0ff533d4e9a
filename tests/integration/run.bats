#!/usr/bin/env bats
# `cbuild run`: a command in an imported image, in the rootless sandbox
# (user, mount, pid, ipc, uts and optionally network namespaces, on an
# overlay of the image's layers).  CI runs this as the unprivileged user
# cbuild-test; as root it runs the same way with root's identity mapping.

load helpers

skip_unless_sandbox() {
    unshare --user true 2>/dev/null || skip "user namespaces are not available here"
}

setup() {
    helpers_setup
    skip_unless_sandbox
    unset CBUILD_IN_USERNS CBUILD_SUBUID_FILE CBUILD_SUBGID_FILE
    cbuild_root_setup
    import_base
}

# meson runs this file a second time with CBUILD_STORAGE_DRIVER=vfs.
@test "run: with CBUILD_STORAGE_DRIVER=vfs the root is a copy, not an overlay" {
    [ "${CBUILD_STORAGE_DRIVER:-}" = vfs ] || skip "checked in the vfs run of this file"
    run_cbuild run base:1 awk '$5 == "/" {print $9}' /proc/self/mountinfo
    assert "$output" != ""
    assert "$output" != "overlay"
}

@test "run: a command prints to our stdout" {
    run_cbuild run base:1 /bin/busybox echo ok
    assert "$output" == "ok"
    assert "$stderr" == ""
}

@test "run: the command is uid 0 in the image's root, found through PATH" {
    run_cbuild run base:1 id -u
    assert "$output" == "0"
    run_cbuild run base:1 cat /etc/hostname
    assert "$output" == "cbuild"
}

@test "run: the command's exit status is ours" {
    run_cbuild 3 run base:1 sh -c 'exit 3'
    run_cbuild 137 run base:1 sh -c 'kill -9 $$'
}

@test "run: a missing command exits 127 with one line naming it" {
    run_cbuild 127 run base:1 no-such-command
    assert "$output" == ""
    assert "$(line_count "$stderr")" == "1"
    assert "$stderr" =~ "'no-such-command': command not found"
}

@test "run: -e sets variables, and PATH has a default" {
    run_cbuild run -e A=b --env B=c base:1 env
    grep -qx 'A=b' <<<"$output"
    grep -qx 'B=c' <<<"$output"
    grep -q '^PATH=/' <<<"$output"
}

@test "run: -w sets the working directory, created when missing" {
    run_cbuild run -w /tmp base:1 pwd
    assert "$output" == "/tmp"
    run_cbuild run -w /new/dir base:1 pwd
    assert "$output" == "/new/dir"
}

skip_unless_ids_mapped() {
    run_cbuild unshare cat /proc/self/uid_map
    [ "$(line_count "$output")" -gt 1 ] || [ "$(id -u)" = 0 ] ||
        skip "only uid 0 is mapped (no subuid range)"
}

@test "run: -u sets the uid and gid" {
    skip_unless_ids_mapped
    run_cbuild run -u 1000 base:1 id -u
    assert "$output" == "1000"
    run_cbuild run -u 1000:1001 base:1 id -g
    assert "$output" == "1001"
    run_cbuild run -u 1234 base:1 id -g
    assert "$output" == "0"
}

@test "run: -u takes names from the image's /etc/passwd and /etc/group" {
    skip_unless_ids_mapped
    # busybox rootfs: user is 1000:1000, nobody 65534, group nogroup 65534.
    run_cbuild run -u user base:1 id
    assert "$output" == "uid=1000(user) gid=1000(user) groups=100(users)"
    # A numeric uid in /etc/passwd takes its gid from there.
    run_cbuild run -u 1000 base:1 id -g
    assert "$output" == "1000"
    run_cbuild run -u user:nogroup base:1 id -g
    assert "$output" == "65534"
    run_cbuild run -u 0:user base:1 id
    assert "$output" == "uid=0(root) gid=1000(user)"
}

@test "run: supplementary groups come from /etc/group, as with Docker" {
    skip_unless_ids_mapped
    # busybox rootfs: group users (100) lists user.  A numeric uid with a
    # passwd entry gets them too; an explicit group means none.
    run_cbuild run -u user base:1 id -G
    assert "$output" == "1000 100"
    run_cbuild run -u 1000 base:1 id -G
    assert "$output" == "1000 100"
    run_cbuild run -u user:user base:1 id -G
    assert "$output" == "1000"
    run_cbuild run -u 4321 base:1 id -G
    assert "$output" == "0"
    # root is in no group here: only its own gid, none of the host's.
    run_cbuild run base:1 id -G
    assert "$output" == "0"
}

@test "run: an unknown user or group is an error naming it" {
    run_cbuild 2 run -u nouser base:1 id -u
    assert "$stderr" =~ "user 'nouser' is not in the image's /etc/passwd"
    run_cbuild 2 run -u root:nogrp base:1 id -u
    assert "$stderr" =~ "group 'nogrp' is not in the image's /etc/group"
}

@test "run: the image's User applies unless -u is given" {
    skip_unless_ids_mapped
    import_base user:1 --change 'USER user'
    run_cbuild run user:1 id -u
    assert "$output" == "1000"
    run_cbuild run -u 0 user:1 id -u
    assert "$output" == "0"
}

@test "run: the host's files and processes are not visible" {
    echo secret >"$TESTDIR/host-file"
    run_cbuild 1 run base:1 cat "$TESTDIR/host-file"
    assert "$output" == ""
    # PID 1 inside is the sandbox's init (a copy of cbuild), and there are
    # the command is PID 2.
    run_cbuild run base:1 sh -c 'tr "\0" " " </proc/1/cmdline'
    assert "$output" =~ "run"
    assert "$output" =~ "base:1"
    run_cbuild run base:1 sh -c 'echo $$'
    assert "$output" == "2"
}

@test "run: writes do not change the image, and nothing is left behind" {
    run_cbuild run base:1 sh -c 'echo hi >/written && rm /bin/ls && cat /written'
    assert "$output" == "hi"
    run_cbuild 1 run base:1 cat /written
    run_cbuild run base:1 ls /bin/ls
    assert "$output" == "/bin/ls"
    assert "$(ls -A "$CBUILD_ROOT/run")" == ""
}

@test "run: /dev, /proc, /etc/hosts are the sandbox's" {
    run_cbuild run base:1 sh -c 'echo x >/dev/null && head -c 4 /dev/zero | wc -c'
    assert "$output" =~ 4
    run_cbuild run base:1 grep -c '^127.0.0.1.*localhost' /etc/hosts
    assert "$output" == "1"
    # /sys, when there is one, is read-only.
    run_cbuild run base:1 sh -c 'test -z "$(ls /sys)" || ! touch /sys/x 2>/dev/null'
}

@test "run: --network none has only lo" {
    run_cbuild run --network none base:1 cat /proc/net/dev
    assert "$(echo "$output" | awk -F: 'NR > 2 {gsub(/ /, "", $1); print $1}' | paste -sd,)" == "lo"
    # lo is up.
    run_cbuild run --network none base:1 ping -c 1 -W 2 127.0.0.1
}

@test "run: without a command the image's Cmd runs, with its Env and WorkingDir" {
    import_base cmd:1 --change 'CMD ["echo","from-cmd"]'
    run_cbuild run cmd:1
    assert "$output" == "from-cmd"
    import_base env:1 --change 'ENV GREETING=hello' --change 'WORKDIR /srv' \
        --change 'CMD ["sh","-c","echo $GREETING; pwd"]'
    run_cbuild run env:1
    assert "$output" == "hello"$'\n'"/srv"
    run_cbuild run -e GREETING=bye env:1
    assert "$output" == "bye"$'\n'"/srv"
}

@test "run: usage errors" {
    run_cbuild 2 run
    assert "$stderr" =~ "expected IMAGE"
    run_cbuild 2 run --network bridge base:1 true
    assert "$stderr" =~ "host or none"
    run_cbuild 2 run -w relative base:1 true
    assert "$stderr" =~ "absolute"
    run_cbuild 2 run no-such-image:1 true
    run_cbuild 2 run cmd-less-image-does-not-exist
}

@test "run: SIGTERM ends the sandbox and the upper dir is still removed" {
    "$CBUILD" run base:1 sleep 300 >/dev/null 2>&1 &
    local pid=$!
    # Wait until the command runs (its upper dir exists).
    for _ in $(seq 50); do
        [ -n "$(ls -A "$CBUILD_ROOT/run" 2>/dev/null)" ] && break
        sleep 0.1
    done
    sleep 0.5
    kill -TERM "$pid"
    local rc=0
    wait "$pid" || rc=$?
    assert "$rc" == "137"
    assert "$(ls -A "$CBUILD_ROOT/run")" == ""
}

@test "run: a store path with ',' and ':' works (overlay options are relative)" {
    export CBUILD_ROOT=$TESTDIR/a,b:c
    import_base
    run_cbuild run base:1 echo ok
    assert "$output" == "ok"
    assert "$(ls -A "$CBUILD_ROOT/run")" == ""
}

# add_layers DIR N: append N one-file layers (layer0 .. layerN-1) to the
# image in the OCI layout DIR and name it many:1.
add_layers() {
    python3 - "$1" "$2" <<'PY'
import hashlib, io, json, os, sys, tarfile
d, n = sys.argv[1], int(sys.argv[2])
def blob(data):
    h = hashlib.sha256(data).hexdigest()
    with open(os.path.join(d, 'blobs/sha256', h), 'wb') as f:
        f.write(data)
    return 'sha256:' + h, len(data)
def read(digest):
    return open(os.path.join(d, 'blobs/sha256', digest.split(':')[1]), 'rb').read()
index = json.load(open(os.path.join(d, 'index.json')))
mdesc = index['manifests'][0]
man = json.loads(read(mdesc['digest']))
cfg = json.loads(read(man['config']['digest']))
for i in range(n):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w', format=tarfile.PAX_FORMAT) as t:
        data = b'%d\n' % i
        ti = tarfile.TarInfo('layer%d' % i)
        ti.size = len(data)
        ti.mode = 0o644
        t.addfile(ti, io.BytesIO(data))
    dg, sz = blob(buf.getvalue())
    man['layers'].append({'mediaType': 'application/vnd.oci.image.layer.v1.tar',
                          'digest': dg, 'size': sz})
    cfg['rootfs']['diff_ids'].append(dg)
    cfg.setdefault('history', []).append({'created_by': 'layer %d' % i,
                                           'empty_layer': False})
cd, cs = blob(json.dumps(cfg).encode())
man['config']['digest'], man['config']['size'] = cd, cs
md, ms = blob(json.dumps(man).encode())
mdesc['digest'], mdesc['size'] = md, ms
mdesc.setdefault('annotations', {})['org.opencontainers.image.ref.name'] = 'many:1'
json.dump(index, open(os.path.join(d, 'index.json'), 'w'))
PY
}

@test "run: an image of 150 layers fits in the overlay options" {
    skip_unless_cmd python3
    run_cbuild save -o "$TESTDIR/oci.tar" base:1
    mkdir "$TESTDIR/oci"
    tar -xf "$TESTDIR/oci.tar" -C "$TESTDIR/oci"
    add_layers "$TESTDIR/oci" 150
    tar -cf "$TESTDIR/many.tar" -C "$TESTDIR/oci" .
    run_cbuild load -i "$TESTDIR/many.tar"
    run_cbuild run many:1 sh -c 'ls / | grep -c "^layer"; cat /layer0 /layer149'
    assert "$output" == "150"$'\n'"0"$'\n'"149"
}

@test "run: prune waits while a run uses the store, and the run keeps its layers" {
    # The image is untagged while it runs: its layers are garbage to GC.
    run_cbuild run base:1 true
    "$CBUILD" run base:1 sh -c 'sleep 2; test -x /bin/busybox && echo alive' >"$TESTDIR/run.out" 2>&1 &
    pid=$!
    sleep 1
    run_cbuild rmi base:1
    run_cbuild --log-level warn prune
    assert "$stderr" =~ "is in use by a build or run: waiting"
    wait "$pid"
    assert "$(cat "$TESTDIR/run.out")" == "alive"
    # Once the run is over, prune took what was garbage.
    [ -z "$(ls -A "$CBUILD_ROOT/unpacked")" ]
}
