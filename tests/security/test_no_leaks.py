"""An API key never shows up anywhere: logs (DEBUG too), output, reports, state, Prefect.

Imports run with a recognisable key through Prefect (so parameters and artifacts exist), once
accepted and once rejected by the target; then every byte leadpipe and Prefect wrote is searched
for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flows.cli import app
from sandbox import create_app
from tests.conftest import SAMPLES, running

CANARY = "LEAK-CANARY-7f3a9c21e4b8d05"


@pytest.fixture
def canary_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A config whose target only accepts the canary key (from the environment)."""
    with running(create_app(tmp_path / "sandbox.db", api_key=CANARY)) as url:
        config = tmp_path / "leadpipe.toml"
        config.write_text(
            f'[targets.prod]\nvendor = "octanist"\nbase_url = "{url}/octanist/api"\n'
            'api_key_env = "LEADPIPE_TEST_CANARY"\n'
        )
        monkeypatch.setenv("LEADPIPE_TEST_CANARY", CANARY)
        yield config


@contextmanager
def _everything_logged() -> Iterator[list[str]]:
    """Every record of every logger at DEBUG, formatted with its arguments and traceback
    (a handler on each logger: Prefect's logging setup replaces the root's handlers)."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(logging.Formatter().format(record) + repr(record.__dict__))

    names = ["", "flows", "connectors", "transforms", "sandbox", "httpx", "httpcore", "prefect"]
    loggers = [logging.getLogger(name) for name in names]
    levels = [one.level for one in loggers]
    handler = Keep(logging.DEBUG)
    for one in loggers:
        one.addHandler(handler)
        one.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        for one, level in zip(loggers, levels, strict=True):
            one.removeHandler(handler)
            one.setLevel(level)


def _everything_written(*roots: Path) -> Iterator[tuple[Path, bytes]]:
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file():
                yield path, path.read_bytes()


def _prefect_records() -> str:
    """Every flow run's parameters and every artifact, as the Prefect API returns them."""
    from prefect.client.orchestration import get_client

    async def read() -> str:
        async with get_client() as client:
            runs = await client.read_flow_runs()
            artifacts = await client.read_artifacts()
            return repr([r.parameters for r in runs]) + repr([a.data for a in artifacts])

    return asyncio.run(read())


@pytest.mark.prefect
def test_the_api_key_is_nowhere(
    prefect_harness: None,
    canary_target: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEADPIPE_DEBUG", "1")
    runner = CliRunner()
    outputs: list[str] = []
    with _everything_logged() as logged:
        for out, key in (("accepted", CANARY), ("rejected", CANARY + "-WRONG")):
            monkeypatch.setenv("LEADPIPE_TEST_CANARY", key)
            result = runner.invoke(
                app,
                [
                    "import",
                    str(SAMPLES / "hubspot_contacts.csv"),
                    "--target",
                    "prod",
                    "--config",
                    str(canary_target),
                    "--engine",
                    "prefect",
                    "--out",
                    str(tmp_path / out),
                    # A re-run of the same file would read nothing (three-way sync): make the
                    # rejected key's run read the target, as a run with work to do would.
                    *(["--refresh-target"] if out == "rejected" else []),
                ],
            )
            outputs.append(result.output + repr(result.exception))
            assert result.exit_code == (0 if out == "accepted" else 3), result.output
    assert "rejected" in outputs[1]  # the failure was reported, without the key
    assert (tmp_path / "accepted" / "report.html").exists()

    assert CANARY not in "".join(outputs)
    assert CANARY not in "\n".join(logged)
    assert any("HTTP Request" in line for line in logged)  # httpx's DEBUG/INFO lines were seen
    leaked = [
        str(path)
        for path, data in _everything_written(tmp_path / "accepted", tmp_path / "home")
        if CANARY.encode() in data
    ]
    assert not leaked
    assert CANARY not in _prefect_records()


def test_a_secret_never_prints_itself() -> None:
    from connectors import Secret

    secret: Any = Secret(CANARY)
    shown = [str(secret), repr(secret), f"{secret}", f"{secret!r}", str([secret])]
    assert not any(CANARY in text for text in shown)
    assert secret.reveal() == CANARY
