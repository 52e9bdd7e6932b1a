"""`leadpipe doctor` end to end against the sandbox over real sockets: exit statuses, one line
per check, nothing changed in the target, and Apten's strict mode (one update route)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from flows.cli import app

runner = CliRunner()
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def _doctor(*args: str) -> Any:
    return runner.invoke(app, ["doctor", *args])


def _log(url: str, vendor: str) -> list[dict[str, Any]]:
    log: list[dict[str, Any]] = httpx.get(
        f"{url}/_sandbox/requests", params={"vendor": vendor}
    ).json()
    return log


@pytest.mark.parametrize(
    ("vendor", "update"),
    [
        ("octanist", "PATCH /leads answered 404"),
        ("apten", "PATCH /leads/{id} answered 404"),
        ("omni", "PUT /api/v1/leads answered 404"),
    ],
)
def test_every_check_passes_on_the_lenient_sandbox(
    sandbox_url: str, vendor: str, update: str
) -> None:
    result = _doctor("--target", f"sandbox:{vendor}")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"target sandbox:{vendor} ({vendor})"
    assert [line[:2] for line in lines[1:]] == ["✓ ", "✓ ", "✓ "]
    assert lines[3].startswith(f"✓ update route: {update} for a lead that cannot exist")
    log = _log(sandbox_url, vendor)
    assert len(log) == 3 and all(e["status"] in (200, 404) for e in log), log
    seeded = httpx.get(f"{sandbox_url}/_sandbox/{vendor}/leads/leadpipe-doctor-0")
    assert seeded.status_code == 404  # the probe made no lead


def test_json_prints_the_checks_and_nothing_else(sandbox_url: str) -> None:
    result = _doctor("--target", "sandbox:apten", "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["ok"] is True and shown["update_route"] == "PATCH /leads/{id}"
    assert [c["status"] for c in shown["checks"]] == ["ok", "ok", "ok"]


def test_a_bad_key_exits_3_and_never_shows_the_key(
    sandbox_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "leadpipe.toml"
    config.write_text(
        f'[targets.prod]\nvendor = "apten"\nbase_url = "{sandbox_url}/apten/v1"\n'
        'api_key_env = "LEADPIPE_TEST_APTEN_KEY"\n'
    )
    monkeypatch.setenv("LEADPIPE_TEST_APTEN_KEY", "wrong-key-4711")
    result = _doctor("--target", "prod", "--config", str(config))
    assert result.exit_code == 3, result.output
    assert result.stdout.splitlines()[1:] == [
        "✗ auth: GET /leads answered 403 Forbidden → Set LEADPIPE_TEST_APTEN_KEY to a valid "
        "key for target prod. (API Gateway answers 403 for a path it does not know too: "
        "check base_url)",
        "- listing: not checked: auth failed",
        "- update route: not checked: auth failed",
    ]
    assert "wrong-key-4711" not in result.output
    assert len(_log(sandbox_url, "apten")) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "nowhere"], "unknown target 'nowhere'"),
        (["--target", "sandbox:hubspot"], "unknown sandbox target"),
        (["--target", "prod", "--config", "missing.toml"], "does not exist"),
    ],
)
def test_usage_and_config_errors_exit_2(
    sandbox_url: str, tmp_path: Path, args: list[str], message: str
) -> None:
    args = [str(tmp_path / a) if a.endswith(".toml") else a for a in args]
    result = _doctor(*args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_an_unknown_update_route_setting_exits_2(sandbox_url: str, tmp_path: Path) -> None:
    config = tmp_path / "leadpipe.toml"
    config.write_text(
        f'[targets.prod]\nvendor = "apten"\nbase_url = "{sandbox_url}/apten/v1"\n'
        'api_key_env = "X"\napten_update_route = "PATCH /lead/{id}"\n'
    )
    result = _doctor("--target", "prod", "--config", str(config))
    assert result.exit_code == 2 and "apten_update_route must be one of" in result.stderr


def _strict(url: str, route: str | None) -> None:
    settings = {"apten": {"update_route": route}}
    httpx.put(f"{url}/_sandbox/settings", json=settings).raise_for_status()


def _apten_config(tmp_path: Path, url: str, route: str | None = None) -> Path:
    config = tmp_path / "leadpipe.toml"
    line = f'apten_update_route = "{route}"\n' if route else ""
    config.write_text(
        f'[targets.prod]\nvendor = "apten"\nbase_url = "{url}/apten/v1"\n'
        f'api_key_env = "LEADPIPE_TEST_APTEN_KEY"\n{line}'
    )
    return config


def test_strict_apten_names_the_route_it_serves_and_the_line_that_selects_it(
    sandbox_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only PUT /leads/{id} exists: PATCH (the default) answers API Gateway's 403."""
    monkeypatch.setenv("LEADPIPE_TEST_APTEN_KEY", "sandbox-key")
    _strict(sandbox_url, "PUT /leads/{id}")
    try:
        wrong = _doctor("--target", "prod", "--config", str(_apten_config(tmp_path, sandbox_url)))
        assert wrong.exit_code == 3, wrong.output
        assert wrong.stdout.splitlines()[3] == (
            "✗ update route: PATCH /leads/{id} answered 403 Missing Authentication Token; "
            "PUT /leads/{id} answered 404 for a lead that cannot exist: that is the route → "
            'put apten_update_route = "PUT /leads/{id}" in [targets.prod]'
        )
        fixed = _apten_config(tmp_path, sandbox_url, "PUT /leads/{id}")
        right = _doctor("--target", "prod", "--config", str(fixed))
        assert right.exit_code == 0, right.output
    finally:
        _strict(sandbox_url, None)


def test_strict_apten_an_import_that_updates_on_the_wrong_route_says_so(
    sandbox_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Creates work on any route setting; the first update on a route the gateway does not
    know stops the run (exit 3) naming apten_update_route and the doctor."""
    monkeypatch.setenv("LEADPIPE_TEST_APTEN_KEY", "sandbox-key")
    config = _apten_config(tmp_path, sandbox_url)
    header = "Email,First Name,Last Name,Phone,Customer Profile\n"
    source = tmp_path / "leads.csv"
    source.write_text(header + "ann@x.io,Ann,Lee,+12125550101,Default\n")
    args = ["import", str(source), "--target", "prod", "--config", str(config)]
    args += ["--engine", "local", "--json"]
    _strict(sandbox_url, "PUT /leads/{id}")
    try:
        created = runner.invoke(app, [*args, "--out", str(tmp_path / "r1")])
        assert created.exit_code == 0, created.output
        source.write_text(header + "ann@y.io,Ann,Lee,+12125550101,Default\n")
        updated = runner.invoke(app, [*args, "--out", str(tmp_path / "r2")])
    finally:
        _strict(sandbox_url, None)
    assert updated.exit_code == 3, updated.output
    assert (
        "key rejected or update route not found: see apten_update_route "
        "(leadpipe doctor --target prod checks it); PATCH /leads/{id} answered 403 "
        "Missing Authentication Token." in updated.stderr
    )
    assert "sandbox-key" not in updated.output
