"""What every vendor client offers the sync engine, and the factory that builds one.

    async with open_client(profile) as client:
        async for lead in client.iter_leads(since="2026-11-01T00:00:00Z"):
            ...
        result = await client.update(lead_id, {"status": "won"})

Fields in and out are canonical (schemas.fields); the vendor's names and rules live in
schemas.vendors and connectors._payloads.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import httpx

from connectors._budget import RateBudget, open_budget
from connectors._http import VendorHTTP
from connectors._profile import AUTH_HEADERS, TargetProfile, api_key_for, key_hint
from connectors._retry import DEFAULT_RETRY, Clock, RetryPolicy

__all__ = ["LeadClient", "RemoteLead", "WriteResult", "first_matches", "open_client"]

# How a lead is named in an update: its id, or (Octanist) a match key such as {"email": ...}.
LeadRef = str | Mapping[str, str]
T = TypeVar("T")


@dataclass(frozen=True)
class RemoteLead:
    """A lead as the target holds it, in canonical fields."""

    id: str
    fields: dict[str, Any]
    updated_at: str | None = None
    deleted: bool = False
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class WriteResult:
    """What a create or update did: the lead's id, the HTTP facts, and the lead when returned."""

    id: str | None
    http_status: int
    request_id: str | None
    attempts: int
    lead: RemoteLead | None = None
    leads_updated: int | None = None


async def first_matches(
    wanted: Sequence[Mapping[str, str]], rows: AsyncIterable[tuple[T, Mapping[str, Any]]]
) -> list[T | None]:
    """For each key set of `wanted` ({"email": ..., "phone": ...}), the first of `rows` that
    shares one of its values, in one pass over `rows`; it stops once every set has its row.

    How a scan-only vendor answers many lost-answer lookups with one read of its leads.
    """
    found: list[T | None] = [None] * len(wanted)
    waiting: dict[tuple[str, str], list[int]] = {}
    for i, keys in enumerate(wanted):
        for key, value in keys.items():
            if value:
                waiting.setdefault((key, value), []).append(i)
    left = len(wanted)
    async for item, values in rows:
        for key, value in values.items():
            for i in waiting.pop((key, value), []) if value else []:
                if found[i] is None:
                    found[i] = item
                    left -= 1
        if left == 0:
            break
    return found


class LeadClient(Protocol):
    """The operations the sync engine needs from a vendor.

    Every 2xx answer is checked before it is used (`connectors._shapes`): a read (`get`, a
    page of `iter_leads`, `find`) that cannot be used, or a listing that does not end, raises
    `VendorProtocolError` (the run stops).
    """

    vendor: str
    http: VendorHTTP
    # How the client looks for the lead a lost answer may have made (connectors/_lookups.py).
    # True: it can only scan the leads created in a window (Omni's analytics, Apten's list), so
    # lookups that wait at one moment share one `find_many`. False: it searches by key
    # (Octanist), so each lookup is its own `find`, one at a time.
    finds_by_scan: bool

    def iter_leads(self, since: str | None = None) -> AsyncIterator[RemoteLead]: ...

    async def get(self, lead_id: str) -> RemoteLead: ...

    async def find(self, keys: Mapping[str, str], *, since: str) -> RemoteLead | None:
        """A lead created at or after `since` sharing a value of `keys` ({"email": ...,
        "phone": ...}); None if there is none."""
        ...

    async def find_many(
        self, wanted: Sequence[Mapping[str, str]], *, since: str
    ) -> list[RemoteLead | None]:
        """`find` for each key set of `wanted`, answers in the same order."""
        ...

    async def create(self, fields: Mapping[str, Any]) -> WriteResult:
        """The new lead's id in `WriteResult.id`, always: an answer without it raises
        `AnswerWithoutId` (the lead may exist; the push looks it up)."""
        ...

    async def update(self, ref: LeadRef, fields: Mapping[str, Any]) -> WriteResult:
        """An answer the client cannot use raises `UnexpectedAnswer` (the row fails)."""
        ...

    async def aclose(self) -> None: ...

    async def __aenter__(self) -> LeadClient: ...

    async def __aexit__(self, *exc: object) -> None: ...


class _Base:
    """Shared plumbing: the HTTP layer and async context management."""

    vendor = ""

    def __init__(self, http: VendorHTTP, profile: TargetProfile) -> None:
        self.http = http
        self.profile = profile

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def open_client(
    profile: TargetProfile,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock | None = None,
    rng: random.Random | None = None,
    retry: RetryPolicy = DEFAULT_RETRY,
    budget: RateBudget | None = None,
) -> LeadClient:
    """A client for `profile` (the key comes from its environment variable).

    Its requests draw from `budget`, else from the profile's `rate_budget` (a Prefect global
    concurrency limit, reached from whatever process opens the client), else local pacing only.
    """
    from connectors.apten import AptenClient
    from connectors.octanist import OctanistClient
    from connectors.omni import OmniClient

    http = VendorHTTP(
        vendor=profile.vendor,
        base_url=profile.base_url,
        api_key=api_key_for(profile),
        auth_header=AUTH_HEADERS[profile.vendor],
        rate_limit_per_s=profile.rate_limit_per_s,
        burst=profile.burst,
        concurrency=profile.concurrency,
        retry=retry,
        transport=transport,
        clock=clock,
        rng=rng,
        key_hint=key_hint(profile),
        verify_tls=profile.verify_tls,
        budget=budget
        or open_budget(
            profile.rate_budget, rate=profile.rate_limit_per_s, vendor=profile.vendor, clock=clock
        ),
    )
    kinds: dict[str, type[_Base]] = {
        "omni": OmniClient,
        "apten": AptenClient,
        "octanist": OctanistClient,
    }
    client: LeadClient = kinds[profile.vendor](http, profile)  # type: ignore[assignment]
    return client
