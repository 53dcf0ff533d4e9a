# Shared set-up for the integration tests: each test gets a scratch
# directory, and cbuild is the binary under test (CBUILD, set by meson).

CBUILD=${CBUILD:?CBUILD must point at the cbuild binary}
CB_SRCDIR=${CB_SRCDIR:?CB_SRCDIR must point at the source tree}
FIXTURES=$CB_SRCDIR/tests/integration/fixtures

# A file that needs more in its setup calls helpers_setup from its own.
helpers_setup() {
    TESTDIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/cbuild-bats.XXXXXX")
}

setup() {
    helpers_setup
}

teardown() {
    [ -n "${TESTDIR:-}" ] && rm -rf "$TESTDIR"
}

# fixture NAME: copy fixtures/NAME into the scratch dir; prints its path.
fixture() {
    local dest=$TESTDIR/$1
    mkdir -p "$dest"
    if [ -d "$FIXTURES/$1" ]; then
        cp -a "$FIXTURES/$1/." "$dest/"
    fi
    printf '%s\n' "$dest"
}

# run_cbuild [EXPECTED_RC] ARGS...: run cbuild under a timeout, with
# stdout in $output, stderr in $stderr, and check the exit status (default
# 0).
run_cbuild() {
    local want=0
    if [[ $1 =~ ^[0-9]+$ ]]; then
        want=$1
        shift
    fi
    echo "\$ cbuild $*" >&2
    set +e
    timeout --foreground 60 "$CBUILD" "$@" >"$TESTDIR/.out" 2>"$TESTDIR/.err" </dev/null
    status=$?
    set -e
    output=$(cat "$TESTDIR/.out")
    stderr=$(cat "$TESTDIR/.err")
    echo "$output" >&2
    echo "$stderr" >&2
    if [ "$status" -ne "$want" ]; then
        echo "expected exit status $want, got $status" >&2
        return 1
    fi
}

# assert VALUE OP EXPECTED: OP is ==, != or =~ (a bash regex).
assert() {
    local got=$1 op=$2 want=$3
    case $op in
        '==') [[ $got == "$want" ]] ;;
        '!=') [[ $got != "$want" ]] ;;
        '=~') [[ $got =~ $want ]] ;;
        *) echo "assert: unknown operator $op" >&2; return 2 ;;
    esac || {
        printf 'assertion failed:\n  got:  %s\n  op:   %s\n  want: %s\n' "$got" "$op" "$want" >&2
        return 1
    }
}

# The number of lines of $1.
line_count() {
    if [ -z "$1" ]; then echo 0; else printf '%s\n' "$1" | wc -l; fi
}

# A store of its own for every test.
export CBUILD_ROOT=
cbuild_root_setup() {
    export CBUILD_ROOT=$TESTDIR/store
}

# The busybox base rootfs as a tar (made once per test file, in
# $BATS_FILE_TMPDIR or a shared temp dir).
busybox_tar() {
    local dir=${BATS_FILE_TMPDIR:-${BATS_TMPDIR:-/tmp}}
    local tar=$dir/busybox-rootfs.tar
    if [ ! -f "$tar" ]; then
        # The script writes a tar only to a name ending in .tar.
        SOURCE_DATE_EPOCH=0 bash "$CB_SRCDIR/scripts/make-busybox-rootfs.sh" "$tar.tmp.tar" >&2
        mv "$tar.tmp.tar" "$tar"
    fi
    printf '%s\n' "$tar"
}

# skip_unless_cmd CMD...: skip the test when a tool is missing; under CI,
# where scripts/deps.sh installs every tool the tests use, fail instead, so
# that a missing install step cannot hide behind a skip.
skip_unless_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 && continue
        if [ "${CI:-}" = true ]; then
            echo "$c is not installed (scripts/deps.sh --test should have installed it)" >&2
            return 1
        fi
        skip "$c is not installed"
    done
}

# A runtime dir and home for rootless podman/runc in this test.
rootless_env() {
    export XDG_RUNTIME_DIR=$TESTDIR/run HOME=$TESTDIR/home
    mkdir -p "$XDG_RUNTIME_DIR" "$HOME"
    chmod 700 "$XDG_RUNTIME_DIR"
}

# jq-free JSON field access through python3: json_get FILE EXPR
json_get() {
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {"d": d}))' "$1" "$2"
}

# json_out EXPR: evaluate EXPR (python, the JSON in $output as d) and
# print it (dicts and lists as JSON, strings as they are).
json_out() {
    python3 -c 'import json,sys
v = eval(sys.argv[1], {"d": json.loads(sys.stdin.read())})
print(v if isinstance(v, str) else json.dumps(v, sort_keys=True))' "$1" <<<"$output"
}

# "sha256:<hex>" of FILE.
sha256_of() {
    local sum
    sum=$(sha256sum "$1")
    printf 'sha256:%s\n' "${sum%% *}"
}

# The number of blobs in the store.
blob_count() {
    find "$CBUILD_ROOT/blobs/sha256" -type f | wc -l
}

# import_base [NAME [ARGS...]]: import the busybox rootfs as NAME
# (default base:1), reproducibly (SOURCE_DATE_EPOCH=0); $output is the ID.
import_base() {
    local name=${1:-base:1}
    [ $# -gt 0 ] && shift
    SOURCE_DATE_EPOCH=0 run_cbuild import "$@" "$(busybox_tar)" "$name"
}

# skip_if_root REASON / skip_unless_root REASON
skip_if_root() {
    [ "$(id -u)" -ne 0 ] || skip "as root: $1"
}
skip_unless_root() {
    [ "$(id -u)" -eq 0 ] || skip "not root: $1"
}

# start_registry DIR: run a Docker distribution registry (docker-registry,
# no root needed) on a free 127.0.0.1 port, storing into DIR, and wait
# until /v2/ answers.  Sets REGISTRY (127.0.0.1:PORT) and REGISTRY_PID;
# stop it with stop_registry.  Skips the test when the registry is not
# installed.
start_registry() {
    local dir=$1 port i
    skip_unless_cmd docker-registry
    mkdir -p "$dir/storage"
    port=$(free_port)
    cat >"$dir/config.yml" <<EOC
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/storage
http:
  addr: 127.0.0.1:$port
EOC
    # fd 3 is bats' own: a background child must not hold it.
    docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 3>&- &
    REGISTRY_PID=$!
    REGISTRY=127.0.0.1:$port
    export REGISTRY REGISTRY_PID
    for ((i = 0; i < 100; i++)); do
        if http_status "http://$REGISTRY/v2/" | grep -q '^200$'; then
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

stop_registry() {
    if [ -n "${REGISTRY_PID:-}" ]; then
        kill "$REGISTRY_PID" 2>/dev/null || true
        wait "$REGISTRY_PID" 2>/dev/null || true
        REGISTRY_PID=
    fi
}

# A TCP port on 127.0.0.1 that nothing listens on (now).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# http_status URL [METHOD [CONTENT_TYPE [BODY_FILE]]]: the HTTP status of
# a request (0 when nothing answered), through python3.
http_status() {
    python3 - "$@" <<'EOP'
import sys, urllib.request, urllib.error
url = sys.argv[1]
method = sys.argv[2] if len(sys.argv) > 2 else "GET"
data = open(sys.argv[4], "rb").read() if len(sys.argv) > 4 else None
req = urllib.request.Request(url, data=data, method=method)
if len(sys.argv) > 3:
    req.add_header("Content-Type", sys.argv[3])
try:
    print(urllib.request.urlopen(req, timeout=5).status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception:
    print(0)
EOP
}
