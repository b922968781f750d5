"""Loopback stand-ins of an upstream: small HTTP servers whose answers a test scripts, and that
record every request they receive (path and headers)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable

#: A route's answer: (status, headers, body). A dict or list body is sent as JSON.
Answer = tuple[int, dict, object]


class StandIn:
    """An HTTP server on 127.0.0.1 answering GET and POST with ``route(method, path, headers,
    body)``; ``received`` lists ``(method, path, headers)`` of every request."""

    def __init__(self, route: Callable[[str, str, dict, bytes], Answer] | None = None):
        self.route = route or (lambda *_: (404, {}, {"errors": [{"message": "not here"}]}))
        self.received: list[tuple[str, str, dict]] = []
        stand_in = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                stand_in.received.append((method, self.path, headers))
                status, extra, payload = stand_in.route(method, self.path, headers, body)
                if isinstance(payload, dict | list):
                    data = json.dumps(payload).encode()
                    extra = {"Content-Type": "application/json", **extra}
                else:
                    data = str(payload or "").encode()
                    extra = {"Content-Type": "text/plain", **extra}
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802
                self._answer("GET")

            def do_POST(self):  # noqa: N802
                self._answer("POST")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
