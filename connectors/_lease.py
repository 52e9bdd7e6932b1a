"""One writer per target at a time: a lease in the journal database.

Two imports of one file into one target at once (a cron overlap, a manual run during a
scheduled one, two machines) would each read the target before the other wrote, and both
create every lead. So an import takes its target's lease before it reads the target and holds
it through the push: the journal's `leases` table, one row per target address, taken by insert
(the primary key decides a race) or, from a holder that is gone, by compare-and-swap.

A holder renews its lease every `RENEW_S` seconds from a daemon thread (stages such as
normalise run for minutes with no hook to call). A lease not renewed for `STALE_S` seconds
is stale (its run was killed, its machine lost); so is one whose holder ran on this host under
a process id that no longer exists (a SIGKILLed run: the next run need not wait). A second
import waits up to `wait` seconds for the lease, then stops with one line naming the run that
holds it. The Dask workers of a run write under their driver's lease.

    with hold_lease(journal, "octanist https://octanist.com/api", run_id, wait=0):
        ...  # snapshot, match, diff, plan, push, report
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from connectors._retry import Clock, SystemClock
from schemas.exceptions import CannotProceedError

if TYPE_CHECKING:
    from connectors._journal import Journal

__all__ = ["RENEW_S", "STALE_S", "TargetBusy", "hold_lease", "lease_key"]

RENEW_S = 20.0
STALE_S = 120.0
_POLL_S = 2.0


class TargetBusy(CannotProceedError):
    """Another run holds the target's lease (exit 3): this run did not read or write it."""


def lease_key(vendor: str, base_url: str) -> str:
    """What a lease is taken on: the target's address (two profiles naming one target share it)."""
    return f"{vendor} {base_url.rstrip('/')}"


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _stale(row: dict[str, Any], now: datetime) -> bool:
    """A holder that stopped renewing, or a process of this host that no longer exists."""
    try:
        renewed = datetime.fromisoformat(str(row["renewed_at"]))
    except ValueError:
        return True
    if (now - renewed).total_seconds() > STALE_S:
        return True
    host, _, pid = str(row.get("holder", "")).rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


@contextmanager
def hold_lease(
    journal: Journal, target: str, run_id: str, *, wait: float = 0.0, clock: Clock | None = None
) -> Iterator[None]:
    """Hold `target`'s lease for `run_id` while the block runs (see the module docstring)."""
    clock = clock or SystemClock()
    started = clock.now()
    while True:
        held = journal.take_lease(
            target, run_id, _holder(), stale=lambda row: _stale(row, datetime.now(UTC))
        )
        if held is None:
            break
        if clock.now() - started >= wait:
            raise TargetBusy(
                f"{target.split(' ', 1)[-1]} is being written to by run {held['run_id']} "
                f"(on {held['holder']}, since {held.get('taken_at', '?')}): an import into one "
                "target at a time, or leads are created twice. Let it finish, or wait for it "
                "with --wait SECONDS"
            )
        _sleep(clock, min(_POLL_S, max(wait - (clock.now() - started), 0.0)))
    stop = threading.Event()
    renewer = threading.Thread(
        target=_renew, args=(journal, target, run_id, stop), name="leadpipe-lease", daemon=True
    )
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join(timeout=5)
        journal.release_lease(target, run_id)


def _renew(journal: Journal, target: str, run_id: str, stop: threading.Event) -> None:
    while not stop.wait(RENEW_S):
        try:
            journal.renew_lease(target, run_id)
        except Exception:  # noqa: BLE001 - a failed renewal only shortens the lease's life
            continue


def _sleep(clock: Clock, seconds: float) -> None:
    import asyncio

    asyncio.run(clock.sleep(seconds))
