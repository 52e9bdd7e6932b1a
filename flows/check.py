"""`leadpipe check`: read -> map -> normalise -> validate -> dedupe -> report, nothing sent.

`CHECK_STAGES` is the job, written once; `run_check` runs it with either engine. Each stage is
one call into `transforms/` plus the bookkeeping of the run state.

Large files go through in partitions of `partition_rows` rows (`transforms.partitions`): the
reader spills the records to Parquet, map, normalise and validate run one partition at a time,
dedupe reads only narrow columns of all of them, and the report is streamed to its files. A
file of one partition stays in memory throughout; results are the same either way.
"""

from __future__ import annotations

import functools
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from connectors import RequestStats
from flows._artifacts import publish_summary
from flows._engine import (
    Engine,
    Stage,
    failing_quietly,
    lazy_flow,
    run_job,
    run_stages,
    stage_memory,
    stage_runner,
)
from flows._phonebook import PhoneBooks
from flows.config import CheckOptions
from schemas.fields import CHECK_OUTCOMES
from transforms.dedupe import DEDUPE_COLUMNS, dedupe, duplicate_marks
from transforms.mapping import ResolvedMapping, apply_mapping, resolve_mapping
from transforms.normalise import normalise
from transforms.partitions import Parts, StepClock, row_ranges
from transforms.read import SourceTable, read_source
from transforms.report import (
    build_report,
    count_outcomes,
    row_count,
    top_reasons,
    write_report_rows,
    write_summary,
)
from transforms.report_html import PageRows, write_report_html
from transforms.validate import validate

__all__ = [
    "CHECK_STAGES",
    "CheckState",
    "check_leads",
    "prepare_stages",
    "run_check",
    "summary_basics",
    "write_rows_in_parts",
]


@dataclass(frozen=True)
class CheckState:
    """What the check job knows so far; each stage returns a new one."""

    options: CheckOptions
    table: SourceTable | None = None
    mapping: ResolvedMapping | None = None
    frame: pl.DataFrame | None = None
    rows: pl.DataFrame | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    # The frame in partitions (prepare stages); `frame`, when set, is the newer of the two.
    parts: Parts | None = None
    # `check`'s report rows, written part by part instead of held (`rows` stays None), and
    # what report.html needs of them.
    rows_written: pl.LazyFrame | None = None
    page_rows: PageRows | None = None
    # Seconds of steps that ran after their own stage (`Parts.map` on disk), by stage.
    clock: StepClock = field(default_factory=StepClock, compare=False)

    def drain_deferred(self) -> dict[str, float]:
        """Seconds that earlier stages' steps spent in the stage just run (see run_stages)."""
        return self.clock.drain()

    def need_frame(self) -> pl.DataFrame:
        """The whole frame in memory (collected from the partitions if need be)."""
        if self.frame is not None:
            return self.frame
        assert self.parts is not None, "a stage ran before the one that makes its input"
        return self.parts.collect()

    def need_parts(self) -> Parts:
        """The frame in partitions (one, in memory, when a stage left a whole frame)."""
        if self.frame is not None:
            return Parts.single(self.frame)
        assert self.parts is not None, "a stage ran before the one that makes its input"
        return self.parts

    def report_rows(self) -> pl.DataFrame | pl.LazyFrame:
        """The report rows, held or as written."""
        rows = self.rows if self.rows is not None else self.rows_written
        assert rows is not None, "the summary needs the report stage first"
        return rows


# The stages below serve every job whose state extends CheckState (check, plan, import).
S = TypeVar("S", bound=CheckState)


def _scratch(state: CheckState) -> Path:
    return state.options.out_dir / ".scratch"


def _read(state: S) -> S:
    opts = state.options
    table = read_source(opts.source, scratch=_scratch(state), sheet=opts.sheet, spill=True)
    return replace(state, table=table, frame=None, parts=None)


def _map(state: S) -> S:
    table = state.table
    assert table is not None
    mapping = resolve_mapping(
        table.headers, preset=state.options.preset, mapping_file=state.options.mapping
    )

    def step(frame: pl.DataFrame) -> pl.DataFrame:
        return apply_mapping(frame.lazy(), mapping).collect()

    ranges = row_ranges(table.rows, state.options.partition_rows)
    if len(ranges) == 1:
        parts = Parts.single(step(table.partition(*ranges[0])))
    else:
        # Each range is mapped as normalise reads it: the mapped text is never written.
        loaders = [functools.partial(table.partition, *where) for where in ranges]
        source = Parts.loaded(loaders, scratch=_scratch(state) / "parts", clock=state.clock)
        parts = source.map(step, "map")
    # The raw text is consumed: keep the table's facts, not a second copy of the file.
    facts_only = replace(table, frame=table.frame.clear())
    return replace(state, table=facts_only, mapping=mapping, frame=None, parts=parts)


def _normalise(state: S) -> S:
    opts, parts = state.options, state.need_parts()
    books = PhoneBooks(opts.home, parts.scratch)

    def one(frame: pl.DataFrame) -> pl.DataFrame:
        with books.book() as book:
            normalised = normalise(frame.lazy(), book, default_region=opts.default_region)
            # In memory: the streaming engine (polars' default) runs the lookups' order-keeping
            # joins ~2x slower, ~1 s of a warm run at 1M rows; the frame is in memory anyway.
            return normalised.collect(engine="in-memory")

    # Written once mapped and normalised: the partitions' one copy on disk.
    parts = parts.map(one, "normalise").spill("normalise")
    phones = books.save()
    return replace(state, frame=None, parts=parts, facts={**state.facts, "phones": phones})


