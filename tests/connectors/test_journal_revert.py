"""The journal's version 3: what each op sent and what its lead held before (for revert)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from connectors._journal import SCHEMA_VERSION, Journal, sqlite_url


def _columns(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[1] for row in db.execute("PRAGMA table_info(ops)")}


def test_a_version_2_journal_is_migrated_in_place_and_keeps_its_ops(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    journal = Journal(sqlite_url(path))
    journal.start_run("r1", profile="p", source="a.csv", mode="upsert", target="omni http://x")
    journal.plan("r1", [{"op_id": "1", "source_row": 2, "op": "update"}])
    journal.close()
    with sqlite3.connect(path) as db:  # as version 2 left it
        db.execute("ALTER TABLE ops DROP COLUMN sent")
        db.execute("ALTER TABLE ops DROP COLUMN previous")
        db.execute("UPDATE journal_meta SET version = 2")
    assert "sent" not in _columns(path)

    reopened = Journal(sqlite_url(path))
    assert SCHEMA_VERSION == 3 and {"sent", "previous"} <= _columns(path)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version FROM journal_meta").fetchall() == [(3,)]
    old = reopened.ops("r1").row(0, named=True)
    assert (old["op_id"], old["state"], old["sent"], old["previous"]) == (
        "1",
        "planned",
        None,
        None,
    )
    reopened.close()


def test_planned_ops_keep_what_they_send_and_what_the_lead_held(tmp_path: Path) -> None:
    journal = Journal(sqlite_url(tmp_path / "journal.db"))
    journal.start_run("r2", profile="p", source="b.csv", mode="upsert", target="omni http://x")
    added = journal.plan(
        "r2",
        [
            {
                "op_id": "1",
                "source_row": 2,
                "op": "update",
                "sent": {"first_name": "Anna", "tags": ["a", "b"], "value": 1.5},
                "previous": '{"first_name":"Ann","tags":["a"],"value":null}',
            },
            {"op_id": "2", "source_row": 3, "op": "create", "sent": {"email": "e@x.io"}},
        ],
    )
    assert added == 2
    ops = {r["op_id"]: r for r in journal.ops("r2").iter_rows(named=True)}
    assert json.loads(ops["1"]["sent"]) == {"first_name": "Anna", "tags": ["a", "b"], "value": 1.5}
    assert json.loads(ops["1"]["previous"]) == {"first_name": "Ann", "tags": ["a"], "value": None}
    assert json.loads(ops["2"]["sent"]) == {"email": "e@x.io"} and ops["2"]["previous"] is None
    run = journal.run("r2")
    assert run is not None and (run["mode"], run["source"]) == ("upsert", "b.csv")
    assert journal.run("nope") is None
    journal.close()
