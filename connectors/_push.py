"""The push executor: send planned operations safely, journal each one, never duplicate a lead.

For each op, with at most `concurrency` in flight (the client's limiter sets the pace):

1. already `succeeded` in the journal (a resume): nothing is sent;
2. a create the journal knows the lead of (created, but the follow-up update did not finish):
   only the follow-up is sent;
3. an op the journal has as `sent` or `ambiguous` (a crash or a lost answer): a create is
   searched for by the op's match keys, an update read back (applied if the lead holds every
   value it sends); it is only sent if it did not take effect;
4. a create another run into the same target journaled (op ids hash the row and its payload,
   not the run): one that made its lead is not made again if that lead still exists (a GET);
   one left `sent`/`ambiguous` (a killed import) is searched for as in 3. A plain re-run is as
   safe as `--resume`, even when the target does not list the killed run's leads yet;
5. with `check_first` (the profile's `check_before_create`), a create is searched for by its
   email (else its phone) among the leads made since the push began: one made meanwhile by
   someone else is not made again (the row is a `conflict` naming that lead; the next run
   matches it). It costs a request per create, so it is off unless a profile asks for it;
6. otherwise `sent` is committed, the request goes out, and the result is committed (in the
   next group commit, with the `sent` of the worker's next op: `connectors._journal.GroupCommit`;
   the push waits for all of them before it returns, and after a crash).

An ambiguous write (sent, no answer, or a gateway's 502/504 to a write that is not idempotent)
gets the same treatment at once: look, then send once more only if it did not take effect, up
to `_RESENDS` times. A create answered 2xx without the new lead's id (`AnswerWithoutId`) is
looked up the same way, but not sent again when the lookup finds nothing (the vendor said it
made it): it stays `ambiguous` with that reason. A write whose 2xx answer cannot be used
(`UnexpectedAnswer`) fails its row; a read that cannot be used (`VendorProtocolError`, e.g. a
lookup's listing that does not end) stops the run like a rejected key. Lookups of a vendor
that can only be scanned are coalesced (connectors/_lookups.py): one scan answers all that
wait. If it is still unknown, or the look itself fails, it stays `ambiguous` for the next
resume: an op whose fate is unknown is never re-sent blindly.

The run stops (ops not yet sent end `skipped` with the reason; the journal keeps them `planned`
for `--resume`) on a fatal error (bad key), or when the target has not answered
`UNREACHABLE_AFTER` requests in a row after every retry (it is down or unreachable).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from connectors._client import LeadClient, RemoteLead, WriteResult
from connectors._lookups import Lookups
from connectors._results import OpResult
from connectors.exceptions import (
    AmbiguousWriteError,
    AnswerWithoutId,
    FatalVendorError,
    LeadConflict,
    LeadNotFound,
    RateLimited,
    TransientVendorError,
    VendorError,
)
from schemas.frames import EARLIER_SCHEMA, PUSH_RESULT_SCHEMA

if TYPE_CHECKING:  # SQLAlchemy: loaded by whoever opens the journal, not by importing the push
    from connectors._journal import GroupCommit, Journal

__all__ = [
    "UNREACHABLE_AFTER",
    "PlannedOp",
    "PushReport",
    "earlier_attempts_frame",
    "earlier_results",
    "push",
    "push_results_frame",
]

logger = logging.getLogger(__name__)

# How far before the journaled send time to look for a lead an ambiguous create may have made.
_LOOKBACK = timedelta(minutes=10)
# Times an unanswered create is looked up and, when absent, sent again before it is left
# `ambiguous` for the next resume (each round needs a lost answer: 1-in-16 in a harsh storm).
_RESENDS = 3
# Requests in a row without any answer (after all their retries) that mean "the target is down".
# One is not enough: under a storm of resets a single unlucky request may exhaust its retries.
UNREACHABLE_AFTER = 3
_WHAT = {"create": "the lead was created", "update": "the update was applied"}
# A create answered 2xx without the new lead's id (connectors._shapes): looked up, not resent.
_NO_ID = AnswerWithoutId.code_name


@dataclass(frozen=True)
class PlannedOp:
    """One request to make: a create, or an update of `ref`."""

    op_id: str
    source_row: int
    op: Literal["create", "update"]
    fields: Mapping[str, Any]
    ref: str | None = None
    keys: Mapping[str, str] = field(default_factory=dict)  # to find an ambiguous create
    # Fields a vendor takes only on update (Octanist status/value): sent to the new lead next.
    then_update: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class PushReport:
    """What the push did: a result per op, leads the target returned, and why it stopped."""

    results: dict[str, OpResult] = field(default_factory=dict)
    leads: list[RemoteLead] = field(default_factory=list)
    stopped: str | None = None
    commits: int = 0  # journal transactions the group commit needed
    commit_seconds: float = 0.0  # time inside those transactions
    # A resumed run: ops an earlier attempt of it sent that this attempt did not plan again
    # (the target shows them done), by source row: (op, result), creates first.
    earlier: dict[int, tuple[str, OpResult]] = field(default_factory=dict)


@dataclass
class _Session:
    """What every op of one push shares, and the counter that decides the target is down."""

    client: LeadClient
    log: GroupCommit
    report: PushReport
    lookups: Lookups
    # Creates other runs into this target journaled, by op id (`Journal.earlier_creates`).
    prior: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    check_first: bool = False  # search for each create's lead before making it
    began: str = ""  # when the push began, less `_LOOKBACK`: the window `check_first` searches
    unanswered: int = 0  # requests in a row that got no answer at all, after every retry

    def answered(self) -> None:
        self.unanswered = 0

    def failed(self, exc: VendorError) -> None:
        """Stop the run on a fatal error, or on the UNREACHABLE_AFTER-th unanswered request."""
        if isinstance(exc, FatalVendorError):
            self.stop(exc.vendor_message)
        elif _unanswered(exc):
            self.unanswered += 1
            if self.unanswered >= UNREACHABLE_AFTER:
                self.stop(
                    f"the target did not answer {self.unanswered} requests in a row, each "
                    f"tried {exc.attempts} times; the last: {exc.vendor_message}"
                )

    def stop(self, why: str) -> None:
        if self.report.stopped is None:
            self.report.stopped = f"the run stopped: {why}"
            logger.warning("%s", self.report.stopped)


async def push(
    client: LeadClient,
    journal: Journal,
    run_id: str,
    ops: Sequence[PlannedOp],
    *,
    concurrency: int = 8,
    progress: Callable[[int], None] | None = None,
    target: str | None = None,
    check_first: bool = False,
) -> PushReport:
    """Send `ops` (see the module docstring); the journal holds the truth at every moment.
    `target` is the target's address (`lease_key`): other runs' creates into it are looked up."""
    from connectors._journal import GroupCommit

    report = PushReport()
    before = {r["op_id"]: r for r in journal.ops(run_id).iter_rows(named=True)}
    report.earlier = _earlier(before.values(), {op.op_id for op in ops})
    creates = (op.op_id for op in ops if op.op == "create" and _unsent(before.get(op.op_id)))
    session = _Session(
        client,
        GroupCommit(journal, run_id),
        report,
        Lookups(client),
        prior=journal.earlier_creates(target, run_id, creates) if target else {},
        check_first=check_first,
        began=_since(None),
    )
    meter = _Progress(len(ops), progress)
    queue = iter(ops)

    async def worker() -> None:
        # A pool of `concurrency` workers, each taking the next op when its last is done (not
        # a task per op: no 100k tasks parked on a semaphore). A worker goes straight from one
        # op's result to the next op's `sent`, so both ride in one group commit.
        for op in queue:
            if report.stopped:
                report.results[op.op_id] = OpResult(
                    "failed", error_code="skipped", error_message=report.stopped
                )
            else:
                report.results[op.op_id] = await _execute(session, op, before.get(op.op_id))
            meter.advance()

    workers = [asyncio.ensure_future(worker()) for _ in range(max(1, concurrency))]
    try:
        await asyncio.gather(*workers)
    except BaseException:
        # A crash (an exception out of a request, or a cancel): the other workers stop where
        # they are (a request in flight stays `sent`), the results queued so far are committed
        # as far as the journal allows, then the exception goes on.
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        try:
            await session.log.drain()
        except Exception:  # noqa: BLE001 - the first failure is the one to raise
            logger.warning("the journal could not record the last results", exc_info=True)
        session.log.close()
        meter.finish()
        raise
    try:
        await session.log.drain()
    finally:
        session.log.close()
    meter.finish()
    report.commits = session.log.commits
    report.commit_seconds = session.log.seconds
    return report


async def _execute(s: _Session, op: PlannedOp, seen: Mapping[str, Any] | None) -> OpResult:
    if seen and seen["state"] == "succeeded":
        return _journaled(seen)
    if op.op == "create" and seen and seen["target_id"]:
        # The lead exists (created before a follow-up failed or a kill): never create it again.
        return await _created(s, op, _journaled(seen))
    if seen and seen["state"] in ("sent", "ambiguous"):
        looked = await _look(s, op, _since(seen["updated_at"]))
        if looked is not None:
            return looked
    if op.op == "create" and _unsent(seen):
        known = await _known_elsewhere(s, op)
        if known is not None:
            return known
    result = await _send(s, op)
    for _ in range(_RESENDS):
        if result.state != "ambiguous" or s.report.stopped:
            break
        looked = await _look(s, op, _since(None))
        if looked is not None:
            return looked
        if result.error_code == _NO_ID:
            return await _record(s.log, op, _not_found(op, result))
        result = await _send(s, op)
    return result


async def _known_elsewhere(s: _Session, op: PlannedOp) -> OpResult | None:
    """The create's lead if another run made it (and it still exists), or if it may have
    (`sent`/`ambiguous` there, found by its keys), or if someone made it meanwhile
    (`check_first`); None when it is to be sent."""
    prior = s.prior.get(op.op_id)
    if prior is not None and prior["target_id"]:
        try:
            lead = await s.client.get(str(prior["target_id"]))
        except LeadNotFound:
            lead = None  # deleted in the target since: make it again
        except VendorError as exc:
            return await _unknown(s, op, exc)
        if lead is not None:
            s.answered()
            made = OpResult("succeeded", lead.id, error_code="created_by_earlier_run")
            return await _created(s, op, made)
    elif prior is not None:
        looked = await _look(s, op, _since(str(prior["updated_at"])))
        if looked is not None:
            return looked
    if s.check_first and op.keys:
        # One search, by the email (else the phone): a lead sharing only the phone of a row
        # with an email is another person (a company's switchboard), not this one.
        by = next(({k: op.keys[k]} for k in ("email", "phone") if op.keys.get(k)), {})
        try:
            found = await s.lookups.find(by, s.began)
        except VendorError as exc:
            return await _unknown(s, op, exc)
        s.answered()
        if found is not None:
            return await _record(s.log, op, _made_meanwhile(s, op, found))
    return None


def _made_meanwhile(s: _Session, op: PlannedOp, found: RemoteLead) -> OpResult:
    keys = " or ".join(f"{k} {v}" for k, v in sorted(op.keys.items()))
    # No target id on the row: its lead is not one this run wrote (no snapshot, no base).
    return OpResult(
        "failed",
        error_code="conflict",
        error_message=(
            f"{s.client.vendor} already has lead {found.id} with this {keys}, made since this "
            "import read the target: not created again; the next import matches and updates it"
        ),
    )


def _not_found(op: PlannedOp, answered: OpResult) -> OpResult:
    """A create the vendor answered 2xx without an id, and the lookup did not find its lead:
    the vendor said it made it, so it is not sent again now (a search that lags behind would
    double it); it stays `ambiguous`, and a resume looks for it once more before it sends."""
    why = (
        f"no lead with its {' or '.join(sorted(op.keys))} was found"
        if op.keys
        else "the row has no email or phone to look its lead up by"
    )
    return replace(
        answered, error_message=f"{answered.error_message}; {why}, so it was not sent again"
    )


async def _look(s: _Session, op: PlannedOp, since: str) -> OpResult | None:
    """Did an earlier, unanswered write of `op` take effect? Its result if so or if unknown.

    A create is searched for by its match keys; an update is read back: it took effect if the
    lead holds every value it sent. None means "it did not": the caller sends it (again). When
    the look itself fails the op is recorded `ambiguous` (never re-sent blindly) and the next
    resume looks again.
    """
    try:
        found = await (s.lookups.find(op.keys, since) if op.op == "create" else _read_back(s, op))
    except VendorError as exc:
        return await _unknown(s, op, exc)
    if found is None:
        return None
    s.answered()
    adopted = OpResult("succeeded", found.id, error_code="found_after_ambiguous")
    return (
        await _created(s, op, adopted) if op.op == "create" else await _record(s.log, op, adopted)
    )


async def _unknown(s: _Session, op: PlannedOp, exc: VendorError) -> OpResult:
    """A look that failed: the op is `ambiguous` (never sent blindly); a later run looks again."""
    s.failed(exc)
    unknown = replace(
        _failure("ambiguous", exc),
        error_message=f"could not check whether {_WHAT[op.op]}: {exc.vendor_message}",
    )
    return await _record(s.log, op, unknown)


async def _read_back(s: _Session, op: PlannedOp) -> RemoteLead | None:
    """The lead of an update if it already holds every value the update sends, else None."""
    if not op.ref:
        return None
    try:
        lead = await s.client.get(op.ref)
    except LeadNotFound:
        return None  # sending it again reports the lead as gone
    held = all(lead.fields.get(name) == value for name, value in op.fields.items())
    return lead if held else None


async def _send(s: _Session, op: PlannedOp) -> OpResult:
    await s.log.sent(op.op_id)  # committed before the request leaves
    try:
        write = (
            s.client.create(op.fields)
            if op.op == "create"
            else s.client.update(op.ref or "", op.fields)
        )
        written = await write
    except AmbiguousWriteError as exc:
        return await _record(s.log, op, _failure("ambiguous", exc))
    except LeadConflict as exc:
        return await _record(s.log, op, _failure("failed", exc, code="conflict"))
    except VendorError as exc:  # PayloadRejected included: never sent
        s.failed(exc)
        return await _record(s.log, op, _failure("failed", exc))
    s.answered()
    if op.op == "create" and not written.id:
        # Whatever the client: a create is never recorded without its lead's id (it may exist).
        return await _record(s.log, op, _failure("ambiguous", _without_id(s, written)))
    if written.lead is not None:
        s.report.leads.append(written.lead)
    if op.op == "create" and op.then_update:
        return await _created(s, op, _success(written, op))
    return await _record(s.log, op, _success(written, op))


def _without_id(s: _Session, written: WriteResult) -> AnswerWithoutId:
    return AnswerWithoutId(
        f"the create answered {written.http_status} without the new lead's id",
        vendor=s.client.vendor,
        status=written.http_status,
        code=_NO_ID,
        request_id=written.request_id,
        attempts=written.attempts,
    )


async def _created(s: _Session, op: PlannedOp, created: OpResult) -> OpResult:
    """The lead of a create exists: send what the create could not carry, then record it."""
    if op.then_update:
        # The new id is committed first: a kill before the follow-up answers never re-creates.
        await s.log.record(op.op_id, replace(created, state="sent"), wait=True)
        return await _follow_up(s, op, created)
    return await _record(s.log, op, created)


async def _follow_up(s: _Session, op: PlannedOp, created: OpResult) -> OpResult:
    """Set what the create could not carry; the lead exists either way: never re-created."""
    assert created.target_id is not None
    try:
        written = await s.client.update(created.target_id, op.then_update)
    except VendorError as exc:
        s.failed(exc)
        fields = ", ".join(op.then_update)
        message = f"created {created.target_id}, but setting {fields} failed: {exc.vendor_message}"
        failed = replace(
            _failure("failed", exc), target_id=created.target_id, error_message=message
        )
        return await _record(s.log, op, failed)
    s.answered()
    if written.lead is not None:
        s.report.leads.append(written.lead)
    return await _record(s.log, op, created)


class _Progress:
    """One INFO line at most every half second: done, total, rows/s, time left (for the CLI);
    the listener (`progress`) hears the steps at most every 0.1 s, not once per request."""

    def __init__(self, total: int, listener: Callable[[int], None] | None = None) -> None:
        self.total, self.done = total, 0
        self.listener, self.heard = listener, 0
        self.started = self.shown = self.told = time.monotonic()

    def advance(self) -> None:
        self.done += 1
        now = time.monotonic()
        if self.listener is not None and (now - self.told >= 0.1 or self.done == self.total):
            self.told = now
            self._tell()
        if now - self.shown < 0.5 and self.done < self.total:
            return
        self.shown = now
        rate = self.done / max(now - self.started, 1e-9)
        left = (self.total - self.done) / rate if rate else 0.0
        logger.info(
            "pushed %d of %d (%.0f rows/s, about %.0f s left)", self.done, self.total, rate, left
        )

    def finish(self) -> None:
        """The steps not yet told (a push that stopped early, or ended between two ticks)."""
        self._tell()

    def _tell(self) -> None:
        if self.listener is not None and self.done > self.heard:
            self.listener(self.done - self.heard)
            self.heard = self.done


def earlier_results(
    journal: Journal, run_id: str, planned: set[str]
) -> dict[int, tuple[str, OpResult]]:
    """`PushReport.earlier` of a push of all of `planned`, when it goes out in partitions:
    each partition's push only knows its own ops and counts the others' as earlier."""
    return _earlier(journal.ops(run_id).iter_rows(named=True), planned)


def push_results_frame(report: PushReport) -> pl.DataFrame:
    """One row per pushed request (PUSH_RESULT_SCHEMA): its state, lead, HTTP facts and error.

    `transforms.outcomes` lays it over the planned rows by `op_id`.
    """
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
            for op_id, r in report.results.items()
        ],
        schema=PUSH_RESULT_SCHEMA,
        orient="row",
    )


def earlier_attempts_frame(report: PushReport) -> pl.DataFrame:
    """One row per source row an earlier attempt of the run wrote (EARLIER_SCHEMA): the op and
    its facts (`PushReport.earlier`); empty unless the run was resumed."""
    return pl.DataFrame(
        [
            (row, op, r.target_id, r.http_status, r.attempts, r.request_id)
            for row, (op, r) in report.earlier.items()
        ],
        schema=EARLIER_SCHEMA,
        orient="row",
    )


def _earlier(
    journaled: Iterable[Mapping[str, Any]], planned: set[str]
) -> dict[int, tuple[str, OpResult]]:
    """Ops earlier attempts sent that this attempt did not plan again, by source row.

    Succeeded ones, and those a kill cut off (`sent`/`ambiguous`, or a create whose follow-up
    failed): this attempt planned nothing for them because the target already shows them
    done, so the report says what the earlier attempt did
    (`transforms.outcomes.apply_earlier_attempts`).
    """
    done = sorted(
        (r for r in journaled if r["op_id"] not in planned and _was_sent(r)),
        key=lambda r: r["op"] == "create",  # a row this run created reads "created"
    )
    return {r["source_row"]: (r["op"], _journaled(r)) for r in done}


def _unsent(row: Mapping[str, Any] | None) -> bool:
    """Whether this run has not sent the op yet (it may only be planned)."""
    return row is None or row["state"] == "planned"


def _was_sent(row: Mapping[str, Any]) -> bool:
    """Whether a journaled op may have taken effect (the lead of a failed create exists)."""
    state = row["state"]
    return state in ("succeeded", "sent", "ambiguous") or (
        state == "failed" and row["op"] == "create" and bool(row["target_id"])
    )


def _unanswered(exc: VendorError) -> bool:
    """No HTTP answer at all, after every retry: could not connect, or timed out / reset."""
    return (
        isinstance(exc, TransientVendorError)
        and not isinstance(exc, RateLimited)
        and exc.status is None
    )


def _journaled(seen: Mapping[str, Any]) -> OpResult:
    """The success an earlier attempt journaled (its HTTP facts kept for the report)."""
    return OpResult(
        "succeeded", seen["target_id"], seen["http_status"], seen["attempts"], seen["request_id"]
    )


def _success(written: WriteResult, op: PlannedOp) -> OpResult:
    return OpResult(
        "succeeded", written.id or op.ref, written.http_status, written.attempts, written.request_id
    )


def _failure(state: str, exc: VendorError, code: str | None = None) -> OpResult:
    return OpResult(
        state,
        http_status=exc.status,
        attempts=exc.attempts,
        request_id=exc.request_id,
        error_code=code or exc.code or type(exc).__name__,
        error_message=exc.vendor_message,
    )


async def _record(log: GroupCommit, op: PlannedOp, result: OpResult) -> OpResult:
    """Queue an op's final result: it rides in the next group commit with the next requests'
    `sent` (the worker does not wait for it: nothing acts on it before the push ends, and a
    crash before it commits leaves the op `sent`, which a resume looks up)."""
    await log.record(op.op_id, result, wait=False)
    return result


def _since(sent_at: str | None) -> str:
    moment = datetime.fromisoformat(sent_at) if sent_at else datetime.now(UTC)
    return (moment - _LOOKBACK).strftime("%Y-%m-%dT%H:%M:%SZ")
