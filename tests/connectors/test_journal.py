"""The journal: op states, resume facts, idempotent planning, survival across processes.

Every test runs on SQLite and on PostgreSQL (skipped when no server: see tests/postgres.py).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors import Journal, OpResult, open_journal, sqlite_url


@pytest.fixture(params=["sqlite", "postgresql"])
def journal_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "journal.db")
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def journal(journal_url: str) -> Iterator[Journal]:
    opened = Journal(journal_url)
    yield opened
    opened.close()


PLANNED = [
    {"op_id": "a", "source_row": 2, "op": "create"},
    {"op_id": "b", "source_row": 3, "op": "update"},
]


def test_states_and_results(journal: Journal) -> None:
    assert (
        journal.start_run("r1", profile="sandbox:octanist", source="f.csv", mode="upsert") is True
    )
    assert journal.plan("r1", PLANNED) == 2
    journal.mark_sent("r1", "a")
    journal.record(
        "r1",
        "a",
        OpResult("succeeded", target_id="lead_1", http_status=200, attempts=1, request_id="req_1"),
    )
    journal.mark_sent("r1", "b")
    frame = journal.ops("r1")
    assert frame.select("op_id", "state", "target_id", "http_status").rows() == [
        ("a", "succeeded", "lead_1", 200),
        ("b", "sent", None, None),
    ]


def test_resume_does_not_duplicate_planned_ops(journal: Journal) -> None:
    journal.start_run("r1", profile="p", source="f.csv", mode="upsert")
    journal.plan("r1", PLANNED)
    assert journal.start_run("r1", profile="p", source="f.csv", mode="upsert") is False
    assert journal.plan("r1", [*PLANNED, {"op_id": "c", "source_row": 4, "op": "create"}]) == 1
    assert journal.ops("r1").height == 3


def test_a_run_is_known_once_it_started(journal: Journal) -> None:
    assert not journal.has_run("r-later")
    assert journal.start_run("r-later", profile="p", source="s.csv", mode="upsert")
    assert journal.has_run("r-later") and not journal.has_run("r-other")


def test_unknown_state_is_refused(journal: Journal) -> None:
    journal.start_run("r1", profile="p", source="f.csv", mode="upsert")
    journal.plan("r1", PLANNED)
    with pytest.raises(ValueError, match="unknown op state"):
        journal.record("r1", "a", OpResult("done"))


def test_committed_state_survives_a_killed_process(journal_url: str) -> None:
    """A process that commits `sent` and is then killed leaves the op `sent` for the resume."""
    script = (
        "import os, signal\n"
        "from connectors import Journal\n"
        f"j = Journal({journal_url!r})\n"
        "j.start_run('r1', profile='p', source='f', mode='upsert')\n"
        "j.plan('r1', [{'op_id': 'a', 'source_row': 2, 'op': 'create'}])\n"
        "j.mark_sent('r1', 'a')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], check=False, timeout=60)
    assert result.returncode == -9
    assert Journal(journal_url).ops("r1")["state"].to_list() == ["sent"]


def test_group_commit_shares_commits_and_each_waiter_sees_its_update(journal: Journal) -> None:
    import asyncio

    from connectors import GroupCommit

    journal.start_run("r1", profile="p", source="f.csv", mode="upsert")
    planned = [{"op_id": f"o{i}", "source_row": i + 2, "op": "create"} for i in range(40)]
    journal.plan("r1", planned)
    log = GroupCommit(journal, "r1")

    async def one(i: int) -> str:
        await log.sent(f"o{i}")
        # committed before the request would leave:
        state = journal.ops("r1").filter(journal.ops("r1")["op_id"] == f"o{i}")["state"].item()
        await log.record(f"o{i}", OpResult("succeeded", target_id=f"L{i}"))
        return str(state)

    async def all_of_them() -> list[str]:
        states = await asyncio.gather(*(one(i) for i in range(40)))
        await log.drain()  # results are not waited for one by one: the push drains at its end
        return states

    assert asyncio.run(all_of_them()) == ["sent"] * 40
    assert set(journal.ops("r1")["state"]) == {"succeeded"}
    assert log.commits < 20  # 80 updates, far fewer transactions


def test_group_commit_failure_reaches_every_waiter(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from connectors import GroupCommit

    journal.start_run("r1", profile="p", source="f.csv", mode="upsert")
    log = GroupCommit(journal, "r1")

    def broken(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(journal, "apply", broken)

    async def go() -> list[BaseException | None]:
        return await asyncio.gather(*(log.sent(f"o{i}") for i in range(3)), return_exceptions=True)

    assert [type(e) for e in asyncio.run(go())] == [OSError] * 3


def test_open_journal_is_the_url_given_else_sqlite_under_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    default = open_journal(home, None)
    assert default.url == f"sqlite:///{home / 'journal.db'}"
    assert (home / "journal.db").exists()
    default.close()
    elsewhere = sqlite_url(tmp_path / "shared" / "j.db")
    given = open_journal(tmp_path / "unused", elsewhere)
    assert given.url == elsewhere and not (tmp_path / "unused").exists()
    given.close()
