"""Scale: ``leadpipe check`` at three sizes a factor of ten apart (time, peak RSS).

Sizes are ``SCALE_ROWS / 10``, ``SCALE_ROWS`` and ``10 * SCALE_ROWS`` (``SCALE_ROWS`` defaults
to ``BENCH_ROWS``: 100k, 1M and 10M). The 10M check alone takes ~6-10 min on 2 cores, so a
caller with a time budget passes a smaller ``rows`` (``BENCH_ROWS // 10``: 10k / 100k / 1M in
~2 min). Each check runs in its own process with a cold ``LEADPIPE_HOME`` through
``benchmarks._measure`` (peak RSS of the process tree's largest process). Cost is linear when
seconds per million rows stay flat down the table; the goal is a 10M-row check under 2 GB.

The largest export is not generated row by row (Faker: ~1 min per million rows): it is the
``BENCH_ROWS`` export repeated, each copy made distinct where identity lives (record id, e-mail,
last digit of each phone), so dedupe sees the duplicates a real export has, not 9 copies.

``plan`` is measured with ``BENCH_ROWS`` source rows against a snapshot of as many leads (goal
at 1M, issue 19: ≤ 15 s and ≤ 2,560 MB for the default partitions from a cold phone cache),
again in the same home (an analyst's next plan), and against a snapshot of ten times as many
leads in a fresh home (goal: ≤ 4,096 MB; the target is partitioned by match key and spilled
under the state folder when it is that large). The
snapshot is written straight into the store (``LEADPIPE_HOME/state/sandbox_octanist/``): seeding
a million leads through the API would take longer than the whole benchmark. It holds the valid
rows of the ``BENCH_ROWS`` check (its ``rows.parquet``) but one in ten (those plan as creates),
topped up with leads the file does not have (no updates: Octanist updates only status, value,
note and loss reason, which this export leaves blank); its high-water mark is newer than
anything in the target, so the plan, which creates and so reads the target first, makes its
usual incremental refresh call (to the in-process sandbox), which finds nothing new. The three
stored leads a plan checks are still in the target (`SnapshotStore.lost`) are seeded there.

``measure(settings, log)`` is ``make bench``'s part (10x and 1x ``BENCH_ROWS``, and the plan);
``python -m benchmarks.scale`` prints ``measure_scale(rows)``'s three sizes and the plan alone,
through the same ``ScalePart`` rows.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from benchmarks._measure import Measurement, run_measured
from benchmarks._settings import FULL_ROWS, Settings
from benchmarks._table import Row, build_table, mb, stage_rows
from benchmarks.check import CHECK_TIMEOUT_S, leadpipe_command
from benchmarks.generate import CACHE_DIR, make_export

__all__ = ["ScalePart", "ScaleResult", "measure", "measure_scale", "scaled_export"]

_COPY_ID_STEP = 1_000_000_000
_VENDOR = "octanist"
_HIGH_WATER = "2030-01-01T00:00:00.000Z"  # newer than anything the sandbox holds
# The address of the in-process sandbox a `sandbox:*` target uses without LEADPIPE_SANDBOX_URL
# (flows._targets): its snapshot is stored under this address.
_IN_PROCESS_URL = "http://sandbox.local"


@dataclass(frozen=True)
class ScaleResult:
    """The checks, smallest first, then the plan against a snapshot of as many leads."""

    checks: tuple[Measurement, ...]
    plans: tuple[Measurement, ...] = ()  # cold, warm (same home), cold vs 10x the leads
    skipped: str = ""  # why the 10x check was not run

    @property
    def ok(self) -> bool:
        return all(m.ok for m in self.measurements)

    @property
    def measurements(self) -> tuple[Measurement, ...]:
        return (*self.checks, *self.plans)


def scaled_export(rows: int, base: int, seed: int = 7) -> Path:
    """An export of ``rows`` rows: generated up to ``base`` rows, else ``base`` repeated."""
    if rows <= base or rows % base:
        return make_export(rows, seed)
    path = CACHE_DIR / f"export-{rows}-{seed}-x{rows // base}.csv"
    if path.exists():
        return path
    source = make_export(base, seed)
    copies = [_copy(pl.scan_csv(source, infer_schema=False), k) for k in range(rows // base)]
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    pl.concat(copies).sink_csv(partial)
    partial.replace(path)
    return path


def _copy(lf: pl.LazyFrame, k: int) -> pl.LazyFrame:
    """Copy ``k`` of the export: ids, e-mails and phones moved so copies do not collide."""
    if k == 0:
        return lf
    record = (pl.col("Record ID").cast(pl.Int64, strict=False) + k * _COPY_ID_STEP).cast(pl.String)
    return lf.with_columns(
        pl.coalesce(record, pl.col("Record ID")).alias("Record ID"),
        (pl.lit(f"c{k}") + pl.col("Email")).alias("Email"),
        _turn_last_digit("Phone Number", k),
        _turn_last_digit("Mobile Phone Number", k),
    )


def _turn_last_digit(column: str, k: int) -> pl.Expr:
    """The value's last digit plus ``k`` (mod 10): same format, another number."""
    last = pl.col(column).str.extract(r"(\d)\D*$", 1)
    turned = ((last.cast(pl.Int64) + k) % 10).cast(pl.String)
    marked = pl.col(column).str.replace(r"\d(\D*)$", "\x00${1}")
    return (
        pl.when(last.is_not_null())
        .then(marked.str.replace("\x00", turned, literal=True))
        .otherwise(pl.col(column))
        .alias(column)
    )


