"""Shared fixtures: an isolated LEADPIPE_HOME per test, one Prefect harness per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "data" / "samples"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("LEADPIPE_HOME", str(home))
    monkeypatch.delenv("LEADPIPE_ENGINE", raising=False)
    return home


@pytest.fixture(scope="session")
def _prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One temporary Prefect server for the whole session (~15 s to start)."""
    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect-home"))
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"  # no telemetry writes at start-up
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def prefect_harness(_prefect_server: None) -> Iterator[None]:
    """The session's Prefect server, with the events client stopped when the test ends.

    A flow run leaves Prefect's events client connected by websocket on a background thread,
    and its keepalive pings draw from the global `random` every 20-30 s. Left running, that
    thread changes `random`'s state under later Hypothesis tests, which Hypothesis reports as
    an error. Draining the worker closes the socket; the next flow run opens a new one.
    """
    yield
    from prefect.events.worker import EventsWorker

    EventsWorker.drain_all(timeout=30)


@contextmanager
def running(app: Any) -> Iterator[str]:
    """`app` under uvicorn on 127.0.0.1 (a free port, real sockets) while the block runs."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def sandbox_url(live_sandbox: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The live sandbox, reset with an empty request log; the built-in sandbox:* profiles use it."""
    import httpx

    httpx.post(f"{live_sandbox}/_sandbox/reset").raise_for_status()
    httpx.delete(f"{live_sandbox}/_sandbox/requests").raise_for_status()
    monkeypatch.setenv("LEADPIPE_SANDBOX_URL", live_sandbox)
    return live_sandbox


@pytest.fixture(scope="session")
def live_sandbox() -> Iterator[str]:
    """The sandbox on real sockets for the whole session."""
    from sandbox import create_app

    with running(create_app(seed=1)) as url:
        yield url


@pytest.fixture(scope="session")
def dask_address(_prefect_server: None) -> Iterator[str]:
    """The scheduler of a LocalCluster of 2 worker processes for the session's `--runner dask`
    tests, passed by address as an existing cluster would be. Started after the Prefect
    harness, so the workers inherit its environment; each test's settings reach them with
    their tasks."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        yield cluster.scheduler_address


POSTGRES_SKIP = (
    "PostgreSQL not available: set LEADPIPE_TEST_POSTGRES_URL "
    "or run scripts/ensure-postgres --start"
)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The test server's URL (LEADPIPE_TEST_POSTGRES_URL, else the file scripts/ensure-postgres
    writes), once it answers; the test skips with POSTGRES_SKIP when there is none."""
    from tests.postgres import answers, server_url

    url = server_url(REPO)
    if url is None or not answers(url):
        pytest.skip(POSTGRES_SKIP)
    return url


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A journal URL on a fresh schema of the test server, dropped after the test."""
    from tests.postgres import fresh_schema

    with fresh_schema(postgres_server) as url:
        yield url
