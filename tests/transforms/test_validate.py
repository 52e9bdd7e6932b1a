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
    """Under --strict every failure rejects its row, as before."""
    df = normalised(
        [
            {"email": "a@x.io", "status": "spam"},
            {"external_id": "1", "country": "XX", "timezone": "Mars/Base"},
            {"first_name": "Nobody"},
        ]
    )
    issues = _issues(validate(df, strict=True))
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


def _notes(df: pl.DataFrame) -> list[list[tuple[str, str]]]:
    return [[(w["field"], w["code"]) for w in row] for row in df["_warnings"].to_list()]


def test_a_bad_optional_value_is_left_out_and_the_row_kept() -> None:
    df = normalised(
        [
            {"email": "a@x.io", "status": "spam", "country": "XX"},
            {"external_id": "1", "timezone": "Mars/Base", "value": float("inf")},
            {"phone": "+12125550100", "follow_up_step": 0},
        ]
    ).with_columns(
        pl.Series("_err_phone", [None, None, None], pl.String),
        pl.Series("_err_email", [None, "invalid_email|'x@' is not an email", None], pl.String),
    )
    out = validate(df)
    assert _issues(out) == [[], [], []]
    assert _notes(out) == [
        [("country", "invalid_country"), ("status", "unknown_status")],
        [("email", "invalid_email"), ("timezone", "invalid_timezone"), ("value", "invalid_value")],
        [("follow_up_step", "invalid_follow_up_step")],
    ]
    left = out.select("status", "country", "timezone", "value", "follow_up_step")
    assert left.null_count().row(0) == (3, 3, 3, 3, 3)  # every bad value blanked
    assert out["email"].to_list() == ["a@x.io", None, None]
    message = out["_warnings"][1][1]["message"]
    assert message == (
        "timezone 'Mars/Base' is not an IANA time zone; left out, the rest of the row is imported"
    )


def test_a_row_whose_only_identity_is_bad_is_rejected_with_every_reason() -> None:
    """A junk phone and nothing else: no identity is left, so the row is rejected, and its
    reasons are what they always were (the bad time zone too)."""
    df = normalised([{"first_name": "Ann", "timezone": "Mars/Base"}]).with_columns(
        pl.lit("invalid_phone|'?' is not a phone number").alias("_err_phone")
    )
    out = validate(df)
    assert [code for code, _ in _issues(out)[0]] == [
        "invalid_phone",
        "invalid_timezone",
        "no_identity",
    ]
    assert _notes(out) == [[]]
    strict = validate(df, strict=True)
    assert _issues(strict) == _issues(out)


def test_strict_keeps_every_problem_a_reason() -> None:
    df = normalised([{"email": "a@x.io"}]).with_columns(
        pl.lit("invalid_phone|'0' is not a phone number").alias("_err_phone")
    )
    assert _issues(validate(df, strict=True)) == [[("invalid_phone", "'0' is not a phone number")]]
    kept = validate(df)
    assert _issues(kept) == [[]] and _notes(kept) == [[("phone", "invalid_phone")]]


def test_a_read_error_rejects_the_row_whatever_it_holds() -> None:
    df = normalised([{"email": "a@x.io"}]).with_columns(
        pl.lit("ragged_row|the row has 4 fields but the header has 3").alias("_read_error")
    )
    assert [code for code, _ in _issues(validate(df))[0]] == ["ragged_row"]
