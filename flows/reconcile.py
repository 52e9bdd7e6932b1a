"""`leadpipe reconcile`: the file against the target, field by field. Nothing is written.

    read -> map -> normalise -> validate -> dedupe -> snapshot -> match -> compare -> report

The target is read fresh (or taken from `--state-file`). `compare` diffs every field the
target returns (not only those an import could update) and sorts each row into
`transforms.reconcile`'s statuses; the run directory adds `target_only.parquet` (target leads
no row matched) and `target_duplicates.parquet` (target leads sharing an email or phone).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from flows._artifacts import publish_summary
from flows._partitions import Parts
from flows._prefect import failing_quietly, lazy_flow
from flows._prepare import prepare
from flows._runner import Engine, Run, run_job
from flows._summary import Clock, reconcile_summary
from flows._target import reach_target
from flows.options import SyncOptions
from reports import RunDir
from schemas.summary import RunSummary
from schemas.vendors import VENDORS, VendorSpec
from transforms.diff import diff
from transforms.mapping import ResolvedMapping
from transforms.reconcile import (
    compared_fields,
    reconcile,
    reconcile_report_rows,
    target_duplicates,
    target_only,
)

__all__ = ["reconcile_job", "reconcile_leads", "run_reconcile"]


@dataclass(frozen=True)
class Compared:
    """Each row against its target lead, and the target's side of the comparison."""

    rows: pl.DataFrame  # each row with its `recon_status` and `differences`
    target_only: pl.DataFrame
    target_duplicates: pl.DataFrame


def compare(
    parts: Parts,
    target_leads: pl.DataFrame,
    vendor: VendorSpec,
    mapping: ResolvedMapping,
    options: SyncOptions,
) -> Compared:
    target = target_leads.lazy()
    fields = compared_fields(vendor)
    mapped = {*mapping.sources, *mapping.constants}
    rows = diff(parts.collect().lazy(), target, fields, blanks=options.blanks, mapped=mapped)
    compared = reconcile(rows, target, fields).collect()
    return Compared(
        compared,
        target_only(target, compared.lazy()).collect(),
        target_duplicates(target).collect(),
    )


def reconcile_job(options: SyncOptions, engine: Engine) -> RunSummary:
    """The reconcile job: its stages in order, then the run directory; the summary."""
    clock, run, rundir = Clock.start(), Run.of(engine, options.dask), RunDir(options.out_dir)
    file, parts = prepare(options, run, rundir)
    target, (parts, snapshot, leads) = reach_target(parts, options, run, rundir)
    vendor = VENDORS[target.profile.vendor]
    compared = run.stage("compare", compare, parts, leads, vendor, file.mapping, options)
    del parts, leads  # compared: every row, and the target's side, are in `compared`
    rows = run.stage("report", reconcile_report_rows, compared.rows)
    summary = reconcile_summary(
        options,
        file,
        target,
        snapshot,
        rows,
        compared_fields(vendor),
        compared.target_only,
        compared.target_duplicates,
        run,
        clock,
    )
    rundir.write_rows(rows)
    rundir.write_summary(summary)
    rundir.write_html(rows, summary, target_only=compared.target_only)
    rundir.write_table("target_only.parquet", compared.target_only)
    rundir.write_table("target_duplicates.parquet", compared.target_duplicates)
    rundir.remove_scratch()
    publish_summary(summary)
    return summary


@lazy_flow(name="reconcile-leads", validate_parameters=False, persist_result=False)
def reconcile_leads(options: SyncOptions) -> Any:
    """Reconcile as a Prefect flow: one task per stage; our errors end it Failed, one line."""
    return failing_quietly(reconcile_job)(options, "prefect")


def run_reconcile(options: SyncOptions, engine: Engine) -> RunSummary:
    """Run `leadpipe reconcile` with the chosen engine; returns the summary it wrote."""
    return run_job(reconcile_job, reconcile_leads, options, engine)
