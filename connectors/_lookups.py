"""Lost-answer lookups for the push: "did my unanswered create make a lead?"

A vendor with a search (Octanist) answers each lookup with a request or two. A vendor that can
only be scanned (Omni's analytics, Apten's list) would read every lead created in the window
once per lookup: under a storm of lost answers that is hundreds of full scans. Such a client
offers `find_many`, and `Lookups` coalesces: the lookups that arrive while a scan runs wait for
the next one, which answers all of them at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from connectors._client import LeadClient, RemoteLead

__all__ = ["Lookups"]

_Waiting = tuple[Mapping[str, str], str, "asyncio.Future[RemoteLead | None]"]


class Lookups:
    """`find(keys, since)` through the client's `find_many` (batched) or `find` (one by one)."""

    def __init__(self, client: LeadClient) -> None:
        self._find = getattr(client, "find", None)
        self._find_many = getattr(client, "find_many", None)
        self._waiting: list[_Waiting] = []
        self._scan: asyncio.Task[None] | None = None
        self.scans = 0  # find_many calls made

    async def find(self, keys: Mapping[str, str], since: str) -> RemoteLead | None:
        """The lead created since `since` sharing a value with `keys`; None if there is none
        (or the client cannot look). Raises what the client's lookup raised."""
        if not keys:
            return None
        if self._find_many is None:
            found: RemoteLead | None = await self._find(keys, since=since) if self._find else None
            return found
        answer: asyncio.Future[RemoteLead | None] = asyncio.get_running_loop().create_future()
        self._waiting.append((keys, since, answer))
        if self._scan is None or self._scan.done():
            self._scan = asyncio.create_task(self._drain())
        return await answer

    async def _drain(self) -> None:
        """Scan for everything waiting, then for what arrived meanwhile, until none is left."""
        await asyncio.sleep(0)  # let the lookups of this very moment join the first scan
        assert self._find_many is not None
        while self._waiting:
            batch, self._waiting = self._waiting, []
            self.scans += 1
            try:
                found: list[Any] = await self._find_many(
                    [keys for keys, _, _ in batch], since=min(since for _, since, _ in batch)
                )
            except Exception as exc:  # each waiting lookup gets the error, as if it had asked
                for _, _, answer in batch:
                    if not answer.done():
                        answer.set_exception(exc)
                continue
            for (_, _, answer), lead in zip(batch, found, strict=True):
                if not answer.done():
                    answer.set_result(lead)
