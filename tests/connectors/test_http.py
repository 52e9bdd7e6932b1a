"""The shared HTTP layer: errors that say what to do, retries, Retry-After, throttling, secrets."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, TypeVar

import httpx
import pytest

from connectors import AdaptiveRateLimiter, parse_retry_after
from connectors.exceptions import (
    AmbiguousWriteError,
    FatalVendorError,
    LeadConflict,
    LeadNotFound,
    PayloadRejected,
    PermanentVendorError,
    RateLimited,
    TransientVendorError,
)
from tests.connectors.fakes import FakeClock, Script, client_for, ok

KEY = "very-secret-key-123"


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADPIPE_TEST_KEY", KEY)


T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def test_auth_header_user_agent_and_base_url() -> None:
    script = Script(ok({"success": True, "data": {"id": "lead_1", "name": "A"}}))
    client = client_for("octanist", script)
    lead = run(client.get("lead_1"))
    request = script.requests[0]
    assert lead.id == "lead_1"
    assert request.headers["X-API-KEY"] == KEY
    assert request.headers["user-agent"].startswith("leadpipe/")
    assert str(request.url) == "https://vendor.test/base/leads/lead_1"


@pytest.mark.parametrize(
    ("status", "body", "kind", "code"),
    [
        (
            400,
            {"success": False, "error": {"code": "VALIDATION_ERROR", "message": "bad"}},
            PermanentVendorError,
            "VALIDATION_ERROR",
        ),
        (
            404,
            {"success": False, "error": {"code": "NOT_FOUND", "message": "no lead"}},
            LeadNotFound,
            "NOT_FOUND",
        ),
        (
            409,
            {"success": False, "error": {"code": "CONFLICT", "message": "2 leads"}},
            LeadConflict,
            "CONFLICT",
        ),
        (
            401,
            {"success": False, "error": {"code": "UNAUTHORIZED", "message": "bad key"}},
            FatalVendorError,
            "UNAUTHORIZED",
        ),
    ],
)
def test_errors_are_typed_with_vendor_code_message_and_request_id(status, body, kind, code) -> None:  # type: ignore[no-untyped-def]
    script = Script(ok(body, status, **{"x-request-id": "req_42"}))
    with pytest.raises(kind) as info:
        run(client_for("octanist", script).get("lead_1"))
    assert (info.value.status, info.value.code, info.value.request_id) == (status, code, "req_42")
    assert len(script.requests) == 1  # permanent and fatal errors are not retried
    assert KEY not in str(info.value) and KEY not in repr(info.value)


def test_bad_key_stops_after_one_request_with_exit_3() -> None:
    script = Script(ok({"message": "Forbidden"}, 403))
    with pytest.raises(FatalVendorError) as info:
        run(client_for("apten", script).get("room_1"))
    assert len(script.requests) == 1
    assert info.value.exit_code == 3
    assert str(info.value).endswith(
        "the API key was rejected (403 Forbidden). "
        "Set LEADPIPE_TEST_KEY to a valid key for target test:apten."
    )


def test_5xx_is_retried_with_full_jitter_backoff_then_succeeds() -> None:
    clock = FakeClock()
    script = Script(ok({}, 502), ok({}, 500), ok({"id": "room_9", "firstName": "A"}))
    lead = run(client_for("apten", script, clock).get("room_9"))
    assert lead.id == "room_9"
    assert len(script.requests) == 3
    assert len(clock.sleeps) == 2
    assert 0 <= clock.sleeps[0] <= 0.5 and 0 <= clock.sleeps[1] <= 1.0  # ceilings 0.5, 1.0


def test_retries_are_bounded() -> None:
    clock = FakeClock()
    script = Script(ok({}, 503))
    with pytest.raises(TransientVendorError) as info:
        run(client_for("apten", script, clock).get("room_9"))
    assert len(script.requests) == 5
    assert info.value.attempts == 5


@pytest.mark.parametrize("header", ["7", "HTTP-DATE"])
def test_retry_after_is_honoured_in_seconds_or_http_date(header: str) -> None:
    clock = FakeClock()
    value = (
        format_datetime(datetime.now(UTC) + timedelta(seconds=7), usegmt=True)
        if header == "HTTP-DATE"
        else header
    )
    script = Script(
        ok({"message": "slow down"}, 429, **{"retry-after": value}), ok({"id": "room_1"})
    )
    client = client_for("apten", script, clock)
    run(client.get("room_1"))
    assert 5.5 <= clock.sleeps[0] <= 7.0
    assert client.http.stats.throttled == 1 and client.http.stats.retried == 1
    assert client.http.limiter.rate < client.http.limiter.configured


def test_parse_retry_after() -> None:
    now = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("Sun, 22 Nov 2026 07:00:30 GMT", now) == 30.0
    assert parse_retry_after("Sun, 22 Nov 2026 06:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_limiter_slows_on_429_and_recovers_on_success() -> None:
    clock = FakeClock()
    limiter = AdaptiveRateLimiter(10.0, burst=1, clock=clock)
    limiter.throttled(2.0)
    limiter.throttled(None)
    assert limiter.rate == 2.5
    for _ in range(40):
        limiter.succeeded()
    assert limiter.rate == 10.0

    async def take(n: int) -> None:
        for _ in range(n):
            await limiter.acquire()

    start = clock.now()
    asyncio.run(take(11))
    assert clock.now() - start == pytest.approx(3.0, abs=0.05)  # 2 s pause, then 10 tokens at 10/s


def test_create_is_not_resent_after_an_ambiguous_timeout() -> None:
    script = Script(
        httpx.ReadTimeout("read timed out"), ok({"success": True, "data": {"id": "lead_2"}})
    )
    with pytest.raises(AmbiguousWriteError) as info:
        run(client_for("octanist", script).create({"email": "a@x.io"}))
    assert len(script.requests) == 1
    assert "may have been applied" in str(info.value)


@pytest.mark.parametrize("status", [502, 504])
def test_a_gateway_error_on_a_create_is_ambiguous_and_not_resent(status: int) -> None:
    script = Script(ok({"message": "Bad Gateway"}, status), ok({"success": True, "data": {}}))
    with pytest.raises(AmbiguousWriteError) as info:
        run(client_for("octanist", script).create({"email": "a@x.io"}))
    assert len(script.requests) == 1
    assert info.value.status == status and "may have been applied" in str(info.value)


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_on_a_create_is_retried(status: int) -> None:
    script = Script(ok({}, status), ok({"success": True, "data": {"id": "lead_5"}}))
    result = run(client_for("octanist", script, FakeClock()).create({"email": "a@x.io"}))
    assert result.id == "lead_5" and len(script.requests) == 2


def test_idempotent_update_is_retried_after_a_dropped_connection() -> None:
    script = Script(
        httpx.RemoteProtocolError("peer closed connection"),
        ok({"success": True, "data": {"leadId": "lead_2", "leadsUpdated": 1}}),
    )
    result = run(client_for("octanist", script).update("lead_2", {"status": "won"}))
    assert result.leads_updated == 1 and result.attempts == 2
    assert script.bodies() == [{"id": "lead_2", "status": "won"}] * 2


def test_connect_errors_are_safe_to_retry_even_for_creates() -> None:
    script = Script(
        httpx.ConnectError("refused"), ok({"message": "Lead created successfully.", "id": "room_3"})
    )
    fields = {
        "first_name": "A",
        "last_name": "B",
        "phone": "+12125550100",
        "customer_profile": "Default",
    }
    result = run(client_for("apten", script).create(fields))
    assert result.id == "room_3" and len(script.requests) == 2


def test_malformed_json_on_a_create_is_ambiguous() -> None:
    script = Script(httpx.Response(200, content=b'{"success": true, "data": {"id": "lea'))
    with pytest.raises(AmbiguousWriteError):
        run(client_for("octanist", script).create({"email": "a@x.io"}))


def test_payload_rejected_before_sending() -> None:
    script = Script(ok({}))
    with pytest.raises(PayloadRejected, match="cannot update first_name"):
        run(client_for("apten", script).update("room_1", {"first_name": "X"}))
    with pytest.raises(PayloadRejected, match="a new lead needs last_name, customer_profile"):
        run(client_for("apten", script).create({"first_name": "X", "phone": "+12125550100"}))
    with pytest.raises(PayloadRejected, match="status 'open' cannot be set"):
        run(client_for("octanist", script).update("lead_1", {"status": "open"}))
    assert script.requests == []


def test_key_never_in_logs_or_reprs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    script = Script(ok({"message": "nope"}, 500), ok({"id": "room_1"}))
    client = client_for("apten", script)
    run(client.get("room_1"))
    assert "apten GET /leads/room_1 -> 500" in caplog.text
    assert KEY not in caplog.text
    profile = client.profile  # type: ignore[attr-defined]  # every client keeps its profile
    assert KEY not in repr(client.http) and KEY not in repr(profile)
    from connectors import Secret, api_key_for

    secret = api_key_for(profile)
    assert isinstance(secret, Secret) and KEY not in f"{secret} {secret!r}"


def test_endless_429_ends_rate_limited_after_bounded_attempts() -> None:
    clock = FakeClock()
    script = Script(ok({"message": "quota"}, 429, **{"retry-after": "1"}))
    client = client_for("apten", script, clock)
    with pytest.raises(RateLimited) as info:
        run(client.get("room_1"))
    assert info.value.attempts == 5 and len(script.requests) == 5
    # four Retry-After waits, plus the limiter's own wait once it has slowed to 0.625/s
    assert clock.sleeps == [1.0, 1.0, 1.0, 1.0, pytest.approx(0.6)]
    assert client.http.stats.throttled == 5
    assert client.http.limiter.rate == 0.5  # halved five times, held at its 5 % floor


def test_retry_after_beyond_the_limit_gives_up_at_once() -> None:
    script = Script(ok({"message": "down for maintenance"}, 503, **{"retry-after": "3600"}))
    with pytest.raises(RateLimited):
        run(client_for("apten", script).get("room_1"))
    assert len(script.requests) == 1


def test_an_attempt_has_a_total_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that trickles an answer forever still ends the attempt (as a timeout)."""

    class Slow(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            await asyncio.sleep(5)
            return httpx.Response(200, json={})

    from connectors import TargetProfile, open_client

    profile = TargetProfile(
        name="t", vendor="octanist", base_url="https://x.test", api_key_env="LEADPIPE_TEST_KEY"
    )
    client = open_client(profile, transport=Slow(), clock=FakeClock())
    client.http.attempt_timeout = 0.05
    with pytest.raises(AmbiguousWriteError):
        run(client.create({"email": "a@x.io"}))


def test_profile_key_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    from connectors import TargetProfile, api_key_for
    from connectors._profile import ProfileError

    env = TargetProfile(
        name="t", vendor="apten", base_url="https://x.test", api_key_env="LEADPIPE_TEST_KEY"
    )
    assert api_key_for(env).reveal() == KEY
    monkeypatch.delenv("LEADPIPE_TEST_KEY")
    with pytest.raises(ProfileError, match="LEADPIPE_TEST_KEY is not set"):
        api_key_for(env)
    with pytest.raises(ProfileError, match="api_key_env"):
        api_key_for(TargetProfile(name="t", vendor="apten", base_url="https://x.test"))

    class FakeBlock:
        @staticmethod
        def load(name: str, _sync: bool = False) -> FakeBlock:
            if name != "prod-key":
                raise ValueError("no block")
            return FakeBlock()

        def get(self) -> str:
            return "from-block"

    import prefect.blocks.system

    monkeypatch.setattr(prefect.blocks.system, "Secret", FakeBlock)
    block = TargetProfile(
        name="t", vendor="apten", base_url="https://x.test", api_key_block="prod-key"
    )
    assert api_key_for(block).reveal() == "from-block"
    with pytest.raises(ProfileError, match="no Prefect Secret block named 'other'"):
        api_key_for(
            TargetProfile(
                name="t", vendor="apten", base_url="https://x.test", api_key_block="other"
            )
        )


def test_profiles_from_config_are_checked() -> None:
    from connectors import TargetProfile
    from connectors._profile import ProfileError

    profile = TargetProfile.from_config(
        "prod", {"vendor": "octanist", "api_key_env": "K", "rate_limit_per_s": 5}
    )
    assert (profile.base_url, profile.rate_limit_per_s) == ("https://octanist.com/api", 5)
    with pytest.raises(ProfileError, match="unknown setting"):
        TargetProfile.from_config("prod", {"vendor": "octanist", "api_key": "literal"})
    with pytest.raises(ProfileError, match="unknown vendor"):
        TargetProfile.from_config("prod", {"vendor": "hubspot"})


def _client_at(base_url: str, script: Script | None = None) -> Any:
    """An Octanist client for `base_url`: on the network, or answered by `script`."""
    import random

    from connectors import RetryPolicy, TargetProfile, open_client

    target = TargetProfile(
        name="prod", vendor="octanist", base_url=base_url, api_key_env="LEADPIPE_TEST_KEY"
    )
    return open_client(
        target,
        transport=httpx.MockTransport(script) if script is not None else None,
        clock=FakeClock(),  # the retries' waits pass at once
        rng=random.Random(1),
        retry=RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=2.0, total_timeout=60.0),
    )


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens once it is closed


