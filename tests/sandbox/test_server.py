"""The one test over real sockets: uvicorn on 127.0.0.1, a random port, faults on the wire."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from sandbox import create_app, make_server

STARTUP_TIMEOUT_S = 10.0


@pytest.fixture
def base_url() -> Iterator[str]:
    """A sandbox served by uvicorn in a thread, stopped after the test."""
    app = create_app()
    server = make_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(STARTUP_TIMEOUT_S)
        app.state.sandbox.store.close()
    assert not thread.is_alive()


def test_real_sockets_serve_vendors_and_faults(base_url: str) -> None:
    headers = {"x-api-key": "sandbox-key"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=5.0) as client:
        created = client.post("/octanist/api/leads", json={"name": "Ann"})
        assert created.status_code == 200 and created.headers["x-request-id"].startswith("req_")
        lead_id = created.json()["data"]["id"]

        faults = {"octanist": {"drop_rate": 1.0, "after_write_ratio": 1.0}}
        assert client.put("/_sandbox/faults", json=faults).status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            client.patch("/octanist/api/leads", json={"id": lead_id, "status": "won"})

        hang = {"octanist": {"hang_rate": 1.0, "after_write_ratio": 0.0}}
        client.put("/_sandbox/faults", json=hang)
        with pytest.raises(httpx.ReadTimeout):
            client.get(f"/octanist/api/leads/{lead_id}", timeout=0.2)

        client.put("/_sandbox/faults", json={"octanist": {}})
        lead = client.get(f"/octanist/api/leads/{lead_id}").json()["data"]
        assert lead["status"] == "won"  # the dropped PATCH had been applied

        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:  # the hang ends when the server sees the disconnect
            log = client.get("/_sandbox/requests").json()
            if len(log) == 4:
                break
            time.sleep(0.02)
        assert [(e["fault"], e["status"], e["applied"]) for e in log] == [
            (None, 200, True),
            ("drop", None, True),
            ("hang", None, False),
            (None, 200, True),
        ]
