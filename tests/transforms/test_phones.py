"""Phones: parity with libphonenumber, spreadsheet damage, reasons, and the phone book."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.transforms.phone_corpus import REGIONS, corpus, oracle
from transforms.phones import PhoneBook, normalise_phones

PARITY_SIZE = 120_000


def _normalise(
    texts: Sequence[str | None],
    regions: Sequence[str | None],
    default: str | None = None,
    book: PhoneBook | None = None,
) -> pl.DataFrame:
    frame = pl.LazyFrame(
        {"phone": texts, "country": regions, "phone_ext": [None] * len(texts)},
        schema={"phone": pl.String, "country": pl.String, "phone_ext": pl.String},
    )
    return normalise_phones(frame, book or PhoneBook(), default_region=default).collect()


def test_parity_with_libphonenumber_on_a_large_corpus() -> None:
    cases = corpus(PARITY_SIZE)
    assert len({c.region for c in cases if c.region}) >= 10
    out = _normalise([c.text for c in cases], [c.region for c in cases])
    expected = [oracle(c.oracle_text, c.region) for c in cases]
    got = list(zip(out["phone"].to_list(), out["phone_ext"].to_list(), strict=True))
    mismatches = [(c, e, g) for c, e, g in zip(cases, expected, got, strict=True) if e != g]
    assert not mismatches[:20], f"{len(mismatches)} of {len(cases)} differ"
    valid = sum(1 for e in expected if e[0])
    assert 0.5 * len(cases) < valid < len(cases)  # the corpus holds both kinds
    # every invalid non-blank input carries a reason
    assert out.filter(pl.col("phone").is_null() & pl.col("_err_phone").is_null()).height == 0


@pytest.mark.parametrize(
    ("text", "region", "e164", "ext"),
    [
        ("'+1 212-555-0100", None, "+12125550100", None),
        ("tel:+1-212-555-0100", None, "+12125550100", None),
        ("  (212) 555-0100  ", "US", "+12125550100", None),
        ("+44 (0)20 7946 0958", None, "+442079460958", None),
        ("212 555 0100 x123", "US", "+12125550100", "123"),
        ("212-555-0100 ext. 45", "US", "+12125550100", "45"),
        ("212-555-0100 #12", "US", "+12125550100", "12"),
        ("12125550100.0", "US", "+12125550100", None),
        ("1.2125550100E+10", "US", "+12125550100", None),
        ("00 44 20 7946 0958", "DE", "+442079460958", None),
        ("011 44 20 7946 0958", "US", "+442079460958", None),
    ],
)
def test_spreadsheet_forms(text: str, region: str | None, e164: str, ext: str | None) -> None:
    row = _normalise([text], [region]).row(0, named=True)
    assert (row["phone"], row["phone_ext"], row["phone_raw"]) == (e164, ext, text)


@pytest.mark.parametrize(
    ("text", "region", "reason"),
    [
        ("n/a", "US", "'n/a' is not a valid phone number: it is not a phone number"),
        ("123", "US", "'123' is not a valid phone number for US: it is too short"),
        (
            "212 555 0100",
            None,
            "has no country code and the row has no country (use --default-region)",
        ),
        ("2.12556E+10", "US", "scientific notation and has lost digits"),
    ],
)
def test_invalid_numbers_get_a_reason(text: str, region: str | None, reason: str) -> None:
    row = _normalise([text], [region]).row(0, named=True)
    assert row["phone"] is None
    assert row["_err_phone"].startswith("invalid_phone|")
    assert reason in row["_err_phone"]


def test_default_region_applies_only_where_the_row_has_no_country() -> None:
    out = _normalise(["020 7946 0958", "030 901820"], [None, "DE"], default="GB")
    assert out["phone"].to_list() == ["+442079460958", "+4930901820"]


def test_zones_come_with_the_number() -> None:
    out = _normalise(["+1 212 555 0100", "+1 800 555 0100", "+44 20 7946 0958"], [None] * 3)
    zones = out["_phone_zones"].to_list()
    assert zones[0] == ["America/New_York"]
    assert len(zones[1]) > 1
    assert zones[2] == ["Europe/London"]


def test_each_distinct_value_is_parsed_once_and_the_book_remembers() -> None:
    book = PhoneBook()
    _normalise(["+1 212 555 0100"] * 50 + ["+1 646 555 0100"], [None] * 51, book=book)
    assert book.added.height == 2
    again = PhoneBook(pl.concat([book.known, book.added]))
    out = _normalise(["+1 212 555 0100", "+1 415 555 0100"], [None, None], book=again)
    assert again.added.height == 1  # only the new number was parsed
    assert out["phone"].to_list() == ["+12125550100", "+14155550100"]


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.text(), st.text(alphabet="0123456789 +-().x#'eE,tel:"), st.none()),
    st.sampled_from((None, *REGIONS)),
)
def test_any_text_gives_a_number_or_a_reason_never_an_exception(
    text: str | None, region: str | None
) -> None:
    row = _normalise([text], [region]).row(0, named=True)
    # "blank" as polars strips (Unicode white space; Python's str.strip also strips \x1c-\x1f)
    blank = text is None or pl.Series([text]).str.strip_chars().str.len_chars().item() == 0
    if row["phone"] is not None:
        assert row["phone"].startswith("+") and row["phone"][1:].isdigit()
        assert row["_err_phone"] is None
    else:
        assert blank == (row["_err_phone"] is None)
