"""Snapshots know their target: a wiped target is read again, not trusted; reconcile reads the
whole target; a damaged snapshot file is ignored; each base URL has its own snapshot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
from typer.testing import CliRunner

from connectors import SnapshotStore
from flows.cli import app

runner = CliRunner()
HEADER = "Email,First Name,Last Name,Phone,Value,Customer Profile"
PEOPLE = [
    (f"p{n}@x.io", f"P{n}", "Lee", f"+1212555010{n}", str(100 * n), "Default") for n in range(1, 6)
]
# A cell each vendor updates: Octanist's value, Omni's first name, Apten's email.
EDITS = {"octanist": (4, "999"), "omni": (1, "Pat"), "apten": (0, "p1@y.io")}


def _file(path: Path, edit: str | None = None) -> Path:
    rows = [list(p) for p in PEOPLE]
    if edit:
        column, value = EDITS[edit]
        rows[0][column] = value
    path.write_text(HEADER + "\n" + "".join(",".join(r) + "\n" for r in rows))
    return path


def _run(command: str, source: Path, out: Path, vendor: str = "octanist") -> dict[str, Any]:
    args = [command, str(source), "--target", f"sandbox:{vendor}", "--engine", "local"]
    result = runner.invoke(app, [*args, "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


@pytest.mark.parametrize("vendor", ["octanist", "omni", "apten"])
def test_a_wiped_target_is_read_again_and_reconcile_sees_it_empty(
    sandbox_url: str, tmp_path: Path, vendor: str
) -> None:
    first = _run("import", _file(tmp_path / "a.csv"), tmp_path / "r1", vendor)
    assert first["counts"]["created"] == 5
    httpx.post(f"{sandbox_url}/_sandbox/reset").raise_for_status()  # every lead gone

    planned = _run("plan", _file(tmp_path / "b.csv", edit=vendor), tmp_path / "p", vendor)
    assert planned["counts"]["would_create"] == 5  # not one update of a lead that is gone

    _run("reconcile", _file(tmp_path / "a.csv"), tmp_path / "rc", vendor)
    rows = pl.read_parquet(tmp_path / "rc" / "rows.parquet")
    assert rows["recon_status"].to_list() == ["only_in_file"] * 5


def test_a_damaged_snapshot_is_ignored_and_the_target_read_again(
    sandbox_url: str, tmp_path: Path
) -> None:
    _run("import", _file(tmp_path / "a.csv"), tmp_path / "r1")
    for path in (tmp_path / "home" / "state").rglob("*"):
        if path.name in ("leads.parquet", "state.json", "base.parquet"):
            path.write_bytes(b"\x00garbage")
    again = _run("import", _file(tmp_path / "a.csv"), tmp_path / "r2")
    assert again["counts"]["created"] == 0 and again["counts"]["failed"] == 0
    assert again["counts"]["unchanged"] + again["counts"]["updated"] == 5


def test_each_target_address_has_its_own_snapshot(tmp_path: Path) -> None:
    staging = SnapshotStore(tmp_path, "crm", "octanist", "https://staging.octanist.com/api")
    prod = SnapshotStore(tmp_path, "crm", "octanist", "https://octanist.com/api")
    assert staging.folder != prod.folder
    assert staging.folder.parent == prod.folder.parent == tmp_path / "state" / "crm"
    assert prod.folder.name.startswith("octanist.com-")
