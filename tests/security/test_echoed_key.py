"""A vendor that quotes the API key back (in its error messages, headers, even lead fields):
the key is masked at the HTTP boundary and in every log record, so it reaches no output,
report, journal, snapshot, exception or log line.

The end-to-end test runs `leadpipe import` and `leadpipe reconcile` against the sandbox behind
a relay that echoes the key it was sent into every answer (and answers 400/403/409/500 for
chosen rows); then every byte the runs wrote is searched for it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import polars as pl
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from typer.testing import CliRunner

from connectors import Secret, SecretFilter, redact
from connectors._redact import MASK, Redactor
from connectors.exceptions import (
    AmbiguousWriteError,
    FatalVendorError,
    Forbidden,
    KeyRejected,
    LeadConflict,
    LeadNotFound,
    PermanentVendorError,
    TransientVendorError,
    VendorError,
)
from flows.cli import app
from sandbox import create_app
from tests.conftest import SAMPLES, running
from tests.connectors.fakes import FakeClock, Script, client_for
from tests.security.test_no_leaks import (
    _everything_logged,
    _everything_written,
    _prefect_records,
)

CANARY = "ECHO-CANARY-41d8c2f0a7"
T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@pytest.fixture
def canary_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("LEADPIPE_TEST_KEY", CANARY)
    return CANARY


def _echo(status: int, vendor: str, key: str) -> httpx.Response:
    """An error answer in the vendor's shape that quotes `key` in its message, code and headers."""
    said = f"invalid request for key {key}"
    body: dict[str, Any] = {
        "octanist": {"success": False, "error": {"code": f"E_{key}", "message": said}},
        "omni": {"error": said},
        "apten": {"message": said},
    }[vendor]
    headers = {"x-request-id": f"req-{key}", "x-echo": key}
    return httpx.Response(status, json=body, headers=headers)


def _shown(exc: BaseException) -> str:
    """Everything an exception could show: str, repr, args and its attributes."""
    return str(exc) + repr(exc) + repr(exc.args) + repr(vars(exc))


@pytest.mark.parametrize("vendor", ["octanist", "omni", "apten"])
@pytest.mark.parametrize(
    ("status", "kinds"),
    [
        (400, PermanentVendorError),
        (401, KeyRejected),
        (403, (KeyRejected, Forbidden)),
        (404, LeadNotFound),
        (409, LeadConflict),
        (500, TransientVendorError),
        (502, TransientVendorError),
    ],
)
def test_an_echoed_key_is_masked_in_every_vendor_error(
    vendor: str, status: int, kinds: Any, canary_key: str
) -> None:
    script = Script(lambda request: _echo(status, vendor, request.headers["x-api-key"]))
    client = client_for(vendor, script)
    with _everything_logged() as logged, pytest.raises(VendorError) as caught:
        run(client.get("lead_1"))
    assert isinstance(caught.value, kinds)
    assert canary_key not in _shown(caught.value)
    assert MASK in caught.value.vendor_message  # the vendor's words are kept, the key is not
    assert caught.value.request_id == f"req-{MASK}"
    assert canary_key not in "\n".join(logged)


@pytest.mark.parametrize("idempotent", [True, False])
def test_a_non_json_error_and_a_gateway_error_quote_no_key(
    idempotent: bool, canary_key: str
) -> None:
    script = Script(
        httpx.Response(502, text=f"<html>bad gateway for {canary_key}</html>"),
    )
    client = client_for("octanist", script, clock=FakeClock())
    call = client.get("lead_1") if idempotent else client.create({"email": "a@example.com"})
    with pytest.raises((TransientVendorError, AmbiguousWriteError)) as caught:
        run(call)
    assert canary_key not in _shown(caught.value)


