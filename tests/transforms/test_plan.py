"""Plan: one outcome per row, skips decided before sending, deterministic op ids."""

from __future__ import annotations

import polars as pl
import pytest

from schemas.vendors import APTEN, OCTANIST, OMNI
from transforms.plan import plan

COLUMNS = {
    "source_row": pl.Int64,
    "outcome": pl.String,
    "reason_code": pl.String,
    "reason": pl.String,
    "match_status": pl.String,
    "matched_id": pl.String,
    "match_reason": pl.String,
    "changed_fields": pl.List(pl.String),
    "status": pl.String,
    "external_id": pl.String,
    "email": pl.String,
    "phone": pl.String,
    "first_name": pl.String,
    "last_name": pl.String,
    "customer_profile": pl.String,
    "_send_email": pl.String,
}


def _rows(*rows: dict[str, object]) -> pl.LazyFrame:
    base = {"outcome": "valid", "match_status": "new"}
    return pl.LazyFrame(
        [{**dict.fromkeys(COLUMNS), **base, "source_row": i + 2, **r} for i, r in enumerate(rows)],
        schema=COLUMNS,
    )


def _run(rows: pl.LazyFrame, vendor=OCTANIST, **kw: object) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    out = plan(rows, vendor, profile="p", **kw).collect()  # type: ignore[arg-type]
    return out.select("outcome", "op", "reason_code").rows()


def test_outcomes() -> None:
    rows = _rows(
        {"email": "a@x.io"},
        {
            "match_status": "matched",
            "matched_id": "L1",
            "changed_fields": ["email"],
            "_send_email": "b@x.io",
        },
        {"match_status": "matched", "matched_id": "L2", "changed_fields": []},
        {"match_status": "conflict", "match_reason": "2 target leads share this email: L3, L4"},
        {"outcome": "invalid", "reason_code": "invalid_phone", "reason": "bad"},
        {"outcome": "duplicate", "reason_code": "duplicate", "reason": "same as row 9"},
    )
    assert _run(rows) == [
        ("would_create", "create", None),
        ("would_update", "update", None),
        ("unchanged", None, None),
        ("conflict", None, "conflict"),
        ("invalid", None, "invalid_phone"),
        ("duplicate", None, "duplicate"),
    ]


@pytest.mark.parametrize(
    ("mode", "row", "code"),
    [
        ("update", {"email": "a@x.io"}, "mode_update"),
        (
            "create",
            {"match_status": "matched", "matched_id": "L1", "changed_fields": ["email"]},
            "mode_create",
        ),
        ("upsert", {"email": "a@x.io", "status": "completed"}, "unsettable_status"),
    ],
)
def test_skips_before_sending(mode: str, row: dict[str, object], code: str) -> None:
    assert _run(_rows(row), mode=mode) == [("skipped", None, code)]


def test_vendor_rules() -> None:
    apten = (
        plan(_rows({"first_name": "A", "phone": "+1"}), APTEN, profile="p")
        .collect()
        .row(0, named=True)
    )
    assert (apten["outcome"], apten["reason_code"]) == ("skipped", "missing_required")
    assert apten["reason"] == "apten needs last_name, customer_profile to create a lead"
    omni = (
        plan(
            _rows(
                {
                    "match_status": "matched",
                    "matched_id": "L1",
                    "changed_fields": ["status"],
                    "status": "won",
                }
            ),
            OMNI,
            profile="p",
        )
        .collect()
        .row(0, named=True)
    )
    settable = "completed, in_progress, not_interested, opted_out"
    assert omni["reason"] == f"omni cannot set status 'won' (settable: {settable})"


def test_op_ids_are_deterministic_and_distinct() -> None:
    rows = _rows({"email": "a@x.io"}, {"email": "b@x.io"})
    first = plan(rows, OCTANIST, profile="p").collect()["op_id"].to_list()
    again = plan(rows, OCTANIST, profile="p").collect()["op_id"].to_list()
    other = plan(rows, OCTANIST, profile="q").collect()["op_id"].to_list()
    assert first == again and len(set(first)) == 2 and set(first).isdisjoint(other)


def test_a_new_lead_in_the_vendors_initial_status_needs_no_status_request() -> None:
    assert _run(_rows({"email": "a@x.io", "status": "open"})) == [("would_create", "create", None)]
    # Apten has no status at all: a status column never blocks a row
    row = {
        "email": "a@x.io",
        "status": "won",
        "first_name": "A",
        "last_name": "B",
        "phone": "+1",
        "customer_profile": "Default",
    }
    assert _run(_rows(row), vendor=APTEN) == [("would_create", "create", None)]


def test_a_new_row_the_vendor_could_never_find_again_is_skipped() -> None:
    out = plan(
        _rows({"external_id": "1017", "first_name": "Quinn"}), OCTANIST, profile="p"
    ).collect()
    row = out.row(0, named=True)
    assert (row["outcome"], row["reason_code"]) == ("skipped", "unfindable")
    assert "without email or phone" in row["reason"]
    omni = plan(_rows({"external_id": "1017", "first_name": "Quinn"}), OMNI, profile="p").collect()
    assert omni["outcome"].to_list() == ["would_create"]  # Omni keeps externalLeadId
