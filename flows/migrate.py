"""`leadpipe migrate`: every lead of one CRM into another, with a crosswalk of ids.

    extract -> read -> map -> rekey -> normalise -> validate -> dedupe -> snapshot -> match
            -> extras -> diff -> plan -> push -> report

The origin is a vendor export (read with that vendor's preset, like any file) or a target
profile, whose leads `extract` pulls through its connector and lays out as a flat export with
canonical column names. `rekey` keeps each row's origin id aside and gives it the target id an
earlier run of the same migration created, so a re-run updates instead of duplicating; the
usual matching by email and phone does the rest. `extras` lists what the target cannot hold
(and, with `--carry-extras`, keeps it in the target's free-form field). The run directory adds
`crosswalk.csv` (origin id -> target id, outcome); the pairs that exist in the target are kept
under LEADPIPE_HOME for the next run.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any, NamedTuple

import polars as pl

from connectors import SnapshotStore, open_client
from flows._partitions import Parts
from flows._prefect import failing_quietly, lazy_flow
from flows._prepare import Mapped, checked, map_rows, read_rows
from flows._runner import Engine, Run, run_job
from flows._summary import Clock, migrate_summary, sync_summary
from flows._target import (
    diff_rows,
    finish_sync,
    holding,
    plan_rows,
    push_plan,
    reach_target,
    refuse_unknown_resume,
    report_sync,
    sync_target,
)
from flows._targets import resolve_target
from flows.exceptions import ConfigError
from flows.options import MigrateOptions
from reports import RunDir
from schemas.files import atomic_write
from schemas.summary import RunSummary
from schemas.vendors import VENDORS, VendorSpec
from transforms.migrate import (
    CROSSWALK_SCHEMA,
    crosswalk,
    extras,
    flat_export,
    merge_crosswalk,
    split_source_ids,
)

__all__ = ["migrate", "migrate_leads", "run_migrate"]


class Rekeyed(NamedTuple):
    """The mapped rows with the target ids of earlier runs, and each row's origin id."""

    parts: Parts
    source_ids: pl.DataFrame  # source_row -> the origin's id of the lead


def extract(options: MigrateOptions) -> int | None:
    """An origin profile's leads as a flat export at `options.source`; how many (an export:
    nothing to do, None)."""
    if options.origin is None:
        return None
    origin = resolve_target(options.origin, options.targets, options.home)
    if origin.profile.vendor == "omni":
        raise ConfigError(
            f"{options.origin}: Omni's API cannot list leads. Export them from Omni and migrate "
            "the file instead (leadpipe migrate --from omni_export.csv --to ...)"
        )

    async def pull() -> pl.DataFrame:
        profile = origin.profile
        store = SnapshotStore(options.home, profile.name, profile.vendor, profile.base_url)
        async with open_client(origin.profile, transport=origin.transport) as client:
            return (await store.refresh(client)).leads

    leads = asyncio.run(pull()).sort("id")
    options.source.parent.mkdir(parents=True, exist_ok=True)
    flat_export(leads).write_csv(options.source)
    return leads.height


def rekey(parts: Parts, preset: str, options: MigrateOptions) -> Rekeyed:
    known = _load_crosswalk(_crosswalk_path(options, preset))
    leads, ids = split_source_ids(parts.collect().lazy(), known)
    return Rekeyed(Parts.single(leads.collect()), ids.collect())


def carry_extras(parts: Parts, vendor: VendorSpec, options: MigrateOptions) -> Parts:
    """What the target cannot hold, listed per row (and carried, with --carry-extras)."""
    holds = vendor.creatable | vendor.updatable | ({"external_id"} & set(vendor.read.values()))
    carry = options.carry_extras
    return parts.map(lambda f: extras(f.lazy(), holds, carry=carry).collect(), "extras")


def migrate(options: MigrateOptions, engine: Engine) -> RunSummary:
    """The migrate job: its stages in order, then the run directory and the crosswalk."""
    refuse_unknown_resume(options)
    clock, run, rundir = Clock.start(), Run.of(engine, options.dask), RunDir(options.out_dir)
    pulled = run.stage("extract", extract, options)
    table = run.stage("read", read_rows, options, rundir)
    size = run.mapper.rows_per_part(options.partition_rows, table.rows)
    table, mapping, region, parts = run.stage(
        "map", map_rows, table, options, rundir, run.clock, size
    )
    parts, ids = run.stage("rekey", rekey, parts, mapping.preset, options)
    file, parts = checked(Mapped(table, mapping, region, parts), options, run)
    target = sync_target(options)
    with holding(options, target):  # one writer per target, from its read to the report
        target, (parts, snapshot, leads) = reach_target(
            parts, options, run, rundir, file.mapping, target
        )
        vendor = VENDORS[target.profile.vendor]
        parts = run.stage("extras", carry_extras, parts, vendor, options)
        base = snapshot.base
        parts = run.stage("diff", diff_rows, parts, leads, base, vendor, file.mapping, options)
        del leads  # the target's leads in the file's normal form were for `diff` alone
        parts = run.stage("plan", plan_rows, parts, vendor, options, target.profile)
        pushed = run.fanned("push", push_plan, parts, options, target, run.mapper, run.listener)
        reported = run.stage(
            "report",
            report_sync,
            parts,
            pushed,
            snapshot,
            target,
            options,
            rundir,
            lambda rows: rows.join(ids, on="source_row", how="left", maintain_order="left"),
        )
        del parts  # written: what report.html needs is in `reported`
        rows = reported.rows.collect()
        summary = migrate_summary(
            sync_summary(options, file, target, snapshot, pushed, reported, run, clock),
            options,
            rows,
            pulled=pulled is not None,
        )
        walked = crosswalk(rows, ids)
        rundir.write_csv("crosswalk.csv", walked)
        if not options.dry_run:
            path = _crosswalk_path(options, file.mapping.preset)
            merged = merge_crosswalk(_load_crosswalk(path), walked)
            atomic_write(path, merged.write_parquet)
        finish_sync(summary, reported, pushed, target, options, rundir)
    return summary


def _crosswalk_path(options: MigrateOptions, preset: str) -> Path:
    """Where this origin -> target pairing keeps its ids: per origin profile, or per vendor
    preset for exports (an Octanist export carries Octanist ids, whichever file it is)."""
    origin = options.origin or preset
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{origin}__{options.target}")
    return options.home / "state" / "crosswalk" / f"{name}.parquet"


def _load_crosswalk(path: Path) -> pl.DataFrame:
    if not path.exists():
        return pl.DataFrame(schema=CROSSWALK_SCHEMA)
    return pl.read_parquet(path)


@lazy_flow(name="migrate-leads", validate_parameters=False, persist_result=False)
def migrate_leads(options: MigrateOptions) -> Any:
    """Migrate as a Prefect flow: one task per stage; our errors end it Failed, one line."""
    return failing_quietly(migrate)(options, "prefect")


def run_migrate(options: MigrateOptions, engine: Engine) -> RunSummary:
    """Run `leadpipe migrate` with the chosen engine; returns the summary it wrote."""
    return run_job(migrate, migrate_leads, options, engine)
