"""The sandbox app factory and server: one FastAPI app serving Omni, Apten and Octanist.

Layout: ``/omni`` (Omni's ``/api/v1/...`` and ``/api/v0/analytics``), ``/apten/v1`` (Apten),
``/octanist/api`` (Octanist), control routes under ``/_sandbox``. Each vendor is a mounted
sub-application with its own error handlers; ``SandboxMiddleware`` wraps them all to log
requests and inject faults.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from sandbox._admin import install_admin
from sandbox._context import Sandbox
from sandbox._faults import INJECTED, FaultSettings
from sandbox._middleware import SandboxMiddleware
from sandbox._shapes import ErrorShape
from sandbox._time import system_now
from sandbox._types import VENDORS, Clock, Monotonic, Vendor
from sandbox.apten import build_apten_app
from sandbox.apten.errors import AptenErrors
from sandbox.octanist import build_octanist_app
from sandbox.octanist.errors import OctanistErrors
from sandbox.omni import build_omni_app
from sandbox.omni.errors import OmniErrors

logger = logging.getLogger(__name__)

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8900
GRACEFUL_SHUTDOWN_S = 2
FaultsArg = Mapping[str, FaultSettings | Mapping[str, Any]]


def create_app(
    db: str | Path | None = None,
    *,
    seed: int = 0,
    api_key: str = "sandbox-key",
    faults: FaultsArg | None = None,
    now: Clock | None = None,
    monotonic: Monotonic | None = None,
) -> FastAPI:
    """A sandbox app with its own state (``db=None``: in-memory SQLite; a path: a file).

    ``faults`` maps vendor names to ``FaultSettings`` (or dicts of its fields); ``now`` and
    ``monotonic`` replace the wall clock (timestamps) and the rate limiters' clock.
    """
    sandbox = Sandbox.build(
        db,
        seed=seed,
        api_key=api_key,
        faults=_fault_settings(faults or {}),
        now=now or system_now,
        monotonic=monotonic or time.monotonic,
    )
    app = FastAPI(title="leadpipe sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sandbox = sandbox
    shapes = _mount_vendors(app, sandbox)
    install_admin(app, sandbox)
    app.add_middleware(
        SandboxMiddleware, faults=sandbox.faults, log=sandbox.log, shapes=shapes, now=sandbox.now
    )
    return app


def _mount_vendors(app: FastAPI, sandbox: Sandbox) -> dict[Vendor, ErrorShape]:
    octanist_shape = OctanistErrors(sandbox.rng, sandbox.now)
    app.mount("/omni", build_omni_app(sandbox.omni, lambda: sandbox.key_of("omni")))
    app.mount("/apten/v1", build_apten_app(sandbox.apten, lambda: sandbox.key_of("apten")))
    octanist = build_octanist_app(
        sandbox.octanist, lambda: sandbox.key_of("octanist"), octanist_shape
    )
    app.mount("/octanist/api", octanist)
    return {"omni": OmniErrors(), "apten": AptenErrors(), "octanist": octanist_shape}


def _fault_settings(faults: FaultsArg) -> dict[Vendor, FaultSettings]:
    unknown = set(faults) - set(VENDORS)
    if unknown:
        raise ValueError(f"unknown vendor(s) in faults: {', '.join(sorted(unknown))}")
    return {
        vendor: value if isinstance(value, FaultSettings) else FaultSettings.model_validate(value)
        for vendor, value in faults.items()
        if vendor in VENDORS
    }


class InjectedFaultLogFilter(logging.Filter):
    """Hides uvicorn's "Exception in ASGI application" for faults the sandbox injected.

    The fault layer drops connections by raising after a reply has started; uvicorn logs
    that as an application error before closing the socket. It is a fault we asked for,
    already logged by the sandbox at INFO.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, INJECTED)


def make_server(app: FastAPI, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> uvicorn.Server:
    """A uvicorn server for ``app`` (port 0 picks a free port; see ``server.servers``).

    In-flight requests (hang faults) are cancelled ``GRACEFUL_SHUTDOWN_S`` after shutdown.
    """
    config = uvicorn.Config(
        app, host=host, port=port, timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S
    )
    error_logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, InjectedFaultLogFilter) for f in error_logger.filters):
        error_logger.addFilter(InjectedFaultLogFilter())
    return uvicorn.Server(config)


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, db: str | Path | None = None) -> None:
    """Run the sandbox under uvicorn until interrupted (``leadpipe sandbox`` calls this)."""
    app = create_app(db)
    logger.info("sandbox on http://%s:%s (db: %s)", host, port, db or "in-memory")
    try:
        make_server(app, host, port).run()
    finally:
        app.state.sandbox.store.close()
