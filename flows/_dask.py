"""`--runner dask`: the job's own stage list on a `prefect_dask.DaskTaskRunner`.

`run_flow_on_dask` runs a job's Prefect flow with a `DaskTaskRunner` (a running scheduler, or
a LocalCluster of worker processes made for the run). `run_on_dask` is the stage runner: every
stage runs as a Prefect task in the driver, as with `--engine prefect`, except these, which it
splits into partitions that run as Prefect tasks on the Dask workers (`<stage>-part`):

- `normalise`: row ranges of the mapped frame, each normalised with the phone cache as the
  driver read it; each partition returns its rows and the numbers it parsed, the rows are
  concatenated in source order and the cache is saved once, by the driver;
- `validate`: the same row ranges (every check of `transforms.validate` is per row);
- `push` (import): the planned ops, split by a stable hash of their op id (an op lands in the
  same partition on every attempt, a resume included); each partition opens its own client
  and journal connection on its worker, runs `connectors.push`, and the driver merges the
  reports into the one `PushReport` the report stage reads.

Workers get nothing the driver holds in memory only: a partition's parameters are frames,
planned ops and the run's options (the journal URL a `SecretStr`); the target is resolved on
the worker, so the API key comes from the worker's environment or Prefect Secret block and is
never a task parameter. Without `PREFECT_API_URL` the driver's temporary Prefect server is
started here and its address handed to the workers (else each would start its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import os
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import polars as pl

from connectors import open_client
from connectors._push import PlannedOp, PushReport, earlier_results, push
from flows._engine import Stage, failing_quietly, run_as_task, run_flow
from flows._phonebook import PhoneBooks
from flows._targets import resolve_target, with_rate_budget
from flows.check import CheckState
from flows.config import DaskSettings, SyncOptions
from flows.exceptions import ConfigError, DaskUnavailable
from transforms.normalise import normalise
from transforms.partitions import row_ranges as partition_ranges
from transforms.phones import PHONE_RESULT_SCHEMA, PhoneBook
from transforms.validate import validate

__all__ = ["partition_of", "row_ranges", "run_flow_on_dask", "run_on_dask"]

logger = logging.getLogger(__name__)

S = TypeVar("S", bound=CheckState)
# Seconds to wait for a scheduler given by address before the run stops (exit 3).
_CONNECT_TIMEOUT_S = 10


def run_flow_on_dask(job_flow: Any, options: Any) -> Any:
    """Run `job_flow` (a `LazyFlow`) with `options` on Dask; its result, or the error it raised."""
    from prefect_dask.task_runners import DaskTaskRunner

    settings: DaskSettings = options.dask
    _refuse_in_process_sandbox(options)
    if settings.address:
        _probe(settings.address)
        runner = DaskTaskRunner(address=settings.address)
    else:
        runner = DaskTaskRunner(
            cluster_kwargs={
                "n_workers": settings.workers,
                "processes": True,
                "threads_per_worker": 1,
                "dashboard_address": None,
            }
        )
    with _api_for_workers():
        return run_flow(job_flow.flow.with_options(task_runner=runner), options)


def run_on_dask(stage: Stage[S], state: S) -> S:
    """The stage as a Prefect task; normalise, validate and push split into partitions.

    A split stage runs in the flow itself, not as a task around its partitions: a task's
    context, which Prefect ships with every task submitted inside it, holds the task's
    parameters (here the whole run state: every row, and the target with its key).
    """
    split = _SPLIT.get(stage.name)
    if split is None:
        return run_as_task(stage, state)
    result: S = split(stage, state)
    return result


def row_ranges(height: int, partitions: int) -> list[tuple[int, int]]:
    """(offset, length) of up to `partitions` contiguous, nearly equal row ranges."""
    if height == 0:
        return []
    return partition_ranges(height, math.ceil(height / partitions))


def partition_of(op_id: str, partitions: int) -> int:
    """The push partition of an op: the same on every attempt and in every process."""
    return zlib.crc32(op_id.encode()) % partitions


def _normalise(stage: Stage[S], state: S) -> S:
    """normalise per row range; the phone numbers the partitions parsed saved once."""
    opts, frame = state.options, state.need_frame()
    if frame.is_empty():
        return stage.run(state)
    books = PhoneBooks(opts.home, scratch=None)
    parts = _each_range(
        state,
        _task(_normalise_part, "normalise-part"),
        known=books.known,
        region=opts.default_region,
    )
    for _, parsed in parts:
        books.set_aside(parsed)
    phones = books.save()
    normalised = pl.concat([rows for rows, _ in parts])
    return dataclasses.replace(state, frame=normalised, facts={**state.facts, "phones": phones})


def _normalise_part(
    rows: pl.DataFrame, known: pl.DataFrame, region: str | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    book = PhoneBook(known)
    # In memory, as flows/check.py does: the streaming engine's order-keeping joins are slower.
    normalised = normalise(rows.lazy(), book, default_region=region).collect(engine="in-memory")
    return normalised, book.added.cast(PHONE_RESULT_SCHEMA)  # type: ignore[arg-type]


def _validate(stage: Stage[S], state: S) -> S:
    if state.need_frame().is_empty():
        return stage.run(state)
    parts = _each_range(state, _task(validate, "validate-part"))
    return dataclasses.replace(state, frame=pl.concat(parts))


def _each_range(state: CheckState, task: Any, **shared: Any) -> list[Any]:
    """`task(<row range>, **shared)` for each row range of the frame, on the workers; the
    results in row order."""
    frame = state.need_frame()
    assert state.options.dask is not None
    shared = {name: _scatter(value) for name, value in shared.items()}
    futures = [
        task.submit(_scatter(frame.slice(offset, length)), **shared)
        for offset, length in row_ranges(frame.height, state.options.dask.partitions)
    ]
    return [_outcome(future) for future in futures]


def _push(stage: Stage[S], state: S) -> S:
    """push per partition of the ops; each partition on a worker with its own connections."""
    from flows.sync import SyncState, journal_plan

    assert isinstance(state, SyncState)
    opts = state.options
    if opts.dry_run:
        return stage.run(state)
    assert opts.dask is not None
    journal, ops = journal_plan(state)
    # What earlier attempts did is a fact of the whole run, not of one partition's ops.
    earlier = earlier_results(journal, opts.run_id, {op.op_id for op in ops})
    journal.close()
    send = _task(_push_part, "push-part")
    sandbox_url = os.environ.get("LEADPIPE_SANDBOX_URL")
    futures = [
        # The ops travel inside the task (not scattered): if its worker dies, Dask runs the
        # task again elsewhere, and the journal tells that push what the first one did.
        send.submit(opts, part, sandbox_url=sandbox_url)
        for part in _split_ops(ops, opts.dask.partitions)
        if part
    ]
    pushed, requests = _merge([_outcome(future) for future in futures], earlier)
    return dataclasses.replace(state, pushed=pushed, requests=requests)


def _split_ops(ops: Sequence[PlannedOp], partitions: int) -> list[list[PlannedOp]]:
    parts: list[list[PlannedOp]] = [[] for _ in range(partitions)]
    for op in ops:
        parts[partition_of(op.op_id, partitions)].append(op)
    return parts


def _push_part(
    options: SyncOptions, ops: list[PlannedOp], sandbox_url: str | None
) -> tuple[PushReport, dict[str, int]]:
    """One partition's push, on a worker: its own client (key resolved here) and journal; its
    requests draw from the target's global rate budget, shared with every other partition."""
    from flows.sync import open_journal

    target = with_rate_budget(
        resolve_target(options.target, options.targets, options.home, sandbox_url)
    )
    journal = open_journal(options)

    async def send() -> tuple[PushReport, dict[str, int]]:
        async with open_client(target.profile, transport=target.transport) as client:
            concurrency = target.profile.concurrency
            pushed = await push(client, journal, options.run_id, ops, concurrency=concurrency)
            return pushed, client.http.stats.counts()

    try:
        return asyncio.run(send())
    finally:
        journal.close()


