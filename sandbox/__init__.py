"""Stateful local emulator of the Omni, Apten and Octanist lead APIs, with fault injection.

``create_app()`` gives an ASGI app for in-process tests (``httpx.ASGITransport``);
``serve()`` runs one under uvicorn. See ``sandbox/ARCHITECTURE.md``.
"""

from __future__ import annotations

from sandbox._faults import FaultSettings, InjectedConnectionDrop, InjectedHangTimeout
from sandbox.app import create_app, make_server, serve

__all__ = [
    "FaultSettings",
    "InjectedConnectionDrop",
    "InjectedHangTimeout",
    "create_app",
    "make_server",
    "serve",
]
