"""Octanist state and rules: create, match-and-update, list, get (no HTTP here).

Choices where Octanist's docs are silent (also in ``sandbox/ARCHITECTURE.md``):
- create never deduplicates; string fields are stored as sent (no email/phone validation);
  ``custom`` objects/arrays/numbers are stored as compact JSON text; consent accepts booleans
  and the legacy ``"granted"``/``"denied"``; ``sessionId``, ``currency``, ``alsoQualified`` are
  accepted and ignored; new leads are ``open``, ``source: "api"``, ``value: null``.
- update matching: ``id`` (an unknown id is 404, no fall-through to email), else ``email``
  (case-insensitive), else ``phone`` (digits only, a leading ``00`` dropped); soft deletes do
  not exist. With several matches and bulk updates off: 409 ``CONFLICT`` with
  ``details {field, matches}``; with bulk on, ``leadId`` is the oldest match.
- ``note`` replaces; ``value: null`` or ``note: null`` clears; ``lossReason`` is stored only when
  the lead's status after the update is ``lost`` (and kept when it later leaves ``lost``);
  ``qualifiedAt`` is set the first time the lead becomes ``qualified`` or ``won``.
- an update with an identifier but nothing to change succeeds with no effect;
  ``updatedAt`` moves only when a field changed.
- filtering rules (an org setting, ``_filters.py``) are checked on create only, after the
  body is validated: a match is 403 ``FORBIDDEN``. Updates are not screened (the rules judge
  incoming leads; an update brings none in) and neither is the admin seed.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sandbox._backend import VendorBackend, seed_timestamp
from sandbox._contacts import email_key, phone_digits
from sandbox._errors import Conflict, Forbidden, InvalidInput, NotFound
from sandbox._fields import opt_str
from sandbox._types import JSON
from sandbox.octanist import _filters as filters
from sandbox.octanist import _query as query
from sandbox.octanist._fields import (
    CONSENT,
    CONSENT_WORDS,
    CREATE_TEXT,
    IDENTIFYING,
    LEAD_FIELDS,
    SETTABLE_STATUSES,
    SOURCES,
    STATUSES,
)

logger = logging.getLogger(__name__)

REJECTED = "Lead rejected by the organisation's filtering rules"
SEED_EXTRAS = ("status", "value", "lossReason", "conversionName", "source", "labelId")


@dataclass(frozen=True)
class Changes:
    """A validated PATCH body (``set_value``/``set_note``: whether the key was sent)."""

    status: str | None
    set_value: bool
    value: float | int | None
    set_note: bool
    note: str | None
    loss_reason: str | None


@dataclass(frozen=True)
class UpdateResult:
    """What ``PATCH /api/leads`` reports."""

    lead_id: str
    count: int


class OctanistBackend(VendorBackend):
    """One Octanist organisation."""

    vendor = "octanist"

    def install_defaults(self) -> None:
        """Bulk updates off and no filtering rules, when unset."""
        if self.store.get_setting("octanist.bulk_updates") is None:
            self.store.put_setting("octanist.bulk_updates", False)
        if self.store.get_setting("octanist.filter_rules") is None:
            self.store.put_setting("octanist.filter_rules", [])

    def set_bulk_updates(self, enabled: bool) -> None:
        """The organisation's "allow bulk updates" setting (admin only, as at Octanist)."""
        self.store.put_setting("octanist.bulk_updates", bool(enabled))

    def set_filter_rules(self, rules: Any) -> None:
        """The organisation's lead filtering rules (admin only; see ``_filters.py``)."""
        self.store.put_setting("octanist.filter_rules", filters.parse_rules(rules))

    def create(self, body: JSON) -> str:
        """``POST /api/leads``: a new lead; its id. Refused when a filtering rule matches."""
        with self.store.transaction():
            record = self._build(body, self.new_id(), self.timestamp())
            self._screen(record)
            self.save(record, new=True)
        return str(record["id"])

    def get(self, lead_id: str) -> JSON:
        """A lead record."""
        record = self.store.get(self.vendor, lead_id)
        if record is None:
            raise NotFound(f"Lead {lead_id} not found")
        return record

    def update(self, body: JSON) -> UpdateResult:
        """``PATCH /api/leads``: match by id > email > phone, apply to the match(es)."""
        changes = _changes(body)
        with self.store.transaction():
            matches = self._match(body)
            stamp = self.timestamp()
            for record in matches:
                if _apply(record, changes, stamp):
                    record["updatedAt"] = stamp
                    self.save(record)
        return UpdateResult(matches[0]["id"], len(matches))

    def list_leads(self, params: Mapping[str, str]) -> tuple[list[JSON], JSON]:
        """``GET /api/leads``: a page of leads and its pagination block."""
        parsed = query.parse_query(params)
        page = query.indexed(params, parsed)
        if page is None:
            floor = query.created_floor(params)
            candidates = (
                self.store.time_page(self.vendor, "created_at", floor, False, 2**62, 0)[0]
                if floor
                else self.store.scan(self.vendor)
            )
            return query.run(candidates, parsed)
        offset = (parsed.page - 1) * parsed.limit
        rows, total = self.store.time_page(
            self.vendor, page.column, page.lower, page.descending, parsed.limit, offset
        )
        return query.paged(rows, total, parsed)

    def _seed_one(self, entry: JSON) -> str:
        """Bulk-load leads: create fields plus ``id``, ``createdAt``, ``updatedAt``,
        ``status``, ``value``, ``lossReason``, ``qualifiedAt``, ``source``, ``labelId``..."""
        lead_id = self.seed_id(entry)
        created, updated = self.seed_times(entry, "createdAt", "updatedAt")
        record = self._build(entry, lead_id, created)
        for key in SEED_EXTRAS:
            if key in entry:
                record[key] = entry[key]
        record["value"] = _value(record["value"])
        _check_enums(record)
        record["qualifiedAt"] = seed_timestamp(entry.get("qualifiedAt"), "qualifiedAt")
        record["updatedAt"] = updated
        self.save(record, new=True)
        return lead_id

    def _make_id(self) -> str:
        return "lead_" + self.rng.hex(24)

    def _keys(self, record: JSON) -> tuple[str | None, str | None]:
        email, phone = record.get("email"), record.get("phone")
        digits = phone_digits(phone) if phone else ""
        return (email_key(email) if email else None), digits or None

    def _build(self, body: JSON, lead_id: str, stamp: str) -> JSON:
        record: JSON = dict.fromkeys(LEAD_FIELDS)
        for key in CREATE_TEXT:
            record[key] = opt_str(body, key)
        record["custom"] = _custom(body.get("custom"))
        if all(record[key] is None for key in IDENTIFYING):
            raise InvalidInput("At least one of name, email, phone or custom is required")
        for key in CONSENT:
            record[key] = _consent(body, key)
        record.update(id=lead_id, status="open", source="api", createdAt=stamp, updatedAt=stamp)
        return record

    def _screen(self, record: JSON) -> None:
        rules = self.store.get_setting("octanist.filter_rules")
        index = filters.rejecting_rule(rules, record)
        if index is not None:
            raise Forbidden(REJECTED, details={"rule": index, "conditions": rules[index]})

    def _match(self, body: JSON) -> list[JSON]:
        lead_id, email, phone = (opt_str(body, k) for k in ("id", "email", "phone"))
        if lead_id is not None:
            return [self.get(lead_id)]
        if email is not None:
            field, found = "email", self.store.by_email(self.vendor, email_key(email))
        elif phone is not None:
            field, found = "phone", self.store.by_phone(self.vendor, phone_digits(phone))
        else:
            raise InvalidInput("One of id, email or phone is required")
        if not found:
            raise NotFound(f"No lead matches this {field}")
        if len(found) > 1 and not self.store.get_setting("octanist.bulk_updates"):
            details = {"field": field, "matches": len(found)}
            raise Conflict(f"{len(found)} leads match this {field}", details=details)
        return found


