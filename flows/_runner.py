"""The runner seam: what runs each step of a job, times it, and tells the listeners.

A job is a plain function that calls its stages in order through `Run.stage(name, fn, *args)`.
The `Run` decides how a stage runs — a plain call (`--engine local`), a Prefect task of the
job's flow run (`--engine prefect`), or, with `--runner dask`, a Prefect task on the driver
whose partitions go to the Dask workers through the run's part mapper (`flows._dask`) — and
records its seconds and peak resident memory. Stages hold no Prefect or Dask code, so every
engine produces the same results by construction.

A stage's work may run later, inside another stage: a partition on disk is mapped, normalised
and validated as it is next read (`flows._partitions`). Those seconds are timed on the run's
`StepClock` and given back to the stage they belong to.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from flows._artifacts import PushProgress
from flows._dask import DaskMapper, run_flow_on_dask
from flows._events import Listener, listeners
from flows._partitions import LocalMapper, PartMapper, StepClock
from flows._prefect import LazyFlow, failing_quietly, result_of, run_flow
from flows._signals import on_forced_exit
from flows.options import DaskSettings, Engine
from reports import RunDir

__all__ = ["Engine", "PeakRSS", "Run", "StageTimes", "run_job"]

P = ParamSpec("P")
R = TypeVar("R")


class StageTimes(dict[str, float]):
    """Seconds per stage (the dict itself), and each stage's peak resident memory in MB."""

    def __init__(self) -> None:
        super().__init__()
        self.memory_mb: dict[str, float] = {}


@dataclass
class Run:
    """How one job runs its stages, and what they took.

    `as_tasks`: each stage is a Prefect task of the current flow run. `mapper`: how steps that
    fan out over partitions run (in this process, or on Dask workers). The `fanned` stages of
    a Dask run are called in the flow itself, not as a task around their partitions: a task's
    context, which Prefect ships with every task submitted inside it, holds the task's
    parameters (every row, and the target).
    """

    engine: Engine
    as_tasks: bool = False
    mapper: PartMapper = field(default_factory=LocalMapper)
    clock: StepClock = field(default_factory=StepClock)
    times: StageTimes = field(default_factory=StageTimes)
    listener: Listener = field(default_factory=listeners)

    @classmethod
    def of(cls, engine: Engine, dask: DaskSettings | None = None) -> Run:
        """A run for `engine`, its partitions on Dask (`dask`) or here; besides the listeners
        registered in this process, a Prefect run moves a progress artifact as `push` goes."""
        mapper: PartMapper = DaskMapper(dask) if dask is not None else LocalMapper()
        heard = listeners(PushProgress())
        return cls(engine, as_tasks=engine == "prefect", mapper=mapper, listener=heard)

    def stage(self, name: str, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """`fn(*args, **kwargs)` as the stage `name`; its result."""
        return self._timed(name, self.as_tasks, fn, *args, **kwargs)

    def fanned(self, name: str, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """A stage whose steps go through `mapper` partition by partition: a task of its own,
        unless the mapper sends the partitions elsewhere as tasks of their own (Dask)."""
        as_task = self.as_tasks and not self.mapper.distributed
        return self._timed(name, as_task, fn, *args, **kwargs)

    def _timed(
        self, name: str, as_task: bool, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        self.listener.stage_started(name)
        started = time.perf_counter()
        with PeakRSS() as peak:
            result = _call(name, as_task, fn, *args, **kwargs)
        seconds = time.perf_counter() - started
        for earlier, spent in self.clock.drain().items():
            if earlier != name and earlier in self.times:
                seconds -= spent
                self.times[earlier] = round(self.times[earlier] + spent, 4)
        self.times[name] = round(seconds, 4)
        self.times.memory_mb[name] = round(peak.mb, 1)
        self.listener.stage_finished(name, self.times[name], peak.mb)
        return result


def _call(name: str, as_task: bool, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """`fn` called here, or as the Prefect task `name` of the current flow run (no retries, no
    caching; our own errors end it Failed with one line and are raised again here)."""
    if not as_task:
        return fn(*args, **kwargs)
    from prefect import task
    from prefect.cache_policies import NO_CACHE

    prefect_task = task(name=name, cache_policy=NO_CACHE, persist_result=False)(failing_quietly(fn))
    result: R = result_of(prefect_task(*args, return_state=True, **kwargs))
    return result


def run_job(
    execute: Callable[[Any, Engine], R], job_flow: LazyFlow, options: Any, engine: Engine
) -> R:
    """A job with the chosen engine: `execute` in-process, or its Prefect flow (which runs
    `execute` inside a flow run; on Dask with `options.dask`); either way what it returned.

    However the job ends (done, failed, interrupted, ended by force), the run directory's
    `.scratch` (decompressed and transcoded copies, partitions) is removed: a failed run must
    not leave gigabytes behind."""
    rundir = RunDir(options.out_dir)
    with on_forced_exit(rundir.remove_scratch):
        try:
            return _run_with(execute, job_flow, options, engine)
        finally:
            rundir.remove_scratch()


def _run_with(
    execute: Callable[[Any, Engine], R], job_flow: LazyFlow, options: Any, engine: Engine
) -> R:
    if engine == "local":
        return execute(options, "local")
    if getattr(options, "dask", None) is not None:
        on_dask: R = run_flow_on_dask(job_flow, options)
        return on_dask
    result: R = run_flow(job_flow, options)
    return result


class PeakRSS:
    """The largest resident set size of this process while the block runs, in MB (`.mb`).

    A daemon thread reads /proc/self/statm every `SAMPLE_S` (50 ms); `getrusage`'s lifetime
    peak is exact whenever it grew during the block, so a spike between two samples still
    counts.
    Off Linux only the getrusage part works (a block below the earlier peak reads 0 there).
    """

    # Often enough for a stage's peak (a spike that sets the lifetime peak is caught exactly),
    # seldom enough not to slow a push, whose event loop shares the GIL with this thread.
    SAMPLE_S = 0.05

    def __init__(self) -> None:
        self.mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="peak-rss", daemon=True)

    def __enter__(self) -> PeakRSS:
        self._floor = _lifetime_peak_mb()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        peak = _lifetime_peak_mb()
        if peak > self._floor:
            self.mb = max(self.mb, peak)

    def _sample(self) -> None:
        while True:
            self.mb = max(self.mb, _current_rss_mb())
            if self._stop.wait(self.SAMPLE_S):
                return


_PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20 if hasattr(os, "sysconf") else 0.0


def _current_rss_mb() -> float:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE_MB
    except (OSError, ValueError, IndexError):
        return 0.0


def _lifetime_peak_mb() -> float:
    try:
        import resource
    except ImportError:  # Windows
        return 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # kilobytes on Linux, bytes on macOS
    return float(peak) / (2**20 if sys.platform == "darwin" else 2**10)
