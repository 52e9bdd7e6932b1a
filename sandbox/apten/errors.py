"""Apten's error replies: ``{"message": "<text>"}``, as its success bodies are shaped.

Apten's API sits behind AWS API Gateway (its OpenAPI export carries a gateway-style version
timestamp), so gateway-made errors use the gateway's own bodies: a bad or missing key is
403 ``{"message": "Forbidden"}``, an unknown path or method is 403
``{"message": "Missing Authentication Token"}``, throttling is 429
``{"message": "Too Many Requests"}`` and 5xx bodies are the gateway's JSON messages.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from sandbox._errors import BackendError, Unauthorized
from sandbox._shapes import status_for

FAULT_MESSAGES = {
    429: "Too Many Requests",
    500: "Internal server error",
    502: "Internal server error",
    503: "Service Unavailable",
    504: "Endpoint request timed out",
}


class AptenErrors:
    """Apten's ``ErrorShape``."""

    def error(self, status: int, message: str, *, code: str | None = None) -> Response:
        """``{"message": message}`` with ``status``."""
        return JSONResponse({"message": message}, status_code=status)

    def fault(self, status: int) -> Response:
        """Injected faults with API Gateway's messages."""
        return self.error(status, FAULT_MESSAGES.get(status, "Internal server error"))


def install_handlers(app: FastAPI, shape: AptenErrors) -> None:
    """Turn backend errors and routing misses into Apten-shaped replies."""

    async def on_backend(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, BackendError)
        if isinstance(exc, Unauthorized):
            return shape.error(403, "Forbidden")
        return shape.error(status_for(exc), exc.message)

    async def on_http(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code in (404, 405):
            return shape.error(403, "Missing Authentication Token")
        return shape.error(exc.status_code, str(exc.detail))

    app.add_exception_handler(BackendError, on_backend)
    app.add_exception_handler(HTTPException, on_http)
