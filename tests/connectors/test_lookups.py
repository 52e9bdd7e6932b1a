"""Lost-answer lookups: scan-only vendors answer many lookups with one scan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import httpx
import pytest

from connectors import LeadClient, RemoteLead, open_client, sandbox_profile
from connectors._client import first_matches
from connectors._lookups import Lookups
from sandbox import create_app

SINCE = "2000-01-01T00:00:00Z"


async def _rows(items: list[tuple[str, dict[str, Any]]]) -> AsyncIterator[tuple[str, Any]]:
    for item in items:
        yield item


def test_first_matches_takes_the_first_row_sharing_any_key_and_stops_early() -> None:
    rows: list[tuple[str, dict[str, Any]]] = [
        ("a", {"email": "x@a.io", "phone": "+1"}),
        ("b", {"email": "y@a.io", "phone": "+2"}),
        ("c", {"email": "z@a.io", "phone": "+2"}),
        ("never-read", {"email": "w@a.io", "phone": None}),
    ]
    read: list[str] = []

    async def watched() -> AsyncIterator[tuple[str, Any]]:
        async for item in _rows(rows):
            read.append(item[0])
            yield item

    wanted = [{"phone": "+2"}, {"email": "x@a.io"}, {"email": "nobody@a.io", "phone": ""}]
    found = asyncio.run(first_matches(wanted, watched()))
    assert found == ["b", "a", None]
    assert read == ["a", "b", "c", "never-read"]  # the unmatched set needs the whole scan
    assert asyncio.run(first_matches([{"email": "x@a.io"}], _rows(rows))) == ["a"]


class ScanOnly:
    """A client that can only scan: counts its scans, can be made to fail."""

    vendor = "fake"
    finds_by_scan = True

    def __init__(self, leads: dict[str, str]) -> None:
        self.leads = leads  # email -> id
        self.scans: list[int] = []
        self.error: Exception | None = None

    async def find(self, keys: Mapping[str, str], *, since: str) -> RemoteLead | None:
        raise AssertionError("a client that finds by scan is asked through find_many")

    async def find_many(
        self, wanted: Sequence[Mapping[str, str]], *, since: str
    ) -> list[RemoteLead | None]:
        self.scans.append(len(wanted))
        await asyncio.sleep(0.01)  # a scan takes a while: lookups arrive meanwhile
        if self.error is not None:
            raise self.error
        ids = [self.leads.get(keys.get("email", "")) for keys in wanted]
        return [RemoteLead(i, {}) if i else None for i in ids]


class Searcher:
    """A client that searches per key: records each `find`, never scans."""

    vendor = "fake"
    finds_by_scan = False

    def __init__(self, leads: dict[str, str]) -> None:
        self.leads = leads  # email -> id
        self.finds: list[tuple[str, str]] = []

    async def find(self, keys: Mapping[str, str], *, since: str) -> RemoteLead | None:
        self.finds.append((keys["email"], since))
        await asyncio.sleep(0)
        found = self.leads.get(keys["email"])
        return RemoteLead(found, {}) if found else None

    async def find_many(
        self, wanted: Sequence[Mapping[str, str]], *, since: str
    ) -> list[RemoteLead | None]:
        raise AssertionError("a client that searches is asked one lookup at a time")


def test_concurrent_lookups_share_scans_and_each_gets_its_own_answer() -> None:
    client = ScanOnly({f"p{i}@a.io": f"L{i}" for i in range(0, 40, 2)})
    lookups = Lookups(client)  # type: ignore[arg-type]

    async def go() -> list[RemoteLead | None]:
        first = [lookups.find({"email": f"p{i}@a.io"}, SINCE) for i in range(20)]
        later = asyncio.sleep(0.005)  # these arrive while the first scan runs
        rest = [lookups.find({"email": f"p{i}@a.io"}, SINCE) for i in range(20, 40)]

        async def after() -> list[RemoteLead | None]:
            await later
            return list(await asyncio.gather(*rest))

        a, b = await asyncio.gather(asyncio.gather(*first), after())
        return [*a, *b]

    found = asyncio.run(go())
    assert [f.id if f else None for f in found] == [
        f"L{i}" if i % 2 == 0 else None for i in range(40)
    ]
    assert client.scans == [20, 20] and lookups.scans == 2


def test_a_failed_scan_fails_every_lookup_waiting_for_it_and_the_next_scan_runs() -> None:
    client = ScanOnly({"a@a.io": "L1"})
    client.error = httpx.ReadTimeout("timed out")
    lookups = Lookups(client)  # type: ignore[arg-type]

    async def go() -> list[Any]:
        return list(
            await asyncio.gather(
                *(lookups.find({"email": "a@a.io"}, SINCE) for _ in range(3)),
                return_exceptions=True,
            )
        )

    assert all(isinstance(r, httpx.ReadTimeout) for r in asyncio.run(go()))
    client.error = None
    assert asyncio.run(lookups.find({"email": "a@a.io"}, SINCE)) == RemoteLead("L1", {})


def test_a_searching_client_is_asked_one_lookup_at_a_time() -> None:
    client = Searcher({"a@a.io": "L1"})
    lookups = Lookups(client)  # type: ignore[arg-type]

    async def go() -> list[RemoteLead | None]:
        return list(
            await asyncio.gather(
                lookups.find({"email": "a@a.io"}, SINCE),
                lookups.find({"email": "b@a.io"}, "2001-01-01T00:00:00Z"),
            )
        )

    assert asyncio.run(go()) == [RemoteLead("L1", {}), None]
    assert client.finds == [("a@a.io", SINCE), ("b@a.io", "2001-01-01T00:00:00Z")]
    assert lookups.scans == 0


def test_no_keys_means_not_found_without_asking() -> None:
    scanner, searcher = ScanOnly({}), Searcher({})
    assert asyncio.run(Lookups(scanner).find({}, SINCE)) is None  # type: ignore[arg-type]
    assert asyncio.run(Lookups(searcher).find({}, SINCE)) is None  # type: ignore[arg-type]
    assert scanner.scans == [] and searcher.finds == []


@pytest.mark.parametrize(
    ("vendor", "scans"), [("omni", True), ("apten", True), ("octanist", False)]
)
def test_each_client_declares_how_it_finds(vendor: str, scans: bool) -> None:
    client: LeadClient = open_client(sandbox_profile(vendor, "http://sandbox.local"))
    assert client.finds_by_scan is scans
    asyncio.run(client.aclose())


def test_octanist_find_many_searches_each_key_set_in_turn(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADPIPE_SANDBOX_KEY", "sandbox-key")
    transport = httpx.ASGITransport(app=create_app(tmp_path / "s.db"))
    searched: list[str] = []

    async def log(request: httpx.Request) -> None:
        if request.url.path.endswith("/leads") and request.method == "GET":
            searched.append(request.url.params["search"])

    async def go() -> list[str | None]:
        profile = sandbox_profile("octanist", "http://sandbox.local")
        async with open_client(profile, transport=transport) as client:
            client.http._client.event_hooks["request"].append(log)
            made = await client.create(
                {"first_name": "P", "last_name": "L", "email": "p@a.io", "phone": "+12125550101"}
            )
            wanted = [{"email": "p@a.io"}, {"email": "none@a.io", "phone": "+12125550109"}]
            found = await client.find_many(wanted, since=SINCE)
            return [made.id, *[f.id if f else None for f in found]]

    made, first, second = asyncio.run(go())
    assert (first, second) == (made, None)
    assert searched == ["p@a.io", "none@a.io", "+12125550109"]  # one search per key, in turn


@pytest.mark.parametrize(("vendor", "page_path"), [("omni", "/analytics"), ("apten", "/leads")])
def test_scan_only_vendors_answer_many_lookups_with_one_scan(
    vendor: str, page_path: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADPIPE_SANDBOX_KEY", "sandbox-key")
    app = create_app(tmp_path / "s.db")
    transport = httpx.ASGITransport(app=app)
    paths: list[str] = []

    async def log(request: httpx.Request) -> None:
        paths.append(request.url.path)

    async def go() -> list[RemoteLead | None]:
        profile = sandbox_profile(vendor, "http://sandbox.local")
        async with open_client(profile, transport=transport) as client:
            client.http._client.event_hooks["request"].append(log)
            made = []
            for i in range(1, 6):
                fields = {
                    "first_name": "P",
                    "last_name": f"L{i}",
                    "email": f"p{i}@a.io",
                    "phone": f"+1212555010{i}",
                    **({"customer_profile": "Default"} if vendor == "apten" else {}),
                }
                made.append((await client.create(fields)).id)
            paths.clear()
            wanted = [{"email": "p4@a.io"}, {"phone": "+12125550102"}, {"email": "none@a.io"}]
            found = await client.find_many(wanted, since=SINCE)
            assert [f.id if f else None for f in found] == [made[3], made[1], None]
            return list(found)

    asyncio.run(go())
    scans = [p for p in paths if p.endswith(page_path)]
    assert len(scans) == 1, paths  # one page holds all five: one scan for the three lookups
