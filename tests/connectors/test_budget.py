"""The global rate budget: leases of a decaying limit, released one per 1/rate seconds.

Most tests run in virtual time: `VirtualClock` moves only when every coroutine waits, and
`FakeLimit` answers like Prefect's rate-limit endpoint (slots decay at `decay` per second,
floored; a full limit answers "come back after Retry-After"). No test sleeps real seconds.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import random
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx
import pytest

from benchmarks.rate_limit import most_in_one_second
from connectors import (
    BudgetStats,
    LeasedBudget,
    LocalBudget,
    TargetProfile,
    budget_name,
    ensure_rate_limit,
    open_client,
)
from connectors._budget import lease_slots
from connectors.exceptions import BudgetUnavailable
from tests.connectors.fakes import FakeClock, Script

T = TypeVar("T")


class VirtualClock:
    """Time that jumps to the next timer once every coroutine is waiting."""

    def __init__(self) -> None:
        self.t = 0.0
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self.t + max(seconds, 0.0), next(self._seq), future))
        await future

    def run(self, main: Callable[[], Awaitable[T]]) -> T:
        async def drive() -> T:
            task = asyncio.ensure_future(main())
            while True:
                for _ in range(20):  # let everything runnable run until it waits again
                    await asyncio.sleep(0)
                if task.done():
                    return task.result()
                assert self._timers, "every coroutine waits and no timer is set"
                when, _, future = heapq.heappop(self._timers)
                self.t = max(self.t, when)
                future.set_result(None)

        return asyncio.run(drive())


class FakeLimit:
    """A Prefect global concurrency limit with slot decay, as its increment endpoint behaves."""

    def __init__(self, clock: VirtualClock, limit: int, decay: float, seed: int = 1) -> None:
        self.clock, self.limit, self.decay = clock, limit, decay
        self.active = 0
        self.updated = clock.now()
        self.calls = 0
        self._rng = random.Random(seed)

    def free_in(self) -> float:
        self.calls += 1
        elapsed = self.clock.now() - self.updated
        return max(0, self.active - math.floor(self.decay * elapsed + 1e-9)) / self.decay

    def decrement(self, slots: int) -> None:
        self.calls += 1
        elapsed = self.clock.now() - self.updated
        after = max(0, self.active - math.floor(self.decay * elapsed + 1e-9))
        self.active, self.updated = max(0, after - slots), self.clock.now()

    def increment(self, slots: int) -> float | None:
        self.calls += 1
        if slots > self.limit:
            raise BudgetUnavailable("422: slots requested is greater than the limit", vendor="t")
        elapsed = self.clock.now() - self.updated
        after = max(0, self.active - math.floor(self.decay * elapsed + 1e-9))
        if after + slots > self.limit:
            return slots / self.decay * self._rng.uniform(0.77, 1.3)  # Retry-After, jittered
        self.active, self.updated = after + slots, self.clock.now()
        return None


class FakeSlots:
    """One worker's way to the limit: `latency` seconds there and back."""

    def __init__(self, limit: FakeLimit, latency: float = 0.01) -> None:
        self.server, self.latency = limit, latency
        self.closed = False

    async def open(self) -> None:
        return None

    async def take(self, slots: int) -> float | None:
        await self.server.clock.sleep(self.latency / 2)
        answer = self.server.increment(slots)
        await self.server.clock.sleep(self.latency / 2)
        return answer

    async def free_in(self) -> float:
        await self.server.clock.sleep(self.latency / 2)
        answer = self.server.free_in()
        await self.server.clock.sleep(self.latency / 2)
        return answer

    async def give_back(self, slots: int) -> None:
        self.server.decrement(slots)

    async def aclose(self) -> None:
        self.closed = True


def _send(
    clock: VirtualClock, budgets: list[LeasedBudget], total: int, senders: int = 4
) -> list[tuple[float, int]]:
    """`senders` coroutines per worker take tokens until `total` went out: (time, worker)."""
    sent: list[tuple[float, int]] = []

    async def sender(worker: int, budget: LeasedBudget) -> None:
        while len(sent) < total:
            await budget.take()
            sent.append((clock.now(), worker))
            await clock.sleep(0.03)  # the request itself

    async def main() -> None:
        await asyncio.gather(*(sender(w, b) for w, b in enumerate(budgets) for _ in range(senders)))

    clock.run(main)
    return sent[:total]


