# Helpers of the registry*.bats files: certificates, and docker-registry
# set up with TLS and token auth backed by token_server.py.

# make_certs DIR: a CA (DIR/ca.crt) and a server certificate for the IP
# address 127.0.0.1 it signed (DIR/server.crt, DIR/server.key), and a
# client certificate (DIR/client.cert, DIR/client.key).
make_certs() {
    local d=$1
    mkdir -p "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=cbuild test CA" \
        -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
        -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\n' >"$d/ext.cnf"
    openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
        -CAcreateserial -days 2 -extfile "$d/ext.cnf" -out "$d/server.crt" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=cbuild test client" \
        -keyout "$d/client.key" -out "$d/client.csr" 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' >"$d/client.cnf"
    openssl x509 -req -in "$d/client.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
        -CAcreateserial -days 2 -extfile "$d/client.cnf" -out "$d/client.cert" 2>/dev/null
}

# start_token_registry DIR: token_server.py (HTTPS, users from
# DIR/users: "user" with password $PASS, "reader" with $PASS too) and a
# docker-registry with TLS and "auth: token" that trusts its signing
# certificate.  Sets REGISTRY, REGISTRY_PID, TOKEN_PID and TOKEN_LOG (the
# server's request log); the CA is left in $TESTDIR/ca.crt.
start_token_registry() {
    local dir=$1 port tport i
    skip_unless_cmd docker-registry
    skip_unless_cmd openssl python3
    mkdir -p "$dir/storage"
    make_certs "$dir/tls"
    cp "$dir/tls/ca.crt" "$TESTDIR/ca.crt"
    # The token signing key, with a self-signed certificate: the
    # registry's rootcertbundle.
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=cbuild token signer" \
        -keyout "$dir/sign.key" -out "$dir/sign.crt" 2>/dev/null
    printf 'user:%s\nreader:%s\n' "$PASS" "$PASS" >"$dir/users"
    TOKEN_LOG=$dir/token.log
    : >"$TOKEN_LOG"
    python3 "$CB_SRCDIR/tests/integration/token_server.py" "$dir/token.port" \
        "$dir/tls/server.crt" "$dir/tls/server.key" "$dir/sign.crt" "$dir/sign.key" \
        "$dir/users" "$TOKEN_LOG" cbuild-token-issuer >"$dir/token-server.log" 2>&1 3>&- &
    TOKEN_PID=$!
    for ((i = 0; i < 100; i++)); do
        [ -s "$dir/token.port" ] && break
        sleep 0.1
    done
    tport=$(cat "$dir/token.port")
    port=$(free_port)
    cat >"$dir/config.yml" <<EOC
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/storage
auth:
  token:
    realm: https://127.0.0.1:$tport/token
    service: cbuild-registry
    issuer: cbuild-token-issuer
    rootcertbundle: $dir/sign.crt
http:
  addr: 127.0.0.1:$port
  tls:
    certificate: $dir/tls/server.crt
    key: $dir/tls/server.key
EOC
    env -u REGISTRY_AUTH_FILE docker-registry serve "$dir/config.yml" \
        >"$dir/registry.log" 2>&1 3>&- &
    REGISTRY_PID=$!
    REGISTRY=127.0.0.1:$port
    export REGISTRY REGISTRY_PID TOKEN_PID TOKEN_LOG
    for ((i = 0; i < 100; i++)); do
        if [ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$TESTDIR/ca.crt" \
                "https://$REGISTRY/v2/")" = 401 ]; then
            return 0
        fi
        kill -0 "$REGISTRY_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "the registry did not start:" >&2
    cat "$dir/registry.log" "$dir/token-server.log" >&2
    stop_token_registry
    return 1
}

stop_token_registry() {
    stop_registry
    if [ -n "${TOKEN_PID:-}" ]; then
        kill "$TOKEN_PID" 2>/dev/null || true
        wait "$TOKEN_PID" 2>/dev/null || true
        TOKEN_PID=
    fi
}

# trust_ca: put the test CA in the certs.d directory of $REGISTRY.
trust_ca() {
    mkdir -p "$CBUILD_CERTS_DIR/$REGISTRY"
    cp "$TESTDIR/ca.crt" "$CBUILD_CERTS_DIR/$REGISTRY/ca.crt"
}
