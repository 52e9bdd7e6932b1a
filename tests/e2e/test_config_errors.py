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
    args, expected = CASES[case]
    result = CliRunner().invoke(app, args(tmp_path))
    assert result.exit_code == 2, result.output
    assert expected in result.stderr
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) <= 3  # one message (wrapped at most)
