"""Resolve each distinct key of a column once, with a per-value function, and attach results.

The shape shared by the phone and email engines: `unique` keys -> a per-value Python function
(run in bounded chunks, so its objects never scale with the file) -> a narrow left join on the
keys alone -> the result columns stacked beside the frame. Joining only the keys avoids
gathering every column of a wide frame, which costs a full copy per join.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import polars as pl

__all__ = ["attach_lookup", "per_value"]

_CHUNK = 50_000


def per_value(
    keys: pl.DataFrame,
    columns: Sequence[str],
    parse: Callable[..., Iterable[Any]],
    schema: dict[str, pl.DataType],
) -> pl.DataFrame:
    """`parse(*row)` for each row of `keys[columns]`, in chunks, as a frame of `schema`."""
    parts = [
        pl.DataFrame(
            [tuple(parse(*row)) for row in chunk.select(columns).iter_rows()],
            schema=schema,
            orient="row",
        )
        for chunk in keys.iter_slices(_CHUNK)
    ]
    return pl.concat(parts) if parts else pl.DataFrame(schema=schema)


def attach_lookup(
    lf: pl.LazyFrame,
    keys: Sequence[str],
    resolve: Callable[[pl.DataFrame], pl.DataFrame],
    schema: dict[str, pl.DataType],
    known: pl.DataFrame | None = None,
) -> pl.LazyFrame:
    """Add `schema`'s non-key columns, resolved once per distinct non-null key of `keys[0]`.

    `known` holds results already at hand (one row per key, `schema`'s columns): only the keys
    it lacks reach `resolve`, and every row is joined once against both. Joining the rows to
    `known` directly costs half of first cutting `known` down to the file's keys.
    """
    on = list(keys)
    distinct = lf.select(keys).filter(pl.col(keys[0]).is_not_null())
    if known is not None and not known.is_empty():
        distinct = distinct.join(known.lazy().select(keys), on=on, how="anti", nulls_equal=True)
    resolved = distinct.unique().map_batches(resolve, schema=schema)
    if known is not None and not known.is_empty():
        resolved = pl.concat([known.lazy().select(list(schema)), resolved])
    found = (
        lf.select(keys)
        .join(resolved, on=on, how="left", nulls_equal=True, maintain_order="left")
        .drop(keys)
    )
    return pl.concat([lf, found], how="horizontal")
