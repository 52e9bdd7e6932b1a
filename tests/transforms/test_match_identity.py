"""A phone identifies one person: rows and target leads that share a phone but not an email are
different people (company switchboards), never a match."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from schemas.vendors import APTEN, OCTANIST, OMNI, VendorSpec
from tests.transforms.frames import normalised
from transforms.dedupe import DUPLICATE
from transforms.match import match, match_index, match_rows
from transforms.plan import plan
from transforms.validate import ISSUES

BOARD = "+12125550100"
# Three people behind one switchboard (two with an email, one without), and a lead alone on its
# own line.
SNAPSHOT = pl.LazyFrame(
    {
        "id": ["L1", "L2", "L3", "L4"],
        "email": ["ann@x.io", "bob@x.io", None, "di@x.io"],
        "phone": [BOARD, BOARD, "+12125550199", "+12125550104"],
    }
)
ALONE = pl.LazyFrame({"id": ["L9"], "email": ["bob@x.io"], "phone": [BOARD]})


def _match(
    rows: list[dict[str, str | None]], snapshot: pl.LazyFrame = SNAPSHOT
) -> list[tuple[object, ...]]:
    columns = ("email", "phone")
    source = pl.LazyFrame(
        {
            "source_row": list(range(2, len(rows) + 2)),
            **{c: [r.get(c) for r in rows] for c in columns},
        },
        schema={"source_row": pl.Int64, **dict.fromkeys(columns, pl.String)},
    )
    out = match(source, snapshot, keys=("email", "phone")).collect()
    return out.select("match_status", "match_by", "matched_id", "match_reason").rows()


def test_a_row_never_matches_another_persons_lead_by_phone() -> None:
    assert _match([{"email": "cy@x.io", "phone": BOARD}], ALONE) == [
        ("new", None, None, f"{BOARD} belongs to L9 (bob@x.io)")
    ]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        # the emails agree: found by email, the phone agrees
        ({"email": "bob@x.io", "phone": BOARD}, ("matched", "email", "L9", None)),
        # the row has no email: the phone is enough (one side has no email)
        ({"email": None, "phone": BOARD}, ("matched", "phone", "L9", None)),
    ],
)
def test_a_phone_finds_a_lead_when_one_side_has_no_email_or_the_emails_agree(
    row: dict[str, str | None], expected: tuple[object, ...]
) -> None:
    assert _match([row], ALONE) == [expected]


def test_a_lead_without_email_is_found_by_the_phone_of_a_row_with_one() -> None:
    assert _match([{"email": "new@x.io", "phone": "+12125550199"}]) == [
        ("matched", "phone", "L3", None)
    ]


def test_a_row_without_email_on_a_shared_phone_is_a_conflict_as_before() -> None:
    assert _match([{"phone": BOARD}]) == [
        ("conflict", None, None, "2 target leads share this phone: L1, L2")
    ]


def test_the_switchboards_people_each_find_only_their_own_lead() -> None:
    rows = _match(
        [
            {"email": "ann@x.io", "phone": BOARD},
            {"email": "bob@x.io", "phone": BOARD},
            {"email": "cy@x.io", "phone": BOARD},  # a third person: new, not L1 or L2
            {"email": "di@x.io", "phone": BOARD},  # Di's lead has another phone: still Di's
        ]
    )
    assert rows == [
        ("matched", "email", "L1", None),
        ("matched", "email", "L2", None),
        ("new", None, None, f"{BOARD} belongs to L1 (ann@x.io) and 1 other lead(s)"),
        ("matched", "email", "L4", None),
    ]


def test_a_match_index_gives_what_the_snapshot_gives() -> None:
    rows = [{"email": "cy@x.io", "phone": BOARD}, {"phone": BOARD}]
    source = pl.LazyFrame(rows, schema={"email": pl.String, "phone": pl.String})
    lazy = match(source, SNAPSHOT, keys=("email", "phone")).collect()
    indexed = match(source, match_index(SNAPSHOT, ("email", "phone"))).collect()
    assert indexed.equals(lazy)
    assert lazy["match_status"].to_list() == ["new", "conflict"]


def test_without_emails_on_either_side_the_phone_decides_as_before() -> None:
    snapshot = pl.LazyFrame({"id": ["L1"], "phone": [BOARD]})
    assert _match([{"email": "x@x.io", "phone": BOARD}], snapshot) == [
        ("matched", "phone", "L1", None)
    ]


def _checked(rows: list[dict[str, object]]) -> pl.DataFrame:
    issues = [r.pop("_issues", []) for r in rows]
    duplicates = [r.pop("_duplicate", None) for r in rows]
    return normalised(rows).with_columns(
        pl.Series(ISSUES, issues, pl.List(pl.String)),
        pl.Series(DUPLICATE, duplicates, pl.String),
    )


def test_match_rows_names_the_earlier_new_row_that_takes_a_shared_phone() -> None:
    """Two new people on one new number: the first row creates the lead that takes the phone;
    the second's reason names it (what a vendor keeping one lead per phone needs). A new row
    whose phone a target lead holds keeps that lead's name, and rows not valid name nothing."""
    line = "+12125550177"
    frame = _checked(
        [
            {"email": "eve@x.io", "phone": line},
            {"email": "fay@x.io", "phone": line},
            {"email": "gus@x.io", "phone": line, "_issues": ["invalid_status|no"]},
            {"email": "cy@x.io", "phone": BOARD},
            {"email": "hal@x.io", "phone": "+12125550178"},
        ]
    )
    out = match_rows(frame, match_index(SNAPSHOT), {})
    assert out.select("match_status", "match_reason").rows() == [
        ("new", None),
        ("new", f"{line} belongs to the lead row 2 creates (eve@x.io)"),
        (None, None),
        ("new", f"{BOARD} belongs to L1 (ann@x.io) and 1 other lead(s)"),
        ("new", None),
    ]


