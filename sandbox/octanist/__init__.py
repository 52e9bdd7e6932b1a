"""Octanist emulator: enveloped replies, match-by-identifier updates, filtered list."""

from __future__ import annotations

from sandbox.octanist.backend import OctanistBackend
from sandbox.octanist.routes import build_octanist_app

__all__ = ["OctanistBackend", "build_octanist_app"]
