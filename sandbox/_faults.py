"""Fault injection settings and dice, per vendor (the ASGI side is ``_middleware.py``).

Settings (``FaultSettings``, all off by default):

- ``rate_limit_per_s``: token bucket (burst = one second's worth, at least 1); over it the
  request is answered 429 with ``Retry-After`` (whole seconds) before any work.
- ``error_rate`` / ``error_status``: an injected error. 500 and 503 are decided **before** the
  handler runs, so nothing is written; 502 and 504 are a gateway that lost the upstream's
  answer, so like hangs and drops the handler may have run first (``after_write_ratio``).
- ``throttle_rate`` / ``retry_after_s``: a 429 with ``Retry-After: retry_after_s`` at random,
  also before the handler (a flaky upstream limit; the token bucket above cannot hold a
  steady share of 429s against a client that slows down when throttled).
- ``latency_ms`` + ``jitter_ms``: added delay (uniform jitter in [0, jitter_ms]).
- ``hang_rate`` / ``hang_s``: the request hangs ``hang_s`` seconds (default 60, longer than
  any sane client timeout) or until the client goes away.
- ``drop_rate``: the connection is dropped mid-response.
- ``malformed_rate``: 200 with a truncated JSON body; the handler **did** run.
- ``after_write_ratio``: for hangs, drops and 502/504 errors, the chance (default 0.5) that
  the handler runs first, so a write is applied and only the reply is lost (the ambiguous
  case).

One uniform draw per request picks at most one of error/throttle/hang/drop/malformed
(cumulative rates, so they must sum to at most 1); a hang, drop or 502/504 then draws
before/after; jitter draws once more. Dice are only rolled for a vendor whose rates or jitter
are non-zero, so ids in a fault-free sandbox depend on the seed and the writes alone.

What a client sees for drops and hangs: the layer starts a response whose
``Content-Length`` exceeds what it sends, then raises ``InjectedConnectionDrop`` (an
``httpx.RemoteProtocolError``) or, when ``hang_s`` runs out, ``InjectedHangTimeout`` (an
``httpx.ReadTimeout``). Under uvicorn the raise makes the server close the socket, so a
real client gets ``httpx.RemoteProtocolError`` (or its own ``ReadTimeout`` while hanging).
In-process, ``httpx.ASGITransport`` re-raises the app's exception, so the client gets the
very same httpx exception types, with ``.request`` set.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sandbox._random import SandboxRandom
from sandbox._types import JSON, VENDORS, Monotonic, Vendor

GATEWAY = frozenset({502, 504})  # error statuses a proxy sends when the upstream's answer is lost
FaultKind = Literal["rate_limit", "error", "throttle", "hang", "drop", "malformed"]
# What the per-request die can pick, in the order of `FaultSettings.rates`.
_DICE: tuple[FaultKind, ...] = ("error", "throttle", "hang", "drop", "malformed")


class FaultSettings(BaseModel):
    """One vendor's fault settings (``PUT /_sandbox/faults`` takes the same fields)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rate_limit_per_s: float | None = Field(default=None, gt=0)
    error_rate: float = Field(default=0.0, ge=0, le=1)
    error_status: int = Field(default=500, ge=500, le=599)
    throttle_rate: float = Field(default=0.0, ge=0, le=1)
    retry_after_s: int = Field(default=1, ge=0)
    latency_ms: float = Field(default=0.0, ge=0)
    jitter_ms: float = Field(default=0.0, ge=0)
    hang_rate: float = Field(default=0.0, ge=0, le=1)
    hang_s: float = Field(default=60.0, gt=0)
    drop_rate: float = Field(default=0.0, ge=0, le=1)
    malformed_rate: float = Field(default=0.0, ge=0, le=1)
    after_write_ratio: float = Field(default=0.5, ge=0, le=1)

    @model_validator(mode="after")
    def _rates_fit(self) -> FaultSettings:
        if sum(self.rates) > 1 + 1e-9:
            raise ValueError(
                "error_rate + throttle_rate + hang_rate + drop_rate + malformed_rate exceeds 1"
            )
        return self

    @property
    def rolls_dice(self) -> bool:
        """Whether a request needs random draws."""
        return any(self.rates) or self.jitter_ms > 0

    @property
    def rates(self) -> tuple[float, ...]:
        """The dice's rates, in the order they are cumulated (`_DICE`)."""
        return (
            self.error_rate,
            self.throttle_rate,
            self.hang_rate,
            self.drop_rate,
            self.malformed_rate,
        )


