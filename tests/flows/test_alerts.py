"""Alerts of scheduled imports, end to end: a tick that breaches a threshold ends Failed with
the reason, and a webhook receiver on 127.0.0.1 gets exactly one notification with the right
body and no secret in it; a tick within its thresholds sends nothing; a schedule whose newest
data is too old breaches `alert_stale_hours` (the clock injected) and notifies once."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from flows.options import SyncOptions
from flows.schedules import Ledger, sha256_of
from schemas.summary import RunSummary
from tests.reports.report_frames import summary_of

# The part of a webhook URL that is its secret (as in a Slack or Teams URL).
TOKEN = "T0/B0/s3cret-hook-token"
HOOK_ENV = "LEADPIPE_TEST_ALERT_HOOK"


@dataclass
class Receiver:
    """A webhook receiver: where it listens, and each POST it got as (path, JSON body)."""

    url: str
    posts: list[tuple[str, Any]] = field(default_factory=list)


@contextmanager
def receiving(status: int = 204) -> Iterator[Receiver]:
    """A tiny HTTP server on 127.0.0.1 (a free port) answering every POST with `status`."""
    receiver = Receiver("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["content-length"])
            receiver.posts.append((self.path, json.loads(self.rfile.read(length))))
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_port}/hook/{TOKEN}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    """A receiver whose URL (a secret) is in the environment variable HOOK_ENV."""
    with receiving() as receiver:
        monkeypatch.setenv(HOOK_ENV, receiver.url)
        yield receiver


def _config(folder: Path, entry: str) -> Path:
    path = folder / "leadpipe.toml"
    path.write_text(
        f'alert_webhook_env = "{HOOK_ENV}"\n\n'
        '[[schedules]]\nname = "nightly"\ncron = "0 6 * * *"\n'
        'source = "exports/leads-*.csv"\ntarget = "sandbox:octanist"\nout = "runs/{run_id}"\n'
        + entry
    )
    return path


def _export(folder: Path, rows: list[str], at: datetime | None = None) -> Path:
    path = folder / "exports" / "leads-1.csv"
    path.parent.mkdir(exist_ok=True)
    path.write_text("Email,First Name,Last Name\n" + "\n".join(rows) + "\n")
    if at is not None:
        os.utime(path, (at.timestamp(), at.timestamp()))
    return path


@pytest.mark.prefect
def test_a_run_that_fails_30_percent_of_rows_fails_and_notifies_once(
    prefect_harness: None, sandbox_url: str, hook: Receiver, tmp_path: Path
) -> None:
    """Octanist refuses creates its filtering rules match (403): 3 of 10 leads fail."""
    from flows.schedules import scheduled_import

    rules = {"octanist": {"filter_rules": [{"email_domain": "blocked.com"}]}}
    httpx.put(f"{sandbox_url}/_sandbox/settings", json=rules).raise_for_status()
    config = _config(tmp_path, "alert_failed_share = 0.2\nalert_invalid_share = 0.5\n")
    domains = ["blocked.com"] * 3 + ["example.com"] * 7
    export = _export(tmp_path, [f"p{i}@{d},P{i},L{i}" for i, d in enumerate(domains)])

    state: Any = scheduled_import(str(config), "nightly", return_state=True)

    assert state.is_failed()
    assert state.message == (
        "3 of 10 rows failed (more than alert_failed_share 0.2); "
        "leads-1.csv is tried again on the next run"
    )
    (run_dir,) = (tmp_path / "runs").iterdir()
    breach = {
        "rule": "alert_failed_share",
        "threshold": 0.2,
        "measured": 0.3,
        "message": "3 of 10 rows failed (more than alert_failed_share 0.2)",
    }
    summary = json.loads((run_dir / "summary.json").read_text())
    assert (summary["counts"]["failed"], summary["alerts"]) == (3, [breach])
    assert hook.posts == [
        (
            f"/hook/{TOKEN}",
            {
                "run_id": run_dir.name,
                "schedule": "nightly",
                "target": "sandbox:octanist",
                "breaches": [breach],
                "report": f"{run_dir}/report.html",
            },
        )
    ]
    said = json.dumps(hook.posts)
    assert "s3cret" not in said.replace(f"/hook/{TOKEN}", "") and "sandbox-key" not in said
    assert Ledger.of("nightly").lookup("sandbox:octanist", sha256_of(export)) is None  # retried


def _fake_sync(monkeypatch: pytest.MonkeyPatch, **facts: Any) -> list[SyncOptions]:
    """Replace the import with one that returns a summary of `facts` (and writes nothing)."""
    import flows.schedules

    imports: list[SyncOptions] = []

    def fake_sync(options: SyncOptions, engine: str) -> RunSummary:
        imports.append(options)
        return summary_of(job="import", out_dir=str(options.out_dir), **facts)

    monkeypatch.setattr(flows.schedules, "run_sync", fake_sync)
    return imports


def _tick(config: Path, name: str, at: datetime) -> Any:
    """One tick of schedule `name` as `scheduled_import` runs it, with the clock at `at`."""
    from prefect import flow

    from flows._prefect import failing_quietly
    from flows.schedules import tick

    @flow(name="scheduled-import-at", persist_result=False)
    def ticking() -> Any:
        return failing_quietly(tick)(config, name, lambda: at)

    return ticking(return_state=True)


NOON = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.mark.prefect
def test_a_run_within_every_threshold_sends_nothing(
    prefect_harness: None, hook: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    requests = {"sent": 10, "retried": 0, "throttled": 2}
    imports = _fake_sync(
        monkeypatch, counts={"created": 8, "failed": 1, "invalid": 1}, rows=10, requests=requests
    )
    thresholds = (
        "alert_failed_share = 0.1\nalert_invalid_share = 0.1\nalert_throttled = 0.2\n"
        "alert_stale_hours = 24\nmax_failed_ratio = 0.5\n"
    )
    config = _config(tmp_path, thresholds)
    _export(tmp_path, ["a@example.com,A,B"], at=NOON - timedelta(hours=2))

    state = _tick(config, "nightly", NOON)

    assert state.is_completed(), state.message
    assert state.result()["status"] == "imported" and len(imports) == 1
    assert hook.posts == []


@pytest.mark.prefect
def test_no_new_file_for_longer_than_stale_hours_fails_and_notifies_once(
    prefect_harness: None, hook: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    imports = _fake_sync(monkeypatch, counts={"created": 1}, rows=1)
    config = _config(tmp_path, "alert_stale_hours = 24\n")
    _export(tmp_path, ["a@example.com,A,B"], at=NOON - timedelta(hours=3))

    fresh = _tick(config, "nightly", NOON)  # imported now: the ledger says so
    assert fresh.is_completed() and len(imports) == 1 and hook.posts == []
    assert _tick(config, "nightly", NOON + timedelta(hours=23)).is_completed()  # skipped

    stale = _tick(config, "nightly", NOON + timedelta(hours=30))
    assert stale.is_failed()
    assert stale.message == "no new file for 30.0 hours (more than alert_stale_hours 24)"
    breach = {
        "rule": "alert_stale_hours",
        "threshold": 24,
        "measured": 30.0,
        "message": stale.message,
    }
    assert hook.posts == [
        (
            f"/hook/{TOKEN}",
            {
                "run_id": None,
                "schedule": "nightly",
                "target": "sandbox:octanist",
                "breaches": [breach],
                "report": None,
            },
        )
    ]
    assert len(imports) == 1  # the same content is not imported again

    shutil.rmtree(tmp_path / "exports")
    Ledger.of("nightly").path.unlink()
    none = _tick(config, "nightly", NOON)
    assert none.message == (
        "no file matches exports/leads-*.csv and none was imported (alert_stale_hours 24)"
    )
    assert len(hook.posts) == 2 and hook.posts[1][1]["breaches"][0]["measured"] is None


@pytest.mark.prefect
def test_a_prefect_notification_block_is_notified_once(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`alert_block = "custom-webhook/NAME"`: the block is loaded and notified (its own POST)."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    _fake_sync(monkeypatch, counts={"created": 5, "invalid": 5}, rows=10)
    with receiving() as receiver:
        CustomWebhookNotificationBlock(
            name="leadpipe",
            url=receiver.url,
            json_data={"subject": "{{subject}}", "text": "{{body}}"},
            allow_private_urls=True,
        ).save("leadpipe-test-alerts", overwrite=True)
        monkeypatch.setenv(HOOK_ENV, "")  # the config's webhook is not the one under test
        config = _config(tmp_path, 'alert_block = "custom-webhook/leadpipe-test-alerts"\n')
        config.write_text(config.read_text().replace(f'alert_webhook_env = "{HOOK_ENV}"\n', ""))
        config.write_text(config.read_text() + "alert_invalid_share = 0.4\n")
        _export(tmp_path, ["a@example.com,A,B"])

        state = _tick(config, "nightly", NOON)

    assert state.is_failed()
    assert state.message == "5 of 10 rows invalid (more than alert_invalid_share 0.4)"
    ((path, sent),) = receiver.posts
    assert path == f"/hook/{TOKEN}"
    assert sent["subject"] == "leadpipe: schedule nightly into sandbox:octanist breached 1 alert(s)"
    assert sent["text"].splitlines()[0] == state.message
    assert state.result(raise_on_failure=False)["status"] == "imported"
    assert Ledger.of("nightly").last_imported("sandbox:octanist") == NOON  # not tried again
