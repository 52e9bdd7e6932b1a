"""The executor: journaled sends, resume without resending, ambiguous creates never duplicated."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from connectors import (
    Journal,
    OpResult,
    PlannedOp,
    PushReport,
    RemoteLead,
    WriteResult,
    earlier_attempts_frame,
    push,
    push_results_frame,
    sqlite_url,
)
from connectors.exceptions import AmbiguousWriteError, FatalVendorError, LeadConflict
from schemas.frames import EARLIER_SCHEMA, PUSH_RESULT_SCHEMA


class FakeTarget:
    """An in-memory vendor: creates can be made to 'lose' their answer after applying."""

    vendor = "fake"
    finds_by_scan = False  # it searches: each lookup is one `find`

    def __init__(self) -> None:
        self.leads: dict[str, dict[str, Any]] = {}
        self.lose_answer: set[str] = set()  # emails whose create applies but answers nothing
        self.fail_before: set[str] = set()  # emails whose create times out before applying
        self.fatal = False
        self.calls: list[str] = []

    async def create(self, fields: Mapping[str, Any]) -> WriteResult:
        self.calls.append(f"create {fields['email']}")
        if self.fatal:
            raise FatalVendorError("bad key", vendor="fake", status=401)
        if fields["email"] in self.fail_before:
            self.fail_before.discard(fields["email"])
            raise AmbiguousWriteError("timeout", vendor="fake")
        lead_id = f"L{len(self.leads) + 1}"
        self.leads[lead_id] = dict(fields)
        if fields["email"] in self.lose_answer:
            self.lose_answer.discard(fields["email"])
            raise AmbiguousWriteError("reset after sending", vendor="fake")
        return WriteResult(lead_id, 200, f"req-{lead_id}", 1)

    async def update(self, ref: str, fields: Mapping[str, Any]) -> WriteResult:
        self.calls.append(f"update {ref}")
        if ref == "CONFLICT":
            raise LeadConflict("2 leads match", vendor="fake", status=409, code="CONFLICT")
        self.leads[ref].update(fields)
        return WriteResult(ref, 200, "req-u", 1)

    async def find(self, keys: Mapping[str, str], *, since: str) -> RemoteLead | None:
        self.calls.append(f"find {keys['email']}")
        for lead_id, fields in self.leads.items():
            if fields["email"] == keys["email"]:
                return RemoteLead(lead_id, dict(fields))
        return None

    async def find_many(
        self, wanted: Sequence[Mapping[str, str]], *, since: str
    ) -> list[RemoteLead | None]:
        raise AssertionError("a searching client is asked one lookup at a time")


def _create(i: int) -> PlannedOp:
    email = f"l{i}@x.io"
    return PlannedOp(f"op{i}", i + 2, "create", {"email": email}, keys={"email": email})


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    j = Journal(sqlite_url(tmp_path / "j.db"))
    j.start_run("r", profile="p", source="f", mode="upsert")
    return j


def _go(target: FakeTarget, journal: Journal, ops: list[PlannedOp]) -> Any:
    journal.plan("r", [{"op_id": o.op_id, "source_row": o.source_row, "op": o.op} for o in ops])
    return asyncio.run(push(target, journal, "r", ops, concurrency=4))  # type: ignore[arg-type]


def test_sends_and_journals_every_op(journal: Journal) -> None:
    target = FakeTarget()
    target.leads["T1"] = {"email": "old@x.io"}
    ops = [
        _create(1),
        PlannedOp("u1", 9, "update", {"status": "won"}, ref="T1"),
        PlannedOp("u2", 10, "update", {"status": "won"}, ref="CONFLICT"),
    ]
    report = _go(target, journal, ops)
    states = dict(journal.ops("r").select("op_id", "state").iter_rows())
    assert states == {"op1": "succeeded", "u1": "succeeded", "u2": "failed"}
    assert report.results["u2"].error_code == "conflict"
    assert target.leads["T1"]["status"] == "won"


def test_resume_sends_nothing_that_succeeded(journal: Journal) -> None:
    target = FakeTarget()
    ops = [_create(i) for i in range(5)]
    _go(target, journal, ops)
    target.calls.clear()
    again = _go(target, journal, ops)
    assert target.calls == []
    assert all(r.state == "succeeded" for r in again.results.values())
    assert len(target.leads) == 5


def test_a_lost_answer_is_looked_up_not_recreated(journal: Journal) -> None:
    target = FakeTarget()
    target.lose_answer.add("l1@x.io")
    report = _go(target, journal, [_create(1)])
    assert len(target.leads) == 1
    assert target.calls == ["create l1@x.io", "find l1@x.io"]
    assert report.results["op1"].state == "succeeded" and report.results["op1"].target_id == "L1"


def test_an_ambiguous_create_that_did_not_happen_is_sent_once_more(journal: Journal) -> None:
    target = FakeTarget()
    target.fail_before.add("l1@x.io")
    report = _go(target, journal, [_create(1)])
    assert target.calls == ["create l1@x.io", "find l1@x.io", "create l1@x.io"]
    assert len(target.leads) == 1 and report.results["op1"].state == "succeeded"


def test_a_crash_after_sent_is_resolved_by_looking_first(journal: Journal) -> None:
    """Journal says `sent` (the process died mid-request); the lead exists: it is adopted."""
    target = FakeTarget()
    target.leads["L1"] = {"email": "l1@x.io"}
    journal.plan("r", [{"op_id": "op1", "source_row": 3, "op": "create"}])
    journal.mark_sent("r", "op1")
    report = _go(target, journal, [_create(1)])
    assert target.calls == ["find l1@x.io"]
    assert report.results["op1"].target_id == "L1" and len(target.leads) == 1


def test_a_fatal_error_stops_the_run_and_skips_the_rest(journal: Journal) -> None:
    target = FakeTarget()
    target.fatal = True
    report = asyncio.run(_stop_early(target, journal))
    assert report.stopped == "the run stopped: bad key"
    skipped = [r for r in report.results.values() if r.error_code == "skipped"]
    assert len(target.calls) == 1 and len(skipped) == 9


async def _stop_early(target: FakeTarget, journal: Journal) -> Any:
    ops = [_create(i) for i in range(10)]
    journal.plan("r", [{"op_id": o.op_id, "source_row": o.source_row, "op": o.op} for o in ops])
    return await push(target, journal, "r", ops, concurrency=1)  # type: ignore[arg-type]


def test_fields_a_create_cannot_carry_follow_as_an_update(journal: Journal) -> None:
    target = FakeTarget()
    op = PlannedOp(
        "op1",
        2,
        "create",
        {"email": "a@x.io"},
        keys={"email": "a@x.io"},
        then_update={"status": "won", "value": 10.0},
    )
    report = _go(target, journal, [op])
    assert target.calls == ["create a@x.io", "update L1"]
    assert target.leads["L1"] == {"email": "a@x.io", "status": "won", "value": 10.0}
    assert report.results["op1"].state == "succeeded" and report.results["op1"].target_id == "L1"


def test_a_created_lead_whose_follow_up_failed_is_never_created_again(journal: Journal) -> None:
    target = FakeTarget()
    op = PlannedOp(
        "op1",
        2,
        "create",
        {"email": "a@x.io"},
        keys={"email": "a@x.io"},
        then_update={"status": "won"},
    )

    async def failing_update(ref: str, fields: Mapping[str, Any]) -> WriteResult:
        raise LeadConflict("busy", vendor="fake", status=409)

    real_update = target.update
    target.update = failing_update  # type: ignore[method-assign]
    first = _go(target, journal, [op])
    assert first.results["op1"].state == "failed" and first.results["op1"].target_id == "L1"
    target.update = real_update  # type: ignore[method-assign]
    target.calls.clear()
    again = _go(target, journal, [op])  # the resume
    assert target.calls == ["update L1"]
    assert len(target.leads) == 1 and target.leads["L1"]["status"] == "won"
    assert again.results["op1"].state == "succeeded"


def test_push_results_frame_has_a_row_per_request_with_its_facts() -> None:
    report = PushReport(
        results={
            "op1": OpResult("succeeded", "L1", 201, 1, "req-1"),
            "op2": OpResult(
                "failed", None, 409, 2, "req-2", error_code="conflict", error_message="2 match"
            ),
            "op3": OpResult("ambiguous", error_code="ReadTimeout", error_message="no answer"),
        }
    )
    frame = push_results_frame(report)
    assert frame.schema == pl.Schema(PUSH_RESULT_SCHEMA)
    assert frame.rows() == [
        ("op1", "succeeded", "L1", 201, 1, "req-1", None, None),
        ("op2", "failed", None, 409, 2, "req-2", "conflict", "2 match"),
        ("op3", "ambiguous", None, None, 0, None, "ReadTimeout", "no answer"),
    ]
    assert push_results_frame(PushReport()).schema == pl.Schema(PUSH_RESULT_SCHEMA)
    assert push_results_frame(PushReport()).height == 0


def test_earlier_attempts_frame_has_a_row_per_source_row_an_earlier_attempt_wrote() -> None:
    report = PushReport(
        earlier={
            7: ("create", OpResult("succeeded", "L7", 201, 1, "req-7")),
            9: ("update", OpResult("sent", "T9")),
        }
    )
    frame = earlier_attempts_frame(report)
    assert frame.schema == pl.Schema(EARLIER_SCHEMA)
    assert frame.rows() == [
        (7, "create", "L7", 201, 1, "req-7"),
        (9, "update", "T9", None, 0, None),
    ]
    empty = earlier_attempts_frame(PushReport())
    assert empty.height == 0 and empty.schema == pl.Schema(EARLIER_SCHEMA)
