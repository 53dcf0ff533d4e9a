#!/usr/bin/env bats
# Other tools read what cbuild writes (skopeo, umoci, runc, podman), and
# cbuild reads what they write, keeping image IDs, diff_ids and, where
# nothing was converted, manifest digests.

load helpers

setup_file() {
    # One runtime dir for the file: rootless podman keeps a pause process
    # per runtime dir, ended in teardown_file.
    export XDG_RUNTIME_DIR=$BATS_FILE_TMPDIR/run
    mkdir -p "$XDG_RUNTIME_DIR"
    chmod 700 "$XDG_RUNTIME_DIR"
}

teardown_file() {
    local pid
    pid=$(cat "$XDG_RUNTIME_DIR/libpod/tmp/pause.pid" 2>/dev/null) || return 0
    [[ $pid =~ ^[0-9]+$ ]] && kill "$pid" 2>/dev/null || true
}

setup() {
    helpers_setup
    cbuild_root_setup
    export HOME=$TESTDIR/home
    mkdir -p "$HOME"
    # podman wants a run root of at most 50 characters.
    PODMAN_RUNROOT=$(mktemp -d /tmp/cbpod.XXXXXX)
}

teardown() {
    # Rootless podman may leave files owned by subordinate ids.
    if [ -d "$TESTDIR/containers" ] && [ "$(id -u)" -ne 0 ]; then
        podman_t unshare rm -rf "$TESTDIR/containers" || true
    fi
    [ -n "${TESTDIR:-}" ] && rm -rf "$TESTDIR"
    [ -n "${PODMAN_RUNROOT:-}" ] && rm -rf "$PODMAN_RUNROOT"
}

# podman with a store of this test's own (as root too: the host's
# /var/lib/containers is left alone).
podman_t() {
    podman --root "$TESTDIR/containers/storage" --runroot "$PODMAN_RUNROOT" \
        --storage-driver vfs --events-backend none --cgroup-manager cgroupfs "$@"
}

# Skip unless podman works here at all (user namespaces for an ordinary
# user), with its own words as the reason.
need_podman() {
    skip_unless_cmd podman
    local out
    out=$(podman_t info --format '{{.Store.GraphDriverName}}' 2>&1) ||
        skip "podman cannot run here: $(tail -1 <<<"$out")"
}

# Skip unless runc can run a container here, tried on a bundle made
# without cbuild (so a broken bundle from cbuild still fails the test).
need_runc() {
    skip_unless_cmd runc umoci
    local probe=$BATS_FILE_TMPDIR/runc-probe out
    if [ ! -e "$probe.ok" ] && [ ! -e "$probe.fail" ]; then
        mkdir -p "$probe/rootfs/bin"
        cp "${BUSYBOX:-/bin/busybox}" "$probe/rootfs/bin/busybox"
        (cd "$probe" && runc spec --rootless)
        set_bundle_args "$probe"
        if out=$(runc --root "$XDG_RUNTIME_DIR/runc" run --bundle "$probe" probe </dev/null 2>&1) &&
            [ "$out" = ok ]; then
            touch "$probe.ok"
        else
            printf '%s\n' "$out" >"$probe.fail"
        fi
    fi
    [ -e "$probe.ok" ] || skip "runc cannot run a container here: $(tail -1 "$probe.fail")"
}

# Make the bundle's process "/bin/busybox echo ok", without a terminal.
set_bundle_args() {
    python3 - "$1/config.json" <<'EOF'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["args"] = ["/bin/busybox", "echo", "ok"]
c["process"]["terminal"] = False
json.dump(c, open(p, "w"))
EOF
}

# run_bundle DIR NAME: run the bundle with runc; its output in $output.
run_bundle() {
    set_bundle_args "$1"
    output=$(runc --root "$XDG_RUNTIME_DIR/runc" run --bundle "$1" "$2" </dev/null)
}

