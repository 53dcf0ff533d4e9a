#!/usr/bin/env bats
# cbuild as a user who has no /etc/subuid or /etc/subgid range at all: the
# single id mapping (0 = the caller, nothing else).  scripts/test.sh runs
# this file as its second test user, cbuild-norange, whom it gives no
# range; the other files fake a missing range with CBUILD_SUBUID_FILE, this
# one reads the real files.

load helpers

# has_range FILE: the caller has a line in FILE.
has_range() {
    [ -r "$1" ] && grep -Eq "^($(id -un)|$(id -u)):" "$1"
}

setup() {
    helpers_setup
    [ "$(id -u)" -ne 0 ] || skip "root without a range maps every id onto itself"
    if has_range /etc/subuid || has_range /etc/subgid; then
        skip "$(id -un) has a subordinate id range (scripts/test.sh runs this as cbuild-norange)"
    fi
    unset CBUILD_SUBUID_FILE CBUILD_SUBGID_FILE
    cbuild_root_setup
}

WARNING="using a single id mapping; ownership other than root is recorded, not applied"

@test "norange: doctor finds no range in /etc/subuid and picks the single mapping" {
    run_cbuild doctor
    assert "$output" =~ "subuid range +no: no line for uid $(id -u) in /etc/subuid"
    assert "$output" =~ "subgid range +no: "
    assert "$output" =~ "cbuild will use +userns: single mapping \(no range\)"
}

@test "norange: run is uid 0 inside, only the caller is mapped, and the warning says so" {
    import_base
    run_cbuild run base:1 id -u
    assert "$output" == "0"
    assert "$stderr" =~ "$WARNING"
    run_cbuild run base:1 cat /proc/self/uid_map
    assert "$(echo "$output" | awk '{print $1, $2, $3}')" == "0 $(id -u) 1"
    run_cbuild 1 run -u 1234 base:1 true
    assert "$stderr" =~ "not mapped in the user namespace"
}

# A base whose layer holds a file of uid 1234: the single mapping cannot
# apply that owner when it unpacks the layer, but the layer keeps it, so
# an image built on it still has it.
@test "norange: another owner in a base layer is kept in images built on it" {
    python3 - "$(busybox_tar)" "$TESTDIR/base.tar" <<'EOF'
import io, sys, tarfile
src, dst = sys.argv[1], sys.argv[2]
with tarfile.open(src) as i, tarfile.open(dst, "w", format=tarfile.PAX_FORMAT) as o:
    for m in i.getmembers():
        o.addfile(m, i.extractfile(m) if m.isfile() else None)
    data = b"owned by 1234\n"
    t = tarfile.TarInfo("etc/owned")
    t.size, t.uid, t.gid, t.mode = len(data), 1234, 1234, 0o640
    o.addfile(t, io.BytesIO(data))
EOF
    SOURCE_DATE_EPOCH=0 run_cbuild import "$TESTDIR/base.tar" owned:1
    mkdir -p "$TESTDIR/ctx"
    printf 'new\n' >"$TESTDIR/ctx/new.txt"
    printf 'FROM owned:1\nRUN echo ran >/ran\nCOPY new.txt /\n' >"$TESTDIR/ctx/Dockerfile"
    run_cbuild build -t app:1 "$TESTDIR/ctx"
    assert "$stderr" =~ "$WARNING"
    run_cbuild export -o "$TESTDIR/app.tar" app:1
    listing=$(tar -tvf "$TESTDIR/app.tar" --numeric-owner)
    assert "$listing" =~ "-rw-r----- 1234/1234 +14 [^ ]+ [^ ]+ etc/owned"
    assert "$listing" =~ "-rw-r--r-- 0/0 +4 [^ ]+ [^ ]+ ran"
    assert "$(tar -xOf "$TESTDIR/app.tar" ran)" == "ran"
    # A RUN that changes the file writes a layer of its own copy of it:
    # the recorded owner goes with the copy, not 0.
    printf 'FROM owned:1\nRUN echo more >>/etc/owned && chmod 600 /etc/owned\n' \
        >"$TESTDIR/ctx/Dockerfile"
    run_cbuild build -t changed:1 "$TESTDIR/ctx"
    run_cbuild inspect changed:1
    layer=$(json_out 'd[0]["Manifest"]["layers"][-1]["digest"].split(":")[1]')
    listing=$(tar -tvzf "$CBUILD_ROOT/blobs/sha256/$layer" --numeric-owner)
    assert "$listing" =~ "-rw------- 1234/1234 +19 [^ ]+ [^ ]+ etc/owned"
    # and the xattr that carried it is not in the layer
    ! gzip -dc "$CBUILD_ROOT/blobs/sha256/$layer" | grep -aq cbuild.owner
}

@test "norange: COPY --chown to an unmapped id is recorded in the layer; a symlink's is warned about" {
    import_base
    mkdir -p "$TESTDIR/ctx/dir"
    printf 'x\n' >"$TESTDIR/ctx/dir/f"
    ln -s f "$TESTDIR/ctx/dir/link"
    printf 'FROM base:1\nCOPY --chown=1234:1235 dir /d/\n' >"$TESTDIR/ctx/Dockerfile"
    run_cbuild build -t app:1 "$TESTDIR/ctx"
    # A symlink takes no user xattr, so its owner alone is lost, and said.
    assert "$stderr" =~ "Dockerfile:2: 1 owners could not be set"
    run_cbuild export -o "$TESTDIR/app.tar" app:1
    listing=$(tar -tvf "$TESTDIR/app.tar" --numeric-owner)
    assert "$listing" =~ "drwxr-xr-x 1234/1235 +0 [^ ]+ [^ ]+ d/"
    assert "$listing" =~ "-rw-r--r-- 1234/1235 +2 [^ ]+ [^ ]+ d/f"
    assert "$listing" =~ "lrwxrwxrwx 0/0 +0 [^ ]+ [^ ]+ d/link -> f"
}
