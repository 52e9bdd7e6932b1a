"""Region inference: what a file's own countries, numbers and email domains say."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
import pytest

from transforms.region import RegionGuess, infer_region


def _file(
    country: Sequence[str | None] | None = None,
    phone: Sequence[str | None] | None = None,
    email: Sequence[str | None] | None = None,
) -> pl.LazyFrame:
    given = {"country": country, "phone": phone, "email": email}
    height = max(len(v) for v in given.values() if v is not None)
    columns = {k: list(v) if v is not None else [None] * height for k, v in given.items()}
    return pl.LazyFrame(columns, schema=dict.fromkeys(columns, pl.String))


US_NATIONAL = "(212) 555-0100"


def test_a_dominant_country_column_decides() -> None:
    country = ["USA"] * 7 + ["United States", "Canada"] + [None] * 5
    guess = infer_region(_file(country=country, phone=[US_NATIONAL] * 14))
    assert guess == RegionGuess("US", "country column", 8, 5)


def test_countries_are_read_as_normalise_reads_them() -> None:
    country = ["Slovakia (Slovak Republic)", "SK", "slovakia", "Slovak Republic", None]
    guess = infer_region(_file(country=country, phone=["0905 123 456"] * 5))
    assert guess == RegionGuess("SK", "country column", 4, 1)


def test_a_split_country_column_decides_nothing_and_the_next_evidence_is_used() -> None:
    country = ["US"] * 6 + ["CA"] * 4
    phones = ["+1 212 555 0100"] * 10
    guess = infer_region(_file(country=country, phone=phones))
    assert guess == RegionGuess("US", "numbers written with +", 10, 0)


def test_numbers_written_with_plus_decide_by_their_calling_codes_main_region() -> None:
    phones = ["+1 416 555 0100", "'+1 (604) 555-0100", "tel:+1-212-555-0100", "+1.415.555.0100"]
    guess = infer_region(_file(phone=[*phones, US_NATIONAL, "416 555 0199"]))
    assert guess == RegionGuess("US", "numbers written with +", 4, 2)
    british = infer_region(_file(phone=["+44 20 7946 0958"] * 4 + ["020 7946 0958"] * 3))
    assert british == RegionGuess("GB", "numbers written with +", 4, 3)


def test_a_few_foreign_numbers_in_a_file_of_national_ones_decide_nothing() -> None:
    phones = ["+44 20 7946 0958"] * 3 + [US_NATIONAL] * 17
    assert infer_region(_file(phone=phones)) == RegionGuess(None, "none", 0, 17)


def test_non_geographic_codes_name_no_region() -> None:
    phones = ["+800 1234 5678"] * 5 + ["0800 123 4567"]
    assert infer_region(_file(phone=phones)).region is None


@pytest.mark.parametrize(
    ("emails", "region", "evidence"),
    [
        (["a@firma.de"] * 3 + ["b@web.de", "c@gmail.com"], "DE", 4),
        (["a@shop.co.uk", "b@x.uk", "c@y.org.uk", "d@gmail.com"], "GB", 3),
        (["Ann <a@firma.fr>", " b@x.FR ", "mailto:c@y.fr"], "FR", 3),
        (["a@startup.io"] * 5, None, 0),  # sold as generic
        (["a@x.co", "b@y.me", "c@z.tv"], None, 0),
        (["a@x.com", "b@y.net", "c@z.org"], None, 0),
        (["a@x.eu"] * 3, None, 0),  # no country
        (["a@x.de", "b@y.de"], None, 0),  # too few
        (["a@x.de"] * 3 + ["b@y.com"] * 10, None, 0),  # too small a share of the emails
        (["a@x.de"] * 4 + ["b@y.at"] * 2, None, 0),  # not dominant
    ],
)
def test_email_domains_decide_last(emails: list[str], region: str | None, evidence: int) -> None:
    guess = infer_region(_file(email=emails, phone=["0151 1234567"] * len(emails)))
    assert (guess.region, guess.evidence) == (region, evidence)
    assert guess.basis == ("email domains" if region else "none")
    assert guess.rows_decided == len(emails)


def test_the_country_column_comes_before_numbers_and_numbers_before_domains() -> None:
    frame = _file(
        country=["Germany"] * 4,
        phone=["+33 1 23 45 67 89"] * 4,
        email=["a@x.it"] * 4,
    )
    assert infer_region(frame).basis == "country column"
    assert infer_region(frame.drop("country")) == RegionGuess("FR", "numbers written with +", 4, 0)
    no_plus = frame.drop("country").with_columns(pl.lit("06 12 34 56 78").alias("phone"))
    assert infer_region(no_plus) == RegionGuess("IT", "email domains", 4, 4)


def test_a_file_with_no_evidence_has_no_region() -> None:
    frame = _file(
        country=[None, "  ", "Atlantis", None],
        phone=[US_NATIONAL, "415 555 0132", None, "n/a"],
        email=["a@gmail.com", None, "b@example.com", "c@x.io"],
    )
    assert infer_region(frame) == RegionGuess(None, "none", 0, 3)


def test_missing_columns_and_numbers_stored_as_numbers() -> None:
    frame = pl.LazyFrame({"phone": [14155550100, 4155550100, None]})
    assert infer_region(frame) == RegionGuess(None, "none", 0, 2)
    assert infer_region(pl.LazyFrame({"email": ["a@b.de"] * 3})) == RegionGuess(
        "DE", "email domains", 3, 0
    )


def test_rows_decided_counts_rows_the_region_will_read() -> None:
    # a row with its own known country, a blank phone, or a number with `+` is not read in
    # the file's region; an unknown country is left blank, so its row is
    frame = _file(
        country=["US", None, None, "Atlantis", None, None, None],
        phone=[US_NATIONAL, US_NATIONAL, "+1 212 555 0100", US_NATIONAL, None, "  ", "x"],
    )
    assert infer_region(frame).rows_decided == 3


def test_national_numbers_decide_by_the_format_they_are_written_in() -> None:
    us = ["(305) 555-0176", "617.555.0152", "(512) 555-0190 x12", "404-555-0137", "6175550152"]
    assert infer_region(_file(phone=us)) == RegionGuess("US", "national numbers", 4, 5)
    french = ["01 42 68 53 00", "06 12 34 56 78", "04 91 23 45 67"]
    assert infer_region(_file(phone=french)) == RegionGuess("FR", "national numbers", 3, 3)
    german = ["030 901820", "089 1234567", "0171 1234567"]
    assert infer_region(_file(phone=german)).region == "DE"


def test_national_numbers_that_read_alike_in_several_countries_take_a_hint_or_nothing() -> None:
    # `0412 345 696` is an Australian mobile, and reads the same in the Netherlands and Ukraine.
    australian = ["0412 345 696", "0412 345 536", "0412 345 550"]
    assert infer_region(_file(phone=australian)) == RegionGuess(None, "none", 0, 3)
    hinted = infer_region(_file(phone=[*australian, "+61 412 345 399"]))
    assert hinted == RegionGuess("AU", "national numbers", 3, 3)
    # Digits without groups, and too few numbers, say nothing.
    assert infer_region(_file(phone=["6175550152"] * 5)).region is None
    assert infer_region(_file(phone=["(305) 555-0176", "617.555.0152"])).region is None
