"""Emails: with several email values for a lead, the first valid one is used."""

from __future__ import annotations

import functools

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import transforms.emails
from schemas.fields import CUSTOM_ENTRY
from transforms.emails import normalise_emails, validate_email_values

CUSTOM = pl.List(CUSTOM_ENTRY)
_VALUES = (
    "ann@example.com",
    " Bob@Example.org ",
    "info at acme",
    "иван@пример.рф",
    "a..b@x.com",
    "n/a",
    "ann@gmail.comn",
    "Mailto:C@D.de",
)


def _frame(
    candidates: list[list[str] | None], custom: list[list[dict[str, str]] | None]
) -> pl.LazyFrame:
    firsts = [c[0] if c else None for c in candidates]
    return pl.LazyFrame(
        {
            "source_row": list(range(2, len(candidates) + 2)),
            "email": firsts,
            "_email_candidates": candidates,
            "custom": custom,
        },
        schema={
            "source_row": pl.Int64,
            "email": pl.String,
            "_email_candidates": pl.List(pl.String),
            "custom": CUSTOM,
        },
    )


def _other(value: str) -> dict[str, str]:
    return {"key": "other_emails", "value": value}


def test_the_first_valid_candidate_is_used_and_the_rest_kept_in_custom() -> None:
    candidates = [
        ["Ann@Example.com", "b@x.com"],
        ["info at acme", " B@X.com ", "c@y.com"],
        ["nope", "still nope", "c@y.com"],
        ["bad", "worse"],
        ["only@one.com"],
        [],
        None,
    ]
    custom = [[{"key": "city", "value": "Oslo"}], None, [], None, None, None, None]
    out = normalise_emails(_frame(candidates, custom)).collect()
    expected = pl.DataFrame(
        {
            "source_row": [2, 3, 4, 5, 6, 7, 8],
            "email": ["ann@example.com", "b@x.com", "c@y.com", None, "only@one.com", None, None],
            "custom": [
                [{"key": "city", "value": "Oslo"}, _other("b@x.com")],
                [_other("info at acme; c@y.com")],
                [_other("nope; still nope")],
                [_other("worse")],
                None,
                None,
                None,
            ],
            "_err_email": [
                None,
                None,
                None,
                "invalid_email|'bad' is not a valid email address: "
                "An email address must have an @-sign.",
                None,
                None,
                None,
            ],
            "_warn_email.skipped": [
                None,
                "first_email_invalid|'info at acme' is not a valid email; "
                "the 2nd value 'B@X.com' was used",
                "first_email_invalid|'nope' is not a valid email; the 3rd value 'c@y.com' was used",
                None,
                None,
                None,
                None,
            ],
            "_warn_email": [None] * 7,
        },
        schema={
            "source_row": pl.Int64,
            "email": pl.String,
            "custom": CUSTOM,
            "_err_email": pl.String,
            "_warn_email.skipped": pl.String,
            "_warn_email": pl.String,
        },
    )
    assert_frame_equal(out, expected)


@pytest.mark.parametrize(
    ("position", "ordinal"), [(2, "2nd"), (4, "4th"), (11, "11th"), (12, "12th"), (21, "21st")]
)
def test_the_note_names_the_value_used(position: int, ordinal: str) -> None:
    values = [f"bad{i}" for i in range(1, position)] + ["ok@x.com"]
    row = normalise_emails(_frame([values], [None])).collect().row(0, named=True)
    assert row["email"] == "ok@x.com"
    assert row["_warn_email.skipped"] == (
        f"first_email_invalid|'bad1' is not a valid email; the {ordinal} value 'ok@x.com' was used"
    )


def test_a_typo_note_follows_the_candidate_used() -> None:
    out = normalise_emails(_frame([["x", "ann@gmail.comn"]], [None])).collect()
    assert out["email"].to_list() == ["ann@gmail.comn"]
    assert out["_warn_email"].to_list() == [
        "email_typo|'ann@gmail.comn': the domain 'gmail.comn' looks like a typo of 'gmail.com'"
    ]


def test_without_a_custom_column_one_is_made() -> None:
    lf = _frame([["x", "a@b.com"], ["c@d.com"]], [None, None]).drop("custom")
    out = normalise_emails(lf).collect()
    assert out.schema["custom"] == CUSTOM
    assert out["custom"].to_list() == [[_other("x")], None]
    assert "_email_candidates" not in out.columns


def test_without_candidates_nothing_changes_but_the_notes() -> None:
    lf = pl.LazyFrame({"email": ["a@b.com", "nope"], "custom": [None, None]})
    out = normalise_emails(lf.with_columns(pl.col("custom").cast(CUSTOM))).collect()
    assert out.columns == ["email", "custom", "_err_email", "_warn_email"]
    assert out["email"].to_list() == ["a@b.com", None]


def test_candidates_are_checked_once_each_and_rows_keep_their_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[str] = []

    def recording(keys: pl.DataFrame) -> pl.DataFrame:
        sent.extend(keys["email_key"].to_list())
        return validate_email_values(keys)

    monkeypatch.setattr(transforms.emails, "validate_email_values", recording)
    # Enough rows for the streaming engine to split them into several morsels.
    rows = 300_000
    i = pl.int_range(rows)
    firsts = pl.format("U{}@y.com", i)
    seconds = pl.format("u{}@x.com", i)
    two = pl.concat_list(firsts, pl.lit("n/a"))
    three = pl.concat_list(pl.lit("info at acme"), seconds, pl.lit("n/a"))
    candidates = pl.when(i % 3 == 0).then(two).otherwise(three)
    lf = pl.LazyFrame().select(
        (i + 2).alias("source_row"),
        candidates.list.first().alias("email"),
        candidates.alias("_email_candidates"),
        pl.lit(None, CUSTOM).alias("custom"),
    )
    out = normalise_emails(lf).collect()
    expected = pl.select(pl.when(i % 3 == 0).then(firsts.str.to_lowercase()).otherwise(seconds))
    assert out["source_row"].to_list() == list(range(2, rows + 2))
    assert out["email"].to_list() == expected.to_series().to_list()
    assert out["custom"][:3].to_list() == [
        [_other("n/a")],
        [_other("info at acme; n/a")],
        [_other("info at acme; n/a")],
    ]
    assert sorted(sent) == ["info at acme", "n/a"]  # the valid ones never left polars


@functools.cache
def _alone() -> dict[str, tuple[str | None, str | None]]:
    """Each of `_VALUES` as `normalise_emails` decides it on its own: (email, error)."""
    lf = pl.LazyFrame({"email": list(_VALUES)}, schema={"email": pl.String})
    out = normalise_emails(lf).collect()
    return {v: (e, r) for v, e, r in zip(_VALUES, out["email"], out["_err_email"], strict=True)}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_VALUES), max_size=4), min_size=1, max_size=20))
def test_the_choice_is_the_first_candidate_email_validator_accepts(
    candidates: list[list[str]],
) -> None:
    alone = _alone()
    out = normalise_emails(_frame(list(candidates), [None] * len(candidates))).collect()
    for values, row in zip(candidates, out.iter_rows(named=True), strict=True):
        valid = [i for i, v in enumerate(values) if alone[v][0] is not None]
        at = valid[0] if valid else 0
        assert (row["email"], row["_err_email"]) == (alone[values[at]] if values else (None, None))
        others = [v.strip() for i, v in enumerate(values) if i != at]
        assert row["custom"] == ([_other("; ".join(others))] if others else None)
        assert (row["_warn_email.skipped"] is not None) == (at > 0)
