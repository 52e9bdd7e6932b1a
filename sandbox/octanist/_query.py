"""Octanist ``GET /api/leads`` query language: paging, sort, search, fields, filters.

Documented: ``limit`` 1-100 (default 50), 1-based ``page``, ``sort=field:direction``
(default ``createdAt:desc``), ``search`` over name/email/phone, ``fields`` projection,
``?field=value`` equality and ``[gte] [gt] [lte] [lt] [exists]`` operators, error codes
``INVALID_FILTER``/``INVALID_DATE``. Choices: both are HTTP 400; bad ``limit``/``page``/
``sort`` are ``VALIDATION_ERROR``; dates compare as instants (``Z`` or offsets; a bare date is
its UTC midnight); nulls never satisfy a comparison and sort last; ties break on ``id``;
``search`` is a case-insensitive substring match; unknown ``fields`` names are ignored;
the legacy ``updated_after`` means ``updatedAt[gt]`` and ``updated_at``/``created_at`` are
accepted as sort fields.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sandbox._errors import InvalidInput
from sandbox._time import normalise_ts
from sandbox._types import JSON
from sandbox.octanist._fields import CLICK_IDS, SOURCES, STATUSES, UTM

DEFAULT_LIMIT, MAX_LIMIT = 50, 100
RESERVED = frozenset({"limit", "page", "sort", "search", "fields"})
DATE_FIELDS = frozenset({"createdAt", "updatedAt", "qualifiedAt"})
EQUALITY_FIELDS = frozenset({"status", "source", "labelId", "website", *UTM})
ENUMS = {"status": STATUSES, "source": SOURCES}
SORTABLE = DATE_FIELDS | {"value", "name", "email", "status", "id"}
SORT_ALIASES = {"updated_at": "updatedAt", "created_at": "createdAt"}
COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "gte": lambda a, b: a >= b,
    "gt": lambda a, b: a > b,
    "lte": lambda a, b: a <= b,
    "lt": lambda a, b: a < b,
    "eq": lambda a, b: a == b,
}
KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\[([a-z]+)\])?$")
Predicate = Callable[[JSON], bool]


def invalid_filter(message: str) -> InvalidInput:
    """An ``INVALID_FILTER`` error."""
    return InvalidInput(message, code="INVALID_FILTER")


@dataclass(frozen=True)
class LeadQuery:
    """A parsed list request."""

    limit: int = DEFAULT_LIMIT
    page: int = 1
    sort: tuple[str, bool] = ("createdAt", True)
    search: str | None = None
    fields: tuple[str, ...] | None = None
    filters: list[Predicate] = field(default_factory=list)


def parse_query(params: Mapping[str, str]) -> LeadQuery:
    """Validate every parameter; raise ``InvalidInput`` with the vendor's code."""
    fields = params.get("fields")
    return LeadQuery(
        limit=_bounded_int(params.get("limit"), "limit", DEFAULT_LIMIT, MAX_LIMIT),
        page=_bounded_int(params.get("page"), "page", 1, None),
        sort=_sort(params.get("sort", "createdAt:desc")),
        search=(params.get("search") or "").strip().lower() or None,
        fields=tuple(f.strip() for f in fields.split(",") if f.strip()) if fields else None,
        filters=[_filter(key, value) for key, value in params.items() if key not in RESERVED],
    )


@dataclass(frozen=True)
class IndexedPage:
    """A list request the store can answer from its time index (the incremental-sync shape)."""

    column: str  # "created_at" or "updated_at"
    lower: tuple[str, str] | None  # (">=" or ">", normalised timestamp)
    descending: bool


_COLUMNS = {"createdAt": "created_at", "updatedAt": "updated_at"}
_LOWER = {"gte": ">=", "gt": ">"}


def indexed(params: Mapping[str, str], query: LeadQuery) -> IndexedPage | None:
    """The request as an index range when it is only a sort on a stored time column with, at
    most, a lower bound on that same column (no search, no other filter); else None."""
    name, descending = query.sort
    if name not in _COLUMNS or query.search is not None:
        return None
    filters = {k: v for k, v in params.items() if k not in RESERVED}
    if not filters:
        return IndexedPage(_COLUMNS[name], None, descending)
    if len(filters) != 1:
        return None
    ((key, value),) = filters.items()
    found = KEY.match(key)
    bound = normalise_ts(value)
    if not found or found.group(1) != name or found.group(2) not in _LOWER or bound is None:
        return None
    return IndexedPage(_COLUMNS[name], (_LOWER[found.group(2)], bound), descending)


def created_floor(params: Mapping[str, str]) -> tuple[str, str] | None:
    """A `createdAt[gte|gt]` bound among the filters: only leads created since then can match,
    so a search (a lookup by email or phone) reads those from the index, not every lead."""
    for key, value in params.items():
        found = KEY.match(key)
        bound = normalise_ts(value)
        if found and found.group(1) == "createdAt" and found.group(2) in _LOWER and bound:
            return _LOWER[found.group(2)], bound
    return None


