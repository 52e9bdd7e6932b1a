"""Time zones: spellings accepted, inference from the phone, and its ambiguity rules."""

from __future__ import annotations

import polars as pl
import pytest

from transforms.timezones import normalise_timezones


def _run(given: list[str | None], zones: list[list[str]]) -> pl.DataFrame:
    frame = pl.LazyFrame(
        {"timezone": given, "_phone_zones": zones},
        schema={"timezone": pl.String, "_phone_zones": pl.List(pl.String)},
    )
    return normalise_timezones(frame).collect()


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        ("America/New York", "America/New_York"),
        ("Asia/Calcutta", "Asia/Kolkata"),
        ("US/Eastern", "America/New_York"),
        ("Europe/Amsterdam", "Europe/Amsterdam"),  # a tzdata link, but a zone people use: kept
        ("Eastern Standard Time", "America/New_York"),
        ("W. Europe Standard Time", "Europe/Berlin"),
        ("india standard time", "Asia/Kolkata"),
        ("america_slash_new_york", "America/New_York"),
        ("(GMT-05:00) America/New_York", "America/New_York"),
        ("UTC", "Etc/UTC"),
    ],
)
def test_given_spellings(given: str, canonical: str) -> None:
    row = _run([given], [["Asia/Tokyo"]]).row(0, named=True)
    assert (row["timezone"], row["timezone_source"], row["_err_timezone"]) == (
        canonical,
        "given",
        None,
    )


def test_unknown_given_zone_is_an_error_and_is_never_replaced_by_a_guess() -> None:
    row = _run(["Mars/Olympus_Mons"], [["Europe/London"]]).row(0, named=True)
    assert row["timezone"] is None
    assert row["timezone_source"] == "given"
    assert (
        row["_err_timezone"]
        == "invalid_timezone|'Mars/Olympus_Mons' is not a known time zone (IANA or Windows name)"
    )


def test_inference_rules() -> None:
    out = _run([None, None, None], [["Europe/London"], ["America/New_York", "America/Chicago"], []])
    assert out.select("timezone", "timezone_source").rows() == [
        ("Europe/London", "inferred"),
        (None, "ambiguous"),
        (None, "unknown"),
    ]
