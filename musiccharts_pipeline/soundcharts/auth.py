"""How the client proves who it is: SoundCharts' access tokens (recommended for new
integrations) or the legacy ``x-app-id`` / ``x-api-key`` pair.

Access tokens: an API client's id and secret are exchanged at the token endpoint (``POST``,
HTTP Basic auth, form ``grant_type=client_credentials`` and ``team_id``) for a short-lived token
sent as ``Authorization: Bearer …``. One token per process and API client, shared by every
thread and client of that process (:func:`shared_tokens`); fetched again shortly before it
expires and once after a 401. The secret goes to the token endpoint's origin only, the token to
the API's origin only (both sessions refuse redirects elsewhere), and both are registered with
``redact`` the moment they are known.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from typing import Any

import requests
from urllib3.util.retry import Retry

from musiccharts_pipeline import redact
from musiccharts_pipeline.soundcharts import errors

#: SoundCharts' token endpoint (authorization guide).
DEFAULT_AUTH_URL = "https://account.soundcharts.com/oauth/token"
#: A token is replaced when less than this share of its life, at most a minute, is left.
REFRESH_SHARE, REFRESH_AT_MOST = 0.1, 60.0
LEGACY_VARIABLES = ("SOUNDCHARTS_APP_ID", "SOUNDCHARTS_API_KEY")
TOKEN_VARIABLES = ("SOUNDCHARTS_CLIENT_ID", "SOUNDCHARTS_CLIENT_SECRET", "SOUNDCHARTS_TEAM_ID")


@dataclasses.dataclass(frozen=True)
class Credentials:
    """Either the legacy pair or the token flow's three values (and its endpoint)."""

    app_id: str | None = None
    api_key: str | None = None
    client_id: str | None = None
    client_secret: str | None = dataclasses.field(default=None, repr=False)
    team_id: str | None = None
    auth_url: str | None = None

    def __repr__(self) -> str:  # never the key or the secret
        flow = "access tokens" if self.uses_tokens else "legacy keys"
        return f"Credentials({flow}, app_id={self.app_id!r}, client_id={self.client_id!r})"

    @property
    def uses_tokens(self) -> bool:
        return any((self.client_id, self.client_secret, self.team_id))

    def check(self) -> Credentials:
        """Itself when it names exactly one complete flow; else an AuthError saying what to set.
        A value with spaces or control characters (a newline left by a secrets file) is refused
        by the name of its variable, never shown: requests would quote it in its error."""
        named = zip(
            (*LEGACY_VARIABLES, *TOKEN_VARIABLES),
            (self.app_id, self.api_key, self.client_id, self.client_secret, self.team_id),
            strict=True,
        )
        for name, value in named:
            if value is not None and (value != value.strip() or any(ord(c) < 33 for c in value)):
                raise errors.AuthError(
                    f"{name} holds spaces or control characters (a trailing newline?): "
                    "set it to the bare value"
                )
        legacy = any((self.app_id, self.api_key))
        if legacy and self.uses_tokens:
            raise errors.AuthError(
                "both credential flows are configured: set either SOUNDCHARTS_CLIENT_ID, "
                "SOUNDCHARTS_CLIENT_SECRET and SOUNDCHARTS_TEAM_ID (access tokens) or "
                "SOUNDCHARTS_APP_ID and SOUNDCHARTS_API_KEY (legacy keys), not both"
            )
        if self.uses_tokens:
            values = (self.client_id, self.client_secret, self.team_id)
            missing = [n for n, v in zip(TOKEN_VARIABLES, values, strict=True) if not v]
            if missing:
                raise errors.AuthError(
                    f"incomplete access-token credentials: set {' and '.join(missing)} too"
                )
        elif not (self.app_id and self.api_key):
            raise errors.AuthError(
                "missing credentials: set SOUNDCHARTS_CLIENT_ID, SOUNDCHARTS_CLIENT_SECRET and "
                "SOUNDCHARTS_TEAM_ID (access tokens), or SOUNDCHARTS_APP_ID and "
                "SOUNDCHARTS_API_KEY (legacy keys; the public sandbox uses soundcharts/soundcharts)"
            )
        redact.register(self.api_key)
        redact.register(self.client_secret)
        return self


