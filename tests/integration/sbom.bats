#!/usr/bin/env bats
# `cbuild sbom`: the OS packages of an image (dpkg status and status.d/,
# apk installed, os-release) as an SPDX 2.3 or CycloneDX 1.5 document.
# Images are built on the busybox base with fabricated package databases
# COPYed in; the last test uses a real debootstrap'ed Debian when
# scripts/test.sh made one (CB_DEBIAN_ROOTFS_TAR).

load helpers

setup() {
    helpers_setup
    cbuild_root_setup
    import_base
}

# A context whose root/ is COPYed to / on the busybox base: a Debian-like
# os-release (a symlink in /etc, as Debian has it), a dpkg status with an
# installed package, a removed one and a multi-line description, and a
# distroless-style status.d/ with a .md5sums file beside its paragraph.
debian_like_context() {
    local ctx=$TESTDIR/ctx
    mkdir -p "$ctx/root/etc" "$ctx/root/usr/lib" "$ctx/root/var/lib/dpkg/status.d"
    cat >"$ctx/root/usr/lib/os-release" <<'EOF'
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION_CODENAME=bookworm
ID=debian
EOF
    ln -s ../usr/lib/os-release "$ctx/root/etc/os-release"
    cat >"$ctx/root/var/lib/dpkg/status" <<'EOF'
Package: libc6
Status: install ok installed
Architecture: amd64
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Version: 2.36-9+deb12u10
Source: glibc
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.

Package: bsdutils
Status: install ok installed
Architecture: amd64
Source: util-linux (2.38.1-5)
Version: 1:2.38.1-5+b1

Package: removed-pkg
Status: deinstall ok config-files
Version: 0.1
EOF
    cat >"$ctx/root/var/lib/dpkg/status.d/tzdata" <<'EOF'
Package: tzdata
Version: 2024a-0+deb12u1
Architecture: all
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
EOF
    printf '5461b4c9623a1657baf85fbc0c8576b6  usr/share/doc/tzdata/README.Debian\n' \
        >"$ctx/root/var/lib/dpkg/status.d/tzdata.md5sums"
    printf 'FROM base:1\nCOPY root/ /\n' >"$ctx/Dockerfile"
    printf '%s\n' "$ctx"
}

# "name version" of each package of the SPDX document in $output (the
# image and the OS left out), sorted.
spdx_packages() {
    python3 -c 'import json, sys
d = json.loads(sys.stdin.read())
for p in d["packages"]:
    if p.get("primaryPackagePurpose") == "LIBRARY":
        print(p["name"], p.get("versionInfo", ""))' <<<"$output" | LC_ALL=C sort
}

# The constraints of the SPDX 2.3 JSON schema that this document relies
# on: required fields, SPDXID syntax, the created time, the ids that
# relationships name.
spdx_check() {
    python3 -c 'import json, re, sys
d = json.loads(sys.stdin.read())
for k in ("spdxVersion", "dataLicense", "SPDXID", "name", "documentNamespace", "creationInfo"):
    assert k in d, k
assert d["spdxVersion"] == "SPDX-2.3" and d["dataLicense"] == "CC0-1.0"
assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", d["creationInfo"]["created"])
assert d["creationInfo"]["creators"]
ids = {"SPDXRef-DOCUMENT"}
for p in d["packages"]:
    for k in ("SPDXID", "name", "downloadLocation"):
        assert k in p, (k, p)
    assert re.match(r"^SPDXRef-[a-zA-Z0-9.-]+$", p["SPDXID"]), p["SPDXID"]
    assert p["SPDXID"] not in ids, p["SPDXID"]
    ids.add(p["SPDXID"])
for r in d["relationships"]:
    assert r["spdxElementId"] in ids and r["relatedSpdxElement"] in ids, r
print("ok")' <<<"$output"
}

@test "sbom: dpkg status, status.d and os-release of a built image, as SPDX" {
    ctx=$(debian_like_context)
    run_cbuild build -t app:1 "$ctx"
    run_cbuild sbom app:1
    assert "$(spdx_check)" == "ok"
    assert "$(spdx_packages)" == "bsdutils 1:2.38.1-5+b1
libc6 2.36-9+deb12u10
tzdata 2024a-0+deb12u1"
    assert "$(json_out 'd["name"]')" == "app:1"
    # The OS from /usr/lib/os-release (/etc/os-release is a symlink: not
    # followed, and os-release(5) says to fall back to this one).
    assert "$(json_out '[p["name"] + " " + p["versionInfo"] for p in d["packages"] if p.get("primaryPackagePurpose") == "OPERATING-SYSTEM"][0]')" == "debian 12"
    assert "$(json_out '[p["externalRefs"][0]["referenceLocator"] for p in d["packages"] if p["name"] == "bsdutils"][0]')" == \
        "pkg:deb/debian/bsdutils@1:2.38.1-5%2Bb1?arch=amd64&distro=debian-12&upstream=util-linux%402.38.1-5"
    assert "$(json_out '[p["supplier"] for p in d["packages"] if p["name"] == "libc6"][0]')" == \
        "Person: GNU Libc Maintainers (debian-glibc@lists.debian.org)"
    # The image is what the document describes, by its manifest digest.
    digest=$(json_out '[p["versionInfo"] for p in d["packages"] if p["SPDXID"] == "SPDXRef-Image"][0]')
    assert "$digest" =~ ^sha256:[0-9a-f]{64}$
    run_cbuild inspect app:1
    assert "$(json_out 'd[0]["Digest"]')" == "$digest"
}

