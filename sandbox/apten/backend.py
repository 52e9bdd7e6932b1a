"""Apten state and rules: create, incremental list, get, update, lookup (no HTTP here).

Choices where Apten's docs are silent (also in ``sandbox/ARCHITECTURE.md``):
- phone uniqueness is organisation-wide over live leads, compared in E.164; a duplicate is
  400 ``A lead with phone number +1... already exists.`` (no id is revealed); a
  soft-deleted lead frees its number.
- an unknown ``customerProfile`` is 400; a missing required field is 400 naming them all.
- the lead object is the documented list shape; ``timeZone`` and the follow-up settings are
  stored but not returned (see ``GET /_sandbox/apten/leads/{id}``). ``lastActivityAt``
  stays null (the sandbox holds no conversations); ``isAiOn`` starts true.
- list: when both ``updatedSince`` and ``createdSince`` are sent, both filter and
  ``updatedAt`` orders; ``nextToken`` is null when the page was the last one.
- update: the docs do not show its method and path nor the casing of its time-zone key, so
  by default every candidate route and both keys are accepted; the admin settings
  ``update_route`` and ``timezone_key`` ("strict mode") pin one route (the others then do
  not exist) and one key (the other is then an unknown field, ignored).
- update: ``timezone`` and ``timeZone`` are both accepted (400 if both disagree);
  ``email: null`` clears; ``additionalInfo`` merges (null deletes a key);
  ``followUpConfig`` replaces; ``updatedAt`` moves only when a stored value changed
  (resetting the follow-up timer alone does not move it). Deleted leads are 404 on update
  but readable (``deleted: true``) on GET.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any

from sandbox._backend import VendorBackend, seed_timestamp
from sandbox._contacts import email_key, is_timezone, is_valid_email, to_e164
from sandbox._errors import InvalidInput, NotFound
from sandbox._fields import opt_bool, opt_object, opt_str
from sandbox._store import TimeColumn, TimeWindow
from sandbox._time import ts_param
from sandbox._tokens import decode_after, encode_after
from sandbox._types import JSON
from sandbox.apten import _followups as followups

logger = logging.getLogger(__name__)

REQUIRED = ("firstName", "lastName", "phone", "customerProfile")
PHONE_SHAPE = re.compile(r"^\+\d[\d\s()\-]*$")
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
FLAGS = ("hasReplied", "isHot", "isQualified", "isUnsubscribed", "isAiOn")
SEED_EXTRAS = (*FLAGS, "tags", "summary", "externalLeadId")
_PUBLIC_KEYS = (
    "id firstName lastName phone email customerProfile createdAt updatedAt lastActivityAt "
    "additionalInfo hasReplied isHot isQualified isUnsubscribed isAiOn tags summary "
    "externalLeadId deleted deletedAt"
).split()
UPDATE_ROUTES = ("PATCH /leads/{id}", "PUT /leads/{id}", "POST /leads/{id}/update")
TIMEZONE_KEYS = ("timezone", "timeZone")
DEFAULT_PROFILE = {"name": "Default", "voiceEnabled": True, "emailEnabled": True}


class AptenBackend(VendorBackend):
    """One Apten organisation."""

    vendor = "apten"

    def install_defaults(self) -> None:
        """One customer profile named ``Default`` and email enabled, when missing."""
        if self.store.get_setting("apten.profiles") is None:
            self.store.put_setting("apten.profiles", [DEFAULT_PROFILE])
        if self.store.get_setting("apten.org_email_enabled") is None:
            self.store.put_setting("apten.org_email_enabled", True)

    def set_profiles(self, profiles: Any) -> None:
        """Replace the customer profiles (admin): ``[{name, voiceEnabled?, emailEnabled?}]``."""
        if not isinstance(profiles, list) or not profiles:
            raise InvalidInput("customer_profiles must be a non-empty array")
        parsed = [_profile(entry) for entry in profiles]
        self.store.put_setting("apten.profiles", parsed)

    def set_update_route(self, route: Any) -> None:
        """Strict mode (admin): serve only this update route; None serves every candidate."""
        if route is not None and route not in UPDATE_ROUTES:
            raise InvalidInput(f"apten.update_route must be null or one of {UPDATE_ROUTES}")
        self.store.put_setting("apten.update_route", route)

    def set_timezone_key(self, key: Any) -> None:
        """Strict mode (admin): the update's only time-zone key; None accepts both."""
        if key is not None and key not in TIMEZONE_KEYS:
            raise InvalidInput(f"apten.timezone_key must be null or one of {TIMEZONE_KEYS}")
        self.store.put_setting("apten.timezone_key", key)

    def serves_update_route(self, route: str) -> bool:
        """Whether "Update lead" answers on ``route`` (one of ``UPDATE_ROUTES``)."""
        pinned = self.store.get_setting("apten.update_route")
        return pinned is None or pinned == route

    def create(self, body: JSON) -> str:
        """``POST /leads/create``: a new lead; its id."""
        with self.store.transaction():
            record = self._build(body, self.new_id(), self.timestamp())
            self.save(record, new=True)
        logger.debug("apten lead %s created", record["id"])
        return str(record["id"])

    def get(self, lead_id: str) -> JSON:
        """A lead record, soft-deleted ones included."""
        record = self.store.get(self.vendor, lead_id)
        if record is None:
            raise NotFound("Lead not found")
        return record

    def list_leads(self, params: Mapping[str, str]) -> tuple[list[JSON], str | None]:
        """``GET /leads``: one page ascending by (timestamp, id), and the next token."""
        column, window, limit = _list_query(params)
        rows = self.store.page(self.vendor, column, window, limit + 1)
        page = rows[:limit]
        if len(rows) <= limit or not page:
            return page, None
        key = "updatedAt" if column == "updated_at" else "createdAt"
        return page, encode_after("searchAfter", page[-1][key], page[-1]["id"])

    def update(self, lead_id: str, body: JSON) -> None:
        """Update lead: email, timezone, additionalInfo, follow-up settings."""
        with self.store.transaction():
            record = self.get(lead_id)
            if record["deleted"]:
                raise NotFound("Lead not found")
            before = _comparable(record)
            self._apply_update(record, body)
            if _comparable(record) != before:
                record["updatedAt"] = self.timestamp()
            self.save(record)

    def lookup(self, phone: str | None) -> JSON:
        """The live lead with this phone (the unofficial ``/leads/lookup``)."""
        if not phone:
            raise InvalidInput("phone is required")
        raw = phone.strip()
        e164 = to_e164(raw if raw.startswith("+") else "+" + raw, None)
        live = [r for r in self.store.by_phone(self.vendor, e164 or raw) if not r["deleted"]]
        if not live:
            raise NotFound("Lead not found")
        return live[0]

    def delete(self, lead_id: str) -> JSON:
        """Soft-delete (admin): ``deleted: true``, ``deletedAt`` and ``updatedAt`` now."""
        with self.store.transaction():
            record = self.get(lead_id)
            if not record["deleted"]:
                record["deleted"] = True
                record["deletedAt"] = record["updatedAt"] = self.timestamp()
                self.save(record)
        return record

    def _seed_one(self, entry: JSON) -> str:
        """Bulk-load leads: create fields plus ``id``, ``createdAt``, ``updatedAt``,
        ``deleted``, ``deletedAt``, the flags, ``tags``, ``summary``, ``externalLeadId``."""
        lead_id = self.seed_id(entry)
        created, updated = self.seed_times(entry, "createdAt", "updatedAt")
        deleted = bool(entry.get("deleted")) or entry.get("deletedAt") is not None
        record = self._build(entry, lead_id, created, check_unique=not deleted)
        for key in SEED_EXTRAS:
            if key in entry:
                record[key] = entry[key]
        if not all(isinstance(record[flag], bool) for flag in FLAGS):
            raise InvalidInput(f"{', '.join(FLAGS)} must be booleans")
        record["lastActivityAt"] = seed_timestamp(entry.get("lastActivityAt"), "lastActivityAt")
        if deleted:
            record["deleted"] = True
            record["deletedAt"] = seed_timestamp(entry.get("deletedAt"), "deletedAt") or updated
        record["updatedAt"] = updated
        self.save(record, new=True)
        return lead_id

    def _make_id(self) -> str:
        return "room_" + self.rng.hex(24)

    def _keys(self, record: JSON) -> tuple[str | None, str | None]:
        email = record.get("email")
        return (email_key(email) if email else None), record["phone"]

    def _build(self, body: JSON, lead_id: str, stamp: str, *, check_unique: bool = True) -> JSON:
        missing = [key for key in REQUIRED if opt_str(body, key) is None]
        if missing:
            raise InvalidInput(f"Missing required field(s): {', '.join(missing)}")
        phone = _phone(body)
        record: JSON = dict.fromkeys(_PUBLIC_KEYS)
        record.update(
            id=lead_id,
            firstName=opt_str(body, "firstName"),
            lastName=opt_str(body, "lastName"),
            phone=phone,
            email=_email(body.get("email")),
            customerProfile=self._profile(body)["name"],
            createdAt=stamp,
            updatedAt=stamp,
            additionalInfo=_without_nulls(_info(opt_object(body, "additionalInfo") or {})),
            tags=[],
            deleted=False,
            **dict.fromkeys(FLAGS, False),
        )
        record.update(isAiOn=True, _timeZone=_zone(body.get("timeZone"), "timeZone"))
        record.update(_followUpConfig=None, _followUpStep=None, _nextFollowUpAt=None)
        record["_useStrategiesForFollowUps"] = False
        if check_unique:
            self._check_unique(phone)
        return record

    def _profile(self, body: JSON) -> JSON:
        name = opt_str(body, "customerProfile")
        for profile in self.store.get_setting("apten.profiles"):
            if profile["name"] == name:
                return dict(profile)
        raise InvalidInput(f"Customer profile '{name}' does not exist.")

    def _check_unique(self, phone: str) -> None:
        if any(not r["deleted"] for r in self.store.by_phone(self.vendor, phone)):
            raise InvalidInput(f"A lead with phone number {phone} already exists.")

    def _apply_update(self, record: JSON, body: JSON) -> None:
        if "email" in body:
            record["email"] = _email(body["email"])
        zone = _update_zone(body, self.store.get_setting("apten.timezone_key"))
        if zone is not None:
            record["_timeZone"] = zone[0]
        if "additionalInfo" in body:
            merged = {**record["additionalInfo"], **_info(body["additionalInfo"])}
            record["additionalInfo"] = _without_nulls(merged)
        if "useStrategiesForFollowUps" in body:
            use = opt_bool(body, "useStrategiesForFollowUps")
            record["_useStrategiesForFollowUps"] = bool(use)
        self._apply_follow_ups(record, body)

    def _apply_follow_ups(self, record: JSON, body: JSON) -> None:
        has_config, has_step = "followUpConfig" in body, "followUpStep" in body
        if has_config:
            config = followups.parse_config(body["followUpConfig"])
            profile = self._profile({"customerProfile": record["customerProfile"]})
            org_email = bool(self.store.get_setting("apten.org_email_enabled"))
            followups.check_channels(config, profile, org_email)
            record["_followUpConfig"] = config
        if has_step:
            record["_followUpStep"] = followups.parse_step(body["followUpStep"])
        followups.check_strategies(record["_followUpConfig"], record["_useStrategiesForFollowUps"])
        if has_config or has_step:
            step = record["_followUpStep"]
            record["_nextFollowUpAt"] = followups.next_follow_up(
                record["_followUpConfig"], step, self.now()
            )


