"""Options every command that reads a file shares: `sheet`, `memory` and `null_tokens`, from
flags over leadpipe.toml over the defaults, the same for check, plan, import, reconcile and
migrate (from a file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from flows import cli
from flows.exceptions import ConfigError
from flows.options import (
    DEFAULT_NULL_TOKENS,
    OPTION_KEYS,
    CheckOptions,
    Flags,
    Job,
    check_config_keys,
    null_token_keys,
    options_for,
    options_from,
)
from tests.conftest import SAMPLES

SOURCE = SAMPLES / "hubspot_contacts.csv"
JOBS: tuple[Job, ...] = ("check", "plan", "import", "reconcile", "migrate")
# The defaults as matched: trimmed, lower-cased, each once, in the order of DEFAULT_NULL_TOKENS.
DEFAULT_KEYS = ("null", "n/a", "#n/a", "-", "--", "none", "nil", "(blank)", "undefined")


def _flags(job: Job, **given: Any) -> Flags:
    """The flags of `job` on the sample, as its command would build them."""
    if job == "migrate":
        return Flags(origin=str(SOURCE), target="sandbox:octanist", **given)
    target = None if job == "check" else "sandbox:octanist"
    return Flags(source=SOURCE, target=target, engine="local", **given)


def _options(job: Job, conf: dict[str, Any] | None = None, **given: Any) -> CheckOptions:
    options, _ = options_from(job, _flags(job, **given), conf or {})
    return options


@pytest.mark.parametrize("job", JOBS)
def test_defaults_remember_mappings_and_read_the_usual_null_tokens(job: Job) -> None:
    options = _options(job)
    assert (options.sheet, options.memory, options.null_tokens) == (None, True, DEFAULT_KEYS)


def test_the_default_tokens_are_the_documented_list() -> None:
    assert DEFAULT_NULL_TOKENS == (
        *("null", "NULL", "Null", "N/A", "n/a", "#N/A", "-", "--"),
        *("none", "None", "NONE", "nil", "(blank)", "undefined"),
    )
    assert null_token_keys(DEFAULT_NULL_TOKENS) == DEFAULT_KEYS
    assert CheckOptions(source=SOURCE, out_dir=Path("o"), run_id="r").null_tokens == DEFAULT_KEYS


@pytest.mark.parametrize(
    ("tokens", "keys"),
    [
        (["N/A", " n/a ", "NULL", "null"], ("n/a", "null")),
        ([" -- ", "", "   "], ("--",)),
        ([], ()),
    ],
)
def test_tokens_are_kept_trimmed_lower_cased_and_once(tokens: list[str], keys: tuple[str]) -> None:
    assert null_token_keys(tokens) == keys


@pytest.mark.parametrize("job", JOBS)
def test_the_config_file_sets_sheet_memory_and_null_tokens_for_every_job(job: Job) -> None:
    conf = {"sheet": "Leads", "memory": False, "null_tokens": ["NULL", "N/A", "?", "n/a"]}
    options = _options(job, conf)
    assert (options.sheet, options.memory, options.null_tokens) == (
        "Leads",
        False,
        ("null", "n/a", "?"),
    )


@pytest.mark.parametrize("job", JOBS)
def test_flags_win_over_the_config_file(job: Job) -> None:
    conf = {"sheet": "Leads", "memory": False, "null_tokens": ["null"]}
    options = _options(job, conf, sheet="2026", memory=True, null_tokens=" None , -,(blank)")
    assert (options.sheet, options.memory, options.null_tokens) == (
        "2026",
        True,
        ("none", "-", "(blank)"),
    )
    assert _options(job, {"memory": True}, memory=False).memory is False


@pytest.mark.parametrize("job", JOBS)
def test_an_empty_list_turns_null_tokens_off(job: Job) -> None:
    assert _options(job, {"null_tokens": []}).null_tokens == ()
    assert _options(job, {}, null_tokens="").null_tokens == ()


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"memory": "no"}, "memory must be true or false, not 'no'"),
        ({"memory": 0}, "memory must be true or false, not 0"),
        (
            {"null_tokens": "null,N/A"},
            "null_tokens must be a list of strings, e.g. null_tokens = "
            '["null", "N/A"], not \'null,N/A\'',
        ),
        (
            {"null_tokens": ["null", 0]},
            "null_tokens must be a list of strings, e.g. null_tokens = "
            '["null", "N/A"], not [\'null\', 0]',
        ),
    ],
)
def test_bad_values_in_the_config_file_are_config_errors(
    conf: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        _options("check", conf)
    assert str(raised.value) == message


def test_the_config_file_knows_the_new_keys_and_their_typos(tmp_path: Path) -> None:
    assert {"sheet", "memory", "null_tokens"} <= set(OPTION_KEYS)
    check_config_keys({"sheet": "Leads", "memory": False, "null_tokens": []}, None)
    config = tmp_path / "leadpipe.toml"
    config.write_text('null_token = ["-"]\nno_memory = true\n')
    with pytest.raises(ConfigError) as raised:
        options_for("check", Flags(source=SOURCE, config=config))
    assert "unknown key(s) 'no_memory' (did you mean 'memory'?), 'null_token' (did you mean " in (
        str(raised.value)
    )
    assert "'null_tokens'?)" in str(raised.value)


COMMANDS: dict[Job, list[str]] = {
    "check": ["check", str(SOURCE)],
    "plan": ["plan", str(SOURCE), "--target", "sandbox:octanist"],
    "import": ["import", str(SOURCE), "--target", "sandbox:octanist"],
    "reconcile": ["reconcile", str(SOURCE), "--target", "sandbox:octanist"],
    "migrate": ["migrate", "--from", str(SOURCE), "--to", "sandbox:octanist"],
}


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[CheckOptions]:
    """The options each command built, its job left unrun."""
    seen: list[CheckOptions] = []

    def job(options: CheckOptions, engine: str) -> Any:
        seen.append(options)
        raise typer.Exit(0)

    for name in JOBS:
        monkeypatch.setitem(cli._JOBS, name, lambda: job)
    return seen


@pytest.mark.parametrize("job", JOBS)
def test_every_command_that_reads_a_file_takes_the_flags(
    job: Job, built: list[CheckOptions], tmp_path: Path
) -> None:
    config = tmp_path / "leadpipe.toml"
    config.write_text('sheet = "Leads"\nmemory = true\nnull_tokens = ["null"]\n')
    args = [*COMMANDS[job], "--engine", "local", "--config", str(config)]
    flags = ["--sheet", "2026", "--no-memory", "--null-tokens", "N/A,-"]
    for extra in ([], flags):
        result = CliRunner().invoke(cli.app, [*args, *extra])
        assert result.exit_code == 0, result.output
    config_only, flagged = built
    assert (config_only.sheet, config_only.memory, config_only.null_tokens) == (
        "Leads",
        True,
        ("null",),
    )
    assert (flagged.sheet, flagged.memory, flagged.null_tokens) == ("2026", False, ("n/a", "-"))


def test_memory_can_be_turned_back_on_over_the_config_file(
    built: list[CheckOptions], tmp_path: Path
) -> None:
    config = tmp_path / "leadpipe.toml"
    config.write_text("memory = false\n")
    args = [*COMMANDS["check"], "--engine", "local", "--config", str(config)]
    for extra in ([], ["--memory"]):
        assert CliRunner().invoke(cli.app, [*args, *extra]).exit_code == 0
    assert [options.memory for options in built] == [False, True]


@pytest.fixture
def no_prefect_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No Prefect API configured: not in the environment, the working folder or a profile."""
    for name in ("PREFECT_API_URL", "LEADPIPE_ENGINE", "LEADPIPE_RUNNER", "PREFECT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PREFECT_PROFILES_PATH", str(tmp_path / "profiles.toml"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _engine(job: Job = "check", conf: dict[str, Any] | None = None, **given: Any) -> str:
    """The engine `job` runs with, from the flags `given` over `conf`."""
    if job == "migrate":
        flags = Flags(origin=str(SOURCE), target="sandbox:octanist", **given)
    else:
        flags = Flags(source=SOURCE, target=None if job == "check" else "sandbox:octanist", **given)
    return options_from(job, flags, conf or {})[1]


def test_the_default_engine_is_auto() -> None:
    from flows.options import DEFAULT_ENGINE

    assert DEFAULT_ENGINE == "auto"


@pytest.mark.parametrize("job", JOBS)
def test_auto_runs_in_process_without_a_prefect_api(job: Job, no_prefect_api: Path) -> None:
    assert _engine(job) == "local"
    assert _engine(job, {"engine": "auto"}) == "local"


@pytest.mark.parametrize("job", JOBS)
def test_auto_runs_as_a_prefect_flow_with_a_prefect_api(
    job: Job, no_prefect_api: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert _engine(job) == "prefect"
    # asked for by name, an engine is what it says, API or not
    assert _engine(job, engine="local") == "local"


def test_auto_reads_the_active_prefect_profile(
    no_prefect_api: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (no_prefect_api / "profiles.toml").write_text(
        'active = "local"\n[profiles.local]\nPREFECT_API_URL = "http://10.0.0.5:4200/api"\n'
        "[profiles.ephemeral]\nPREFECT_SERVER_EPHEMERAL_ENABLED = true\n"
    )
    assert _engine() == "prefect"
    monkeypatch.setenv("PREFECT_PROFILE", "ephemeral")
    assert _engine() == "local"


@pytest.mark.parametrize(
    ("where", "value"),
    [("env", "auto"), ("env", "prefect"), ("env", "local"), ("config", "auto")],
)
def test_auto_prefect_and_local_are_accepted_everywhere(
    where: str, value: str, no_prefect_api: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if where == "env":
        monkeypatch.setenv("LEADPIPE_ENGINE", value)
    conf = {"engine": value} if where == "config" else {}
    assert _engine(conf=conf) == ("local" if value == "auto" else value)


@pytest.mark.parametrize("where", ["flag", "config", "env"])
def test_an_unknown_engine_names_the_three_choices(
    where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = {"engine": "spark"} if where == "flag" else {}
    conf = {"engine": "spark"} if where == "config" else {}
    if where == "env":
        monkeypatch.setenv("LEADPIPE_ENGINE", "spark")
    with pytest.raises(ConfigError) as raised:
        _engine(conf=conf, **given)
    assert str(raised.value) == "--engine must be auto, prefect or local, not 'spark'"


def test_auto_with_the_dask_runner_is_a_prefect_run(no_prefect_api: Path) -> None:
    """Dask runs Prefect tasks: `auto` chooses Prefect for it; `local` asked for is refused."""
    options, engine = options_from("check", Flags(source=SOURCE, runner="dask"), {})
    assert engine == "prefect" and options.dask is not None
    assert _engine(conf={"runner": "dask"}) == "prefect"
    with pytest.raises(ConfigError, match="it needs --engine prefect"):
        _engine(runner="dask", engine="local")
