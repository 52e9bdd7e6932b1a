"""`import --approve` under Prefect, live: the flow run pauses with the plan's artifacts, is
found by leadpipe's run id, and `leadpipe approve RUN_ID` resumes it, which sends the plan;
a pause nobody answers times out, sends nothing and still writes the run directory."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from flows import _approval
from flows.cli import app
from flows.options import Flags, SyncOptions, options_for
from schemas.summary import RunSummary

runner = CliRunner()


def _options(tmp_path: Path, name: str, **flags: Any) -> SyncOptions:
    source = tmp_path / f"{name}.csv"
    source.write_text(f"Email,First Name\nann@{name}.io,Ann\nbob@{name}.io,Bob\n")
    chosen = Flags(
        source=source,
        target="sandbox:omni",
        engine="prefect",
        out=tmp_path / name,
        approve=True,
        **flags,
    )
    options, _ = options_for("import", chosen)
    assert isinstance(options, SyncOptions)
    return options


def _in_thread(options: SyncOptions) -> tuple[threading.Thread, list[Any]]:
    from flows.sync import run_sync

    ended: list[Any] = []

    def run() -> None:
        try:
            ended.append(run_sync(options, "prefect"))
        except BaseException as exc:  # noqa: BLE001 - the test asserts on it
            ended.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, ended


def _paused(run_id: str, within: float = 60.0) -> list[Any]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = list(_approval.PrefectPausedRuns().paused(run_id))
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} never paused")


def _posts(url: str) -> list[dict[str, Any]]:
    log = httpx.get(f"{url}/_sandbox/requests", params={"vendor": "omni"}).json()
    return [e for e in log if e["method"] == "POST"]


@pytest.mark.prefect
def test_a_paused_import_is_approved_by_run_id_or_times_out(
    prefect_harness: None, sandbox_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.artifacts import Artifact
    from prefect.settings import PREFECT_API_URL

    monkeypatch.setattr(_approval, "POLL_S", 0.2)
    monkeypatch.setenv("PREFECT_API_URL", str(PREFECT_API_URL.value()))
    options = _options(tmp_path, "approved")
    thread, ended = _in_thread(options)
    (flow_run,) = _paused(options.run_id)
    assert _posts(sandbox_url) == []  # paused: nothing sent yet
    plan = Artifact.get("import-plan")
    assert plan is not None and "would_create" in str(plan.data)

    answered = runner.invoke(app, ["approve", options.run_id, "--comment", "looks right"])
    assert answered.exit_code == 0, answered.output
    assert str(flow_run) in answered.stderr
    thread.join(120)
    (summary,) = ended
    assert isinstance(summary, RunSummary), summary
    assert summary.approval is not None and summary.approval.verdict == "approved"
    assert summary.approval.comment == "looks right"
    assert summary.counts["created"] == 2 and len(_posts(sandbox_url)) == 2

    late = _options(tmp_path, "late", approve_timeout=1.0)
    thread, ended = _in_thread(late)
    thread.join(120)
    (summary,) = ended
    assert isinstance(summary, RunSummary), summary
    assert summary.approval is not None and summary.approval.verdict == "timed_out"
    assert len(_posts(sandbox_url)) == 2  # nothing more was sent
    written = json.loads((tmp_path / "late" / "summary.json").read_text())
    assert written["approval"] == "timed_out" and written["counts"]["would_create"] == 2