@pytest.mark.parametrize(
    ("raised", "kind"),
    [
        (httpx.LocalProtocolError(f"Illegal header value b'{CANARY}\\n'"), FatalVendorError),
        (httpx.DecodingError(f"cannot decode a body for {CANARY}"), TransientVendorError),
        (httpx.ReadError(f"reset while reading for {CANARY}"), TransientVendorError),
    ],
    ids=["local-protocol", "decoding", "read"],
)
def test_httpx_exception_text_never_carries_the_key(
    raised: Exception, kind: type[VendorError], canary_key: str
) -> None:
    client = client_for("octanist", Script(raised))
    with _everything_logged() as logged, pytest.raises(kind) as caught:
        run(client.get("lead_1"))
    assert canary_key not in _shown(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert canary_key not in "\n".join(logged)


def test_a_key_echoed_in_a_successful_reply_is_masked_in_the_lead(canary_key: str) -> None:
    lead = {
        "id": "lead_1",
        "name": "Ann Smith",
        "email": "ann@example.com",
        "note": f"created with key {canary_key}",
        f"k-{canary_key}": "as a key too",
    }
    script = Script(
        httpx.Response(
            200, json={"success": True, "data": lead}, headers={"x-request-id": canary_key}
        )
    )
    found = run(client_for("octanist", script).get("lead_1"))
    assert canary_key not in repr(found)
    assert found.fields["note"] == f"created with key {MASK}"
    assert found.fields["email"] == "ann@example.com"  # the rest as the vendor said it


def test_another_targets_key_in_a_successful_reply_is_left_alone(canary_key: str) -> None:
    """A reply is masked with its own client's key only: only that vendor knows it."""
    Secret("another-targets-key-99").reveal()
    lead = {"id": "lead_1", "name": "A", "note": "another-targets-key-99"}
    script = Script(httpx.Response(200, json={"success": True, "data": lead}))
    found = run(client_for("octanist", script).get("lead_1"))
    assert found.fields["note"] == "another-targets-key-99"


def test_every_log_record_is_masked_once_a_key_is_revealed() -> None:
    key = "log-canary-9c1e77ab"
    Secret(key).reveal()
    child = logging.getLogger("httpcore.http11.test")  # a filter on "httpcore" never sees it
    with _everything_logged() as logged:
        child.warning("headers %r", [(b"x-echo", key.encode())])
        logging.getLogger("prefect.test").info("key %s and %r", key, key)
        try:
            raise RuntimeError(f"the vendor said {key}")
        except RuntimeError:
            logging.getLogger("flows.test").exception("failed")
        logging.getLogger("some.library").info("quoted in a URL: ?k=%s", "log-canary-9c1e77ab")
    text = "\n".join(logged)
    assert key not in text
    assert text.count(MASK) >= 5
    assert "the vendor said ****" in text  # the traceback is kept, masked


def test_the_filter_masks_records_made_elsewhere() -> None:
    """SecretFilter also works on a handler, for records made before the factory was wrapped."""
    key = "filter-canary-0b7d2e"
    Secret(key).reveal()
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "key=%s", (key,), None)
    assert SecretFilter().filter(record)
    assert record.getMessage() == f"key={MASK}"


@pytest.mark.parametrize(
    "spelled",
    [
        "k3y/with'quote\"and\\slash-é",
    ],
)
def test_a_key_is_masked_as_a_repr_json_or_url_would_spell_it(spelled: str) -> None:
    from urllib.parse import quote

    Secret(spelled).reveal()
    for text in (
        spelled,
        repr(spelled),
        repr(spelled.encode()),
        json.dumps(spelled),
        json.dumps(spelled).replace("/", "\\/"),
        quote(spelled, safe=""),
    ):
        assert redact(f"<{text}>") in {f"<{MASK}>", f"<'{MASK}'>", f'<"{MASK}">', f"<b'{MASK}'>"}
    assert Redactor([spelled]).found_in(json.dumps({"k": spelled}).encode())


def test_a_short_key_is_not_masked_blindly(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="connectors._redact"):
        Secret("ab1").reveal()
    assert redact("tab1e ab1") == "tab1e ab1"
    assert "shorter than 6 characters" in caplog.text
    assert "ab1" not in caplog.text


# ------------------------------------------------------------------------- end to end