def _merge(
    parts: list[tuple[PushReport, dict[str, int]]], earlier: dict[int, Any]
) -> tuple[PushReport, dict[str, int]]:
    merged, requests = (
        PushReport(earlier=earlier),
        dict.fromkeys(("sent", "retried", "throttled"), 0),
    )
    for report, counts in parts:
        merged.results.update(report.results)
        merged.leads.extend(report.leads)
        merged.commits += report.commits
        merged.stopped = merged.stopped or report.stopped
        for key, value in counts.items():
            requests[key] = requests.get(key, 0) + value
    return merged, requests


_SPLIT: dict[str, Callable[[Stage[Any], Any], Any]] = {
    "normalise": _normalise,
    "validate": _validate,
    "push": _push,
}


def _task(fn: Callable[..., Any], name: str) -> Any:
    """`fn` as the Prefect task `name` for the workers: no caching, results stay in memory."""
    from prefect import task
    from prefect.cache_policies import NO_CACHE

    return task(name=name, cache_policy=NO_CACHE, persist_result=False)(failing_quietly(fn))


def _scatter(value: Any) -> Any:
    """`value` sent to the cluster ahead of the task that takes it (a Dask future the task's
    parameter resolves to): data inside a task's graph is slower to ship, and Dask warns."""
    from prefect.context import FlowRunContext
    from prefect_dask.task_runners import DaskTaskRunner

    context = FlowRunContext.get()
    assert context is not None and isinstance(context.task_runner, DaskTaskRunner)
    [future] = context.task_runner.client.scatter([value], hash=False)  # type: ignore[no-untyped-call]
    return future


