"""Octanist emulator: envelope, create, match-and-update, list query language, check, auth."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.sandbox.support import FakeClock, seed

pytestmark = pytest.mark.anyio

LEADS = "/octanist/api/leads"


async def create(client: httpx.AsyncClient, **body: Any) -> str:
    response = await client.post(LEADS, json=body)
    assert response.status_code == 200, response.text
    lead_id: str = response.json()["data"]["id"]
    return lead_id


async def get(client: httpx.AsyncClient, lead_id: str) -> dict[str, Any]:
    lead: dict[str, Any] = (await client.get(f"{LEADS}/{lead_id}")).json()["data"]
    return lead


async def patch(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await client.patch(LEADS, json=body)


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == code
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["meta"]["requestId"] == response.headers["x-request-id"]


async def test_create_envelope(client: httpx.AsyncClient) -> None:
    response = await client.post(LEADS, json={"name": "Ann", "email": "ann@example.com"})
    body = response.json()
    assert response.status_code == 200 and body["success"] is True
    assert body["data"]["message"] == "Lead added" and body["data"]["id"].startswith("lead_")
    assert body["meta"]["requestId"].startswith("req_")
    assert body["meta"]["requestId"] == response.headers["X-Request-Id"]
    assert body["meta"]["timestamp"] == "2026-05-14T15:30:00.000Z"


async def test_create_needs_an_identifying_field(client: httpx.AsyncClient) -> None:
    assert_error(await client.post(LEADS, json={"note": "hi"}), 400, "VALIDATION_ERROR")
    assert_error(await client.post(LEADS, content=b"{oops"), 400, "VALIDATION_ERROR")
    for field in ("name", "email", "phone", "custom"):
        assert (await client.post(LEADS, json={field: "x"})).status_code == 200


async def test_custom_is_always_a_string(client: httpx.AsyncClient) -> None:
    object_id = await create(client, custom={"plan": "gold", "seats": 3})
    assert (await get(client, object_id))["custom"] == '{"plan":"gold","seats":3}'
    text_id = await create(client, custom="plain")
    assert (await get(client, text_id))["custom"] == "plain"


async def test_new_lead_defaults(client: httpx.AsyncClient) -> None:
    lead = await get(client, await create(client, name="A", ad_storage="granted", gclid="g1"))
    assert (lead["status"], lead["source"], lead["value"]) == ("open", "api", None)
    assert lead["ad_storage"] is True and lead["gclid"] == "g1"
    assert lead["createdAt"] == lead["updatedAt"] and lead["qualifiedAt"] is None


async def test_update_matches_id_then_email_then_phone(client: httpx.AsyncClient) -> None:
    a = await create(client, name="A", email="a@example.com", phone="+31 6 1234 5678")
    b = await create(client, name="B", email="b@example.com", phone="+31612345679")
    by_id = await patch(client, id=a, email="b@example.com", note="id wins")
    assert by_id.json()["data"]["leadId"] == a
    by_email = await patch(client, email="B@Example.com", phone="+31 6 1234 5678", note="email")
    assert by_email.json()["data"]["leadId"] == b
    by_phone = await patch(client, phone="0031612345678", note="phone")
    assert by_phone.json()["data"]["leadId"] == a
    assert (await get(client, a))["note"] == "phone" and (await get(client, b))["note"] == "email"


async def test_update_response_shape(client: httpx.AsyncClient) -> None:
    lead_id = await create(client, name="A")
    body = (await patch(client, id=lead_id, status="qualified")).json()
    assert body["success"] is True
    assert body["data"] == {
        "leadId": lead_id,
        "leadsUpdated": 1,
        "message": "Lead updated successfully",
    }


async def test_update_errors(client: httpx.AsyncClient) -> None:
    await create(client, name="A", email="a@example.com")
    assert_error(await patch(client, status="won"), 400, "VALIDATION_ERROR")
    assert_error(await patch(client, id="lead_nope", status="won"), 404, "NOT_FOUND")
    assert_error(await patch(client, email="x@example.com", status="won"), 404, "NOT_FOUND")
    assert_error(await patch(client, email="a@example.com", status="open"), 400, "VALIDATION_ERROR")
    assert_error(await patch(client, email="a@example.com", status="win"), 400, "VALIDATION_ERROR")
    assert_error(await patch(client, email="a@example.com", value="ten"), 400, "VALIDATION_ERROR")


async def test_status_beats_changed_to_and_sets_qualified_at(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    lead_id = await create(client, name="A")
    clock.advance(minutes=1)
    await patch(client, id=lead_id, status="won", changedTo="lost")
    lead = await get(client, lead_id)
    assert lead["status"] == "won" and lead["qualifiedAt"] == "2026-05-14T15:31:00.000Z"
    await patch(client, id=lead_id, changedTo="qualified")
    assert (await get(client, lead_id))["status"] == "qualified"


async def test_value_strings_become_numbers(client: httpx.AsyncClient) -> None:
    lead_id = await create(client, name="A")
    await patch(client, id=lead_id, value="1250.50")
    assert (await get(client, lead_id))["value"] == 1250.5
    await patch(client, id=lead_id, value=" 300 ")
    assert (await get(client, lead_id))["value"] == 300


async def test_loss_reason_only_with_lost(client: httpx.AsyncClient) -> None:
    lead_id = await create(client, name="A")
    await patch(client, id=lead_id, status="won", lossReason="too pricey")
    assert (await get(client, lead_id))["lossReason"] is None
    await patch(client, id=lead_id, status="lost", lossReason="too pricey")
    lead = await get(client, lead_id)
    assert (lead["status"], lead["lossReason"]) == ("lost", "too pricey")


async def test_note_replaces(client: httpx.AsyncClient) -> None:
    lead_id = await create(client, name="A", note="first")
    await patch(client, id=lead_id, note="second")
    assert (await get(client, lead_id))["note"] == "second"


async def test_several_matches_conflict_unless_bulk(client: httpx.AsyncClient) -> None:
    first = await create(client, name="A", email="dup@example.com")
    second = await create(client, name="B", email="DUP@example.com")
    conflict = await patch(client, email="dup@example.com", status="won")
    assert_error(conflict, 409, "CONFLICT")
    assert conflict.json()["error"]["details"] == {"field": "email", "matches": 2}
    assert (await get(client, first))["status"] == "open"
    await client.put("/_sandbox/settings", json={"octanist": {"bulk_updates": True}})
    bulk = (await patch(client, email="dup@example.com", status="won")).json()["data"]
    assert bulk["leadsUpdated"] == 2 and bulk["leadId"] == first
    assert {(await get(client, i))["status"] for i in (first, second)} == {"won"}


async def test_updated_at_moves_only_on_change(client: httpx.AsyncClient, clock: FakeClock) -> None:
    lead_id = await create(client, name="A")
    clock.advance(minutes=2)
    await patch(client, id=lead_id, note=None)
    assert (await get(client, lead_id))["updatedAt"] == "2026-05-14T15:30:00.000Z"
    await patch(client, id=lead_id, note="x")
    assert (await get(client, lead_id))["updatedAt"] == "2026-05-14T15:32:00.000Z"


async def set_filter_rules(client: httpx.AsyncClient, rules: Any) -> httpx.Response:
    return await client.put("/_sandbox/settings", json={"octanist": {"filter_rules": rules}})


async def test_filter_rules_reject_matching_creates_with_403(client: httpx.AsyncClient) -> None:
    assert (await client.get("/_sandbox/settings")).json()["octanist"]["filter_rules"] == []
    rules = [{"email_domain": "blocked.example"}, {"phone_prefix": "+44"}]
    assert (await set_filter_rules(client, rules)).json()["octanist"]["filter_rules"] == rules
    response = await client.post(LEADS, json={"name": "Spam", "email": "x@Blocked.Example"})
    assert response.status_code == 403
    assert response.json() == {
        "success": False,
        "error": {
            "code": "FORBIDDEN",
            "message": "Lead rejected by the organisation's filtering rules",
            "details": {"rule": 0, "conditions": {"email_domain": "blocked.example"}},
        },
        "meta": {
            "requestId": response.headers["x-request-id"],
            "timestamp": "2026-05-14T15:30:00.000Z",
        },
    }
    by_phone = await client.post(LEADS, json={"phone": "0044 7911 123456"})
    assert by_phone.status_code == 403
    assert by_phone.json()["error"]["details"] == {
        "rule": 1,
        "conditions": {"phone_prefix": "+44"},
    }
    for allowed in ({"email": "x@sub.blocked.example"}, {"phone": "+31612345678"}, {"name": "A"}):
        assert (await client.post(LEADS, json=allowed)).status_code == 200
    total = (await client.get(LEADS)).json()["meta"]["pagination"]["total"]
    assert total == 3  # nothing rejected was stored


async def test_filter_rule_conditions_must_all_hold(client: httpx.AsyncClient) -> None:
    await set_filter_rules(client, [{"email_domain": "@spam.example", "phone_prefix": "1555"}])
    both = {"email": "a@spam.example", "phone": "+1 555 0100"}
    assert_error(await client.post(LEADS, json=both), 403, "FORBIDDEN")
    assert (await client.post(LEADS, json={"email": "a@spam.example"})).status_code == 200
    assert (await client.post(LEADS, json={"phone": "+1 555 0100"})).status_code == 200


async def test_filter_rules_leave_auth_validation_updates_and_seeds_alone(
    client: httpx.AsyncClient,
) -> None:
    await set_filter_rules(client, [{"email_domain": "blocked.example"}])
    blocked = {"email": "a@blocked.example"}
    bad_key = await client.post(LEADS, json=blocked, headers={"X-API-KEY": "wrong"})
    assert_error(bad_key, 401, "UNAUTHORIZED")
    assert_error(await client.post(LEADS, json={"note": "x"}), 400, "VALIDATION_ERROR")
    [lead_id] = await seed(client, "octanist", [blocked])  # the admin seed is not screened
    updated = await patch(client, email="a@blocked.example", status="won")
    assert updated.status_code == 200 and updated.json()["data"]["leadId"] == lead_id
    await set_filter_rules(client, [])
    assert (await client.post(LEADS, json=blocked)).status_code == 200


@pytest.mark.parametrize(
    "rules",
    [
        {"email_domain": "x.example"},
        [{}],
        [{"domain": "x.example"}],
        [{"email_domain": ""}],
        [{"phone_prefix": "+"}],
        [{"email_domain": 1}],
        ["x.example"],
    ],
)
async def test_bad_filter_rules_are_400(client: httpx.AsyncClient, rules: Any) -> None:
    response = await set_filter_rules(client, rules)
    assert response.status_code == 400 and "filter_rules" in response.json()["detail"]
    assert (await client.get("/_sandbox/settings")).json()["octanist"]["filter_rules"] == []


def listing_leads() -> list[dict[str, Any]]:
    return [
        {
            "name": f"Lead {i}",
            "email": f"lead{i}@example.com",
            "createdAt": f"2026-01-{i + 1:02d}T00:00:00Z",
            "updatedAt": f"2026-02-{i + 1:02d}T00:00:00Z",
            "value": i * 50,
            "status": ["open", "qualified", "won", "lost"][i % 4],
            "website": "a.com" if i % 2 else "b.com",
            "qualifiedAt": "2026-01-20T00:00:00Z" if i % 4 in (1, 2) else None,
            "gclid": "g" if i < 3 else None,
        }
        for i in range(12)
    ]


async def list_names(client: httpx.AsyncClient, **params: Any) -> list[str]:
    response = await client.get(LEADS, params=params)
    assert response.status_code == 200, response.text
    return [lead["name"] for lead in response.json()["data"]]


async def test_list_defaults_and_pagination(client: httpx.AsyncClient) -> None:
    await seed(client, "octanist", [{"name": f"N{i}"} for i in range(120)])
    body = (await client.get(LEADS)).json()
    assert len(body["data"]) == 50
    pagination = body["meta"]["pagination"]
    assert pagination == {"limit": 50, "page": 1, "totalPages": 3, "total": 120, "hasMore": True}
    last = (await client.get(LEADS, params={"page": 3})).json()
    assert len(last["data"]) == 20 and last["meta"]["pagination"]["hasMore"] is False
    assert len((await client.get(LEADS, params={"limit": 100})).json()["data"]) == 100
    for bad in ({"limit": 0}, {"limit": 101}, {"page": 0}, {"limit": "x"}):
        assert_error(await client.get(LEADS, params=bad), 400, "VALIDATION_ERROR")


async def test_list_sorting(client: httpx.AsyncClient) -> None:
    await seed(client, "octanist", listing_leads())
    assert (await list_names(client))[:2] == ["Lead 11", "Lead 10"]  # createdAt:desc
    by_value = await list_names(client, sort="value:asc", limit=3)
    assert by_value == ["Lead 0", "Lead 1", "Lead 2"]
    assert (await list_names(client, sort="updatedAt:asc"))[0] == "Lead 0"
    assert_error(await client.get(LEADS, params={"sort": "colour:asc"}), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"value[gte]": "500"}, {"Lead 10", "Lead 11"}),
        ({"value[gt]": "500", "value[lt]": "600"}, {"Lead 11"}),
        ({"createdAt[lt]": "2026-01-03T00:00:00Z"}, {"Lead 0", "Lead 1"}),
        ({"updatedAt[gte]": "2026-02-12T00:00:00Z"}, {"Lead 11"}),
        ({"updatedAt[lte]": "2026-02-01"}, {"Lead 0"}),
        ({"qualifiedAt[exists]": "true", "value[lte]": "100"}, {"Lead 1", "Lead 2"}),
        ({"gclid[exists]": "true"}, {"Lead 0", "Lead 1", "Lead 2"}),
        ({"status": "lost"}, {"Lead 3", "Lead 7", "Lead 11"}),
        ({"status": "won", "website": "b.com"}, {"Lead 2", "Lead 6", "Lead 10"}),
        ({"source": "api", "value[lt]": "50"}, {"Lead 0"}),
        ({"search": "LEAD1"}, {"Lead 1", "Lead 10", "Lead 11"}),
    ],
)
async def test_list_filters(
    client: httpx.AsyncClient, params: dict[str, str], expected: set[str]
) -> None:
    await seed(client, "octanist", listing_leads())
    assert set(await list_names(client, **params)) == expected


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"colour": "red"}, "INVALID_FILTER"),
        ({"value[near]": "1"}, "INVALID_FILTER"),
        ({"value[gte]": "lots"}, "INVALID_FILTER"),
        ({"status": "win"}, "INVALID_FILTER"),
        ({"gclid[exists]": "maybe"}, "INVALID_FILTER"),
        ({"name[gte]": "a"}, "INVALID_FILTER"),
        ({"createdAt[gte]": "last tuesday"}, "INVALID_DATE"),
        ({"updatedAt[lt]": "2026-13-01"}, "INVALID_DATE"),
    ],
)
async def test_list_bad_filters(
    client: httpx.AsyncClient, params: dict[str, str], code: str
) -> None:
    assert_error(await client.get(LEADS, params=params), 400, code)


async def test_list_fields_projection(client: httpx.AsyncClient) -> None:
    await seed(client, "octanist", listing_leads()[:2])
    rows = (await client.get(LEADS, params={"fields": "id,name,email,status"})).json()["data"]
    assert all(list(row) == ["id", "name", "email", "status"] for row in rows)


async def test_get_lead_and_404(client: httpx.AsyncClient) -> None:
    lead_id = await create(client, name="A", utm_source="news")
    body = (await client.get(f"{LEADS}/{lead_id}")).json()
    assert body["success"] is True and body["data"]["id"] == lead_id
    assert body["data"]["utm_source"] == "news"
    assert list(body["data"])[:4] == ["id", "name", "email", "phone"]
    assert_error(await client.get(f"{LEADS}/lead_missing"), 404, "NOT_FOUND")


async def test_check_and_auth(client: httpx.AsyncClient) -> None:
    ok = await client.post("/octanist/api/check", headers={"X-API-KEY": "sandbox-key"})
    assert ok.status_code == 200 and ok.json() == {"success": True}
    assert_error(
        await client.post("/octanist/api/check", headers={"x-api-key": "no"}), 401, "UNAUTHORIZED"
    )
    assert_error(await client.get(LEADS, headers={"X-API-KEY": ""}), 401, "UNAUTHORIZED")


def test_indexed_pages_equal_the_general_path() -> None:
    """The store's time-index fast path answers exactly as the general filter-and-sort path."""
    import random

    from sandbox import create_app
    from sandbox.octanist import _query as query

    backend = create_app(seed=4).state.sandbox.octanist
    stamps = [f"2026-01-0{1 + i % 3}T00:00:0{i % 5}.000Z" for i in range(60)]
    random.Random(2).shuffle(stamps)
    backend.seed(
        [{"email": f"l{i}@x.io", "createdAt": s, "updatedAt": s} for i, s in enumerate(stamps)]
    )
    for params in (
        {"sort": "updatedAt:asc", "limit": "7", "page": "3"},
        {
            "sort": "updatedAt:asc",
            "updatedAt[gte]": "2026-01-02T00:00:00Z",
            "limit": "10",
            "page": "2",
        },
        {"sort": "createdAt:desc", "createdAt[gt]": "2026-01-01T00:00:02.000Z", "limit": "9"},
        {"limit": "100"},
    ):
        parsed = query.parse_query(params)
        assert query.indexed(params, parsed) is not None, params
        fast = backend.list_leads(params)
        slow = query.run(backend.store.scan("octanist"), parsed)
        assert fast == slow, params
    assert (
        query.indexed(
            {"sort": "updatedAt:asc", "status": "won"}, query.parse_query({"status": "won"})
        )
        is None
    )
