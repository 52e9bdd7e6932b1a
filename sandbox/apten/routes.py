"""Apten HTTP routes, mounted at ``/apten/v1``: parse, call ``AptenBackend``, shape the reply.

Endpoints: ``POST /leads/create``, ``GET /leads``, ``GET /leads/{id}``, the unofficial
``GET /leads/lookup?phone=`` (seen only in third-party code) and "Update lead", whose method
and path Apten's readable docs do not show: ``PATCH /leads/{id}``, ``PUT /leads/{id}`` and
``POST /leads/{id}/update`` are all accepted and behave identically (connectors default to
PATCH), unless the admin setting ``apten.update_route`` pins one. The others then answer as
API Gateway answers a route it does not have, 403 ``{"message": "Missing Authentication
Token"}``, and that is decided before the key is checked, as at the gateway. Auth: header
``x-api-key`` (403 ``{"message": "Forbidden"}`` when wrong).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from sandbox._http import KeyCheck, api_key_check, json_object
from sandbox.apten.backend import UPDATE_ROUTES, AptenBackend, public_lead
from sandbox.apten.errors import AptenErrors, install_handlers

CREATED = "Lead created successfully."
UPDATED = "Lead updated successfully."


def build_apten_app(backend: AptenBackend, api_key: Callable[[], str]) -> FastAPI:
    """The Apten sub-application (to mount at ``/apten/v1``)."""
    gate = _gateway(backend, api_key_check("x-api-key", api_key))
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, dependencies=[Depends(gate)])
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

    async def update_lead(lead_id: str, request: Request) -> JSONResponse:
        backend.update(lead_id, await json_object(request))
        return JSONResponse({"message": UPDATED})

    for route in UPDATE_ROUTES:  # named by the route, so the gateway can tell them apart
        method, path = route.split(" ", 1)
        path = path.replace("{id}", "{lead_id}")
        app.add_api_route(path, update_lead, methods=[method], name=route)

    return app


def _gateway(backend: AptenBackend, check_key: KeyCheck) -> KeyCheck:
    """API Gateway's order: an update route strict mode does not serve is a routing miss
    (403 "Missing Authentication Token" via the 404 handler) before any key check."""

    async def gate(request: Request) -> None:
        route = getattr(request.scope.get("route"), "name", None)
        if route in UPDATE_ROUTES and not backend.serves_update_route(route):
            raise HTTPException(404)
        await check_key(request)

    return gate
