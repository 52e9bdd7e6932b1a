"""Octanist HTTP routes, mounted at ``/octanist/api``: parse, call the backend, envelope.

Endpoints: ``POST /leads`` (200, ``{id, message: "Lead added"}``), ``PATCH /leads``
(``{leadId, leadsUpdated, message}``), ``GET /leads``, ``GET /leads/{id}`` and
``POST /check`` (bare ``{"success": true}``). Auth: header ``X-API-KEY`` (401
``UNAUTHORIZED`` envelope, ``/check`` included). ``/stats`` and ``/ad-spend`` are not
emulated (404 ``NOT_FOUND``).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, FastAPI, Request
from starlette.responses import JSONResponse

from sandbox._http import api_key_check, json_object
from sandbox.octanist.backend import OctanistBackend
from sandbox.octanist.errors import (
    OctanistErrors,
    RequestIdMiddleware,
    install_handlers,
    request_id,
)


def build_octanist_app(
    backend: OctanistBackend, api_key: Callable[[], str], shape: OctanistErrors
) -> FastAPI:
    """The Octanist sub-application (to mount at ``/octanist/api``)."""
    check = api_key_check("x-api-key", api_key)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, dependencies=[Depends(check)])
    app.add_middleware(RequestIdMiddleware, shape=shape)
    install_handlers(app, shape)

    @app.post("/leads")
    async def create_lead(request: Request) -> JSONResponse:
        lead_id = backend.create(await json_object(request))
        return shape.ok({"id": lead_id, "message": "Lead added"}, request_id(request))

    @app.patch("/leads")
    async def update_lead(request: Request) -> JSONResponse:
        result = backend.update(await json_object(request))
        data = {
            "leadId": result.lead_id,
            "leadsUpdated": result.count,
            "message": "Lead updated successfully",
        }
        return shape.ok(data, request_id(request))

    @app.get("/leads")
    async def list_leads(request: Request) -> JSONResponse:
        leads, pagination = backend.list_leads(request.query_params)
        return shape.ok(leads, request_id(request), pagination=pagination)

    @app.get("/leads/{lead_id}")
    async def get_lead(lead_id: str, request: Request) -> JSONResponse:
        return shape.ok(backend.get(lead_id), request_id(request))

    @app.post("/check")
    async def check_key(request: Request) -> JSONResponse:
        rid = request_id(request)
        return JSONResponse({"success": True}, headers={"X-Request-Id": rid})

    return app