class InjectedConnectionDrop(httpx.RemoteProtocolError):
    """Raised by the sandbox to drop a connection (what a real client would have seen)."""


class InjectedHangTimeout(httpx.ReadTimeout):
    """Raised when an injected hang runs out (in-process clients have no read timeout)."""


INJECTED = (InjectedConnectionDrop, InjectedHangTimeout)


@dataclass(frozen=True)
class Decision:
    """What to do to one request."""

    kind: FaultKind | None = None
    after_write: bool = False
    delay_s: float = 0.0


class TokenBucket:
    """A classic token bucket: ``rate`` tokens a second, burst ``max(1, rate)``."""

    def __init__(self, rate: float, monotonic: Monotonic) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self._monotonic = monotonic
        self._last = monotonic()

    def take(self) -> float | None:
        """None when a token was taken, else the seconds until one is available."""
        now = self._monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self._last) * self.rate)
        self._last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return (1 - self.tokens) / self.rate


class FaultInjector:
    """Per-vendor fault settings, rate limiters and dice of one sandbox app."""

    def __init__(
        self,
        rng: SandboxRandom,
        monotonic: Monotonic,
        initial: Mapping[Vendor, FaultSettings] | None = None,
    ) -> None:
        self._rng = rng
        self._monotonic = monotonic
        self._initial = {v: (initial or {}).get(v, FaultSettings()) for v in VENDORS}
        self._settings: dict[Vendor, FaultSettings] = {}
        self._buckets: dict[Vendor, TokenBucket | None] = {}
        self.reset()

    def reset(self) -> None:
        """Back to the settings the app was created with; full buckets."""
        for vendor in VENDORS:
            self.configure(vendor, self._initial[vendor])

    def configure(self, vendor: Vendor, settings: FaultSettings) -> None:
        """Replace one vendor's settings (its rate limiter starts full)."""
        self._settings[vendor] = settings
        rate = settings.rate_limit_per_s
        self._buckets[vendor] = None if rate is None else TokenBucket(rate, self._monotonic)

    def settings(self, vendor: Vendor) -> FaultSettings:
        """One vendor's current settings."""
        return self._settings[vendor]

    def snapshot(self) -> JSON:
        """Every vendor's settings as JSON."""
        return {vendor: self._settings[vendor].model_dump() for vendor in VENDORS}

    def throttle(self, vendor: Vendor) -> int | None:
        """None when the request may pass, else the ``Retry-After`` seconds."""
        bucket = self._buckets[vendor]
        wait = None if bucket is None else bucket.take()
        return None if wait is None else max(1, math.ceil(wait))

    def decide(self, vendor: Vendor) -> Decision:
        """Roll the dice for one request."""
        settings = self._settings[vendor]
        if not settings.rolls_dice:
            return Decision(delay_s=settings.latency_ms / 1000)
        kind = self._pick_kind(settings, self._rng.random())
        lost = kind in ("hang", "drop") or (kind == "error" and settings.error_status in GATEWAY)
        after = lost and self._rng.random() < settings.after_write_ratio
        jitter = self._rng.uniform(0, settings.jitter_ms) if settings.jitter_ms else 0.0
        return Decision(kind, after or kind == "malformed", (settings.latency_ms + jitter) / 1000)

    @staticmethod
    def _pick_kind(settings: FaultSettings, draw: float) -> FaultKind | None:
        edge = 0.0
        for kind, rate in zip(_DICE, settings.rates, strict=True):
            edge += rate
            if draw < edge:
                return kind
        return None
