#!/usr/bin/env python3
"""A registry that misbehaves on purpose, for tests the real one cannot
stage.  It serves one small image (OCI manifest, config, one gzip layer)
under several repository names; the name picks the misbehaviour:

  good/img:1         as it should be
  redirect/img:1     blob GETs answer 307 to another path that serves them
  bigmanifest/img:1  a manifest body over 4 MiB
  longblob/img:1     the layer body has bytes beyond its size
  liar/img:1         Docker-Content-Digest names another digest
  broken/img:1       500 with a distribution error body
  flaky/img:1        the first GET of each path answers 503, the next works
  token/img:1        wants an anonymous Bearer token from /token (the
                     distribution token flow)
  denied/img:1       the same, but /token-denied refuses to give one

Usage: fake_registry.py PORTFILE  (writes the port it listens on, then
serves until killed).
"""
import gzip
import hashlib
import io
import json
import sys
import tarfile
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def make_image():
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        data = b"hello from the fake registry\n"
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        info.mode = 0o644
        t.addfile(info, io.BytesIO(data))
    layer_tar = raw.getvalue()
    layer = gzip.compress(layer_tar, mtime=0)
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": [sha(layer_tar)]},
        "history": [{"created_by": "fake"}],
    }, sort_keys=True).encode()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": sha(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": sha(layer), "size": len(layer)}],
    }, sort_keys=True).encode()
    return manifest, {sha(config): config, sha(layer): layer}, sha(layer)


MANIFEST, BLOBS, LAYER = make_image()
SEEN = set()
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("fake registry: " + (fmt % args) + "\n")

    def send(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, code, message):
        body = json.dumps({"errors": [{"code": code, "message": message}]})
        self.send(status, body.encode(), [("Content-Type", "application/json")])

    def do_HEAD(self):
        self.do_GET()

    def token_for(self, scope):
        return "s3cr3t." + hashlib.sha256(scope.encode()).hexdigest()[:16]

    def serve_token(self):
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        if url.path != "/token":
            return self.error(401, "UNAUTHORIZED", "no tokens for you")
        if q.get("service") != ["fake registry"] or len(q.get("scope", [])) != 1:
            return self.error(400, "BAD_REQUEST", "service or scope")
        body = json.dumps({"token": self.token_for(q["scope"][0])}).encode()
        return self.send(200, body, [("Content-Type", "application/json")])

    def authorized(self, mode):
        scope = "repository:%s/img:pull" % mode
        if self.headers.get("Authorization") == "Bearer " + self.token_for(scope):
            return True
        realm = "http://127.0.0.1:%d/%s" % (
            self.server.server_address[1],
            "token" if mode == "token" else "token-denied")
        challenge = 'Bearer realm="%s",service="fake registry",scope="%s"' % (
            realm, scope)
        body = json.dumps({"errors": [{"code": "UNAUTHORIZED",
                                       "message": "authentication required"}]})
        self.send(401, body.encode(), [("Content-Type", "application/json"),
                                       ("WWW-Authenticate", challenge)])
        return False

    def do_GET(self):
        parts = self.path.split("/")
        if self.path == "/v2/":
            return self.send(200, b"{}")
        if self.path.startswith("/token"):
            return self.serve_token()
        # /v2/<mode>/img/<kind>/<ref>, or /moved/<digest>
        if len(parts) == 3 and parts[1] == "moved" and parts[2] in BLOBS:
            return self.send(200, BLOBS[parts[2]])
        if len(parts) != 6 or parts[1] != "v2" or parts[3] != "img":
            return self.error(404, "NAME_UNKNOWN", "no such repository")
        mode, kind, ref = parts[2], parts[4], parts[5]
        if mode in ("token", "denied") and not self.authorized(mode):
            return
        if mode == "flaky" and self.path not in SEEN:
            SEEN.add(self.path)
            return self.error(503, "UNAVAILABLE", "try again")
        if mode == "broken":
            return self.error(500, "UNKNOWN", "the disk is on fire")
        if kind == "manifests":
            body, digest = MANIFEST, sha(MANIFEST)
            if mode == "bigmanifest":
                body = MANIFEST[:-1] + b"," + b'"pad":"' + b"x" * (5 << 20) + b'"}'
                digest = sha(body)
            if mode == "liar":
                digest = sha(b"something else")
            if ref not in ("1", sha(MANIFEST)):
                return self.error(404, "MANIFEST_UNKNOWN", "manifest unknown")
            return self.send(200, body, [("Content-Type", OCI_MANIFEST),
                                         ("Docker-Content-Digest", digest)])
        if kind == "blobs" and ref in BLOBS:
            if mode == "redirect":
                return self.send(307, b"", [("Location", "/moved/" + ref)])
            body = BLOBS[ref]
            if mode == "longblob" and ref == LAYER:
                body = body + b"trailing garbage" * 1000
            return self.send(200, body)
        return self.error(404, "BLOB_UNKNOWN", "blob unknown")


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
