"""A distributed import (`--runner dask`, 2 worker processes) with its journal on PostgreSQL:
the target goes down mid-push, the run stops (exit 3, resumable), the target comes back, and
`--resume RUN_ID` finishes it: one lead per source row in the target, none twice, one outcome
per row, and every row journaled.

The sandbox is a process of its own (killed hard, its state kept in its SQLite file); the kill
fires once the journal, read from here, shows the workers' pushes got that far.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from connectors.exceptions import FatalVendorError
from flows.options import DaskSettings, SyncOptions
from flows.sync import run_sync
from tests.reliability.support import TERMINAL, expected, leads_of, people, write_csv
from tests.sandbox_process import SandboxServer, sandbox_server

ROWS = 400
KILL_AFTER = 120  # ops done when the target goes down
SEED = 20261123
VENDOR = "octanist"


@pytest.mark.prefect
def test_a_distributed_import_resumes_from_a_postgres_journal(
    prefect_harness: None,
    dask_address: str,
    postgres_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    persons = people(ROWS, VENDOR, SEED)
    source = write_csv(tmp_path / "leads.csv", persons)
    journal = sa.create_engine(postgres_url)
    with sandbox_server(tmp_path) as sandbox:
        monkeypatch.setenv("LEADPIPE_SANDBOX_URL", sandbox.url)
        options = SyncOptions(
            source=source,
            out_dir=tmp_path / "run",
            run_id="dask-run",
            home=tmp_path / "home",
            target=f"sandbox:{VENDOR}",
            dry_run=False,
            journal_url=SecretStr(postgres_url),
            dask=DaskSettings(address=dask_address, workers=2, partitions=4),
        )
        killer = threading.Thread(target=_kill_when_done, args=(sandbox, journal), daemon=True)
        killer.start()
        with pytest.raises(FatalVendorError, match="resume with --resume dask-run"):
            run_sync(options, "prefect")
        killer.join(60)
        stopped = pl.read_parquet(tmp_path / "run" / "rows.parquet")
        assert KILL_AFTER <= _done(journal) < ROWS  # it did stop part-way
        sandbox.start()  # back up, with what it held
        summary = run_sync(options, "prefect").as_json()  # --resume dask-run
        leads = leads_of(sandbox.url, VENDOR)

    assert stopped.height == ROWS and "skipped" in set(stopped["outcome"])
    copies = Counter(lead["email"] for lead in leads)
    assert len(leads) == ROWS and copies.most_common(1)[0][1] == 1  # none lost, none twice
    by_email = {lead["email"]: lead for lead in leads}
    assert all(
        {k: v for k, v in by_email[p.email].items() if k != "id"} == expected(p, VENDOR)
        for p in persons
    )
    rows = pl.read_parquet(tmp_path / "run" / "rows.parquet")
    assert sorted(rows["source_row"]) == [p.row for p in persons]  # one outcome per row
    assert summary["counts"]["created"] == ROWS == rows.height
    target_of = dict(zip(rows["source_row"], rows["target_id"], strict=True))
    assert all(target_of[p.row] == by_email[p.email]["id"] for p in persons)
    with journal.connect() as db:
        ops = db.execute(sa.text("SELECT source_row, state, op, target_id FROM ops")).all()
    assert {op.state for op in ops} <= {"succeeded", "sent", "ambiguous", "failed"}
    per_row = Counter(op.source_row for op in ops)
    assert sorted(per_row) == [p.row for p in persons]
    # A row has a second op only when its create was cut off (`sent`, or `ambiguous`: the
    # target died with the request) or created the lead but failed its follow-up (`failed`):
    # the resume, finding the lead, planned what it still needed as an update of it (nothing,
    # when the follow-up had reached the target before its answer was lost: the lead's fields
    # are checked above). A create that failed without a lead was sent again under its own op
    # id, and succeeded.
    twice = {row for row, n in per_row.items() if n > 1}
    assert twice <= {op.source_row for op in ops if op.state != "succeeded"}
    email_of = {p.row: p.email for p in persons}
    failed = [op for op in ops if op.state == "failed"]
    assert all(
        op.op == "create" and op.target_id == by_email[email_of[op.source_row]]["id"]
        for op in failed
    ), failed
    journal.dispose()


def _kill_when_done(sandbox: SandboxServer, journal: sa.Engine) -> None:
    deadline = time.monotonic() + 120
    while _done(journal) < KILL_AFTER and time.monotonic() < deadline:
        time.sleep(0.01)  # polling the journal, not waiting out a retry
    sandbox.kill()


def _done(journal: sa.Engine) -> int:
    sql = sa.text("SELECT count(*) FROM ops WHERE state IN :states").bindparams(
        sa.bindparam("states", expanding=True)
    )
    try:
        with journal.connect() as db:
            return int(db.execute(sql, {"states": TERMINAL}).scalar() or 0)
    except sa.exc.ProgrammingError:  # the importer has not made the tables yet
        return 0
