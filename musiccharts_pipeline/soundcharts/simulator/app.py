"""The SoundCharts simulator: a WSGI app serving the reference's routes, envelopes, pagination,
quota headers and errors over the deterministic :class:`World`, with fault injection.

The parts: ``catalogue`` (static data), ``world`` (the model), ``faults`` (quota, limits,
injected faults), ``routes`` (paths and payloads), ``config``; this module ties them into the
WSGI callable and keeps the request log tests read.
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import json
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable
from urllib.parse import parse_qs

from musiccharts_pipeline.soundcharts.simulator.config import (
    SANDBOX_CREDENTIALS,
    TOKEN_PATH,
    SimulatorConfig,
)
from musiccharts_pipeline.soundcharts.simulator.errors import REASONS, ApiError
from musiccharts_pipeline.soundcharts.simulator.faults import Gate, parse_faults
from musiccharts_pipeline.soundcharts.simulator.routes import Routes
from musiccharts_pipeline.soundcharts.simulator.world import World

__all__ = ["Simulator", "SimulatorConfig", "parse_faults"]


class Simulator:
    """WSGI callable. Thread-safe: counters and the fault RNG are guarded by one lock."""

    def __init__(self, config: SimulatorConfig | None = None, **overrides):
        self.config = config or SimulatorConfig(**overrides)
        if config is not None and overrides:
            self.config = dataclasses.replace(config, **overrides)
        self.world = World(
            seed=self.config.seed,
            today=self.config.today,
            publish_on_clock=self.config.publish_on_clock,
            extra_charts=self.config.extra_charts,
            roster_artists=self.config.roster_artists,
            roster_songs=self.config.roster_songs,
        )
        self._lock = threading.Lock()
        self.gate = Gate(self.config, self._lock)
        self.request_log: list[tuple[str, str, int]] = []
        self.request_times: list[float] = []  # time.monotonic() of each answered request
        #: route name -> fn(body, path) returning the body to serve (a dict, or bytes served as
        #: HTML): lets tests serve payloads that break the contract
        self.tampering: dict[str, Callable] = {}
        self.routes = Routes(self.world, lambda: self.gate.quota_remaining)
        #: access tokens issued -> time.monotonic() after which they are refused
        self.tokens: dict[str, float] = {}
        #: its clients' token holders (``auth.shared_tokens``): one token per API client
        self.token_holders: dict = {}

    # -- knobs and observation ----------------------------------------------------------------

    @property
    def quota_remaining(self) -> int | None:
        return self.gate.quota_remaining

    @property
    def faults_injected(self) -> collections.Counter[str]:
        return self.gate.injected

    def counts(self) -> collections.Counter[str]:
        """Requests per route name (successful or not)."""
        with self._lock:
            return collections.Counter(route for route, _, _ in self.request_log)

    def successful_counts(self) -> collections.Counter[str]:
        with self._lock:
            return collections.Counter(r for r, _, status in self.request_log if status < 400)

    def reset_log(self) -> None:
        with self._lock:
            self.request_log.clear()
            self.request_times.clear()
            self.gate.injected.clear()

    def set_faults(self, faults: dict[str, float], seed: int | None = None) -> None:
        self.gate.set_faults(faults, seed)

    def set_quota(self, quota: int | None) -> None:
        self.gate.set_quota(quota)

    def expire_tokens(self) -> None:
        """Every access token issued so far is refused from now on (as after its expiry)."""
        with self._lock:
            self.tokens = dict.fromkeys(self.tokens, 0.0)

    # -- WSGI ---------------------------------------------------------------------------------

    def __call__(self, environ, start_response) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == TOKEN_PATH:
            return self._token_endpoint(environ, start_response)
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        route_name, handler, params = self.routes.match(path)
        headers: dict[str, str] = {}
        truncate = False
        try:
            if self.config.latency:
                time.sleep(self.config.latency)
            self._authenticate(environ)
            fault = self.gate.draw()
            if fault == "reset":
                self._log(route_name, path, 0)
                sock = environ.get("simulator.socket")
                if sock is not None:
                    sock.shutdown(socket.SHUT_RDWR)
                return []
            if fault == "slow":
                time.sleep(self.config.slow_seconds)
            truncate = fault == "truncate"
            self.gate.admit(fault)
            if handler is None:
                raise ApiError(404, "Not found.")
            body = handler(query=query, path=path, **params)
            if route_name in self.tampering:
                body = self.tampering[route_name](body, path)
            status = 200
        except ApiError as err:
            status, headers, body = err.status, dict(err.headers), err.body()
        remaining = self.gate.charge(status)
        self._log(route_name, path, status)
        if isinstance(body, bytes):  # tampered: served as a non-JSON page
            payload, ctype = body, "text/html; charset=utf-8"
        else:
            if status < 400:
                body.setdefault("errors", [])
            payload, ctype = json.dumps(body).encode(), "application/json"
        headers.update(
            {
                "Content-Type": ctype,
                "Content-Length": str(len(payload)),
                "x-quota-remaining": str(remaining),
            }
        )
        start_response(f"{status} {REASONS.get(status, 'Error')}", list(headers.items()))
        return [payload[: len(payload) // 2] if truncate else payload]

    def _log(self, route: str, path: str, status: int) -> None:
        with self._lock:
            self.request_log.append((route, path, status))
            self.request_times.append(time.monotonic())

    def _token_endpoint(self, environ, start_response) -> Iterable[bytes]:
        """``POST /oauth/token`` as SoundCharts' authorization service answers it: HTTP Basic
        with the API client's id and secret, form ``grant_type=client_credentials`` and
        ``team_id``. Not charged to the quota."""
        status, body = 200, {}
        length = int(environ.get("CONTENT_LENGTH") or 0)
        form = {
            k: v[-1]
            for k, v in parse_qs(environ["wsgi.input"].read(length).decode("latin-1")).items()
        }
        scheme, _, encoded = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            user = password = ""
        cfg = self.config
        if environ.get("REQUEST_METHOD") != "POST":
            status, body = 405, {"error": "invalid_request"}
        elif form.get("grant_type") != "client_credentials":
            status, body = 400, {"error": "unsupported_grant_type"}
        elif scheme.lower() != "basic" or (user, password) != (cfg.client_id, cfg.client_secret):
            status, body = 401, {"error": "invalid_client"}
        elif form.get("team_id") != cfg.team_id:
            status, body = 400, {"error": "invalid_request", "error_description": "unknown team"}
        else:
            token = f"sim-{secrets.token_urlsafe(24)}"
            with self._lock:
                self.tokens[token] = time.monotonic() + cfg.token_ttl
            body = {"access_token": token, "token_type": "Bearer", "expires_in": cfg.token_ttl}
        self._log("oauth_token", TOKEN_PATH, status)
        payload = json.dumps(body).encode()
        start_response(
            f"{status} {REASONS.get(status, 'Error')}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    def _authenticate(self, environ) -> None:
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() == "bearer":
            with self._lock:
                valid = self.tokens.get(token, 0.0) > time.monotonic()
            if not valid:
                raise ApiError(401, "Invalid or expired access token.")
            return
        creds = (environ.get("HTTP_X_APP_ID"), environ.get("HTTP_X_API_KEY"))
        if creds not in (SANDBOX_CREDENTIALS, (self.config.app_id, self.config.api_key)):
            raise ApiError(401, "You are not logged in.")
