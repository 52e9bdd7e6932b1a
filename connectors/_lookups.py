"""Lost-answer lookups for the push: "did my unanswered create make a lead?"

A vendor with a search (Octanist) answers each lookup with a request or two. A vendor that can
only be scanned (Omni's analytics, Apten's list) would read every lead created in the window
once per lookup: under a storm of lost answers that is hundreds of full scans. Such a client
says so (`LeadClient.finds_by_scan`), and `Lookups` coalesces its lookups into `find_many`: the
lookups that arrive while a scan runs wait for the next one, which answers all of them at once.
A client that searches is asked through `find`, one lookup at a time.

A phone names one person only (a company switchboard is many people's): a lead found for a row
with an email must not carry another email. The client answers "a lead sharing any of these
values", so `Lookups` checks what it found (`_own`), and a scan looks the email up on its own:
another person's lead sharing the phone, met first in the scan, would hide the row's own lead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from connectors._client import LeadClient, RemoteLead

__all__ = ["Lookups"]

_Waiting = tuple[Mapping[str, str], str, "asyncio.Future[RemoteLead | None]"]


class Lookups:
    """`find(keys, since)` through the client's `find_many` (batched, for a client that
    finds by scan) or `find` (one by one, for a client that searches)."""

    def __init__(self, client: LeadClient) -> None:
        self._client = client
        self._waiting: list[_Waiting] = []
        self._scan: asyncio.Task[None] | None = None
        self.scans = 0  # find_many calls made

    async def find(self, keys: Mapping[str, str], since: str) -> RemoteLead | None:
        """The lead created since `since` sharing a value with `keys`, and no other email than
        theirs; None if there is none. Raises what the client's lookup raised."""
        if not keys:
            return None
        if not self._client.finds_by_scan:
            return _own(keys, await self._client.find(keys, since=since))
        email = keys.get("email")
        rest = {k: v for k, v in keys.items() if k != "email"}
        if not email or not rest:
            return _own(keys, await self._in_scan(keys, since))
        by_email, by_rest = await asyncio.gather(
            self._in_scan({"email": email}, since), self._in_scan(rest, since)
        )
        return by_email or _own(keys, by_rest)

    async def _in_scan(self, keys: Mapping[str, str], since: str) -> RemoteLead | None:
        """`keys` looked up in the next scan (shared with every lookup waiting for it)."""
        answer: asyncio.Future[RemoteLead | None] = asyncio.get_running_loop().create_future()
        self._waiting.append((keys, since, answer))
        if self._scan is None or self._scan.done():
            self._scan = asyncio.create_task(self._drain())
        return await answer

    async def _drain(self) -> None:
        """Scan for everything waiting, then for what arrived meanwhile, until none is left."""
        await asyncio.sleep(0)  # let the lookups of this very moment join the first scan
        while self._waiting:
            batch, self._waiting = self._waiting, []
            self.scans += 1
            try:
                found = await self._client.find_many(
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


def _own(keys: Mapping[str, str], lead: RemoteLead | None) -> RemoteLead | None:
    """`lead`, unless it has an email and `keys` another one: then it is someone else's lead
    that shares the phone (or another key), not the one the row's write made."""
    if lead is None or not keys.get("email"):
        return lead
    theirs = lead.fields.get("email")
    if not theirs or str(theirs).strip().lower() == keys["email"].strip().lower():
        return lead
    return None
