"""Errors raised by the transform stages (tree in `schemas.exceptions`)."""

from __future__ import annotations

from schemas.exceptions import CannotProceedError, UsageError

__all__ = ["MappingError", "ReadError"]


class ReadError(CannotProceedError):
    """The source file cannot be read as a table of leads."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


class MappingError(UsageError):
    """The mapping asks for columns the file does not have, or is ambiguous."""