def measure_check_at(
    rows: int, base: int, seed: int = 7, keep_rows: Path | None = None
) -> Measurement:
    """One ``leadpipe check --engine local --json`` of a ``rows``-row export, cold home;
    ``keep_rows`` is where to keep its rows.parquet."""
    source = scaled_export(rows, base, seed)
    with tempfile.TemporaryDirectory(prefix="leadpipe-bench-scale-") as tmp:
        env = {**os.environ, "LEADPIPE_HOME": f"{tmp}/home", "LEADPIPE_ENGINE": "local"}
        command = [*leadpipe_command(), "check", str(source), "--out", f"{tmp}/out", "--json"]
        run = run_measured(command, env=env, timeout=CHECK_TIMEOUT_S)
        if keep_rows is not None and run.returncode == 0:
            shutil.copyfile(f"{tmp}/out/rows.parquet", keep_rows)
    summary = run.json_stdout() or {}
    ok = run.returncode == 0 and summary.get("rows") == rows
    durations = {"durations": summary.get("durations", {})}
    return Measurement.of_run("check", rows, run, ok=ok, extra=durations)


def measure_scale(rows: int | None = None, seed: int = 7) -> ScaleResult:
    """Checks at ``rows / 10``, ``rows`` and ``10 * rows`` (``rows``: ``SCALE_ROWS``, else
    ``BENCH_ROWS``, else 1M), then ``plan`` of ``rows`` against a snapshot of ``rows`` leads."""
    bench_rows = os.environ.get("BENCH_ROWS", "1_000_000")
    base = rows if rows is not None else int(os.environ.get("SCALE_ROWS", bench_rows))
    with tempfile.TemporaryDirectory(prefix="leadpipe-bench-scale-") as tmp:
        checked = Path(tmp) / "rows.parquet"
        checks = (
            measure_check_at(max(base // 10, 1), base, seed),
            measure_check_at(base, base, seed, keep_rows=checked),
            measure_check_at(base * 10, base, seed),
        )
        plans = measure_plans(base, checked, seed) if checked.exists() else ()
    return ScaleResult(checks, plans)


# The plan's runs: (name, leads in the target per source row, same home as the run before).
# "warm" is an analyst's next plan in the same home; "10x leads" is issue 19's target that does
# not fit in memory (partitioned by match key, spilled under the state folder).
_PLAN_RUNS = (("cold", 1, False), ("warm", 1, True), ("10x leads", 10, False))
# Issue 19's goals: rows -> (seconds, MB) of the cold plan vs as many leads, and MB vs 10x.
PLAN_GOAL_S, PLAN_GOAL_MB, TEN_X_GOAL_MB = 15.0, 2_560.0, 4_096.0


def measure_plans(rows: int, checked: Path, seed: int = 7) -> tuple[Measurement, ...]:
    """``leadpipe plan`` of the ``rows``-row export against a ``rows``-lead snapshot in a
    fresh home (cold phone cache), again in that home (warm), and against a ``10 * rows``-lead
    snapshot in a fresh home."""
    source = scaled_export(rows, rows, seed)
    found: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="leadpipe-bench-plan-") as tmp:
        home, held = Path(tmp) / "home", 0
        for number, (name, factor, same_home) in enumerate(_PLAN_RUNS):
            if not same_home:  # a fresh home in place of the last (10M leads are gigabytes)
                shutil.rmtree(home, ignore_errors=True)
                held = _stored_target(home, checked, rows * factor)
            env = {**os.environ, "LEADPIPE_HOME": str(home), "LEADPIPE_ENGINE": "local"}
            env.pop("LEADPIPE_SANDBOX_URL", None)
            command = [*leadpipe_command(), "plan", str(source), "--target", f"sandbox:{_VENDOR}"]
            command += ["--out", f"{tmp}/out{number}", "--json"]
            found.append(_plan_measurement(name, rows, held, command, env))
    return tuple(found)


def _stored_target(home: Path, checked: Path, count: int) -> int:
    """A home whose stored snapshot holds `count` leads (`snapshot_leads`), the few a plan
    checks seeded into its sandbox; the leads stored."""
    from connectors import Snapshot, SnapshotStore, sandbox_profile

    leads = snapshot_leads(checked, count)
    profile = sandbox_profile(_VENDOR, _IN_PROCESS_URL)
    store = SnapshotStore(home, profile.name, _VENDOR, profile.base_url)
    store.save(Snapshot(leads, high_water=_HIGH_WATER))
    _seed_sample(home, leads)
    return leads.height


def _seed_sample(home: Path, leads: pl.DataFrame) -> None:
    """The stored leads a plan checks are still there before it trusts the snapshot (the
    oldest, middle and newest, `SnapshotStore.lost`): seeded into the in-process sandbox, so
    the plan trusts the rest as a real target would let it."""
    import asyncio

    import httpx

    from sandbox import create_app

    home.mkdir(parents=True, exist_ok=True)
    transport = httpx.ASGITransport(app=create_app(home / "sandbox.db"))
    picks = sorted({0, leads.height // 2, leads.height - 1})
    seeds = [
        {"id": row["id"], "email": row["email"], "phone": row["phone"], "name": "Bench Lead"}
        for row in leads[picks].iter_rows(named=True)
    ]

    async def seed() -> None:
        async with httpx.AsyncClient(transport=transport, base_url=_IN_PROCESS_URL) as c:
            reply = await c.post("/_sandbox/seed", json={"vendor": _VENDOR, "leads": seeds})
            reply.raise_for_status()

    asyncio.run(seed())


def _plan_measurement(
    name: str, rows: int, leads: int, command: list[str], env: dict[str, str]
) -> Measurement:
    run = run_measured(command, env=env, timeout=CHECK_TIMEOUT_S)
    summary = run.json_stdout() or {}
    ok = run.returncode == 0 and summary.get("rows") == rows
    counts = summary.get("counts", {})
    note = f"vs {leads:,} leads: " + ", ".join(
        f"{k} {v:,}" for k, v in counts.items() if v and k in ("would_create", "would_update")
    )
    durations = {"durations": summary.get("durations", {})}
    return Measurement.of_run(name, rows, run, ok=ok, note=note, extra=durations)


def snapshot_leads(checked: Path, leads: int) -> pl.DataFrame:
    """A target holding most of a checked file's valid rows, topped up to
    ``leads`` leads the file does not have (see the module docstring)."""
    from schemas.frames import TARGET_LEAD_SCHEMA

    fields = [c for c in TARGET_LEAD_SCHEMA if c not in ("id", "updated_at")]
    valid = pl.scan_parquet(checked).filter(
        (pl.col("outcome") == "valid") & (pl.col("source_row") % 10 != 3)
    )
    known = valid.select(
        (pl.lit("s") + pl.col("source_row").cast(pl.String)).alias("id"),
        pl.lit(_HIGH_WATER).alias("updated_at"),
        *[pl.col(c).cast(TARGET_LEAD_SCHEMA[c]) for c in fields],
    ).collect()
    missing = max(leads - known.height, 0)
    copies = -(-missing // max(known.height, 1))  # each copy of the known leads, made distinct
    filler = (
        pl.concat(
            [
                known.with_columns(
                    (pl.lit(f"f{copy}.") + pl.col("id")).alias("id"),
                    (pl.lit(f"other{copy}.") + pl.col("email")).alias("email"),
                    pl.lit(None, pl.String).alias("phone"),
                    pl.lit(None, pl.String).alias("external_id"),
                )
                for copy in range(copies)
            ]
        )
        if copies
        else known.clear()
    )
    return pl.concat([known, filler.head(missing)])


@dataclass(frozen=True)
class ScalePart:
    """A `ScaleResult` as rows of `make bench`'s one table (`benchmarks/_table.py`): each check
    with its seconds per 1M rows (flat down the rows = linear), then the plan; each goal on the
    size the issue sets it for (10M for the check, 1M for the plan)."""

    result: ScaleResult

    @property
    def ok(self) -> bool:
        return self.result.ok

    def table_rows(self) -> list[Row]:
        rows: list[Row] = []
        for check in self.result.checks:
            full = check.rows >= 10 * FULL_ROWS
            rows.append(
                _row(
                    check,
                    f"check, {check.rows:,} rows (one process, cold phone cache)",
                    measured=f"{mb(check.peak_rss_mb)} MB peak RSS",
                    goal="< 2,048 MB" if full else "",
                    met=(check.peak_rss_mb or 0) < 2048 if full else None,
                    note=f"{check.seconds / check.rows * 1e6:.1f} s per 1M rows",
                )
            )
            rows += stage_rows(check.rows, check.extra.get("durations", {}), {})
        if self.result.skipped:
            rows.append(Row("check, 10x BENCH_ROWS (one process)", note=self.result.skipped))
        for plan in self.result.plans:
            # The goal is the default's (partitions: bounded memory), from a cold phone cache.
            full = plan.rows >= FULL_ROWS
            peak = plan.peak_rss_mb or 0
            if plan.name == "cold":
                goal = f"≤ {PLAN_GOAL_S:.0f} s and ≤ {PLAN_GOAL_MB:,.0f} MB"
                met = plan.seconds <= PLAN_GOAL_S and peak <= PLAN_GOAL_MB
            elif plan.name == "10x leads":
                goal, met = f"≤ {TEN_X_GOAL_MB:,.0f} MB", peak <= TEN_X_GOAL_MB
            else:
                goal, met = "", None
            what = {
                "cold": "plan, {rows:,} rows vs as many leads, cold phone cache",
                "warm": "plan, {rows:,} rows vs as many leads, again (warm cache)",
                "10x leads": "plan, {rows:,} rows vs 10x as many leads, cold",
            }[plan.name]
            rows.append(
                _row(
                    plan,
                    what.format(rows=plan.rows),
                    measured=f"{plan.seconds:.1f} s, {mb(plan.peak_rss_mb)} MB",
                    goal=goal if full else "",
                    met=met if full else None,
                    note="",
                )
            )
            if plan.name == "cold":
                rows += stage_rows(plan.rows, plan.extra.get("durations", {}), {})
        return rows

    def caption(self) -> list[str]:
        if not self.result.plans:
            return []
        return [
            "plan: default partitions (memory bounded by the partition) in a fresh home; "
            "'again': the same in that home; '10x as many leads': a target of 10x the file's "
            "rows (the file's leads and distinct others), fresh home."
        ]


def _row(
    m: Measurement, what: str, *, measured: str, goal: str, met: bool | None, note: str
) -> Row:
    """One run's line; a failed run's note is why it failed."""
    return Row(
        what,
        rows=m.rows,
        seconds=m.seconds,
        rate=m.rows / m.seconds if m.seconds else None,
        peak_mb=m.peak_rss_mb,
        measured=measured,
        goal=goal,
        met=met,
        note=m.note or note,
        failed=not m.ok,
    )


def measure(settings: Settings, log: Callable[[str], None]) -> ScalePart:
    """`check` at BENCH_ROWS (the plan's snapshot is made from its rows), at 10 x BENCH_ROWS
    with ``BENCH_CHECK_10M=1`` (~3.5 min at full size: off by default, so the whole bench stays
    under 15 minutes), and `plan` of BENCH_ROWS rows against as many leads and ten times as many."""
    base = settings.rows
    with tempfile.TemporaryDirectory(prefix="leadpipe-bench-scale-") as tmp:
        checked = Path(tmp) / "rows.parquet"
        log(f"check of {base:,} rows (the plan's snapshot is made from its rows) …")
        one = measure_check_at(base, base, settings.seed, keep_rows=checked)
        ten: tuple[Measurement, ...] = ()
        skipped = ""
        if settings.check_10m:
            log(f"check of {10 * base:,} rows (an export made of 10 shifted copies) …")
            ten = (measure_check_at(10 * base, base, settings.seed),)
        else:
            skipped = f"skipped: BENCH_CHECK_10M=1 checks {10 * base:,} rows (~3.5 min at 10M)"
        log(f"plan of {base:,} rows against a snapshot of {base:,} leads (cold, warm, whole) …")
        plans = measure_plans(base, checked, settings.seed) if checked.exists() else ()
    return ScalePart(ScaleResult((one, *ten), plans, skipped))


def main() -> None:
    from rich.console import Console

    part = ScalePart(measure_scale())
    title = "leadpipe at scale (one process each, cold phone cache)"
    Console(width=200).print(build_table(title, [part.table_rows()], part.caption()))


if __name__ == "__main__":
    main()
