"""Apten leads: POST /leads/create, update by id, GET by id, GET /leads as a cursor list.

The update's method and path are not in the readable docs: the profile's `apten_update_route`
chooses one of PATCH /leads/{id} (default), PUT /leads/{id} or POST /leads/{id}/update. API
Gateway answers a route it does not know with 403 "Missing Authentication Token", the status
of a bad key: a 403 to an update says both, and that `leadpipe doctor` finds the route.
`iter_leads` uses `updatedSince` (inclusive), 1000 per page, follows `nextToken`, and yields
each id once even when boundary rows come back twice; soft-deleted leads come with
`deleted=True` for the caller to drop.

Every answer is checked before it is used (`connectors._shapes`): a read of the wrong shape, or
a listing that does not end (the same `nextToken` twice, a page of nothing new), stops the run;
an update's fails its row; a create answered without `id` is ambiguous (the push looks the lead
up in the list by phone/email).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from connectors._client import LeadRef, RemoteLead, WriteResult, _Base, first_matches
from connectors._payloads import from_wire, to_wire
from connectors._profile import key_hint
from connectors._shapes import (
    BOOL,
    ID,
    LIST,
    TEXT,
    Answer,
    Listing,
    each_object,
    lead_fields,
    need,
    page_limit,
    top,
)
from connectors.exceptions import KeyRejected
from schemas.vendors import APTEN

__all__ = ["AptenClient"]

_EPOCH = "1970-01-01T00:00:00Z"  # "everything": the list needs updatedSince or createdSince
_PAGE = 1000
# Pages one listing may read before it is taken to be endless (a test may lower it).
_MAX_PAGES = page_limit(_PAGE)
# Follow-up fields reset the timer to now + hours on every call: not safe to resend blindly.
_NOT_IDEMPOTENT = frozenset({"follow_up_config", "follow_up_step"})


class AptenClient(_Base):
    """Apten's lead API in canonical terms."""

    vendor = "apten"
    finds_by_scan = True  # the list only: no search

    async def create(self, fields: Mapping[str, Any]) -> WriteResult:
        """POST /leads/create. Phones are unique, so a resend after a lost answer fails (400).

        Its answer `{message, id}` must carry the id (the docs' example shows only `message`):
        without it the lead may exist all the same, `AnswerWithoutId`, and the push looks it
        up in the list before anything is created again."""
        body = to_wire(APTEN, fields, on="create")
        reply = await self.http.send("POST", "/leads/create", json_body=body, idempotent=False)
        lead_id = Answer(self.vendor, "POST", "/leads/create", reply).created_id(_new_id)
        return WriteResult(lead_id, reply.status, reply.request_id, reply.attempts)

    async def update(self, ref: LeadRef, fields: Mapping[str, Any]) -> WriteResult:
        """Update by id with the profile's route; additionalInfo merges and null deletes a key."""
        if not isinstance(ref, str):
            raise TypeError("Apten updates by lead id only")
        method, template = self.profile.apten_update_route.split(" ", 1)
        path = template.format(id=quote(ref, safe=""))
        body = to_wire(APTEN, fields, on="update")
        idempotent = not (_NOT_IDEMPOTENT & set(fields))
        try:
            reply = await self.http.send(method, path, json_body=body, idempotent=idempotent)
        except KeyRejected as exc:
            raise self._route_or_key(exc) from None
        Answer(self.vendor, method, path, reply).written(_message)
        return WriteResult(ref, reply.status, reply.request_id, reply.attempts)

    def _route_or_key(self, exc: KeyRejected) -> KeyRejected:
        """A 403 to an update: a bad key, or a route API Gateway does not know (still fatal:
        every update would fail the same way)."""
        if exc.status != 403:
            return exc
        name = self.profile.name
        return KeyRejected(
            "key rejected or update route not found: see apten_update_route "
            f"(leadpipe doctor --target {name} checks it); {self.profile.apten_update_route} "
            f"answered 403 {exc.reply}. {key_hint(self.profile)}",
            reply=exc.reply,
            vendor=exc.vendor,
            status=exc.status,
            code=exc.code,
            request_id=exc.request_id,
            attempts=exc.attempts,
        )

    async def get(self, lead_id: str) -> RemoteLead:
        """GET /leads/{id}: the lead object (the docs' example has no `id`: the one asked for)."""
        path = f"/leads/{quote(lead_id, safe='')}"
        reply = await self.http.send("GET", path, idempotent=True)
        return Answer(self.vendor, "GET", path, reply).read(lambda body: _lead(top(body), lead_id))

    async def iter_leads(self, since: str | None = None) -> AsyncIterator[RemoteLead]:
        """Leads updated at or after `since` (all when None), oldest first, each id once."""
        async for lead in self._pages({"updatedSince": since or _EPOCH, "limit": _PAGE}):
            yield lead

    async def find(self, keys: Mapping[str, str], *, since: str) -> RemoteLead | None:
        """A lead created since `since` with this phone or email (to resolve a lost answer)."""
        return (await self.find_many([keys], since=since))[0]

    async def find_many(
        self, wanted: Sequence[Mapping[str, str]], *, since: str
    ) -> list[RemoteLead | None]:
        """`find` for many key sets in one pass over the leads created since `since`."""

        async def rows() -> AsyncIterator[tuple[RemoteLead, dict[str, Any]]]:
            async for lead in self._pages({"createdSince": since, "limit": _PAGE}):
                if not lead.deleted:
                    yield lead, {k: lead.fields.get(k) for k in ("phone", "email")}

        return await first_matches(wanted, rows())

    async def _pages(self, params: dict[str, Any]) -> AsyncIterator[RemoteLead]:
        """GET /leads following `nextToken`, each id once. A listing that does not end stops
        the run (`VendorProtocolError`): the same token twice, or a page of nothing new."""
        pages = Listing(
            self.vendor,
            "GET /leads",
            more="a nextToken",
            repeat="answered the same nextToken twice",
            limit=_MAX_PAGES,
        )
        seen: set[str] = set()
        while True:
            reply = await self.http.send("GET", "/leads", params=params, idempotent=True)
            leads, token = Answer(self.vendor, "GET", "/leads", reply).read(_list_page)
            pages.answered()
            new = 0
            for lead in leads:
                if lead.id not in seen:
                    seen.add(lead.id)
                    new += 1
                    yield lead
            if not token:
                return
            pages.more(new, token)
            params["nextToken"] = token


