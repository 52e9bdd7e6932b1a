"""`--runner dask` gives the very rows and counts of a single-process run (check, plan,
import, reconcile).

The session's LocalCluster of 2 worker processes (`dask_address` in tests/conftest.py) serves
both tests; the import parity runs against the sandbox on real sockets (the workers
push from their own processes), with invalid rows, a duplicate, creates and updates.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest

from flows.check import run_check
from flows.options import CheckOptions, DaskSettings, SyncOptions
from flows.reconcile import run_reconcile
from flows.sync import run_sync
from tests.conftest import SAMPLES
from tests.flows.summaries import stable_against_a_target as _stable
from tests.reliability.support import leads_of, older, people, write_csv, write_messy_csv

# Ids the sandbox hands out in the order requests arrive, and what derives from them (an
# update's op id hashes its lead's id): concurrent pushes, the seeding import's included,
# interleave differently on each run. No timing columns are in rows.parquet; the rows' leads
# are compared through their emails instead.
ARRIVAL_ORDER = ["target_id", "request_id", "matched_id", "op_id"]
VENDOR = "octanist"
JOBS = (("plan", run_sync, True), ("import", run_sync, False), ("reconcile", run_reconcile, True))


def _on_dask(options: Any, address: str) -> Any:
    return replace(options, dask=DaskSettings(address=address, workers=2, partitions=4))


@pytest.mark.prefect
def test_check_on_dask_matches_a_local_check(
    prefect_harness: None, dask_address: str, tmp_path: Path
) -> None:
    results = {}
    for runner in ("local", "dask"):
        options = CheckOptions(
            source=SAMPLES / "hubspot_contacts.csv",
            out_dir=tmp_path / runner,
            run_id=f"run-{runner}",
            home=tmp_path / f"home-{runner}",
        )
        if runner == "dask":
            summary = run_check(_on_dask(options, dask_address), "prefect").as_json()
        else:
            summary = run_check(options, "local").as_json()
        results[runner] = (summary, pl.read_parquet(tmp_path / runner / "rows.parquet"))
    (local, local_rows), (dask, dask_rows) = results["local"], results["dask"]
    assert _stable(dask) == _stable(local)
    assert dask["phones"] == local["phones"] == {"parsed": 18, "known_before": 0}
    assert dask_rows.equals(local_rows)
    assert local_rows.height == 20


@pytest.mark.prefect
def test_import_on_dask_matches_a_local_import(
    prefect_harness: None,
    dask_address: str,
    sandbox_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    persons = people(40, VENDOR, seed=8)
    before = write_csv(tmp_path / "before.csv", [older(p, VENDOR) for p in persons[:15]])
    messy = write_messy_csv(tmp_path / "messy.csv", persons)  # an invalid row, a duplicate

    results = {}
    for runner in ("local", "dask"):
        httpx.post(f"{sandbox_url}/_sandbox/reset").raise_for_status()
        home = tmp_path / f"home-{runner}"
        monkeypatch.setenv("LEADPIPE_HOME", str(home))
        run_sync(_options(before, tmp_path / f"{runner}-seed", home), "local")  # 15 to update
        engine: Any = "prefect" if runner == "dask" else "local"
        summaries, frames = {}, {}
        for job, run, dry_run in JOBS:  # plan, import, then reconcile what was imported
            out = tmp_path / f"{runner}-{job}"
            options = _options(messy, out, home, dry_run=dry_run)
            on_dask = _on_dask(options, dask_address) if runner == "dask" else options
            summaries[job] = run(on_dask, engine).as_json()
            frames[job] = pl.read_parquet(out / "rows.parquet")
        results[runner] = (summaries, frames, leads_of(sandbox_url, VENDOR))

    (local_summaries, local_frames, local_leads) = results["local"]
    (dask_summaries, dask_frames, dask_leads) = results["dask"]
    for job, _, _ in JOBS:
        assert _stable(dask_summaries[job]) == _stable(local_summaries[job]), job
        stable = [c for c in local_frames[job].columns if c not in ARRIVAL_ORDER]
        assert dask_frames[job].select(stable).equals(local_frames[job].select(stable)), job
    local, local_rows = local_summaries["import"], local_frames["import"]
    dask, dask_rows = dask_summaries["import"], dask_frames["import"]
    assert local["counts"] == {
        "created": 25,
        "updated": 15,
        "unchanged": 0,
        "invalid": 1,
        "duplicate": 1,
        "conflict": 0,
        "failed": 0,
        "skipped": 0,
    }
    assert local["requests"]["sent"] == dask["requests"]["sent"] > 40
    for rows, leads in ((local_rows, local_leads), (dask_rows, dask_leads)):
        assert len(leads) == 40 == len({lead["email"] for lead in leads})
        id_of = {lead["email"]: lead["id"] for lead in leads}
        written = rows.filter(pl.col("outcome").is_in(["created", "updated"]))
        assert written["target_id"].to_list() == [id_of[e] for e in written["email"]]
    assert {lead["email"]: _fields(lead) for lead in dask_leads} == {
        lead["email"]: _fields(lead) for lead in local_leads
    }
    # The partitions ran as task runs of the harness's server: the workers got its address
    # with their tasks (they start no temporary server of their own).
    parts = asyncio.run(_partition_runs())
    assert {"normalise-part", "validate-part", "push-part"} <= set(parts)
    assert parts["push-part"] == {"COMPLETED"}


async def _partition_runs() -> dict[str, set[str]]:
    """States of the partition task runs the Prefect server recorded, by task name."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterName

    names = TaskRunFilterName(like_="-part-")
    async with get_client() as client:
        runs = await client.read_task_runs(task_run_filter=TaskRunFilter(name=names))
    found: dict[str, set[str]] = {}
    for run in runs:
        found.setdefault(run.name.rsplit("-", 1)[0], set()).add(str(run.state_type.value))
    return found


