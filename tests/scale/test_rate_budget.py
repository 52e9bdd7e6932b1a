"""Two `leadpipe import` processes, one target profile, one vendor limit: the global rate budget
(a Prefect global concurrency limit on the session's Prefect server) keeps both together under
the sandbox's limit of R requests/s.

Real time (it measures a real rate): about 10 s of sending, plus process start-up.

Windows are clock seconds as the sandbox stamps arrivals (aligned, like a vendor counting per
second). Sliding windows get a looser bound: the sandbox stamps a request when its event loop
gets to it, so a 0.1 s stall of the sandbox on a busy machine bunches ~R/10 arrivals that were
sent 1/R apart (the budget's spacing is asserted exactly in tests/connectors/test_budget.py).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from benchmarks.rate_limit import most_in_one_second
from tests.conftest import REPO
from tests.reliability.support import people, write_csv
from tests.sandbox_process import LEADPIPE, SandboxServer, sandbox_server

RATE = 40  # the vendor's limit (requests/s), and the profile's rate_limit_per_s
ROWS = 160  # per process: ~200 requests each (a create, and an update after some)
PROFILE = "budget-test"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    with sandbox_server(tmp_path) as server:
        yield server


def _config(folder: Path, sandbox: SandboxServer) -> Path:
    path = folder / "leadpipe.toml"
    path.write_text(
        f"[targets.{PROFILE}]\n"
        'vendor = "octanist"\n'
        f'base_url = "{sandbox.url}/octanist/api"\n'
        'api_key_env = "BUDGET_TEST_KEY"\n'
        f"rate_limit_per_s = {RATE}\n"
        "concurrency = 8\n"
    )
    return path


def _importer(folder: Path, source: Path, config: Path, api_url: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),  # this tree's code, whatever the console script points at
        "LEADPIPE_HOME": str(folder / "home"),
        "PREFECT_API_URL": api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "BUDGET_TEST_KEY": "sandbox-key",
    }
    command = [str(LEADPIPE), "import", str(source), "--target", PROFILE, "--config", str(config)]
    command += ["--engine", "prefect", "--out", str(folder / "run"), "--json"]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _arrivals(log: list[dict[str, Any]]) -> list[float]:
    return [datetime.fromisoformat(e["time"].replace("Z", "+00:00")).timestamp() for e in log]


def test_two_importers_together_stay_under_the_vendors_limit(
    prefect_harness: None, sandbox: SandboxServer, tmp_path: Path
) -> None:
    from prefect.settings import PREFECT_API_URL

    api_url = PREFECT_API_URL.value()
    assert api_url, "the Prefect harness sets PREFECT_API_URL"
    httpx.put(
        f"{sandbox.url}/_sandbox/faults", json={"octanist": {"rate_limit_per_s": RATE}}
    ).raise_for_status()
    config = _config(tmp_path, sandbox)
    persons = people(2 * ROWS, "octanist", seed=11)
    workers = []
    for i, share in enumerate((persons[:ROWS], persons[ROWS:])):
        folder = tmp_path / f"worker{i}"
        folder.mkdir()
        source = write_csv(folder / "leads.csv", share)
        workers.append(_importer(folder, source, config, api_url))
    summaries = []
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err[-3000:]
        summaries.append(json.loads(out))

    log = httpx.get(f"{sandbox.url}/_sandbox/requests", timeout=60).json()
    throttled = sum(1 for e in log if e["status"] == 429)
    assert [s["counts"]["created"] for s in summaries] == [ROWS, ROWS]
    assert len(log) >= 2 * ROWS
    # Every request the sandbox saw (429s included).
    arrivals = _arrivals(log)
    per_second = Counter(math.floor(t) for t in arrivals)
    assert max(per_second.values()) <= RATE * 1.1, sorted(per_second.items())
    assert most_in_one_second(arrivals) <= RATE * 1.25
    assert throttled <= 0.02 * len(log)
    assert {_worker_of(e, persons[:ROWS]) for e in log if e["method"] == "POST"} == {0, 1}
    # The flows made the budget both drew from: 4 s of requests, decaying at the rate.
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        limit = client.read_global_concurrency_limit_by_name(f"leadpipe-rate-{PROFILE}")
    assert (limit.limit, limit.slot_decay_per_second) == (4 * RATE, RATE)


def _worker_of(entry: dict[str, Any], first: list[Any]) -> int:
    return 0 if entry["body"]["email"] in {p.email for p in first} else 1
