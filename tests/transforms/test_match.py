"""Matching: one target lead, none, several, or keys that disagree. Never a guess."""

from __future__ import annotations

import polars as pl

from tests.transforms.frames import normalised
from transforms.dedupe import DUPLICATE
from transforms.match import match, match_index, match_rows
from transforms.validate import ISSUES

SNAPSHOT = pl.LazyFrame(
    {
        "id": ["A", "B", "C", "D", "E"],
        "external_id": ["x1", None, None, "x4", None],
        "email": ["a@x.io", "b@x.io", "shared@x.io", "shared@x.io", None],
        "phone": ["+1001", "+1002", None, "+1004", "+1005"],
    }
)


def _run(rows: list[dict[str, str | None]]) -> list[tuple[object, ...]]:
    columns = ("target_id", "external_id", "email", "phone")
    source = pl.LazyFrame(
        {
            "source_row": list(range(2, len(rows) + 2)),
            **{c: [r.get(c) for r in rows] for c in columns},
        },
        schema={"source_row": pl.Int64, **dict.fromkeys(columns, pl.String)},
    )
    out = match(source, SNAPSHOT).collect()
    return out.select("match_status", "match_by", "matched_id", "match_reason").rows()


def test_each_kind_of_outcome() -> None:
    rows = _run(
        [
            {"email": "a@x.io"},  # matched by email
            {"target_id": "B", "email": "b@x.io"},  # matched by target id (agrees with email)
            {
                "external_id": "x4",
                "email": "shared@x.io",
            },  # external id decides; email's list holds D
            {"email": "new@x.io", "phone": "+1999"},  # new
            {"email": "shared@x.io"},  # two leads share the email
            {"email": "a@x.io", "phone": "+1005"},  # email says A, phone says E (no email)
            {"target_id": "Z"},  # an id the target does not have: new
            {"email": "a@x.io", "phone": "+1002"},  # B holds the phone, another person's
        ]
    )
    assert rows[0] == ("matched", "email", "A", None)
    assert rows[1] == ("matched", "target_id", "B", None)
    assert rows[2] == ("matched", "external_id", "D", None)
    assert rows[3] == ("new", None, None, None)
    assert rows[4] == ("conflict", None, None, "2 target leads share this email: C, D")
    assert rows[5] == (
        "conflict",
        None,
        None,
        "keys point at different target leads: email -> A; phone -> E",
    )
    assert rows[6] == ("new", None, None, None)
    assert rows[7] == ("matched", "email", "A", None)  # B's phone is not A's identity


def test_order_and_length_are_kept_and_snapshot_may_lack_keys() -> None:
    source = pl.LazyFrame({"source_row": [5, 3, 9], "email": ["b@x.io", None, "a@x.io"]})
    out = match(source, SNAPSHOT.select("id", "email"), keys=("email", "phone")).collect()
    assert out["source_row"].to_list() == [5, 3, 9]
    assert out["matched_id"].to_list() == ["B", None, "A"]


def _checked(rows: list[dict[str, object]]) -> pl.DataFrame:
    """Rows as `dedupe` leaves them: normalised, with their issues and duplicate marks."""
    issues = [r.pop("_issues", []) for r in rows]
    duplicates = [r.pop("_duplicate", None) for r in rows]
    return normalised(rows).with_columns(
        pl.Series(ISSUES, issues, pl.List(pl.String)),
        pl.Series(DUPLICATE, duplicates, pl.String),
    )


def test_match_rows_matches_only_valid_rows_and_speaks_the_vendors_status_words() -> None:
    frame = _checked(
        [
            {"email": "a@x.io", "status": "new"},
            {"email": "b@x.io", "_issues": ["invalid_phone|the phone is not a number"]},
            {"email": "a@x.io", "_duplicate": "duplicate|same email as row 2"},
            {"email": "shared@x.io", "status": "won"},
            {"email": "z@x.io"},
        ]
    )
    out = match_rows(frame, match_index(SNAPSHOT), {"new": "open"})
    assert out.select("outcome", "match_status", "matched_id", "status").rows() == [
        ("valid", "matched", "A", "open"),
        ("invalid", None, None, None),
        ("duplicate", None, None, None),
        ("valid", "conflict", None, "won"),
        ("valid", "new", None, None),
    ]
    assert out["match_reason"].to_list()[3] == "2 target leads share this email: C, D"
    assert out.select("reason_code", "reason").rows()[1:3] == [
        ("invalid_phone", "the phone is not a number"),
        ("duplicate", "same email as row 2"),
    ]


def test_match_rows_without_aliases_keeps_the_status_words() -> None:
    out = match_rows(_checked([{"email": "a@x.io", "status": "new"}]), match_index(SNAPSHOT), {})
    assert out.select("match_by", "matched_id", "status").row(0) == ("email", "A", "new")
    assert out.columns[:3] == ["source_file", "source_row", "outcome"]
