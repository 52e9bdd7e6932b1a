"""Errors raised while wiring a run together (tree in `schemas.exceptions`)."""

from __future__ import annotations

from schemas.exceptions import CannotProceedError, UsageError

__all__ = ["ConfigError", "DaskUnavailable"]


class ConfigError(UsageError):
    """A flag, an environment variable or leadpipe.toml is wrong."""


class DaskUnavailable(CannotProceedError):
    """The Dask scheduler of a `--runner dask` run does not answer."""
