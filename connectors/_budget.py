"""One rate budget for every worker that writes to a target: a Prefect global concurrency limit
with slot decay, leased in batches.

Each client's own token bucket (`_ratelimit.py`) holds one process to `rate_limit_per_s`; with N
workers that is N times the vendor's limit. The global budget sits under it: before a request
goes out, `take()` hands out one token of a *lease*.

A lease is the whole limit. The limit `leadpipe-rate-<profile>` has `limit = k` slots and
`slot_decay_per_second = d` (the profile's `rate_limit_per_s`), and a worker takes all k slots
at once (`POST /v2/concurrency_limits/increment`, `mode=rate_limit`, the call behind
`prefect.concurrency.asyncio.rate_limit`). The server grants k slots only when the previous k
have decayed, so leases never overlap: lease j starts at least k/d seconds after lease j-1. The
holder releases its k tokens one per 1/d seconds, and only while its lease lasts (a token it
did not use in time is dropped). So across all workers requests leave at least 1/d apart, and
any one-second window holds at most d + 1 of them, however many workers there are.

A worker that is refused a lease reads the limit once (its slots still held, after decay) and
asks again the moment the holder's lease has decayed, when the holder asks too: whoever gets
there first sends next, so workers take turns instead of one keeping the budget to itself.

Costs: one call to the Prefect API per lease (k = d x `LEASE_SECONDS` requests), plus two (a
refused ask and a read) per lease for each worker waiting its turn.
A client closing with part of a lease left gives it back; a worker that dies holding one wastes
the rest of it (its slots just decay). One worker sends
at a time, so one worker's `concurrency` must be able to reach `rate_limit_per_s` on its own.

`LocalBudget` is the budget when no Prefect API is in play (`--engine local`): it lets every
request through, and the client's token bucket is the only limit (right for one process).
The Prefect calls sit behind `SlotSource`, so tests drive leases with a fake and a fake clock.
"""

from __future__ import annotations

import asyncio
import logging
import math
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, Protocol

from connectors._retry import Clock, SystemClock
from connectors.exceptions import BudgetUnavailable

__all__ = [
    "LEASE_SECONDS",
    "BudgetStats",
    "LeasedBudget",
    "LocalBudget",
    "PrefectSlots",
    "RateBudget",
    "SlotSource",
    "budget_name",
    "ensure_rate_limit",
    "lease_slots",
    "open_budget",
]

logger = logging.getLogger(__name__)

# How long one lease lasts. Each lease costs its holder one round trip to the Prefect API of
# idle time (the next lease is granted only after the last decayed, and it learns of it one
# answer later): ~1 % at 40 ms, ~8 % at 330 ms (a busy 2-core machine). Longer also means
# fewer calls, but a coarser turn-taking and more waste when a holder dies.
LEASE_SECONDS = 4.0
_PREFIX = "leadpipe-rate-"
_EPSILON = 1e-6  # float sums of 1/rate must not cost a lease its last token
_COURTESY = 0.05  # how long a holder lets a waiting worker go first (costs ~1 % of a lease)
_WAKE_EARLY = 0.005  # a token may go out this much before it is due (timers fire late)


def budget_name(profile: str) -> str:
    """The Prefect global concurrency limit of a target profile: `leadpipe-rate-<profile>`."""
    return _PREFIX + profile


def lease_slots(rate: float, seconds: float = LEASE_SECONDS) -> int:
    """Slots (requests) in one lease: `seconds` worth at `rate`, at least one."""
    return max(1, round(rate * seconds))


@dataclass
class BudgetStats:
    """What the budget cost: calls to its server, and what became of the tokens."""

    calls: int = 0  # calls to the budget's server (granted + denied)
    grants: int = 0
    denied: int = 0
    tokens: int = 0  # requests let through
    expired: int = 0  # tokens of leases that ran out before they were used
    call_seconds: float = 0.0  # time spent waiting for the server's answers

    def counts(self) -> dict[str, float]:
        return {
            "calls": self.calls,
            "grants": self.grants,
            "denied": self.denied,
            "tokens": self.tokens,
            "expired": self.expired,
            "call_seconds": round(self.call_seconds, 4),
        }


class RateBudget(Protocol):
    """What the HTTP layer asks before each request."""

    stats: BudgetStats

    async def take(self) -> None:
        """Wait until this process may send one request."""
        ...

    async def aclose(self) -> None: ...


