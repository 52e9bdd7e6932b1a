"""Which target a run talks to: a `[targets.NAME]` profile, or a built-in `sandbox:<vendor>`.

The built-in sandbox profiles use the server at LEADPIPE_SANDBOX_URL when it is set, else an
in-process sandbox whose state lives in LEADPIPE_HOME/sandbox.db (through httpx's ASGI
transport: no sockets, same HTTP semantics).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from connectors import TargetProfile, sandbox_profile
from flows.config import check_segment
from flows.exceptions import ConfigError

__all__ = ["Target", "resolve_target"]

_SANDBOX = "sandbox:"
_IN_PROCESS_URL = "http://sandbox.local"


@dataclass(frozen=True)
class Target:
    """A profile, plus the transport to reach it (None: the network)."""

    profile: TargetProfile
    transport: httpx.AsyncBaseTransport | None = None


def resolve_target(name: str, tables: dict[str, Any], home: Path) -> Target:
    """The target named on the command line; `tables` are the config's `[targets.*]`."""
    if name.startswith(_SANDBOX):
        return _sandbox_target(name.removeprefix(_SANDBOX), home)
    if name not in tables:
        known = ", ".join([*sorted(tables), "sandbox:omni", "sandbox:apten", "sandbox:octanist"])
        raise ConfigError(f"unknown target {name!r} (known: {known})")
    check_segment(name, "target name")  # its snapshot lives in LEADPIPE_HOME/state/<name>
    return Target(TargetProfile.from_config(name, dict(tables[name])))


def _sandbox_target(vendor: str, home: Path) -> Target:
    if vendor not in ("omni", "apten", "octanist"):
        raise ConfigError(f"unknown sandbox target 'sandbox:{vendor}' (omni, apten or octanist)")
    url = os.environ.get("LEADPIPE_SANDBOX_URL")
    if url:
        return Target(sandbox_profile(vendor, url))
    from sandbox import create_app

    home.mkdir(parents=True, exist_ok=True)
    app = create_app(home / "sandbox.db")
    return Target(sandbox_profile(vendor, _IN_PROCESS_URL), httpx.ASGITransport(app=app))
