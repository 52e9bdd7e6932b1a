"""Buckets: a frame split by a hash of one key, so a target too large for memory is matched
and read one bucket at a time (the spilled target of `flows._spilled`).

Both sides of a lookup hash the same text (the value cast to a string), so a source row and
every target lead sharing its value land in the same bucket. polars promises a hash stable
within one of its versions only: whoever stores buckets keys them by that version too.

    >>> frame = pl.DataFrame({"email": ["a@x.io", "b@x.io", None]})
    >>> frame.select(bucket_of("email", 4))["_bucket"].to_list() == frame.select(
    ...     bucket_of(pl.col("email"), 4))["_bucket"].to_list()
    True
"""

from __future__ import annotations

import polars as pl

__all__ = ["BUCKET", "bucket_of", "split", "with_ids"]

BUCKET = "_bucket"
# A fixed seed: the buckets of a stored target must be the ones a later process computes.
_SEED = 20_261_207


def bucket_of(value: str | pl.Expr, buckets: int) -> pl.Expr:
    """`_bucket`: which of `buckets` buckets each value falls in (a null falls in one too;
    it matches nothing there)."""
    expr = pl.col(value) if isinstance(value, str) else value
    return (expr.cast(pl.String).hash(seed=_SEED) % buckets).cast(pl.UInt32).alias(BUCKET)


def with_ids(leads: pl.LazyFrame, ids: pl.Series) -> pl.LazyFrame:
    """The leads whose `id` is one of `ids` (the leads a plan matched, fetched from a bucket)."""
    return leads.filter(pl.col("id").is_in(ids.cast(pl.String).implode()))


def split(frame: pl.DataFrame, column: str, buckets: int) -> dict[int, pl.DataFrame]:
    """`frame`'s rows by the bucket of `column` (buckets with no rows left out).

    >>> parts = split(pl.DataFrame({"id": ["a", "b", "c"]}), "id", 2)
    >>> sum(p.height for p in parts.values())
    3
    """
    placed = frame.with_columns(bucket_of(column, buckets))
    return {
        int(b): part.drop(BUCKET)
        for (b,), part in placed.partition_by(BUCKET, as_dict=True).items()
    }
