"""Type checks for JSON request fields, raising ``InvalidInput`` with the field's name."""

from __future__ import annotations

from typing import Any

from sandbox._errors import InvalidInput
from sandbox._types import JSON


def opt_str(body: JSON, key: str) -> str | None:
    """``body[key]`` as a stripped string; None for null, a missing key or ``""``."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{key} must be a string")
    return value.strip() or None


def req_str(body: JSON, key: str) -> str:
    """``body[key]`` as a non-empty stripped string."""
    value = opt_str(body, key)
    if value is None:
        raise InvalidInput(f"{key} is required")
    return value


def opt_bool(body: JSON, key: str) -> bool | None:
    """``body[key]`` as a boolean; None for null or a missing key."""
    value = body.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise InvalidInput(f"{key} must be a boolean")


def opt_object(body: JSON, key: str) -> JSON | None:
    """``body[key]`` as a JSON object; None for null or a missing key."""
    value = body.get(key)
    if value is None or isinstance(value, dict):
        return value
    raise InvalidInput(f"{key} must be an object")


def opt_list(body: JSON, key: str) -> list[Any] | None:
    """``body[key]`` as a JSON array; None for null or a missing key."""
    value = body.get(key)
    if value is None or isinstance(value, list):
        return value
    raise InvalidInput(f"{key} must be an array")


def as_object(payload: Any, what: str = "Request body") -> JSON:
    """``payload`` when it is a JSON object."""
    if not isinstance(payload, dict):
        raise InvalidInput(f"{what} must be a JSON object")
    return payload
