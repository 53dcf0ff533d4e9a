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

ensure_user() {
    if ! id "$test_user" >/dev/null 2>&1; then
        useradd --create-home --shell /bin/bash "$test_user"
    fi
    for f in /etc/subuid /etc/subgid; do
        touch "$f"
        grep -q "^$test_user:" "$f" || echo "$test_user:200000:65536" >>"$f"
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
    ensure_user
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
    runuser -u "$test_user" -- env CI="${CI:-}" "${debian_env[@]}" bash "$work/main/scripts/test.sh" || rc=$?
    # The staged tree goes; the test logs stay for a look at what failed.
    logs=${CBUILD_TEST_LOGS:-/tmp/cbuild-test-logs}
    rm -rf "$logs" && mkdir -p "$logs"
    for b in build build-asan; do
        if [ -d "$work/main/$b/meson-logs" ]; then
            cp -r "$work/main/$b/meson-logs" "$logs/$b"
        fi
    done
    echo "test logs: $logs"
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

python3 tools/count_results.py build/meson-logs/testlog.json build-asan/meson-logs/testlog.json \
    --failed-builds "$failed_builds"
