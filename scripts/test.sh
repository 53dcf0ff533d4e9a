#!/usr/bin/env bash
# The whole test suite: unit tests, integration tests that drive the real
# binary, and the conformance corpora, in a normal build (-Werror) and in
# an ASan/UBSan build.  Ends with one line "N passed, M failed".
#
# As root (a fresh machine, or CI) it installs what it needs, creates the
# unprivileged user "cbuild-test" with /etc/subuid and /etc/subgid ranges,
# and runs the suite as that user, because that is how people run cbuild.
# As an ordinary user it runs the suite directly.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
test_user=cbuild-test
# The second test user has no subordinate id range at all (useradd may
# give one: it is taken out), for tests/integration/norange.bats.
norange_user=cbuild-norange

ensure_users() {
    local u f
    for u in "$test_user" "$norange_user"; do
        id "$u" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$u"
    done
    for f in /etc/subuid /etc/subgid; do
        touch "$f"
        grep -q "^$test_user:" "$f" || echo "$test_user:200000:65536" >>"$f"
        sed -i "/^$norange_user:/d; /^$(id -u "$norange_user"):/d" "$f"
    done
}

# run_norange WORK: norange.bats as the user without a range, against each
# build the suite made (the normal one also with the vfs driver); prints
# the --tap options for count_results.py.
run_norange() {
    local work=$1 run b driver tap
    for run in build build-asan build-vfs; do
        b=${run%-vfs}
        driver=auto
        [ "$run" = "$b" ] || driver=vfs
        [ -x "$work/main/$b/cli/cbuild" ] || continue
        tap=$work/norange-$run.tap
        runuser -u "$norange_user" -- env -C "$work" CI="${CI:-}" \
            HOME="$(getent passwd "$norange_user" | cut -d: -f6)" \
            CBUILD_STORAGE_DRIVER=$driver \
            CB_SRCDIR="$work/main" CBUILD="$work/main/$b/cli/cbuild" \
            bats --tap "$work/main/tests/integration/norange.bats" >"$tap" 2>"$tap.err" || true
        printf -- '--tap\nnorange (%s)=%s\n' "$run" "$tap"
    done
}

# Copy the tree (and the shared corpora beside it) where the test user can
# write, so the run does not depend on where the checkout lives.
stage_tree() {
    local dest=$1
    mkdir -p "$dest/main"
    (cd "$here" && tar --exclude=./build --exclude='./build-*' --exclude=./.git -cf - .) | tar -xf - -C "$dest/main"
    if [ -d "$here/../shared" ]; then
        mkdir -p "$dest/shared"
        cp -r "$here/../shared/conformance" "$dest/shared/"
    fi
    chown -R "$test_user:" "$dest"
}

if [ "$(id -u)" -eq 0 ] && [ "${CBUILD_TEST_AS_ROOT:-}" != 1 ]; then
    bash "$here/scripts/deps.sh" --test
    ensure_users
    # A debootstrap'ed Debian for sbom.bats (made once per machine, as it
    # must be made by root); without it that test is skipped.
    debian_tar=/var/cache/cbuild-test/debian-bookworm-rootfs.tar
    debian_env=()
    if bash "$here/scripts/make-debian-rootfs.sh" "$debian_tar"; then
        debian_env=(CB_DEBIAN_ROOTFS_TAR="$debian_tar")
    else
        echo "no Debian root filesystem: the Debian SBOM test is skipped" >&2
    fi
    work=$(mktemp -d /tmp/cbuild-test.XXXXXX)
    chmod 755 "$work"
    trap 'rm -rf "$work"' EXIT
    stage_tree "$work"
    rc=0
    # The inner run leaves the summary to us (CB_SUMMARY_TO): it counts
    # the norange tests too.
    runuser -u "$test_user" -- env CI="${CI:-}" CB_SUMMARY_TO="$work/failed-builds" \
        "${debian_env[@]}" bash "$work/main/scripts/test.sh" || rc=$?
    mapfile -t taps < <(run_norange "$work")
    # The staged tree goes; the test logs stay for a look at what failed.
    logs=${CBUILD_TEST_LOGS:-/tmp/cbuild-test-logs}
    rm -rf "$logs" && mkdir -p "$logs"
    for b in build build-asan; do
        if [ -d "$work/main/$b/meson-logs" ]; then
            cp -r "$work/main/$b/meson-logs" "$logs/$b"
        fi
    done
    for t in "$work"/norange-*.tap; do
        [ -f "$t" ] || continue
        cat "$t" "$t.err" >"$logs/$(basename "$t" .tap).txt"
        if grep -q '^not ok' "$t"; then cat "$t" "$t.err"; fi
    done
    echo "test logs: $logs"
    python3 "$here/tools/count_results.py" "$work/main/build/meson-logs/testlog.json" \
        "$work/main/build-asan/meson-logs/testlog.json" "${taps[@]}" \
        --failed-builds "$(cat "$work/failed-builds" 2>/dev/null || echo 1)" || rc=1
    exit $rc
fi

bash "$here/scripts/deps.sh" --test

cd "$here"
failed_builds=0
run_suite() {
    local dir=$1; shift
    if [ ! -d "$dir" ]; then
        meson setup "$dir" --werror "$@" >/dev/null
    fi
    ninja -C "$dir" >/dev/null || { echo "build in $dir failed" >&2; ninja -C "$dir" | tail -30 >&2; return 1; }
    meson test -C "$dir" --print-errorlogs --num-processes 2 || true
}

run_suite build || failed_builds=$((failed_builds + 1))
run_suite build-asan -Db_sanitize=address,undefined -Db_lundef=false || failed_builds=$((failed_builds + 1))

if [ -n "${CB_SUMMARY_TO:-}" ]; then
    echo "$failed_builds" >"$CB_SUMMARY_TO"
    exit 0
fi
python3 tools/count_results.py build/meson-logs/testlog.json build-asan/meson-logs/testlog.json \
    --failed-builds "$failed_builds"
