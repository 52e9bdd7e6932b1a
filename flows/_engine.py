"""The engine switch: one ordered list of stages, run in-process or as a Prefect flow.

A stage is a named function from a run state to the next run state. `run_stages` walks the
list once, timing each stage; what runs a stage is the `runner`: `run_locally` calls it,
`run_as_task` calls it as a Prefect task (inside a flow, so it shows in the Prefect UI).
Stages hold no Prefect code, so both engines produce the same state by construction.

Prefect itself is imported only when a job runs with `--engine prefect`: importing it costs
~1.6 s, and `lazy_flow` builds each job's Prefect flow on its first call instead of at import.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from schemas.exceptions import ImporterError

__all__ = [
    "Engine",
    "Stage",
    "LazyFlow",
    "failing_quietly",
    "lazy_flow",
    "run_as_task",
    "run_flow",
    "run_job",
    "run_locally",
    "run_stages",
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


def run_stages(
    stages: Sequence[Stage[State]], state: State, runner: Runner[State]
) -> tuple[State, dict[str, float]]:
    """Run the stages in order with `runner`; return the last state and seconds per stage."""
    durations: dict[str, float] = {}
    for stage in stages:
        logger.info("stage %s started", stage.name)
        started = time.perf_counter()
        state = runner(stage, state)
        durations[stage.name] = round(time.perf_counter() - started, 4)
        logger.info("stage %s finished in %.2f s", stage.name, durations[stage.name])
    return state, durations
