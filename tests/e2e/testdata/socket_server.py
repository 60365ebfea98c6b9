"""A small HTTP server for the agent's end-to-end tests.

It serves on the listening socket the agent passes (systemd's LISTEN_FDS protocol, fd 3) when
there is one, else binds $PORT_HTTP itself. Every answer names the epoch and $VERSION, so a test
can tell which epoch served it. On SIGTERM it stops accepting, finishes the requests it has, and
exits 0 — the drain a hot restart relies on.
"""
import http.server
import os
import signal
import socket
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("epoch=%s version=%s pid=%d\n" % (os.environ.get("PROCESS_EPOCH", "?"),
                                                 os.environ.get("VERSION", ""), os.getpid())).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stdout.write("%s %s\n" % (self.command if hasattr(self, "command") else "-", fmt % args))
        sys.stdout.flush()


def main():
    passed = os.environ.get("LISTEN_FDS") == "1" and os.environ.get("LISTEN_PID") == str(os.getpid())
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=not passed)
    if passed:
        server.socket.close()
        server.socket = socket.socket(fileno=3)
    else:
        server.server_close()
        server = http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT_HTTP"])), Handler)
    server.daemon_threads = False
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print("serving epoch %s (socket %s)" % (os.environ.get("PROCESS_EPOCH"), "passed" if passed else "bound"), flush=True)
    server.serve_forever(poll_interval=0.1)
    server.server_close()
    print("drained", flush=True)


if __name__ == "__main__":
    main()
