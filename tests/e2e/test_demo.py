"""`leadpipe demo` tells its story: import, edit, minimal re-import, reconcile."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from flows.cli import app

runner = CliRunner()


def test_the_demo_imports_updates_minimally_and_reconciles(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--out", str(tmp_path), "--engine", "local"])
    assert result.exit_code == 0, result.output
    steps = {
        step: json.loads((tmp_path / step / "summary.json").read_text())
        for step in ("1-import", "2-reimport", "3-reconcile")
    }
    first, second, recon = steps["1-import"], steps["2-reimport"], steps["3-reconcile"]
    rows = first["rows"]
    assert rows == pl.read_csv(tmp_path / "demo_leads_edited.csv").height > 1900
    assert first["counts"]["created"] > 1000 and first["counts"]["failed"] == 0
    # The seeded twins share an email of the file: that row is a conflict, never a write.
    assert first["counts"]["conflict"] == 1
    assert first["counts"]["invalid"] > 0 and first["counts"]["duplicate"] > 0
    # Five statuses changed: five updates, five requests, each sending the status alone.
    assert second["counts"]["updated"] == 5 and second["requests"]["sent"] == 5
    updated = pl.read_parquet(tmp_path / "2-reimport" / "rows.parquet").filter(
        pl.col("outcome") == "updated"
    )
    assert updated["changed_fields"].to_list() == [["status"]] * 5
    assert second["counts"]["created"] == 0
    assert recon["counts"]["only_in_target"] == 3  # the twins and the lead only Octanist has
    assert recon["counts"]["target_duplicates"] == 1
    assert set(recon["field_differences"]) == {"status"}
    assert (
        sum(recon["counts"][s] for s in ("equal", "different", "only_in_file"))
        + sum(recon["counts"][s] for s in ("conflict", "invalid", "duplicate"))
        == rows
    )
    for step in steps:
        assert f"{step}" in result.output