def run(records: list[JSON], query: LeadQuery) -> tuple[list[JSON], JSON]:
    """The requested page (projected) and its pagination block."""
    chosen = [r for r in records if _matches(r, query)]
    ordered = _ordered(chosen, *query.sort)
    start = (query.page - 1) * query.limit
    return paged(ordered[start : start + query.limit], len(chosen), query)


def paged(rows: list[JSON], total: int, query: LeadQuery) -> tuple[list[JSON], JSON]:
    """A page of already chosen rows (projected) with its pagination block."""
    total_pages = math.ceil(total / query.limit)
    pagination = {
        "limit": query.limit,
        "page": query.page,
        "totalPages": total_pages,
        "total": total,
        "hasMore": query.page < total_pages,
    }
    if query.fields is not None:
        rows = [{k: r[k] for k in query.fields if k in r} for r in rows]
    return rows, pagination


def _matches(record: JSON, query: LeadQuery) -> bool:
    if query.search is not None:
        haystack = " ".join(str(record.get(k) or "") for k in ("name", "email", "phone"))
        if query.search not in haystack.lower():
            return False
    return all(predicate(record) for predicate in query.filters)


def _ordered(records: list[JSON], name: str, descending: bool) -> list[JSON]:
    present = [r for r in records if r.get(name) is not None]
    missing = [r for r in records if r.get(name) is None]
    present.sort(key=lambda r: (r[name], r["id"]), reverse=descending)
    missing.sort(key=lambda r: str(r["id"]), reverse=descending)
    return present + missing


def _bounded_int(raw: str | None, name: str, default: int, upper: int | None) -> int:
    if raw is None:
        return default
    try:
        number = int(raw)
    except ValueError as exc:
        raise InvalidInput(f"{name} must be an integer") from exc
    if number < 1 or (upper is not None and number > upper):
        limit = f"between 1 and {upper}" if upper else "at least 1"
        raise InvalidInput(f"{name} must be {limit}")
    return number


def _sort(raw: str) -> tuple[str, bool]:
    name, _, direction = raw.partition(":")
    name = SORT_ALIASES.get(name, name)
    direction = direction or "asc"
    if name not in SORTABLE or direction not in ("asc", "desc"):
        raise InvalidInput(f"Invalid sort: {raw} (use field:asc or field:desc)")
    return name, direction == "desc"


def _filter(key: str, raw: str) -> Predicate:
    if key == "updated_after":
        return _comparison("updatedAt", "gt", raw)
    match = KEY.match(key)
    if match is None:
        raise invalid_filter(f"Invalid filter: {key}")
    name, op = match.group(1), match.group(2) or "eq"
    if op == "exists":
        return _exists(name, raw)
    if name in DATE_FIELDS or name == "value":
        return _comparison(name, op, raw)
    if name in EQUALITY_FIELDS and op == "eq":
        return _equality(name, raw)
    raise invalid_filter(f"Invalid filter: {key}")


def _exists(name: str, raw: str) -> Predicate:
    if name not in DATE_FIELDS | EQUALITY_FIELDS | {"value", *CLICK_IDS}:
        raise invalid_filter(f"Invalid filter: {name}[exists]")
    if raw not in ("true", "false"):
        raise invalid_filter(f"{name}[exists] must be true or false")
    wanted = raw == "true"
    return lambda r: (r.get(name) not in (None, "")) == wanted


def _comparison(name: str, op: str, raw: str) -> Predicate:
    if op not in COMPARISONS or (op == "eq" and name in DATE_FIELDS):
        raise invalid_filter(f"Invalid filter: {name}[{op}]")
    operand = _date_operand(name, raw) if name in DATE_FIELDS else _number_operand(raw)
    compare = COMPARISONS[op]
    return lambda r: r.get(name) is not None and compare(r[name], operand)


def _date_operand(name: str, raw: str) -> str:
    parsed = normalise_ts(raw)
    if parsed is None:
        raise InvalidInput(f"Invalid date for {name}: {raw}", code="INVALID_DATE")
    return parsed


def _number_operand(raw: str) -> float:
    try:
        number = float(raw)
    except ValueError as exc:
        raise invalid_filter(f"value filter must be a number: {raw}") from exc
    if not math.isfinite(number):
        raise invalid_filter(f"value filter must be a number: {raw}")
    return number


def _equality(name: str, raw: str) -> Predicate:
    allowed = ENUMS.get(name)
    if allowed is not None and raw not in allowed:
        raise invalid_filter(f"{name} must be one of {', '.join(allowed)}")
    return lambda r: r.get(name) == raw
