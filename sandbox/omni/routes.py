"""Omni HTTP routes, mounted at ``/omni``: parse, call ``OmniBackend``, shape the reply.

Endpoints: ``POST``/``PUT /api/v1/leads``, ``GET /api/v1/leads/{id}``,
``GET /api/v1/leads/{id}/checklist`` (a bare array of groups: an emulator choice) and
``GET /api/v0/analytics``. Replies: create ``{success, lead, checklistItems}`` (its example);
update adds the computed ``status`` and the "standardized" keys of the current update page;
get is ``{lead, status, checklistItems, documents}`` plus the same standardized keys.
Auth: header ``x-api-key``. Create and update answer 200 (Omni documents no 201).
``format=csv`` analytics answers ``{downloadUrl}`` pointing at the sandbox's own
``/_sandbox/omni/analytics.csv``.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Request
from starlette.responses import JSONResponse

from sandbox._http import api_key_check, json_object
from sandbox._types import JSON
from sandbox.omni import _analytics as analytics
from sandbox.omni._checklist import public_groups
from sandbox.omni.backend import OmniBackend, public_lead
from sandbox.omni.errors import OmniErrors, install_handlers


def build_omni_app(backend: OmniBackend, api_key: Callable[[], str]) -> FastAPI:
    """The Omni sub-application (to mount at ``/omni``)."""
    check = api_key_check("x-api-key", api_key)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, dependencies=[Depends(check)])
    install_handlers(app, OmniErrors())

    @app.post("/api/v1/leads")
    async def create_lead(request: Request) -> JSONResponse:
        record = backend.create(await json_object(request))
        return JSONResponse(_create_reply(record))

    @app.put("/api/v1/leads")
    async def update_lead(request: Request) -> JSONResponse:
        record = backend.update(await json_object(request))
        return JSONResponse(_update_reply(backend, record))

    @app.get("/api/v1/leads/{lead_id}")
    async def get_lead(lead_id: str) -> JSONResponse:
        record = backend.get(lead_id)
        return JSONResponse(_read_reply(backend, record))

    @app.get("/api/v1/leads/{lead_id}/checklist")
    async def get_checklist(lead_id: str) -> JSONResponse:
        return JSONResponse(public_groups(backend.get(lead_id)["_checklist"]))

    @app.get("/api/v0/analytics")
    async def get_analytics(request: Request) -> JSONResponse:
        query = analytics.parse_query(request.query_params)
        if query.csv:
            return JSONResponse({"downloadUrl": _csv_url(request)})
        records = analytics.in_window(backend.live_leads(), query)
        return JSONResponse(analytics.page(records, query, backend.status_of))

    return app


def _create_reply(record: JSON) -> JSON:
    return {
        "success": True,
        "lead": public_lead(record),
        "checklistItems": public_groups(record["_checklist"]),
    }


def _update_reply(backend: OmniBackend, record: JSON) -> JSON:
    return {
        "success": True,
        "status": backend.status_of(record),
        "lead": public_lead(record),
        "checklistItems": public_groups(record["_checklist"]),
        **_standardized(backend, record),
    }


def _read_reply(backend: OmniBackend, record: JSON) -> JSON:
    return {
        "lead": public_lead(record),
        "status": backend.status_of(record),
        "checklistItems": public_groups(record["_checklist"]),
        "documents": [],
        **_standardized(backend, record),
    }


def _standardized(backend: OmniBackend, record: JSON) -> JSON:
    """The keys Omni's get and update pages share. The sandbox sends no messages and runs
    no follow-ups, so the last action, next follow-up and draft awaiting approval are null."""
    return {
        "actionLogs": record["_actionLogs"],
        "matchingLeads": backend.matching(record),
        "lastAction": None,
        "nextFollowUp": None,
        "nextDraftMessage": None,
    }


def _csv_url(request: Request) -> str:
    kept = {k: v for k, v in request.query_params.items() if k in ("start", "end")}
    return str(request.url.replace(path="/_sandbox/omni/analytics.csv", query=urlencode(kept)))
