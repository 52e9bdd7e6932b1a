"""Timestamps as the vendors write them, and lenient ISO 8601 parsing of query values.

All three vendors return ISO 8601 UTC with milliseconds and a ``Z`` suffix
(``2026-05-14T15:30:00.000Z``). Stored timestamps use that one format so that string order
is time order, which the store's keyset paging relies on.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from sandbox._errors import InvalidInput


def system_now() -> datetime:
    """The real wall clock, in UTC (the default clock of every backend)."""
    return datetime.now(UTC)


def format_ts(moment: datetime) -> str:
    """``2026-05-14T15:30:00.000Z`` (UTC, milliseconds)."""
    utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime | None:
    """An aware UTC datetime from ISO 8601 text (``Z`` or offset; naive means UTC), or None.

    Accepts a bare date (``2026-01-01``) as its midnight UTC.
    """
    candidate = text.strip()
    if not candidate:
        return None
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def normalise_ts(text: str) -> str | None:
    """ISO text re-written in the stored format, or None when it is not ISO 8601."""
    parsed = parse_iso(text)
    return None if parsed is None else format_ts(parsed)


def ts_param(params: Mapping[str, str], name: str) -> str | None:
    """An optional ISO 8601 query parameter in the stored format; a bad one is `InvalidInput`."""
    if name not in params:
        return None
    parsed = normalise_ts(params[name])
    if parsed is None:
        raise InvalidInput(f"{name} must be an ISO 8601 date-time")
    return parsed
