"""A run through Prefect leaves its summary, reasons, report link and push progress as artifacts."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from flows.options import sync_options
from flows.sync import run_sync
from tests.conftest import SAMPLES


def _artifacts(flow_run_id: Any) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async def read() -> list[Any]:
        async with get_client() as client:
            found: list[Any] = await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])
                )
            )
            return found

    return asyncio.run(read())


@pytest.mark.prefect
def test_an_import_through_prefect_publishes_its_artifacts(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.sync import import_leads

    options = sync_options(
        {},
        source=SAMPLES / "hubspot_contacts.csv",
        run_id="art",
        dry_run=False,
        target="sandbox:octanist",
        out=str(tmp_path / "run"),
    )
    state = import_leads(replace(options, home=tmp_path / "home"), return_state=True)
    assert state.is_completed()
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    artifacts = _artifacts(state.state_details.flow_run_id)
    by_key = {a.key: a for a in artifacts if a.key}

    table = by_key["import-summary"]
    assert table.type == "table"
    cells = {row["what"]: row["rows"] for row in json.loads(table.data)}
    assert cells["created"] == summary["counts"]["created"] > 0
    assert cells["requests sent"] == summary["requests"]["sent"]

    reasons = json.loads(by_key["import-reasons"].data)
    assert [r["reason"] for r in reasons] == [r["reason_code"] for r in summary["reasons"]]
    assert "report.html" in by_key["import-report"].data

    progress = [a for a in artifacts if a.type == "progress"]
    assert len(progress) == 1 and float(progress[0].data) == 100.0


def test_outside_prefect_nothing_is_published(tmp_path: Path) -> None:
    from flows._artifacts import progress_reporter

    assert progress_reporter(10, "push") is None
    summary = run_sync(
        replace(
            sync_options(
                {},
                source=SAMPLES / "hubspot_contacts.csv",
                run_id="loc",
                dry_run=True,
                target="sandbox:octanist",
                out=str(tmp_path / "run"),
            ),
            home=tmp_path / "home",
        ),
        "local",
    )
    assert summary.engine == "local"
