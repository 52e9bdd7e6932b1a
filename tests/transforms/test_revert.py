"""transforms.revert: what a revert puts back, what it leaves alone, and what it lists."""

from __future__ import annotations

import json
from typing import Any

import polars as pl
import pytest

from schemas.fields import CHANGE_ENTRY, canonical_dtype
from schemas.frames import SEND
from schemas.vendors import OCTANIST, OMNI
from transforms.revert import previous_values, restored_leads, revert_plan, updated_leads

OPS_SCHEMA = {
    "op_id": pl.String,
    "source_row": pl.Int64,
    "op": pl.String,
    "state": pl.String,
    "target_id": pl.String,
    "sent": pl.String,
    "previous": pl.String,
}


def _op(
    op_id: str,
    target_id: str | None,
    sent: dict[str, Any] | None,
    previous: dict[str, Any] | None,
    *,
    op: str = "update",
    state: str = "succeeded",
    row: int = 2,
) -> dict[str, Any]:
    return {
        "op_id": op_id,
        "source_row": row,
        "op": op,
        "state": state,
        "target_id": target_id,
        "sent": json.dumps(sent) if sent is not None else None,
        "previous": json.dumps(previous) if previous is not None else None,
    }


def _live(*leads: dict[str, Any]) -> pl.DataFrame:
    names = sorted({k for lead in leads for k in lead} - {"id"})
    schema = {"id": pl.String, **{f: canonical_dtype(f) for f in names}}
    return pl.DataFrame(list(leads), schema=schema)


def _plan(ops: list[dict[str, Any]], live: pl.DataFrame, vendor: Any = OMNI) -> pl.DataFrame:
    return revert_plan(pl.DataFrame(ops, schema=OPS_SCHEMA), live, vendor, reverts="r2")


def _warnings(row: dict[str, Any]) -> list[tuple[str, str]]:
    return [(w["field"], w["code"]) for w in row["warnings"]]


def test_a_field_that_still_holds_what_the_run_sent_gets_its_previous_value_back() -> None:
    ops = [
        _op(
            "1",
            "L1",
            {"first_name": "Anna", "tags": ["a", "b"]},
            {"first_name": "Ann", "tags": ["a"]},
        )
    ]
    planned = _plan(ops, _live({"id": "L1", "first_name": "Anna", "tags": ["a", "b"]}))
    row = planned.row(0, named=True)
    assert (row["outcome"], row["op"], row["matched_id"]) == ("would_update", "update", "L1")
    assert row["changed_fields"] == ["first_name", "tags"]
    assert row[SEND]["first_name"] == "Ann" and row[SEND]["tags"] == ["a"]
    assert row[SEND]["last_name"] is None  # not sent
    assert row["changes"] == [
        {"field": "first_name", "old": "Anna", "new": "Ann"},
        {"field": "tags", "old": '["a","b"]', "new": '["a"]'},
    ]
    assert row["warnings"] == [] and row["op_id"] is not None


def test_a_field_changed_in_the_target_since_the_run_is_left_alone_and_listed() -> None:
    ops = [
        _op(
            "1",
            "L1",
            {"first_name": "Bobby", "business_name": "Bolt Ltd"},
            {"first_name": "Bob", "business_name": "Bolt"},
        )
    ]
    live = _live({"id": "L1", "first_name": "Bobby", "business_name": "Bolt Edited"})
    row = _plan(ops, live).row(0, named=True)
    assert row["outcome"] == "would_update" and row["changed_fields"] == ["first_name"]
    assert row[SEND]["business_name"] is None
    assert _warnings(row) == [("business_name", "target_edit")]
    assert "'Bolt Edited'" in row["warnings"][0]["message"]

    only_edited = _plan(
        [_op("1", "L1", {"business_name": "Bolt Ltd"}, {"business_name": "Bolt"})], live
    )
    left = only_edited.row(0, named=True)
    assert (left["outcome"], left["reason_code"], left["op"]) == ("skipped", "target_edit", None)
    assert left["op_id"] is None


def test_creates_are_listed_with_their_lead_never_planned() -> None:
    ops = [
        _op("1", "L9", {"first_name": "Ed"}, None, op="create", row=6),
        _op("2", None, {"first_name": "Fay"}, None, op="create", state="failed", row=7),
    ]
    planned = _plan(ops, _live({"id": "L1", "first_name": "x"}))
    assert planned["outcome"].to_list() == ["skipped", "skipped"]
    assert planned["reason_code"].to_list() == ["created_by_run", "not_applied"]
    assert planned["target_id"].to_list() == ["L9", None]
    assert "L9" in planned["reason"][0] and planned["op"].null_count() == 2
    assert planned["warnings"].to_list() == [[], []]
    assert planned["changed_fields"].to_list() == [[], []]


def test_a_value_the_vendor_stores_differently_still_counts_as_what_was_sent() -> None:
    # tags compare as case-blind sets (transforms.diff): Omni reads "VIP" back as "vip".
    ops = [_op("1", "L1", {"tags": ["VIP", "new"]}, {"tags": ["old"]})]
    row = _plan(ops, _live({"id": "L1", "tags": ["new", "vip"]})).row(0, named=True)
    assert row["changed_fields"] == ["tags"] and row[SEND]["tags"] == ["old"]


