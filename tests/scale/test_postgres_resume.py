"""`leadpipe import` with its journal on PostgreSQL, killed with SIGKILL mid-push and resumed
with `--resume` until it finishes: the target holds one lead per source row, the final run
reports one outcome per row, and the journal's password is in no output and no file.

A small cousin of tests/reliability/test_crash_resume.py (1,000 rows, 3 kills, Octanist): the
importer is a real process (`python -m flows.cli`), the sandbox another; the kill fires once
the journal, read from here, shows the push got that far.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from tests.reliability.support import (
    TERMINAL,
    expected,
    importer_env,
    leads_of,
    people,
    write_csv,
)
from tests.sandbox_process import sandbox_server

ROWS = 1_000
KILL_AFTER = (150, 450, 750)  # ops done (all attempts together) when each attempt is killed
SEED = 20261122


def test_a_killed_import_resumes_from_a_postgres_journal(postgres_url: str, tmp_path: Path) -> None:
    persons = people(ROWS, "octanist", SEED)
    source = write_csv(tmp_path / "leads.csv", persons)
    config = tmp_path / "leadpipe.toml"
    config.write_text(f'journal_url = "{postgres_url}"\n')
    journal = sa.create_engine(postgres_url)
    with sandbox_server(tmp_path) as sandbox:
        env = importer_env(tmp_path / "home", sandbox.url)
        run_id, codes = None, []
        for threshold in (*KILL_AFTER, None):
            command = _import(source, config, tmp_path / "run", run_id)
            codes.append(_attempt(command, env, tmp_path, journal, source, threshold))
            run_id = run_id or _run_of(journal, source)
        leads = leads_of(sandbox.url, "octanist")
    assert codes == [-signal.SIGKILL] * len(KILL_AFTER) + [0], _tail(tmp_path / "stderr.log")

    copies = Counter(lead["email"] for lead in leads)
    assert len(leads) == ROWS and copies.most_common(1)[0][1] == 1  # none lost, none twice
    by_email = {lead["email"]: lead for lead in leads}
    assert all(
        {k: v for k, v in by_email[p.email].items() if k != "id"} == expected(p, "octanist")
        for p in persons
    )

    rows = pl.read_parquet(tmp_path / "run" / "rows.parquet")
    assert sorted(rows["source_row"]) == [p.row for p in persons]  # one outcome per row
    assert set(rows["outcome"]) <= {"created", "updated", "unchanged"}
    target_of = dict(zip(rows["source_row"], rows["target_id"], strict=True))
    assert all(target_of[p.row] == by_email[p.email]["id"] for p in persons)
    outcome = dict(zip(rows["source_row"], rows["outcome"], strict=True))
    with journal.connect() as db:
        assert db.execute(sa.text("SELECT count(*) FROM runs")).scalar() == 1
        ops = db.execute(sa.text("SELECT source_row, state FROM ops")).all()
    assert {state for _, state in ops} <= {"succeeded", "sent"}
    # A create cut off after it was journaled `sent` stays so; the next attempt found its lead
    # in the target, planned nothing or only the update it still needed, and reports it created.
    assert set(outcome.values()) == {"created"}
    journal.dispose()

    password = sa.make_url(postgres_url).password
    assert password
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p != config]
    assert [p for p in files if password.encode() in p.read_bytes()] == []


def _import(source: Path, config: Path, out: Path, resume: str | None) -> list[str]:
    command = [sys.executable, "-m", "flows.cli", "import", str(source), "--target"]
    command += ["sandbox:octanist", "--engine", "local", "--out", str(out), "--json"]
    command += ["--config", str(config)]
    return command + (["--resume", resume] if resume else [])


def _attempt(
    command: list[str],
    env: dict[str, str],
    folder: Path,
    journal: sa.Engine,
    source: Path,
    kill_after: int | None,
) -> int:
    """Run one attempt; SIGKILL it once `kill_after` ops of the run are done. Its stdout and
    stderr are appended to files in `folder` (searched for the password afterwards)."""
    with (folder / "stdout.log").open("ab") as out, (folder / "stderr.log").open("ab") as err:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err)
        try:
            deadline = time.monotonic() + 120
            while kill_after is not None and process.poll() is None:
                assert time.monotonic() < deadline, "the push never got that far"
                if _done(journal, source) >= kill_after:
                    os.kill(process.pid, signal.SIGKILL)
                    break
                time.sleep(0.01)  # polling the journal, not waiting out a retry
            return process.wait(120)
        finally:
            if process.poll() is None:
                process.kill()


def _run_of(journal: sa.Engine, source: Path) -> str | None:
    with journal.connect() as db:
        sql = sa.text("SELECT run_id FROM runs WHERE source = :source")
        return db.execute(sql, {"source": str(source)}).scalar()


def _done(journal: sa.Engine, source: Path) -> int:
    sql = sa.text(
        "SELECT count(*) FROM ops JOIN runs USING (run_id)"
        " WHERE runs.source = :source AND ops.state IN :states"
    ).bindparams(sa.bindparam("states", expanding=True))
    try:
        with journal.connect() as db:
            return int(db.execute(sql, {"source": str(source), "states": TERMINAL}).scalar() or 0)
    except sa.exc.ProgrammingError:  # the importer has not made the tables yet
        return 0


def _tail(path: Path) -> str:
    return path.read_text()[-3000:] if path.exists() else ""
