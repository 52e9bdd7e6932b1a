"""The stages that read and check the file, every job's start:

    read -> map -> normalise -> validate -> dedupe        (`prepare`)   -> report (check)

Each is one call into `transforms/` or `reports/` plus the partitions it runs over, and
returns a small frozen result. Large files go through in partitions (`flows._partitions`):
the reader spills the records to Parquet, map, normalise and validate run one partition at a
time, dedupe reads only narrow columns of all of them, and the report is streamed to its
files. A file of one partition stays in memory throughout; results are the same either way.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import polars as pl

from flows._memory import recall_mapping, remember_mapping
from flows._partitions import PartMapper, Parts, StepClock, row_ranges
from flows._phonebook import NormalisePart, PhoneBooks
from flows._runner import Run
from flows.options import CheckOptions
from reports import PageRows, RunDir
from schemas.frames import PLAN_COLUMNS
from schemas.summary import RegionFacts
from transforms.dedupe import DEDUPE_COLUMNS, dedupe, duplicate_marks
from transforms.mapping import (
    ResolvedMapping,
    apply_mapping,
    mapped_share,
    resolve_mapping,
    text_fields,
)
from transforms.normalise import said_status
from transforms.read import SourceTable, read_source
from transforms.region import infer_region
from transforms.report import build_report
from transforms.validate import validate

__all__ = [
    "FileFacts",
    "Mapped",
    "Normalised",
    "Prepared",
    "Reported",
    "dedupe_rows",
    "map_rows",
    "normalise_rows",
    "checked",
    "prepare",
    "read_rows",
    "report_check",
    "validate_rows",
    "write_rows",
]

logger = logging.getLogger(__name__)


class Mapped(NamedTuple):
    """The file's records in canonical columns, in partitions; the reader's facts, and the
    region its numbers without a country code are read in."""

    table: SourceTable  # what the reader found out (its text is consumed: `frame` is empty)
    mapping: ResolvedMapping
    region: RegionFacts
    parts: Parts


class Normalised(NamedTuple):
    """Rows with `normalise` recorded (on disk it runs as `validate` writes each partition),
    and the phone books its numbers go to: saved once every partition has been normalised."""

    parts: Parts
    books: PhoneBooks


@dataclass(frozen=True)
class FileFacts:
    """What the summary tells of the file: the reader's facts, the mapping, the phone cache."""

    table: SourceTable  # its text consumed: `frame` is empty
    mapping: ResolvedMapping
    region: RegionFacts
    phones: dict[str, int]


class Prepared(NamedTuple):
    """The file checked (read, mapped, normalised, validated, deduplicated): its facts and its
    rows in partitions. A job unpacks it, so the partitions are let go once the next stage
    has made its own (`file, parts = prepare(...)`)."""

    file: FileFacts
    parts: Parts


@dataclass(frozen=True)
class Reported:
    """The report rows as written (a scan of rows.parquet) and what report.html needs."""

    rows: pl.LazyFrame
    page: pl.DataFrame | PageRows
    planned: pl.DataFrame  # `PLAN_COLUMNS` of every planned request (plan/import)


def read_rows(options: CheckOptions, rundir: RunDir) -> SourceTable:
    # Without --sheet, the sheet of a workbook whose headers the preset maps best.
    score = functools.partial(mapped_share, preset=options.preset)
    return read_source(
        options.source, scratch=rundir.scratch, sheet=options.sheet, spill=True, header_score=score
    )


def map_rows(
    table: SourceTable, options: CheckOptions, rundir: RunDir, clock: StepClock, rows_per_part: int
) -> Mapped:
    mapping = _resolve(table.headers, options)
    region = _region(table, mapping, options)
    step = functools.partial(_mapped, mapping, options.null_tokens)
    ranges = row_ranges(table.rows, rows_per_part)
    if len(ranges) == 1:
        parts = Parts.single(step(table.partition(*ranges[0])))
    else:
        # Each range is mapped as normalise reads it: the mapped text is never written.
        loaders = [functools.partial(table.partition, *where) for where in ranges]
        source = Parts.loaded(loaders, scratch=rundir.scratch / "parts", clock=clock)
        parts = source.map(step, "map")
    # The raw text is consumed: keep the table's facts, not a second copy of the file.
    return Mapped(replace(table, frame=table.frame.clear()), mapping, region, parts)


def _resolve(headers: tuple[str, ...], options: CheckOptions) -> ResolvedMapping:
    """The mapping of these headers: given (`--mapping`, remembered for the next file with the
    same headers), else remembered from an earlier run, else the preset's (given or detected).
    """
    if options.mapping is not None:
        # Resolved first: a mapping that cannot be read or does not fit is not remembered.
        given = resolve_mapping(headers, preset=options.preset, mapping_file=options.mapping)
        if options.memory:
            _remember(options.home, headers, options.mapping)
        return given
    recalled = recall_mapping(options.home, headers) if options.memory else None
    if recalled is None:
        return resolve_mapping(headers, preset=options.preset)
    mapping = resolve_mapping(headers, preset=options.preset, mapping_file=recalled.path)
    return replace(mapping, mapping_file=recalled.original, remembered_at=recalled.remembered_at)


