"""A plain re-run is as safe as --resume, and a lead made by someone else during an import is
not made again (finding 2 and 4 of "No duplicate, no lost lead"), against the sandbox.

The target's listing cannot be made to lag in the sandbox, so a state file that does not show
the leads (`--state-file`, an export taken before they were made) stands in for a target that
does not list them yet: the plan then asks to create them again, and the push must not.
"""

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
KEY = {"X-API-KEY": "sandbox-key"}
HEADER = "Email,First Name,Last Name,Phone\n"
PEOPLE = [(f"r{n}@x.io", f"R{n}", "Ray", f"+1212555020{n}") for n in range(1, 5)]


def _file(path: Path) -> Path:
    path.write_text(HEADER + "".join(",".join(p) + "\n" for p in PEOPLE))
    return path


def _empty_export(path: Path) -> Path:
    path.write_text("id,name,email,phone,status,value,note\n")
    return path


def _import(tmp_path: Path, out: str, *extra: str) -> dict[str, Any]:
    args = ["import", str(_file(tmp_path / "leads.csv")), "--engine", "local"]
    result = runner.invoke(app, [*args, *extra, "--out", str(tmp_path / out), "--json"])
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def _leads(sandbox_url: str) -> list[dict[str, Any]]:
    page = httpx.get(f"{sandbox_url}/octanist/api/leads", params={"limit": 100}, headers=KEY)
    data: list[dict[str, Any]] = page.json()["data"]
    return data


def test_a_rerun_that_does_not_see_the_earlier_leads_does_not_make_them_again(
    sandbox_url: str, tmp_path: Path
) -> None:
    empty = str(_empty_export(tmp_path / "export.csv"))
    first = _import(tmp_path, "r1", "--target", "sandbox:octanist", "--state-file", empty)
    assert first["counts"]["created"] == 4
    made = {lead["email"]: lead["id"] for lead in _leads(sandbox_url)}

    # The same file, a new run id, a target state that does not list them: the journal does.
    again = _import(tmp_path, "r2", "--target", "sandbox:octanist", "--state-file", empty)
    assert again["counts"]["created"] == 4  # what leadpipe made for these rows, not new leads
    assert sorted(lead["email"] for lead in _leads(sandbox_url)) == sorted(made)
    rows = pl.read_parquet(tmp_path / "r2" / "rows.parquet")
    assert dict(zip(rows["email"], rows["target_id"], strict=True)) == made
    posts = [
        r for r in httpx.get(f"{sandbox_url}/_sandbox/requests").json() if r["method"] == "POST"
    ]
    assert len(posts) == 4  # the first run's creates only


def test_a_lead_made_by_someone_else_during_the_import_is_not_made_again(
    sandbox_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCTANIST_TEST_KEY", "sandbox-key")
    config = tmp_path / "leadpipe.toml"
    config.write_text(
        "[targets.octanist-live]\n"
        'vendor = "octanist"\n'
        f'base_url = "{sandbox_url}/octanist/api"\n'
        'api_key_env = "OCTANIST_TEST_KEY"\n'
        "check_before_create = true\n"
    )
    # Someone adds R2 by hand after the export the plan compares with was taken.
    httpx.post(
        f"{sandbox_url}/octanist/api/leads",
        json={"email": "r2@x.io", "name": "R2 Ray"},
        headers=KEY,
    ).raise_for_status()
    empty = str(_empty_export(tmp_path / "export.csv"))
    summary = _import(
        tmp_path,
        "r",
        "--target",
        "octanist-live",
        "--config",
        str(config),
        "--state-file",
        empty,
    )
    assert summary["counts"]["created"] == 3 and summary["counts"]["conflict"] == 1
    emails = sorted(lead["email"] for lead in _leads(sandbox_url))
    assert emails == ["r1@x.io", "r2@x.io", "r3@x.io", "r4@x.io"]  # one lead per person
    rows = pl.read_parquet(tmp_path / "r" / "rows.parquet").filter(pl.col("email") == "r2@x.io")
    assert rows["outcome"].to_list() == ["conflict"]
    assert "made since this import read the target" in rows["reason"].item()
