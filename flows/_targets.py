"""Which target a run talks to: a `[targets.NAME]` profile, or a built-in `sandbox:<vendor>`.

`with_rate_budget` puts the target under the global rate budget (a Prefect global concurrency
limit named after the profile, shared by every worker) when the run is a Prefect run; with
`--engine local` the client's own token bucket is the only limit (right for one process).

The built-in sandbox profiles use the server at LEADPIPE_SANDBOX_URL when it is set, else an
in-process sandbox whose state lives in LEADPIPE_HOME/sandbox.db (through httpx's ASGI
transport: no sockets, same HTTP semantics).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from connectors import TargetProfile, budget_name, ensure_rate_limit, sandbox_profile
from flows.exceptions import ConfigError
from flows.options import check_segment

__all__ = ["Target", "resolve_target", "with_rate_budget"]

_SANDBOX = "sandbox:"
_IN_PROCESS_URL = "http://sandbox.local"


@dataclass(frozen=True)
class Target:
    """A profile, plus the transport to reach it (None: the network)."""

    profile: TargetProfile
    transport: httpx.AsyncBaseTransport | None = None


def resolve_target(
    name: str, tables: dict[str, Any], home: Path, sandbox_url: str | None = None
) -> Target:
    """The target named on the command line; `tables` are the config's `[targets.*]`.

    `sandbox_url` stands for LEADPIPE_SANDBOX_URL where the environment is not the driver's
    (a Dask worker started before it was set).
    """
    if name.startswith(_SANDBOX):
        return _sandbox_target(name.removeprefix(_SANDBOX), home, sandbox_url)
    if name not in tables:
        known = ", ".join([*sorted(tables), "sandbox:omni", "sandbox:apten", "sandbox:octanist"])
        raise ConfigError(f"unknown target {name!r} (known: {known})")
    check_segment(name, "target name")  # its snapshot lives in LEADPIPE_HOME/state/<name>
    return Target(TargetProfile.from_config(name, dict(tables[name])))


def with_rate_budget(target: Target) -> Target:
    """`target` drawing from the global rate budget `leadpipe-rate-<profile>` when this runs
    inside a Prefect flow or task run (the limit is created or updated first); else as it is."""
    if not _in_prefect_run():
        return target
    profile = target.profile
    name = budget_name(profile.name)
    ensure_rate_limit(name, profile.rate_limit_per_s, vendor=profile.vendor)
    return replace(target, profile=replace(profile, rate_budget=name))


def _in_prefect_run() -> bool:
    context = sys.modules.get("prefect.context")
    if context is None:  # --engine local never imports Prefect
        return False
    return context.FlowRunContext.get() is not None or context.TaskRunContext.get() is not None


def _sandbox_target(vendor: str, home: Path, sandbox_url: str | None) -> Target:
    if vendor not in ("omni", "apten", "octanist"):
        raise ConfigError(f"unknown sandbox target 'sandbox:{vendor}' (omni, apten or octanist)")
    url = sandbox_url or os.environ.get("LEADPIPE_SANDBOX_URL")
    if url:
        return Target(sandbox_profile(vendor, url))
    from sandbox import create_app

    home.mkdir(parents=True, exist_ok=True)
    app = create_app(home / "sandbox.db")
    return Target(sandbox_profile(vendor, _IN_PROCESS_URL), httpx.ASGITransport(app=app))
