"""Every job's `RunSummary` (schemas/summary.py), made in this one place from the stages'
results; summary.json is its `as_json()`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import polars as pl

from flows._prepare import FileFacts, Reported
from flows._runner import Run
from flows.options import CheckOptions, MigrateOptions, SyncOptions
from reports import file_notices
from schemas.fields import CHECK_OUTCOMES, IMPORT_OUTCOMES, PLAN_OUTCOMES
from schemas.summary import (
    MappingFacts,
    Migrated,
    Reason,
    Reconciled,
    RunSummary,
    SnapshotFacts,
    SourceFacts,
    TargetFacts,
)
from transforms.migrate import extra_counts
from transforms.reconcile import field_difference_counts, recon_status_counts
from transforms.report import (
    count_outcomes,
    not_sent_counts,
    row_count,
    status_mappings,
    top_reasons,
    warning_counts,
)

if TYPE_CHECKING:
    from connectors import Snapshot
    from flows._target import Pushed
    from flows._targets import Target

__all__ = ["Clock", "check_summary", "migrate_summary", "reconcile_summary", "sync_summary"]


@dataclass(frozen=True)
class Clock:
    """When a job started, by the wall clock and the run's timer."""

    started: datetime
    timer: float

    @classmethod
    def start(cls) -> Clock:
        return cls(datetime.now(UTC), time.perf_counter())

    def seconds(self) -> float:
        return time.perf_counter() - self.timer


def check_summary(
    options: CheckOptions, file: FileFacts, reported: Reported, run: Run, clock: Clock
) -> RunSummary:
    return RunSummary(
        job="check",
        mode="check",
        dry_run=True,
        counts=count_outcomes(reported.rows, CHECK_OUTCOMES),
        requests=_nothing_sent(),  # check sends nothing
        **_basics(options, file, reported.rows, run, clock),
    )


def sync_summary(
    options: SyncOptions,
    file: FileFacts,
    target: Target,
    snapshot: Snapshot,
    pushed: Pushed,
    reported: Reported,
    run: Run,
    clock: Clock,
) -> RunSummary:
    """A plan's or an import's summary (a migration adds its own part to it)."""
    return RunSummary(
        job="plan" if options.dry_run else "import",
        mode=options.mode,
        dry_run=options.dry_run,
        target=_target(target),
        state_source=snapshot.state_source,
        snapshot=_snapshot(snapshot, facts=True),
        counts=count_outcomes(reported.rows, PLAN_OUTCOMES if options.dry_run else IMPORT_OUTCOMES),
        planned_requests=reported.planned.height,
        requests=pushed.requests,
        **_basics(options, file, reported.rows, run, clock),
    )


def migrate_summary(
    summary: RunSummary, options: MigrateOptions, rows: pl.DataFrame, pulled: bool
) -> RunSummary:
    """A migration's summary: its plan/import summary, where the leads came from, and what
    the target could not hold."""
    origin = options.origin or str(options.source)
    migrated = replace(
        summary,
        job="migrate",
        migrated=Migrated(origin, extra_counts(rows), options.carry_extras),
    )
    return migrated.with_source_path(origin) if pulled else migrated


def reconcile_summary(
    options: SyncOptions,
    file: FileFacts,
    target: Target,
    snapshot: Snapshot,
    rows: pl.DataFrame,
    compared: list[str],
    target_only: pl.DataFrame,
    target_duplicates: pl.DataFrame,
    run: Run,
    clock: Clock,
) -> RunSummary:
    return RunSummary(
        job="reconcile",
        mode="reconcile",
        dry_run=True,
        target=_target(target),
        state_source=snapshot.state_source,
        snapshot=_snapshot(snapshot, facts=False),
        counts={
            **recon_status_counts(rows),
            "only_in_target": target_only.height,
            "target_duplicates": target_duplicates.height,
        },
        reconciled=Reconciled(
            count_outcomes(rows, ()), tuple(compared), field_difference_counts(rows)
        ),
        requests=_nothing_sent(),
        **_basics(options, file, rows, run, clock),
    )


def _nothing_sent() -> dict[str, int]:
    """`connectors.RequestStats().counts()` of a job that sends nothing, without importing
    connectors (and httpx) into a check, which needs neither (tests/flows/test_startup.py)."""
    return {"sent": 0, "retried": 0, "throttled": 0}


def _target(target: Target) -> TargetFacts:
    return TargetFacts(target.profile.name, target.profile.vendor)


def _snapshot(snapshot: Snapshot, *, facts: bool) -> SnapshotFacts:
    """The snapshot's size and reads, and (plan/import) what its source adds: a state file's
    name and the rows in it without an id."""
    return SnapshotFacts(
        leads=snapshot.leads.height,
        fetched=snapshot.fetched,
        reads=snapshot.facts.get("reads", 0),
        facts={k: v for k, v in snapshot.facts.items() if k != "reads"} if facts else {},
    )


def _basics(
    options: CheckOptions,
    file: FileFacts,
    rows: pl.DataFrame | pl.LazyFrame,
    run: Run,
    clock: Clock,
) -> dict[str, Any]:
    """What every job's summary has: run, source, mapping, options, reasons, timings."""
    table, mapping = file.table, file.mapping
    source = SourceFacts(
        path=str(options.source),
        format=table.format,
        encoding=table.encoding,
        delimiter=table.delimiter,
        sheet=table.sheet,
        columns=len(table.headers),
        ignored_columns=tuple(table.ignored_columns),
        sheets=tuple(table.sheets),
        preamble=tuple(table.preamble),
        renamed_headers={new: old for old, new in table.renamed_headers},
        repaired_headers=dict(table.repaired_headers),
        trailing_blank_rows=table.trailing_blank_rows,
    )
    mapped = MappingFacts(
        preset=mapping.preset,
        detected=mapping.detected,
        coverage=mapping.coverage,
        mapping_file=mapping.mapping_file,
        fields={k: tuple(v) for k, v in mapping.sources.items()},
        custom_columns=tuple(mapping.custom_columns),
        dropped_columns=tuple(mapping.dropped),
        decided_by=mapping.decided_by,
        remembered_at=mapping.remembered_at,
    )
    return {
        "run_id": options.run_id,
        "engine": run.engine,
        "source": source,
        "mapping": mapped,
        "region": file.region,
        "notices": file_notices(source, mapped, file.region),
        "warnings": warning_counts(rows),
        "not_sent": not_sent_counts(rows),
        "status_mappings": tuple(status_mappings(rows)),
        "options": {
            "default_region": options.default_region,
            "duplicates": options.duplicates,
            "memory": options.memory,
            "null_tokens": list(options.null_tokens),
        },
        "rows": row_count(rows),
        "reasons": tuple(Reason(**r) for r in top_reasons(rows)),
        "phones": file.phones,
        "durations": dict(run.times),
        "memory_mb": dict(run.times.memory_mb),
        "seconds": round(clock.seconds(), 3),
        "started_at": clock.started.isoformat(timespec="seconds"),
        "out_dir": str(options.out_dir),
    }
