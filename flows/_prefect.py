"""The few Prefect calls the jobs share, with Prefect imported only when a job runs with
`--engine prefect`: importing it costs ~1.6 s, and `lazy_flow` builds each job's Prefect flow
on its first call instead of at import.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from schemas.exceptions import ImporterError

__all__ = ["LazyFlow", "failing_quietly", "lazy_flow", "result_of", "run_flow"]


def failing_quietly(run: Callable[..., Any]) -> Callable[..., Any]:
    """`run`, with our own errors returned as a Failed state carrying the error (for tasks and
    flows: Prefect then records a one-line failure instead of logging a traceback)."""
    from prefect.states import Failed

    @functools.wraps(run)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return run(*args, **kwargs)
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


def run_flow(flow: Callable[..., Any], *args: Any) -> Any:
    """Call a Prefect flow and return its result, raising the error a Failed state carries."""
    return result_of(flow(*args, return_state=True))


def result_of(state: Any) -> Any:
    outcome = state.result(raise_on_failure=False)
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome
