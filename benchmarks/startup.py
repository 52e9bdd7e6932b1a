"""Fixed costs an analyst pays on every command (issue 19): `leadpipe --help`, what it imports,
and `check` of a 20-row file with the default engine.

- ``leadpipe --help``: the median wall time of ``HELP_RUNS`` runs of the console script (goal
  ≤ 0.5 s), each a fresh interpreter, as a person types it.
- What it loaded: a fresh interpreter runs the CLI's ``--help`` and lists the heavy packages it
  holds afterwards (goal: none of pandera, pandas, altair, prefect; `tests/flows/test_startup.py`
  asserts the same, more strictly, in the suite).
- ``check`` of the first 20 rows of the 100k export with the default engine (no
  ``PREFECT_API_URL``: ``auto`` runs in-process): the median of ``CHECK_RUNS`` runs, each with a
  fresh home. No goal: it is the figure the 100k ratio's fixed costs are made of.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks._measure import Measurement, run_measured
from benchmarks._settings import SMALL_ROWS, Settings
from benchmarks._table import Row
from benchmarks.check import leadpipe_command
from benchmarks.generate import make_export

__all__ = ["HELP_GOAL_S", "StartupResult", "measure"]

HELP_GOAL_S = 0.5
HELP_RUNS = 5
CHECK_RUNS = 3
SMALL_FILE_ROWS = 20
# Packages `--help` must not import (each costs 0.2-0.7 s of start-up).
NOT_BEFORE_NEEDED = ("pandera", "pandas", "altair", "prefect")
_PROBE = """
import json, sys
from flows.cli import main
sys.argv = ["leadpipe", "--help"]
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


@dataclass
class StartupResult:
    help_runs: list[Measurement] = field(default_factory=list)
    loaded: list[str] | None = None  # the forbidden packages `--help` loaded; None: probe failed
    probe_error: str = ""
    check_runs: list[Measurement] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        runs = self.help_runs + self.check_runs
        return self.loaded is not None and all(m.ok for m in runs)

    def table_rows(self) -> list[Row]:
        rows = [_median_row("leadpipe --help", self.help_runs, goal=HELP_GOAL_S)]
        rows.append(
            Row(
                "  └ imported by --help",
                measured=", ".join(self.loaded) or "none" if self.loaded is not None else "",
                goal="none of " + ", ".join(NOT_BEFORE_NEEDED),
                met=self.loaded == [] if self.loaded is not None else False,
                note=self.probe_error,
                failed=self.loaded is None,
            )
        )
        rows.append(_median_row(f"check, {SMALL_FILE_ROWS} rows, default engine", self.check_runs))
        return rows

    def caption(self) -> list[str]:
        return [
            f"start-up: median of {HELP_RUNS} runs of `leadpipe --help` and of {CHECK_RUNS} "
            f"`check` runs of a {SMALL_FILE_ROWS}-row file (default engine, fresh home each), "
            "each a fresh interpreter."
        ]


def measure(settings: Settings, log: object = None) -> StartupResult:
    result = StartupResult()
    command = leadpipe_command()
    result.help_runs = [_help_once(command) for _ in range(HELP_RUNS)]
    result.loaded, result.probe_error = _heavy_loaded_by_help()
    with tempfile.TemporaryDirectory(prefix="leadpipe-bench-startup-") as tmp:
        small = _first_rows(settings, Path(tmp) / f"rows{SMALL_FILE_ROWS}.csv")
        result.check_runs = [_check_once(command, small, Path(tmp), n) for n in range(CHECK_RUNS)]
    return result


def _help_once(command: list[str]) -> Measurement:
    run = run_measured([*command, "--help"], env=dict(os.environ), timeout=60)
    return Measurement.of_run("--help", 0, run, ok=run.returncode == 0)


def _heavy_loaded_by_help() -> tuple[list[str] | None, str]:
    """The packages of `NOT_BEFORE_NEEDED` a fresh interpreter holds after `--help`."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=60, check=False
    )
    try:
        loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    except (IndexError, json.JSONDecodeError):
        tail = " | ".join(done.stderr.strip().splitlines()[-2:])
        return None, f"probe failed: {tail}"
    return sorted(loaded & set(NOT_BEFORE_NEEDED)), ""


def _first_rows(settings: Settings, path: Path) -> Path:
    """The header and first `SMALL_FILE_ROWS` records of the bench's 100k export."""
    export = make_export(min(SMALL_ROWS, settings.rows), settings.seed)
    import polars as pl

    pl.read_csv(export, n_rows=SMALL_FILE_ROWS, infer_schema=False).write_csv(path)
    return path


def _check_once(command: list[str], source: Path, tmp: Path, number: int) -> Measurement:
    env = {**os.environ, "LEADPIPE_HOME": str(tmp / f"home{number}")}
    for name in ("PREFECT_API_URL", "LEADPIPE_ENGINE"):
        env.pop(name, None)  # the default engine, as an analyst's terminal has it
    out = tmp / f"out{number}"
    run = run_measured([*command, "check", str(source), "--out", str(out)], env=env, timeout=120)
    return Measurement.of_run("check", SMALL_FILE_ROWS, run, ok=run.returncode == 0)


def _median_row(what: str, runs: list[Measurement], goal: float | None = None) -> Row:
    good = [m.seconds for m in runs if m.ok]
    if not good or len(good) < len(runs):
        failed = next((m.note for m in runs if not m.ok), "no run")
        return Row(what, note=failed, failed=True, goal=_goal(goal), met=False if goal else None)
    median = statistics.median(good)
    spread = f"runs {min(good):.2f}–{max(good):.2f} s"
    return Row(
        what,
        seconds=median,
        peak_mb=max(m.peak_rss_mb or 0 for m in runs),
        measured=f"{median:.2f} s",
        goal=_goal(goal),
        met=median <= goal if goal is not None else None,
        note=spread,
    )


def _goal(goal: float | None) -> str:
    return f"≤ {goal} s" if goal is not None else ""
