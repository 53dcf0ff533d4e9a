#!/usr/bin/env bash
# Benchmark, not a test: push and pull throughput and cbuild's peak RSS
# against a local docker-registry (plain HTTP on 127.0.0.1), next to
# skopeo copy on the same images in the same run.
#
# Images (written by tests/integration/make_oci_layout.py):
#   big:   one layer holding a 1 GiB random file (gzip -1: ~1 GiB blob)
#   many:  200 layers of one 16 KiB random file each
# For each image:
#   push:  skopeo copy oci:LAYOUT -> registry A (fresh)
#          cbuild push (the image pulled into its store) -> registry B
#          (fresh, so neither tool finds a blob there or can mount one)
#   pull:  cbuild pull from A into an empty store
#          skopeo copy A -> oci:DIR (empty)
# Prints seconds, MB/s of blob bytes, and peak RSS (/usr/bin/time %M).
# Goals (issue #6): >= 1.0x skopeo's throughput; cbuild's peak RSS
# <= 64 MiB.
#
# usage: bench/registry.sh [BUILD_DIR]   (default: build)
#   BENCH_DIR=/path  where the data goes (default: a new dir in $TMPDIR or
#                    /tmp; needs ~6 GB)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
cbuild=$build/cli/cbuild

for tool in docker-registry skopeo python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "registry.sh: needs $tool" >&2; exit 1; }
done
ninja -C "$build" cli/cbuild >/dev/null

data=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/cb-registry-bench.XXXXXX")}
mkdir -p "$data"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$data"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_registry NAME: a fresh registry; prints its host:port.
start_registry() {
    local dir=$data/reg-$1 port i
    mkdir -p "$dir"
    port=$(free_port)
    cat >"$dir/config.yml" <<EOC
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $dir/storage
http:
  addr: 127.0.0.1:$port
EOC
    docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
    pids+=($!)
    for ((i = 0; i < 100; i++)); do
        curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break
        sleep 0.1
    done
    printf '127.0.0.1:%s\n' "$port"
}

# timed LABEL BYTES CMD...: run CMD, print its line of the table.
timed() {
    local label=$1 bytes=$2
    shift 2
    /usr/bin/time -f '%e %M' -o "$data/time" "$@" >"$data/cmd.out" 2>"$data/cmd.err" || {
        echo "registry.sh: $label failed:" >&2
        cat "$data/cmd.err" >&2
        exit 1
    }
    read -r secs rss <"$data/time"
    python3 -c 'import sys
label, b, s, rss = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
print("%-22s %8.2f s %9.1f MB/s %8.1f MiB" % (label, s, b / 1e6 / max(s, 0.01), rss / 1024))' \
        "$label" "$bytes" "$secs" "$rss"
}

blob_bytes() {
    du -sb --apparent-size "$1/blobs" | cut -f1
}

printf '%-22s %10s %14s %12s\n' "" time throughput "peak RSS"
for image in big many; do
    layout=$data/layout-$image
    case $image in
        big) python3 "$here/tests/integration/make_oci_layout.py" "$layout" 1 1 $((1 << 30)) ;;
        many) python3 "$here/tests/integration/make_oci_layout.py" "$layout" 1 200 16384 ;;
    esac
    bytes=$(blob_bytes "$layout")
    echo "== $image: $(find "$layout/blobs" -type f | wc -l) blobs, $((bytes / 1048576)) MiB"
    a=$(start_registry "$image-a")
    b=$(start_registry "$image-b")
    export CBUILD_ROOT=$data/store-$image
    timed "skopeo push" "$bytes" skopeo --insecure-policy copy -q \
        --dest-tls-verify=false "oci:$layout:1" "docker://$a/$image:1"
    timed "cbuild pull" "$bytes" "$cbuild" pull "$a/$image:1"
    timed "skopeo pull" "$bytes" skopeo --insecure-policy copy -q \
        --src-tls-verify=false "docker://$a/$image:1" "oci:$data/pulled-$image:1"
    timed "cbuild push" "$bytes" "$cbuild" push "$a/$image:1" "$b/$image:1"
    rm -rf "$layout" "$data/pulled-$image" "$CBUILD_ROOT" "$data/reg-$image-a" "$data/reg-$image-b"
done
