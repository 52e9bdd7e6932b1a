"""Pure polars stages of the pipe: read, mapping, normalise (phones, emails, timezones,
values), validate, dedupe, match, diff, plan, outcomes, report; and what reconcile and migrate
add to them. No I/O beyond reading the source file.

Callers import from the stage's module (`from transforms.plan import plan`); each module's
`__all__` is its public surface, and no other package imports a `transforms._private` module.
The modules load on first use (PEP 562): `import transforms` pulls in neither pandera nor
phonenumbers, which `leadpipe --help` has no use for.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = [
    "cells",
    "dedupe",
    "diff",
    "emails",
    "exceptions",
    "mapping",
    "match",
    "migrate",
    "normalise",
    "outcomes",
    "phones",
    "plan",
    "read",
    "reconcile",
    "region",
    "report",
    "snapshot",
    "timezones",
    "validate",
    "values",
]


def __getattr__(name: str) -> ModuleType:
    if name not in __all__:
        raise AttributeError(f"module 'transforms' has no attribute {name!r}")
    return importlib.import_module(f"transforms.{name}")