def public_lead(record: JSON) -> JSON:
    """The lead as Apten's list and get return it."""
    return {key: record[key] for key in _PUBLIC_KEYS}


def _comparable(record: JSON) -> str:
    """A snapshot of the stored values (the follow-up timer excluded)."""
    return json.dumps({k: v for k, v in record.items() if k != "_nextFollowUpAt"})


def _list_query(params: Mapping[str, str]) -> tuple[TimeColumn, TimeWindow, int]:
    updated = ts_param(params, "updatedSince")
    created = ts_param(params, "createdSince")
    if updated is None and created is None:
        raise InvalidInput("At least one of updatedSince or createdSince is required")
    limit = _limit(params.get("limit"))
    token = params.get("nextToken")
    after = decode_after("searchAfter", token) if token else None
    if updated is not None:
        also: tuple[TimeColumn, str] | None = None if created is None else ("created_at", created)
        return "updated_at", TimeWindow(since=updated, after=after, also_since=also), limit
    return "created_at", TimeWindow(since=created, after=after), limit


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError as exc:
        raise InvalidInput("limit must be an integer") from exc
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def _phone(body: JSON) -> str:
    raw = opt_str(body, "phone") or ""
    if not PHONE_SHAPE.match(raw):
        raise InvalidInput("phone must start with + and the country code")
    e164 = to_e164(raw, None)
    if e164 is None:
        raise InvalidInput(f"Invalid phone number: {raw}")
    return e164


def _email(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not is_valid_email(value.strip()):
        raise InvalidInput("email must be a valid email address")
    return value.strip()


def _zone(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not is_timezone(value):
        raise InvalidInput(f"{name} must be a tz database time zone")
    return value


def _update_zone(body: JSON, pinned: str | None) -> tuple[str | None] | None:
    keys = TIMEZONE_KEYS if pinned is None else (pinned,)
    given = {key: body[key] for key in keys if key in body}
    if len(set(map(str, given.values()))) > 1:
        raise InvalidInput("timezone and timeZone disagree")
    if not given:
        return None
    name, value = next(iter(given.items()))
    return (_zone(value, name),)


def _info(value: Any) -> JSON:
    if not isinstance(value, dict):
        raise InvalidInput("additionalInfo must be an object")
    return value


def _without_nulls(info: JSON) -> JSON:
    return {key: value for key, value in info.items() if value is not None}


def _profile(entry: Any) -> JSON:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise InvalidInput("each customer profile needs a string name")
    return {
        "name": entry["name"],
        "voiceEnabled": bool(entry.get("voiceEnabled", True)),
        "emailEnabled": bool(entry.get("emailEnabled", True)),
    }
