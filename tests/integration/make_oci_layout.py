#!/usr/bin/env python3
"""Write an OCI image layout with N gzip layers, for registry tests and
bench/registry.sh.  Layer i holds one file "fI" of SIZE bytes: random
bytes from a seeded generator when SIZE > 64, else the text "file I".

Usage: make_oci_layout.py DIR TAG N [SIZE]
"""
import gzip
import hashlib
import io
import json
import os
import random
import sys
import tarfile

CHUNK = 1 << 20


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


class Hashing:
    """A file object that hashes and counts what is written to it."""

    def __init__(self, f):
        self.f, self.h, self.n = f, hashlib.sha256(), 0

    def write(self, b):
        self.f.write(b)
        self.h.update(b)
        self.n += len(b)
        return len(b)

    def flush(self):
        self.f.flush()


def make_layer(blobs, i, size, rng):
    """Stream a layer into blobs/: returns (digest, size, diff_id)."""
    tmp = os.path.join(blobs, "tmp")
    with open(tmp, "wb") as raw:
        outer = Hashing(raw)
        with gzip.GzipFile(fileobj=outer, mode="wb", compresslevel=1,
                           mtime=0) as gz:
            inner = Hashing(gz)
            with tarfile.open(fileobj=inner, mode="w|",
                              format=tarfile.PAX_FORMAT) as t:
                info = tarfile.TarInfo("f%d" % i)
                info.mode = 0o644
                if size > 64:
                    info.size = size

                    class Gen(io.RawIOBase):
                        left = size

                        def readable(self):
                            return True

                        def readinto(self, b):
                            n = min(len(b), self.left, CHUNK)
                            b[:n] = rng.randbytes(n)
                            self.left -= n
                            return n

                    t.addfile(info, io.BufferedReader(Gen(), CHUNK))
                else:
                    data = ("file %d\n" % i).encode()
                    info.size = len(data)
                    t.addfile(info, io.BytesIO(data))
    digest = "sha256:" + outer.h.hexdigest()
    os.rename(tmp, os.path.join(blobs, digest[7:]))
    return digest, outer.n, "sha256:" + inner.h.hexdigest()


def put(blobs, data):
    d = sha(data)
    with open(os.path.join(blobs, d[7:]), "wb") as f:
        f.write(data)
    return {"digest": d, "size": len(data)}


def main():
    out, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    size = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    blobs = os.path.join(out, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)
    rng = random.Random(n * 1000003 + size)
    layers, diff_ids = [], []
    for i in range(1, n + 1):
        d, s, diff = make_layer(blobs, i, size, rng)
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                       "digest": d, "size": s})
        diff_ids.append(diff)
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": "layer %d" % i} for i in range(1, n + 1)],
    }, sort_keys=True).encode()
    cdesc = put(blobs, config)
    cdesc["mediaType"] = "application/vnd.oci.image.config.v1+json"
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": cdesc, "layers": layers}, sort_keys=True).encode()
    mdesc = put(blobs, manifest)
    mdesc["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    mdesc["annotations"] = {"org.opencontainers.image.ref.name": tag}
    with open(os.path.join(out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [mdesc]}, f)


if __name__ == "__main__":
    main()
