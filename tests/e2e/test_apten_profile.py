"""Apten works out of the box: a new lead's customer profile comes from the target profile
(`customer_profile`; the sandbox's is its workspace's "Default"), and a target without one
says which setting to add."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
from typer.testing import CliRunner

from flows.cli import app

runner = CliRunner()
KEY = {"x-api-key": "sandbox-key"}


def _file(path: Path) -> Path:
    path.write_text("Email,First Name,Last Name,Phone\na@x.io,Ann,Lee,+12125550131\n")
    return path


def _import(tmp_path: Path, *extra: str) -> dict[str, Any]:
    args = ["import", str(_file(tmp_path / "leads.csv")), "--engine", "local", *extra]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "r"), "--json"])
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def test_the_sandbox_profile_gives_new_leads_its_customer_profile(
    sandbox_url: str, tmp_path: Path
) -> None:
    summary = _import(tmp_path, "--target", "sandbox:apten")
    assert summary["counts"]["created"] == 1
    params = {"createdSince": "2000-01-01T00:00:00Z", "limit": 100}
    leads = httpx.get(f"{sandbox_url}/apten/v1/leads", params=params, headers=KEY).json()
    assert [lead["customerProfile"] for lead in leads["leads"]] == ["Default"]


def test_a_target_without_customer_profile_names_the_setting(
    sandbox_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APTEN_TEST_KEY", "sandbox-key")
    config = tmp_path / "leadpipe.toml"
    config.write_text(
        f'[targets.apten-live]\nvendor = "apten"\nbase_url = "{sandbox_url}/apten/v1"\n'
        'api_key_env = "APTEN_TEST_KEY"\n'
    )
    summary = _import(tmp_path, "--target", "apten-live", "--config", str(config))
    assert summary["counts"]["skipped"] == 1
    row = pl.read_parquet(tmp_path / "r" / "rows.parquet").row(0, named=True)
    assert row["reason_code"] == "missing_required"
    assert 'set customer_profile = "<profile name>" under [targets.apten-live]' in row["reason"]
