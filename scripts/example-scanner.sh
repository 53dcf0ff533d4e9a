#!/bin/sh
# A scanner for cbuild's --scan hook written in plain sh (with tar): it
# lists every file of every layer of the image in $CBUILD_IMAGE_LAYOUT
# and fails when a path matches one of the deny patterns (extended
# regular expressions, matched against the path inside the image).
#
#   cbuild build --scan 'sh scripts/example-scanner.sh' -t app:1 .
#   cbuild build --scan "sh scripts/example-scanner.sh --deny '\.env$'" ...
#
# Default patterns: private keys (id_rsa, id_ecdsa, id_ed25519, *.pem,
# *.key).  A JSON report goes to $CBUILD_REPORT when it is set.  Exit 0:
# nothing found; 1: findings; 2: the image could not be read.
set -eu

deny=
while [ $# -gt 0 ]; do
    case $1 in
    --deny) deny="${deny:+$deny|}$2"; shift 2 ;;
    *) echo "example-scanner: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
[ -n "$deny" ] || deny='(^|/)id_(rsa|ecdsa|ed25519)$|\.pem$|\.key$'

layout=${CBUILD_IMAGE_LAYOUT:?example-scanner: CBUILD_IMAGE_LAYOUT is not set}
[ -f "$layout/index.json" ] || { echo "example-scanner: '$layout' is not an OCI layout" >&2; exit 2; }

# Layers are the blobs tar can list (gzip and zstd are detected); the
# manifest and config are JSON and are skipped.
found=$(mktemp)
trap 'rm -f "$found"' EXIT
for blob in "$layout"/blobs/sha256/*; do
    tar -tf "$blob" 2>/dev/null | sed 's|^\./||' | grep -E -- "$deny" >>"$found" || true
done
count=$(grep -c . "$found" || true)

# JSON string escaping for paths: backslash and double quote.
json_escape() { sed 's/\\/\\\\/g; s/"/\\"/g'; }

if [ -n "${CBUILD_REPORT:-}" ]; then
    {
        printf '{"scanner":"cbuild-example-scanner","image":"%s","digest":"%s","findings":[' \
            "$(printf '%s' "${CBUILD_IMAGE_REF:-}" | json_escape)" "${CBUILD_IMAGE_DIGEST:-}"
        sep=
        while IFS= read -r path; do
            printf '%s{"path":"%s"}' "$sep" "$(printf '%s' "$path" | json_escape)"
            sep=,
        done <"$found"
        printf ']}\n'
    } >"$CBUILD_REPORT"
fi

if [ "$count" -gt 0 ]; then
    echo "example-scanner: $count forbidden file(s):" >&2
    sed 's/^/  /' "$found" >&2
    exit 1
fi
echo "example-scanner: no findings" >&2