# The base image, imported; sets id, digest, layer and diff_id.
base_image() {
    import_base base:1 -c 'CMD ["/bin/sh"]' -c 'ENV GREETING=hi' -c 'LABEL org.example.k=v' "$@"
    id=$output
    run_cbuild inspect base:1
    digest=$(json_out 'd[0]["Digest"]')
    layer=$(json_out 'd[0]["Manifest"]["layers"][0]["digest"]')
    diff_id=$(json_out 'd[0]["Config"]["rootfs"]["diff_ids"][0]')
}

# check_loaded NAME ID DIFF_ID: cbuild has NAME as the image ID with that
# one layer, and its root filesystem is the busybox one.
check_loaded() {
    run_cbuild inspect "$1"
    assert "$(json_out 'd[0]["Id"]')" == "$2"
    assert "$(json_out 'd[0]["Config"]["rootfs"]["diff_ids"]')" == "[\"$3\"]"
    assert "$(json_out 'd[0]["Config"]["config"]["Env"]')" == '["GREETING=hi"]'
    run_cbuild export -o "$TESTDIR/exported" "$1"
    cmp "$TESTDIR/exported/bin/busybox" "${BUSYBOX:-/bin/busybox}"
    assert "$(head -1 "$TESTDIR/exported/etc/passwd")" == root:x:0:0:root:/root:/bin/sh
    rm -rf "$TESTDIR/exported"
}

# ------------------------------------------------------------ skopeo reads

@test "interop: skopeo reads an image in the store as an OCI layout" {
    skip_unless_cmd skopeo
    base_image
    output=$(skopeo inspect "oci:$CBUILD_ROOT:base:1")
    assert "$(json_out 'd["Digest"]')" == "$digest"
    assert "$(json_out 'd["Layers"]')" == "[\"$layer\"]"
    assert "$(json_out 'd["Env"]')" == '["GREETING=hi"]'
    assert "$(json_out 'd["Labels"]')" == '{"org.example.k": "v"}'

    # The raw manifest and config are cbuild's bytes.
    skopeo inspect --raw "oci:$CBUILD_ROOT:base:1" >"$TESTDIR/manifest"
    assert "$(sha256_of "$TESTDIR/manifest")" == "$digest"
    skopeo inspect --config --raw "oci:$CBUILD_ROOT:base:1" >"$TESTDIR/config"
    assert "$(sha256_of "$TESTDIR/config")" == "sha256:$id"
}

