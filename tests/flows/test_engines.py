"""Both engines run the same stage list and give identical rows and summaries."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from flows.check import run_check
from flows.options import CheckOptions
from schemas.summary import RunSummary
from tests.conftest import SAMPLES
from tests.flows.summaries import stable


@pytest.mark.prefect
def test_prefect_and_local_engines_agree(prefect_harness: None, tmp_path: Path) -> None:
    results = {}
    for engine in ("local", "prefect"):
        options = CheckOptions(
            source=SAMPLES / "hubspot_contacts.csv",
            out_dir=tmp_path / engine,
            run_id=f"run-{engine}",
            home=tmp_path / f"home-{engine}",
        )
        summary = run_check(options, engine).as_json()  # type: ignore[arg-type]
        assert summary["engine"] == engine
        assert list(summary["durations"]) == [
            "read",
            "map",
            "normalise",
            "validate",
            "dedupe",
            "report",
        ]
        assert list(summary["memory_mb"]) == list(summary["durations"])
        assert all(peak > 0 for peak in summary["memory_mb"].values())
        results[engine] = (summary, pl.read_parquet(tmp_path / engine / "rows.parquet"))
    (local_summary, local_rows), (prefect_summary, prefect_rows) = (
        results["local"],
        results["prefect"],
    )
    assert stable(local_summary) == stable(prefect_summary)
    assert local_rows.equals(prefect_rows)
    assert local_rows.height == 20


@pytest.mark.prefect
def test_the_check_flow_is_a_prefect_flow_run(prefect_harness: None, tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter

    options = CheckOptions(
        source=SAMPLES / "salesforce_leads.csv",
        out_dir=tmp_path,
        run_id="r",
        home=tmp_path,
        default_region="US",
    )
    from flows.check import check_leads

    state = check_leads(options, return_state=True)
    assert state.is_completed()

    async def _tasks() -> list[str]:
        async with get_client() as client:
            runs = await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id={"any_": [state.state_details.flow_run_id]})
            )
            return sorted(r.name.rsplit("-", 1)[0] for r in runs)

    assert asyncio.run(_tasks()) == sorted(
        ["read", "map", "normalise", "validate", "dedupe", "report"]
    )


# Ids the sandbox hands out, and per-request facts, differ between two runs by nature.
VOLATILE_COLUMNS = ("target_id", "matched_id", "request_id", "source_id")


def _job(job: str, home: Path, out: Path) -> dict[str, Any]:
    """Options for one run of `job` into the sandbox, as the CLI would build them."""
    from flows.options import migrate_options, sync_options

    conf: dict[str, Any] = {}
    source = SAMPLES / "hubspot_contacts.csv"
    if job == "migrate":
        options: Any = migrate_options(
            conf,
            origin="sandbox:octanist",
            run_id="r",
            carry_extras=True,
            target="sandbox:apten",
            out=str(out),
            dry_run=False,
        )
    else:
        options = sync_options(
            conf,
            source=source,
            run_id="r",
            dry_run=job != "import",
            target="sandbox:octanist",
            out=str(out),
        )
    return {"options": replace(options, home=home)}


def _run_job(job: str, options: Any, engine: str) -> RunSummary:
    from flows.migrate import run_migrate
    from flows.reconcile import run_reconcile
    from flows.sync import run_sync

    runner = {"migrate": run_migrate, "reconcile": run_reconcile}.get(job, run_sync)
    summary: RunSummary = runner(options, engine)
    return summary


@pytest.mark.prefect
@pytest.mark.parametrize("job", ["plan", "import", "reconcile", "migrate"])
def test_every_job_gives_the_same_rows_and_summary_with_both_engines(
    prefect_harness: None,
    live_sandbox: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    job: str,
) -> None:
    """Each engine runs against a fresh sandbox holding the same leads."""
    import httpx

    from flows.sync import run_sync

    monkeypatch.setenv("LEADPIPE_SANDBOX_URL", live_sandbox)
    results = {}
    for engine in ("local", "prefect"):
        httpx.post(f"{live_sandbox}/_sandbox/reset").raise_for_status()
        home = tmp_path / f"home-{engine}"
        # The same starting point: half of the sample already in Octanist.
        seed = _job("import", home, tmp_path / f"seed-{engine}")["options"]
        half = tmp_path / "half.csv"
        lines = (SAMPLES / "hubspot_contacts.csv").read_text().splitlines(keepends=True)
        half.write_text("".join(lines[:11]))
        run_sync(replace(seed, source=half), "local")
        options = _job(job, home, tmp_path / engine)["options"]
        summary = _run_job(job, options, engine).as_json()
        assert summary["engine"] == engine
        rows = pl.read_parquet(tmp_path / engine / "rows.parquet")
        if job == "migrate":  # rows come in the origin's id order, and ids are random
            rows = rows.sort("email").drop("source_row")
        results[engine] = (summary, rows.drop(VOLATILE_COLUMNS, strict=False))
    (local_summary, local_rows), (prefect_summary, prefect_rows) = (
        results["local"],
        results["prefect"],
    )
    assert stable(local_summary) == stable(prefect_summary)
    differing = [c for c in local_rows.columns if not local_rows[c].equals(prefect_rows[c])]
    assert not differing, local_rows.select(differing).hstack(
        prefect_rows.select(pl.all().name.suffix("_prefect")).select(
            [f"{c}_prefect" for c in differing]
        )
    )
    assert list(local_summary["durations"]) == list(prefect_summary["durations"])
    # all 10 were imported (two with a bad value left out, and a warning)
    assert local_rows.height == (10 if job == "migrate" else 20)
