"""`leadpipe plan` against a target matched from spilled buckets (issue 19: a target above
LEADPIPE_TARGET_PARTITION_LEADS) gives the very rows of the in-memory plan, the file on disk
in several partitions (tests/flows/test_spilled.py: the buckets' reuse)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from connectors import Snapshot, SnapshotStore, sandbox_profile
from flows.cli import app
from sandbox import create_app
from tests.flows.test_spilled import stored
from tests.transforms.test_match_buckets import source_rows, target_leads

runner = CliRunner()
URL = "http://sandbox.local"  # the in-process sandbox's address (flows._targets)
LATER = "2030-01-01T00:00:00.000Z"  # newer than anything the sandbox holds: nothing to list


def _home(path: Path, leads: pl.DataFrame) -> Path:
    """A home whose stored Octanist snapshot is `leads`; the three leads a plan checks are
    still there (SnapshotStore.lost) are in the sandbox too."""
    profile = sandbox_profile("octanist", URL)
    store = SnapshotStore(path, profile.name, "octanist", profile.base_url)
    store.save(Snapshot(leads, high_water=LATER))
    transport = httpx.ASGITransport(app=create_app(path / "sandbox.db"))
    picks = leads[sorted({0, leads.height // 2, leads.height - 1})]
    seeds = [{"id": i, "name": "Kept Lead"} for i in picks["id"]]

    async def seed() -> None:
        async with httpx.AsyncClient(transport=transport, base_url=URL) as client:
            reply = await client.post("/_sandbox/seed", json={"vendor": "octanist", "leads": seeds})
            reply.raise_for_status()

    asyncio.run(seed())
    return path


def _plan(source: Path, home: Path, out: Path) -> pl.DataFrame:
    args = ["plan", str(source), "--target", "sandbox:octanist", "--engine", "local"]
    result = runner.invoke(
        app, [*args, "--out", str(out), "--json"], env={"LEADPIPE_HOME": str(home)}
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == 800
    return pl.read_parquet(out / "rows.parquet")


def test_a_spilled_target_plans_the_rows_of_the_in_memory_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEADPIPE_SANDBOX_URL", raising=False)
    monkeypatch.setenv("LEADPIPE_PARTITION_ROWS", "300")  # the file in three partitions
    leads = stored(target_leads(1500))
    rows = [{k: v for k, v in r.items() if not k.startswith("_")} for r in source_rows(leads, 800)]
    source = tmp_path / "leads.csv"
    pl.DataFrame(rows).write_csv(source)
    memory = _home(tmp_path / "memory", leads)
    spilled = _home(tmp_path / "spilled", leads)

    expected = _plan(source, memory, tmp_path / "out-memory")
    monkeypatch.setenv("LEADPIPE_TARGET_PARTITION_LEADS", "1000")
    monkeypatch.setenv("LEADPIPE_TARGET_BUCKETS", "4")
    got = _plan(source, spilled, tmp_path / "out-spilled")
    assert_frame_equal(got.sort("source_row"), expected.sort("source_row"))
    counts = expected["outcome"].value_counts().to_dicts()
    assert {c["outcome"] for c in counts} >= {"would_create", "conflict", "unchanged"}
    buckets = next((spilled / "state").rglob("buckets"))
    assert len(list(buckets.glob("leads-*.parquet"))) == 4
    assert not (next((memory / "state").rglob("leads.parquet")).parent / "buckets").exists()
