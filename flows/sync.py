"""`leadpipe plan` and `leadpipe import`: the check stages, then the target.

    read -> map -> normalise -> validate -> dedupe -> snapshot -> match -> diff -> plan
         -> push -> report

`plan` is the same list as a dry run (push sends nothing). Each stage is one call into
`transforms/` or `connectors/`; `run_sync` runs the list with either engine.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

import polars as pl

from connectors import LeadClient, RemoteLead, RequestStats, open_client
from connectors._journal import Journal, sqlite_url
from connectors._push import PlannedOp, PushReport, push
from connectors._snapshot import SNAPSHOT_SCHEMA, Snapshot, SnapshotStore
from flows._artifacts import progress_reporter, publish_summary
from flows._engine import (
    Engine,
    Stage,
    failing_quietly,
    lazy_flow,
    run_job,
    run_stages,
    stage_runner,
)
from flows._phonebook import load_phone_book
from flows._targets import Target, resolve_target, with_rate_budget
from flows.check import CheckState, prepare_stages, summary_basics
from flows.config import SyncOptions
from schemas.fields import IMPORT_OUTCOMES, PLAN_OUTCOMES, REPORT_COLUMNS
from schemas.vendors import VENDORS, VendorSpec
from transforms.diff import diff
from transforms.mapping import apply_mapping, resolve_mapping
from transforms.match import match
from transforms.normalise import normalise, normalise_target
from transforms.plan import plan
from transforms.read import read_source
from transforms.report import build_report, count_outcomes, write_report
from transforms.report_html import write_report_html

__all__ = [
    "SYNC_STAGES",
    "SyncState",
    "import_leads",
    "journal_plan",
    "open_journal",
    "run_sync",
    "sync_summary",
    "target_stages",
    "write_run",
    "write_stages",
]


@dataclass(frozen=True)
class SyncState(CheckState):
    """The check state plus the target, its snapshot, the plan and what the push did."""

    options: SyncOptions
    target: Target | None = None
    snapshot: Snapshot | None = None
    pushed: PushReport | None = None
    requests: dict[str, int] | None = None
    # the snapshot's leads in the file's normal form (after `match`), for `diff` and reports
    target_leads: pl.DataFrame | None = None

    @property
    def vendor(self) -> VendorSpec:
        assert self.target is not None
        return VENDORS[self.target.profile.vendor]

    def client(self) -> LeadClient:
        assert self.target is not None
        return open_client(self.target.profile, transport=self.target.transport)


# The target stages serve every job whose state extends SyncState (plan, import, reconcile).
T = TypeVar("T", bound=SyncState)


def _snapshot(state: T) -> T:
    opts = state.options
    target = with_rate_budget(resolve_target(opts.target, opts.targets, opts.home))
    state = replace(state, target=target)
    if opts.state_file is not None:
        return replace(state, snapshot=_snapshot_from_file(opts, target.profile.vendor))
    store = SnapshotStore(opts.home, target.profile.name, target.profile.vendor)
    snapshot = asyncio.run(_refresh(state, store))
    return replace(state, snapshot=snapshot)


def _snapshot_from_file(opts: SyncOptions, vendor: str) -> Snapshot:
    """The target's leads from an export of it, read like any source file (the vendor's own
    preset: it is the target's export).

    Its `target_id` column becomes the snapshot's id; rows without one cannot be updated and
    are left out (counted in the summary).
    """
    assert opts.state_file is not None
    table = read_source(opts.state_file, scratch=opts.out_dir / ".scratch")
    mapped = apply_mapping(table.frame.lazy(), resolve_mapping(table.headers, preset=vendor))
    frame = normalise(
        mapped, load_phone_book(opts.home), default_region=opts.default_region
    ).collect()
    leads = frame.filter(pl.col("target_id").is_not_null()).select(
        pl.col("target_id").alias("id"),
        pl.lit(None, pl.String).alias("updated_at"),
        *[pl.col(c).cast(t) for c, t in SNAPSHOT_SCHEMA.items() if c not in ("id", "updated_at")],
    )
    unusable = frame.height - leads.height
    return Snapshot(
        leads,
        state_source="file",
        facts={"state_file": str(opts.state_file), "rows_without_id": unusable},
    )


async def _refresh(state: SyncState, store: SnapshotStore) -> Snapshot:
    async with state.client() as client:
        snapshot = await store.refresh(client)
        return replace(snapshot, facts={"reads": client.http.stats.sent})


def _match(state: T) -> T:
    assert state.snapshot is not None
    # Status as the vendor stores it (Octanist has no "new": a new lead is "open").
    aliases = dict(state.vendor.status_aliases)
    rows = build_report(state.need_frame().lazy()).with_columns(
        pl.col("status").replace(aliases) if aliases else pl.col("status")
    )
    # The target's leads in the file's normal form, computed once: `match` and `diff` both
    # read them (left lazy, the normalising ran twice: ~5 s of a 1M-lead plan).
    target = _normal_target(state.snapshot, state.options)
    matched = (
        match(rows, target.lazy())
        .with_columns(
            pl.when(pl.col("outcome") == "valid").then(pl.col(c)).alias(c)
            for c in ("match_status", "match_by", "matched_id", "match_reason")
        )
        .collect()
    )
    if state.snapshot.state_source == "written":
        state = replace(state, snapshot=asyncio.run(_refresh_matched(state, matched)))
        assert state.snapshot is not None
        target = _normal_target(state.snapshot, state.options)
    return replace(state, frame=matched, target_leads=target)


def _normal_target(snapshot: Snapshot, options: SyncOptions) -> pl.DataFrame:
    return normalise_target(snapshot.leads.lazy(), load_phone_book(options.home)).collect()


async def _refresh_matched(state: SyncState, matched: pl.DataFrame) -> Snapshot:
    """A `written` snapshot (Omni) re-reads the leads this plan touches, by id."""
    assert state.target is not None
    ids = matched["matched_id"].drop_nulls().unique().to_list()
    store = SnapshotStore(
        state.options.home, state.target.profile.name, state.target.profile.vendor
    )
    async with state.client() as client:
        snapshot = await store.refresh_ids(client, ids)
        reads = (
            state.snapshot.facts.get("reads", 0) if state.snapshot else 0
        ) + client.http.stats.sent
        return replace(snapshot, facts={"reads": reads})


def _diff(state: T) -> T:
    assert state.target_leads is not None
    target = state.target_leads.lazy()
    fields = sorted(state.vendor.diffable)
    assert state.mapping is not None
    mapped = {*state.mapping.sources, *state.mapping.constants}
    changed = diff(
        state.need_frame().lazy(), target, fields, blanks=state.options.blanks, mapped=mapped
    )
    # The target's leads were for the diff alone: let them go before the plan and the reports.
    return replace(state, frame=changed.collect(), target_leads=None)


def _plan(state: T) -> T:
    assert state.target is not None
    planned = plan(
        state.need_frame().lazy(),
        state.vendor,
        mode=state.options.mode,
        profile=state.target.profile.name,
    )
    return replace(state, frame=planned.collect())


def _push(state: T) -> T:
    if state.options.dry_run:
        return replace(state, requests=RequestStats().counts())
    journal, ops = journal_plan(state)
    pushed, requests = asyncio.run(_send(state, journal, ops))
    journal.close()
    return replace(state, pushed=pushed, requests=requests)


def open_journal(options: SyncOptions) -> Journal:
    """The run's journal: `journal_url`, else SQLite under LEADPIPE_HOME."""
    url = options.journal_url.get_secret_value() if options.journal_url else None
    return Journal(url or sqlite_url(options.home / "journal.db"))


