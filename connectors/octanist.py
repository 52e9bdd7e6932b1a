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

Every answer is checked before it is used (`connectors._shapes`): a read of the wrong shape
(`data: null`, no `meta.pagination.hasMore`), or a listing that does not end, stops the run; an
update's fails its row; a create answered without `data.id` is ambiguous (the push looks the
lead up by email/phone).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from connectors._client import LeadRef, RemoteLead, WriteResult, _Base
from connectors._payloads import from_wire, to_wire
from connectors._shapes import (
    BOOL,
    ID,
    INT,
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
from connectors.exceptions import LeadNotFound
from schemas.vendors import OCTANIST

__all__ = ["OctanistClient"]

_PAGE = 100
# Pages one listing may read before it is taken to be endless (a test may lower it).
_MAX_PAGES = page_limit(_PAGE)
_MATCH_KEYS = ("id", "email", "phone")


class OctanistClient(_Base):
    """Octanist's lead API in canonical terms."""

    vendor = "octanist"
    finds_by_scan = False  # GET /leads?search=: a request or two per lookup

    async def create(self, fields: Mapping[str, Any]) -> WriteResult:
        """POST /leads. Not idempotent: an ambiguous failure raises AmbiguousWriteError, and so
        does an answer without the new lead's id (`AnswerWithoutId`)."""
        body = to_wire(OCTANIST, fields, on="create")
        reply = await self.http.send("POST", "/leads", json_body=body, idempotent=False)
        lead_id = Answer(self.vendor, "POST", "/leads", reply).created_id(_new_id)
        return WriteResult(lead_id, reply.status, reply.request_id, reply.attempts)

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
        lead_id, updated = Answer(self.vendor, "PATCH", "/leads", reply).written(_updated)
        if updated == 0:
            # The docs answer 404 when no lead matches; a 200 that updated none is no success.
            raise LeadNotFound(
                f"PATCH /leads answered {reply.status} but updated no lead (leadsUpdated: 0)",
                vendor=self.vendor,
                status=reply.status,
                code="NOT_FOUND",
                request_id=reply.request_id,
                attempts=reply.attempts,
            )
        return WriteResult(
            lead_id, reply.status, reply.request_id, reply.attempts, leads_updated=updated
        )

    async def get(self, lead_id: str) -> RemoteLead:
        """GET /leads/{id}."""
        path = f"/leads/{quote(lead_id, safe='')}"
        reply = await self.http.send("GET", path, idempotent=True)
        return Answer(self.vendor, "GET", path, reply).read(_one_lead)

    async def find(self, keys: Mapping[str, str], *, since: str) -> RemoteLead | None:
        """A lead created since `since` with this email or phone (to resolve a lost answer)."""
        for key in ("email", "phone"):
            value = keys.get(key)
            if not value:
                continue
            params = {"search": value, "createdAt[gte]": since, "limit": _PAGE}
            reply = await self.http.send("GET", "/leads", params=params, idempotent=True)
            for lead in Answer(self.vendor, "GET", "/leads", reply).read(_search_page):
                if str(lead.fields.get(key) or "").lower() == value.lower():
                    return lead
        return None

    async def find_many(
        self, wanted: Sequence[Mapping[str, str]], *, since: str
    ) -> list[RemoteLead | None]:
        """`find` for each key set in turn: a search answers one, there is no scan to share."""
        return [await self.find(keys, since=since) for keys in wanted]

    async def iter_leads(self, since: str | None = None) -> AsyncIterator[RemoteLead]:
        """Leads updated at or after `since` (all when None), oldest first, each id once.

        A listing that does not end stops the run (`VendorProtocolError`): `hasMore` with a
        page of nothing new (one page of the cursor's boundary rows may come again), a cursor
        and page answered before, or more pages than `_MAX_PAGES`."""
        cursor, page, seen = since, 1, set[str]()
        pages = Listing(
            self.vendor,
            "GET /leads",
            more="hasMore",
            repeat="answered hasMore but led back to a page already read",
            limit=_MAX_PAGES,
            start=(cursor, page),
        )
        while True:
            params: dict[str, Any] = {"sort": "updatedAt:asc", "limit": _PAGE, "page": page}
            if cursor:
                params["updatedAt[gte]"] = cursor
            reply = await self.http.send("GET", "/leads", params=params, idempotent=True)
            rows, has_more = Answer(self.vendor, "GET", "/leads", reply).read(_list_page)
            pages.answered()
            new = 0
            for lead in rows:
                if lead.id not in seen:
                    seen.add(lead.id)
                    new += 1
                    yield lead
            if not rows or not has_more:
                return
            newest = max((r.updated_at for r in rows if r.updated_at), default=None)
            moved = bool(newest) and newest != cursor
            # After the cursor moves, its first page starts with the boundary rows just read.
            was_first = page == 1
            cursor, page = (newest, 1) if moved else (cursor, page + 1)
            pages.more(new, (cursor, page), may_repeat=was_first)


def _new_id(body: Any) -> str:
    """A create's answer `{success, data: {id, message}, meta}`: the new lead's id."""
    data = need(top(body), "data", OBJECT)
    return str(need(data, "id", ID, at="data"))


def _updated(body: Any) -> tuple[str | None, int | None]:
    """An update's answer `{success, data: {leadId, leadsUpdated, message}, meta}`."""
    data = need(top(body), "data", OBJECT)
    lead_id = need(data, "leadId", ID, at="data", optional=True)
    return lead_id, need(data, "leadsUpdated", INT, at="data", optional=True)


def _one_lead(body: Any) -> RemoteLead:
    """GET /leads/{id}: `{success, data: <lead>, meta}`."""
    return _lead(need(top(body), "data", OBJECT), "data")


def _search_page(body: Any) -> list[RemoteLead]:
    """A page of GET /leads: `{success, data: [<lead>...], meta}`."""
    rows = each_object(need(top(body), "data", LIST), "data")
    return [_lead(row, f"data[{i}]") for i, row in enumerate(rows)]


def _list_page(body: Any) -> tuple[list[RemoteLead], bool]:
    """A page of the listing, and whether there is more (`meta.pagination.hasMore`)."""
    meta = need(top(body), "meta", OBJECT)
    pagination = need(meta, "pagination", OBJECT, at="meta")
    return _search_page(body), bool(need(pagination, "hasMore", BOOL, at="meta.pagination"))


def _lead(lead: dict[str, Any], at: str) -> RemoteLead:
    lead_id = need(lead, "id", ID, at=at)
    lead_fields(OCTANIST, lead, at)
    need(lead, "name", TEXT, at=at, optional=True)
    return RemoteLead(
        id=lead_id, fields=from_wire(OCTANIST, lead), updated_at=lead.get("updatedAt"), raw=lead
    )
