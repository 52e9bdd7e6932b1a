"""Names, countries, statuses, tags, money and booleans."""

from __future__ import annotations

import polars as pl
import pytest

from schemas.fields import CANONICAL_FIELDS
from transforms.values import (
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
        ("Deutschland", "DE"),
        ("España", "ES"),
        ("Österreich", "AT"),
        ("Côte d'Ivoire", "CI"),
        ("Ivory Coast", "CI"),
        ("Narnia", None),
    ],
)
def test_country_spellings(raw: str, alpha2: str | None) -> None:
    out = normalise_values(_frame(country=[raw])).collect()
    assert out["country"].item() == alpha2
    assert (out["_err_country"].item() is None) == (alpha2 is not None)


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
