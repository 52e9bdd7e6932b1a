"""Every request/response example in api-contracts.md, replayed against the sandbox."""

from __future__ import annotations

import base64

import httpx
import pytest

from tests.sandbox.support import seed

pytestmark = pytest.mark.anyio

APTEN_SAMPLE_TOKEN = '{"searchAfter":["2026-05-14T15:30:00.000Z","room_abc"]}'


async def test_omni_create_example(client: httpx.AsyncClient) -> None:
    body = {"firstName": "Jane", "phoneNumber": "6782319992", "assigneeType": "manual"}
    response = await client.post("/omni/api/v1/leads", json=body)
    assert response.status_code == 200
    payload = response.json()
    assert set(payload) == {"success", "lead", "checklistItems"} and payload["success"] is True
    lead = payload["lead"]
    assert lead["phoneNumber"] == "+16782319992"
    assert lead["assigneeType"] == "HUMAN_AGENT"
    assert lead["source"] == "api"
    assert lead["emailVerifiedAt"] is None  # the v2 example's stray value is not copied


async def test_omni_update_and_get_examples(client: httpx.AsyncClient) -> None:
    lead_id = (await client.post("/omni/api/v1/leads", json={"firstName": "J"})).json()["lead"][
        "id"
    ]
    updated = await client.put("/omni/api/v1/leads", json={"leadId": lead_id, "tags": ["VIP"]})
    standardized = {"actionLogs", "matchingLeads", "lastAction", "nextFollowUp", "nextDraftMessage"}
    # the current update page, not the older {success, lead, checklistItems} example
    assert set(updated.json()) == {"success", "status", "lead", "checklistItems"} | standardized
    assert updated.json()["status"] == "IN_PROGRESS"
    got = (await client.get(f"/omni/api/v1/leads/{lead_id}")).json()
    assert set(got) == {"lead", "status", "checklistItems", "documents"} | standardized
    assert got["status"] in {"IN_PROGRESS", "COMPLETED", "REVIEW", "NOT_INTERESTED", "OPTED_OUT"}


async def test_omni_analytics_example(client: httpx.AsyncClient) -> None:
    page = (await client.get("/omni/api/v0/analytics")).json()
    assert set(page) == {"start", "end", "nextToken", "totals", "breakdown"}
    assert page["nextToken"] is None and page["totals"]["count"] == 0


async def test_omni_error_statuses(client: httpx.AsyncClient) -> None:
    assert (await client.post("/omni/api/v1/leads", json={})).status_code == 400
    assert (await client.get("/omni/api/v1/leads/x", headers={"x-api-key": ""})).status_code == 401
    assert (await client.get("/omni/api/v1/leads/x")).status_code == 404


async def test_apten_create_update_examples(client: httpx.AsyncClient) -> None:
    body = {
        "firstName": "John",
        "lastName": "Doe",
        "phone": "+1 (555) 555-5555",
        "customerProfile": "Default",
        "timeZone": "America/New_York",
        "email": "john@example.com",
        "additionalInfo": {"source": "web"},
    }
    created = await client.post("/apten/v1/leads/create", json=body)
    assert created.status_code == 200
    assert created.json()["message"] == "Lead created successfully."
    lead_id = created.json()["id"]
    lead = (await client.get(f"/apten/v1/leads/{lead_id}")).json()
    assert lead["phone"] == "+15555555555" and lead["customerProfile"] == "Default"
    updated = await client.patch(f"/apten/v1/leads/{lead_id}", json={"followUpStep": -1})
    assert updated.json() == {"message": "Lead updated successfully."}


