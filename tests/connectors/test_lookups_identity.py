"""Lost-answer lookups never take another person's lead for the row's own: a lead found by a
shared phone that carries another email is not the lead the row's create made."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from connectors import RemoteLead
from connectors._lookups import Lookups

SINCE = "2000-01-01T00:00:00Z"
BOARD = "+12125550100"
# In scan order: another person on the switchboard first, then the row's own lead.
LEADS = [
    RemoteLead("L-bob", {"email": "bob@x.io", "phone": BOARD}),
    RemoteLead("L-ann", {"email": "Ann@x.io", "phone": BOARD}),
    RemoteLead("L-bare", {"phone": "+12125550199"}),
]


class Scanner:
    """Answers each key set with the first lead of `leads` sharing one of its values."""

    vendor = "fake"
    finds_by_scan = True

    def __init__(self, leads: list[RemoteLead]) -> None:
        self.leads = leads
        self.asked: list[list[dict[str, str]]] = []

    async def find_many(
        self, wanted: Sequence[Mapping[str, str]], *, since: str
    ) -> list[RemoteLead | None]:
        self.asked.append([dict(w) for w in wanted])
        return [_first(self.leads, keys) for keys in wanted]


class Searcher(Scanner):
    """Searches: each lookup is a `find`, answered like one key set of a scan."""

    finds_by_scan = False

    async def find(self, keys: Mapping[str, str], *, since: str) -> RemoteLead | None:
        self.asked.append([dict(keys)])
        return _first(self.leads, keys)


def _first(leads: list[RemoteLead], keys: Mapping[str, str]) -> RemoteLead | None:
    for lead in leads:
        if any(str(lead.fields.get(k, "")).lower() == v.lower() for k, v in keys.items()):
            return lead
    return None


def _ids(client: Scanner, wanted: list[dict[str, str]]) -> list[str | None]:
    lookups = Lookups(client)  # type: ignore[arg-type]

    async def go() -> list[RemoteLead | None]:
        return list(await asyncio.gather(*(lookups.find(keys, SINCE) for keys in wanted)))

    return [lead.id if lead else None for lead in asyncio.run(go())]


WANTED = [
    {"email": "ann@x.io", "phone": BOARD},  # Ann's own lead, behind Bob's in the scan
    {"email": "cy@x.io", "phone": BOARD},  # Cy has no lead: Bob's and Ann's are not Cy's
    {"phone": BOARD},  # no email: the phone is enough
    {"email": "dee@x.io", "phone": "+12125550199"},  # a lead without email on the phone
]


def test_a_scan_finds_the_rows_own_lead_and_never_another_persons() -> None:
    client = Scanner(LEADS)
    assert _ids(client, WANTED) == ["L-ann", None, "L-bob", "L-bare"]
    # One scan; the email of a row with an email and a phone is looked up on its own.
    assert len(client.asked) == 1
    assert {"email": "ann@x.io"} in client.asked[0] and {"phone": BOARD} in client.asked[0]


def test_a_search_that_lands_on_another_persons_lead_finds_nothing() -> None:
    client = Searcher(list(reversed(LEADS)))
    assert _ids(client, WANTED) == ["L-ann", None, "L-ann", "L-bare"]
    assert client.asked == [[w] for w in WANTED]
