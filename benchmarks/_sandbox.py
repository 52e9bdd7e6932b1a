"""A sandbox server for benchmarks: a subprocess under uvicorn on a free loopback port."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from typing import Any

import httpx

HOST = "127.0.0.1"
STARTUP_TIMEOUT_S = 20.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(port: int, log: Any) -> subprocess.Popen[bytes]:
    """`sandbox.serve` in a subprocess (in-memory database); stop it with `terminate`."""
    code = f"import sandbox; sandbox.serve(host={HOST!r}, port={port})"
    return subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=log, cwd=os.getcwd()
    )


async def wait_ready(client: httpx.AsyncClient, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if (await client.get("/_sandbox/faults")).status_code == 200:
                return
        except httpx.TransportError:
            await asyncio.sleep(0.1)
    raise RuntimeError("the sandbox did not start (see its stderr above)")


async def seed(client: httpx.AsyncClient, vendor: str, leads: list[dict[str, Any]]) -> list[str]:
    """Bulk-load vendor-shaped leads through the admin API; returns their ids."""
    response = await client.post(
        "/_sandbox/seed", json={"vendor": vendor, "leads": leads}, timeout=600
    )
    response.raise_for_status()
    ids: list[str] = response.json()["ids"]
    return ids