def test_a_refused_connection_names_the_host_and_the_path() -> None:
    from connectors.exceptions import Unreachable

    port = _closed_port()
    client = _client_at(f"http://127.0.0.1:{port}/octanist/api")
    with pytest.raises(Unreachable) as info:
        run(client.http.send("GET", "/leads", params={"q": "query-secret"}, idempotent=True))
    shown = str(info.value)
    assert shown.startswith(
        f"octanist: GET http://127.0.0.1:{port}/octanist/api/leads: could not connect to "
        f"127.0.0.1:{port} (ConnectError: "
    ), shown
    assert shown.endswith("); check the target's base_url and that this machine can reach it"), (
        shown
    )
    assert "query-secret" not in shown and KEY not in shown
    assert info.value.attempts == 3 and info.value.status is None
    # a report row keeps the short form
    assert info.value.vendor_message == "GET /leads: could not connect (ConnectError)"
    assert isinstance(info.value, TransientVendorError)


def test_a_404_names_the_host_and_the_path_without_the_query() -> None:
    script = Script(httpx.Response(404, text="<html>Not Found</html>"))
    client = _client_at("https://crm.example.com/wrong/prefix", script)
    with pytest.raises(LeadNotFound) as info:
        run(client.http.send("GET", "/leads", params={"token": "query-secret"}, idempotent=True))
    assert str(info.value) == (
        "octanist: GET https://crm.example.com/wrong/prefix/leads answered 404 Not Found"
    )
    assert "token=query-secret" in str(script.requests[0].url)  # it was sent, not shown
    assert info.value.vendor_message == "HTTP 404 Not Found"  # a report row's reason


def test_a_404_with_the_vendors_words_keeps_them() -> None:
    body = {"success": False, "error": {"code": "NOT_FOUND", "message": "no lead lead_9"}}
    client = _client_at("https://vendor.test/base", Script(ok(body, 404)))
    with pytest.raises(LeadNotFound) as info:
        run(client.get("lead_9"))
    assert str(info.value) == (
        "octanist: GET https://vendor.test/base/leads/lead_9 answered 404: no lead lead_9"
    )


def test_an_address_that_quotes_the_key_is_masked() -> None:
    client = _client_at(f"https://vendor.test/{KEY}", Script(ok({"error": "x"}, 404)))
    with pytest.raises(LeadNotFound) as info:
        run(client.get("lead_1"))
    assert KEY not in str(info.value)
    assert str(info.value).startswith("octanist: GET https://vendor.test/****/leads/lead_1 ")
