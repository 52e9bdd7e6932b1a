"""Migration between CRMs: source ids, what the target cannot hold, and the crosswalk.

A vendor export (or a vendor's API, flattened into one) maps its own lead id to `target_id`,
because that is what the id is to that vendor. In a migration it is the *source* id:
`split_source_ids` takes it out of the lead, and `target_id` becomes the id an earlier run of
the same migration gave that lead in the target (from the crosswalk), so a re-run updates
instead of creating again.

`extras` lists, per row, the fields with a value the target cannot store; with `carry` they
are added to the lead's `custom` entries, which the target keeps in its free-form field
(Apten `additionalInfo`, Octanist `custom` on create); `extra_counts` sums them for the summary.

An origin read through its API (not an export) becomes an export first: `flat_export` lays its
leads out as the flat file a vendor export would be, read back like any other.

    >>> lf = pl.LazyFrame({"source_row": [2], "target_id": ["A1"]})
    >>> leads, ids = split_source_ids(lf, pl.DataFrame({"source_id": ["A1"], "target_id": ["B7"]}))
    >>> leads.collect()["target_id"].to_list(), ids.collect()["source_id"].to_list()
    (['B7'], ['A1'])
"""

from __future__ import annotations

from collections.abc import Collection

import polars as pl

from schemas.fields import CANONICAL_FIELDS, CUSTOM_ENTRY
from transforms._text import as_text

__all__ = [
    "CROSSWALK_SCHEMA",
    "crosswalk",
    "extra_counts",
    "extras",
    "flat_export",
    "merge_crosswalk",
    "split_source_ids",
]

CROSSWALK_SCHEMA: dict[str, pl.DataType] = {"source_id": pl.String(), "target_id": pl.String()}
# Never "extra": bookkeeping, the ids this module handles, and how a lead is found.
_NOT_EXTRA = frozenset({"target_id", "custom", "phone_ext", "country"})
_KEPT = ("created", "updated", "unchanged", "would_create", "would_update")


def split_source_ids(lf: pl.LazyFrame, known: pl.DataFrame) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(leads with `target_id` from the crosswalk `known`, `source_row` -> `source_id`)."""
    ids = lf.select("source_row", pl.col("target_id").cast(pl.String).alias("source_id"))
    found = ids.join(
        known.lazy().select("source_id", pl.col("target_id").alias("_known")),
        on="source_id",
        how="left",
        maintain_order="left",
    ).select(pl.col("_known").alias("target_id"))
    leads = pl.concat([lf.drop("target_id"), found], how="horizontal")
    return leads, ids


def extras(lf: pl.LazyFrame, holds: Collection[str], *, carry: bool) -> pl.LazyFrame:
    """Add `extras` (fields with a value the target cannot hold); with `carry`, keep them in
    `custom` as `{key: field, value: text}` entries (when the target holds `custom`)."""
    schema = lf.collect_schema()
    candidates = [
        f for f in CANONICAL_FIELDS if f in schema and f not in holds and f not in _NOT_EXTRA
    ]
    listed = pl.concat_list(
        [pl.when(_has_value(f, schema[f])).then(pl.lit(f)) for f in candidates]
        or [pl.lit(None, pl.String)]
    ).list.drop_nulls()
    out = lf.with_columns(listed.alias("extras"))
    if not carry or "custom" not in holds or "custom" not in schema or not candidates:
        return out
    carried = pl.concat_list(
        [
            pl.when(_has_value(f, schema[f])).then(
                pl.struct(pl.lit(f).alias("key"), as_text(pl.col(f), schema[f]).alias("value"))
            )
            for f in candidates
        ]
    ).list.drop_nulls()
    existing = pl.col("custom").fill_null(pl.lit([], pl.List(CUSTOM_ENTRY)))
    return out.with_columns(
        pl.when(pl.col("extras").list.len() > 0)
        .then(pl.concat_list(existing, carried))
        .otherwise(pl.col("custom"))
        .alias("custom")
    )


def extra_counts(rows: pl.DataFrame) -> dict[str, int]:
    """How many rows had each extra field (`extras`), the most frequent first, then by name."""
    counted = rows.select(pl.col("extras").explode()).drop_nulls().group_by("extras").len()
    return dict(sorted(counted.iter_rows(), key=lambda item: (-item[1], item[0])))


def flat_export(leads: pl.DataFrame) -> pl.DataFrame:
    """Snapshot leads as an export: `target_id` (the origin's id), canonical columns as text,
    one column per custom key (a key named like a canonical field keeps a `custom.` prefix).

    Columns with no value in any lead are left out, as an export would not have them.
    """
    plain = [
        c for c, t in leads.schema.items() if c not in ("id", "updated_at", "custom", "checklist")
    ]
    base = leads.select(
        pl.col("id").alias("target_id"),
        *[
            pl.col(c).list.join(", ") if isinstance(leads.schema[c], pl.List) else pl.col(c)
            for c in plain
        ],
    ).with_columns(pl.exclude("target_id").cast(pl.String))
    base = base.select([c for c in base.columns if base[c].null_count() < base.height])
    entries = (
        leads.select("id", "custom")
        .explode("custom")
        .drop_nulls("custom")
        .unnest("custom")
        .drop_nulls("key")
    )
    if entries.is_empty():
        return base
    clash = set(plain) | {"target_id"}
    wide = entries.with_columns(
        pl.when(pl.col("key").is_in(clash))
        .then("custom." + pl.col("key"))
        .otherwise("key")
        .alias("key")
    ).pivot("key", index="id", values="value", aggregate_function="first")
    return base.join(wide.rename({"id": "target_id"}), on="target_id", how="left")


def crosswalk(rows: pl.DataFrame, source_ids: pl.DataFrame) -> pl.DataFrame:
    """`crosswalk.csv`: source id -> target id and what happened, one line per source row."""
    return (
        rows.select("source_row", "outcome", "target_id", "reason")
        .join(source_ids, on="source_row", how="left", maintain_order="left")
        .select("source_row", "source_id", "target_id", "outcome", "reason")
    )


def merge_crosswalk(known: pl.DataFrame, walked: pl.DataFrame) -> pl.DataFrame:
    """The stored crosswalk plus this run's pairs of leads that exist in the target."""
    fresh = walked.filter(
        pl.col("outcome").is_in(_KEPT)
        & pl.col("source_id").is_not_null()
        & pl.col("target_id").is_not_null()
    ).select(list(CROSSWALK_SCHEMA))
    return pl.concat([known.select(list(CROSSWALK_SCHEMA)), fresh]).unique(
        "source_id", keep="last", maintain_order=True
    )


def _has_value(field: str, dtype: pl.DataType) -> pl.Expr:
    """A value of the lead's own: an inferred time zone is leadpipe's guess, not the origin's."""
    col = pl.col(field)
    if isinstance(dtype, pl.List):
        return col.list.len().fill_null(0) > 0
    if field == "timezone":
        return col.is_not_null() & (pl.col("timezone_source") == "given")
    return col.is_not_null()
