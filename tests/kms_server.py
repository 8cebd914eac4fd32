#!/usr/bin/env python3
"""Start moto's server (the local KMS for tests and the demo) on 127.0.0.1 with
a free port. Prints "PORT" on stdout once it answers, then runs until stdin
closes or it gets SIGTERM, so a test that dies cannot leave it behind."""
import signal
import sys
import threading

from moto.server import ThreadedMotoServer


def main():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    if hasattr(server, "get_host_and_port"):
        _, port = server.get_host_and_port()
    else:  # older moto (Debian's python3-moto)
        port = server._server.server_port
    print(port, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    # stdin closing (the parent exited) also ends the server
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait()
    server.stop()


if __name__ == "__main__":
    main()
