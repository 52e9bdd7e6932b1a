"""Plan rows -> requests: the exact PlannedOp each vendor gets for creates and updates."""

from __future__ import annotations

from typing import Any

import polars as pl

from connectors import PlannedOp, ops_from_plan
from schemas.fields import CANONICAL_FIELDS, canonical_dtype
from schemas.frames import SEND
from schemas.vendors import APTEN, OCTANIST, OMNI, VENDORS, VendorSpec


def _plan(vendor: VendorSpec, *rows: dict[str, Any]) -> pl.DataFrame:
    """Planned rows as `plan` hands them on: canonical columns, the op, and the `send` struct
    (one entry per field the vendor's diff judges, null unless it changed)."""
    diffed = sorted(vendor.diffable)
    schema = {
        "op_id": pl.String(),
        "source_row": pl.Int64(),
        "op": pl.String(),
        "matched_id": pl.String(),
        "changed_fields": pl.List(pl.String()),
        **{f: canonical_dtype(f) for f in CANONICAL_FIELDS},
        SEND: pl.Struct({f: canonical_dtype(f) for f in diffed}),
    }
    full = [
        {**row, SEND: {f: row.get(SEND, {}).get(f) for f in diffed} if SEND in row else None}
        for row in rows
    ]
    return pl.DataFrame(full, schema=schema)


def test_every_vendor_is_covered() -> None:
    assert set(VENDORS) == {"omni", "apten", "octanist"}


def test_rows_without_an_op_send_nothing() -> None:
    frame = _plan(OMNI, {"op_id": None, "source_row": 2, "op": None, "email": "a@x.io"})
    assert ops_from_plan(frame, OMNI) == []
    assert ops_from_plan(frame.clear(), OMNI) == []


def test_omni_create_sends_status_after_the_create_unless_it_is_the_initial_one() -> None:
    frame = _plan(
        OMNI,
        {
            "op_id": "c1",
            "source_row": 2,
            "op": "create",
            "external_id": "X-1",
            "first_name": "Ann",
            "last_name": "Lee",
            "email": "ann@x.io",
            "phone": "+12125550100",
            "timezone": "America/New_York",
            "opted_out": False,  # a value: sent
            "tags": [],  # nothing: left out
            "status": "completed",
            "note": "Omni does not take notes",
        },
        {"op_id": None, "source_row": 3, "op": None, "email": "skip@x.io"},
        {
            "op_id": "c2",
            "source_row": 4,
            "op": "create",
            "first_name": "Bo",
            "email": "bo@x.io",
            "phone": "",  # empty: not a key, yet a value to create (only null and [] are left out)
            "status": "in_progress",  # Omni's initial status: nothing to follow up
        },
    )
    ops = ops_from_plan(frame, OMNI)
    assert ops == [
        PlannedOp(
            "c1",
            2,
            "create",
            {
                "email": "ann@x.io",
                "external_id": "X-1",
                "first_name": "Ann",
                "last_name": "Lee",
                "opted_out": False,
                "phone": "+12125550100",
                "timezone": "America/New_York",
            },
            keys={"external_id": "X-1", "email": "ann@x.io", "phone": "+12125550100"},
            then_update={"status": "completed"},
        ),
        PlannedOp(
            "c2",
            4,
            "create",
            {"email": "bo@x.io", "first_name": "Bo", "phone": ""},
            keys={"email": "bo@x.io"},
            then_update={},
        ),
    ]
    assert list(ops[0].fields) == sorted(ops[0].fields)  # the vendor's fields in name order


def test_omni_update_sends_the_changed_values_and_clears_tags_with_the_empty_list() -> None:
    frame = _plan(
        OMNI,
        {
            "op_id": "u1",
            "source_row": 5,
            "op": "update",
            "matched_id": "T5",
            "changed_fields": ["first_name", "status", "tags"],
            "first_name": "Dee",
            "email": "dee@x.io",
            "status": "completed",
            "tags": None,  # a blank cell under --blanks clear
            SEND: {"first_name": "Dee", "status": "completed", "tags": None},
        },
    )
    assert ops_from_plan(frame, OMNI) == [
        PlannedOp(
            "u1",
            5,
            "update",
            {"first_name": "Dee", "status": "completed", "tags": []},
            ref="T5",
            keys={"email": "dee@x.io"},
        )
    ]


