"""`leadpipe import --approve` in-process against the sandbox (real sockets): an approved plan
is sent, a rejected one sends nothing and says so, and with no terminal nobody is asked.

The answer comes from `flows._approval.answering` (the terminal's y/N in real use)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import polars as pl
from typer.testing import CliRunner

from flows._approval import PlanView, answering
from flows.cli import app

runner = CliRunner()
HEADER = "Email,First Name,Last Name,Phone"
ROWS = [
    "ann@x.io,Ann,Lee,+12125550101",
    "bob@x.io,Bob,Ray,+12125550102",
    "cy@x.io,Cy,Day,+12125550103",
    "not-an-email,,,",
]


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "leads.csv"
    path.write_text(HEADER + "\n" + "\n".join(ROWS) + "\n")
    return path


def _import(source: Path, out: Path, *extra: str) -> Any:
    args = ["import", str(source), "--target", "sandbox:omni", "--engine", "local"]
    return runner.invoke(app, [*args, "--out", str(out), "--json", *extra])


def _writes(url: str) -> list[dict[str, Any]]:
    log: list[dict[str, Any]] = httpx.get(
        f"{url}/_sandbox/requests", params={"vendor": "omni"}
    ).json()
    return [e for e in log if e["method"] in ("POST", "PUT", "PATCH", "DELETE")]


def test_an_approved_plan_is_sent(sandbox_url: str, tmp_path: Path) -> None:
    seen: list[PlanView] = []

    def yes(view: PlanView) -> bool:
        seen.append(view)
        return True

    with answering(yes):
        result = _import(_file(tmp_path), tmp_path / "r", "--approve")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["approval"] == "approved" and summary["counts"]["created"] == 3
    assert summary["requests"]["sent"] == 3
    # the person saw the plan: counts and requests before anything went out
    assert seen[0].counts == {"would_create": 3, "invalid": 1} and seen[0].requests == 3
    assert seen[0].sample["source_row"].to_list() == [2, 3, 4]
    writes = _writes(sandbox_url)
    assert [e["method"] for e in writes] == ["POST"] * 3
    assert sorted(e["body"]["email"] for e in writes) == ["ann@x.io", "bob@x.io", "cy@x.io"]


def test_a_rejected_plan_sends_nothing_and_the_report_says_so(
    sandbox_url: str, tmp_path: Path
) -> None:
    with answering(lambda view: False):
        result = _import(_file(tmp_path), tmp_path / "r", "--approve")
    assert result.exit_code == 0, result.output  # a person decided: not a failure
    assert _writes(sandbox_url) == []
    summary = json.loads(result.stdout)
    assert summary["approval"] == "rejected" and summary["requests"]["sent"] == 0
    assert summary["counts"]["would_create"] == 3 and summary["counts"]["created"] == 0
    assert any("Nothing was sent: the plan was rejected" in n for n in summary["notices"])
    rows = pl.read_parquet(tmp_path / "r" / "rows.parquet")
    assert rows["outcome"].to_list() == ["would_create"] * 3 + ["invalid"]
    assert "rejected" in (tmp_path / "r" / "report.html").read_text()
    assert "the plan was rejected" in result.stderr and "nothing was sent" in result.stderr
    # nothing was journaled as sent: importing again (approved) creates all three
    with answering(lambda view: True):
        again = _import(_file(tmp_path), tmp_path / "r2", "--approve")
    assert json.loads(again.stdout)["counts"]["created"] == 3


def test_without_a_terminal_nobody_is_asked_and_nothing_is_sent(
    sandbox_url: str, tmp_path: Path
) -> None:
    result = _import(_file(tmp_path), tmp_path / "r", "--approve")  # CliRunner: no tty
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs approval and nothing was sent" in lines[0]
    assert "run it on a terminal" in lines[0] and "leadpipe approve RUN_ID" in lines[0]
    assert "Traceback" not in result.output
    assert _writes(sandbox_url) == []
    assert not (tmp_path / "r" / "summary.json").exists()


def test_approve_in_the_config_asks_too(sandbox_url: str, tmp_path: Path) -> None:
    config = tmp_path / "leadpipe.toml"
    config.write_text("approve = true\n")
    asked: list[int] = []

    def no(view: PlanView) -> bool:
        asked.append(view.requests)
        return False

    with answering(no):
        result = _import(_file(tmp_path), tmp_path / "r", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert asked == [3] and json.loads(result.stdout)["approval"] == "rejected"
    with answering(no):  # the flag wins over the file
        plain = _import(_file(tmp_path), tmp_path / "r2", "--config", str(config), "--no-approve")
    assert asked == [3] and "approval" not in json.loads(plain.stdout)
    assert len(_writes(sandbox_url)) == 3


def test_a_plan_that_sends_nothing_is_not_asked_about(sandbox_url: str, tmp_path: Path) -> None:
    source = _file(tmp_path)
    with answering(lambda view: True):
        assert _import(source, tmp_path / "r1", "--approve").exit_code == 0

    def never(view: PlanView) -> bool:
        raise AssertionError("asked about a plan that sends nothing")

    with answering(never):
        result = _import(source, tmp_path / "r2", "--approve")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["approval"] == "nothing_to_send" and summary["counts"]["unchanged"] == 3
