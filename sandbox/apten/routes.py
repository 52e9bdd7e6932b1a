"""Apten HTTP routes, mounted at ``/apten/v1``: parse, call ``AptenBackend``, shape the reply.

Endpoints: ``POST /leads/create``, ``GET /leads``, ``GET /leads/{id}``, the unofficial
``GET /leads/lookup?phone=`` (seen only in third-party code) and "Update lead", whose method
and path Apten's readable docs do not show: ``PATCH /leads/{id}``, ``PUT /leads/{id}`` and
``POST /leads/{id}/update`` are all accepted and behave identically (connectors default to
PATCH). Auth: header ``x-api-key`` (403 when wrong).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, FastAPI, Request
from starlette.responses import JSONResponse

from sandbox._http import api_key_check, json_object
from sandbox.apten.backend import AptenBackend, public_lead
from sandbox.apten.errors import AptenErrors, install_handlers

CREATED = "Lead created successfully."
UPDATED = "Lead updated successfully."


def build_apten_app(backend: AptenBackend, api_key: Callable[[], str]) -> FastAPI:
    """The Apten sub-application (to mount at ``/apten/v1``)."""
    check = api_key_check("x-api-key", api_key)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, dependencies=[Depends(check)])
    install_handlers(app, AptenErrors())

    @app.post("/leads/create")
    async def create_lead(request: Request) -> JSONResponse:
        lead_id = backend.create(await json_object(request))
        return JSONResponse({"message": CREATED, "id": lead_id})

    @app.get("/leads")
    async def list_leads(request: Request) -> JSONResponse:
        leads, token = backend.list_leads(request.query_params)
        return JSONResponse({"leads": [public_lead(r) for r in leads], "nextToken": token})

    @app.get("/leads/lookup")
    async def lookup_lead(request: Request) -> JSONResponse:
        return JSONResponse(public_lead(backend.lookup(request.query_params.get("phone"))))

    @app.get("/leads/{lead_id}")
    async def get_lead(lead_id: str) -> JSONResponse:
        return JSONResponse(public_lead(backend.get(lead_id)))

    @app.api_route("/leads/{lead_id}", methods=["PATCH", "PUT"])
    @app.post("/leads/{lead_id}/update")
    async def update_lead(lead_id: str, request: Request) -> JSONResponse:
        backend.update(lead_id, await json_object(request))
        return JSONResponse({"message": UPDATED})

    return app
