"""Progress as events: a job tells its listeners what it does, nobody parses its logs.

Three events: a stage started, a stage finished (seconds, peak memory), and the push moved
(`done` of `total` requests answered). The terminal display (`flows.cli`) and the Prefect
artifacts (`flows._artifacts`) are two listeners; a job's `Run` tells all that are listening
while it runs (`listening`), in this process.

    with listening(my_listener):
        run_check(options, "local")
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Protocol

__all__ = ["Listener", "Listeners", "listeners", "listening"]

logger = logging.getLogger(__name__)


class Listener(Protocol):
    """What a job tells about its progress."""

    def stage_started(self, name: str) -> None: ...

    def stage_finished(self, name: str, seconds: float, peak_mb: float) -> None: ...

    def pushed(self, done: int, total: int) -> None: ...


class Listeners:
    """Every listener registered now, as one (and the log, at INFO)."""

    def __init__(self, registered: list[Listener]) -> None:
        self._registered = registered  # in the order they hear each event

    def stage_started(self, name: str) -> None:
        logger.info("stage %s started", name)
        for one in self._registered:
            one.stage_started(name)

    def stage_finished(self, name: str, seconds: float, peak_mb: float) -> None:
        logger.info("stage %s finished in %.2f s, peak RSS %.0f MB", name, seconds, peak_mb)
        for one in self._registered:
            one.stage_finished(name, seconds, peak_mb)

    def pushed(self, done: int, total: int) -> None:
        for one in self._registered:
            one.pushed(done, total)


_REGISTERED: list[Listener] = []


def listeners(*own: Listener) -> Listeners:
    """The listeners registered in this process, and `own`, as one listener."""
    return Listeners([*_REGISTERED, *own])


@contextlib.contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """`listener` hears every job run in this process while the block runs."""
    _REGISTERED.append(listener)
    try:
        yield
    finally:
        _REGISTERED.remove(listener)