def test_a_lease_is_the_rate_times_the_lease_length() -> None:
    assert lease_slots(20.0) == 80  # 4 s of requests
    assert lease_slots(0.2) == 1
    assert budget_name("octanist-prod") == "leadpipe-rate-octanist-prod"


def test_two_workers_share_one_rate_and_never_burst_past_it() -> None:
    clock = VirtualClock()
    rate = 20.0
    limit = FakeLimit(clock, limit=lease_slots(rate), decay=rate)
    budgets = [LeasedBudget(FakeSlots(limit), rate, clock=clock) for _ in range(2)]

    sent = _send(clock, budgets, total=800)

    times = [t for t, _ in sent]
    gaps = [b - a for a, b in itertools.pairwise(sorted(times))]
    # one request per 1/rate s across both workers (a token may go up to 5 ms early)
    assert min(gaps) >= 1 / rate - 0.005 - 1e-9
    assert most_in_one_second(times) <= rate + 1
    achieved = (len(times) - 1) / (max(times) - min(times))
    assert achieved >= 0.95 * rate
    shares = [sum(1 for _, w in sent if w == worker) for worker in (0, 1)]
    assert min(shares) >= 0.25 * len(sent)  # they take turns
    leases = sum(b.stats.grants for b in budgets)
    assert leases * limit.limit >= 800
    assert limit.calls == sum(b.stats.calls for b in budgets)
    # A grant per 4 s lease, and the waiting worker's ask and read every second at most: the
    # cost is per second, whatever the rate (here 125 calls per 1,000 requests; 50 at 50/s).
    assert limit.calls <= 3 * (max(times) - min(times))


def test_a_dead_workers_lease_only_decays() -> None:
    clock = VirtualClock()
    rate = 10.0
    limit = FakeLimit(clock, limit=lease_slots(rate), decay=rate)
    dying = LeasedBudget(FakeSlots(limit, latency=0.0), rate, clock=clock)
    other = LeasedBudget(FakeSlots(limit, latency=0.0), rate, clock=clock)

    async def main() -> list[float]:
        await dying.take()  # leases 40 requests, sends one, and is never heard of again
        started = clock.now()
        out = []
        for _ in range(45):  # more than one lease
            await other.take()
            out.append(clock.now() - started)
        return out

    after = clock.run(main)
    assert after[0] >= lease_slots(rate) / rate  # the whole lease had to decay first
    # then the full rate again (the holder asks for its next lease one slot late: 45 not 44)
    assert after[-1] - after[0] == pytest.approx(45 / rate, abs=0.006)
    assert dying.stats.tokens == 1 and dying.stats.grants == 1


def test_a_client_closing_mid_lease_gives_the_rest_back() -> None:
    clock = VirtualClock()
    limit = FakeLimit(clock, limit=20, decay=10.0)
    reader = LeasedBudget(FakeSlots(limit, latency=0.0), 10.0, batch=20, clock=clock)
    pusher = LeasedBudget(FakeSlots(limit, latency=0.0), 10.0, batch=20, clock=clock)

    async def main() -> float:
        await reader.take()  # one snapshot read, then the client closes
        await clock.sleep(0.5)
        await reader.aclose()
        await pusher.take()
        return clock.now()

    assert clock.run(main) == pytest.approx(0.5)  # not 2.0, when the whole lease had decayed
    assert reader.stats.expired == 19


def test_a_refused_ask_comes_back_when_the_holders_lease_has_decayed() -> None:
    clock = FakeClock()
    answers: list[float | None] = [2.5, None]

    class Scripted:
        async def open(self) -> None:
            await clock.sleep(5.0)  # slow to set up: not counted against the first lease

        async def take(self, slots: int) -> float | None:
            assert slots == 20
            return answers.pop(0)

        async def free_in(self) -> float:
            return 0.7

        async def give_back(self, slots: int) -> None:
            raise AssertionError("nothing to give back")

        async def aclose(self) -> None:
            return None

    budget = LeasedBudget(Scripted(), 5.0, clock=clock)
    asyncio.run(budget.take())
    assert clock.sleeps == [5.0, pytest.approx(0.7)]
    assert budget.stats == BudgetStats(calls=3, grants=1, denied=1, tokens=1)


