"""`diagnose`: auth, listing and update-route checks per vendor, against scripted vendors.

Each fake answers only the routes it is given; anything else gets what the vendor answers an
unknown route (Apten's API Gateway: 403 "Missing Authentication Token").
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from connectors import Diagnosis, RetryPolicy, TargetProfile, diagnose, open_client
from tests.connectors.fakes import FakeClock, ok

KEY = "very-secret-key-123"
NOW = datetime(2026, 11, 22, 7, 15, tzinfo=UTC)
STAMP = "2026-11-22T07:15:00Z"
BASE = "https://vendor.test/base"
Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADPIPE_TEST_KEY", KEY)


class FakeVendor:
    """Answers `routes` ("METHOD /path" -> response); records (method, path, params, body)."""

    def __init__(self, unknown: httpx.Response, routes: dict[str, httpx.Response]) -> None:
        self.unknown, self.routes = unknown, routes
        self.seen: list[tuple[str, str, dict[str, str], Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/base")
        body = json.loads(request.content) if request.content else None
        self.seen.append((request.method, path, dict(request.url.params), body))
        return self.routes.get(f"{request.method} {path}", self.unknown)


def _octanist(routes: dict[str, httpx.Response] | None = None) -> FakeVendor:
    missing = {"success": False, "error": {"code": "NOT_FOUND", "message": "Lead not found"}}
    return FakeVendor(
        ok(missing, 404),
        {
            "POST /check": ok({"success": True}),
            "GET /leads": ok({"success": True, "data": [{"id": "lead_1"}], "meta": {}}),
            "PATCH /leads": ok(missing, 404),
            **(routes or {}),
        },
    )


def _apten(*working: str, **routes: httpx.Response) -> FakeVendor:
    """Apten behind API Gateway; `working` are the update routes it knows."""
    known = {
        f"{r.split()[0]} {r.split()[1].format(id='leadpipe-doctor-0')}": ok(
            {"message": "Lead not found"}, 404
        )
        for r in working
    }
    return FakeVendor(
        ok({"message": "Missing Authentication Token"}, 403),
        {"GET /leads": ok({"leads": [], "nextToken": None}), **known, **routes},
    )


def _omni(**routes: httpx.Response) -> FakeVendor:
    return FakeVendor(
        ok({"success": False, "error": "Not found"}, 404),
        {
            "GET /api/v0/analytics": ok({"nextToken": None, "breakdown": [{"leadId": "a"}] * 2}),
            "PUT /api/v1/leads": ok({"success": False, "error": "Lead not found"}, 404),
            **routes,
        },
    )


def _diagnose(vendor: str, handler: Handler, **settings: Any) -> Diagnosis:
    profile = TargetProfile(
        name="prod", vendor=vendor, base_url=BASE, api_key_env="LEADPIPE_TEST_KEY", **settings
    )

    async def go() -> Diagnosis:
        async with open_client(
            profile,
            transport=httpx.MockTransport(handler),
            clock=FakeClock(),
            rng=random.Random(1),
            retry=RetryPolicy(max_attempts=2),
        ) as client:
            return await diagnose(client, profile, now=NOW)

    return asyncio.run(go())


def _lines(diagnosis: Diagnosis) -> list[str]:
    return [check.line() for check in diagnosis.checks]


def test_octanist_all_pass_without_changing_a_lead() -> None:
    fake = _octanist()
    diagnosis = _diagnose("octanist", fake)
    assert diagnosis.ok
    assert _lines(diagnosis) == [
        "✓ auth: POST /check answered 200; the key is accepted",
        "✓ listing: GET /leads answered 200 (1 lead on page 1)",
        "✓ update route: PATCH /leads answered 404 for a lead that cannot exist; "
        "the route is there",
    ]
    assert fake.seen == [
        ("POST", "/check", {}, None),
        ("GET", "/leads", {"limit": "1", "page": "1", "sort": "updatedAt:asc"}, None),
        ("PATCH", "/leads", {}, {"id": "leadpipe-doctor-0"}),
    ]


def test_octanist_bad_key_fails_auth_and_skips_the_rest() -> None:
    unauthorized = {"success": False, "error": {"code": "UNAUTHORIZED", "message": "Invalid key"}}
    fake = _octanist({"POST /check": ok(unauthorized, 401)})
    diagnosis = _diagnose("octanist", fake)
    assert not diagnosis.ok
    assert _lines(diagnosis) == [
        "✗ auth: POST /check answered 401 Invalid key → "
        "Set LEADPIPE_TEST_KEY to a valid key for target prod.",
        "- listing: not checked: auth failed",
        "- update route: not checked: auth failed",
    ]
    assert len(fake.seen) == 1


def test_octanist_forbidden_update_is_reported_with_its_words() -> None:
    refused = {"success": False, "error": {"code": "FORBIDDEN", "message": "Read-only key"}}
    diagnosis = _diagnose("octanist", _octanist({"PATCH /leads": ok(refused, 403)}))
    assert _lines(diagnosis)[2] == (
        "✗ update route: PATCH /leads answered 403 Read-only key → "
        "updates would fail the same way: see the vendor's answer"
    )


def test_apten_all_pass_on_the_configured_route() -> None:
    fake = _apten("PATCH /leads/{id}")
    diagnosis = _diagnose("apten", fake)
    assert diagnosis.ok and diagnosis.update_route == "PATCH /leads/{id}"
    assert _lines(diagnosis) == [
        "✓ auth: GET /leads answered 200; the key is accepted",
        "✓ listing: GET /leads answered 200 (0 leads on page 1)",
        "✓ update route: PATCH /leads/{id} answered 404 for a lead that cannot exist; "
        "the route is there",
    ]
    assert fake.seen == [
        ("GET", "/leads", {"limit": "1", "updatedSince": STAMP}, None),
        ("GET", "/leads", {"limit": "1", "updatedSince": "1970-01-01T00:00:00Z"}, None),
        ("PATCH", "/leads/leadpipe-doctor-0", {}, {}),
    ]


def test_apten_wrong_route_names_the_one_that_works_and_the_config_line() -> None:
    fake = _apten("PUT /leads/{id}")
    diagnosis = _diagnose("apten", fake)
    assert not diagnosis.ok and diagnosis.update_route == "PUT /leads/{id}"
    assert _lines(diagnosis)[2] == (
        "✗ update route: PATCH /leads/{id} answered 403 Missing Authentication Token; "
        "PUT /leads/{id} answered 404 for a lead that cannot exist: that is the route → "
        'put apten_update_route = "PUT /leads/{id}" in [targets.prod]'
    )
    assert [(m, p, b) for m, p, _, b in fake.seen[2:]] == [
        ("PATCH", "/leads/leadpipe-doctor-0", {}),
        ("PUT", "/leads/leadpipe-doctor-0", {}),
    ]


def test_apten_configured_put_tries_the_others_in_order() -> None:
    fake = _apten("POST /leads/{id}/update")
    diagnosis = _diagnose("apten", fake, apten_update_route="PUT /leads/{id}")
    assert diagnosis.update_route == "POST /leads/{id}/update"
    assert [(m, p) for m, p, _, _ in fake.seen[2:]] == [
        ("PUT", "/leads/leadpipe-doctor-0"),
        ("PATCH", "/leads/leadpipe-doctor-0"),
        ("POST", "/leads/leadpipe-doctor-0/update"),
    ]
    assert diagnosis.checks[2].fix == (
        'put apten_update_route = "POST /leads/{id}/update" in [targets.prod]'
    )


def test_apten_no_route_answers() -> None:
    diagnosis = _diagnose("apten", _apten())
    assert diagnosis.update_route is None
    assert _lines(diagnosis)[2] == (
        "✗ update route: PATCH /leads/{id} answered 403 Missing Authentication Token; "
        "no other candidate answered either (PUT /leads/{id}, POST /leads/{id}/update) → "
        'ask Apten for the method and path of "Update lead"'
    )


def test_apten_bad_key_fails_auth_and_never_probes_routes() -> None:
    fake = _apten("PATCH /leads/{id}", **{"GET /leads": ok({"message": "Forbidden"}, 403)})
    diagnosis = _diagnose("apten", fake)
    assert _lines(diagnosis) == [
        "✗ auth: GET /leads answered 403 Forbidden → "
        "Set LEADPIPE_TEST_KEY to a valid key for target prod. "
        "(API Gateway answers 403 for a path it does not know too: check base_url)",
        "- listing: not checked: auth failed",
        "- update route: not checked: auth failed",
    ]
    assert len(fake.seen) == 1


def test_omni_all_pass() -> None:
    fake = _omni()
    diagnosis = _diagnose("omni", fake)
    assert diagnosis.ok and diagnosis.update_route is None
    assert _lines(diagnosis) == [
        "✓ auth: GET /api/v0/analytics answered 200; the key is accepted",
        "✓ listing: GET /api/v0/analytics answered 200 (2 leads on page 1)",
        "✓ update route: PUT /api/v1/leads answered 404 for a lead that cannot exist; "
        "the route is there",
    ]
    assert fake.seen == [
        ("GET", "/api/v0/analytics", {"format": "json", "start": STAMP}, None),
        ("GET", "/api/v0/analytics", {"format": "json"}, None),
        ("PUT", "/api/v1/leads", {}, {"leadId": "leadpipe-doctor-0"}),
    ]


def test_omni_bad_key() -> None:
    fake = _omni(**{"GET /api/v0/analytics": ok({"success": False, "error": "Unauthorized"}, 401)})
    assert _lines(_diagnose("omni", fake))[0] == (
        "✗ auth: GET /api/v0/analytics answered 401 Unauthorized → "
        "Set LEADPIPE_TEST_KEY to a valid key for target prod."
    )


def test_a_listing_without_its_list_is_the_wrong_base_url() -> None:
    fake = _octanist({"GET /leads": ok({"hello": "world"})})
    assert _lines(_diagnose("octanist", fake))[1] == (
        "✗ listing: GET /leads answered 200 without a `data` list → "
        "check base_url: is it the vendor's API?"
    )


def test_an_unreachable_target_fails_auth_with_what_to_check() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    diagnosis = _diagnose("octanist", refuse)
    assert _lines(diagnosis)[0] == (
        "✗ auth: POST /check: could not connect (ConnectError) → "
        "check base_url and that this machine can reach it"
    )


def test_json_has_every_check_and_never_the_key() -> None:
    diagnosis = _diagnose("apten", _apten("PUT /leads/{id}"))
    shown = diagnosis.as_json()
    assert shown["ok"] is False and shown["update_route"] == "PUT /leads/{id}"
    assert [(c["name"], c["status"]) for c in shown["checks"]] == [
        ("auth", "ok"),
        ("listing", "ok"),
        ("update route", "failed"),
    ]
    assert KEY not in json.dumps(shown)
