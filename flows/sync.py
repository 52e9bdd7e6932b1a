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
from flows._phonebook import PhoneBooks, load_phone_book
from flows._targets import Target, resolve_target, with_rate_budget
from flows.check import CheckState, prepare_stages, summary_basics, write_rows_in_parts
from flows.config import SyncOptions
from schemas.fields import IMPORT_OUTCOMES, PLAN_OUTCOMES, REPORT_COLUMNS
from schemas.vendors import VENDORS, VendorSpec
from transforms.diff import diff
from transforms.mapping import apply_mapping, resolve_mapping
from transforms.match import match, match_index
from transforms.normalise import normalise, normalise_target
from transforms.plan import plan
from transforms.read import read_source
from transforms.report import (
    build_report,
    count_outcomes,
    write_report,
    write_summary,
)
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
    # the planned requests' rows (`PLAN_COLUMNS`), for plan.parquet and the summary
    plan_rows: pl.DataFrame | None = None

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
    """Each row's lead in the target: per partition, against lookups of the target made once."""
    assert state.snapshot is not None
    # Status as the vendor stores it (Octanist has no "new": a new lead is "open").
    aliases = dict(state.vendor.status_aliases)
    # The target's leads in the file's normal form, computed once: `match` and `diff` both
    # read them (left lazy, the normalising ran twice: ~5 s of a 1M-lead plan).
    target = _normal_target(state.snapshot, state.options)
    index = match_index(target.lazy())

    def step(frame: pl.DataFrame) -> pl.DataFrame:
        rows = build_report(frame.lazy()).with_columns(
            pl.col("status").replace(aliases) if aliases else pl.col("status")
        )
        return (
            match(rows, index)
            .with_columns(
                pl.when(pl.col("outcome") == "valid").then(pl.col(c)).alias(c)
                for c in ("match_status", "match_by", "matched_id", "match_reason")
            )
            .collect(engine="in-memory")
        )

    parts = state.need_parts().map(step, "match")
    if state.snapshot.state_source == "written":
        # Omni: re-read the leads this plan matched (written once, then only their ids read).
        parts = parts.spill("match")
        ids = parts.columns(["matched_id"], "matched").collect()
        state = replace(state, snapshot=asyncio.run(_refresh_matched(state, ids)))
        assert state.snapshot is not None
        target = _normal_target(state.snapshot, state.options)
    return replace(state, frame=None, parts=parts, target_leads=target)


def _normal_target(snapshot: Snapshot, options: SyncOptions) -> pl.DataFrame:
    """The snapshot's leads in the file's normal form; the numbers parsed for it join the phone
    cache, so the next plan against the same target only looks them up."""
    books = PhoneBooks(options.home, scratch=None)
    with books.book() as book:
        normal = normalise_target(snapshot.leads.lazy(), book).collect()
    books.save()
    return normal


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
    assert state.target_leads is not None and state.mapping is not None
    target = state.target_leads.lazy()
    fields = sorted(state.vendor.diffable)
    mapped = {*state.mapping.sources, *state.mapping.constants}
    blanks = state.options.blanks

    def step(frame: pl.DataFrame) -> pl.DataFrame:
        changed = diff(frame.lazy(), target, fields, blanks=blanks, mapped=mapped)
        return changed.collect(engine="in-memory")

    # The target's leads were for the diff alone: let them go once it has run.
    return replace(state, frame=None, parts=state.need_parts().map(step, "diff"), target_leads=None)


def _plan(state: T) -> T:
    assert state.target is not None
    vendor, mode, profile = state.vendor, state.options.mode, state.target.profile.name

    def step(frame: pl.DataFrame) -> pl.DataFrame:
        # In memory: the frame is, and polars 2.1's streaming engine panics on some partitions
        # here (a string view index out of bounds in a `when` chain of `plan`).
        return plan(frame.lazy(), vendor, mode=mode, profile=profile).collect(engine="in-memory")

    planned = state.need_parts().map(step, "plan")
    if not state.options.dry_run:
        # On disk, each partition is validated, matched, diffed and planned here in one pass
        # and written once: the push reads the requests, the report every row. A dry run has
        # only the report to make, and makes it in that one pass.
        planned = planned.spill("plan")
    return replace(state, frame=None, parts=planned)


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
    opts = state.options
    # Only the rows that send something, partition by partition.
    frame = pl.concat(
        [f.filter(pl.col("op").is_not_null()) for f in state.need_parts().frames()],
        how="vertical",
    )
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


# What plan.parquet keeps of each planned request.
PLAN_COLUMNS = ("op_id", "source_row", "op", "matched_id", "changed_fields")
# Rows whose lead exists after the push; a lead whose follow-up update failed exists too:
# a `written` snapshot remembers it, or a later run re-creates it.
_EXISTS = pl.col("outcome").is_in(["created", "updated"]) | (
    (pl.col("op") == "create") & (pl.col("outcome") == "failed") & pl.col("target_id").is_not_null()
)


