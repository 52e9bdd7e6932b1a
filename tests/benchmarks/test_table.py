"""`make bench`'s one table, assembled from made-up results (nothing is run or timed)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from rich.console import Console

from benchmarks.__main__ import Outcome, _table
from benchmarks._measure import Measurement
from benchmarks._settings import Settings
from benchmarks.check_vs_baseline import CheckResult, SizeResult
from benchmarks.import_throughput import ImportResult, Round
from benchmarks.phone_parity import Parity, PhoneResult
from benchmarks.scale import ScalePart, ScaleResult, snapshot_leads
from benchmarks.startup import StartupResult

SETTINGS = Settings(
    rows=1_000_000,
    seed=7,
    baseline_budget_s=60,
    baseline_sample=20_000,
    phone_values=500_000,
    import_rows=100_000,
    bare_sample=10_000,
)


def _check() -> CheckResult:
    summary = {
        "counts": {"valid": 90, "invalid": 10},
        "durations": {"read": 0.5, "normalise": 2.0},
        "memory_mb": {"read": 210.0, "normalise": 1234.5},
    }
    baseline = Measurement("naive baseline (pandas loop)", 100_000, 100.0, 150.0)
    check = Measurement("leadpipe check (local)", 100_000, 4.0, 1300.0, extra=summary)
    return CheckResult([SizeResult(100_000, Path("export.csv"), "cached", baseline, check)])


def _import(push_s: float, rerun_s: float, sent: int) -> ImportResult:
    first = Measurement(
        "leadpipe import",
        100_000,
        300.0,
        400.0,
        extra={
            "durations": {"snapshot": 1.0, "push": push_s},
            "memory_mb": {"snapshot": 300.0, "push": 380.0},
            "requests": {"sent": 100_000},
            "counts": {"created": 100_000},
        },
    )
    again = Measurement(
        "no-change re-run",
        100_000,
        rerun_s,
        350.0,
        extra={"requests": {"sent": sent}, "counts": {"unchanged": 100_000}},
    )
    # 5 interleaved rounds of 2,000 creates a side: the push at 5.5 s against 5.0 s is 91 %;
    # 800 commits in 0.4 s each: 400 per 1,000 requests, 0.50 ms each
    rounds = tuple(Round(2_000, 5.0, push, 800, 0.4) for push in (5.5, 5.6, 5.4, 5.8, 5.5))
    return ImportResult(100_000, first, again, 10_000, 25.0, rounds)


def _scale() -> ScalePart:
    def run(name: str, rows: int, seconds: float, peak: float) -> Measurement:
        return Measurement(name, rows, seconds, peak, extra={"durations": {"read": 1.0}})

    checks = (run("check", 1_000_000, 14.0, 1_100.0), run("check", 10_000_000, 160.0, 1_900.0))
    plans = (
        run("cold", 1_000_000, 21.0, 2_400.0),
        run("warm", 1_000_000, 19.5, 2_400.0),
        run("10x leads", 1_000_000, 40.0, 3_900.0),
    )
    return ScalePart(ScaleResult(checks, plans))


def _render(outcomes: list[Outcome]) -> str:
    console = Console(width=250, record=True)
    console.print(_table(outcomes, SETTINGS, elapsed=812.0))
    return console.export_text()


def test_every_goal_shows_goal_measured_and_met() -> None:
    parity = Parity(500_000, 400_000, 0, 0.002, 50_000, 2.0, 20.0)
    outcomes = [
        Outcome("check vs naive baseline", 30.0, _check()),
        Outcome("scale", 300.0, _scale()),
        # push 100k in 280 s = 357 rows/s against the bare loop's 400: 89 %
        Outcome("import", 400.0, _import(push_s=280.0, rerun_s=45.0, sent=0)),
        Outcome("phones", 20.0, PhoneResult(parity, 26_000, 0.001)),
    ]

    text = _render(outcomes)

    assert "25.0× baseline" in text and "≥ 10× baseline" in text  # the 100k check: met
    assert "1,234" in text  # the normalise stage's peak RSS
    assert "91% (median)" in text and "≥ 85%" in text  # the rounds' median: the goal
    assert "400 per 1,000 requests" in text and "0.50 ms" in text
    assert "89% of bare loop" in text  # the import's own push stage, for information
    assert "15.0% of first import" in text and "≤ 10%" in text  # 45 s of 300 s: not met
    assert "1,900 MB peak RSS" in text and "< 2,048 MB" in text  # the 10M check: met
    assert "21.0 s, 2,400 MB" in text and "≤ 15 s and ≤ 2,560 MB" in text  # the cold plan: not
    assert "40.0 s, 3,900 MB" in text and "≤ 4,096 MB" in text  # 10x leads: met
    assert "13.5 min" in text and "< 15 min" in text  # the whole benchmark: met
    # the 100k check, push, requests sent, parity, the 10M check, 10x leads, the whole run;
    # not the re-run, not the cold plan
    assert "goals met: 7 of 9 measured" in text
    assert "total benchmark time 812 s" in text
    assert all(o.ok for o in outcomes)


def test_start_up_rows_say_goal_measured_and_met() -> None:
    def run(seconds: float) -> Measurement:
        return Measurement("--help", 0, seconds, 40.0)

    result = StartupResult(
        help_runs=[run(0.31), run(0.27), run(0.9)],
        loaded=["pandas"],
        check_runs=[Measurement("check", 20, 1.9, 240.0), Measurement("check", 20, 2.1, 240.0)],
    )

    rows = {row.what: row for row in result.table_rows()}

    assert rows["leadpipe --help"].measured == "0.31 s"  # the median, not the slow outlier
    assert rows["leadpipe --help"].met is True
    assert rows["  └ imported by --help"].measured == "pandas"
    assert rows["  └ imported by --help"].met is False
    assert rows["check, 20 rows, default engine"].measured == "2.00 s"
    assert rows["check, 20 rows, default engine"].met is None


def test_ten_times_the_leads_are_distinct(tmp_path: Path) -> None:
    from schemas.frames import TARGET_LEAD_SCHEMA

    checked = tmp_path / "rows.parquet"
    n = 50
    pl.DataFrame(
        {
            "source_row": range(2, n + 2),
            "outcome": ["valid"] * n,
            "email": [f"p{i}@example.com" for i in range(n)],
            "phone": [f"+4930{i:07d}" for i in range(n)],
        }
    ).with_columns(
        [
            pl.lit(None, dtype).alias(name)
            for name, dtype in TARGET_LEAD_SCHEMA.items()
            if name not in ("id", "updated_at", "email", "phone")
        ]
    ).write_parquet(checked)

    leads = snapshot_leads(checked, 10 * n)

    assert leads.height == 10 * n
    assert leads["id"].n_unique() == 10 * n
    assert leads["email"].n_unique() == 10 * n
    assert leads.filter(pl.col("phone").is_not_null()).height == 45  # the file's own, 1 in 10 out


def test_a_failed_part_shows_and_fails_the_run() -> None:
    failed = Outcome("import", 3.0, missing="failed: the sandbox did not start")

    text = _render([failed])

    assert "failed: the sandbox did not start" in text
    assert not failed.ok
