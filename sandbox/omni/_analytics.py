"""Omni ``GET /api/v0/analytics``: per-lead breakdown rows, 500 per page, createdAt window.

Documented: ``start``/``end`` filter on ``createdAt``; ``end`` before ``start``, a non-ISO
date or an unknown parameter -> 400; deleted and test leads excluded; ``nextToken`` null at
the end. Choices: both bounds are inclusive; rows are ordered by (createdAt, id); the token
is base64 JSON ``{"after": [createdAt, id]}``; ``totals`` covers the whole window (not the
page) and message counters are 0 (the sandbox sends no messages); checklist ``source`` is
``imported`` for values set through the API, null for untouched items.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sandbox._errors import InvalidInput
from sandbox._time import ts_param
from sandbox._tokens import decode_after, encode_after
from sandbox._types import JSON
from sandbox.omni._checklist import items

PAGE_SIZE = 500
PARAMETERS = frozenset({"start", "end", "format", "token"})
StatusOf = Callable[[JSON], str]


@dataclass(frozen=True)
class AnalyticsQuery:
    """Parsed analytics parameters (timestamps in the stored format)."""

    start: str | None
    end: str | None
    csv: bool
    after: tuple[str, str] | None


def parse_query(params: Mapping[str, str]) -> AnalyticsQuery:
    """Validate the query string; raise ``InvalidInput`` as Omni's 400 would."""
    unknown = sorted(set(params) - PARAMETERS)
    if unknown:
        raise InvalidInput(f"Unrecognized query parameter(s): {', '.join(unknown)}")
    start, end = ts_param(params, "start"), ts_param(params, "end")
    if start and end and end < start:
        raise InvalidInput("end must be greater than or equal to start")
    fmt = params.get("format", "json")
    if fmt not in ("json", "csv"):
        raise InvalidInput("format must be json or csv")
    token = params.get("token")
    after = decode_after("after", token, "token") if token else None
    return AnalyticsQuery(start, end, fmt == "csv", after)


def in_window(records: list[JSON], query: AnalyticsQuery) -> list[JSON]:
    """Records created inside [start, end], ascending by (createdAt, id)."""
    chosen = [
        r
        for r in records
        if (query.start is None or r["createdAt"] >= query.start)
        and (query.end is None or r["createdAt"] <= query.end)
    ]
    return sorted(chosen, key=lambda r: (r["createdAt"], r["id"]))


def page(records: list[JSON], query: AnalyticsQuery, status_of: StatusOf) -> JSON:
    """One JSON page of the analytics report over ``records`` (already windowed)."""
    remaining = records
    if query.after is not None:
        remaining = [r for r in records if (r["createdAt"], r["id"]) > query.after]
    rows = remaining[:PAGE_SIZE]
    more = len(remaining) > PAGE_SIZE
    last = rows[-1] if rows else None
    token = encode_after("after", last["createdAt"], last["id"]) if more and last else None
    return {
        "start": query.start,
        "end": query.end,
        "nextToken": token,
        "totals": totals(records, status_of),
        "breakdown": [breakdown_row(r) for r in rows],
    }


def totals(records: list[JSON], status_of: StatusOf) -> JSON:
    """Counts over the whole window."""
    statuses = [status_of(r) for r in records]
    count = len(records)
    completed = statuses.count("COMPLETED")
    return {
        "count": count,
        "leadsCompleted": completed,
        "leadsOptedOut": statuses.count("OPTED_OUT"),
        "inboundMessages": 0,
        "outboundMessages": 0,
        "channels": {},
        "completion": {"rate": completed / count if count else 0.0},
        "interventions": 0,
    }


def breakdown_row(record: JSON) -> JSON:
    """One lead's analytics row."""
    return {
        "leadId": record["id"],
        "firstName": record["firstName"],
        "lastName": record["lastName"],
        "email": record["email"],
        "phoneNumber": record["phoneNumber"],
        "createdAt": record["createdAt"],
        "completedAt": record["_completedAt"],
        "optedOutAt": record["optOutAt"],
        "inboundMessages": 0,
        "outboundMessages": 0,
        "lastInboundAt": None,
        "lastOutboundAt": None,
        "channels": {},
        "checklist": [_checklist_row(item) for item in items(record["_checklist"])],
    }


def _checklist_row(item: JSON) -> JSON:
    return {
        "code": item["checklistItem"]["code"],
        "required": item["checklistItem"]["isRequired"],
        "status": item["status"],
        "value": item["value"],
        "updatedAt": item["_updatedAt"],
        "source": item["_source"],
    }
