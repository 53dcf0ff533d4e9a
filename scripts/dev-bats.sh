#!/usr/bin/env bash
# For developers: run some integration files against this tree's build
# (BUILD, default build/) as the unprivileged test user, the way the suite
# runs them:  bash scripts/dev-bats.sh run rootless
# As root it switches to "cbuild-test" (scripts/test.sh creates it); as an
# ordinary user it runs as that user.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$here/build}
files=()
for t in "$@"; do
    files+=("$here/tests/integration/$t.bats")
done
cmd=(env CBUILD="$build/cli/cbuild" CB_SRCDIR="$here"
     CB_CONFORMANCE_DIR="$here/../shared/conformance"
     CB_DEBIAN_ROOTFS_TAR="${CB_DEBIAN_ROOTFS_TAR:-}" bats "${files[@]}")
if [ "$(id -u)" -eq 0 ]; then
    exec runuser -u cbuild-test -- env -C /tmp HOME=/home/cbuild-test "${cmd[@]}"
fi
exec "${cmd[@]}"
