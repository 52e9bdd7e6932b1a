"""403 is not always a bad key: which statuses stop the run is the vendor's (AUTH_STATUSES).

Octanist: 401 UNAUTHORIZED is the key (fatal); 403 FORBIDDEN is one refused lead (its row
fails, the others go on). Apten: 403 is the key, or on an update a route API Gateway does not
know. Omni: 401 and 403 are the key.
"""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from connectors import Journal, PlannedOp, RetryPolicy, TargetProfile, open_client, push, sqlite_url
from connectors.exceptions import (
    FatalVendorError,
    Forbidden,
    KeyRejected,
    PermanentVendorError,
)
from tests.connectors.fakes import Script, client_for, ok

KEY = "very-secret-key-123"
FILTERED = "Lead rejected by the organisation's filtering rules"


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADPIPE_TEST_KEY", KEY)


def _octanist_error(status: int, code: str, message: str) -> httpx.Response:
    body = {"success": False, "error": {"code": code, "message": message, "details": {}}}
    return ok(body, status, **{"x-request-id": f"req_{status}"})


def test_an_octanist_403_forbidden_is_a_permanent_failure_with_the_vendors_words() -> None:
    script = Script(_octanist_error(403, "FORBIDDEN", FILTERED))
    client = client_for("octanist", script)
    with pytest.raises(Forbidden) as info:
        asyncio.run(client.create({"email": "spam@x.io"}))
    error = info.value
    assert isinstance(error, PermanentVendorError) and not isinstance(error, FatalVendorError)
    assert (error.status, error.code, error.vendor_message, error.request_id) == (
        403,
        "FORBIDDEN",
        FILTERED,
        "req_403",
    )
    assert str(error) == f"octanist: refused (403 FORBIDDEN): {FILTERED}"
    assert len(script.requests) == 1  # not retried


def test_a_403_without_a_vendor_code_is_still_named_forbidden() -> None:
    script = Script(httpx.Response(403, text=""))
    with pytest.raises(Forbidden) as info:
        asyncio.run(client_for("octanist", script).get("lead_1"))
    assert (info.value.code, info.value.vendor_message) == ("FORBIDDEN", "HTTP 403 Forbidden")


def test_an_octanist_401_still_stops_the_run() -> None:
    script = Script(_octanist_error(401, "UNAUTHORIZED", "Invalid or missing API key"))
    with pytest.raises(KeyRejected) as info:
        asyncio.run(client_for("octanist", script).create({"email": "a@x.io"}))
    assert info.value.exit_code == 3
    assert (info.value.status, info.value.reply) == (401, "Invalid or missing API key")
    assert str(info.value) == (
        "octanist: the API key was rejected (401 Invalid or missing API key). "
        "Set LEADPIPE_TEST_KEY to a valid key for target test:octanist."
    )


@pytest.mark.parametrize(("vendor", "status"), [("omni", 401), ("omni", 403), ("apten", 401)])
def test_omni_and_apten_auth_statuses_stop_the_run(vendor: str, status: int) -> None:
    script = Script(ok({"message": "Forbidden"}, status))
    with pytest.raises(KeyRejected) as info:
        asyncio.run(client_for(vendor, script).get("lead_1"))
    assert str(info.value).startswith(f"{vendor}: the API key was rejected ({status} Forbidden).")


APTEN_ROUTE_MESSAGE = (
    "apten: key rejected or update route not found: see apten_update_route "
    "(leadpipe doctor --target test:apten checks it); {route} answered 403 {reply}. "
    "Set LEADPIPE_TEST_KEY to a valid key for target test:apten."
)


@pytest.mark.parametrize("route", ["PATCH /leads/{id}", "POST /leads/{id}/update"])
@pytest.mark.parametrize("reply", ["Missing Authentication Token", "Forbidden"])
def test_an_apten_403_on_update_names_the_route_setting_and_the_doctor(
    route: str, reply: str
) -> None:
    script = Script(ok({"message": reply}, 403))
    client = client_for("apten", script, apten_update_route=route)
    with pytest.raises(KeyRejected) as info:
        asyncio.run(client.update("room_1", {"email": "a@x.io"}))
    assert str(info.value) == APTEN_ROUTE_MESSAGE.format(route=route, reply=reply)
    assert (info.value.exit_code, info.value.status, info.value.reply) == (3, 403, reply)
    assert len(script.requests) == 1
    assert KEY not in str(info.value)


