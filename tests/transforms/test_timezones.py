"""Time zones: spellings accepted, inference from the phone, its ambiguity rules, and the
canonical IANA name whichever way a zone arrives (given, inferred, read back from a target)."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_series_equal

from transforms._phone_engine import parse_keys
from transforms.phones import PhoneBook, normalise_phones, parse_phone_values
from transforms.timezones import canonical_timezone, normalise_timezones


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
        ("asia/saigon", "Asia/Ho_Chi_Minh"),
        ("Europe/Kiev", "Europe/Kyiv"),
        ("America/Buenos_Aires", "America/Argentina/Buenos_Aires"),
        ("US/Eastern", "America/New_York"),
        ("Europe/Amsterdam", "Europe/Amsterdam"),  # a tzdata link, but a zone people use: kept
        ("Africa/Asmera", "Africa/Asmara"),  # not tzdata.zi's Africa/Nairobi (Kenya)
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


def test_an_inferred_legacy_name_is_renamed() -> None:
    # a phone cache written before the zone table was canonical still says Asia/Calcutta
    out = _run([None, None], [["Asia/Calcutta"], ["Europe/Amsterdam"]])
    assert out.select("timezone", "timezone_source").rows() == [
        ("Asia/Kolkata", "inferred"),
        ("Europe/Amsterdam", "inferred"),
    ]


def _inferred(texts: list[str]) -> list[str | None]:
    frame = pl.LazyFrame(
        {"phone": texts, "country": [None] * len(texts), "phone_ext": [None] * len(texts)},
        schema=dict.fromkeys(["phone", "country", "phone_ext"], pl.String),
    ).with_columns(pl.lit(None, pl.String).alias("timezone"))
    phones = normalise_phones(frame, PhoneBook(), default_region=None)
    out = normalise_timezones(phones).collect()
    assert set(out["timezone_source"]) == {"inferred"}
    return out["timezone"].to_list()


# libphonenumber's own names for these, where they differ: Asia/Calcutta, Africa/Asmera,
# Pacific/Ponape, Asia/Rangoon, Asia/Katmandu, America/Buenos_Aires, America/Godthab
INFERRED = [
    ("+91 98765 43210", "Asia/Kolkata"),
    ("+84 91 234 56 78", "Asia/Ho_Chi_Minh"),
    ("+380 44 123 4567", "Europe/Kyiv"),
    ("+291 1 123 456", "Africa/Asmara"),
    ("+691 320 1234", "Pacific/Pohnpei"),
    ("+95 1 234 567", "Asia/Yangon"),
    ("+977 1 4123456", "Asia/Kathmandu"),
    ("+54 11 4321 5678", "America/Argentina/Buenos_Aires"),
    ("+299 32 1234", "America/Nuuk"),
    ("+31 20 123 4567", "Europe/Amsterdam"),
]


def test_zones_inferred_from_phones_are_canonical() -> None:
    texts, zones = zip(*INFERRED, strict=True)
    assert _inferred(list(texts)) == list(zones)


def test_the_engine_and_phonenumbers_name_zones_alike() -> None:
    """Few rows go to `phonenumbers` (`_parse_one`); `least_group=0` makes the engine decide
    them from its zone table. Both give the current names."""
    texts = [text for text, _ in INFERRED]
    keys = pl.DataFrame({"phone_key": texts, "region": [None] * len(texts)})
    assert not parse_keys(keys, least_group=0)["undecided"].any()
    by_engine = parse_phone_values(keys, least_group=0)["zones"]
    by_library = parse_phone_values(keys)["zones"]
    assert_series_equal(by_engine, by_library)
    assert by_engine.to_list() == [[zone] for _, zone in INFERRED]


def test_canonical_timezone_for_values_read_back() -> None:
    stored = pl.Series(
        "timezone",
        ["Asia/Calcutta", "US/Eastern", "Europe/Amsterdam", "India Standard Time", "??", None],
    )
    expected = pl.Series(
        "timezone",
        ["Asia/Kolkata", "America/New_York", "Europe/Amsterdam", "Asia/Kolkata", "??", None],
    )
    frame = pl.LazyFrame({"timezone": stored})
    assert_series_equal(
        frame.select(canonical_timezone("timezone")).collect()["timezone"], expected
    )
    assert_series_equal(pl.select(canonical_timezone(pl.lit(stored))).to_series(), expected)
