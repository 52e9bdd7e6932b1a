"""`--runner dask`: a job's own steps on a `prefect_dask.DaskTaskRunner`.

`run_flow_on_dask` runs a job's Prefect flow with a `DaskTaskRunner` (a running scheduler, or
a LocalCluster of worker processes made for the run). Every stage runs as a Prefect task in
the driver, as with `--engine prefect`, except those that fan out over partitions: their part
mapper is a `DaskMapper`, which runs each partition as a Prefect task on the Dask workers
(`<stage>-part`):

- `normalise`: each partition normalised with the phone cache as the driver read it (sent to
  the cluster once); each returns its rows and the numbers it parsed, and the cache is saved
  once, by the driver;
- `validate`: each partition (every check of `transforms.validate` is per row);
- `push` (import): the planned ops, split by a stable hash of their op id (an op lands in the
  same partition on every attempt, a resume included); each partition opens its own client
  and journal connection on its worker, and the driver merges the reports.

The driver holds one partition at a time: each is sent to the cluster as it is read, and each
result is written to the run's scratch folder as it comes back, so the partition memory bound
holds on the driver too. Workers get nothing the driver holds in memory only: a partition's
parameters are frames, planned ops and the run's options (the journal URL a `SecretStr`).
Without `PREFECT_API_URL` the driver's temporary Prefect server is started here and its
address handed to the workers (else each would start its own).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import polars as pl

from flows._partitions import Parts, SideStep
from flows._prefect import failing_quietly, run_flow
from flows.exceptions import ConfigError, DaskUnavailable
from flows.options import DaskSettings

__all__ = ["DaskMapper", "partition_of", "run_flow_on_dask"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")
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


def partition_of(op_id: str, partitions: int) -> int:
    """The push partition of an op: the same on every attempt and in every process."""
    return zlib.crc32(op_id.encode()) % partitions


class DaskMapper:
    """A job's partitions on the Dask workers of the current flow run's task runner."""

    distributed = True

    def __init__(self, settings: DaskSettings) -> None:
        self.settings = settings

    def rows_per_part(self, partition_rows: int, rows: int) -> int:
        """At least `settings.partitions` partitions, none above `partition_rows` rows."""
        return max(1, min(partition_rows, math.ceil(rows / self.settings.partitions)))

    def batches(self, items: Sequence[T], key: Callable[[T], str]) -> list[list[T]]:
        split: list[list[T]] = [[] for _ in range(self.settings.partitions)]
        for item in items:
            split[partition_of(key(item), self.settings.partitions)].append(item)
        return split

    def each(self, batches: Sequence[T], fn: Callable[[T], R], name: str) -> list[R]:
        send = _task(fn, name)
        return [_outcome(future) for future in [send.submit(batch) for batch in batches]]

    def map(self, parts: Parts, step: Callable[[pl.DataFrame], pl.DataFrame], name: str) -> Parts:
        return self._run(parts, _Plain(step), name, keep=None)

    def map_keeping(
        self, parts: Parts, step: SideStep, name: str, keep: Callable[[Any], None]
    ) -> Parts:
        return self._run(parts, step, name, keep=keep)

    def _run(
        self, parts: Parts, step: SideStep, name: str, keep: Callable[[Any], None] | None
    ) -> Parts:
        """`step` of every partition on the workers (the step itself sent once); each result
        laid down as it comes back, in row order."""
        task, shared = _task(_apply, f"{name}-part"), _scatter(step)
        futures = [task.submit(shared, _scatter(frame)) for frame in parts.frames()]

        def results() -> Iterator[pl.DataFrame]:
            for future in futures:
                rows, side = _outcome(future)
                if keep is not None:
                    keep(side)
                yield rows

        return Parts.build(results(), scratch=parts.scratch, name=name, clock=parts.clock)


class _Plain:
    """A step without a side result, as a step with one (None)."""

    def __init__(self, step: Callable[[pl.DataFrame], pl.DataFrame]) -> None:
        self.step = step

    def __call__(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, None]:
        return self.step(frame), None


def _apply(step: SideStep, frame: pl.DataFrame) -> tuple[pl.DataFrame, Any]:
    return step(frame)


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
