"""`leadpipe import` into the sandbox against a bare httpx loop, and a no-change re-run.

1. Rows/s: `leadpipe import` of an N-row export (`BENCH_IMPORT_ROWS`, default 10,000) into
   `sandbox:octanist` (uvicorn on 127.0.0.1, real sockets, concurrency 16), against a bare
   `httpx.AsyncClient` loop sending the same create bodies with the same concurrency to a reset
   sandbox, in the same run. Ratio = leadpipe's push rows/s over the bare loop's.
2. No-change re-run: M leads (`BENCH_NOCHANGE_ROWS`, default 100,000) seeded in the sandbox and
   an export holding the same leads; one import reads the target (the first snapshot), then the
   same import again is timed: it must send nothing.

Run: `.venv/bin/python -m benchmarks.import_throughput`
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from benchmarks._sandbox import HOST, free_port, seed, start_server, wait_ready

CONCURRENCY = 16
HEADERS = {"X-API-KEY": "sandbox-key"}


def _lead(i: int) -> tuple[str, str, str, str]:
    """Email, first name, last name, phone: unique and valid for every i below 8,000,000."""
    return (
        f"lead{i}@example.com",
        f"First{i}",
        f"Last{i}",
        f"+1212{200 + (i // 10000) % 800:03d}{i % 10000:04d}",
    )


def write_export(path: Path, rows: int) -> Path:
    with path.open("w") as out:
        out.write("Email,First Name,Last Name,Phone\n")
        out.writelines(",".join(_lead(i)) + "\n" for i in range(rows))
    return path


def run_import(source: Path, base_url: str, home: Path, out: Path) -> tuple[float, dict[str, Any]]:
    """Wall seconds and summary of one `leadpipe import --engine local --json`."""
    env = {**os.environ, "LEADPIPE_SANDBOX_URL": base_url, "LEADPIPE_HOME": str(home)}
    command = [
        str(Path(sys.executable).with_name("leadpipe")),
        "import",
        str(source),
        "--target",
        "sandbox:octanist",
        "--engine",
        "local",
        "--out",
        str(out),
        "--json",
    ]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, json.loads(done.stdout)


async def bare_loop(base_url: str, rows: int) -> float:
    """Seconds for the same creates sent by a bare httpx loop at the same concurrency."""
    bodies = [
        {"email": e, "phone": p, "name": f"{f} {last}"} for e, f, last, p in map(_lead, range(rows))
    ]
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(
        base_url=base_url, headers=HEADERS, limits=limits, timeout=30
    ) as client:
        queue = iter(bodies)

        async def worker() -> None:
            for body in queue:
                (await client.post("/octanist/api/leads", json=body)).raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return time.perf_counter() - started


async def _reset(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as admin:
        (await admin.post("/_sandbox/reset")).raise_for_status()


async def _seed_same_leads(base_url: str, rows: int) -> None:
    async with httpx.AsyncClient(base_url=base_url) as admin:
        for start in range(0, rows, 20_000):
            chunk = range(start, min(rows, start + 20_000))
            leads = [
                {"email": e, "phone": p, "name": f"{f} {last}"}
                for e, f, last, p in map(_lead, chunk)
            ]
            await seed(admin, "octanist", leads)


def main() -> int:
    console = Console()
    rows = int(os.environ.get("BENCH_IMPORT_ROWS", "10000"))
    nochange = int(os.environ.get("BENCH_NOCHANGE_ROWS", "100000"))
    port = free_port()
    base_url = f"http://{HOST}:{port}"
    with tempfile.TemporaryDirectory(prefix="leadpipe-bench-import-") as tmp:
        work = Path(tmp)
        with (work / "sandbox.log").open("wb") as log:
            server = start_server(port, log)
            try:
                asyncio.run(_wait(base_url, server))
                console.print(*_throughput(base_url, work, rows), sep="\n")
                console.print(*_no_change(base_url, work, nochange), sep="\n")
            finally:
                server.terminate()
                server.wait(30)
    return 0


def _throughput(base_url: str, work: Path, rows: int) -> list[str]:
    """leadpipe's push against the bare loop, same creates, same concurrency, same sandbox."""
    source = write_export(work / "leads.csv", rows)
    wall, summary = run_import(source, base_url, work / "home1", work / "r1")
    push_s = summary["durations"]["push"]
    asyncio.run(_reset(base_url))
    bare_s = asyncio.run(bare_loop(base_url, rows))
    created, sent = summary["counts"]["created"], summary["requests"]["sent"]
    return [
        f"import of {rows:,} rows into sandbox:octanist "
        f"(uvicorn, real sockets, concurrency {CONCURRENCY}):",
        f"  leadpipe push    {rows / push_s:6.0f} rows/s  "
        f"({push_s:.1f} s push, {wall:.1f} s whole run, {created:,} created, {sent:,} requests)",
        f"  bare httpx loop  {rows / bare_s:6.0f} rows/s  ({bare_s:.1f} s)",
        f"  ratio            {bare_s / push_s:6.0%} of the bare loop (push stage); "
        f"{bare_s / wall:.0%} counting the whole run",
    ]


def _no_change(base_url: str, work: Path, rows: int) -> list[str]:
    """The same import twice over a target that already holds every lead; the second is timed."""
    asyncio.run(_reset(base_url))
    asyncio.run(_seed_same_leads(base_url, rows))
    source = write_export(work / "same.csv", rows)
    first_s, _ = run_import(source, base_url, work / "home2", work / "n1")
    again_s, again = run_import(source, base_url, work / "home2", work / "n2")
    stages = ", ".join(f"{k} {v:.1f}" for k, v in again["durations"].items())
    return [
        f"no-change re-run of {rows:,} rows: {again_s:.1f} s, {again['requests']['sent']} requests "
        f"sent, {again['counts']['unchanged']:,} unchanged (first run, reading the whole target: "
        f"{first_s:.1f} s)",
        f"  stages (s): {stages}",
    ]


async def _wait(base_url: str, server: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        await wait_ready(client, server)


if __name__ == "__main__":
    sys.exit(main())
