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
import time
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from connectors import open_client
from connectors._snapshot import SnapshotStore
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
from flows._targets import resolve_target
from flows.check import prepare_stages
from flows.config import SyncOptions, sync_options
from flows.exceptions import ConfigError
from flows.sync import SyncState, sync_summary, target_stages, write_run, write_stages
from transforms.migrate import (
    CROSSWALK_SCHEMA,
    crosswalk,
    extras,
    merge_crosswalk,
    split_source_ids,
)
from transforms.report import neutralise_formulas

__all__ = ["MIGRATE_STAGES", "MigrateOptions", "migrate_leads", "migrate_options", "run_migrate"]


@dataclass(frozen=True)
class MigrateOptions(SyncOptions):
    """Sync options plus where the leads come from (`source` is the export, or where
    `extract` writes the origin profile's leads) and whether to carry what does not fit."""

    origin: str | None = None  # a target profile to read from; None: `source` is an export
    carry_extras: bool = False


def migrate_options(
    conf: dict[str, Any], *, origin: str, run_id: str, carry_extras: bool, **flags: Any
) -> MigrateOptions:
    """Options of a migration from `origin`: a profile (config or built-in) or an export."""
    is_profile = origin.startswith("sandbox:") or origin in conf.get("targets", {})
    if not is_profile and not Path(origin).exists():
        raise ConfigError(
            f"--from {origin!r} is neither a target profile ([targets.NAME] or "
            "sandbox:omni|apten|octanist) nor an existing file"
        )
    if is_profile:
        flags["preset"] = flags.get("preset") or "generic"
    base = sync_options(conf, source=Path(origin), run_id=run_id, **flags)
    options = MigrateOptions(
        **{f.name: getattr(base, f.name) for f in fields(base)},
        origin=origin if is_profile else None,
        carry_extras=carry_extras,
    )
    if not is_profile:
        return options
    flat = re.sub(r"[^A-Za-z0-9_.-]+", "_", origin)
    return replace(options, source=options.out_dir / ".scratch" / f"{flat}.csv")


@dataclass(frozen=True)
class MigrateState(SyncState):
    options: MigrateOptions
    source_ids: pl.DataFrame | None = None  # source_row -> the origin's id of the lead


def _extract(state: MigrateState) -> MigrateState:
    """An origin profile's leads as a flat export at `options.source` (an export: nothing)."""
    opts = state.options
    if opts.origin is None:
        return state
    origin = resolve_target(opts.origin, opts.targets, opts.home)
    if origin.profile.vendor == "omni":
        raise ConfigError(
            f"{opts.origin}: Omni's API cannot list leads. Export them from Omni and migrate "
            "the file instead (leadpipe migrate --from omni_export.csv --to ...)"
        )

    async def pull() -> pl.DataFrame:
        store = SnapshotStore(opts.home, origin.profile.name, origin.profile.vendor)
        async with open_client(origin.profile, transport=origin.transport) as client:
            return (await store.refresh(client)).leads

    leads = asyncio.run(pull()).sort("id")
    opts.source.parent.mkdir(parents=True, exist_ok=True)
    _flat_export(leads).write_csv(opts.source)
    return replace(state, facts={**state.facts, "origin_leads": leads.height})


def _flat_export(leads: pl.DataFrame) -> pl.DataFrame:
    """Snapshot leads as an export: `target_id` (the origin's id), canonical columns as text,
    one column per custom key (a key named like a canonical field keeps a `custom.` prefix)."""
    plain = [
        c for c, t in leads.schema.items() if c not in ("id", "updated_at", "custom", "checklist")
    ]
    base = leads.select(
        pl.col("id").alias("target_id"),
        *[
            pl.col(c).list.join(", ") if isinstance(leads.schema[c], pl.List) else pl.col(c)
            for c in plain
        ],
    ).with_columns(pl.exclude("target_id").cast(pl.String))
    base = base.select([c for c in base.columns if base[c].null_count() < base.height])
    entries = (
        leads.select("id", "custom")
        .explode("custom")
        .drop_nulls("custom")
        .unnest("custom")
        .drop_nulls("key")
    )
    if entries.is_empty():
        return base
    clash = set(plain) | {"target_id"}
    wide = entries.with_columns(
        pl.when(pl.col("key").is_in(clash)).then("custom." + pl.col("key")).otherwise("key")
    ).pivot("key", index="id", values="value", aggregate_function="first")
    return base.join(wide.rename({"id": "target_id"}), on="target_id", how="left")


