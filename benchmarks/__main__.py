"""Run the benchmark suite and print one results table (``make bench``).

Environment: ``BENCH_ROWS`` (the largest `check`, default 1,000,000; every other size scales
with it, so ``BENCH_ROWS=20000`` is a smoke run of every row), ``BENCH_SEED`` (default 7),
``BENCH_BASELINE_BUDGET`` (seconds the naive baseline may take at one size before it is
extrapolated; default 60), ``BENCH_BASELINE_SAMPLE`` (the rows it is then timed on, the
smallest size's first ones; 20,000 at full size), ``BENCH_PHONE_VALUES`` (values of the phone
engine's parity check; 100,000), ``BENCH_IMPORT_ROWS`` (new leads imported, then
re-imported unchanged; 100,000), ``BENCH_BARE_SAMPLE`` (creates the bare httpx loop sends,
half before the import and half after; 10,000), ``BENCH_PREFECT_OVERHEAD=1`` (also time
Prefect's start-up, off by default), ``BENCH_CHECK_10M=1`` (also
`check` ten times BENCH_ROWS, the 10M-row memory goal of an earlier issue: ~3.5 min, off by
default), ``BENCH_WARM_CHECK=1`` (also time the largest `check`
again with a warm phone cache, off by default) and ``BENCH_LEADPIPE`` (the command to run instead of
the ``leadpipe`` console script).

Each part is one module (one thing measured) whose ``measure(settings, log)`` returns a result
with its table rows; this file only runs them in order and lays the rows out. Progress and the
seconds each part took go to stderr; stdout gets only the table. Exits 1 if a run failed.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console

from benchmarks import (
    check_vs_baseline,
    emails_multilingual,
    import_throughput,
    phone_parity,
    rate_limit,
    scale,
    startup,
)
from benchmarks._settings import FULL_ROWS, Settings
from benchmarks._table import PartResult, Row, build_table, goal_tally
from benchmarks.check import measure_overhead

TABLE_WIDTH = 200
TOTAL_GOAL_S = 15 * 60

Log = Callable[[str], None]
Measure = Callable[[Settings, Log], PartResult]


@dataclass(frozen=True)
class Part:
    """One thing measured: its section name and `measure`, or why it is not run."""

    name: str
    measure: Measure | None
    absent: str = ""


def _opt_in(name: str, variable: str, measure: Measure, cost: str) -> Part:
    if os.environ.get(variable, "") in ("", "0"):
        return Part(name, None, f"skipped: {variable}=1 measures it (costs {cost})")
    return Part(name, measure)


def _parts() -> list[Part]:
    """The parts, in table order."""
    return [
        Part("start-up: --help, its imports, a 20-row check", startup.measure),
        Part("check vs naive baseline", check_vs_baseline.measure),
        Part("scale: check 1M (10M opt-in), plan 1M vs 1M and 10M leads", scale.measure),
        Part("import vs bare httpx loop, no-change re-run", import_throughput.measure),
        Part("rate-limit adherence, 2 workers", rate_limit.measure),
        Part("phone engine vs phonenumbers", lambda settings, _: phone_parity.measure(settings)),
        Part(
            "emails: multilingual vs per-address path",
            lambda settings, _: emails_multilingual.measure_part(settings),
        ),
        # Not a goal of the issue, and a temporary Prefect server is slow to start.
        _opt_in(
            "Prefect start-up overhead",
            "BENCH_PREFECT_OVERHEAD",
            lambda settings, _: measure_overhead(settings),
            "30-60 s",
        ),
    ]


@dataclass
class Outcome:
    """One part's result, or why there is none, and what it cost."""

    name: str
    seconds: float
    result: PartResult | None = None
    missing: str = ""

    @property
    def ok(self) -> bool:
        return self.result.ok if self.result is not None else not self.missing.startswith("fail")

    def rows(self) -> list[Row]:
        if self.result is not None:
            return self.result.table_rows()
        return [Row(self.name, note=self.missing, failed=self.missing.startswith("fail"))]


def main() -> int:
    settings = Settings.from_env()
    progress = Console(stderr=True)
    started = time.perf_counter()
    outcomes = [_run(part, settings, progress) for part in _parts()]
    elapsed = time.perf_counter() - started
    # Piped output (make bench | tee) would otherwise wrap at 80 columns.
    out = Console() if sys.stdout.isatty() else Console(width=TABLE_WIDTH)
    out.print(_table(outcomes, settings, elapsed))
    return 0 if all(o.ok for o in outcomes) else 1


def _run(part: Part, settings: Settings, progress: Console) -> Outcome:
    if part.measure is None:
        return Outcome(part.name, 0.0, missing=part.absent)
    progress.log(f"── {part.name}")
    started = time.perf_counter()
    try:
        result = part.measure(settings, progress.log)
    except Exception as exc:  # noqa: BLE001 - one broken part must not hide the others
        progress.print_exception()
        return Outcome(part.name, time.perf_counter() - started, missing=f"failed: {exc}")
    seconds = time.perf_counter() - started
    progress.log(f"── {part.name}: {seconds:.0f} s")
    return Outcome(part.name, seconds, result)


def _table(outcomes: list[Outcome], settings: Settings, elapsed: float) -> object:
    sections = [o.rows() for o in outcomes] + [[_whole_run(elapsed, settings)]]
    met, goals = goal_tally(sections)
    caption = [line for o in outcomes if o.result is not None for line in o.result.caption()]
    costs = ", ".join(f"{o.name.split(':')[0]} {o.seconds:.0f} s" for o in outcomes if o.seconds)
    caption += [
        f"goals met: {met} of {goals} measured",
        f"seconds per part: {costs}",
        f"total benchmark time {elapsed:.0f} s (BENCH_ROWS={settings.rows:,})",
    ]
    title = f"leadpipe benchmarks (seed {settings.seed}, {os.cpu_count()} CPUs)"
    return build_table(title, sections, caption)


def _whole_run(elapsed: float, settings: Settings) -> Row:
    """The bench itself has a budget (issue 19): the whole table in under 15 minutes."""
    full = settings.rows >= FULL_ROWS
    return Row(
        "whole benchmark",
        seconds=elapsed,
        measured=f"{elapsed / 60:.1f} min",
        goal=f"< {TOTAL_GOAL_S // 60} min" if full else "",
        met=elapsed < TOTAL_GOAL_S if full else None,
    )


if __name__ == "__main__":
    sys.exit(main())
