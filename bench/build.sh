#!/usr/bin/env bash
# Benchmark, not a test: `cbuild build` next to `buildah bud --layers`,
# both rootless (as the unprivileged user cbuild-test when started as root),
# buildah on its overlay driver with runc (crun fails on this host's hybrid
# cgroups), in the same run, on the same contexts and the same busybox base
# (scripts/make-busybox-rootfs.sh; `cbuild import` for cbuild, `buildah
# from scratch` + `buildah add` + `buildah commit` for buildah).
#
# Workloads (contexts made under a scratch dir, removed at the end):
#   hello   COPY a script, RUN it, CMD                   changed: the script
#   small   COPY of 20,000 files (~80 MB, pieces of a tar of /usr/share)
#                                                        changed: one file
#   big     COPY of one 2 GiB file (1 GiB of a tar of /usr, 1 GiB random),
#           then COPY of a small file                    changed: the small one
#   run     COPY a script, RUN it: it writes 10,000 files and deletes base
#           files (a directory, a file, every /usr/bin/[a-f]* applet)
#                                                        changed: the script
#   multi   two independent stages (COPY 500 sources + RUN; RUN writing 200
#           files), a final stage copying from both  changed: one source
# Phases, each a build in a fresh store (cold), again (no-op rebuild), and
# after one context file changed (one-file-changed rebuild).  Each run
# starts from an empty store holding only the base; the figures are the
# median of the runs (RUNS, default 5; RUNS_BIG for small and big, default
# 3), the two tools alternating.
# Peak RSS: bench/proctree.py samples the process tree: "tree" is the
# largest sum of VmHWM of the live processes running the tool's binaries
# (cbuild: the waiting parent, the worker it re-executes inside its user
# namespace, the sandbox's PID 1; buildah: buildah and runc), "largest" the
# largest single process (for cbuild, the worker).  Maximum over the runs.
# Goals (issue #5): cold <= 0.5x buildah, no-op rebuild <= 0.1x, one-file-
# changed <= 0.3x, cbuild's peak RSS <= 32 MiB.
#
# usage: bench/build.sh [BUILD_DIR]   (default: build-bench, release)
#   WORKLOADS="hello small big run multi"   which to run
#   BENCH_DIR=/path  where data and stores go (default: a new dir in /tmp,
#                    as root with a new ext4 filesystem mounted on it from
#                    a sparse image file beside it; needs 12 GB for big)
#   BENCH_FS=here    as root, no filesystem of its own
#   COMPRESSION=gzip|zstd  cbuild's layer compression (default: gzip, its
#                    default; buildah keeps layers uncompressed locally)
# As root: installs buildah & co. (scripts/deps.sh --bench), builds, and
# runs the rest as cbuild-test.  As another user: needs buildah, runc and a
# subuid range.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build-bench}
bench_user=cbuild-test

if [ "$(id -u)" -eq 0 ]; then
    bash "$here/scripts/deps.sh" --bench
    if [ ! -d "$build" ]; then
        meson setup "$build" "$here" --buildtype=release >/dev/null
    fi
    ninja -C "$build" cli/cbuild >/dev/null
    data=${BENCH_DIR:-$(mktemp -d /tmp/cb-build-bench.XXXXXX)}
    mkdir -p "$data"
    img=
    if [ -z "${BENCH_DIR:-}" ] && [ "${BENCH_FS:-loop}" = loop ]; then
        # A filesystem of its own: on a disk shared with other work, ext4
        # skips the inodes others freed in the last minutes, scanning for
        # a free one, and a file create can cost 30x more (seen here:
        # 12 s instead of 1 s to create 20,000 files).
        img=$data.img
        truncate -s "${BENCH_FS_SIZE:-24G}" "$img"
        mkfs.ext4 -q -E lazy_itable_init=0,lazy_journal_init=0 "$img"
        mount -o loop "$img" "$data"
    fi
    chown "$bench_user:" "$data"
    chmod 755 "$data"
    rc=0
    runuser -u "$bench_user" -- env -C "$data" HOME="$(getent passwd "$bench_user" | cut -d: -f6)" \
        BENCH_DIR="$data" CB_BENCH_BUILT=1 CB_BENCH_REV="$(git -C "$here" describe --always --dirty)" \
        CB_BENCH_FS="${img:+a new ext4 on a loop device}" bash "$here/bench/build.sh" "$build" || rc=$?
    if [ -n "$img" ]; then
        umount "$data"
        rm -f "$img"
    fi
    [ -n "${BENCH_DIR:-}" ] || rm -rf "$data"
    exit $rc
fi

for tool in buildah runc python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "build.sh: needs $tool (scripts/deps.sh --bench)" >&2; exit 1; }
done
if [ -z "${CB_BENCH_BUILT:-}" ]; then
    [ -d "$build" ] || meson setup "$build" "$here" --buildtype=release >/dev/null
    ninja -C "$build" cli/cbuild >/dev/null
