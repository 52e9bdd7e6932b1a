"""A frame held as consecutive row ranges (partitions), so memory follows the range size.

One range stays in memory, as the whole frame always did, and `map` runs each step at once.
More ranges live on disk: each partition is a Parquet file in a scratch folder, or a loader
(a range of the reader's Parquet copy of the source). There `map` only records the step, and
the steps run when a partition is next read: a partition goes through map, normalise and
validate in one pass and is written once (`spill`), instead of once per stage. Writing and
reading a wide partition back costs about as much as normalising it, so every write saved
is worth a stage.

A step that runs after its own stage (a recorded `map`) is timed on the `StepClock` the
partitions share, so the engine can give its seconds back to the stage it belongs to.

A lazy step (`map_lazy`, in memory too) is a query on the partition that is collected with
the lazy steps recorded after it, as one query, when the next plain step runs or the
partition is read: `diff` then `plan` are one query per partition (polars computes only what
the plan keeps, and no diffed frame is made between them); its seconds go to the last.

    >>> parts = Parts.single(pl.DataFrame({"a": [1, 2]}))
    >>> parts.map(lambda f: f.with_columns(b=pl.col("a") * 2), "twice").collect()["b"].to_list()
    [2, 4]
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar

import polars as pl

__all__ = [
    "LocalMapper",
    "LazyStep",
    "PartMapper",
    "Parts",
    "Step",
    "StepClock",
    "row_ranges",
]

Load = Callable[[], pl.DataFrame]
Source = pl.DataFrame | Path | Load


def row_ranges(rows: int, size: int) -> list[tuple[int, int]]:
    """`(offset, length)` of each partition of `rows` rows; one (empty) range for no rows."""
    return [(offset, min(size, rows - offset)) for offset in range(0, rows, size)] or [(0, 0)]


@dataclass(frozen=True)
class Step:
    """A function from one partition to the next stage's, named after its stage."""

    name: str
    run: Callable[[pl.DataFrame], pl.DataFrame]


@dataclass(frozen=True)
class LazyStep:
    """A query on one partition, collected with the lazy steps next to it (`Parts.map_lazy`)."""

    name: str
    query: Callable[[pl.LazyFrame], pl.LazyFrame]


class StepClock:
    """Seconds that recorded steps spent running after their own stage, by step name."""

    def __init__(self) -> None:
        self._seconds: dict[str, float] = {}

    def add(self, name: str, seconds: float) -> None:
        self._seconds[name] = self._seconds.get(name, 0.0) + seconds

    def drain(self) -> dict[str, float]:
        """What was timed since the last drain (and forget it)."""
        seconds, self._seconds = self._seconds, {}
        return seconds


