"""The run's report files: `rows.parquet`, `rows.csv` and `summary.json`, each atomically.

`transforms.report` shapes the rows; this writes them: `rows.parquet` keeps the true values,
`rows.csv` is for people (nested values as text, formula-looking cells neutralised), and
`summary.json` the run's `RunSummary` (`as_json`: the contract's keys, in order). Each file
goes through `schemas.files.atomic_write`, so a killed run leaves the old file, never half of
a new one.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import polars as pl

from schemas.fields import WARNING_ENTRY
from schemas.files import atomic_write
from schemas.summary import RunSummary
from transforms.report import neutralise_formulas

__all__ = ["write_report_rows", "write_summary"]

# zstd's fastest level: ~20% less time than the default level 3 for ~9% more bytes.
_ZSTD_LEVEL = 1


def write_report_rows(rows: pl.DataFrame | Iterable[pl.DataFrame], out_dir: Path) -> None:
    """Write rows.parquet and rows.csv into `out_dir` (each atomically).

    `rows` may come as consecutive parts (a report larger than memory): each part is appended
    to both files as it comes, so only a few are held: the one being made and written to
    rows.csv, and what the Parquet sink has not encoded yet (it takes one part at a time).
    """
    if not isinstance(rows, pl.DataFrame):
        _both_atomically(out_dir, lambda parquet, csv: _write_parts(rows, parquet, csv))
        return

    def write(parquet: Path, csv: Path) -> None:
        # rows.parquet on a second thread while rows.csv is written here: each writer keeps
        # about one core busy, and polars lets go of the GIL while it writes.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rows-parquet") as pool:
            written = pool.submit(rows.write_parquet, parquet, compression_level=_ZSTD_LEVEL)
            _csv_ready(rows).sink_csv(csv)
            written.result()

    _both_atomically(out_dir, write)


def write_summary(summary: RunSummary, out_dir: Path) -> None:
    """Write summary.json into `out_dir` (atomically): `summary.as_json()`, indented, values
    JSON cannot hold as text."""
    text = json.dumps(summary.as_json(), indent=2, default=str) + "\n"
    atomic_write(out_dir / "summary.json", lambda p: p.write_text(text, encoding="utf-8"))


def _both_atomically(out_dir: Path, write: Callable[[Path, Path], None]) -> None:
    """`write(parquet_partial, csv_partial)`, then rows.parquet and rows.csv renamed into place,
    rows.parquet first. Neither is replaced when `write` raises; a kill between the two renames
    leaves a new rows.parquet beside the old rows.csv."""
    atomic_write(
        out_dir / "rows.csv",
        lambda csv: atomic_write(out_dir / "rows.parquet", lambda parquet: write(parquet, csv)),
    )


def _write_parts(parts: Iterable[pl.DataFrame], parquet: Path, csv: Path) -> None:
    """Each part appended to both files as it comes: its CSV written here, its rows handed to
    one polars Parquet sink on a second thread, which encodes them while the next part is made.

    The sink reads the parts through a polars IO source fed by `_Feed` (a queue of one): no
    Arrow copy of each part, and polars' own encoder (~1/3 less CPU than pyarrow's writer plus
    `to_arrow` at 1M rows). A part waits in the queue until the sink takes it, so making the
    next part waits for a sink that falls behind."""
    feed = _Feed()
    with (
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="rows-parquet") as pool,
        csv.open("wb") as text,
    ):
        sink: Future[None] | None = None
        try:
            for number, part in enumerate(parts):
                if sink is None:
                    sink = pool.submit(_sink_parquet, feed, part.schema, parquet)
                    feed.watch(sink)
                feed.put(part)
                _csv_ready(part).sink_csv(text, include_header=number == 0)
        finally:
            feed.close()  # the sink ends its file (discarded by the caller if this raised)
        assert sink is not None, "a report has at least one part, maybe empty"
        sink.result()


class _Feed:
    """Parts handed from the thread that makes them to the Parquet sink on another, through a
    queue of one. When the sink fails, `put` raises its error instead of waiting for it."""

    _END = None

    def __init__(self) -> None:
        self._queue: queue.Queue[pl.DataFrame | None] = queue.Queue(maxsize=1)
        self._sink: Future[None] | None = None
        self._ended = threading.Event()

    def watch(self, sink: Future[None]) -> None:
        """`sink` reads this feed: once it ends (written or failed), nothing waits for it."""
        self._sink = sink
        sink.add_done_callback(lambda _: self._abandon())

    def put(self, part: pl.DataFrame) -> None:
        """Hand `part` to the sink (waiting while it still has the last one); the sink's
        error if it stopped."""
        self._raise_if_ended()
        self._queue.put(part)

    def close(self) -> None:
        """No more parts: the sink finishes its file."""
        if not self._ended.is_set():
            self._queue.put(self._END)

    def parts(
        self,
        with_columns: list[str] | None,
        predicate: pl.Expr | None,
        n_rows: int | None,
        batch_size: int | None,
    ) -> Iterator[pl.DataFrame]:
        """The IO source the sink scans: every part, until `close`."""
        del predicate, n_rows, batch_size  # a sink takes every row
        while (part := self._queue.get()) is not self._END:
            yield part if with_columns is None else part.select(with_columns)

    def _abandon(self) -> None:
        # The sink is done: unblock a `put` waiting on it, and make the next one raise.
        self._ended.set()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def _raise_if_ended(self) -> None:
        if self._ended.is_set() and self._sink is not None:
            self._sink.result()  # its error, if it failed
            raise RuntimeError("the rows.parquet sink ended before the last part")


def _sink_parquet(feed: _Feed, schema: pl.Schema, parquet: Path) -> None:
    """Every part `feed` hands over, written as one Parquet file (polars' streaming sink)."""
    from polars.io.plugins import register_io_source

    rows = register_io_source(feed.parts, schema=schema, validate_schema=True)
    rows.sink_parquet(parquet, compression_level=_ZSTD_LEVEL)


def _csv_ready(rows: pl.DataFrame) -> pl.LazyFrame:
    """Nested values as text (tags joined, warnings as sentences, other lists of structs as
    JSON) and formulas neutralised.

    What each column needs is read from its values first (null counts and list lengths are
    cheap): lists with no entries (or none at all) cost no string work, and an integer column
    is checked for formulas only when it holds a negative number."""
    return rows.lazy().select(_csv_column(rows.get_column(name)) for name in rows.columns)


def _csv_column(values: pl.Series) -> pl.Expr:
    """The expression that writes `values` as rows.csv's text for people."""
    name, dtype = values.name, values.dtype
    col = pl.col(name)
    if isinstance(dtype, pl.List) and not _has_entries(values):
        # Lists with no entries (or nulls only): what an empty list reads as, without joining
        # or encoding one per row; a null list stays blank.
        return pl.when(col.is_not_null()).then(_EMPTY_LIST.get(dtype, pl.lit("[]"))).alias(name)
    if dtype == pl.List(WARNING_ENTRY):
        text = neutralise_formulas(_notes_text(name))
    elif dtype == pl.List(pl.String):
        text = neutralise_formulas(col.list.join(", "))
    elif isinstance(dtype, pl.List):
        text = _json_list(name)  # starts with `[`: never a formula, and long to scan
    elif dtype == pl.Boolean:
        text = col.cast(pl.String)  # `true` / `false`
    elif dtype == pl.String:
        text = neutralise_formulas(col)
    elif dtype.is_integer() and not (values < 0).any():
        text = col.cast(pl.String)  # digits only: never a formula
    else:
        text = neutralise_formulas(col.cast(pl.String))  # `-1.5`, `-inf` and `-0.0` start with `-`
    return text.alias(name)


# An empty list in rows.csv: tags joined are an empty text, warnings no sentence (blank),
# any other list (JSON) `[]`.
_EMPTY_LIST: dict[pl.DataType, pl.Expr] = {
    pl.List(pl.String): pl.lit(""),
    pl.List(WARNING_ENTRY): pl.lit(None, pl.String),
}


def _has_entries(values: pl.Series) -> bool:
    """Whether any list of `values` has an entry."""
    return bool(values.list.len().max() or 0)


def _notes_text(name: str) -> pl.Expr:
    """Warnings for people: `phone: '0044 20…' was read as +44…; country: …` (blank: none)."""
    entry = pl.element().struct
    said = pl.format("{}: {}", entry.field("field"), entry.field("message"))
    return pl.col(name).list.eval(said).list.join("; ").replace("", None)


def _json_list(name: str) -> pl.Expr:
    """A list column as JSON text: `[{"key":"city","value":"Oslo"}]`; null stays null."""
    # Encoded as the only field of a struct, then unwrapped: one vectorised encoder instead of
    # `list.eval` per row, which costs ~2x.
    wrapped = pl.struct(name).struct.json_encode()
    unwrapped = wrapped.str.strip_prefix("{" + json.dumps(name) + ":").str.strip_suffix("}")
    return pl.when(pl.col(name).is_not_null()).then(unwrapped)
