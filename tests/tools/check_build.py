#!/usr/bin/env python3
"""Build one case of tests/corpus/builds with cbuild and check the image.

usage: check_build.py [--work DIR] CASE_DIR

CASE_DIR holds a Dockerfile, the context files, an optional setup.sh (run
in a copy of the case, the build context, to make files the repository
should not hold: modes, symlinks, archives) and expect.json, which says
what Docker's documented behaviour gives:

  args          extra `cbuild build` arguments
  build_args    {NAME: VALUE} as --build-arg NAME=VALUE
  secrets       {ID: CONTENT}: --secret id=ID,src=FILE; CONTENT must then
                appear nowhere in the store, the output or the image
  serve         a directory of the context served over HTTP on 127.0.0.1
                while the case builds; "{url}" in args and build_args is
                its address
  before        [{"file": DOCKERFILE, "tag": NAME}]: builds made first,
                from the same context
  fail          the build must fail: {"stderr": [REGEX...]}
  output        {"stderr": [REGEX...], "stdout": [...]} the build prints
  config        {FIELD: VALUE} of the image config; null means absent
  image         {FIELD: VALUE} at the top of the image config (os, ...)
  history_base  history entries that come from the base (default 1)
  history       [[REGEX, "empty"|"layer"], ...]: the entries after the base
  files         {PATH: {type, mode, uid, gid, target, sha256, content,
                same_as}} in the flattened image (cbuild export)
  absent        [PATH...] that must not be in the flattened image
  layer_files   {INDEX: {"present": [...], "absent": [...]}}: entries of
                one layer's tar (INDEX as in a Python list, -1 = last)
  fails_until   why part of the case is expected to fail for now

"{arch}" and "{os}" in expected strings are this host's platform.
Exit status: 0 when everything matches, 1 with a list of differences.
"""

import functools
import gzip
import hashlib
import http.server
import io
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading

CBUILD = os.environ.get("CBUILD", "cbuild")
ARCHES = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm",
          "i686": "386", "ppc64le": "ppc64le", "s390x": "s390x",
          "riscv64": "riscv64"}
HOST = {"os": "linux", "arch": ARCHES.get(platform.machine(),
                                          platform.machine())}