def _validate(state: S) -> S:
    # On disk, validation runs as each partition is next read (dedupe, then the report):
    # every check is per row, and running it twice costs less than writing its result.
    return replace(state, frame=None, parts=state.need_parts().map(validate, "validate"))


def _dedupe(state: S) -> S:
    parts, policy = state.need_parts(), state.options.duplicates
    if len(parts.items) == 1:
        deduped = parts.map(lambda frame: dedupe(frame.lazy(), policy).collect(), "dedupe")
        return replace(state, frame=None, parts=deduped)
    keys = parts.columns(DEDUPE_COLUMNS, "keys")
    marks = duplicate_marks(keys.scan(), policy).collect()
    deduped = parts.map(
        lambda frame: frame.join(marks, on="source_row", how="left", maintain_order="left"),
        "dedupe",
    )
    return replace(state, frame=None, parts=deduped)


def _report(state: CheckState) -> CheckState:
    """The report rows, written to rows.parquet and rows.csv partition by partition."""

    def rows_of(frame: pl.DataFrame) -> pl.DataFrame:
        return build_report(frame.lazy()).collect()

    written, page = write_rows_in_parts(state.need_parts(), rows_of, state.options.out_dir)
    return replace(state, frame=None, parts=None, rows_written=written, page_rows=page)


def write_rows_in_parts(
    parts: Parts, rows_of: Callable[[pl.DataFrame], pl.DataFrame], out_dir: Path
) -> tuple[pl.LazyFrame, PageRows]:
    """`rows_of` each partition, appended to rows.parquet and rows.csv as it is made (one
    partition: written whole, each file on its own thread); the rows as written, and what
    report.html needs of them."""
    page = PageRows()

    def reported() -> Iterator[pl.DataFrame]:
        for frame in parts.frames():
            rows = rows_of(frame)
            page.add(rows)
            yield rows

    write_report_rows(reported() if len(parts.items) > 1 else next(reported()), out_dir)
    return pl.scan_parquet(out_dir / "rows.parquet"), page


def prepare_stages(state_type: type[S]) -> tuple[Stage[S], ...]:
    """read -> map -> normalise -> validate -> dedupe: the start of every job."""
    del state_type  # only fixes the type the stages are used with
    return (
        Stage("read", _read),
        Stage("map", _map),
        Stage("normalise", _normalise),
        Stage("validate", _validate),
        Stage("dedupe", _dedupe),
    )


CHECK_STAGES: tuple[Stage[CheckState], ...] = (
    *prepare_stages(CheckState),
    Stage("report", _report),
)


def _execute(options: CheckOptions, engine: Engine) -> dict[str, Any]:
    started = datetime.now(UTC)
    clock = time.perf_counter()
    runner = stage_runner(engine, options)
    state, durations = run_stages(CHECK_STAGES, CheckState(options), runner)
    summary = _summary(state, durations, engine, started, time.perf_counter() - clock)
    write_summary(summary, options.out_dir)
    assert state.page_rows is not None
    write_report_html(state.page_rows, summary, options.out_dir)
    shutil.rmtree(options.out_dir / ".scratch", ignore_errors=True)
    publish_summary(summary)
    return summary


@lazy_flow(name="check-leads", validate_parameters=False, persist_result=False)
def check_leads(options: CheckOptions) -> Any:
    """The check job as a Prefect flow: one task per stage.

    An `ImporterError` ends the run Failed with the error's one-line message (no traceback).
    """
    return failing_quietly(_execute)(options, "prefect")


def run_check(options: CheckOptions, engine: Engine) -> dict[str, Any]:
    """Run `leadpipe check` with the chosen engine; returns the summary it wrote."""
    return run_job(_execute, check_leads, options, engine)


def _summary(
    state: CheckState,
    durations: dict[str, float],
    engine: Engine,
    started: datetime,
    seconds: float,
) -> dict[str, Any]:
    return {
        "job": "check",
        "mode": "check",
        "dry_run": True,
        "target": None,
        "counts": count_outcomes(state.report_rows(), CHECK_OUTCOMES),
        "requests": RequestStats().counts(),  # check sends nothing
        **summary_basics(state, durations, engine, started, seconds),
    }


def summary_basics(
    state: CheckState,
    durations: dict[str, float],
    engine: Engine,
    started: datetime,
    seconds: float,
) -> dict[str, Any]:
    """The summary keys every job shares: run, source, mapping, options, reasons, timings."""
    opts, table, mapping, rows = state.options, state.table, state.mapping, state.report_rows()
    assert table is not None and mapping is not None
    return {
        "run_id": opts.run_id,
        "engine": engine,
        "source": {
            "path": str(opts.source),
            "format": table.format,
            "encoding": table.encoding,
            "delimiter": table.delimiter,
            "sheet": table.sheet,
            "columns": len(table.headers),
            "ignored_columns": list(table.ignored_columns),
        },
        "mapping": {
            "preset": mapping.preset,
            "detected": mapping.detected,
            "coverage": mapping.coverage,
            "mapping_file": mapping.mapping_file,
            "fields": {k: list(v) for k, v in mapping.sources.items()},
            "custom_columns": list(mapping.custom_columns),
            "dropped_columns": list(mapping.dropped),
        },
        "options": {"default_region": opts.default_region, "duplicates": opts.duplicates},
        "rows": row_count(rows),
        "reasons": top_reasons(rows),
        "phones": state.facts.get("phones", {}),
        "durations": durations,
        "memory_mb": stage_memory(durations),
        "seconds": round(seconds, 3),
        "started_at": started.isoformat(timespec="seconds"),
        "out_dir": str(opts.out_dir),
    }
