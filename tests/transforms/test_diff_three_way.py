"""The three-way rule: base (what the file said at the last sync), source (the file now) and
target (the lead now), field by field; guards; send-once fields; the base to store next."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from schemas.fields import CUSTOM_ENTRY
from schemas.vendors import OCTANIST, OMNI
from transforms.diff import diff, next_base

ROW = {
    "matched_id": pl.String,
    "first_name": pl.String,
    "status": pl.String,
    "opted_out": pl.Boolean,
    "timezone": pl.String,
    "custom": pl.List(CUSTOM_ENTRY),
}
FIELDS = ("first_name", "status", "opted_out", "timezone", "custom")
LEAD = {"id": pl.String, **{k: v for k, v in ROW.items() if k != "matched_id"}}


def _frame(schema: dict[str, Any], **values: Any) -> pl.LazyFrame:
    return pl.LazyFrame([{**dict.fromkeys(schema), **values}], schema=schema)


def _diff(
    source: dict[str, Any], target: dict[str, Any], base: dict[str, Any] | None, **kw: Any
) -> dict[str, Any]:
    out = diff(
        _frame(ROW, matched_id="L1", **source),
        _frame(LEAD, id="L1", **target).with_columns(pl.lit(True).alias("_live")),
        FIELDS,
        base=None if base is None else _frame(LEAD, id="L1", **base),
        send_once=OMNI.send_once,
        status_locks=OMNI.status_locks,
        target_name="omni",
        **kw,
    ).collect()
    row: dict[str, Any] = out.row(0, named=True)
    notes = [c for c in out.columns if c.startswith("_warn_") and row[c] is not None]
    row["notes"] = sorted(c.removeprefix("_warn_") for c in notes)
    return row


def test_a_field_only_the_target_changed_is_left_alone_and_noted() -> None:
    row = _diff({"first_name": "Ann"}, {"first_name": "Annie"}, {"first_name": "Ann"})
    assert row["changed_fields"] == [] and row["notes"] == ["first_name.target_edit"]
    assert "kept omni's 'Annie'" in row["_warn_first_name.target_edit"]


def test_overwrite_makes_the_file_win() -> None:
    row = _diff(
        {"first_name": "Ann"},
        {"first_name": "Annie"},
        {"first_name": "Ann"},
        on_target_edit="overwrite",
    )
    assert row["changed_fields"] == ["first_name"] and row["send"]["first_name"] == "Ann"


def test_a_field_the_file_changed_is_sent_and_both_changed_says_what_it_replaced() -> None:
    row = _diff({"first_name": "Anna"}, {"first_name": "Annie"}, {"first_name": "Ann"})
    assert row["send"]["first_name"] == "Anna" and row["notes"] == ["first_name.both_changed"]
    assert "over omni's 'Annie'" in row["_warn_first_name.both_changed"]


def test_without_a_base_the_file_is_compared_with_the_target_only() -> None:
    assert _diff({"first_name": "Ann"}, {"first_name": "Annie"}, None)["changed_fields"] == [
        "first_name"
    ]
    assert _diff({"first_name": "Ann"}, {"first_name": "Ann"}, None)["changed_fields"] == []


def test_the_file_already_in_the_target_sends_nothing() -> None:
    row = _diff({"first_name": "Anna"}, {"first_name": "Anna"}, {"first_name": "Ann"})
    assert row["changed_fields"] == [] and row["notes"] == []


@pytest.mark.parametrize(
    ("base", "target", "sent"),
    [
        (None, None, "Asia/Kolkata"),  # no base yet: sent once
        ({"timezone": "Asia/Kolkata"}, None, None),  # sent before, not echoed: not again
        ({"timezone": "Europe/Paris"}, None, "Asia/Kolkata"),  # the file changed it
        ({"timezone": "Asia/Kolkata"}, "Europe/Paris", None),  # never diffed against the lead
    ],
)
def test_send_once_fields_follow_the_base_only(
    base: dict[str, Any] | None, target: str | None, sent: str | None
) -> None:
    row = _diff({"timezone": "Asia/Kolkata"}, {"timezone": target}, base)
    assert row["send"]["timezone"] == sent and row["notes"] == []


@pytest.mark.parametrize(
    ("now", "asked", "blocked"),
    [
        ("opted_out", "in_progress", True),
        ("not_interested", "in_progress", True),
        ("completed", "in_progress", True),
        ("not_interested", "opted_out", False),
        ("in_progress", "completed", False),
    ],
)
def test_omni_statuses_that_would_re_open_a_lead_are_held_back(
    now: str, asked: str, blocked: bool
) -> None:
    row = _diff({"status": asked}, {"status": now}, None)
    assert (row["send"]["status"] is None) is blocked
    assert row["_blocked"] == (["status"] if blocked else [])
    assert row["notes"] == (["status.reopen"] if blocked else [])
    allowed = _diff({"status": asked}, {"status": now}, None, allow_reopen=True)
    assert allowed["send"]["status"] == asked and allowed["_blocked"] == []


def test_an_opt_out_is_never_undone_without_allow_reopen() -> None:
    row = _diff({"opted_out": False}, {"opted_out": True}, None)
    assert row["send"]["opted_out"] is None and row["_blocked"] == ["opted_out"]
    assert _diff({"opted_out": True}, {"opted_out": False}, None)["send"]["opted_out"] is True


def test_octanist_closed_leads_stay_closed() -> None:
    out = diff(
        _frame(ROW, matched_id="L1", status="qualified"),
        _frame(LEAD, id="L1", status="won"),
        ("status",),
        status_locks=OCTANIST.status_locks,
    ).collect()
    assert out["_blocked"].to_list() == [["status"]] and out["changed_fields"].to_list() == [[]]


def test_custom_entries_follow_the_three_way_rule_per_key() -> None:
    source = [{"key": "loan", "value": "5000"}, {"key": "term", "value": "24"}]
    target = [{"key": "loan", "value": "7000"}, {"key": "term", "value": "12"}]
    base = [{"key": "loan", "value": "5000"}, {"key": "term", "value": "12"}]
    row = _diff({"custom": source}, {"custom": target}, {"custom": base})
    # loan: changed in the target only (kept); term: changed in the file (sent)
    assert row["send"]["custom"] == [{"key": "term", "value": "24"}]


def test_next_base_keeps_what_the_lead_now_holds_and_skips_blocked_fields() -> None:
    frame = pl.DataFrame(
        {
            "outcome": ["updated", "unchanged", "unchanged", "failed", "created"],
            "target_id": ["L1", "L2", "L3", "L4", "L5"],
            "_base_stale": [True, True, False, True, None],
            "_blocked": [["status"], [], [], [], []],
            "first_name": ["Ann", "Bo", "Cy", "Di", "Ed"],
            "status": ["in_progress", None, None, None, "won"],
        }
    )
    base = next_base(frame, ["first_name", "status"])
    assert base.rows() == [("L1", "Ann", None), ("L2", "Bo", None), ("L5", "Ed", "won")]


def test_an_inferred_time_zone_is_not_sent_to_a_lead_without_a_base() -> None:
    rows = _frame({**ROW, "timezone_source": pl.String}, matched_id="L1", timezone="Asia/Kolkata")
    out = diff(
        rows.with_columns(pl.lit("inferred").alias("timezone_source")),
        _frame(LEAD, id="L1"),
        ("timezone",),
        base=_frame(LEAD, id="other"),
        send_once=OMNI.send_once,
    ).collect()
    assert out["changed_fields"].to_list() == [[]]


def test_apten_follow_ups_are_held_back_from_an_unsubscribed_lead() -> None:
    from schemas.vendors import APTEN

    schema = {"matched_id": pl.String, "follow_up_step": pl.Int64}
    target = {"id": pl.String, "opted_out": pl.Boolean, "follow_up_step": pl.Int64}
    out = diff(
        _frame(schema, matched_id="L1", follow_up_step=2),
        _frame(target, id="L1", opted_out=True),
        ("follow_up_step",),
        send_once=APTEN.send_once,
        outreach=APTEN.outreach,
    ).collect()
    assert out["_blocked"].to_list() == [["follow_up_step"]]
    assert out["changed_fields"].to_list() == [[]]


def test_a_field_never_written_is_no_edit_of_the_target() -> None:
    """The base holds no status (the vendor could not set it): the target's own status is not
    a change "since the last import", so no both_changed or target_edit note."""
    row = _diff({"status": "won"}, {"status": "open"}, {"status": None, "first_name": "Ann"})
    assert row["send"]["status"] == "won" and row["notes"] == []


def test_a_value_the_file_did_not_change_is_not_an_unsent_edit() -> None:
    """Octanist reads its one `name` back split at the last space: the file's unchanged names
    differ from the target's, and must not read as edits it cannot take on every run."""
    snapshot = pl.LazyFrame(
        {"id": ["A"], "email": ["a@x.io"], "first_name": ["Asafe da"], "last_name": ["Conceição"]}
    )
    base = pl.LazyFrame({"id": ["A"], "first_name": ["Asafe"], "last_name": ["da Conceição"]})
    rows = pl.LazyFrame(
        {
            "source_row": [2, 3],
            "match_status": ["matched", "matched"],
            "matched_id": ["A", "A"],
            "email": ["a@x.io", "a@x.io"],
            "first_name": ["Asafe", "Asafe"],
            "last_name": ["da Conceição", "Silva"],  # the second row changed it since
        }
    )
    out = diff(rows, snapshot, ["email"], base=base).collect()
    assert out["_unsynced"].to_list() == [[], ["last_name"]]
