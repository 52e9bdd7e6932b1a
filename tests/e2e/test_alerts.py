"""Alerts of a command: a breached threshold exits 1 with one line per breach on stderr (the
threshold and the value), summary.json records it, and a configured webhook gets one
notification; a webhook that fails is one warning line, never a second failure."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from flows.cli import app
from tests.flows.test_alerts import TOKEN, receiving

runner = CliRunner()
LINE = "leadpipe: 2 of 10 rows invalid (more than --alert-invalid-share 0.1)\n"


def _leads(folder: Path) -> Path:
    """10 rows; 2 have neither an email nor a phone: invalid."""
    rows = [f"{'' if i < 2 else f'p{i}@example.com'},P{i},L{i}" for i in range(10)]
    path = folder / "leads.csv"
    path.write_text("Email,First Name,Last Name\n" + "\n".join(rows) + "\n")
    return path


def _plan(folder: Path, *more: str) -> list[str]:
    source = str(_leads(folder))
    return ["plan", source, "--target", "sandbox:octanist", "--engine", "local", "--json", *more]


def test_a_command_over_its_invalid_share_exits_1_with_the_one_line(tmp_path: Path) -> None:
    out = tmp_path / "r1"
    over = runner.invoke(app, [*_plan(tmp_path), "--out", str(out), "--alert-invalid-share", "0.1"])
    assert over.exit_code == 1, over.stderr
    assert over.stderr == LINE
    alerts = json.loads(over.stdout)["alerts"]
    assert alerts == json.loads((out / "summary.json").read_text())["alerts"]
    assert alerts == [
        {
            "rule": "alert_invalid_share",
            "threshold": 0.1,
            "measured": 0.2,
            "message": "2 of 10 rows invalid (more than alert_invalid_share 0.1)",
        }
    ]
    within = runner.invoke(
        app, [*_plan(tmp_path), "--out", str(tmp_path / "r2"), "--alert-invalid-share", "0.2"]
    )
    assert (within.exit_code, within.stderr) == (0, "")
    assert "alerts" not in json.loads(within.stdout)


def test_a_command_notifies_its_webhook_once_and_a_failing_one_is_a_warning(
    tmp_path: Path,
) -> None:
    for status in (200, 500):
        with receiving(status) as hook:
            config = tmp_path / f"leadpipe-{status}.toml"
            config.write_text(f'alert_webhook = "{hook.url}"\nalert_invalid_share = 0.1\n')
            out = tmp_path / f"r{status}"
            result = runner.invoke(
                app, [*_plan(tmp_path), "--out", str(out), "--config", str(config)]
            )
        assert result.exit_code == 1
        warned = "leadpipe: warning: the alert webhook answered 500: the alert was not delivered\n"
        assert result.stderr == (warned if status == 500 else "") + LINE
        ((path, body),) = hook.posts
        assert path == f"/hook/{TOKEN}"
        assert body == {
            "run_id": json.loads(result.stdout)["run_id"],
            "schedule": None,
            "target": "sandbox:octanist",
            "breaches": json.loads(result.stdout)["alerts"],
            "report": f"{out}/report.html",
        }
        assert "s3cret" not in result.output


def test_a_webhook_over_plain_http_elsewhere_is_a_config_error_without_the_url(
    tmp_path: Path,
) -> None:
    config = tmp_path / "leadpipe.toml"
    config.write_text(f'alert_webhook = "http://hooks.example.com/{TOKEN}"\n')
    result = runner.invoke(app, [*_plan(tmp_path), "--config", str(config)])
    assert result.exit_code == 2
    assert (
        "alert_webhook must use https (plain http only to 127.0.0.1 / localhost)" in result.stderr
    )
    assert "s3cret" not in result.output
