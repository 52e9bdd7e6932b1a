"""Vendor clients on a MockTransport: payloads, pagination, soft deletes, conflicts."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from connectors import to_wire
from connectors.exceptions import LeadConflict, PayloadRejected
from schemas.vendors import APTEN, OCTANIST, OMNI
from tests.connectors.fakes import Script, client_for, ok


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADPIPE_TEST_KEY", "k")


def _collect(agen: Any) -> list[Any]:
    async def go() -> list[Any]:
        return [x async for x in agen]

    return asyncio.run(go())


def test_omni_payloads() -> None:
    body = to_wire(
        OMNI,
        {
            "first_name": "Ann",
            "phone": "+12125550100",
            "tags": ["VIP"],
            "opted_out": False,
            "checklist": [{"code": "tax_id", "value": "12-3", "status": None}],
        },
        on="create",
    )
    assert body == {
        "firstName": "Ann",
        "phoneNumber": "+12125550100",
        "tags": ["VIP"],
        "didOptOut": False,
        "checklistItems": [{"code": "tax_id", "value": "12-3"}],
    }
    assert to_wire(OMNI, {"status": "completed"}, on="update") == {"status": "COMPLETED"}
    with pytest.raises(PayloadRejected, match="disagrees"):
        to_wire(OMNI, {"status": "opted_out", "opted_out": False}, on="update")
    with pytest.raises(PayloadRejected, match="cannot create status"):
        to_wire(OMNI, {"first_name": "A", "status": "completed"}, on="create")
    with pytest.raises(PayloadRejected, match="status 'won' cannot be set"):
        to_wire(OMNI, {"status": "won"}, on="update")


def test_apten_payloads() -> None:
    custom = [{"key": "loan", "value": "5000"}, {"key": "old", "value": None}]
    assert to_wire(APTEN, {"timezone": "Europe/Berlin", "custom": custom}, on="update") == {
        "timezone": "Europe/Berlin",
        "additionalInfo": {"loan": "5000", "old": None},
    }
    create = to_wire(
        APTEN,
        {
            "first_name": "A",
            "last_name": "B",
            "phone": "+1",
            "customer_profile": "Default",
            "timezone": "UTC",
        },
        on="create",
    )
    assert create["timeZone"] == "UTC" and "timezone" not in create
    assert to_wire(
        APTEN, {"follow_up_config": '{"1": {"hours": 2, "channel": "text"}}'}, on="update"
    ) == {"followUpConfig": {"1": {"hours": 2, "channel": "text"}}}


def test_octanist_payloads() -> None:
    body = to_wire(
        OCTANIST,
        {"first_name": "Ann", "last_name": "Lee", "custom": [{"key": "k", "value": "v"}]},
        on="create",
    )
    assert body == {"custom": '{"k": "v"}', "name": "Ann Lee"}
    assert to_wire(
        OCTANIST, {"status": "lost", "loss_reason": "price", "value": 10.0}, on="update"
    ) == {
        "status": "lost",
        "lossReason": "price",
        "value": 10.0,
    }
    with pytest.raises(PayloadRejected, match="only be sent together with status lost"):
        to_wire(OCTANIST, {"loss_reason": "price"}, on="update")
    with pytest.raises(PayloadRejected, match="needs a name, email, phone or custom"):
        to_wire(OCTANIST, {"note": "hi"}, on="create")


def test_apten_list_follows_cursor_dedupes_and_flags_deleted() -> None:
    page1 = {
        "leads": [{"id": "room_1", "updatedAt": "t1"}, {"id": "room_2", "updatedAt": "t2"}],
        "nextToken": "abc",
    }
    page2 = {
        "leads": [{"id": "room_2", "updatedAt": "t2"}, {"id": "room_3", "deleted": True}],
        "nextToken": None,
    }
    script = Script(ok(page1), ok(page2))
    leads = _collect(client_for("apten", script).iter_leads(since="2026-01-01T00:00:00Z"))
    assert [(lead.id, lead.deleted) for lead in leads] == [
        ("room_1", False),
        ("room_2", False),
        ("room_3", True),
    ]
    first, second = (dict(r.url.params) for r in script.requests)
    assert first == {"updatedSince": "2026-01-01T00:00:00Z", "limit": "1000"}
    assert second["nextToken"] == "abc"


@pytest.mark.parametrize(
    "route", ["PATCH /leads/{id}", "PUT /leads/{id}", "POST /leads/{id}/update"]
)
def test_apten_update_route_is_a_profile_setting(route: str) -> None:
    script = Script(ok({"message": "Lead updated successfully."}))
    asyncio.run(
        client_for("apten", script, apten_update_route=route).update("room_1", {"email": "a@x.io"})
    )
    method, path = route.split(" ")
    assert (script.requests[0].method, script.requests[0].url.path) == (
        method,
        "/base" + path.format(id="room_1"),
    )


def _octanist_page(rows: list[tuple[str, str]], has_more: bool) -> httpx.Response:
    data = [{"id": i, "updatedAt": ts, "name": "A B"} for i, ts in rows]
    return ok({"success": True, "data": data, "meta": {"pagination": {"hasMore": has_more}}})


def test_octanist_list_moves_its_cursor_and_tolerates_shifting_rows() -> None:
    script = Script(
        _octanist_page([("l1", "t1"), ("l2", "t2")], True),
        # l2 shows up again (same timestamp, re-read at the cursor) and l3 is new
        _octanist_page([("l2", "t2"), ("l3", "t3")], True),
        _octanist_page([("l3", "t3")], False),
    )
    leads = _collect(client_for("octanist", script).iter_leads())
    assert [lead.id for lead in leads] == ["l1", "l2", "l3"]
    params = [dict(r.url.params) for r in script.requests]
    assert "updatedAt[gte]" not in params[0] and params[0]["sort"] == "updatedAt:asc"
    assert (params[1]["updatedAt[gte]"], params[1]["page"]) == ("t2", "1")
    assert (params[2]["updatedAt[gte]"], params[2]["page"]) == ("t3", "1")
    assert leads[0].fields["first_name"] == "A" and leads[0].fields["last_name"] == "B"


def test_octanist_list_turns_pages_when_a_whole_page_shares_a_timestamp() -> None:
    script = Script(_octanist_page([("l1", "t1")], True), _octanist_page([("l2", "t1")], False))
    leads = _collect(client_for("octanist", script).iter_leads(since="t1"))
    assert [lead.id for lead in leads] == ["l1", "l2"]
    assert dict(script.requests[1].url.params)["page"] == "2"


def test_octanist_conflict_is_a_per_row_conflict_and_match_keys() -> None:
    script = Script(
        ok({"success": False, "error": {"code": "CONFLICT", "message": "2 leads match"}}, 409)
    )
    with pytest.raises(LeadConflict):
        asyncio.run(client_for("octanist", script).update({"email": "a@x.io"}, {"status": "won"}))
    assert script.bodies() == [{"email": "a@x.io", "status": "won"}]


def test_omni_lists_through_analytics_then_gets_each_lead() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/analytics"):
            token = request.url.params.get("token")
            rows = [{"leadId": "o2"}] if token else [{"leadId": "o1"}]
            return ok({"breakdown": rows, "nextToken": None if token else "p2"})
        lead_id = request.url.path.rsplit("/", 1)[1]
        return ok(
            {
                "lead": {"id": lead_id, "firstName": "F", "phoneNumber": "+1"},
                "status": "IN_PROGRESS",
            }
        )

    script = Script(answer)
    leads = _collect(client_for("omni", script).iter_leads(since="2026-11-01T00:00:00Z"))
    assert [(lead.id, lead.fields["status"]) for lead in leads] == [
        ("o1", "in_progress"),
        ("o2", "in_progress"),
    ]
    assert dict(script.requests[0].url.params) == {
        "format": "json",
        "start": "2026-11-01T00:00:00Z",
    }
    assert script.requests[0].headers["x-api-key"] == "k"


def test_omni_update_sends_lead_id_in_the_body() -> None:
    script = Script(
        ok({"success": True, "lead": {"id": "o1", "tags": ["vip"]}, "checklistItems": []})
    )
    result = asyncio.run(client_for("omni", script).update("o1", {"tags": ["VIP"]}))
    assert (
        script.requests[0].method == "PUT" and script.requests[0].url.path == "/base/api/v1/leads"
    )
    assert script.bodies() == [{"leadId": "o1", "tags": ["VIP"]}]
    assert result.lead is not None and result.lead.fields["tags"] == ["vip"]
