"""Duplicates within the file: policies first, last and reject, per identity key."""

from __future__ import annotations

import polars as pl
import pytest

from tests.transforms.frames import normalised
from transforms.dedupe import DUPLICATE, dedupe, duplicate_marks
from transforms.validate import ISSUES

ROWS = [
    {"email": "a@x.io", "first_name": "A1"},  # row 2
    {"email": "b@x.io"},  # row 3
    {"email": "a@x.io", "first_name": "A2"},  # row 4
    {"phone": "+12125550100", "email": "c@x.io"},  # row 5
    {"phone": "+12125550100"},  # row 6: same phone as row 5, no email: the same person
    {"email": "a@x.io", ISSUES: ["invalid_status|spam"]},  # row 7: invalid, never a duplicate
]


def _checked() -> pl.DataFrame:
    """ROWS as `validate` leaves them: their issues given, so this file tests dedupe alone."""
    rows = [dict(r) for r in ROWS]
    issues = [r.pop(ISSUES, []) for r in rows]
    return normalised(rows).with_columns(pl.Series(ISSUES, issues, pl.List(pl.String)))


def _run(policy: str) -> dict[int, str | None]:
    out = dedupe(_checked().lazy(), policy).collect()  # type: ignore[arg-type]
    return dict(zip(out["source_row"].to_list(), out[DUPLICATE].to_list(), strict=True))


def test_last_wins_by_default() -> None:
    marks = _run("last")
    assert marks[2] == "duplicate|same email 'a@x.io' as row 4, which was kept (policy last)"
    assert marks[4] is None
    assert marks[5] == "duplicate|same phone '+12125550100' as row 6, which was kept (policy last)"
    assert [marks[r] for r in (3, 6, 7)] == [None, None, None]


def test_first_wins() -> None:
    marks = _run("first")
    assert marks[4] == "duplicate|same email 'a@x.io' as row 2, which was kept (policy first)"
    assert marks[2] is None and marks[6] is not None and marks[5] is None


def test_reject_keeps_none_of_a_group() -> None:
    marks = _run("reject")
    assert (
        marks[2]
        == marks[4]
        == "duplicate|email 'a@x.io' is shared by 2 rows (2, 4); policy reject keeps none"
    )
    assert marks[3] is None


@pytest.mark.parametrize("policy", ["first", "last", "reject"])
def test_no_row_is_lost(policy: str) -> None:
    out = dedupe(_checked().lazy(), policy).collect()  # type: ignore[arg-type]
    assert sorted(out["source_row"].to_list()) == [2, 3, 4, 5, 6, 7]
    assert (
        out.filter(pl.col(DUPLICATE).is_not_null())["source_row"].n_unique()
        == out.filter(pl.col(DUPLICATE).is_not_null()).height
    )


@pytest.mark.parametrize("policy", ["first", "last", "reject"])
def test_duplicate_marks_out_of_core_are_dedupes_marks(policy: str) -> None:
    """`duplicate_marks` (hashes first, real values for the few sharing rows) marks exactly
    the rows `dedupe` marks, with the same messages."""
    frame = _checked()
    marked = dedupe(frame.lazy(), policy).collect()  # type: ignore[arg-type]
    expected = marked.filter(pl.col(DUPLICATE).is_not_null()).select("source_row", DUPLICATE)
    found = duplicate_marks(frame.lazy(), policy).collect()  # type: ignore[arg-type]
    assert found.sort("source_row").to_dicts() == expected.sort("source_row").to_dicts()
    assert found.height > 0