@test "sbom: the same image gives the same bytes; -o writes them to a file" {
    ctx=$(debian_like_context)
    run_cbuild build -t app:1 "$ctx"
    run_cbuild sbom app:1
    first=$output
    run_cbuild sbom --format spdx-json -o "$TESTDIR/sbom.json" app:1
    assert "$output" == ""
    assert "$(cat "$TESTDIR/sbom.json")" == "$first"
    # By ID the document still names the image by its tag.
    run_cbuild inspect app:1
    id=$(json_out 'd[0]["Id"]')
    run_cbuild sbom "${id:0:12}"
    assert "$output" == "$first"
    # A second tag is another document name, the same packages.
    run_cbuild tag app:1 other:2
    run_cbuild sbom other:2
    assert "$(json_out 'd["name"]')" == "other:2"
    assert "$(spdx_packages)" != ""
}

@test "sbom: CycloneDX 1.5" {
    ctx=$(debian_like_context)
    run_cbuild build -t app:1 "$ctx"
    run_cbuild sbom --format cyclonedx-json app:1
    assert "$(json_out 'd["bomFormat"] + " " + d["specVersion"] + " " + str(d["version"])')" == "CycloneDX 1.5 1"
    assert "$(json_out 'd["serialNumber"]')" =~ ^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$
    assert "$(json_out 'd["metadata"]["component"]["type"] + " " + d["metadata"]["component"]["name"]')" == "container app:1"
    assert "$(json_out '" ".join(c["name"] for c in d["components"])')" == "debian bsdutils libc6 tzdata"
    assert "$(json_out '[c["purl"] for c in d["components"] if c["name"] == "tzdata"][0]')" == \
        "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12"
    assert "$(json_out 'd["metadata"]["timestamp"]')" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$
}

@test "sbom: an apk database and a regular /etc/os-release that wins over /usr/lib's" {
    ctx=$TESTDIR/ctx
    mkdir -p "$ctx/root/lib/apk/db" "$ctx/root/etc" "$ctx/root/usr/lib"
    printf 'ID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine Linux v3.19"\n' >"$ctx/root/etc/os-release"
    printf 'ID=other\nVERSION_ID=1\n' >"$ctx/root/usr/lib/os-release"
    cat >"$ctx/root/lib/apk/db/installed" <<'EOF'
C:Q1abc=
P:musl
V:1.2.4_git20230717-r4
A:x86_64
L:MIT
o:musl
m:Timo Teräs <timo.teras@iki.fi>

P:busybox-binsh
V:1.36.1-r15
A:x86_64
L:GPL-2.0-only
o:busybox
EOF
    printf 'FROM base:1\nCOPY root/ /\n' >"$ctx/Dockerfile"
    run_cbuild build -t alp:1 "$ctx"
    run_cbuild sbom --format cyclonedx-json alp:1
    assert "$(json_out '" ".join(c.get("purl", c["name"] + "@" + c.get("version", "")) for c in d["components"])')" == \
        "alpine@3.19.1 pkg:apk/alpine/busybox-binsh@1.36.1-r15?arch=x86_64&distro=alpine-3.19.1&upstream=busybox pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19.1"
    assert "$(json_out '[c["licenses"][0]["license"]["name"] for c in d["components"] if c["name"] == "musl"][0]')" == "MIT"
    run_cbuild sbom alp:1
    assert "$(spdx_check)" == "ok"
    assert "$(json_out '[p["licenseDeclared"] for p in d["packages"] if p["name"] == "busybox-binsh"][0]')" == "GPL-2.0-only"
}

@test "sbom: an image without package databases lists no packages" {
    run_cbuild sbom base:1
    assert "$(spdx_check)" == "ok"
    assert "$(spdx_packages)" == ""
    assert "$(json_out 'len(d["packages"])')" == "1"
}

@test "sbom: a symlinked database is not followed, even one pointing out of the image" {
    ctx=$TESTDIR/ctx
    mkdir -p "$ctx/root/var/lib/dpkg"
    ln -s /etc/passwd "$ctx/root/var/lib/dpkg/status"
    ln -s ../../../../../../../../etc/shadow "$ctx/root/var/lib/dpkg/status.d"
    printf 'FROM base:1\nCOPY root/ /\n' >"$ctx/Dockerfile"
    run_cbuild build -t link:1 "$ctx"
    run_cbuild sbom link:1
    assert "$(spdx_packages)" == ""
    [[ $output != *root:x:0:0* ]]
}