def journal_plan(state: SyncState) -> tuple[Journal, list[PlannedOp]]:
    """The push's requests, journaled as planned for this run (a resume keeps what it has)."""
    opts, frame = state.options, state.need_frame()
    journal = open_journal(opts)
    assert state.target is not None
    journal.start_run(
        opts.run_id, profile=state.target.profile.name, source=str(opts.source), mode=opts.mode
    )
    ops = _planned_ops(frame, state.vendor)
    journal.plan(
        opts.run_id, [{"op_id": o.op_id, "source_row": o.source_row, "op": o.op} for o in ops]
    )
    return journal, ops


async def _send(
    state: SyncState, journal: Journal, ops: list[PlannedOp]
) -> tuple[PushReport, dict[str, int]]:
    assert state.target is not None
    async with state.client() as client:
        pushed = await push(
            client,
            journal,
            state.options.run_id,
            ops,
            concurrency=state.target.profile.concurrency,
            progress=progress_reporter(len(ops), f"push to {state.target.profile.name}"),
        )
        return pushed, client.http.stats.counts()


def _planned_ops(frame: pl.DataFrame, vendor: VendorSpec) -> list[PlannedOp]:
    """The requests the plan asks for, each with the fields it sends and the keys to find it.

    A create carries what the vendor takes on create; what it only takes on update (Octanist's
    status and value, Omni's status) follows as an update of the new lead.
    """
    follow = sorted(vendor.updatable - vendor.creatable)
    ops = []
    for row in frame.filter(pl.col("op").is_not_null()).iter_rows(named=True):
        keys = {k: row[k] for k in ("external_id", "email", "phone") if row.get(k)}
        if row["op"] == "create":
            fields = {f: row[f] for f in sorted(vendor.creatable) if row.get(f) not in (None, [])}
            then = {f: row[f] for f in follow if row.get(f) not in (None, [])}
            if "status" in then and then["status"] == vendor.initial_status:
                del then["status"]
            ops.append(
                PlannedOp(
                    row["op_id"], row["source_row"], "create", fields, keys=keys, then_update=then
                )
            )
        else:
            fields = {f: _sent_or_clear(row, f, vendor) for f in row["changed_fields"]}
            for needs, companion in vendor.companions.items():
                if needs in fields and companion not in fields and row.get(companion) is not None:
                    fields[companion] = row[companion]  # e.g. a new loss reason goes with "lost"
            ops.append(
                PlannedOp(
                    row["op_id"],
                    row["source_row"],
                    "update",
                    fields,
                    ref=row["matched_id"],
                    keys=keys,
                )
            )
    return ops


