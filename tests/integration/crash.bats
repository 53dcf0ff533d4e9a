#!/usr/bin/env bats
# kill -9 at random points: the store stays readable (by cbuild and by
# skopeo), no image that was there is lost, and the litter of the killed
# command goes at the next writer's lock or prune.

load helpers

setup_file() {
    # 80 MB of random data in five files: an import that takes a moment.
    local dir=$BATS_FILE_TMPDIR/random
    mkdir -p "$dir"
    for i in 1 2 3 4 5; do
        head -c 16M /dev/urandom >"$dir/f$i"
    done
    tar -cf "$BATS_FILE_TMPDIR/random.tar" -C "$BATS_FILE_TMPDIR" random
    rm -rf "$dir"
    export BIG_TAR=$BATS_FILE_TMPDIR/random.tar
}

setup() {
    helpers_setup
    cbuild_root_setup
    import_base base:1
    base_id=$output
    run_cbuild inspect base:1
    base_digest=$(json_out 'd[0]["Digest"]')
}

# kill_randomly MAX_MS ARGS...: start cbuild ARGS in the background,
# kill -9 it after 0 to MAX_MS ms (it may have finished by then), and reap
# it; $killed counts the kills that landed.
kill_randomly() {
    local pid ms=$((RANDOM % $1))
    shift
    "$CBUILD" "$@" >/dev/null 2>&1 &
    pid=$!
    sleep "$(printf '0.%03d' "$ms")"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" || killed=$((killed + 1))
}

# The store after a kill: readable, base:1 whole, any other image whole.
check_store() {
    output=$(skopeo inspect "oci:$CBUILD_ROOT:base:1")
    assert "$(json_out 'd["Digest"]')" == "$base_digest"
    python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$CBUILD_ROOT/index.json"
    run_cbuild images --format json
    assert "$(json_out '[i["Digest"] for i in d if "base:1" in i["Names"]]')" == "[\"$base_digest\"]"
    # A killed command leaves no partial blob: blobs enter by rename.
    # (Sizes only here; the digests of all of them are checked at the end.)
    run_cbuild inspect $(json_out '" ".join(sum([i["Names"] for i in d], []))')
    json_out '[(l["digest"][7:], l["size"]) for i in d for l in i["Manifest"]["layers"]]' |
        python3 -c 'import json, os, sys
for h, size in json.load(sys.stdin):
    got = os.stat(os.path.join(sys.argv[1], h)).st_size
    assert got == size, (h, got, size)' "$CBUILD_ROOT/blobs/sha256"
}

