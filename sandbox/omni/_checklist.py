"""Omni checklists: the workspace template, each lead's copy, per-code updates, lead status.

A lead gets a copy of the workspace template when it is created (groups of items, each item
``{id, checklistItemId, value, status, itemOverride, checklistItem{...}}``). Internal keys
start with ``_`` and never leave the sandbox: ``_autoSkippedFrom`` remembers what a
``COMPLETED`` transition overwrote so ``IN_PROGRESS`` can restore it, ``_updatedAt`` and
``_source`` feed the analytics breakdown.

Values are typed by the item's ``fieldType``, as Omni documents them (a string, a number, or
for addresses an object): ``NUMBER`` holds a JSON number, ``ADDRESS`` an object
``{street, city, state, postalCode, country}`` (or text), every other type text.

Choices where Omni's docs are silent:
- an unknown item ``code`` is rejected (400), not ignored;
- a non-null ``value`` sent without ``status`` marks the item ``COMPLETED``; a null value
  without status resets it to ``TODO``;
- a value is read as its type or rejected (400 naming the code and type), never stored
  half-typed: a ``NUMBER`` takes a finite number or a string that reads as one (``"5000"``,
  ``" 12.5 "``, ``"1e3"``; not ``"5,000"``) and stores integral values as integers; an
  ``ADDRESS`` takes text or an object with only the five address keys (string or null
  values); other types take text, and numbers become their JSON text (``7`` -> ``"7"``);
  booleans, arrays and other objects are rejected. The content is not checked further
  (no email, phone, date or select-option validation);
- computed status: opted out > not interested > required items all ``COMPLETED``/``SKIPPED``
  (``COMPLETED``) > required items all done or ``NEEDS_REVIEW`` (``REVIEW``) >
  ``IN_PROGRESS``.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator
from typing import Any

from sandbox._errors import InvalidInput
from sandbox._random import SandboxRandom
from sandbox._types import JSON

ITEM_STATUSES = frozenset({"TODO", "COMPLETED", "INVALID", "SKIPPED", "NEEDS_REVIEW"})
FIELD_TYPES = frozenset(
    {"TEXT", "NUMBER", "EMAIL", "PHONE", "ADDRESS", "EIN", "BANK_STATEMENT", "TOOL", "FILE"}
    | {"ID", "TAX_RETURN", "DATE", "SELECT"}
)
ADDRESS_KEYS = frozenset({"street", "city", "state", "postalCode", "country"})
DONE = frozenset({"COMPLETED", "SKIPPED"})
REVIEWABLE = DONE | {"NEEDS_REVIEW"}

DEFAULT_ITEMS: tuple[tuple[str, str, str, bool], ...] = (
    ("business_name", "Business name", "TEXT", False),
    ("tax_id", "Tax ID", "TEXT", True),
    ("loan_amount", "Loan amount", "NUMBER", True),
)


def default_template(rng: SandboxRandom) -> list[JSON]:
    """The fresh workspace checklist: one group with business_name, tax_id, loan_amount."""
    specs = [
        {"code": c, "label": lb, "fieldType": t, "isRequired": r} for c, lb, t, r in DEFAULT_ITEMS
    ]
    return build_template(rng, specs)


def build_template(rng: SandboxRandom, specs: list[Any]) -> list[JSON]:
    """A one-group template from ``[{code, label?, fieldType?, isRequired?}]`` (admin)."""
    items = [_template_item(rng, spec) for spec in specs]
    codes = [item["code"] for item in items]
    if len(set(codes)) != len(codes):
        raise InvalidInput("checklist codes must be unique")
    return [{"id": rng.uuid4(), "name": "Application", "conditions": None, "items": items}]


def _template_item(rng: SandboxRandom, spec: Any) -> JSON:
    if not isinstance(spec, dict) or not isinstance(spec.get("code"), str) or not spec["code"]:
        raise InvalidInput("each checklist item needs a string code")
    field_type = spec.get("fieldType", "TEXT")
    if field_type not in FIELD_TYPES:
        raise InvalidInput(f"unknown fieldType {field_type!r}")
    return {
        "id": rng.uuid4(),
        "code": spec["code"],
        "label": str(spec.get("label") or spec["code"]),
        "fieldType": field_type,
        "isRequired": bool(spec.get("isRequired", True)),
        "conditions": None,
        "validationRules": None,
    }


def lead_checklist(rng: SandboxRandom, template: list[JSON]) -> list[JSON]:
    """A new lead's copy of the template, every item ``TODO``."""
    return [
        {
            "id": group["id"],
            "name": group["name"],
            "conditions": group["conditions"],
            "items": [_lead_item(rng, item) for item in group["items"]],
        }
        for group in template
    ]


