"""`leadpipe sandbox` in a process of its own, on a free loopback port, state in a SQLite file:
the target of tests that kill importers or take the target down."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

LEADPIPE = Path(sys.executable).with_name("leadpipe")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SandboxServer:
    """`leadpipe sandbox` in its own process, on a fixed port, state in a SQLite file."""

    def __init__(self, db: Path, log: Path) -> None:
        self.db, self.log = db, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                [str(LEADPIPE), "sandbox", "--port", str(self.port), "--db", str(self.db)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{self.url}/_sandbox/settings", timeout=1).raise_for_status()
                return
            except httpx.TransportError:
                assert self._process.poll() is None, self.log.read_text()[-2000:]
                assert time.monotonic() < deadline, "the sandbox did not start"
                time.sleep(0.1)

    def kill(self) -> None:
        """The target goes down hard (its state stays in the file)."""
        assert self._process is not None
        self._process.kill()
        self._process.wait(30)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
            self._process.wait(30)


@contextmanager
def sandbox_server(folder: Path) -> Iterator[SandboxServer]:
    server = SandboxServer(folder / "sandbox.db", folder / "sandbox.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()