def _changes(body: JSON) -> Changes:
    if all(opt_str(body, key) is None for key in ("id", "email", "phone")):
        raise InvalidInput("One of id, email or phone is required")
    status = body.get("status")
    if status is None:
        status = body.get("changedTo")
    if status is not None and status not in SETTABLE_STATUSES:
        why = "open cannot be set through the API" if status == "open" else f"invalid: {status}"
        raise InvalidInput(f"status {why}", details={"field": "status"})
    value = _value(body.get("value"))
    note = opt_str(body, "note")
    loss_reason = opt_str(body, "lossReason")
    return Changes(status, "value" in body, value, "note" in body, note, loss_reason)


def _apply(record: JSON, changes: Changes, stamp: str) -> bool:
    before = dict(record)
    if changes.status is not None:
        record["status"] = changes.status
        if changes.status in ("qualified", "won") and record["qualifiedAt"] is None:
            record["qualifiedAt"] = stamp
    if changes.set_value:
        record["value"] = changes.value
    if changes.set_note:
        record["note"] = changes.note
    if changes.loss_reason is not None and record["status"] == "lost":
        record["lossReason"] = changes.loss_reason
    return record != before


def _value(raw: Any) -> float | int | None:
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise InvalidInput("value must be a number", details={"field": "value"})
    try:
        number = float(raw.strip()) if isinstance(raw, str) else float(raw)
    except (TypeError, ValueError) as exc:
        raise InvalidInput("value must be a number", details={"field": "value"}) from exc
    if not math.isfinite(number):
        raise InvalidInput("value must be a number", details={"field": "value"})
    return int(number) if number.is_integer() else number


def _custom(raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    return raw if isinstance(raw, str) else json.dumps(raw, separators=(",", ":"))


def _consent(body: JSON, key: str) -> bool | None:
    raw = body.get(key)
    if raw is None or isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in CONSENT_WORDS:
        return CONSENT_WORDS[raw.lower()]
    raise InvalidInput(f"{key} must be a boolean", details={"field": key})


def _check_enums(record: JSON) -> None:
    if record["status"] not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
    if record["source"] not in SOURCES:
        raise InvalidInput(f"source must be one of {', '.join(SOURCES)}")
