#!/usr/bin/env python3
"""An HTTP proxy in front of a registry that breaks transfers on
purpose, for the fault tests.  MODE says how:

  cut-once     the first GET of each blob sends its headers and half its
               body, then the connection is closed; later ones pass
  cut-always   every blob GET is cut so, resumed ones (206) too
  500-twice    the first two requests of each path answer 500; the
               third passes
  fail-always  every request but GET /v2/ answers 503
  slow         blob GETs wait 0.5 s before they are forwarded

Other requests pass through unchanged (Range headers included, which
the registry honours with 206).  Each request is logged to LOG as
  METHOD PATH range=<Range|-> -> <status>[ cut at N]
and each blob GET also as "inflight N", N the blob GETs being served
at once when it started.

Usage: fault_proxy.py PORTFILE UPSTREAM(host:port) MODE LOG
"""
import http.client
import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORTFILE, UPSTREAM, MODE, LOG = sys.argv[1:5]
SEEN = {}
LOCK = threading.Lock()
INFLIGHT = [0]


def record(line):
    with LOCK, open(LOG, "a") as f:
        f.write(line + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("fault proxy: " + (fmt % args) + "\n")

    def seen(self):
        with LOCK:
            SEEN[self.path] = SEEN.get(self.path, 0) + 1
            return SEEN[self.path]

    def fail(self, status, code):
        body = json.dumps({"errors": [{"code": code,
                                       "message": "injected fault"}]}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        record("%s %s range=%s -> %d" % (self.command, self.path,
                                          self.headers.get("Range", "-"),
                                          status))

    def forward(self):
        n = self.seen()
        is_blob = self.command == "GET" and "/blobs/sha256:" in self.path
        if MODE == "500-twice" and n <= 2:
            return self.fail(500, "UNKNOWN")
        if MODE == "fail-always" and self.path != "/v2/":
            return self.fail(503, "UNAVAILABLE")
        length = int(self.headers.get("Content-Length", 0) or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "connection")}
        up = http.client.HTTPConnection(UPSTREAM, timeout=30)
        up.request(self.command, self.path, body=body, headers=headers)
        resp = up.getresponse()
        data = resp.read()
        cut = is_blob and resp.status in (200, 206) and len(data) > 1 and (
            MODE == "cut-always" or (MODE == "cut-once" and n == 1))
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("connection", "transfer-encoding"):
                self.send_header(k, v)
        self.end_headers()
        line = "%s %s range=%s -> %d" % (self.command, self.path,
                                         self.headers.get("Range", "-"),
                                         resp.status)
        if self.command == "HEAD":
            record(line)
            return
        if cut:
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
            record(line + " cut at %d" % (len(data) // 2))
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.wfile.write(data)
        record(line)

    def forward_counted(self):
        if not (self.command == "GET" and "/blobs/sha256:" in self.path):
            return self.forward()
        with LOCK:
            INFLIGHT[0] += 1
            now = INFLIGHT[0]
        record("inflight %d" % now)
        try:
            if MODE == "slow":
                time.sleep(0.5)
            self.forward()
        finally:
            with LOCK:
                INFLIGHT[0] -= 1

    do_GET = forward_counted
    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = forward


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(PORTFILE + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(PORTFILE + ".tmp", PORTFILE)
    server.serve_forever()


if __name__ == "__main__":
    main()