def _remember(home: Path, headers: tuple[str, ...], mapping: Path) -> None:
    """The mapping remembered for these headers; a home that cannot take it is no reason to
    stop the run (the mapping is applied either way), only to say so in the log."""
    try:
        remember_mapping(home, headers, mapping, datetime.now(UTC))
    except OSError as exc:
        logger.warning("mapping %s not remembered: %s", mapping, exc.strerror or exc)


def _region(table: SourceTable, mapping: ResolvedMapping, options: CheckOptions) -> RegionFacts:
    """The region numbers without a country code are read in: `--default-region`, else the
    file's home region as its countries, `+` numbers and email domains suggest (one pass over
    those three columns of the whole file)."""
    fields = text_fields(mapping, ("country", "phone", "email"), null_tokens=options.null_tokens)
    guess = infer_region(table.scan().select(fields))
    if options.default_region is not None:
        return RegionFacts(options.default_region, "given", rows_decided=guess.rows_decided)
    return RegionFacts(guess.region, guess.basis, guess.evidence, guess.rows_decided)


def _mapped(
    mapping: ResolvedMapping, null_tokens: tuple[str, ...], frame: pl.DataFrame
) -> pl.DataFrame:
    mapped = apply_mapping(frame.lazy(), mapping, null_tokens=null_tokens).collect()
    columns = mapping.sources.get("status", ())
    if not columns or not mapping.values.get("status"):
        return mapped  # the status is the file's word: `normalise` keeps it as `status_raw`
    # The file's own status word, before `[values.status]`: a vendor that cannot set what it
    # maps to is told the mapping line that would fix it, in the file's words.
    return mapped.with_columns(frame.select(said_status(columns, null_tokens)).to_series())


def normalise_rows(parts: Parts, home: Path, region: str | None, mapper: PartMapper) -> Normalised:
    books = PhoneBooks(home, parts.scratch)
    step = NormalisePart(books.known, region)
    return Normalised(mapper.map_keeping(parts, step, "normalise", books.set_aside), books)


def validate_rows(
    normalised: Normalised, mapper: PartMapper, strict: bool = False
) -> tuple[Parts, dict[str, int]]:
    """The rows validated, and the phone cache's facts. On disk each partition is mapped,
    normalised and validated in one pass and written once (validated: every later pass reads
    it as it is, so validation runs once); the phone cache is saved after that pass."""
    step = functools.partial(validate, strict=strict)
    parts = mapper.map(normalised.parts, step, "validate").spill("validate")
    return parts, normalised.books.save()


def dedupe_rows(parts: Parts, policy: Any) -> Parts:
    if len(parts.items) == 1:
        return parts.map(lambda frame: dedupe(frame.lazy(), policy).collect(), "dedupe")
    # Only the key columns of the written partitions are read (a narrow copy is written first
    # when steps are still to run on them).
    marks = duplicate_marks(parts.scan_columns(DEDUPE_COLUMNS, "keys"), policy).collect()
    return parts.map(
        lambda frame: frame.join(marks, on="source_row", how="left", maintain_order="left"),
        "dedupe",
    )


def prepare(options: CheckOptions, run: Run, rundir: RunDir) -> Prepared:
    """read -> map -> normalise -> validate -> dedupe: the start of every job. Each stage's
    rows replace the last's (`parts` rebound), so only the newest are held."""
    table = run.stage("read", read_rows, options, rundir)
    size = run.mapper.rows_per_part(options.partition_rows, table.rows)
    mapped = run.stage("map", map_rows, table, options, rundir, run.clock, size)
    return checked(mapped, options, run)


def checked(mapped: Mapped, options: CheckOptions, run: Run) -> Prepared:
    """normalise -> validate -> dedupe of mapped rows (a migration rekeys them first)."""
    table, mapping, region, parts = mapped
    home, mapper = options.home, run.mapper
    normalised = run.fanned("normalise", normalise_rows, parts, home, region.region, mapper)
    parts, phones = run.fanned("validate", validate_rows, normalised, mapper, options.strict)
    parts = run.stage("dedupe", dedupe_rows, parts, options.duplicates)
    return Prepared(FileFacts(table, mapping, region, phones), parts)


def report_check(parts: Parts, rundir: RunDir) -> Reported:
    """The report rows, written to rows.parquet and rows.csv partition by partition."""

    def rows_of(frame: pl.DataFrame) -> pl.DataFrame:
        return build_report(frame.lazy()).collect()

    rows, page = write_rows(parts, rows_of, rundir)
    return Reported(rows, page, pl.DataFrame(schema=dict.fromkeys(PLAN_COLUMNS, pl.String)))


def write_rows(
    parts: Parts, rows_of: Callable[[pl.DataFrame], pl.DataFrame], rundir: RunDir
) -> tuple[pl.LazyFrame, pl.DataFrame | PageRows]:
    """`rows_of` each partition, written to rows.parquet and rows.csv as it is made (one
    partition: written whole, each file on its own thread); the rows as written, and what
    report.html needs of them (one partition: the rows themselves)."""
    if len(parts.items) == 1:
        rows = rows_of(parts.collect())
        rundir.write_rows(rows)
        return rows.lazy(), rows
    page = PageRows()

    def reported() -> Iterator[pl.DataFrame]:
        for frame in parts.frames():
            rows = rows_of(frame)
            page.add(rows)
            yield rows

    rundir.write_rows(reported())
    return rundir.scan_rows(), page
