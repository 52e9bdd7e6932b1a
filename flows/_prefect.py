"""The few Prefect calls the jobs share, with Prefect imported only when a job runs with
`--engine prefect`: importing it costs ~1.6 s, and `lazy_flow` builds each job's Prefect flow
on its first call instead of at import.

Without `PREFECT_API_URL`, Prefect starts a temporary server for the process on its first API
call (`--engine prefect` only: `auto` runs in-process then). `temporary_server_problem` says up
front when it could not (its database goes in PREFECT_HOME), and `run_flow` starts it itself,
as the stage `SERVER_STAGE` of the progress events (the terminal shows it with its seconds,
~15 s), in a process group of its own: Ctrl-C in a terminal signals the whole foreground
group, and a server stopped by it first would leave Prefect retrying its calls for minutes
(then "ConnectError") instead of recording the crash at once.
"""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from flows._events import listeners
from flows._prefect_api import configured_api_url
from flows._signals import on_forced_exit, reclaimed
from flows.options import folder_problem
from schemas.exceptions import CannotProceedError, ImporterError

__all__ = [
    "SERVER_STAGE",
    "LazyFlow",
    "failing_quietly",
    "lazy_flow",
    "prefect_home",
    "result_of",
    "run_flow",
    "temporary_server_problem",
]


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
        """The Prefect flow itself (imports Prefect); its body stops on SIGTERM as on Ctrl-C
        (`flows._signals.reclaimed`)."""
        from prefect import flow

        return flow(**self.settings)(_reclaiming_signals(self.fn))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.flow(*args, **kwargs)


def _reclaiming_signals(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def body(*args: Any, **kwargs: Any) -> Any:
        with reclaimed():
            return fn(*args, **kwargs)

    return body


def lazy_flow(**settings: Any) -> Callable[[Callable[..., Any]], LazyFlow]:
    """`@prefect.flow(**settings)`, applied when the flow is first called (see `LazyFlow`)."""

    def decorate(fn: Callable[..., Any]) -> LazyFlow:
        return LazyFlow(fn, settings)

    return decorate


def run_flow(flow: Callable[..., Any], *args: Any) -> Any:
    """Call a Prefect flow and return its result, raising the error a Failed state carries."""
    with _own_group_server():
        return result_of(flow(*args, return_state=True))


def prefect_home() -> Path:
    """PREFECT_HOME as Prefect reads it (default ~/.prefect), without importing Prefect."""
    return Path(os.environ.get("PREFECT_HOME") or "~/.prefect").expanduser()


def temporary_server_problem() -> str | None:
    """Why Prefect's temporary server cannot start in this process, or None (also when it is
    not needed: `PREFECT_API_URL` names a server). It keeps its SQLite database in
    PREFECT_HOME: when that cannot be written, Prefect retries for minutes and logs thousands
    of lines before it gives up."""
    if configured_api_url():
        return None
    home = prefect_home()
    problem = folder_problem(home)
    database = home / "prefect.db"
    if problem is None and database.exists() and not os.access(database, os.R_OK | os.W_OK):
        problem = f"holds {database.name}, which cannot be written"
    return f"PREFECT_HOME {home} {problem}" if problem else None


@contextlib.contextmanager
def _own_group_server() -> Iterator[None]:
    """The temporary server (if this process starts one) in a process group of its own, and
    stopped if the process is ended by force (`flows._signals`). Prefect hands every caller
    the one instance it keeps per port; registering ours first makes it that instance."""
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():
        yield
        return
    from prefect.server.api.server import SubprocessASGIServer

    if None in SubprocessASGIServer._instances:  # made earlier (an earlier flow of the process)
        server = SubprocessASGIServer._instances[None]
    else:
        server = _own_group_server_class()()
    with on_forced_exit(getattr(server, "kill", lambda: None)):
        _start_server(server)
        yield


# The progress stage the temporary server's start is shown as (flows._events listeners).
SERVER_STAGE = "Prefect's temporary server"


def _start_server(server: Any) -> None:
    """Start the temporary server now (Prefect would on its first call, silently), as the
    stage `SERVER_STAGE`; a start that fails or times out is one line saying what to do."""
    if getattr(server, "running", False):
        return
    heard = listeners()
    heard.stage_started(SERVER_STAGE)
    began = time.perf_counter()
    try:
        server.start()
    except (RuntimeError, OSError) as exc:  # Prefect raises RuntimeError on its time limit
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CannotProceedError(
            f"Prefect's temporary server did not start ({first[:200]}): set PREFECT_API_URL "
            "to a running Prefect server (`prefect server start`), or use --engine local"
        ) from None
    heard.stage_finished(SERVER_STAGE, round(time.perf_counter() - began, 4), 0.0)


@functools.cache
def _own_group_server_class() -> type[Any]:
    from prefect.server.api.server import SubprocessASGIServer

    class OwnGroupServer(SubprocessASGIServer):
        """Prefect's temporary server, started in a process group of its own."""

        def _run_uvicorn_command(self) -> subprocess.Popen[Any]:
            with _popen_in_own_group():
                process: subprocess.Popen[Any] = super()._run_uvicorn_command()
            return process

        def kill(self) -> None:
            """Stop it now (the forced end cannot wait for `stop`)."""
            process = self.server_process
            if process is not None and process.poll() is None:
                process.kill()

    return OwnGroupServer


class _OwnGroupPopen(subprocess.Popen):  # type: ignore[type-arg]
    """`subprocess.Popen` with the child in a new process group (`process_group=0`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("process_group", 0)
        super().__init__(*args, **kwargs)


@contextlib.contextmanager
def _popen_in_own_group() -> Iterator[None]:
    """Prefect's server module starts uvicorn with `subprocess.Popen` and no way to pass
    options: for that call, `Popen` is a subclass that adds `process_group=0` (a process
    another thread starts meanwhile gets a group of its own too, which is harmless)."""
    original = subprocess.Popen
    subprocess.Popen = _OwnGroupPopen  # type: ignore[misc]
    try:
        yield
    finally:
        subprocess.Popen = original  # type: ignore[misc]


def result_of(state: Any) -> Any:
    outcome = state.result(raise_on_failure=False)
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome
