"""Scheduled imports: `[[schedules]]` validation, the newest file, the ledger, and a deployment
run driven through Prefect the way `leadpipe serve` runs it (a Runner picking up a flow run)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import polars as pl
import pytest

from flows.exceptions import ConfigError
from flows.options import load_config
from flows.schedules import (
    Ledger,
    ScheduleRow,
    deployments,
    load_schedules,
    newest_file,
    schedule_rows,
    serve,
    sha256_of,
)
from schemas.exceptions import CannotProceedError
from tests.conftest import SAMPLES

TARGETS = """
[targets.octanist-prod]
vendor = "octanist"
base_url = "https://api.octanist.example"
api_key_env = "OCTANIST_API_KEY"
"""
ENTRY = """
[[schedules]]
name = "nightly-hubspot"
cron = "0 6 * * 1-5"
timezone = "Europe/Berlin"
source = "exports/hubspot-*.csv"
target = "octanist-prod"
preset = "hubspot"
"""


def _config(folder: Path, text: str) -> Path:
    path = folder / "leadpipe.toml"
    path.write_text(text)
    return path


def _load(folder: Path, text: str) -> list[Any]:
    path = _config(folder, text)
    return load_schedules(load_config(path), path)


def _entry(**changes: str | None) -> str:
    """ENTRY with keys replaced (a string value) or removed (None)."""
    lines = []
    for line in ENTRY.strip().splitlines():
        key = line.split(" = ")[0]
        if key not in changes:
            lines.append(line)
        elif changes[key] is not None:
            lines.append(f"{key} = {changes[key]}")
    added = [f"{k} = {v}" for k, v in changes.items() if v is not None and f"\n{k} =" not in ENTRY]
    return "\n".join([*lines, *added]) + "\n"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (_entry(name=None), "schedule #1: `name` is required"),
        (_entry(cron=None), "schedule 'nightly-hubspot': `cron` is required"),
        (_entry(source=None), "schedule 'nightly-hubspot': `source` is required"),
        (_entry(target=None), "schedule 'nightly-hubspot': `target` is required"),
        (_entry(source='""'), "`source` is required"),
        (ENTRY + ENTRY, "schedule 'nightly-hubspot': the name is used by more than one schedule"),
        (_entry(name='"Nightly_HubSpot"'), "lower-case letters, digits and dashes"),
        (_entry(cron='"61 6 * * 1-5"'), "cron '61 6 * * 1-5' is not a valid cron expression"),
        (_entry(cron='"0 6 * *"'), "cron '0 6 * *' is not a valid cron expression"),
        (_entry(cron='"H 6 * * *"'), "cron 'H 6 * * *' is not a valid cron expression"),
        (_entry(cron='"0 0 30 2 *"'), "cron '0 0 30 2 *' never fires"),
        (_entry(timezone='"Europe/Atlantis"'), "'Europe/Atlantis' is not an IANA time zone"),
        (_entry(sauce='"hot"'), "unknown key(s) sauce (known: name, cron, source, target, "),
        (_entry(target='"octanist-dev"'), "unknown target 'octanist-dev'"),
        (_entry(target='"sandbox:hubspot"'), "unknown target 'sandbox:hubspot'"),
        (_entry(mode='"merge"'), "'nightly-hubspot': --mode must be upsert, update or create"),
        (_entry(default_region='"XX"'), "--default-region 'XX' is not a region code"),
        (_entry(out='"runs/{date}"'), "out may name only {schedule} and {run_id} in braces"),
        (_entry(max_failed_ratio="2"), "max_failed_ratio must be a number from 0 to 1, not 2"),
        ('[schedules]\nname = "x"\n', "write each schedule as a [[schedules]] table"),
    ],
)
def test_each_problem_has_its_message(tmp_path: Path, entry: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, TARGETS + entry)
    assert message in str(info.value)
    assert str(info.value).startswith(f"{tmp_path / 'leadpipe.toml'}: ")


def test_every_problem_is_named_at_once(tmp_path: Path) -> None:
    text = TARGETS + _entry(cron='"nightly"') + _entry(name='"weekly"', timezone='"Mars/Base"')
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    assert str(info.value).split(": ", 1)[1].split("; ") == [
        "schedule 'nightly-hubspot': cron 'nightly' is not a valid cron expression "
        "(five fields: minute hour day-of-month month day-of-week)",
        "schedule 'weekly': timezone 'Mars/Base' is not an IANA time zone (e.g. Europe/Berlin)",
    ]


def test_top_level_options_apply_unless_the_schedule_overrides_them(tmp_path: Path) -> None:
    text = (
        'preset = "generic"\ndefault_region = "us"\nmapping = "maps/hubspot.toml"\n'
        + TARGETS
        + _entry(timezone=None)
    )
    (schedule,) = _load(tmp_path, text)
    assert (schedule.name, schedule.cron, schedule.timezone) == (
        "nightly-hubspot",
        "0 6 * * 1-5",
        "UTC",
    )
    options = schedule.sync_options(tmp_path / "exports" / "a.csv", run_id="r1")
    assert options.preset == "hubspot"  # the entry wins
    assert options.default_region == "US"  # the file's top level applies
    assert options.mapping == tmp_path / "maps" / "hubspot.toml"  # beside the config file
    assert options.out_dir == tmp_path / "runs" / "nightly-hubspot" / "r1"
    assert (options.target, options.dry_run, options.run_id) == ("octanist-prod", False, "r1")
    assert options.targets["octanist-prod"]["api_key_env"] == "OCTANIST_API_KEY"


def test_a_schedule_sets_the_sheet_the_memory_and_the_null_words(tmp_path: Path) -> None:
    entry = _entry(sheet='"Leads"', memory="false", null_tokens='["-", "TBD"]')
    (schedule,) = _load(tmp_path, 'sheet = "Notes"\n' + TARGETS + entry)
    options = schedule.sync_options(tmp_path / "exports" / "a.xlsx", run_id="r1")
    assert (options.sheet, options.memory, options.null_tokens) == ("Leads", False, ("-", "tbd"))


def test_a_file_without_schedules_has_none(tmp_path: Path) -> None:
    assert _load(tmp_path, TARGETS) == []
    with pytest.raises(ConfigError, match="has no \\[\\[schedules\\]\\] entries to serve"):
        deployments(_config(tmp_path, TARGETS))


def test_rows_show_each_schedule_and_its_next_run(tmp_path: Path) -> None:
    second = _entry(name='"hourly-sf"', cron='"15 * * * *"', timezone=None, target='"sandbox:omni"')
    config = _config(tmp_path, TARGETS + ENTRY + second)
    saturday_noon = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    assert schedule_rows(config, now=saturday_noon) == [
        ScheduleRow(
            "nightly-hubspot",
            "0 6 * * 1-5",
            "Europe/Berlin",
            "exports/hubspot-*.csv",
            "octanist-prod",
            datetime(2026, 11, 23, 6, 0, tzinfo=ZoneInfo("Europe/Berlin")),  # Monday
        ),
        ScheduleRow(
            "hourly-sf",
            "15 * * * *",
            "UTC",
            "exports/hubspot-*.csv",
            "sandbox:omni",
            datetime(2026, 11, 21, 12, 15, tzinfo=ZoneInfo("UTC")),
        ),
    ]


def test_deployments_carry_schedule_parameters_and_one_run_at_a_time(tmp_path: Path) -> None:
    config = _config(tmp_path, TARGETS + ENTRY)
    (deployment,) = deployments(tmp_path / ".." / tmp_path.name / "leadpipe.toml")
    assert deployment.name == "nightly-hubspot"
    assert deployment.parameters == {"config": str(config.resolve()), "schedule": "nightly-hubspot"}
    (schedule,) = deployment.schedules or []
    cron: Any = schedule.schedule
    assert (cron.cron, cron.timezone) == ("0 6 * * 1-5", "Europe/Berlin")
    assert deployment.entrypoint == "flows.schedules.scheduled_import"
    assert deployment.concurrency_limit == 1
    assert "exports/hubspot-*.csv" in (deployment.description or "")


def test_the_example_config_is_valid() -> None:
    example = SAMPLES.parent / "examples" / "leadpipe.toml"
    schedules = load_schedules(load_config(example), example)
    assert [(s.name, s.target, s.timezone) for s in schedules] == [
        ("nightly-hubspot", "octanist-prod", "Europe/Berlin"),
        ("weekly-salesforce", "omni-prod", "America/New_York"),
    ]
    assert [d.name for d in deployments(example)] == ["nightly-hubspot", "weekly-salesforce"]


def test_serve_refuses_without_a_prefect_server(tmp_path: Path) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    config = _config(tmp_path, TARGETS + ENTRY)
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        with pytest.raises(ConfigError, match="needs a Prefect server"):
            serve(config)


def _touch(path: Path, mtime: int, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, (mtime, mtime))
    return path


def test_the_newest_file_wins_then_the_greater_name(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    assert newest_file(tmp_path, "exports/hubspot-*.csv") is None
    _touch(exports / "hubspot-2.csv", 1_000)
    newest = _touch(exports / "hubspot-1.csv", 2_000)
    _touch(exports / "salesforce.csv", 3_000)  # does not match
    (exports / "hubspot-dir.csv").mkdir()  # a folder is not a file
    assert newest_file(tmp_path, "exports/hubspot-*.csv") == newest
    tie = _touch(exports / "hubspot-3.csv", 2_000)
    assert newest_file(tmp_path, "exports/hubspot-*.csv") == tie
    assert newest_file(tmp_path, "exports/hubspot-2.csv") == exports / "hubspot-2.csv"
    assert newest_file(Path("/elsewhere"), str(exports / "hubspot-*.csv")) == tie  # absolute


def test_the_hash_is_the_files_sha256(tmp_path: Path) -> None:
    content = bytes(range(256)) * 10_000  # 2.4 MiB: read in several chunks
    path = tmp_path / "big.csv"
    path.write_bytes(content)
    assert sha256_of(path) == hashlib.sha256(content).hexdigest()


def test_the_ledger_remembers_content_per_target(tmp_path: Path) -> None:
    ledger = Ledger.of("nightly", home=tmp_path)
    assert ledger.lookup("octanist-prod", "abc") is None
    at = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
    ledger.record("octanist-prod", "abc", file=Path("/x/a.csv"), run_id="r1", at=at)
    again = Ledger.of("nightly", home=tmp_path)
    assert again.lookup("octanist-prod", "abc") == {
        "file": "/x/a.csv",
        "run_id": "r1",
        "imported_at": "2026-11-22T06:00:00+00:00",
    }
    assert again.lookup("omni-prod", "abc") is None  # another target has not seen it
    assert Ledger.of("weekly", home=tmp_path).lookup("octanist-prod", "abc") is None
    assert json.loads((tmp_path / "schedules" / "nightly.json").read_text())["version"] == 1
    assert sorted(p.name for p in (tmp_path / "schedules").iterdir()) == ["nightly.json"]


def test_a_failed_write_leaves_the_ledger_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = Ledger.of("nightly", home=tmp_path)
    at = datetime(2026, 11, 22, tzinfo=UTC)
    ledger.record("t", "abc", file=Path("a.csv"), run_id="r1", at=at)
    before = ledger.path.read_text()

    def broken_dump(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(json, "dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        ledger.record("t", "def", file=Path("b.csv"), run_id="r2", at=at)
    assert ledger.path.read_text() == before
    assert sorted(p.name for p in ledger.path.parent.iterdir()) == ["nightly.json"]


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "is unreadable"), ('{"version": 9, "imported": {}}', "has version 9")],
)
def test_an_unreadable_ledger_stops_the_run(tmp_path: Path, content: str, message: str) -> None:
    ledger = Ledger.of("nightly", home=tmp_path)
    ledger.path.parent.mkdir(parents=True)
    ledger.path.write_text(content)
    with pytest.raises(CannotProceedError, match=message):
        ledger.lookup("t", "abc")


def _requests(url: str) -> list[dict[str, Any]]:
    log: list[dict[str, Any]] = httpx.get(f"{url}/_sandbox/requests").json()
    return log


async def _run_deployment_once(deployment: Any) -> Any:
    """Apply the deployment, create a flow run from it and let a Runner (what `serve` starts)
    pick it up and execute it; returns the flow run once it is finished."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import arun_deployment
    from prefect.runner import Runner

    runner = Runner(pause_on_shutdown=False)
    await runner.aadd_deployment(deployment)
    created = await arun_deployment(f"scheduled-import/{deployment.name}", timeout=0)
    await runner.start(run_once=True)
    async with get_client() as client:
        return await client.read_flow_run(created.id)


