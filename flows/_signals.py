"""Stop signals while a job runs: Ctrl-C (SIGINT), a supervisor's SIGTERM, a closed terminal's
SIGHUP. The job is told, its run says how to go on, and the process ends within seconds.

The first signal raises `Stopped` (a `KeyboardInterrupt`) in the main thread, where the job's
stages run: the push stops (requests in flight stay `sent` in the journal, which a resume
looks up before it sends anything again), the engine unwinds, and the CLI says one line. The
exit status is 128 + the signal's number: 130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP.

Unwinding must not hang the process: Prefect reports the crash to its API, and an API that
does not answer is retried for minutes. So if the process has not ended `GRACE_S` after the
signal, or a second signal comes, the line is said, the cleanups registered with
`on_forced_exit` run (the temporary Prefect server stopped, the run's scratch removed) and
the process ends at once (`os._exit`). From the first signal on, logging is off: Prefect's
"Crash detected!" records are about the same stop the line tells of.

    with stop_signals(say=lambda stopped: print(f"stopped by {stopped.signal_name}")):
        run_sync(options, engine)
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType

__all__ = ["GRACE_S", "Stopped", "on_forced_exit", "reclaimed", "stop_signals"]

# Seconds from the first signal to the forced end: enough for the push to commit what it has
# and for Prefect to record the crash with an API that answers.
GRACE_S = 5.0
_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
# What runs before a forced end (see `on_forced_exit`), and the `stop_signals` blocks running
# now (the innermost last): a signal is an event of the whole process.
_CLEANUPS: list[Callable[[], None]] = []
_WATCHING: list[_Watch] = []


class Stopped(KeyboardInterrupt):
    """A stop signal came while a job ran (`signum`); the process exits with `exit_code`."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


@contextlib.contextmanager
def on_forced_exit(cleanup: Callable[[], None]) -> Iterator[None]:
    """`cleanup` runs if the process is ended by force (see the module docstring) while the
    block runs. It must be quick, and safe from another thread."""
    _CLEANUPS.append(cleanup)
    try:
        yield
    finally:
        _CLEANUPS.remove(cleanup)


@contextlib.contextmanager
def stop_signals(say: Callable[[Stopped], None], grace_s: float = GRACE_S) -> Iterator[None]:
    """While the block runs, a stop signal raises `Stopped` out of it (see the module
    docstring), after `say` told the user (once: by the block's end, or by the forced end
    when the block does not end in time). Ctrl-C's `KeyboardInterrupt` from elsewhere becomes
    a `Stopped` too. Outside the main thread nothing changes (signals go there)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    watch = _Watch(say, grace_s)
    _WATCHING.append(watch)
    try:
        with _handled_by(watch):
            yield
    except KeyboardInterrupt as exc:
        stopped = exc if isinstance(exc, Stopped) else watch.first or Stopped(signal.SIGINT)
        watch.say_once(stopped)
        raise stopped from None
    finally:
        _WATCHING.remove(watch)


@contextlib.contextmanager
def reclaimed() -> Iterator[None]:
    """Inside `stop_signals`, the stop signals handled by it again while the block runs.

    Prefect's flow engine puts a SIGTERM handler of its own around a flow run (it logs the
    crash, then sends the signal again to the handler it replaced). A flow's body runs in
    `reclaimed()`, so SIGTERM stops it like Ctrl-C: quietly, and at once."""
    if not _WATCHING or threading.current_thread() is not threading.main_thread():
        yield
        return
    with _handled_by(_WATCHING[-1]):
        yield


@contextlib.contextmanager
def _handled_by(watch: _Watch) -> Iterator[None]:
    """The stop signals handled by `watch` while the block runs, and after it once one came:
    a second one while the process winds down (Prefect stops its server at exit) ends it."""
    before = {signum: signal.signal(signum, watch.handle) for signum in _SIGNALS}
    try:
        yield
    finally:
        if watch.first is None:
            for signum, handler in before.items():
                signal.signal(signum, handler)


class _Watch:
    """The handler of the stop signals of one block, and the forced end after it."""

    def __init__(self, say: Callable[[Stopped], None], grace_s: float) -> None:
        self._say = say
        self._grace_s = grace_s
        self.first: Stopped | None = None  # the signal that stops the block
        self._said = threading.Lock()  # held once said: the line is said once

    def handle(self, signum: int, frame: FrameType | None) -> None:
        stopped = Stopped(signum)
        if self.first is not None:  # a second signal: the user does not want to wait
            self._end_now(self.first)
        self.first = stopped
        logging.disable(logging.CRITICAL)
        threading.Thread(target=self._deadline, name="stop-deadline", daemon=True).start()
        raise stopped

    def say_once(self, stopped: Stopped) -> None:
        if self._said.acquire(blocking=False):
            self._say(stopped)

    def _deadline(self) -> None:
        time.sleep(self._grace_s)
        assert self.first is not None
        self._end_now(self.first)

    def _end_now(self, stopped: Stopped) -> None:
        self.say_once(stopped)
        for cleanup in list(_CLEANUPS):
            with contextlib.suppress(Exception):
                cleanup()
        os._exit(stopped.exit_code)
