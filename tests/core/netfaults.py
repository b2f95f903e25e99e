"""Loopback servers that misbehave the way real networks do (no traffic leaves 127.0.0.1).

- ``SilentServer``: accepts every connection and never answers (a captive
  portal, a stalled proxy). A request to it ends only on the client's timeout.
- ``ConnectProxy``: an HTTP proxy that answers ``CONNECT host:port`` with a
  fixed status and records what it was asked, without dialling anywhere.
"""
from __future__ import annotations

import socket
import threading


class _Listener:
    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.conns: list[socket.socket] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        self.sock.settimeout(0.1)
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.conns.append(conn)
            self.handle(conn)

    def handle(self, conn: socket.socket) -> None:
        pass

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join(2)
        for c in self.conns:
            c.close()
        self.sock.close()


class SilentServer(_Listener):
    """Accepts, reads nothing, answers nothing."""

    @property
    def accepted(self) -> int:
        return len(self.conns)


class ConnectProxy(_Listener):
    """Answers the first request line of each connection with ``status`` and records it."""

    def __init__(self, status: str = "200 Connection established") -> None:
        super().__init__()
        self.status = status
        self.requests: list[str] = []

    def handle(self, conn: socket.socket) -> None:
        conn.settimeout(2)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
        self.requests.append(data.split(b"\r\n", 1)[0].decode())
        conn.sendall(f"HTTP/1.1 {self.status}\r\n\r\n".encode())


class LoopbackHttpServer:
    """A threaded HTTP server on 127.0.0.1 whose subclass answers every GET/POST/HEAD in ``_answer(handler)``.

    ``holding`` and ``release`` let a subclass hold a request open until the
    test acts or the server closes (closing sets ``release``).
    """

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.holding = threading.Event()   # set once a request is being held: a test can act mid-stall
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _answer(self):
                outer._answer(self)

            do_GET = do_POST = do_HEAD = _answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def _answer(self, h) -> None:
        raise NotImplementedError   # abstract: each server says how it answers

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class StallingHttpServer(LoopbackHttpServer):
    """An HTTP server that answers the paths in ``routes`` and holds every other request open.

    ``routes`` maps a path prefix to ``(status, content_type, body)``. A held
    request waits until the server is closed, like a service that accepted
    the work and went quiet.
    """

    def __init__(self, routes: dict) -> None:
        super().__init__()
        self.routes, self.held = routes, []

    def _answer(self, h) -> None:
        for prefix, (status, ctype, body) in self.routes.items():
            if h.path.startswith(prefix):
                h.send_response(status)
                h.send_header("Content-Type", ctype)
                h.send_header("Content-Length", str(len(body)))
                h.end_headers()
                h.wfile.write(body)
                return
        self.held.append(h.path)
        self.holding.set()
        self.release.wait(30)
