"""Helpers for the sandbox tests: fake clocks, in-process clients, admin shortcuts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

KEY = "sandbox-key"
START = datetime(2026, 5, 14, 15, 30, tzinfo=UTC)


class FakeClock:
    """A wall clock that only moves when told to."""

    def __init__(self, start: datetime = START) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current


class FakeMonotonic:
    """A monotonic clock for rate limiters."""

    def __init__(self) -> None:
        self.current = 1000.0

    def __call__(self) -> float:
        return self.current


def client_for(app: FastAPI, key: str = KEY) -> httpx.AsyncClient:
    """An in-process client; ``x-api-key`` serves all three vendors (headers ignore case)."""
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(
        transport=transport, base_url="http://sandbox", headers={"x-api-key": key}
    )


async def seed(client: httpx.AsyncClient, vendor: str, leads: list[dict[str, Any]]) -> list[str]:
    """Seed leads through the admin API and return their ids."""
    response = await client.post("/_sandbox/seed", json={"vendor": vendor, "leads": leads})
    assert response.status_code == 200, response.text
    ids: list[str] = response.json()["ids"]
    return ids


async def requests_log(
    client: httpx.AsyncClient, vendor: str | None = None
) -> list[dict[str, Any]]:
    """The sandbox request log."""
    params = {"vendor": vendor} if vendor else {}
    response = await client.get("/_sandbox/requests", params=params)
    assert response.status_code == 200
    entries: list[dict[str, Any]] = response.json()
    return entries