def _rekey(state: MigrateState) -> MigrateState:
    frame = state.need_frame()
    known = _load_crosswalk(_crosswalk_path(state))
    leads, ids = split_source_ids(frame.lazy(), known)
    return replace(state, frame=leads.collect(), source_ids=ids.collect())


def _extras(state: MigrateState) -> MigrateState:
    vendor = state.vendor
    holds = vendor.creatable | vendor.updatable | ({"external_id"} & set(vendor.read.values()))
    listed = extras(state.need_frame().lazy(), holds, carry=state.options.carry_extras)
    return replace(state, frame=listed.collect())


def _stages() -> tuple[Stage[MigrateState], ...]:
    read, map_, *checks = prepare_stages(MigrateState)
    diff, *rest = write_stages(MigrateState)
    return (
        Stage("extract", _extract),
        read,
        map_,
        Stage("rekey", _rekey),
        *checks,
        *target_stages(MigrateState),
        Stage("extras", _extras),
        diff,
        *rest,
    )


MIGRATE_STAGES = _stages()


def _execute(options: MigrateOptions, engine: Engine) -> dict[str, Any]:
    started, clock = datetime.now(UTC), time.perf_counter()
    runner = run_as_task if engine == "prefect" else run_locally
    state, durations = run_stages(MIGRATE_STAGES, MigrateState(options), runner)
    assert state.rows is not None and state.source_ids is not None
    walked = crosswalk(state.rows, state.source_ids)
    rows = state.rows.join(state.source_ids, on="source_row", how="left", maintain_order="left")
    state = replace(state, rows=rows)
    summary = {
        **sync_summary(state, durations, engine, started, time.perf_counter() - clock),
        "job": "migrate",
        "origin": options.origin or str(options.source),
        "extras": _extra_counts(rows),
        "carry_extras": options.carry_extras,
    }
    if options.origin is not None:
        summary["source"]["path"] = options.origin
    options.out_dir.mkdir(parents=True, exist_ok=True)
    walked.with_columns(
        neutralise_formulas(pl.col(c)).alias(c) for c, t in walked.schema.items() if t == pl.String
    ).write_csv(options.out_dir / "crosswalk.csv")
    if not options.dry_run:
        path = _crosswalk_path(state)
        path.parent.mkdir(parents=True, exist_ok=True)
        merged = merge_crosswalk(_load_crosswalk(path), walked)
        merged.write_parquet(path.with_suffix(".partial"))
        path.with_suffix(".partial").replace(path)
    write_run(state, summary)
    return summary


def _extra_counts(rows: pl.DataFrame) -> dict[str, int]:
    counted = rows.select(pl.col("extras").explode()).drop_nulls().group_by("extras").len()
    return dict(sorted(counted.iter_rows(), key=lambda item: (-item[1], item[0])))


def _crosswalk_path(state: MigrateState) -> Path:
    """Where this origin -> target pairing keeps its ids: per origin profile, or per vendor
    preset for exports (an Octanist export carries Octanist ids, whichever file it is)."""
    opts = state.options
    assert state.mapping is not None
    origin = opts.origin or state.mapping.preset
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{origin}__{opts.target}")
    return opts.home / "state" / "crosswalk" / f"{name}.parquet"


def _load_crosswalk(path: Path) -> pl.DataFrame:
    if not path.exists():
        return pl.DataFrame(schema=CROSSWALK_SCHEMA)
    return pl.read_parquet(path)


@lazy_flow(name="migrate-leads", validate_parameters=False, persist_result=False)
def migrate_leads(options: MigrateOptions) -> Any:
    """Migrate as a Prefect flow: one task per stage; our errors end it Failed, one line."""
    return failing_quietly(_execute)(options, "prefect")


def run_migrate(options: MigrateOptions, engine: Engine) -> dict[str, Any]:
    """Run `leadpipe migrate` with the chosen engine; returns the summary it wrote."""
    return run_job(_execute, migrate_leads, options, engine)
