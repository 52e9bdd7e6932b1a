"""`leadpipe reconcile`: the file against the target, field by field. Nothing is written.

    read -> map -> normalise -> validate -> dedupe -> snapshot -> match -> compare -> report

The target is read fresh (or taken from `--state-file`). `compare` diffs every field the
target returns (not only those an import could update) and sorts each row into
`transforms.reconcile`'s statuses; the run directory adds `target_only.parquet` (target leads
no row matched) and `target_duplicates.parquet` (target leads sharing an email or phone).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

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
    stage_runner,
)
from flows.check import prepare_stages, summary_basics
from flows.config import SyncOptions
from flows.sync import SyncState, target_stages
from schemas.fields import CANONICAL_FIELDS, REPORT_COLUMNS
from transforms.diff import diff
from transforms.reconcile import RECON_STATUSES, reconcile, target_duplicates, target_only
from transforms.report import count_outcomes, write_report
from transforms.report_html import write_report_html

__all__ = ["RECONCILE_STAGES", "ReconcileState", "reconcile_leads", "run_reconcile"]

# Bookkeeping and identity fields: matched on, not compared.
_NOT_COMPARED = frozenset({"source_file", "source_row", "target_id", "external_id"})


@dataclass(frozen=True)
class ReconcileState(SyncState):
    """The sync state plus the target's side of the comparison."""

    target_only: pl.DataFrame | None = None
    target_duplicates: pl.DataFrame | None = None


def compared_fields(state: SyncState) -> list[str]:
    """Every canonical field the target returns on reads (status through its own words)."""
    vendor = state.vendor
    returned = set(vendor.read.values()) | ({"status"} if vendor.read_statuses else set())
    return sorted(returned & set(CANONICAL_FIELDS) - _NOT_COMPARED)


def _compare(state: ReconcileState) -> ReconcileState:
    assert state.target_leads is not None and state.mapping is not None
    target = state.target_leads.lazy()
    fields = compared_fields(state)
    mapped = {*state.mapping.sources, *state.mapping.constants}
    rows = diff(
        state.need_frame().lazy(), target, fields, blanks=state.options.blanks, mapped=mapped
    )
    compared = reconcile(rows, target, fields).collect()
    return replace(
        state,
        frame=compared,
        target_only=target_only(target, compared.lazy()).collect(),
        target_duplicates=target_duplicates(target).collect(),
    )


def _report(state: ReconcileState) -> ReconcileState:
    frame = state.need_frame().with_columns(
        pl.coalesce("target_id", "matched_id").alias("target_id")
    )
    lead = [c for c in frame.columns if c not in REPORT_COLUMNS and not c.startswith("_")]
    first = ["recon_status", "differences"]
    rows = frame.select(*REPORT_COLUMNS, *first, *[c for c in lead if c not in first])
    return replace(state, rows=rows)


RECONCILE_STAGES: tuple[Stage[ReconcileState], ...] = (
    *prepare_stages(ReconcileState),
    *target_stages(ReconcileState),
    Stage("compare", _compare),
    Stage("report", _report),
)


def _execute(options: SyncOptions, engine: Engine) -> dict[str, Any]:
    started, clock = datetime.now(UTC), time.perf_counter()
    runner = stage_runner(engine, options)
    state, durations = run_stages(RECONCILE_STAGES, ReconcileState(options), runner)
    summary = _summary(state, durations, engine, started, time.perf_counter() - clock)
    assert state.rows is not None and state.target_only is not None
    assert state.target_duplicates is not None
    write_report(state.rows, summary, options.out_dir)
    write_report_html(state.rows, summary, options.out_dir, target_only=state.target_only)
    for name, table in (
        ("target_only", state.target_only),
        ("target_duplicates", state.target_duplicates),
    ):
        partial = options.out_dir / f".{name}.parquet.partial"
        table.write_parquet(partial)
        partial.replace(options.out_dir / f"{name}.parquet")
    shutil.rmtree(options.out_dir / ".scratch", ignore_errors=True)
    publish_summary(summary)
    return summary


def _summary(
    state: ReconcileState,
    durations: dict[str, float],
    engine: Engine,
    started: datetime,
    seconds: float,
) -> dict[str, Any]:
    assert state.rows is not None and state.target is not None and state.snapshot is not None
    assert state.target_only is not None and state.target_duplicates is not None
    statuses = count_outcomes(
        state.rows.select(pl.col("recon_status").alias("outcome")), RECON_STATUSES
    )
    fields = (
        state.rows.select(pl.col("differences").explode().struct.field("field"))
        .drop_nulls()
        .group_by("field")
        .len()
        .sort("len", "field", descending=[True, False])
    )
    return {
        "job": "reconcile",
        "mode": "reconcile",
        "dry_run": True,
        "target": {"profile": state.target.profile.name, "vendor": state.target.profile.vendor},
        "state_source": state.snapshot.state_source,
        "snapshot": {
            "leads": state.snapshot.leads.height,
            "fetched": state.snapshot.fetched,
            "reads": state.snapshot.facts.get("reads", 0),
        },
        "counts": {
            **statuses,
            "only_in_target": state.target_only.height,
            "target_duplicates": state.target_duplicates.height,
        },
        "outcomes": count_outcomes(state.rows, ()),
        "compared_fields": compared_fields(state),
        "field_differences": dict(fields.iter_rows()),
        "requests": RequestStats().counts(),
        **summary_basics(state, durations, engine, started, seconds),
    }


@lazy_flow(name="reconcile-leads", validate_parameters=False, persist_result=False)
def reconcile_leads(options: SyncOptions) -> Any:
    """Reconcile as a Prefect flow: one task per stage; our errors end it Failed, one line."""
    return failing_quietly(_execute)(options, "prefect")


def run_reconcile(options: SyncOptions, engine: Engine) -> dict[str, Any]:
    """Run `leadpipe reconcile` with the chosen engine; returns the summary it wrote."""
    return run_job(_execute, reconcile_leads, options, engine)