def _run(deployment: Any) -> Any:
    sigterm = signal.getsignal(signal.SIGTERM)  # Runner.start installs its own handler
    try:
        return asyncio.run(_run_deployment_once(deployment))
    finally:
        signal.signal(signal.SIGTERM, sigterm)


async def _logs(flow_run_id: Any) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    async with get_client() as client:
        logs = await client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
        return [log.message for log in logs]


async def _child_runs(flow_run_id: Any) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId

    async with get_client() as client:
        return await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[flow_run_id])
            )
        )


@pytest.mark.prefect
def test_a_deployment_run_imports_the_newest_file_once(
    prefect_harness: None, sandbox_url: str, tmp_path: Path
) -> None:
    config = _config(tmp_path, _entry(target='"sandbox:octanist"', out='"runs/{run_id}"'))
    export = tmp_path / "exports" / "hubspot-2026-11-20.csv"
    export.parent.mkdir()
    shutil.copy(SAMPLES / "hubspot_contacts.csv", export)
    (deployment,) = deployments(config)

    first = _run(deployment)
    assert first.state.is_completed(), first.state
    assert first.parameters == {"config": str(config.resolve()), "schedule": "nightly-hubspot"}
    (run_dir,) = (tmp_path / "runs").iterdir()
    rows = pl.read_parquet(run_dir / "rows.parquet")
    assert rows["source_row"].to_list() == list(range(2, 22))  # one row per source record
    summary = json.loads((run_dir / "summary.json").read_text())
    assert (summary["job"], summary["target"]["profile"]) == ("import", "sandbox:octanist")
    assert summary["run_id"] == run_dir.name and summary["counts"]["created"] > 0
    writes = [e for e in _requests(sandbox_url) if e["method"] != "GET"]
    assert len(writes) >= summary["counts"]["created"]
    (child,) = asyncio.run(_child_runs(first.id))  # the import, as a subflow of this run
    assert child.state.is_completed() and child.parent_task_run_id is not None
    record = Ledger.of("nightly-hubspot").lookup("sandbox:octanist", sha256_of(export))
    assert record is not None and record["run_id"] == run_dir.name

    before = len(_requests(sandbox_url))
    second = _run(deployment)
    assert second.state.is_completed(), second.state
    assert len(_requests(sandbox_url)) == before  # not even a read of the target
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [run_dir.name]
    assert any(
        m.startswith(f"skipped {export.name}: the same content went to sandbox:octanist")
        for m in asyncio.run(_logs(second.id))
    )


