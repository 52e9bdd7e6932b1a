"""Names, countries, statuses, tags, money and booleans."""

from __future__ import annotations

from typing import Any

import polars as pl
import pycountry
import pytest

from schemas.fields import CANONICAL_FIELDS
from transforms.values import (
    guess_country,
    normalise_values,
    parse_bool,
    parse_money,
    per_distinct,
    split_tags,
    squash_spaces,
)


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        ("$5,000.00", 5000.0),
        ("5.000,00 €", 5000.0),
        ("5000", 5000.0),
        ("5,000", 5000.0),
        ("1.234.567", 1234567.0),
        ("5,5", 5.5),
        ("1,234,567.89", 1234567.89),
        ("(250)", -250.0),
        ("-1 200,5", -1200.5),
        ("USD 300", 300.0),
        ("abc", None),
        ("1-800-FLOWERS", None),
        ("", None),
    ],
)
def test_money(raw: str, number: float | None) -> None:
    assert pl.DataFrame({"v": [raw]}).select(parse_money("v")).item() == number


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("yes", True),
        ("Y", True),
        (" TRUE ", True),
        ("1", True),
        ("no", False),
        ("n", False),
        ("0", False),
        ("False", False),
        ("maybe", None),
    ],
)
def test_booleans(raw: str, value: bool | None) -> None:
    assert pl.DataFrame({"v": [raw]}).select(parse_bool("v")).item() is value


def test_tags_split_trim_and_dedupe_case_insensitively_keeping_first_spelling() -> None:
    tags = ["VIP, vip; Hot ,, cold;HOT", None, "  ", "a b , A B", "x"]
    out = normalise_values(_frame(tags=tags)).collect()
    assert out["tags"].to_list() == [["VIP", "Hot", "cold"], None, [], ["a b"], ["x"]]
    assert pl.DataFrame({"v": [" a ;b,,c "]}).select(split_tags("v")).item().to_list() == [
        "a",
        "b",
        "c",
    ]


def test_names_are_trimmed_and_collapsed() -> None:
    out = pl.DataFrame({"v": ["  Ann \t Marie  ", "   "]}).select(squash_spaces("v"))
    assert out.to_series().to_list() == ["Ann Marie", None]


def _frame(**columns: list[str | None]) -> pl.LazyFrame:
    n = len(next(iter(columns.values())))
    data = {
        f: columns.get(f, [None] * n) for f in CANONICAL_FIELDS if f not in ("custom", "checklist")
    }
    return pl.LazyFrame(data, schema={f: pl.String for f in data})


@pytest.mark.parametrize(
    ("raw", "alpha2"),
    [
        ("US", "US"),
        ("usa", "US"),
        ("United States", "US"),
        ("U.S.A.", "US"),
        ("UK", "GB"),
        ("Great Britain", "GB"),
        ("GBR", "GB"),
        ("Germany", "DE"),
        ("deu", "DE"),
        ("Korea, Republic of", "KR"),
        ("South Korea", "KR"),
        ("Republic of Korea", "KR"),  # fuzzy search would say North Korea
        ("Korea (North)", "KP"),
        ("Deutschland", "DE"),
        ("España", "ES"),
        ("Österreich", "AT"),
        ("Côte d'Ivoire", "CI"),
        ("Ivory Coast", "CI"),
        # CRM pick-lists (Salesforce, Zoho) and what people type
        ("Slovakia (Slovak Republic)", "SK"),
        ("Micronesia", "FM"),
        ("Saint Helena", "SH"),
        ("Viet Nam", "VN"),
        ("Russia", "RU"),
        ("Türkiye", "TR"),
        ("Czech Republic", "CZ"),
        ("Holland", "NL"),
        ("Netherlands, The", "NL"),
        ("The Gambia", "GM"),
        ("St Kitts & Nevis", "KN"),
        ("St. Vincent and the Grenadines", "VC"),
        ("Trinidad & Tobago", "TT"),
        ("Bosnia-Herzegovina", "BA"),
        ("Hong Kong SAR", "HK"),
        ("Congo (Kinshasa)", "CD"),
        ("Myanmar (Burma)", "MM"),
        ("United Kingdom (Great Britain)", "GB"),
        ("Vatican City", "VA"),  # fuzzy: one country's name holds it
        ("Swiss", "CH"),
        ("Narnia", None),
        ("Congo (DRC)", None),  # its two halves name two countries
        ("Other", None),  # fuzzy search finds it in a UK subdivision only
        ("California", None),  # a subdivision is not a country
        ("Virgin Islands", None),  # two countries
    ],
)
def test_country_spellings(raw: str, alpha2: str | None) -> None:
    out = normalise_values(_frame(country=[raw])).collect()
    assert out["country"].item() == alpha2
    assert (out["_warn_country"].item() is None) == (alpha2 is not None)
    assert "_err_country" not in out.columns


def test_an_unknown_country_is_a_note_and_left_blank_never_an_error() -> None:
    out = normalise_values(_frame(country=["Atlantis", " ", None, "Narnia "])).collect()
    assert out["country"].to_list() == [None, None, None, None]
    assert out["_warn_country"].to_list() == [
        "unknown_country|'Atlantis' is not a country leadpipe knows; the country was left blank",
        None,
        None,
        "unknown_country|'Narnia' is not a country leadpipe knows; the country was left blank",
    ]


