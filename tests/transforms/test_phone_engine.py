"""The vectorised phone engine against libphonenumber itself, value by value.

The differential tests compare whole result rows (e164, extension, error wording, zones) of
`parse_phone_values` with `_parse_one`, the per-value reference, on seeded corpora of over
200,000 values. They pass `least_group=0`, so the engine decides every value it can instead of
leaving small numbering plans to `phonenumbers`.
"""

from __future__ import annotations

import phonenumbers
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers.tzdata import TIMEZONE_DATA

from tests.transforms.phone_corpus import (
    FAKER_LOCALES,
    REGIONS,
    corpus,
    faker_phones,
    mangled_examples,
)
from transforms._lookup import per_value
from transforms._phone_engine import parse_keys
from transforms._phone_meta import plan_for, plan_keys, plans_for_code, zone_prefixes
from transforms.phones import (
    KEY_COLUMNS,
    PHONE_RESULT_SCHEMA,
    PhoneBook,
    _parse_one,
    clean_phone,
    parse_phone_values,
)

KEY_SCHEMA = {"phone_key": pl.String, "region": pl.String}


def _keys(pairs: list[tuple[str, str | None]]) -> pl.DataFrame:
    """The distinct (phone_key, region) rows `normalise_phones` would make of the pairs."""
    frame = pl.DataFrame(pairs, schema={"text": pl.String, "region": pl.String}, orient="row")
    cleaned = frame.select(clean_phone("text").alias("phone_key"), "region")
    return cleaned.drop_nulls("phone_key").unique(maintain_order=True)


def _assert_agrees(pairs: list[tuple[str, str | None]], *, at_least: int) -> pl.DataFrame:
    """Compare engine and oracle on the distinct keys of `pairs`; the oracle's answers."""
    keys = _keys(pairs)
    assert keys.height >= at_least
    got = parse_phone_values(keys, least_group=0)
    want = per_value(keys, KEY_COLUMNS, _parse_one, PHONE_RESULT_SCHEMA)
    assert got.schema == want.schema
    differences = [(g, w) for g, w in zip(got.rows(), want.rows(), strict=True) if g != w]
    assert not differences[:10], f"{len(differences)} of {keys.height} differ"
    return want


def _undecided(keys: pl.DataFrame, least_group: int = 0) -> pl.Series:
    return parse_keys(keys, least_group=least_group)["undecided"]


def _undecided_share(answers: pl.DataFrame) -> float:
    undecided = _undecided(answers.select(KEY_COLUMNS))
    return int(undecided.sum()) / max(undecided.len(), 1)


def test_every_example_number_of_every_region_and_type_mangled() -> None:
    answers = _assert_agrees(mangled_examples(80_000), at_least=70_000)
    assert _undecided_share(answers) < 0.01
    valid = answers["e164"].is_not_null().sum() / answers.height
    assert 0.2 < valid < 0.9  # both kinds, and every kind of reason


def test_faker_numbers_in_many_locales() -> None:
    assert len(FAKER_LOCALES) >= 12
    answers = _assert_agrees(faker_phones(2_500), at_least=60_000)
    assert _undecided_share(answers) < 0.01


