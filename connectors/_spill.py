"""A target's leads spilled to Parquet in buckets, under its state folder: what a plan reads
of a target too large for memory (`flows._spilled` builds and reads it).

    <state folder>/buckets/manifest.json      version, buckets, keys and their lookup kinds
    <state folder>/buckets/<key>-<kind>-<b>.parquet   one bucket of one match lookup
    <state folder>/buckets/leads-<b>.parquet          the normalised leads, by a hash of the id

The buckets are made once per version of `leads.parquet` (its size, change time and inode,
with the bucket count and the polars version, whose hash places the rows): a plan against an
unchanged snapshot reads them as they are; any write of the snapshot makes them stale, and the
next plan builds them again. Building writes into `buckets.partial/` and renames it into place
last, so a kill never leaves a half-built set that looks whole.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from schemas.files import atomic_write

__all__ = ["LeadBuckets", "SpillLayout"]

logger = logging.getLogger(__name__)

_LAYOUT = 1  # bump when the files' shape changes: older sets are then stale


@dataclass(frozen=True)
class SpillLayout:
    """What a set of buckets holds: how many, and each match key's lookup kinds."""

    buckets: int
    kinds: Mapping[str, tuple[str, ...]]
    leads: int  # how many leads were spilled


class LeadBuckets:
    """The bucketed copy of one stored snapshot (`SnapshotStore.buckets`)."""

    def __init__(self, folder: Path) -> None:
        self.state = folder
        self.folder = folder / "buckets"
        self.partial = folder / "buckets.partial"

    def version(self, buckets: int) -> str:
        """The version of `leads.parquet` the buckets would be of ('' when there is none)."""
        path = self.state / "leads.parquet"
        if not path.exists():
            return ""
        stat = path.stat()
        return (
            f"{_LAYOUT}:{pl.__version__}:{buckets}:{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ino}"
        )

    def current(self, buckets: int) -> SpillLayout | None:
        """The stored set's layout when it is of the snapshot as it is now, else None."""
        try:
            meta: Any = json.loads((self.folder / "manifest.json").read_text())
        except (OSError, ValueError):
            return None
        version = self.version(buckets)
        if not isinstance(meta, dict) or not version or meta.get("version") != version:
            return None
        kinds = {k: tuple(v) for k, v in meta["kinds"].items()}
        return SpillLayout(int(meta["buckets"]), kinds, int(meta["leads"]))

    def start(self) -> None:
        """Begin a new set in `buckets.partial/` (what an interrupted build left is dropped)."""
        shutil.rmtree(self.partial, ignore_errors=True)
        self.partial.mkdir(parents=True)

    def write_piece(self, name: str, piece: int, frame: pl.DataFrame) -> None:
        """One chunk's rows of the file `name` (read back whole by `scan_pieces`)."""
        folder = self.partial / "pieces" / name
        folder.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(folder / f"{piece:05d}.parquet", compression="lz4", statistics=False)

    def scan_pieces(self, name: str, schema: Mapping[str, pl.DataType]) -> pl.LazyFrame:
        """Every piece written of `name` (none: an empty frame of `schema`)."""
        folder = self.partial / "pieces" / name
        if not folder.exists():
            return pl.LazyFrame(schema=dict(schema))
        return pl.scan_parquet(sorted(folder.glob("*.parquet")))

    def write(self, name: str, frame: pl.DataFrame) -> None:
        """One finished file of the set being built."""
        frame.write_parquet(self.partial / f"{name}.parquet")

    def commit(self, buckets: int, layout: SpillLayout) -> None:
        """The set built in `buckets.partial/` replaces the stored one."""
        shutil.rmtree(self.partial / "pieces", ignore_errors=True)
        meta = {
            "version": self.version(buckets),
            "buckets": layout.buckets,
            "kinds": {k: list(v) for k, v in layout.kinds.items()},
            "leads": layout.leads,
        }
        atomic_write(
            self.partial / "manifest.json", lambda p: p.write_text(json.dumps(meta, indent=2))
        )
        shutil.rmtree(self.folder, ignore_errors=True)
        self.partial.rename(self.folder)
        logger.info("spilled %d leads into %d buckets", layout.leads, layout.buckets)

    def scan(self, name: str) -> pl.LazyFrame:
        """One file of the stored set, lazily (read when the caller collects it)."""
        return pl.scan_parquet(self.folder / f"{name}.parquet")
