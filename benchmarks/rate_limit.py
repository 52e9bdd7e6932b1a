"""Rate-limit adherence: two worker processes push creates into one sandbox limited to R
requests/s, sharing the global rate budget (a Prefect global concurrency limit).

Measured in the same run: achieved requests/s over the sandbox's limit (goal >= 90 %), the
share of requests answered 429 (goal <= 2 %), the most requests the sandbox saw in any one
second (sliding window), what the budget cost (Prefect API calls per 1,000 requests, time spent
waiting for its answers), and the start-up of the Prefect server the budget needs.

    python -m benchmarks.rate_limit            # BENCH_RATE_LIMIT (default 50/s),
                                                # BENCH_RATE_SECONDS (default 30 s of sending)
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from benchmarks._sandbox import HOST, free_port, start_server, wait_ready
from benchmarks._settings import FULL_ROWS, Settings
from benchmarks._table import Row, build_table

__all__ = [
    "RateLimitPart",
    "RateLimitResult",
    "measure",
    "measure_rate_limit",
    "most_in_one_second",
]

WORKERS = 2
CONCURRENCY = 8
PROFILE = "bench-rate"


@dataclass(frozen=True)
class RateLimitResult:
    """One run: the sandbox's limit, what it saw, and what the budget cost."""

    limit_per_s: float
    workers: int
    requests: int
    seconds: float
    throttled: int
    most_in_one_second: int
    prefect_calls: int
    prefect_call_seconds: float
    leases: int
    expired: int  # leased tokens that ran out unused (a lease's start lost to the round trip)
    prefect_startup_s: float

    @property
    def achieved_per_s(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def achieved_share(self) -> float:
        return self.achieved_per_s / self.limit_per_s

    @property
    def throttled_share(self) -> float:
        return self.throttled / self.requests if self.requests else 0.0

    @property
    def calls_per_1000(self) -> float:
        return 1000 * self.prefect_calls / self.requests if self.requests else 0.0

    @property
    def ms_per_call(self) -> float:
        """Mean round trip of a call to the Prefect API (a lease costs its holder one)."""
        return 1000 * self.prefect_call_seconds / self.prefect_calls if self.prefect_calls else 0.0


@dataclass(frozen=True)
class RateLimitPart:
    """`RateLimitResult` as a part of `make bench`'s table (benchmarks/_table.py)."""

    result: RateLimitResult

    @property
    def ok(self) -> bool:
        return self.result.requests > 0

    def table_rows(self) -> list[Row]:
        r = self.result
        return [
            Row(
                f"achieved / sandbox limit ({r.workers} workers, limit {r.limit_per_s:g} req/s)",
                rows=r.requests,
                seconds=r.seconds,
                rate=r.achieved_per_s,
                measured=f"{r.achieved_share:.1%}",
                goal=">= 90%",
                met=r.achieved_share >= 0.9,
                note="rate/s = requests/s the sandbox saw",
            ),
            Row(
                "requests answered 429",
                measured=f"{r.throttled_share:.2%} ({r.throttled:,})",
                goal="<= 2%",
                met=r.throttled_share <= 0.02,
            ),
            Row(
                "most requests in any 1 s (sliding window)",
                measured=f"{r.most_in_one_second / r.limit_per_s:.0%} ({r.most_in_one_second})",
                goal="<= 110%",
                met=r.most_in_one_second <= r.limit_per_s * 1.1,
            ),
            Row(
                "Prefect API calls per 1,000 requests",
                measured=f"{r.calls_per_1000:.1f}",
                note=f"mean call {r.ms_per_call:.0f} ms; {r.leases} leases, {r.expired} tokens "
                f"unused; Prefect server start {r.prefect_startup_s:.0f} s",
            ),
        ]

    def caption(self) -> list[str]:
        return []


def measure(settings: Settings, log: Callable[[str], None]) -> RateLimitPart:
    """The `make bench` part: BENCH_RATE_LIMIT (default 50/s) for BENCH_RATE_SECONDS (30 s;
    shorter in a BENCH_ROWS smoke run)."""
    limit = float(os.environ.get("BENCH_RATE_LIMIT", "50"))
    default_seconds = 30.0 if settings.rows >= FULL_ROWS else 10.0
    seconds = float(os.environ.get("BENCH_RATE_SECONDS", str(default_seconds)))
    log(f"2 workers, {limit:g} requests/s for {seconds:g} s, one Prefect server …")
    return RateLimitPart(measure_rate_limit(limit, seconds))


def measure_rate_limit(limit_per_s: float = 50.0, seconds: float = 30.0) -> RateLimitResult:
    """Start a Prefect server and a sandbox limited to `limit_per_s`, run two workers that
    together send `limit_per_s * seconds` creates, and read what the sandbox saw."""
    total = int(limit_per_s * seconds)
    with tempfile.TemporaryDirectory(prefix="bench-rate-") as folder:
        api_url, server, startup = _start_prefect(Path(folder))
        port = free_port()
        sandbox = start_server(port, sys.stderr)
        try:
            url = f"http://{HOST}:{port}"
            asyncio.run(_ready(url, limit_per_s, sandbox))
            env = {**os.environ, "PREFECT_API_URL": api_url, "PREFECT_HOME": folder}
            stats = _run_workers(env, url, limit_per_s, total)
            log = httpx.get(f"{url}/_sandbox/requests", timeout=120).json()
            if os.environ.get("BENCH_RATE_LOG"):  # the sandbox's request log, to look at gaps
                Path(os.environ["BENCH_RATE_LOG"]).write_text(json.dumps(log))
        finally:
            sandbox.terminate()
            server.terminate()
            sandbox.wait(30)
            server.wait(30)
    arrivals = sorted(_arrival(e) for e in log)
    return RateLimitResult(
        limit_per_s=limit_per_s,
        workers=WORKERS,
        requests=len(log),
        seconds=arrivals[-1] - arrivals[0],
        throttled=sum(1 for e in log if e["status"] == 429),
        most_in_one_second=most_in_one_second(arrivals),
        prefect_calls=sum(int(s["calls"]) for s in stats),
        prefect_call_seconds=sum(float(s["call_seconds"]) for s in stats),
        leases=sum(int(s["grants"]) for s in stats),
        expired=sum(int(s["expired"]) for s in stats),
        prefect_startup_s=startup,
    )


def _start_prefect(home: Path) -> tuple[str, subprocess.Popen[bytes], float]:
    """`prefect server start` on a free port with a throwaway PREFECT_HOME (SQLite)."""
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    prefect = Path(sys.executable).with_name("prefect")
    started = time.perf_counter()
    server = subprocess.Popen(
        [str(prefect), "server", "start", "--host", HOST, "--port", str(port), "--no-ui"]
        + ["--no-services"],  # the API only: scheduler, events etc. would load the machine
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    api_url = f"http://{HOST}:{port}/api"
    deadline = started + 180
    while time.perf_counter() < deadline:
        try:
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return api_url, server, time.perf_counter() - started
        except httpx.TransportError:
            time.sleep(0.2)
        if server.poll() is not None:
            break
    server.terminate()
    raise RuntimeError("the Prefect server did not start")


async def _ready(url: str, limit_per_s: float, sandbox: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        await wait_ready(client, sandbox)
        reply = await client.put(
            "/_sandbox/faults", json={"octanist": {"rate_limit_per_s": limit_per_s}}
        )
        reply.raise_for_status()
        (await client.delete("/_sandbox/requests")).raise_for_status()


def _run_workers(
    env: dict[str, str], url: str, limit_per_s: float, total: int
) -> list[dict[str, Any]]:
    from connectors import budget_name

    setup = [sys.executable, "-m", "benchmarks.rate_limit", "--setup", str(limit_per_s)]
    subprocess.run(setup, env=env, check=True)
    share = total // WORKERS
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "benchmarks.rate_limit", "--worker", url, str(limit_per_s)]
            + [str(share), str(i), budget_name(PROFILE)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(WORKERS)
    ]
    results = []
    for worker in workers:
        out, _ = worker.communicate(timeout=max(600.0, 10 * total / limit_per_s))
        if worker.returncode != 0:
            raise RuntimeError(f"a rate-limit worker failed (exit {worker.returncode})")
        results.append(json.loads(out))
    return results


def _setup(limit_per_s: float) -> None:
    from connectors import budget_name, ensure_rate_limit

    ensure_rate_limit(budget_name(PROFILE), limit_per_s, vendor="octanist")


async def _worker(url: str, limit_per_s: float, requests: int, index: int, budget: str) -> None:
    """One worker: `requests` creates through a client drawing from the global budget."""
    from connectors import TargetProfile, open_client

    profile = TargetProfile(
        name=PROFILE,
        vendor="octanist",
        base_url=f"{url}/octanist/api",
        api_key_env="BENCH_RATE_KEY",
        rate_limit_per_s=limit_per_s,
        concurrency=CONCURRENCY,
        rate_budget=budget,
    )
    os.environ["BENCH_RATE_KEY"] = "sandbox-key"
    queue = iter(range(requests))
    async with open_client(profile) as client:

        async def sender() -> None:
            for n in queue:
                email = f"w{index}.lead{n}@example.com"
                await client.create({"email": email, "first_name": "Bench", "last_name": "Lead"})

        await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))
        stats = client.http.budget.stats.counts()
    print(json.dumps({**stats, "sent": client.http.stats.sent}))


def _arrival(entry: dict[str, Any]) -> float:
    return datetime.fromisoformat(entry["time"].replace("Z", "+00:00")).timestamp()


def most_in_one_second(times: list[float]) -> int:
    """The most requests that arrived in any one-second window [t, t + 1) (sliding)."""
    times = sorted(times)
    most, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


def main() -> None:
    if sys.argv[1:2] == ["--setup"]:
        _setup(float(sys.argv[2]))
        return
    if sys.argv[1:2] == ["--worker"]:
        url, rate, requests, index, budget = sys.argv[2:7]
        asyncio.run(_worker(url, float(rate), int(requests), int(index), budget))
        return
    from rich.console import Console

    part = RateLimitPart(
        measure_rate_limit(
            float(os.environ.get("BENCH_RATE_LIMIT", "50")),
            float(os.environ.get("BENCH_RATE_SECONDS", "30")),
        )
    )
    table = build_table("rate-limit adherence", [part.table_rows()], part.caption())
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
