"""rows.parquet keeps true values, rows.csv is safe for people, summary.json; parts or whole."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from reports import RunDir, write_report_rows
from tests.reports.report_frames import summary_of
from tests.transforms.frames import normalised, sample_report_rows
from transforms.dedupe import dedupe
from transforms.report import build_report
from transforms.validate import validate


def test_csv_is_neutralised_and_parquet_keeps_true_values(tmp_path: Path) -> None:
    rows = sample_report_rows()
    RunDir(tmp_path).write_rows(rows)
    RunDir(tmp_path).write_summary(summary_of(run_id="r1"))
    back = pl.read_parquet(tmp_path / "rows.parquet")
    assert back.equals(rows)
    csv = pl.read_csv(tmp_path / "rows.csv", infer_schema=False)
    assert csv.height == rows.height
    assert csv["phone"][0] == "'+12125550100"
    assert csv["note"].to_list()[:2] == ['\'=HYPERLINK("x")', "'@mention -1 +1"]
    assert csv["tags"][0] == "VIP, hot"
    assert json.loads((tmp_path / "summary.json").read_text())["run_id"] == "r1"
    assert not list(tmp_path.glob(".*partial"))


def test_csv_writes_lists_of_entries_as_json(tmp_path: Path) -> None:
    entries = [{"key": 'say "hi"\\', "value": None}, {"key": "city", "value": "Zürich"}]
    df = normalised([{"external_id": "1", "custom": entries}, {"external_id": "2"}])
    RunDir(tmp_path).write_rows(build_report(dedupe(validate(df).lazy(), "last")).collect())
    csv = pl.read_csv(tmp_path / "rows.csv", infer_schema=False)
    assert csv["custom"].to_list() == [
        json.dumps(entries, separators=(",", ":"), ensure_ascii=False),
        "[]",
    ]
    assert csv["checklist"].to_list() == ["[]", "[]"]


@pytest.mark.parametrize("size", [1, 2, 3])
def test_rows_in_parts_give_the_files_of_the_whole(tmp_path: Path, size: int) -> None:
    rows = sample_report_rows()
    write_report_rows(rows, tmp_path / "whole")
    parts = (rows.slice(at, size) for at in range(0, rows.height, size))
    write_report_rows(parts, tmp_path / "parts")
    whole, parted = tmp_path / "whole", tmp_path / "parts"
    assert (parted / "rows.csv").read_bytes() == (whole / "rows.csv").read_bytes()
    assert pl.read_parquet(parted / "rows.parquet").equals(pl.read_parquet(whole / "rows.parquet"))
    assert sorted(p.name for p in parted.iterdir()) == ["rows.csv", "rows.parquet"]


def test_summary_is_indented_json_with_other_values_as_text(tmp_path: Path) -> None:
    summary = summary_of(run_id="r1", options={"out": tmp_path})
    RunDir(tmp_path).write_summary(summary)
    text = (tmp_path / "summary.json").read_text(encoding="utf-8")
    expected = summary.as_json() | {"options": {"out": str(tmp_path)}}
    assert text == json.dumps(expected, indent=2) + "\n"
