#!/usr/bin/env bash
# Install the Debian packages cbuild needs to build and test.  Idempotent:
# only missing packages are installed.  --test adds what the tests use,
# --bench what the benchmarks compare with.  Needs root (or does nothing and
# says what is missing).
set -euo pipefail

build_pkgs=(meson ninja-build gcc pkg-config python3 libarchive-dev libssl-dev
    libjansson-dev libcurl4-openssl-dev libzstd-dev libseccomp-dev zlib1g-dev
    libdeflate-dev busybox-static)
# The tools whose acceptance of cbuild's output the tests check, and what
# rootless podman needs (newuidmap).
test_pkgs=(bats diffutils gzip zstd tar skopeo umoci podman runc uidmap
    docker-registry debootstrap apache2-utils openssl curl python3
    linux-libc-dev)
# What bench/build.sh and bench/run.sh compare cbuild with, and measure it by.
bench_pkgs=(buildah runc uidmap time busybox-static python3)

want=("${build_pkgs[@]}")
case ${1:-} in
    --test) want+=("${test_pkgs[@]}") ;;
    --bench) want+=("${bench_pkgs[@]}") ;;
esac

missing=()
for p in "${want[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${missing[*]} (run this script as root to install them)" >&2
    exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
