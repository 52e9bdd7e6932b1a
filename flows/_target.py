"""The stages that reach the target and write to it, after `prepare`:

    snapshot -> match                          (`reach_target`: plan, import, reconcile, migrate)
             -> diff -> plan -> push -> report (plan / import / migrate; `finish_sync`)

Each is one call into `transforms/`, `connectors/` or `reports/` plus the partitions it runs
over, and returns a small frozen result.

A plan or import reads the target only where it is about to write (DESIGN.md, "Sync"): it
matches the rows against the stored snapshot, plans against it and the stored bases, and only
when that plan writes does it read: a listed target (Apten, Octanist) lists what changed since
its high-water mark; Omni reads its feed for leads created since (when the plan creates) and
GETs each lead the plan updates. Then it matches and plans again on what it read. A re-run of
an unchanged file reads and sends nothing. `reconcile` reads the target every time.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import polars as pl

from connectors import (
    BASE_SCHEMA,
    LeadClient,
    PlannedOp,
    PushReport,
    RequestStats,
    Snapshot,
    SnapshotStore,
    TargetProfile,
    earlier_attempts_frame,
    earlier_results,
    hold_lease,
    lease_key,
    open_client,
    ops_from_plan,
    push,
    push_results_frame,
)
from connectors.exceptions import FatalVendorError
from flows._artifacts import publish_summary
from flows._events import Listener
from flows._partitions import PartMapper, Parts
from flows._phonebook import PhoneBooks, load_phone_book
from flows._prepare import Reported, write_rows
from flows._runner import Run
from flows._spilled import matched_leads, partition_leads, spill_version, spilled_index
from flows._targets import Target, resolve_target, with_rate_budget
from flows.exceptions import ConfigError
from flows.options import RevertOptions, SyncOptions
from reports import RunDir
from schemas.summary import RunSummary
from schemas.vendors import VENDORS, VendorSpec
from transforms.defaults import fill_new
from transforms.diff import diff, next_base
from transforms.mapping import ResolvedMapping, apply_mapping, resolve_mapping
from transforms.match import BucketedIndex, match_index, match_rows
from transforms.normalise import normalise, normalise_target
from transforms.outcomes import apply_outcomes, existing_leads, planned_requests, report_columns
from transforms.plan import pending_reads, plan, requested
from transforms.read import read_source
from transforms.revert import previous_values
from transforms.snapshot import mark_live, snapshot_from_export
from transforms.validate import collect_warnings

if TYPE_CHECKING:
    from connectors import Journal

__all__ = [
    "Matched",
    "PushPart",
    "Pushed",
    "diff_rows",
    "finish_sync",
    "holding",
    "journal_ops",
    "match_rows_to_target",
    "normal_leads",
    "plan_rows",
    "push_plan",
    "reach_target",
    "refuse_unknown_resume",
    "read_target",
    "report_sync",
    "run_journal",
    "send_ops",
    "sync_target",
    "target_address",
    "target_store",
]


class Matched(NamedTuple):
    """Each row's lead in the target (`parts`), the target's leads as read (`snapshot`) and in
    the file's normal form (`target_leads`, for `diff` or `compare` alone: a job unpacks this
    and lets them go once it has used them)."""

    parts: Parts
    snapshot: Snapshot
    target_leads: pl.DataFrame


@dataclass(frozen=True)
class Pushed:
    """What the push did and the requests it made; a dry run (`plan`) sends nothing."""

    report: PushReport
    requests: dict[str, int]
    sent: bool = True  # False: a dry run, whose planned outcomes stand


def read_target(
    options: SyncOptions, target: Target, rundir: RunDir, *, fresh: bool = False
) -> Snapshot:
    """The target's leads: its stored snapshot (brought up to date when `fresh`, or when
    `--refresh-target` asks; Omni's filled from its feed when the snapshot is empty), or an
    export of it (`--state-file`, read with the vendor's own preset: it is the target's
    export)."""
    if options.state_file is None:
        store = target_store(options.home, target)
        # A plan of a target too large for memory loads its ids alone (flows/_spilled.py).
        lean = not fresh and store.stored_leads() > partition_leads()
        snapshot = store.load(ids_only=lean)  # once: a million stored leads are not read twice
        empty_feed = store.state_source == "written" and not snapshot.feed_mark
        if fresh or options.refresh_target or empty_feed:
            # reconcile reads the whole target: its answer must not rest on what we stored
            full = fresh or options.refresh_target
            return asyncio.run(_refresh(target, store, full=full, ids_only=lean))
        return replace(snapshot, facts={"damaged": store.damaged}) if store.damaged else snapshot
    table = read_source(options.state_file, scratch=rundir.scratch)
    mapping = resolve_mapping(table.headers, preset=target.profile.vendor)
    mapped = apply_mapping(table.frame.lazy(), mapping)
    book = load_phone_book(options.home)
    frame = normalise(mapped, book, default_region=options.default_region).collect()
    leads, unusable = snapshot_from_export(frame)
    facts = {"state_file": str(options.state_file), "rows_without_id": unusable}
    return Snapshot(leads, state_source="file", facts=facts)


async def _refresh(
    target: Target, store: SnapshotStore, *, full: bool = False, ids_only: bool = False
) -> Snapshot:
    async with _client(target) as client:
        snapshot = await store.refresh(client, full=full, ids_only=ids_only)
        # A listing is the target's state; Omni's feed is only a lead's keys and names.
        live = store.state_source != "written"
        return replace(snapshot, facts={"reads": client.http.stats.sent, "live": live})


def target_store(home: Path, target: Target) -> SnapshotStore:
    """The target's stored snapshot: its profile's, at its address."""
    profile = target.profile
    return SnapshotStore(home, profile.name, profile.vendor, profile.base_url)


def _client(target: Target) -> LeadClient:
    return open_client(target.profile, transport=target.transport)


def match_rows_to_target(
    parts: Parts,
    snapshot: Snapshot,
    options: SyncOptions,
    target: Target,
    mapping: ResolvedMapping | None = None,
    *,
    fresh: bool = False,
) -> Matched:
    """Each row's lead in the target: per partition, against lookups of the target made once.

    `fresh` (reconcile): the snapshot was just read; Omni's matched leads are read by id.
    Otherwise (a plan or import, whose `mapping` is given) the target is read only where the
    plan against the stored state would write (see the module docstring)."""
    vendor = VENDORS[target.profile.vendor]
    if snapshot.ids_only and not fresh and options.state_file is None and mapping is not None:
        return _match_spilled(parts, snapshot, options, target, mapping)
    # The target's leads in the file's normal form, computed once: `match` and `diff` both
    # read them (left lazy, the normalising ran twice: ~5 s of a 1M-lead plan).
    leads = _normal_target(snapshot, options.home, live=bool(snapshot.facts.get("live")))
    matched = _matched(parts, leads, vendor)
    if options.state_file is not None:
        return Matched(matched, snapshot, leads)
    if fresh:
        if snapshot.state_source != "written":
            return Matched(matched, snapshot, leads)
        # Omni: re-read the leads this plan matched (written once, then only their ids read).
        matched = matched.spill("match")
        ids = matched.columns(["matched_id"], "matched").collect()["matched_id"]
        snapshot = asyncio.run(_refresh_matched(target, snapshot, options.home, ids))
        return Matched(matched, snapshot, _normal_target(snapshot, options.home, live=True))
    assert mapping is not None, "a plan matches with its mapping: it plans to find its reads"
    creates, ids = _planned_reads(matched, leads, snapshot.base, vendor, mapping, options, target)
    if not creates and ids.is_empty():
        return Matched(matched, snapshot, leads)  # nothing to write: nothing to read
    snapshot = asyncio.run(_read_live(target, snapshot, options.home, creates, ids))
    listed = snapshot.state_source != "written"
    leads = _normal_target(snapshot, options.home, live=listed, live_ids=None if listed else ids)
    return Matched(_matched(parts, leads, vendor), snapshot, leads)


def _matched(parts: Parts, leads: pl.DataFrame | BucketedIndex, vendor: VendorSpec) -> Parts:
    index = leads if isinstance(leads, BucketedIndex) else match_index(leads.lazy())
    aliases = dict(vendor.status_aliases)
    return parts.map(lambda frame: match_rows(frame, index, aliases), "match")


def _match_spilled(
    parts: Parts, snapshot: Snapshot, options: SyncOptions, target: Target, mapping: ResolvedMapping
) -> Matched:
    """`match_rows_to_target` of a target too large for memory (flows/_spilled.py): matched
    against its buckets, and `diff` handed the matched leads alone. The same reads where the
    plan writes; a read that changed the stored leads has their buckets built again and the
    rows matched again (one that changed nothing keeps the match: the same rows, same buckets).
    """
    vendor, store = VENDORS[target.profile.vendor], target_store(options.home, target)
    live: bool | pl.Series = bool(snapshot.facts.get("live"))
    version = spill_version(store)
    matched, found = _spilled_match(parts, store, options.home, vendor, "match")
    leads = matched_leads(store, spilled_index(store, options.home), found, live)
    creates, ids = _planned_reads(matched, leads, snapshot.base, vendor, mapping, options, target)
    if not creates and ids.is_empty():
        return Matched(matched, snapshot, leads)  # nothing to write: nothing to read
    del leads
    snapshot = asyncio.run(_read_live(target, snapshot, options.home, creates, ids))
    if not snapshot.ids_only:  # Omni's reads return every lead: keep their ids alone
        snapshot = replace(snapshot, leads=snapshot.leads.select("id"), ids_only=True)
    live = True if snapshot.state_source != "written" else ids
    if spill_version(store) != version:
        matched, found = _spilled_match(parts, store, options.home, vendor, "rematch")
    leads = matched_leads(store, spilled_index(store, options.home), found, live)
    return Matched(matched, snapshot, leads)


def _spilled_match(
    parts: Parts,
    store: SnapshotStore,
    home: Path,
    vendor: VendorSpec,
    name: str,
) -> tuple[Parts, pl.Series]:
    """The rows matched against the stored target's buckets, and the ids they matched. On
    disk, each matched partition is written once (`name`): the ids, the planned reads, diff
    and plan read it, rather than match it again; the checked partitions are kept for a
    second match after a read (`spill` would delete them)."""
    index = spilled_index(store, home)
    matched = _matched(parts, index, vendor)
    if matched.scratch is not None and matched.steps:
        matched = Parts.build(
            matched.frames(), scratch=matched.scratch, name=name, clock=matched.clock
        )
    return matched, matched.columns(["matched_id"], "matched").collect()["matched_id"]


def _planned_reads(
    matched: Parts,
    leads: pl.DataFrame,
    base: pl.DataFrame,
    vendor: VendorSpec,
    mapping: ResolvedMapping,
    options: SyncOptions,
    target: Target,
) -> tuple[bool, pl.Series]:
    """Whether the plan against the stored state creates, and the leads it updates (every
    matched lead with --verify-target or --on-target-edit overwrite): what to read first.

    A listed target (Apten, Octanist) reads what changed since its mark whatever the plan
    writes, so the first partition that writes anything settles it: the partitions after it
    are not planned twice (the ids found so far are all it returns)."""
    everything = options.verify_target or options.on_target_edit == "overwrite"
    diffed = _diffed(leads.lazy(), base.lazy(), vendor, mapping, options)
    planned = _planned(vendor, options, target.profile)

    def step(frame: pl.DataFrame) -> pl.DataFrame:
        # In memory: polars 2.1's streaming engine panicked in `plan`'s `when` chains.
        # One lazy query, collected once: only `op`, `outcome` and `matched_id` are asked
        # for, so polars leaves out the notes, reasons, changes and op ids the report needs
        # (and no warnings are gathered): about half the cost of the full diff and plan.
        pending = pending_reads(planned(diffed(frame.lazy())), every_match=everything)
        return pending.collect(engine="in-memory")

    listed = target_store(options.home, target).state_source != "written"
    creates, ids = False, pl.Series("ids", [], pl.String)
    for pending in matched.map(step, "reads").frames():
        creates = creates or bool(pending["creates"].any())
        ids = pl.concat([ids, pending["ids"].explode().drop_nulls().cast(pl.String)])
        if listed and (creates or not ids.is_empty()):
            break
    return creates, ids.unique()


async def _read_live(
    target: Target, snapshot: Snapshot, home: Path, creates: bool, ids: pl.Series
) -> Snapshot:
    """The target's state where the plan writes: a listed target's changes since the stored
    high-water mark; Omni's new leads (its feed, when the plan creates) and the leads it updates
    (by id)."""
    store = target_store(home, target)
    async with _client(target) as client:
        # A target wiped or replaced since the last run would make every stored match a lie:
        # a lead that is gone (one the plan reads, or a sample of the stored ones) means the
        # whole target is read again.
        if store.state_source != "written":
            lost = await store.lost(client, snapshot.leads)
            read = await store.refresh(client, full=lost, ids_only=snapshot.ids_only)
        else:
            read = snapshot
            if not ids.is_empty():
                read = await store.refresh_ids(client, ids.to_list())
            gone = bool(read.facts.get("gone")) or (
                ids.is_empty() and await store.lost(client, snapshot.leads)
            )
            if creates or gone:
                read = await store.read_feed(client, full=gone)
        reads = snapshot.facts.get("reads", 0) + client.http.stats.sent
        return replace(read, facts={**snapshot.facts, "reads": reads})


def _normal_target(
    snapshot: Snapshot, home: Path, *, live: bool = False, live_ids: pl.Series | None = None
) -> pl.DataFrame:
    """The snapshot's leads in the file's normal form (`normal_leads`), `_live` where read this
    run (all when `live`, else those of `live_ids`)."""
    normal = normal_leads(snapshot.leads.lazy(), home)
    return mark_live(normal, live_ids if live_ids is not None else live)


def normal_leads(leads: pl.LazyFrame, home: Path) -> pl.DataFrame:
    """A target's leads in the file's normal form (for match and diff); the numbers parsed for
    them join the phone cache, so the next plan against the same target only looks them up."""
    books = PhoneBooks(home, scratch=None)
    with books.book() as book:
        normal = normalise_target(leads, book).collect()
    books.save()
    return normal


async def _refresh_matched(
    target: Target, snapshot: Snapshot, home: Path, matched: pl.Series
) -> Snapshot:
    """A `written` snapshot (Omni) re-reads the leads this plan touches, by id."""
    ids = matched.drop_nulls().unique().to_list()
    store = target_store(home, target)
    async with _client(target) as client:
        refreshed = await store.refresh_ids(client, ids)
        reads = snapshot.facts.get("reads", 0) + client.http.stats.sent
        return replace(refreshed, facts={"reads": reads})


def diff_rows(
    parts: Parts,
    target_leads: pl.DataFrame,
    base: pl.DataFrame,
    vendor: VendorSpec,
    mapping: ResolvedMapping,
    options: SyncOptions,
) -> Parts:
    """`diff` of each partition, recorded as a query: `plan_rows` collects it with the plan
    (its seconds are the plan's)."""
    return parts.map_lazy(
        _diffed(target_leads.lazy(), base.lazy(), vendor, mapping, options), "diff"
    )


def _diffed(
    target: pl.LazyFrame,
    base: pl.LazyFrame,
    vendor: VendorSpec,
    mapping: ResolvedMapping,
    options: SyncOptions,
) -> Callable[[pl.LazyFrame], pl.LazyFrame]:
    """`diff` of a partition's rows against the target and the bases, as a lazy query."""
    fields = sorted(vendor.synced)
    mapped = {*mapping.sources, *mapping.constants}
    blanks = options.blanks

    def step(rows: pl.LazyFrame) -> pl.LazyFrame:
        return diff(
            rows,
            target,
            fields,
            blanks=blanks,
            mapped=mapped,
            base=base,
            send_once=vendor.send_once,
            on_target_edit=options.on_target_edit,
            status_locks=vendor.status_locks,
            outreach=vendor.outreach,
            allow_reopen=options.allow_reopen,
            target_name=vendor.name,
        )

    return step


def plan_rows(
    parts: Parts, vendor: VendorSpec, options: SyncOptions, profile: TargetProfile
) -> Parts:
    # One query with the diff before it, then the notes gathered into `warnings`.
    planned = parts.map_lazy(_planned(vendor, options, profile), "plan").map(
        lambda frame: collect_warnings(frame, into="warnings"), "plan"
    )
    if not options.dry_run:
        # On disk, each partition is matched, diffed and planned here in one pass
        # and written once: the push reads the requests, the report every row. A dry run has
        # only the report to make, and makes it in that one pass.
        planned = planned.spill("plan")
    return planned


def _planned(
    vendor: VendorSpec, options: SyncOptions, profile: TargetProfile
) -> Callable[[pl.LazyFrame], pl.LazyFrame]:
    """`plan` of a partition's diffed rows (new leads given the profile's defaults), lazy."""
    mode = options.mode
    defaults = {"customer_profile": profile.customer_profile}
    hints = _setting_hints(vendor, profile)

    def step(rows: pl.LazyFrame) -> pl.LazyFrame:
        filled = fill_new(rows, defaults)
        return plan(filled, vendor, mode=mode, profile=profile.name, hints=hints)

    return step


def push_plan(
    parts: Parts, options: SyncOptions, target: Target, mapper: PartMapper, listener: Listener
) -> Pushed:
    """The planned requests, journaled for this run (a resume keeps what it has), then sent:
    here, or in partitions of the ops on the Dask workers."""
    if options.dry_run:
        return Pushed(PushReport(), RequestStats().counts(), sent=False)
    vendor = VENDORS[target.profile.vendor]
    # Only the rows that send something, partition by partition.
    frame = pl.concat([requested(f) for f in parts.frames()], how="vertical")
    journal = run_journal(options)
    journal.start_run(
        options.run_id,
        profile=target.profile.name,
        source=str(options.source),
        mode=options.mode,
        target=target_address(target),
    )
    ops = journal_ops(journal, options.run_id, frame, vendor)
    if not mapper.distributed:
        try:
            report, requests = asyncio.run(send_ops(target, journal, options.run_id, ops, listener))
        finally:
            journal.close()
        return Pushed(report, requests)
    # What earlier attempts did is a fact of the whole run, not of one partition's ops.
    earlier = earlier_results(journal, options.run_id, {op.op_id for op in ops})
    journal.close()
    # Each partition opens its own client (key resolved on its worker) and journal; the ops
    # travel inside the task (not scattered): if its worker dies, Dask runs the task again
    # elsewhere, and the journal tells that push what the first one did.
    batches = [b for b in mapper.batches(ops, key=lambda op: op.op_id) if b]
    sent = mapper.each(
        batches, PushPart(options, os.environ.get("LEADPIPE_SANDBOX_URL")), "push-part"
    )
    return Pushed(*_merge(sent, earlier))


@dataclass(frozen=True)
class PushPart:
    """One partition's push, on a worker: its own client (the target resolved there, so the
    key comes from the worker's environment or Prefect Secret block and is never a task
    parameter) and journal; its requests draw from the target's global rate budget."""

    options: SyncOptions
    sandbox_url: str | None  # LEADPIPE_SANDBOX_URL of the driver (a worker may predate it)

    def __call__(self, ops: list[PlannedOp]) -> tuple[PushReport, dict[str, int]]:
        opts = self.options
        target = with_rate_budget(
            resolve_target(opts.target, opts.targets, opts.home, self.sandbox_url)
        )
        journal = run_journal(opts)
        try:
            return asyncio.run(send_ops(target, journal, opts.run_id, ops))
        finally:
            journal.close()


def refuse_unknown_resume(options: SyncOptions) -> None:
    """`--resume RUN_ID` of a run the journal does not know is a mistake (a typo, another
    LEADPIPE_HOME or journal_url), not a fresh import under that id: say so before any work."""
    if not options.resume:
        return
    journal = run_journal(options)
    try:
        known = journal.has_run(options.run_id)
    finally:
        journal.close()
    if not known:
        raise ConfigError(
            f"--resume {options.run_id}: no run of that id sent anything through this journal "
            f"({options.home / 'journal.db'} unless journal_url is set); check the id (each "
            "run directory's summary.json names it), or import again without --resume"
        )


def journal_ops(
    journal: Journal, run_id: str, frame: pl.DataFrame, vendor: VendorSpec
) -> list[PlannedOp]:
    """The requests of planned rows, journaled as planned with what each op sends and what its
    lead held before (`leadpipe revert` puts that back)."""
    ops = ops_from_plan(frame, vendor)
    previous = dict(zip(*previous_values(frame).to_dict(as_series=False).values(), strict=True))
    planned = [
        {
            "op_id": o.op_id,
            "source_row": o.source_row,
            "op": o.op,
            "sent": o.fields,
            "previous": previous.get(o.op_id),
        }
        for o in ops
    ]
    journal.plan(run_id, planned)
    return ops


def run_journal(options: SyncOptions | RevertOptions) -> Journal:
    """The run's journal (SQLAlchemy is imported here, by the runs that send: ~0.1 s)."""
    from connectors import open_journal

    url = options.journal_url.get_secret_value() if options.journal_url else None
    return open_journal(options.home, url)


async def send_ops(
    target: Target,
    journal: Journal,
    run_id: str,
    ops: Sequence[PlannedOp],
    listener: Listener | None = None,
) -> tuple[PushReport, dict[str, int]]:
    """Push journaled `ops` to `target` through one client; the listener (if any) hears the
    steps. The import, a Dask worker's partition and a revert all send this way."""
    progress = _told(listener, len(ops)) if listener is not None else None
    async with _client(target) as client:
        pushed = await push(
            client,
            journal,
            run_id,
            ops,
            concurrency=target.profile.concurrency,
            progress=progress,
            target=target_address(target),
            check_first=_check_first(target, client),
        )
        return pushed, client.http.stats.counts()


def _told(listener: Listener, total: int) -> Callable[[int], None]:
    """The push's progress callback: steps done so far, told to `listener` as (done, total)."""
    done = 0

    def progress(steps: int) -> None:
        nonlocal done
        done += steps
        listener.pushed(done, total)

    return progress


def _merge(
    parts: Sequence[tuple[PushReport, dict[str, int]]], earlier: dict[int, Any]
) -> tuple[PushReport, dict[str, int]]:
    """The push partitions' reports as one."""
    merged = PushReport(earlier=earlier)
    requests = dict.fromkeys(("sent", "retried", "throttled"), 0)
    for report, counts in parts:
        merged.results.update(report.results)
        merged.leads.extend(report.leads)
        merged.commits += report.commits
        merged.stopped = merged.stopped or report.stopped
        for key, value in counts.items():
            requests[key] = requests.get(key, 0) + value
    return merged, requests


def report_sync(
    parts: Parts,
    pushed: Pushed,
    snapshot: Snapshot,
    target: Target,
    options: SyncOptions,
    rundir: RunDir,
    extra: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
) -> Reported:
    """Planned outcomes, and what the push did to them; written to rows.parquet/rows.csv (part
    by part when there are several, keeping only the page's rows); a `written` snapshot (Omni)
    remembers the leads the push made or changed. `extra` adds a job's own columns."""
    report = pushed.report
    results = push_results_frame(report) if pushed.sent else None
    earlier = earlier_attempts_frame(report) if pushed.sent and report.earlier else None
    # What the push wrote joins the snapshot (a re-run matches it without reading), and each
    # synced lead's base the stored bases. A state file is the user's, never written to.
    remember = pushed.sent and snapshot.state_source != "file"
    plans: list[pl.DataFrame] = []
    writes: list[pl.DataFrame] = []
    bases: list[pl.DataFrame] = []
    fields = sorted(BASE_SCHEMA)

    def rows_of(frame: pl.DataFrame) -> pl.DataFrame:
        frame = apply_outcomes(frame, results, earlier)
        if remember:
            writes.append(existing_leads(frame))
            bases.append(next_base(frame, fields))
        plans.append(planned_requests(frame))
        rows = report_columns(frame)
        return rows if extra is None else extra(rows)

    rows, page = write_rows(parts, rows_of, rundir)
    if writes:
        store = target_store(options.home, target)
        store.remember(pl.concat(writes, how="vertical_relaxed"), report.leads)
        store.record_base(pl.concat(bases, how="vertical_relaxed"))
    return Reported(rows, page, pl.concat(plans, how="vertical"))


def _setting_hints(vendor: VendorSpec, profile: TargetProfile) -> dict[str, str]:
    """What would give a required field the file lacks: for Apten's customer profile, the
    target setting (its API lists no profiles: they are named in Apten's dashboard)."""
    if "customer_profile" not in vendor.create_required or profile.customer_profile:
        return {}
    return {
        "customer_profile": (
            f'set customer_profile = "<profile name>" under [targets.{profile.name}] in '
            "leadpipe.toml (the names are in Apten's dashboard), or map a column to "
            "customer_profile"
        )
    }


def target_address(target: Target) -> str:
    """The target's address in the journal: its lease, and the runs that wrote to it."""
    return lease_key(target.profile.vendor, target.profile.base_url)


def _check_first(target: Target, client: LeadClient) -> bool:
    """Search for each create's lead just before making it: the profile's `check_before_create`,
    only where the vendor has a search (a scan per create would grow with the push)."""
    return target.profile.check_before_create and not client.finds_by_scan


def sync_target(options: SyncOptions) -> Target:
    """The run's target: resolved, under its rate budget in a Prefect run."""
    return with_rate_budget(resolve_target(options.target, options.targets, options.home))


@contextmanager
def holding(options: SyncOptions | RevertOptions, target: Target) -> Iterator[None]:
    """An import (or a revert) holds its target's lease (connectors.hold_lease) from before it
    reads the target until its report is written: one writer per target at a time. A dry run
    writes nothing and holds nothing."""
    if options.dry_run:
        yield
        return
    journal = run_journal(options)
    try:
        with hold_lease(journal, target_address(target), options.run_id, wait=options.wait):
            yield
    finally:
        journal.close()


def reach_target(
    parts: Parts,
    options: SyncOptions,
    run: Run,
    rundir: RunDir,
    mapping: ResolvedMapping | None = None,
    target: Target | None = None,
) -> tuple[Target, Matched]:
    """snapshot -> match: the target (`sync_target`), its leads, and which of them each row is.
    A plan/import/migrate gives its `mapping`, and reads the target only where it writes;
    without one (reconcile) the target is read fresh."""
    target = target or sync_target(options)
    fresh = mapping is None
    snapshot = run.stage("snapshot", read_target, options, target, rundir, fresh=fresh)
    matched = run.stage(
        "match", match_rows_to_target, parts, snapshot, options, target, mapping, fresh=fresh
    )
    return target, matched


def finish_sync(
    summary: RunSummary,
    reported: Reported,
    pushed: Pushed,
    target: Target,
    options: SyncOptions,
    rundir: RunDir,
) -> None:
    """The rest of a plan/import's run directory; then stop with the error that stopped the
    push (a bad key, a target that went away), once the run directory says what happened to
    every row."""
    rundir.write_summary(summary)
    rundir.write_html(reported.page, summary)
    rundir.write_table("plan.parquet", reported.planned)
    rundir.remove_scratch()
    publish_summary(summary)
    if pushed.report.stopped:
        raise FatalVendorError(
            f"{pushed.report.stopped} (resume with --resume {options.run_id})",
            vendor=target.profile.vendor,
        )
