"""Octanist's envelope and error replies, and the per-request id that both carry.

Success: ``{"success": true, "data": ..., "meta": {"requestId": "req_<hex>", "timestamp"}}``;
errors: ``{"success": false, "error": {"code", "message", "details"}, "meta": {...}}``. The
request id is also sent as an ``X-Request-Id`` header (an emulator choice).

Documented code/status pairs: 400 ``VALIDATION_ERROR``, 401 ``UNAUTHORIZED``, 404
``NOT_FOUND``, 409 ``CONFLICT``, 500 ``INTERNAL_ERROR``. Choices: ``INVALID_FILTER`` and
``INVALID_DATE`` are 400; an injected 429 is ``RATE_LIMITED`` (Octanist has no rate limits
today, so the code is invented); an unsupported method is 405 ``VALIDATION_ERROR``;
injected 502/503/504 are a proxy's HTML page.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox._errors import BackendError
from sandbox._random import SandboxRandom
from sandbox._shapes import GATEWAY_STATUSES, gateway_page, status_for
from sandbox._time import format_ts
from sandbox._types import JSON, Clock

CODES = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "VALIDATION_ERROR",
    409: "CONFLICT",
    429: "RATE_LIMITED",
}
REQUEST_ID_HEADER = "X-Request-Id"


class OctanistErrors:
    """Octanist's ``ErrorShape``, and the envelope for successful replies."""

    def __init__(self, rng: SandboxRandom, now: Clock) -> None:
        self._rng = rng
        self._now = now

    def new_request_id(self) -> str:
        """``req_`` and 16 hex digits from the app RNG."""
        return "req_" + self._rng.hex(16)

    def meta(self, request_id: str, **extra: Any) -> JSON:
        """``{..extra, requestId, timestamp}``."""
        return {**extra, "requestId": request_id, "timestamp": format_ts(self._now())}

    def ok(self, data: Any, request_id: str, **meta: Any) -> JSONResponse:
        """A success envelope."""
        body = {"success": True, "data": data, "meta": self.meta(request_id, **meta)}
        return JSONResponse(body, headers={REQUEST_ID_HEADER: request_id})

    def error(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        details: JSON | None = None,
        request_id: str | None = None,
    ) -> Response:
        """An error envelope (code defaults from the status)."""
        rid = request_id or self.new_request_id()
        error = {"code": code or _code(status), "message": message, "details": details or {}}
        body = {"success": False, "error": error, "meta": self.meta(rid)}
        return JSONResponse(body, status_code=status, headers={REQUEST_ID_HEADER: rid})

    def fault(self, status: int) -> Response:
        """Injected faults: the envelope for 429/500, a proxy page for 502-504."""
        if status in GATEWAY_STATUSES:
            return gateway_page(status)
        message = "Too many requests" if status == 429 else "Internal server error"
        return self.error(status, message)


def _code(status: int) -> str:
    return CODES.get(status, "INTERNAL_ERROR")


def request_id(request: Request) -> str:
    """The id ``RequestIdMiddleware`` gave this request."""
    return str(request.state.request_id)


class RequestIdMiddleware:
    """Gives each Octanist request a ``req_<hex>`` id (``request.state.request_id``)."""

    def __init__(self, app: ASGIApp, shape: OctanistErrors) -> None:
        self.app = app
        self.shape = shape

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope.setdefault("state", {})["request_id"] = self.shape.new_request_id()
        await self.app(scope, receive, send)


def install_handlers(app: FastAPI, shape: OctanistErrors) -> None:
    """Turn backend errors and routing misses into Octanist error envelopes."""

    async def on_backend(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BackendError)
        rid = request_id(request)
        return shape.error(
            status_for(exc), exc.message, code=exc.code, details=exc.details, request_id=rid
        )

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = "Not found" if exc.status_code == 404 else str(exc.detail)
        return shape.error(exc.status_code, message, request_id=request_id(request))

    app.add_exception_handler(BackendError, on_backend)
    app.add_exception_handler(HTTPException, on_http)
