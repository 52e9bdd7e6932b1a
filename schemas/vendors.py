"""What each vendor can do with a canonical lead: field names, capabilities, statuses.

Plain data, read from ../shared/api-contracts.md; `connectors/` turns canonical fields into
requests with these tables and refuses, before sending, anything a vendor cannot do.

    >>> OMNI.wire["phone"], APTEN.create_required, "status" in OCTANIST.creatable
    ('phoneNumber', ('first_name', 'last_name', 'phone', 'customer_profile'), False)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = ["APTEN", "OCTANIST", "OMNI", "VENDORS", "VendorSpec"]


@dataclass(frozen=True)
class VendorSpec:
    """One vendor's lead API in canonical terms."""

    name: str
    wire: Mapping[str, str]  # canonical field -> JSON key on writes
    read: Mapping[str, str]  # JSON key in a lead object -> canonical field
    creatable: frozenset[str]
    updatable: frozenset[str]
    create_required: tuple[str, ...] = ()
    # canonical status -> the value the vendor accepts; statuses not listed cannot be set
    settable_statuses: Mapping[str, str] = field(default_factory=dict)
    # the vendor's status words -> canonical status, for reads
    read_statuses: Mapping[str, str] = field(default_factory=dict)
    # identity keys the vendor stores on create and returns on reads: how a later run finds a lead
    match_keys: tuple[str, ...] = ("email", "phone")
    # the status a new lead has without asking (None: the vendor has no status at all)
    initial_status: str | None = None
    # canonical statuses the vendor stores as another one (Octanist has no "new": it is "open")
    status_aliases: Mapping[str, str] = field(default_factory=dict)
    # fields the API documents a way to clear, with the value that clears them (--blanks clear)
    clearable: Mapping[str, Any] = field(default_factory=dict)
    # a field that is only taken together with another (Octanist: lossReason needs status)
    companions: Mapping[str, str] = field(default_factory=dict)
    # fields sent once (on create, or when the file changes them since leadpipe last wrote
    # them) and never diffed against the live lead: the vendor does not echo them (a time
    # zone), or a write may append rather than replace (Octanist's note)
    send_once: frozenset[str] = frozenset()
    # a lead's status -> the statuses it may move to without --allow-reopen: leaving opted-out
    # or not-interested, or re-opening a closed lead, is never sent by default
    status_locks: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # fields that restart outreach: never sent to a lead that opted out (without --allow-reopen)
    outreach: frozenset[str] = frozenset()
    notes: str = ""

    @property
    def has_status(self) -> bool:
        return self.initial_status is not None

    @property
    def diffable(self) -> frozenset[str]:
        """Fields the vendor both updates and returns: the only ones a diff can judge."""
        return self.updatable & frozenset(self.read.values()) | (
            {"status"} if "status" in self.updatable and self.read_statuses else set()
        )

    @property
    def stored(self) -> frozenset[str]:
        """Fields the vendor keeps at all: it takes them on create or update, or returns them."""
        return self.creatable | self.updatable | frozenset(self.read.values())

    @property
    def synced(self) -> frozenset[str]:
        """Fields an update may send: the diffable ones, and the send-once ones it updates."""
        return self.diffable | (self.send_once & self.updatable)


def _frozen(mapping: dict[str, str]) -> Mapping[str, str]:
    return MappingProxyType(mapping)


_OMNI_FIELDS = frozenset(
    {
        "first_name",
        "middle_name",
        "last_name",
        "business_name",
        "email",
        "phone",
        "external_id",
        "timezone",
        "assignee_type",
        "opted_out",
        "email_verified",
        "checklist",
        "tags",
    }
)