async def test_apten_list_example_and_sample_token(client: httpx.AsyncClient) -> None:
    leads = [
        {"id": "room_abc", "updatedAt": "2026-05-14T15:30:00.000Z", "phone": "+15555555555"},
        {"id": "room_abd", "updatedAt": "2026-05-14T15:31:00.000Z", "phone": "+15555555556"},
    ]
    names = {"firstName": "A", "lastName": "B", "customerProfile": "Default"}
    await seed(client, "apten", [{**names, **lead} for lead in leads])
    params: dict[str, str | int] = {"updatedSince": "2026-05-14T00:00:00Z", "limit": 1}
    page = (await client.get("/apten/v1/leads", params=params)).json()
    assert set(page) == {"leads", "nextToken"}
    assert [lead["id"] for lead in page["leads"]] == ["room_abc"]
    assert base64.b64decode(page["nextToken"]).decode() == APTEN_SAMPLE_TOKEN
    sample = base64.b64encode(APTEN_SAMPLE_TOKEN.encode()).decode()
    rest = (await client.get("/apten/v1/leads", params={**params, "nextToken": sample})).json()
    assert [lead["id"] for lead in rest["leads"]] == ["room_abd"] and rest["nextToken"] is None


async def test_apten_error_statuses(client: httpx.AsyncClient) -> None:
    assert (await client.get("/apten/v1/leads")).status_code == 400
    assert (
        await client.get("/apten/v1/leads/room_abc", headers={"x-api-key": "x"})
    ).status_code == 403
    assert (await client.get("/apten/v1/leads/room_abc")).status_code == 404


async def test_octanist_examples(client: httpx.AsyncClient) -> None:
    await seed(
        client,
        "octanist",
        [
            {"id": "lead_abc123", "name": "Ann", "value": 150, "custom": {"a": 1}},
            {"name": "Bob", "gclid": "abc", "updatedAt": "2025-12-31T00:00:00Z"},
        ],
    )
    got = (await client.get("/octanist/api/leads/lead_abc123")).json()
    assert got["success"] is True and set(got["meta"]) == {"requestId", "timestamp"}
    assert got["data"]["id"] == "lead_abc123" and got["data"]["custom"] == '{"a":1}'
    for params, names in (
        ({"value[gte]": "100"}, ["Ann"]),
        ({"updatedAt[gte]": "2026-01-01T00:00:00Z", "sort": "updatedAt:asc"}, ["Ann"]),
        ({"gclid[exists]": "true"}, ["Bob"]),
    ):
        body = (await client.get("/octanist/api/leads", params=params)).json()
        assert [lead["name"] for lead in body["data"]] == names
        assert set(body["meta"]["pagination"]) == {
            "limit",
            "page",
            "totalPages",
            "total",
            "hasMore",
        }
    projected = await client.get("/octanist/api/leads", params={"fields": "id,name,email,status"})
    assert set(projected.json()["data"][0]) == {"id", "name", "email", "status"}


async def test_octanist_write_examples(client: httpx.AsyncClient) -> None:
    created = (
        await client.post("/octanist/api/leads", json={"name": "Ann", "email": "a@x.io"})
    ).json()
    assert created["success"] is True and created["data"]["message"] == "Lead added"
    patch = {"email": "a@x.io", "status": "won", "value": "2500"}
    updated = (await client.patch("/octanist/api/leads", json=patch)).json()
    assert updated["data"] == {
        "leadId": created["data"]["id"],
        "leadsUpdated": 1,
        "message": "Lead updated successfully",
    }
    check = await client.post("/octanist/api/check", headers={"X-API-KEY": "sandbox-key"})
    assert check.json() == {"success": True}


async def test_octanist_error_table(client: httpx.AsyncClient) -> None:
    await seed(client, "octanist", [{"email": "d@x.io"}, {"email": "d@x.io"}])
    cases = [
        (await client.patch("/octanist/api/leads", content=b"nope"), 400, "VALIDATION_ERROR"),
        (
            await client.patch("/octanist/api/leads", json={"status": "won"}),
            400,
            "VALIDATION_ERROR",
        ),
        (
            await client.patch(
                "/octanist/api/leads", json={"id": "lead_x"}, headers={"x-api-key": ""}
            ),
            401,
            "UNAUTHORIZED",
        ),
        (await client.patch("/octanist/api/leads", json={"id": "lead_x"}), 404, "NOT_FOUND"),
        (await client.patch("/octanist/api/leads", json={"email": "d@x.io"}), 409, "CONFLICT"),
    ]
    for response, status, code in cases:
        assert response.status_code == status
        body = response.json()
        assert body["success"] is False and body["error"]["code"] == code
        assert set(body) == {"success", "error", "meta"}
