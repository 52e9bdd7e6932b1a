"""`leadpipe check` end to end: the console script, exit codes, --json, config precedence."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests.conftest import SAMPLES

LEADPIPE = Path(sys.executable).with_name("leadpipe")
runner = CliRunner()


def _assert_one_row_per_record(out_dir: Path, records: int) -> pl.DataFrame:
    rows = pl.read_parquet(out_dir / "rows.parquet")
    assert rows.height == records
    assert rows["source_row"].to_list() == list(range(2, records + 2))
    assert pl.read_csv(out_dir / "rows.csv", infer_schema=False).height == records
    return rows


def test_done_means_command_through_the_console_script(tmp_path: Path) -> None:
    """`leadpipe check data/samples/<hubspot sample>.csv --json` right after `make install`."""
    result = subprocess.run(
        [
            str(LEADPIPE),
            "check",
            str(SAMPLES / "hubspot_contacts.csv"),
            "--json",
            "--engine",
            "local",
            "--out",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)  # stdout is the summary and nothing else
    assert summary["mapping"]["preset"] == "hubspot" and summary["mapping"]["detected"] is True
    assert summary["rows"] == 20
    # Row 13's phone is `n/a`, a null word: a blank phone beside a good email, so valid.
    assert summary["counts"] == {"valid": 15, "invalid": 4, "duplicate": 1}
    assert summary == json.loads((tmp_path / "run" / "summary.json").read_text())
    rows = _assert_one_row_per_record(tmp_path / "run", 20)
    by_row = {r["source_row"]: r for r in rows.iter_rows(named=True)}
    assert by_row[5]["phone"] == "+4930901820" and by_row[5]["phone_raw"] == "'+49 30 901820"
    assert by_row[7]["timezone"] == "Asia/Kolkata"
    assert by_row[14]["reason_code"] == "invalid_status"
    assert by_row[2]["outcome"] == "duplicate" and "row 15" in by_row[2]["reason"]


def test_salesforce_sample_with_default_region(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "check",
            str(SAMPLES / "salesforce_leads.csv"),
            "--default-region",
            "us",
            "--engine",
            "local",
            "--out",
            str(tmp_path),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["mapping"]["preset"] == "salesforce"
    rows = _assert_one_row_per_record(tmp_path, 6)
    assert (
        rows.filter(pl.col("source_row") == 4)["phone"].item() == "+14155550101"
    )  # no country: default US
    assert rows["outcome"].to_list() == ["duplicate", "valid", "valid", "valid", "invalid", "valid"]


def test_human_output_names_the_outcomes_and_the_report(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "check",
            str(SAMPLES / "hubspot_contacts.csv"),
            "--engine",
            "local",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "20 rows from" in text and "preset hubspot (detected" in text and "invalid_email" in text
    assert f"{tmp_path}/rows.csv" in result.stdout.replace("\n", "")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["check", "{tmp}/missing.csv"], 3, "file not found"),
        (["check", "{tmp}/empty.csv"], 3, "file is empty"),
        (["check", "{sample}", "--preset", "hubspt"], 2, "unknown preset 'hubspt'"),
        (["check", "{sample}", "--default-region", "ZZ"], 2, "is not a region code"),
        (["check", "{sample}", "--duplicates", "some"], 2, "--duplicates must be one of"),
        (["check", "{sample}", "--engine", "spark"], 2, "--engine must be prefect or local"),
        (["check", "{sample}", "--mapping", "{tmp}/bad.toml"], 2, "which the file does not have"),
        (["check", "{sample}", "--config", "{tmp}/broken.toml"], 2, "is not valid TOML"),
    ],
)
def test_errors_are_one_line_with_the_right_exit_status(
    tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "bad.toml").write_text('[fields]\nemail = "No Such Column"\n')
    (tmp_path / "broken.toml").write_text("default_region = \n")
    filled = [a.format(tmp=tmp_path, sample=SAMPLES / "hubspot_contacts.csv") for a in args]
    result = runner.invoke(
        app,
        [*filled, "--out", str(tmp_path / "out"), "--engine", "local"]
        if "--engine" not in filled
        else [*filled, "--out", str(tmp_path / "out")],
    )
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def test_config_file_supplies_options_and_flags_win(tmp_path: Path) -> None:
    source = tmp_path / "leads.csv"
    source.write_text("Email,Phone\na@x.io,020 7946 0958\n")
    config = tmp_path / "leadpipe.toml"
    config.write_text('default_region = "GB"\nengine = "local"\nduplicates = "first"\n')
    result = runner.invoke(
        app, ["check", str(source), "--config", str(config), "--out", str(tmp_path / "a"), "--json"]
    )
    assert result.exit_code == 0, result.output
    options = json.loads(result.stdout)["options"]
    assert {k: options[k] for k in ("default_region", "duplicates")} == {
        "default_region": "GB",
        "duplicates": "first",
    }
    assert pl.read_parquet(tmp_path / "a" / "rows.parquet")["phone"].item() == "+442079460958"
    result = runner.invoke(
        app,
        [
            "check",
            str(source),
            "--config",
            str(config),
            "--default-region",
            "US",
            "--out",
            str(tmp_path / "b"),
            "--json",
        ],
    )
    assert json.loads(result.stdout)["options"]["default_region"] == "US"
    assert (
        pl.read_parquet(tmp_path / "b" / "rows.parquet")["phone"].item() is None
    )  # 020… is no US number


def test_second_run_uses_the_phone_cache(tmp_path: Path) -> None:
    args = ["check", str(SAMPLES / "hubspot_contacts.csv"), "--engine", "local", "--json"]
    first = json.loads(runner.invoke(app, [*args, "--out", str(tmp_path / "1")]).stdout)
    second = json.loads(runner.invoke(app, [*args, "--out", str(tmp_path / "2")]).stdout)
    # 18 distinct numbers: the sample's `n/a` is a null word, not a number to parse
    assert first["phones"]["parsed"] == 18 and second["phones"]["parsed"] == 0
    assert pl.read_parquet(tmp_path / "1" / "rows.parquet").equals(
        pl.read_parquet(tmp_path / "2" / "rows.parquet")
    )


def test_errors_under_the_prefect_engine_are_one_line_too(tmp_path: Path) -> None:
    """A failing stage inside the Prefect flow still ends in one line and exit 3, no traceback."""
    (tmp_path / "empty.csv").write_bytes(b"")
    result = subprocess.run(
        [str(LEADPIPE), "check", str(tmp_path / "empty.csv"), "--engine", "prefect", "--json"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={**__import__("os").environ, "PREFECT_HOME": str(tmp_path / "prefect")},
    )
    assert result.returncode == 3
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    ours = [line for line in result.stderr.splitlines() if line.startswith("leadpipe: error:")]
    assert len(ours) == 1 and ours[0].endswith("empty.csv: file is empty"), result.stderr
