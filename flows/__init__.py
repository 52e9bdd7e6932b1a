"""The jobs, wired: one plain function per job that reads as its ordered steps, the runner
seam that runs them (in-process, Prefect, Dask), the options, schedules and the CLI.

    from flows import Flags, options_for, run_check
    options, engine = options_for("check", Flags(source=Path("export.csv")))
    summary = run_check(options, engine)

Names load on first use (PEP 562): `import flows` imports neither polars nor Prefect.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__all__ = [
    "CheckOptions",
    "Flags",
    "Listener",
    "MigrateOptions",
    "SyncOptions",
    "listening",
    "options_for",
    "run_check",
    "run_migrate",
    "run_reconcile",
    "run_sync",
]

if TYPE_CHECKING:
    from flows._events import Listener, listening
    from flows.check import run_check
    from flows.migrate import run_migrate
    from flows.options import CheckOptions, Flags, MigrateOptions, SyncOptions, options_for
    from flows.reconcile import run_reconcile
    from flows.sync import run_sync
else:
    _HOMES = {
        "CheckOptions": "flows.options",
        "Flags": "flows.options",
        "MigrateOptions": "flows.options",
        "SyncOptions": "flows.options",
        "options_for": "flows.options",
        "Listener": "flows._events",
        "listening": "flows._events",
        "run_check": "flows.check",
        "run_migrate": "flows.migrate",
        "run_reconcile": "flows.reconcile",
        "run_sync": "flows.sync",
    }

    def __getattr__(name: str) -> object:
        home = _HOMES.get(name)
        if home is None:
            raise AttributeError(f"module 'flows' has no attribute {name!r}")
        return getattr(importlib.import_module(home), name)
