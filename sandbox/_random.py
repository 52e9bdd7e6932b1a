"""The one seeded random source of a sandbox app (fault dice, ids, request ids).

Every random choice an app makes goes through its ``SandboxRandom`` so that a given seed and
request sequence reproduce the same ids and the same faults. ``reseed`` restores the start
state (``POST /_sandbox/reset`` calls it).
"""

from __future__ import annotations

import random
import uuid


class SandboxRandom:
    """A ``random.Random`` with the id helpers the emulators need."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._rng = random.Random(seed)

    def reseed(self) -> None:
        """Start the sequence again from the app's seed."""
        self._rng.seed(self._seed)

    def random(self) -> float:
        """A float in [0, 1)."""
        return self._rng.random()

    def uniform(self, low: float, high: float) -> float:
        """A float in [low, high]."""
        return self._rng.uniform(low, high)

    def uuid4(self) -> str:
        """A UUID-shaped (version 4) string, as Omni uses for ids."""
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def hex(self, length: int) -> str:
        """``length`` lower-case hex digits."""
        return f"{self._rng.getrandbits(4 * length):0{length}x}"
