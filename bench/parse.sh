#!/usr/bin/env bash
# Benchmark, not a test: parse a generated 20,000-line Dockerfile.
# Goal (issue #2): under 50 ms, parse memory under 10x the file size.
# usage: bench/parse.sh [BUILD_DIR]   (default: build-bench, optimized)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build-bench}
out=$here/bench/out
mkdir -p "$out"

if [ ! -d "$build" ]; then
    meson setup "$build" "$here" --buildtype=release >/dev/null
fi
ninja -C "$build" bench/bench_parse cli/cbuild >/dev/null

gen() {
    local n=$1 i
    echo '# syntax=docker/dockerfile:1'
    echo 'ARG BASE=debian:12'
    echo 'FROM ${BASE} AS base'
    for ((i = 0; i < n; i += 9)); do
        printf 'RUN apt-get update && \\\n    apt-get install -y pkg%d && \\\n    rm -rf /var/lib/apt/lists/*\n' "$i"
        printf 'ENV VAR%d="value %d" OTHER%d=x\\ y\n' "$i" "$i" "$i"
        printf 'COPY --chown=1000:1000 --chmod=0644 src/%d/ /app/%d/\n' "$i" "$i"
        printf 'LABEL org.example.n%d="%d" description="line %d"\n' "$i" "$i" "$i"
        printf 'RUN --mount=type=cache,target=/root/.cache,id=c%d ["sh", "-c", "echo %d"]\n' "$i" "$i"
        printf 'WORKDIR /app/%d\n' "$i"
        printf 'EXPOSE %d/tcp\n' $((i % 60000 + 1))
    done
    echo 'CMD ["/app/run"]'
}

file=$out/big.Dockerfile
gen 20000 >"$file"
echo "generated: $(wc -l <"$file") lines, $(wc -c <"$file") bytes"
"$build/bench/bench_parse" "$file" 30
/usr/bin/time -f 'cbuild parse --dump (whole process): %e s, peak RSS %M KiB' \
    "$build/cli/cbuild" parse --dump "$file" >/dev/null
