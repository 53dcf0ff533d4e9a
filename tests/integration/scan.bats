#!/usr/bin/env bats
# The publish gate: --scan on cbuild build and cbuild push (and from
# cbuild.conf and CBUILD_SCAN), build --push, and scan reports pushed as
# OCI 1.1 referrers; against a docker-registry on 127.0.0.1 (which has no
# referrers API: the tag-schema fallback), checked with skopeo and curl.

load helpers

SCANNER=$CB_SRCDIR/scripts/example-scanner.sh

setup() {
    TESTDIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/cbuild-bats.XXXXXX")
    cbuild_root_setup
    # Nothing of the machine's or the user's configuration.
    export XDG_CONFIG_HOME=$TESTDIR/config
    export DOCKER_CONFIG=$TESTDIR/docker
    export TMPDIR=$TESTDIR/tmp
    mkdir -p "$TMPDIR"
    unset CBUILD_SCAN
    # docker-registry would read REGISTRY_AUTH_FILE as its configuration.
    start_registry "$TESTDIR/registry"
    export REGISTRY_AUTH_FILE=$TESTDIR/auth/auth.json
    import_base >/dev/null
}

teardown() {
    stop_registry
    [ -n "${TESTDIR:-}" ] && rm -rf "$TESTDIR"
}

# context [FILE...]: a build context FROM base:1 that copies in a file
# for each name given (default "hello.txt").
context() {
    local ctx=$TESTDIR/ctx f
    mkdir -p "$ctx"
    printf 'FROM base:1\n' >"$ctx/Dockerfile"
    for f in "${@:-hello.txt}"; do
        printf 'content of %s\n' "$f" >"$ctx/$f"
        printf 'COPY %s /%s\n' "$f" "$f" >>"$ctx/Dockerfile"
    done
    printf '%s\n' "$ctx"
}

# registry_has TAG: whether skopeo finds $REGISTRY/TAG.
registry_has() {
    skopeo inspect --tls-verify=false "docker://$REGISTRY/$1" >/dev/null 2>&1
}

# manifest_digest NAME: the manifest digest of a stored image.
manifest_digest() {
    run_cbuild inspect "$1"
    json_out 'd[0]["Digest"]'
}

