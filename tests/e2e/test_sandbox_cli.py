"""`leadpipe sandbox` starts a server on loopback that answers the three vendors."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.sandbox_process import sandbox_server


def test_leadpipe_sandbox_serves_all_three_vendors(tmp_path: Path) -> None:
    with sandbox_server(tmp_path) as server:
        base = server.url
        octanist = httpx.post(f"{base}/octanist/api/check", headers={"X-API-KEY": "sandbox-key"})
        assert octanist.json() == {"success": True}
        apten = httpx.get(
            f"{base}/apten/v1/leads",
            params={"updatedSince": "2026-01-01T00:00:00Z"},
            headers={"x-api-key": "sandbox-key"},
        )
        assert apten.status_code == 200 and apten.json()["leads"] == []
        omni = httpx.get(f"{base}/omni/api/v1/leads/nope", headers={"x-api-key": "sandbox-key"})
        assert omni.status_code == 404
        assert (
            httpx.get(f"{base}/omni/api/v1/leads/nope", headers={"x-api-key": "wrong"}).status_code
            == 401
        )
    assert (tmp_path / "sandbox.db").exists()
