"""The push executor: send planned operations safely, journal each one, never duplicate a lead.

For each op, with at most `concurrency` in flight (the client's limiter sets the pace):

1. already `succeeded` in the journal (a resume): nothing is sent;
2. a create the journal has as `sent` or `ambiguous` (a crash or a lost answer): the target is
   searched by the op's match keys first, and the lead is only created if it is not there;
3. otherwise `sent` is committed, the request goes out, and the result is committed.

An ambiguous create (sent, no answer) gets the same treatment at once: look, then create once
more only if absent; if it is still unknown it stays `ambiguous` for the next resume. A fatal
error (bad key) stops the run: ops not yet sent end `skipped` with that reason.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from connectors._client import LeadClient, RemoteLead, WriteResult
from connectors._journal import GroupCommit, Journal, OpResult
from connectors.exceptions import (
    AmbiguousWriteError,
    FatalVendorError,
    LeadConflict,
    PayloadRejected,
    VendorError,
)

__all__ = ["PlannedOp", "PushReport", "push"]

logger = logging.getLogger(__name__)

# How far before the journaled send time to look for a lead an ambiguous create may have made.
_LOOKBACK = timedelta(minutes=10)


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


async def push(
    client: LeadClient,
    journal: Journal,
    run_id: str,
    ops: Sequence[PlannedOp],
    *,
    concurrency: int = 8,
    progress: Callable[[int], None] | None = None,
) -> PushReport:
    """Send `ops` (see the module docstring); the journal holds the truth at every moment."""
    report = PushReport()
    before = {r["op_id"]: r for r in journal.ops(run_id).iter_rows(named=True)}
    log = GroupCommit(journal, run_id)
    gate = asyncio.Semaphore(concurrency)
    meter = _Progress(len(ops))

    async def one(op: PlannedOp) -> None:
        async with gate:
            if report.stopped:
                report.results[op.op_id] = OpResult(
                    "failed", error_code="skipped", error_message=report.stopped
                )
            else:
                report.results[op.op_id] = await _execute(
                    client, log, op, before.get(op.op_id), report
                )
            meter.advance()
            if progress:
                progress(1)

    await asyncio.gather(*(one(op) for op in ops))
    report.commits = log.commits
    return report


async def _execute(
    client: LeadClient,
    log: GroupCommit,
    op: PlannedOp,
    seen: Mapping[str, Any] | None,
    report: PushReport,
) -> OpResult:
    if seen and seen["state"] == "succeeded":
        return OpResult(
            "succeeded",
            seen["target_id"],
            seen["http_status"],
            seen["attempts"],
            seen["request_id"],
        )
    if op.op == "create" and seen and seen["target_id"]:
        # The lead exists (created before a follow-up failed): never create it again.
        return await _finish_created(client, log, op, seen, report)
    if op.op == "create" and seen and seen["state"] in ("sent", "ambiguous"):
        found = await _find(client, op, _since(seen["updated_at"]))
        if found is not None:
            return await _record(
                log, op, OpResult("succeeded", found.id, error_code="found_after_ambiguous")
            )
    result = await _send(client, log, op, report)
    if result.state == "ambiguous" and op.op == "create":
        found = await _find(client, op, _since(None))
        if found is not None:
            return await _record(
                log, op, OpResult("succeeded", found.id, error_code="found_after_ambiguous")
            )
        result = await _send(client, log, op, report)
    return result


async def _send(
    client: LeadClient, log: GroupCommit, op: PlannedOp, report: PushReport
) -> OpResult:
    await log.sent(op.op_id)  # committed before the request leaves
    try:
        write = (
            client.create(op.fields)
            if op.op == "create"
            else client.update(op.ref or "", op.fields)
        )
        written = await write
    except FatalVendorError as exc:
        report.stopped = f"the run stopped: {exc.vendor_message}"
        return await _record(log, op, _failure("failed", exc))
    except AmbiguousWriteError as exc:
        return await _record(log, op, _failure("ambiguous", exc))
    except LeadConflict as exc:
        return await _record(log, op, _failure("failed", exc, code="conflict"))
    except (VendorError, PayloadRejected) as exc:
        return await _record(log, op, _failure("failed", exc))
    if written.lead is not None:
        report.leads.append(written.lead)
    if op.op == "create" and op.then_update and written.id:
        return await _follow_up(client, log, op, written, report)
    return await _record(log, op, _success(written, op))


async def _finish_created(
    client: LeadClient, log: GroupCommit, op: PlannedOp, seen: Mapping[str, Any], report: PushReport
) -> OpResult:
    created = WriteResult(
        seen["target_id"], seen["http_status"] or 200, seen["request_id"], seen["attempts"] or 1
    )
    if op.then_update:
        return await _follow_up(client, log, op, created, report)
    return await _record(log, op, _success(created, op))


async def _follow_up(
    client: LeadClient, log: GroupCommit, op: PlannedOp, created: WriteResult, report: PushReport
) -> OpResult:
    """Set what the create could not carry; the lead exists either way: never re-created."""
    assert created.id is not None
    try:
        written = await client.update(created.id, op.then_update)
    except VendorError as exc:
        fields = ", ".join(op.then_update)
        message = f"created {created.id}, but setting {fields} failed: {exc.vendor_message}"
        failed = replace(_failure("failed", exc), target_id=created.id, error_message=message)
        return await _record(log, op, failed)
    if written.lead is not None:
        report.leads.append(written.lead)
    return await _record(log, op, _success(created, op))


class _Progress:
    """One INFO line at most every half second: done, total, rows/s, time left (for the CLI)."""

    def __init__(self, total: int) -> None:
        self.total, self.done = total, 0
        self.started = self.shown = time.monotonic()

    def advance(self) -> None:
        self.done += 1
        now = time.monotonic()
        if now - self.shown < 0.5 and self.done < self.total:
            return
        self.shown = now
        rate = self.done / max(now - self.started, 1e-9)
        left = (self.total - self.done) / rate if rate else 0.0
        logger.info(
            "pushed %d of %d (%.0f rows/s, about %.0f s left)", self.done, self.total, rate, left
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
    await log.record(op.op_id, result)  # committed before the result is acted on
    return result


async def _find(client: LeadClient, op: PlannedOp, since: str) -> RemoteLead | None:
    find = getattr(client, "find", None)
    if find is None or not op.keys:
        return None
    found: RemoteLead | None = await find(op.keys, since=since)
    return found


def _since(sent_at: str | None) -> str:
    moment = datetime.fromisoformat(sent_at) if sent_at else datetime.now(UTC)
    return (moment - _LOOKBACK).strftime("%Y-%m-%dT%H:%M:%SZ")
