#!/usr/bin/env bash
# Benchmark, not a test: start-to-exit latency of `cbuild run IMAGE true`
# next to rootless `runc run` of the same rootfs and `buildah run`, in one
# run, as the unprivileged user cbuild-test when started as root.
#
#   cbuild   cbuild run busybox true       (a fresh overlay each time, the
#                                          user namespace entered through
#                                          newuidmap/newgidmap)
#   runc     runc --root STATE run -b BUNDLE ID   (a bundle from `runc spec
#            --rootless`: the rootfs dir as is, no overlay; its user
#            namespace maps only the caller, so no newuidmap)
#   buildah  buildah run --runtime runc CTR true   (a working container
#            made once with `buildah from`; overlay driver)
# crun is not measured: it fails on this host's hybrid cgroups ("cgroups in
# hybrid mode not supported"), and so does buildah's default runtime, which
# is crun here.  Each command runs RUNS times (default 20), the three
# alternating; the table gives the median and the fastest, in ms.
# Goal (issue #4): cbuild <= the OCI runtime's latency + 20 ms.
#
# usage: bench/run.sh [BUILD_DIR]   (default: build-bench, release)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build-bench}
bench_user=cbuild-test

if [ "$(id -u)" -eq 0 ]; then
    bash "$here/scripts/deps.sh" --bench
    [ -d "$build" ] || meson setup "$build" "$here" --buildtype=release >/dev/null
    ninja -C "$build" cli/cbuild >/dev/null
    data=$(mktemp -d /tmp/cb-run-bench.XXXXXX)
    chown "$bench_user:" "$data"
    chmod 755 "$data"
    rc=0
    runuser -u "$bench_user" -- env -C "$data" HOME="$(getent passwd "$bench_user" | cut -d: -f6)" \
        BENCH_DIR="$data" CB_BENCH_BUILT=1 bash "$here/bench/run.sh" "$build" || rc=$?
    rm -rf "$data"
    exit $rc
fi

for tool in buildah runc; do
    command -v "$tool" >/dev/null || { echo "run.sh: needs $tool (scripts/deps.sh --bench)" >&2; exit 1; }
done
if [ -z "${CB_BENCH_BUILT:-}" ]; then
    [ -d "$build" ] || meson setup "$build" "$here" --buildtype=release >/dev/null
    ninja -C "$build" cli/cbuild >/dev/null
fi
cbuild=$build/cli/cbuild
runs=${RUNS:-20}
runc=$(command -v runc)
data=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/cb-run-bench.XXXXXX")}
export CBUILD_ROOT=$data/cbuild-store
ba=(buildah --root "$data/buildah-store" --runroot "$data/buildah-run" --storage-driver overlay)
ctr=
cleanup() {
    [ -z "$ctr" ] || "${ba[@]}" rm "$ctr" >/dev/null 2>&1 || true
    "$cbuild" unshare rm -rf "$data/cbuild-store" "$data/buildah-store" "$data/buildah-run" || true
    [ -n "${BENCH_DIR:-}" ] || rm -rf "$data"
}
trap cleanup EXIT

echo "setting up under $data ..." >&2
bash "$here/scripts/make-busybox-rootfs.sh" "$data/busybox.tar"
"$cbuild" import "$data/busybox.tar" busybox:latest >/dev/null

mkdir -p "$data/bundle/rootfs" "$data/runc-state"
tar -xf "$data/busybox.tar" -C "$data/bundle/rootfs"
(cd "$data/bundle" && "$runc" spec --rootless)
python3 - "$data/bundle/config.json" <<'EOF'
import json, sys
path = sys.argv[1]
spec = json.load(open(path))
spec["process"]["args"] = ["true"]
spec["process"]["terminal"] = False
json.dump(spec, open(path, "w"), indent=1)
EOF

c=$("${ba[@]}" from scratch)
"${ba[@]}" add "$c" "$data/busybox.tar" / >/dev/null
"${ba[@]}" commit -q "$c" busybox >/dev/null
"${ba[@]}" rm "$c" >/dev/null
ctr=$("${ba[@]}" from --pull=never busybox)

# Each once, so that a failure shows before the timing.
"$cbuild" run busybox true
"$runc" --root "$data/runc-state" run -b "$data/bundle" warmup </dev/null
"${ba[@]}" run --runtime "$runc" "$ctr" true

ms() { # run CMD, print its wall time in ms
    local t0=$EPOCHREALTIME
    "$@" >/dev/null </dev/null
    awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f\n", (b - a) * 1000 }'
}
declare -A t
for ((i = 0; i < runs; i++)); do
    t[cbuild]+=" $(ms "$cbuild" run busybox true)"
    t[runc]+=" $(ms "$runc" --root "$data/runc-state" run -b "$data/bundle" "r$i")"
    t[buildah]+=" $(ms "${ba[@]}" run --runtime "$runc" "$ctr" true)"
done

stats() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%8.1f %8.1f", m, v[1] }'; }
echo
echo "start-to-exit of 'true', $runs runs each (runc $("$runc" --version | awk 'NR == 1 { print $3 }'), \
buildah $("${ba[@]}" --version | awk '{ print $3 }'))"
printf '%-40s %8s %8s\n' "" "median" "fastest"
printf '%-40s %s\n' "cbuild run busybox true" "$(stats <<<"${t[cbuild]}")"
printf '%-40s %s\n' "runc run (rootless bundle)" "$(stats <<<"${t[runc]}")"
printf '%-40s %s\n' "buildah run --runtime runc" "$(stats <<<"${t[buildah]}")"
read -r mc _ <<<"$(stats <<<"${t[cbuild]}")"
read -r mr _ <<<"$(stats <<<"${t[runc]}")"
awk -v c="$mc" -v r="$mr" 'BEGIN {
    printf "cbuild - runc: %+.1f ms (goal: <= +20 ms) %s\n", c - r, (c - r <= 20 ? "ok" : "MISS") }'