@pytest.mark.parametrize("call", ["get", "create"])
def test_an_apten_403_on_a_read_or_create_keeps_the_key_message(call: str) -> None:
    script = Script(ok({"message": "Forbidden"}, 403))
    client = client_for("apten", script)
    action = (
        client.get("room_1")
        if call == "get"
        else client.create(
            {"first_name": "A", "last_name": "B", "phone": "+12125550101", "customer_profile": "D"}
        )
    )
    with pytest.raises(KeyRejected) as info:
        asyncio.run(action)
    assert str(info.value) == (
        "apten: the API key was rejected (403 Forbidden). "
        "Set LEADPIPE_TEST_KEY to a valid key for target test:apten."
    )


def test_an_apten_401_on_update_is_about_the_key_only() -> None:
    script = Script(ok({"message": "Unauthorized"}, 401))
    with pytest.raises(KeyRejected) as info:
        asyncio.run(client_for("apten", script).update("room_1", {"email": "a@x.io"}))
    assert str(info.value).startswith("apten: the API key was rejected (401 Unauthorized).")


class FilteringOctanist:
    """Octanist with filtering rules: creates of `refused` emails answer 403 FORBIDDEN; after
    `revoke_after` creates the key is revoked (401)."""

    def __init__(self, refused: set[str], revoke_after: int | None = None) -> None:
        self.refused, self.revoke_after = refused, revoke_after
        self.created: list[str] = []
        self.requests = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.revoke_after is not None and self.requests > self.revoke_after:
            return _octanist_error(401, "UNAUTHORIZED", "Invalid or missing API key")
        email = json.loads(request.content)["email"]
        if email in self.refused:
            return _octanist_error(403, "FORBIDDEN", FILTERED)
        self.created.append(email)
        return ok({"success": True, "data": {"id": f"lead_{len(self.created)}"}})


def _push(tmp_path: Path, fake: FilteringOctanist, rows: int, concurrency: int = 8) -> Any:
    journal = Journal(sqlite_url(tmp_path / "journal.db"))
    journal.start_run("r", profile="test:octanist", source="leads.csv", mode="upsert")
    ops = [
        PlannedOp(f"op{row}", row, "create", {"email": f"l{row}@x.io"}, keys={"email": "x"})
        for row in range(2, rows + 2)
    ]
    journal.plan("r", [{"op_id": o.op_id, "source_row": o.source_row, "op": o.op} for o in ops])
    profile = TargetProfile(
        name="test:octanist",
        vendor="octanist",
        base_url="https://vendor.test/api",
        api_key_env="LEADPIPE_TEST_KEY",
        rate_limit_per_s=1000.0,
    )

    async def go() -> Any:
        async with open_client(
            profile,
            transport=httpx.MockTransport(fake),
            rng=random.Random(1),
            retry=RetryPolicy(max_attempts=2),
        ) as client:
            return await push(client, journal, "r", ops, concurrency=concurrency)

    try:
        return asyncio.run(go()), journal.ops("r")
    finally:
        journal.close()


def test_a_filtered_create_fails_alone_and_the_other_rows_are_created(tmp_path: Path) -> None:
    """The report that started this: 61 rows, row 17's lead refused by the filtering rules.
    Before: 15 created, 1 failed ("the API key was rejected"), 45 skipped, exit 3."""
    fake = FilteringOctanist(refused={"l17@x.io"})
    report, journaled = _push(tmp_path, fake, rows=61)
    assert report.stopped is None
    assert fake.requests == 61 and len(fake.created) == 60
    states = [r.state for r in report.results.values()]
    assert (states.count("succeeded"), states.count("failed")) == (60, 1)
    refused = report.results["op17"]
    assert (
        refused.state,
        refused.http_status,
        refused.error_code,
        refused.error_message,
        refused.attempts,
        refused.request_id,
    ) == ("failed", 403, "FORBIDDEN", FILTERED, 1, "req_403")
    row = journaled.filter(journaled["op_id"] == "op17").row(0, named=True)
    assert (row["state"], row["error_code"], row["error_message"]) == (
        "failed",
        "FORBIDDEN",
        FILTERED,
    )


