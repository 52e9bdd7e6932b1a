"""The report: one row per record, DESIGN's columns, safe CSV, true Parquet values."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from schemas.fields import REPORT_COLUMNS
from tests.transforms.frames import normalised
from transforms.dedupe import dedupe
from transforms.report import build_report, count_outcomes, neutralise_formulas, write_report
from transforms.validate import validate


def _rows() -> pl.DataFrame:
    df = normalised(
        [
            {
                "email": "a@x.io",
                "phone": "+12125550100",
                "tags": ["VIP", "hot"],
                "note": '=HYPERLINK("x")',
            },
            {"email": "a@x.io", "note": "@mention -1 +1"},
            {"first_name": "nobody"},
        ]
    )
    return build_report(dedupe(validate(df).lazy(), "last")).collect()


def test_outcomes_and_reasons() -> None:
    rows = _rows()
    assert rows.columns[: len(REPORT_COLUMNS)] == list(REPORT_COLUMNS)
    assert rows.select("source_row", "outcome", "reason_code").rows() == [
        (2, "duplicate", "duplicate"),
        (3, "valid", None),
        (4, "invalid", "no_identity"),
    ]
    assert count_outcomes(rows, ("valid", "invalid", "duplicate", "conflict")) == {
        "valid": 1,
        "invalid": 1,
        "duplicate": 1,
        "conflict": 0,
    }


def test_csv_is_neutralised_and_parquet_keeps_true_values(tmp_path: Path) -> None:
    rows = _rows()
    write_report(rows, {"run_id": "r1", "counts": {}}, tmp_path)
    back = pl.read_parquet(tmp_path / "rows.parquet")
    assert back.equals(rows)
    csv = pl.read_csv(tmp_path / "rows.csv", infer_schema=False)
    assert csv.height == rows.height
    assert csv["phone"][0] == "'+12125550100"
    assert csv["note"].to_list()[:2] == ['\'=HYPERLINK("x")', "'@mention -1 +1"]
    assert csv["tags"][0] == "VIP, hot"
    assert json.loads((tmp_path / "summary.json").read_text())["run_id"] == "r1"
    assert not list(tmp_path.glob(".*partial"))


def test_neutralise_leaves_ordinary_text_alone() -> None:
    out = pl.DataFrame({"v": ["plain", "-5", "a=b", None, "\tx"]}).select(neutralise_formulas("v"))
    assert out.to_series().to_list() == ["plain", "'-5", "a=b", None, "'\tx"]


def test_reason_lists_every_message_without_codes() -> None:
    df = normalised([{"external_id": "1", "status": "spam"}]).with_columns(
        pl.lit("invalid_email|'x@' is not valid | really").alias("_err_email"),
        pl.lit("ragged_row|the row has 2 fields").alias("_read_error"),
    )
    row = build_report(dedupe(validate(df).lazy(), "last")).collect().row(0, named=True)
    assert row["reason_code"] == "ragged_row"
    assert row["reason"] == (
        "the row has 2 fields; 'x@' is not valid | really; status 'spam' is not one of: new, "
        "open, in_progress, qualified, won, lost, completed, not_interested, opted_out"
    )


def test_csv_writes_lists_of_entries_as_json(tmp_path: Path) -> None:
    entries = [{"key": 'say "hi"\\', "value": None}, {"key": "city", "value": "Zürich"}]
    df = normalised([{"external_id": "1", "custom": entries}, {"external_id": "2"}])
    write_report(build_report(dedupe(validate(df).lazy(), "last")).collect(), {}, tmp_path)
    csv = pl.read_csv(tmp_path / "rows.csv", infer_schema=False)
    assert csv["custom"].to_list() == [
        json.dumps(entries, separators=(",", ":"), ensure_ascii=False),
        "[]",
    ]
    assert csv["checklist"].to_list() == ["[]", "[]"]
