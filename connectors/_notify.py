"""An alert's webhook: one JSON POST per breached run, never the reason a run fails twice.

The URL is a `Secret` (webhook URLs carry their token in the path): it is never printed, and
revealing it registers it with `connectors._redact`, so an error that quotes it (httpx names
the URL it could not reach) shows `****`. A webhook that cannot be reached, times out or
answers an error status is one warning line, returned to the caller; the run's own outcome
(exit 1, a Failed state) was decided before and does not change.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from connectors._redact import redact
from connectors._secrets import Secret

__all__ = ["WEBHOOK_TIMEOUT", "post_webhook", "webhook_problem"]

logger = logging.getLogger(__name__)

# A receiver that does not answer within this long is not waited for (the run is over).
WEBHOOK_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def webhook_problem(url: str) -> str | None:
    """Why `url` cannot be an alert webhook (as the end of a sentence), or None. Plain http
    is for loopback only: the URL is a secret, and so may the body be."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "is not a URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http(s) URL, e.g. https://hooks.example.com/…"
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        return "must use https (plain http only to 127.0.0.1 / localhost)"
    return None


def post_webhook(
    url: Secret,
    body: Mapping[str, Any],
    *,
    timeout: httpx.Timeout = WEBHOOK_TIMEOUT,
    transport: httpx.BaseTransport | None = None,
) -> str | None:
    """POST `body` as JSON to the webhook; None when it answered 2xx, else one warning line
    (the URL masked) saying why it was not delivered."""
    try:
        with httpx.Client(timeout=timeout, transport=transport) as client:
            response = client.post(url.reveal(), json=dict(body))
    except httpx.HTTPError as exc:
        said = str(exc).splitlines()[0] if str(exc) else ""
        return redact(f"the alert webhook was not reached ({type(exc).__name__}: {said})")
    if not response.is_success:
        return f"the alert webhook answered {response.status_code}: the alert was not delivered"
    logger.info("alert webhook: delivered (%d)", response.status_code)
    return None