fi
cbuild=$build/cli/cbuild
proctree=$here/bench/proctree.py
runs=${RUNS:-5}
runs_big=${RUNS_BIG:-3}
workloads=${WORKLOADS:-hello small big run multi}
compression=${COMPRESSION:-gzip}
runc=$(command -v runc)
buildah_bin=$(command -v buildah)

data=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/cb-build-bench.XXXXXX")}
mkdir -p "$data"
own_data=${BENCH_DIR:+no}
cleanup() {
    drop_stores
    [ "${own_data:-}" = no ] || rm -rf "$data"
}
# A store per tool and run, all removed at the end: deleting many files
# just before a build slows it down (ext4 skips recently freed inodes,
# scanning for a free one: each file create in the overlay then costs
# ~0.4 ms instead of ~0.03 ms), so only few-file stores go at once.
nstore=0
cbstore= bastore= barun= ba=()
set_stores() {
    nstore=$((nstore + 1))
    cbstore=$data/stores/cbuild.$nstore
    bastore=$data/stores/buildah.$nstore
    barun=$data/stores/buildah-run.$nstore
    ba=("$buildah_bin" --root "$bastore" --runroot "$barun" --storage-driver overlay)
}
set_stores

drop_stores() {
    # The stores hold files of subordinate ids: remove them from inside
    # each tool's user namespace.
    [ -d "$data/stores" ] || return 0
    CBUILD_ROOT=$data/stores/cbuild.1 "$cbuild" unshare rm -rf "$data/stores"
}
trap cleanup EXIT

avail=$(df -P --block-size=1M "$data" | awk 'NR == 2 { print $4 }')
case " $workloads " in *" big "*) need=12000 ;; *) need=1000 ;; esac
if [ "$avail" -lt "$need" ]; then
    echo "build.sh: $data has ${avail} MiB free, needs $need" >&2
    exit 1
fi

# --- the contexts ---
echo "making contexts under $data ..." >&2
bash "$here/scripts/make-busybox-rootfs.sh" "$data/busybox.tar"
first_bytes() { (set +o pipefail; tar cf - -C / "$1" 2>/dev/null | head -c "$2"); }

mk_hello() {
    local c=$data/ctx/hello
    mkdir -p "$c"
    printf '#!/bin/sh\necho hello from the app\n' >"$c/app.sh"
    cat >"$c/Dockerfile" <<'EOF'
FROM busybox
WORKDIR /app
COPY app.sh .
RUN chmod +x app.sh && ./app.sh > greeting
CMD ["/app/app.sh"]
EOF
    echo app.sh >"$c/.changes"
}

mk_small() {
    local c=$data/ctx/small
    mkdir -p "$c/files"
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
' "$c/files"
    printf 'FROM busybox\nCOPY files/ /data/\n' >"$c/Dockerfile"
    echo files/d100/f050 >"$c/.changes"
}

mk_big() {
    local c=$data/ctx/big
    mkdir -p "$c"
    { first_bytes usr 1073741824; head -c 1073741824 /dev/urandom; } >"$c/big.bin"
    [ "$(stat -c %s "$c/big.bin")" -eq 2147483648 ] ||
        { echo "build.sh: /usr holds less than 1 GiB" >&2; exit 1; }
    echo v0 >"$c/version.txt"
    printf 'FROM busybox\nCOPY big.bin /data/\nCOPY version.txt /data/\n' >"$c/Dockerfile"
    echo version.txt >"$c/.changes"
}

mk_run() {
    local c=$data/ctx/run
    mkdir -p "$c"
    cat >"$c/gen.sh" <<'EOF'
#!/bin/sh
set -e
mkdir -p /gen
i=0
while [ $i -lt 10000 ]; do
    echo "generated file $i" > /gen/f$i
    i=$((i + 1))
done
rm -rf /usr/sbin /etc/group
rm -f /usr/bin/[a-f]*
EOF
    printf 'FROM busybox\nCOPY gen.sh /gen.sh\nRUN sh /gen.sh\n' >"$c/Dockerfile"
    echo gen.sh >"$c/.changes"
}