def _sent_or_clear(row: dict[str, Any], field: str, vendor: VendorSpec) -> Any:
    """The changed value, or the vendor's clearing value for a blank under --blanks clear."""
    value = row[f"_send_{field}"]
    return vendor.clearable.get(field) if value is None and field in vendor.clearable else value


def _report(state: T) -> T:
    # A matched row names its target lead, in a plan as after an import.
    frame = state.need_frame().with_columns(
        pl.coalesce("target_id", "matched_id").alias("target_id")
    )
    if state.pushed is not None:
        frame = _apply_earlier(_apply_results(frame, state.pushed), state.pushed)
        _remember_writes(state, frame)
    rows = frame.select(
        *REPORT_COLUMNS,
        *[c for c in frame.columns if c not in REPORT_COLUMNS and not c.startswith("_")],
    )
    return replace(state, rows=rows)


def _apply_results(frame: pl.DataFrame, pushed: PushReport) -> pl.DataFrame:
    """Planned outcomes become what happened: created, updated, failed, conflict or skipped."""
    results = pl.DataFrame(
        [
            (
                op_id,
                r.state,
                r.target_id,
                r.http_status,
                r.attempts,
                r.request_id,
                r.error_code,
                r.error_message,
            )
            for op_id, r in pushed.results.items()
        ],
        schema={
            "op_id": pl.String,
            "_state": pl.String,
            "_target": pl.String,
            "_http": pl.Int64,
            "_attempts": pl.Int64,
            "_request": pl.String,
            "_code": pl.String,
            "_message": pl.String,
        },
        orient="row",
    )
    joined = frame.join(results, on="op_id", how="left", maintain_order="left")
    done = pl.col("_state") == "succeeded"
    outcome = (
        pl.when(pl.col("_state").is_null())
        .then(pl.col("outcome"))
        .when(done & (pl.col("op") == "create"))
        .then(pl.lit("created"))
        .when(done)
        .then(pl.lit("updated"))
        .when(pl.col("_code") == "skipped")
        .then(pl.lit("skipped"))
        .when(pl.col("_code") == "conflict")
        .then(pl.lit("conflict"))
        .otherwise(pl.lit("failed"))
    )
    failed = pl.col("_state").is_not_null() & ~done
    return joined.with_columns(
        outcome.alias("outcome"),
        pl.coalesce("_target", "matched_id", "target_id").alias("target_id"),
        pl.when(failed).then(pl.col("_code")).otherwise(pl.col("reason_code")).alias("reason_code"),
        pl.when(failed & (pl.col("_state") == "ambiguous"))
        .then(
            pl.lit("no answer after sending; resume the run to resolve it: ") + pl.col("_message")
        )
        .when(failed)
        .then(pl.col("_message"))
        .otherwise(pl.col("reason"))
        .alias("reason"),
        pl.col("_http").alias("http_status"),
        pl.col("_attempts").alias("attempts"),
        pl.col("_request").alias("request_id"),
    )


