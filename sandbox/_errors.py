"""Errors raised by the vendor backends, free of HTTP.

Each vendor's ``routes`` turns them into that vendor's status codes and error bodies::

    BackendError            any rule a request broke
    ├── InvalidInput        bad or missing parameters (HTTP 400 at every vendor)
    ├── NotFound            no such lead (404)
    ├── Conflict            several leads match where one is needed (Octanist 409)
    ├── Forbidden           a valid key, but the organisation refuses it (Octanist 403)
    └── Unauthorized        missing or wrong API key (Omni/Octanist 401, Apten 403)

``code`` carries a vendor error code where the vendor has them (Octanist's
``INVALID_FILTER``, ``INVALID_DATE``); ``details`` carries structured context.
"""

from __future__ import annotations

from typing import ClassVar

from sandbox._types import JSON


class BackendError(Exception):
    """Root of the backend errors; ``message`` is shown to the API client."""

    default_code: ClassVar[str] = "VALIDATION_ERROR"

    def __init__(self, message: str, *, code: str | None = None, details: JSON | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details: JSON = details or {}


class InvalidInput(BackendError):
    """The request broke a validation rule."""


class NotFound(BackendError):
    """The lead (or other resource) does not exist."""

    default_code = "NOT_FOUND"


class Conflict(BackendError):
    """The request is ambiguous or clashes with existing state."""

    default_code = "CONFLICT"


class Forbidden(BackendError):
    """The organisation refuses the request (e.g. Octanist's lead filtering rules)."""

    default_code = "FORBIDDEN"


class Unauthorized(BackendError):
    """Missing or wrong API key (Omni/Octanist 401, Apten 403)."""

    default_code = "UNAUTHORIZED"
