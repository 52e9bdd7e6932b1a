"""Contract tests: each client against the sandbox, in-process (ASGI) and over real sockets.

The sandbox is our stand-in for the vendors; these tests pin the clients to the documented
behaviour it emulates (../shared/api-contracts.md).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from connectors import LeadClient, RetryPolicy, Secret, TargetProfile, open_client, sandbox_profile
from connectors.exceptions import FatalVendorError, LeadConflict, LeadNotFound, PermanentVendorError
from tests.connectors.fakes import FakeClock

sandbox = pytest.importorskip("sandbox")

APTEN_LEAD = {
    "first_name": "Ann",
    "last_name": "Lee",
    "phone": "+12125550100",
    "customer_profile": "Default",
}


@pytest.fixture
def app() -> Any:
    return sandbox.create_app(seed=7)


def _client(app: Any, vendor: str, **kw: Any) -> LeadClient:
    return open_client(
        sandbox_profile(vendor, "http://sandbox"),
        transport=httpx.ASGITransport(app=app),
        clock=kw.pop("clock", FakeClock()),
        rng=random.Random(3),
        retry=kw.pop("retry", RetryPolicy(max_attempts=8, base_delay=0.01, max_delay=0.05)),
    )


async def _admin(app: Any, method: str, path: str, body: Any = None) -> Any:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox"
    ) as admin:
        response = await admin.request(method, path, json=body)
        response.raise_for_status()
        return response.json() if response.content else None


async def _all(leads: AsyncIterator[Any]) -> list[Any]:
    return [lead async for lead in leads]


def test_omni_create_get_update_and_list(app: Any) -> None:
    async def go() -> None:
        async with _client(app, "omni") as omni:
            made = await omni.create(
                {"first_name": "Ann", "phone": "6782319992", "tags": ["VIP"], "email": "a@x.io"}
            )
            assert made.id and made.lead is not None
            assert made.lead.fields["phone"] == "+16782319992"  # stored as E.164
            assert made.lead.fields["timezone"] == "America/New_York"  # inferred from the phone
            updated = await omni.update(made.id, {"tags": ["vip", "Hot"], "status": "completed"})
            assert updated.lead is not None and sorted(
                t.lower() for t in updated.lead.fields["tags"]
            ) == ["hot", "vip"]
            got = await omni.get(made.id)
            assert got.fields["status"] == "completed" and got.fields["email"] == "a@x.io"
            listed = await _all(omni.iter_leads())
            assert [lead.id for lead in listed] == [made.id]
            with pytest.raises(LeadNotFound):
                await omni.get("no-such-lead")

    asyncio.run(go())


def test_apten_create_unique_phone_merge_update_list_and_soft_delete(app: Any) -> None:
    async def go() -> None:
        async with _client(app, "apten") as apten:
            made = await apten.create({**APTEN_LEAD, "custom": [{"key": "loan", "value": "5000"}]})
            assert made.id
            with pytest.raises(PermanentVendorError) as dup:
                await apten.create({**APTEN_LEAD, "first_name": "Other"})
            assert dup.value.status == 400
            await apten.update(
                made.id,
                {"custom": [{"key": "loan", "value": None}, {"key": "term", "value": "12"}]},
            )
            got = await apten.get(made.id)
            assert got.fields["custom"] == [{"key": "term", "value": "12"}]
            await _admin(app, "POST", f"/_sandbox/apten/leads/{made.id}/delete")
            listed = await _all(apten.iter_leads())
            assert [(lead.id, lead.deleted) for lead in listed] == [(made.id, True)]

    asyncio.run(go())


def test_octanist_match_priority_conflict_and_bulk_setting(app: Any) -> None:
    async def go() -> None:
        async with _client(app, "octanist") as octanist:
            a = await octanist.create(
                {"first_name": "Ann", "last_name": "Lee", "email": "same@x.io"}
            )
            b = await octanist.create({"first_name": "Bob", "email": "same@x.io"})
            with pytest.raises(LeadConflict):
                await octanist.update({"email": "same@x.io"}, {"status": "won"})
            one = await octanist.update(
                a.id or "", {"status": "lost", "loss_reason": "price", "value": 1200.0}
            )
            assert one.leads_updated == 1
            got = await octanist.get(a.id or "")
            assert (got.fields["status"], got.fields["loss_reason"], got.fields["value"]) == (
                "lost",
                "price",
                1200,
            )
            await _admin(app, "PUT", "/_sandbox/settings", {"octanist": {"bulk_updates": True}})
            both = await octanist.update({"email": "same@x.io"}, {"status": "qualified"})
            assert both.leads_updated == 2
            listed = await _all(octanist.iter_leads())
            assert {lead.id for lead in listed} == {a.id, b.id}

    asyncio.run(go())


@pytest.mark.parametrize("vendor", ["omni", "apten", "octanist"])
def test_bad_key_stops_after_one_request(app: Any, vendor: str) -> None:
    profile = sandbox_profile(vendor, "http://sandbox")
    wrong = TargetProfile(
        name="bad",
        vendor=vendor,
        base_url=profile.base_url,
        sandbox_key=Secret("wrong"),
        allow_http=True,
    )

    async def go() -> None:
        await _admin(app, "DELETE", "/_sandbox/requests")
        async with open_client(
            wrong, transport=httpx.ASGITransport(app=app), clock=FakeClock()
        ) as client:
            with pytest.raises(FatalVendorError):
                await client.get("anything")
        log = await _admin(app, "GET", "/_sandbox/requests")
        assert len(log if isinstance(log, list) else log["requests"]) == 1

    asyncio.run(go())


def test_injected_5xx_and_malformed_bodies_are_retried_to_success(app: Any) -> None:
    async def go() -> None:
        await _admin(
            app,
            "PUT",
            "/_sandbox/faults",
            {"octanist": {"error_rate": 0.3, "error_status": 503, "malformed_rate": 0.1}},
        )
        async with _client(app, "apten") as apten_unaffected, _client(app, "octanist") as octanist:
            ids: list[str | None] = []
            for i in range(15):
                try:
                    made = await octanist.create({"email": f"l{i}@x.io"})
                except Exception as exc:  # noqa: BLE001 - creates may be ambiguous; counted below
                    ids.append(type(exc).__name__)
                else:
                    ids.append(made.id)
            leads = [await octanist.get(i) for i in ids if i and i.startswith("lead_")]
            assert len(leads) >= 10
            assert octanist.http.stats.retried > 0
            assert apten_unaffected.http.stats.sent == 0

    asyncio.run(go())


def test_all_three_clients_over_real_sockets(live_sandbox: str) -> None:
    async def go() -> None:
        for vendor, fields in (
            ("omni", {"first_name": "Ann", "phone": "+12125550100"}),
            ("apten", APTEN_LEAD),
            ("octanist", {"email": "a@x.io"}),
        ):
            async with open_client(sandbox_profile(vendor, live_sandbox)) as client:
                made = await client.create(fields)
                assert made.id, vendor
                got = await client.get(made.id)
                assert got.id == made.id, vendor

    asyncio.run(go())


def test_sandbox_rate_limit_is_honoured_through_retry_after() -> None:
    """One fake clock drives the sandbox's bucket and the client's waits: no real sleeping."""
    clock = FakeClock()
    app = sandbox.create_app(seed=5, monotonic=clock.now, faults={"apten": {"rate_limit_per_s": 2}})

    async def go() -> None:
        async with _client(app, "apten", clock=clock) as apten:
            made = await apten.create(APTEN_LEAD)
            for _ in range(8):
                assert (await apten.get(made.id or "")).id == made.id
            assert apten.http.stats.throttled > 0
            assert any(s >= 1.0 for s in clock.sleeps)  # waited out a whole-second Retry-After
        log = await _admin(app, "GET", "/_sandbox/requests")
        statuses = [e["status"] for e in log]
        assert 429 in statuses and statuses.count(200) == 9

    asyncio.run(go())
