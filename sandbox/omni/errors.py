"""Omni's error replies: ``{"success": false, "error": "<message>"}``.

Omni documents only the statuses (400, 401, 404, 500), not the body; the ``success: false``
shape mirrors its success bodies (an emulator choice). Injected 502/503/504 come back as a
proxy's HTML page, since such errors come from the front proxy, not the API.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from sandbox._errors import BackendError
from sandbox._shapes import GATEWAY_STATUSES, gateway_page, status_for


class OmniErrors:
    """Omni's ``ErrorShape``."""

    def error(self, status: int, message: str, *, code: str | None = None) -> Response:
        """``{"success": false, "error": message}`` with ``status``."""
        return JSONResponse({"success": False, "error": message}, status_code=status)

    def fault(self, status: int) -> Response:
        """Injected faults: JSON for 429/500, a proxy page for 502-504."""
        if status in GATEWAY_STATUSES:
            return gateway_page(status)
        message = "Too many requests" if status == 429 else "Internal server error"
        return self.error(status, message)


def install_handlers(app: FastAPI, shape: OmniErrors) -> None:
    """Turn backend errors and routing misses into Omni-shaped replies."""

    async def on_backend(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, BackendError)
        return shape.error(status_for(exc), exc.message)

    async def on_http(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return shape.error(exc.status_code, str(exc.detail))

    app.add_exception_handler(BackendError, on_backend)
    app.add_exception_handler(HTTPException, on_http)