def _new_id(body: Any) -> str:
    """A create's answer `{message, id}`: the new lead's id."""
    return str(need(top(body), "id", ID))


def _message(body: Any) -> None:
    """An update's answer `{message}`."""
    need(top(body), "message", TEXT, optional=True)


def _list_page(body: Any) -> tuple[list[RemoteLead], str | None]:
    """A page of GET /leads `{leads: [...], nextToken}`: its leads (each with its id) and the
    next page's token (null at the end)."""
    page = top(body)
    token = need(page, "nextToken", TEXT, nullable=True)
    rows = each_object(need(page, "leads", LIST), "leads")
    leads = []
    for i, row in enumerate(rows):
        need(row, "id", ID, at=f"leads[{i}]")
        leads.append(_lead(row, "", at=f"leads[{i}]"))
    return leads, token or None


def _lead(lead: dict[str, Any], fallback_id: str, at: str = "") -> RemoteLead:
    """A lead object (a GET's whole body, or a list entry `at`); `fallback_id` when it has
    no `id`."""
    lead_id = need(lead, "id", ID, at=at, optional=True) or fallback_id
    lead_fields(APTEN, lead, at)
    need(lead, "deleted", BOOL, at=at, optional=True)
    fields = from_wire(APTEN, lead)
    if isinstance(lead.get("additionalInfo"), dict):
        fields["custom"] = [{"key": k, "value": v} for k, v in lead["additionalInfo"].items()]
    return RemoteLead(
        id=lead_id,
        fields=fields,
        updated_at=lead.get("updatedAt"),
        deleted=bool(lead.get("deleted")),
        raw=lead,
    )
