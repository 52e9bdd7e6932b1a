"""Both engines run the same stage list and give identical rows and summaries."""

from __future__ import annotations

import asyncio
from pathlib import Path

import polars as pl
import pytest

from flows.check import run_check
from flows.config import CheckOptions
from tests.conftest import SAMPLES

VOLATILE = {"run_id", "engine", "durations", "seconds", "started_at", "out_dir"}


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
        summary = run_check(options, engine)  # type: ignore[arg-type]
        assert summary["engine"] == engine
        assert list(summary["durations"]) == [
            "read",
            "map",
            "normalise",
            "validate",
            "dedupe",
            "report",
        ]
        results[engine] = (summary, pl.read_parquet(tmp_path / engine / "rows.parquet"))
    (local_summary, local_rows), (prefect_summary, prefect_rows) = (
        results["local"],
        results["prefect"],
    )
    assert {k: v for k, v in local_summary.items() if k not in VOLATILE} == {
        k: v for k, v in prefect_summary.items() if k not in VOLATILE
    }
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
