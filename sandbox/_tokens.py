"""Opaque paging tokens: base64 of compact JSON, as Apten's sample token is built.

Apten's documented sample decodes to ``{"searchAfter":["2026-05-14T15:30:00.000Z","room_abc"]}``;
Omni's analytics ``nextToken`` is undocumented and reuses the same scheme with key ``after``.
Decoding accepts the standard and the URL-safe alphabets, padded or not.
"""

from __future__ import annotations

import base64
import binascii
import json

from sandbox._errors import InvalidInput


def encode_after(key: str, timestamp: str, lead_id: str) -> str:
    """``base64({"<key>": [timestamp, id]})``."""
    payload = json.dumps({key: [timestamp, lead_id]}, separators=(",", ":"))
    return base64.b64encode(payload.encode()).decode()


def decode_after(key: str, token: str, what: str = "nextToken") -> tuple[str, str]:
    """The ``(timestamp, id)`` pair inside a token made by ``encode_after``."""
    text = token.strip().replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        pair = json.loads(raw)[key]
    except (binascii.Error, ValueError, TypeError, KeyError) as exc:
        raise InvalidInput(f"Invalid {what}") from exc
    if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
        raise InvalidInput(f"Invalid {what}")
    return pair[0], pair[1]
