"""`leadpipe check` against the naive pandas + phonenumbers baseline, at 100k and BENCH_ROWS rows.

At each size: the baseline, then `check` with a cold phone cache; with ``BENCH_WARM_CHECK=1``
`check` runs once more at the largest size with the cache the first run filled (an analyst's
second run of the day; off by default: ~40 s at 1M rows for a figure load noise swamps). Each
check's stages are listed under it with their seconds and peak RSS (summary.json's
`durations` and `memory_mb`). The baseline is one Python call per row, so its cost is linear:
above ``BENCH_BASELINE_SAMPLE`` rows it is timed on the first that many and scaled, and a size
it would take longer than ``BENCH_BASELINE_BUDGET`` seconds at is extrapolated from the smaller
size's figure instead of being run again. At full size the 100k baseline is timed in full
(``BENCH_BASELINE_SAMPLE`` defaults to 100k) and the 1M one extrapolated from it. Goals (issue
19): `check` ≥ 10× the baseline at 100k rows (fixed costs weigh there) and ≥ 20× at 1M.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks._measure import Measurement
from benchmarks._settings import FULL_ROWS, SMALL_ROWS, Settings
from benchmarks._table import Row, stage_rows
from benchmarks.baseline_naive import extrapolate, measure_baseline
from benchmarks.check import measure_checks, outcome_counts, stage_durations, stage_memory
from benchmarks.generate import cache_path, make_export

__all__ = ["RATIO_GOALS", "CheckResult", "SizeResult", "measure"]

# Issue 19's goals, cold phone cache: rows -> the least check ratio over the naive baseline.
RATIO_GOALS = {SMALL_ROWS: 10, FULL_ROWS: 20}


@dataclass
class SizeResult:
    """Everything measured at one export size."""

    rows: int
    export: Path
    export_note: str
    baseline: Measurement
    check: Measurement  # a cold phone cache
    warm: Measurement | None = None  # the same check again, its phone cache filled by the first

    @property
    def runs(self) -> list[Measurement]:
        return [m for m in (self.baseline, self.check, self.warm) if m is not None]


@dataclass
class CheckResult:
    sizes: list[SizeResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(m.ok for size in self.sizes for m in size.runs)

    @property
    def largest(self) -> SizeResult:
        return self.sizes[-1]

    def table_rows(self) -> list[Row]:
        return [row for size in self.sizes for row in _size_rows(size)]

    def caption(self) -> list[str]:
        lines = []
        for size in self.sizes:
            lines.append(f"{size.export.name}: {size.export_note}")
            counts = outcome_counts(size.check)
            if counts:
                lines.append(f"  leadpipe outcomes: {_format_counts(counts)}")
            if size.baseline.extra:
                lines.append(f"  baseline: {_format_counts(size.baseline.extra)}")
        lines.append(
            "check ratio = baseline seconds / leadpipe seconds, same run; a command's peak RSS = "
            "largest process of its tree; wall times include interpreter start-up and imports."
        )
        return lines


def measure(settings: Settings, log: Callable[[str], None]) -> CheckResult:
    result = CheckResult()
    for rows in settings.sizes:
        largest = rows == settings.sizes[-1]
        result.sizes.append(
            _measure_size(rows, settings, result, log, warm=largest and settings.warm_check)
        )
    return result


def _measure_size(
    rows: int, settings: Settings, result: CheckResult, log: Callable[[str], None], warm: bool
) -> SizeResult:
    log(f"export of {rows:,} rows …")
    export, export_note = _export(rows, settings.seed)
    baseline = _baseline(export, rows, settings, result, log)
    log(f"leadpipe check on {rows:,} rows, cold phone cache{' then warm' if warm else ''} …")
    runs = measure_checks(export, rows, runs=2 if warm else 1)
    return SizeResult(rows, export, export_note, baseline, runs[0], runs[1] if warm else None)


def _baseline(
    export: Path, rows: int, settings: Settings, result: CheckResult, log: Callable[[str], None]
) -> Measurement:
    """Time the baseline (on a sample above ``baseline_sample`` rows), or extrapolate it from
    the smaller size's when that predicts more than the budget."""
    measured = [s.baseline for s in result.sizes if s.baseline.ok]
    predicted = rows / measured[-1].rows_per_second if measured else 0.0
    if measured and predicted > settings.baseline_budget_s:
        log(f"naive baseline at {rows:,} rows: extrapolated ({predicted:.0f} s predicted)")
        return extrapolate(measured[-1], rows)
    sample = settings.baseline_sample if rows > settings.baseline_sample else None
    log(f"naive baseline on {f'first {sample:,} of ' if sample else ''}{rows:,} rows …")
    return measure_baseline(export, rows, sample)


def _export(rows: int, seed: int) -> tuple[Path, str]:
    if cache_path(rows, seed).exists():
        return make_export(rows, seed), "cached"
    started = time.perf_counter()
    path = make_export(rows, seed)
    return path, f"generated in {time.perf_counter() - started:.1f} s"


def _size_rows(size: SizeResult) -> list[Row]:
    baseline = size.baseline
    rows = [_row(baseline, "1.00×" if baseline.ok else "")]
    for check in (size.check, size.warm):
        if check is None:
            continue
        both = baseline.ok and check.ok
        ratio = baseline.seconds / check.seconds if both else 0.0
        goal = RATIO_GOALS.get(check.rows) if check is size.check else None
        rows.append(
            _row(
                check,
                f"{ratio:.1f}× baseline" if both else "",
                goal=f"≥ {goal}× baseline" if goal else "",
                met=ratio >= goal if goal else None,
            )
        )
        rows += stage_rows(check.rows, stage_durations(check), stage_memory(check))
    return rows


def _row(m: Measurement, measured: str, goal: str = "", met: bool | None = None) -> Row:
    return Row(
        m.name,
        rows=m.rows,
        seconds=m.seconds,
        rate=m.rows_per_second if m.ok else None,
        peak_mb=m.peak_rss_mb,
        measured=measured,
        goal=goal,
        met=met,
        note=m.note,
        failed=not m.ok,
    )


def _format_counts(counts: Mapping[str, object]) -> str:
    return ", ".join(
        f"{key} {value:,}" if isinstance(value, int) else f"{key} {value}"
        for key, value in counts.items()
    )
