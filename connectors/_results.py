"""What one request did: the record the push executor makes and the journal stores.

Apart from `_journal.py` (which re-exports it) so that the push, the plan-to-request step and
`import connectors` do not load SQLAlchemy: `leadpipe check` never opens a journal.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OpResult"]


@dataclass(frozen=True)
class OpResult:
    """What one request did, for the journal."""

    state: str
    target_id: str | None = None
    http_status: int | None = None
    attempts: int = 0
    request_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