def _lead_item(rng: SandboxRandom, template_item: JSON) -> JSON:
    return {
        "id": rng.uuid4(),
        "checklistItemId": template_item["id"],
        "value": None,
        "status": "TODO",
        "itemOverride": None,
        "checklistItem": copy.deepcopy(template_item),
        "_autoSkippedFrom": None,
        "_updatedAt": None,
        "_source": None,
    }


def items(groups: list[JSON]) -> Iterator[JSON]:
    """Every item of every group."""
    for group in groups:
        yield from group["items"]


def public_groups(groups: list[JSON]) -> list[JSON]:
    """The groups as Omni returns them (internal keys dropped)."""
    return [{**group, "items": [_public(item) for item in group["items"]]} for group in groups]


def _public(item: JSON) -> JSON:
    return {key: value for key, value in item.items() if not key.startswith("_")}


def apply_updates(groups: list[JSON], updates: list[Any], stamp: str) -> None:
    """Upsert item values/statuses per ``code``; items not named are untouched."""
    by_code = {item["checklistItem"]["code"]: item for item in items(groups)}
    parsed = [_parse_update(entry, by_code) for entry in updates]
    for code, entry in parsed:
        _apply_one(by_code[code], entry, stamp)


def _parse_update(entry: Any, by_code: dict[str, JSON]) -> tuple[str, JSON]:
    if not isinstance(entry, dict) or not isinstance(entry.get("code"), str):
        raise InvalidInput("each checklistItems entry needs a string code")
    code = entry["code"]
    if code not in by_code:
        raise InvalidInput(f"Unknown checklist item code: {code}")
    status = entry.get("status")
    if status is not None and status not in ITEM_STATUSES:
        raise InvalidInput(f"Invalid checklist item status: {status}")
    if "value" in entry:
        entry = {**entry, "value": typed_value(entry["value"], by_code[code]["checklistItem"])}
    return code, entry


def typed_value(value: Any, spec: JSON) -> Any:
    """``value`` as an item of ``spec["fieldType"]`` holds it (``InvalidInput`` if unreadable)."""
    if value is None:
        return None
    field_type = spec["fieldType"]
    read, expected = _READERS.get(field_type, (_text, "text"))
    typed = read(value)
    if typed is None:
        raise InvalidInput(
            f"Invalid value for checklist item {spec['code']} ({field_type}): "
            f"expected {expected}, got {json.dumps(value)}"
        )
    return typed


def _number(value: Any) -> int | float | None:
    """A finite JSON number (integral ones as ``int``) from a number or numeric text."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, int):
        return value
    try:
        number = float(value)
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    return int(number) if number.is_integer() else number


def _text(value: Any) -> str | None:
    """Text as sent; a number as its JSON text."""
    if isinstance(value, str):
        return value
    return json.dumps(value) if _number(value) is not None else None


def _address(value: Any) -> str | JSON | None:
    """Text, or an object of the documented address parts (string or null values)."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict) or set(value) - ADDRESS_KEYS:
        return None
    return value if all(p is None or isinstance(p, str) for p in value.values()) else None


_READERS = {
    "NUMBER": (_number, "a number"),
    "ADDRESS": (_address, "text or an address object {street, city, state, postalCode, country}"),
}


def _apply_one(item: JSON, entry: JSON, stamp: str) -> None:
    status = entry.get("status")
    if "value" not in entry and status is None:
        return
    value = entry.get("value", item["value"])
    status = status or ("TODO" if value is None else "COMPLETED")
    if (value, status) != (item["value"], item["status"]):
        item.update(value=value, status=status, _updatedAt=stamp, _source="imported")
    item["_autoSkippedFrom"] = None


def auto_skip(groups: list[JSON]) -> None:
    """``COMPLETED`` transition: incomplete required items become ``SKIPPED``."""
    for item in items(groups):
        if item["checklistItem"]["isRequired"] and item["status"] not in REVIEWABLE:
            item["_autoSkippedFrom"] = item["status"]
            item["status"] = "SKIPPED"


def undo_auto_skip(groups: list[JSON]) -> None:
    """``IN_PROGRESS`` transition: restore what ``auto_skip`` overwrote."""
    for item in items(groups):
        if item["_autoSkippedFrom"] is not None:
            item["status"] = item["_autoSkippedFrom"]
            item["_autoSkippedFrom"] = None


def checklist_status(groups: list[JSON]) -> str:
    """``COMPLETED``, ``REVIEW`` or ``IN_PROGRESS`` from the required items alone."""
    required = {item["status"] for item in items(groups) if item["checklistItem"]["isRequired"]}
    if required <= DONE:
        return "COMPLETED"
    if required <= REVIEWABLE:
        return "REVIEW"
    return "IN_PROGRESS"
