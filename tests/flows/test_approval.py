"""The approval gate's parts without a Prefect server: the plan a person sees, what an answer
does to the push and the summary, the options, and `leadpipe approve|reject` resolving a
paused flow run by leadpipe's run id (Prefect's client faked at the `PausedRuns` seam)."""

from __future__ import annotations

import dataclasses
import io
import uuid
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from flows import _approval
from flows._approval import RUN_TAG, PlanView, noted, push_options, resume
from flows._partitions import Parts
from flows.cli import app
from flows.exceptions import ConfigError
from flows.options import Flags, SyncOptions, load_config, options_for
from flows.schedules import load_schedules
from schemas.summary import ApprovalFacts, MappingFacts, RunSummary, SourceFacts

runner = CliRunner()


def _planned() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "source_row": [2, 3, 4, 5, 6],
            "outcome": ["would_create", "would_update", "unchanged", "invalid", "invalid"],
            "reason_code": [None, None, None, "no_identity", "no_identity"],
            "reason": [None, None, None, "no email", "no phone"],
            "op": ["create", "update", None, None, None],
            "op_id": ["a", "b", None, None, None],
            "matched_id": [None, "L1", "L2", None, None],
            "changed_fields": [["email"], ["first_name", "note"], [], [], []],
            "email": ["a@x.io", "b@x.io", "c@x.io", None, None],
            "phone": [None, None, None, None, None],
        },
        schema_overrides={"phone": pl.String},
    )


def test_the_plan_view_counts_outcomes_requests_reasons_and_samples_the_requests() -> None:
    view = PlanView.of(Parts.single(_planned()))
    assert view.counts == {"would_create": 1, "would_update": 1, "unchanged": 1, "invalid": 2}
    assert view.requests == 2
    assert [(r["reason_code"], r["count"], r["example_row"]) for r in view.reasons] == [
        ("no_identity", 2, 5)
    ]
    assert view.sample["source_row"].to_list() == [2, 3]
    assert view.sample["changed_fields"].to_list() == [["email"], ["first_name", "note"]]
    assert view.lines() == [
        "plan: would_create 1, would_update 1, unchanged 1, invalid 2; 2 requests to send",
        "  no_identity: 2 rows (first row 5)",
    ]


def _options(tmp_path: Path, **changes: Any) -> SyncOptions:
    return SyncOptions(
        source=tmp_path / "f.csv",
        out_dir=tmp_path / "out",
        run_id="r1",
        target="sandbox:omni",
        dry_run=False,
        **changes,
    )


@pytest.mark.parametrize(
    ("verdict", "dry_run"),
    [(None, False), ("approved", False), ("rejected", True), ("timed_out", True)],
)
def test_only_an_approved_or_unasked_plan_is_pushed(
    tmp_path: Path, verdict: str | None, dry_run: bool
) -> None:
    approval = ApprovalFacts(verdict) if verdict else None
    assert push_options(_options(tmp_path), approval).dry_run is dry_run


def _summary() -> RunSummary:
    return RunSummary(
        job="import",
        mode="upsert",
        dry_run=False,
        run_id="r1",
        engine="local",
        source=SourceFacts(path="f.csv", format="csv"),
        mapping=MappingFacts(preset="generic", detected=True, coverage=1.0),
        options={},
        rows=3,
        counts={"would_create": 3},
        reasons=(),
        phones={},
        requests={"sent": 0, "retried": 0, "throttled": 0},
        durations={},
        memory_mb={},
        seconds=1.0,
        started_at="2026-12-07T10:00:00+00:00",
        out_dir="out",
        notices=("a notice",),
    )


def test_the_summary_says_who_rejected_and_why() -> None:
    base = _summary()
    said = noted(base, ApprovalFacts("rejected", by="ana", comment="wrong file"))
    assert said.notices[-1] == (
        "Nothing was sent: the plan was rejected by ana (wrong file); rows show what it would "
        "have done."
    )
    data = said.as_json()
    assert (data["approval"], data["approved_by"], data["approval_comment"]) == (
        "rejected",
        "ana",
        "wrong file",
    )
    assert RunSummary.from_json(data).approval == said.approval
    assert noted(base, None) is base and "approval" not in base.as_json()
    timed = noted(base, ApprovalFacts("timed_out"))
    assert "not answered in time" in timed.notices[-1]
    assert noted(base, ApprovalFacts("approved")).notices == base.notices


