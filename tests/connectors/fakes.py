"""Test doubles: a clock that only moves when told, and a scripted MockTransport."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from connectors import LeadClient, RetryPolicy, TargetProfile, open_client


class FakeClock:
    """Monotonic time that advances only by `sleep` (which returns at once)."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


Step = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Script:
    """Answers requests with the next scripted step; records every request."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, Exception):
            raise step
        return step(request) if callable(step) else step

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) if r.content else None for r in self.requests]


def client_for(
    vendor: str, script: Script, clock: FakeClock | None = None, **profile: Any
) -> LeadClient:
    import random

    target = TargetProfile(
        name=f"test:{vendor}",
        vendor=vendor,
        base_url="https://vendor.test/base",
        api_key_env="LEADPIPE_TEST_KEY",
        **profile,
    )
    return open_client(
        target,
        transport=httpx.MockTransport(script),
        clock=clock or FakeClock(),
        rng=random.Random(1),
        retry=RetryPolicy(max_attempts=5, base_delay=0.5, max_delay=8.0, total_timeout=300.0),
    )


def ok(body: Any, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)
