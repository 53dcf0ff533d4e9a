#!/usr/bin/env bats
# cbuild pull and push against a real Docker distribution registry
# (docker-registry on 127.0.0.1, plain HTTP), checked with skopeo.

load helpers

setup() {
    TESTDIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/cbuild-bats.XXXXXX")
    cbuild_root_setup
    start_registry "$TESTDIR/registry"
}

teardown() {
    stop_fault_proxy
    stop_fake_registry
    stop_registry
    [ -n "${TESTDIR:-}" ] && rm -rf "$TESTDIR"
}

# Go's name for this machine's architecture, as cbuild uses it.
host_arch() {
    case $(uname -m) in
        x86_64) echo amd64 ;;
        aarch64) echo arm64 ;;
        i686 | i386) echo 386 ;;
        armv7l | armv6l) echo arm ;;
        *) uname -m ;;
    esac
}

# import_busybox NAME: the busybox rootfs as the image NAME; prints its ID.
import_busybox() {
    run_cbuild import --timestamp 0 "$(busybox_tar)" "$1"
    printf '%s\n' "$output"
}

# import_tiny NAME TEXT: a one-file image; prints its ID.
import_tiny() {
    mkdir -p "$TESTDIR/tiny-$2"
    printf '%s\n' "$2" >"$TESTDIR/tiny-$2/hello.txt"
    run_cbuild import --timestamp 0 "$TESTDIR/tiny-$2" "$1"
    printf '%s\n' "$output"
}

# inspect_field IMAGE EXPR: a field of `cbuild inspect IMAGE` (d is the
# first element).
inspect_field() {
    run_cbuild inspect "$1"
    printf '%s\n' "$output" >"$TESTDIR/.inspect.json"
    json_get "$TESTDIR/.inspect.json" "d[0]$2"
}

skopeo_digest() {
    skopeo inspect --tls-verify=false "docker://$1" >"$TESTDIR/.skopeo.json"
    json_get "$TESTDIR/.skopeo.json" 'd["Digest"]'
}

@test "registry: push sends an image that skopeo reads with the same digest" {
    skip_unless_cmd skopeo
    id=$(import_busybox "$REGISTRY/busybox:1")
    local_digest=$(inspect_field "$REGISTRY/busybox:1" '["Digest"]')
    run_cbuild push --digestfile "$TESTDIR/digest" "$REGISTRY/busybox:1"
    assert "$output" == "$local_digest"
    assert "$(cat "$TESTDIR/digest")" == "$local_digest"
    assert "$(skopeo_digest "$REGISTRY/busybox:1")" == "$local_digest"
    # The local image is as it was.
    assert "$(inspect_field "$REGISTRY/busybox:1" '["Id"]')" == "$id"
}

@test "registry: a second push skips the blobs the registry has" {
    import_busybox "$REGISTRY/busybox:1" >/dev/null
    run_cbuild --log-level info push "$REGISTRY/busybox:1"
    assert "$stderr" =~ "uploading"
    first=$output
    run_cbuild --log-level info push "$REGISTRY/busybox:1" "$REGISTRY/busybox:again"
    assert "$output" == "$first"
    assert "$stderr" =~ "already in the registry"
    [[ $stderr != *uploading* ]]
}

