"""Omni (AI Lending) leads: POST and PUT /api/v1/leads, GET by id, analytics for listing.

Omni has no list or search endpoint. `iter_leads` pages through GET /api/v0/analytics (500 per
page, filtered on `createdAt` only) and fetches each lead by id. What it cannot see: leads
created before `since` that changed after it (analytics filters on creation, not update),
test leads and deleted leads (analytics excludes both). The sync engine therefore keeps its own
snapshot of what leadpipe wrote and refreshes it per id (DESIGN.md, issue "sync engine").
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from connectors._client import LeadRef, RemoteLead, WriteResult, _Base, first_matches
from connectors._payloads import from_wire, to_wire
from schemas.vendors import OMNI

__all__ = ["OmniClient"]


class OmniClient(_Base):
    """Omni's lead API in canonical terms."""

    vendor = "omni"
    finds_by_scan = True  # analytics only: no search

    async def create(self, fields: Mapping[str, Any]) -> WriteResult:
        """POST /api/v1/leads. Not idempotent: an ambiguous failure raises AmbiguousWriteError."""
        body = to_wire(OMNI, fields, on="create")
        reply = await self.http.send("POST", "/api/v1/leads", json_body=body, idempotent=False)
        lead = _lead(reply.body)
        return WriteResult(lead.id, reply.status, reply.request_id, reply.attempts, lead=lead)

    async def update(self, ref: LeadRef, fields: Mapping[str, Any]) -> WriteResult:
        """PUT /api/v1/leads with `leadId` in the body; omitted fields stay as they are."""
        if not isinstance(ref, str):
            raise TypeError("Omni updates by lead id only")
        body = {"leadId": ref, **to_wire(OMNI, fields, on="update")}
        reply = await self.http.send("PUT", "/api/v1/leads", json_body=body, idempotent=True)
        lead = _lead(reply.body)
        return WriteResult(lead.id, reply.status, reply.request_id, reply.attempts, lead=lead)

    async def get(self, lead_id: str) -> RemoteLead:
        """GET /api/v1/leads/{id}: the lead with its computed status."""
        reply = await self.http.send(
            "GET", f"/api/v1/leads/{quote(lead_id, safe='')}", idempotent=True
        )
        return _lead(reply.body)

    async def find(self, keys: Mapping[str, str], *, since: str) -> RemoteLead | None:
        """A lead created since `since` with this email or phone (to resolve a lost answer)."""
        return (await self.find_many([keys], since=since))[0]

    async def find_many(
        self, wanted: Sequence[Mapping[str, str]], *, since: str
    ) -> list[RemoteLead | None]:
        """`find` for many key sets in one scan of analytics (Omni has no search)."""
        ids = await first_matches(wanted, self._analytics_keys(since))
        distinct = list(dict.fromkeys(i for i in ids if i))
        known = dict(zip(distinct, await asyncio.gather(*map(self.get, distinct)), strict=True))
        return [known[i] if i else None for i in ids]

    async def _analytics_keys(self, since: str) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        async for rows in self._analytics(since):
            for row in rows:
                yield row["leadId"], {k: row.get(w) for k, w in _ROW_KEYS.items()}

    async def iter_feed(self, since: str | None = None) -> AsyncIterator[RemoteLead]:
        """Leads created at or after `since` (all when None) as the analytics feed shows them:
        id, names, email, phone and whether they opted out; one request per 500 leads, no GET.
        `raw` keeps the feed's row (its `createdAt` is the snapshot's feed mark)."""
        async for rows in self._analytics(since):
            for row in rows:
                fields = {k: row.get(w) for k, w in _FEED_FIELDS.items() if row.get(w)}
                if "optedOutAt" in row:
                    fields["opted_out"] = row.get("optedOutAt") is not None
                yield RemoteLead(id=str(row["leadId"]), fields=fields, raw=row)

    async def iter_leads(self, since: str | None = None) -> AsyncIterator[RemoteLead]:
        """Leads created at or after `since` (all when None), through analytics then GET by id."""
        async for rows in self._analytics(since):
            for lead in await asyncio.gather(*(self.get(row["leadId"]) for row in rows)):
                yield lead

    async def _analytics(self, since: str | None) -> AsyncIterator[list[dict[str, Any]]]:
        """GET /api/v0/analytics page by page (500 rows, oldest first): the rows with a lead id."""
        params: dict[str, str] = {"format": "json"}
        if since:
            params["start"] = since
        while True:
            reply = await self.http.send("GET", "/api/v0/analytics", params=params, idempotent=True)
            yield [row for row in reply.body.get("breakdown", []) if row.get("leadId")]
            token = reply.body.get("nextToken")
            if not token:
                return
            params["token"] = token


_ROW_KEYS = {"email": "email", "phone": "phoneNumber"}
_FEED_FIELDS = {
    "first_name": "firstName",
    "last_name": "lastName",
    "email": "email",
    "phone": "phoneNumber",
}


def _lead(body: Any) -> RemoteLead:
    """Create, update and get all answer `{lead, ...}`; get adds the computed `status`."""
    lead = body.get("lead", {}) if isinstance(body, dict) else {}
    status = body.get("status") if isinstance(body, dict) else None
    fields = from_wire(OMNI, lead, status if isinstance(status, str) else None)
    groups = body.get("checklistItems") if isinstance(body, dict) else None
    if isinstance(groups, list):
        fields["checklist"] = _checklist(groups)
    return RemoteLead(
        id=str(lead.get("id", "")),
        fields=fields,
        updated_at=lead.get("updatedAt"),
        deleted=bool(lead.get("deletedAt")),
        raw=lead,
    )


def _checklist(groups: list[Any]) -> list[dict[str, Any]]:
    """Omni's checklist groups (beside the lead) as canonical {code, value, status} entries."""
    entries = []
    for group in groups:
        for item in group.get("items", []) if isinstance(group, dict) else []:
            code = (item.get("checklistItem") or {}).get("code")
            if code:
                value = item.get("value")
                entries.append(
                    {
                        "code": code,
                        "value": None if value is None else str(value),
                        "status": item.get("status"),
                    }
                )
    return entries
