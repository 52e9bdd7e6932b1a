"""Validation: every problem becomes a reason on its row; nothing is dropped."""

from __future__ import annotations

import polars as pl

from tests.transforms.frames import normalised
from transforms.validate import ISSUES, schema_failures, validate


def _issues(df: pl.DataFrame) -> list[list[tuple[str, str]]]:
    return [[tuple(i.split("|", 1)) for i in row] for row in df[ISSUES].to_list()]  # type: ignore[misc]


def test_valid_rows_have_no_issues_and_nothing_is_dropped() -> None:
    df = normalised(
        [{"email": "a@x.io"}, {"phone": "+12125550100", "status": "won", "country": "US"}]
    )
    out = validate(df)
    assert out.height == 2
    assert _issues(out) == [[], []]


def test_schema_failures_name_column_check_and_value() -> None:
    df = normalised(
        [
            {"email": "a@x.io", "status": "spam"},
            {"external_id": "1", "country": "XX", "timezone": "Mars/Base"},
            {"first_name": "Nobody"},
        ]
    )
    issues = _issues(validate(df))
    assert issues[0] == [
        (
            "invalid_status",
            "status 'spam' is not one of: new, open, in_progress, qualified, won, lost, completed, "
            "not_interested, opted_out",
        )
    ]
    assert issues[1] == [
        ("invalid_country", "country 'XX' is not an ISO 3166 country code"),
        ("invalid_timezone", "timezone 'Mars/Base' is not an IANA time zone"),
    ]
    assert issues[2] == [
        (
            "no_identity",
            "the row has no identity: it needs a target id, external id, email or phone",
        )
    ]


def test_stage_errors_come_first_in_their_order() -> None:
    df = normalised([{"external_id": "1"}]).with_columns(
        pl.lit("ragged_row|the row has 2 fields but the header has 3").alias("_read_error"),
        pl.lit("invalid_email|'x@' is not a valid email address").alias("_err_email"),
    )
    out = validate(df)
    assert _issues(out)[0] == [
        ("ragged_row", "the row has 2 fields but the header has 3"),
        ("invalid_email", "'x@' is not a valid email address"),
    ]
    assert "_err_email" not in out.columns and "_read_error" not in out.columns


def test_a_whole_column_type_failure_applies_to_every_row() -> None:
    df = normalised([{"email": "a@x.io"}, {"email": "b@x.io"}])
    wrong = df.select(pl.exclude("_read_error")).with_columns(pl.col("value").cast(pl.String))
    failures = schema_failures(wrong)
    assert failures.height == 2
    codes = [[i.split("|")[0] for i in row] for row in failures["_schema_issues"].to_list()]
    assert codes == [["wrong_type"], ["wrong_type"]]
    assert "|column value has type String" in failures["_schema_issues"][0][0]
