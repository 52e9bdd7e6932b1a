"""The request log: every vendor request, its final status and any injected fault.

Entries are kept in memory (not in the database) in arrival order, at most ``MAX_ENTRIES``
(the oldest are discarded beyond that). ``status`` is what reached the client: None when the
connection was dropped or hung. ``applied`` says whether the vendor handler ran, which for a
write means it took effect (a dropped reply after a write has ``applied: true``).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qsl

from sandbox._types import JSON

MAX_ENTRIES = 100_000


@dataclass
class LogEntry:
    """One vendor request."""

    seq: int
    time: str
    vendor: str
    method: str
    path: str
    query: dict[str, str | list[str]]
    body: Any
    status: int | None = None
    fault: str | None = None
    fault_phase: str | None = None
    applied: bool = False
    duration_ms: float = 0.0

    def to_json(self) -> JSON:
        """The entry as ``GET /_sandbox/requests`` returns it."""
        return asdict(self)


class RequestLog:
    """An append-only, bounded, thread-safe list of ``LogEntry``."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: deque[LogEntry] = deque(maxlen=max_entries)
        self._lock = threading.Lock()
        self._seq = 0

    def next_seq(self) -> int:
        """A number that orders requests by arrival."""
        with self._lock:
            self._seq += 1
            return self._seq

    def append(self, entry: LogEntry) -> None:
        """Record a finished request."""
        with self._lock:
            self._entries.append(entry)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()

    def entries(self, vendor: str | None = None) -> list[JSON]:
        """The entries in arrival order, optionally for one vendor."""
        with self._lock:
            chosen = [e for e in self._entries if vendor is None or e.vendor == vendor]
        return [e.to_json() for e in sorted(chosen, key=lambda e: e.seq)]


def parse_body(raw: bytes) -> Any:
    """The body as parsed JSON; undecodable bodies as text; empty as None."""
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", errors="replace")


def parse_query(raw: bytes) -> dict[str, str | list[str]]:
    """The query string as a dict; repeated keys give lists."""
    result: dict[str, str | list[str]] = {}
    for key, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if key not in result:
            result[key] = value
            continue
        previous = result[key]
        result[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
    return result
