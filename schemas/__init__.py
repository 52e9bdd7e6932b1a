"""The contracts every other package speaks: field names, frames, vendors, errors, files.

Callers import the module they need (`from schemas.fields import CANONICAL_FIELDS`); each
module's `__all__` is its public surface. The modules load on first use (PEP 562): pandera
and pycountry come in with `schemas.lead`, not with `import schemas`.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["exceptions", "fields", "files", "frames", "lead", "presets", "vendors"]


def __getattr__(name: str) -> ModuleType:
    if name not in __all__:
        raise AttributeError(f"module 'schemas' has no attribute {name!r}")
    return importlib.import_module(f"schemas.{name}")