class AccessTokens:
    """The current access token of one API client, fetched when missing, about to expire, or
    refused. Thread-safe: one fetch at a time, every thread gets the same token."""

    def __init__(
        self,
        auth_url: str,
        client_id: str,
        client_secret: str,
        team_id: str,
        session: requests.Session,
        timeout: float = 30.0,
        now: Callable[[], float] = time.monotonic,
    ):
        self.auth_url = auth_url
        self._client_id, self._client_secret, self._team_id = client_id, client_secret, team_id
        self._session, self._timeout, self._now = session, timeout, now
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        self.fetched = 0  # tokens obtained (observation)

    def __repr__(self) -> str:
        return f"AccessTokens({self.auth_url!r}, client_id={self._client_id!r})"

    def current(self) -> str:
        with self._lock:
            if self._token is None or self._now() >= self._renew_at:
                self._fetch()
            assert self._token is not None
            return self._token

    def refused(self, token: str) -> None:
        """The API answered 401 to ``token``: the next ``current()`` fetches another (unless a
        thread has already replaced it)."""
        with self._lock:
            if self._token == token:
                self._token = None

    def _fetch(self) -> None:
        try:
            response = self._session.post(
                self.auth_url,
                auth=(self._client_id, self._client_secret),
                data={"grant_type": "client_credentials", "team_id": self._team_id},
                headers={"Accept": "application/json"},
                timeout=self._timeout,
            )
        except requests.RequestException as exc:
            raise errors.TransportError(
                f"the token endpoint could not be reached: {type(exc).__name__}",
                url=self.auth_url,
            ) from None
        body = _json(response)
        if response.status_code in (400, 401, 403):
            said = _said(body) or response.reason
            raise errors.AuthError(
                f"the token endpoint refused the API client ({said}): check "
                "SOUNDCHARTS_CLIENT_ID, SOUNDCHARTS_CLIENT_SECRET and SOUNDCHARTS_TEAM_ID",
                response.status_code,
                url=self.auth_url,
            )
        if response.status_code >= 300:
            raise errors.ServerError(
                f"the token endpoint answered {response.status_code}: {_said(body) or ''}",
                response.status_code,
                url=self.auth_url,
            )
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise errors.ContractError("the token endpoint's answer has no access_token")
        redact.register(token)
        try:
            given = body.get("expires_in")
            lifetime = 3600.0 if given is None else max(0.0, float(given))
        except (TypeError, ValueError):
            lifetime = 3600.0
        self._token = token
        self._renew_at = self._now() + lifetime - min(REFRESH_AT_MOST, lifetime * REFRESH_SHARE)
        self.fetched += 1


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {}


def _said(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    errs = body.get("errors")
    if isinstance(errs, list) and errs and isinstance(errs[0], dict):
        return errs[0].get("message")
    return body.get("error_description") or body.get("error") or body.get("message")


_shared: dict[tuple, AccessTokens] = {}
_shared_lock = threading.Lock()


def shared_tokens(
    credentials: Credentials,
    auth_url: str,
    session_factory: Callable[[str], requests.Session],
    timeout: float,
    registry: dict | None = None,
) -> AccessTokens:
    """The process's token holder for these credentials at ``auth_url``, from ``registry``
    (default: the process's; an in-process simulator keeps its own, as its tokens are valid
    nowhere else)."""
    registry = _shared if registry is None else registry
    key = (auth_url, credentials.client_id, credentials.client_secret, credentials.team_id)
    with _shared_lock:
        holder = registry.get(key)
        if holder is None:
            holder = registry[key] = AccessTokens(
                auth_url,
                credentials.client_id or "",
                credentials.client_secret or "",
                credentials.team_id or "",
                session_factory(auth_url),
                timeout,
            )
        return holder


def token_retry() -> Retry:
    """Retries of a token request: the endpoint's 429 and 5xx, a few times, briefly."""
    return Retry(
        total=3,
        backoff_factor=0.2,
        status_forcelist=(429, 502, 503, 504),
        allowed_methods=frozenset({"POST"}),
        raise_on_status=False,
    )
