#!/usr/bin/env bats
# cbuild against a docker-registry that speaks TLS and wants Bearer tokens
# ("auth: token") from token_server.py, which checks Basic credentials and
# signs JWTs with a key the registry trusts.

load helpers
load registry_helpers

PASS=t0ken-Pa55word

setup() {
    TESTDIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/cbuild-bats.XXXXXX")
    cbuild_root_setup
    export REGISTRY_AUTH_FILE=$TESTDIR/auth/auth.json
    export CBUILD_CERTS_DIR=$TESTDIR/certs.d
    export DOCKER_CONFIG=$TESTDIR/docker
    start_token_registry "$TESTDIR/registry"
    trust_ca
}

teardown() {
    stop_token_registry
    [ -n "${TESTDIR:-}" ] && rm -rf "$TESTDIR"
}

import_tiny() {
    mkdir -p "$TESTDIR/tiny-$2"
    printf '%s\n' "$2" >"$TESTDIR/tiny-$2/hello.txt"
    run_cbuild import --timestamp 0 "$TESTDIR/tiny-$2" "$1"
}

# no_password: the password is in no output of the last cbuild run.
no_password() {
    ! grep -qF -- "$PASS" "$TESTDIR/.out" "$TESTDIR/.err"
}

@test "registry token: login, push and pull into a fresh store with tokens" {
    run_cbuild login -u user -p "$PASS" "$REGISTRY"
    no_password
    import_tiny "$REGISTRY/team/app:1" app
    id=$output
    run_cbuild push "$REGISTRY/team/app:1"
    digest=$output
    no_password
    export CBUILD_ROOT=$TESTDIR/store2
    run_cbuild pull "$REGISTRY/team/app:1"
    assert "$output" == "$digest"
    no_password
    run_cbuild inspect "$REGISTRY/team/app:1"
    assert "$(json_out 'd[0]["Id"]')" == "$id"
    # (the registry lists the actions of a scope in any order)
    grep -Eq "token user=user scope=repository:team/app:(pull,push|push,pull) status=200" "$TOKEN_LOG"
    ! grep -qF -- "$PASS" "$TOKEN_LOG" "$TESTDIR/registry/registry.log"
}

@test "registry token: an anonymous pull of a private repository is a clear 401" {
    run_cbuild login -u user -p "$PASS" "$REGISTRY"
    import_tiny "$REGISTRY/private/app:1" private
    run_cbuild push "$REGISTRY/private/app:1"
    run_cbuild push "$REGISTRY/private/app:1" "$REGISTRY/public/app:1"
    digest=$output
    run_cbuild logout "$REGISTRY"
    export CBUILD_ROOT=$TESTDIR/store2
    run_cbuild 1 pull "$REGISTRY/private/app:1"
    assert "$stderr" == "cbuild: error: pulling '$REGISTRY/private/app:1': manifest '1': HTTP 401 Unauthorized (UNAUTHORIZED: authentication required)"
    run_cbuild images -q
    assert "$output" == ""
    grep -q "token user=- scope=repository:private/app:pull status=200" "$TOKEN_LOG"
    # An anonymous token does for a public repository.
    run_cbuild pull "$REGISTRY/public/app:1"
    assert "$output" == "$digest"
}

@test "registry token: a wrong password is a clear 401 and is never shown" {
    run_cbuild 1 login -u user -p "wrong-$PASS" "$REGISTRY"
    assert "$stderr" == "cbuild: error: login to $REGISTRY failed: HTTP 401 Unauthorized: token: HTTP 401 Unauthorized"
    no_password
    [ ! -e "$REGISTRY_AUTH_FILE" ]
    mkdir -p "$DOCKER_CONFIG"
    printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$REGISTRY" \
        "$(printf 'user:wrong-%s' "$PASS" | base64 -w0)" >"$DOCKER_CONFIG/config.json"
    import_tiny "$REGISTRY/team/app:1" app
    run_cbuild 1 --log-level debug push "$REGISTRY/team/app:1"
    assert "$stderr" =~ "pushing '$REGISTRY/team/app:1': config: blob sha256:[0-9a-f]{12}: HTTP 401 Unauthorized: token: HTTP 401 Unauthorized$"
    no_password
    grep -q "token user=user scope=repository:team/app:pull status=401" "$TOKEN_LOG"
}

@test "registry token: a user who may only pull cannot push, and is told so" {
    run_cbuild login -u reader -p "$PASS" "$REGISTRY"
    import_tiny "$REGISTRY/team/app:1" app
    run_cbuild 1 push "$REGISTRY/team/app:1"
    assert "$stderr" =~ "pushing '$REGISTRY/team/app:1': config: blob sha256:[0-9a-f]{12}: HTTP 401 Unauthorized \(UNAUTHORIZED: authentication required\)"
    no_password
}

# one_token_per_scope: no scope was asked for twice since the token log
# was last emptied.
one_token_per_scope() {
    cat "$TOKEN_LOG" >&2
    assert "$(sort "$TOKEN_LOG" | uniq -d)" == ""
}

@test "registry token: one token request per scope in a run, mounts included" {
    run_cbuild login -u user -p "$PASS" "$REGISTRY"
    run_cbuild import --timestamp 0 "$(busybox_tar)" "$REGISTRY/team/base:1"
    : >"$TOKEN_LOG"
    run_cbuild push "$REGISTRY/team/base:1"
    one_token_per_scope
    run_cbuild tag "$REGISTRY/team/base:1" "$REGISTRY/team/app:1"
    : >"$TOKEN_LOG"
    run_cbuild --log-level info push "$REGISTRY/team/app:1"
    digest=$output
    assert "$stderr" =~ "mounted from 'team/base'"
    one_token_per_scope
    # (and the scopes of a mount's challenge in any order too)
    grep -Eq "scope=(repository:team/app:(pull,push|push,pull),repository:team/base:pull|repository:team/base:pull,repository:team/app:(pull,push|push,pull)) status=200" "$TOKEN_LOG"
    export CBUILD_ROOT=$TESTDIR/store2
    : >"$TOKEN_LOG"
    run_cbuild pull "$REGISTRY/team/app:1"
    assert "$output" == "$digest"
    one_token_per_scope
    assert "$(wc -l <"$TOKEN_LOG")" == 1
}
