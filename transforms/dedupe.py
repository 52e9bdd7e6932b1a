"""The `dedupe` stage: one valid row per identity within the file.

Keys are taken in match priority (`IDENTITY_FIELDS`: target id, external id, email, phone), on
normalised values. Per key, rows sharing a value form a group; the policy keeps the first or
the last row of each group (by source row), or `reject`s them all. Losers get `_duplicate`
("code|message") naming the row that won, or the rows they clash with.

A phone is an identity only for the person it belongs to (a company switchboard is shared by
many): rows are duplicates by phone only when one has no email or their emails agree. Rows that
are still in play when phones are compared (the email round has already merged rows sharing an
email) group by phone; a group whose rows carry two or more different emails is several
people, and none of its rows with an email is a duplicate. A row of such a group with no email
could be any of them: it is marked `ambiguous_phone`, never merged into one of them (merging
it would chain two different emails through it: a@ + P, P alone, c@ + P).
"""

from __future__ import annotations

import polars as pl

from schemas.choices import DuplicatePolicy
from schemas.fields import IDENTITY_FIELDS
from transforms.validate import ISSUES

__all__ = ["DEDUPE_COLUMNS", "DUPLICATE", "DuplicatePolicy", "dedupe", "duplicate_marks"]

DUPLICATE = "_duplicate"
_SHOWN_ROWS = 5
_ROW = "_dedupe_row"
# Keys that identify only one person: two rows share one only if their emails do not differ.
_PERSONAL_KEYS = ("phone",)
_AMBIGUOUS = "_dedupe_ambiguous"
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
    if key in _PERSONAL_KEYS and "email" in lf.collect_schema():
        lf = _mark_ambiguous(lf, key, active)
        active = active & ~pl.col(_AMBIGUOUS)
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
    ).drop(_AMBIGUOUS, strict=False)


def _mark_ambiguous(lf: pl.LazyFrame, key: str, active: pl.Expr) -> pl.LazyFrame:
    """`_dedupe_ambiguous`: the row's `key` group carries two or more different emails (several
    people); its rows without an email get `ambiguous_phone`, its rows with one stay as they are.

        a@x.io +1555, (no email) +1555, c@x.io +1555 -> the second row is `ambiguous_phone`
    """
    group = pl.when(active).then(pl.col(key))
    has_email = pl.col("email").is_not_null()
    # Emails differ when their smallest and largest hash do (a u64 min/max per group costs a
    # tenth of counting distinct strings; two emails colliding on one phone is ~2^-64).
    hashed = pl.when(has_email).then(pl.col("email").hash(7))
    people = hashed.min().over(group) != hashed.max().over(group)
    ambiguous = (active & people).fill_null(False)
    email_rows = pl.when(has_email).then(pl.col("source_row"))
    message = pl.format(
        value_label(key) + " {} is shared by {} rows with different emails (rows {} to {}): "
        "with no email of its own this row cannot be told to be any one of them, so it is not "
        "imported",
        pl.lit("'") + pl.col(key).cast(pl.String).str.slice(0, 60) + pl.lit("'"),
        email_rows.count().over(group),
        email_rows.min().over(group),
        email_rows.max().over(group),
    )
    return lf.with_columns(ambiguous.alias(_AMBIGUOUS)).with_columns(
        pl.when(pl.col(_AMBIGUOUS) & ~has_email)
        .then(pl.lit("ambiguous_phone|") + message)
        .otherwise(pl.col(DUPLICATE))
        .alias(DUPLICATE)
    )


def value_label(key: str) -> str:
    """`external_id` -> `external id` for messages."""
    return key.replace("_", " ")
