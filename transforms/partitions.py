"""A frame held as consecutive row ranges (partitions), so memory follows the range size.

One range stays in memory, as the whole frame always did. More ranges are each kept as a
Parquet file in a scratch folder and read back one at a time: a stage maps one range to the
next stage's range, and `scan` gives them all to a streaming query (dedupe, report) in order.

    >>> parts = Parts.build(iter([pl.DataFrame({"a": [1, 2]})]), scratch=None, name="demo")
    >>> parts.map(lambda f: f.with_columns(b=pl.col("a") * 2), "twice").collect()["b"].to_list()
    [2, 4]
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

__all__ = ["DEFAULT_PARTITION_ROWS", "Parts", "row_ranges"]

# Rows per partition: ~0.6-0.9 GB of a wide export in flight (measured on `make bench`'s
# export), whatever the file's size.
DEFAULT_PARTITION_ROWS = 250_000


def row_ranges(rows: int, size: int) -> list[tuple[int, int]]:
    """`(offset, length)` of each partition of `rows` rows; one (empty) range for no rows."""
    return [(offset, min(size, rows - offset)) for offset in range(0, rows, size)] or [(0, 0)]


@dataclass(frozen=True)
class Parts:
    """The partitions of one frame, in row order: in memory (one) or Parquet files (more)."""

    items: tuple[pl.DataFrame | Path, ...]
    scratch: Path | None

    @classmethod
    def build(cls, frames: Iterator[pl.DataFrame], *, scratch: Path | None, name: str) -> Parts:
        """Partitions from `frames`; written under `scratch` unless it is None (in memory)."""
        if scratch is None:
            return cls(tuple(frames), None)
        scratch.mkdir(parents=True, exist_ok=True)
        paths = []
        for number, frame in enumerate(frames):
            path = scratch / f"{name}-{number:05d}.parquet"
            # lz4 and no statistics: a scratch file is read once, whole, then deleted.
            frame.write_parquet(path, compression="lz4", statistics=False)
            paths.append(path)
        return cls(tuple(paths), scratch)

    @classmethod
    def single(cls, frame: pl.DataFrame) -> Parts:
        """One partition in memory."""
        return cls((frame,), None)

    def frames(self) -> Iterator[pl.DataFrame]:
        """Each partition in turn, read from its file when it has one."""
        for item in self.items:
            yield item if isinstance(item, pl.DataFrame) else pl.read_parquet(item)

    def map(self, step: Callable[[pl.DataFrame], pl.DataFrame], name: str) -> Parts:
        """`step` applied to every partition; the input's files are deleted once read."""
        mapped = Parts.build(self._consumed(step), scratch=self.scratch, name=name)
        return mapped

    def _consumed(self, step: Callable[[pl.DataFrame], pl.DataFrame]) -> Iterator[pl.DataFrame]:
        for item, frame in zip(self.items, self.frames(), strict=True):
            yield step(frame)
            if isinstance(item, Path):
                os.unlink(item)

    def scan(self) -> pl.LazyFrame:
        """All partitions as one lazy frame, in row order."""
        lazies = [
            item.lazy() if isinstance(item, pl.DataFrame) else pl.scan_parquet(item)
            for item in self.items
        ]
        return lazies[0] if len(lazies) == 1 else pl.concat(lazies, how="vertical")

    def collect(self) -> pl.DataFrame:
        """The whole frame in memory."""
        if len(self.items) == 1 and isinstance(self.items[0], pl.DataFrame):
            return self.items[0]
        return pl.concat(list(self.frames()), how="vertical", rechunk=False)