class Case:
    def __init__(self, case_dir, work):
        self.dir = os.path.abspath(case_dir)
        self.name = os.path.basename(self.dir.rstrip("/"))
        self.work = work
        with open(os.path.join(self.dir, "expect.json")) as f:
            self.expect = json.load(f)
        self.ctx = os.path.join(work, "ctx")
        self.tag = "case-" + self.name.lower().replace("_", "-") + ":1"
        self.errors = []
        self.subst = dict(HOST)

    def fail(self, msg):
        self.errors.append(msg)

    def fill(self, value):
        """Placeholders in expected strings, recursively."""
        if isinstance(value, str):
            for k, v in self.subst.items():
                value = value.replace("{" + k + "}", v)
            return value
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        if isinstance(value, dict):
            return {self.fill(k): self.fill(v) for k, v in value.items()}
        return value

    # --- running cbuild ---

    def cbuild(self, args, env=None, timeout=120):
        e = dict(os.environ)
        e.update(env or {})
        p = subprocess.run([CBUILD] + args, capture_output=True, env=e,
                           timeout=timeout, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout.decode(errors="replace"), \
            p.stderr.decode(errors="replace")

    def prepare(self):
        skip = {"expect.json", "setup.sh"}
        shutil.copytree(self.dir, self.ctx, symlinks=True,
                        ignore=lambda d, names: [n for n in names
                                                 if d == self.dir
                                                 and n in skip])
        setup = os.path.join(self.dir, "setup.sh")
        if os.path.exists(setup):
            subprocess.run(["bash", "-e", setup], cwd=self.ctx, check=True)

    def serve(self):
        sub = self.expect.get("serve")
        if sub is None:
            return None
        handler = functools.partial(QuietHandler,
                                    directory=os.path.join(self.ctx, sub))
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        self.subst["url"] = "http://127.0.0.1:%d" % srv.server_address[1]
        return srv

    def build_args(self):
        args = ["build", "--progress", "plain", "-t", self.tag]
        args += self.fill(self.expect.get("args", []))
        for k, v in self.fill(self.expect.get("build_args", {})).items():
            args += ["--build-arg", "%s=%s" % (k, v)]
        for sid, content in self.expect.get("secrets", {}).items():
            path = os.path.join(self.work, "secret-" + sid)
            with open(path, "w") as f:
                f.write(content)
            args += ["--secret", "id=%s,src=%s" % (sid, path)]
        return args + [self.ctx]

    def run(self):
        self.prepare()
        srv = self.serve()
        try:
            for b in self.expect.get("before", []):
                rc, out, err = self.cbuild(
                    ["build", "--progress", "plain", "-t", b["tag"], "-f",
                     os.path.join(self.ctx, b["file"]), self.ctx])
                if rc != 0:
                    self.fail("the build before (%s) failed:\n%s" %
                              (b["file"], err))
                    return
            rc, out, err = self.cbuild(self.build_args(),
                                       self.expect.get("env"))
        finally:
            if srv is not None:
                srv.shutdown()
        sys.stderr.write(err)
        if "fail" in self.expect:
            self.check_failed(rc, err)
            return
        if rc != 0:
            self.fail("cbuild build exited %d" % rc)
            return
        self.check_output(out, err)
        self.check_image()
        self.check_secrets(out + err)

    # --- checks ---

    def check_failed(self, rc, err):
        if rc == 0:
            self.fail("the build succeeded; it should fail")
        for rx in self.fill(self.expect["fail"].get("stderr", [])):
            if not re.search(rx, err):
                self.fail("stderr does not match /%s/" % rx)
        rc, _, _ = self.cbuild(["inspect", self.tag])
        if rc == 0:
            self.fail("a failed build tagged %s" % self.tag)

    def check_output(self, out, err):
        want = self.fill(self.expect.get("output", {}))
        for rx in want.get("stderr", []):
            if not re.search(rx, err, re.M):
                self.fail("stderr does not match /%s/" % rx)
        for rx in want.get("stdout", []):
            if not re.search(rx, out, re.M):
                self.fail("stdout does not match /%s/" % rx)

    def check_image(self):
        rc, out, err = self.cbuild(["inspect", self.tag])
        if rc != 0:
            self.fail("cannot inspect %s: %s" % (self.tag, err))
            return
        info = json.loads(out)[0]
        self.manifest = info["Manifest"]
        image = info["Config"]
        for field, want in self.fill(self.expect.get("image", {})).items():
            if image.get(field) != want:
                self.fail("image %s: got %r, want %r" %
                          (field, image.get(field), want))
        self.check_config(image.get("config") or {})
        self.check_history(image.get("history") or [])
        tar = os.path.join(self.work, "flat.tar")
        rc, _, err = self.cbuild(["export", self.tag, "-o", tar])
        if rc != 0:
            self.fail("cannot export %s: %s" % (self.tag, err))
            return
        with tarfile.open(tar) as t:
            self.check_files(read_tree(t))
        self.check_layers()

    def check_config(self, config):
        for field, want in self.fill(self.expect.get("config", {})).items():
            got = config.get(field)
            if want is None:
                if got not in (None, [], {}, ""):
                    self.fail("config %s: got %s, want it absent" %
                              (field, json.dumps(got)))
            elif got != want:
                self.fail("config %s: got %s, want %s" %
                          (field, json.dumps(got), json.dumps(want)))

    def check_history(self, history):
        if "history" not in self.expect:
            return
        want = self.fill(self.expect["history"])
        base = self.expect.get("history_base", 1)
        got = history[base:]
        shown = json.dumps([[h.get("created_by"), bool(h.get("empty_layer"))]
                            for h in got])
        if len(got) != len(want):
            self.fail("history: %d entries after the base, want %d: %s" %
                      (len(got), len(want), shown))
            return
        for i, (h, (rx, kind)) in enumerate(zip(got, want)):
            by = h.get("created_by", "")
            empty = bool(h.get("empty_layer"))
            if not re.search(rx, by) or empty != (kind == "empty"):
                self.fail("history[%d]: got %r (%s), want /%s/ (%s)" %
                          (base + i, by, "empty" if empty else "layer",
                           rx, kind))

    def check_files(self, tree):
        for path, want in self.fill(self.expect.get("files", {})).items():
            got = tree.get(norm(path))
            if got is None:
                self.fail("%s: missing from the image" % path)
                continue
            if "same_as" in want:
                other = tree.get(norm(want["same_as"]))
                if other is None or other.get("sha256") != got.get("sha256"):
                    self.fail("%s: content differs from %s" %
                              (path, want["same_as"]))
            if "content" in want:
                digest = hashlib.sha256(want["content"].encode()).hexdigest()
                if got.get("sha256") != digest:
                    self.fail("%s: content %r, want %r" %
                              (path, got.get("text"), want["content"]))
            for k in ("type", "mode", "uid", "gid", "target", "sha256"):
                if k in want and got.get(k) != want[k]:
                    self.fail("%s: %s is %r, want %r" %
                              (path, k, got.get(k), want[k]))
        for path in self.fill(self.expect.get("absent", [])):
            if norm(path) in tree:
                self.fail("%s: in the image, but must not be" % path)

    def check_layers(self):
        layers = self.manifest.get("layers", [])
        for idx, want in self.fill(self.expect.get("layer_files",
                                                   {})).items():
            try:
                desc = layers[int(idx)]
            except IndexError:
                self.fail("layer %s: the image has %d layers" %
                          (idx, len(layers)))
                continue
            names = layer_names(layer_blob(desc["digest"]))
            for p in want.get("present", []):
                if norm(p) not in names:
                    self.fail("layer %s: %s is missing (it has: %s)" %
                              (idx, p, " ".join(sorted(names))))
            for p in want.get("absent", []):
                if norm(p) in names:
                    self.fail("layer %s: holds %s, but must not" % (idx, p))

    def check_secrets(self, output):
        for sid, content in self.expect.get("secrets", {}).items():
            needle = content.encode()
            if needle in output.encode():
                self.fail("secret %s appears in the build output" % sid)
            for path in store_files():
                if needle in read_plain(path):
                    self.fail("secret %s appears in the store: %s" %
                              (sid, path))


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def norm(path):
    path = path.strip("/")
    while path.startswith("./"):
        path = path[2:]
    return path


def read_tree(t):
    """PATH -> {type, mode, uid, gid, target, sha256} of a tar."""
    types = {tarfile.REGTYPE: "file", tarfile.AREGTYPE: "file",
             tarfile.DIRTYPE: "dir", tarfile.SYMTYPE: "symlink",
             tarfile.LNKTYPE: "hardlink", tarfile.CHRTYPE: "char",
             tarfile.BLKTYPE: "block", tarfile.FIFOTYPE: "fifo"}
    tree = {}
    for m in t.getmembers():
        e = {"type": types.get(m.type, "other"),
             "mode": "%04o" % (m.mode & 0o7777), "uid": m.uid, "gid": m.gid}
        if m.issym() or m.islnk():
            e["target"] = m.linkname
        if m.isfile():
            data = t.extractfile(m).read()
            e["sha256"] = hashlib.sha256(data).hexdigest()
            e["text"] = data[:200].decode(errors="replace")
        tree[norm(m.name)] = e
    return tree


def store_root():
    return os.environ["CBUILD_ROOT"]


def layer_blob(digest):
    algo, hexd = digest.split(":", 1)
    return os.path.join(store_root(), "blobs", algo, hexd)


def layer_names(path):
    with tarfile.open(path, "r:*") as t:
        return {norm(m.name) for m in t.getmembers()}


def store_files():
    for root, dirs, files in os.walk(store_root()):
        for f in files:
            p = os.path.join(root, f)
            if os.path.isfile(p) and not os.path.islink(p):
                yield p


def read_plain(path):
    """A file's bytes, gunzipped when it is gzip (compressed layers)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return b""
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.GzipFile(fileobj=io.BytesIO(data)).read()
        except (OSError, EOFError):
            return data
    return data


def main(argv):
    work = None
    if len(argv) >= 2 and argv[0] == "--work":
        work = argv[1]
        argv = argv[2:]
    if len(argv) != 1:
        sys.stderr.write(__doc__)
        return 2
    tmp = tempfile.mkdtemp(prefix="case.", dir=work)
    case = Case(argv[0], tmp)
    try:
        case.run()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if case.errors:
        print("case %s: %d difference%s" % (case.name, len(case.errors),
              "" if len(case.errors) == 1 else "s"))
        for e in case.errors:
            print("  " + e)
        if "fails_until" in case.expect:
            print("  (known: %s)" % case.expect["fails_until"])
        return 1
    print("case %s: ok" % case.name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
