"""Omni emulator: create/update/get leads, checklist, tags, status, analytics, auth."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox import create_app
from tests.sandbox.support import FakeClock, client_for, seed

pytestmark = pytest.mark.anyio

LEADS = "/omni/api/v1/leads"


async def create(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    body.setdefault("firstName", "Ann")
    response = await client.post(LEADS, json=body)
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()
    return payload


async def update(client: httpx.AsyncClient, lead_id: str, **body: Any) -> httpx.Response:
    return await client.put(LEADS, json={"leadId": lead_id, **body})


def items_by_code(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        item["checklistItem"]["code"]: item
        for group in payload["checklistItems"]
        for item in group["items"]
    }


async def test_create_requires_first_name(client: httpx.AsyncClient) -> None:
    for body in ({}, {"firstName": None}, {"firstName": ""}, {"lastName": "Lee"}):
        response = await client.post(LEADS, json=body)
        assert response.status_code == 400
        assert response.json()["success"] is False
        assert "firstName" in response.json()["error"]


async def test_create_returns_lead_and_checklist(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    payload = await create(client, lastName="Lee", email="ann@example.com")
    assert set(payload) == {"success", "lead", "checklistItems"}
    lead = payload["lead"]
    assert payload["success"] is True
    assert lead["firstName"] == "Ann" and lead["lastName"] == "Lee"
    assert lead["source"] == "api" and lead["didOptOut"] is False and lead["tags"] == []
    assert lead["createdAt"] == lead["updatedAt"] == "2026-05-14T15:30:00.000Z"
    assert lead["deletedAt"] is None and lead["optOutAt"] is None
    assert len(lead["id"]) == 36 and lead["id"].count("-") == 4


async def test_checklist_groups_have_the_documented_shape(client: httpx.AsyncClient) -> None:
    payload = await create(client)
    [group] = payload["checklistItems"]
    assert set(group) == {"id", "name", "conditions", "items"}
    item_keys = {"id", "checklistItemId", "value", "status", "itemOverride", "checklistItem"}
    assert all(set(item) == item_keys for item in group["items"])
    specs = {
        code: (item["checklistItem"]["fieldType"], item["checklistItem"]["isRequired"])
        for code, item in items_by_code(payload).items()
    }
    assert specs == {
        "business_name": ("TEXT", False),
        "tax_id": ("TEXT", True),
        "loan_amount": ("NUMBER", True),
    }
    for item in group["items"]:
        assert {"id", "code", "label", "fieldType", "isRequired"} <= set(item["checklistItem"])
        assert item["checklistItemId"] == item["checklistItem"]["id"]
        assert item["status"] == "TODO" and item["value"] is None


@pytest.mark.parametrize(
    ("raw", "e164", "zone"),
    [
        ("6782319992", "+16782319992", "America/New_York"),
        ("(212) 555-1234", "+12125551234", "America/New_York"),
        ("+31 6 12345678", "+31612345678", "Europe/Amsterdam"),
        ("+1 800 555 1234", "+18005551234", None),  # toll-free: many zones
        ("+447911123456", "+447911123456", None),  # several UK zones
    ],
)
async def test_phone_is_e164_and_timezone_inferred(
    client: httpx.AsyncClient, raw: str, e164: str, zone: str | None
) -> None:
    lead = (await create(client, phoneNumber=raw))["lead"]
    assert lead["phoneNumber"] == e164
    assert lead["timezone"] == zone


async def test_given_timezone_wins_and_bad_zone_is_rejected(client: httpx.AsyncClient) -> None:
    lead = (await create(client, phoneNumber="6782319992", timezone="America/Chicago"))["lead"]
    assert lead["timezone"] == "America/Chicago"
    response = await client.post(LEADS, json={"firstName": "A", "timezone": "Mars/Base"})
    assert response.status_code == 400


async def test_tags_are_case_insensitive_and_replaced(client: httpx.AsyncClient) -> None:
    first = (await create(client, tags=["VIP", "vip", "Gold"]))["lead"]
    assert first["tags"] == ["VIP", "Gold"]
    second = (await create(client, tags=["vip"]))["lead"]
    assert second["tags"] == ["VIP"]
    replaced = await update(client, first["id"], tags=["gold", "New"])
    assert replaced.json()["lead"]["tags"] == ["Gold", "New"]
    cleared = await update(client, first["id"], tags=[])
    assert cleared.json()["lead"]["tags"] == []
    assert (await update(client, first["id"], tags=None)).status_code == 400


async def test_checklist_items_update_per_code(client: httpx.AsyncClient, clock: FakeClock) -> None:
    payload = await create(client, checklistItems=[{"code": "tax_id", "value": "12-3456789"}])
    items = items_by_code(payload)
    assert (items["tax_id"]["value"], items["tax_id"]["status"]) == ("12-3456789", "COMPLETED")
    lead_id = payload["lead"]["id"]
    clock.advance(minutes=1)
    changed = await update(
        client,
        lead_id,
        checklistItems=[{"code": "loan_amount", "value": 50000, "status": "NEEDS_REVIEW"}],
    )
    items = items_by_code(changed.json())
    assert items["tax_id"]["status"] == "COMPLETED"  # untouched
    assert (items["loan_amount"]["value"], items["loan_amount"]["status"]) == (
        50000,
        "NEEDS_REVIEW",
    )
    assert items["business_name"]["status"] == "TODO"


async def test_unknown_checklist_code_or_status_is_400(client: httpx.AsyncClient) -> None:
    unknown = await client.post(
        LEADS, json={"firstName": "A", "checklistItems": [{"code": "nope"}]}
    )
    assert unknown.status_code == 400 and "nope" in unknown.json()["error"]
    bad = [{"code": "tax_id", "status": "DONE"}]
    assert (
        await client.post(LEADS, json={"firstName": "A", "checklistItems": bad})
    ).status_code == 400


async def test_opt_out_and_email_verified_set_timestamps(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    lead = (await create(client, didOptOut=True, emailVerified=True))["lead"]
    assert lead["didOptOut"] is True
    assert lead["optOutAt"] == lead["emailVerifiedAt"] == "2026-05-14T15:30:00.000Z"
    clock.advance(hours=1)
    again = (await update(client, lead["id"], didOptOut=True, emailVerified=True)).json()["lead"]
    assert again["optOutAt"] == lead["optOutAt"]  # the first opt-out time is kept
    cleared = (await update(client, lead["id"], didOptOut=False, emailVerified=False)).json()[
        "lead"
    ]
    assert cleared["didOptOut"] is False and cleared["optOutAt"] is None
    assert cleared["emailVerifiedAt"] is None


async def test_assignee_type_maps_to_enum(client: httpx.AsyncClient) -> None:
    assert (await create(client, assigneeType="agent"))["lead"]["assigneeType"] == "AI_AGENT"
    assert (await create(client, assigneeType="manual"))["lead"]["assigneeType"] == "HUMAN_AGENT"
    response = await client.post(LEADS, json={"firstName": "A", "assigneeType": "robot"})
    assert response.status_code == 400


async def test_update_unknown_or_missing_lead(client: httpx.AsyncClient) -> None:
    missing = await update(client, "00000000-0000-4000-8000-000000000000", lastName="X")
    assert missing.status_code == 404 and missing.json()["success"] is False
    assert (await client.put(LEADS, json={"lastName": "X"})).status_code == 400


async def test_update_leaves_omitted_fields_untouched(client: httpx.AsyncClient) -> None:
    lead = (await create(client, lastName="Lee", email="a@example.com", tags=["x"]))["lead"]
    updated = (await update(client, lead["id"], lastName="Li")).json()["lead"]
    assert updated["lastName"] == "Li"
    for key in ("firstName", "email", "tags", "phoneNumber", "timezone", "createdAt"):
        assert updated[key] == lead[key]


async def test_completed_auto_skips_and_in_progress_reverts(client: httpx.AsyncClient) -> None:
    payload = await create(client, checklistItems=[{"code": "tax_id", "value": "1"}])
    lead_id = payload["lead"]["id"]
    completed = items_by_code((await update(client, lead_id, status="COMPLETED")).json())
    assert completed["loan_amount"]["status"] == "SKIPPED"
    assert completed["tax_id"]["status"] == "COMPLETED"
    assert completed["business_name"]["status"] == "TODO"  # not required: not skipped
    assert (await client.get(f"{LEADS}/{lead_id}")).json()["status"] == "COMPLETED"
    reopened = items_by_code((await update(client, lead_id, status="IN_PROGRESS")).json())
    assert reopened["loan_amount"]["status"] == "TODO"
    assert reopened["tax_id"]["status"] == "COMPLETED"
    assert (await client.get(f"{LEADS}/{lead_id}")).json()["status"] == "IN_PROGRESS"


async def test_not_interested_and_opted_out(client: httpx.AsyncClient) -> None:
    lead_id = (await create(client))["lead"]["id"]
    await update(client, lead_id, status="NOT_INTERESTED")
    assert (await client.get(f"{LEADS}/{lead_id}")).json()["status"] == "NOT_INTERESTED"
    opted = (await update(client, lead_id, status="OPTED_OUT")).json()["lead"]
    assert opted["didOptOut"] is True and opted["optOutAt"] is not None
    assert (await client.get(f"{LEADS}/{lead_id}")).json()["status"] == "OPTED_OUT"
    reopened = (await update(client, lead_id, status="IN_PROGRESS", didOptOut=False)).json()
    assert reopened["lead"]["didOptOut"] is False
    assert (await client.get(f"{LEADS}/{lead_id}")).json()["status"] == "IN_PROGRESS"


@pytest.mark.parametrize(
    "body",
    [
        {"status": "REVIEW"},
        {"status": "DONE"},
        {"status": "OPTED_OUT", "didOptOut": False},
        {"status": "COMPLETED", "didOptOut": True},
    ],
)
async def test_invalid_status_changes_are_400_and_change_nothing(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    lead = (await create(client))["lead"]
    response = await update(client, lead["id"], lastName="Changed", **body)
    assert response.status_code == 400
    after = (await client.get(f"{LEADS}/{lead['id']}")).json()
    assert after["lead"]["lastName"] is None and after["status"] == "IN_PROGRESS"


async def test_get_lead_shape_and_matching_leads(client: httpx.AsyncClient) -> None:
    one = (await create(client, phoneNumber="678-231-9992", email="Ann@Example.com"))["lead"]
    two = (await create(client, phoneNumber="+1 (678) 231-9992"))["lead"]
    three = (await create(client, email="ann@example.com"))["lead"]
    await create(client, phoneNumber="6782310000")
    body = (await client.get(f"{LEADS}/{one['id']}")).json()
    assert {"lead", "status", "checklistItems", "documents", "actionLogs", "matchingLeads"} <= set(
        body
    )
    assert {"lastAction", "nextFollowUp"} <= set(body)
    assert {"isTest", "submittedAt", "tags", "workspaceId"} <= set(body["lead"])
    assert {m["id"] for m in body["matchingLeads"]} == {two["id"], three["id"]}
    assert body["actionLogs"][0]["type"] == "API_ACTIVITY"
    assert body["status"] == "IN_PROGRESS"


async def test_get_unknown_lead_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{LEADS}/nope")
    assert response.status_code == 404
    assert response.json() == {"success": False, "error": "Lead not found"}


async def test_updated_at_moves_only_on_change(client: httpx.AsyncClient, clock: FakeClock) -> None:
    lead = (await create(client, lastName="Lee"))["lead"]
    clock.advance(minutes=5)
    same = (await update(client, lead["id"], lastName="Lee")).json()["lead"]
    assert same["updatedAt"] == lead["updatedAt"]
    changed = (await update(client, lead["id"], lastName="Li")).json()["lead"]
    assert changed["updatedAt"] == "2026-05-14T15:35:00.000Z"
    assert changed["createdAt"] == lead["createdAt"]


async def test_auth_is_x_api_key_with_401(client: httpx.AsyncClient) -> None:
    for headers in ({"x-api-key": "wrong"}, {"X-Api-Key": ""}):
        response = await client.post(LEADS, json={"firstName": "A"}, headers=headers)
        assert response.status_code == 401
        assert response.json()["success"] is False and response.json()["error"]
    assert (await client.get(f"{LEADS}/x", headers={"X-API-KEY": "sandbox-key"})).status_code == 404


async def test_deleted_leads_are_404(client: httpx.AsyncClient) -> None:
    lead_id = (await create(client))["lead"]["id"]
    assert (await client.post(f"/_sandbox/omni/leads/{lead_id}/delete")).status_code == 200
    assert (await client.get(f"{LEADS}/{lead_id}")).status_code == 404
    assert (await update(client, lead_id, lastName="X")).status_code == 404


def analytics_leads(count: int) -> list[dict[str, Any]]:
    return [
        {"firstName": f"L{i}", "createdAt": f"2026-01-{1 + i % 28:02d}T00:00:{i % 60:02d}Z"}
        for i in range(count)
    ]


async def test_analytics_pages_500_with_token(client: httpx.AsyncClient) -> None:
    ids = await seed(client, "omni", analytics_leads(1203))
    seen: list[str] = []
    token: str | None = None
    sizes = []
    for _ in range(5):
        params = {"token": token} if token else {}
        page = (await client.get("/omni/api/v0/analytics", params=params)).json()
        sizes.append(len(page["breakdown"]))
        seen += [row["leadId"] for row in page["breakdown"]]
        assert page["totals"]["count"] == 1203
        token = page["nextToken"]
        if token is None:
            break
    assert sizes == [500, 500, 203]
    assert sorted(seen) == sorted(ids) and len(set(seen)) == 1203


async def test_analytics_window_rows_and_exclusions(client: httpx.AsyncClient) -> None:
    leads: list[dict[str, Any]] = [
        {"firstName": "Early", "createdAt": "2026-01-01T00:00:00Z"},
        {"firstName": "Start", "createdAt": "2026-02-01T00:00:00Z", "email": "s@example.com"},
        {"firstName": "End", "createdAt": "2026-03-01T00:00:00Z"},
        {"firstName": "Test", "createdAt": "2026-02-10T00:00:00Z", "isTest": True},
        {
            "firstName": "Gone",
            "createdAt": "2026-02-11T00:00:00Z",
            "deletedAt": "2026-02-12T00:00:00Z",
        },
    ]
    await seed(client, "omni", leads)
    params = {"start": "2026-02-01T00:00:00Z", "end": "2026-03-01T00:00:00.000Z"}
    page = (await client.get("/omni/api/v0/analytics", params=params)).json()
    assert [row["firstName"] for row in page["breakdown"]] == ["Start", "End"]
    row = page["breakdown"][0]
    expected = {"leadId", "firstName", "lastName", "email", "phoneNumber", "createdAt", "checklist"}
    assert expected <= set(row)
    assert row["email"] == "s@example.com" and row["createdAt"] == "2026-02-01T00:00:00.000Z"
    assert {c["code"] for c in row["checklist"]} == {"business_name", "tax_id", "loan_amount"}
    assert set(row["checklist"][0]) == {
        "code",
        "required",
        "status",
        "value",
        "updatedAt",
        "source",
    }
    assert page["nextToken"] is None and page["totals"]["count"] == 2


@pytest.mark.parametrize(
    "params",
    [
        {"start": "yesterday"},
        {"start": "2026-03-01T00:00:00Z", "end": "2026-02-01T00:00:00Z"},
        {"limit": "10"},
        {"token": "not-a-token"},
    ],
)
async def test_analytics_rejects_bad_parameters(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await client.get("/omni/api/v0/analytics", params=params)
    assert response.status_code == 400 and response.json()["success"] is False


async def test_analytics_reports_checklist_source(client: httpx.AsyncClient) -> None:
    await create(client, checklistItems=[{"code": "tax_id", "value": "9"}])
    [row] = (await client.get("/omni/api/v0/analytics")).json()["breakdown"]
    checklist = {c["code"]: c for c in row["checklist"]}
    assert checklist["tax_id"]["source"] == "imported" and checklist["tax_id"]["value"] == "9"
    assert checklist["loan_amount"]["source"] is None


async def test_analytics_csv_gives_a_download_url(client: httpx.AsyncClient) -> None:
    await create(client, lastName="Csv")
    url = (await client.get("/omni/api/v0/analytics", params={"format": "csv"})).json()[
        "downloadUrl"
    ]
    text = (await client.get(url)).text
    assert text.splitlines()[0].startswith("leadId,firstName,lastName")
    assert "Csv" in text


STANDARDIZED = ["actionLogs", "matchingLeads", "lastAction", "nextFollowUp", "nextDraftMessage"]


def without_ids(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    assert all(len(log["id"]) == 36 for log in logs)
    return [{k: v for k, v in log.items() if k != "id"} for log in logs]


async def test_update_reply_has_status_and_standardized_keys(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    lead = (await create(client, email="ann@example.com"))["lead"]
    twin = (await create(client, firstName="Twin", email="ANN@example.com"))["lead"]
    clock.advance(minutes=1)
    items = [{"code": "tax_id", "status": "NEEDS_REVIEW"}, {"code": "loan_amount", "value": 5}]
    response = await update(client, lead["id"], checklistItems=items)
    body = response.json()
    assert list(body) == ["success", "status", "lead", "checklistItems", *STANDARDIZED]
    assert body["success"] is True and body["status"] == "REVIEW"
    assert without_ids(body["actionLogs"]) == [
        {
            "type": "API_ACTIVITY",
            "description": "Lead updated",
            "createdAt": "2026-05-14T15:31:00.000Z",
        },
        {
            "type": "API_ACTIVITY",
            "description": "Lead created",
            "createdAt": "2026-05-14T15:30:00.000Z",
        },
    ]
    assert body["matchingLeads"] == [
        {
            "id": twin["id"],
            "firstName": "Twin",
            "lastName": None,
            "email": "ANN@example.com",
            "phoneNumber": None,
            "createdAt": "2026-05-14T15:30:00.000Z",
        }
    ]
    assert (body["lastAction"], body["nextFollowUp"], body["nextDraftMessage"]) == (None,) * 3
    got = (await client.get(f"{LEADS}/{lead['id']}")).json()
    assert {key: got[key] for key in ("status", *STANDARDIZED)} == {
        key: body[key] for key in ("status", *STANDARDIZED)
    }


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"status": "COMPLETED"}, "COMPLETED"),
        ({"status": "NOT_INTERESTED"}, "NOT_INTERESTED"),
        ({"status": "OPTED_OUT"}, "OPTED_OUT"),
        ({"didOptOut": True}, "OPTED_OUT"),
        ({"lastName": "Lee"}, "IN_PROGRESS"),
    ],
)
async def test_update_reply_status_is_the_status_after_the_update(
    client: httpx.AsyncClient, body: dict[str, Any], status: str
) -> None:
    lead_id = (await create(client))["lead"]["id"]
    assert (await update(client, lead_id, **body)).json()["status"] == status


async def test_action_logs_keep_the_newest_100(client: httpx.AsyncClient, clock: FakeClock) -> None:
    lead_id = (await create(client))["lead"]["id"]
    for _ in range(101):
        clock.advance(seconds=1)
        last = await update(client, lead_id, lastName="Lee")
    logs = last.json()["actionLogs"]
    assert len(logs) == 100 and logs[0]["createdAt"] == "2026-05-14T15:31:41.000Z"
    stamps = [log["createdAt"] for log in logs]
    assert stamps == sorted(stamps, reverse=True)
    assert {log["description"] for log in logs} == {"Lead updated"}  # "Lead created" fell off


async def test_test_leads_have_no_matching_leads(client: httpx.AsyncClient) -> None:
    [test_id, real_id] = await seed(
        client,
        "omni",
        [
            {"firstName": "T", "email": "a@example.com", "isTest": True},
            {"firstName": "R", "email": "a@example.com"},
        ],
    )
    assert (await update(client, test_id, lastName="X")).json()["matchingLeads"] == []
    matches = (await client.get(f"{LEADS}/{real_id}")).json()["matchingLeads"]
    assert [m["id"] for m in matches] == [test_id]


async def test_not_interested_at_is_set_kept_and_cleared(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    lead = (await create(client))["lead"]
    assert lead["notInterestedAt"] is None
    clock.advance(minutes=1)
    cold = (await update(client, lead["id"], status="NOT_INTERESTED")).json()["lead"]
    assert cold["notInterestedAt"] == "2026-05-14T15:31:00.000Z"
    clock.advance(minutes=1)
    again = (await update(client, lead["id"], status="NOT_INTERESTED")).json()["lead"]
    assert again["notInterestedAt"] == "2026-05-14T15:31:00.000Z"  # the first time is kept
    opted = (await update(client, lead["id"], status="OPTED_OUT")).json()
    assert opted["status"] == "OPTED_OUT"
    assert opted["lead"]["notInterestedAt"] == "2026-05-14T15:31:00.000Z"
    assert opted["lead"]["optOutAt"] == "2026-05-14T15:32:00.000Z"
    reopened = (await update(client, lead["id"], status="IN_PROGRESS")).json()
    assert reopened["status"] == "IN_PROGRESS"
    assert (reopened["lead"]["notInterestedAt"], reopened["lead"]["optOutAt"]) == (None, None)
    await update(client, lead["id"], status="NOT_INTERESTED")
    completed = (await update(client, lead["id"], status="COMPLETED")).json()
    assert completed["status"] == "COMPLETED" and completed["lead"]["notInterestedAt"] is None
    got = (await client.get(f"{LEADS}/{lead['id']}")).json()["lead"]
    assert "notInterestedAt" in got and got["notInterestedAt"] is None


async def test_seed_opted_out_and_not_interested_leads(client: httpx.AsyncClient) -> None:
    created = {"createdAt": "2026-01-01T00:00:00Z"}
    leads = [
        {"firstName": "Opted", "status": "OPTED_OUT", "didOptOut": True, **created},
        {"firstName": "Cold", "status": "NOT_INTERESTED", **created},
        {"firstName": "Both", "didOptOut": True, "notInterestedAt": "2026-02-01T00:00:00Z"},
        {"firstName": "Stamped", "optOutAt": "2026-03-01T00:00:00Z"},
    ]
    ids = await seed(client, "omni", leads)
    got = [(await client.get(f"{LEADS}/{lead_id}")).json() for lead_id in ids]
    seen = [
        (g["status"], g["lead"]["didOptOut"], g["lead"]["optOutAt"], g["lead"]["notInterestedAt"])
        for g in got
    ]
    assert seen == [
        ("OPTED_OUT", True, "2026-01-01T00:00:00.000Z", None),
        ("NOT_INTERESTED", False, None, "2026-01-01T00:00:00.000Z"),
        ("OPTED_OUT", True, "2026-05-14T15:30:00.000Z", "2026-02-01T00:00:00.000Z"),
        ("OPTED_OUT", True, "2026-03-01T00:00:00.000Z", None),
    ]
    reopened = (await update(client, ids[2], status="IN_PROGRESS", didOptOut=False)).json()
    assert reopened["status"] == "IN_PROGRESS"
    assert (reopened["lead"]["didOptOut"], reopened["lead"]["notInterestedAt"]) == (False, None)
    contradiction = {"firstName": "X", "status": "NOT_INTERESTED", "didOptOut": True}
    response = await client.post(
        "/_sandbox/seed", json={"vendor": "omni", "leads": [contradiction]}
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "leads[0]: didOptOut=true contradicts status NOT_INTERESTED"
    }


TYPED_CHECKLIST = [
    {"code": "amount", "fieldType": "NUMBER"},
    {"code": "note", "fieldType": "TEXT"},
    {"code": "home", "fieldType": "ADDRESS"},
    {"code": "ein", "fieldType": "EIN"},
]
ADDRESS = {
    "street": "1 Main St",
    "city": "Austin",
    "state": "TX",
    "postalCode": "78701",
    "country": None,
}

AN_ADDRESS = "text or an address object {street, city, state, postalCode, country}"


@pytest.mark.parametrize(
    ("code", "sent", "stored"),
    [
        ("amount", 50000, 50000),
        ("amount", "50000", 50000),
        ("amount", " 12.5 ", 12.5),
        ("amount", "1e3", 1000),
        ("amount", 7.0, 7),
        ("amount", -0.25, -0.25),
        ("note", "abc", "abc"),
        ("note", 123, "123"),
        ("note", 1.5, "1.5"),
        ("home", ADDRESS, ADDRESS),
        ("home", {"city": "Austin"}, {"city": "Austin"}),
        ("home", "1 Main St, Austin", "1 Main St, Austin"),
        ("ein", "12-3456789", "12-3456789"),
    ],
)
async def test_checklist_values_are_typed_by_field_type(
    client: httpx.AsyncClient, code: str, sent: Any, stored: Any
) -> None:
    await client.put("/_sandbox/settings", json={"omni": {"checklist": TYPED_CHECKLIST}})
    payload = await create(client, checklistItems=[{"code": code, "value": sent}])
    value = items_by_code(payload)[code]["value"]
    assert value == stored and type(value) is type(stored)
    got = await client.get(f"{LEADS}/{payload['lead']['id']}")
    assert items_by_code(got.json())[code]["value"] == stored


@pytest.mark.parametrize(
    ("code", "sent", "expected"),
    [
        ("amount", "abc", 'a number, got "abc"'),
        ("amount", "5,000", 'a number, got "5,000"'),
        ("amount", "NaN", 'a number, got "NaN"'),
        ("amount", True, "a number, got true"),
        ("amount", [1], "a number, got [1]"),
        ("note", False, "text, got false"),
        ("note", {"a": 1}, 'text, got {"a": 1}'),
        ("ein", ["12"], 'text, got ["12"]'),
        ("home", 5, f"{AN_ADDRESS}, got 5"),
        ("home", {"zip": "1"}, f'{AN_ADDRESS}, got {{"zip": "1"}}'),
        ("home", {"city": 5}, f'{AN_ADDRESS}, got {{"city": 5}}'),
    ],
)
async def test_unreadable_checklist_values_are_400_and_change_nothing(
    client: httpx.AsyncClient, code: str, sent: Any, expected: str
) -> None:
    await client.put("/_sandbox/settings", json={"omni": {"checklist": TYPED_CHECKLIST}})
    lead_id = (await create(client))["lead"]["id"]
    field_type = {item["code"]: item["fieldType"] for item in TYPED_CHECKLIST}[code]
    items = [{"code": "note", "value": "first"}, {"code": code, "value": sent}]
    response = await update(client, lead_id, lastName="Lee", checklistItems=items)
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": f"Invalid value for checklist item {code} ({field_type}): expected {expected}",
    }
    got = (await client.get(f"{LEADS}/{lead_id}")).json()
    assert got["lead"]["lastName"] is None and items_by_code(got)["note"]["value"] is None
    assert len(got["actionLogs"]) == 1


async def test_records_from_an_older_sandbox_keep_their_not_interested_flag(
    clock: FakeClock,
) -> None:
    app = create_app(now=clock)
    async with client_for(app) as client:
        lead_id = (await create(client))["lead"]["id"]
        sandbox = app.state.sandbox
        record = sandbox.store.get("omni", lead_id)
        del record["notInterestedAt"]  # as stored before notInterestedAt existed
        record["_notInterested"] = True
        sandbox.omni.save(record)
        got = (await client.get(f"{LEADS}/{lead_id}")).json()
        assert (got["status"], got["lead"]["notInterestedAt"]) == ("NOT_INTERESTED", None)
        reopened = (await update(client, lead_id, status="IN_PROGRESS")).json()
        assert (reopened["status"], reopened["lead"]["notInterestedAt"]) == ("IN_PROGRESS", None)
        assert "_notInterested" not in sandbox.store.get("omni", lead_id)
