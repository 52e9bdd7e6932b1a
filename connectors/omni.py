"""Omni (AI Lending) leads: POST and PUT /api/v1/leads, GET by id, analytics for listing.

Omni has no list or search endpoint. `iter_leads` pages through GET /api/v0/analytics (500 per
page, filtered on `createdAt` only) and fetches each lead by id. What it cannot see: leads
created before `since` that changed after it (analytics filters on creation, not update),
test leads and deleted leads (analytics excludes both). The sync engine therefore keeps its own
snapshot of what leadpipe wrote and refreshes it per id (DESIGN.md, issue "sync engine").

Every answer is checked before it is used (`connectors._shapes`): a read of the wrong shape, or
an analytics read that does not end, stops the run; an update's fails its row; a create
answered without `lead.id` is ambiguous (the push looks the lead up by email/phone).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from connectors._client import LeadRef, RemoteLead, WriteResult, _Base, first_matches
from connectors._payloads import from_wire, to_wire
from connectors._shapes import (
    ID,
    LIST,
    OBJECT,
    TEXT,
    Answer,
    Listing,
    each_object,
    lead_fields,
    need,
    page_limit,
    top,
)
from schemas.vendors import OMNI

__all__ = ["OmniClient"]


_LEADS = "/api/v1/leads"
_ANALYTICS = "/api/v0/analytics"
_PAGE = 500  # analytics rows per page (fixed by Omni)
# Pages one analytics read may take before it is taken to be endless (a test may lower it).
_MAX_PAGES = page_limit(_PAGE)


class OmniClient(_Base):
    """Omni's lead API in canonical terms."""

    vendor = "omni"
    finds_by_scan = True  # analytics only: no search

    async def create(self, fields: Mapping[str, Any]) -> WriteResult:
        """POST /api/v1/leads. Not idempotent: an ambiguous failure raises AmbiguousWriteError,
        and so does an answer without the new lead's id (`AnswerWithoutId`)."""
        body = to_wire(OMNI, fields, on="create")
        reply = await self.http.send("POST", _LEADS, json_body=body, idempotent=False)
        answer = Answer(self.vendor, "POST", _LEADS, reply)
        lead_id = answer.created_id(_new_id)
        lead = answer.echo(_lead)
        return WriteResult(lead_id, reply.status, reply.request_id, reply.attempts, lead=lead)

    async def update(self, ref: LeadRef, fields: Mapping[str, Any]) -> WriteResult:
        """PUT /api/v1/leads with `leadId` in the body; omitted fields stay as they are."""
        if not isinstance(ref, str):
            raise TypeError("Omni updates by lead id only")
        body = {"leadId": ref, **to_wire(OMNI, fields, on="update")}
        reply = await self.http.send("PUT", _LEADS, json_body=body, idempotent=True)
        lead = Answer(self.vendor, "PUT", _LEADS, reply).written(_lead)
        return WriteResult(lead.id, reply.status, reply.request_id, reply.attempts, lead=lead)

    async def get(self, lead_id: str) -> RemoteLead:
        """GET /api/v1/leads/{id}: the lead with its computed status."""
        path = f"{_LEADS}/{quote(lead_id, safe='')}"
        reply = await self.http.send("GET", path, idempotent=True)
        return Answer(self.vendor, "GET", path, reply).read(_lead)

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
        """GET /api/v0/analytics page by page (500 rows, oldest first): the rows with a lead id
        not seen on an earlier page. A listing that does not end stops the run
        (`VendorProtocolError`): the same `nextToken` twice, or a page of nothing new."""
        params: dict[str, str] = {"format": "json"}
        if since:
            params["start"] = since
        pages = Listing(
            self.vendor,
            f"GET {_ANALYTICS}",
            more="a nextToken",
            repeat="answered the same nextToken twice",
            limit=_MAX_PAGES,
        )
        seen: set[str] = set()
        while True:
            reply = await self.http.send("GET", _ANALYTICS, params=params, idempotent=True)
            rows, token = Answer(self.vendor, "GET", _ANALYTICS, reply).read(_analytics_page)
            pages.answered()
            fresh = [row for row in rows if row["leadId"] not in seen]
            seen.update(row["leadId"] for row in fresh)
            yield fresh
            if not token:
                return
            pages.more(len(fresh), token)
            params["token"] = token


_ROW_KEYS = {"email": "email", "phone": "phoneNumber"}
_FEED_FIELDS = {
    "first_name": "firstName",
    "last_name": "lastName",
    "email": "email",
    "phone": "phoneNumber",
}
_ROW_TEXT = ("firstName", "lastName", "email", "phoneNumber", "createdAt", "optedOutAt")


def _analytics_page(body: Any) -> tuple[list[dict[str, Any]], str | None]:
    """An analytics page `{nextToken, breakdown[...]}`: its rows that name a lead, and the
    token of the next page (null at the end)."""
    page = top(body)
    token = need(page, "nextToken", TEXT, nullable=True)
    rows = each_object(need(page, "breakdown", LIST), "breakdown")
    for i, row in enumerate(rows):
        need(row, "leadId", TEXT, at=f"breakdown[{i}]", optional=True)
        for key in _ROW_TEXT:
            need(row, key, TEXT, at=f"breakdown[{i}]", optional=True)
    return [row for row in rows if row.get("leadId")], token or None


def _new_id(body: Any) -> str:
    """A create's answer `{success, lead: {id, ...}, ...}`: the new lead's id."""
    lead = need(top(body), "lead", OBJECT)
    return str(need(lead, "id", ID, at="lead"))


def _lead(body: Any) -> RemoteLead:
    """Create, update and get all answer `{lead, ...}`; get and update add the computed
    `status`, all three the checklist groups (`checklistItems`) beside the lead."""
    answer = top(body)
    lead = need(answer, "lead", OBJECT)
    lead_id = need(lead, "id", ID, at="lead")
    lead_fields(OMNI, lead, "lead")
    need(lead, "deletedAt", TEXT, at="lead", optional=True)
    status = need(answer, "status", TEXT, optional=True)
    groups = need(answer, "checklistItems", LIST, optional=True)
    fields = from_wire(OMNI, lead, status)
    if groups is not None:
        fields["checklist"] = _checklist(groups)
    return RemoteLead(
        id=lead_id,
        fields=fields,
        updated_at=lead.get("updatedAt"),
        deleted=bool(lead.get("deletedAt")),
        raw=lead,
    )


def _checklist(groups: list[Any]) -> list[dict[str, Any]]:
    """Omni's checklist groups (beside the lead) as canonical {code, value, status} entries."""
    entries = []
    for g, group in enumerate(each_object(groups, "checklistItems")):
        at = f"checklistItems[{g}]"
        items = need(group, "items", LIST, at=at, optional=True) or []
        for i, item in enumerate(each_object(items, f"{at}.items")):
            where = f"{at}.items[{i}]"
            definition = need(item, "checklistItem", OBJECT, at=where, optional=True) or {}
            code = need(definition, "code", TEXT, at=f"{where}.checklistItem", optional=True)
            status = need(item, "status", TEXT, at=where, optional=True)
            if code:
                value = item.get("value")
                entries.append({"code": code, "value": _checklist_text(value), "status": status})
    return entries


def _checklist_text(value: Any) -> str | None:
    """A checklist value as the file's text: a NUMBER item answers a number (5000, not
    "5000"), an ADDRESS item may answer an object (as JSON, not a Python repr)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
