"""Time ``leadpipe check`` on an export, and Prefect's fixed start-up cost.

Each run gets a fresh temporary ``LEADPIPE_HOME`` (so the phone cache is cold)
and output directory. The summary JSON that ``--json`` prints on stdout gives
the outcome counts and, when present, the per-stage durations.

Prefect's overhead is measured on a 200-row export as the wall time of
``--engine prefect`` minus ``--engine local``; the Prefect run gets its own
``PREFECT_HOME`` and starts a temporary server.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks._measure import Measurement, RunResult, run_measured
from benchmarks._settings import Settings
from benchmarks._table import Row
from benchmarks.generate import make_export

OVERHEAD_ROWS = 200
CHECK_TIMEOUT_S = 1800.0


@dataclass(frozen=True)
class Overhead:
    """Prefect's start-up cost: the two runs it is the difference of."""

    local: Measurement
    prefect: Measurement

    @property
    def seconds(self) -> float:
        return self.prefect.seconds - self.local.seconds

    @property
    def ok(self) -> bool:
        return self.local.ok and self.prefect.ok

    def table_rows(self) -> list[Row]:
        local, prefect = self.local, self.prefect
        if self.ok:
            note = (
                f"--engine prefect {prefect.seconds:.1f} s − --engine local {local.seconds:.1f} s"
            )
        else:
            note = prefect.note if not prefect.ok else local.note
        return [
            Row(
                "Prefect start-up overhead",
                rows=OVERHEAD_ROWS,
                seconds=self.seconds if self.ok else None,
                note=note,
                failed=not self.ok,
            )
        ]

    def caption(self) -> list[str]:
        return []


def leadpipe_command() -> list[str]:
    """``$BENCH_LEADPIPE`` (split like a shell), else the console script beside this
    interpreter, else ``python -m flows.cli``."""
    override = os.environ.get("BENCH_LEADPIPE", "").strip()
    if override:
        return shlex.split(override)
    script = Path(sys.executable).parent / "leadpipe"
    if script.exists():
        return [str(script)]
    found = shutil.which("leadpipe")
    if found:
        return [found]
    return [sys.executable, "-m", "flows.cli"]


def measure_check(source: Path, rows: int, engine: str = "local") -> Measurement:
    """Time one ``leadpipe check SOURCE --engine ENGINE --json`` with a cold home."""
    return measure_checks(source, rows, engine)[0]


def measure_checks(
    source: Path, rows: int, engine: str = "local", runs: int = 1
) -> list[Measurement]:
    """``runs`` checks of SOURCE one after the other in one home: the first with a cold phone
    cache, the next ones warm (what an analyst's second run of the day sees)."""
    with tempfile.TemporaryDirectory(prefix="leadpipe-bench-check-") as tmp:
        scratch = Path(tmp)
        env = _environment(scratch, engine)
        found = []
        for run_number in range(runs):
            out = scratch / f"out-{run_number}"
            command = [*leadpipe_command(), "check", str(source), "--engine", engine]
            run = run_measured(
                [*command, "--out", str(out), "--json"],
                env=env,
                cwd=scratch,
                timeout=CHECK_TIMEOUT_S,
            )
            name = f"leadpipe check ({engine}{', warm' if run_number else ''})"
            found.append(_to_measurement(name, rows, run))
            shutil.rmtree(out, ignore_errors=True)
    return found


def measure_prefect_overhead(source: Path) -> Overhead:
    """Wall time of the Prefect engine minus the local engine on a tiny export (once each)."""
    return Overhead(
        local=measure_check(source, OVERHEAD_ROWS, "local"),
        prefect=measure_check(source, OVERHEAD_ROWS, "prefect"),
    )


def measure_overhead(settings: Settings) -> Overhead:
    """Prefect's start-up cost on the ``OVERHEAD_ROWS``-row export of this run's seed."""
    return measure_prefect_overhead(make_export(OVERHEAD_ROWS, settings.seed))


def stage_durations(measurement: Measurement) -> dict[str, float]:
    """``durations`` from the summary as {stage: seconds}; empty when absent or odd."""
    durations = measurement.extra.get("durations")
    if not isinstance(durations, dict):
        return {}
    return {
        str(stage): float(seconds)
        for stage, seconds in durations.items()
        if isinstance(seconds, (int, float)) and not isinstance(seconds, bool)
    }


def stage_memory(measurement: Measurement) -> dict[str, float]:
    """``memory_mb`` from the summary as {stage: peak RSS in MB}; empty when absent or odd."""
    memory = measurement.extra.get("memory_mb")
    if not isinstance(memory, dict):
        return {}
    return {
        str(stage): float(peak)
        for stage, peak in memory.items()
        if isinstance(peak, (int, float)) and not isinstance(peak, bool)
    }


def outcome_counts(measurement: Measurement) -> dict[str, int]:
    """``counts`` from the summary as {outcome: n}; empty when absent or odd."""
    counts = measurement.extra.get("counts")
    if not isinstance(counts, dict):
        return {}
    return {str(k): int(v) for k, v in counts.items() if isinstance(v, int)}


def _environment(scratch: Path, engine: str) -> dict[str, str]:
    env = dict(os.environ)
    env["LEADPIPE_HOME"] = str(scratch / "leadpipe-home")
    if engine == "prefect":
        env["PREFECT_HOME"] = str(scratch / "prefect-home")
        # A temporary server of its own, not whatever the caller's profile points at.
        env.pop("PREFECT_API_URL", None)
        env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    return env


def _to_measurement(name: str, rows: int, run: RunResult) -> Measurement:
    summary: dict[str, Any] = run.json_stdout() or {}
    return Measurement(
        name=name,
        rows=rows,
        seconds=run.seconds,
        peak_rss_mb=run.peak_rss_mb,
        ok=run.returncode == 0,
        note=_note(rows, run, summary),
        extra=summary,
    )


def _note(rows: int, run: RunResult, summary: dict[str, Any]) -> str:
    """Failure, missing or surprising summary, else the run's own in-process time."""
    if run.returncode != 0:
        return f"failed (exit {run.returncode}): {run.stderr_tail()}"
    if not summary:
        return "no summary JSON on stdout"
    summary_rows = summary.get("rows")
    if isinstance(summary_rows, int) and summary_rows != rows:
        return f"summary reports {summary_rows:,} rows"
    seconds = summary.get("seconds")
    if isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
        return f"{seconds:.1f} s inside the run (summary.seconds)"
    return ""