def test_what_cannot_be_checked_or_set_is_left_alone_with_its_reason() -> None:
    ops = [
        # Omni returns no time zone: whether it changed since cannot be seen
        _op("1", "L1", {"timezone": "Europe/Paris"}, {"timezone": "Europe/Rome"}, row=2),
        # blank before, and Omni cannot clear a business name
        _op("2", "L2", {"business_name": "Acme"}, {"business_name": None}, row=3),
        # a companion the run sent: its value before is not known
        _op("3", "L3", {"last_name": "Lee"}, {}, row=4),
    ]
    live = _live(
        {"id": "L1", "timezone": "Europe/Paris"},
        {"id": "L2", "business_name": "Acme"},
        {"id": "L3", "last_name": "Lee"},
    )
    planned = _plan(ops, live)
    assert planned["reason_code"].to_list() == ["unverifiable", "not_clearable", "no_previous"]
    assert planned["outcome"].unique().to_list() == ["skipped"]


def test_tags_blank_before_are_cleared_where_the_vendor_can() -> None:
    ops = [_op("1", "L1", {"tags": ["x"]}, {"tags": None})]
    row = _plan(ops, _live({"id": "L1", "tags": ["x"]})).row(0, named=True)
    assert row["changed_fields"] == ["tags"] and row[SEND]["tags"] is None  # ops: Omni's []


def test_octanist_status_is_restored_unless_it_was_one_octanist_cannot_set() -> None:
    ops = [
        _op("1", "L1", {"status": "won", "value": 150.0}, {"status": "qualified", "value": 100.0}),
        _op("2", "L2", {"status": "won"}, {"status": "open"}, row=3),
    ]
    live = _live({"id": "L1", "status": "won", "value": 150.0}, {"id": "L2", "status": "won"})
    planned = _plan(ops, live, OCTANIST)
    first, second = planned.rows(named=True)
    assert first["changed_fields"] == ["status", "value"]
    assert (first[SEND]["status"], first[SEND]["value"]) == ("qualified", 100.0)
    assert (second["outcome"], second["reason_code"]) == ("skipped", "not_settable")


@pytest.mark.parametrize(
    ("state", "sent", "found", "code"),
    [
        ("failed", {"first_name": "A"}, True, "not_applied"),
        ("succeeded", None, True, "not_journaled"),
        ("succeeded", {"first_name": "A"}, False, "lead_gone"),
    ],
)
def test_updates_with_nothing_to_undo_say_why(
    state: str, sent: dict[str, Any] | None, found: bool, code: str
) -> None:
    ops = [_op("1", "L1", sent, {"first_name": "B"} if sent else None, state=state)]
    live = _live({"id": "L1" if found else "L0", "first_name": "A"})
    row = _plan(ops, live).row(0, named=True)
    assert (row["outcome"], row["reason_code"], row["op"]) == ("skipped", code, None)


def test_a_field_already_back_to_its_previous_value_sends_nothing() -> None:
    ops = [_op("1", "L1", {"first_name": "Anna"}, {"first_name": "Ann"})]
    row = _plan(ops, _live({"id": "L1", "first_name": "Ann"})).row(0, named=True)
    assert (row["outcome"], row["reason_code"], row["op"]) == (
        "unchanged",
        "already_restored",
        None,
    )


def test_op_ids_are_stable_and_name_the_payload() -> None:
    ops = [_op("1", "L1", {"first_name": "Anna"}, {"first_name": "Ann"})]
    live = _live({"id": "L1", "first_name": "Anna"})
    assert _plan(ops, live)["op_id"].to_list() == _plan(ops, live)["op_id"].to_list()
    other = [_op("1", "L1", {"first_name": "Anna"}, {"first_name": "An"})]
    assert _plan(other, live)["op_id"][0] != _plan(ops, live)["op_id"][0]


def test_previous_values_type_the_old_texts_of_the_plans_changes() -> None:
    changes = [
        [
            {"field": "first_name", "old": 'Ann "A"', "new": "Anna"},
            {"field": "tags", "old": '["a"]', "new": '["a","b"]'},
            {"field": "value", "old": "100.0", "new": "150.0"},
            {"field": "business_name", "old": None, "new": "Acme"},
            {"field": "custom", "old": '[{"key":"k","value":"v"}]', "new": "[]"},
        ],
        None,
    ]
    planned = pl.DataFrame(
        {"op_id": ["1", "2"], "op": ["update", "create"], "changes": changes},
        schema={"op_id": pl.String, "op": pl.String, "changes": pl.List(CHANGE_ENTRY)},
    )
    found = previous_values(planned)
    assert found["op_id"].to_list() == ["1"]
    assert json.loads(found["previous"][0]) == {
        "first_name": 'Ann "A"',
        "tags": ["a"],
        "value": 100.0,
        "business_name": None,
    }


def test_updated_and_restored_leads() -> None:
    ops = pl.DataFrame(
        [
            _op("1", "L1", {"first_name": "A"}, {}),
            _op("2", "L2", {"first_name": "A"}, {}, state="failed"),
            _op("3", "L3", {"first_name": "A"}, None, op="create"),
        ],
        schema=OPS_SCHEMA,
    )
    assert updated_leads(ops) == ["L1"]
    applied = pl.DataFrame(
        {
            "target_id": ["L1", "L2"],
            "outcome": ["updated", "failed"],
            "op": ["update", "update"],
            "changed_fields": [["first_name"], ["first_name"]],
            SEND: [{"first_name": "Ann"}, {"first_name": "Bob"}],
        }
    )
    assert restored_leads(applied).to_dicts() == [
        {
            "target_id": "L1",
            "outcome": "updated",
            "changed_fields": ["first_name"],
            "first_name": "Ann",
        }
    ]


def test_a_run_without_ops_plans_nothing() -> None:
    planned = _plan([], pl.DataFrame(schema={"id": pl.String}))
    assert planned.height == 0 and {"outcome", "op", "op_id", SEND} <= set(planned.columns)
