"""The control plane under ``/_sandbox`` (no auth, never faulted, never in the request log).

- ``POST /reset``: fresh state (leads, settings, keys, faults, log, RNG).
- ``POST /seed``: ``{"vendor", "leads": [...]}`` -> ``{"vendor", "ids"}``.
- ``GET``/``PUT /faults``: per-vendor ``FaultSettings``; PUT replaces the named vendors'.
- ``GET /requests[?vendor=]`` (a list), ``DELETE /requests``.
- ``GET``/``PUT /settings``: ``{"omni": {"api_key", "checklist"}, "apten": {"api_key",
  "customer_profiles", "org_email_enabled", "update_route", "timezone_key"}, "octanist":
  {"api_key", "bulk_updates", "filter_rules"}}``; PUT changes only the keys it names.
- ``GET /{vendor}/leads/{id}``: the stored record, internal fields included.
- ``POST /{vendor}/leads/{id}/delete``: soft delete (Omni, Apten; Octanist has no deletes).
- ``GET /omni/analytics.csv``: where Omni's ``format=csv`` download URL points.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from pydantic import ValidationError
from starlette.responses import JSONResponse, PlainTextResponse, Response

from sandbox._context import Sandbox
from sandbox._errors import BackendError, InvalidInput
from sandbox._faults import FaultSettings
from sandbox._fields import as_object
from sandbox._shapes import status_for
from sandbox._types import JSON, VENDORS, Vendor
from sandbox.omni import _analytics as analytics

CSV_COLUMNS = ("leadId", "firstName", "lastName", "email", "phoneNumber", "createdAt")
CSV_COLUMNS_MORE = ("completedAt", "optedOutAt")


def install_admin(app: FastAPI, sandbox: Sandbox) -> None:
    """Mount the control routes and their error handler on the main app."""

    async def on_backend(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, BackendError)
        return JSONResponse({"detail": exc.message}, status_code=status_for(exc))

    app.add_exception_handler(BackendError, on_backend)
    app.include_router(_state_router(sandbox))
    app.include_router(_config_router(sandbox))
    app.include_router(_lead_router(sandbox))


def _state_router(sandbox: Sandbox) -> APIRouter:
    router = APIRouter(prefix="/_sandbox")

    @router.post("/reset")
    async def reset() -> JSON:
        sandbox.reset()
        return {"ok": True}

    @router.post("/seed")
    async def seed(request: Request) -> JSON:
        body = await _body(request)
        vendor = _vendor(body.get("vendor"))
        leads = body.get("leads")
        if not isinstance(leads, list):
            raise InvalidInput("leads must be an array")
        return {"vendor": vendor, "ids": sandbox.backend(vendor).seed(leads)}

    @router.get("/faults")
    async def get_faults() -> JSON:
        return sandbox.faults.snapshot()

    @router.put("/faults")
    async def put_faults(request: Request) -> JSON:
        parsed = {_vendor(k): _fault_settings(v) for k, v in (await _body(request)).items()}
        for vendor, settings in parsed.items():
            sandbox.faults.configure(vendor, settings)
        return sandbox.faults.snapshot()

    return router


def _config_router(sandbox: Sandbox) -> APIRouter:
    router = APIRouter(prefix="/_sandbox")

    @router.get("/requests")
    async def get_requests(vendor: str | None = None) -> list[JSON]:
        return sandbox.log.entries(None if vendor is None else _vendor(vendor))

    @router.delete("/requests")
    async def clear_requests() -> JSON:
        sandbox.log.clear()
        return {"ok": True}

    @router.get("/settings")
    async def get_settings() -> JSON:
        return _settings(sandbox)

    @router.put("/settings")
    async def put_settings(request: Request) -> JSON:
        body = await _body(request)
        with sandbox.store.transaction():
            for key, value in body.items():
                _apply_settings(sandbox, _vendor(key), as_object(value, key))
        return _settings(sandbox)

    return router


def _lead_router(sandbox: Sandbox) -> APIRouter:
    router = APIRouter(prefix="/_sandbox")

    @router.get("/omni/analytics.csv")
    async def omni_csv(request: Request) -> Response:
        params = {k: v for k, v in request.query_params.items() if k in ("start", "end")}
        query = analytics.parse_query(params)
        rows = analytics.in_window(sandbox.omni.live_leads(), query)
        return PlainTextResponse(_csv(rows), media_type="text/csv")

    @router.get("/{vendor}/leads/{lead_id}")
    async def raw_lead(vendor: str, lead_id: str) -> JSON:
        return sandbox.backend(_vendor(vendor)).raw(lead_id)

    @router.post("/{vendor}/leads/{lead_id}/delete")
    async def delete_lead(vendor: str, lead_id: str) -> JSON:
        chosen = _vendor(vendor)
        if chosen == "octanist":
            raise InvalidInput("Octanist has no deletes")
        backend = sandbox.omni if chosen == "omni" else sandbox.apten
        return backend.delete(lead_id)

    return router


async def _body(request: Request) -> JSON:
    try:
        return as_object(json.loads(await request.body()))
    except ValueError as exc:
        raise InvalidInput("body must be JSON") from exc


def _vendor(name: Any) -> Vendor:
    for vendor in VENDORS:
        if name == vendor:
            return vendor
    raise InvalidInput(f"vendor must be one of {', '.join(VENDORS)}")


def _fault_settings(value: Any) -> FaultSettings:
    try:
        return FaultSettings.model_validate(value)
    except ValidationError as exc:
        raise InvalidInput(f"invalid fault settings: {exc.errors(include_url=False)}") from exc


def _settings(sandbox: Sandbox) -> JSON:
    store = sandbox.store
    return {
        "omni": {
            "api_key": sandbox.key_of("omni"),
            "checklist": store.get_setting("omni.checklist"),
            "tags": store.get_setting("omni.tags"),
        },
        "apten": {
            "api_key": sandbox.key_of("apten"),
            "customer_profiles": store.get_setting("apten.profiles"),
            "org_email_enabled": store.get_setting("apten.org_email_enabled"),
            "update_route": store.get_setting("apten.update_route"),
            "timezone_key": store.get_setting("apten.timezone_key"),
        },
        "octanist": {
            "api_key": sandbox.key_of("octanist"),
            "bulk_updates": store.get_setting("octanist.bulk_updates"),
            "filter_rules": store.get_setting("octanist.filter_rules"),
        },
    }


def _apply_settings(sandbox: Sandbox, vendor: Vendor, values: JSON) -> None:
    for key, value in values.items():
        if key == "api_key" and isinstance(value, str) and value:
            sandbox.api_keys[vendor] = value
        elif (vendor, key) == ("omni", "checklist") and isinstance(value, list):
            sandbox.omni.set_checklist(value)
        elif (vendor, key) == ("apten", "customer_profiles"):
            sandbox.apten.set_profiles(value)
        elif (vendor, key) == ("apten", "org_email_enabled") and isinstance(value, bool):
            sandbox.store.put_setting("apten.org_email_enabled", value)
        elif (vendor, key) == ("apten", "update_route"):
            sandbox.apten.set_update_route(value)
        elif (vendor, key) == ("apten", "timezone_key"):
            sandbox.apten.set_timezone_key(value)
        elif (vendor, key) == ("octanist", "bulk_updates") and isinstance(value, bool):
            sandbox.octanist.set_bulk_updates(value)
        elif (vendor, key) == ("octanist", "filter_rules"):
            sandbox.octanist.set_filter_rules(value)
        else:
            raise InvalidInput(f"unknown or invalid setting {vendor}.{key}")


def _csv(rows: list[JSON]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*CSV_COLUMNS, *CSV_COLUMNS_MORE])
    for record in rows:
        line = analytics.breakdown_row(record)
        writer.writerow([line[k] or "" for k in (*CSV_COLUMNS, *CSV_COLUMNS_MORE)])
    return out.getvalue()
