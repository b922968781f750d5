"""Two ways to reach the simulator over real HTTP framing: a loopback server, and an in-process
requests adapter whose connections are socket pairs served by the same WSGI handler (no port)."""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import socketserver
import threading
from collections.abc import Iterator
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection
from urllib3.connectionpool import HTTPConnectionPool

from musiccharts_pipeline.soundcharts.simulator.app import Simulator

log = logging.getLogger(__name__)

IN_PROCESS_URL = "http://soundcharts-simulator.invalid"


class _Handler(WSGIRequestHandler):
    def get_environ(self):
        environ = super().get_environ()
        environ["simulator.socket"] = self.connection
        return environ

    def get_stderr(self):
        # wsgiref prints tracebacks of connections our own reset fault broke; keep them quiet
        return io.StringIO()

    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        log.debug("simulator: " + format, *args)

    def handle(self):
        with contextlib.suppress(OSError):  # a reset fault closes the socket under us
            super().handle()


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        log.debug("simulator connection error from %s", client_address, exc_info=True)


@contextlib.contextmanager
def serve(simulator: Simulator, port: int = 0, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve on loopback in a background thread; yields the base URL."""
    server = _ThreadingServer((host, port), _Handler)
    server.set_app(simulator)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def serve_forever(simulator: Simulator, port: int, host: str = "127.0.0.1") -> None:
    server = _ThreadingServer((host, port), _Handler)
    server.set_app(simulator)
    url = f"http://{host}:{server.server_address[1]}"
    print(f"SoundCharts simulator listening on {url}", flush=True)
    server.serve_forever()


class _SocketPairServer(WSGIServer):
    """A WSGIServer that never binds: it only handles sockets handed to it."""

    def __init__(self, simulator: Simulator):
        super().__init__(("127.0.0.1", 0), _Handler, bind_and_activate=False)
        self.server_name, self.server_port = "soundcharts-simulator.invalid", 80
        self.setup_environ()
        self.set_app(simulator)

    def handle_error(self, request, client_address):
        log.debug("simulator in-process connection error", exc_info=True)


class InProcessAdapter(HTTPAdapter):
    """A requests adapter that talks HTTP to the simulator through socket pairs.

    urllib3 still does the connection handling, so its Retry, timeouts and content-length
    checks behave exactly as against a real server.
    """

    def __init__(self, simulator: Simulator, **kwargs):
        self.simulator = simulator
        self._server = _SocketPairServer(simulator)
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        server = self._server

        class _Connection(HTTPConnection):
            def _new_conn(self) -> socket.socket:
                client, peer = socket.socketpair()
                threading.Thread(target=_serve_one, args=(server, peer), daemon=True).start()
                if isinstance(self.timeout, (int, float)):
                    client.settimeout(self.timeout)
                return client

        class _Pool(HTTPConnectionPool):
            ConnectionCls = _Connection

        self.poolmanager.pool_classes_by_scheme = {"http": _Pool, "https": _Pool}


def _serve_one(server: _SocketPairServer, sock: socket.socket) -> None:
    try:
        server.finish_request(sock, ("127.0.0.1", 0))
    except Exception:  # noqa: BLE001 - a broken connection must not kill the client
        log.debug("simulator in-process request failed", exc_info=True)
    finally:
        with contextlib.suppress(OSError):
            sock.close()
