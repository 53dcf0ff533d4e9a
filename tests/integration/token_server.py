#!/usr/bin/env python3
"""A token server for docker-registry's "auth: token" (the distribution
token authentication flow), over HTTPS, for the tests.

GET /token?service=S&scope=repository:NAME:ACTIONS[&scope=...] answers
{"token": JWT, "access_token": JWT, "expires_in": 300}.  The JWT is
signed RS256 (with the openssl command) by SIGN_KEY; its header carries
SIGN_CERT in "x5c", which the registry checks against its
"rootcertbundle".  Claims: iss ISSUER, aud S, sub, iat/nbf/exp, jti and
"access".

Who gets what:
  - Basic credentials must match a line "user:password" of USERS, else
    401.  A known user gets the actions asked for ("pull", "push") on any
    repository; a user named "reader*" only "pull".
  - Without credentials (anonymous) a token is given too, with "pull"
    only on repositories under "public/" and nothing elsewhere, as Docker
    Hub does for private repositories.

Every request is appended to LOG as one line:
  token user=<name|-> scope=<scope,...|-> status=<code>
(never a password or a token).

Usage: token_server.py PORTFILE TLS_CERT TLS_KEY SIGN_CERT SIGN_KEY
                       USERS LOG ISSUER
Writes the port it listens on to PORTFILE, then serves until killed.
"""
import base64
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

(PORTFILE, TLS_CERT, TLS_KEY, SIGN_CERT, SIGN_KEY, USERS, LOG,
 ISSUER) = sys.argv[1:9]
LOG_LOCK = threading.Lock()


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def cert_der_b64(path):
    pem = open(path).read()
    body = pem.split("-----BEGIN CERTIFICATE-----")[1]
    body = body.split("-----END CERTIFICATE-----")[0]
    return "".join(body.split())


X5C = [cert_der_b64(SIGN_CERT)]


def sign(payload):
    out = subprocess.run(["openssl", "dgst", "-sha256", "-sign", SIGN_KEY],
                         input=payload, capture_output=True, check=True)
    return out.stdout


def make_jwt(service, subject, access):
    header = {"typ": "JWT", "alg": "RS256", "x5c": X5C}
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": subject, "aud": service,
              "exp": now + 300, "nbf": now - 10, "iat": now,
              "jti": uuid.uuid4().hex, "access": access}
    signing_input = (b64url(json.dumps(header).encode()) + "." +
                     b64url(json.dumps(claims).encode())).encode()
    return signing_input.decode() + "." + b64url(sign(signing_input))


def load_users():
    users = {}
    with open(USERS) as f:
        for line in f:
            line = line.rstrip("\n")
            if ":" in line:
                u, p = line.split(":", 1)
                users[u] = p
    return users


def grant(user, scope):
    """The access entry for one scope "repository:NAME:a,b" (None when
    the scope is not a repository one)."""
    parts = scope.split(":")
    if len(parts) < 3 or parts[0] != "repository":
        return None
    name, asked = ":".join(parts[1:-1]), parts[-1].split(",")
    if user is None:
        allowed = {"pull"} if name.startswith("public/") else set()
    elif user.startswith("reader"):
        allowed = {"pull"}
    else:
        allowed = {"pull", "push"}
    return {"type": "repository", "name": name,
            "actions": [a for a in asked if a in allowed]}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("token server: " + (fmt % args) + "\n")

    def record(self, user, scopes, status):
        with LOG_LOCK, open(LOG, "a") as f:
            f.write("token user=%s scope=%s status=%d\n" % (
                user or "-", ",".join(scopes) or "-", status))

    def reply(self, status, obj, headers=()):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        scopes = []
        for s in q.get("scope", []):
            scopes.extend(s.split(" "))
        if url.path != "/token":
            return self.reply(404, {"errors": [{"code": "NOT_FOUND"}]})
        user = None
        auth = self.headers.get("Authorization")
        if auth is not None:
            ok = False
            if auth.startswith("Basic "):
                try:
                    raw = base64.b64decode(auth[6:], validate=True).decode()
                    u, p = raw.split(":", 1)
                    ok = load_users().get(u) == p
                    user = u
                except (ValueError, UnicodeDecodeError):
                    ok = False
            if not ok:
                self.record(user or "?", scopes, 401)
                return self.reply(
                    401, {"errors": [{"code": "UNAUTHORIZED",
                                      "message": "invalid credentials"}]},
                    [("WWW-Authenticate", 'Basic realm="token"')])
        access = [g for g in (grant(user, s) for s in scopes) if g]
        token = make_jwt(q.get("service", [""])[0], user or "", access)
        self.record(user, scopes, 200)
        self.reply(200, {"token": token, "access_token": token,
                         "expires_in": 300,
                         "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                    time.gmtime())})


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(TLS_CERT, TLS_KEY)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    with open(PORTFILE + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(PORTFILE + ".tmp", PORTFILE)
    server.serve_forever()


if __name__ == "__main__":
    main()