@test "registry: pull into a fresh store gives the same image and digest" {
    id=$(import_busybox "$REGISTRY/busybox:1")
    run_cbuild push "$REGISTRY/busybox:1"
    pushed=$output
    export CBUILD_ROOT=$TESTDIR/store2
    run_cbuild pull "$REGISTRY/busybox:1"
    assert "$output" == "$pushed"
    assert "$(inspect_field "$REGISTRY/busybox:1" '["Id"]')" == "$id"
    assert "$(inspect_field "$REGISTRY/busybox:1" '["Digest"]')" == "$pushed"
    # Again: nothing to fetch, same answer.
    run_cbuild --log-level info pull "$REGISTRY/busybox:1"
    assert "$output" == "$pushed"
    assert "$stderr" =~ "already in the store"
    # By digest too; the image can be flattened (every layer checks out).
    run_cbuild pull "$REGISTRY/busybox@$pushed"
    assert "$output" == "$pushed"
    # A name with a digest has no tag: images shows the repository and
    # <none>, as docker does.
    run_cbuild images
    assert "$output" =~ "$REGISTRY/busybox +<none> "
    assert "$output" =~ "$REGISTRY/busybox +1 "
    run_cbuild export -o "$TESTDIR/rootfs.tar" "$REGISTRY/busybox:1"
    tar -tf "$TESTDIR/rootfs.tar" | grep -q '^bin/busybox$'
}

@test "registry: FROM and COPY --from pull an image the store lacks" {
    id=$(import_busybox "$REGISTRY/base/busybox:1")
    run_cbuild push "$REGISTRY/base/busybox:1"
    export CBUILD_ROOT=$TESTDIR/store2
    ctx=$(fixture empty)
    printf 'FROM %s/base/busybox:1\nRUN echo on-the-pulled-base >/marker\nCOPY --from=%s/base/busybox:1 /bin/busybox /bb\n' \
        "$REGISTRY" "$REGISTRY" >"$ctx/Dockerfile"
    run_cbuild build --progress plain -t app:1 "$ctx"
    assert "$stderr" =~ "pulling $REGISTRY/base/busybox:1"
    assert "$(inspect_field "$REGISTRY/base/busybox:1" '["Id"]')" == "$id"
    run_cbuild run app:1 cat /marker
    assert "$output" == "on-the-pulled-base"
    # The second build finds the base in the store: no pull, all cached.
    run_cbuild build --progress plain -t app:1 "$ctx"
    [[ $stderr != *"pulling"* ]]
    assert "$stderr" =~ "#3 CACHED"
    # A base that no registry has: one error naming it, nothing tagged.
    printf 'FROM %s/nope:1\n' "$REGISTRY" >"$ctx/Dockerfile"
    run_cbuild 1 build -t app:2 "$ctx"
    assert "$stderr" =~ "Dockerfile:1: FROM $REGISTRY/nope:1: pulling '$REGISTRY/nope:1'"
    run_cbuild 2 inspect app:2
}

@test "registry: an image skopeo copied from a cbuild save archive pulls back" {
    skip_unless_cmd skopeo
    id=$(import_busybox localhost/saved:1)
    run_cbuild save -o "$TESTDIR/saved.tar" localhost/saved:1
    skopeo --insecure-policy copy --dest-tls-verify=false \
        "oci-archive:$TESTDIR/saved.tar" "docker://$REGISTRY/from-archive:1" >&2
    remote=$(skopeo_digest "$REGISTRY/from-archive:1")
    export CBUILD_ROOT=$TESTDIR/store2
    run_cbuild pull "$REGISTRY/from-archive:1"
    assert "$output" == "$remote"
    assert "$(inspect_field "$REGISTRY/from-archive:1" '["Id"]')" == "$id"
}

@test "registry: Docker schema 2 images pull and push back unchanged" {
    skip_unless_cmd skopeo
    id=$(import_tiny localhost/docker:1 docker)
    run_cbuild save -o "$TESTDIR/saved.tar" localhost/docker:1
    skopeo --insecure-policy copy --format v2s2 --dest-tls-verify=false \
        "oci-archive:$TESTDIR/saved.tar" "docker://$REGISTRY/v2s2:1" >&2
    remote=$(skopeo_digest "$REGISTRY/v2s2:1")
    export CBUILD_ROOT=$TESTDIR/store2
    run_cbuild pull "$REGISTRY/v2s2:1"
    assert "$output" == "$remote"
    assert "$(inspect_field "$REGISTRY/v2s2:1" '["Id"]')" == "$id"
    assert "$(inspect_field "$REGISTRY/v2s2:1" '["Manifest"]["mediaType"]')" == \
        application/vnd.docker.distribution.manifest.v2+json
    run_cbuild push "$REGISTRY/v2s2:1" "$REGISTRY/v2s2:back"
    assert "$output" == "$remote"
    assert "$(skopeo_digest "$REGISTRY/v2s2:back")" == "$remote"
}