def test_fuzzy_search_runs_once_per_distinct_unknown_spelling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[str] = []
    search = pycountry.countries.search_fuzzy

    def counting(query: str) -> list[Any]:
        asked.append(query)
        return search(query)

    monkeypatch.setattr(pycountry.countries, "search_fuzzy", counting)
    guess_country.cache_clear()
    country = ["Vatican City", "Germany", "Vatican City", "Atlantis", None] * 1000
    out = normalise_values(_frame(country=country)).collect()
    assert out["country"].head(5).to_list() == ["VA", "DE", "VA", None, None]
    assert sorted(asked) == ["atlantis", "vatican city"]


@pytest.mark.parametrize(
    ("raw", "kept", "note"),
    [
        ("1.52533E+11", None, True),  # 6 digits left of 12
        ("1.52533e11", None, True),
        ("1.52533E+5", "152533", False),  # exact: written out
        ("  A-1.5E+3 ", "A-1.5E+3", False),  # not a number
        ("1.5E+0", "1.5E+0", False),  # a fraction: left as written
        ("003101", "003101", False),
        (None, None, False),
    ],
)
def test_ids_a_spreadsheet_shortened_are_left_blank_with_a_note(
    raw: str | None, kept: str | None, note: bool
) -> None:
    out = normalise_values(_frame(external_id=[raw], target_id=[raw])).collect()
    row = out.row(0, named=True)
    assert (row["external_id"], row["target_id"]) == (kept, kept)
    if note:
        assert row["_warn_external_id"] == (
            f"mangled_id|'{raw}' was shortened by a spreadsheet (scientific notation) and "
            "cannot identify a lead; export the column as text"
        )
        assert row["_warn_target_id"] == row["_warn_external_id"]
    else:
        assert row["_warn_external_id"] is None and row["_warn_target_id"] is None


def test_guess_country_takes_only_one_country() -> None:
    assert guess_country("Micronesia") == "FM"
    assert guess_country("Korea") == "KR"  # an alias: the lookup knows it before fuzzy search
    assert guess_country("Congo") == "CG"  # ISO's short name
    assert guess_country("Guinea") == "GN"
    assert guess_country("Island") is None  # many countries' names hold it
    assert guess_country("ab") is None  # too short to search
    assert guess_country("") is None


def test_values_report_what_they_cannot_parse() -> None:
    out = (
        normalise_values(
            _frame(
                value=["lots"],
                opted_out=["perhaps"],
                follow_up_step=["two"],
                status=["In Progress"],
            )
        )
        .collect()
        .row(0, named=True)
    )
    assert out["_err_value"] == "invalid_value|'lots' is not a number"
    assert out["_err_opted_out"] == "invalid_opted_out|'perhaps' is not yes/no, true/false or 1/0"
    assert out["_err_follow_up_step"] == "invalid_follow_up_step|'two' is not a whole number"
    assert out["status"] == "in_progress"


def test_per_distinct_folds_each_value_once_and_maps_every_row_back() -> None:
    frame = pl.DataFrame({"s": [" a", None, "b ", " a", None, "b "]})
    assert frame.select(per_distinct("s", squash_spaces)).to_series().to_list() == [
        "a",
        None,
        "b",
        "a",
        None,
        "b",
    ]
    # The fold sees each distinct value once, in order of first appearance.
    numbered = frame.select(per_distinct("s", lambda v: pl.int_range(v.len())))
    assert numbered.to_series().to_list() == [0, 1, 2, 0, 1, 2]


def test_quoted_tags_lose_their_quotes_as_mailchimp_writes_them() -> None:
    frame = pl.DataFrame({"t": ['"Webinar","Customer"', '"a, b"; c', '""', None]})
    assert frame.select(split_tags("t")).to_series().to_list() == [
        ["Webinar", "Customer"],
        ["a, b", "c"],
        [],
        None,
    ]


def test_a_word_that_is_no_status_is_left_blank_and_kept_in_custom() -> None:
    out = normalise_values(_frame(status=["Working", "In Progress", None])).collect().to_dicts()
    assert [r["status"] for r in out] == [None, "in_progress", None]
    assert [r["status_raw"] for r in out] == ["Working", "In Progress", None]
    assert out[0]["_err_status"].startswith("invalid_status|'Working' is not a status leadpipe")
    assert '[values.status] "Working" = "<one of those>"' in out[0]["_err_status"]
    assert out[1]["_err_status"] is None
    assert [r["custom"] for r in out] == [[{"key": "status_raw", "value": "Working"}], None, None]


def test_status_raw_from_the_mapping_stage_is_the_word_quoted() -> None:
    """`status` mapped by [values.status] already; `status_raw` is what the file said."""
    frame = _frame(status=["bogus"]).with_columns(pl.lit("Raw Leads").alias("status_raw"))
    out = normalise_values(frame).collect().row(0, named=True)
    assert out["status_raw"] == "Raw Leads"
    assert out["custom"] == [{"key": "status_raw", "value": "Raw Leads"}]
