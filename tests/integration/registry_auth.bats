#!/usr/bin/env bats
# cbuild login, logout, pull and push against a docker-registry on
# 127.0.0.1 that speaks TLS (a CA and server certificate made here) and
# wants htpasswd Basic auth; checked with skopeo.

load helpers
load registry_helpers

PASS=s3cr3t-Pa55word

setup() {
    TESTDIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/cbuild-bats.XXXXXX")
    cbuild_root_setup
    export REGISTRY_AUTH_FILE=$TESTDIR/auth/auth.json
    export CBUILD_CERTS_DIR=$TESTDIR/certs.d
    export DOCKER_CONFIG=$TESTDIR/docker
    start_tls_registry "$TESTDIR/registry"
}

teardown() {
    stop_registry
    [ -n "${TESTDIR:-}" ] && rm -rf "$TESTDIR"
}

# start_tls_registry DIR [clientcas]: like start_registry, with TLS and
# the user "user" (password $PASS); with "clientcas", clients must show a
# certificate the CA signed.  The CA is left in $TESTDIR/ca.crt.
start_tls_registry() {
    local dir=$1 port i clientcas=
    [ "${2:-}" = clientcas ] && clientcas="
    clientcas:
      - $dir/tls/ca.crt"
    skip_unless_cmd docker-registry
    skip_unless_cmd openssl
    skip_unless_cmd htpasswd
    mkdir -p "$dir/storage"
    make_certs "$dir/tls"
    cp "$dir/tls/ca.crt" "$TESTDIR/ca.crt"
    htpasswd -Bbn user "$PASS" >"$dir/htpasswd"
    port=$(free_port)
    cat >"$dir/config.yml" <<EOC
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/storage
auth:
  htpasswd:
    realm: test
    path: $dir/htpasswd
http:
  addr: 127.0.0.1:$port
  tls:
    certificate: $dir/tls/server.crt
    key: $dir/tls/server.key$clientcas
EOC
    # docker-registry takes REGISTRY_* variables as configuration:
    # REGISTRY_AUTH_FILE would be its "auth: file:".
    env -u REGISTRY_AUTH_FILE docker-registry serve "$dir/config.yml" \
        >"$dir/registry.log" 2>&1 3>&- &
    REGISTRY_PID=$!
    REGISTRY=127.0.0.1:$port
    export REGISTRY REGISTRY_PID
    for ((i = 0; i < 100; i++)); do
        if [ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$TESTDIR/ca.crt" \
                ${clientcas:+--cert "$dir/tls/client.cert" --key "$dir/tls/client.key"} \
                "https://$REGISTRY/v2/")" = 401 ]; then
            return 0
        fi
        kill -0 "$REGISTRY_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "the registry did not start:" >&2
    cat "$dir/registry.log" >&2
    stop_registry
    return 1
}

# login_stdin EXPECTED_RC PASSWORD ARGS...: cbuild login with PASSWORD on
# standard input; stdout and stderr together in $output.
login_stdin() {
    local want=$1 pw=$2
    shift 2
    set +e
    output=$(printf '%s\n' "$pw" | timeout --foreground 60 "$CBUILD" login "$@" 2>&1)
    status=$?
    set -e
    echo "$output" >&2
    [ "$status" -eq "$want" ] || { echo "expected exit status $want, got $status" >&2; return 1; }
}

import_tiny() {
    mkdir -p "$TESTDIR/tiny"
    printf 'hello\n' >"$TESTDIR/tiny/hello.txt"
    run_cbuild import --timestamp 0 "$TESTDIR/tiny" "$1"
}

@test "registry auth: login with a wrong password fails, naming the host and 401, without the password" {
    trust_ca
    run_cbuild 1 login -u user -p "wrong-$PASS" "$REGISTRY"
    assert "$stderr" =~ "login to $REGISTRY failed: HTTP 401 Unauthorized"
    ! grep -qF -- "$PASS" "$TESTDIR/.out" "$TESTDIR/.err"
    [ ! -e "$REGISTRY_AUTH_FILE" ]
    login_stdin 1 "wrong-$PASS" -u user --password-stdin "$REGISTRY"
    assert "$output" =~ "login to $REGISTRY failed: HTTP 401"
    [[ $output != *"$PASS"* ]]
}

@test "registry auth: login stores the credentials 0600, logout removes them" {
    trust_ca
    login_stdin 0 "$PASS" -u user --password-stdin "$REGISTRY"
    [[ $output != *"$PASS"* ]]
    [ "$(stat -c %a "$REGISTRY_AUTH_FILE")" = 600 ]
    want=$(printf 'user:%s' "$PASS" | base64 -w0)
    got=$(json_get "$REGISTRY_AUTH_FILE" "d['auths']['$REGISTRY']['auth']")
    assert "$got" == "$want"
    run_cbuild logout "$REGISTRY"
    got=$(json_get "$REGISTRY_AUTH_FILE" "len(d['auths'])")
    assert "$got" == 0
    run_cbuild 2 logout "$REGISTRY"
    assert "$stderr" =~ "not logged in to '$REGISTRY'"
}

@test "registry auth: push and pull with stored credentials and the CA from certs.d; skopeo agrees" {
    trust_ca
    import_tiny "$REGISTRY/tiny:1"
    run_cbuild 1 push "$REGISTRY/tiny:1"
    assert "$stderr" =~ "401 Unauthorized"
    run_cbuild login -u user -p "$PASS" "$REGISTRY"
    run_cbuild push "$REGISTRY/tiny:1"
    digest=$output
    ! grep -qF -- "$PASS" "$TESTDIR/.out" "$TESTDIR/.err"
    run_cbuild rmi "$REGISTRY/tiny:1"
    run_cbuild pull "$REGISTRY/tiny:1"
    assert "$output" == "$digest"
    if command -v skopeo >/dev/null 2>&1; then
        skopeo inspect --cert-dir "$CBUILD_CERTS_DIR/$REGISTRY" --creds "user:$PASS" \
            "docker://$REGISTRY/tiny:1" >"$TESTDIR/skopeo.json"
        got=$(json_get "$TESTDIR/skopeo.json" 'd["Digest"]')
        assert "$got" == "$digest"
    fi
}

@test "registry auth: without the CA the TLS error names the host; --tls-verify=false works" {
    run_cbuild 1 login -u user -p "$PASS" "$REGISTRY"
    assert "$stderr" =~ "TLS with '$REGISTRY' failed"
    ! grep -qF -- "$PASS" "$TESTDIR/.err"
    run_cbuild login --tls-verify=false -u user -p "$PASS" "$REGISTRY"
    import_tiny "$REGISTRY/tiny:1"
    run_cbuild 1 push "$REGISTRY/tiny:1"
    assert "$stderr" =~ "TLS with '$REGISTRY' failed"
    run_cbuild push --tls-verify=false "$REGISTRY/tiny:1"
    digest=$output
    run_cbuild rmi "$REGISTRY/tiny:1"
    run_cbuild pull --tls-verify=false "$REGISTRY/tiny:1"
    assert "$output" == "$digest"
    if command -v skopeo >/dev/null 2>&1; then
        skopeo inspect --tls-verify=false --creds "user:$PASS" \
            "docker://$REGISTRY/tiny:1" >"$TESTDIR/skopeo.json"
        got=$(json_get "$TESTDIR/skopeo.json" 'd["Digest"]')
        assert "$got" == "$digest"
    fi
}

@test "registry auth: credentials are read from docker's config.json" {
    trust_ca
    mkdir -p "$DOCKER_CONFIG"
    printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$REGISTRY" \
        "$(printf 'user:%s' "$PASS" | base64 -w0)" >"$DOCKER_CONFIG/config.json"
    import_tiny "$REGISTRY/tiny:1"
    run_cbuild push "$REGISTRY/tiny:1"
}

# make_helper NAME USER SECRET: a docker-credential-NAME on $PATH that
# knows USER and SECRET for $REGISTRY, says "not found" for any other
# server, and logs the server URLs it was asked about (never the secret).
make_helper() {
    mkdir -p "$TESTDIR/bin"
    cat >"$TESTDIR/bin/docker-credential-$1" <<EOS
#!/bin/sh
[ "\$1" = get ] || exit 2
read -r url
printf '%s\n' "\$url" >>"$TESTDIR/helper.log"
if [ "\$url" = "$REGISTRY" ]; then
    printf '{"ServerURL": "%s", "Username": "%s", "Secret": "%s"}\n' "\$url" "$2" "$3"
    exit 0
fi
echo "credentials not found in native keychain"
exit 1
EOS
    chmod +x "$TESTDIR/bin/docker-credential-$1"
    export PATH=$TESTDIR/bin:$PATH
}

@test "registry auth: credentials come from the credHelpers helper, unseen" {
    trust_ca
    make_helper cbtest user "$PASS"
    mkdir -p "$DOCKER_CONFIG"
    printf '{"credsStore": "absent", "credHelpers": {"%s": "cbtest"}}\n' "$REGISTRY" \
        >"$DOCKER_CONFIG/config.json"
    import_tiny "$REGISTRY/tiny:1"
    run_cbuild --log-level debug push "$REGISTRY/tiny:1"
    digest=$output
    ! grep -qF -- "$PASS" "$TESTDIR/.out" "$TESTDIR/.err"
    assert "$(cat "$TESTDIR/helper.log")" == "$REGISTRY"
    export CBUILD_ROOT=$TESTDIR/store2
    run_cbuild --log-level debug pull "$REGISTRY/tiny:1"
    assert "$output" == "$digest"
    ! grep -qF -- "$PASS" "$TESTDIR/.out" "$TESTDIR/.err"
}

@test "registry auth: credsStore is the helper for every registry" {
    trust_ca
    make_helper cbstore user "$PASS"
    mkdir -p "$DOCKER_CONFIG"
    printf '{"credsStore": "cbstore"}\n' >"$DOCKER_CONFIG/config.json"
    import_tiny "$REGISTRY/tiny:1"
    run_cbuild push "$REGISTRY/tiny:1"
    assert "$(cat "$TESTDIR/helper.log")" == "$REGISTRY"
}

@test "registry auth: a helper's wrong secret, 'not found' and absence are clear errors" {
    trust_ca
    make_helper wrong user "wrong-$PASS"
    mkdir -p "$DOCKER_CONFIG"
    printf '{"credHelpers": {"%s": "wrong"}}\n' "$REGISTRY" >"$DOCKER_CONFIG/config.json"
    import_tiny "$REGISTRY/tiny:1"
    run_cbuild 1 --log-level debug push "$REGISTRY/tiny:1"
    assert "$stderr" =~ "pushing '$REGISTRY/tiny:1': config: blob sha256:[0-9a-f]{12}: HTTP 401 Unauthorized"
    ! grep -qF -- "$PASS" "$TESTDIR/.out" "$TESTDIR/.err"
    # A helper that has nothing for this server: anonymous, then 401.
    printf '{"credHelpers": {"other.example": "wrong"}, "credsStore": "wrong"}\n' \
        >"$DOCKER_CONFIG/config.json"
    sed -i "s/= \"$REGISTRY\"/= nothing/" "$TESTDIR/bin/docker-credential-wrong"
    run_cbuild 1 push "$REGISTRY/tiny:1"
    assert "$stderr" =~ "HTTP 401 Unauthorized"
    printf '{"credHelpers": {"%s": "missing"}}\n' "$REGISTRY" >"$DOCKER_CONFIG/config.json"
    run_cbuild 1 push "$REGISTRY/tiny:1"
    assert "$stderr" =~ "credentials for '$REGISTRY': credential helper 'missing': cannot run 'docker-credential-missing': "
    printf '{"credHelpers": {"%s": "../evil"}}\n' "$REGISTRY" >"$DOCKER_CONFIG/config.json"
    run_cbuild 2 push "$REGISTRY/tiny:1"
    assert "$stderr" =~ "invalid credential helper '../evil'"
}

@test "registry auth: login needs a user and one way to give the password" {
    run_cbuild 2 login -p "$PASS" "$REGISTRY"
    run_cbuild 2 login -u user "$REGISTRY"
    run_cbuild 2 login -u user -p "$PASS" --tls-verify=maybe "$REGISTRY"
}

@test "registry auth: a client certificate from certs.d is shown to a registry that wants one" {
    stop_registry
    start_tls_registry "$TESTDIR/registry-mtls" clientcas
    trust_ca
    run_cbuild 1 login -u user -p "$PASS" "$REGISTRY"
    cp "$TESTDIR/registry-mtls/tls/client.cert" "$TESTDIR/registry-mtls/tls/client.key" \
        "$CBUILD_CERTS_DIR/$REGISTRY/"
    run_cbuild login -u user -p "$PASS" "$REGISTRY"
    import_tiny "$REGISTRY/tiny:1"
    run_cbuild push "$REGISTRY/tiny:1"
    rm "$CBUILD_CERTS_DIR/$REGISTRY/client.key"
    run_cbuild 2 push "$REGISTRY/tiny:1"
    assert "$stderr" =~ "client certificate 'client.cert' has no key 'client.key'"
}
