"""summary.json of every job, assembled in this one place from the stages' results.

The keys are a contract (DESIGN.md, "Run directory"): `run_id`, `engine`, `source`, `mapping`,
`options`, `rows`, `counts` per outcome, `reasons`, `requests`, `durations`, `memory_mb`, ...
plus each job's own (`target`, `snapshot`, `planned_requests`; a reconcile's
`field_differences`; a migration's `crosswalk` facts).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl

from connectors import RequestStats, Snapshot
from flows._runner import Run
from flows._stages import Prepared, Pushed, Reported
from flows._targets import Target
from flows.options import CheckOptions, SyncOptions
from schemas.fields import CHECK_OUTCOMES, IMPORT_OUTCOMES, PLAN_OUTCOMES
from transforms.reconcile import field_difference_counts, recon_status_counts
from transforms.report import count_outcomes, row_count, top_reasons

__all__ = ["Clock", "check_summary", "reconcile_summary", "sync_summary"]


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
    options: CheckOptions, prepared: Prepared, reported: Reported, run: Run, clock: Clock
) -> dict[str, Any]:
    return {
        "job": "check",
        "mode": "check",
        "dry_run": True,
        "target": None,
        "counts": count_outcomes(reported.rows, CHECK_OUTCOMES),
        "requests": RequestStats().counts(),  # check sends nothing
        **_basics(options, prepared, reported.rows, run, clock),
    }


def sync_summary(
    options: SyncOptions,
    prepared: Prepared,
    target: Target,
    snapshot: Snapshot,
    pushed: Pushed,
    reported: Reported,
    run: Run,
    clock: Clock,
) -> dict[str, Any]:
    """A plan's or an import's summary (a migration adds its own keys to it)."""
    return {
        "job": "plan" if options.dry_run else "import",
        "mode": options.mode,
        "dry_run": options.dry_run,
        "target": _target(target),
        "state_source": snapshot.state_source,
        "snapshot": {
            **_snapshot(snapshot),
            **{k: v for k, v in snapshot.facts.items() if k != "reads"},
        },
        "counts": count_outcomes(
            reported.rows, PLAN_OUTCOMES if options.dry_run else IMPORT_OUTCOMES
        ),
        "planned_requests": reported.planned.height,
        "requests": pushed.requests,
        **_basics(options, prepared, reported.rows, run, clock),
    }


def reconcile_summary(
    options: SyncOptions,
    prepared: Prepared,
    target: Target,
    snapshot: Snapshot,
    rows: pl.DataFrame,
    compared: list[str],
    target_only: pl.DataFrame,
    target_duplicates: pl.DataFrame,
    run: Run,
    clock: Clock,
) -> dict[str, Any]:
    statuses = recon_status_counts(rows)
    return {
        "job": "reconcile",
        "mode": "reconcile",
        "dry_run": True,
        "target": _target(target),
        "state_source": snapshot.state_source,
        "snapshot": _snapshot(snapshot),
        "counts": {
            **statuses,
            "only_in_target": target_only.height,
            "target_duplicates": target_duplicates.height,
        },
        "outcomes": count_outcomes(rows, ()),
        "compared_fields": compared,
        "field_differences": field_difference_counts(rows),
        "requests": RequestStats().counts(),
        **_basics(options, prepared, rows, run, clock),
    }


def _target(target: Target) -> dict[str, str]:
    return {"profile": target.profile.name, "vendor": target.profile.vendor}


def _snapshot(snapshot: Snapshot) -> dict[str, Any]:
    return {
        "leads": snapshot.leads.height,
        "fetched": snapshot.fetched,
        "reads": snapshot.facts.get("reads", 0),
    }


def _basics(
    options: CheckOptions,
    prepared: Prepared,
    rows: pl.DataFrame | pl.LazyFrame,
    run: Run,
    clock: Clock,
) -> dict[str, Any]:
    """The summary keys every job shares: run, source, mapping, options, reasons, timings."""
    table, mapping = prepared.table, prepared.mapping
    return {
        "run_id": options.run_id,
        "engine": run.engine,
        "source": {
            "path": str(options.source),
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
        "options": {"default_region": options.default_region, "duplicates": options.duplicates},
        "rows": row_count(rows),
        "reasons": top_reasons(rows),
        "phones": prepared.phones,
        "durations": run.times,
        "memory_mb": dict(run.times.memory_mb),
        "seconds": round(clock.seconds(), 3),
        "started_at": clock.started.isoformat(timespec="seconds"),
        "out_dir": str(options.out_dir),
    }
