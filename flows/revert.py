"""`leadpipe revert RUN_ID`: put back, lead by lead, every field a run updated.

    journal (the run's ops) -> read live (the leads it updated) -> revert plan -> push -> report

The rules (what to restore, what to leave) are `transforms.revert`; the reads and writes go
through the connectors' client, the push executor and the journal, as an import's do. A
revert is itself a run: its own id, mode `revert` in the journal (its ops keep what they sent
and what the lead held before, so reverting a revert restores the run), the target's lease
while it reads and writes, `--resume` (what succeeded is never sent again), and its own run
directory (rows.parquet/rows.csv/summary.json/report.html, one row per op of the reverted run).
`--dry-run` plans and sends nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import polars as pl

from connectors import (
    PushReport,
    RequestStats,
    earlier_attempts_frame,
    open_client,
    push_results_frame,
)
from connectors.exceptions import FatalVendorError
from flows._artifacts import publish_summary
from flows._summary import Clock
from flows._target import (
    holding,
    journal_ops,
    normal_leads,
    run_journal,
    send_ops,
    target_address,
    target_store,
)
from flows._targets import Target, resolve_target
from flows.exceptions import ConfigError
from flows.options import RevertOptions
from reports import RunDir
from schemas.fields import IMPORT_OUTCOMES, PLAN_OUTCOMES
from schemas.summary import (
    MappingFacts,
    Reason,
    RunSummary,
    SnapshotFacts,
    SourceFacts,
    TargetFacts,
)
from schemas.vendors import VENDORS
from transforms.outcomes import apply_outcomes, report_columns
from transforms.plan import requested
from transforms.report import count_outcomes, top_reasons, warning_counts
from transforms.revert import leads_of, restored_leads, revert_plan, updated_leads

if TYPE_CHECKING:
    pass

__all__ = ["revert"]


def revert(options: RevertOptions) -> RunSummary:
    """The revert job: its stages in order, then the run directory; the summary."""
    clock, times, rundir = Clock.start(), _Times(), RunDir(options.out_dir)
    with times("journal"):
        run, ops = _journaled(options)
    target = _revert_target(options, run)
    vendor = VENDORS[target.profile.vendor]
    with holding(options, target):
        with times("snapshot"):
            live, reads = _read_live(options, target, ops)
        with times("plan"):
            planned = revert_plan(
                ops, live, vendor, reverts=options.reverts, profile=target.profile.name
            )
        with times("push"):
            report, requests = _push(options, target, planned)
        with times("report"):
            rows = _report(options, target, planned, report)
        summary = _summary(options, target, rows, requests, live.height, reads, times, clock)
        rundir.write_summary(summary)
        rundir.write_html(rows, summary)
        rundir.remove_scratch()
        publish_summary(summary)
    if report is not None and report.stopped:
        raise FatalVendorError(
            f"{report.stopped} (continue with: leadpipe revert {options.reverts} "
            f"--resume {options.run_id})",
            vendor=target.profile.vendor,
        )
    return summary


class _Times(dict[str, float]):
    """Seconds per stage, for the summary."""

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self[name] = round(time.perf_counter() - started, 3)


def _journaled(options: RevertOptions) -> tuple[dict[str, Any], pl.DataFrame]:
    """The reverted run's record and its ops (with what each sent and what it replaced); a
    ConfigError for a run (or a `--resume` of a revert) the journal does not know."""
    journal = run_journal(options)
    try:
        run = journal.run(options.reverts)
        if run is None:
            raise ConfigError(
                f"revert {options.reverts}: no run of that id sent anything through this "
                f"journal ({options.home / 'journal.db'} unless journal_url is set); each run "
                "directory's summary.json names its run id"
            )
        if options.resume:
            resumed = journal.run(options.run_id)
            if resumed is None or resumed["source"] != options.reverts:
                raise ConfigError(
                    f"--resume {options.run_id}: no revert of run {options.reverts} of that id "
                    "is in the journal; check the id, or revert again without --resume"
                )
        return run, journal.ops(options.reverts)
    finally:
        journal.close()


def _revert_target(options: RevertOptions, run: dict[str, Any]) -> Target:
    """The profile to write to (`--target`, else the run's own), which must reach the very
    target the run wrote to."""
    target = resolve_target(options.target or str(run["profile"]), options.targets, options.home)
    address = target_address(target)
    if run.get("target") and run["target"] != address:
        raise ConfigError(
            f"run {options.reverts} wrote to {run['target']}, but --target "
            f"{target.profile.name} is {address}: a revert goes to the target the run wrote to"
        )
    return target


def _read_live(
    options: RevertOptions, target: Target, ops: pl.DataFrame
) -> tuple[pl.DataFrame, int]:
    """The leads the run updated, as the target holds them now (GET by id; the stored
    snapshot learns them too), in the diff's normal form; and the reads made."""
    ids = updated_leads(ops)
    if not ids:
        return pl.DataFrame(schema={"id": pl.String}), 0
    store = target_store(options.home, target)

    async def read() -> tuple[pl.DataFrame, int]:
        async with open_client(target.profile, transport=target.transport) as client:
            snapshot = await store.refresh_ids(client, ids)
            return snapshot.leads, client.http.stats.sent

    leads, reads = asyncio.run(read())
    return normal_leads(leads_of(leads.lazy(), ids), options.home), reads


def _push(
    options: RevertOptions, target: Target, planned: pl.DataFrame
) -> tuple[PushReport | None, dict[str, int]]:
    """The restoring updates, journaled under the revert's own run id (with what each sends
    and what the lead held), then sent; a dry run sends nothing."""
    if options.dry_run:
        return None, RequestStats().counts()
    vendor = VENDORS[target.profile.vendor]
    frame = requested(planned)
    journal = run_journal(options)
    try:
        journal.start_run(
            options.run_id,
            profile=target.profile.name,
            source=options.reverts,
            mode="revert",
            target=target_address(target),
        )
        ops = journal_ops(journal, options.run_id, frame, vendor)
        return asyncio.run(send_ops(target, journal, options.run_id, ops))
    finally:
        journal.close()


def _report(
    options: RevertOptions, target: Target, planned: pl.DataFrame, report: PushReport | None
) -> pl.DataFrame:
    """One report row per op of the reverted run, with what the push did; written to
    rows.parquet and rows.csv. The stored snapshot learns the values put back."""
    rundir = RunDir(options.out_dir)
    if report is None:
        rows = report_columns(apply_outcomes(planned, None, None))
    else:
        earlier = earlier_attempts_frame(report) if report.earlier else None
        applied = apply_outcomes(planned, push_results_frame(report), earlier)
        _remember(options, target, applied, report)
        rows = report_columns(applied)
    rundir.write_rows(rows)
    return rows


def _remember(
    options: RevertOptions, target: Target, applied: pl.DataFrame, report: PushReport
) -> None:
    written = restored_leads(applied)
    if written.height:
        target_store(options.home, target).remember(written, report.leads)


def _summary(
    options: RevertOptions,
    target: Target,
    rows: pl.DataFrame,
    requests: dict[str, int],
    leads: int,
    reads: int,
    times: dict[str, float],
    clock: Clock,
) -> RunSummary:
    return RunSummary(
        job="revert",
        mode="revert",
        dry_run=options.dry_run,
        run_id=options.run_id,
        engine="local",
        source=SourceFacts(path=f"journal:{options.reverts}", format="journal"),
        mapping=MappingFacts(preset="journal", detected=False, coverage=1.0),
        options={"reverts": options.reverts},
        rows=rows.height,
        counts=count_outcomes(rows, PLAN_OUTCOMES if options.dry_run else IMPORT_OUTCOMES),
        reasons=tuple(Reason(**r) for r in top_reasons(rows)),
        phones={},
        requests=requests,
        durations=dict(times),
        memory_mb={},
        seconds=round(clock.seconds(), 3),
        started_at=clock.started.isoformat(timespec="seconds"),
        out_dir=str(options.out_dir),
        warnings=warning_counts(rows),
        target=TargetFacts(target.profile.name, target.profile.vendor),
        state_source="live",
        snapshot=SnapshotFacts(leads=leads, fetched=leads, reads=reads),
        planned_requests=rows.height - rows.null_count()["op"].item(),
    )