# ended PID: the process is gone, or a zombie (the reaper of orphans in
# a container may not reap).
ended() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    [[ ${stat##*) } == Z* ]]
}

# get_manifest REPO REF: the manifest (or index) REF of REPO, on stdout.
get_manifest() {
    curl -sf -H 'Accept: application/vnd.oci.image.index.v1+json' \
        -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
        "http://$REGISTRY/v2/$1/manifests/$2"
}

@test "scan: a failing scanner blocks --push and -o; the image stays in the store" {
    skip_unless_cmd skopeo
    ctx=$(context hello.txt id_rsa)
    run_cbuild 1 build --progress plain --push -t "$REGISTRY/app:1" \
        -o "type=oci,dest=$TESTDIR/out.tar" -o "type=oci-dir,dest=$TESTDIR/out.d" \
        --iidfile "$TESTDIR/iid" --scan "sh $SCANNER" "$ctx"
    # One error line naming the scanner, its status and the report.
    [ "$(grep -c '^cbuild: error' <<<"$stderr")" -eq 1 ]
    line=$(grep '^cbuild: error' <<<"$stderr")
    assert "$line" =~ "^cbuild: error: scanner 'sh $SCANNER' exited with status 1 \(report: $TMPDIR/cbuild-scan-[A-Za-z0-9]+/report-1\); nothing was published$"
    report=$(sed -E 's/.*report: ([^)]*)\).*/\1/' <<<"$line")
    grep -q '"path":"id_rsa"' "$report"
    # The scanner's own words reached stderr; stdout has no image ID.
    assert "$stderr" =~ "forbidden file"
    assert "$output" == ""
    # Nothing was pushed or exported; the copies of the image are gone.
    ! registry_has app:1
    [ ! -e "$TESTDIR/out.tar" ] && [ ! -e "$TESTDIR/out.d" ] && [ ! -e "$TESTDIR/iid" ]
    [ "$(ls "$(dirname "$report")")" = report-1 ]
    # The image is in the store all the same.
    run_cbuild inspect "$REGISTRY/app:1"
}

@test "scan: a passing scanner lets --push and -o through" {
    skip_unless_cmd skopeo
    ctx=$(context)
    run_cbuild build --push -t "$REGISTRY/app:1" -t "$REGISTRY/other:2" \
        -o "type=oci,dest=$TESTDIR/out.tar" --scan "sh $SCANNER" --scan true "$ctx"
    id=$output
    digest=$(manifest_digest "$REGISTRY/app:1")
    assert "$stderr" =~ "pushed $REGISTRY/app:1@$digest"
    assert "$stderr" =~ "pushed $REGISTRY/other:2@$digest"
    skopeo inspect --tls-verify=false "docker://$REGISTRY/app:1" >"$TESTDIR/sk.json"
    assert "$(json_get "$TESTDIR/sk.json" 'd["Digest"]')" == "$digest"
    registry_has other:2
    tar -tf "$TESTDIR/out.tar" | grep -qx index.json
    run_cbuild inspect "$REGISTRY/app:1"
    assert "$(json_out 'd[0]["Id"]')" =~ "$id"
    # Reports that went up as referrers are not left behind.
    [ -z "$(ls "$TMPDIR")" ]
}

@test "scan: the gate holds when the namespace is entered by exec (CBUILD_USERNS_EXEC=1)" {
    ctx=$(context hello.txt id_rsa)
    CBUILD_USERNS_EXEC=1 run_cbuild 1 --log-level debug build -t app:1 \
        -o "type=oci,dest=$TESTDIR/out.tar" --scan "sh $SCANNER" "$ctx"
    assert "$stderr" =~ "entering by exec"
    assert "$stderr" =~ "scanner 'sh $SCANNER' exited with status 1"
    [ ! -e "$TESTDIR/out.tar" ]
    ctx=$(context hello.txt)
    CBUILD_USERNS_EXEC=1 run_cbuild build -t app:2 -o "type=oci,dest=$TESTDIR/out.tar" \
        --scan "sh $SCANNER" "$ctx"
    tar -tf "$TESTDIR/out.tar" | grep -qx index.json
}

@test "scan: --push without a scanner pushes each tag; without -t it is a usage error" {
    skip_unless_cmd skopeo
    ctx=$(context)
    run_cbuild build --push -t "$REGISTRY/plain:1" "$ctx"
    registry_has plain:1
    run_cbuild 2 build --push "$ctx"
    assert "$stderr" =~ "--push needs a -t NAME"
}

@test "scan: a hanging scanner and all it started are killed at --scan-timeout" {
    ctx=$(context)
    start=$(date +%s)
    printf 'sleep 300 &\necho $! >"$1"\nsleep 300\n' >"$TESTDIR/hang.sh"
    run_cbuild 1 build -t app:1 -o "type=oci,dest=$TESTDIR/out.tar" --scan-timeout 2s \
        --scan "sh $TESTDIR/hang.sh $TESTDIR/bg.pid" "$ctx"
    elapsed=$(($(date +%s) - start))
    [ "$elapsed" -lt 30 ]
    assert "$stderr" =~ "scanner 'sh $TESTDIR/hang.sh $TESTDIR/bg.pid' was killed after 2s \(--scan-timeout\) \(no report\); nothing was published"
    [ ! -e "$TESTDIR/out.tar" ]
    # The background sleep was in the scanner's process group.
    pid=$(cat "$TESTDIR/bg.pid")
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        ended "$pid" && break
        sleep 0.2
    done
    ended "$pid"
    # No copy of the image is left.
    [ -z "$(ls "$TMPDIR")" ]
}

@test "scan: the scanner sees the documented variables, runs as the caller, and gets no credentials" {
    PASS=Sc4n-n0t-th1s-Pa55word
    printf '%s\n' "$PASS" | "$CBUILD" login -u user --password-stdin "$REGISTRY" >/dev/null
    grep -q "$REGISTRY" "$REGISTRY_AUTH_FILE"
    export MY_API_TOKEN=tok-AAAA-1111 BUILD_INPUT=s3kr1t-build-value
    export KEEP_TOKEN=kept-token-ZZZ
    ctx=$(context)
    printf 'RUN --mount=type=secret,id=s1 test -s /run/secrets/s1\n' >>"$ctx/Dockerfile"
    cat >"$TESTDIR/dump.sh" <<'EOS'
env >"$OUT/env"
id -u >"$OUT/uid"
cat /proc/self/uid_map >"$OUT/uid_map"
printf '%s\n' "$1" >"$OUT/arg"
ls "$CBUILD_IMAGE_LAYOUT" >"$OUT/layout"
tar -tf "$CBUILD_IMAGE_ARCHIVE" >"$OUT/archive"
echo '{"ok":true}' >"$CBUILD_REPORT"
EOS
    mkdir "$TESTDIR/out"
    OUT=$TESTDIR/out run_cbuild build --push -t "$REGISTRY/app:1" \
        --secret id=s1,env=BUILD_INPUT --scan-env KEEP_TOKEN \
        --scan "sh $TESTDIR/dump.sh {}" "$ctx"
    id=$output
    digest=$(manifest_digest "$REGISTRY/app:1")
    e=$TESTDIR/out/env
    archive=$(sed -n 's/^CBUILD_IMAGE_ARCHIVE=//p' "$e")
    layout=$(sed -n 's/^CBUILD_IMAGE_LAYOUT=//p' "$e")
    report=$(sed -n 's/^CBUILD_REPORT=//p' "$e")
    assert "$archive" =~ "^$TMPDIR/cbuild-scan-[A-Za-z0-9]+/image.tar$"
    assert "$layout" == "$(dirname "$archive")/image"
    assert "$report" == "$(dirname "$archive")/report-1"
    assert "$(cat "$TESTDIR/out/arg")" == "$archive"
    grep -qx "CBUILD_IMAGE_REF=$REGISTRY/app:1" "$e"
    grep -qx "CBUILD_IMAGE_DIGEST=$digest" "$e"
    grep -qx "CBUILD_IMAGE_ID=sha256:$id" "$e"
    grep -qx index.json "$TESTDIR/out/layout"
    grep -qx oci-layout "$TESTDIR/out/layout"
    grep -qx index.json "$TESTDIR/out/archive"
    # The caller's own uid, outside any user namespace of cbuild's.
    assert "$(cat "$TESTDIR/out/uid")" == "$(id -u)"
    assert "$(cat "$TESTDIR/out/uid_map")" == "$(cat /proc/self/uid_map)"
    ! grep -q CBUILD_IN_USERNS "$e"
    ! grep -q CBUILD_PUBLISH_FD "$e"
    # No password, token or secret, in clear or base64.
    ! grep -q "$PASS" "$e"
    ! grep -q "$(printf 'user:%s' "$PASS" | base64 -w0)" "$e"
    ! grep -q tok-AAAA-1111 "$e"
    ! grep -q s3kr1t-build-value "$e"
    ! grep -q MY_API_TOKEN "$e"
    # Unless the caller says a variable may pass.
    grep -qx KEEP_TOKEN=kept-token-ZZZ "$e"
    # Paths are not credentials.
    grep -qx "REGISTRY_AUTH_FILE=$REGISTRY_AUTH_FILE" "$e"
}

@test "scan: a report is pushed as a referrer through the referrers tag" {
    skip_unless_cmd curl
    ctx=$(context)
    run_cbuild build --push -t "$REGISTRY/app:1" --scan "sh $SCANNER" "$ctx"
    digest=$(manifest_digest "$REGISTRY/app:1")
    size=$(get_manifest app "$digest" | wc -c)
    # docker-registry 2.8 has no referrers API.
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$REGISTRY/v2/app/referrers/$digest")" = 404 ]
    get_manifest app "sha256-${digest#sha256:}" >"$TESTDIR/index.json"
    assert "$(json_get "$TESTDIR/index.json" 'd["mediaType"]')" == "application/vnd.oci.image.index.v1+json"
    assert "$(json_get "$TESTDIR/index.json" 'len(d["manifests"])')" == 1
    assert "$(json_get "$TESTDIR/index.json" 'd["manifests"][0]["artifactType"]')" == "application/vnd.cbuild.scan-report.v1+json"
    art=$(json_get "$TESTDIR/index.json" 'd["manifests"][0]["digest"]')
    get_manifest app "$art" >"$TESTDIR/art.json"
    assert "$(sha256_of "$TESTDIR/art.json")" == "$art"
    assert "$(json_get "$TESTDIR/art.json" 'd["subject"]["digest"]')" == "$digest"
    assert "$(json_get "$TESTDIR/art.json" 'd["subject"]["size"]')" == "$size"
    assert "$(json_get "$TESTDIR/art.json" 'd["artifactType"]')" == "application/vnd.cbuild.scan-report.v1+json"
    assert "$(json_get "$TESTDIR/art.json" 'd["config"]["mediaType"]')" == "application/vnd.oci.empty.v1+json"
    assert "$(json_get "$TESTDIR/art.json" 'd["config"]["size"]')" == 2
    blob=$(json_get "$TESTDIR/art.json" 'd["layers"][0]["digest"]')
    curl -sf "http://$REGISTRY/v2/app/blobs/$blob" >"$TESTDIR/report.json"
    json_get "$TESTDIR/report.json" 'd["scanner"]' | grep -qx cbuild-example-scanner
    assert "$(json_get "$TESTDIR/report.json" 'd["digest"]')" == "$digest"

    # cbuild push --scan adds a second referrer to the same list, with
    # the type given.
    run_cbuild push --scan "echo '{\"second\":1}' >\$CBUILD_REPORT" \
        --scan-report-type application/vnd.example.report+json "$REGISTRY/app:1"
    assert "$output" == "$digest"
    get_manifest app "sha256-${digest#sha256:}" >"$TESTDIR/index2.json"
    assert "$(json_get "$TESTDIR/index2.json" 'len(d["manifests"])')" == 2
    assert "$(json_get "$TESTDIR/index2.json" 'd["manifests"][0]["digest"]')" == "$art"
    assert "$(json_get "$TESTDIR/index2.json" 'd["manifests"][1]["artifactType"]')" == "application/vnd.example.report+json"
}

@test "scan: build --push --sbom pushes the image's SBOM as a referrer" {
    skip_unless_cmd curl
    ctx=$(context)
    mkdir -p "$ctx/dpkg"
    printf 'Package: demo\nStatus: install ok installed\nVersion: 1.2-3\nArchitecture: amd64\n' >"$ctx/dpkg/status"
    printf 'COPY dpkg/status /var/lib/dpkg/status\n' >>"$ctx/Dockerfile"
    run_cbuild 2 build --sbom -t "$REGISTRY/app:1" "$ctx"
    assert "$stderr" =~ "--sbom needs --push"
    run_cbuild build --push --sbom -t "$REGISTRY/app:1" "$ctx"
    digest=$(manifest_digest "$REGISTRY/app:1")
    get_manifest app "sha256-${digest#sha256:}" >"$TESTDIR/index.json"
    assert "$(json_get "$TESTDIR/index.json" 'd["manifests"][0]["artifactType"]')" == "application/spdx+json"
    art=$(json_get "$TESTDIR/index.json" 'd["manifests"][0]["digest"]')
    get_manifest app "$art" >"$TESTDIR/art.json"
    assert "$(json_get "$TESTDIR/art.json" 'd["subject"]["digest"]')" == "$digest"
    blob=$(json_get "$TESTDIR/art.json" 'd["layers"][0]["digest"]')
    curl -sf "http://$REGISTRY/v2/app/blobs/$blob" >"$TESTDIR/sbom.json"
    # The same document 'cbuild sbom' prints for the image.
    run_cbuild sbom "$REGISTRY/app:1"
    assert "$(cat "$TESTDIR/sbom.json")" == "$output"
    json_get "$TESTDIR/sbom.json" '[p["versionInfo"] for p in d["packages"] if p["name"] == "demo"][0]' | grep -qx 1.2-3
}

@test "scan: cbuild push --scan blocks a push, and lets one through" {
    skip_unless_cmd skopeo
    ctx=$(context)
    run_cbuild build -t app:1 "$ctx"
    run_cbuild 1 push --scan 'echo bad >"$CBUILD_REPORT"; exit 3' app:1 "$REGISTRY/app:1"
    assert "$stderr" =~ "scanner 'echo bad >\"\\\$CBUILD_REPORT\"; exit 3' exited with status 3 \(report: "
    assert "$output" == ""
    ! registry_has app:1
    run_cbuild push --scan "sh $SCANNER" app:1 "$REGISTRY/app:1"
    registry_has app:1
    assert "$output" == "$(manifest_digest app:1)"
}

@test "scan: scanners come from cbuild.conf and CBUILD_SCAN too; a bad file names its line" {
    ctx=$(context)
    mkdir -p "$XDG_CONFIG_HOME/cbuild"
    printf '# gate\n\nscan = exit 0\n  scan-timeout = 1m\nscan = exit 5\n' >"$XDG_CONFIG_HOME/cbuild/cbuild.conf"
    run_cbuild 1 build -t app:1 -o "type=oci,dest=$TESTDIR/out.tar" "$ctx"
    assert "$stderr" =~ "scanner 'exit 5' exited with status 5 \(no report\)"
    [ ! -e "$TESTDIR/out.tar" ]
    printf 'scan = true\n' >"$XDG_CONFIG_HOME/cbuild/cbuild.conf"
    CBUILD_SCAN='exit 6' run_cbuild 1 build -t app:1 -o "type=oci,dest=$TESTDIR/out.tar" "$ctx"
    assert "$stderr" =~ "scanner 'exit 6' exited with status 6"
    CBUILD_SCAN=true run_cbuild build -t app:1 -o "type=oci,dest=$TESTDIR/out.tar" "$ctx"
    [ -s "$TESTDIR/out.tar" ]
    printf 'scan = true\nscan-timeout = soon\n' >"$XDG_CONFIG_HOME/cbuild/cbuild.conf"
    run_cbuild 2 build -t app:1 "$ctx"
    assert "$stderr" == "cbuild: error: $XDG_CONFIG_HOME/cbuild/cbuild.conf:2: scan-timeout: bad duration 'soon' (a positive number, with s, m or h)"
    rm "$XDG_CONFIG_HOME/cbuild/cbuild.conf"
    run_cbuild 2 push --scan-report-type 'not a type' app:1 "$REGISTRY/app:1"
    assert "$stderr" =~ "is not a media type"
}