# Every blob is what its name says.
check_blobs() {
    local b
    for b in "$CBUILD_ROOT"/blobs/sha256/*; do
        assert "$(sha256_of "$b")" == "sha256:$(basename "$b")"
    done
}

@test "crash: kill -9 of import at random points loses nothing and leaves litter prune removes" {
    skip_unless_cmd skopeo
    local comp
    killed=0
    for i in $(seq 1 20); do
        case $((i % 3)) in 0) comp=zstd ;; *) comp=gzip ;; esac
        kill_randomly 400 import --compression $comp "$BIG_TAR" big:$i
        check_store
    done
    echo "# $killed of 20 imports killed before they finished" >&3
    [ "$killed" -gt 0 ]

    # A whole import after all that, then prune: nothing temporary left.
    run_cbuild import "$BIG_TAR" big:final
    run_cbuild images --format json
    assert "$(json_out '"big:final" in sum([i["Names"] for i in d], [])')" == true
    run_cbuild prune
    assert "$output" =~ "^removed [0-9]+ blobs .*, 0 unpacked layers, [0-9]+ temporary entries$"
    assert "$(ls -A "$CBUILD_ROOT/tmp")" == ""
    check_blobs
    # What is left is exactly what the tags need.
    run_cbuild images --format json
    names=$(json_out '" ".join(sum([i["Names"] for i in d], []))')
    run_cbuild inspect $names
    assert "$(json_out 'len({x for i in d for x in [i["Digest"], "sha256:" + i["Id"]] + [l["digest"] for l in i["Manifest"]["layers"]]})')" == "$(blob_count)"
    run_cbuild export -o "$TESTDIR/root" base:1
    cmp "$TESTDIR/root/bin/busybox" "${BUSYBOX:-/bin/busybox}"
    run_cbuild export -o "$TESTDIR/big" big:final
    cmp "$TESTDIR/big/random/f3" <(tar -xOf "$BIG_TAR" random/f3)
}

@test "crash: kill -9 of load at random points loses nothing" {
    skip_unless_cmd skopeo
    run_cbuild --root "$TESTDIR/src" import --timestamp 0 "$BIG_TAR" big:1
    run_cbuild --root "$TESTDIR/src" save -o "$TESTDIR/big.tar" big:1
    killed=0
    for i in $(seq 1 8); do
        kill_randomly 200 load -i "$TESTDIR/big.tar"
        check_store
    done
    echo "# $killed of 8 loads killed before they finished" >&3
    [ "$killed" -gt 0 ]
    run_cbuild load -i "$TESTDIR/big.tar"
    assert "$output" == "Loaded image: big:1"
    run_cbuild prune
    assert "$(ls -A "$CBUILD_ROOT/tmp")" == ""
    assert "$(blob_count)" == 6
    check_blobs
}

@test "crash: a writer killed while holding the lock does not block the next one" {
    skip_unless_cmd flock
    "$CBUILD" import "$BIG_TAR" big:1 >/dev/null 2>&1 &
    pid=$!
    # Until it holds the lock (flock -n fails) or is gone.
    while kill -0 "$pid" 2>/dev/null && flock -n "$CBUILD_ROOT/lock" true; do
        sleep 0.01
    done
    kill -9 "$pid"
    rc=0
    wait "$pid" || rc=$?
    assert "$rc" == 137
    # The lock is an flock: it went with the process.
    run_cbuild tag base:1 after:1
    run_cbuild images --format json
    assert "$(json_out 'sorted(sum([i["Names"] for i in d], []))')" == '["after:1", "base:1"]'
    # Taking the lock cleared the killed import's litter.
    assert "$(ls -A "$CBUILD_ROOT/tmp")" == ""
}

@test "crash: concurrent imports, tags, prunes and readers lose nothing" {
    tar=$(busybox_tar)
    pids=()
    for i in 1 2 3 4 5 6; do
        "$CBUILD" import --timestamp "$i" "$tar" "c:$i" >/dev/null & pids+=($!)
        "$CBUILD" tag base:1 "t:$i" & pids+=($!)
        "$CBUILD" prune >/dev/null & pids+=($!)
        "$CBUILD" images --format json >"$TESTDIR/images-$i.json" & pids+=($!)
    done
    failed=0
    for pid in "${pids[@]}"; do
        wait "$pid" || failed=$((failed + 1))
    done
    assert "$failed" == 0
    # Every reader saw a whole index.json with base:1 in it.
    for i in 1 2 3 4 5 6; do
        output=$(cat "$TESTDIR/images-$i.json")
        assert "$(json_out '[i["Digest"] for i in d if "base:1" in i["Names"]]')" == "[\"$base_digest\"]"
    done
    run_cbuild images --format json
    assert "$(json_out 'sorted(sum([i["Names"] for i in d], []))')" == '["base:1", "c:1", "c:2", "c:3", "c:4", "c:5", "c:6", "t:1", "t:2", "t:3", "t:4", "t:5", "t:6"]'
    # Six configs (their times differ), one layer, and base:1.
    assert "$(json_out 'len({i["Id"] for i in d})')" == 7
    run_cbuild prune
    assert "$(ls -A "$CBUILD_ROOT/tmp")" == ""
    check_blobs
    for i in 1 2 3 4 5 6; do
        run_cbuild export -o "$TESTDIR/c$i.tar" "c:$i"
    done
}
