"""Control plane: reset, seed, settings, request log, raw views, persistence, isolation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox import create_app
from tests.sandbox.support import client_for, requests_log, seed

pytestmark = pytest.mark.anyio

Factory = Callable[..., httpx.AsyncClient]
APTEN_LEAD = {
    "firstName": "A",
    "lastName": "B",
    "phone": "+15555550100",
    "customerProfile": "Default",
}


async def test_fresh_sandbox_defaults(client: httpx.AsyncClient) -> None:
    settings = (await client.get("/_sandbox/settings")).json()
    assert [p["name"] for p in settings["apten"]["customer_profiles"]] == ["Default"]
    [group] = settings["omni"]["checklist"]
    assert [i["code"] for i in group["items"]] == ["business_name", "tax_id", "loan_amount"]
    assert settings["octanist"]["bulk_updates"] is False
    assert {settings[v]["api_key"] for v in ("omni", "apten", "octanist")} == {"sandbox-key"}


async def test_reset_restores_a_fresh_sandbox_and_its_ids(client: httpx.AsyncClient) -> None:
    first = (await client.post("/octanist/api/leads", json={"name": "A"})).json()["data"]["id"]
    await client.put("/_sandbox/settings", json={"octanist": {"bulk_updates": True}})
    assert (await client.post("/_sandbox/reset")).json() == {"ok": True}
    assert await requests_log(client) == []
    again = (await client.post("/octanist/api/leads", json={"name": "A"})).json()["data"]["id"]
    assert again == first  # the RNG starts again from the seed
    total = (await client.get("/octanist/api/leads")).json()["meta"]["pagination"]["total"]
    assert total == 1
    assert (await client.get("/_sandbox/settings")).json()["octanist"]["bulk_updates"] is False


async def test_seed_returns_ids_and_keeps_admin_fields(client: httpx.AsyncClient) -> None:
    leads = [
        {**APTEN_LEAD, "createdAt": "2025-01-01T00:00:00Z", "isHot": True},
        {**APTEN_LEAD, "phone": "+15555550101", "id": "room_fixed", "deleted": True},
    ]
    ids = await seed(client, "apten", leads)
    assert len(ids) == 2 and ids[0].startswith("room_") and ids[1] == "room_fixed"
    first = (await client.get(f"/apten/v1/leads/{ids[0]}")).json()
    assert first["createdAt"] == first["updatedAt"] == "2025-01-01T00:00:00.000Z"
    assert first["isHot"] is True
    assert (await client.get("/apten/v1/leads/room_fixed")).json()["deleted"] is True


async def test_seed_is_atomic_and_validated(client: httpx.AsyncClient) -> None:
    bad = [{"name": "ok"}, {"note": "no identifier"}]
    response = await client.post("/_sandbox/seed", json={"vendor": "octanist", "leads": bad})
    assert response.status_code == 400 and "leads[1]" in response.json()["detail"]
    total = (await client.get("/octanist/api/leads")).json()["meta"]["pagination"]["total"]
    assert total == 0
    for body in ({"vendor": "hubspot", "leads": []}, {"vendor": "omni", "leads": {}}):
        assert (await client.post("/_sandbox/seed", json=body)).status_code == 400


async def test_request_log_records_vendor_requests(client: httpx.AsyncClient) -> None:
    await client.post("/apten/v1/leads/create", json=APTEN_LEAD)
    await client.get("/octanist/api/leads", params={"status": "won", "limit": "5"})
    await client.get("/omni/api/v1/leads/missing")
    await client.get("/_sandbox/faults")
    log = await requests_log(client)
    assert [(e["vendor"], e["method"], e["status"]) for e in log] == [
        ("apten", "POST", 200),
        ("octanist", "GET", 200),
        ("omni", "GET", 404),
    ]
    assert log[0]["path"] == "/apten/v1/leads/create" and log[0]["body"] == APTEN_LEAD
    assert log[1]["query"] == {"status": "won", "limit": "5"} and log[1]["body"] is None
    assert all(e["fault"] is None and e["applied"] for e in log)
    assert [e["vendor"] for e in await requests_log(client, "omni")] == ["omni"]
    assert (await client.delete("/_sandbox/requests")).status_code == 200
    assert await requests_log(client) == []


async def test_settings_change_behaviour(client: httpx.AsyncClient) -> None:
    checklist = [{"code": "ein", "label": "EIN", "fieldType": "EIN", "isRequired": True}]
    profiles = [{"name": "Default"}, {"name": "Solar", "voiceEnabled": False}]
    body = {"omni": {"checklist": checklist}, "apten": {"customer_profiles": profiles}}
    assert (await client.put("/_sandbox/settings", json=body)).status_code == 200
    lead = (await client.post("/omni/api/v1/leads", json={"firstName": "A"})).json()
    assert [i["checklistItem"]["code"] for i in lead["checklistItems"][0]["items"]] == ["ein"]
    solar = {**APTEN_LEAD, "customerProfile": "Solar"}
    assert (await client.post("/apten/v1/leads/create", json=solar)).status_code == 200
    bad_settings: list[dict[str, Any]] = [
        {"octanist": {"bulk_updates": "yes"}},
        {"apten": {"colour": 1}},
        {"crm": {}},
    ]
    for bad in bad_settings:
        assert (await client.put("/_sandbox/settings", json=bad)).status_code == 400


async def test_api_key_setting_and_factory_key(make_client: Factory) -> None:
    async with make_client(api_key="secret") as client:
        assert (await client.post("/octanist/api/check")).status_code == 401  # sandbox-key
        ok = await client.post("/octanist/api/check", headers={"X-API-KEY": "secret"})
        assert ok.status_code == 200
        await client.put("/_sandbox/settings", json={"apten": {"api_key": "other"}})
        denied = await client.get("/apten/v1/leads/x", headers={"x-api-key": "secret"})
        assert denied.status_code == 403


async def test_raw_view_and_deletes(client: httpx.AsyncClient) -> None:
    lead_id = (await client.post("/omni/api/v1/leads", json={"firstName": "A"})).json()["lead"][
        "id"
    ]
    raw = (await client.get(f"/_sandbox/omni/leads/{lead_id}")).json()
    assert raw["id"] == lead_id and "_checklist" in raw
    assert (await client.get("/_sandbox/omni/leads/nope")).status_code == 404
    assert (await client.post("/_sandbox/octanist/leads/x/delete")).status_code == 400
    deleted = (await client.post(f"/_sandbox/omni/leads/{lead_id}/delete")).json()
    assert deleted["deletedAt"] is not None


async def test_apps_do_not_share_state() -> None:
    async with client_for(create_app()) as one, client_for(create_app()) as two:
        await one.post("/octanist/api/leads", json={"name": "A"})
        await one.put("/_sandbox/faults", json={"omni": {"error_rate": 1.0}})
        total = (await two.get("/octanist/api/leads")).json()["meta"]["pagination"]["total"]
        assert total == 0
        assert (await two.get("/_sandbox/faults")).json()["omni"]["error_rate"] == 0.0
        assert [e["method"] for e in await requests_log(two)] == ["GET"]


async def test_file_database_survives_restarts(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    app = create_app(db)
    async with client_for(app) as first:
        created = await first.post("/apten/v1/leads/create", json=APTEN_LEAD)
        lead_id = created.json()["id"]
        await first.put("/_sandbox/settings", json={"octanist": {"bulk_updates": True}})
    app.state.sandbox.store.close()
    async with client_for(create_app(db)) as second:
        lead: dict[str, Any] = (await second.get(f"/apten/v1/leads/{lead_id}")).json()
        assert lead["phone"] == "+15555550100"
        assert (await second.get("/_sandbox/settings")).json()["octanist"]["bulk_updates"] is True
        other = {**APTEN_LEAD, "phone": "+15555550101"}
        again = (await second.post("/apten/v1/leads/create", json=other)).json()["id"]
        assert again != lead_id  # same seed, but the clash with the stored id is avoided
