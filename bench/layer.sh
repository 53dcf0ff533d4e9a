#!/usr/bin/env bash
# Benchmark, not a test: layer write throughput and peak memory.
#
# Data, made under a scratch dir and removed at the end:
#   small: 20,000 files in 200 directories, ~80 MB in all (pieces of a tar
#          of /usr/share: text, images, binaries, as layers hold)
#   big:   two 1 GiB files, one random, one compressible (the first GiB
#          of a tar of /usr)
# For gzip and zstd it runs cbuild's layer writer (bench_layer: the whole
# pipeline, blob sent to a sink that counts and drops it) next to
#   tar cf - DIR | pigz -6 -p2 | sha256sum
#   tar cf - DIR | zstd -T2 -3 | sha256sum
# on the same data, warm page cache, best of RUNS (alternating), and prints MB/s of tar
# input and peak RSS (/usr/bin/time %M; for a pipeline, its largest
# process).
# Goals (task brief): >= 1.0x the pipelines' throughput; peak RSS <= 32 MiB
# for the 2 GiB case.
#
# usage: bench/layer.sh [BUILD_DIR]   (default: build-bench, release)
#   BENCH_DIR=/path  where the data goes (default: a new dir in $TMPDIR or
#                    /tmp; needs 2.2 GB)
#   RUNS=N           runs of each command, the best is kept (default 3)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build-bench}
runs=${RUNS:-3}

for tool in pigz zstd tar sha256sum python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "layer.sh: needs $tool" >&2; exit 1; }
done
if [ ! -d "$build" ]; then
    meson setup "$build" "$here" --buildtype=release >/dev/null
fi
ninja -C "$build" bench/bench_layer >/dev/null
bench=$build/bench/bench_layer

data=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/cb-layer-bench.XXXXXX")}
mkdir -p "$data"
trap 'rm -rf "$data"' EXIT
avail=$(df -P --block-size=1M "$data" | awk 'NR == 2 { print $4 }')
if [ "$avail" -lt 2500 ]; then
    echo "layer.sh: $data has ${avail} MiB free, needs 2500" >&2
    exit 1
fi

echo "making data under $data ..." >&2
mkdir -p "$data/small" "$data/big"
# head stops reading early: tar's SIGPIPE is expected, not a failure.
first_bytes() { (set +o pipefail; tar cf - -C / "$1" 2>/dev/null | head -c "$2"); }
first_bytes usr/share 90000000 | python3 -c '
import os, random, sys
src = sys.stdin.buffer.read()
rnd = random.Random(42)
root, off = sys.argv[1], 0
for d in range(200):
    os.mkdir(f"{root}/d{d:03}")
    for f in range(100):
        n = rnd.randint(512, 7680)
        if off + n > len(src):
            off = 0
        with open(f"{root}/d{d:03}/f{f:03}", "wb") as out:
            out.write(src[off:off + n])
        off += n
' "$data/small"
head -c 1073741824 /dev/urandom >"$data/big/random"
first_bytes usr 1073741824 >"$data/big/compressible"
[ "$(stat -c %s "$data/big/compressible")" -eq 1073741824 ] ||
    { echo "layer.sh: /usr holds less than 1 GiB" >&2; exit 1; }
# The data was just written: let writeback finish before timing.
sync
cat "$data"/small/*/* "$data"/big/* >/dev/null # warm the page cache

# measure CMD: wall seconds and peak RSS (KiB) of bash -c CMD into T, M.
measure() {
    /usr/bin/time -f '%e %M' -o "$data/time" bash -c "$1" >/dev/null
    read -r T M <"$data/time"
}

line() { # LABEL BYTES SECONDS KIB
    awk -v l="$1" -v b="$2" -v t="$3" -v m="$4" 'BEGIN {
        if (t < 0.01) t = 0.01
        printf "%-38s %8.1f MB/s %8.2f s %8.1f MiB\n", l, b / 1e6 / t, t, m / 1024 }'
}

# compare LABEL BYTES CMD LABEL2 BYTES2 CMD2: run both RUNS times,
# alternating (the host's speed drifts), keep the best time of each.
compare() {
    local t1="" m1="" t2="" m2="" i
    for ((i = 0; i < runs; i++)); do
        measure "$3"
        if [ -z "$t1" ] || awk "BEGIN { exit !($T < $t1) }"; then t1=$T m1=$M; fi
        measure "$6"
        if [ -z "$t2" ] || awk "BEGIN { exit !($T < $t2) }"; then t2=$T m2=$M; fi
    done
    line "$1" "$2" "$t1" "$m1"
    line "$4" "$5" "$t2" "$m2"
    awk -v b1="$2" -v t1="$t1" -v b2="$5" -v t2="$t2" 'BEGIN {
        if (t1 < 0.01) t1 = 0.01; if (t2 < 0.01) t2 = 0.01
        printf "%-38s %8.2fx\n", "  ratio (cbuild / pipeline)", (b1 / t1) / (b2 / t2) }'
}

tar_bytes() { "$bench" -c none "$1" | awk '$1 == "tar_bytes" { print $2 }'; }
gnutar_bytes() { tar cf - -C "$1" . | wc -c; }

echo
printf "%-38s %13s %10s %12s\n" "(best of $runs)" "tar input" "wall" "peak RSS"
for set in small big; do
    dir=$data/$set
    ours=$(tar_bytes "$dir")
    theirs=$(gnutar_bytes "$dir")
    echo "== $set: $(find "$dir" -type f | wc -l) files, tar $ours bytes (GNU tar: $theirs)"
    compare "cbuild gzip -6, 2 threads" "$ours" "exec '$bench' -c gzip -l 6 -t 2 '$dir'" \
        "tar | pigz -6 -p2 | sha256sum" "$theirs" "tar cf - -C '$dir' . | pigz -6 -p2 | sha256sum"
    compare "cbuild zstd -3, 2 threads" "$ours" "exec '$bench' -c zstd -l 3 -t 2 '$dir'" \
        "tar | zstd -T2 -3 | sha256sum" "$theirs" "tar cf - -C '$dir' . | zstd -q -T2 -3 | sha256sum"
done

echo
echo "blob sizes (bytes):"
for set in small big; do
    for c in gzip zstd; do
        printf "  %-6s %-12s %12s\n" "$set" "cbuild $c" \
            "$("$bench" -c "$c" "$data/$set" | awk '$1 == "blob_bytes" { print $2 }')"
    done
    printf "  %-6s %-12s %12s\n" "$set" "pigz -6" \
        "$(tar cf - -C "$data/$set" . | pigz -6 -p2 | wc -c)"
    printf "  %-6s %-12s %12s\n" "$set" "zstd -3" \
        "$(tar cf - -C "$data/$set" . | zstd -q -T2 -3 | wc -c)"
done