@test "interop: skopeo copies cbuild's oci-archive to a dir with the same digests" {
    skip_unless_cmd skopeo
    base_image
    run_cbuild save -o "$TESTDIR/img.tar" base:1
    skopeo copy -q "oci-archive:$TESTDIR/img.tar" "dir:$TESTDIR/out"
    assert "$(ls "$TESTDIR/out" | sort)" == "$(printf '%s\n' "$id" "${layer#sha256:}" manifest.json version | sort)"
    assert "$(sha256_of "$TESTDIR/out/manifest.json")" == "$digest"
    assert "$(sha256_of "$TESTDIR/out/$id")" == "sha256:$id"
    assert "$(sha256_of "$TESTDIR/out/${layer#sha256:}")" == "$layer"
    cmp "$TESTDIR/out/$id" "$CBUILD_ROOT/blobs/sha256/$id"
}

@test "interop: skopeo reads cbuild's docker-archive and oci-dir" {
    skip_unless_cmd skopeo
    base_image
    run_cbuild save --format docker-archive -o "$TESTDIR/docker.tar" base:1
    # skopeo hands the layer on uncompressed (named by its diff_id) and
    # the config as it is.
    skopeo copy -q "docker-archive:$TESTDIR/docker.tar" "dir:$TESTDIR/out"
    assert "$(ls "$TESTDIR/out" | sort)" == "$(printf '%s\n' "$id" "${diff_id#sha256:}" manifest.json version | sort)"
    cmp "$TESTDIR/out/$id" "$CBUILD_ROOT/blobs/sha256/$id"
    assert "$(sha256_of "$TESTDIR/out/${diff_id#sha256:}")" == "$diff_id"
    output=$(skopeo inspect --config --raw "docker-archive:$TESTDIR/docker.tar")
    assert "$(json_out 'd["config"]["Env"]')" == '["GREETING=hi"]'

    run_cbuild save --format oci-dir -o "$TESTDIR/dir" base:1
    output=$(skopeo inspect "oci:$TESTDIR/dir:base:1")
    assert "$(json_out 'd["Digest"]')" == "$digest"
}

# ------------------------------------------------------------ umoci, runc

@test "interop: umoci unpacks a saved oci-dir and runc runs busybox from it" {
    need_runc
    base_image
    run_cbuild save --format oci-dir -o "$TESTDIR/dir" base:1
    umoci unpack --rootless --image "$TESTDIR/dir:base:1" "$TESTDIR/bundle"
    cmp "$TESTDIR/bundle/rootfs/bin/busybox" "${BUSYBOX:-/bin/busybox}"
    assert "$(json_get "$TESTDIR/bundle/config.json" 'd["process"]["env"]')" =~ "'GREETING=hi'"
    run_bundle "$TESTDIR/bundle" ocidir
    assert "$output" == ok
}

@test "interop: umoci unpacks a saved oci-archive and runc runs busybox from it" {
    need_runc
    base_image
    run_cbuild save -o "$TESTDIR/img.tar" base:1
    mkdir "$TESTDIR/layout"
    tar -xf "$TESTDIR/img.tar" -C "$TESTDIR/layout"
    umoci unpack --rootless --image "$TESTDIR/layout:base:1" "$TESTDIR/bundle"
    assert "$(cat "$TESTDIR/bundle/rootfs/etc/hostname")" == cbuild-busybox
    run_bundle "$TESTDIR/bundle" ociarchive
    assert "$output" == ok
}

# ------------------------------------------------------------ podman reads

@test "interop: podman loads cbuild's oci-archive with the same ID and digest" {
    need_podman
    base_image
    run_cbuild save -o "$TESTDIR/img.tar" base:1
    podman_t load -q -i "$TESTDIR/img.tar"
    output=$(podman_t images --format '{{.Repository}}:{{.Tag}} {{.ID}}')
    assert "$output" == "localhost/base:1 ${id:0:12}"
    output=$(podman_t image inspect localhost/base:1)
    assert "$(json_out 'd[0]["Id"]')" == "$id"
    assert "$(json_out 'd[0]["Digest"]')" == "$digest"
    assert "$(json_out 'd[0]["RootFS"]["Layers"]')" == "[\"$diff_id\"]"
    assert "$(json_out 'd[0]["Config"]["Cmd"]')" == '["/bin/sh"]'
    assert "$(json_out 'd[0]["Labels"]')" == '{"org.example.k": "v"}'
}

@test "interop: podman loads cbuild's docker-archive with the same ID" {
    need_podman
    base_image
    run_cbuild tag base:1 localhost/app:2
    run_cbuild save --format docker-archive -o "$TESTDIR/img.tar" localhost/app:2
    podman_t load -q -i "$TESTDIR/img.tar"
    output=$(podman_t images --format '{{.Repository}}:{{.Tag}} {{.ID}}')
    assert "$output" == "localhost/app:2 ${id:0:12}"
    output=$(podman_t image inspect localhost/app:2)
    assert "$(json_out 'd[0]["Id"]')" == "$id"
    assert "$(json_out 'd[0]["RootFS"]["Layers"]')" == "[\"$diff_id\"]"
    assert "$(json_out 'd[0]["Config"]["Env"]')" == '["GREETING=hi"]'
}

# ------------------------------------------------------------ cbuild reads

@test "interop: cbuild loads an oci-archive written by skopeo, digests kept" {
    skip_unless_cmd skopeo
    base_image
    skopeo copy -q "oci:$CBUILD_ROOT:base:1" "oci-archive:$TESTDIR/sk.tar:other:2"
    export CBUILD_ROOT=$TESTDIR/fresh
    run_cbuild load -i "$TESTDIR/sk.tar"
    assert "$output" == "Loaded image: other:2"
    check_loaded other:2 "$id" "$diff_id"
    run_cbuild inspect other:2
    assert "$(json_out 'd[0]["Digest"]')" == "$digest"
    assert "$(ls "$CBUILD_ROOT/tmp")" == ""
}

@test "interop: cbuild loads a docker-archive written by skopeo, ID and diff_ids kept" {
    skip_unless_cmd skopeo
    base_image
    skopeo copy -q "oci:$CBUILD_ROOT:base:1" "docker-archive:$TESTDIR/sk.tar:other:3"
    export CBUILD_ROOT=$TESTDIR/fresh
    run_cbuild load -i "$TESTDIR/sk.tar"
    assert "$output" == "Loaded image: docker.io/library/other:3"
    check_loaded docker.io/library/other:3 "$id" "$diff_id"
    # skopeo wrote the layer uncompressed: its digest is the diff_id.
    run_cbuild inspect docker.io/library/other:3
    assert "$(json_out 'd[0]["Manifest"]["layers"][0]["digest"]')" == "$diff_id"
    assert "$(json_out 'd[0]["Manifest"]["layers"][0]["mediaType"]')" == application/vnd.oci.image.layer.v1.tar
}

@test "interop: cbuild loads a docker-archive written by podman save, ID and diff_ids kept" {
    need_podman
    base_image
    run_cbuild save -o "$TESTDIR/img.tar" base:1
    podman_t load -q -i "$TESTDIR/img.tar"
    podman_t save -q --format docker-archive -o "$TESTDIR/podman.tar" localhost/base:1
    export CBUILD_ROOT=$TESTDIR/fresh
    run_cbuild load -i "$TESTDIR/podman.tar"
    assert "$output" == "Loaded image: localhost/base:1"
    check_loaded localhost/base:1 "$id" "$diff_id"
}

@test "interop: cbuild loads an oci-archive written by podman save" {
    need_podman
    base_image
    run_cbuild save -o "$TESTDIR/img.tar" base:1
    podman_t load -q -i "$TESTDIR/img.tar"
    podman_t save -q --format oci-archive -o "$TESTDIR/podman.tar" localhost/base:1
    mkdir "$TESTDIR/p"
    tar -xf "$TESTDIR/podman.tar" -C "$TESTDIR/p"
    pm=$(json_get "$TESTDIR/p/index.json" 'd["manifests"][0]["digest"]')
    pc=$(json_get "$TESTDIR/p/blobs/sha256/${pm#sha256:}" 'd["config"]["digest"]')
    export CBUILD_ROOT=$TESTDIR/fresh
    run_cbuild load -i "$TESTDIR/podman.tar"
    assert "$output" == "Loaded image: localhost/base:1"
    # podman may rewrite the config, but not the layer's contents.
    check_loaded localhost/base:1 "${pc#sha256:}" "$diff_id"
    run_cbuild inspect localhost/base:1
    assert "$(json_out 'd[0]["Digest"]')" == "$pm"
}

@test "interop: cbuild save then load into a fresh store keeps the manifest digest" {
    for comp in gzip zstd none; do
        export CBUILD_ROOT=$TESTDIR/store-$comp
        base_image --compression $comp
        for fmt in oci-archive docker-archive; do
            run_cbuild save --format $fmt -o "$TESTDIR/$comp.$fmt.tar" base:1
            run_cbuild --root "$TESTDIR/fresh-$comp-$fmt" load -i "$TESTDIR/$comp.$fmt.tar"
            assert "$output" == "Loaded image: base:1"
            run_cbuild --root "$TESTDIR/fresh-$comp-$fmt" inspect base:1
            assert "$(json_out 'd[0]["Digest"]')" == "$digest"
            assert "$(json_out 'd[0]["Id"]')" == "$id"
            # Loading it again changes nothing.
            run_cbuild --root "$TESTDIR/fresh-$comp-$fmt" load -i "$TESTDIR/$comp.$fmt.tar"
            run_cbuild --root "$TESTDIR/fresh-$comp-$fmt" images --format json
            assert "$(json_out '[(i["Names"], i["Digest"]) for i in d]')" == "[[[\"base:1\"], \"$digest\"]]"
        done
    done
    CBUILD_ROOT=$TESTDIR/fresh-zstd-docker-archive check_loaded base:1 "$id" "$diff_id"
}
