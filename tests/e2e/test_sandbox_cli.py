"""`leadpipe sandbox` starts a server on loopback that answers the three vendors."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

LEADPIPE = Path(sys.executable).with_name("leadpipe")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_leadpipe_sandbox_serves_all_three_vendors(tmp_path: Path) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [str(LEADPIPE), "sandbox", "--port", str(port), "--db", str(tmp_path / "sandbox.db")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/_sandbox/settings", timeout=1).raise_for_status()
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "the sandbox did not start"
                time.sleep(0.2)
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
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    assert (tmp_path / "sandbox.db").exists()
