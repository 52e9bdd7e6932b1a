"""Octanist leads: POST /leads, PATCH /leads (matched in the body), GET by id, paged list.

PATCH names its lead by `id`, else `email`, else `phone`; when an email or phone matches
several leads and the organisation has bulk updates off, Octanist answers 409 CONFLICT, which
surfaces as `LeadConflict` (a per-row conflict, never a retry). `status` takes qualified, won
or lost (a lead cannot be reopened), `lossReason` only with lost.

Only 401 UNAUTHORIZED means a bad key (the run stops). 403 FORBIDDEN is a valid key refused one
action, e.g. a lead the organisation's filtering rules reject: `Forbidden`, that row's failure
with Octanist's message, while the other rows go on.

`iter_leads` filters `updatedAt[gte]` and sorts `updatedAt:asc`. Offset pages shift when leads
change while we read, so it moves its `updatedAt` cursor forward to the newest row it has seen
and restarts at page 1, skipping ids it already yielded; it only turns pages while a whole
page shares one timestamp.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from connectors._client import LeadRef, RemoteLead, WriteResult, _Base
from connectors._payloads import from_wire, to_wire
from schemas.vendors import OCTANIST

__all__ = ["OctanistClient"]

_PAGE = 100
_MATCH_KEYS = ("id", "email", "phone")


class OctanistClient(_Base):
    """Octanist's lead API in canonical terms."""

    vendor = "octanist"
    finds_by_scan = False  # GET /leads?search=: a request or two per lookup

    async def create(self, fields: Mapping[str, Any]) -> WriteResult:
        """POST /leads. Not idempotent: an ambiguous failure raises AmbiguousWriteError."""
        body = to_wire(OCTANIST, fields, on="create")
        reply = await self.http.send("POST", "/leads", json_body=body, idempotent=False)
        data = _data(reply.body)
        return WriteResult(data.get("id"), reply.status, reply.request_id, reply.attempts)

    async def update(self, ref: LeadRef, fields: Mapping[str, Any]) -> WriteResult:
        """PATCH /leads naming the lead by id (a string) or by {"email": ...} / {"phone": ...}."""
        match = (
            {"id": ref} if isinstance(ref, str) else {k: ref[k] for k in _MATCH_KEYS if ref.get(k)}
        )
        if not match:
            raise ValueError("an Octanist update needs an id, email or phone")
        body = {**match, **to_wire(OCTANIST, fields, on="update")}
        # `note` may append (undocumented), so a note update is not resent blindly.
        reply = await self.http.send(
            "PATCH", "/leads", json_body=body, idempotent="note" not in fields
        )
        data = _data(reply.body)
        return WriteResult(
            data.get("leadId"),
            reply.status,
            reply.request_id,
            reply.attempts,
            leads_updated=data.get("leadsUpdated"),
        )

    async def get(self, lead_id: str) -> RemoteLead:
        """GET /leads/{id}."""
        reply = await self.http.send("GET", f"/leads/{quote(lead_id, safe='')}", idempotent=True)
        return _lead(_data(reply.body))

    async def find(self, keys: Mapping[str, str], *, since: str) -> RemoteLead | None:
        """A lead created since `since` with this email or phone (to resolve a lost answer)."""
        for key in ("email", "phone"):
            value = keys.get(key)
            if not value:
                continue
            params = {"search": value, "createdAt[gte]": since, "limit": _PAGE}
            reply = await self.http.send("GET", "/leads", params=params, idempotent=True)
            for lead in (_lead(r) for r in reply.body.get("data", [])):
                if str(lead.fields.get(key) or "").lower() == value.lower():
                    return lead
        return None

    async def find_many(
        self, wanted: Sequence[Mapping[str, str]], *, since: str
    ) -> list[RemoteLead | None]:
        """`find` for each key set in turn: a search answers one, there is no scan to share."""
        return [await self.find(keys, since=since) for keys in wanted]

    async def iter_leads(self, since: str | None = None) -> AsyncIterator[RemoteLead]:
        """Leads updated at or after `since` (all when None), oldest first, each id once."""
        cursor, page, seen = since, 1, set[str]()
        while True:
            params: dict[str, Any] = {"sort": "updatedAt:asc", "limit": _PAGE, "page": page}
            if cursor:
                params["updatedAt[gte]"] = cursor
            reply = await self.http.send("GET", "/leads", params=params, idempotent=True)
            rows = [_lead(r) for r in reply.body.get("data", [])]
            for lead in rows:
                if lead.id not in seen:
                    seen.add(lead.id)
                    yield lead
            pagination = (reply.body.get("meta") or {}).get("pagination") or {}
            if not rows or not pagination.get("hasMore"):
                return
            newest = max((r.updated_at for r in rows if r.updated_at), default=None)
            cursor, page = (newest, 1) if newest and newest != cursor else (cursor, page + 1)


def _data(body: Any) -> dict[str, Any]:
    data = body.get("data") if isinstance(body, dict) else None
    return data if isinstance(data, dict) else {}


def _lead(raw: Any) -> RemoteLead:
    lead = raw if isinstance(raw, dict) else {}
    fields = from_wire(OCTANIST, lead)
    return RemoteLead(
        id=str(lead.get("id", "")), fields=fields, updated_at=lead.get("updatedAt"), raw=lead
    )
