"""Answers the client does not expect (issue 17): endless listings, wrong shapes, no new id.

Every vendor client on a MockTransport: a listing that never ends stops with one line after a
bounded number of requests; a 2xx body of the wrong shape is a clear error of the right kind
(a read stops the run, a write fails its row, a create without the new id is ambiguous and
looked up), never a TypeError; and the push never reports `created` without the lead's id.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors import Journal, LeadClient, PlannedOp, PushReport, push, sqlite_url
from connectors._snapshot import SnapshotStore
from connectors.exceptions import (
    AmbiguousWriteError,
    AnswerWithoutId,
    FatalVendorError,
    LeadNotFound,
    PermanentVendorError,
    UnexpectedAnswer,
    VendorProtocolError,
)
from tests.connectors.fakes import FakeClock, Script, client_for, ok

SINCE = "2026-01-01T00:00:00Z"
APTEN_LEAD = {
    "first_name": "Ann",
    "last_name": "Lee",
    "phone": "+12125550100",
    "customer_profile": "Default",
}


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADPIPE_TEST_KEY", "k")


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _drain(agen: Any) -> list[Any]:
    return [x async for x in agen]


def _client(vendor: str, *answers: httpx.Response | Callable[[httpx.Request], Any]) -> Any:
    script = Script(*answers)
    return client_for(vendor, script, FakeClock()), script


def _empty(status: int = 200) -> httpx.Response:
    return httpx.Response(status)


def _octanist_page(ids: list[str], stamp: str = "t1", more: bool = True) -> httpx.Response:
    data = [{"id": i, "updatedAt": stamp, "name": "A B"} for i in ids]
    return ok({"success": True, "data": data, "meta": {"pagination": {"hasMore": more}}})


def _apten_page(ids: list[str], token: str | None) -> httpx.Response:
    return ok({"leads": [{"id": i, "updatedAt": "t1"} for i in ids], "nextToken": token})


def _omni_page(ids: list[str], token: str | None) -> httpx.Response:
    rows = [{"leadId": i, "email": f"{i}@x.io", "createdAt": "t1"} for i in ids]
    return ok({"nextToken": token, "breakdown": rows})


# --- listings that never end ------------------------------------------------------------------


def _stopped(client: LeadClient, listing: Callable[[Any], Any]) -> VendorProtocolError:
    with pytest.raises(VendorProtocolError) as info:
        run(_drain(listing(client)))
    return info.value


def test_octanist_endless_has_more_on_the_same_page_stops_with_one_line() -> None:
    client, script = _client("octanist", _octanist_page(["l1"]))
    error = _stopped(client, lambda c: c.iter_leads())
    assert str(error) == (
        "octanist: GET /leads kept answering hasMore with no new leads (page 3); "
        "the listing was stopped"
    )
    # page 1; the cursor's first page re-reads its boundary row (allowed once); then page 2
    assert len(script.requests) == 3
    assert isinstance(error, FatalVendorError) and error.exit_code == 3
    assert "\n" not in str(error) and error.code == "endless_listing"


def test_octanist_has_more_with_new_ids_forever_stops_at_the_page_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("connectors.octanist._MAX_PAGES", 5)
    count = iter(range(1_000_000))

    def forever(request: httpx.Request) -> httpx.Response:
        n = next(count)
        return _octanist_page([f"l{n}"], stamp=f"t{n:07d}")

    client, script = _client("octanist", forever)
    error = _stopped(client, lambda c: c.iter_leads())
    assert "GET /leads was still answering hasMore after 5 pages" in str(error)
    assert len(script.requests) == 5


def test_octanist_a_cursor_that_leads_back_to_a_page_already_read_stops() -> None:
    # Each page moves the cursor back and forth between two stamps: (t1, 1) comes again.
    client, script = _client(
        "octanist",
        _octanist_page(["l1"], "t1"),
        _octanist_page(["l2"], "t2"),
        _octanist_page(["l3"], "t1"),
    )
    error = _stopped(client, lambda c: c.iter_leads(since="t0"))
    assert "GET /leads answered hasMore but led back to a page already read (page 3)" in str(error)
    assert len(script.requests) == 3


@pytest.mark.parametrize(
    ("vendor", "page", "listing", "path"),
    [
        ("apten", _apten_page, lambda c: c.iter_leads(), "GET /leads"),
        ("apten", _apten_page, lambda c: _one(c.find_many([{"phone": "+1"}], since=SINCE)), ""),
        ("omni", _omni_page, lambda c: c.iter_feed(), "GET /api/v0/analytics"),
        ("omni", _omni_page, lambda c: _one(c.find({"email": "none@x.io"}, since=SINCE)), ""),
    ],
    ids=["apten-list", "apten-lookup", "omni-feed", "omni-lookup"],
)
class TestTokenListings:
    def test_the_same_token_twice_stops(
        self, vendor: str, page: Any, listing: Any, path: str
    ) -> None:
        client, script = _client(vendor, page(["a"], "tok"), page(["b"], "tok"))
        error = _stopped(client, listing)
        assert "answered the same nextToken twice (page 2); the listing was stopped" in str(error)
        assert str(error).startswith(f"{vendor}: {path}")
        assert len(script.requests) == 2

    def test_fresh_tokens_with_nothing_new_stop(
        self, vendor: str, page: Any, listing: Any, path: str
    ) -> None:
        tokens = iter(range(1_000_000))
        client, script = _client(vendor, lambda r: page(["a"], f"tok{next(tokens)}"))
        error = _stopped(client, listing)
        assert "kept answering a nextToken with no new leads (page 2)" in str(error)
        assert len(script.requests) == 2

    def test_new_leads_forever_stop_at_the_page_limit(
        self, vendor: str, page: Any, listing: Any, path: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(f"connectors.{vendor}._MAX_PAGES", 4)
        count = iter(range(1_000_000))

        def forever(request: httpx.Request) -> httpx.Response:
            if request.url.path.startswith("/base/api/v1/leads/"):  # Omni's GET by id
                return ok({"lead": {"id": request.url.path.rsplit("/", 1)[1]}})
            n = next(count)
            return page([f"l{n}"], f"tok{n}")

        client, script = _client(vendor, forever)
        error = _stopped(client, listing)
        assert "was still answering a nextToken after 4 pages" in str(error)
        assert len(script.requests) == 4


async def _one(coro: Any) -> Any:
    """A lookup as an async iterable (so the listing tests drive it like the others)."""
    yield await coro


def test_omni_iter_leads_stops_on_an_endless_analytics_read() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/analytics"):
            return _omni_page(["o1"], "same")
        return ok({"lead": {"id": "o1"}, "status": "IN_PROGRESS"})

    client, script = _client("omni", answer)
    error = _stopped(client, lambda c: c.iter_leads())
    assert "GET /api/v0/analytics answered the same nextToken twice (page 2)" in str(error)
    assert len(script.requests) == 3  # two pages, one GET of the one lead


def test_a_listing_that_does_not_end_leaves_the_stored_snapshot_alone(tmp_path: Path) -> None:
    client, _ = _client("apten", _apten_page(["a"], "tok"))
    store = SnapshotStore(tmp_path, "test:apten", "apten")
    with pytest.raises(VendorProtocolError):
        run(store.refresh(client))
    assert store.empty  # no partial snapshot was written


def test_listings_that_end_still_work() -> None:
    client, script = _client(
        "apten", _apten_page(["a", "b"], "t1"), _apten_page(["b", "c"], "t2"), _apten_page([], None)
    )
    assert [lead.id for lead in run(_drain(client.iter_leads()))] == ["a", "b", "c"]
    client, script = _client("omni", _omni_page(["o1", "o2"], "p2"), _omni_page(["o2"], None))
    assert [lead.id for lead in run(_drain(client.iter_feed()))] == ["o1", "o2"]


# --- reads of the wrong shape: the run stops with one line -----------------------------------

READS: list[tuple[str, Any, str]] = [
    ("omni", _empty(), "with an empty body instead of a JSON object"),
    ("omni", ok([]), "with an array instead of a JSON object"),
    ("omni", ok("fine"), "with a string instead of a JSON object"),
    ("omni", ok({"status": "IN_PROGRESS"}), "without a `lead` object"),
    ("omni", ok({"lead": None}), "with `lead` null instead of an object"),
    ("omni", ok({"lead": {"id": 7}}), "with `lead.id` a number instead of a non-empty string"),
    ("omni", ok({"lead": {"id": "o1", "email": ["a"]}}), "with `lead.email` an array"),
    (
        "omni",
        ok({"lead": {"id": "o1", "didOptOut": "no"}}),
        "with `lead.didOptOut` a string instead of a boolean",
    ),
    (
        "omni",
        ok({"lead": {"id": "o1", "tags": [{"id": 1}]}}),
        "with `lead.tags[0]` an object instead of a tag name",
    ),
    ("omni", ok({"lead": {"id": "o1"}, "status": 3}), "with `status` a number"),
    (
        "omni",
        ok({"lead": {"id": "o1"}, "checklistItems": [{"items": ["x"]}]}),
        "with `checklistItems[0].items[0]` a string instead of an object",
    ),
    (
        "omni",
        ok({"lead": {"id": "o1"}, "checklistItems": [{"items": [{"checklistItem": "c"}]}]}),
        "with `checklistItems[0].items[0].checklistItem` a string instead of an object",
    ),
    ("octanist", ok({"success": True, "data": None}), "with `data` null instead of an object"),
    ("octanist", ok({"success": True, "data": []}), "with `data` an array instead of an object"),
    ("octanist", ok({"success": True, "data": {"name": "A"}}), "without a `data.id` string"),
    (
        "octanist",
        ok({"data": {"id": "l1", "value": "lots"}}),
        "with `data.value` a string that is not a number",
    ),
    ("octanist", ok({"data": {"id": "l1", "name": 5}}), "with `data.name` a number"),
    ("apten", ok([{"id": "room_1"}]), "with an array instead of a JSON object"),
    ("apten", ok({"id": ""}), "with `id` an empty string instead of a non-empty string"),
    ("apten", ok({"id": "room_1", "firstName": 5}), "with `firstName` a number"),
    ("apten", ok({"additionalInfo": "x"}), "with `additionalInfo` a string instead of an object"),
    ("apten", ok({"deleted": "yes"}), "with `deleted` a string instead of a boolean"),
]
GET_PATHS = {"omni": "/api/v1/leads/x1", "octanist": "/leads/x1", "apten": "/leads/x1"}


@pytest.mark.parametrize(("vendor", "answer", "wrong"), READS)
def test_a_get_of_the_wrong_shape_stops_the_run_with_one_line(
    vendor: str, answer: httpx.Response, wrong: str
) -> None:
    client, script = _client(vendor, answer)
    with pytest.raises(VendorProtocolError) as info:
        run(client.get("x1"))
    message = str(info.value)
    assert message.startswith(f"{vendor}: GET {GET_PATHS[vendor]} answered 200 {wrong}")
    assert "\n" not in message and info.value.exit_code == 3 and info.value.status == 200
    assert len(script.requests) == 1  # a wrong shape is not retried


def test_an_apten_get_without_an_id_is_the_lead_asked_for() -> None:
    client, _ = _client("apten", ok({"firstName": "Ann", "phone": "+1"}))
    lead = run(client.get("room_7"))
    assert lead.id == "room_7" and lead.fields["first_name"] == "Ann"


PAGES: list[tuple[str, Any, Any, str]] = [
    ("octanist", lambda c: c.iter_leads(), ok({"success": True, "data": None}), "without a `meta`"),
    (
        "octanist",
        lambda c: c.iter_leads(),
        ok({"success": True, "data": [], "meta": {}}),
        "without a `meta.pagination` object",
    ),
    (
        "octanist",
        lambda c: c.iter_leads(),
        ok({"data": [], "meta": {"pagination": {"hasMore": "yes"}}}),
        "with `meta.pagination.hasMore` a string instead of a boolean",
    ),
    (
        "octanist",
        lambda c: c.iter_leads(),
        ok({"data": None, "meta": {"pagination": {"hasMore": False}}}),
        "with `data` null instead of an array",
    ),
    (
        "octanist",
        lambda c: c.iter_leads(),
        ok({"data": ["l1"], "meta": {"pagination": {"hasMore": False}}}),
        "with `data[0]` a string instead of an object",
    ),
    (
        "octanist",
        lambda c: _one(c.find({"email": "a@x.io"}, since=SINCE)),
        ok({"success": True, "data": {"id": "l1"}}),
        "with `data` an object instead of an array",
    ),
    (
        "octanist",
        lambda c: _one(c.find({"email": "a@x.io"}, since=SINCE)),
        ok({"success": True, "data": [{"email": "a@x.io"}]}),
        "without a `data[0].id` string",
    ),
    ("apten", lambda c: c.iter_leads(), ok({"leads": []}), "without a `nextToken` string or null"),
    ("apten", lambda c: c.iter_leads(), ok({"leads": None, "nextToken": None}), "`leads` null"),
    (
        "apten",
        lambda c: c.iter_leads(),
        ok({"leads": [{"firstName": "A"}], "nextToken": None}),
        "without a `leads[0].id` string",
    ),
    (
        "apten",
        lambda c: c.iter_leads(),
        ok({"leads": [{"id": "r1", "phone": 1}], "nextToken": None}),
        "with `leads[0].phone` a number instead of a string",
    ),
    ("apten", lambda c: c.iter_leads(), ok({"leads": [], "nextToken": 5}), "`nextToken` a number"),
    ("omni", lambda c: c.iter_feed(), ok([]), "with an array instead of a JSON object"),
    ("omni", lambda c: c.iter_feed(), ok({"breakdown": []}), "without a `nextToken` string"),
    (
        "omni",
        lambda c: c.iter_leads(),
        ok({"nextToken": None, "breakdown": {"leadId": "o1"}}),
        "with `breakdown` an object instead of an array",
    ),
    (
        "omni",
        lambda c: _one(c.find({"email": "a@x.io"}, since=SINCE)),
        ok({"nextToken": None, "breakdown": [{"leadId": 7}]}),
        "with `breakdown[0].leadId` a number instead of a string",
    ),
    (
        "omni",
        lambda c: c.iter_feed(),
        ok({"nextToken": None, "breakdown": [{"leadId": "o1", "email": {"a": 1}}]}),
        "with `breakdown[0].email` an object instead of a string",
    ),
]


@pytest.mark.parametrize(("vendor", "listing", "answer", "wrong"), PAGES)
def test_a_list_page_of_the_wrong_shape_stops_the_run(
    vendor: str, listing: Any, answer: httpx.Response, wrong: str
) -> None:
    client, script = _client(vendor, answer)
    error = _stopped(client, listing)
    assert wrong in str(error) and "answered 200" in str(error)
    assert str(error).startswith(f"{vendor}: GET /")
    assert len(script.requests) == 1


# --- writes of the wrong shape: the row fails; a create without its id is ambiguous ----------

UPDATES: list[tuple[str, Any, str]] = [
    ("omni", ok({"success": True}), "omni: PUT /api/v1/leads answered 200 without a `lead` object"),
    ("omni", ok([]), "omni: PUT /api/v1/leads answered 200 with an array instead of a JSON"),
    ("omni", _empty(), "omni: PUT /api/v1/leads answered 200 with an empty body"),
    (
        "omni",
        ok({"success": True, "lead": {"id": "o1", "tags": "vip"}}),
        "omni: PUT /api/v1/leads answered 200 with `lead.tags` a string instead of an array",
    ),
    (
        "octanist",
        ok({"success": True, "data": None}),
        "octanist: PATCH /leads answered 200 with `data` null instead of an object",
    ),
    (
        "octanist",
        ok({"success": True, "data": {"leadsUpdated": "1"}}),
        "octanist: PATCH /leads answered 200 with `data.leadsUpdated` a string instead of a whole",
    ),
    ("octanist", ok("updated"), "octanist: PATCH /leads answered 200 with a string instead of"),
    ("apten", ok([]), "apten: PATCH /leads/o1 answered 200 with an array instead of a JSON object"),
    ("apten", ok({"message": 5}), "apten: PATCH /leads/o1 answered 200 with `message` a number"),
]
UPDATE_FIELDS = {
    "omni": {"tags": ["vip"]},
    "octanist": {"status": "won"},
    "apten": {"email": "a@x.io"},
}


@pytest.mark.parametrize(("vendor", "answer", "message"), UPDATES)
def test_an_update_of_the_wrong_shape_is_the_rows_failure(
    vendor: str, answer: httpx.Response, message: str
) -> None:
    client, script = _client(vendor, answer)
    with pytest.raises(UnexpectedAnswer) as info:
        run(client.update("o1", UPDATE_FIELDS[vendor]))
    assert str(info.value).startswith(message)
    assert isinstance(info.value, PermanentVendorError)
    assert not isinstance(info.value, FatalVendorError)
    assert info.value.code == "unexpected_answer" and len(script.requests) == 1


CREATES: list[tuple[str, Any, str]] = [
    ("omni", ok({"success": True}), "POST /api/v1/leads answered 200 without a `lead` object"),
    ("omni", ok({"success": True, "lead": {}}), "without a `lead.id` string"),
    ("omni", ok({"lead": {"id": ""}}), "with `lead.id` an empty string"),
    ("omni", _empty(), "with an empty body instead of a JSON object"),
    ("octanist", ok({"success": True, "data": None}), "POST /leads answered 200 with `data` null"),
    (
        "octanist",
        ok({"success": True, "data": {"message": "Lead added"}}),
        "POST /leads answered 200 without a `data.id` string",
    ),
    ("octanist", ok(["lead_1"]), "POST /leads answered 200 with an array"),
    (
        "apten",
        ok({"message": "Lead created successfully."}),  # the docs' own example
        "POST /leads/create answered 200 without an `id` string",
    ),
    ("apten", ok({"id": None}), "POST /leads/create answered 200 with `id` null"),
    ("apten", ok({"id": 12}, 201), "POST /leads/create answered 201 with `id` a number"),
]
CREATE_FIELDS = {
    "omni": {"first_name": "Ann", "email": "a@x.io"},
    "octanist": {"email": "a@x.io"},
    "apten": APTEN_LEAD,
}


@pytest.mark.parametrize(("vendor", "answer", "message"), CREATES)
def test_a_create_answered_without_its_id_is_ambiguous(
    vendor: str, answer: httpx.Response, message: str
) -> None:
    client, script = _client(vendor, answer)
    with pytest.raises(AnswerWithoutId) as info:
        run(client.create(CREATE_FIELDS[vendor]))
    assert isinstance(info.value, AmbiguousWriteError)
    assert message in str(info.value) and info.value.code == "no_id_in_answer"
    assert len(script.requests) == 1  # never re-sent by the HTTP layer


def test_a_create_with_its_id_but_a_garbled_echo_is_created_and_the_echo_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, _ = _client("omni", ok({"success": True, "lead": {"id": "o1", "email": 5}}))
    with caplog.at_level(logging.WARNING, logger="connectors._shapes"):
        result = run(client.create({"first_name": "Ann"}))
    assert result.id == "o1" and result.lead is None
    assert "with `lead.email` a number" in caplog.text and "echo was not used" in caplog.text


# --- the push: never `created` without the lead's id ------------------------------------------


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    j = Journal(sqlite_url(tmp_path / "j.db"))
    j.start_run("r", profile="p", source="f", mode="upsert")
    return j


def _push(client: Any, journal: Journal, *ops: PlannedOp) -> PushReport:
    journal.plan("r", [{"op_id": o.op_id, "source_row": o.source_row, "op": o.op} for o in ops])
    report: PushReport = run(push(client, journal, "r", list(ops), concurrency=2))
    return report


def _create_op(fields: dict[str, Any], then: dict[str, Any] | None = None) -> PlannedOp:
    keys = {k: fields[k] for k in ("email", "phone") if k in fields}
    return PlannedOp("op1", 2, "create", fields, keys=keys, then_update=then or {})


def _sent(script: Script) -> list[str]:
    return [f"{r.method} {r.url.path.removeprefix('/base')}" for r in script.requests]


def test_octanist_create_without_id_is_found_by_lookup_and_its_follow_up_sent(
    journal: Journal,
) -> None:
    def vendor(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return ok({"success": True, "data": {"message": "Lead added"}})
        if request.method == "GET":
            found = [{"id": "lead_7", "email": "a@x.io", "name": "Ann Lee"}]
            return ok({"success": True, "data": found, "meta": {"pagination": {"hasMore": False}}})
        return ok({"success": True, "data": {"leadId": "lead_7", "leadsUpdated": 1}})

    client, script = _client("octanist", vendor)
    report = _push(client, journal, _create_op({"email": "a@x.io"}, {"status": "won"}))
    result = report.results["op1"]
    assert result.state == "succeeded" and result.target_id == "lead_7"
    assert _sent(script) == ["POST /leads", "GET /leads", "PATCH /leads"]
    assert script.bodies()[2] == {"id": "lead_7", "status": "won"}  # the follow-up went out
    row = journal.ops("r").row(0, named=True)
    assert (row["state"], row["target_id"]) == ("succeeded", "lead_7")


def test_octanist_create_without_id_not_found_stays_ambiguous_and_is_not_resent(
    journal: Journal,
) -> None:
    def vendor(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return ok({"success": True, "data": None})
        return ok({"success": True, "data": [], "meta": {"pagination": {"hasMore": False}}})

    client, script = _client("octanist", vendor)
    op = _create_op({"email": "a@x.io", "phone": "+12125550100"}, {"status": "won"})
    result = _push(client, journal, op).results["op1"]
    assert result.state == "ambiguous" and result.target_id is None
    assert result.error_code == "no_id_in_answer" and result.http_status == 200
    assert result.error_message == (
        "POST /leads answered 200 with `data` null instead of an object; no lead with its "
        "email or phone was found, so it was not sent again"
    )
    assert _sent(script) == ["POST /leads", "GET /leads", "GET /leads"]  # no 2nd POST, no PATCH
    assert journal.ops("r").row(0, named=True)["state"] == "ambiguous"


def test_a_create_without_id_and_without_keys_says_it_cannot_be_looked_up(
    journal: Journal,
) -> None:
    client, script = _client("octanist", ok({"success": True, "data": {}}))
    result = _push(client, journal, _create_op({"first_name": "Ann"})).results["op1"]
    assert result.state == "ambiguous"
    assert "the row has no email or phone to look its lead up by" in (result.error_message or "")
    assert _sent(script) == ["POST /leads"]


def test_omni_create_without_id_is_found_by_scan_and_its_status_follows(journal: Journal) -> None:
    def vendor(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/base")
        if request.method == "POST":
            return ok({"success": True, "checklistItems": []})
        if path == "/api/v0/analytics":
            return _omni_page(["o9"], None)
        lead = {"id": "o9", "firstName": "Ann", "email": "o9@x.io"}
        return ok({"success": True, "lead": lead, "status": "COMPLETED"})

    client, script = _client("omni", vendor)
    op = _create_op({"first_name": "Ann", "email": "o9@x.io"}, {"status": "completed"})
    result = _push(client, journal, op).results["op1"]
    assert result.state == "succeeded" and result.target_id == "o9"
    assert _sent(script) == [
        "POST /api/v1/leads",
        "GET /api/v0/analytics",
        "GET /api/v1/leads/o9",
        "PUT /api/v1/leads",
    ]
    assert script.bodies()[3] == {"leadId": "o9", "status": "COMPLETED"}


def test_apten_create_answered_like_its_docs_example_is_found_in_the_list(
    journal: Journal,
) -> None:
    def vendor(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return ok({"message": "Lead created successfully."})
        lead = {"id": "room_4", "phone": "+12125550100", "firstName": "Ann"}
        return ok({"leads": [lead], "nextToken": None})

    client, script = _client("apten", vendor)
    result = _push(client, journal, _create_op(APTEN_LEAD)).results["op1"]
    assert result.state == "succeeded" and result.target_id == "room_4"
    assert _sent(script) == ["POST /leads/create", "GET /leads"]


def test_an_update_answered_in_the_wrong_shape_fails_its_row_and_the_run_goes_on(
    journal: Journal,
) -> None:
    def vendor(request: httpx.Request) -> httpx.Response:
        if b'"id":"bad"' in request.content.replace(b" ", b""):
            return ok({"success": True, "data": None})
        return ok({"success": True, "data": {"leadId": "good", "leadsUpdated": 1}})

    client, _ = _client("octanist", vendor)
    report = _push(
        client,
        journal,
        PlannedOp("u1", 2, "update", {"status": "won"}, ref="bad"),
        PlannedOp("u2", 3, "update", {"status": "won"}, ref="good"),
    )
    assert report.stopped is None
    bad, good = report.results["u1"], report.results["u2"]
    assert (bad.state, bad.error_code) == ("failed", "unexpected_answer")
    assert bad.error_message == "PATCH /leads answered 200 with `data` null instead of an object"
    assert (good.state, good.target_id) == ("succeeded", "good")


def test_a_lookup_whose_listing_does_not_end_stops_the_run(journal: Journal) -> None:
    def vendor(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return ok({"message": "Lead created successfully."})
        return _apten_page(["room_1"], "again")

    client, script = _client("apten", vendor)
    report = _push(client, journal, _create_op(APTEN_LEAD))
    assert report.stopped == (
        "the run stopped: GET /leads answered the same nextToken twice (page 2); "
        "the listing was stopped"
    )
    result = report.results["op1"]
    assert result.state == "ambiguous" and "could not check whether the lead was created" in (
        result.error_message or ""
    )
    assert _sent(script) == ["POST /leads/create", "GET /leads", "GET /leads"]


class _NoIdTarget:
    """A client that answers a create 2xx without an id (whatever its own checks missed)."""

    vendor = "fake"
    finds_by_scan = False

    def __init__(self, found: bool) -> None:
        self.found, self.calls = found, list[str]()

    async def create(self, fields: Any) -> Any:
        from connectors import WriteResult

        self.calls.append("create")
        return WriteResult(None, 201, "req-1", 1)

    async def update(self, ref: str, fields: Any) -> Any:
        from connectors import WriteResult

        self.calls.append(f"update {ref}")
        return WriteResult(ref, 200, "req-2", 1)

    async def find(self, keys: Any, *, since: str) -> Any:
        from connectors import RemoteLead

        self.calls.append("find")
        return RemoteLead("L1", dict(keys)) if self.found else None


@pytest.mark.parametrize("found", [True, False])
def test_the_push_never_records_a_create_without_its_lead_id(journal: Journal, found: bool) -> None:
    target = _NoIdTarget(found)
    report = _push(target, journal, _create_op({"email": "a@x.io"}, {"status": "won"}))
    result = report.results["op1"]
    if found:
        assert (result.state, result.target_id) == ("succeeded", "L1")
        assert target.calls == ["create", "find", "update L1"]
    else:
        assert (result.state, result.target_id) == ("ambiguous", None)
        assert result.error_message == (
            "the create answered 201 without the new lead's id; no lead with its email was "
            "found, so it was not sent again"
        )
        assert target.calls == ["create", "find"]


def test_an_octanist_update_that_updated_no_lead_is_not_a_success() -> None:
    client, script = _client(
        "octanist", ok({"success": True, "data": {"leadId": "o1", "leadsUpdated": 0}})
    )
    with pytest.raises(LeadNotFound) as info:
        run(client.update("o1", UPDATE_FIELDS["octanist"]))
    assert "updated no lead (leadsUpdated: 0)" in str(info.value)
    assert info.value.status == 200 and len(script.requests) == 1