def _outcome(future: Any) -> Any:
    """A partition's result, or the error that ended it raised here.

    A push partition whose worker dies is run again by Dask on another worker (its journal
    tells it what the first attempt did); rows scattered to a worker that died are gone, and
    so is a task that killed workers `distributed.scheduler.allowed-failures` times: the run
    stops with one line (an import resumes with --resume).
    """
    from distributed import KilledWorker
    from distributed.client import FutureCancelledError

    try:
        outcome = future.result(raise_on_failure=False)
    except (KilledWorker, FutureCancelledError) as exc:
        raise DaskUnavailable(
            f"the Dask cluster lost a partition's task ({type(exc).__name__}): run it again; "
            "an import resumes with --resume RUN_ID"
        ) from None
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def _refuse_in_process_sandbox(options: Any) -> None:
    """An import's partitions push from other processes: they cannot share an in-process
    sandbox, so a built-in sandbox target needs a sandbox server."""
    target = getattr(options, "target", "")
    if (
        target.startswith("sandbox:")
        and not getattr(options, "dry_run", True)
        and not os.environ.get("LEADPIPE_SANDBOX_URL")
    ):
        raise ConfigError(
            f"--runner dask pushes from worker processes: start `leadpipe sandbox` and set "
            f"LEADPIPE_SANDBOX_URL for --target {target}"
        )


def _probe(address: str) -> None:
    """Stop with one line (exit 3) when the scheduler does not answer."""
    from distributed import Client

    try:
        with Client(  # type: ignore[no-untyped-call]
            address, timeout=_CONNECT_TIMEOUT_S, set_as_default=False
        ):
            pass
    except (OSError, TimeoutError, ValueError) as exc:
        raise DaskUnavailable(
            f"cannot reach the Dask scheduler at {address} ({type(exc).__name__})"
        ) from None


@contextlib.contextmanager
def _api_for_workers() -> Iterator[None]:
    """Without PREFECT_API_URL, the driver's temporary Prefect server for driver and workers.

    Workers take Prefect's settings from the task's serialized context: with no API URL in it,
    each worker process would start (and stop) a temporary server of its own, ~15 s apiece.
    """
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if PREFECT_API_URL.value():
        yield
        return
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start(timeout=120)
    with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
        yield