@dataclass(frozen=True)
class Parts:
    """The partitions of one frame, in row order, and the steps still to run on each."""

    items: tuple[Source, ...]
    scratch: Path | None
    steps: tuple[Step | LazyStep, ...] = ()
    clock: StepClock = field(default_factory=StepClock, compare=False)

    @classmethod
    def build(
        cls,
        frames: Iterator[pl.DataFrame],
        *,
        scratch: Path | None,
        name: str,
        clock: StepClock | None = None,
    ) -> Parts:
        """Partitions from `frames`; written under `scratch` unless it is None (in memory)."""
        clock = clock or StepClock()
        if scratch is None:
            return cls(tuple(frames), None, clock=clock)
        scratch.mkdir(parents=True, exist_ok=True)
        paths = []
        for number, frame in enumerate(frames):
            path = scratch / f"{name}-{number:05d}.parquet"
            # lz4 and no statistics: a scratch file is read whole, then deleted.
            frame.write_parquet(path, compression="lz4", statistics=False)
            paths.append(path)
        return cls(tuple(paths), scratch, clock=clock)

    @classmethod
    def single(cls, frame: pl.DataFrame) -> Parts:
        """One partition in memory."""
        return cls((frame,), None)

    @classmethod
    def loaded(cls, loaders: Sequence[Load], *, scratch: Path, clock: StepClock) -> Parts:
        """Partitions that `loaders` read when asked (e.g. ranges of a Parquet file); their
        recorded steps are timed on `clock`."""
        return cls(tuple(loaders), scratch, clock=clock)

    def map(self, step: Callable[[pl.DataFrame], pl.DataFrame], name: str) -> Parts:
        """`step` applied to every partition: now when they are in memory, else recorded and
        run when each partition is next read."""
        if self.scratch is None:
            return replace(self, items=tuple(step(frame) for frame in self.frames()), steps=())
        return replace(self, steps=(*self.steps, Step(name, step)))

    def map_lazy(self, query: Callable[[pl.LazyFrame], pl.LazyFrame], name: str) -> Parts:
        """`query` on every partition, recorded (in memory too) and collected with the lazy
        steps next to it when the partitions are next read or mapped."""
        return replace(self, steps=(*self.steps, LazyStep(name, query)))

    def frames(self) -> Iterator[pl.DataFrame]:
        """Each partition in turn, read and put through the recorded steps."""
        for item in self.items:
            yield self._run_steps(_load(item))

    def spill(self, name: str) -> Parts:
        """The partitions with their recorded steps run, each written once under `scratch`
        (files this replaces are deleted as they are read); in memory, or with nothing
        recorded, the partitions as they are."""
        if self.scratch is None or not self.steps:
            return self
        return Parts.build(self._consumed(), scratch=self.scratch, name=name, clock=self.clock)

    def columns(self, names: Sequence[str], name: str) -> Parts:
        """Just the columns `names` of each partition (steps run), written as a narrow copy:
        what a pass over the whole frame (e.g. dedupe's keys) needs, at a fraction of the
        cost of writing every column. The partitions themselves stay as they are."""
        narrow = (frame.select(names) for frame in self.frames())
        if self.scratch is None:
            return Parts.build(narrow, scratch=None, name=name, clock=self.clock)
        return Parts.build(narrow, scratch=self.scratch / name, name=name, clock=self.clock)

    def scan_columns(self, names: Sequence[str], name: str) -> pl.LazyFrame:
        """Just the columns `names` of all partitions, as one lazy frame in row order: read
        straight from the partitions when nothing is left to run on them (Parquet reads only
        those columns), else from a narrow copy (`columns`)."""
        ready = not self.steps and all(isinstance(i, pl.DataFrame | Path) for i in self.items)
        return (self if ready else self.columns(names, name)).scan().select(names)

    def scan(self) -> pl.LazyFrame:
        """All partitions as one lazy frame, in row order (none may have steps to run)."""
        assert not self.steps, "spill() first: a scan cannot run the recorded steps"
        lazies = [
            item.lazy() if isinstance(item, pl.DataFrame) else pl.scan_parquet(item)
            for item in self.items
            if isinstance(item, pl.DataFrame | Path)
        ]
        assert len(lazies) == len(self.items), "spill() first: a scan cannot run loaders"
        return lazies[0] if len(lazies) == 1 else pl.concat(lazies, how="vertical")

    def collect(self) -> pl.DataFrame:
        """The whole frame in memory."""
        if len(self.items) == 1 and isinstance(self.items[0], pl.DataFrame) and not self.steps:
            return self.items[0]
        return pl.concat(list(self.frames()), how="vertical", rechunk=False)

    def _run_steps(self, frame: pl.DataFrame) -> pl.DataFrame:
        query: pl.LazyFrame | None = None  # lazy steps not yet collected
        for step in self.steps:
            if isinstance(step, LazyStep):
                query = step.query(frame.lazy() if query is None else query)
                last = step.name
                continue
            if query is not None:
                frame, query = self._collected(query, last), None
            started = time.perf_counter()
            frame = step.run(frame)
            self.clock.add(step.name, time.perf_counter() - started)
        return frame if query is None else self._collected(query, last)

    def _collected(self, query: pl.LazyFrame, name: str) -> pl.DataFrame:
        started = time.perf_counter()
        # In memory: the partition is, and polars 2.1's streaming engine panicked on some
        # partitions of these steps (a string view index out of bounds in a `when` chain).
        frame = query.collect(engine="in-memory")
        self.clock.add(name, time.perf_counter() - started)
        return frame

    def _consumed(self) -> Iterator[pl.DataFrame]:
        for item, frame in zip(self.items, self.frames(), strict=True):
            yield frame
            if isinstance(item, Path):
                os.unlink(item)


def _load(item: Source) -> pl.DataFrame:
    if isinstance(item, pl.DataFrame):
        return item
    if isinstance(item, Path):
        return pl.read_parquet(item)
    return item()


T = TypeVar("T")
R = TypeVar("R")

# A step that also hands something back to the driver (e.g. the phone numbers it parsed).
SideStep = Callable[[pl.DataFrame], tuple[pl.DataFrame, Any]]


class PartMapper(Protocol):
    """How a stage's step runs over the partitions: in this process, or on other workers.

    `step` must be picklable for a distributed mapper (a module-level function or a frozen
    dataclass holding plain values); `keep` receives each partition's side result, in this
    process, in row order.
    """

    @property
    def distributed(self) -> bool: ...

    def rows_per_part(self, partition_rows: int, rows: int) -> int:
        """Rows per partition of a file of `rows` rows."""
        ...

    def batches(self, items: Sequence[T], key: Callable[[T], str]) -> list[list[T]]:
        """`items` in the batches `each` sends out (an item's batch follows from its key)."""
        ...

    def each(self, batches: Sequence[T], fn: Callable[[T], R], name: str) -> list[R]:
        """`fn` of every batch, in order (as the tasks `name` where they run elsewhere)."""
        ...

    def map(self, parts: Parts, step: Callable[[pl.DataFrame], pl.DataFrame], name: str) -> Parts:
        """`step` over every partition (see `Parts.map`)."""
        ...

    def map_keeping(
        self, parts: Parts, step: SideStep, name: str, keep: Callable[[Any], None]
    ) -> Parts:
        """`step` over every partition; its side results go to `keep`."""
        ...


class LocalMapper:
    """Every step in this process: at once in memory, else as each partition is next read."""

    distributed = False

    def rows_per_part(self, partition_rows: int, rows: int) -> int:
        return partition_rows

    def batches(self, items: Sequence[T], key: Callable[[T], str]) -> list[list[T]]:
        return [list(items)]

    def each(self, batches: Sequence[T], fn: Callable[[T], R], name: str) -> list[R]:
        return [fn(batch) for batch in batches]

    def map(self, parts: Parts, step: Callable[[pl.DataFrame], pl.DataFrame], name: str) -> Parts:
        return parts.map(step, name)

    def map_keeping(
        self, parts: Parts, step: SideStep, name: str, keep: Callable[[Any], None]
    ) -> Parts:
        def kept(frame: pl.DataFrame) -> pl.DataFrame:
            rows, side = step(frame)
            keep(side)
            return rows

        return parts.map(kept, name)
