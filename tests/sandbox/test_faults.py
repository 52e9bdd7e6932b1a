"""Fault injection: rates, vendor shapes, before/after-write semantics, determinism."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from sandbox import InjectedConnectionDrop, InjectedHangTimeout, create_app
from tests.sandbox.support import FakeMonotonic, client_for, requests_log

pytestmark = pytest.mark.anyio

Factory = Callable[..., httpx.AsyncClient]
OMNI = "/omni/api/v1/leads"
OCTANIST = "/octanist/api/leads"


async def set_faults(client: httpx.AsyncClient, **vendors: dict[str, Any]) -> None:
    response = await client.put("/_sandbox/faults", json=vendors)
    assert response.status_code == 200, response.text


async def stored(client: httpx.AsyncClient, vendor: str) -> int:
    """How many leads the vendor holds (faults switched off first)."""
    await set_faults(client, **{vendor: {}})
    if vendor == "omni":
        response = await client.get("/omni/api/v0/analytics")
        return int(response.json()["totals"]["count"])
    if vendor == "apten":
        params: dict[str, str | int] = {"createdSince": "2000-01-01", "limit": 1000}
        return len((await client.get("/apten/v1/leads", params=params)).json()["leads"])
    response = await client.get(OCTANIST, params={"limit": 1})
    return int(response.json()["meta"]["pagination"]["total"])


async def stored_octanist(client: httpx.AsyncClient) -> int:
    return await stored(client, "octanist")


async def test_error_rate_is_roughly_honoured(client: httpx.AsyncClient) -> None:
    await set_faults(client, octanist={"error_rate": 0.3})
    statuses: Counter[int] = Counter()
    for _ in range(300):
        statuses[(await client.post("/octanist/api/check")).status_code] += 1
    assert set(statuses) == {200, 500}
    assert 60 <= statuses[500] <= 120
    log = await requests_log(client, "octanist")
    assert sum(1 for e in log if e["fault"] == "error") == statuses[500]


@pytest.mark.parametrize(
    ("vendor", "path", "status", "check"),
    [
        (
            "omni",
            OMNI,
            500,
            lambda r: r.json() == {"success": False, "error": "Internal server error"},
        ),
        ("omni", OMNI, 502, lambda r: r.headers["content-type"].startswith("text/html")),
        (
            "apten",
            "/apten/v1/leads/create",
            503,
            lambda r: r.json() == {"message": "Service Unavailable"},
        ),
        ("octanist", OCTANIST, 500, lambda r: r.json()["error"]["code"] == "INTERNAL_ERROR"),
    ],
)
async def test_injected_errors_use_vendor_shapes_and_write_nothing(
    client: httpx.AsyncClient,
    vendor: str,
    path: str,
    status: int,
    check: Callable[[httpx.Response], bool],
) -> None:
    faults = {"error_rate": 1.0, "error_status": status, "after_write_ratio": 0}
    await set_faults(client, **{vendor: faults})
    body = {
        "firstName": "A",
        "lastName": "B",
        "phone": "+15555550100",
        "customerProfile": "Default",
    }
    response = await client.post(path, json={**body, "name": "A"})
    assert response.status_code == status and check(response)
    [entry] = await requests_log(client, vendor)
    assert (entry["fault"], entry["fault_phase"], entry["applied"]) == ("error", "before", False)
    assert await client.get(f"/_sandbox/{vendor}/leads/x") is not None
    assert (await client.post("/_sandbox/seed", json={"vendor": vendor, "leads": []})).json()[
        "ids"
    ] == []


@pytest.mark.parametrize(("status", "ratio", "stored"), [(502, 1, 1), (504, 1, 1), (504, 0, 0)])
async def test_a_gateway_error_may_come_after_the_write(
    client: httpx.AsyncClient, status: int, ratio: int, stored: int
) -> None:
    faults = {"error_rate": 1.0, "error_status": status, "after_write_ratio": ratio}
    await set_faults(client, octanist=faults)
    response = await client.post(OCTANIST, json={"name": "A"})
    assert response.status_code == status
    [entry] = await requests_log(client, "octanist")
    phase = "after" if ratio else "before"
    assert (entry["fault"], entry["fault_phase"], entry["applied"]) == ("error", phase, bool(ratio))
    assert await stored_octanist(client) == stored


async def test_error_before_write_stores_nothing(client: httpx.AsyncClient) -> None:
    await set_faults(client, octanist={"error_rate": 1.0})
    for _ in range(5):
        assert (await client.post(OCTANIST, json={"name": "A"})).status_code == 500
    assert await stored_octanist(client) == 0


async def test_rate_limit_token_bucket(make_client: Factory) -> None:
    monotonic = FakeMonotonic()
    async with make_client(
        monotonic=monotonic, faults={"octanist": {"rate_limit_per_s": 5}}
    ) as client:
        statuses = [(await client.post("/octanist/api/check")).status_code for _ in range(8)]
        assert statuses == [200] * 5 + [429] * 3
        limited = await client.post("/octanist/api/check")
        assert limited.headers["Retry-After"] == "1"
        assert limited.json()["error"]["code"] == "RATE_LIMITED"
        monotonic.current += 0.5  # 2.5 tokens refilled
        statuses = [(await client.post("/octanist/api/check")).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert (await client.get("/_sandbox/faults")).status_code == 200  # control plane unlimited


async def test_rate_limit_retry_after_and_vendor_bodies(make_client: Factory) -> None:
    faults = {"apten": {"rate_limit_per_s": 0.25}, "omni": {"rate_limit_per_s": 1}}
    async with make_client(monotonic=FakeMonotonic(), faults=faults) as client:
        await client.get("/apten/v1/leads/room_x")
        apten = await client.get("/apten/v1/leads/room_x")
        assert apten.status_code == 429 and apten.json() == {"message": "Too Many Requests"}
        assert apten.headers["Retry-After"] == "4"
        await client.get(f"{OMNI}/x")
        omni = await client.get(f"{OMNI}/x")
        assert omni.status_code == 429 and omni.json()["success"] is False
        log = await requests_log(client)
        assert [e["fault"] for e in log] == [None, "rate_limit", None, "rate_limit"]


async def test_latency_and_jitter(client: httpx.AsyncClient) -> None:
    await set_faults(client, omni={"latency_ms": 30, "jitter_ms": 10})
    started = time.perf_counter()
    assert (await client.get(f"{OMNI}/x")).status_code == 404
    assert time.perf_counter() - started >= 0.03


async def test_hang_raises_read_timeout_in_process(client: httpx.AsyncClient) -> None:
    await set_faults(client, octanist={"hang_rate": 1.0, "hang_s": 0.01, "after_write_ratio": 0})
    with pytest.raises(httpx.ReadTimeout) as caught:
        await client.post(OCTANIST, json={"name": "A"})
    assert isinstance(caught.value, InjectedHangTimeout)
    assert caught.value.request.url.path == OCTANIST
    [entry] = await requests_log(client, "octanist")
    assert (entry["fault"], entry["status"], entry["applied"]) == ("hang", None, False)
    assert await stored_octanist(client) == 0


async def test_hang_after_write_applies_it(client: httpx.AsyncClient) -> None:
    await set_faults(client, octanist={"hang_rate": 1.0, "hang_s": 0.01, "after_write_ratio": 1})
    with pytest.raises(httpx.ReadTimeout):
        await client.post(OCTANIST, json={"name": "A"})
    assert await stored_octanist(client) == 1


@pytest.mark.parametrize(("ratio", "stored"), [(0.0, 0), (1.0, 1)])
async def test_drop_raises_remote_protocol_error(
    client: httpx.AsyncClient, ratio: float, stored: int
) -> None:
    await set_faults(client, octanist={"drop_rate": 1.0, "after_write_ratio": ratio})
    with pytest.raises(httpx.RemoteProtocolError) as caught:
        await client.post(OCTANIST, json={"name": "A"})
    assert isinstance(caught.value, InjectedConnectionDrop)
    [entry] = await requests_log(client, "octanist")
    assert entry["fault"] == "drop" and entry["status"] is None
    assert entry["fault_phase"] == ("after" if ratio else "before")
    assert await stored_octanist(client) == stored


async def test_mixed_drops_split_before_and_after(client: httpx.AsyncClient) -> None:
    await set_faults(client, octanist={"drop_rate": 0.5})
    outcomes: Counter[str] = Counter()
    for i in range(200):
        try:
            await client.post(OCTANIST, json={"name": f"L{i}"})
            outcomes["ok"] += 1
        except httpx.RemoteProtocolError:
            outcomes["dropped"] += 1
    log = await requests_log(client, "octanist")
    phases = Counter(e["fault_phase"] for e in log if e["fault"] == "drop")
    assert 70 <= outcomes["dropped"] <= 130 and sum(phases.values()) == outcomes["dropped"]
    assert phases["before"] > 20 and phases["after"] > 20
    applied = sum(1 for e in log if e["applied"])
    assert await stored_octanist(client) == applied == outcomes["ok"] + phases["after"]


async def test_malformed_is_200_with_broken_json_after_the_write(client: httpx.AsyncClient) -> None:
    await set_faults(client, octanist={"malformed_rate": 1.0})
    response = await client.post(OCTANIST, json={"name": "A"})
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)
    assert response.text.startswith('{"success":true')
    assert await stored_octanist(client) == 1


async def fault_pattern(seed: int) -> tuple[list[Any], list[str]]:
    faults = {"octanist": {"error_rate": 0.2, "drop_rate": 0.2, "malformed_rate": 0.1}}
    async with client_for(create_app(seed=seed, faults=faults)) as client:
        ids = []
        for i in range(40):
            try:
                response = await client.post(OCTANIST, json={"name": f"L{i}"})
                ids.append(response.headers.get("x-request-id", ""))
            except httpx.RemoteProtocolError:
                ids.append("drop")
        log = await requests_log(client)
        return [(e["fault"], e["fault_phase"]) for e in log], ids


async def test_faults_are_reproducible_per_seed() -> None:
    first, second, other = await fault_pattern(7), await fault_pattern(7), await fault_pattern(8)
    assert first == second
    assert first[0] != other[0]


async def test_faults_never_touch_the_control_plane(client: httpx.AsyncClient) -> None:
    everything = {"error_rate": 0.5, "drop_rate": 0.5}
    await set_faults(client, omni=everything, apten=everything, octanist=everything)
    for _ in range(20):
        assert (await client.get("/_sandbox/faults")).status_code == 200
        assert (await client.get("/_sandbox/settings")).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"omni": {"error_rate": 0.7, "drop_rate": 0.5}},
        {"omni": {"error_rate": 2}},
        {"omni": {"error_status": 404}},
        {"omni": {"colour": "red"}},
        {"salesforce": {}},
    ],
)
async def test_fault_settings_are_validated(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    assert (await client.put("/_sandbox/faults", json=body)).status_code == 400


async def test_put_faults_replaces_named_vendors_only(client: httpx.AsyncClient) -> None:
    await set_faults(client, omni={"error_rate": 0.1, "latency_ms": 5}, apten={"drop_rate": 0.2})
    await set_faults(client, omni={"hang_rate": 0.3})
    snapshot = (await client.get("/_sandbox/faults")).json()
    assert snapshot["omni"]["hang_rate"] == 0.3 and snapshot["omni"]["error_rate"] == 0.0
    assert snapshot["apten"]["drop_rate"] == 0.2
    assert snapshot["octanist"]["rate_limit_per_s"] is None


async def test_create_app_faults_survive_reset(make_client: Factory) -> None:
    async with make_client(faults={"apten": {"error_rate": 1.0, "error_status": 502}}) as client:
        await set_faults(client, apten={})
        await client.post("/_sandbox/reset")
        assert (await client.get("/_sandbox/faults")).json()["apten"]["error_status"] == 502
        assert (await client.get("/apten/v1/leads/x")).status_code == 502
