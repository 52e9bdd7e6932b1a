"""`leadpipe reconcile` end to end against the sandbox: statuses, differences, target side.

The sandbox's request log proves that a reconciliation only reads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import polars as pl
from typer.testing import CliRunner

from flows.cli import app
from tests.e2e.test_sync import KEY, ROWS, _run, _write

runner = CliRunner()


def _reconcile(source: Path, out: Path, *extra: str) -> dict[str, Any]:
    args = ["reconcile", str(source), "--target", "sandbox:octanist", "--engine", "local"]
    result = runner.invoke(app, [*args, "--out", str(out), "--json", *extra])
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def test_reconcile_sorts_every_row_and_reads_only(sandbox_url: str, tmp_path: Path) -> None:
    _run("import", _write(tmp_path / "leads.csv", ROWS), "octanist", tmp_path / "imported")
    # The target gains a lead the file lacks, and two leads sharing an email.
    for name, email, phone in (
        ("Zed Only", "zed@x.io", "+12125550180"),
        ("Twin One", "twin@x.io", "+12125550181"),
        ("Twin Two", "twin@x.io", "+12125550182"),
    ):
        httpx.post(
            f"{sandbox_url}/octanist/api/leads",
            headers=KEY,
            json={"name": name, "email": email, "phone": phone},
        ).raise_for_status()
    httpx.delete(f"{sandbox_url}/_sandbox/requests").raise_for_status()
    edited = [
        ("ann@x.io", "Ann", "Lee", "+12125550101", "", "100", "changed note"),  # different
        *ROWS[1:4],  # equal
        ("", "Ed", "Kim", "not a phone", "", "", "fifth"),  # invalid: no identity left
        ("new@x.io", "Neo", "Nu", "+12125550170", "", "", ""),  # only in the file
        ("twin@x.io", "Tw", "In", "", "", "", ""),  # two target leads share its email
    ]
    summary = _reconcile(_write(tmp_path / "edited.csv", edited), tmp_path / "r")

    rows = pl.read_parquet(tmp_path / "r" / "rows.parquet")
    assert rows["source_row"].to_list() == list(range(2, 9))
    assert rows["recon_status"].to_list() == [
        "different",
        "equal",
        "equal",
        "equal",
        "invalid",
        "only_in_file",
        "conflict",
    ]
    assert rows["outcome"].to_list() == [
        "would_update",
        "unchanged",
        "unchanged",
        "unchanged",
        "invalid",
        "would_create",
        "conflict",
    ]
    assert rows["differences"][0].to_list() == [
        {"field": "note", "file": "changed note", "target": "first"}
    ]
    assert rows["changed_fields"][0].to_list() == ["note"]
    assert summary["counts"] == {
        "equal": 3,
        "different": 1,
        "only_in_file": 1,
        "conflict": 1,
        "invalid": 1,
        "duplicate": 0,
        "only_in_target": 4,  # Zed, both twins, and Ed (his row is invalid, so unmatched)
        "target_duplicates": 1,
    }
    assert summary["field_differences"] == {"note": 1}
    only = pl.read_parquet(tmp_path / "r" / "target_only.parquet")
    assert sorted(only["email"].to_list()) == ["ed@x.io", "twin@x.io", "twin@x.io", "zed@x.io"]
    twins = pl.read_parquet(tmp_path / "r" / "target_duplicates.parquet")
    assert twins.select("key", "value", "leads").rows() == [("email", "twin@x.io", 2)]

    log = httpx.get(f"{sandbox_url}/_sandbox/requests", params={"vendor": "octanist"}).json()
    assert log and {e["method"] for e in log} == {"GET"}


def test_reconcile_against_a_state_file_needs_no_target(tmp_path: Path) -> None:
    """An export of the target (`--state-file`) replaces reading it: no sandbox involved."""
    state = tmp_path / "octanist_export.csv"
    state.write_text(
        "id,name,email,phone,status,value,note\n"
        "L1,Ann Lee,ann@x.io,+12125550101,open,100,first\n"
        "L2,Bob Ray,bob@x.io,+12125550102,open,250,second\n"
        "L9,Old Lead,old@x.io,+12125550109,open,,\n"
    )
    source = _write(tmp_path / "leads.csv", ROWS[:3])
    summary = _reconcile(source, tmp_path / "r", "--state-file", str(state))
    rows = pl.read_parquet(tmp_path / "r" / "rows.parquet")
    assert rows["recon_status"].to_list() == ["equal", "different", "only_in_file"]
    assert rows["target_id"].to_list() == ["L1", "L2", None]
    assert rows["differences"][1].to_list() == [
        {"field": "value", "file": "200.0", "target": "250.0"}
    ]
    assert summary["counts"]["only_in_target"] == 1
    assert summary["state_source"] == "file"
