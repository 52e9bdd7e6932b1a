"""Config mistakes: one readable line on stderr, exit 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests.conftest import SAMPLES

SOURCE = str(SAMPLES / "hubspot_contacts.csv")
PLAN = ["plan", SOURCE, "--engine", "local"]


def _config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "leadpipe.toml"
    path.write_text(text)
    return str(path)


CASES = {
    "unknown profile": (
        lambda tmp: [*PLAN, "--target", "nope"],
        "unknown target 'nope'",
    ),
    "missing env var": (
        lambda tmp: [
            *PLAN,
            "--target",
            "prod",
            "--config",
            _config(
                tmp,
                '[targets.prod]\nvendor = "octanist"\napi_key_env = "LEADPIPE_TEST_UNSET_KEY"\n',
            ),
        ],
        "environment variable LEADPIPE_TEST_UNSET_KEY is not set",
    ),
    "malformed TOML": (
        lambda tmp: [*PLAN, "--target", "sandbox:octanist", "--config", _config(tmp, "a = [")],
        "is not valid TOML",
    ),
    "unknown preset": (
        lambda tmp: ["check", SOURCE, "--engine", "local", "--preset", "sapcrm"],
        "sapcrm",
    ),
    "mapping names an absent column": (
        lambda tmp: [
            "check",
            SOURCE,
            "--engine",
            "local",
            "--mapping",
            _config(tmp, 'extends = "hubspot"\n[fields]\nemail = "Work Email"\n'),
        ],
        "Work Email",
    ),
    "unknown vendor": (
        lambda tmp: [
            *PLAN,
            "--target",
            "prod",
            "--config",
            _config(tmp, '[targets.prod]\nvendor = "salesforce"\napi_key_env = "X"\n'),
        ],
        "unknown vendor 'salesforce'",
    ),
    "bad option value": (
        lambda tmp: [*PLAN, "--target", "sandbox:octanist", "--default-region", "XX"],
        "is not a region code",
    ),
    "a typo in the config file": (
        lambda tmp: [
            *PLAN,
            "--target",
            "sandbox:octanist",
            "--config",
            _config(tmp, 'default_regoin = "US"\n'),
        ],
        "unknown key(s) 'default_regoin' (did you mean 'default_region'?)",
    ),
    "a typo stops check too": (
        lambda tmp: ["check", SOURCE, "--engine", "local", "--config", _config(tmp, "runer = 1\n")],
        "'runer' (did you mean 'runner'?)",
    ),
    "a failed share that is not a share": (
        lambda tmp: [
            "import",
            SOURCE,
            "--engine",
            "local",
            "--target",
            "sandbox:octanist",
            "--max-failed-ratio",
            "1.5",
        ],
        "max_failed_ratio must be a number from 0 to 1, not 1.5",
    ),
    "migrate takes the runner like every job": (
        lambda tmp: [
            "migrate",
            "--from",
            SOURCE,
            "--to",
            "sandbox:octanist",
            "--engine",
            "local",
            "--runner",
            "dask",
        ],
        "--runner dask runs Prefect tasks on Dask: it needs --engine prefect",
    ),
    "a resume of a run that never was": (
        lambda tmp: [
            "import",
            SOURCE,
            "--engine",
            "local",
            "--target",
            "sandbox:octanist",
            "--resume",
            "20260101T000000Z-abcdef",
        ],
        "--resume 20260101T000000Z-abcdef: no run of that id sent anything through this journal",
    ),
    "memory that is not true or false": (
        lambda tmp: [
            "check",
            SOURCE,
            "--engine",
            "local",
            "--config",
            _config(tmp, 'memory = "no"\n'),
        ],
        "memory must be true or false, not 'no'",
    ),
    "null tokens that are not a list": (
        lambda tmp: [
            *PLAN,
            "--target",
            "sandbox:octanist",
            "--config",
            _config(tmp, 'null_tokens = "null,N/A"\n'),
        ],
        "null_tokens must be a list of strings",
    ),
    "a typo of a new key": (
        lambda tmp: [
            "check",
            SOURCE,
            "--engine",
            "local",
            "--config",
            _config(tmp, "nul_tokens = []\n"),
        ],
        "'nul_tokens' (did you mean 'null_tokens'?)",
    ),
    "missing config file": (
        lambda tmp: [*PLAN, "--target", "sandbox:octanist", "--config", str(tmp / "none.toml")],
        "does not exist",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_config_errors_exit_2_with_one_line(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEADPIPE_TEST_UNSET_KEY", raising=False)
    monkeypatch.setenv("LEADPIPE_HOME", str(tmp_path / "home"))
    args, expected = CASES[case]
    result = CliRunner().invoke(app, args(tmp_path))
    assert result.exit_code == 2, result.output
    assert expected in result.stderr
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) <= 3  # one message (wrapped at most)


def test_sheet_is_an_option_of_every_command_that_reads_a_file(tmp_path: Path) -> None:
    """`--sheet` reaches plan as it reaches check: a sheet the workbook lacks is named."""
    import polars as pl

    book = tmp_path / "leads.xlsx"
    pl.DataFrame({"Email": ["a@x.io"], "First Name": ["Ann"]}).write_excel(book, worksheet="Leads")
    home = tmp_path / "home"
    for command in (["check"], ["plan", "--target", "sandbox:octanist"]):
        args = [*command, str(book), "--engine", "local", "--out", str(tmp_path / command[0])]
        ok = CliRunner(env={"LEADPIPE_HOME": str(home)}).invoke(app, [*args, "--sheet", "Leads"])
        assert ok.exit_code == 0, ok.output
        bad = CliRunner(env={"LEADPIPE_HOME": str(home)}).invoke(app, [*args, "--sheet", "Nope"])
        assert bad.exit_code == 3 and "Nope" in bad.stderr, bad.output


def test_the_config_files_sheet_reaches_every_command_that_reads_a_file(tmp_path: Path) -> None:
    """`sheet` in leadpipe.toml is read by check, plan, import, reconcile and migrate (from a
    file) alike: a sheet the workbook lacks is named, before anything is sent."""
    import polars as pl

    book = tmp_path / "leads.xlsx"
    pl.DataFrame({"Email": ["a@x.io"], "First Name": ["Ann"]}).write_excel(book, worksheet="Leads")
    config = _config(tmp_path, 'sheet = "Nope"\nengine = "local"\n')
    octanist = ["--target", "sandbox:octanist"]
    commands = {
        "check": ["check", str(book)],
        "plan": ["plan", str(book), *octanist],
        "import": ["import", str(book), *octanist],
        "reconcile": ["reconcile", str(book), *octanist],
        "migrate": ["migrate", "--from", str(book), "--to", "sandbox:octanist"],
    }
    env = {"LEADPIPE_HOME": str(tmp_path / "home")}
    for name, command in commands.items():
        args = [*command, "--config", config, "--out", str(tmp_path / name)]
        result = CliRunner(env=env).invoke(app, args)
        assert result.exit_code == 3, (name, result.output)
        assert "no sheet named 'Nope' (sheets: Leads)" in result.stderr, (name, result.output)


def test_a_resume_of_a_run_that_sent_goes_on(tmp_path: Path) -> None:
    """The same id, once a run of it reached the target, resumes: nothing is sent twice."""
    import json

    env = {"LEADPIPE_HOME": str(tmp_path / "home")}
    args = ["import", SOURCE, "--engine", "local", "--target", "sandbox:octanist", "--json"]
    first = CliRunner(env=env).invoke(app, [*args, "--out", str(tmp_path / "a")])
    assert first.exit_code == 0, first.output
    run_id = json.loads(first.stdout)["run_id"]
    again = CliRunner(env=env).invoke(
        app, [*args, "--out", str(tmp_path / "b"), "--resume", run_id]
    )
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout)
    assert summary["run_id"] == run_id and summary["requests"]["sent"] == 0


def test_an_unknown_target_without_a_config_file_says_how_to_define_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADPIPE_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(app, [*PLAN, "--target", "octanist-prod"])
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        "leadpipe: error: unknown target 'octanist-prod': no --config file was given; define "
        "the target as a [targets.octanist-prod] table (vendor, base_url, api_key_env) in a "
        "leadpipe.toml and pass --config leadpipe.toml, or use a built-in target: "
        "sandbox:omni, sandbox:apten, sandbox:octanist\n"
    )


def test_an_unknown_target_names_the_config_file_and_the_nearest_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADPIPE_HOME", str(tmp_path / "home"))
    config = _config(tmp_path, '[targets.octanist-prod]\nvendor = "octanist"\napi_key_env = "X"\n')
    for command in (
        [*PLAN, "--target", "octanist-prd", "--config", config],
        ["doctor", "--target", "octanist-prd", "--config", config],
        ["migrate", "--from", SOURCE, "--to", "octanist-prd", "--config", config],
    ):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 2, result.output
        assert result.stderr == (
            "leadpipe: error: unknown target 'octanist-prd' (did you mean 'octanist-prod'?): "
            f"{config} has no [targets.octanist-prd] table (vendor, base_url, api_key_env); "
            "known: octanist-prod, sandbox:omni, sandbox:apten, sandbox:octanist\n"
        ), command


def test_a_target_name_that_is_no_bare_toml_key_is_shown_quoted(tmp_path: Path) -> None:
    from flows.exceptions import ConfigError
    from flows.options import check_target

    with pytest.raises(ConfigError, match=r'a \[targets\."prod:eu"\] table'):
        check_target("prod:eu", {}, None)
    check_target("prod", {"prod": {}}, None)  # known: no error
    check_target("sandbox:octanist", {}, None)
