"""Canonical fields <-> vendor JSON, refusing before sending what a vendor cannot do.

`to_wire(spec, fields, on="create"|"update")` builds a request body from canonical fields
(a `None` value is sent as JSON null: the caller decides what "clear" means). It raises
`PayloadRejected` for a field the vendor cannot write that way, a status it cannot set, or a
create missing a field the vendor requires. `from_wire(spec, lead)` reads a vendor lead
object back into canonical fields.

    >>> to_wire(OCTANIST, {"first_name": "Ann", "last_name": "Lee", "email": "a@x.io"}, on="create")
    {'email': 'a@x.io', 'name': 'Ann Lee'}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from connectors.exceptions import PayloadRejected
from schemas.vendors import APTEN, OCTANIST, OMNI, VendorSpec

__all__ = ["from_wire", "to_wire"]

Operation = Literal["create", "update"]


def to_wire(spec: VendorSpec, fields: Mapping[str, Any], *, on: Operation) -> dict[str, Any]:
    """A request body for `spec`'s vendor (see the module docstring)."""
    allowed = spec.creatable if on == "create" else spec.updatable
    refused = sorted(f for f in fields if f not in allowed)
    if refused:
        raise PayloadRejected(
            f"cannot {on} {', '.join(refused)} through the API",
            vendor=spec.name,
            code="unsupported_field",
        )
    if on == "create":
        missing = [f for f in spec.create_required if fields.get(f) in (None, "")]
        if missing:
            raise PayloadRejected(
                f"a new lead needs {', '.join(missing)}", vendor=spec.name, code="missing_required"
            )
    body = {spec.wire[f]: _value(spec, f, v) for f, v in fields.items() if f in spec.wire}
    return _VENDOR_RULES[spec.name](body, fields, on)


def _value(spec: VendorSpec, field: str, value: Any) -> Any:
    if field == "status" and value is not None:
        if value not in spec.settable_statuses:
            settable = ", ".join(spec.settable_statuses) or "none"
            raise PayloadRejected(
                f"status {value!r} cannot be set (settable: {settable})",
                vendor=spec.name,
                code="unsettable_status",
            )
        return spec.settable_statuses[value]
    return value


def _omni(body: dict[str, Any], fields: Mapping[str, Any], on: Operation) -> dict[str, Any]:
    if "checklistItems" in body and body["checklistItems"] is not None:
        body["checklistItems"] = [
            {k: v for k, v in item.items() if v is not None} for item in body["checklistItems"]
        ]
    status, opted_out = fields.get("status"), fields.get("opted_out")
    if status is not None and opted_out is not None and (status == "opted_out") != bool(opted_out):
        raise PayloadRejected(
            f"status {status!r} disagrees with opted_out={opted_out}",
            vendor="omni",
            code="status_opt_out",
        )
    return body


def _apten(body: dict[str, Any], fields: Mapping[str, Any], on: Operation) -> dict[str, Any]:
    if on == "update" and "timeZone" in body:
        body["timezone"] = body.pop("timeZone")  # create spells it timeZone, update timezone
    if "additionalInfo" in body:
        body["additionalInfo"] = _custom_object(body["additionalInfo"])
    if isinstance(body.get("followUpConfig"), str):
        try:
            body["followUpConfig"] = json.loads(body["followUpConfig"])
        except json.JSONDecodeError:
            raise PayloadRejected(
                "follow_up_config is not valid JSON", vendor="apten", code="bad_json"
            ) from None
    return body


def _octanist(body: dict[str, Any], fields: Mapping[str, Any], on: Operation) -> dict[str, Any]:
    name = " ".join(str(fields[f]) for f in ("first_name", "last_name") if fields.get(f))
    if name:
        body["name"] = name
    if "custom" in body:
        body["custom"] = json.dumps(_custom_object(body["custom"]), ensure_ascii=False)
    if "lossReason" in body and fields.get("status") != "lost":
        raise PayloadRejected(
            "loss_reason can only be sent together with status lost",
            vendor="octanist",
            code="loss_reason",
        )
    if on == "create" and not any(body.get(k) for k in ("name", "email", "phone", "custom")):
        raise PayloadRejected(
            "a new lead needs a name, email, phone or custom value",
            vendor="octanist",
            code="missing_required",
        )
    return body


def _custom_object(entries: Any) -> Any:
    """The canonical `custom` list of {key, value} as a JSON object; other shapes pass through."""
    if isinstance(entries, list):
        return {e["key"]: e["value"] for e in entries if isinstance(e, Mapping)}
    return entries


_VENDOR_RULES = {OMNI.name: _omni, APTEN.name: _apten, OCTANIST.name: _octanist}


def from_wire(
    spec: VendorSpec, lead: Mapping[str, Any], status: str | None = None
) -> dict[str, Any]:
    """Canonical fields of a vendor lead object (`status` when it travels beside the lead)."""
    fields = {canonical: lead[key] for key, canonical in spec.read.items() if key in lead}
    if "tags" in fields and isinstance(fields["tags"], list):
        fields["tags"] = [t["name"] if isinstance(t, Mapping) else str(t) for t in fields["tags"]]
    raw_status = status if status is not None else lead.get("status")
    if isinstance(raw_status, str):
        fields["status"] = spec.read_statuses.get(raw_status, raw_status.lower())
    if spec is OCTANIST and isinstance(lead.get("name"), str):
        first, _, last = lead["name"].strip().rpartition(" ")
        fields["first_name"], fields["last_name"] = (first, last) if first else (last, None)
    return fields
