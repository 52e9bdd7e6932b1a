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

__all__ = ["DUPLICATE", "DuplicatePolicy", "dedupe"]

DuplicatePolicy = Literal["first", "last", "reject"]
DUPLICATE = "_duplicate"
_SHOWN_ROWS = 5


def dedupe(lf: pl.LazyFrame, policy: DuplicatePolicy = "last") -> pl.LazyFrame:
    """Mark duplicates among valid rows (see the module docstring).

    The marking runs on a narrow frame (row, validity, keys) and only `_duplicate` is stacked
    back, so the four group-and-join rounds never copy the whole lead.
    """
    narrow = lf.select(
        "source_row",
        (pl.col(ISSUES).list.len() == 0).alias("_valid"),
        *IDENTITY_FIELDS,
        pl.lit(None, pl.String).alias(DUPLICATE),
    )
    for key in IDENTITY_FIELDS:
        narrow = _mark(narrow, key, policy)
    return pl.concat([lf, narrow.select(DUPLICATE)], how="horizontal")


def _mark(lf: pl.LazyFrame, key: str, policy: DuplicatePolicy) -> pl.LazyFrame:
    active = pl.col("_valid") & pl.col(DUPLICATE).is_null() & pl.col(key).is_not_null()
    groups = (
        lf.filter(active)
        .group_by(key)
        .agg(
            pl.len().alias("_n"),
            pl.col("source_row").min().alias("_first"),
            pl.col("source_row").max().alias("_last"),
            pl.col("source_row")
            .sort()
            .head(_SHOWN_ROWS)
            .cast(pl.String)
            .str.join(", ")
            .alias("_rows"),
        )
        .filter(pl.col("_n") > 1)
    )
    winner = pl.col("_first") if policy == "first" else pl.col("_last")
    loses = (
        active
        & pl.col("_n").is_not_null()
        & ((pl.col("source_row") != winner) | (policy == "reject"))
    )
    value = pl.lit("'") + pl.col(key).cast(pl.String).str.slice(0, 60) + pl.lit("'")
    if policy == "reject":
        message = pl.format(
            value_label(key) + " {} is shared by {} rows ({}{}); policy reject keeps none",
            value,
            pl.col("_n"),
            pl.col("_rows"),
            pl.when(pl.col("_n") > _SHOWN_ROWS).then(pl.lit(", …")).otherwise(pl.lit("")),
        )
    else:
        message = pl.format(
            "same " + value_label(key) + " {} as row {}, which was kept (policy " + policy + ")",
            value,
            winner,
        )
    return (
        lf.join(groups, on=key, how="left", maintain_order="left")
        .with_columns(
            pl.when(loses)
            .then(pl.lit("duplicate|") + message)
            .otherwise(pl.col(DUPLICATE))
            .alias(DUPLICATE)
        )
        .drop("_n", "_first", "_last", "_rows")
    )


def value_label(key: str) -> str:
    """`external_id` -> `external id` for messages."""
    return key.replace("_", " ")
