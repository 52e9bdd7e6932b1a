"""Whether a Prefect API is configured, read like Prefect 3.8 reads it (without importing it),
and the temporary server's start shown as a progress stage."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from flows._events import listening
from flows._prefect import SERVER_STAGE, _start_server
from flows._prefect_api import configured_api_url
from schemas.exceptions import CannotProceedError

URL = "http://10.0.0.5:4200/api"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """An environment that names no Prefect API; profiles in tmp_path/profiles.toml."""
    return {"PREFECT_HOME": str(tmp_path), **extra}


def test_nothing_configured_is_none(tmp_path: Path) -> None:
    assert configured_api_url(_env(tmp_path), tmp_path) is None


@pytest.mark.parametrize(
    ("file", "text"),
    [
        (".env", f"PREFECT_API_URL={URL}\n"),
        ("prefect.toml", f'[api]\nurl = "{URL}"\n'),
        ("pyproject.toml", f'[tool.prefect.api]\nurl = "{URL}"\n'),
        ("profiles.toml", f'active = "dev"\n[profiles.dev]\nPREFECT_API_URL = "{URL}"\n'),
    ],
)
def test_each_place_prefect_reads_the_url_from(tmp_path: Path, file: str, text: str) -> None:
    (tmp_path / file).write_text(text)
    assert configured_api_url(_env(tmp_path), tmp_path) == URL


def test_the_environment_comes_first_and_blank_means_unset(tmp_path: Path) -> None:
    (tmp_path / "prefect.toml").write_text('[api]\nurl = "http://other:4200/api"\n')
    env = _env(tmp_path, PREFECT_API_URL=URL)
    assert configured_api_url(env, tmp_path) == URL
    assert configured_api_url(_env(tmp_path, PREFECT_API_URL="  "), tmp_path) == (
        "http://other:4200/api"
    )


def test_the_active_profile_is_prefect_profile_else_the_files_own(tmp_path: Path) -> None:
    (tmp_path / "profiles.toml").write_text(
        f'active = "dev"\n[profiles.dev]\nPREFECT_API_URL = "{URL}"\n'
        '[profiles.ephemeral]\nPREFECT_SERVER_EPHEMERAL_ENABLED = "true"\n'
    )
    assert configured_api_url(_env(tmp_path), tmp_path) == URL
    assert configured_api_url(_env(tmp_path, PREFECT_PROFILE="ephemeral"), tmp_path) is None
    assert configured_api_url(_env(tmp_path, PREFECT_PROFILE="gone"), tmp_path) is None
    # Prefect's test mode reads no profile
    assert configured_api_url(_env(tmp_path, PREFECT_TEST_MODE="1"), tmp_path) is None


def test_profiles_path_and_unreadable_files(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.toml"
    elsewhere.write_text(f'active = "x"\n[profiles.x]\nPREFECT_API_URL = "{URL}"\n')
    env = _env(tmp_path, PREFECT_PROFILES_PATH=str(elsewhere))
    assert configured_api_url(env, tmp_path) == URL
    elsewhere.write_text("active = [")  # broken TOML: Prefect warns and goes on without it
    assert configured_api_url(env, tmp_path) is None
    (tmp_path / "prefect.toml").mkdir()  # not a file
    assert configured_api_url(_env(tmp_path), tmp_path) is None


def test_it_costs_no_prefect_import() -> None:
    code = "import flows.cli, sys; print('prefect' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


class _Heard:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def stage_started(self, name: str) -> None:
        self.events.append(("started", name))

    def stage_finished(self, name: str, seconds: float, peak_mb: float) -> None:
        self.events.append(("finished", name))

    def pushed(self, done: int, total: int) -> None:
        pass


class _Server:
    def __init__(self, fails: Exception | None = None, running: bool = False) -> None:
        self.running, self.fails, self.starts = running, fails, 0

    def start(self) -> None:
        self.starts += 1
        if self.fails is not None:
            raise self.fails
        self.running = True


def test_the_temporary_servers_start_is_a_progress_stage() -> None:
    heard, server = _Heard(), _Server()
    with listening(heard):
        _start_server(server)
        _start_server(server)  # started once per process
    assert server.starts == 1
    assert heard.events == [("started", SERVER_STAGE), ("finished", SERVER_STAGE)]
    assert SERVER_STAGE == "Prefect's temporary server"


def test_a_server_that_does_not_start_is_one_line_saying_what_to_do() -> None:
    failing: Any = _Server(RuntimeError("Timed out while attempting to connect\nstdout: ..."))
    with pytest.raises(CannotProceedError) as raised:
        _start_server(failing)
    assert str(raised.value) == (
        "Prefect's temporary server did not start (Timed out while attempting to connect): "
        "set PREFECT_API_URL to a running Prefect server (`prefect server start`), or use "
        "--engine local"
    )
