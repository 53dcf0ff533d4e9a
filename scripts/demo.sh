#!/usr/bin/env bash
# The main job: build cbuild, make the busybox base image locally (no
# registry, no network), build the example in examples/hello on it, run
# the result in cbuild's sandbox, and write it out as an OCI archive that
# other tools read.  Installs what it needs (as root); idempotent.  Run as
# an ordinary user (after the packages are in) it does the same rootless.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

bash scripts/deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null
cbuild=$here/build/cli/cbuild
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== the base image: busybox-static as a root filesystem, imported"
SOURCE_DATE_EPOCH=0 bash scripts/make-busybox-rootfs.sh "$work/busybox.tar"
SOURCE_DATE_EPOCH=0 "$cbuild" import "$work/busybox.tar" -t localhost/busybox:latest \
    --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin'
"$cbuild" images
echo
echo "== cbuild -t hello:1 examples/hello"
"$cbuild" -t hello:1 --progress plain examples/hello
echo
echo "== again: every step comes from the cache, same image ID"
"$cbuild" -t hello:1 examples/hello
echo
echo "== cbuild run hello:1 / cbuild run hello:1 Alice Bob"
"$cbuild" run hello:1
"$cbuild" run hello:1 Alice Bob
echo
echo "== the image as an OCI archive other tools load"
"$cbuild" save -o "$work/hello-oci.tar" hello:1
if command -v skopeo >/dev/null; then
    skopeo inspect "oci-archive:$work/hello-oci.tar" | head -n 12
else
    tar -tf "$work/hello-oci.tar" | head -n 4
fi
echo
echo "demo: built, ran and saved hello:1 (store: ${CBUILD_ROOT:-the default})."