def _options(source: Path, out: Path, home: Path, dry_run: bool = False) -> SyncOptions:
    return SyncOptions(
        source=source,
        out_dir=out,
        run_id=out.name,
        home=home,
        target=f"sandbox:{VENDOR}",
        dry_run=dry_run,
    )


def _fields(lead: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in lead.items() if k != "id"}


@pytest.mark.prefect
def test_a_worker_killed_mid_push_is_replaced_and_the_import_finishes(
    prefect_harness: None,
    dask_address: str,
    sandbox_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Dask runs the dead worker's push partition again on a live one; that push finds what
    the first one did in the journal (SQLite here, shared by the worker processes)."""
    from distributed import Client

    persons = people(KILLED_ROWS, VENDOR, seed=9)
    home = tmp_path / "home"
    monkeypatch.setenv("LEADPIPE_HOME", str(home))
    options = _on_dask(
        _options(write_csv(tmp_path / "leads.csv", persons), tmp_path / "run", home), dask_address
    )
    with Client(dask_address) as client:
        victim = next(iter(client.run(os.getpid).values()))
    killed_at: list[int] = []
    killer = threading.Thread(
        target=_kill_at, args=(victim, home / "journal.db", killed_at), daemon=True
    )
    killer.start()
    summary = run_sync(options, "prefect").as_json()
    killer.join(30)
    assert len(killed_at) == 1 and killed_at[0] < KILLED_ROWS  # it fired mid-push

    leads = leads_of(sandbox_url, VENDOR)
    assert len(leads) == KILLED_ROWS == len({lead["email"] for lead in leads})
    assert summary["counts"]["created"] == KILLED_ROWS
    rows = pl.read_parquet(tmp_path / "run" / "rows.parquet")
    id_of = {lead["email"]: lead["id"] for lead in leads}
    assert rows["target_id"].to_list() == [id_of[p.email] for p in persons]


KILLED_ROWS = 600


def _kill_at(pid: int, journal: Path, killed_at: list[int]) -> None:
    """SIGKILL the worker `pid` once the journal shows a quarter of the ops succeeded."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with sqlite3.connect(journal) as db:
                done = db.execute("SELECT count(*) FROM ops WHERE state = 'succeeded'").fetchone()
        except sqlite3.OperationalError:  # not made yet
            done = (0,)
        if done[0] >= KILLED_ROWS // 4:
            os.kill(pid, signal.SIGKILL)
            killed_at.append(done[0])
            return
        time.sleep(0.01)  # polling the journal, not waiting out a retry