def test_tokens_a_lease_did_not_use_in_time_are_dropped() -> None:
    clock = VirtualClock()
    limit = FakeLimit(clock, limit=4, decay=2.0)
    budget = LeasedBudget(FakeSlots(limit, latency=0.0), 2.0, batch=4, clock=clock)

    async def main() -> list[float]:
        times = []
        await budget.take()
        times.append(clock.now())
        await clock.sleep(10)  # idle: the rest of the lease runs out
        for _ in range(2):
            await budget.take()
            times.append(clock.now())
        await budget.aclose()
        return times

    times = clock.run(main)
    assert times == [0.0, 10.0, pytest.approx(10.5, abs=0.006)]
    assert budget.stats.expired == 3 + 2  # 3 of the first lease, 2 left of the second
    assert budget.stats.grants == 2


def test_a_limit_smaller_than_a_lease_stops_the_run() -> None:
    clock = VirtualClock()
    limit = FakeLimit(clock, limit=3, decay=10.0)
    budget = LeasedBudget(FakeSlots(limit), 10.0, clock=clock)
    with pytest.raises(BudgetUnavailable):
        clock.run(budget.take)


def test_every_attempt_draws_from_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    class Counting(LocalBudget):
        closed = False

        async def aclose(self) -> None:
            self.closed = True

    monkeypatch.setenv("LEADPIPE_TEST_KEY", "k")
    budget = Counting()
    script = Script(
        httpx.Response(429, headers={"Retry-After": "1"}, json={"message": "slow down"}),
        httpx.Response(200, json={"ok": True}),
    )
    profile = TargetProfile(
        name="t", vendor="octanist", base_url="https://vendor.test", api_key_env="LEADPIPE_TEST_KEY"
    )
    client = open_client(
        profile, transport=httpx.MockTransport(script), clock=FakeClock(), budget=budget
    )

    async def main() -> None:
        async with client:
            reply = await client.http.send("GET", "/leads/L1", idempotent=True)
            assert reply.body == {"ok": True}

    asyncio.run(main())
    assert len(script.requests) == 2
    assert budget.stats.tokens == 2
    assert budget.closed


def test_the_limit_is_created_once_by_racing_workers_and_updated_to_new_settings(
    prefect_harness: None,
) -> None:
    from prefect.client.orchestration import get_client

    name = budget_name("race-test")
    errors: list[BaseException] = []

    def ensure() -> None:
        try:
            ensure_rate_limit(name, 12.5, vendor="octanist")
        except BaseException as exc:  # noqa: B036 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=ensure) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with get_client(sync_client=True) as client:
        made = client.read_global_concurrency_limit_by_name(name)
        assert (made.limit, made.slot_decay_per_second) == (50, 12.5)
        ensure_rate_limit(name, 4.0, vendor="octanist")
        changed = client.read_global_concurrency_limit_by_name(name)
        assert (changed.limit, changed.slot_decay_per_second, changed.active) == (16, 4.0, True)
        assert made.id == changed.id


def test_prefect_slots_lease_refuse_read_and_take_back_on_a_real_server(
    prefect_harness: None,
) -> None:
    from connectors._budget import PrefectSlots

    name = budget_name("slots-test")
    ensure_rate_limit(name, 5.0, vendor="octanist")  # 20 slots, 5 a second

    async def main() -> tuple[float | None, float | None, float, float, float | None]:
        slots = PrefectSlots(name, "octanist")
        await slots.open()
        granted = await slots.take(20)
        refused = await slots.take(20)
        held = await slots.free_in()
        await slots.give_back(20)
        after = await slots.free_in()
        again = await slots.take(20)
        await slots.aclose()
        return granted, refused, held, after, again

    granted, refused, held, after, again = asyncio.run(main())
    assert granted is None and again is None
    assert refused is not None and refused > 0
    assert 3.0 <= held <= 4.0  # 20 slots at 5/s, less what decayed meanwhile
    assert after == 0.0
