"""The report stage: one row per record, DESIGN's columns, every reason; the CSV's formula guard.

The files written from these rows are tested in `tests/reports/test_rows.py`.
"""

from __future__ import annotations

import polars as pl

from schemas.fields import REPORT_COLUMNS, WARNING_ENTRY
from tests.transforms.frames import normalised, sample_report_rows
from transforms.dedupe import dedupe
from transforms.report import (
    build_report,
    count_outcomes,
    neutralise_formulas,
    row_count,
    top_reasons,
)
from transforms.validate import validate


def test_outcomes_and_reasons() -> None:
    rows = sample_report_rows()
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


def test_row_count_and_top_reasons_of_held_or_lazysample_report_rows() -> None:
    rows = sample_report_rows()
    assert row_count(rows) == row_count(rows.lazy()) == 3
    assert top_reasons(rows.lazy()) == [
        {"reason_code": "duplicate", "count": 1, "example_row": 2, "example": rows["reason"][0]},
        {"reason_code": "no_identity", "count": 1, "example_row": 4, "example": rows["reason"][2]},
    ]


def test_not_sent_and_status_mappings_are_counted_once_per_field_and_word() -> None:
    from transforms.report import not_sent_counts, status_mappings

    line = "octanist cannot set status 'not_interested' (it can set: qualified, won, lost); "
    line += 'not sent. Map the file\'s word to one it can: [values.status] "Unqualified" = "lost"'
    notes = [
        [
            {"field": "business_name", "code": "not_sent", "message": "m"},
            {"field": "status", "code": "unsettable_status", "message": line},
        ],
        [{"field": "business_name", "code": "not_sent", "message": "m"}],
        [{"field": "status", "code": "unsettable_status", "message": line}],
        [],
    ]
    rows = pl.DataFrame({"warnings": notes}, schema={"warnings": pl.List(WARNING_ENTRY)})
    assert not_sent_counts(rows) == {"business_name": 2}
    assert status_mappings(rows) == [
        {
            "word": "Unqualified",
            "status": "not_interested",
            "suggested": "lost",
            "line": '[values.status] "Unqualified" = "lost"',
            "rows": 2,
        }
    ]


def test_warning_counts_count_rows_per_code_and_skip_rows_without_any() -> None:
    from transforms.report import not_sent_counts, warning_counts

    def note(code: str, field: str = "phone") -> dict[str, str]:
        return {"field": field, "code": code, "message": "m"}

    notes = [
        [note("invalid_phone"), note("invalid_phone", "email"), note("not_sent")],
        None,
        [],
        [note("not_sent", "status")],
        [note("email_typo", "email")],
    ]
    rows = pl.DataFrame({"warnings": notes}, schema={"warnings": pl.List(WARNING_ENTRY)})
    expected = {"not_sent": 2, "email_typo": 1, "invalid_phone": 1}
    assert warning_counts(rows) == warning_counts(rows.lazy()) == expected
    assert list(warning_counts(rows)) == ["not_sent", "email_typo", "invalid_phone"]
    assert not_sent_counts(rows) == {"phone": 1, "status": 1}
    assert warning_counts(rows.filter(pl.col("warnings").list.len() == 0)) == {}
    assert warning_counts(pl.DataFrame({"outcome": ["valid"]})) == {}
