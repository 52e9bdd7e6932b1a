"""The frames handed between stages after `normalise`: their columns and types, in one place.

- `TARGET_LEAD_SCHEMA` / `TargetLead`: a target's lead as the snapshot keeps it (canonical
  fields, keyed by the target's `id`; `updated_at` is the vendor's change stamp, when it has one).
- `PLAN_COLUMNS`: what `plan.parquet` keeps of each planned request.
- `SEND`: the struct column `diff` fills with the value to send per changed field (a field's
  entry is null when it is unchanged or cleared); `plan`'s op id hashes it, `connectors`
  turns it into the request's fields.
- `PUSH_RESULT_SCHEMA`: one row per pushed request (what `connectors` answers); and
  `EARLIER_SCHEMA`: one row per source row an earlier attempt of a resumed run wrote.
  `transforms.outcomes` lays both over the planned rows.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from schemas.fields import CANONICAL_FIELDS, canonical_dtype

__all__ = [
    "EARLIER_SCHEMA",
    "PLAN_COLUMNS",
    "PUSH_RESULT_SCHEMA",
    "SEND",
    "TARGET_LEAD_SCHEMA",
    "TargetLead",
]

TARGET_LEAD_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String(),
    "updated_at": pl.String(),
    **{f: canonical_dtype(f) for f in CANONICAL_FIELDS if f != "target_id"},
}

PLAN_COLUMNS: tuple[str, ...] = ("op_id", "source_row", "op", "matched_id", "changed_fields")

SEND = "send"

PUSH_RESULT_SCHEMA: dict[str, pl.DataType] = {
    "op_id": pl.String(),
    "_state": pl.String(),
    "_target": pl.String(),
    "_http": pl.Int64(),
    "_attempts": pl.Int64(),
    "_request": pl.String(),
    "_code": pl.String(),
    "_message": pl.String(),
}

EARLIER_SCHEMA: dict[str, pl.DataType] = {
    "source_row": pl.Int64(),
    "_e_op": pl.String(),
    "_e_target": pl.String(),
    "_e_http_status": pl.Int64(),
    "_e_attempts": pl.Int64(),
    "_e_request_id": pl.String(),
}


class TargetLead(pa.DataFrameModel):
    """A lead of the target as the snapshot keeps it: the id is required and unique."""

    id: str = pa.Field(unique=True, description="The lead's id in the target.")
    updated_at: str | None = pa.Field(nullable=True, description="The vendor's change stamp.")

    class Config:
        strict = False  # the canonical fields follow, typed by TARGET_LEAD_SCHEMA
        name = "target lead"
