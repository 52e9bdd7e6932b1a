"""The ASGI layer in front of the vendor routes: request log plus fault injection.

For each request under ``/omni``, ``/apten`` or ``/octanist`` (never ``/_sandbox``) it reads
the body, asks ``FaultInjector`` what to do, then forwards, answers in the vendor's error
shape, or mangles the reply, and logs the outcome. See ``_faults.py`` for the fault model.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox._faults import (
    Decision,
    FaultInjector,
    InjectedConnectionDrop,
    InjectedHangTimeout,
)
from sandbox._requestlog import LogEntry, RequestLog, parse_body, parse_query
from sandbox._shapes import ErrorShape
from sandbox._time import format_ts
from sandbox._types import VENDORS, Clock, Vendor

logger = logging.getLogger(__name__)

Headers = list[tuple[bytes, bytes]]


def vendor_of(scope: Scope) -> Vendor | None:
    """The vendor whose routes an HTTP request targets, if any."""
    if scope["type"] != "http":
        return None
    path: str = scope["path"]
    for vendor in VENDORS:
        if path == f"/{vendor}" or path.startswith(f"/{vendor}/"):
            return vendor
    return None


@dataclass
class Captured:
    """A reply the vendor handler produced but the client has not received."""

    status: int = 200
    headers: Headers = field(default_factory=list)
    body: bytes = b""


class Exchange:
    """One request in flight: its buffered body, the client's send, its log entry."""

    def __init__(self, scope: Scope, receive: Receive, send: Send, body: bytes, entry: LogEntry):
        self.scope, self.receive, self.send = scope, receive, send
        self.body, self.entry = body, entry
        self._replayed = False

    async def replay(self) -> Message:
        """``receive`` for the inner app: the buffered body once, then the real channel."""
        if not self._replayed:
            self._replayed = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        return await self.receive()

    async def send_logged(self, message: Message) -> None:
        """``send`` that remembers the status line for the log."""
        if message["type"] == "http.response.start":
            self.entry.status = message["status"]
        await self.send(message)

    async def forward(self, app: ASGIApp) -> None:
        """Let the vendor handler answer the client directly."""
        self.entry.applied = True
        await app(self.scope, self.replay, self.send_logged)

    async def capture(self, app: ASGIApp) -> Captured:
        """Run the vendor handler, keeping its reply from the client."""
        captured = Captured()

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured.status = message["status"]
                captured.headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                captured.body += message.get("body", b"")

        self.entry.applied = True
        await app(self.scope, self.replay, keep)
        return captured

    async def start_truncated(self, captured: Captured | None) -> None:
        """Send a status line whose Content-Length the body will never reach, and half of it."""
        reply = captured or Captured(headers=[(b"content-type", b"application/json")])
        partial = reply.body[: len(reply.body) // 2]
        declared = max(len(reply.body), len(partial) + 1)
        headers = [h for h in reply.headers if h[0].lower() != b"content-length"]
        headers.append((b"content-length", str(declared).encode()))
        await self.send({"type": "http.response.start", "status": reply.status, "headers": headers})
        if partial:
            await self.send({"type": "http.response.body", "body": partial, "more_body": True})

    async def client_gone_within(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for the client to disconnect; True if it did."""

        async def until_disconnect() -> None:
            while (await self.receive())["type"] != "http.disconnect":
                pass

        waiter = asyncio.ensure_future(until_disconnect())
        try:
            done, _ = await asyncio.wait({waiter}, timeout=seconds)
        finally:
            waiter.cancel()
        return bool(done)


class SandboxMiddleware:
    """Logs vendor requests and injects the configured faults."""

    def __init__(
        self,
        app: ASGIApp,
        faults: FaultInjector,
        log: RequestLog,
        shapes: Mapping[Vendor, ErrorShape],
        now: Clock,
    ) -> None:
        self.app = app
        self.faults = faults
        self.log = log
        self.shapes = shapes
        self.now = now

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        vendor = vendor_of(scope)
        if vendor is None:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        exchange = Exchange(scope, receive, send, body, self._entry(vendor, scope, body))
        started = time.perf_counter()
        try:
            await self._handle(vendor, exchange)
        finally:
            exchange.entry.duration_ms = round((time.perf_counter() - started) * 1000, 3)
            self.log.append(exchange.entry)

    def _entry(self, vendor: Vendor, scope: Scope, body: bytes) -> LogEntry:
        return LogEntry(
            seq=self.log.next_seq(),
            time=format_ts(self.now()),
            vendor=vendor,
            method=scope["method"],
            path=scope["path"],
            query=parse_query(scope.get("query_string", b"")),
            body=parse_body(body),
        )

    async def _handle(self, vendor: Vendor, exchange: Exchange) -> None:
        retry_after = self.faults.throttle(vendor)
        if retry_after is not None:
            exchange.entry.fault = "rate_limit"
            reply = self.shapes[vendor].fault(429)
            reply.headers["Retry-After"] = str(retry_after)
            await reply(exchange.scope, exchange.replay, exchange.send_logged)
            return
        decision = self.faults.decide(vendor)
        if decision.delay_s > 0:
            await asyncio.sleep(decision.delay_s)
        if decision.kind is None:
            await exchange.forward(self.app)
            return
        exchange.entry.fault = decision.kind
        exchange.entry.fault_phase = "after" if decision.after_write else "before"
        logger.info("sandbox %s: injecting %s (%s)", vendor, decision.kind, exchange.entry.path)
        await self._inject(vendor, decision, exchange)

    async def _inject(self, vendor: Vendor, decision: Decision, exchange: Exchange) -> None:
        settings = self.faults.settings(vendor)
        # The handler runs first when the fault loses an answer it gave (a hang, a drop, a
        # gateway's 502/504 after the write; always for malformed bodies).
        captured = await exchange.capture(self.app) if decision.after_write else None
        if decision.kind == "error":
            reply = self.shapes[vendor].fault(settings.error_status)
            await reply(exchange.scope, exchange.replay, exchange.send_logged)
        elif decision.kind == "throttle":
            reply = self.shapes[vendor].fault(429)
            reply.headers["Retry-After"] = str(settings.retry_after_s)
            await reply(exchange.scope, exchange.replay, exchange.send_logged)
        elif decision.kind == "malformed":
            await _send_malformed(exchange, captured or Captured())
        elif decision.kind == "drop":
            await exchange.start_truncated(captured)
            raise InjectedConnectionDrop("Server disconnected mid-response (sandbox drop fault)")
        elif not await exchange.client_gone_within(settings.hang_s):
            await exchange.start_truncated(None)
            raise InjectedHangTimeout(f"No response within {settings.hang_s} s (sandbox hang)")


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send_malformed(exchange: Exchange, captured: Captured) -> None:
    """200 with the first half of the real body (or a stub): never valid JSON."""
    body = captured.body[: len(captured.body) // 2] if len(captured.body) > 1 else b'{"succ'
    keep = [h for h in captured.headers if h[0].lower() not in (b"content-length", b"content-type")]
    headers = [
        *keep,
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await exchange.send_logged({"type": "http.response.start", "status": 200, "headers": headers})
    await exchange.send({"type": "http.response.body", "body": body, "more_body": False})