class SlotSource(Protocol):
    """Where leases come from.

    `open()` comes once, before the first ask (setting up a client must not eat into the first
    lease); `take(k)` is None when k slots were granted, else the seconds to wait before asking
    again; `free_in()` is how long until the slots held now have decayed; `give_back(n)`
    returns n slots a lease will not use.
    """

    async def open(self) -> None: ...

    async def take(self, slots: int) -> float | None: ...

    async def free_in(self) -> float: ...

    async def give_back(self, slots: int) -> None: ...

    async def aclose(self) -> None: ...


class LocalBudget:
    """No global budget: every request may go (the client's token bucket still paces it)."""

    def __init__(self) -> None:
        self.stats = BudgetStats()

    async def take(self) -> None:
        self.stats.tokens += 1

    async def aclose(self) -> None:
        return None


class LeasedBudget:
    """Tokens from exclusive leases of `batch` slots, released one per 1/`rate` seconds."""

    def __init__(
        self,
        slots: SlotSource,
        rate: float,
        *,
        batch: int | None = None,
        clock: Clock | None = None,
        name: str = "budget",
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.name = name
        self.batch = batch or lease_slots(rate)
        self.spacing = 1.0 / rate
        self.stats = BudgetStats()
        self._slots = slots
        self._clock = clock or SystemClock()
        self._lock = asyncio.Lock()
        self._left = 0  # tokens left in the current lease
        self._next = -math.inf  # when the next token is due (released up to `_early` before)
        self._early = min(self.spacing / 4, _WAKE_EARLY)
        self._last = -math.inf  # latest release the current lease allows
        self._renew = -math.inf  # earliest moment to ask for another lease
        self._opened = False

    async def take(self) -> None:
        async with self._lock:
            while True:
                now = self._clock.now()
                if self._left and self._next <= self._last + _EPSILON:
                    if now < self._next - self._early:
                        await self._clock.sleep(self._next - self._early - now)
                        continue
                    if now <= self._last + _EPSILON:
                        self._left -= 1
                        # On the 1/rate grid: a timer that fires late must not slow every
                        # later token down by as much (it may fire a little early instead).
                        self._next = max(self._next, now) + self.spacing
                        self.stats.tokens += 1
                        return
                self._drop_lease()
                if now < self._renew:
                    await self._clock.sleep(self._renew - now)
                    continue
                await self._lease()

    async def _lease(self) -> None:
        """Ask for the next lease; on a grant, its tokens may go out from now until
        `sent + (batch - 1) / rate`: the server cannot grant the next lease before
        `granted + batch / rate`, and it granted this one after `sent`."""
        if not self._opened:
            await self._slots.open()
            self._opened = True
        sent = self._clock.now()
        wait = await self._slots.take(self.batch)
        answered = self._clock.now()
        self.stats.calls += 1
        self.stats.call_seconds += answered - sent
        if wait is not None:
            # Ask again when the holder's lease has decayed (it asks then too), not after the
            # server's Retry-After, which is often long past it: turns, not one worker's budget.
            # At most a quarter lease apart: a holder that finishes gives its lease back early.
            # (Counted from when the read left: the ask then arrives as the lease decays.)
            self.stats.denied += 1
            asked = self._clock.now()
            free_in = await self._slots.free_in()
            self.stats.calls += 1
            self._renew = asked + min(wait, free_in, self.batch * self.spacing / 4)
            return
        self.stats.grants += 1
        self._left = self.batch
        self._next = max(answered, self._next)
        self._last = sent + (self.batch - 1) * self.spacing
        # The server granted it between `sent` and `answered`, so it has decayed by about
        # `sent + batch / rate` (asking a little early costs a refusal and a read, not a
        # lease); asking `_COURTESY` later leaves the next lease to a worker that waited for it.
        self._renew = sent + self.batch * self.spacing + max(self.spacing, _COURTESY)
        logger.debug("%s: leased %d requests", self.name, self.batch)

    def _drop_lease(self) -> None:
        if self._left:
            self.stats.expired += self._left
            self._left = 0

    async def aclose(self) -> None:
        """Give back what is left of a lease (a client done with a snapshot read, or a worker
        done with its share, would otherwise hold everyone up until it decays); then close."""
        if self._left and self._clock.now() <= self._last:
            await self._slots.give_back(self._left)
            self.stats.calls += 1
        self._drop_lease()
        await self._slots.aclose()
        if self.stats.calls:
            logger.info(
                "%s: %d requests in %d leases of %d, %d denied asks, %.0f ms waiting on the server",
                self.name,
                self.stats.tokens,
                self.stats.grants,
                self.batch,
                self.stats.denied,
                self.stats.call_seconds * 1000,
            )


class PrefectSlots:
    """Leases from a Prefect global concurrency limit with slot decay (the server's rate limit)."""

    def __init__(self, name: str, vendor: str) -> None:
        self.name = name
        self.vendor = vendor
        self._stack = AsyncExitStack()
        self._client: Any = None

    async def open(self) -> None:
        await self._open()

    async def take(self, slots: int) -> float | None:
        import httpx

        client = await self._open()
        try:
            response = await client.increment_concurrency_slots(
                names=[self.name], slots=slots, mode="rate_limit"
            )
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code == 423:  # Locked: not yet, come back after Retry-After
                return float(exc.response.headers.get("Retry-After") or 1.0)
            raise self._unavailable(f"answered {exc.response.status_code}") from None
        except (httpx.HTTPError, OSError) as exc:
            raise self._unavailable(f"did not answer ({type(exc).__name__})") from None
        if not response.json():  # the limit is gone: the server grants nothing, silently
            raise self._unavailable("has no such limit (was it deleted?)")
        return None

    async def free_in(self) -> float:
        import httpx

        client = await self._open()
        try:
            limit = await client.read_global_concurrency_limit_by_name(self.name)
        except (httpx.HTTPError, OSError) as exc:
            raise self._unavailable(f"did not answer ({type(exc).__name__})") from None
        decay = float(limit.slot_decay_per_second or 0.0)
        return float(limit.active_slots) / decay if decay > 0 else 1.0

    async def give_back(self, slots: int) -> None:
        import httpx

        client = await self._open()
        try:
            # occupancy_seconds must be > 0; it feeds only concurrency limits' averages
            await client.release_concurrency_slots(
                names=[self.name], slots=slots, occupancy_seconds=1.0
            )
        except (httpx.HTTPError, OSError) as exc:  # they decay anyway: only log it
            logger.info("%s: could not give back %d slots (%s)", self.name, slots, exc)

    async def _open(self) -> Any:
        if self._client is None:
            from prefect.client.orchestration import get_client

            self._client = await self._stack.enter_async_context(get_client())
        return self._client

    def _unavailable(self, why: str) -> BudgetUnavailable:
        return BudgetUnavailable(
            f"the Prefect API holding the rate budget {self.name!r} {why}; "
            "the run stops so the vendor's limit holds",
            vendor=self.vendor,
        )

    async def aclose(self) -> None:
        await self._stack.aclose()
        self._client = None


def open_budget(
    name: str | None, *, rate: float, vendor: str, clock: Clock | None = None
) -> RateBudget:
    """The budget a client draws from: the Prefect limit `name`, or local only (None)."""
    if name is None:
        return LocalBudget()
    return LeasedBudget(PrefectSlots(name, vendor), rate, clock=clock, name=name)


def ensure_rate_limit(name: str, rate: float, *, vendor: str, batch: int | None = None) -> None:
    """Create the global concurrency limit `name` (a lease of `batch` slots decaying at `rate`
    per second), or bring an existing one to those settings; workers may race to do it."""
    import httpx
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import (
        GlobalConcurrencyLimitCreate,
        GlobalConcurrencyLimitUpdate,
    )
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    limit = batch or lease_slots(rate)
    try:
        with get_client(sync_client=True) as client:
            try:
                current = client.read_global_concurrency_limit_by_name(name)
            except ObjectNotFound:
                try:
                    client.create_global_concurrency_limit(
                        GlobalConcurrencyLimitCreate(
                            name=name, limit=limit, slot_decay_per_second=rate
                        )
                    )
                    logger.info("created rate budget %s: %d slots, %.2f/s", name, limit, rate)
                    return
                except ObjectAlreadyExists:  # another worker made it meanwhile
                    current = client.read_global_concurrency_limit_by_name(name)
            if current.limit != limit or current.slot_decay_per_second != rate:
                client.update_global_concurrency_limit(
                    name, GlobalConcurrencyLimitUpdate(limit=limit, slot_decay_per_second=rate)
                )
                logger.info("updated rate budget %s: %d slots, %.2f/s", name, limit, rate)
    except (httpx.HTTPError, OSError) as exc:
        raise BudgetUnavailable(
            f"could not set up the rate budget {name!r} on the Prefect API "
            f"({type(exc).__name__}); the run stops so the vendor's limit holds",
            vendor=vendor,
        ) from None