OMNI = VendorSpec(
    name="omni",
    wire=_frozen(
        {
            "first_name": "firstName",
            "middle_name": "middleName",
            "last_name": "lastName",
            "business_name": "businessName",
            "email": "email",
            "phone": "phoneNumber",
            "external_id": "externalLeadId",
            "timezone": "timezone",
            "assignee_type": "assigneeType",
            "opted_out": "didOptOut",
            "email_verified": "emailVerified",
            "checklist": "checklistItems",
            "tags": "tags",
            "status": "status",
        }
    ),
    read=_frozen(
        {
            "id": "target_id",
            "firstName": "first_name",
            "middleName": "middle_name",
            "lastName": "last_name",
            "businessName": "business_name",
            "website": "website",
            "email": "email",
            "phoneNumber": "phone",
            "externalLeadId": "external_id",
            "timezone": "timezone",
            "didOptOut": "opted_out",
            "tags": "tags",
            "checklistItems": "checklist",  # groups beside the lead; connectors.omni flattens them
        }
    ),
    creatable=_OMNI_FIELDS,
    updatable=_OMNI_FIELDS | {"status"},  # status is update-only
    clearable=MappingProxyType({"tags": []}),  # documented: `[]` clears all tags
    create_required=("first_name",),
    # REVIEW exists but cannot be set through the API.
    settable_statuses=_frozen(
        {
            "completed": "COMPLETED",
            "in_progress": "IN_PROGRESS",
            "not_interested": "NOT_INTERESTED",
            "opted_out": "OPTED_OUT",
        }
    ),
    read_statuses=_frozen(
        {
            "COMPLETED": "completed",
            "IN_PROGRESS": "in_progress",
            "NOT_INTERESTED": "not_interested",
            "OPTED_OUT": "opted_out",
        }
    ),
    match_keys=("external_id", "email", "phone"),
    initial_status="in_progress",
    status_aliases=_frozen({"new": "in_progress", "open": "in_progress"}),
    # No documented lead object returns `timezone` (api-contracts.md 1.3).
    send_once=frozenset({"timezone"}),
    # IN_PROGRESS re-opens a lead (reverting COMPLETED's auto-skips); OPTED_OUT is consent.
    status_locks=MappingProxyType(
        {
            "opted_out": frozenset(),
            "not_interested": frozenset({"opted_out"}),
            "completed": frozenset({"opted_out", "not_interested"}),
        }
    ),
    notes="status is update-only and must agree with didOptOut; no list endpoint",
)

APTEN = VendorSpec(
    name="apten",
    wire=_frozen(
        {
            "first_name": "firstName",
            "last_name": "lastName",
            "phone": "phone",
            "customer_profile": "customerProfile",
            "email": "email",
            "timezone": "timeZone",  # create spells it timeZone; update takes `timezone`
            "custom": "additionalInfo",
            "follow_up_config": "followUpConfig",
            "follow_up_step": "followUpStep",
        }
    ),
    read=_frozen(
        {
            "id": "target_id",
            "firstName": "first_name",
            "lastName": "last_name",
            "phone": "phone",
            "email": "email",
            "customerProfile": "customer_profile",
            "externalLeadId": "external_id",
            "additionalInfo": "custom",  # an object; connectors.apten turns it into entries
            # No time zone: Apten's documented lead object does not return one.
            "isUnsubscribed": "opted_out",
        }
    ),
    creatable=frozenset(
        {"first_name", "last_name", "phone", "customer_profile", "email", "timezone", "custom"}
    ),
    updatable=frozenset({"email", "timezone", "custom", "follow_up_config", "follow_up_step"}),
    create_required=("first_name", "last_name", "phone", "customer_profile"),
    # The lead object returns neither a time zone nor its follow-up settings.
    send_once=frozenset({"timezone", "follow_up_config", "follow_up_step"}),
    # followUpStep / followUpConfig schedule messages: not to a lead that unsubscribed
    outreach=frozenset({"follow_up_config", "follow_up_step"}),
    notes="names and phone cannot be updated; no status; additionalInfo merges, null deletes",
)

OCTANIST = VendorSpec(
    name="octanist",
    wire=_frozen(
        {
            "email": "email",
            "phone": "phone",
            "note": "note",
            "website": "website",
            "custom": "custom",
            "status": "status",
            "value": "value",
            "loss_reason": "lossReason",
        }
    ),
    read=_frozen(
        {
            "id": "target_id",
            "email": "email",
            "phone": "phone",
            "status": "status",
            "value": "value",
            "note": "note",
            "lossReason": "loss_reason",
            "website": "website",
        }
    ),
    # `name` is written from first/last name; status and value only through PATCH.
    creatable=frozenset({"first_name", "last_name", "email", "phone", "note", "website", "custom"}),
    updatable=frozenset({"status", "value", "note", "loss_reason"}),
    settable_statuses=_frozen({"qualified": "qualified", "won": "won", "lost": "lost"}),
    read_statuses=_frozen({"open": "open", "qualified": "qualified", "won": "won", "lost": "lost"}),
    initial_status="open",
    status_aliases=_frozen({"new": "open", "in_progress": "open"}),
    companions=_frozen({"loss_reason": "status"}),
    send_once=frozenset({"note"}),  # "note to attach": append or replace is undocumented
    # won and lost are closed; `qualified` would re-open one (`open` cannot be set at all)
    status_locks=MappingProxyType({"won": frozenset({"lost"}), "lost": frozenset({"won"})}),
    notes="create needs name/email/phone/custom; lossReason only with lost; open is not settable",
)

VENDORS: Mapping[str, VendorSpec] = MappingProxyType({v.name: v for v in (OMNI, APTEN, OCTANIST)})