def test_apten_create_sends_follow_up_fields_after_the_create() -> None:
    custom = [{"key": "plan", "value": "gold"}]
    frame = _plan(
        APTEN,
        {
            "op_id": "c1",
            "source_row": 2,
            "op": "create",
            "external_id": "A-1",
            "first_name": "Ann",
            "last_name": "Lee",
            "phone": "+12125550100",
            "customer_profile": "Default",
            "email": "ann@x.io",
            "timezone": "America/Chicago",
            "custom": custom,
            "follow_up_step": 2,
        },
        {
            "op_id": "c2",
            "source_row": 3,
            "op": "create",
            "first_name": "Bo",
            "last_name": "Ng",
            "phone": "+12125550101",
            "customer_profile": "Default",
            "custom": [],
        },
    )
    assert ops_from_plan(frame, APTEN) == [
        PlannedOp(
            "c1",
            2,
            "create",
            {
                "custom": custom,
                "customer_profile": "Default",
                "email": "ann@x.io",
                "first_name": "Ann",
                "last_name": "Lee",
                "phone": "+12125550100",
                "timezone": "America/Chicago",
            },
            keys={"external_id": "A-1", "email": "ann@x.io", "phone": "+12125550100"},
            then_update={"follow_up_step": 2},
        ),
        PlannedOp(
            "c2",
            3,
            "create",
            {
                "customer_profile": "Default",
                "first_name": "Bo",
                "last_name": "Ng",
                "phone": "+12125550101",
            },
            keys={"phone": "+12125550101"},
            then_update={},
        ),
    ]


def test_apten_update_sends_the_changed_entries() -> None:
    changed = [{"key": "plan", "value": "silver"}]
    frame = _plan(
        APTEN,
        {
            "op_id": "u1",
            "source_row": 6,
            "op": "update",
            "matched_id": "T6",
            "changed_fields": ["custom", "email"],
            "email": "new@x.io",
            "phone": "+12125550106",
            "custom": [{"key": "plan", "value": "silver"}, {"key": "same", "value": "x"}],
            SEND: {"custom": changed, "email": "new@x.io"},
        },
    )
    assert ops_from_plan(frame, APTEN) == [
        PlannedOp(
            "u1",
            6,
            "update",
            {"custom": changed, "email": "new@x.io"},  # only the entries that changed
            ref="T6",
            keys={"email": "new@x.io", "phone": "+12125550106"},
        )
    ]


def test_octanist_create_follows_up_status_and_value_but_not_the_initial_status() -> None:
    frame = _plan(
        OCTANIST,
        {
            "op_id": "c1",
            "source_row": 2,
            "op": "create",
            "first_name": "Oli",
            "last_name": "Ng",
            "email": "oli@x.io",
            "phone": "+12125550100",
            "note": "met at the fair",
            "status": "won",
            "value": 1200.0,
        },
        {
            "op_id": "c2",
            "source_row": 3,
            "op": "create",
            "first_name": "Pat",
            "email": "pat@x.io",
            "status": "open",  # Octanist's initial status: not sent again
            "value": 50.0,
        },
    )
    assert ops_from_plan(frame, OCTANIST) == [
        PlannedOp(
            "c1",
            2,
            "create",
            {
                "email": "oli@x.io",
                "first_name": "Oli",
                "last_name": "Ng",
                "note": "met at the fair",
                "phone": "+12125550100",
            },
            keys={"email": "oli@x.io", "phone": "+12125550100"},
            then_update={"status": "won", "value": 1200.0},
        ),
        PlannedOp(
            "c2",
            3,
            "create",
            {"email": "pat@x.io", "first_name": "Pat"},
            keys={"email": "pat@x.io"},
            then_update={"value": 50.0},
        ),
    ]


def test_octanist_update_sends_a_loss_reason_with_its_status() -> None:
    frame = _plan(
        OCTANIST,
        {
            "op_id": "u1",
            "source_row": 7,
            "op": "update",
            "matched_id": "T7",
            "changed_fields": ["loss_reason"],
            "email": "lost@x.io",
            "status": "lost",  # unchanged, but lossReason is only taken with it
            "loss_reason": "price",
            SEND: {"loss_reason": "price"},
        },
        {
            "op_id": "u2",
            "source_row": 8,
            "op": "update",
            "matched_id": "T8",
            "changed_fields": ["loss_reason"],
            "phone": "+12125550108",
            "status": None,  # no status to send along
            "loss_reason": "timing",
            SEND: {"loss_reason": "timing"},
        },
        {
            "op_id": "u3",
            "source_row": 9,
            "op": "update",
            "matched_id": "T9",
            "changed_fields": ["note", "value"],
            "email": "v@x.io",
            "note": "called back",
            "value": 100.0,  # the row's own column: what is sent is the diff's value
            SEND: {"note": "called back", "value": 99.5},
        },
    )
    assert ops_from_plan(frame, OCTANIST) == [
        PlannedOp(
            "u1",
            7,
            "update",
            {"loss_reason": "price", "status": "lost"},
            ref="T7",
            keys={"email": "lost@x.io"},
        ),
        PlannedOp(
            "u2",
            8,
            "update",
            {"loss_reason": "timing"},
            ref="T8",
            keys={"phone": "+12125550108"},
        ),
        PlannedOp(
            "u3",
            9,
            "update",
            {"note": "called back", "value": 99.5},
            ref="T9",
            keys={"email": "v@x.io"},
        ),
    ]