def _faults(body: bytes) -> tuple[int, str] | None:
    """Which rows of the sample file the relay refuses, by email, and how."""
    text = body.decode(errors="replace").lower()
    for email, fault in {
        "ann.smith@example.com": (400, "VALIDATION_ERROR"),
        "bob@vandijk.example.nl": (403, "FORBIDDEN"),
        "chloe.martin@example.fr": (500, "INTERNAL_ERROR"),
        "dieter.mueller@example.de": (409, "CONFLICT"),
    }.items():
        if email in text:
            return fault
    return None


def _with_echo(value: Any, key: str) -> Any:
    """Every lead in a successful answer gets a note quoting the key."""
    if isinstance(value, list):
        return [_with_echo(v, key) for v in value]
    if isinstance(value, dict) and "id" in value and "createdAt" in value:
        return {**value, "note": f"synced with key {key}"}
    if isinstance(value, dict):
        return {k: _with_echo(v, key) for k, v in value.items()}
    return value


def echoing_octanist(sandbox: Any) -> Starlette:
    """The sandbox's Octanist, relayed: every answer quotes the key the request carried."""

    async def relay(request: Request) -> Response:
        key = request.headers.get("x-api-key", "")
        raw = await request.body()
        echo = {"x-request-id": f"req-{key}", "x-echo-key": key}
        fault = _faults(raw) if request.method == "POST" else None
        if fault:
            status, code = fault
            said = f"refused for key {key}"
            error = {"success": False, "error": {"code": code, "message": said, "key": key}}
            return JSONResponse(error, status, headers=echo)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=sandbox), base_url="http://sandbox"
        ) as upstream:
            answer = await upstream.request(
                request.method,
                request.url.path,
                params=request.query_params.multi_items(),
                content=raw,
                headers={"x-api-key": key, "content-type": "application/json"},
            )
        body = answer.json()
        if answer.is_error and isinstance(body.get("error"), dict):
            body["error"]["message"] = f"{body['error'].get('message')} (key {key})"
        elif not answer.is_error:
            body = _with_echo(body, key)
        return JSONResponse(body, answer.status_code, headers=echo)

    methods = ["GET", "POST", "PATCH", "PUT", "DELETE"]
    return Starlette(routes=[Route("/octanist/api/{rest:path}", relay, methods=methods)])


@pytest.fixture
def echoing_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    sandbox = create_app(tmp_path / "sandbox.db", api_key=CANARY)
    with running(echoing_octanist(sandbox)) as url:
        config = tmp_path / "leadpipe.toml"
        config.write_text(
            f'[targets.prod]\nvendor = "octanist"\nbase_url = "{url}/octanist/api"\n'
            'api_key_env = "LEADPIPE_TEST_CANARY"\nrate_limit_per_s = 200\n'
        )
        monkeypatch.setenv("LEADPIPE_TEST_CANARY", CANARY)
        yield config


def _rows(out: Path) -> list[dict[str, str]]:
    import csv

    with (out / "rows.csv").open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("engine", ["local", pytest.param("prefect", marks=pytest.mark.prefect)])
