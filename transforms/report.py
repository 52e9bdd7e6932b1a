"""The `report` stage: one report row per source record, and the run's summary counts.

`build_report` shapes the rows (DESIGN.md's report columns, then the normalised lead);
`count_outcomes`, `row_count` and `top_reasons` give the numbers a summary and a page show;
`neutralise_formulas` is the expression that keeps a people-facing CSV cell from running as a
formula. Pure polars: `reports/` writes the files (`reports.rows`, `reports.RunDir`).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from schemas.fields import (
    CANONICAL_FIELDS,
    CHANGE_ENTRY,
    COMPANION_FIELDS,
    REPORT_COLUMNS,
    WARNING_ENTRY,
)
from transforms.dedupe import DUPLICATE
from transforms.validate import ISSUES, WARNINGS

__all__ = [
    "build_report",
    "count_outcomes",
    "neutralise_formulas",
    "not_sent_counts",
    "row_count",
    "status_mappings",
    "top_reasons",
    "warning_counts",
]

Rows = pl.DataFrame | pl.LazyFrame

_LEAD_COLUMNS = tuple(f for f in (*CANONICAL_FIELDS, *COMPANION_FIELDS) if f not in REPORT_COLUMNS)
_NULL_COLUMNS: dict[str, pl.DataType] = {
    "match_by": pl.String(),
    "changed_fields": pl.List(pl.String),
    "changes": pl.List(CHANGE_ENTRY),
    "http_status": pl.Int64(),
    "attempts": pl.Int64(),
    "request_id": pl.String(),
}
# A cell a spreadsheet would run as a formula (OWASP "CSV injection").
_FORMULA_START = r"^[=+\-@\t\r]"


def build_report(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Outcome `invalid` (with every reason), `duplicate` (naming the winner) or `valid`."""
    issues = pl.col(ISSUES)
    first = issues.list.first().str.split_exact("|", 1)
    duplicate = pl.col(DUPLICATE).str.split_exact("|", 1)
    outcome = (
        pl.when(issues.list.len() > 0)
        .then(pl.lit("invalid"))
        .when(pl.col(DUPLICATE).is_not_null())
        .then(pl.lit("duplicate"))
        .otherwise(pl.lit("valid"))
    )
    reason_code = (
        pl.when(issues.list.len() > 0)
        .then(first.struct.field("field_0"))
        .otherwise(duplicate.struct.field("field_0"))
    )
    # "code|message" items joined, codes dropped ("invalid_email|x; invalid_phone|y" -> "x; y").
    messages = issues.list.join("\u0000").str.replace_all(r"(^|\x00)[a-z_]+\|", "$1")
    reason = (
        pl.when(issues.list.len() > 0)
        .then(messages.str.replace_all("\u0000", "; ", literal=True))
        .otherwise(duplicate.struct.field("field_1"))
    )
    notes = (
        pl.col(WARNINGS)
        if WARNINGS in lf.collect_schema().names()
        else pl.lit([], pl.List(WARNING_ENTRY))
    )
    return lf.with_columns(
        outcome.alias("outcome"),
        reason_code.alias("reason_code"),
        reason.alias("reason"),
        notes.alias("warnings"),
        *[pl.lit(None, dtype).alias(name) for name, dtype in _NULL_COLUMNS.items()],
    ).select(*REPORT_COLUMNS, *_LEAD_COLUMNS)


def row_count(rows: Rows) -> int:
    """How many rows, held or lazy (a scan of rows.parquet reads only its metadata)."""
    if isinstance(rows, pl.DataFrame):
        return rows.height
    return int(rows.select(pl.len()).collect().item())


def count_outcomes(rows: Rows, outcomes: tuple[str, ...]) -> dict[str, int]:
    """Rows per outcome, every listed outcome present (zero where none)."""
    counted = dict(rows.lazy().group_by("outcome").len().collect().iter_rows())
    return {o: int(counted.get(o, 0)) for o in outcomes} | {
        str(o): int(n) for o, n in counted.items() if o not in outcomes
    }


def top_reasons(rows: Rows, limit: int = 10) -> list[dict[str, Any]]:
    """The most frequent reason codes, each with its count and the first row that has it."""
    top = (
        rows.lazy()
        .filter(pl.col("reason_code").is_not_null())
        .group_by("reason_code")
        .agg(
            pl.len().alias("count"),
            pl.col("source_row").min().alias("example_row"),
            pl.col("reason").sort_by("source_row").first().alias("example"),
        )
        .sort(["count", "reason_code"], descending=[True, False])
        .head(limit)
    )
    return top.collect().to_dicts()


def neutralise_formulas(text: str | pl.Expr) -> pl.Expr:
    """Prefix `'` to cells that start like a formula, so a spreadsheet shows them as text."""
    expr = pl.col(text) if isinstance(text, str) else text
    return pl.when(expr.str.contains(_FORMULA_START)).then(pl.lit("'") + expr).otherwise(expr)


def warning_counts(rows: Rows) -> dict[str, int]:
    """Rows per warning code (a row with the same code twice counts once), most first."""
    if "warnings" not in rows.lazy().collect_schema().names():
        return {}
    codes = (
        _warned(rows)
        .select(pl.col("warnings").list.eval(pl.element().struct.field("code")).list.unique())
        .explode("warnings")
        .drop_nulls()
        .group_by("warnings")
        .len()
        .sort(["len", "warnings"], descending=[True, False])
        .collect()
    )
    return {str(code): int(n) for code, n in codes.iter_rows()}


def _warned(rows: Rows) -> pl.LazyFrame:
    """The `warnings` of the rows that have any: most rows have none, and a list expression
    over a million empty lists costs more than the filter that drops them."""
    return rows.lazy().select("warnings").filter(pl.col("warnings").list.len() > 0)


def _warnings_of(rows: Rows, code: str) -> pl.LazyFrame | None:
    """Every warning entry with `code` (one row each), or None when the rows have none."""
    if "warnings" not in rows.lazy().collect_schema().names():
        return None
    return (
        _warned(rows)
        .select(pl.col("warnings").list.filter(pl.element().struct.field("code") == code))
        .filter(pl.col("warnings").list.len() > 0)
        .explode("warnings")
        .unnest("warnings")
    )


def not_sent_counts(rows: Rows) -> dict[str, int]:
    """Rows per field the vendor could not take (`not_sent` warnings), most first."""
    notes = _warnings_of(rows, "not_sent")
    if notes is None:
        return {}
    counted = notes.group_by("field").len().sort(["len", "field"], descending=[True, False])
    return {str(f): int(n) for f, n in counted.collect().iter_rows()}


_MAPPING_LINE = r'(\[values\.status\] "(.*)" = "([^"]*)")$'


def status_mappings(rows: Rows) -> list[dict[str, Any]]:
    """The `[values.status]` lines that would send a status the vendor can set, once per word
    of the file (`unsettable_status` warnings), with the status it meant and its rows."""
    notes = _warnings_of(rows, "unsettable_status")
    if notes is None:
        return []
    lines = (
        notes.select(
            pl.col("message").str.extract(_MAPPING_LINE, 1).alias("line"),
            pl.col("message").str.extract(_MAPPING_LINE, 2).alias("word"),
            pl.col("message").str.extract(r"cannot set status '([^']*)'", 1).alias("status"),
            pl.col("message").str.extract(_MAPPING_LINE, 3).alias("suggested"),
        )
        .drop_nulls("line")
        .group_by("word", "status", "suggested", "line")
        .len("rows")
        .sort(["rows", "word"], descending=[True, False])
    )
    return lines.collect().to_dicts()