def test_the_spreadsheet_corpus() -> None:
    cases = corpus(50_000, seed=7)
    answers = _assert_agrees([(c.text, c.region) for c in cases], at_least=40_000)
    assert _undecided_share(answers) == 0


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=40),
        st.text(alphabet="0123456789 +-().x#'eE,tel:/;~*\\\"ext", max_size=40),
        st.from_regex(r"\A\+?[0-9 ()-]{0,20}(?: ?(?:x|ext\.?|#) ?[0-9]{1,12})?\Z"),
    ),
    st.sampled_from((None, "", "us", "ZZ", "001", "800", *REGIONS)),
)
def test_any_text_equals_the_oracle(text: str, region: str | None) -> None:
    keys = pl.DataFrame({"phone_key": [text], "region": [region]}, schema=KEY_SCHEMA)
    assert parse_phone_values(keys, least_group=0).rows() == [_parse_one(text, region)]


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("(212) 555-0100", "US"),
        ("212.555.0100 ext. 45", "US"),
        ("+44 (0)20 7946 0958", None),
        ("0044 20 7946 0958", "DE"),
        ("011 44 20 7946 0958", "CA"),
        ("'+49 30 901820", "FR"),
        ("tel:+1-212-555-0100;ext=7", None),
        ("030 901820", "DE"),
        ("0 800 123 4567", "AR"),
        ("011 15-2345-6789", "AR"),
        ("(11) 96123-4567", "BR"),
        ("0 21 11 96123-4567", "BR"),
        ("09012345678", "JP"),
        ("06 698 12345", "IT"),
        ("1 684 733 1234", "AS"),
        ("+7 727 250 1234", None),
        ("+800 1234 5678", "US"),
        ("12", "US"),
        ("+1 2", None),
        ("212 555 0100 0000 0000 0000", "US"),
        ("1" * 300, "US"),  # too long to read at all
        ("'212 \\ 555\" " + "0" * 40, "US"),  # quoted and cut in the message as repr does
    ],
)
def test_ordinary_forms_are_decided_by_the_engine(text: str, region: str | None) -> None:
    keys = pl.DataFrame({"phone_key": [text], "region": [region]}, schema=KEY_SCHEMA)
    assert not _undecided(keys).item()
    assert parse_phone_values(keys, least_group=0).row(0) == _parse_one(text, region)


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("٠٢٠ ٧٩٤٦ ٠٩٥٨", "GB"),  # Arabic-Indic digits
        ("＋44 20 7946 0958", None),  # a full-width plus
        ("1-800-FLOWERS", "US"),  # a vanity number
        ("tel:7946-0958;phone-context=+4420", None),
        ("+0 20 7946 0958", "GB"),  # phonenumbers re-reads it without the +
        ("+44 20 7946 0958", "gb ∂"),
    ],
)
def test_what_the_engine_leaves_to_phonenumbers(text: str, region: str | None) -> None:
    keys = pl.DataFrame({"phone_key": [text], "region": [region]}, schema=KEY_SCHEMA)
    assert _undecided(keys).item()
    assert parse_phone_values(keys).row(0) == _parse_one(text, region)


def test_small_numbering_plans_go_to_phonenumbers() -> None:
    texts = [f"+1 212 555 {n:04d}" for n in range(120)] + ["+44 20 7946 0958"]
    keys = pl.DataFrame({"phone_key": texts, "region": [None] * 121}, schema=KEY_SCHEMA)
    assert _undecided(keys, least_group=100).to_list() == [False] * 120 + [True]
    assert not _undecided(keys).any()
    assert parse_phone_values(keys).rows() == [_parse_one(t, None) for t in texts]


def test_the_book_answers_known_keys_and_parses_the_rest() -> None:
    texts = [f"+1 212 555 {n:04d}" for n in range(120)] + ["1-800-FLOWERS"]
    keys = pl.DataFrame({"phone_key": texts, "region": ["US"] * 121}, schema=KEY_SCHEMA)
    book = PhoneBook()
    first = book.resolve(keys)
    assert book.added.equals(first)
    again = PhoneBook(book.added.head(100))
    second = again.resolve(keys)
    assert again.added.equals(first.tail(21))
    assert sorted(second.rows()) == sorted(first.rows())


def test_results_keep_the_order_of_the_keys() -> None:
    texts = ["n/a", "+1 212 555 0100", "1-800-FLOWERS", "+44 20 7946 0958", "123"]
    keys = pl.DataFrame({"phone_key": texts, "region": ["US"] * 5}, schema=KEY_SCHEMA)
    assert parse_phone_values(keys)["phone_key"].to_list() == texts
    assert parse_phone_values(keys.clear()).schema == pl.Schema(PHONE_RESULT_SCHEMA)


def test_tables_come_from_the_installed_phonenumbers() -> None:
    non_geo = {str(code) for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS}
    assert set(plan_keys()) == set(phonenumbers.SUPPORTED_REGIONS) | non_geo
    assert all(plan_for(key) is not None for key in plan_keys())  # polars runs every plan
    assert plans_for_code()[1][:2] == ("US", "AG")
    argentina = plan_for("AR")
    assert argentina is not None and argentina.transform == "9${1}"
    zones = dict(zone_prefixes().drop_nulls("zone_prefix").iter_rows())
    assert zones.keys() == TIMEZONE_DATA.keys()
    assert zones["1212"] == ["America/New_York"]
    assert all("Etc/Unknown" not in found for found in zones.values())