mk_multi() {
    local c=$data/ctx/multi i
    mkdir -p "$c/src"
    for ((i = 0; i < 500; i++)); do
        printf 'line %d of source %d\n' 1 "$i" 2 "$i" 3 "$i" >"$c/src/f$i.txt"
    done
    cat >"$c/Dockerfile" <<'EOF'
FROM busybox AS build
COPY src/ /src/
RUN mkdir /out && cat /src/* | sort > /out/all.txt && tar -cf /out/src.tar -C /src .

FROM busybox AS assets
RUN mkdir /assets && i=0 && while [ $i -lt 200 ]; do echo asset $i > /assets/a$i; i=$((i + 1)); done

FROM busybox
COPY --from=assets /assets/ /app/assets/
COPY --from=build /out/ /app/
CMD ["ls", "/app"]
EOF
    echo src/f123.txt >"$c/.changes"
}

for w in $workloads; do
    declare -F "mk_$w" >/dev/null || { echo "build.sh: no workload '$w'" >&2; exit 1; }
    "mk_$w"
done
sync
# Warm the page cache: both tools read the contexts from memory.
find "$data/ctx" -type f -exec cat {} + >/dev/null

# --- the tools ---
fresh_store() { # TOOL: an empty store holding only the base image
    case $1 in
        cbuild)
            CBUILD_ROOT=$cbstore "$cbuild" import "$data/busybox.tar" busybox:latest >/dev/null
            ;;
        buildah)
            local c
            c=$("${ba[@]}" from scratch)
            "${ba[@]}" add "$c" "$data/busybox.tar" / >/dev/null
            "${ba[@]}" commit -q "$c" busybox >/dev/null
            "${ba[@]}" rm "$c" >/dev/null
            ;;
    esac
}

stamp=0
change_file() { # WORKLOAD: make its one changed file differ from every earlier version
    local c=$data/ctx/$1
    stamp=$((stamp + 1))
    printf '# change %d\n' "$stamp" >>"$c/$(cat "$c/.changes")"
}

# build TOOL WORKLOAD: one timed build; sets T (s), TREE and BIG (KiB).
build() {
    local c=$data/ctx/$2 cmd exes log=$data/log
    case $1 in
        cbuild)
            cmd=(env CBUILD_ROOT="$cbstore" "$cbuild" build -q --compression "$compression"
                 -t "bench-$2" "$c")
            exes=$(readlink -f "$cbuild")
            ;;
        buildah)
            cmd=("${ba[@]}" bud --layers --pull=never --runtime "$runc" -q -t "bench-$2" "$c")
            exes=$(readlink -f "$buildah_bin"),$(readlink -f "$runc")
            ;;
    esac
    if ! python3 "$proctree" "$data/m" "$exes" -- "${cmd[@]}" >"$log" 2>&1; then
        echo "build.sh: $1 failed on $2:" >&2
        tail -20 "$log" >&2
        exit 1
    fi
    read -r T TREE BIG _ <"$data/m"
}

median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END {
    print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
maxof() { tr ' ' '\n' | grep . | sort -g | tail -1; }

echo "buildah $("${ba[@]}" --version | awk '{ print $3 }'), runc $("$runc" --version |
    awk 'NR == 1 { print $3 }'), cbuild ${CB_BENCH_REV:-$(git -C "$here" describe --always --dirty 2>/dev/null)}, \
layers: cbuild $compression, buildah uncompressed (containers-storage)"
echo "data and stores on ${CB_BENCH_FS:-$(df -P "$data" | awk 'NR == 2 { print $1 }')}, $(nproc) CPUs, \
load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A times tree big
for w in $workloads; do
    n=$runs
    case $w in small | big) n=$runs_big ;; esac
    echo "== $w: $n runs" >&2
    for ((i = 0; i < n; i++)); do
        set_stores
        for tool in cbuild buildah; do
            fresh_store "$tool"
            for phase in cold noop change; do
                [ "$phase" != change ] || change_file "$w"
                build "$tool" "$w"
                times[$tool,$w,$phase]+=" $T"
                tree[$tool,$w,$phase]+=" $TREE"
                big[$tool,$w,$phase]+=" $BIG"
            done
        done
        [ "$w" != big ] || drop_stores
    done
done
drop_stores

goal() { case $1 in cold) echo 0.5 ;; noop) echo 0.1 ;; change) echo 0.3 ;; esac; }
echo
printf '%-7s %-7s %10s %10s %7s %6s %4s   %-22s %s\n' workload phase "cbuild s" "buildah s" ratio goal "" \
    "cbuild RSS tree/worker" "buildah RSS tree/largest"
for w in $workloads; do
    for phase in cold noop change; do
        tc=$(median <<<"${times[cbuild,$w,$phase]}")
        tb=$(median <<<"${times[buildah,$w,$phase]}")
        awk -v w="$w" -v p="$phase" -v tc="$tc" -v tb="$tb" -v g="$(goal "$phase")" \
            -v rc="$(maxof <<<"${tree[cbuild,$w,$phase]}")" -v bc="$(maxof <<<"${big[cbuild,$w,$phase]}")" \
            -v rb="$(maxof <<<"${tree[buildah,$w,$phase]}")" -v bb="$(maxof <<<"${big[buildah,$w,$phase]}")" '
            BEGIN {
                r = tc / tb
                printf "%-7s %-7s %10.3f %10.3f %6.2fx %6s %4s   %6.1f / %5.1f MiB%s   %6.1f / %5.1f MiB\n",
                    w, p, tc, tb, r, "<=" g, (r <= g ? "ok" : "MISS"), rc / 1024, bc / 1024,
                    (rc / 1024 <= 32 ? "  " : " !"), rb / 1024, bb / 1024
            }'
    done
done
