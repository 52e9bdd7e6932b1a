"""Apten emulator: create, incremental list, get, the three update routes, lookup, auth."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from tests.sandbox.support import FakeClock, requests_log, seed

pytestmark = pytest.mark.anyio

LEADS = "/apten/v1/leads"
LEAD_KEYS = set(
    "id firstName lastName phone email customerProfile createdAt updatedAt lastActivityAt "
    "additionalInfo hasReplied isHot isQualified isUnsubscribed isAiOn tags summary "
    "externalLeadId deleted deletedAt".split()
)


def lead_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "firstName": "Ann",
        "lastName": "Lee",
        "phone": "+15555550100",
        "customerProfile": "Default",
    }
    body.update(overrides)
    return body


async def create(client: httpx.AsyncClient, **overrides: Any) -> str:
    response = await client.post(f"{LEADS}/create", json=lead_body(**overrides))
    assert response.status_code == 200, response.text
    assert response.json()["message"] == "Lead created successfully."
    lead_id: str = response.json()["id"]
    return lead_id


async def raw(client: httpx.AsyncClient, lead_id: str) -> dict[str, Any]:
    record: dict[str, Any] = (await client.get(f"/_sandbox/apten/leads/{lead_id}")).json()
    return record


@pytest.mark.parametrize("missing", ["firstName", "lastName", "phone", "customerProfile"])
async def test_create_requires_fields(client: httpx.AsyncClient, missing: str) -> None:
    body = lead_body()
    del body[missing]
    response = await client.post(f"{LEADS}/create", json=body)
    assert response.status_code == 400
    assert missing in response.json()["message"]
    assert set(response.json()) == {"message"}


async def test_create_returns_message_and_room_id(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{LEADS}/create", json=lead_body())
    assert response.json()["message"] == "Lead created successfully."
    assert response.json()["id"].startswith("room_")


@pytest.mark.parametrize("phone", ["15555550100", "555-0100", "+1 555 CALL NOW", "+999"])
async def test_phone_must_start_with_plus_and_parse(client: httpx.AsyncClient, phone: str) -> None:
    response = await client.post(f"{LEADS}/create", json=lead_body(phone=phone))
    assert response.status_code == 400 and "phone" in response.json()["message"].lower()


async def test_formatted_phone_is_stored_e164(client: httpx.AsyncClient) -> None:
    lead_id = await create(client, phone="+1 (555) 555-5555")
    assert (await client.get(f"{LEADS}/{lead_id}")).json()["phone"] == "+15555555555"


async def test_duplicate_phone_is_400_naming_it(client: httpx.AsyncClient) -> None:
    first = await create(client, phone="+1 (555) 555-0100")
    response = await client.post(f"{LEADS}/create", json=lead_body(phone="+15555550100"))
    assert response.status_code == 400
    assert "+15555550100" in response.json()["message"]
    page = (await client.get(LEADS, params={"createdSince": "2000-01-01T00:00:00Z"})).json()
    assert [lead["id"] for lead in page["leads"]] == [first]
    await client.post(f"/_sandbox/apten/leads/{first}/delete")
    assert (await client.post(f"{LEADS}/create", json=lead_body())).status_code == 200


@pytest.mark.parametrize(
    "overrides",
    [
        {"customerProfile": "Nope"},
        {"email": "not-an-email"},
        {"timeZone": "Mars/Base"},
        {"additionalInfo": "text"},
    ],
)
async def test_create_validation_errors(
    client: httpx.AsyncClient, overrides: dict[str, Any]
) -> None:
    response = await client.post(f"{LEADS}/create", json=lead_body(**overrides))
    assert response.status_code == 400 and response.json()["message"]


async def test_create_stores_optional_fields(client: httpx.AsyncClient) -> None:
    lead_id = await create(
        client, email="ann@example.com", timeZone="America/Denver", additionalInfo={"loan": 5}
    )
    lead = (await client.get(f"{LEADS}/{lead_id}")).json()
    assert lead["email"] == "ann@example.com" and lead["additionalInfo"] == {"loan": 5}
    assert set(lead) == LEAD_KEYS
    assert (await raw(client, lead_id))["_timeZone"] == "America/Denver"


async def test_list_requires_a_filter_and_a_sane_limit(client: httpx.AsyncClient) -> None:
    assert (await client.get(LEADS)).status_code == 400
    since = {"updatedSince": "2026-01-01T00:00:00Z"}
    for limit in ("0", "1001", "ten"):
        response = await client.get(LEADS, params={**since, "limit": limit})
        assert response.status_code == 400 and "limit" in response.json()["message"]
    assert (await client.get(LEADS, params={"updatedSince": "soon"})).status_code == 400
    assert (await client.get(LEADS, params={**since, "limit": "1000"})).status_code == 200


async def test_list_defaults_to_100(client: httpx.AsyncClient) -> None:
    leads = [lead_body(phone=f"+1555555{i:04d}") for i in range(150)]
    await seed(client, "apten", leads)
    page = (await client.get(LEADS, params={"createdSince": "2000-01-01T00:00:00Z"})).json()
    assert len(page["leads"]) == 100 and page["nextToken"] is not None


async def test_list_pages_by_timestamp_and_id(client: httpx.AsyncClient, clock: FakeClock) -> None:
    ids = []
    for i in range(7):
        if i % 3 == 0:
            clock.advance(seconds=1)  # several leads share each timestamp
        ids.append(await create(client, phone=f"+1555555{i:04d}"))
    collected: list[dict[str, Any]] = []
    params: dict[str, Any] = {"updatedSince": "2026-05-14T15:30:01Z", "limit": 2}
    for _ in range(10):
        page = (await client.get(LEADS, params=params)).json()
        collected += page["leads"]
        if page["nextToken"] is None:
            break
        params["nextToken"] = page["nextToken"]
    keys = [(lead["updatedAt"], lead["id"]) for lead in collected]
    assert keys == sorted(keys) and sorted(k[1] for k in keys) == sorted(ids)


async def test_next_token_is_base64_search_after(client: httpx.AsyncClient) -> None:
    ids = [await create(client, phone=f"+1555555000{i}") for i in (1, 2)]
    page = (await client.get(LEADS, params={"createdSince": "2026-01-01", "limit": 1})).json()
    decoded = json.loads(base64.b64decode(page["nextToken"]))
    assert decoded == {"searchAfter": ["2026-05-14T15:30:00.000Z", min(ids)]}  # ties: by id
    assert page["leads"][0]["id"] == min(ids)
    bad = await client.get(LEADS, params={"createdSince": "2026-01-01", "nextToken": "%%%"})
    assert bad.status_code == 400


async def test_list_filters_are_inclusive(client: httpx.AsyncClient, clock: FakeClock) -> None:
    old = await create(client, phone="+15555550001")
    clock.advance(minutes=10)
    new = await create(client, phone="+15555550002")
    exact = {"updatedSince": "2026-05-14T15:40:00.000Z"}
    assert [lead["id"] for lead in (await client.get(LEADS, params=exact)).json()["leads"]] == [new]
    created = {"createdSince": "2026-05-14T15:30:00Z"}
    listed = (await client.get(LEADS, params=created)).json()["leads"]
    assert [lead["id"] for lead in listed] == [old, new]


async def test_list_includes_soft_deleted(client: httpx.AsyncClient, clock: FakeClock) -> None:
    lead_id = await create(client)
    clock.advance(minutes=1)
    await client.post(f"/_sandbox/apten/leads/{lead_id}/delete")
    page = (await client.get(LEADS, params={"updatedSince": "2026-05-14T15:31:00Z"})).json()
    [lead] = page["leads"]
    assert lead["deleted"] is True and lead["deletedAt"] == "2026-05-14T15:31:00.000Z"
    assert (await client.get(f"{LEADS}/{lead_id}")).json()["deleted"] is True


async def test_get_lead_full_shape_and_404(client: httpx.AsyncClient) -> None:
    lead_id = await create(client)
    lead = (await client.get(f"{LEADS}/{lead_id}")).json()
    assert set(lead) == LEAD_KEYS and lead["id"] == lead_id
    assert lead["customerProfile"] == "Default" and lead["tags"] == []
    missing = await client.get(f"{LEADS}/room_missing")
    assert missing.status_code == 404 and set(missing.json()) == {"message"}


@pytest.mark.parametrize(("method", "suffix"), [("PATCH", ""), ("PUT", ""), ("POST", "/update")])
async def test_update_routes_behave_identically(
    client: httpx.AsyncClient, method: str, suffix: str
) -> None:
    lead_id = await create(client, additionalInfo={"keep": 1, "drop": 2})
    body = {
        "email": "new@example.com",
        "timezone": "Europe/Paris",
        "additionalInfo": {"drop": None, "add": 3},
    }
    response = await client.request(method, f"{LEADS}/{lead_id}{suffix}", json=body)
    assert response.status_code == 200
    assert response.json() == {"message": "Lead updated successfully."}
    lead = (await client.get(f"{LEADS}/{lead_id}")).json()
    assert lead["email"] == "new@example.com"
    assert lead["additionalInfo"] == {"keep": 1, "add": 3}
    assert (await raw(client, lead_id))["_timeZone"] == "Europe/Paris"


async def test_update_accepts_time_zone_camel_case(client: httpx.AsyncClient) -> None:
    lead_id = await create(client)
    await client.patch(f"{LEADS}/{lead_id}", json={"timeZone": "Asia/Tokyo"})
    assert (await raw(client, lead_id))["_timeZone"] == "Asia/Tokyo"
    clash = {"timeZone": "Asia/Tokyo", "timezone": "Europe/Paris"}
    assert (await client.patch(f"{LEADS}/{lead_id}", json=clash)).status_code == 400
    bad_email = await client.patch(f"{LEADS}/{lead_id}", json={"email": "nope"})
    assert bad_email.status_code == 400


async def test_follow_up_config_replaces_and_schedules(client: httpx.AsyncClient) -> None:
    lead_id = await create(client)
    first = {"1": {"hours": 2, "channel": "text"}, "2": {"hours": 24, "channel": "call"}}
    await client.patch(f"{LEADS}/{lead_id}", json={"followUpConfig": first, "followUpStep": 1})
    record = await raw(client, lead_id)
    assert record["_followUpConfig"] == first and record["_followUpStep"] == 1
    assert record["_nextFollowUpAt"] == "2026-05-14T17:30:00.000Z"
    second = {"1": {"hours": 5, "channel": "email"}}
    await client.patch(f"{LEADS}/{lead_id}", json={"followUpConfig": second})
    record = await raw(client, lead_id)
    assert record["_followUpConfig"] == second  # replaced, step 2 gone
    assert record["_nextFollowUpAt"] == "2026-05-14T20:30:00.000Z"


@pytest.mark.parametrize(("step", "status"), [(3, 200), (-1, 200), (-2, 200), (0, 400), (-3, 400)])
async def test_follow_up_step_values(client: httpx.AsyncClient, step: int, status: int) -> None:
    lead_id = await create(client)
    response = await client.patch(f"{LEADS}/{lead_id}", json={"followUpStep": step})
    assert response.status_code == status


@pytest.mark.parametrize(
    "config",
    [
        {"1": {"hours": 1}},
        {"1": {"hours": 1, "channel": "fax"}},
        {"x": {"hours": 1, "channel": "text"}},
        {"1": {"hours": 1, "channel": "text", "voicemailEnabled": True}},
        {"1": {"hours": 1, "channel": "text", "strategyIds": ["s1"]}},
    ],
)
async def test_bad_follow_up_configs_are_400(
    client: httpx.AsyncClient, config: dict[str, Any]
) -> None:
    lead_id = await create(client)
    response = await client.patch(f"{LEADS}/{lead_id}", json={"followUpConfig": config})
    assert response.status_code == 400


async def test_strategies_need_the_lead_setting(client: httpx.AsyncClient) -> None:
    lead_id = await create(client)
    config = {"1": {"hours": 1, "channel": "text", "strategyIds": "auto"}}
    body = {"followUpConfig": config, "useStrategiesForFollowUps": True}
    assert (await client.patch(f"{LEADS}/{lead_id}", json=body)).status_code == 200


async def test_channels_need_the_profile(client: httpx.AsyncClient) -> None:
    profiles = [{"name": "Default", "voiceEnabled": False, "emailEnabled": False}]
    await client.put("/_sandbox/settings", json={"apten": {"customer_profiles": profiles}})
    lead_id = await create(client)
    for channel in ("call", "email"):
        config = {"1": {"hours": 1, "channel": channel}}
        response = await client.patch(f"{LEADS}/{lead_id}", json={"followUpConfig": config})
        assert response.status_code == 400


async def test_updated_at_moves_only_on_change(client: httpx.AsyncClient, clock: FakeClock) -> None:
    lead_id = await create(client, email="a@example.com")
    config = {"1": {"hours": 1, "channel": "text"}}
    await client.patch(f"{LEADS}/{lead_id}", json={"followUpConfig": config, "followUpStep": 1})
    stamp = (await client.get(f"{LEADS}/{lead_id}")).json()["updatedAt"]
    clock.advance(minutes=3)
    await client.patch(f"{LEADS}/{lead_id}", json={"email": "a@example.com", "followUpStep": 1})
    assert (await client.get(f"{LEADS}/{lead_id}")).json()["updatedAt"] == stamp
    assert (await raw(client, lead_id))["_nextFollowUpAt"] == "2026-05-14T16:33:00.000Z"
    await client.patch(f"{LEADS}/{lead_id}", json={"email": "b@example.com"})
    assert (await client.get(f"{LEADS}/{lead_id}")).json()[
        "updatedAt"
    ] == "2026-05-14T15:33:00.000Z"


async def test_update_unknown_or_deleted_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.patch(f"{LEADS}/room_nope", json={"email": "a@b.co"})).status_code == 404
    lead_id = await create(client)
    await client.post(f"/_sandbox/apten/leads/{lead_id}/delete")
    assert (await client.patch(f"{LEADS}/{lead_id}", json={"email": "a@b.co"})).status_code == 404


async def test_lookup_by_phone(client: httpx.AsyncClient) -> None:
    lead_id = await create(client, phone="+1 555 555 0100")
    for phone in ("15555550100", "+15555550100", "+1 (555) 555-0100"):
        found = await client.get(f"{LEADS}/lookup", params={"phone": phone})
        assert found.status_code == 200 and found.json()["id"] == lead_id
    assert (await client.get(f"{LEADS}/lookup", params={"phone": "15555550199"})).status_code == 404
    assert (await client.get(f"{LEADS}/lookup")).status_code == 400


async def test_auth_is_403_and_unknown_routes_look_like_api_gateway(
    client: httpx.AsyncClient,
) -> None:
    for headers in ({"x-api-key": "wrong"}, {"x-api-key": ""}):
        response = await client.get(f"{LEADS}/room_x", headers=headers)
        assert response.status_code == 403 and response.json() == {"message": "Forbidden"}
    unknown = await client.get("/apten/v1/nothing-here")
    assert unknown.status_code == 403
    assert unknown.json() == {"message": "Missing Authentication Token"}


UPDATE_ROUTES = [("PATCH", ""), ("PUT", ""), ("POST", "/update")]
MISSING_TOKEN = {"message": "Missing Authentication Token"}


async def apten_settings(client: httpx.AsyncClient, **values: Any) -> httpx.Response:
    return await client.put("/_sandbox/settings", json={"apten": values})


@pytest.mark.parametrize("pinned", range(3))
async def test_strict_mode_serves_only_the_configured_update_route(
    client: httpx.AsyncClient, pinned: int
) -> None:
    method, suffix = UPDATE_ROUTES[pinned]
    route = f"{method} /leads/{{id}}{suffix}"
    settings = (await apten_settings(client, update_route=route)).json()["apten"]
    assert settings["update_route"] == route
    lead_id = await create(client)
    for other_method, other_suffix in UPDATE_ROUTES:
        url = f"{LEADS}/{lead_id}{other_suffix}"
        response = await client.request(other_method, url, json={"email": "a@example.com"})
        if (other_method, other_suffix) == (method, suffix):
            assert response.status_code == 200
            assert response.json() == {"message": "Lead updated successfully."}
        else:
            assert (response.status_code, response.json()) == (403, MISSING_TOKEN)
    served = f"{LEADS}/{{}}{suffix}"
    missing = await client.request(method, served.format("room_nope"), json={})
    assert (missing.status_code, missing.json()) == (404, {"message": "Lead not found"})
    bad_key = await client.request(
        method, served.format(lead_id), json={}, headers={"x-api-key": "wrong"}
    )
    assert (bad_key.status_code, bad_key.json()) == (403, {"message": "Forbidden"})


async def test_strict_mode_unserved_route_ignores_the_key_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    await apten_settings(client, update_route="PATCH /leads/{id}")
    lead_id = await create(client, email="old@example.com")
    for headers in ({}, {"x-api-key": "wrong"}):  # API Gateway: no route, no key check
        response = await client.put(
            f"{LEADS}/{lead_id}", json={"email": "new@example.com"}, headers=headers
        )
        assert (response.status_code, response.json()) == (403, MISSING_TOKEN)
    assert (await client.get(f"{LEADS}/{lead_id}")).json()["email"] == "old@example.com"
    log = await requests_log(client, "apten")
    assert [e["status"] for e in log if e["method"] == "PUT"] == [403, 403]
    await apten_settings(client, update_route=None)  # lenient again
    assert (await client.put(f"{LEADS}/{lead_id}", json={})).status_code == 200


async def test_strict_time_zone_key_ignores_the_other_spelling(client: httpx.AsyncClient) -> None:
    await apten_settings(client, timezone_key="timezone")
    lead_id = await create(client, timeZone="America/Denver")
    ignored = await client.patch(f"{LEADS}/{lead_id}", json={"timeZone": "Asia/Tokyo"})
    assert ignored.status_code == 200  # an unknown field, as any other
    assert (await raw(client, lead_id))["_timeZone"] == "America/Denver"
    both = {"timeZone": "Asia/Tokyo", "timezone": "Europe/Paris"}
    assert (await client.patch(f"{LEADS}/{lead_id}", json=both)).status_code == 200
    assert (await raw(client, lead_id))["_timeZone"] == "Europe/Paris"
    await apten_settings(client, timezone_key="timeZone")
    await client.patch(f"{LEADS}/{lead_id}", json={"timezone": "Asia/Tokyo"})
    assert (await raw(client, lead_id))["_timeZone"] == "Europe/Paris"


async def test_strict_mode_defaults_and_bad_values(client: httpx.AsyncClient) -> None:
    settings = (await client.get("/_sandbox/settings")).json()["apten"]
    assert (settings["update_route"], settings["timezone_key"]) == (None, None)
    for bad in (
        {"update_route": "PATCH /leads/{leadId}"},
        {"update_route": "DELETE /leads/{id}"},
        {"timezone_key": "tz"},
        {"timezone_key": True},
    ):
        response = await apten_settings(client, **bad)
        assert response.status_code == 400 and "apten." in response.json()["detail"]
    await apten_settings(client, update_route="PUT /leads/{id}", timezone_key="timeZone")
    await client.post("/_sandbox/reset")
    settings = (await client.get("/_sandbox/settings")).json()["apten"]
    assert (settings["update_route"], settings["timezone_key"]) == (None, None)


async def test_is_unsubscribed_is_seedable_and_readable(client: httpx.AsyncClient) -> None:
    seeded = {**lead_body(), "isUnsubscribed": True, "updatedAt": "2026-05-01T00:00:00Z"}
    [lead_id] = await seed(client, "apten", [seeded])
    other = await create(client, phone="+15555550101")
    lead = (await client.get(f"{LEADS}/{lead_id}")).json()
    assert lead["isUnsubscribed"] is True and lead["isAiOn"] is True
    assert (await client.get(f"{LEADS}/{other}")).json()["isUnsubscribed"] is False
    page = (await client.get(LEADS, params={"updatedSince": "2026-01-01T00:00:00Z"})).json()
    flags = {item["id"]: item["isUnsubscribed"] for item in page["leads"]}
    assert flags == {lead_id: True, other: False}
    bad = {**lead_body(phone="+15555550102"), "isUnsubscribed": "yes"}
    response = await client.post("/_sandbox/seed", json={"vendor": "apten", "leads": [bad]})
    assert response.status_code == 400 and "isUnsubscribed" in response.json()["detail"]
