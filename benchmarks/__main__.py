"""Run the benchmark suite and print one results table (``make bench``).

Environment: ``BENCH_ROWS`` (default 1,000,000; 100,000 is measured too when
larger), ``BENCH_SEED`` (default 7), ``BENCH_BASELINE_BUDGET`` (seconds the naive
baseline may take at one size before it is timed on a sample and extrapolated;
default 300), ``BENCH_BASELINE_SAMPLE`` (that sample's size; default 200,000) and
``BENCH_LEADPIPE`` (the command to run instead of the ``leadpipe`` console script) and
``BENCH_PHONE_VALUES`` (values of the phone engine's parity check; default 5,000,000).
Progress goes to stderr; stdout gets only the table. Exits 1 if a run failed.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks._measure import Measurement
from benchmarks.baseline_naive import measure_baseline
from benchmarks.check import (
    OVERHEAD_ROWS,
    Overhead,
    measure_checks,
    measure_prefect_overhead,
    outcome_counts,
    stage_durations,
)
from benchmarks.generate import cache_path, make_export
from benchmarks.phone_parity import Parity, check_parity, export_fallback_share

SMALL_ROWS = 100_000
TABLE_WIDTH = 160


@dataclass(frozen=True)
class Settings:
    rows: int
    seed: int
    baseline_budget_s: float
    baseline_sample: int
    phone_values: int

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            rows=int(os.environ.get("BENCH_ROWS", "1_000_000")),
            seed=int(os.environ.get("BENCH_SEED", "7")),
            baseline_budget_s=float(os.environ.get("BENCH_BASELINE_BUDGET", "300")),
            baseline_sample=int(os.environ.get("BENCH_BASELINE_SAMPLE", "200_000")),
            phone_values=int(os.environ.get("BENCH_PHONE_VALUES", "5_000_000")),
        )

    @property
    def sizes(self) -> list[int]:
        return [SMALL_ROWS, self.rows] if self.rows > SMALL_ROWS else [self.rows]


@dataclass
class SizeResult:
    """Everything measured at one export size."""

    rows: int
    export: Path
    export_note: str
    baseline: Measurement
    check: Measurement  # a cold phone cache
    warm: Measurement  # the same check again, its phone cache filled by the first


@dataclass(frozen=True)
class PhoneResult:
    """The phone engine against plain phonenumbers, and its fallback share on an export."""

    parity: Parity
    export_keys: int
    export_fallback_share: float


@dataclass
class Results:
    sizes: list[SizeResult] = field(default_factory=list)
    overhead: Overhead | None = None
    phones: PhoneResult | None = None

    @property
    def ok(self) -> bool:
        runs = [m for s in self.sizes for m in (s.baseline, s.check, s.warm)]
        phones_ok = self.phones is None or self.phones.parity.mismatches == 0
        return all(m.ok for m in runs) and (self.overhead is None or self.overhead.ok) and phones_ok


def main() -> int:
    settings = Settings.from_env()
    progress = Console(stderr=True)
    started = time.perf_counter()
    results = Results()
    for rows in settings.sizes:
        results.sizes.append(_measure_size(rows, settings, results, progress))
    progress.log(f"Prefect start-up overhead on {OVERHEAD_ROWS} rows (local, then prefect) …")
    results.overhead = measure_prefect_overhead(make_export(OVERHEAD_ROWS, settings.seed))
    progress.log(f"phone engine vs phonenumbers on {settings.phone_values:,} values …")
    results.phones = _measure_phones(settings, results.sizes[-1].export)
    # Piped output (make bench | tee) would otherwise wrap at 80 columns.
    out = Console() if sys.stdout.isatty() else Console(width=TABLE_WIDTH)
    out.print(_table(results, settings, time.perf_counter() - started))
    return 0 if results.ok else 1


def _measure_size(rows: int, settings: Settings, results: Results, progress: Console) -> SizeResult:
    progress.log(f"export of {rows:,} rows …")
    export, export_note = _export(rows, settings.seed)
    sample = _baseline_sample(rows, settings, results)
    what = f"first {sample:,} of {rows:,}" if sample else f"{rows:,}"
    progress.log(f"naive baseline on {what} rows …")
    baseline = measure_baseline(export, rows, sample)
    progress.log(f"leadpipe check on {rows:,} rows, cold phone cache then warm …")
    check, warm = measure_checks(export, rows, runs=2)
    return SizeResult(rows, export, export_note, baseline, check, warm)


def _measure_phones(settings: Settings, export: Path) -> PhoneResult:
    parity = check_parity(settings.phone_values, settings.seed)
    keys, share = export_fallback_share(export)
    return PhoneResult(parity, keys, share)


def _export(rows: int, seed: int) -> tuple[Path, str]:
    if cache_path(rows, seed).exists():
        return make_export(rows, seed), "cached"
    started = time.perf_counter()
    path = make_export(rows, seed)
    return path, f"generated in {time.perf_counter() - started:.1f} s"


def _baseline_sample(rows: int, settings: Settings, results: Results) -> int | None:
    """Rows to time the baseline on, or None for all: sample when a smaller run predicts overrun."""
    measured = [s.baseline for s in results.sizes if s.baseline.ok and not s.baseline.note]
    if not measured or rows <= settings.baseline_sample:
        return None
    predicted = rows / measured[-1].rows_per_second
    return settings.baseline_sample if predicted > settings.baseline_budget_s else None


def _table(results: Results, settings: Settings, elapsed: float) -> Table:
    table = Table(
        title=f"leadpipe benchmarks (seed {settings.seed}, {os.cpu_count()} CPUs)",
        caption_justify="left",
    )
    table.add_column("measurement", no_wrap=True)
    for column in ("rows", "seconds", "rows/s", "peak RSS (MB)", "ratio vs baseline"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("note")
    for size in results.sizes:
        _add_size_rows(table, size)
    if results.overhead is not None:
        _add_overhead_row(table, results.overhead)
    if results.phones is not None:
        _add_phone_rows(table, results.phones)
    table.caption = _caption(results, elapsed)
    return table


def _add_size_rows(table: Table, size: SizeResult) -> None:
    baseline = size.baseline
    table.add_row(*_cells(baseline), "1.00×" if baseline.ok else "—", baseline.note)
    for check in (size.check, size.warm):
        ratio = f"{baseline.seconds / check.seconds:.1f}×" if baseline.ok and check.ok else "—"
        table.add_row(*_cells(check), ratio, check.note)
        for stage, seconds in stage_durations(check).items():
            rate = f"{size.rows / seconds:,.0f}" if seconds > 0 else "—"
            table.add_row(f"  └ stage {stage}", "", f"{seconds:.2f}", rate, "", "", "")
    table.add_section()


def _add_overhead_row(table: Table, overhead: Overhead) -> None:
    local, prefect = overhead.local, overhead.prefect
    if overhead.ok:
        seconds = f"{overhead.seconds:.1f}"
        note = f"--engine prefect {prefect.seconds:.1f} s − --engine local {local.seconds:.1f} s"
    else:
        seconds = "failed"
        note = prefect.note if not prefect.ok else local.note
    table.add_row("Prefect start-up overhead", f"{OVERHEAD_ROWS:,}", seconds, "", "", "", note)


def _add_phone_rows(table: Table, phones: PhoneResult) -> None:
    parity = phones.parity
    rate = f"{parity.sample_keys / parity.engine_seconds:,.0f}"
    note = (
        f"{parity.mismatches:,} keys differ of {parity.keys:,} ({parity.values:,} values); "
        f"phonenumbers alone {parity.oracle_seconds:.1f} s; "
        f"fallback {parity.fallback_share:.3%} here, {phones.export_fallback_share:.3%} "
        f"of the export's {phones.export_keys:,} phone keys"
    )
    ratio = f"{parity.oracle_seconds / parity.engine_seconds:.1f}×"
    row = (f"{parity.sample_keys:,}", f"{parity.engine_seconds:.1f}", rate, "", ratio, note)
    table.add_section()
    table.add_row("phone engine vs phonenumbers", *row)


def _cells(measurement: Measurement) -> tuple[str, str, str, str, str]:
    rss = measurement.peak_rss_mb
    seconds = f"{measurement.seconds:.1f}" if measurement.ok else "failed"
    rate = f"{measurement.rows_per_second:,.0f}" if measurement.ok else "—"
    return (
        measurement.name,
        f"{measurement.rows:,}",
        seconds,
        rate,
        f"{rss:,.0f}" if rss is not None and rss == rss else "—",
    )


def _caption(results: Results, elapsed: float) -> str:
    lines = []
    for size in results.sizes:
        lines.append(f"{size.export.name}: {size.export_note}")
        counts = outcome_counts(size.check)
        if counts:
            lines.append(f"  leadpipe outcomes: {_format_counts(counts)}")
        if size.baseline.extra:
            lines.append(f"  baseline: {_format_counts(size.baseline.extra)}")
    lines.append(
        "ratio = baseline seconds / leadpipe seconds, same run; peak RSS = largest process "
        "of the command's tree; wall times include interpreter start-up and imports."
    )
    lines.append(f"total benchmark time {elapsed:.0f} s")
    return "\n".join(lines)


def _format_counts(counts: Mapping[str, object]) -> str:
    return ", ".join(
        f"{key} {value:,}" if isinstance(value, int) else f"{key} {value}"
        for key, value in counts.items()
    )


if __name__ == "__main__":
    sys.exit(main())
