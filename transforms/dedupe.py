"""The `dedupe` stage: one valid row per identity within the file.

Keys are taken in match priority (`IDENTITY_FIELDS`: target id, external id, email, phone), on
normalised values. Per key, rows sharing a value form a group; the policy keeps the first or
the last row of each group (by source row), or `reject`s them all. Losers get `_duplicate`
("code|message") naming the row that won, or the rows they clash with.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from schemas.fields import IDENTITY_FIELDS
from transforms.validate import ISSUES

__all__ = ["DEDUPE_COLUMNS", "DUPLICATE", "DuplicatePolicy", "dedupe", "duplicate_marks"]

DuplicatePolicy = Literal["first", "last", "reject"]
DUPLICATE = "_duplicate"
_SHOWN_ROWS = 5
_ROW = "_dedupe_row"
# What `duplicate_marks` reads of each row.
DEDUPE_COLUMNS = ("source_row", ISSUES, *IDENTITY_FIELDS)


def dedupe(lf: pl.LazyFrame, policy: DuplicatePolicy = "last") -> pl.LazyFrame:
    """Mark duplicates among valid rows (see the module docstring).

    Only a valid row that shares some key with another valid row can lose, so one hashing pass
    per key picks those few rows, the four marking rounds run on them alone, and only
    `_duplicate` is stacked back beside the frame, which is never copied.
    """
    narrow = lf.select(
        "source_row", (pl.col(ISSUES).list.len() == 0).alias("_valid"), *IDENTITY_FIELDS
    ).with_row_index(_ROW)
    sharing = narrow.filter(pl.any_horizontal(*[_shared(key) for key in IDENTITY_FIELDS]))
    marked = sharing.with_columns(pl.lit(None, pl.String).alias(DUPLICATE))
    for key in IDENTITY_FIELDS:
        marked = _mark(marked, key, policy)
    found = narrow.select(_ROW).join(
        marked.select(_ROW, DUPLICATE), on=_ROW, how="left", maintain_order="left"
    )
    return pl.concat([lf, found.select(DUPLICATE)], how="horizontal")


def duplicate_marks(lf: pl.LazyFrame, policy: DuplicatePolicy = "last") -> pl.LazyFrame:
    """`source_row` and `_duplicate` of the rows `dedupe` marks, for a frame too big to hold.

    Out of core: a first pass keeps per row only its validity and a 64-bit hash of each key, and
    picks the rows whose hash another valid row shares; only those rows' real keys are read
    again and go through `dedupe` (a hash collision only adds a row that then shares nothing).
    Every row of a group shares its key, so each group is whole among the rows picked.

        >>> lf = pl.LazyFrame({"source_row": [2, 3], "_issues": [[], []], "email": ["a", "a"],
        ...     "target_id": None, "external_id": None, "phone": None})
        >>> duplicate_marks(lf, "last").collect()["source_row"].to_list()
        [2]
    """
    valid = pl.col(ISSUES).list.len() == 0
    hashed = lf.select(
        "source_row",
        *[
            pl.when(valid & pl.col(k).is_not_null()).then(pl.col(k).hash(7)).alias(k)
            for k in IDENTITY_FIELDS
        ],
    )
    shared = pl.any_horizontal(
        *[pl.col(k).is_not_null() & pl.col(k).is_duplicated() for k in IDENTITY_FIELDS]
    )
    picked = hashed.filter(shared).select("source_row").collect()
    candidates = lf.filter(pl.col("source_row").is_in(picked.get_column("source_row").implode()))
    narrow = candidates.select(DEDUPE_COLUMNS)
    return (
        dedupe(narrow, policy)
        .filter(pl.col(DUPLICATE).is_not_null())
        .select("source_row", DUPLICATE)
    )


def _shared(key: str) -> pl.Expr:
    """The row is valid and another valid row has the same non-null `key`."""
    valid_key = pl.when(pl.col("_valid")).then(pl.col(key))
    return valid_key.is_not_null() & valid_key.is_duplicated()


def _mark(lf: pl.LazyFrame, key: str, policy: DuplicatePolicy) -> pl.LazyFrame:
    active = pl.col("_valid") & pl.col(DUPLICATE).is_null() & pl.col(key).is_not_null()
    # Window aggregates over the active rows' key (inactive rows share the null partition): a
    # group-by joined back would branch the plan at every round, and polars re-runs branches.
    group = pl.when(active).then(pl.col(key))
    n = pl.len().over(group)
    first = pl.col("source_row").min().over(group)
    last = pl.col("source_row").max().over(group)
    winner = first if policy == "first" else last
    loses = active & (n > 1) & ((pl.col("source_row") != winner) | (policy == "reject"))
    value = pl.lit("'") + pl.col(key).cast(pl.String).str.slice(0, 60) + pl.lit("'")
    if policy == "reject":
        shown = (
            pl.col("source_row").sort().head(_SHOWN_ROWS).cast(pl.String).str.join(", ").over(group)
        )
        message = pl.format(
            value_label(key) + " {} is shared by {} rows ({}{}); policy reject keeps none",
            value,
            n,
            shown,
            pl.when(n > _SHOWN_ROWS).then(pl.lit(", …")).otherwise(pl.lit("")),
        )
    else:
        message = pl.format(
            "same " + value_label(key) + " {} as row {}, which was kept (policy " + policy + ")",
            value,
            winner,
        )
    return lf.with_columns(
        pl.when(loses)
        .then(pl.lit("duplicate|") + message)
        .otherwise(pl.col(DUPLICATE))
        .alias(DUPLICATE)
    )


def value_label(key: str) -> str:
    """`external_id` -> `external id` for messages."""
    return key.replace("_", " ")
