#!/usr/bin/env bats
# cbuild load on hostile input: truncated archives, blobs that lie about
# their digest, files that are no archive, archives that name what they
# do not hold.  Every failure is a clear error, tags nothing and leaves
# no partial blob behind.

load helpers

setup() {
    helpers_setup
    cbuild_root_setup
    # A store that already holds an image, which no failed load may touch.
    import_base keep:1
    keep_id=$output
    run_cbuild images --format json
    images_before=$output
    blobs_before=$(blob_count)
}

# A good archive of the busybox image, made in a store of its own; sets
# man, cfg and lay (hex digests of its manifest, config and layer).
good_archive() {
    local fmt=${1:-oci-archive}
    [ $# -gt 0 ] && shift
    local root=$TESTDIR/src
    SOURCE_DATE_EPOCH=0 run_cbuild --root "$root" import -c 'CMD ["sh"]' "$@" "$(busybox_tar)" src:1
    cfg=$output
    run_cbuild --root "$root" inspect src:1
    man=$(json_out 'd[0]["Digest"]') man=${man#sha256:}
    lay=$(json_out 'd[0]["Manifest"]["layers"][0]["digest"]') lay=${lay#sha256:}
    run_cbuild --root "$root" save --format "$fmt" -o "$TESTDIR/good-$fmt.tar" src:1
}

# rewrite_tar SRC DST CODE: copy the tar SRC to DST member by member,
# running the python CODE for each with m (its TarInfo) and data (bytes,
# or None) bound; CODE may change them, or set skip = True.  Members are
# written in order, so a member CODE adds goes last.
rewrite_tar() {
    python3 - "$@" <<'EOF'
import io, sys, tarfile
src, dst, code = sys.argv[1:4]
out = tarfile.open(dst, "w", format=tarfile.PAX_FORMAT)
with tarfile.open(src) as t:
    for m in t.getmembers():
        data = t.extractfile(m).read() if m.isfile() else None
        env = {"m": m, "data": data, "skip": False}
        exec(code, env)
        if env["skip"]:
            continue
        m, data = env["m"], env["data"]
        if data is not None:
            m.size = len(data)
            out.addfile(m, io.BytesIO(data))
        else:
            out.addfile(m)
out.close()
EOF
}

# The store is as it was: the same images, no new tag, nothing under
# tmp/, every blob whole, and prune brings the blob count back.
store_unchanged() {
    run_cbuild images --format json
    assert "$output" == "$images_before"
    assert "$(ls -A "$CBUILD_ROOT/tmp")" == ""
    for b in "$CBUILD_ROOT"/blobs/sha256/*; do
        assert "$(sha256_of "$b")" == "sha256:$(basename "$b")"
    done
    run_cbuild prune
    assert "$(blob_count)" == "$blobs_before"
    run_cbuild export -o "$TESTDIR/keep-root" keep:1
    [ -x "$TESTDIR/keep-root/bin/busybox" ]
    rm -rf "$TESTDIR/keep-root"
}

@test "load: a truncated oci-archive fails, tags nothing and leaves no partial blob" {
    good_archive
    size=$(stat -c %s "$TESTDIR/good-oci-archive.tar")
    # In the first headers, in the layer, just before the end.
    for cut in 700 $((size / 2)) $((size - 2048)); do
        head -c "$cut" "$TESTDIR/good-oci-archive.tar" >"$TESTDIR/cut.tar"
        run_cbuild 2 load -i "$TESTDIR/cut.tar"
        assert "$output" == ""
        assert "$stderr" =~ "^cbuild: error: '$TESTDIR/cut.tar': .*(Truncated|truncated|EOF)"
        assert "$(line_count "$stderr")" == 1
        store_unchanged
    done
}

@test "load: a truncated docker-archive fails the same way" {
    good_archive docker-archive
    size=$(stat -c %s "$TESTDIR/good-docker-archive.tar")
    head -c $((size / 2)) "$TESTDIR/good-docker-archive.tar" >"$TESTDIR/cut.tar"
    run_cbuild 2 load -i "$TESTDIR/cut.tar"
    assert "$stderr" =~ "^cbuild: error: '$TESTDIR/cut.tar': .*Truncated tar archive"
    store_unchanged
}

@test "load: a blob whose content does not match its name is a digest error" {
    good_archive
    # One bit of the layer flipped.
    rewrite_tar "$TESTDIR/good-oci-archive.tar" "$TESTDIR/bad.tar" "
if m.name.endswith('$lay'):
    data = bytearray(data); data[len(data) // 2] ^= 1; data = bytes(data)"
    run_cbuild 1 load -i "$TESTDIR/bad.tar"
    assert "$stderr" =~ "^cbuild: error: '$TESTDIR/bad.tar': 'blobs/sha256/$lay': blob content does not match its digest: expected 'sha256:$lay', got 'sha256:[0-9a-f]{64}'$"
    store_unchanged

    # A config one byte longer than its name says.
    rewrite_tar "$TESTDIR/good-oci-archive.tar" "$TESTDIR/bad.tar" "
if m.name.endswith('$cfg'):
    data = data + b' '"
    run_cbuild 1 load -i "$TESTDIR/bad.tar"
    assert "$stderr" =~ "blob content does not match its digest: expected 'sha256:$cfg'"
    store_unchanged

    # A blob name that is no digest.
    rewrite_tar "$TESTDIR/good-oci-archive.tar" "$TESTDIR/bad.tar" "
if m.name.endswith('$cfg'):
    m.name = 'blobs/sha256/../../../etc/x'"
    run_cbuild 2 load -i "$TESTDIR/bad.tar"
    assert "$stderr" =~ "^cbuild: error: '$TESTDIR/bad.tar': "
    store_unchanged
}

@test "load: a docker-archive layer that does not match the config's diff_id is refused" {
    good_archive docker-archive --compression none
    rewrite_tar "$TESTDIR/good-docker-archive.tar" "$TESTDIR/bad.tar" "
if m.name == '$lay.tar':
    data = data[:-1024] + b'x' + data[-1023:]"
    run_cbuild 1 load -i "$TESTDIR/bad.tar"
    assert "$stderr" == "cbuild: error: '$TESTDIR/bad.tar': layer 1 does not match the config's diff_id"
    store_unchanged
}

@test "load: a compressed layer that does not match its diff_id cannot be exported" {
    # A gzip layer's diff_id is only known once it is decompressed: the
    # load takes it, and the first use of the layer refuses it.
    good_archive docker-archive
    rewrite_tar "$TESTDIR/good-docker-archive.tar" "$TESTDIR/bad.tar" "
import gzip
if m.name == '$lay.tar':
    raw = gzip.decompress(data)
    i = raw.index(b'cbuild-busybox')
    data = gzip.compress(raw[:i] + b'CBUILD' + raw[i + 6:], mtime=0)"
    run_cbuild load -i "$TESTDIR/bad.tar"
    assert "$output" == "Loaded image: src:1"
    run_cbuild 1 export -o "$TESTDIR/root" src:1
    assert "$stderr" =~ "diff_id"
    [ ! -e "$TESTDIR/root" ]
    run_cbuild 1 export -o "$TESTDIR/root.tar" src:1
    [ ! -e "$TESTDIR/root.tar" ]
    run_cbuild images
    assert "$(ls -A "$CBUILD_ROOT/tmp")" == ""
    assert "$(ls -A "$CBUILD_ROOT/unpacked")" == ""
}

@test "load: a file that is not an archive is a clear error" {
    echo 'hello' >"$TESTDIR/text"
    head -c 65536 /dev/urandom >"$TESTDIR/random"
    : >"$TESTDIR/empty"
    for f in text random empty; do
        run_cbuild 2 load -i "$TESTDIR/$f"
        assert "$stderr" == "cbuild: error: '$TESTDIR/$f': Unrecognized archive format"
    done

    # A tar, but of something else.
    tar -cf "$TESTDIR/other.tar" -C "$TESTDIR" text
    run_cbuild 2 load -i "$TESTDIR/other.tar"
    assert "$stderr" == "cbuild: error: '$TESTDIR/other.tar' is neither an oci-archive nor a docker-archive"

    run_cbuild 1 load -i "$TESTDIR/missing.tar"
    assert "$stderr" == "cbuild: error: cannot open '$TESTDIR/missing.tar': No such file or directory"
    run_cbuild 2 load -i "$TESTDIR"
    assert "$stderr" == "cbuild: error: '$TESTDIR' is a directory, not an archive"
    store_unchanged
}

@test "load: a docker-archive whose manifest.json names a missing file names it" {
    good_archive docker-archive
    rewrite_tar "$TESTDIR/good-docker-archive.tar" "$TESTDIR/bad.tar" "skip = m.name == '$lay.tar'"
    run_cbuild 2 load -i "$TESTDIR/bad.tar"
    assert "$stderr" == "cbuild: error: '$TESTDIR/bad.tar': manifest.json names '$lay.tar', which is not in the archive"
    store_unchanged

    rewrite_tar "$TESTDIR/good-docker-archive.tar" "$TESTDIR/bad.tar" "skip = m.name == '$cfg.json'"
    run_cbuild 2 load -i "$TESTDIR/bad.tar"
    assert "$stderr" == "cbuild: error: '$TESTDIR/bad.tar': manifest.json names '$cfg.json', which is not in the archive"
    store_unchanged

    # A name that tries to leave the archive is only a name not found.
    rewrite_tar "$TESTDIR/good-docker-archive.tar" "$TESTDIR/bad.tar" "
if m.name == 'manifest.json':
    data = data.replace(b'$lay.tar', b'../../../../etc/passwd')"
    run_cbuild 2 load -i "$TESTDIR/bad.tar"
    assert "$stderr" == "cbuild: error: '$TESTDIR/bad.tar': manifest.json names '../../../../etc/passwd', which is not in the archive"
    store_unchanged

    rewrite_tar "$TESTDIR/good-docker-archive.tar" "$TESTDIR/bad.tar" "
if m.name == 'manifest.json':
    data = b'{\"not\": \"an array\"}'"
    run_cbuild 2 load -i "$TESTDIR/bad.tar"
    assert "$stderr" =~ "^cbuild: error: '$TESTDIR/bad.tar': manifest.json is not a JSON array"
    store_unchanged
}

@test "load: an index.json naming a missing manifest, config or layer is an error" {
    # zstd: a layer keep:1 does not have already.
    good_archive oci-archive --compression zstd
    rewrite_tar "$TESTDIR/good-oci-archive.tar" "$TESTDIR/bad.tar" "skip = m.name.endswith('$man')"
    run_cbuild 2 load -i "$TESTDIR/bad.tar"
    assert "$stderr" == "cbuild: error: '$TESTDIR/bad.tar': index.json names manifest sha256:$man, which is not in the archive"
    store_unchanged

    rewrite_tar "$TESTDIR/good-oci-archive.tar" "$TESTDIR/bad.tar" "skip = m.name.endswith('$cfg')"
    run_cbuild 2 load -i "$TESTDIR/bad.tar"
    assert "$stderr" == "cbuild: error: '$TESTDIR/bad.tar': manifest ${man:0:12} names config sha256:$cfg, which is not in the archive"
    store_unchanged

    rewrite_tar "$TESTDIR/good-oci-archive.tar" "$TESTDIR/bad.tar" "skip = m.name.endswith('$lay')"
    run_cbuild 2 load -i "$TESTDIR/bad.tar"
    assert "$stderr" == "cbuild: error: '$TESTDIR/bad.tar': manifest ${man:0:12} names layer sha256:$lay, which is not in the archive"
    store_unchanged

    # A layer the store holds already need not come with the archive.
    good_archive
    rewrite_tar "$TESTDIR/good-oci-archive.tar" "$TESTDIR/thin.tar" "skip = m.name.endswith('$lay')"
    run_cbuild load -i "$TESTDIR/thin.tar"
    assert "$output" == "Loaded image: src:1"
    run_cbuild inspect keep:1
    assert "$(json_out 'd[0]["Manifest"]["layers"][0]["digest"]')" == "sha256:$lay"
    run_cbuild rmi src:1

    rewrite_tar "$TESTDIR/good-oci-archive.tar" "$TESTDIR/bad.tar" "skip = m.name == 'index.json'"
    run_cbuild 2 load -i "$TESTDIR/bad.tar"
    assert "$stderr" == "cbuild: error: '$TESTDIR/bad.tar': oci-archive without index.json"
    store_unchanged

    rewrite_tar "$TESTDIR/good-oci-archive.tar" "$TESTDIR/bad.tar" "
if m.name == 'index.json':
    data = b'{\"schemaVersion\": 2, \"manifests\": ['"
    run_cbuild 2 load -i "$TESTDIR/bad.tar"
    assert "$stderr" =~ "^cbuild: error: '$TESTDIR/bad.tar': index.json: "
    store_unchanged
}

@test "load: an archive with two images tags both, or neither when one is broken" {
    good_archive
    # A second image with another config (CMD changed), same layer.
    SOURCE_DATE_EPOCH=0 run_cbuild --root "$TESTDIR/src" import -c 'CMD ["ls"]' "$(busybox_tar)" src:2
    run_cbuild --root "$TESTDIR/src" inspect src:2
    man2=$(json_out 'd[0]["Digest"]') man2=${man2#sha256:}
    # Only the loader's view matters: an index.json with both.
    cp -r "$TESTDIR/src" "$TESTDIR/layout"
    rm -rf "$TESTDIR/layout/tmp" "$TESTDIR/layout/unpacked" "$TESTDIR/layout/lock"
    tar -cf "$TESTDIR/two.tar" -C "$TESTDIR/layout" .
    run_cbuild load -i "$TESTDIR/two.tar"
    assert "$output" == $'Loaded image: src:1\nLoaded image: src:2'
    run_cbuild images --format json
    assert "$(json_out '[i["Names"] for i in d]')" == '[["keep:1"], ["src:1"], ["src:2"]]'
    run_cbuild rmi src:1 src:2
    run_cbuild prune

    # The second one named what no tag can be: neither is tagged.
    python3 - "$TESTDIR/layout/index.json" 'Bad Name:1' 0 <<'EOF2'
import json, sys
p, name, extra = sys.argv[1], sys.argv[2], int(sys.argv[3])
i = json.load(open(p))
i["manifests"][1]["annotations"]["org.opencontainers.image.ref.name"] = name
i["manifests"][1]["size"] += extra
json.dump(i, open(p, "w"))
EOF2
    tar -cf "$TESTDIR/two.tar" -C "$TESTDIR/layout" .
    run_cbuild 2 load -i "$TESTDIR/two.tar"
    assert "$stderr" == "cbuild: error: '$TESTDIR/two.tar': invalid tag name 'Bad Name:1'"
    store_unchanged

    # The second one's size in index.json wrong by a byte: neither.
    python3 - "$TESTDIR/layout/index.json" src:2 1 <<'EOF2'
import json, sys
p, name, extra = sys.argv[1], sys.argv[2], int(sys.argv[3])
i = json.load(open(p))
i["manifests"][1]["annotations"]["org.opencontainers.image.ref.name"] = name
i["manifests"][1]["size"] += extra
json.dump(i, open(p, "w"))
EOF2
    tar -cf "$TESTDIR/two.tar" -C "$TESTDIR/layout" .
    run_cbuild 2 load -i "$TESTDIR/two.tar"
    assert "$stderr" =~ "^cbuild: error: '$TESTDIR/two.tar': index.json gives manifest ${man2:0:12} [0-9]+ bytes, not [0-9]+$"
    store_unchanged

    # The second one's manifest missing: neither.
    rm "$TESTDIR/layout/blobs/sha256/$man2"
    tar -cf "$TESTDIR/two.tar" -C "$TESTDIR/layout" .
    run_cbuild 2 load -i "$TESTDIR/two.tar"
    assert "$stderr" == "cbuild: error: '$TESTDIR/two.tar': index.json names manifest sha256:$man2, which is not in the archive"
    store_unchanged
}
