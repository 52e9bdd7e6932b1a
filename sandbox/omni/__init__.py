"""Omni ("AI Lending") emulator: leads with a workspace checklist, tags and a computed status."""

from __future__ import annotations

from sandbox.omni.backend import OmniBackend
from sandbox.omni.routes import build_omni_app

__all__ = ["OmniBackend", "build_omni_app"]
