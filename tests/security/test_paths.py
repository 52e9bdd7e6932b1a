"""Nothing from the input file, its name, a run id or a target name can make leadpipe write
outside the run directory (`--out`) and LEADPIPE_HOME."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app

HOSTILE = ["../../escaped", "/tmp/escaped", "..\\..\\escaped", "$(touch escaped)", "~/escaped"]


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def test_hostile_names_and_values_stay_inside_out_and_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    inputs = work / "in" / "..%2F..%2Fescaped $(id) ;.csv"  # a file name made to look like a path
    inputs.parent.mkdir(parents=True)
    with inputs.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["Email", "Phone", "First Name", "Last Name", "Company", "Lead Source"])
        for i, bad in enumerate(HOSTILE):
            out.writerow([f"p{i}@example.com", "+1 212 555 01%02d" % i, bad, bad, bad, bad])
    monkeypatch.chdir(work)
    monkeypatch.setenv("LEADPIPE_HOME", str(work / "home"))
    monkeypatch.delenv("LEADPIPE_SANDBOX_URL", raising=False)
    before = _files(tmp_path)

    args = ["import", str(inputs), "--target", "sandbox:octanist", "--engine", "local"]
    result = CliRunner().invoke(app, [*args, "--out", "run", "--json"])

    assert result.exit_code == 0, result.output
    written = _files(tmp_path) - before
    assert written, "the import wrote nothing"
    outside = [p for p in written if not p.is_relative_to(work / "run")]
    assert all(p.is_relative_to(work / "home") for p in outside), sorted(map(str, outside))
    assert [p for p in tmp_path.rglob("*escaped*") if p != inputs] == []


@pytest.mark.parametrize("resume", ["../../escaped", "/tmp/escaped", "a/../../b", ".."])
def test_a_resume_id_that_is_a_path_is_refused(
    resume: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "leads.csv"
    source.write_text("Email\na@example.com\n", encoding="utf-8")
    args = ["import", str(source), "--target", "sandbox:octanist", "--engine", "local"]
    result = CliRunner().invoke(app, [*args, "--resume", resume])
    assert result.exit_code == 2, result.output
    assert "run id" in result.stderr and "is not allowed" in result.stderr
    assert "Traceback" not in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["leads.csv"]


def test_a_target_name_that_is_a_path_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEADPIPE_TEST_KEY", "k")
    source = tmp_path / "leads.csv"
    source.write_text("Email\na@example.com\n", encoding="utf-8")
    config = tmp_path / "leadpipe.toml"
    config.write_text(
        '[targets."../.."]\nvendor = "octanist"\nbase_url = "https://example.com/api"\n'
        'api_key_env = "LEADPIPE_TEST_KEY"\n'
    )
    args = ["plan", str(source), "--target", "../..", "--config", str(config)]
    result = CliRunner().invoke(app, [*args, "--engine", "local"])
    assert result.exit_code == 2, result.output
    assert "target name '../..' is not allowed" in result.stderr
