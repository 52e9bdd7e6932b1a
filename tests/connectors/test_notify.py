"""The alert webhook (connectors/_notify.py): one JSON POST; a receiver that fails is one
warning line with the URL masked, never an exception."""

from __future__ import annotations

import json

import httpx
import pytest

from connectors import Secret, post_webhook, redact, webhook_problem

URL = "https://hooks.example.com/services/T000/B000/tok3n-s3cret"


def test_the_body_is_posted_once_as_json() -> None:
    seen: list[httpx.Request] = []

    def receive(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    body = {"run_id": "r1", "schedule": None, "target": "t", "breaches": [], "report": None}
    assert post_webhook(Secret(URL), body, transport=httpx.MockTransport(receive)) is None
    (request,) = seen
    assert (request.method, str(request.url)) == ("POST", URL)
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == body


def test_an_error_status_is_one_warning_line() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(500, text=URL))
    warning = post_webhook(Secret(URL), {}, transport=transport)
    assert warning == "the alert webhook answered 500: the alert was not delivered"


def test_an_unreachable_webhook_is_one_line_without_the_url() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    warning = post_webhook(Secret(URL), {}, transport=httpx.MockTransport(refuse))
    assert warning == "the alert webhook was not reached (ConnectError: cannot reach ****)"
    assert redact(f"quoted {URL}") == "quoted ****"  # registered for every later message too


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        (URL, None),
        ("http://127.0.0.1:9000/hook", None),
        ("http://localhost/hook", None),
        ("http://hooks.example.com/x", "must use https (plain http only to 127.0.0.1 / localhost)"),
        ("ftp://hooks.example.com/x", "must be an http(s) URL, e.g. https://hooks.example.com/…"),
        ("hooks.example.com/x", "must be an http(s) URL, e.g. https://hooks.example.com/…"),
    ],
)
def test_which_urls_may_be_a_webhook(url: str, problem: str | None) -> None:
    assert webhook_problem(url) == problem
