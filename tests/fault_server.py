#!/usr/bin/env python3
"""A scripted misbehaving KMS (and IMDS, ECS agent, proxy) on 127.0.0.1 for
tests/test_aws.c. Prints one JSON line {"port": P, "tls_port": T} once it
listens, then serves until stdin closes or SIGTERM.

KMS faults are chosen by the access key id the client signs with (a
credentials_file profile per fault), so one port serves every row:
  Authorization: AWS4-HMAC-SHA256 Credential=<FAULT>/...
Every answer carries x-amzn-RequestId: fault-<FAULT>-<n>.
  GET /_count/<FAULT>  -> number of KMS requests seen for it
  GET /_reset          -> zero all counters
Other paths: /imds/... (IMDSv2, token enforced), /imdsv1/... (no PUT, v1
only), /imdsslow/... (each answer 800 ms late),
/imdshang/... (never answers), /ecs/creds (Authorization
must equal --ecs-token). They serve the credentials in --creds (JSON with
AccessKeyId, SecretAccessKey, Token, or moto_auth_server.py's output). A request line with an absolute URI
(a proxied request) is counted as "proxy" and answered as FAULT "ok"."""
import argparse
import base64
import email.utils
import json
import re
import signal
import socket
import ssl
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

counts = {}
lock = threading.Lock()
stop = threading.Event()
ARGS = None
IMDS_TOKEN = "imds-token-for-tests"
OTHER_KEY = "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-0000000000ff"

# name -> number of failing answers before success (None: fail forever)
BURSTS = {"burst503": 2, "throttle2": 2, "deptimeout1": 1}
DENIED = {
    "invalidct": "InvalidCiphertextException",
    "incorrectkey": "IncorrectKeyException",
    "denied": "AccessDeniedException",
    "notfound": "NotFoundException",
    "disabled": "DisabledException",
    "invalidstate": "KMSInvalidStateException",
}