def _apply_earlier(frame: pl.DataFrame, pushed: PushReport) -> pl.DataFrame:
    """A resumed run: a row an earlier attempt created or updated reports that, when it now
    matches that very lead (or the attempt was cut off before the lead's id was journaled)
    and either has nothing left to send, or only had its create's follow-up sent now."""
    if not pushed.earlier:
        return frame
    facts = ("http_status", "attempts", "request_id")
    done = pl.DataFrame(
        [
            (row, op, r.target_id, r.http_status, r.attempts, r.request_id)
            for row, (op, r) in pushed.earlier.items()
        ],
        schema={
            "source_row": frame.schema["source_row"],
            "_e_op": pl.String,
            "_e_target": pl.String,
            **{f"_e_{c}": frame.schema[c] for c in facts},
        },
        orient="row",
    )
    joined = frame.join(done, on="source_row", how="left", maintain_order="left")
    same_lead = pl.col("_e_op").is_not_null() & (
        pl.col("_e_target").is_null() | (pl.col("_e_target") == pl.col("matched_id"))
    ).fill_null(False)
    left_alone = same_lead & pl.col("op").is_null() & pl.col("matched_id").is_not_null()
    finished = same_lead & (pl.col("_e_op") == "create") & (pl.col("outcome") == "updated")
    written = pl.when(pl.col("_e_op") == "create").then(pl.lit("created"))
    answered = left_alone & pl.col("_e_http_status").is_not_null()  # else its facts are unknown
    return joined.with_columns(
        pl.when(left_alone | finished)
        .then(written.otherwise(pl.lit("updated")))
        .otherwise("outcome")
        .alias("outcome"),
        *[pl.when(answered).then(pl.col(f"_e_{c}")).otherwise(pl.col(c)).alias(c) for c in facts],
    )


def _remember_writes(state: SyncState, frame: pl.DataFrame) -> None:
    """Keep what was written in a `written` snapshot (Omni), so an immediate re-run plans nothing.

    Listed targets need nothing here: every write lands after the stored high-water mark, so
    the next refresh reads it back. The remembered lead is what the row sent, with the values
    the vendor answered laid over it (its normal forms win; Omni's answers omit the status).
    """
    if state.snapshot is None or state.snapshot.state_source != "written" or state.pushed is None:
        # A listed target re-reads changes; a state file is the user's, never written to.
        return
    assert state.target is not None
    echoed = {lead.id: lead for lead in state.pushed.leads}
    leads = []
    # A lead whose follow-up update failed exists too: remember it, or a later run re-creates it.
    exists = pl.col("outcome").is_in(["created", "updated"]) | (
        (pl.col("op") == "create")
        & (pl.col("outcome") == "failed")
        & pl.col("target_id").is_not_null()
    )
    for row in frame.filter(exists).iter_rows(named=True):
        answer = echoed.get(row["target_id"])
        answered = {k: v for k, v in (answer.fields if answer else {}).items() if v is not None}
        sent = {k: v for k, v in row.items() if k in SNAPSHOT_SCHEMA}
        leads.append(
            RemoteLead(
                row["target_id"], {**sent, **answered}, answer.updated_at if answer else None
            )
        )
    SnapshotStore(
        state.options.home, state.target.profile.name, state.target.profile.vendor
    ).record_writes(leads)


