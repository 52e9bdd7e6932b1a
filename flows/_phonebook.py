"""The persistent phone cache under LEADPIPE_HOME: parse results by (value, region).

One Parquet file per `phonenumbers` version, so upgrading the metadata never serves stale
answers. Written atomically (write, then rename): a killed run leaves the old file intact.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import phonenumbers
import polars as pl

from schemas.files import atomic_write
from transforms.normalise import normalise
from transforms.phones import KEY_COLUMNS, PHONE_RESULT_SCHEMA, PhoneBook

__all__ = ["NormalisePart", "PhoneBooks", "load_phone_book"]

logger = logging.getLogger(__name__)


def _path(home: Path) -> Path:
    return home / "cache" / f"phones-{phonenumbers.__version__}.parquet"


def load_phone_book(home: Path) -> PhoneBook:
    """The cached results, or an empty book when there are none (or they are unreadable)."""
    path = _path(home)
    if not path.exists():
        return PhoneBook()
    try:
        known = pl.read_parquet(path).cast(PHONE_RESULT_SCHEMA)  # type: ignore[arg-type]
    except (pl.exceptions.PolarsError, OSError) as exc:
        logger.warning(
            "phone cache %s is unreadable (%s); starting afresh", path, type(exc).__name__
        )
        return PhoneBook()
    return PhoneBook(known)


class PhoneBooks:
    """The phone cache for a run in partitions: each partition gets a book over the cache as
    it was when the run started, and what it parsed is set aside (in `scratch` when given, so
    memory does not grow with the file) until `save` adds all of it to the cache at once.

    A number met again in a later partition is parsed again (the answer is the same) but set
    aside once (its key's 64-bit hash is remembered), so what is set aside never repeats a key
    and `save` appends it to the cache in one streaming pass; the summary's `phones` facts are
    those of a run in one piece.
    """

    def __init__(self, home: Path, scratch: Path | None) -> None:
        self.home = home
        self.known = load_phone_book(home).known
        self.scratch = scratch
        self._added: list[pl.DataFrame | Path] = []
        self._seen = pl.Series("_key", [], dtype=pl.UInt64)
        self.parsed = 0

    @contextmanager
    def book(self) -> Iterator[PhoneBook]:
        """A book for one partition; what it parsed is set aside when the block ends."""
        book = PhoneBook(self.known)
        yield book
        self.set_aside(book.added)

    def set_aside(self, parsed: pl.DataFrame) -> None:
        """What one partition parsed (in a book over `known`), kept for `save` once per key."""
        keys = parsed.select(pl.struct(KEY_COLUMNS).hash(11).alias("_key")).to_series()
        fresh = ~keys.is_in(self._seen.implode())
        added = parsed.filter(fresh)
        if added.is_empty():
            return
        self._seen = pl.concat([self._seen, keys.filter(fresh)])
        self.parsed += added.height
        if self.scratch is None:
            self._added.append(added)
            return
        self.scratch.mkdir(parents=True, exist_ok=True)
        path = self.scratch / f"phones-{len(self._added):05d}.parquet"
        added.write_parquet(path, compression="lz4", statistics=False)
        self._added.append(path)

    def save(self) -> dict[str, int]:
        """Add what the partitions parsed to the cache; the run's `phones` facts."""
        facts = {"parsed": self.parsed, "known_before": self.known.height}
        if not self._added:
            return facts
        path = _path(self.home)
        added = [
            a.lazy() if isinstance(a, pl.DataFrame) else pl.scan_parquet(a) for a in self._added
        ]
        # No key repeats (see the class docstring; `resolve` never parses a known key), so the
        # cache grows by appending, streamed: a 10M-number run never holds its numbers twice.
        grown = pl.concat([self.known.lazy(), *added])
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, lambda partial: grown.sink_parquet(partial, compression_level=1))
        except (OSError, pl.exceptions.PolarsError) as exc:
            # A cache: the run's numbers are parsed either way; the next run parses them again.
            logger.warning("phone cache %s not saved (%s)", path, type(exc).__name__)
        return facts


@dataclass(frozen=True)
class NormalisePart:
    """`normalise` of one partition with a book over the cache as the run found it: the
    partition's rows and the numbers it parsed (plain values: it can run on a Dask worker)."""

    known: pl.DataFrame
    region: str | None

    def __call__(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        book = PhoneBook(self.known)
        normalised = normalise(frame.lazy(), book, default_region=self.region)
        # In memory: the streaming engine (polars' default) runs the lookups' order-keeping
        # joins ~2x slower, ~1 s of a warm run at 1M rows; the frame is in memory anyway.
        rows = normalised.collect(engine="in-memory")
        return rows, book.added.cast(PHONE_RESULT_SCHEMA)  # type: ignore[arg-type]
