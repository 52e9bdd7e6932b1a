"""Apten emulator: leads ("rooms") with unique phones, customer profiles, incremental list."""

from __future__ import annotations

from sandbox.apten.backend import AptenBackend
from sandbox.apten.routes import build_apten_app

__all__ = ["AptenBackend", "build_apten_app"]
