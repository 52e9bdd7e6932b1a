"""Recovery paths of the push executor and the snapshot, with in-memory targets: a lost
answer that is found still gets its follow-up, a kill between a create and its follow-up
never re-creates, a failing lookup never creates blindly, a target that stops answering stops
the run, a resumed run reports what its earlier attempts did, and one unreadable lead does
not stop a snapshot refresh."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from connectors import (
    UNREACHABLE_AFTER,
    Journal,
    OpResult,
    PlannedOp,
    PushReport,
    RemoteLead,
    WriteResult,
    earlier_attempts_frame,
    push,
    sqlite_url,
)
from connectors.exceptions import (
    AmbiguousWriteError,
    FatalVendorError,
    TransientVendorError,
)


class Killed(BaseException):
    """The process dies here (nothing after it runs)."""


class Target:
    """An in-memory vendor whose calls can be made to fail in chosen ways."""

    vendor = "fake"
    finds_by_scan = False  # it searches per key: lookups are asked one at a time

    def __init__(self) -> None:
        self.leads: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []
        self.lose_answer = False  # creates apply, then the answer is lost
        self.lose_update: str | None = None  # "before" / "after" the update applies
        self.create_error: BaseException | None = None
        self.update_error: BaseException | None = None
        self.find_error: BaseException | None = None

    async def create(self, fields: Mapping[str, Any]) -> WriteResult:
        self.calls.append(f"create {fields['email']}")
        if self.create_error is not None:
            raise self.create_error
        lead_id = f"L{len(self.leads) + 1}"
        self.leads[lead_id] = dict(fields)
        if self.lose_answer:
            raise AmbiguousWriteError("reset after sending", vendor="fake")
        return WriteResult(lead_id, 200, f"req-{lead_id}", 1)

    async def update(self, ref: str, fields: Mapping[str, Any]) -> WriteResult:
        self.calls.append(f"update {ref}")
        if self.update_error is not None:
            raise self.update_error
        lost, self.lose_update = self.lose_update, None  # once
        if lost != "before":
            self.leads[ref].update(fields)
        if lost:
            raise AmbiguousWriteError("PATCH /leads: reset after sending", vendor="fake")
        return WriteResult(ref, 200, "req-u", 1)

    async def get(self, lead_id: str) -> RemoteLead:
        self.calls.append(f"get {lead_id}")
        return RemoteLead(lead_id, dict(self.leads[lead_id]))

    async def find(self, keys: Mapping[str, str], *, since: str) -> RemoteLead | None:
        self.calls.append(f"find {keys['email']}")
        if self.find_error is not None:
            raise self.find_error
        for lead_id, fields in self.leads.items():
            if fields["email"] == keys["email"]:
                return RemoteLead(lead_id, dict(fields))
        return None

    async def find_many(
        self, wanted: Sequence[Mapping[str, str]], *, since: str
    ) -> list[RemoteLead | None]:
        return [await self.find(keys, since=since) for keys in wanted]


def _create(i: int, **then: Any) -> PlannedOp:
    email = f"l{i}@x.io"
    return PlannedOp(
        f"op{i}", i + 2, "create", {"email": email}, keys={"email": email}, then_update=then
    )


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    j = Journal(sqlite_url(tmp_path / "j.db"))
    j.start_run("r", profile="p", source="f", mode="upsert")
    return j


def _go(target: Target, journal: Journal, ops: list[PlannedOp], concurrency: int = 4) -> Any:
    journal.plan("r", [{"op_id": o.op_id, "source_row": o.source_row, "op": o.op} for o in ops])
    return asyncio.run(push(target, journal, "r", ops, concurrency=concurrency))  # type: ignore[arg-type]


def _states(journal: Journal) -> dict[str, tuple[str, str | None]]:
    frame = journal.ops("r")
    return {r["op_id"]: (r["state"], r["target_id"]) for r in frame.iter_rows(named=True)}


def test_a_lost_answer_found_later_still_gets_its_follow_up(journal: Journal) -> None:
    target = Target()
    target.lose_answer = True
    report = _go(target, journal, [_create(1, status="won")])
    assert target.calls == ["create l1@x.io", "find l1@x.io", "update L1"]
    assert target.leads == {"L1": {"email": "l1@x.io", "status": "won"}}
    assert report.results["op1"].state == "succeeded" and report.results["op1"].target_id == "L1"


@pytest.mark.parametrize(
    ("lost", "calls"),
    [
        ("after", ["update L1", "get L1"]),  # read back: it holds the values, not sent again
        ("before", ["update L1", "get L1", "update L1"]),  # read back: not applied, sent again
    ],
)
def test_an_update_whose_answer_was_lost_is_read_back_before_it_is_sent_again(
    journal: Journal, lost: str, calls: list[str]
) -> None:
    target = Target()
    target.leads["L1"] = {"email": "l1@x.io", "note": "old"}
    target.lose_update = lost
    update = PlannedOp("op1", 2, "update", {"note": "new"}, ref="L1")
    report = _go(target, journal, [update])
    assert target.calls == calls
    assert target.leads["L1"]["note"] == "new"
    assert (report.results["op1"].state, report.results["op1"].target_id) == ("succeeded", "L1")
    assert _states(journal) == {"op1": ("succeeded", "L1")}


def test_a_kill_between_create_and_follow_up_resumes_with_the_follow_up_only(
    journal: Journal,
) -> None:
    target = Target()
    target.update_error = Killed()
    with pytest.raises(Killed):
        _go(target, journal, [_create(1, status="won")])
    assert _states(journal) == {"op1": ("sent", "L1")}  # the new lead's id was committed first
    target.update_error = None
    target.calls.clear()
    report = _go(target, journal, [_create(1, status="won")])
    assert target.calls == ["update L1"]  # no lookup, no second create
    assert len(target.leads) == 1 and target.leads["L1"]["status"] == "won"
    assert _states(journal) == {"op1": ("succeeded", "L1")}
    assert report.results["op1"].target_id == "L1"


def test_a_failing_lookup_never_creates_blindly_and_the_resume_looks_again(
    journal: Journal,
) -> None:
    target = Target()
    target.lose_answer = True
    target.find_error = TransientVendorError("GET /leads: 503", vendor="fake", status=503)
    report = _go(target, journal, [_create(1)])
    result = report.results["op1"]
    assert (result.state, len(target.leads)) == ("ambiguous", 1)
    assert result.error_message.startswith("could not check whether the lead was created")
    assert target.calls == ["create l1@x.io", "find l1@x.io"]
    assert report.stopped is None  # an answer (503) came back: the target is up

    target.lose_answer, target.find_error = False, None
    target.calls.clear()
    again = _go(target, journal, [_create(1)])
    assert target.calls == ["find l1@x.io"]
    assert again.results["op1"].target_id == "L1" and len(target.leads) == 1


def test_a_target_that_never_answers_stops_the_run(journal: Journal) -> None:
    target = Target()
    target.create_error = TransientVendorError(
        "POST /leads: could not connect (ConnectError)", vendor="fake", attempts=6
    )
    ops = [_create(i) for i in range(20)]
    report = _go(target, journal, ops, concurrency=1)
    assert report.stopped == (
        f"the run stopped: the target did not answer {UNREACHABLE_AFTER} requests in a row, "
        "each tried 6 times; the last: POST /leads: could not connect (ConnectError)"
    )
    assert len(target.calls) == UNREACHABLE_AFTER
    skipped = [r for r in report.results.values() if r.error_code == "skipped"]
    assert len(skipped) == 20 - UNREACHABLE_AFTER
    states = [state for state, _ in _states(journal).values()]
    assert states.count("planned") == 20 - UNREACHABLE_AFTER  # a resume sends them


def test_answers_in_between_and_errors_with_a_status_never_stop_the_run(
    journal: Journal,
) -> None:
    target = Target()
    failures = iter(
        [
            TransientVendorError("no answer", vendor="fake"),
            TransientVendorError("no answer", vendor="fake"),
            None,  # an answer: the count starts again
            TransientVendorError("no answer", vendor="fake"),
            TransientVendorError("HTTP 503", vendor="fake", status=503),
            TransientVendorError("HTTP 503", vendor="fake", status=503),
        ]
    )
    real_create = target.create

    async def create(fields: Mapping[str, Any]) -> WriteResult:
        failure = next(failures, None)
        if failure is not None:
            target.calls.append(f"create {fields['email']}")
            raise failure
        return await real_create(fields)

    target.create = create  # type: ignore[method-assign]
    report = _go(target, journal, [_create(i) for i in range(8)], concurrency=1)
    assert report.stopped is None
    assert [r.state for r in report.results.values()].count("succeeded") == 3


def test_a_rejected_key_while_looking_stops_the_run(journal: Journal) -> None:
    target = Target()
    target.lose_answer = True
    target.find_error = FatalVendorError("the API key was rejected (401)", vendor="fake")
    report = _go(target, journal, [_create(i) for i in range(5)], concurrency=1)
    assert report.stopped == "the run stopped: the API key was rejected (401)"
    assert target.calls == ["create l0@x.io", "find l0@x.io"]
    assert report.results["op0"].state == "ambiguous"


def test_a_resumed_push_hands_back_what_earlier_attempts_completed(journal: Journal) -> None:
    target = Target()
    _go(target, journal, [_create(1), _create(2)])
    journal.plan("r", [{"op_id": "u1", "source_row": 3, "op": "update"}])
    journal.record("r", "u1", OpResult("succeeded", "L1", 200, 1, "req-u"))
    journal.plan("r", [{"op_id": "c9", "source_row": 9, "op": "create"}])
    journal.mark_sent("r", "c9")  # killed before its answer was journaled
    journal.plan("r", [{"op_id": "c8", "source_row": 8, "op": "create"}])  # never sent
    report = _go(target, journal, [_create(2)])  # rows 3 (op1) and 9 are not planned again
    assert set(report.earlier) == {3, 9}
    op, result = report.earlier[3]
    assert (op, result.target_id, result.request_id) == ("create", "L1", "req-L1")
    assert report.earlier[9][0] == "create" and report.earlier[9][1].target_id is None


def test_the_report_of_a_resumed_run_says_what_earlier_attempts_wrote() -> None:
    from transforms.outcomes import apply_earlier_attempts

    frame = pl.DataFrame(
        {
            "source_row": [2, 3, 4, 5, 6, 7],
            "op": [None, None, "update", None, "update", None],
            "matched_id": ["L1", "L9", "L2", "L5", "L6", "L7"],
            "outcome": ["unchanged", "unchanged", "updated", "unchanged", "updated", "unchanged"],
            "http_status": [None, None, 200, None, 200, None],
            "attempts": [None, None, 1, None, 1, None],
            "request_id": [None, None, "req-x", None, "req-y", None],
        },
        schema_overrides={"http_status": pl.Int64, "attempts": pl.Int64},
    )
    pushed = PushReport(
        earlier={
            2: ("create", OpResult("succeeded", "L1", 200, 2, "req-1")),
            3: ("create", OpResult("succeeded", "L3", 200, 1, "req-3")),  # now matches L9
            4: ("update", OpResult("succeeded", "L2", 200, 1, "req-2")),  # planned again
            # killed after sending, before the answer was journaled: the target has it now
            5: ("create", OpResult("succeeded", None)),
            # created earlier, its follow-up sent only now: the row was created by this run
            6: ("create", OpResult("succeeded", "L6", 201, 1, "req-6")),
            7: ("update", OpResult("succeeded", None)),  # an update cut off the same way
        }
    )
    earlier = earlier_attempts_frame(pushed)
    done = apply_earlier_attempts(frame, earlier)
    assert done.select("outcome", "attempts", "request_id").rows() == [
        ("created", 2, "req-1"),
        ("unchanged", None, None),
        ("updated", 1, "req-x"),
        ("created", None, None),
        ("created", 1, "req-y"),
        ("updated", None, None),
    ]


def test_a_lead_that_cannot_be_re_read_keeps_its_stored_copy(tmp_path: Path) -> None:
    """Omni's snapshot re-reads each matched lead: one that fails after every retry keeps what
    leadpipe wrote; a gone one leaves; the others are refreshed; a rejected key still stops."""
    from connectors import SnapshotStore
    from connectors.exceptions import LeadNotFound

    class Reader:
        vendor = "omni"

        def __init__(self, failure: BaseException) -> None:
            self.failure = failure

        async def get(self, lead_id: str) -> RemoteLead:
            if lead_id == "flaky":
                raise self.failure
            if lead_id == "gone":
                raise LeadNotFound("Lead not found", vendor="omni", status=404)
            return RemoteLead(lead_id, {"email": "fresh@x.io"})

    store = SnapshotStore(tmp_path, "sandbox:omni", "omni")
    store.record_writes([RemoteLead(i, {"email": f"{i}@x.io"}) for i in ("ok", "flaky", "gone")])
    storm = Reader(TransientVendorError("GET: HTTP 503", vendor="omni", status=503))
    snapshot = asyncio.run(store.refresh_ids(storm, ["ok", "flaky", "gone"]))  # type: ignore[arg-type]
    assert sorted(snapshot.leads.select("id", "email").rows()) == [
        ("flaky", "flaky@x.io"),
        ("ok", "fresh@x.io"),
    ]
    rejected = Reader(FatalVendorError("the API key was rejected (401)", vendor="omni"))
    with pytest.raises(FatalVendorError):
        asyncio.run(store.refresh_ids(rejected, ["flaky"]))  # type: ignore[arg-type]
