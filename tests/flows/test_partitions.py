"""A file checked in partitions gives the report it gives in one piece.

The same messy inputs (the demo export: bad phones and emails, duplicates; the bad-input
corpus' ragged and blank rows; a Parquet copy) run with tiny partitions (7 or 250 rows: many
partitions, duplicate pairs split across them, the reader's spilled ranges) and with the
default, under each duplicate policy; rows.parquet, rows.csv and the summary must be the same.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from flows.check import run_check
from flows.exceptions import ConfigError
from flows.options import CheckOptions
from tests.conftest import SAMPLES
from tests.flows.summaries import stable, stable_against_a_target

BAD = Path(__file__).resolve().parent.parent / "data" / "bad"


def _check(source: Path, out: Path, home: Path, rows: int, policy: str) -> dict[str, Any]:
    options = CheckOptions(
        source=source,
        out_dir=out,
        run_id="r",
        home=home,
        duplicates=policy,  # type: ignore[arg-type]
        partition_rows=rows,
    )
    return run_check(options, "local").as_json()


def _same_reports(source: Path, tmp_path: Path, policy: str, rows: int = 7) -> dict[str, Any]:
    whole = _check(source, tmp_path / "whole", tmp_path / "home-w", 1_000_000, policy)
    parts = _check(source, tmp_path / "parts", tmp_path / "home-p", rows, policy)
    assert stable(parts) == stable(whole)
    assert_frame_equal(
        pl.read_parquet(tmp_path / "parts" / "rows.parquet"),
        pl.read_parquet(tmp_path / "whole" / "rows.parquet"),
    )
    for name in ("rows.csv",):
        assert (tmp_path / "parts" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()
    page = (tmp_path / "parts" / "report.html").read_text()
    assert page.count("<tr") == (tmp_path / "whole" / "report.html").read_text().count("<tr")
    assert not (tmp_path / "parts" / ".scratch").exists()
    return whole


@pytest.mark.parametrize("policy", ["first", "last", "reject"])
def test_the_demo_export_in_partitions_reports_as_in_one_piece(tmp_path: Path, policy: str) -> None:
    # 2,000 rows in 8 partitions (each costs ~0.2 s: pandera, the phone engine).
    summary = _same_reports(SAMPLES / "demo_leads.csv", tmp_path, policy, rows=250)
    # The export has what the partitions must not lose: invalid rows and duplicates.
    assert summary["counts"]["invalid"] > 0 and summary["counts"]["duplicate"] > 0
    assert summary["rows"] > 250 * 7


@pytest.mark.parametrize("name", ["ragged_rows.csv", "blank_rows_between.csv", "latin1.csv"])
def test_bad_inputs_in_partitions_report_as_in_one_piece(tmp_path: Path, name: str) -> None:
    _same_reports(BAD / name, tmp_path, "last")


def test_a_parquet_source_in_partitions_reports_as_in_one_piece(tmp_path: Path) -> None:
    source = tmp_path / "leads.parquet"
    pl.read_csv(SAMPLES / "hubspot_contacts.csv", infer_schema=False).write_parquet(source)
    _same_reports(source, tmp_path, "first")


def test_a_duplicate_pair_split_across_partitions_is_found(tmp_path: Path) -> None:
    """Rows 7 and 9 share an email; with 7 rows a partition, they land in different ones."""
    lines = ["Email,First Name"] + [f"p{i}@example.com,P{i}" for i in range(2, 12)]
    lines[9 - 1] = "p7@example.com,Again"  # row 9 repeats row 7's email
    source = tmp_path / "pair.csv"
    source.write_text("\n".join(lines) + "\n")
    summary = _check(source, tmp_path / "out", tmp_path / "home", 7, "first")
    rows = pl.read_parquet(tmp_path / "out" / "rows.parquet")
    duplicate = rows.filter(pl.col("outcome") == "duplicate")
    assert duplicate["source_row"].to_list() == [9]
    assert duplicate["reason"].to_list() == [
        "same email 'p7@example.com' as row 7, which was kept (policy first)"
    ]
    assert summary["counts"]["duplicate"] == 1
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["rows"] == 10


def test_each_partition_is_validated_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Validated partitions are what is written: dedupe's key pass and the report read them
    as they are (validation used to run again at each read)."""
    import flows._prepare as prepare_module

    heights: list[int] = []
    real = prepare_module.validate

    def counted(frame: pl.DataFrame, **kwargs: Any) -> pl.DataFrame:
        heights.append(frame.height)
        return real(frame, **kwargs)

    monkeypatch.setattr(prepare_module, "validate", counted)
    summary = _check(SAMPLES / "demo_leads.csv", tmp_path / "out", tmp_path / "home", 250, "last")
    assert sum(heights) == summary["rows"] > 250 * 7
    assert len(heights) == -(-summary["rows"] // 250)  # one call per partition


def test_key_columns_are_read_from_the_written_partitions_without_a_copy(tmp_path: Path) -> None:
    from flows._partitions import Parts

    frames = [pl.DataFrame({"a": [1, 2], "b": ["x", "y"]}), pl.DataFrame({"a": [3], "b": ["z"]})]
    parts = Parts.build(iter(frames), scratch=tmp_path / "parts", name="p")
    assert parts.scan_columns(["a"], "keys").collect()["a"].to_list() == [1, 2, 3]
    assert not (tmp_path / "parts" / "keys").exists()
    # With a step still to run, the step runs and a narrow copy is what is scanned.
    tenfold = parts.map(lambda frame: frame.with_columns(pl.col("a") * 10), "ten")
    assert tenfold.scan_columns(["a"], "keys").collect().columns == ["a"]
    assert tenfold.scan_columns(["a"], "keys").collect()["a"].to_list() == [10, 20, 30]
    assert (tmp_path / "parts" / "keys").exists()


def test_the_partition_size_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADPIPE_PARTITION_ROWS", "250_000")
    assert CheckOptions(source=Path("a"), out_dir=Path("b"), run_id="r").partition_rows == 250_000
    monkeypatch.setenv("LEADPIPE_PARTITION_ROWS", "lots")
    with pytest.raises(ConfigError, match="LEADPIPE_PARTITION_ROWS must be a whole number"):
        CheckOptions(source=Path("a"), out_dir=Path("b"), run_id="r")


# Columns a push fills in the order requests arrive (ids the sandbox hands out, and what is
# derived from them): concurrent pushes interleave differently on every run.
ARRIVAL_ORDER = ["target_id", "request_id", "matched_id", "op_id"]


@pytest.mark.parametrize("vendor", ["omni", "octanist"])  # a written snapshot, a listed one
def test_plan_and_import_in_partitions_report_as_in_one_piece(tmp_path: Path, vendor: str) -> None:
    """The target stages run per partition (match, diff and plan, one pass each, written
    once; the report streamed): plan, import and a no-change re-run give the rows, plan and
    summary a run in one piece gives, with creates, updates, an invalid row and a duplicate
    pair split across partitions."""
    from flows.options import SyncOptions
    from flows.sync import run_sync
    from tests.reliability.support import older, people, write_csv, write_messy_csv

    persons = people(40, vendor, seed=5)
    before = write_csv(tmp_path / "before.csv", [older(p, vendor) for p in persons[:15]])
    source = write_messy_csv(tmp_path / "leads.csv", persons)  # an invalid row, a duplicate

    def run(rows: int, job: str) -> tuple[dict[str, Any], dict[str, pl.DataFrame]]:
        home, out = tmp_path / f"home-{rows}", tmp_path / f"{job}-{rows}"
        options = SyncOptions(
            source=source,
            out_dir=out,
            run_id=out.name,
            home=home,
            target=f"sandbox:{vendor}",
            dry_run=job == "plan",
            partition_rows=rows,
        )
        summary = run_sync(options, "local").as_json()
        files = {name: pl.read_parquet(out / name) for name in ("rows.parquet", "plan.parquet")}
        assert not (out / ".scratch").exists()
        return summary, files

    for rows in (7, 1_000_000):  # the same 15 leads to update in each target
        seed = SyncOptions(
            source=before,
            out_dir=tmp_path / f"seed-{rows}",
            run_id="seed",
            home=tmp_path / f"home-{rows}",
            target=f"sandbox:{vendor}",
            dry_run=False,
        )
        run_sync(seed, "local")
    counts = {}
    for job in ("plan", "import", "again"):
        (parts, parts_files), (whole, whole_files) = run(7, job), run(1_000_000, job)
        assert stable_against_a_target(parts) == stable_against_a_target(whole), job
        for name, frame in whole_files.items():
            kept = [c for c in frame.columns if c not in ARRIVAL_ORDER]
            assert_frame_equal(parts_files[name].select(kept), frame.select(kept)), (job, name)
        counts[job] = {k: v for k, v in whole["counts"].items() if v}
    flawed = {"invalid": 1, "duplicate": 1}
    assert counts == {
        "plan": {"would_create": 25, "would_update": 15, **flawed},
        "import": {"created": 25, "updated": 15, **flawed},
        "again": {"unchanged": 40, **flawed},
    }
    assert whole["requests"]["sent"] == 0  # the no-change re-run


@pytest.mark.parametrize(("vendor", "planned"), [("octanist", 1), ("omni", 6)])
def test_the_plan_before_a_read_stops_where_a_listed_target_must_be_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vendor: str, planned: int
) -> None:
    """A listed target (Octanist) lists its changes whatever the plan writes: the first
    partition that creates settles the read, and the other five are not planned twice. Omni
    reads the leads each update touches, so every partition is planned before it reads."""
    import flows._target as target_module
    from flows.options import SyncOptions
    from flows.sync import run_sync
    from tests.reliability.support import people, write_csv

    calls: list[int] = []
    real = target_module.pending_reads

    def counted(planned: pl.LazyFrame, **kwargs: Any) -> pl.LazyFrame:
        calls.append(1)
        return real(planned, **kwargs)

    monkeypatch.setattr(target_module, "pending_reads", counted)
    source = write_csv(tmp_path / "leads.csv", people(40, vendor, seed=5))
    options = SyncOptions(
        source=source,
        out_dir=tmp_path / "out",
        run_id="r",
        home=tmp_path / "home",
        target=f"sandbox:{vendor}",
        dry_run=True,
        partition_rows=7,
    )
    summary = run_sync(options, "local").as_json()
    assert summary["counts"]["would_create"] == 40
    assert len(calls) == planned


@pytest.mark.parametrize("on_disk", [False, True])
def test_lazy_steps_run_as_one_query_timed_on_the_last(tmp_path: Path, on_disk: bool) -> None:
    from flows._partitions import Parts

    frames = [pl.DataFrame({"a": [1, 2]}), pl.DataFrame({"a": [3]})]
    parts = Parts.build(iter(frames), scratch=tmp_path / "p" if on_disk else None, name="p")
    lazy = parts.map_lazy(lambda lf: lf.with_columns(b=pl.col("a") + 1), "diff").map_lazy(
        lambda lf: lf.select(pl.col("b") * 2), "plan"
    )
    assert lazy.collect()["b"].to_list() == [4, 6, 8]
    assert set(parts.clock.drain()) == {"plan"}  # the query's seconds go to its last step
    ended = lazy.map(lambda frame: frame.with_columns(c=pl.col("b") - 1), "notes")
    assert ended.collect().rows() == [(4, 3), (6, 5), (8, 7)]
    # In memory the plain step runs now (its stage times it); the query it reads is timed.
    assert set(parts.clock.drain()) == ({"plan", "notes"} if on_disk else {"plan"})
