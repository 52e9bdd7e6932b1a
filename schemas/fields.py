"""The canonical lead's field list, its types, and the vocabularies the pipe speaks.

Everything else refers to fields by these names; vendors map to and from them.
"""

from __future__ import annotations

import polars as pl

BOOKKEEPING_FIELDS: tuple[str, ...] = ("source_file", "source_row")

# Canonical lead columns after `map`, in report order (DESIGN.md, "Canonical lead").
CANONICAL_FIELDS: tuple[str, ...] = (
    "target_id",
    "external_id",
    "first_name",
    "middle_name",
    "last_name",
    "email",
    "phone",
    "phone_ext",
    "country",
    "timezone",
    "business_name",
    "website",
    "status",
    "value",
    "note",
    "loss_reason",
    "tags",
    "opted_out",
    "email_verified",
    "assignee_type",
    "customer_profile",
    "checklist",
    "follow_up_step",
    "follow_up_config",
    "custom",
)

# Companions written by `normalise` beside the field they explain. `status_raw` is the status
# as the file said it (before `[values.status]` and word folding): a vendor that cannot set a
# status gets the exact mapping line that would fix it, naming the file's own word.
COMPANION_FIELDS: tuple[str, ...] = ("phone_raw", "timezone_source", "status_raw")

# A mapping may target `full_name`; `map` splits it into first/last name where those are blank.
MAPPING_ONLY_FIELDS: tuple[str, ...] = ("full_name",)

# A per-row note: something about the row the analyst should know, that did not reject it.
WARNING_ENTRY = pl.Struct({"field": pl.String, "code": pl.String, "message": pl.String})
CHECKLIST_ITEM = pl.Struct({"code": pl.String, "value": pl.String, "status": pl.String})
CUSTOM_ENTRY = pl.Struct({"key": pl.String, "value": pl.String})
# One field an update changes: the target's value when read (else what leadpipe last wrote)
# and the value sent, both as text (lists and structs as JSON).
CHANGE_ENTRY = pl.Struct({"field": pl.String, "old": pl.String, "new": pl.String})

# Types of the canonical columns after `normalise`; anything not listed is a string.
NORMALISED_DTYPES: dict[str, pl.DataType] = {
    "value": pl.Float64(),
    "tags": pl.List(pl.String),
    "opted_out": pl.Boolean(),
    "email_verified": pl.Boolean(),
    "checklist": pl.List(CHECKLIST_ITEM),
    "follow_up_step": pl.Int64(),
    "custom": pl.List(CUSTOM_ENTRY),
}

# Fields whose raw text `normalise` parses into another type.
BOOLEAN_FIELDS: tuple[str, ...] = ("opted_out", "email_verified")
NAME_FIELDS: tuple[str, ...] = ("first_name", "middle_name", "last_name", "business_name")

# Identity keys in match priority order: a row needs at least one.
IDENTITY_FIELDS: tuple[str, ...] = ("target_id", "external_id", "email", "phone")

STATUSES: tuple[str, ...] = (
    "new",
    "open",
    "in_progress",
    "qualified",
    "won",
    "lost",
    "completed",
    "not_interested",
    "opted_out",
)
ASSIGNEE_TYPES: tuple[str, ...] = ("agent", "manual")

TIMEZONE_SOURCES: tuple[str, ...] = ("given", "inferred", "ambiguous", "unknown")

# Row outcomes per job, in report order; OUTCOMES is every word a report can hold.
CHECK_OUTCOMES: tuple[str, ...] = ("valid", "invalid", "duplicate")
PLAN_OUTCOMES: tuple[str, ...] = (
    "would_create",
    "would_update",
    "unchanged",
    "conflict",
    "invalid",
    "duplicate",
    "skipped",
)
IMPORT_OUTCOMES: tuple[str, ...] = (
    "created",
    "updated",
    "unchanged",
    "conflict",
    "invalid",
    "duplicate",
    "failed",
    "skipped",
)
OUTCOMES: tuple[str, ...] = tuple(
    dict.fromkeys((*CHECK_OUTCOMES, *PLAN_OUTCOMES, *IMPORT_OUTCOMES))
)

# The report's leading columns (DESIGN.md, "Run directory"), then the normalised lead.
REPORT_COLUMNS: tuple[str, ...] = (
    "source_file",
    "source_row",
    "outcome",
    "reason_code",
    "reason",
    "warnings",
    "match_by",
    "target_id",
    "changed_fields",
    "changes",
    "http_status",
    "attempts",
    "request_id",
)


def canonical_dtype(field: str) -> pl.DataType:
    """The polars type a canonical or companion column has after `normalise`."""
    return NORMALISED_DTYPES.get(field, pl.String())
