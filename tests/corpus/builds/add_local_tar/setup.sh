python3 - <<'PY'
import io, tarfile
def add(t, name, data=None, mode=0o644, uid=0, gid=0, kind=tarfile.REGTYPE, link=""):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.uid, ti.gid, ti.linkname, ti.mtime = kind, mode, uid, gid, link, 1000
    if data is not None:
        ti.size = len(data)
    t.addfile(ti, io.BytesIO(data) if data is not None else None)
with tarfile.open("t.tar", "w", format=tarfile.PAX_FORMAT) as t:
    add(t, "top", kind=tarfile.DIRTYPE, mode=0o750, uid=7, gid=8)
    add(t, "top/file.txt", b"from the tar\n", mode=0o640, uid=7, gid=8)
    add(t, "top/run.sh", b"#!/bin/sh\n", mode=0o755)
    add(t, "top/link", kind=tarfile.SYMTYPE, link="file.txt")
PY
gzip -kn t.tar; bzip2 -k t.tar; xz -k t.tar; zstd -q t.tar -o t.tar.zst
: > not-really.tar.gz
