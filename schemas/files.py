"""Writing a file so that readers see the old one or the new one, never half of either.

Every package that keeps a file others read (the run directory, the target snapshot, the phone
cache, a schedule's ledger, a migration's crosswalk) writes it through `atomic_write`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write", "partial_path"]


def partial_path(target: Path) -> Path:
    """Where `target` is written before it is renamed into place (a hidden sibling)."""
    return target.with_name(f".{target.name}.partial")


def atomic_write(target: Path, write: Callable[[Path], object], *, durable: bool = False) -> Path:
    """Call `write(partial)` for a hidden sibling of `target`, then rename it over `target`.

    A kill before the rename leaves the old file (and at most a stale `.partial`, overwritten
    next time). `durable` also flushes the new file to disk before the rename, for small
    records that must survive a power cut (a schedule's ledger). Returns `target`.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_path(target)
    try:
        write(partial)
        if durable:
            with open(partial, "rb") as written:
                os.fsync(written.fileno())
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target
