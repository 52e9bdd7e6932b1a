"""Known secrets masked in whatever we store or show: vendor text, exception messages, logs.

Some vendors quote the API key back (in an error message, a header, even a lead field), and a
database driver may quote the journal's password. This module keeps a process-wide registry of
the secret values in play and masks each as `MASK`:

- a `Secret` registers its value when it is revealed (the moment a key leaves our hands, as a
  header), and the journal registers its URL's password when it parses the URL;
- `redact(text)` masks every registered value in a message; `Redactor` masks a given few (the
  HTTP layer masks a reply's body with its own key only: the vendor cannot know anything else);
- `SecretFilter` masks log records. It runs where every record is made
  (`logging.setLogRecordFactory`, installed with the first secret), not on chosen loggers or
  handlers: a logger's filter sees only that logger's own records, not its children's
  (`httpcore.http11` logs response headers at DEBUG), and Prefect's logging setup replaces the
  root's handlers.

Each value is masked as written and as it is spelled inside a repr (str or bytes), a JSON string
and a URL. Values shorter than MIN_LENGTH are not masked at all (a warning says so, once):
masking a three-letter key would mangle every word that contains those letters.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = ["MASK", "MIN_LENGTH", "Redactor", "SecretFilter", "redact", "register"]

logger = logging.getLogger(__name__)

MASK = "****"
# Shorter values are left alone: too likely to occur in ordinary text, too short to be secret.
MIN_LENGTH = 6


class Redactor:
    """Masks a fixed set of values in text and in parsed JSON; tells whether bytes hold one."""

    __slots__ = ("_needles", "_pattern")

    def __init__(self, values: Iterable[str]) -> None:
        spellings = {s for v in values if len(v) >= MIN_LENGTH for s in _spellings(v)}
        # Longest first, so a spelling that contains another is masked whole.
        ordered = sorted(spellings, key=lambda s: (-len(s), s))
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self._needles = tuple(s.encode() for s in ordered)

    def __bool__(self) -> bool:
        return self._pattern is not None

    def text(self, text: str) -> str:
        """`text` with every value masked."""
        return self._pattern.sub(MASK, text) if self._pattern else text

    def json(self, value: Any) -> Any:
        """A parsed JSON value with every value masked in its strings (keys included)."""
        if not self._pattern:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(item) for item in value]
        if isinstance(value, dict):
            return {self.json(k): self.json(v) for k, v in value.items()}
        return value

    def found_in(self, data: bytes) -> bool:
        """Whether raw bytes (a response body) hold a value: a quick look before a walk."""
        return any(needle in data for needle in self._needles)


def _spellings(value: str) -> set[str]:
    """`value` as written, and as a repr, a JSON string or a URL would show it."""
    return {
        value,
        repr(value)[1:-1],
        repr(value.encode())[2:-1],
        json.dumps(value)[1:-1],
        json.dumps(value).replace("/", "\\/")[1:-1],
        quote(value, safe=""),
        quote_plus(value, safe=""),
    }


class _Registry:
    """The secrets this process knows; a new `Redactor` replaces the old one on each change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._too_short: set[int] = set()  # hashes of values warned about, never the values
        self.current = Redactor(())

    def add(self, value: str) -> bool:
        if len(value) < MIN_LENGTH:
            self._warn_short(value)
            return False
        if value in self._values:
            return True
        with self._lock:
            if not self._values:
                _install_log_filter()
            self._values.add(value)
            self.current = Redactor(self._values)
        return True

    def _warn_short(self, value: str) -> None:
        if not value or hash(value) in self._too_short:
            return
        self._too_short.add(hash(value))
        logger.warning(
            "a secret (API key or journal password) shorter than %d characters is not masked "
            "in vendor messages and logs: it cannot be told apart from ordinary text",
            MIN_LENGTH,
        )


_REGISTRY = _Registry()


def register(value: str) -> bool:
    """Mask `value` from now on, in `redact` and in every log record; False if it is too short."""
    return _REGISTRY.add(value)


def redact(text: str) -> str:
    """`text` with every registered secret masked as `MASK`."""
    return _REGISTRY.current.text(text)


class SecretFilter(logging.Filter):
    """Masks registered secrets in a record's message, traceback and stack; drops nothing.

    Installed for every record when the first secret is registered; it may also be added to any
    handler or logger.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        redactor = _REGISTRY.current
        if redactor:
            _mask_record(record, redactor)
        return True


def _mask_record(record: logging.LogRecord, redactor: Redactor) -> None:
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string: logging reports it on emit
        return
    masked = redactor.text(message)
    if masked != message:
        record.msg, record.args = masked, None
    if record.exc_info and record.exc_info[1] is not None:
        text = record.exc_text or logging.Formatter().formatException(record.exc_info)
        masked = redactor.text(text)
        if masked != text:
            # Formatters print a record's exc_text when it has one; the exception itself goes.
            record.exc_text, record.exc_info = masked, None
    if record.stack_info:
        record.stack_info = redactor.text(record.stack_info)


def _install_log_filter() -> None:
    """Wrap the log record factory (once per process): every record is masked as it is made."""
    secret_filter = SecretFilter()
    make: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()

    def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        secret_filter.filter(record)
        return record

    logging.setLogRecordFactory(masked_record)
