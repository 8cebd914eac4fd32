#!/usr/bin/env python3
"""Start moto's server (the local KMS for tests, the demo and the benchmark)
on 127.0.0.1 with a free port. Prints the port on stdout once it listens,
then runs until stdin closes or it gets SIGTERM, so a test that dies cannot
leave it behind.

A thin WSGI wrapper counts requests by X-Amz-Target, so tests and the
benchmark can prove how many KMS calls a login made:
  GET  /__kj/count  -> {"Decrypt": 3, "total": 5, ...}
  POST /__kj/reset  -> zeroes the counters
With KJ_KMS_TLS_CERT and KJ_KMS_TLS_KEY set it serves HTTPS instead."""
import os
import json
import signal
import sys
import threading

from werkzeug.serving import make_server
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

counts = {}
lock = threading.Lock()


def counting(app):
    def wrapped(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/__kj/count":
            with lock:
                body = json.dumps(counts).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        if path == "/__kj/reset":
            with lock:
                counts.clear()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b"{}"]
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        action = target.split(".")[-1] if target else "other"
        with lock:
            counts[action] = counts.get(action, 0) + 1
            counts["total"] = counts.get("total", 0) + 1
        return app(environ, start_response)
    return wrapped


def main():
    app = counting(DomainDispatcherApplication(create_backend_app))
    tls = None
    if os.environ.get("KJ_KMS_TLS_CERT"):
        tls = (os.environ["KJ_KMS_TLS_CERT"], os.environ["KJ_KMS_TLS_KEY"])
    server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=tls)
    print(server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    # stdin closing (the parent exited) also ends the server
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait()
    server.shutdown()


if __name__ == "__main__":
    main()
