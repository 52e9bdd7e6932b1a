"""Request helpers shared by the vendor routes: JSON bodies and API-key checks."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from fastapi import Request

from sandbox._errors import InvalidInput, Unauthorized
from sandbox._fields import as_object
from sandbox._types import JSON

KeyCheck = Callable[[Request], Awaitable[None]]


async def json_object(request: Request) -> JSON:
    """The request body as a JSON object (``InvalidInput`` for anything else)."""
    raw = await request.body()
    try:
        payload = json.loads(raw) if raw.strip() else None
    except ValueError as exc:
        raise InvalidInput("Invalid JSON body") from exc
    return as_object(payload)


def api_key_check(header: str, expected: Callable[[], str]) -> KeyCheck:
    """A dependency raising ``Unauthorized`` unless ``header`` carries the app's key."""

    async def check(request: Request) -> None:
        if request.headers.get(header) != expected():
            raise Unauthorized("Invalid or missing API key")

    return check
