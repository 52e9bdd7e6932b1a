"""Sandbox throughput: requests/s for Octanist PATCH and Omni PUT over real sockets.

Starts ``sandbox.serve`` in a subprocess on 127.0.0.1 (a free port, in-memory database),
seeds ``SANDBOX_BENCH_LEADS`` leads per vendor (default 2000), then drives each endpoint with
an ``httpx.AsyncClient`` at ``SANDBOX_BENCH_CONCURRENCY`` (default 16) for
``SANDBOX_BENCH_SECONDS`` (default 10) and prints one line per endpoint. Every request is a
real update (the status/value or the name/checklist value changes each time).

On a small machine the single-process client is usually the bottleneck, so each line also
gives the server process's CPU per request (via psutil) and the rate that implies for one
server core.

Run: ``.venv/bin/python -m benchmarks.sandbox_throughput``
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import psutil
from rich.console import Console

from benchmarks._sandbox import HOST, free_port, seed, start_server, wait_ready

HEADERS = {"x-api-key": "sandbox-key"}
STATUSES = ("qualified", "won", "lost")

Body = Callable[[str, int], dict[str, Any]]


@dataclass(frozen=True)
class Settings:
    seconds: float
    concurrency: int
    leads: int

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            seconds=float(os.environ.get("SANDBOX_BENCH_SECONDS", "10")),
            concurrency=int(os.environ.get("SANDBOX_BENCH_CONCURRENCY", "16")),
            leads=int(os.environ.get("SANDBOX_BENCH_LEADS", "2000")),
        )


@dataclass
class Tally:
    """What one endpoint's run produced."""

    ok: int = 0
    failed: int = 0
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0

    @property
    def per_second(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    @property
    def server_ms_per_request(self) -> float:
        total = self.ok + self.failed
        return 1000 * self.server_cpu_s / total if total else 0.0

    def percentile_ms(self, fraction: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def octanist_body(lead_id: str, n: int) -> dict[str, Any]:
    return {"id": lead_id, "status": STATUSES[n % 3], "value": n}


def omni_body(lead_id: str, n: int) -> dict[str, Any]:
    return {
        "leadId": lead_id,
        "lastName": f"Bench{n}",
        "checklistItems": [{"code": "loan_amount", "value": n}],
    }


@dataclass(frozen=True)
class Target:
    """One endpoint to drive."""

    method: str
    path: str
    ids: list[str]
    body: Body


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


async def drive(
    client: httpx.AsyncClient, target: Target, server: psutil.Process, s: Settings
) -> Tally:
    tally = Tally()
    method, path, ids, body = target.method, target.path, target.ids, target.body
    deadline = time.perf_counter() + s.seconds

    async def worker(offset: int) -> None:
        n = offset
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            response = await client.request(method, path, json=body(ids[n % len(ids)], n))
            tally.latencies.append(time.perf_counter() - started)
            if response.status_code == 200:
                tally.ok += 1
            else:
                tally.failed += 1
            n += s.concurrency

    started, server_cpu, client_cpu = time.perf_counter(), cpu_seconds(server), time.process_time()
    await asyncio.gather(*(worker(i) for i in range(s.concurrency)))
    tally.elapsed = time.perf_counter() - started
    tally.server_cpu_s = cpu_seconds(server) - server_cpu
    tally.client_cpu_s = time.process_time() - client_cpu
    return tally


async def measure(base_url: str, server: subprocess.Popen[bytes], s: Settings) -> dict[str, Tally]:
    limits = httpx.Limits(max_connections=s.concurrency, max_keepalive_connections=s.concurrency)
    async with httpx.AsyncClient(
        base_url=base_url, headers=HEADERS, timeout=30.0, limits=limits
    ) as client:
        await wait_ready(client, server)
        octanist = [{"name": f"Lead {i}", "email": f"lead{i}@example.com"} for i in range(s.leads)]
        omni = [{"firstName": f"Lead{i}", "email": f"lead{i}@example.com"} for i in range(s.leads)]
        octanist_ids = await seed(client, "octanist", octanist)
        omni_ids = await seed(client, "omni", omni)
        process = psutil.Process(server.pid)
        patch = Target("PATCH", "/octanist/api/leads", octanist_ids, octanist_body)
        put = Target("PUT", "/omni/api/v1/leads", omni_ids, omni_body)
        return {
            "Octanist PATCH /api/leads": await drive(client, patch, process, s),
            "Omni PUT /api/v1/leads": await drive(client, put, process, s),
        }


def report(console: Console, results: dict[str, Tally], s: Settings) -> None:
    console.print(
        f"sandbox throughput: uvicorn on {HOST}, {s.leads} leads per vendor, "
        f"concurrency {s.concurrency}, ~{s.seconds:g} s per endpoint, {os.cpu_count()} CPUs",
        soft_wrap=True,
    )
    for name, tally in results.items():
        per_request = tally.server_ms_per_request
        console.print(
            f"  {name:<26} {tally.per_second:6.0f} req/s  ({tally.ok} ok, {tally.failed} failed; "
            f"p50 {tally.percentile_ms(0.5):.1f} ms, p99 {tally.percentile_ms(0.99):.1f} ms, "
            f"mean {1000 * statistics.fmean(tally.latencies or [0]):.1f} ms)",
            soft_wrap=True,
        )
        console.print(
            f"  {'':<26} server CPU {per_request:.2f} ms/request "
            f"(~{1000 / per_request if per_request else 0:.0f} req/s per server core); "
            f"server {100 * tally.server_cpu_s / tally.elapsed:.0f}% / client "
            f"{100 * tally.client_cpu_s / tally.elapsed:.0f}% of a core",
            soft_wrap=True,
        )


def main() -> int:
    settings = Settings.from_env()
    port = free_port()
    with tempfile.TemporaryFile() as log:
        server = start_server(port, log)
        try:
            results = asyncio.run(measure(f"http://{HOST}:{port}", server, settings))
        except Exception:
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace")[-4000:])
            raise
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    report(Console(), results, settings)
    return 0 if all(t.failed == 0 for t in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
