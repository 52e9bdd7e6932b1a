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
from flows.exceptions import ConfigError
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
    # Row 13's phone is `n/a`, a null word: a blank phone beside a good email, so valid. The
    # rows with a bad email, status word, time zone (each beside another identity) are valid,
    # the bad value left out with a warning.
    assert summary["counts"] == {"valid": 19, "invalid": 0, "duplicate": 1}
    assert summary == json.loads((tmp_path / "run" / "summary.json").read_text())
    rows = _assert_one_row_per_record(tmp_path / "run", 20)
    by_row = {r["source_row"]: r for r in rows.iter_rows(named=True)}
    assert by_row[5]["phone"] == "+4930901820" and by_row[5]["phone_raw"] == "'+49 30 901820"
    assert by_row[7]["timezone"] == "Asia/Kolkata"
    assert [(w["field"], w["code"]) for w in by_row[14]["warnings"]] == [
        ("status", "unknown_status")
    ]
    assert by_row[14]["status"] is None and by_row[14]["status_raw"] == "SPAM"
    assert by_row[17]["timezone"] is None
    assert by_row[2]["outcome"] == "duplicate" and "row 15" in by_row[2]["reason"]


def test_strict_check_keeps_all_or_nothing_rows(tmp_path: Path) -> None:
    """`--strict`: any bad value rejects its row, with the reasons it always had."""
    result = runner.invoke(
        app,
        [
            *("check", str(SAMPLES / "hubspot_contacts.csv"), "--strict"),
            *("--engine", "local", "--out", str(tmp_path), "--json"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["counts"] == {"valid": 15, "invalid": 4, "duplicate": 1}
    rows = _assert_one_row_per_record(tmp_path, 20)
    by_row = {r["source_row"]: r for r in rows.iter_rows(named=True)}
    assert by_row[14]["reason_code"] == "invalid_status"
    assert by_row[17]["reason_code"] == "invalid_timezone"


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
    # Row 6's email and phone are both bad, but its Salesforce id still names it: valid, the
    # two values left out with a warning each.
    assert rows["outcome"].to_list() == ["duplicate", "valid", "valid", "valid", "valid", "valid"]
    sixth = rows.filter(pl.col("source_row") == 6).row(0, named=True)
    assert [w["code"] for w in sixth["warnings"]] == ["invalid_email", "invalid_phone"]


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
    lines = result.stdout.splitlines()
    # report.html for people, then rows.csv (kept: scripts and users read its path)
    assert (
        lines[-2].startswith(f"Report: {tmp_path}/report.html  (") and "engine local" in lines[-2]
    )
    assert lines[-1] == f"Rows:   {tmp_path}/rows.csv"
    assert (tmp_path / "report.html").is_file()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["check", "{tmp}/missing.csv"], 3, "file not found"),
        (["check", "{tmp}/empty.csv"], 3, "file is empty"),
        (["check", "{sample}", "--preset", "hubspt"], 2, "unknown preset 'hubspt'"),
        (["check", "{sample}", "--default-region", "ZZ"], 2, "is not a region code"),
        (["check", "{sample}", "--duplicates", "some"], 2, "--duplicates must be one of"),
        (["check", "{sample}", "--engine", "spark"], 2, "--engine must be auto, prefect or local"),
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


@pytest.mark.parametrize(
    ("command", "literal"),
    [
        (["plan", "--help"], "[targets.NAME]"),
        (["import", "--help"], "[targets.NAME]"),
        (["doctor", "--help"], "[targets.NAME]"),
        (["serve", "--help"], "[[schedules]]"),
        (["--help"], "Serve one Prefect deployment per [[schedules]] entry"),
    ],
)
def test_help_shows_config_tables_with_their_brackets(command: list[str], literal: str) -> None:
    result = runner.invoke(app, command, terminal_width=200)
    assert result.exit_code == 0, result.output
    assert literal in result.stdout


@pytest.fixture
def no_prefect_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No Prefect API configured anywhere (environment, working folder, profiles)."""
    for name in ("PREFECT_API_URL", "LEADPIPE_ENGINE", "LEADPIPE_RUNNER", "PREFECT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PREFECT_PROFILES_PATH", str(tmp_path / "no-profiles.toml"))
    monkeypatch.setenv("LEADPIPE_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_default_engine_runs_in_process_and_says_how_to_see_runs_in_prefect(
    no_prefect_api: Path,
) -> None:
    from flows.cli import IN_PROCESS_NOTE

    sample = str(SAMPLES / "hubspot_contacts.csv")
    result = runner.invoke(app, ["check", sample, "--out", str(no_prefect_api / "a")])
    assert result.exit_code == 0, result.output
    assert result.stderr == IN_PROCESS_NOTE + "\n"
    assert IN_PROCESS_NOTE == (
        "leadpipe: runs in-process; set PREFECT_API_URL or pass --engine prefect to see runs "
        "in the Prefect UI"
    )
    assert "engine local" in result.stdout
    quiet = runner.invoke(app, ["check", sample, "--out", str(no_prefect_api / "b"), "--json"])
    assert quiet.exit_code == 0 and quiet.stderr == ""  # --json: stdout and stderr stay clean
    assert json.loads(quiet.stdout)["engine"] == "local"
    asked = runner.invoke(app, ["check", sample, "--engine", "local", "--out", "c"])
    assert asked.exit_code == 0 and asked.stderr == ""  # chosen, not guessed: nothing to say


def test_auto_in_the_config_file_is_accepted(no_prefect_api: Path) -> None:
    config = no_prefect_api / "leadpipe.toml"
    config.write_text('engine = "auto"\n')
    sample = str(SAMPLES / "hubspot_contacts.csv")
    result = runner.invoke(app, ["check", sample, "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["engine"] == "local"


def test_a_read_only_prefect_home_does_not_matter_to_the_default_engine(
    no_prefect_api: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`auto` without a Prefect API never starts Prefect's temporary server, so a PREFECT_HOME
    that cannot be written is no concern (the in-process note is the only line)."""
    home = no_prefect_api / "prefect-home-file"
    home.write_text("a file, not a folder")
    monkeypatch.setenv("PREFECT_HOME", str(home))
    sample = str(SAMPLES / "hubspot_contacts.csv")
    result = runner.invoke(app, ["check", sample, "--out", "run"])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "leadpipe: runs in-process; set PREFECT_API_URL or pass --engine prefect to see runs "
        "in the Prefect UI"
    ]


SECRET = "guard-canary-secret-4711"


def _fails_with(exc: BaseException) -> None:
    raise exc


@pytest.mark.parametrize(
    ("exc", "code", "line"),
    [
        (
            ConfigError(f"bad key {SECRET} in use"),
            2,
            "leadpipe: error: bad key **** in use",
        ),
        (
            FileNotFoundError(2, "No such file or directory", f"/tmp/{SECRET}.csv"),
            3,
            "leadpipe: error: /tmp/****.csv: No such file or directory",
        ),
        (
            ValueError(f"the vendor said {SECRET}\nand more"),
            3,
            "leadpipe: internal error: ValueError: the vendor said **** "
            "(set LEADPIPE_DEBUG=1 for the traceback)",
        ),
    ],
    ids=["ours", "os-error", "internal"],
)
def test_the_one_line_error_never_shows_a_configured_secret(
    exc: BaseException, code: int, line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import typer

    from connectors import Secret
    from flows import cli

    Secret(SECRET).reveal()  # as a connector does when it sends the key
    with pytest.raises(typer.Exit) as exited:
        cli._guard(lambda: _fails_with(exc))
    assert exited.value.exit_code == code
    err = capsys.readouterr().err
    assert err == line + "\n"
    assert SECRET not in err