def test_a_revoked_key_still_stops_the_push(tmp_path: Path) -> None:
    fake = FilteringOctanist(refused={"l3@x.io"}, revoke_after=5)
    report, _ = _push(tmp_path, fake, rows=10, concurrency=1)
    assert report.stopped == (
        "the run stopped: the API key was rejected (401 Invalid or missing API key). "
        "Set LEADPIPE_TEST_KEY to a valid key for target test:octanist."
    )
    codes = [(r.state, r.error_code) for r in report.results.values()]
    assert codes == [
        ("succeeded", None),
        ("failed", "FORBIDDEN"),  # row 3: refused, the push went on
        ("succeeded", None),
        ("succeeded", None),
        ("succeeded", None),
        ("failed", "UNAUTHORIZED"),  # the sixth request: the key was revoked
        *[("failed", "skipped")] * 4,
    ]


def test_a_refused_read_stops_the_import_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 403 FORBIDDEN to the snapshot's listing is no row's failure: the import cannot read the
    target, so it stops (exit 3) with the vendor's words on one line, not a traceback."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from flows.cli import app
    from tests.conftest import running

    async def leads(_: Any) -> JSONResponse:
        error = {"code": "FORBIDDEN", "message": "This key may not list leads", "details": {}}
        return JSONResponse({"success": False, "error": error}, status_code=403)

    octanist = Starlette(routes=[Route("/api/leads", leads, methods=["GET"])])
    source = tmp_path / "leads.csv"
    source.write_text("Email,Name\nann@x.io,Ann\n")
    with running(octanist) as url:
        config = tmp_path / "leadpipe.toml"
        config.write_text(
            f'[targets.prod]\nvendor = "octanist"\nbase_url = "{url}/api"\n'
            'api_key_env = "LEADPIPE_TEST_KEY"\n'
        )
        result = CliRunner().invoke(
            app,
            ["import", str(source), "--target", "prod", "--config", str(config)]
            + ["--engine", "local", "--out", str(tmp_path / "run"), "--json"],
        )
    assert result.exit_code == 3, result.output
    assert result.stderr.strip() == (
        "leadpipe: error: octanist: refused (403 FORBIDDEN): This key may not list leads"
    )
    assert result.stdout == "" and KEY not in result.output


def test_an_import_into_the_sandbox_with_filtering_rules_fails_only_the_refused_row(
    sandbox_url: str, tmp_path: Path
) -> None:
    """Octanist's filtering rules (the sandbox's admin setting) refuse one lead: that row is
    `failed` with Octanist's words, the others are created, and the run exits 0."""
    import polars as pl

    from flows.cli import app

    rules = {"octanist": {"filter_rules": [{"email_domain": "spam.io"}]}}
    httpx.put(f"{sandbox_url}/_sandbox/settings", json=rules).raise_for_status()
    emails = ["ann@x.io", "bob@x.io", "cy@spam.io", "di@x.io", "ed@x.io"]
    source = tmp_path / "leads.csv"
    source.write_text("Email,Name\n" + "".join(f"{e},{e[:2]}\n" for e in emails))
    result = CliRunner().invoke(
        app,
        ["import", str(source), "--target", "sandbox:octanist", "--engine", "local"]
        + ["--out", str(tmp_path / "run"), "--json"],
    )
    assert result.exit_code == 0, result.output
    counts = {k: n for k, n in json.loads(result.stdout)["counts"].items() if n}
    assert counts == {"created": 4, "failed": 1}
    rows = pl.read_parquet(tmp_path / "run" / "rows.parquet")
    refused = rows.filter(pl.col("outcome") == "failed").row(0, named=True)
    assert (refused["source_row"], refused["reason_code"], refused["http_status"]) == (
        4,
        "FORBIDDEN",
        403,
    )
    assert refused["reason"] == FILTERED
