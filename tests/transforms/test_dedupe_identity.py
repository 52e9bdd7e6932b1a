"""A phone is one person's identity: rows sharing a phone but not an email are not duplicates."""

from __future__ import annotations

import random
import re

import polars as pl
import pytest

from tests.transforms.frames import normalised
from transforms.dedupe import DUPLICATE, dedupe, duplicate_marks
from transforms.validate import ISSUES

BOARD = "+12125550100"
POLICIES = ["first", "last", "reject"]


def _checked(rows: list[dict[str, object]]) -> pl.DataFrame:
    """Valid rows as `validate` leaves them (no issues), unless a row says otherwise."""
    issues = [r.pop(ISSUES, []) for r in rows]
    return normalised(rows).with_columns(pl.Series(ISSUES, issues, pl.List(pl.String)))


def _marks(rows: list[dict[str, object]], policy: str) -> dict[int, str | None]:
    out = dedupe(_checked(rows).lazy(), policy).collect()  # type: ignore[arg-type]
    return dict(zip(out["source_row"].to_list(), out[DUPLICATE].to_list(), strict=True))


SWITCHBOARD: list[dict[str, object]] = [
    {"email": "ann@x.io", "phone": BOARD},  # row 2
    {"email": "bob@x.io", "phone": BOARD},  # row 3
    {"phone": BOARD, "first_name": "Reception"},  # row 4: no email
    {"email": "cy@x.io", "phone": BOARD},  # row 5
    {"email": "di@x.io", "phone": BOARD},  # row 6
]
AMBIGUOUS = (
    f"ambiguous_phone|phone '{BOARD}' is shared by 4 rows with different emails (rows 2 to 6): "
    "with no email of its own this row cannot be told to be any one of them, so it is not "
    "imported"
)


@pytest.mark.parametrize("policy", POLICIES)
def test_four_people_on_one_switchboard_are_four_people(policy: str) -> None:
    marks = _marks([dict(r) for r in SWITCHBOARD], policy)
    assert marks == {2: None, 3: None, 4: AMBIGUOUS, 5: None, 6: None}


@pytest.mark.parametrize("policy", POLICIES)
def test_a_chain_through_a_row_without_email_never_joins_two_emails(policy: str) -> None:
    """A: a + P; B: P alone; C: c + P. B is like A and like C, but A is not C: B is merged
    with neither (it could be either), and A and C are both kept."""
    rows: list[dict[str, object]] = [
        {"email": "a@x.io", "phone": BOARD},
        {"phone": BOARD},
        {"email": "c@x.io", "phone": BOARD},
    ]
    marks = _marks(rows, policy)
    assert marks[2] is None and marks[4] is None
    assert marks[3] == (
        f"ambiguous_phone|phone '{BOARD}' is shared by 2 rows with different emails (rows 2 to "
        "4): with no email of its own this row cannot be told to be any one of them, so it is "
        "not imported"
    )


def test_one_person_with_and_without_email_is_still_one_row() -> None:
    rows: list[dict[str, object]] = [
        {"email": "a@x.io", "phone": BOARD},
        {"phone": BOARD},
        {"email": "a@x.io", "phone": BOARD},  # same person again
    ]
    assert _marks(rows, "first") == {
        2: None,
        3: f"duplicate|same phone '{BOARD}' as row 2, which was kept (policy first)",
        4: "duplicate|same email 'a@x.io' as row 2, which was kept (policy first)",
    }


def test_rows_merged_by_email_count_as_one_person_on_the_phone() -> None:
    """Ann twice (two phones) is merged by email first; what is left on the board is Ann and a
    row without email: one person, kept by the policy's position (last) as before."""
    rows: list[dict[str, object]] = [
        {"email": "ann@x.io", "phone": "+12125550111"},
        {"email": "ann@x.io", "phone": BOARD},
        {"phone": BOARD},
        {"email": "bob@x.io", "phone": "+12125550111"},
    ]
    assert _marks(rows, "last") == {
        2: "duplicate|same email 'ann@x.io' as row 3, which was kept (policy last)",
        3: f"duplicate|same phone '{BOARD}' as row 4, which was kept (policy last)",
        4: None,
        5: None,  # Bob shares a phone with Ann's row 2, which was merged away: not Ann
    }


def test_invalid_rows_do_not_make_a_switchboard() -> None:
    rows: list[dict[str, object]] = [
        {"email": "a@x.io", "phone": BOARD},
        {"email": "c@x.io", "phone": BOARD, ISSUES: ["invalid_status|no"]},
        {"phone": BOARD},
    ]
    assert _marks(rows, "last") == {
        2: f"duplicate|same phone '{BOARD}' as row 4, which was kept (policy last)",
        3: None,
        4: None,
    }


@pytest.mark.parametrize("policy", POLICIES)
def test_out_of_core_marks_are_the_same(policy: str) -> None:
    extra: list[dict[str, object]] = [{"phone": "+12125550199"}, {"phone": "+12125550199"}]
    frame = _checked([dict(r) for r in SWITCHBOARD] + extra)
    expected = (
        dedupe(frame.lazy(), policy)  # type: ignore[arg-type]
        .collect()
        .filter(pl.col(DUPLICATE).is_not_null())
        .select("source_row", DUPLICATE)
    )
    found = duplicate_marks(frame.lazy(), policy).collect()  # type: ignore[arg-type]
    assert found.sort("source_row").rows() == expected.sort("source_row").rows()
    assert found.height == (3 if policy == "reject" else 2)


@pytest.mark.parametrize("seed", range(5))
def test_no_mark_ever_joins_two_different_emails(seed: int) -> None:
    """Random small files: every `duplicate` names a kept row whose email agrees or is absent,
    and every row with an email that loses, loses to that same email or to a row without one."""
    rng = random.Random(seed)
    emails = [None, "a@x.io", "b@x.io", "c@x.io"]
    phones = [None, "+12125550101", "+12125550102", "+12125550103"]
    rows: list[dict[str, object]] = [
        {"email": rng.choice(emails), "phone": rng.choice(phones)} for _ in range(60)
    ]
    emails_of = {i + 2: r["email"] for i, r in enumerate(rows)}
    for policy in ("first", "last"):
        marks = _marks([dict(r) for r in rows], policy)
        lost = {row: m for row, m in marks.items() if m and m.startswith("duplicate|")}
        assert lost, "the random file has duplicates"
        absorbed: dict[int, set[object]] = {}
        for row, mark in lost.items():
            winner = int(re.search(r"as row (\d+)", mark).group(1))  # type: ignore[union-attr]
            mine, theirs = emails_of[row], emails_of[winner]
            assert mine is None or theirs is None or mine == theirs, (row, mark)
            absorbed.setdefault(winner, {theirs}).add(mine)
        # No kept row stands for two people: the emails merged into it are one at most.
        assert all(len(e - {None}) <= 1 for e in absorbed.values()), absorbed
