#!/usr/bin/env bats
# The image store through the command line: import, images, inspect, tag,
# rmi, prune, export and save, each test with a store of its own.

load helpers

setup() {
    helpers_setup
    cbuild_root_setup
}

# ------------------------------------------------------------ import

@test "store: an imported rootfs tar is listed by images, as a table and as JSON" {
    import_base base:1
    assert "$output" =~ ^[0-9a-f]{64}$
    id=$output

    run_cbuild images
    assert "$(line_count "$output")" == 2
    assert "${output%%$'\n'*}" =~ ^REPOSITORY\ +TAG\ +IMAGE\ ID\ +CREATED\ +SIZE$
    assert "$output" =~ $'\n'"base +1 +${id:0:12} "

    run_cbuild images --format json
    assert "$(json_out 'len(d)')" == 1
    assert "$(json_out 'd[0]["Id"]')" == "$id"
    assert "$(json_out 'd[0]["Names"]')" == '["base:1"]'
    assert "$(json_out 'd[0]["Digest"]')" =~ ^sha256:[0-9a-f]{64}$
    assert "$(json_out 'd[0]["Created"]')" == 1970-01-01T00:00:00Z

    run_cbuild images -q
    assert "$output" == "${id:0:12}"

    # With full IDs the columns stay apart and aligned.
    run_cbuild images --no-trunc
    header=${output%%$'\n'*} row=${output#*$'\n'}
    assert "$row" =~ "^base +1 +$id +[0-9A-Z]"
    col=${header%%CREATED*}
    assert "${row:$((${#col} - 1)):2}" =~ "^ [0-9A-Z]$"
}

@test "store: inspect shows the config that --change set" {
    import_base app:1 \
        -c 'CMD ["/bin/sh", "-c", "echo hi"]' \
        -c 'ENV PATH=/bin:/usr/bin GREETING="hello world"' \
        -c 'LABEL org.example.a=1 b="two words"' \
        -c 'EXPOSE 80/tcp 53/udp' \
        -c 'USER user' \
        -c 'WORKDIR /home/user' \
        -m 'the base'
    id=$output

    run_cbuild inspect app:1
    assert "$(json_out 'len(d)')" == 1
    assert "$(json_out 'd[0]["Id"]')" == "$id"
    assert "$(json_out 'd[0]["RepoTags"]')" == '["app:1"]'
    assert "$(json_out 'd[0]["Manifest"]["config"]["digest"]')" == "sha256:$id"
    c=$(json_out 'd[0]["Config"]["config"]')
    assert "$(json_out 'd[0]["Config"]["config"]["Cmd"]')" == '["/bin/sh", "-c", "echo hi"]'
    assert "$(json_out 'd[0]["Config"]["config"]["Env"]')" == '["PATH=/bin:/usr/bin", "GREETING=hello world"]'
    assert "$(json_out 'd[0]["Config"]["config"]["Labels"]')" == '{"b": "two words", "org.example.a": "1"}'
    assert "$(json_out 'sorted(d[0]["Config"]["config"]["ExposedPorts"])')" == '["53/udp", "80/tcp"]'
    assert "$(json_out 'd[0]["Config"]["config"]["User"]')" == user
    assert "$(json_out 'd[0]["Config"]["config"]["WorkingDir"]')" == /home/user
    assert "$(json_out 'd[0]["Config"]["history"][0]["comment"]')" == "the base"
    assert "$(json_out 'd[0]["Config"]["os"]')" == linux
    assert "$(json_out 'len(d[0]["Config"]["rootfs"]["diff_ids"])')" == 1

    # The ID is the config's digest, and the config blob is in the store.
    assert "$(sha256_of "$CBUILD_ROOT/blobs/sha256/$id")" == "sha256:$id"
}

@test "store: a bad --change is a usage error naming it, and nothing is stored" {
    tar=$(busybox_tar)
    run_cbuild 2 import -c 'FROB x' "$tar" bad:1
    assert "$stderr" == "cbuild: error: --change:1: unknown instruction 'FROB'"
    assert "$output" == ""

    run_cbuild 2 import --change 'RUN true' "$tar" bad:1
    assert "$stderr" == "cbuild: error: --change 'RUN true': RUN cannot be applied by import"

    run_cbuild 2 import -c 'EXPOSE 80/bogus' "$tar" bad:1
    assert "$stderr" =~ "80/bogus"

    run_cbuild images -q
    assert "$output" == ""
}

@test "store: the same rootfs imported twice with SOURCE_DATE_EPOCH has one digest" {
    tar=$(busybox_tar)
    SOURCE_DATE_EPOCH=1700000000 run_cbuild import -c 'CMD ["sh"]' "$tar" a:1
    SOURCE_DATE_EPOCH=1700000000 run_cbuild --root "$TESTDIR/other" import -c 'CMD ["sh"]' "$tar" a:1
    run_cbuild inspect a:1
    d1=$(json_out 'd[0]["Digest"]')
    assert "$(json_out 'd[0]["Config"]["created"]')" == 2023-11-14T22:13:20Z
    run_cbuild --root "$TESTDIR/other" inspect a:1
    assert "$(json_out 'd[0]["Digest"]')" == "$d1"

    # A second import into the same store is the same image too.
    SOURCE_DATE_EPOCH=1700000000 run_cbuild import -c 'CMD ["sh"]' "$tar" a:2
    run_cbuild inspect a:2
    assert "$(json_out 'd[0]["Digest"]')" == "$d1"
    run_cbuild images --format json
    assert "$(json_out 'd[0]["Names"]')" == '["a:1", "a:2"]'

    # Wherever the file lies: the history names it without its directory.
    mkdir -p "$TESTDIR/elsewhere/deeper"
    cp "$tar" "$TESTDIR/elsewhere/deeper/"
    (cd "$TESTDIR/elsewhere" && SOURCE_DATE_EPOCH=1700000000 \
        "$CBUILD" import -c 'CMD ["sh"]' deeper/busybox-rootfs.tar a:3 >/dev/null)
    run_cbuild inspect a:3
    assert "$(json_out 'd[0]["Digest"]')" == "$d1"
    assert "$(json_out 'd[0]["Config"]["history"][0]["created_by"]')" == "cbuild import busybox-rootfs.tar"
}

@test "store: zstd and gzip layers have one diff_id and their own media types" {
    import_base gz:1
    import_base zst:1 --compression zstd
    import_base raw:1 --compression none

    run_cbuild inspect gz:1 zst:1 raw:1
    assert "$(json_out 'd[0]["Manifest"]["layers"][0]["mediaType"]')" == application/vnd.oci.image.layer.v1.tar+gzip
    assert "$(json_out 'd[1]["Manifest"]["layers"][0]["mediaType"]')" == application/vnd.oci.image.layer.v1.tar+zstd
    assert "$(json_out 'd[2]["Manifest"]["layers"][0]["mediaType"]')" == application/vnd.oci.image.layer.v1.tar
    diff_id=$(json_out 'd[0]["Config"]["rootfs"]["diff_ids"][0]')
    assert "$(json_out 'd[1]["Config"]["rootfs"]["diff_ids"][0]')" == "$diff_id"
    assert "$(json_out 'd[2]["Config"]["rootfs"]["diff_ids"][0]')" == "$diff_id"
    # Same config, so the same image ID; the manifests differ.
    assert "$(json_out 'd[0]["Id"] == d[1]["Id"] == d[2]["Id"]')" == true
    assert "$(json_out 'd[0]["Digest"] != d[1]["Digest"]')" == true

    # An uncompressed layer is its own diff_id; the zstd blob really is zstd.
    raw=$(json_out 'd[2]["Manifest"]["layers"][0]["digest"]')
    assert "$raw" == "$diff_id"
    zst=$(json_out 'd[1]["Manifest"]["layers"][0]["digest"]')
    assert "$(od -An -tx1 -N4 "$CBUILD_ROOT/blobs/sha256/${zst#sha256:}" | tr -d ' ')" == 28b52ffd
    if command -v zstd >/dev/null; then
        assert "$(zstd -dc "$CBUILD_ROOT/blobs/sha256/${zst#sha256:}" | sha256sum | cut -d' ' -f1)" == "${diff_id#sha256:}"
    fi
}

@test "store: --timestamp works like SOURCE_DATE_EPOCH and clamps mtimes" {
    tar=$(busybox_tar)
    SOURCE_DATE_EPOCH=86400 run_cbuild import "$tar" sde:1
    run_cbuild import --timestamp 86400 "$tar" ts:1
    run_cbuild inspect sde:1 ts:1
    assert "$(json_out 'd[0]["Digest"]')" == "$(json_out 'd[1]["Digest"]')"
    assert "$(json_out 'd[1]["Config"]["created"]')" == 1970-01-02T00:00:00Z
    assert "$(json_out 'd[1]["Config"]["history"][0]["created"]')" == 1970-01-02T00:00:00Z

    # --timestamp wins over SOURCE_DATE_EPOCH.
    SOURCE_DATE_EPOCH=5 run_cbuild import --timestamp 86400 "$tar" both:1
    run_cbuild inspect both:1
    assert "$(json_out 'd[0]["Config"]["created"]')" == 1970-01-02T00:00:00Z

    # Files newer than the timestamp are clamped to it; older ones kept.
    mkdir -p "$TESTDIR/tree/d"
    echo new >"$TESTDIR/tree/d/new"
    echo old >"$TESTDIR/tree/old"
    touch -d @1000 "$TESTDIR/tree/old"
    run_cbuild import --compression none --timestamp 86400 "$TESTDIR/tree" tree:1
    run_cbuild inspect tree:1
    layer=$(json_out 'd[0]["Manifest"]["layers"][0]["digest"]')
    listing=$(TZ=UTC tar --full-time -tvf "$CBUILD_ROOT/blobs/sha256/${layer#sha256:}")
    assert "$listing" =~ "1970-01-02 00:00:00 d/new"
    assert "$listing" =~ "1970-01-01 00:16:40 old"

    run_cbuild 2 import --timestamp yesterday "$tar" x:1
    assert "$stderr" =~ "invalid timestamp 'yesterday'"
}

@test "store: a directory's files are owned by root in the layer, whoever imports it" {
    mkdir -p "$TESTDIR/tree/etc" "$TESTDIR/tree/bin"
    echo 'hello' >"$TESTDIR/tree/etc/motd"
    printf '#!/bin/sh\n' >"$TESTDIR/tree/bin/tool"
    chmod 755 "$TESTDIR/tree/bin/tool"
    ln -s ../etc/motd "$TESTDIR/tree/bin/motd"
    run_cbuild import "$TESTDIR/tree" mine:1

    run_cbuild save -o "$TESTDIR/mine.tar" mine:1
    mkdir "$TESTDIR/x"
    tar -xf "$TESTDIR/mine.tar" -C "$TESTDIR/x"
    manifest=$(json_get "$TESTDIR/x/index.json" 'd["manifests"][0]["digest"]')
    layer=$(json_get "$TESTDIR/x/blobs/sha256/${manifest#sha256:}" 'd["layers"][0]["digest"]')
    listing=$(tar --numeric-owner -tvzf "$TESTDIR/x/blobs/sha256/${layer#sha256:}")
    echo "$listing" >&2
    assert "$listing" =~ "-rw-r--r-- 0/0 +6 [^ ]+ [^ ]+ etc/motd"
    assert "$listing" =~ "-rwxr-xr-x 0/0 +10 [^ ]+ [^ ]+ bin/tool"
    assert "$listing" =~ "lrwxrwxrwx 0/0 +0 [^ ]+ [^ ]+ bin/motd -> ../etc/motd"
    assert "$listing" =~ "drwxr-xr-x 0/0 +0 [^ ]+ [^ ]+ etc/"
    # Every entry, whatever its kind.
    assert "$(awk '$2 != "0/0"' <<<"$listing")" == ""
    # The layer holds the tree's contents.
    assert "$(tar -xzOf "$TESTDIR/x/blobs/sha256/${layer#sha256:}" etc/motd)" == hello
}

@test "store: as root, a directory's other owners are kept in the layer" {
    skip_unless_root "only root can make files owned by others"
    mkdir -p "$TESTDIR/tree"
    echo x >"$TESTDIR/tree/theirs"
    chown 1000:1001 "$TESTDIR/tree/theirs"
    run_cbuild import --compression none "$TESTDIR/tree" t:1
    run_cbuild inspect t:1
    layer=$(json_out 'd[0]["Manifest"]["layers"][0]["digest"]')
    listing=$(tar --numeric-owner -tvf "$CBUILD_ROOT/blobs/sha256/${layer#sha256:}")
    assert "$listing" =~ "1000/1001 +2 [^ ]+ [^ ]+ theirs"
}

@test "store: import reads a compressed tar or stdin into the same layer" {
    tar=$(busybox_tar)
    gzip -c "$tar" >"$TESTDIR/rootfs.tar.gz"
    import_base plain:1
    SOURCE_DATE_EPOCH=0 run_cbuild import "$TESTDIR/rootfs.tar.gz" gz:1
    SOURCE_DATE_EPOCH=0 "$CBUILD" import - stdin:1 <"$tar" >/dev/null
    run_cbuild inspect plain:1 gz:1 stdin:1
    diff_id=$(json_out 'd[0]["Config"]["rootfs"]["diff_ids"][0]')
    layer=$(json_out 'd[0]["Manifest"]["layers"][0]["digest"]')
    for i in 1 2; do
        assert "$(json_out "d[$i][\"Config\"][\"rootfs\"][\"diff_ids\"][0]")" == "$diff_id"
        assert "$(json_out "d[$i][\"Manifest\"][\"layers\"][0][\"digest\"]")" == "$layer"
    done
    assert "$(json_out 'd[2]["Config"]["history"][0]["created_by"]')" == "cbuild import -"
    if command -v zstd >/dev/null; then
        zstd -q -c "$tar" >"$TESTDIR/rootfs.tar.zst"
        SOURCE_DATE_EPOCH=0 run_cbuild import "$TESTDIR/rootfs.tar.zst" zst:1
        run_cbuild inspect zst:1
        assert "$(json_out 'd[0]["Manifest"]["layers"][0]["digest"]')" == "$layer"
    fi
}

@test "store: import refuses a tar with '..' in a name, or a broken one, naming it" {
    python3 - "$TESTDIR" <<'EOF2'
import io, sys, tarfile
d = sys.argv[1]
for name, member in [("up.tar", "../../etc/evil"), ("mid.tar", "a/../../b"), ("abs.tar", "/abs/file")]:
    with tarfile.open(f"{d}/{name}", "w") as t:
        ti = tarfile.TarInfo(member)
        ti.size = 1
        t.addfile(ti, io.BytesIO(b"x"))
with tarfile.open(f"{d}/link.tar", "w") as t:
    ti = tarfile.TarInfo("l")
    ti.type = tarfile.LNKTYPE
    ti.linkname = "../outside"
    t.addfile(ti)
EOF2
    run_cbuild 1 import "$TESTDIR/up.tar" x:1
    assert "$stderr" == "cbuild: error: cannot import '$TESTDIR/up.tar': '../../etc/evil': a name with '..' in it"
    run_cbuild 1 import "$TESTDIR/mid.tar" x:1
    assert "$stderr" == "cbuild: error: cannot import '$TESTDIR/mid.tar': 'a/../../b': a name with '..' in it"
    run_cbuild 1 import "$TESTDIR/link.tar" x:1
    assert "$stderr" == "cbuild: error: cannot import '$TESTDIR/link.tar': 'l': a name with '..' in it"

    head -c 3000 "$(busybox_tar)" >"$TESTDIR/cut.tar"
    run_cbuild 2 import "$TESTDIR/cut.tar" x:1
    assert "$stderr" =~ "^cbuild: error: cannot import '$TESTDIR/cut.tar': .*Truncated tar archive$"
    echo 'not a tar' >"$TESTDIR/text"
    run_cbuild 2 import "$TESTDIR/text" x:1
    assert "$stderr" == "cbuild: error: cannot import '$TESTDIR/text': Unrecognized archive format"

    run_cbuild images -q
    assert "$output" == ""
    assert "$(ls -A "$CBUILD_ROOT/tmp")" == ""
    run_cbuild prune
    assert "$(blob_count)" == 0

    # A leading "/" is only dropped.
    run_cbuild import --compression none "$TESTDIR/abs.tar" abs:1
    run_cbuild inspect abs:1
    layer=$(json_out 'd[0]["Manifest"]["layers"][0]["digest"]')
    assert "$(tar -tf "$CBUILD_ROOT/blobs/sha256/${layer#sha256:}")" == abs/file
}

@test "store: import of a missing source names it" {
    run_cbuild 1 import "$TESTDIR/nope.tar" x:1
    assert "$stderr" == "cbuild: error: cannot open '$TESTDIR/nope.tar': No such file or directory"
    run_cbuild images -q
    assert "$output" == ""
}

# ------------------------------------------------------------ tag, rmi, prune

@test "store: tag adds names and rmi of a name removes only that name" {
    import_base base:1
    id=$output
    run_cbuild tag base:1 app:2 localhost/other
    run_cbuild images --format json
    assert "$(json_out 'd[0]["Names"]')" == '["base:1", "app:2", "localhost/other:latest"]'
    run_cbuild inspect localhost/other
    assert "$(json_out 'd[0]["Id"]')" == "$id"
    run_cbuild inspect "${id:0:12}"
    assert "$(json_out 'd[0]["Id"]')" == "$id"

    before=$(blob_count)
    run_cbuild rmi app:2
    assert "$output" == "Untagged: app:2"
    run_cbuild images --format json
    assert "$(json_out 'd[0]["Names"]')" == '["base:1", "localhost/other:latest"]'
    run_cbuild 2 inspect app:2
    # "localhost/other" stands for its :latest.
    run_cbuild rmi localhost/other
    assert "$output" == "Untagged: localhost/other:latest"
    run_cbuild images --format json
    assert "$(json_out 'd[0]["Names"]')" == '["base:1"]'
    # The image is still whole.
    assert "$(blob_count)" == "$before"
    run_cbuild prune
    assert "$(blob_count)" == "$before"
    run_cbuild export -o "$TESTDIR/root" base:1
    [ -x "$TESTDIR/root/bin/busybox" ]
}

@test "store: rmi of an image ID removes every name" {
    import_base base:1
    id=$output
    run_cbuild tag base:1 a:1 b:1
    run_cbuild rmi "${id:0:12}"
    assert "$output" == $'Untagged: base:1\nUntagged: a:1\nUntagged: b:1\nRemoved: '"$id"
    run_cbuild images -q
    assert "$output" == ""
    run_cbuild 2 inspect "$id"
}

@test "store: prune frees the blobs of removed images and keeps tagged ones" {
    import_base base:1
    base_id=$output
    mkdir -p "$TESTDIR/tree"
    echo other >"$TESTDIR/tree/file"
    run_cbuild import --timestamp 0 "$TESTDIR/tree" other:1
    assert "$(blob_count)" == 6

    run_cbuild prune
    assert "$output" == "removed 0 blobs (0 B), 0 unpacked layers, 0 temporary entries"
    assert "$(blob_count)" == 6

    run_cbuild rmi other:1
    assert "$(blob_count)" == 6
    run_cbuild prune
    assert "$output" =~ "^removed 3 blobs \([0-9.]+ [kM]?B\), 0 unpacked layers, 0 temporary entries$"
    assert "$(blob_count)" == 3

    # What is left is exactly base:1: manifest, config, layer.
    run_cbuild inspect base:1
    want=$(printf '%s\n' "$(json_out 'd[0]["Digest"]')" "sha256:$base_id" \
        "$(json_out 'd[0]["Manifest"]["layers"][0]["digest"]')" | sed 's/^sha256://' | sort)
    assert "$(ls "$CBUILD_ROOT/blobs/sha256" | sort)" == "$want"
    for b in "$CBUILD_ROOT"/blobs/sha256/*; do
        assert "$(sha256_of "$b")" == "sha256:$(basename "$b")"
    done
    run_cbuild export -o "$TESTDIR/root" base:1
    assert "$(cat "$TESTDIR/root/etc/hostname")" == cbuild-busybox

    # An untagged import is not kept.
    run_cbuild import --timestamp 0 "$TESTDIR/tree"
    assert "$(blob_count)" == 6
    run_cbuild prune
    assert "$(blob_count)" == 3
}

@test "store: an unknown image is a one-line error naming it" {
    import_base base:1
    for cmd in inspect rmi; do
        run_cbuild 2 $cmd nope:1
        assert "$stderr" == "cbuild: error: image 'nope:1' not found"
    done
    run_cbuild 2 tag nope:1 x:1
    assert "$stderr" == "cbuild: error: image 'nope:1' not found"
    run_cbuild 2 save -o "$TESTDIR/x.tar" nope:1
    assert "$stderr" == "cbuild: error: image 'nope:1' not found"
    [ ! -e "$TESTDIR/x.tar" ]
    run_cbuild 2 export -o "$TESTDIR/x" nope:1
    assert "$stderr" == "cbuild: error: image 'nope:1' not found"
    [ ! -e "$TESTDIR/x" ]
    # A prefix that is too short or no hex.
    run_cbuild 2 inspect ab
    assert "$stderr" =~ "'ab'"
    # inspect of several images stops at the unknown one and prints nothing.
    run_cbuild 2 inspect base:1 nope:1
    assert "$output" == ""
    run_cbuild images --format json
    assert "$(json_out 'd[0]["Names"]')" == '["base:1"]'
}

# ------------------------------------------------------------ export

@test "store: export writes the root filesystem to a new directory" {
    import_base base:1
    run_cbuild export -o "$TESTDIR/root" base:1
    [ -f "$TESTDIR/root/bin/busybox" ] && [ -x "$TESTDIR/root/bin/busybox" ]
    cmp "$TESTDIR/root/bin/busybox" "${BUSYBOX:-/bin/busybox}"
    assert "$(readlink "$TESTDIR/root/bin/sh")" == /bin/busybox
    assert "$(head -1 "$TESTDIR/root/etc/passwd")" == root:x:0:0:root:/root:/bin/sh
    assert "$(stat -c %a "$TESTDIR/root/tmp")" == 1777
    assert "$(stat -c %a "$TESTDIR/root/root")" == 700
}

@test "store: export writes the root filesystem to a tar" {
    import_base base:1
    run_cbuild export -o "$TESTDIR/root.tar" base:1
    listing=$(tar --numeric-owner -tvf "$TESTDIR/root.tar")
    assert "$listing" =~ "-rwxr-xr-x 0/0 +[0-9]+ [^ ]+ [^ ]+ bin/busybox"$'\n'
    assert "$listing" =~ "bin/sh -> /bin/busybox"
    assert "$listing" =~ "drwxrwxrwt 0/0 +0 [^ ]+ [^ ]+ tmp/"
    assert "$(tar -xOf "$TESTDIR/root.tar" etc/passwd | head -1)" == root:x:0:0:root:/root:/bin/sh
    assert "$(tar -xOf "$TESTDIR/root.tar" bin/busybox | sha256sum)" == "$(sha256sum <"${BUSYBOX:-/bin/busybox}")"
    # The export is deterministic.
    run_cbuild export -o "$TESTDIR/again.tar" base:1
    cmp "$TESTDIR/root.tar" "$TESTDIR/again.tar"
}

@test "store: export to a tar keeps owners, modes, devices and unreadable files" {
    python3 - "$TESTDIR/own.tar" <<'EOF2'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    def add(name, kind=tarfile.REGTYPE, uid=0, mode=0o644, data=b"x\n"):
        ti = tarfile.TarInfo(name)
        ti.type, ti.uid, ti.gid, ti.mode = kind, uid, uid, mode
        if kind == tarfile.REGTYPE:
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        else:
            if kind == tarfile.CHRTYPE:
                ti.devmajor, ti.devminor = 1, 3
            t.addfile(ti)
    add("etc", tarfile.DIRTYPE, mode=0o755)
    add("etc/shadow", mode=0o000)
    add("home", tarfile.DIRTYPE, mode=0o755)
    add("home/user", tarfile.DIRTYPE, uid=1000, mode=0o750)
    add("home/user/f", uid=1000, mode=0o640)
    add("locked", tarfile.DIRTYPE, mode=0o000)
    add("locked/f")
    add("dev", tarfile.DIRTYPE, mode=0o755)
    add("dev/null", tarfile.CHRTYPE, mode=0o666)
EOF2
    run_cbuild import "$TESTDIR/own.tar" own:1
    run_cbuild export -o "$TESTDIR/out.tar" own:1
    listing=$(tar --numeric-owner -tvf "$TESTDIR/out.tar")
    echo "$listing" >&2
    assert "$listing" =~ "---------- 0/0 +2 [^ ]+ [^ ]+ etc/shadow"
    assert "$listing" =~ "drwxr-x--- 1000/1000 +0 [^ ]+ [^ ]+ home/user/"
    assert "$listing" =~ "-rw-r----- 1000/1000 +2 [^ ]+ [^ ]+ home/user/f"
    assert "$listing" =~ "d--------- 0/0 +0 [^ ]+ [^ ]+ locked/"
    assert "$listing" =~ "locked/f"
    assert "$listing" =~ "crw-rw-rw- 0/0 +1,3 [^ ]+ [^ ]+ dev/null"
}

@test "store: import of a directory takes files its owner cannot read" {
    mkdir -p "$TESTDIR/tree/a" "$TESTDIR/tree/closed"
    echo s >"$TESTDIR/tree/a/secret"
    echo t >"$TESTDIR/tree/closed/inside"
    chmod 000 "$TESTDIR/tree/a/secret" "$TESTDIR/tree/closed"
    run_cbuild import --compression none "$TESTDIR/tree" t:1
    chmod 755 "$TESTDIR/tree/closed"
    run_cbuild inspect t:1
    layer=$(json_out 'd[0]["Manifest"]["layers"][0]["digest"]')
    listing=$(tar --numeric-owner -tvf "$CBUILD_ROOT/blobs/sha256/${layer#sha256:}")
    assert "$listing" =~ "---------- 0/0 +2 [^ ]+ [^ ]+ a/secret"
    assert "$listing" =~ "d--------- 0/0 +0 [^ ]+ [^ ]+ closed/"
    assert "$listing" =~ "closed/inside"
}

@test "store: export to an existing directory is an error and leaves it alone" {
    import_base base:1
    mkdir "$TESTDIR/root"
    echo keep >"$TESTDIR/root/mine"
    run_cbuild 2 export -o "$TESTDIR/root" base:1
    assert "$stderr" == "cbuild: error: '$TESTDIR/root' already exists"
    assert "$(ls "$TESTDIR/root")" == mine
    assert "$(ls "$CBUILD_ROOT/tmp")" == ""
}

# ------------------------------------------------------------ save

@test "store: save writes an oci-archive, a docker-archive and an oci-dir" {
    import_base base:1 -c 'CMD ["sh"]'
    id=$output
    run_cbuild inspect base:1
    digest=$(json_out 'd[0]["Digest"]')
    layer=$(json_out 'd[0]["Manifest"]["layers"][0]["digest"]')

    # oci-archive is the default.
    run_cbuild save -o "$TESTDIR/oci.tar" base:1
    assert "$output" == ""
    mkdir "$TESTDIR/oci"
    tar -xf "$TESTDIR/oci.tar" -C "$TESTDIR/oci"
    assert "$(cat "$TESTDIR/oci/oci-layout")" =~ '"imageLayoutVersion": ?"1.0.0"'
    assert "$(json_get "$TESTDIR/oci/index.json" 'd["manifests"][0]["digest"]')" == "$digest"
    assert "$(json_get "$TESTDIR/oci/index.json" 'd["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"]')" == base:1
    assert "$(ls "$TESTDIR/oci/blobs/sha256" | sort)" == "$(printf '%s\n' "${digest#sha256:}" "$id" "${layer#sha256:}" | sort)"
    for b in "$TESTDIR"/oci/blobs/sha256/*; do
        assert "$(sha256_of "$b")" == "sha256:$(basename "$b")"
    done

    run_cbuild save --format oci-dir -o "$TESTDIR/dir" base:1
    diff -r "$TESTDIR/oci" "$TESTDIR/dir"

    run_cbuild save --format docker-archive -o "$TESTDIR/docker.tar" base:1
    mkdir "$TESTDIR/docker"
    tar -xf "$TESTDIR/docker.tar" -C "$TESTDIR/docker"
    m=$TESTDIR/docker/manifest.json
    assert "$(json_get "$m" 'len(d)')" == 1
    assert "$(json_get "$m" 'd[0]["Config"]')" == "$id.json"
    assert "$(json_get "$m" 'd[0]["RepoTags"]')" == "['base:1']"
    assert "$(json_get "$m" 'd[0]["Layers"]')" == "['${layer#sha256:}.tar']"
    cmp "$TESTDIR/docker/$id.json" "$TESTDIR/oci/blobs/sha256/$id"
    cmp "$TESTDIR/docker/${layer#sha256:}.tar" "$TESTDIR/oci/blobs/sha256/${layer#sha256:}"

    # Saving is deterministic.
    run_cbuild save -o "$TESTDIR/oci2.tar" base:1
    cmp "$TESTDIR/oci.tar" "$TESTDIR/oci2.tar"

    run_cbuild 2 save --format zip -o "$TESTDIR/z" base:1
    assert "$stderr" == "cbuild: error: unknown format 'zip' (oci-archive, docker-archive, oci-dir)"
    run_cbuild 2 save --format oci-dir -o "$TESTDIR/dir" base:1
    assert "$stderr" == "cbuild: error: '$TESTDIR/dir' already exists"
}

@test "store: save where it cannot write is a clear error and leaves no file" {
    import_base base:1
    for f in oci-archive docker-archive oci-dir; do
        run_cbuild 1 save --format $f -o "$TESTDIR/missing/x" base:1
        assert "$stderr" =~ "^cbuild: error: cannot create '$TESTDIR/missing/x': No such file or directory$"
    done
    [ ! -e "$TESTDIR/missing" ]

    skip_if_root "root writes into a read-only directory"
    mkdir "$TESTDIR/ro"
    chmod 555 "$TESTDIR/ro"
    for f in oci-archive docker-archive oci-dir; do
        run_cbuild 1 save --format $f -o "$TESTDIR/ro/x" base:1
        assert "$stderr" == "cbuild: error: cannot create '$TESTDIR/ro/x': Permission denied"
    done
    assert "$(ls -A "$TESTDIR/ro")" == ""
}

@test "store: save that fails midway leaves no partial file" {
    import_base base:1
    mkdir "$TESTDIR/out"
    # 100 kB is far less than the layer: the write fails with EFBIG.
    for f in oci-archive docker-archive oci-dir; do
        set +e
        (trap '' XFSZ; ulimit -f 100; exec "$CBUILD" save --format $f -o "$TESTDIR/out/x" base:1) \
            2>"$TESTDIR/err"
        rc=$?
        set -e
        cat "$TESTDIR/err" >&2
        assert "$rc" == 1
        assert "$(cat "$TESTDIR/err")" =~ "File too large"
        assert "$(ls -A "$TESTDIR/out")" == ""
    done
}

@test "store: export of a multi-layer image applies whiteouts and opaque dirs" {
    # Three layers: a base, one that deletes and replaces, one that makes a
    # directory opaque; loaded as an oci-archive built here.
    python3 - "$TESTDIR/ml.tar" <<'EOF2'
import hashlib, io, json, sys, tarfile
def layer(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, data in entries:
            ti = tarfile.TarInfo(name)
            ti.type = kind
            ti.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
            if kind == tarfile.REGTYPE:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            else:
                t.addfile(ti)
    return buf.getvalue()
D, F = tarfile.DIRTYPE, tarfile.REGTYPE
layers = [
    layer([("a", D, b""), ("a/keep", F, b"keep\n"), ("a/gone", F, b"gone\n"),
           ("b", D, b""), ("b/old", F, b"old\n"), ("c", D, b""), ("c/sub", F, b"x\n"),
           ("d", F, b"file d\n")]),
    layer([("a", D, b""), ("a/.wh.gone", F, b""), ("c", F, b"now a file\n"),
           ("d", D, b""), ("d/inner", F, b"inner\n")]),
    layer([("b", D, b""), ("b/.wh..wh..opq", F, b""), ("b/new", F, b"new\n")]),
]
blobs = {}
def put(data):
    h = hashlib.sha256(data).hexdigest()
    blobs[h] = data
    return "sha256:" + h
diff_ids = [put(l) for l in layers]
config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                     "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
manifest = json.dumps({"schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
               "digest": put(config), "size": len(config)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": d, "size": len(l)} for d, l in zip(diff_ids, layers)]}).encode()
md = put(manifest)
index = json.dumps({"schemaVersion": 2, "manifests": [{
    "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md,
    "size": len(manifest),
    "annotations": {"org.opencontainers.image.ref.name": "ml:1"}}]}).encode()
with tarfile.open(sys.argv[1], "w") as t:
    def add(name, data):
        ti = tarfile.TarInfo(name); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
    add("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    add("index.json", index)
    for h, data in blobs.items():
        add("blobs/sha256/" + h, data)
EOF2
    run_cbuild load -i "$TESTDIR/ml.tar"
    run_cbuild export -o "$TESTDIR/flat.tar" ml:1
    names=$(tar -tf "$TESTDIR/flat.tar" | sort | tr '\n' ' ')
    assert "$names" == "a/ a/keep b/ b/new c d/ d/inner "
    assert "$(tar -xOf "$TESTDIR/flat.tar" c)" == "now a file"
    # The same tree as extracting the layers one by one.
    run_cbuild export -o "$TESTDIR/flatdir" ml:1
    assert "$(cd "$TESTDIR/flatdir" && find . -mindepth 1 | sort | sed 's|^\./||' | tr '\n' ' ')" == "a a/keep b b/new c d d/inner "
}
