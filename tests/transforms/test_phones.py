"""Phones: parity with libphonenumber, spreadsheet damage, reasons, the phone book, numbers
written as international without `+`, and several phone values for one lead."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.fields import CUSTOM_ENTRY
from tests.transforms.phone_corpus import REGIONS, corpus, mangled_examples, oracle, plain_oracle
from transforms.phones import CANDIDATES, PhoneBook, clean_phone, normalise_phones

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


@pytest.mark.parametrize(
    ("text", "region", "e164", "how"),
    [
        ("0044 20 7946 0958", "US", "+442079460958", "international prefix 00"),
        ("0044 20 7946 0958", None, "+442079460958", "international prefix 00"),
        ("011 44 20 7946 0958", "GB", "+442079460958", "international prefix 011"),
        ("0-1-1 (44) 20 7946 0958", None, "+442079460958", "international prefix 011"),
        ("886-2-2547 4189", None, "+886225474189", "country code without +"),
        ("886-2-2547 4189", "US", "+886225474189", "country code without +"),
        ("33 5 62 15 66 00", "US", "+33562156600", "country code without +"),
        ("'33 5 62 15 66 00", None, "+33562156600", "country code without +"),
        ("1 415 555 0132", "GB", "+14155550132", "country code without +"),
        ("33562156600.0", None, "+33562156600", "country code without +"),
    ],
)
def test_international_numbers_written_without_plus(
    text: str, region: str | None, e164: str, how: str
) -> None:
    row = _normalise([text], [region]).row(0, named=True)
    key = text.removesuffix(".0")
    assert (row["phone"], row["phone_raw"], row["_err_phone"]) == (e164, text, None)
    assert row["_warn_phone"] == f"assumed_international|{key!r} was read as {e164} ({how})"


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("(212) 555-0100", None),  # 10 digits: as likely a national number (here: +1 212…)
        ("479 555 0100", None),  # would read as a Norwegian mobile
        # starts with the region's trunk prefix: a mistyped national number (as +84: Vietnam)
        ("8 431 706 69 07", "RU"),
        ("+44 20 7946 095", None),  # written with `+`: read as written
        ("0044 20 7946 095", "US"),  # the international reading is no valid number either
        ("00 00 1234 5678", None),
        ("n/a", None),
    ],
)
def test_numbers_not_read_as_international(text: str, region: str | None) -> None:
    row = _normalise([text], [region]).row(0, named=True)
    assert row["phone"] is None and row["_warn_phone"] is None
    assert row["_err_phone"] == _normalise([text], [region])["_err_phone"].item()
    assert row["_err_phone"].startswith("invalid_phone|")


def test_a_number_valid_in_its_region_is_never_read_again() -> None:
    # valid as written in DE (its IDD is 00) and in US: no note, libphonenumber's E.164
    out = _normalise(["00 44 20 7946 0958", "1 212 555 0100", "4930901820"], ["DE", "US", "DE"])
    assert out["phone"].to_list() == ["+442079460958", "+12125550100", "+4930901820"]
    assert out["_warn_phone"].to_list() == [None, None, None]


def test_only_failed_distinct_keys_are_read_again_through_the_book() -> None:
    book = PhoneBook()
    texts = ["0044 20 7946 0958"] * 20 + ["011 44 20 7946 0958", "+44 20 7946 0958", "n/a"]
    out = _normalise(texts, ["US"] * 23, book=book)
    assert out["phone"].null_count() == 1
    added = book.added.select("phone_key", "region").rows()
    assert sorted(added, key=str) == sorted(
        [
            ("0044 20 7946 0958", "US"),
            ("011 44 20 7946 0958", "US"),
            ("+44 20 7946 0958", "US"),
            ("n/a", "US"),
            ("+44 20 7946 0958", None),  # both international readings, once
        ],
        key=str,
    )
    again = PhoneBook(book.added)
    rerun = _normalise(texts, ["US"] * 23, book=again)
    assert again.added.is_empty()
    assert rerun.equals(out)


def test_fallback_agrees_with_the_oracle_on_mangled_examples() -> None:
    pairs = mangled_examples(30_000, seed=5)
    out = _normalise([t for t, _ in pairs], [r for _, r in pairs])
    got = list(zip(out["phone"].to_list(), out["phone_ext"].to_list(), strict=True))
    # the oracle reads what `clean_phone` makes of the text (spreadsheet damage undone)
    texts = pl.Series([t for t, _ in pairs]).to_frame("t").select(clean_phone("t")).to_series()
    cases = list(zip(texts.to_list(), [r for _, r in pairs], strict=True))
    expected = [oracle(t, r) if t is not None else (None, None) for t, r in cases]
    mismatches = [(p, e, g) for p, e, g in zip(pairs, expected, got, strict=True) if e != g]
    assert not mismatches[:20], f"{len(mismatches)} of {len(pairs)} differ"
    # a note exactly where plain libphonenumber said no and the reading without `+` said yes
    noted = out["_warn_phone"].is_not_null().to_list()
    plain = [t is None or plain_oracle(t, r)[0] is None for t, r in cases]
    assert noted == [p and e[0] is not None for p, e in zip(plain, expected, strict=True)]
    assert 500 < sum(noted) < len(pairs) // 4


def _with_candidates(
    candidates: list[list[str] | None],
    custom: list[list[dict[str, str]] | None] | None = None,
    region: str | None = "US",
) -> pl.DataFrame:
    n = len(candidates)
    frame = pl.LazyFrame(
        {
            "phone": [c[0] if c else None for c in candidates],
            "country": [region] * n,
            "phone_ext": [None] * n,
            CANDIDATES: candidates,
            "custom": custom or [None] * n,
        },
        schema={
            "phone": pl.String,
            "country": pl.String,
            "phone_ext": pl.String,
            CANDIDATES: pl.List(pl.String),
            "custom": pl.List(CUSTOM_ENTRY),
        },
    )
    return normalise_phones(frame, PhoneBook(), default_region=None).collect()


def test_the_first_valid_of_several_phone_values_is_used() -> None:
    out = _with_candidates(
        [
            ["n/a", "+1 415 555 0132"],
            ["+1 212 555 0100", "+1 415 555 0199", "x"],
            ["bad", "worse", "0044 20 7946 0958"],
            ["bad", "worse"],
            ["2.12556E+10", "(415) 555-0100"],
            ["123"],
            [],
            None,
        ],
        custom=[None, [{"key": "crm", "value": "7"}], [], None, None, None, None, None],
    )
    assert CANDIDATES not in out.columns
    assert out["phone"].to_list() == [
        "+14155550132",
        "+12125550100",
        "+442079460958",
        None,
        "+14155550100",
        None,
        None,
        None,
    ]
    assert out["phone_raw"].to_list() == [
        "+1 415 555 0132",
        "+1 212 555 0100",
        "0044 20 7946 0958",
        "bad",
        "(415) 555-0100",
        "123",
        None,
        None,
    ]
    assert out["_warn_phone.skipped"].to_list() == [
        "first_phone_invalid|'n/a' is not a valid phone number; the 2nd value "
        "'+1 415 555 0132' was used",
        None,
        "first_phone_invalid|'bad' is not a valid phone number; the 3rd value "
        "'0044 20 7946 0958' was used",
        None,
        "first_phone_invalid|'2.12556E+10' is not a valid phone number; the 2nd value "
        "'(415) 555-0100' was used",
        None,
        None,
        None,
    ]
    other = [{"key": "other_phones", "value": v} for v in ("n/a", "+1 415 555 0199; x")]
    assert out["custom"].to_list() == [
        [other[0]],
        [{"key": "crm", "value": "7"}, other[1]],
        [{"key": "other_phones", "value": "bad; worse"}],
        [{"key": "other_phones", "value": "worse"}],
        [{"key": "other_phones", "value": "2.12556E+10"}],
        None,
        None,
        None,
    ]
    # the first value's error stays when no value is valid; none when another was used
    assert out["_err_phone"].to_list()[:6] == [
        None,
        None,
        None,
        "invalid_phone|'bad' is not a valid phone number: it is not a phone number",
        None,
        "invalid_phone|'123' is not a valid phone number for US: it is too short",
    ]
    assert out["_warn_phone"][2].startswith("assumed_international|'0044 20 7946 0958'")
    assert out["_phone_zones"].to_list()[:2] == [["America/Los_Angeles"], ["America/New_York"]]


def test_one_value_per_row_reads_as_without_candidates() -> None:
    texts = ["(212) 555-0100", "n/a", "0044 20 7946 0958", "2.12556E+10", "212 555 0100 x7"]
    several = _with_candidates([[t] for t in texts])
    one = _normalise(texts, ["US"] * len(texts))
    assert several.drop("custom", "_warn_phone.skipped").equals(one)
    assert several["_warn_phone.skipped"].null_count() == len(texts)
    assert several["custom"].to_list() == [None] * len(texts)


@pytest.mark.parametrize(("n", "word"), [(2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th")])
def test_the_value_used_is_named_by_its_place(n: int, word: str) -> None:
    values = ["x"] * (n - 1) + ["+1 212 555 0100"]
    note = _with_candidates([values])["_warn_phone.skipped"].item()
    assert note.endswith(f"the {word} value '+1 212 555 0100' was used")


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.lists(
                st.sampled_from(
                    ("n/a", "+1 212 555 0100", "0044 20 7946 0958", "(415) 555-0132", "4.1E+10")
                )
                | st.text(alphabet="0123456789 +-x", max_size=15),
                max_size=4,
            ),
        ),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from((None, "US", "GB")),
)
def test_any_candidates_give_one_row_each_with_a_number_or_a_reason(
    candidates: list[list[str] | None], region: str | None
) -> None:
    out = _with_candidates(candidates, region=region)
    assert out.height == len(candidates)
    for values, row in zip(candidates, out.iter_rows(named=True), strict=True):
        kept = [e["value"] for e in row["custom"] or [] if e["key"] == "other_phones"]
        if not values:
            assert (row["phone"], row["phone_raw"], kept) == (None, None, [])
            continue
        if row["phone"] is not None:
            assert row["_err_phone"] is None
        used = values.index(row["phone_raw"])  # the first valid value, else the first
        others = values[:used] + values[used + 1 :]
        assert kept == (["; ".join(others)] if others else [])
        assert (row["_warn_phone.skipped"] is not None) == (used > 0)
