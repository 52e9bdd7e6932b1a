"""Type aliases shared by the sandbox modules (JSON payloads, vendors, clocks)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

JSON = dict[str, Any]
"""A JSON object as parsed by :mod:`json` (vendor payloads and stored lead records)."""

Vendor = Literal["omni", "apten", "octanist"]
VENDORS: tuple[Vendor, ...] = ("omni", "apten", "octanist")

Clock = Callable[[], datetime]
"""Wall clock for timestamps: returns an aware UTC datetime (injectable for tests)."""

Monotonic = Callable[[], float]
"""Monotonic seconds for rate limiting (injectable for tests)."""
