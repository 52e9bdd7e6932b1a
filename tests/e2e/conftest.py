"""The e2e tests' sandbox: the session's live server, emptied for each test."""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture
def sandbox_url(live_sandbox: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The live sandbox, reset with an empty request log; the built-in sandbox:* profiles use it."""
    httpx.post(f"{live_sandbox}/_sandbox/reset").raise_for_status()
    httpx.delete(f"{live_sandbox}/_sandbox/requests").raise_for_status()
    monkeypatch.setenv("LEADPIPE_SANDBOX_URL", live_sandbox)
    return live_sandbox
