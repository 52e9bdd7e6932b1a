"""Target defaults: what a target profile gives a new lead the file leaves blank.

Apten needs a customer profile for every new lead; a file rarely names one, so the target
profile does (`customer_profile = "Sales"`). Only rows that create take it: a profile cannot
be changed by an update, and a matched lead keeps its own. When neither gives one, the row's
`missing_required` reason says which setting would (`plan`'s `hints`).

    >>> rows = pl.LazyFrame({"match_status": ["new", "matched"],
    ...     "customer_profile": [None, None]}, schema_overrides={"customer_profile": pl.String})
    >>> fill_new(rows, {"customer_profile": "Sales"}).collect()["customer_profile"].to_list()
    ['Sales', None]
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

__all__ = ["fill_new"]


def fill_new(rows: pl.LazyFrame, defaults: Mapping[str, str | None]) -> pl.LazyFrame:
    """Blank `defaults` fields of rows that create (`match_status` new) filled from them."""
    schema = rows.collect_schema()
    given = {f: v for f, v in defaults.items() if v is not None and f in schema}
    if not given or "match_status" not in schema:
        return rows
    new = pl.col("match_status") == "new"
    return rows.with_columns(
        pl.when(new & pl.col(f).is_null()).then(pl.lit(v)).otherwise(pl.col(f)).alias(f)
        for f, v in given.items()
    )