@test "registry: pull of an image index takes the entry for this platform" {
    id_other=$(import_tiny "$REGISTRY/multi:other" other)
    id_host=$(import_tiny "$REGISTRY/multi:host" host)
    run_cbuild push "$REGISTRY/multi:other"
    d_other=$output
    run_cbuild push "$REGISTRY/multi:host"
    d_host=$output
    python3 - "$TESTDIR" "$REGISTRY" "$d_other" "$d_host" "$(host_arch)" <<'EOP'
import json, os, sys
testdir, reg, d_other, d_host, arch = sys.argv[1:]
other_arch = "s390x" if arch != "s390x" else "riscv64"
entries = []
for digest, a in ((d_other, other_arch), (d_host, arch)):
    hexd = digest.split(":")[1]
    n = os.path.getsize(os.path.join(testdir, "store", "blobs", "sha256", hexd))
    entries.append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": digest, "size": n,
                    "platform": {"os": "linux", "architecture": a}})
idx = {"schemaVersion": 2,
       "mediaType": "application/vnd.oci.image.index.v1+json",
       "manifests": entries}
open(os.path.join(testdir, "index.json"), "w").write(json.dumps(idx))
EOP
    run http_status "http://$REGISTRY/v2/multi/manifests/all" PUT \
        application/vnd.oci.image.index.v1+json "$TESTDIR/index.json"
    assert "$output" == 201
    index_digest=sha256:$(sha256sum "$TESTDIR/index.json" | cut -d' ' -f1)
    export CBUILD_ROOT=$TESTDIR/store2
    run_cbuild pull "$REGISTRY/multi:all"
    assert "$output" == "$index_digest"
    assert "$(inspect_field "$REGISTRY/multi:all" '["Id"]')" == "$id_host"
    assert "$(inspect_field "$REGISTRY/multi:all" '["Digest"]')" == "$d_host"
    # The index is stored too.
    [ -f "$CBUILD_ROOT/blobs/sha256/${index_digest#sha256:}" ]
}

@test "registry: pulling a missing tag fails with 404 and stores nothing" {
    run_cbuild 1 pull "$REGISTRY/nothing:1"
    assert "$stderr" == "cbuild: error: pulling '$REGISTRY/nothing:1': manifest '1': HTTP 404 Not Found (MANIFEST_UNKNOWN: manifest unknown)"
    run_cbuild images -q
    assert "$output" == ""
    assert "$(ls -A "$CBUILD_ROOT/blobs/sha256")" == ""
}

@test "registry: pulling a missing tag of a known repository names the tag" {
    import_tiny "$REGISTRY/tiny:1" one >/dev/null
    run_cbuild push "$REGISTRY/tiny:1"
    export CBUILD_ROOT=$TESTDIR/store2
    run_cbuild 1 pull "$REGISTRY/tiny:2"
    assert "$stderr" =~ "pulling '$REGISTRY/tiny:2': manifest '2': HTTP 404 Not Found \(MANIFEST_UNKNOWN"
}

