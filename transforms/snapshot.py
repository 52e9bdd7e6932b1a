"""A snapshot of the target from an export of it (`--state-file`), instead of its API.

The export is read, mapped with the vendor's own preset (it is the target's export) and
normalised like any source file; here its rows become the snapshot's leads. Its `target_id`
column is the lead's id in the target; rows without one cannot be updated, so they are left
out (and counted, for the summary).

    >>> lead = {c: t for c, t in TARGET_LEAD_SCHEMA.items() if c not in ("id", "updated_at")}
    >>> export = pl.DataFrame({"target_id": ["L1", None], "email": ["a@x.io", "b@x.io"]})
    >>> export = export.with_columns(pl.lit(None, lead[c]).alias(c) for c in lead if c != "email")
    >>> leads, without_id = snapshot_from_export(export)
    >>> leads.select("id", "updated_at", "email").rows(), without_id
    ([('L1', None, 'a@x.io')], 1)
"""

from __future__ import annotations

import polars as pl

from schemas.frames import TARGET_LEAD_SCHEMA

__all__ = ["mark_live", "snapshot_from_export"]


def snapshot_from_export(frame: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """(the export's leads in `TARGET_LEAD_SCHEMA`, the number of rows without a `target_id`).

    An export has no change stamps: `updated_at` is null.
    """
    leads = frame.filter(pl.col("target_id").is_not_null()).select(
        pl.col("target_id").alias("id"),
        pl.lit(None, pl.String).alias("updated_at"),
        *[
            pl.col(c).cast(t)
            for c, t in TARGET_LEAD_SCHEMA.items()
            if c not in ("id", "updated_at")
        ],
    )
    return leads, frame.height - leads.height


def mark_live(leads: pl.DataFrame, read: bool | pl.Series) -> pl.DataFrame:
    """`_live`: whether each lead was read from the target this run (all or none, or the ids
    of `read`); the diff notes target edits only where it was."""
    live = pl.lit(read) if isinstance(read, bool) else pl.col("id").is_in(read.implode())
    return leads.with_columns(live.alias("_live"))
