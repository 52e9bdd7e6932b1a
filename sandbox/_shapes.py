"""The seam between the fault layer and the vendors: how a vendor says "error".

Each vendor's ``errors`` module provides an ``ErrorShape``; the fault layer uses it for
injected 429s and 5xx, the vendor's routes use it for their own errors, so both look alike.
"""

from __future__ import annotations

from typing import Protocol

from starlette.responses import HTMLResponse, Response

from sandbox._errors import BackendError, Conflict, Forbidden, NotFound, Unauthorized

GATEWAY_STATUSES = frozenset({502, 503, 504})
_REASONS = {502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}


class ErrorShape(Protocol):
    """Builds a vendor-shaped error response."""

    def error(self, status: int, message: str, *, code: str | None = None) -> Response:
        """The vendor's error body for ``status`` (``code`` where the vendor has codes)."""
        ...

    def fault(self, status: int) -> Response:
        """What an injected ``status`` looks like on the wire for this vendor."""
        ...


def gateway_page(status: int) -> Response:
    """The HTML page a reverse proxy (nginx, Cloudflare) returns for 502/503/504."""
    reason = _REASONS.get(status, "Error")
    body = (
        f"<html><head><title>{status} {reason}</title></head><body><h1>{reason}</h1></body></html>"
    )
    return HTMLResponse(body, status_code=status)


def status_for(exc: BackendError) -> int:
    """The HTTP status for a backend error class (400/401/403/404/409; Apten overrides 401)."""
    if isinstance(exc, Unauthorized):
        return 401
    if isinstance(exc, Forbidden):
        return 403
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    return 400
