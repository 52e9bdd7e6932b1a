"""A token bucket per target that also slows down when the vendor answers 429, and recovers.

`acquire` waits for a token. `throttled(retry_after)` halves the rate (down to a floor) and
holds every caller until the vendor's Retry-After has passed; each success after that brings
the rate back up by a step, until it is at the profile's `rate_limit_per_s` again.
"""

from __future__ import annotations

import asyncio
import logging

from connectors._retry import Clock, SystemClock

__all__ = ["AdaptiveRateLimiter"]

logger = logging.getLogger(__name__)

_MIN_SHARE = 0.05  # never below 5 % of the configured rate
_RECOVERY_STEPS = 20  # successes needed to climb from the floor back to the configured rate


class AdaptiveRateLimiter:
    """Token bucket: `rate` tokens per second, at most `burst` banked."""

    def __init__(self, rate: float, burst: int | None = None, clock: Clock | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.configured = rate
        self.rate = rate
        self.burst = max(1, burst if burst is not None else int(rate) or 1)
        self._clock = clock or SystemClock()
        self._tokens = float(self.burst)
        self._stamp = self._clock.now()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()
        self.throttle_count = 0

    async def acquire(self) -> None:
        """Wait until a request may go out."""
        async with self._lock:
            while True:
                now = self._clock.now()
                if now < self._paused_until:
                    await self._clock.sleep(self._paused_until - now)
                    continue
                self._refill(now)
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await self._clock.sleep((1 - self._tokens) / self.rate)

    def throttled(self, retry_after: float | None) -> None:
        """The vendor said 429: slow down, and pause everyone for `retry_after` seconds."""
        self.throttle_count += 1
        self.rate = max(self.configured * _MIN_SHARE, self.rate / 2)
        self._tokens = min(self._tokens, 0.0)
        if retry_after:
            self._paused_until = max(self._paused_until, self._clock.now() + retry_after)
        logger.info(
            "rate limited: now %.2f requests/s (configured %.2f)", self.rate, self.configured
        )

    def succeeded(self) -> None:
        """A request went through: climb back towards the configured rate."""
        if self.rate < self.configured:
            self.rate = min(self.configured, self.rate + self.configured / _RECOVERY_STEPS)

    def _refill(self, now: float) -> None:
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
