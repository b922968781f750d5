"""What every request meets before the application: the write token checked before a byte of
the body is read, a body limit enforced from ``Content-Length`` and while streaming, and the
response headers that keep answers data (``nosniff``; on pages a Content-Security-Policy that
allows only what they use, and no framing).

A pure ASGI middleware: Starlette's ``BaseHTTPMiddleware`` would read nothing either, but it
cannot stop a body that lies about its length once the application is reading it.
"""

from __future__ import annotations

import hmac
import json

from musiccharts_pipeline.serve.http import ApiError
from musiccharts_pipeline.settings import DEFAULT_MAX_BODY_BYTES

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: The pages are server-rendered: inline styles and inline SVG, forms that GET the same site,
#: no script and nothing loaded from anywhere.
PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
API_POLICY = "default-src 'none'; frame-ancestors 'none'"


def token_problem(expected: str | None, authorization: str) -> ApiError | None:
    """Why a write with this ``Authorization`` header is refused, or None when it may go on.
    Compared in constant time; with no token configured every write is refused."""
    if not expected:
        return ApiError(
            403,
            "writes are disabled because no API token is configured: set "
            "MUSICCHARTS_API_TOKEN in the environment of `musiccharts serve`, restart it, and "
            "send the header `Authorization: Bearer <token>`",
        )
    scheme, _, given = authorization.partition(" ")
    challenge = {"WWW-Authenticate": "Bearer"}
    if scheme.lower() != "bearer" or not given.strip():
        return ApiError(
            401, "this write needs the header `Authorization: Bearer <token>`", challenge
        )
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        return ApiError(401, "the bearer token is not valid", challenge)
    return None


class _TooLarge(Exception):
    pass


class RequestGuard:
    """ASGI middleware: token before body for writes under ``/api``, ``max_body`` bytes at most
    (413 beyond), security headers on every answer."""

    def __init__(self, app, api_token: str | None, max_body: int = DEFAULT_MAX_BODY_BYTES):
        self.app, self.api_token, self.max_body = app, api_token, max_body

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        path = scope["path"]
        secure = _with_headers(send, path)
        if scope["method"] in WRITE_METHODS and path.startswith("/api/"):
            problem = token_problem(self.api_token, headers.get("authorization", ""))
            if problem is not None:
                return await _refuse(secure, problem)
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                return await _refuse(secure, ApiError(400, "Content-Length is not a number"))
            if int(declared) > self.max_body:
                return await _refuse(secure, self._too_large())
        seen, started, refused = 0, False, False

        async def counted_receive():
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    refused = True
                    raise _TooLarge()
            return message

        async def tracked_send(message):
            nonlocal started
            if refused:  # the application's answer to a body it never got whole
                return
            started = True
            await secure(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except _TooLarge:
            refused = True
        if refused and not started:
            await _refuse(secure, self._too_large())

    def _too_large(self) -> ApiError:
        return ApiError(413, f"the request body is larger than {self.max_body} bytes")


def _with_headers(send, path: str):
    page = not path.startswith("/api")
    extra = [
        (b"x-content-type-options", b"nosniff"),
        (b"content-security-policy", (PAGE_POLICY if page else API_POLICY).encode()),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"same-origin"),
    ]

    async def secure_send(message):
        if message["type"] == "http.response.start":
            names = {k.lower() for k, _ in message.get("headers", [])}
            message = {
                **message,
                "headers": [*message.get("headers", []), *(h for h in extra if h[0] not in names)],
            }
        await send(message)

    return secure_send


async def _refuse(send, error: ApiError) -> None:
    body = json.dumps(error.body()).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        *((k.lower().encode(), v.encode()) for k, v in (error.headers or {}).items()),
    ]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
