"""Fixtures for the sandbox tests: a controllable clock and in-process clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from sandbox import create_app
from tests.sandbox.support import FakeClock, client_for


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(clock: FakeClock) -> Callable[..., httpx.AsyncClient]:
    """Build a client over a fresh app (keyword arguments go to ``create_app``)."""

    def build(**kwargs: Any) -> httpx.AsyncClient:
        kwargs.setdefault("now", clock)
        return client_for(create_app(**kwargs))

    return build


@pytest.fixture
async def client(make_client: Callable[..., httpx.AsyncClient]) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client() as built:
        yield built
