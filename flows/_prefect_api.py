"""Whether a Prefect API is configured, read the way Prefect 3.8 reads it, without Prefect.

`--engine auto` (the default) runs a job as a Prefect flow only when a Prefect server is
configured; deciding that by importing `prefect.settings` would cost ~0.9 s on every command.
Prefect 3.8 takes `PREFECT_API_URL` from, first to last (`prefect/settings/base.py`,
`settings_customise_sources`): the environment, a `.env` file in the working folder,
`prefect.toml` (`[api] url`), `pyproject.toml` (`[tool.prefect.api] url`), then the active
profile of `profiles.toml` (`PREFECT_PROFILE`, else the file's `active`). The profiles file is
`PREFECT_PROFILES_PATH`, else `PREFECT_HOME/profiles.toml`, else `~/.prefect/profiles.toml`
(`prefect/settings/sources.py`, `_get_profiles_path`); in Prefect's test mode profiles are not
read. A file that cannot be read or parsed counts as saying nothing: Prefect itself would warn
and go on.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["configured_api_url"]

_KEY = "PREFECT_API_URL"
_TEST_MODE = (
    "PREFECT_TEST_MODE",
    "PREFECT_UNIT_TEST_MODE",
    "PREFECT_TESTING_UNIT_TEST_MODE",
    "PREFECT_TESTING_TEST_MODE",
)


def configured_api_url(
    environ: Mapping[str, str] | None = None, folder: Path | None = None
) -> str | None:
    """The Prefect API URL this process would use, or None (Prefect would start its own
    temporary server). `environ` and `folder` (the working folder) are for tests."""
    env = os.environ if environ is None else environ
    here = Path.cwd() if folder is None else folder
    sources: tuple[Callable[[], Any], ...] = (
        lambda: env.get(_KEY),
        lambda: _dotenv(here / ".env").get(_KEY),
        lambda: _dig(_toml(here / "prefect.toml"), "api", "url"),
        lambda: _dig(_toml(here / "pyproject.toml"), "tool", "prefect", "api", "url"),
        lambda: _profile(env, here).get(_KEY),
    )
    for source in sources:
        value = source()
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _profile(env: Mapping[str, str], here: Path) -> dict[str, Any]:
    """The active profile's settings (empty in Prefect's test mode or without a profile)."""
    if any(env.get(name) for name in _TEST_MODE):
        return {}
    profiles = _toml(_profiles_path(env, here))
    active = env.get("PREFECT_PROFILE") or profiles.get("active")
    found = profiles.get("profiles", {}).get(active) if isinstance(active, str) else None
    return found if isinstance(found, dict) else {}


def _profiles_path(env: Mapping[str, str], here: Path) -> Path:
    if env.get("PREFECT_PROFILES_PATH"):
        return Path(env["PREFECT_PROFILES_PATH"]).expanduser()
    given = (
        _dotenv(here / ".env").get("PREFECT_PROFILES_PATH")
        or _dig(_toml(here / "prefect.toml"), "profiles_path")
        or _dig(_toml(here / "pyproject.toml"), "tool", "prefect", "profiles_path")
    )
    if isinstance(given, str) and given:
        return Path(given).expanduser()
    home = env.get("PREFECT_HOME") or "~/.prefect"
    return Path(home).expanduser() / "profiles.toml"


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}


def _dig(table: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(table, dict):
            return None
        table = table.get(key)
    return table


def _dotenv(path: Path) -> dict[str, str]:
    """`KEY=value` lines of a .env file (python-dotenv, which Prefect reads it with)."""
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    try:
        return {k: v for k, v in dotenv_values(path).items() if v is not None}
    except (OSError, UnicodeDecodeError):
        return {}
