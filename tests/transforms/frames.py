"""Helpers that build canonical frames for stage tests."""

from __future__ import annotations

from typing import Any

import polars as pl

from schemas.fields import CANONICAL_FIELDS, COMPANION_FIELDS, canonical_dtype


def normalised(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """A frame shaped like `normalise` output: every canonical column, typed, plus bookkeeping."""
    columns: dict[str, list[Any]] = {"source_file": [], "source_row": []}
    for f in (*CANONICAL_FIELDS, *COMPANION_FIELDS):
        columns[f] = []
    for i, row in enumerate(rows):
        columns["source_file"].append("f.csv")
        columns["source_row"].append(row.get("source_row", i + 2))
        for f in (*CANONICAL_FIELDS, *COMPANION_FIELDS):
            default: Any = (
                []
                if f in ("custom", "checklist")
                else "unknown"
                if f == "timezone_source"
                else None
            )
            columns[f].append(row.get(f, default))
    schema = {"source_file": pl.String, "source_row": pl.Int64} | {
        f: canonical_dtype(f) for f in (*CANONICAL_FIELDS, *COMPANION_FIELDS)
    }
    return pl.DataFrame(columns, schema=schema).with_columns(
        pl.lit(None, pl.String).alias("_read_error")
    )


def sample_report_rows() -> pl.DataFrame:
    """Three report rows: a lead with formula-looking cells, its duplicate, and a row with no
    identity (invalid)."""
    from transforms.dedupe import dedupe
    from transforms.report import build_report
    from transforms.validate import validate

    df = normalised(
        [
            {
                "email": "a@x.io",
                "phone": "+12125550100",
                "tags": ["VIP", "hot"],
                "note": '=HYPERLINK("x")',
            },
            {"email": "a@x.io", "note": "@mention -1 +1"},
            {"first_name": "nobody"},
        ]
    )
    return build_report(dedupe(validate(df).lazy(), "last")).collect()