@test "registry: a layer that does not match its digest is refused and not kept" {
    import_tiny "$REGISTRY/bad:1" bad >/dev/null
    layer=$(inspect_field "$REGISTRY/bad:1" '["Manifest"]["layers"][0]["digest"]')
    run_cbuild push "$REGISTRY/bad:1"
    hex=${layer#sha256:}
    data=$TESTDIR/registry/storage/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data
    [ -f "$data" ]
    # Same size, one byte changed.
    printf 'X' | dd of="$data" bs=1 seek=20 conv=notrunc status=none
    export CBUILD_ROOT=$TESTDIR/store2
    run_cbuild 1 pull "$REGISTRY/bad:1"
    assert "$stderr" =~ "pulling '$REGISTRY/bad:1': layer 1: blob ${layer:0:19}: the registry sent content of another digest"
    [ ! -e "$CBUILD_ROOT/blobs/sha256/$hex" ]
    assert "$(ls -A "$CBUILD_ROOT/tmp")" == ""
    run_cbuild images -q
    assert "$output" == ""
}

@test "registry: a registry that is not there fails fast with a clear error" {
    port=$(free_port)
    start=$SECONDS
    run_cbuild 1 pull "127.0.0.1:$port/busybox:1"
    [ $((SECONDS - start)) -lt 10 ]
    assert "$stderr" =~ "pulling '127.0.0.1:$port/busybox:1': manifest '1': .*127.0.0.1.*$port"
    import_tiny "127.0.0.1:$port/tiny:1" dead >/dev/null
    id=$(inspect_field "127.0.0.1:$port/tiny:1" '["Id"]')
    run_cbuild 1 push "127.0.0.1:$port/tiny:1"
    assert "$stderr" =~ "pushing '127.0.0.1:$port/tiny:1': config: blob sha256:"
    assert "$(inspect_field "127.0.0.1:$port/tiny:1" '["Id"]')" == "$id"
}

@test "registry: a blob over the chunk size goes up in PATCH chunks and comes back the same" {
    skip_unless_cmd skopeo
    id=$(import_busybox "$REGISTRY/chunked:1")
    layer_size=$(inspect_field "$REGISTRY/chunked:1" '["Manifest"]["layers"][0]["size"]')
    [ "$layer_size" -gt 100000 ]
    CBUILD_PUSH_CHUNK_SIZE=65536 run_cbuild --log-level debug push "$REGISTRY/chunked:1"
    digest=$output
    assert "$stderr" =~ "uploading in chunks of 65536 bytes"
    assert "$(skopeo_digest "$REGISTRY/chunked:1")" == "$digest"
    export CBUILD_ROOT=$TESTDIR/store2
    run_cbuild pull "$REGISTRY/chunked:1"
    assert "$output" == "$digest"
    assert "$(inspect_field "$REGISTRY/chunked:1" '["Id"]')" == "$id"
}

@test "registry: a blob the store knows from another repository is mounted, not uploaded" {
    import_tiny "$REGISTRY/base:1" mount >/dev/null
    run_cbuild push "$REGISTRY/base:1"
    run_cbuild tag "$REGISTRY/base:1" "$REGISTRY/other:1"
    run_cbuild --log-level info push "$REGISTRY/other:1"
    digest=$output
    assert "$stderr" =~ "blob sha256:[0-9a-f]{12}: mounted from 'base'"
    assert "$(grep -c "mounted from 'base'" <<<"$stderr")" == 2
    layer=$(inspect_field "$REGISTRY/other:1" '["Manifest"]["layers"][0]["digest"]')
    [ -f "$TESTDIR/registry/storage/docker/registry/v2/repositories/other/_layers/sha256/${layer#sha256:}/link" ]
    export CBUILD_ROOT=$TESTDIR/store2
    run_cbuild pull "$REGISTRY/other:1"
    assert "$output" == "$digest"
    # A name the registry does not have: the mount is refused, the blob
    # uploaded.
    export CBUILD_ROOT=$TESTDIR/store
    run_cbuild tag "$REGISTRY/base:1" "$REGISTRY/never-pushed:1"
    run_cbuild rmi "$REGISTRY/base:1"
    run_cbuild rmi "$REGISTRY/other:1"
    run_cbuild --log-level info push "$REGISTRY/never-pushed:1" "$REGISTRY/third:1"
    [[ $stderr != *mounted* ]]
    assert "$output" == "$digest"
}

@test "registry: push of an image that is not in the store is a usage error" {
    run_cbuild 2 push "$REGISTRY/absent:1"
    assert "$stderr" =~ "image '$REGISTRY/absent:1' not found"
}

# start_fake_registry: tests/integration/fake_registry.py on a free port;
# sets FAKE (127.0.0.1:PORT).  Stopped by teardown.
start_fake_registry() {
    local i
    python3 "$CB_SRCDIR/tests/integration/fake_registry.py" "$TESTDIR/fake.port" \
        >"$TESTDIR/fake.log" 2>&1 3>&- &
    FAKE_PID=$!
    for ((i = 0; i < 100; i++)); do
        [ -s "$TESTDIR/fake.port" ] && break
        sleep 0.1
    done
    FAKE=127.0.0.1:$(cat "$TESTDIR/fake.port")
}

stop_fake_registry() {
    if [ -n "${FAKE_PID:-}" ]; then
        kill "$FAKE_PID" 2>/dev/null || true
        wait "$FAKE_PID" 2>/dev/null || true
        FAKE_PID=
    fi
}

# assert_store_empty: no tag, no blob, no tmp litter.
assert_store_empty() {
    run_cbuild images -q
    assert "$output" == ""
    assert "$(ls -A "$CBUILD_ROOT/tmp")" == ""
}

@test "registry: blob downloads follow redirects" {
    start_fake_registry
    run_cbuild pull "$FAKE/redirect/img:1"
    digest=$output
    run_cbuild pull "$FAKE/good/img:1"
    assert "$output" == "$digest"
    assert "$(inspect_field "$FAKE/redirect/img:1" '["Id"]')" == \
        "$(inspect_field "$FAKE/good/img:1" '["Id"]')"
}

@test "registry: a manifest over 4 MiB is refused" {
    start_fake_registry
    run_cbuild 1 pull "$FAKE/bigmanifest/img:1"
    assert "$stderr" == "cbuild: error: pulling '$FAKE/bigmanifest/img:1': manifest '1': more than 4194304 bytes"
    assert_store_empty
    assert "$(ls -A "$CBUILD_ROOT/blobs/sha256")" == ""
}

@test "registry: a blob longer than its descriptor says is cut off and not kept" {
    start_fake_registry
    run_cbuild 1 pull "$FAKE/longblob/img:1"
    assert "$stderr" =~ "pulling '$FAKE/longblob/img:1': layer 1: blob sha256:[0-9a-f]{12}: more than [0-9]+ bytes$"
    assert_store_empty
    # Only the config (verified) made it into blobs/.
    assert "$(ls "$CBUILD_ROOT/blobs/sha256" | wc -l)" == 1
}

@test "registry: a manifest that is not what Docker-Content-Digest says is refused" {
    start_fake_registry
    run_cbuild 1 pull "$FAKE/liar/img:1"
    assert "$stderr" =~ "manifest '1': the registry says sha256:[0-9a-f]{64} but sent content of digest sha256:"
    assert_store_empty
}

@test "registry: a server error quotes the registry's message" {
    start_fake_registry
    run_cbuild 1 pull "$FAKE/broken/img:1"
    assert "$stderr" == "cbuild: error: pulling '$FAKE/broken/img:1': manifest '1': HTTP 500 Internal Server Error (UNKNOWN: the disk is on fire)"
    assert_store_empty
}

@test "registry: requests that fail in a way that may pass are tried again" {
    start_fake_registry
    run_cbuild --log-level info pull "$FAKE/flaky/img:1"
    digest=$output
    assert "$stderr" =~ "cbuild: info: manifest '1': HTTP 503 Service Unavailable \(UNAVAILABLE: try again\); retrying in 250 ms"
    assert "$stderr" =~ "blob sha256:[0-9a-f]{12}: HTTP 503 Service Unavailable \(UNAVAILABLE: try again\); retrying in 250 ms"
    run_cbuild pull "$FAKE/good/img:1"
    assert "$output" == "$digest"
    # A registry that keeps failing is given up after three tries.
    run_cbuild 1 --log-level info pull "$FAKE/broken/img:1"
    assert "$(grep -c 'retrying' <<<"$stderr")" == 2
    assert "$(grep -c 'GET /v2/broken/img/manifests/1' "$TESTDIR/fake.log")" == 3
}

@test "registry: an anonymous Bearer token is fetched when the registry asks" {
    start_fake_registry
    run_cbuild --log-level debug pull "$FAKE/token/img:1"
    digest=$output
    assert "$stderr" =~ "manifest '1': HTTP 401 Unauthorized \(UNAUTHORIZED: authentication required\); trying again with a token"
    # The token is never printed.
    [[ $stderr != *s3cr3t* ]]
    run_cbuild pull "$FAKE/good/img:1"
    assert "$output" == "$digest"
    # One token for the whole pull: the blobs did not ask again.
    assert "$(grep -c 'GET /token?' "$TESTDIR/fake.log")" == 1
}

@test "registry: a token server that refuses is reported with both statuses" {
    start_fake_registry
    run_cbuild 1 pull "$FAKE/denied/img:1"
    assert "$stderr" == "cbuild: error: pulling '$FAKE/denied/img:1': manifest '1': HTTP 401 Unauthorized: token: HTTP 401 Unauthorized"
    assert_store_empty
}

@test "registry: push to a digest reference needs the image's own digest" {
    import_tiny "$REGISTRY/bydigest:1" bydigest >/dev/null
    digest=$(inspect_field "$REGISTRY/bydigest:1" '["Digest"]')
    run_cbuild push "$REGISTRY/bydigest:1" "$REGISTRY/bydigest@$digest"
    assert "$output" == "$digest"
    export CBUILD_ROOT=$TESTDIR/store2
    run_cbuild pull "$REGISTRY/bydigest@$digest"
    assert "$output" == "$digest"
    export CBUILD_ROOT=$TESTDIR/store
    other=sha256:$(printf '%064d' 0)
    run_cbuild 2 push "$REGISTRY/bydigest:1" "$REGISTRY/bydigest@$other"
    assert "$stderr" =~ "the image's manifest digest is $digest, not $other"
}

# start_fault_proxy MODE: tests/integration/fault_proxy.py in front of
# $REGISTRY; sets PROXY (127.0.0.1:PORT) and PROXY_LOG.  Stopped by
# teardown.
start_fault_proxy() {
    local i
    stop_fault_proxy
    rm -f "$TESTDIR/proxy.port"
    PROXY_LOG=$TESTDIR/proxy-$1.log
    python3 "$CB_SRCDIR/tests/integration/fault_proxy.py" "$TESTDIR/proxy.port" \
        "$REGISTRY" "$1" "$PROXY_LOG" >"$TESTDIR/proxy.stderr" 2>&1 3>&- &
    PROXY_PID=$!
    for ((i = 0; i < 100; i++)); do
        [ -s "$TESTDIR/proxy.port" ] && break
        sleep 0.1
    done
    PROXY=127.0.0.1:$(cat "$TESTDIR/proxy.port")
}

stop_fault_proxy() {
    if [ -n "${PROXY_PID:-}" ]; then
        kill "$PROXY_PID" 2>/dev/null || true
        wait "$PROXY_PID" 2>/dev/null || true
        PROXY_PID=
    fi
}

# no_partial_blob: nothing in tmp/, and blobs/ holds only files that
# match their names.
no_partial_blob() {
    assert "$(ls -A "$CBUILD_ROOT/tmp")" == ""
    (cd "$CBUILD_ROOT/blobs/sha256" && for f in *; do
        [ -e "$f" ] || continue
        [ "$(sha256sum "$f" | cut -d' ' -f1)" = "$f" ] || { echo "bad blob $f" >&2; exit 1; }
    done)
}

@test "registry: a blob cut mid-transfer is resumed with a Range request" {
    id=$(import_busybox "$REGISTRY/busybox:1")
    run_cbuild push "$REGISTRY/busybox:1"
    pushed=$output
    start_fault_proxy cut-once
    export CBUILD_ROOT=$TESTDIR/store2
    run_cbuild --log-level info pull "$PROXY/busybox:1"
    assert "$output" == "$pushed"
    assert "$stderr" =~ "layer 1|blob sha256:[0-9a-f]{12}: resuming at byte [0-9]+-"
    grep -E "GET /v2/busybox/blobs/sha256:[0-9a-f]+ range=- -> 200 cut at" "$PROXY_LOG"
    grep -E "GET /v2/busybox/blobs/sha256:[0-9a-f]+ range=bytes=[0-9]+- -> 206" "$PROXY_LOG"
    assert "$(inspect_field "$PROXY/busybox:1" '["Id"]')" == "$id"
    no_partial_blob
}

@test "registry: a blob cut every time fails within the retry bound and keeps nothing" {
    import_busybox "$REGISTRY/busybox:1" >/dev/null
    layer=$(inspect_field "$REGISTRY/busybox:1" '["Manifest"]["layers"][0]["digest"]')
    run_cbuild push "$REGISTRY/busybox:1"
    pushed=$output
    start_fault_proxy cut-always
    export CBUILD_ROOT=$TESTDIR/store2
    start=$SECONDS
    run_cbuild 1 pull "$PROXY/busybox:1"
    [ $((SECONDS - start)) -lt 20 ]
    assert "$(line_count "$stderr")" == 1
    assert "$stderr" =~ "pulling '$PROXY/busybox:1': (config|layer 1): blob sha256:[0-9a-f]{12}: "
    # At most three tries of the layer (the first whole, two resumed).
    [ "$(grep -c "GET /v2/busybox/blobs/$layer " "$PROXY_LOG")" -le 3 ]
    [ ! -e "$CBUILD_ROOT/blobs/sha256/${layer#sha256:}" ]
    no_partial_blob
    [ "$(ls "$CBUILD_ROOT/blobs/sha256" | wc -l)" -le 1 ]
    run_cbuild images -q
    assert "$output" == ""
    # The next attempt, without the faults, succeeds.
    run_cbuild pull "$REGISTRY/busybox:1"
    assert "$output" == "$pushed"
    no_partial_blob
}

@test "registry: 500 twice then 200 succeeds; a registry that always fails is given up" {
    import_tiny "$REGISTRY/tiny:1" faults >/dev/null
    run_cbuild push "$REGISTRY/tiny:1"
    pushed=$output
    start_fault_proxy 500-twice
    export CBUILD_ROOT=$TESTDIR/store2
    run_cbuild --log-level info pull "$PROXY/tiny:1"
    assert "$output" == "$pushed"
    assert "$(grep -c "manifest '1': HTTP 500 Internal Server Error (UNKNOWN: injected fault); retrying" <<<"$stderr")" == 2
    start_fault_proxy fail-always
    export CBUILD_ROOT=$TESTDIR/store3
    start=$SECONDS
    run_cbuild 1 pull "$PROXY/tiny:1"
    [ $((SECONDS - start)) -lt 10 ]
    assert "$stderr" == "cbuild: error: pulling '$PROXY/tiny:1': manifest '1': HTTP 503 Service Unavailable (UNAVAILABLE: injected fault)"
    assert "$(grep -c "GET /v2/tiny/manifests/1 " "$PROXY_LOG")" == 3
    assert_store_empty
}

@test "registry: layers are fetched three at a time" {
    skip_unless_cmd skopeo
    python3 "$CB_SRCDIR/tests/integration/make_oci_layout.py" "$TESTDIR/layout" 1 7
    skopeo --insecure-policy copy --dest-tls-verify=false \
        "oci:$TESTDIR/layout:1" "docker://$REGISTRY/layers:1" >&2
    pushed=$(skopeo_digest "$REGISTRY/layers:1")
    start_fault_proxy slow
    export CBUILD_ROOT=$TESTDIR/store2
    start=$SECONDS
    run_cbuild pull "$PROXY/layers:1"
    assert "$output" == "$pushed"
    # 8 blobs of 0.5 s each: 4 s one by one.
    [ $((SECONDS - start)) -lt 4 ]
    assert "$(grep -c 'GET /v2/layers/blobs/' "$PROXY_LOG")" == 8
    assert "$(grep '^inflight' "$PROXY_LOG" | sort -k2 -n | tail -1)" == "inflight 3"
    run_cbuild export -o "$TESTDIR/out.tar" "$PROXY/layers:1"
    assert "$(tar -xOf "$TESTDIR/out.tar" f7)" == "file 7"
}

@test "registry: an image umoci made and skopeo pushed pulls into cbuild as it was" {
    skip_unless_cmd skopeo umoci
    layout=$TESTDIR/umoci
    umoci init --layout "$layout"
    umoci new --image "$layout:u1"
    umoci unpack --rootless --image "$layout:u1" "$TESTDIR/bundle" >&2
    mkdir -p "$TESTDIR/bundle/rootfs/etc"
    printf 'made by umoci\n' >"$TESTDIR/bundle/rootfs/etc/umoci.txt"
    umoci repack --image "$layout:u1" "$TESTDIR/bundle" >&2
    umoci config --image "$layout:u1" --config.cmd /bin/true \
        --config.env UMOCI=1 --os linux --architecture "$(host_arch)"
    skopeo --insecure-policy copy --dest-tls-verify=false \
        "oci:$layout:u1" "docker://$REGISTRY/umoci:1" >&2
    remote=$(skopeo_digest "$REGISTRY/umoci:1")
    skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/umoci:1" >"$TESTDIR/man.json"
    config=$(json_get "$TESTDIR/man.json" 'd["config"]["digest"]')
    run_cbuild pull "$REGISTRY/umoci:1"
    assert "$output" == "$remote"
    assert "$(inspect_field "$REGISTRY/umoci:1" '["Id"]')" == "${config#sha256:}"
    assert "$(inspect_field "$REGISTRY/umoci:1" '["Config"]["config"]["Cmd"]')" == "['/bin/true']"
    run_cbuild export -o "$TESTDIR/rootfs.tar" "$REGISTRY/umoci:1"
    assert "$(tar -xOf "$TESTDIR/rootfs.tar" etc/umoci.txt)" == "made by umoci"
    # and a build FROM it takes its layer and config
    mkdir -p "$TESTDIR/ctx"
    printf 'added by cbuild\n' >"$TESTDIR/ctx/added.txt"
    printf 'FROM %s/umoci:1\nCOPY added.txt /etc/\nENV BUILT=1\n' "$REGISTRY" \
        >"$TESTDIR/ctx/Dockerfile"
    run_cbuild build -q -t built:1 "$TESTDIR/ctx"
    env=$(inspect_field built:1 '["Config"]["config"]["Env"]')
    assert "$env" =~ "'UMOCI=1'"
    assert "$env" =~ "'BUILT=1'"
    assert "$(inspect_field built:1 '["Config"]["config"]["Cmd"]')" == "['/bin/true']"
    run_cbuild export -o "$TESTDIR/built.tar" built:1
    assert "$(tar -xOf "$TESTDIR/built.tar" etc/umoci.txt)" == "made by umoci"
    assert "$(tar -xOf "$TESTDIR/built.tar" etc/added.txt)" == "added by cbuild"
}
