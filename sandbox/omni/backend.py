"""Omni state and rules: create/update/get leads, checklists, tags, analytics (no HTTP here).

Choices where Omni's docs are silent (also listed in ``sandbox/ARCHITECTURE.md``):
- ``assigneeType`` ``"agent"`` is returned as ``AI_AGENT`` (``"manual"`` -> ``HUMAN_AGENT``
  is documented); new leads default to ``AI_AGENT``.
- ``tags`` come back as a list of strings, each in the spelling the workspace first saw
  (``["VIP"]`` then ``["vip"]`` keeps ``VIP``); ``null`` is rejected, ``[]`` clears.
- ``phoneNumber`` that phonenumbers cannot read as a possible number is stored as sent.
- ``timezone`` must be a tz database name (400 otherwise); when absent it is inferred from
  the phone only if the lead has no zone yet and the number maps to exactly one zone.
- ``email`` is syntax-checked (400). ``null`` or ``""`` clears a text field on update,
  except ``firstName``, which cannot be cleared. Unknown body fields are ignored.
- ``emailVerified: false`` clears ``emailVerifiedAt``; re-sending ``true`` (or
  ``didOptOut: true``) keeps the first timestamp.
- ``status`` ``IN_PROGRESS`` also clears an opt-out (it "reopens" the lead); applied after
  ``checklistItems`` when both are sent. ``REVIEW`` or an unknown status -> 400.
- ``notInterestedAt`` (documented on the update reply's lead) works like ``optOutAt``: set
  the first time the lead goes ``NOT_INTERESTED``, kept while it stays so, cleared when
  ``COMPLETED`` or ``IN_PROGRESS`` re-opens it (an opt-out leaves it alone).
- ``updatedAt`` moves only when a lead field or checklist item actually changed; every
  update still writes an ``API_ACTIVITY`` action log ("Lead updated").
- Deleted leads (only the admin API deletes) answer 404 on GET and PUT.
- ``matchingLeads`` entries are ``{id, firstName, lastName, email, phoneNumber, createdAt}``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sandbox._backend import VendorBackend, seed_timestamp
from sandbox._contacts import email_key, is_timezone, is_valid_email, to_e164, zone_for_phone
from sandbox._errors import InvalidInput, NotFound
from sandbox._fields import opt_bool, opt_list, opt_str, req_str
from sandbox._types import JSON
from sandbox.omni import _checklist as checklist

logger = logging.getLogger(__name__)

TEXT_FIELDS = ("lastName", "middleName", "businessName", "externalLeadId")
ASSIGNEE_TYPES = {"agent": "AI_AGENT", "manual": "HUMAN_AGENT"}
SETTABLE_STATUSES = frozenset({"COMPLETED", "IN_PROGRESS", "NOT_INTERESTED", "OPTED_OUT"})
SEED_EXTRAS = ("isTest", "source", "activitySummary", "externalPortalLink", "website")
SEED_STAMPS = ("optOutAt", "notInterestedAt")
MAX_ACTION_LOGS = 100


class OmniBackend(VendorBackend):
    """One Omni workspace."""

    vendor = "omni"

    def install_defaults(self) -> None:
        """Workspace id, the default checklist and an empty tag list, when missing."""
        if self.store.get_setting("omni.workspace") is None:
            self.store.put_setting("omni.workspace", self.rng.uuid4())
        if self.store.get_setting("omni.checklist") is None:
            self.store.put_setting("omni.checklist", checklist.default_template(self.rng))
        if self.store.get_setting("omni.tags") is None:
            self.store.put_setting("omni.tags", [])

    def set_checklist(self, specs: list[Any]) -> None:
        """Replace the workspace checklist template (admin); existing leads keep theirs."""
        self.store.put_setting("omni.checklist", checklist.build_template(self.rng, specs))

    def create(self, body: JSON) -> JSON:
        """``POST /api/v1/leads``: a new lead (duplicates allowed)."""
        with self.store.transaction():
            stamp = self.timestamp()
            record = self._build(body, self.new_id(), stamp)
            self._log(record, "Lead created", stamp)
            self.save(record, new=True)
        logger.debug("omni lead %s created", record["id"])
        return record

    def update(self, body: JSON) -> JSON:
        """``PUT /api/v1/leads``: partial update of the lead named by ``leadId``."""
        lead_id = req_str(body, "leadId")
        with self.store.transaction():
            record = self.get(lead_id)
            stamp = self.timestamp()
            before = _comparable(record)
            status = _requested_status(body)
            self._apply_fields(record, body, stamp)
            self._apply_checklist(record, body, stamp)
            if status is not None:
                self._transition(record, status, stamp)
            self._track_completion(record, stamp)
            if _comparable(record) != before:
                record["updatedAt"] = stamp
            self._log(record, "Lead updated", stamp)
            self.save(record)
        return record

    def get(self, lead_id: str) -> JSON:
        """A live (not deleted) lead record."""
        record = self.store.get(self.vendor, lead_id)
        if record is None or record["deletedAt"] is not None:
            raise NotFound("Lead not found")
        return record

    def status_of(self, record: JSON) -> str:
        """The computed lead status (``OPTED_OUT`` ... ``IN_PROGRESS``)."""
        if record["didOptOut"]:
            return "OPTED_OUT"
        if _not_interested(record):
            return "NOT_INTERESTED"
        return checklist.checklist_status(record["_checklist"])

    def matching(self, record: JSON) -> list[JSON]:
        """Other live leads sharing the phone number or email (none for test leads)."""
        if record["isTest"]:
            return []
        email, phone = self._keys(record)
        found = (self.store.by_email(self.vendor, email) if email else []) + (
            self.store.by_phone(self.vendor, phone) if phone else []
        )
        seen = {record["id"]}
        matches = []
        for other in found:
            if other["id"] not in seen and other["deletedAt"] is None:
                seen.add(other["id"])
                matches.append({key: other[key] for key in _MATCH_KEYS})
        return matches

    def live_leads(self) -> list[JSON]:
        """Every non-deleted, non-test lead, oldest first (the analytics population)."""
        return [r for r in self.store.scan(self.vendor) if not r["isTest"] and not r["deletedAt"]]

    def delete(self, lead_id: str) -> JSON:
        """Soft-delete a lead (admin: Omni has no delete API)."""
        with self.store.transaction():
            record = self.get(lead_id)
            record["deletedAt"] = record["updatedAt"] = self.timestamp()
            self.save(record)
        return record

    def _seed_one(self, entry: JSON) -> str:
        """Bulk-load leads: create fields plus ``id``, ``createdAt``, ``updatedAt``,
        ``status``, ``isTest``, ``deletedAt``, ``source``, ``activitySummary``, ``website``,
        and ``optOutAt``/``notInterestedAt`` (a time opts out / marks not interested, so a
        lead can be both, as two real updates would leave it)."""
        lead_id = self.seed_id(entry)
        created, updated = self.seed_times(entry, "createdAt", "updatedAt")
        record = self._build(entry, lead_id, created)
        status = _requested_status(entry)
        if status is not None:
            self._transition(record, status, created)
        for key in SEED_STAMPS:
            if entry.get(key) is not None:
                record[key] = seed_timestamp(entry[key], key)
        record["didOptOut"] = record["optOutAt"] is not None
        self._track_completion(record, created)
        for key in SEED_EXTRAS:
            if key in entry:
                record[key] = entry[key]
        record["deletedAt"] = seed_timestamp(entry.get("deletedAt"), "deletedAt")
        record["updatedAt"] = updated
        self.save(record, new=True)
        return lead_id

    def _make_id(self) -> str:
        return self.rng.uuid4()

    def _keys(self, record: JSON) -> tuple[str | None, str | None]:
        email = record.get("email")
        return (email_key(email) if email else None), record.get("phoneNumber")

    def _build(self, body: JSON, lead_id: str, stamp: str) -> JSON:
        record = self._blank(lead_id, stamp, req_str(body, "firstName"))
        self._apply_fields(record, body, stamp)
        self._apply_checklist(record, body, stamp)
        self._track_completion(record, stamp)
        return record

    def _blank(self, lead_id: str, stamp: str, first_name: str) -> JSON:
        template = self.store.get_setting("omni.checklist")
        record: JSON = dict.fromkeys(_LEAD_KEYS)
        record.update(
            id=lead_id,
            firstName=first_name,
            assigneeType="AI_AGENT",
            didOptOut=False,
            source="api",
            tags=[],
            isTest=False,
            workspaceId=self.store.get_setting("omni.workspace"),
            createdAt=stamp,
            updatedAt=stamp,
            _checklist=checklist.lead_checklist(self.rng, template),
            _completedAt=None,
            _actionLogs=[],
        )
        return record

    def _apply_fields(self, record: JSON, body: JSON, stamp: str) -> None:
        if "firstName" in body:
            record["firstName"] = req_str(body, "firstName")
        for key in TEXT_FIELDS:
            if key in body:
                record[key] = opt_str(body, key)
        if "email" in body:
            record["email"] = _email(body)
        self._apply_phone(record, body)
        if "assigneeType" in body:
            record["assigneeType"] = _assignee(body)
        if "didOptOut" in body:
            _set_opt_out(record, bool(opt_bool(body, "didOptOut")), stamp)
        if "emailVerified" in body:
            verified = bool(opt_bool(body, "emailVerified"))
            keep = record["emailVerifiedAt"] or stamp
            record["emailVerifiedAt"] = keep if verified else None
        if "tags" in body:
            record["tags"] = self._resolve_tags(body.get("tags"))

    def _apply_phone(self, record: JSON, body: JSON) -> None:
        if "phoneNumber" in body:
            raw = opt_str(body, "phoneNumber")
            record["phoneNumber"] = None if raw is None else (to_e164(raw, "US") or raw)
        if "timezone" in body:
            zone = opt_str(body, "timezone")
            if zone is not None and not is_timezone(zone):
                raise InvalidInput(f"Invalid timezone: {zone}")
            record["timezone"] = zone
        elif "phoneNumber" in body and record["timezone"] is None and record["phoneNumber"]:
            record["timezone"] = zone_for_phone(record["phoneNumber"])

    def _apply_checklist(self, record: JSON, body: JSON, stamp: str) -> None:
        if "checklistItems" in body:
            updates = opt_list(body, "checklistItems") or []
            checklist.apply_updates(record["_checklist"], updates, stamp)

    def _resolve_tags(self, value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            raise InvalidInput("tags must be an array of strings")
        known: list[str] = self.store.get_setting("omni.tags")
        canonical = {name.casefold(): name for name in known}
        chosen: dict[str, str] = {}
        for raw in value:
            name = raw.strip()
            if name and name.casefold() not in chosen:
                chosen[name.casefold()] = canonical.setdefault(name.casefold(), name)
        if len(canonical) != len(known):
            self.store.put_setting("omni.tags", list(canonical.values()))
        return list(chosen.values())

    def _transition(self, record: JSON, status: str, stamp: str) -> None:
        groups = record["_checklist"]
        if status == "COMPLETED":
            checklist.auto_skip(groups)
            _set_not_interested(record, False, stamp)
        elif status == "IN_PROGRESS":
            checklist.undo_auto_skip(groups)
            _set_not_interested(record, False, stamp)
            _set_opt_out(record, False, stamp)
        elif status == "NOT_INTERESTED":
            _set_not_interested(record, True, stamp)
        else:
            _set_opt_out(record, True, stamp)

    def _track_completion(self, record: JSON, stamp: str) -> None:
        completed = self.status_of(record) == "COMPLETED"
        if not completed:
            record["_completedAt"] = None
        elif record["_completedAt"] is None:
            record["_completedAt"] = stamp

    def _log(self, record: JSON, description: str, stamp: str) -> None:
        entry = {
            "id": self.rng.uuid4(),
            "type": "API_ACTIVITY",
            "description": description,
            "createdAt": stamp,
        }
        record["_actionLogs"] = [entry, *record["_actionLogs"]][:MAX_ACTION_LOGS]


_LEAD_KEYS = (
    "id firstName lastName middleName businessName website email phoneNumber externalLeadId "
    "externalPortalLink assigneeType didOptOut optOutAt notInterestedAt emailVerifiedAt "
    "phoneVerifiedAt source tags activitySummary isTest submittedAt workspaceId timezone "
    "createdAt updatedAt deletedAt"
).split()
_MATCH_KEYS = ("id", "firstName", "lastName", "email", "phoneNumber", "createdAt")


def public_lead(record: JSON) -> JSON:
    """The lead object as Omni returns it (internal ``_`` keys dropped; keys a record stored
    by an older sandbox lacks come back null)."""
    return {key: record.get(key) for key in _LEAD_KEYS}


def _comparable(record: JSON) -> str:
    """A snapshot of the record minus what every call touches (updatedAt, action logs)."""
    return json.dumps({k: v for k, v in record.items() if k not in ("updatedAt", "_actionLogs")})


def _requested_status(body: JSON) -> str | None:
    status = body.get("status")
    if status is None:
        return None
    if status == "REVIEW":
        raise InvalidInput("REVIEW status cannot be set through the API")
    if status not in SETTABLE_STATUSES:
        raise InvalidInput(f"Invalid status: {status}")
    opted_out = opt_bool(body, "didOptOut")
    if opted_out is not None and opted_out != (status == "OPTED_OUT"):
        raise InvalidInput(f"didOptOut={str(opted_out).lower()} contradicts status {status}")
    return str(status)


def _email(body: JSON) -> str | None:
    email = opt_str(body, "email")
    if email is not None and not is_valid_email(email):
        raise InvalidInput(f"Invalid email: {email}")
    return email


def _assignee(body: JSON) -> str:
    value = body.get("assigneeType")
    if value not in ASSIGNEE_TYPES:
        raise InvalidInput('assigneeType must be "agent" or "manual"')
    return ASSIGNEE_TYPES[value]


def _set_opt_out(record: JSON, opted_out: bool, stamp: str) -> None:
    record["didOptOut"] = opted_out
    record["optOutAt"] = (record["optOutAt"] or stamp) if opted_out else None


def _set_not_interested(record: JSON, flag: bool, stamp: str) -> None:
    record.pop("_notInterested", None)  # the flag older sandboxes stored instead
    record["notInterestedAt"] = (record.get("notInterestedAt") or stamp) if flag else None


def _not_interested(record: JSON) -> bool:
    """Set by ``notInterestedAt``, or by the ``_notInterested`` flag of an older record."""
    return record.get("notInterestedAt") is not None or bool(record.get("_notInterested"))