@pytest.mark.prefect
def test_no_matching_file_ends_completed_with_nothing_to_import(
    prefect_harness: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from flows.schedules import scheduled_import

    config = _config(tmp_path, _entry(target='"sandbox:octanist"'))
    state: Any = scheduled_import(str(config), "nightly-hubspot", return_state=True)
    assert state.is_completed()
    assert state.result()["status"] == "nothing"
    assert f"nothing to import: no file matches exports/hubspot-*.csv in {tmp_path}" in (
        caplog.messages
    )


@pytest.mark.prefect
def test_a_run_over_max_failed_ratio_fails_and_is_tried_again(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a finished import within max_failed_ratio is recorded; the next tick retries."""
    import flows.schedules
    from flows.options import SyncOptions
    from flows.schedules import scheduled_import
    from schemas.summary import RunSummary
    from tests.reports.report_frames import summary_of

    failed = iter([6, 0])
    imports: list[SyncOptions] = []

    def fake_sync(options: SyncOptions, engine: str) -> RunSummary:
        imports.append(options)
        counts = {"created": 4, "failed": next(failed)}
        return summary_of(job="import", counts=counts, rows=10)

    monkeypatch.setattr(flows.schedules, "run_sync", fake_sync)
    config = _config(tmp_path, _entry(target='"sandbox:octanist"', max_failed_ratio="0.5"))
    export = _touch(tmp_path / "exports" / "hubspot-1.csv", 1_000, "Email\na@x.io\n")

    over: Any = scheduled_import(str(config), "nightly-hubspot", return_state=True)
    assert over.is_failed()
    assert over.message == (
        "6 of 10 rows failed (more than max_failed_ratio 0.5); "
        "hubspot-1.csv is tried again on the next run"
    )
    assert Ledger.of("nightly-hubspot").lookup("sandbox:octanist", sha256_of(export)) is None

    retried: Any = scheduled_import(str(config), "nightly-hubspot", return_state=True)
    result = retried.result()
    assert (result["status"], result["file"], result["counts"]["failed"]) == (
        "imported",
        str(export),
        0,
    )
    assert result["out_dir"] == str(tmp_path / "runs" / "nightly-hubspot" / result["run_id"])
    assert [o.source for o in imports] == [export, export]
    assert imports[0].run_id != imports[1].run_id  # a fresh run id per import

    skipped: Any = scheduled_import(str(config), "nightly-hubspot", return_state=True)
    assert skipped.result() == {**result, "status": "skipped", "out_dir": None, "counts": None}
    assert len(imports) == 2


async def _schedule_two_runs(deployment: Any, start: datetime) -> list[Any]:
    """What the server's scheduler does for a served deployment, asked for explicitly."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.settings import PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    deployment_id = await deployment.aapply()
    # A few retries ride out a busy SQLite; the default (5, backing off) takes minutes to fail.
    with temporary_settings({PREFECT_CLIENT_MAX_RETRIES: 2}):
        async with get_client() as client:
            await client.request(
                "POST",
                "/deployments/{id}/schedule",
                path_params={"id": deployment_id},
                json={"start_time": start.isoformat(), "min_runs": 2, "max_runs": 2},
            )
            runs = await client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
            )
    return sorted(runs, key=lambda r: r.expected_start_time)


@pytest.mark.prefect
def test_the_server_schedules_runs_at_the_cron_times_in_the_time_zone(
    prefect_harness: None, tmp_path: Path
) -> None:
    """Also guards the server itself: with SQLAlchemy 2.1, Prefect 3.8's scheduler cannot
    insert scheduled runs and no schedule ever fires."""
    config = _config(tmp_path, TARGETS + _entry(name='"berlin-mornings"'))
    (deployment,) = deployments(config)
    saturday_noon = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    from prefect.exceptions import PrefectHTTPStatusError
    from sqlalchemy import __version__ as sqlalchemy_version

    try:
        runs = asyncio.run(_schedule_two_runs(deployment, saturday_noon))
    except PrefectHTTPStatusError as exc:
        pytest.fail(
            f"the Prefect server could not schedule runs ({exc.response.status_code}); "
            f"SQLAlchemy {sqlalchemy_version} is installed, Prefect 3.8 needs < 2.1"
        )
    berlin = ZoneInfo("Europe/Berlin")
    assert [r.expected_start_time for r in runs] == [
        datetime(2026, 11, 23, 6, 0, tzinfo=berlin),  # Monday
        datetime(2026, 11, 24, 6, 0, tzinfo=berlin),
    ]
    assert [r.state.type.value for r in runs] == ["SCHEDULED", "SCHEDULED"]
    assert all(
        r.parameters == {"config": str(config.resolve()), "schedule": "berlin-mornings"}
        for r in runs
    )
    (row,) = schedule_rows(config, now=saturday_noon)
    assert row.next_run == runs[0].expected_start_time  # what `leadpipe serve` prints


def test_leadpipe_serve_lists_the_schedules_then_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    import flows.schedules
    from flows.cli import app

    served: list[Path] = []
    # serving would block
    monkeypatch.setattr(flows.schedules, "serve", lambda config, **_: served.append(config))
    config = tmp_path / "leadpipe.toml"
    config.write_text(
        '[[schedules]]\nname = "nightly"\ncron = "0 6 * * *"\ntimezone = "Europe/Berlin"\n'
        'source = "exports/*.csv"\ntarget = "sandbox:octanist"\n'
    )
    result = CliRunner().invoke(app, ["serve", str(config)])
    assert result.exit_code == 0, result.output
    assert "nightly" in result.stdout and "0 6 * * *" in result.stdout
    assert served == [config]

    config.write_text('[[schedules]]\nname = "Bad Name"\ncron = "never"\n')
    result = CliRunner().invoke(app, ["serve", str(config)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "cron" in result.stderr and "source" in result.stderr
    assert served == [config]


class _StepClock:
    """A monotonic clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.t = 50.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


API = "http://127.0.0.1:4200/api"


def test_serve_waits_for_a_prefect_api_that_is_starting_and_says_so() -> None:
    from flows.schedules import wait_for_api

    clock, said, asked = _StepClock(), [], []

    def probe(url: str) -> bool:
        asked.append(clock.t)
        return clock.t >= 62.0  # the server answers 12 s after the first question

    wait_for_api(API, say=said.append, clock=clock, probe=probe)
    assert said == [
        f"waiting up to 30 s for the Prefect API at {API} to answer …",
        f"the Prefect API at {API} answered",
    ]
    assert asked[0] == 50.0 and asked[-1] == 62.0 and len(asked) == 25  # every 0.5 s
    assert sum(clock.slept) == 12.0


def test_an_api_that_answers_at_once_is_not_waited_for() -> None:
    from flows.schedules import wait_for_api

    clock, said = _StepClock(), []
    wait_for_api(API, say=said.append, clock=clock, probe=lambda url: True)
    assert said == [] and clock.slept == []


def test_an_api_that_never_answers_is_one_line_after_the_bound() -> None:
    from flows.schedules import wait_for_api

    clock, said = _StepClock(), []
    with pytest.raises(CannotProceedError) as raised:
        wait_for_api(API, within=30.0, say=said.append, clock=clock, probe=lambda url: False)
    assert str(raised.value) == (
        f"the Prefect API at {API} did not answer within 30 s: start it with `prefect server "
        "start` (or correct PREFECT_API_URL), then run leadpipe serve again"
    )
    assert said == [f"waiting up to 30 s for the Prefect API at {API} to answer …"]
    assert sum(clock.slept) == 30.0 and max(clock.slept) == 0.5


def test_the_default_probe_asks_the_health_route(monkeypatch: pytest.MonkeyPatch) -> None:
    import flows.schedules

    seen: list[str] = []

    def get(url: str, timeout: float) -> httpx.Response:
        seen.append(url)
        if len(seen) == 1:
            raise httpx.ConnectError("All connection attempts failed")
        return httpx.Response(200, json=True)

    monkeypatch.setattr(flows.schedules.httpx, "get", get)
    clock = _StepClock()
    flows.schedules.wait_for_api(API + "/", say=lambda line: None, clock=clock)
    assert seen == [f"{API}/health", f"{API}/health"] and clock.slept == [0.5]


def test_leadpipe_serve_says_it_waits_and_exits_3_when_the_api_never_comes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`leadpipe serve` right after `prefect server start`: one line that it waits, then (if
    the server never answers) one line naming the address, exit 3; no "internal error"."""
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from typer.testing import CliRunner

    import flows.schedules
    from flows.cli import app

    clock = _StepClock()
    real_wait = flows.schedules.wait_for_api

    def wait(url: str, **given: Any) -> None:
        real_wait(url, **{**given, "clock": clock, "probe": lambda url: False})

    monkeypatch.setattr(flows.schedules, "wait_for_api", wait)
    config = _config(tmp_path, TARGETS + ENTRY)
    port = 1  # nothing listens there
    with temporary_settings(updates={PREFECT_API_URL: f"http://127.0.0.1:{port}/api"}):
        result = CliRunner().invoke(app, ["serve", str(config)])
    assert result.exit_code == 3, result.output
    assert result.stderr.splitlines() == [
        "leadpipe: waiting up to 30 s for the Prefect API at http://127.0.0.1:1/api to answer …",
        "leadpipe: error: the Prefect API at http://127.0.0.1:1/api did not answer within 30 s: "
        "start it with `prefect server start` (or correct PREFECT_API_URL), then run leadpipe "
        "serve again",
    ]
    assert sum(clock.slept) == 30.0