def test_approve_and_its_timeout_come_from_flags_over_the_config(tmp_path: Path) -> None:
    config = tmp_path / "leadpipe.toml"
    config.write_text("approve = true\napprove_timeout = 600\n")
    source = tmp_path / "f.csv"
    options, _ = options_for(
        "import", Flags(source=source, config=config, target="sandbox:omni", engine="local")
    )
    assert isinstance(options, SyncOptions)
    assert (options.approve, options.approve_timeout) == (True, 600)
    flags = Flags(source=source, config=config, target="sandbox:omni", approve=False)
    options, _ = options_for("import", dataclasses.replace(flags, approve_timeout=5.0))
    assert isinstance(options, SyncOptions)
    assert (options.approve, options.approve_timeout) == (False, 5.0)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"approve": "yes"}, "approve must be true or false"),
        ({"approve_timeout": 0}, "--approve-timeout must be a number of seconds above 0"),
        ({"approve_timeout": True}, "--approve-timeout must be"),
    ],
)
def test_bad_approve_settings_are_one_line(
    tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        _options(tmp_path, **changes)


def test_a_schedule_may_ask_for_approval(tmp_path: Path) -> None:
    config = tmp_path / "leadpipe.toml"
    config.write_text(
        '[[schedules]]\nname = "nightly"\ncron = "0 6 * * *"\nsource = "x.csv"\n'
        'target = "sandbox:omni"\napprove = true\napprove_timeout = 900\n'
    )
    (schedule,) = load_schedules(load_config(config), config)
    options = schedule.sync_options(tmp_path / "x.csv", "r1")
    assert (options.approve, options.approve_timeout) == (True, 900)


class FakeRuns:
    """Paused flow runs by tag, and the answers given to them."""

    def __init__(self, paused: dict[str, list[uuid.UUID]]) -> None:
        self.by_run = paused
        self.answers: list[tuple[uuid.UUID, dict[str, Any]]] = []

    def paused(self, run_id: str) -> list[uuid.UUID]:
        return self.by_run.get(run_id, [])

    def resume(self, flow_run_id: uuid.UUID, answer: dict[str, Any]) -> None:
        self.answers.append((flow_run_id, answer))


@pytest.fixture
def fake_runs(monkeypatch: pytest.MonkeyPatch) -> FakeRuns:
    runs = FakeRuns({"20261207T100000Z-abc123": [uuid.UUID(int=7)]})
    monkeypatch.setattr(_approval, "PrefectPausedRuns", lambda: runs)
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    return runs


@pytest.mark.parametrize(("command", "approve"), [("approve", True), ("reject", False)])
def test_approve_and_reject_resume_the_runs_paused_flow_run(
    fake_runs: FakeRuns, command: str, approve: bool
) -> None:
    result = runner.invoke(app, [command, "20261207T100000Z-abc123", "--comment", "checked"])
    assert result.exit_code == 0, result.output
    ((flow_run, answer),) = fake_runs.answers
    assert flow_run == uuid.UUID(int=7)
    assert answer["approve"] is approve and answer["comment"] == "checked"
    assert str(uuid.UUID(int=7)) in result.stderr


def test_an_unknown_run_is_one_line(fake_runs: FakeRuns) -> None:
    result = runner.invoke(app, ["approve", "20261207T100000Z-ffffff"])
    assert result.exit_code == 2
    assert "no paused import of run 20261207T100000Z-ffffff" in result.stderr
    assert fake_runs.answers == []


def test_approve_needs_the_prefect_server_the_run_is_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("flows.cli.configured_api_url", lambda: None)
    result = runner.invoke(app, ["reject", "r1"])
    assert result.exit_code == 2 and "set PREFECT_API_URL" in result.stderr


def test_resume_finds_runs_by_their_tag() -> None:
    runs = FakeRuns({"r9": [uuid.UUID(int=1), uuid.UUID(int=2)]})
    assert resume("r9", True, by="ana", runs=runs) == uuid.UUID(int=1)
    assert runs.answers == [(uuid.UUID(int=1), {"approve": True, "by": "ana", "comment": None})]
    assert RUN_TAG == "leadpipe-run:"


def test_a_pause_on_prefects_temporary_server_is_refused(tmp_path: Path) -> None:
    """Nobody could answer it (its server lives and dies with this process): one line."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows._approval import ApprovalNeeded, _ask_prefect

    view = PlanView.of(Parts.single(_planned()))
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        with pytest.raises(ApprovalNeeded, match="set PREFECT_API_URL to a Prefect server"):
            _ask_prefect(view, _options(tmp_path, approve=True))


def test_a_plan_of_no_rows_sends_nothing() -> None:
    assert PlanView.of(Parts(items=(), scratch=None)).requests == 0
    empty = PlanView.of(Parts.single(_planned().head(0)))
    assert (empty.counts, empty.requests, empty.reasons) == ({}, 0, [])


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("typed", "answer"), [("y\n", True), ("\n", False), ("n\n", False)])
def test_the_terminal_shows_the_plan_and_asks(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], typed: str, answer: bool
) -> None:
    monkeypatch.setattr("sys.stdin", _Terminal(typed))
    assert _approval._ask_terminal(PlanView.of(Parts.single(_planned()))) is answer
    said = capsys.readouterr().err
    assert "plan: would_create 1, would_update 1" in said and "2 requests to send" in said
    assert "no_identity: 2 rows" in said and "Send? [y/N]" in said


def test_no_terminal_is_no_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    assert _approval._ask_terminal(PlanView.of(Parts.single(_planned()))) is None


@pytest.mark.parametrize(
    ("verdict", "failed", "recorded"),
    [("approved", False, True), ("rejected", False, False), ("timed_out", True, False)],
)
def test_a_scheduled_plan_not_sent_is_not_recorded_as_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, verdict: str, failed: bool, recorded: bool
) -> None:
    import logging
    from datetime import UTC, datetime

    from flows import schedules

    config = tmp_path / "leadpipe.toml"
    config.write_text(
        '[[schedules]]\nname = "nightly"\ncron = "0 6 * * *"\nsource = "x.csv"\n'
        'target = "sandbox:omni"\napprove = true\n'
    )
    (schedule,) = load_schedules(load_config(config), config)
    source = tmp_path / "x.csv"
    source.write_text("Email\na@x.io\n")
    summary = noted(_summary(), ApprovalFacts(verdict))
    monkeypatch.setattr(schedules, "run_sync", lambda options, engine: summary)
    monkeypatch.setattr(schedules, "get_run_logger", lambda: logging.getLogger("test"))
    ledger = schedules.Ledger.of("nightly", tmp_path)
    now = datetime(2026, 12, 7, 6, tzinfo=UTC)
    result, alerts = schedules._import(schedule, source, "abc", ledger, lambda: now)
    assert result["status"] == "imported"
    assert bool(alerts) is failed  # a breach: the tick ends Failed and is told
    if failed:
        assert [a.rule for a in alerts] == ["approve_timeout"]
        assert "the plan was not approved in time" in alerts[0].message
    assert (ledger.lookup("sandbox:omni", "abc") is not None) is recorded
