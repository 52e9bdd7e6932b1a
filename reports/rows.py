"""The run's report files: `rows.parquet`, `rows.csv` and `summary.json`, each atomically.

`transforms.report` shapes the rows; this writes them: `rows.parquet` keeps the true values,
`rows.csv` is for people (nested values as text, formula-looking cells neutralised), and
`summary.json` the run's `RunSummary` (`as_json`: the contract's keys, in order). Each file
goes through `schemas.files.atomic_write`, so a killed run leaves the old file, never half of
a new one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl

from schemas.fields import WARNING_ENTRY
from schemas.files import atomic_write
from schemas.summary import RunSummary
from transforms.report import neutralise_formulas

__all__ = ["write_report_rows", "write_summary"]


def write_report_rows(rows: pl.DataFrame | Iterable[pl.DataFrame], out_dir: Path) -> None:
    """Write rows.parquet and rows.csv into `out_dir` (each atomically).

    `rows` may come as consecutive parts (a report larger than memory): each part is appended
    to both files as it comes, so only one part is ever held.
    """
    if not isinstance(rows, pl.DataFrame):
        _both_atomically(out_dir, lambda parquet, csv: _write_parts(rows, parquet, csv))
        return

    def write(parquet: Path, csv: Path) -> None:
        # rows.parquet on a second thread while rows.csv is written here: each writer keeps
        # about one core busy, and polars lets go of the GIL while it writes.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rows-parquet") as pool:
            # zstd's fastest level: ~20% less time than the default level 3 for ~9% more bytes.
            written = pool.submit(rows.write_parquet, parquet, compression_level=1)
            _csv_ready(rows.lazy()).sink_csv(csv)
            written.result()

    _both_atomically(out_dir, write)


def write_summary(summary: RunSummary, out_dir: Path) -> None:
    """Write summary.json into `out_dir` (atomically): `summary.as_json()`, indented, values
    JSON cannot hold as text."""
    text = json.dumps(summary.as_json(), indent=2, default=str) + "\n"
    atomic_write(out_dir / "summary.json", lambda p: p.write_text(text, encoding="utf-8"))


def _both_atomically(out_dir: Path, write: Callable[[Path, Path], None]) -> None:
    """`write(parquet_partial, csv_partial)`, then rows.parquet and rows.csv renamed into place,
    rows.parquet first. Neither is replaced when `write` raises; a kill between the two renames
    leaves a new rows.parquet beside the old rows.csv."""
    atomic_write(
        out_dir / "rows.csv",
        lambda csv: atomic_write(out_dir / "rows.parquet", lambda parquet: write(parquet, csv)),
    )


def _write_parts(parts: Iterable[pl.DataFrame], parquet: Path, csv: Path) -> None:
    """Each part appended to both files as it comes, its Parquet row groups on a second thread
    while its CSV is written here: one part is held at a time."""
    import pyarrow.parquet as pq

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


def _csv_ready(rows: pl.LazyFrame) -> pl.LazyFrame:
    """Nested values as text (tags joined, warnings as sentences, other lists of structs as
    JSON) and formulas neutralised."""
    columns = []
    for name, dtype in rows.collect_schema().items():
        col = pl.col(name)
        if dtype == pl.List(WARNING_ENTRY):
            col = neutralise_formulas(_notes_text(name))
        elif dtype == pl.List(pl.String):
            col = neutralise_formulas(col.list.join(", "))
        elif isinstance(dtype, pl.List):
            col = _json_list(name)  # starts with `[`: never a formula, and long to scan
        elif dtype == pl.Boolean:
            col = col.cast(pl.String)  # `true` / `false`
        else:
            col = neutralise_formulas(col if dtype == pl.String else col.cast(pl.String))
        columns.append(col.alias(name))
    return rows.select(columns)


def _notes_text(name: str) -> pl.Expr:
    """Warnings for people: `phone: '0044 20…' was read as +44…; country: …` (blank: none)."""
    entry = pl.element().struct
    said = pl.format("{}: {}", entry.field("field"), entry.field("message"))
    return pl.col(name).list.eval(said).list.join("; ").replace("", None)


def _json_list(name: str) -> pl.Expr:
    """A list column as JSON text: `[{"key":"city","value":"Oslo"}]`; null stays null."""
    # Encoded as the only field of a struct, then unwrapped: one vectorised encoder instead of
    # `list.eval` per row, which costs ~2x.
    wrapped = pl.struct(name).struct.json_encode()
    unwrapped = wrapped.str.strip_prefix("{" + json.dumps(name) + ":").str.strip_suffix("}")
    return pl.when(pl.col(name).is_not_null()).then(unwrapped)