def test_an_echoing_vendor_leaves_the_key_nowhere(
    engine: str,
    echoing_target: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    if engine == "prefect":
        request.getfixturevalue("prefect_harness")
    monkeypatch.setenv("LEADPIPE_DEBUG", "1")
    runner = CliRunner()
    common = ["--target", "prod", "--config", str(echoing_target), "--engine", engine]
    source = str(SAMPLES / "hubspot_contacts.csv")
    shown: list[str] = []
    with _everything_logged() as logged:
        first = runner.invoke(app, ["import", source, *common, "--out", str(tmp_path / "import")])
        shown.append(first.output + repr(first.exception))
        assert first.exit_code == 0, first.output
        # The target's leads now carry the key in a note: read them all back and compare.
        second = runner.invoke(
            app, ["reconcile", source, *common, "--out", str(tmp_path / "reconcile")]
        )
        shown.append(second.output + repr(second.exception))
        assert second.exit_code == 0, second.output
        monkeypatch.setenv("LEADPIPE_TEST_CANARY", CANARY + "-WRONG")  # 401 quoting it
        third = runner.invoke(
            app,
            ["import", source, *common, "--refresh-target", "--out", str(tmp_path / "rejected")],
        )
        shown.append(third.output + repr(third.exception))
        assert third.exit_code == 3, third.output

    rows = _rows(tmp_path / "import")
    refused = {r["http_status"]: r for r in rows if r["outcome"] == "failed"}
    assert {"400", "403", "500"} <= set(refused), rows
    assert all(MASK in refused[s]["reason"] for s in ("400", "403")), refused
    assert any(r["outcome"] == "created" for r in rows)
    assert any(MASK in r["request_id"] for r in rows if r["request_id"])
    assert "rejected" in shown[2]

    assert CANARY not in "".join(shown)
    assert CANARY not in "\n".join(logged)
    assert any("x-echo-key" in line for line in logged)  # the echoed headers were logged
    written = [tmp_path / "import", tmp_path / "reconcile", tmp_path / "rejected"]
    names = {p.name for root in written for p, _ in _everything_written(root)}
    assert {"rows.csv", "rows.parquet", "report.html", "summary.json"} <= names
    home = {p.name for p, _ in _everything_written(tmp_path / "home")}
    assert "journal.db" in home
    leaked = [
        str(path)
        for path, data in _everything_written(*written, tmp_path / "home")
        if CANARY.encode() in data
    ]
    assert not leaked
    # The leads read back were kept, with the key in their note masked (success bodies too).
    [snapshot] = (tmp_path / "home").rglob("leads.parquet")
    notes = pl.read_parquet(snapshot)["note"].to_list()
    assert f"synced with key {MASK}" in notes
    if engine == "prefect":
        assert CANARY not in _prefect_records()  # flow parameters and artifacts


# ------------------------------------------------------------------------- journal_url


PASSWORD_TAIL = "tail-canary-5e2b"


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://leadpipe:p@{PASSWORD_TAIL}@db.internal/leadpipe",
        f"postgresql://leadpipe:p@{PASSWORD_TAIL}@db.internal:5432/leadpipe?sslmode=require",
        f"postgresql://leadpipe:p@{PASSWORD_TAIL}@[::1]:5432/leadpipe",
        f"postgresql://leadpipe:p/x@{PASSWORD_TAIL}@db.internal/leadpipe",
    ],
    ids=["plain", "port-and-query", "ipv6", "slash-too"],
)
def test_a_password_with_an_unescaped_at_is_refused_without_echoing_it(
    url: str, tmp_path: Path
) -> None:
    from connectors import check_journal_url

    with pytest.raises(ValueError, match="%40") as caught:
        check_journal_url(url)
    assert PASSWORD_TAIL not in str(caught.value) and "p@" not in str(caught.value)

    config = tmp_path / "leadpipe.toml"
    config.write_text(f'journal_url = "{url}"\n')
    args = ["import", str(SAMPLES / "hubspot_contacts.csv"), "--target", "sandbox:octanist"]
    args += ["--engine", "local", "--out", str(tmp_path / "run"), "--config", str(config)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1
    assert "unescaped '@'" in result.stderr and "%40" in result.stderr
    assert PASSWORD_TAIL not in result.output + result.stderr
    assert "db.internal" not in result.stderr  # nothing of the URL is quoted


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://leadpipe:p%40ss@db.internal/leadpipe",
        "postgresql+psycopg://me@corp@db.internal/leadpipe",  # an `@` in a user, no password
        "postgresql+psycopg://leadpipe:pw@db.internal/leadpipe?application_name=a@b",
        "sqlite:////tmp/some@folder/journal.db",
    ],
)
def test_urls_with_an_escaped_or_harmless_at_are_accepted(url: str) -> None:
    from connectors import check_journal_url

    check_journal_url(url)


def test_the_journal_password_is_masked_once_the_url_is_read() -> None:
    from connectors import check_journal_url

    check_journal_url("postgresql+psycopg://leadpipe:pw-canary-a8f1%40x@db.internal/leadpipe")
    assert redact("driver: password pw-canary-a8f1@x refused") == f"driver: password {MASK} refused"
