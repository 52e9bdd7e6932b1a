"""Errors raised while wiring a run together (tree in `schemas.exceptions`)."""

from __future__ import annotations

from schemas.exceptions import UsageError

__all__ = ["ConfigError"]


class ConfigError(UsageError):
    """A flag, an environment variable or leadpipe.toml is wrong."""