def target_stages(state_type: type[T]) -> tuple[Stage[T], ...]:
    """snapshot -> match: the target's leads, and which of them each row is."""
    del state_type  # only fixes the type the stages are used with
    return (Stage("snapshot", _snapshot), Stage("match", _match))


def write_stages(state_type: type[T]) -> tuple[Stage[T], ...]:
    """diff -> plan -> push -> report: what to change, the requests, and what they did."""
    del state_type  # only fixes the type the stages are used with
    return (
        Stage("diff", _diff),
        Stage("plan", _plan),
        Stage("push", _push),
        Stage("report", _report),
    )


SYNC_STAGES: tuple[Stage[SyncState], ...] = (
    *prepare_stages(SyncState),
    *target_stages(SyncState),
    *write_stages(SyncState),
)


def _execute(options: SyncOptions, engine: Engine) -> dict[str, Any]:
    started, clock = datetime.now(UTC), time.perf_counter()
    runner = stage_runner(engine, options)
    state, durations = run_stages(SYNC_STAGES, SyncState(options), runner)
    summary = sync_summary(state, durations, engine, started, time.perf_counter() - clock)
    write_run(state, summary)
    return summary


def write_run(state: SyncState, summary: dict[str, Any]) -> None:
    """The run directory of a plan/import; then stop with the error that stopped the push."""
    options = state.options
    assert state.rows is not None
    write_report(state.rows, summary, options.out_dir)
    write_report_html(state.rows, summary, options.out_dir)
    plan_rows = (
        state.need_frame()
        .filter(pl.col("op").is_not_null())
        .select("op_id", "source_row", "op", "matched_id", "changed_fields")
    )
    partial = options.out_dir / ".plan.parquet.partial"  # atomic: a kill leaves the old file
    plan_rows.write_parquet(partial)
    partial.replace(options.out_dir / "plan.parquet")
    shutil.rmtree(options.out_dir / ".scratch", ignore_errors=True)
    publish_summary(summary)
    if state.pushed is not None and state.pushed.stopped:
        from connectors.exceptions import FatalVendorError

        raise FatalVendorError(
            f"{state.pushed.stopped} (resume with --resume {options.run_id})",
            vendor=state.vendor.name,
        )


def sync_summary(
    state: SyncState, durations: dict[str, float], engine: Engine, started: datetime, seconds: float
) -> dict[str, Any]:
    assert state.rows is not None and state.target is not None and state.snapshot is not None
    opts, frame = state.options, state.need_frame()
    calls = frame.filter(pl.col("op").is_not_null()).height
    return {
        "job": "plan" if opts.dry_run else "import",
        "mode": opts.mode,
        "dry_run": opts.dry_run,
        "target": {"profile": state.target.profile.name, "vendor": state.target.profile.vendor},
        "state_source": state.snapshot.state_source,
        "snapshot": {
            "leads": state.snapshot.leads.height,
            "fetched": state.snapshot.fetched,
            "reads": state.snapshot.facts.get("reads", 0),
            **{k: v for k, v in state.snapshot.facts.items() if k != "reads"},
        },
        "counts": count_outcomes(state.rows, PLAN_OUTCOMES if opts.dry_run else IMPORT_OUTCOMES),
        "planned_requests": calls,
        "requests": state.requests or RequestStats().counts(),
        **summary_basics(state, durations, engine, started, seconds),
    }


@lazy_flow(name="import-leads", validate_parameters=False, persist_result=False)
def import_leads(options: SyncOptions) -> Any:
    """plan / import as a Prefect flow: one task per stage; our errors end it Failed, one line."""
    return failing_quietly(_execute)(options, "prefect")


def run_sync(options: SyncOptions, engine: Engine) -> dict[str, Any]:
    """Run `leadpipe plan` (dry run) or `leadpipe import` with the chosen engine."""
    return run_job(_execute, import_leads, options, engine)