def bump(name):
    with lock:
        counts[name] = counts.get(name, 0) + 1
        return counts[name]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, status, body, ctype="application/x-amz-json-1.1", extra=None, rid=None):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if rid:
            self.send_header("x-amzn-RequestId", rid)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def creds(self):
        with open(ARGS.creds) as f:
            c = json.load(f)
        c = dict(c.get("session", c))  # tests/moto_auth_server.py's output
        c.setdefault("Expiration", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600)))
        return c

    # ---- IMDS and ECS -------------------------------------------------
    def metadata(self, method):
        m = re.match(r"^/(imds|imdsv1|imdsslow|imdshang)(/.*)$", self.path)
        if not m:
            return False
        kind, path = m.groups()
        bump(kind + ":" + method + ":" + path)
        if kind == "imdsslow":
            time.sleep(0.8)
        if kind == "imdshang":
            stop.wait(60)
            return True
        if path == "/latest/api/token":
            if method != "PUT" or kind == "imdsv1":
                self.send(405, "", "text/plain")
            elif not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                self.send(400, "missing TTL", "text/plain")
            else:
                self.send(200, IMDS_TOKEN, "text/plain")
            return True
        if kind != "imdsv1" and self.headers.get("X-aws-ec2-metadata-token") != IMDS_TOKEN:
            self.send(401, "", "text/plain")
            return True
        if path == "/latest/meta-data/iam/security-credentials/":
            self.send(200, "kj-test-role", "text/plain")
        elif path == "/latest/meta-data/iam/security-credentials/kj-test-role":
            c = dict(self.creds(), Code="Success", Type="AWS-HMAC")
            self.send(200, json.dumps(c), "text/plain")
        else:
            self.send(404, "", "text/plain")
        return True

    def ecs(self):
        if self.path != "/ecs/creds":
            return False
        bump("ecs")
        if self.headers.get("Authorization") != ARGS.ecs_token:
            self.send(401, '{"message":"bad token"}', "application/json")
        else:
            self.send(200, json.dumps(self.creds()), "application/json")
        return True

    def do_PUT(self):
        self.body()
        if not self.metadata("PUT"):
            self.send(404, "", "text/plain")

    def do_GET(self):
        if self.path.startswith("/_count/"):
            with lock:
                n = counts.get(self.path[len("/_count/"):], 0)
            self.send(200, str(n), "text/plain")
            return
        if self.path == "/_reset":
            with lock:
                counts.clear()
            self.send(200, "", "text/plain")
            return
        if self.metadata("GET") or self.ecs():
            return
        self.send(404, "", "text/plain")

    # ---- KMS ------------------------------------------------------------
    def do_POST(self):
        raw = self.body()
        if self.path.startswith("http://"):  # absolute URI: we are a proxy
            name = "ok"
            bump("proxy")
        else:
            m = re.search(r"Credential=([A-Za-z0-9]+)/", self.headers.get("Authorization", ""))
            name = m.group(1) if m else "unsigned"
        n = bump(name)
        rid = "fault-%s-%d" % (name, n)
        try:
            req = json.loads(raw)
        except ValueError:
            req = {}
        ok = json.dumps({"KeyId": req.get("KeyId", OTHER_KEY),
                         "Plaintext": base64.b64encode(b"{}").decode(),
                         "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"})

        def err(status, typ, msg="injected"):
            self.send(status, json.dumps({"__type": typ, "message": msg}), rid=rid)

        if name == "ok":
            self.send(200, ok, rid=rid)
        elif name == "hang":
            stop.wait(60)
        elif name == "slowbody":
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.send_header("x-amzn-RequestId", rid)
            self.end_headers()
            for _ in range(600):
                if stop.is_set():
                    break
                try:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                except OSError:
                    break
                time.sleep(0.1)
        elif name == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
        elif name in BURSTS:
            if n <= BURSTS[name]:
                if name == "burst503":
                    self.send(503, "<html>Service Unavailable</html>", "text/html", rid=rid)
                elif name == "throttle2":
                    err(400, "ThrottlingException", "Rate exceeded")
                else:
                    err(500, "DependencyTimeoutException")
            else:
                self.send(200, ok, rid=rid)
        elif name == "always503":
            self.send(503, "<html>Service Unavailable</html>", "text/html", rid=rid)
        elif name == "bad502":
            self.send(502, "<html>Bad Gateway</html>", "text/html", rid=rid)
        elif name == "throttle":
            err(400, "ThrottlingException", "Rate exceeded")
        elif name == "internal":
            err(500, "KMSInternalException")
        elif name == "keyunavail":
            err(500, "KeyUnavailableException")
        elif name in DENIED:
            err(400, DENIED[name])
        elif name == "garbage":
            self.send(200, "\x00\x01<<<this is not json>>>", rid=rid)
        elif name == "truncjson":
            self.send(200, ok[: len(ok) // 2], rid=rid)
        elif name == "shortbody":
            self.send_response(200)
            self.send_header("Content-Length", str(len(ok) + 100))
            self.send_header("x-amzn-RequestId", rid)
            self.end_headers()
            self.wfile.write(ok.encode())
            self.wfile.flush()
            self.close_connection = True
        elif name == "huge":
            size = 10 * 1024 * 1024
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.send_header("x-amzn-RequestId", rid)
            self.end_headers()
            chunk = b"A" * 65536
            try:
                for _ in range(size // len(chunk)):
                    self.wfile.write(chunk)
            except OSError:
                pass
        elif name == "otherkey":
            self.send(200, json.dumps({"KeyId": OTHER_KEY, "Plaintext": base64.b64encode(b"{}").decode()}),
                      rid=rid)
        elif name == "clock":
            # KMS's clock one hour ahead of ours: the signature has "expired".
            date = email.utils.formatdate(time.time() + 3600, usegmt=True)
            self.send(400, json.dumps({"__type": "InvalidSignatureException",
                                       "message": "Signature expired"}), extra={"Date": date}, rid=rid)
        elif name == "reqexpired":
            err(400, "RequestExpired", "Request has expired")
        else:
            err(400, "UnrecognizedClientException", "unknown fault " + name)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--creds", required=True)
    p.add_argument("--ecs-token", default="ecs-secret-token")
    p.add_argument("--cert")
    p.add_argument("--key")
    ARGS = p.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    servers = [srv]
    out = {"port": srv.server_address[1]}
    if ARGS.cert:
        tls = Server(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(ARGS.cert, ARGS.key)
        tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
        servers.append(tls)
        out["tls_port"] = tls.server_address[1]
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print(json.dumps(out), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    stop.wait()
    for s in servers:
        s.shutdown()


if __name__ == "__main__":
    main()
