"""A plain re-run is as safe as --resume: creates other runs into the target journaled are
looked up, never made twice; and a create is searched for just before it is made."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from connectors import Journal, PlannedOp, RemoteLead, push, sqlite_url
from connectors.exceptions import LeadNotFound
from tests.connectors.test_push import FakeTarget

TARGET = "octanist https://octanist.test/api"


class Target(FakeTarget):
    """FakeTarget with GET by id (a deleted lead answers 404)."""

    async def get(self, lead_id: str) -> RemoteLead:
        self.calls.append(f"get {lead_id}")
        if lead_id not in self.leads:
            raise LeadNotFound(f"no lead {lead_id}", vendor="fake", status=404)
        return RemoteLead(lead_id, dict(self.leads[lead_id]))


def _create(i: int, then: dict[str, Any] | None = None) -> PlannedOp:
    email = f"l{i}@x.io"
    return PlannedOp(
        f"op{i}", i + 2, "create", {"email": email}, keys={"email": email}, then_update=then or {}
    )


def _run(
    target: Target,
    journal: Journal,
    run_id: str,
    ops: list[PlannedOp],
    *,
    address: str | None = TARGET,
    check_first: bool = False,
) -> Any:
    journal.start_run(run_id, profile="p", source="f.csv", mode="upsert", target=address)
    journal.plan(run_id, [{"op_id": o.op_id, "source_row": o.source_row, "op": o.op} for o in ops])
    return asyncio.run(
        push(target, journal, run_id, ops, target=address, check_first=check_first)  # type: ignore[arg-type]
    )


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(sqlite_url(tmp_path / "j.db"))


def test_a_rerun_does_not_remake_what_an_earlier_run_made(journal: Journal) -> None:
    target = Target()
    ops = [_create(i) for i in range(3)]
    _run(target, journal, "first", ops)
    target.calls.clear()
    # The target does not list them yet, so the re-run planned the same three creates.
    again = _run(target, journal, "second", ops)
    assert len(target.leads) == 3
    assert sorted(target.calls) == ["get L1", "get L2", "get L3"]
    assert {r.state for r in again.results.values()} == {"succeeded"}
    assert sorted(r.target_id for r in again.results.values()) == ["L1", "L2", "L3"]
    states = journal.ops("second")["state"].to_list()
    assert states == ["succeeded"] * 3


def test_a_lead_deleted_since_is_made_again(journal: Journal) -> None:
    target = Target()
    _run(target, journal, "first", [_create(1)])
    del target.leads["L1"]  # the target was wiped
    again = _run(target, journal, "second", [_create(1)])
    assert [c.split()[0] for c in target.calls] == ["create", "get", "create"]
    assert again.results["op1"].state == "succeeded"
    assert len(target.leads) == 1


def test_an_unfinished_create_of_a_killed_run_is_found_by_its_keys(journal: Journal) -> None:
    target = Target()
    # The killed run: `sent` committed, the lead made, then SIGKILL before the answer.
    journal.start_run("killed", profile="p", source="f.csv", mode="upsert", target=TARGET)
    journal.plan("killed", [{"op_id": "op1", "source_row": 3, "op": "create"}])
    journal.mark_sent("killed", "op1")
    target.leads["L9"] = {"email": "l1@x.io"}
    again = _run(target, journal, "rerun", [_create(1)])
    assert target.calls == ["find l1@x.io"]
    assert again.results["op1"].target_id == "L9"
    assert len(target.leads) == 1


def test_the_follow_up_of_an_earlier_create_is_sent_once_more(journal: Journal) -> None:
    target = Target()
    op = _create(1, then={"status": "won"})
    journal.start_run("killed", profile="p", source="f.csv", mode="upsert", target=TARGET)
    journal.plan("killed", [{"op_id": "op1", "source_row": 3, "op": "create"}])
    target.leads["L1"] = {"email": "l1@x.io"}
    journal.apply("killed", [("op1", {"state": "sent", "target_id": "L1"})])
    again = _run(target, journal, "rerun", [op])
    assert target.calls == ["get L1", "update L1"]
    assert target.leads["L1"]["status"] == "won"
    assert again.results["op1"].state == "succeeded"


def test_runs_into_another_target_are_not_consulted(journal: Journal) -> None:
    target = Target()
    _run(target, journal, "staging", [_create(1)], address="octanist https://staging.test/api")
    target.calls.clear()
    _run(target, journal, "prod", [_create(1)])
    assert target.calls == ["create l1@x.io"]
    assert len(target.leads) == 2


def test_a_lead_made_meanwhile_is_not_made_again(journal: Journal) -> None:
    target = Target()
    target.leads["X1"] = {"email": "l1@x.io"}  # someone else made it after our read
    report = _run(target, journal, "r", [_create(1), _create(2)], check_first=True)
    assert target.calls == ["find l1@x.io", "find l2@x.io", "create l2@x.io"]
    conflict = report.results["op1"]
    assert (conflict.state, conflict.error_code, conflict.target_id) == ("failed", "conflict", None)
    assert "X1" in (conflict.error_message or "")
    assert report.results["op2"].state == "succeeded"
    assert len(target.leads) == 2


def test_without_check_first_nothing_is_searched(journal: Journal) -> None:
    target = Target()
    _run(target, journal, "r", [_create(1)])
    assert target.calls == ["create l1@x.io"]


def test_a_version_1_journal_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE journal_meta (version INTEGER NOT NULL);
        INSERT INTO journal_meta VALUES (1);
        CREATE TABLE runs (run_id VARCHAR(128) PRIMARY KEY, profile VARCHAR(200) NOT NULL,
            source TEXT NOT NULL, mode VARCHAR(16) NOT NULL, created_at VARCHAR(32) NOT NULL);
        INSERT INTO runs VALUES ('old', 'p', 'f.csv', 'upsert', '2026-01-01T00:00:00Z');
        """
    )
    db.commit()
    db.close()
    journal = Journal(sqlite_url(path))
    assert journal.has_run("old")
    assert journal.start_run("new", profile="p", source="f", mode="upsert", target=TARGET)
    journal.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT version FROM journal_meta").fetchall() == [(3,)]  # 1 -> 2 -> 3
    assert db.execute("SELECT run_id, target FROM runs ORDER BY run_id").fetchall() == [
        ("new", TARGET),
        ("old", None),
    ]
    indexes = {r[1] for r in db.execute("SELECT * FROM sqlite_master WHERE type = 'index'")}
    assert {"ops_by_op", "runs_by_target"} <= indexes
