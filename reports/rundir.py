"""The run directory (`--out DIR`, default `runs/<run_id>/`): every file a run leaves there.

`RunDir` is the one writer into it. Each write goes through `schemas.files.atomic_write`, so a
killed run leaves the old file (and at most a hidden `.NAME.partial`), never half of a new one:

- `rows.parquet` and `rows.csv` (`write_rows`, read back by `scan_rows`), `summary.json`
  (`write_summary`) and `report.html` (`write_html`): every job;
- extra Parquet tables (`write_table`): `plan.parquet` (plan/import/migrate),
  `target_only.parquet` and `target_duplicates.parquet` (reconcile);
- people-facing CSVs (`write_csv`): `crosswalk.csv` (migrate).

`.scratch/` holds what a run spills while it works (read's spill files, partitions, an origin's
export); `remove_scratch` clears it once the run's files are written.

    >>> run = RunDir(Path("runs/r1"))
    >>> run.scratch
    PosixPath('runs/r1/.scratch')
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from reports.rows import write_report_rows, write_summary
from schemas.files import atomic_write
from schemas.summary import RunSummary
from transforms.report import neutralise_formulas

if TYPE_CHECKING:
    from reports.html import PageRows

__all__ = ["RunDir"]

# Written by their own methods (rows and CSV together, the summary, the page), never by name.
_OWN_FILES = frozenset({"rows.parquet", "rows.csv", "summary.json", "report.html"})


@dataclass(frozen=True)
class RunDir:
    """A run directory: `path` and the methods that write into it, each file atomically."""

    path: Path

    @property
    def scratch(self) -> Path:
        """The hidden `.scratch` folder for what the run spills while it works."""
        return self.path / ".scratch"

    def write_rows(self, rows: pl.DataFrame | Iterable[pl.DataFrame]) -> Path:
        """rows.parquet and rows.csv, from the whole rows or consecutive parts (one held at a
        time); returns rows.parquet's path (to scan what was written)."""
        write_report_rows(rows, self.path)
        return self.path / "rows.parquet"

    def scan_rows(self) -> pl.LazyFrame:
        """rows.parquet as written, lazily (its metadata read now, its rows when collected)."""
        return pl.scan_parquet(self.path / "rows.parquet")

    def write_summary(self, summary: RunSummary) -> Path:
        """summary.json (`summary.as_json()`, indented, values JSON cannot hold as text);
        returns its path."""
        write_summary(summary, self.path)
        return self.path / "summary.json"

    def write_html(
        self,
        page_rows: pl.DataFrame | PageRows,
        summary: RunSummary,
        target_only: pl.DataFrame | None = None,
    ) -> Path:
        """report.html from the rows (or what `PageRows` kept of them); returns its path."""
        # Here, not at the top: jinja2 and itables load only when a page is made.
        from reports.html import write_report_html

        return write_report_html(page_rows, summary, self.path, target_only=target_only)

    def write_table(self, name: str, frame: pl.DataFrame) -> Path:
        """An extra Parquet file, e.g. `write_table("plan.parquet", plan)`; returns its path."""
        target = self.path / _file_name(name, ".parquet")
        return atomic_write(target, frame.write_parquet)

    def write_csv(self, name: str, frame: pl.DataFrame) -> Path:
        """A CSV for people, e.g. `write_csv("crosswalk.csv", pairs)`: text cells that start
        like a formula neutralised, other columns as polars writes them; returns its path."""
        target = self.path / _file_name(name, ".csv")
        safe = frame.with_columns(
            neutralise_formulas(pl.col(c)).alias(c)
            for c, t in frame.schema.items()
            if t == pl.String
        )
        return atomic_write(target, safe.write_csv)

    def remove_scratch(self) -> None:
        """Delete `.scratch` and all in it (nothing when it is not there)."""
        shutil.rmtree(self.scratch, ignore_errors=True)


def _file_name(name: str, suffix: str) -> str:
    """`name` when it is a plain file name ending in `suffix` that no other method writes."""
    if Path(name).name != name or name.startswith(".") or not name.endswith(suffix):
        raise ValueError(f"{name!r}: expected a plain file name ending in {suffix}")
    if name in _OWN_FILES:
        raise ValueError(f"{name!r} is written by its own RunDir method")
    return name
