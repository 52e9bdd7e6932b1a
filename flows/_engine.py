"""The engine switch: one ordered list of stages, run in-process or as a Prefect flow.

A stage is a named function from a run state to the next run state. `run_stages` walks the
list once, timing each stage and sampling its peak memory; what runs a stage is the `runner`:
`run_locally` calls it,
`run_as_task` calls it as a Prefect task (inside a flow, so it shows in the Prefect UI).
Stages hold no Prefect code, so both engines produce the same state by construction.

With `--runner dask` the job's flow runs on a `prefect_dask.DaskTaskRunner` and
`flows._dask.run_on_dask` is the runner: the same stages, the CPU-heavy ones and the push
split into partitions that run as Prefect tasks on Dask workers.

Prefect itself is imported only when a job runs with `--engine prefect`: importing it costs
~1.6 s, and `lazy_flow` builds each job's Prefect flow on its first call instead of at import.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from schemas.exceptions import ImporterError

__all__ = [
    "Engine",
    "Stage",
    "StageTimes",
    "LazyFlow",
    "failing_quietly",
    "lazy_flow",
    "run_as_task",
    "run_flow",
    "run_job",
    "run_locally",
    "run_stages",
    "stage_memory",
    "stage_runner",
]

logger = logging.getLogger(__name__)

Engine = Literal["prefect", "local"]
State = TypeVar("State")


@dataclass(frozen=True)
class Stage(Generic[State]):
    """One arrow of the data flow: `run(state) -> state`."""

    name: str
    run: Callable[[State], State]


Runner = Callable[[Stage[State], State], State]


def run_locally(stage: Stage[State], state: State) -> State:
    """Call the stage in this process."""
    return stage.run(state)


def run_as_task(stage: Stage[State], state: State) -> State:
    """Call the stage as a Prefect task of the current flow run (no retries, no caching).

    Our own errors (`ImporterError`) end the task in a Failed state that carries the error, so
    Prefect records a one-line failure instead of logging a traceback; it is raised again here.
    """
    from prefect import task
    from prefect.cache_policies import NO_CACHE

    as_task = task(name=stage.name, cache_policy=NO_CACHE, persist_result=False)(
        failing_quietly(stage.run)
    )
    result: State = _result_of(as_task(state, return_state=True))
    return result


def stage_runner(engine: Engine, options: Any) -> Runner[Any]:
    """What runs each stage of a job with these options: Dask (`options.dask` set), a Prefect
    task, or a plain call."""
    if getattr(options, "dask", None) is not None:
        from flows._dask import run_on_dask

        return run_on_dask
    return run_as_task if engine == "prefect" else run_locally


def failing_quietly(run: Callable[..., Any]) -> Callable[..., Any]:
    """`run`, with our own errors returned as a Failed state carrying the error (for tasks and
    flows: Prefect then records a one-line failure instead of logging a traceback)."""
    from prefect.states import Failed

    @functools.wraps(run)
    def guarded(*args: Any) -> Any:
        try:
            return run(*args)
        except ImporterError as exc:
            return Failed(message=str(exc), data=exc)

    return guarded


class LazyFlow:
    """A Prefect flow made from `fn` (with `prefect.flow(**settings)`) on its first call.

    Calling it is calling that flow, with the same name, parameters and options as if `fn`
    had been decorated with `@flow(**settings)` directly.
    """

    def __init__(self, fn: Callable[..., Any], settings: dict[str, Any]) -> None:
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.settings = settings

    @functools.cached_property
    def flow(self) -> Any:
        """The Prefect flow itself (imports Prefect)."""
        from prefect import flow

        return flow(**self.settings)(self.fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.flow(*args, **kwargs)


def lazy_flow(**settings: Any) -> Callable[[Callable[..., Any]], LazyFlow]:
    """`@prefect.flow(**settings)`, applied when the flow is first called (see `LazyFlow`)."""

    def decorate(fn: Callable[..., Any]) -> LazyFlow:
        return LazyFlow(fn, settings)

    return decorate


def run_job(
    execute: Callable[[Any, Engine], dict[str, Any]],
    job_flow: Callable[..., Any],
    options: Any,
    engine: Engine,
) -> dict[str, Any]:
    """A job with the chosen engine: `execute` in-process, or its Prefect flow (which runs
    `execute` inside a flow run); either way the summary the job wrote."""
    if engine == "local":
        return execute(options, "local")
    if getattr(options, "dask", None) is not None:
        from flows._dask import run_flow_on_dask

        dask_summary: dict[str, Any] = run_flow_on_dask(job_flow, options)
        return dask_summary
    summary: dict[str, Any] = run_flow(job_flow, options)
    return summary


def run_flow(flow: Callable[..., Any], *args: Any) -> Any:
    """Call a Prefect flow and return its result, raising the error a Failed state carries."""
    return _result_of(flow(*args, return_state=True))


def _result_of(state: Any) -> Any:
    outcome = state.result(raise_on_failure=False)
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


class StageTimes(dict[str, float]):
    """Seconds per stage (the dict itself), and each stage's peak resident memory in MB."""

    def __init__(self) -> None:
        super().__init__()
        self.memory_mb: dict[str, float] = {}


def stage_memory(durations: dict[str, float]) -> dict[str, float]:
    """The peak RSS per stage `run_stages` measured along with `durations` (empty if none)."""
    return dict(durations.memory_mb) if isinstance(durations, StageTimes) else {}


def run_stages(
    stages: Sequence[Stage[State]], state: State, runner: Runner[State]
) -> tuple[State, StageTimes]:
    """Run the stages in order with `runner`; return the last state and seconds per stage
    (with each stage's peak RSS in `.memory_mb`).

    A stage's work may run later, inside another stage (a partition on disk is mapped,
    normalised and validated as it is next read: `transforms.partitions`): the seconds the
    state says an earlier stage's steps took during this one are that stage's, not this one's.
    """
    durations = StageTimes()
    for stage in stages:
        logger.info("stage %s started", stage.name)
        started = time.perf_counter()
        with PeakRSS() as peak:
            state = runner(stage, state)
        seconds = time.perf_counter() - started
        for name, spent in _deferred(state).items():
            if name != stage.name and name in durations:
                seconds -= spent
                durations[name] = round(durations[name] + spent, 4)
        durations[stage.name] = round(seconds, 4)
        durations.memory_mb[stage.name] = round(peak.mb, 1)
        logger.info(
            "stage %s finished in %.2f s, peak RSS %.0f MB",
            stage.name,
            durations[stage.name],
            peak.mb,
        )
    return state, durations


def _deferred(state: object) -> dict[str, float]:
    """Seconds of earlier stages' steps that ran in the stage just run, by stage name."""
    drain = getattr(state, "drain_deferred", None)
    return drain() if callable(drain) else {}


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