@test "sbom: a broken dpkg status is one error naming the image, the file and the line" {
    ctx=$TESTDIR/ctx
    mkdir -p "$ctx/root/var/lib/dpkg"
    printf 'Package: a\nVersion: 1\n\nPackage: b\nthis is not a field\n' >"$ctx/root/var/lib/dpkg/status"
    printf 'FROM base:1\nCOPY root/ /\n' >"$ctx/Dockerfile"
    run_cbuild build -t bad:1 "$ctx"
    blobs=$(blob_count)
    run_cbuild 2 sbom -o "$TESTDIR/out.json" bad:1
    assert "$stderr" == "cbuild: error: image 'bad:1': /var/lib/dpkg/status:5: a line that is not 'Field: value'"
    assert "$output" == ""
    [ ! -e "$TESTDIR/out.json" ]
    assert "$(blob_count)" == "$blobs"
}

@test "sbom: a database larger than the limit is refused before it is read" {
    ctx=$TESTDIR/ctx
    mkdir -p "$ctx/root/var/lib/dpkg"
    truncate -s 33M "$ctx/root/var/lib/dpkg/status"
    printf 'FROM base:1\nCOPY root/ /\n' >"$ctx/Dockerfile"
    run_cbuild build -t big:1 "$ctx"
    run_cbuild 1 sbom big:1
    assert "$stderr" == "cbuild: error: image 'big:1': image file '/var/lib/dpkg/status' is larger than 33554432 bytes"
}

@test "sbom: a layer blob that does not match its digest is an error, not a shorter list" {
    ctx=$(debian_like_context)
    run_cbuild build -t app:1 "$ctx"
    run_cbuild inspect app:1
    blob=$CBUILD_ROOT/blobs/sha256/$(json_out 'd[0]["Manifest"]["layers"][-1]["digest"].split(":")[1]')
    chmod u+w "$blob"
    printf 'garbage' | dd of="$blob" bs=1 seek=100 conv=notrunc 2>/dev/null
    run_cbuild 2 sbom app:1
    assert "$output" == ""
    assert "$(line_count "$stderr")" == "1"
    assert "$stderr" =~ "cbuild: error: image 'app:1': layer [0-9a-f]{12}: "
}

@test "sbom: a later layer that deletes a database file takes its packages out" {
    unshare --user true 2>/dev/null || skip "user namespaces are not available here"
    ctx=$(debian_like_context)
    printf 'FROM base:1\nCOPY root/ /\nRUN rm /var/lib/dpkg/status.d/tzdata\n' >"$ctx/Dockerfile"
    run_cbuild build -t wh:1 "$ctx"
    run_cbuild sbom wh:1
    assert "$(spdx_packages)" == "bsdutils 1:2.38.1-5+b1
libc6 2.36-9+deb12u10"
}

@test "sbom: usage errors" {
    run_cbuild 2 sbom --format xml base:1
    assert "$stderr" =~ "unknown SBOM format 'xml' \(spdx-json or cyclonedx-json\)"
    run_cbuild 2 sbom
    assert "$stderr" =~ "expected one IMAGE"
    run_cbuild 2 sbom no-such:1
    assert "$(line_count "$stderr")" == "1"
    run_cbuild help sbom
    assert "$output" =~ "usage: cbuild sbom"
}

# The issue's check: an image built on a debootstrap'ed Debian lists every
# dpkg package with the version dpkg-query reports inside it.
@test "sbom: a debootstrap'ed Debian: every package and version as dpkg-query -W says" {
    tar=${CB_DEBIAN_ROOTFS_TAR:-}
    [ -n "$tar" ] && [ -s "$tar" ] || skip "no Debian root filesystem (scripts/test.sh makes one as root with debootstrap)"
    unshare --user true 2>/dev/null || skip "user namespaces are not available here"
    run_cbuild import "$tar" deb:12
    ctx=$TESTDIR/debctx
    mkdir -p "$ctx"
    echo hello >"$ctx/hello.txt"
    printf 'FROM deb:12\nCOPY hello.txt /srv/hello.txt\n' >"$ctx/Dockerfile"
    run_cbuild build -t debapp:1 "$ctx"
    run_cbuild run debapp:1 dpkg-query -W -f '${Package} ${Version}\n'
    want=$(LC_ALL=C sort <<<"$output")
    [ "$(line_count "$want")" -gt 50 ]
    run_cbuild sbom debapp:1
    assert "$(spdx_check)" == "ok"
    got=$(spdx_packages)
    diff <(echo "$want") <(echo "$got")
    assert "$(json_out '[p["externalRefs"][0]["referenceLocator"] for p in d["packages"] if p["name"] == "dpkg"][0]')" =~ \
        '^pkg:deb/debian/dpkg@[^?]+[?]arch=[a-z0-9]+&distro=debian-12$'
    run_cbuild sbom --format cyclonedx-json debapp:1
    assert "$(json_out 'len(d["components"]) - 1')" == "$(line_count "$want")"
}
