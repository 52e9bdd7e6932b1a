"""RunDir: every file of a run directory lands whole, and a write that fails leaves the old one."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from reports import PageRows, RunDir
from schemas.summary import RunSummary
from tests.reports.report_frames import (
    check_rows,
    plan_rows,
    plan_summary,
    recon_rows,
    recon_summary,
    summary_of,
    target_only_leads,
)


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_every_write_lands_with_its_content(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "runs" / "r1")
    rows, target_only = recon_rows(), target_only_leads()
    summary = recon_summary(rows, target_only)
    plan = pl.DataFrame({"source_row": [2, 3], "op": ["create", "update"]})
    pairs = pl.DataFrame({"source_id": ["a1", "=cmd()"], "target_id": ["t1", "t2"]})

    assert run.write_rows(rows) == run.path / "rows.parquet"
    assert run.write_summary(summary) == run.path / "summary.json"
    assert run.write_html(rows, summary, target_only=target_only) == run.path / "report.html"
    assert run.write_table("plan.parquet", plan) == run.path / "plan.parquet"
    run.write_table("target_only.parquet", target_only)
    run.write_table("target_duplicates.parquet", target_only.head(0))
    assert run.write_csv("crosswalk.csv", pairs) == run.path / "crosswalk.csv"

    assert _names(run.path) == [
        "crosswalk.csv",
        "plan.parquet",
        "report.html",
        "rows.csv",
        "rows.parquet",
        "summary.json",
        "target_duplicates.parquet",
        "target_only.parquet",
    ]
    assert pl.read_parquet(run.path / "rows.parquet").equals(rows)
    assert pl.read_csv(run.path / "rows.csv", infer_schema=False).height == rows.height
    written = json.loads((run.path / "summary.json").read_text(encoding="utf-8"))
    assert written == summary.as_json()
    assert RunSummary.from_json(written) == summary
    page = (run.path / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "target_only_table" in page
    assert pl.read_parquet(run.path / "plan.parquet").equals(plan)
    assert pl.read_parquet(run.path / "target_only.parquet").equals(target_only)
    assert pl.read_parquet(run.path / "target_duplicates.parquet").equals(target_only.head(0))
    assert (run.path / "crosswalk.csv").read_text() == "source_id,target_id\na1,t1\n'=cmd(),t2\n"


def test_rows_from_parts_and_the_page_from_page_rows(tmp_path: Path) -> None:
    run, rows = RunDir(tmp_path), plan_rows(hostile=False)
    page = PageRows()

    def parts() -> Iterator[pl.DataFrame]:
        for at in range(0, rows.height, 7):
            page.add(rows.slice(at, 7))
            yield rows.slice(at, 7)

    assert run.write_rows(parts()) == tmp_path / "rows.parquet"
    assert run.scan_rows().collect().equals(rows)
    run.write_html(page, plan_summary(rows))
    assert "Rows that need attention" in (tmp_path / "report.html").read_text(encoding="utf-8")
    assert _names(tmp_path) == ["report.html", "rows.csv", "rows.parquet"]


def test_csv_neutralises_text_columns_only(tmp_path: Path) -> None:
    frame = pl.DataFrame({"id": ["-5", "@x", "ok"], "n": [-5, 1, 2], "at": [None, "+1", "b"]})
    RunDir(tmp_path).write_csv("crosswalk.csv", frame)
    assert (tmp_path / "crosswalk.csv").read_text() == "id,n,at\n'-5,-5,\n'@x,1,'+1\nok,2,b\n"


def _failing_parts() -> Iterator[pl.DataFrame]:
    yield check_rows(3)
    raise RuntimeError("the source went away")


def _circular() -> RunSummary:
    options: dict[str, Any] = {}
    options["self"] = options
    return summary_of(run_id="r2", options=options)


# Each: a write that raises, and the error it raises.
_FAILING: dict[str, tuple[Callable[[RunDir], object], type[BaseException]]] = {
    "rows-in-parts": (lambda run: run.write_rows(_failing_parts()), RuntimeError),
    # rows.parquet is written whole, then the CSV cannot turn the bytes into text: neither moves.
    "rows-whole": (
        lambda run: run.write_rows(pl.DataFrame({"source_row": [2], "raw": [b"\xff\xfe"]})),
        pl.exceptions.ComputeError,
    ),
    "summary": (lambda run: run.write_summary(_circular()), ValueError),
    "html": (
        lambda run: run.write_html(pl.DataFrame({"source_row": [2], "outcome": [1]}), summary_of()),
        pl.exceptions.InvalidOperationError,
    ),
    "table": (
        lambda run: run.write_table(
            "plan.parquet", pl.DataFrame({"x": [object()]}, schema={"x": pl.Object})
        ),
        pl.exceptions.ComputeError,
    ),
    "csv": (
        lambda run: run.write_csv("crosswalk.csv", pl.DataFrame({"x": [["nested"]]})),
        pl.exceptions.ComputeError,
    ),
}


@pytest.mark.parametrize("case", list(_FAILING))
def test_a_write_that_raises_leaves_the_previous_files(tmp_path: Path, case: str) -> None:
    files = ("rows.parquet", "rows.csv", "summary.json", "report.html")
    old = {name: f"old {name}" for name in (*files, "plan.parquet", "crosswalk.csv")}
    for name, text in old.items():
        (tmp_path / name).write_text(text)
    write, error = _FAILING[case]
    with pytest.raises(error):
        write(RunDir(tmp_path))
    assert {name: (tmp_path / name).read_text() for name in old} == old
    assert _names(tmp_path) == sorted(old)  # no `.partial` left behind


@pytest.mark.parametrize(
    "method, name",
    [
        ("write_table", "rows.parquet"),
        ("write_csv", "rows.csv"),
        ("write_table", "plan.csv"),
        ("write_csv", "crosswalk.parquet"),
        ("write_table", "../plan.parquet"),
        ("write_table", "sub/plan.parquet"),
        ("write_csv", ".crosswalk.csv"),
    ],
)
def test_extra_files_take_plain_names_no_other_method_writes(
    tmp_path: Path, method: str, name: str
) -> None:
    write = getattr(RunDir(tmp_path / "run"), method)
    with pytest.raises(ValueError):
        write(name, pl.DataFrame({"x": [1]}))
    assert _names(tmp_path) == []


def test_remove_scratch_leaves_the_run_files(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    (run.scratch / "parts").mkdir(parents=True)
    (run.scratch / "parts" / "p-00001.parquet").write_bytes(b"spill")
    run.write_summary(summary_of(run_id="r1"))
    run.remove_scratch()
    run.remove_scratch()  # nothing there: nothing to do
    assert run.scratch == tmp_path / ".scratch"
    assert _names(tmp_path) == ["summary.json"]
