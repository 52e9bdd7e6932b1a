"""The `report` stage: one report row per source record, and the run's summary counts.

`build_report` shapes the rows (DESIGN.md's report columns, then the normalised lead);
`write_report` writes `rows.parquet` (true values), `rows.csv` (for people: nested values as
text, formula-looking cells neutralised) and `summary.json`, each atomically.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import polars as pl

from schemas.fields import CANONICAL_FIELDS, COMPANION_FIELDS, REPORT_COLUMNS
from transforms.dedupe import DUPLICATE
from transforms.validate import ISSUES

__all__ = [
    "build_report",
    "count_outcomes",
    "neutralise_formulas",
    "row_count",
    "top_reasons",
    "write_report",
    "write_report_rows",
    "write_summary",
]

Rows = pl.DataFrame | pl.LazyFrame

_LEAD_COLUMNS = tuple(f for f in (*CANONICAL_FIELDS, *COMPANION_FIELDS) if f not in REPORT_COLUMNS)
_NULL_COLUMNS: dict[str, pl.DataType] = {
    "match_by": pl.String(),
    "changed_fields": pl.List(pl.String),
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
    return lf.with_columns(
        outcome.alias("outcome"),
        reason_code.alias("reason_code"),
        reason.alias("reason"),
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


def _csv_ready(rows: pl.LazyFrame) -> pl.LazyFrame:
    """Nested values as text (tags joined, lists of structs as JSON) and formulas neutralised."""
    columns = []
    for name, dtype in rows.collect_schema().items():
        col = pl.col(name)
        if dtype == pl.List(pl.String):
            col = neutralise_formulas(col.list.join(", "))
        elif isinstance(dtype, pl.List):
            col = _json_list(name)  # starts with `[`: never a formula, and long to scan
        elif dtype == pl.Boolean:
            col = col.cast(pl.String)  # `true` / `false`
        else:
            col = neutralise_formulas(col if dtype == pl.String else col.cast(pl.String))
        columns.append(col.alias(name))
    return rows.select(columns)


def _json_list(name: str) -> pl.Expr:
    """A list column as JSON text: `[{"key":"city","value":"Oslo"}]`; null stays null."""
    # Encoded as the only field of a struct, then unwrapped: one vectorised encoder instead of
    # `list.eval` per row, which costs ~2x.
    wrapped = pl.struct(name).struct.json_encode()
    unwrapped = wrapped.str.strip_prefix("{" + json.dumps(name) + ":").str.strip_suffix("}")
    return pl.when(pl.col(name).is_not_null()).then(unwrapped)


def write_report(rows: pl.DataFrame, summary: Mapping[str, Any], out_dir: Path) -> None:
    """Write rows.parquet, rows.csv and summary.json into `out_dir` (each atomically)."""
    write_report_rows(rows, out_dir)
    write_summary(summary, out_dir)


def write_report_rows(rows: pl.DataFrame | Iterable[pl.DataFrame], out_dir: Path) -> None:
    """Write rows.parquet and rows.csv into `out_dir` (each atomically).

    `rows` may come as consecutive parts (a report larger than memory): each part is appended
    to both files as it comes, so only one part is ever held.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    if not isinstance(rows, pl.DataFrame):
        _write_parts(rows, out_dir)
        return
    # rows.parquet on a second thread while rows.csv is written here: each writer keeps about
    # one core busy, and polars lets go of the GIL while it writes.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rows-parquet") as pool:
        # zstd's fastest level: ~20% less time than the default level 3 for ~9% more bytes.
        parquet = pool.submit(
            _atomic, out_dir / "rows.parquet", lambda p: rows.write_parquet(p, compression_level=1)
        )
        _atomic(out_dir / "rows.csv", lambda p: _csv_ready(rows.lazy()).sink_csv(p))
        parquet.result()


def _write_parts(parts: Iterable[pl.DataFrame], out_dir: Path) -> None:
    """Each part appended to both files as it comes, its Parquet row groups on a second thread
    while its CSV is written here: one part is held at a time."""
    import pyarrow.parquet as pq

    parquet, csv = out_dir / ".rows.parquet.partial", out_dir / ".rows.csv.partial"
    writer: pq.ParquetWriter | None = None
    with (
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="rows-parquet") as pool,
        csv.open("wb") as text,
    ):
        for number, part in enumerate(parts):
            table = part.to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(
                    parquet, table.schema, compression="zstd", compression_level=1
                )
            written = pool.submit(writer.write_table, table)
            _csv_ready(part.lazy()).sink_csv(text, include_header=number == 0)
            written.result()
    assert writer is not None, "a report has at least one part, maybe empty"
    writer.close()
    os.replace(parquet, out_dir / "rows.parquet")
    os.replace(csv, out_dir / "rows.csv")


def write_summary(summary: Mapping[str, Any], out_dir: Path) -> None:
    """Write summary.json into `out_dir` (atomically)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    _atomic(
        out_dir / "summary.json",
        lambda p: p.write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8"),
    )


def _atomic(target: Path, write: Any) -> None:
    partial = target.with_name(f".{target.name}.partial")
    write(partial)
    os.replace(partial, target)
