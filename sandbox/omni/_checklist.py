"""Omni checklists: the workspace template, each lead's copy, per-code updates, lead status.

A lead gets a copy of the workspace template when it is created (groups of items, each item
``{id, checklistItemId, value, status, itemOverride, checklistItem{...}}``). Internal keys
start with ``_`` and never leave the sandbox: ``_autoSkippedFrom`` remembers what a
``COMPLETED`` transition overwrote so ``IN_PROGRESS`` can restore it, ``_updatedAt`` and
``_source`` feed the analytics breakdown.

Choices where Omni's docs are silent:
- an unknown item ``code`` is rejected (400), not ignored;
- a non-null ``value`` sent without ``status`` marks the item ``COMPLETED``; a null value
  without status resets it to ``TODO``; values are stored as given (no validation);
- computed status: opted out > not interested > required items all ``COMPLETED``/``SKIPPED``
  (``COMPLETED``) > required items all done or ``NEEDS_REVIEW`` (``REVIEW``) >
  ``IN_PROGRESS``.
"""

from __future__ import annotations

import copy
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
    return code, entry


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