_PLAN_COLUMNS: dict[str, Any] = {
    "source_row": pl.Int64,
    "outcome": pl.String,
    "reason_code": pl.String,
    "reason": pl.String,
    "match_status": pl.String,
    "matched_id": pl.String,
    "match_reason": pl.String,
    "changed_fields": pl.List(pl.String()),
    "status": pl.String,
    "external_id": pl.String,
    "email": pl.String,
    "phone": pl.String,
    "first_name": pl.String,
    "last_name": pl.String,
    "customer_profile": pl.String,
    "send": pl.Struct({"email": pl.String}),
}


@pytest.mark.parametrize(
    ("vendor", "expected"),
    [
        (
            APTEN,
            [
                ("would_create", None, None),
                (
                    "skipped",
                    "phone_taken",
                    f"apten keeps one lead per phone; {BOARD} belongs to L1 (ann@x.io)",
                ),
                (
                    "skipped",
                    "phone_taken",
                    f"apten keeps one lead per phone; {BOARD} belongs to the lead row 2 creates "
                    "(eve@x.io)",
                ),
            ],
        ),
        (OMNI, [("would_create", None, None)] * 3),
        (OCTANIST, [("would_create", None, None)] * 3),
    ],
)
def test_only_a_vendor_keeping_one_lead_per_phone_skips_a_taken_phone(
    vendor: VendorSpec, expected: list[tuple[object, ...]]
) -> None:
    person = {"first_name": "P", "last_name": "Q", "customer_profile": "Default", "phone": BOARD}
    reasons = [
        None,
        f"{BOARD} belongs to L1 (ann@x.io)",
        f"{BOARD} belongs to the lead row 2 creates (eve@x.io)",
    ]
    rows = pl.LazyFrame(
        [
            {
                **dict.fromkeys(_PLAN_COLUMNS),
                **person,
                "outcome": "valid",
                "match_status": "new",
                "source_row": i + 2,
                "email": f"p{i}@x.io",
                "match_reason": reason,
            }
            for i, reason in enumerate(reasons)
        ],
        schema=_PLAN_COLUMNS,
    )
    out = plan(rows, vendor, profile="p").collect()
    assert out.select("outcome", "reason_code", "reason").rows() == expected


def test_one_person_whose_email_changed_is_found_by_phone_and_full_name() -> None:
    """The same phone and the same first and last name: the lead's person, with a new email
    (an edit of the email cell). Another name on that phone stays another person."""
    snapshot = ALONE.with_columns(
        pl.lit("Bob").alias("first_name"), pl.lit("Ray").alias("last_name")
    )
    source = pl.LazyFrame(
        {
            "email": ["bob@y.io", "cy@x.io", "bo@y.io"],
            "phone": [BOARD, BOARD, BOARD],
            "first_name": ["bob", "Cy", "Bob"],
            "last_name": ["RAY", "Day", None],
        }
    )
    out = match(source, snapshot, keys=("email", "phone")).collect()
    assert out.select("match_status", "match_by", "matched_id").rows() == [
        ("matched", "phone", "L9"),
        ("new", None, None),
        ("new", None, None),  # a first name alone is not enough
    ]