def _report(state: T) -> T:
    """Planned outcomes, and what the push did to them; one partition is kept in memory,
    more are written to rows.parquet/rows.csv part by part (and only the page's rows kept)."""
    parts, pushed = state.need_parts(), state.pushed
    outcomes = _Outcomes.of(pushed)
    remember = outcomes is not None and _remembers_writes(state)
    plans: list[pl.DataFrame] = []
    writes: list[pl.DataFrame] = []

    def rows_of(frame: pl.DataFrame) -> pl.DataFrame:
        # A matched row names its target lead, in a plan as after an import.
        frame = frame.with_columns(pl.coalesce("target_id", "matched_id").alias("target_id"))
        if outcomes is not None:
            frame = outcomes.apply(frame)
        if remember:
            writes.append(frame.filter(_EXISTS))
        plans.append(frame.filter(pl.col("op").is_not_null()).select(PLAN_COLUMNS))
        return frame.select(
            *REPORT_COLUMNS,
            *[c for c in frame.columns if c not in REPORT_COLUMNS and not c.startswith("_")],
        )

    if len(parts.items) == 1:
        done = replace(state, rows=rows_of(parts.collect()))
    else:
        written, page = write_rows_in_parts(parts, rows_of, state.options.out_dir)
        done = replace(state, rows=None, rows_written=written, page_rows=page)
    if writes:
        _remember_writes(done, pl.concat(writes, how="vertical"))
    plan_rows = pl.concat(plans, how="vertical")
    return replace(done, frame=None, parts=None, plan_rows=plan_rows)


@dataclass(frozen=True)
class _Outcomes:
    """What the push did (and earlier attempts of a resumed run), as frames made once and
    laid over each partition's planned rows."""

    results: pl.DataFrame
    earlier: pl.DataFrame | None

    @classmethod
    def of(cls, pushed: PushReport | None) -> _Outcomes | None:
        if pushed is None:
            return None
        return cls(_results_frame(pushed), _earlier_frame(pushed) if pushed.earlier else None)

    def apply(self, frame: pl.DataFrame) -> pl.DataFrame:
        frame = _apply_results(frame, self.results)
        return frame if self.earlier is None else _apply_earlier(frame, self.earlier)


def _results_frame(pushed: PushReport) -> pl.DataFrame:
    """One row per pushed request: its state, lead, HTTP facts and error."""
    return pl.DataFrame(
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


def _apply_results(frame: pl.DataFrame, results: pl.DataFrame) -> pl.DataFrame:
    """Planned outcomes become what happened: created, updated, failed, conflict or skipped."""
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


_FACTS = ("http_status", "attempts", "request_id")


def _earlier_frame(pushed: PushReport) -> pl.DataFrame:
    """One row per source row an earlier attempt of the run wrote: the op and its facts."""
    return pl.DataFrame(
        [
            (row, op, r.target_id, r.http_status, r.attempts, r.request_id)
            for row, (op, r) in pushed.earlier.items()
        ],
        schema={
            "source_row": pl.Int64,
            "_e_op": pl.String,
            "_e_target": pl.String,
            "_e_http_status": pl.Int64,
            "_e_attempts": pl.Int64,
            "_e_request_id": pl.String,
        },
        orient="row",
    )


def _apply_earlier(frame: pl.DataFrame, earlier: pl.DataFrame) -> pl.DataFrame:
    """A resumed run: a row an earlier attempt created or updated reports that, when it now
    matches that very lead (or the attempt was cut off before the lead's id was journaled)
    and either has nothing left to send, or only had its create's follow-up sent now."""
    done = earlier.cast(
        {"source_row": frame.schema["source_row"], **{f"_e_{c}": frame.schema[c] for c in _FACTS}}
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
        *[pl.when(answered).then(pl.col(f"_e_{c}")).otherwise(pl.col(c)).alias(c) for c in _FACTS],
    )


def _remember_writes(state: SyncState, frame: pl.DataFrame) -> None:
    """Keep what was written in a `written` snapshot (Omni), so an immediate re-run plans nothing.

    Listed targets need nothing here: every write lands after the stored high-water mark, so
    the next refresh reads it back. The remembered lead is what the row sent, with the values
    the vendor answered laid over it (its normal forms win; Omni's answers omit the status).
    """
    if not _remembers_writes(state):
        return
    assert state.target is not None and state.pushed is not None
    echoed = {lead.id: lead for lead in state.pushed.leads}
    leads = []
    for row in frame.filter(_EXISTS).iter_rows(named=True):
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


def _remembers_writes(state: SyncState) -> bool:
    """A pushed run into a `written` snapshot (Omni). A listed target re-reads changes; a state
    file is the user's, never written to."""
    snapshot = state.snapshot
    return state.pushed is not None and snapshot is not None and snapshot.state_source == "written"


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
    if state.rows is not None:
        write_report(state.rows, summary, options.out_dir)
        write_report_html(state.rows, summary, options.out_dir)
    else:  # the rows went out part by part (report stage)
        assert state.page_rows is not None
        write_summary(summary, options.out_dir)
        write_report_html(state.page_rows, summary, options.out_dir)
    assert state.plan_rows is not None
    partial = options.out_dir / ".plan.parquet.partial"  # atomic: a kill leaves the old file
    state.plan_rows.write_parquet(partial)
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
    assert state.target is not None and state.snapshot is not None
    assert state.plan_rows is not None
    opts, calls = state.options, state.plan_rows.height
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
        "counts": count_outcomes(
            state.report_rows(), PLAN_OUTCOMES if opts.dry_run else IMPORT_OUTCOMES
        ),
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
