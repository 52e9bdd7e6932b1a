"""`leadpipe check`: read -> map -> normalise -> validate -> dedupe -> report, nothing sent.

`CHECK_STAGES` is the job, written once; `run_check` runs it with either engine. Each stage is
one call into `transforms/` plus the bookkeeping of the run state.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

import polars as pl

from connectors import RequestStats
from flows._artifacts import publish_summary
from flows._engine import (
    Engine,
    Stage,
    failing_quietly,
    lazy_flow,
    run_as_task,
    run_job,
    run_locally,
    run_stages,
)
from flows._phonebook import load_phone_book, save_phone_book
from flows.config import CheckOptions
from schemas.fields import CHECK_OUTCOMES
from transforms.dedupe import dedupe
from transforms.mapping import ResolvedMapping, apply_mapping, resolve_mapping
from transforms.normalise import normalise
from transforms.read import SourceTable, read_source
from transforms.report import build_report, count_outcomes, top_reasons, write_report
from transforms.report_html import write_report_html
from transforms.validate import validate

__all__ = [
    "CHECK_STAGES",
    "CheckState",
    "check_leads",
    "prepare_stages",
    "run_check",
    "summary_basics",
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

    def need_frame(self) -> pl.DataFrame:
        assert self.frame is not None, "a stage ran before the one that makes its input"
        return self.frame


# The stages below serve every job whose state extends CheckState (check, plan, import).
S = TypeVar("S", bound=CheckState)


def _read(state: S) -> S:
    opts = state.options
    table = read_source(opts.source, scratch=opts.out_dir / ".scratch", sheet=opts.sheet)
    return replace(state, table=table, frame=table.frame)


def _map(state: S) -> S:
    assert state.table is not None
    mapping = resolve_mapping(
        state.table.headers, preset=state.options.preset, mapping_file=state.options.mapping
    )
    frame = apply_mapping(state.need_frame().lazy(), mapping).collect()
    # The raw text is consumed: keep the table's facts, not a second copy of the file.
    facts_only = replace(state.table, frame=state.table.frame.clear())
    return replace(state, table=facts_only, mapping=mapping, frame=frame)


def _normalise(state: S) -> S:
    opts = state.options
    book = load_phone_book(opts.home)
    normalised = normalise(state.need_frame().lazy(), book, default_region=opts.default_region)
    # In memory: the streaming engine (polars' default) runs the lookups' order-keeping joins
    # ~2x slower, ~1 s of a warm run at 1M rows; the frame is in memory already anyway.
    frame = normalised.collect(engine="in-memory")
    save_phone_book(opts.home, book)
    phones = {"parsed": book.added.height, "known_before": book.known.height}
    return replace(state, frame=frame, facts={**state.facts, "phones": phones})


def _validate(state: S) -> S:
    return replace(state, frame=validate(state.need_frame()))


def _dedupe(state: S) -> S:
    return replace(
        state, frame=dedupe(state.need_frame().lazy(), state.options.duplicates).collect()
    )


def _report(state: S) -> S:
    rows = build_report(state.need_frame().lazy()).collect()
    return replace(state, rows=rows, frame=None)


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
    runner = run_as_task if engine == "prefect" else run_locally
    state, durations = run_stages(CHECK_STAGES, CheckState(options), runner)
    assert state.rows is not None
    summary = _summary(state, durations, engine, started, time.perf_counter() - clock)
    write_report(state.rows, summary, options.out_dir)
    write_report_html(state.rows, summary, options.out_dir)
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
    assert state.rows is not None
    return {
        "job": "check",
        "mode": "check",
        "dry_run": True,
        "target": None,
        "counts": count_outcomes(state.rows, CHECK_OUTCOMES),
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
    opts, table, mapping, rows = state.options, state.table, state.mapping, state.rows
    assert table is not None and mapping is not None and rows is not None
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
        "rows": rows.height,
        "reasons": top_reasons(rows),
        "phones": state.facts.get("phones", {}),
        "durations": durations,
        "seconds": round(seconds, 3),
        "started_at": started.isoformat(timespec="seconds"),
        "out_dir": str(opts.out_dir),
    }
