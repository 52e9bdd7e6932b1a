"""Octanist's lead filtering rules: an organisation setting that makes create refuse leads.

Octanist documents only the outcome (403, "Lead rejected by the organisation's filtering
rules"); the rules are set in its app, not through the API, so their shape here is the
sandbox's own (admin only, ``PUT /_sandbox/settings {"octanist": {"filter_rules": [...]}}``):
a rule is an object of conditions that must all hold, and a lead is rejected when any rule
holds. Conditions:

- ``email_domain``: the email's domain equals it (case-insensitive, a leading ``@`` ignored;
  subdomains do not count);
- ``phone_prefix``: the phone's digits start with its digits (``+``, ``00``, spaces and
  punctuation ignored on both sides, as update matching compares phones).

Rules are stored as given (``GET /_sandbox/settings`` echoes them) and compared in the forms
above.
"""

from __future__ import annotations

from typing import Any

from sandbox._contacts import email_key, phone_digits
from sandbox._errors import InvalidInput
from sandbox._types import JSON

CONDITIONS = ("email_domain", "phone_prefix")


def parse_rules(value: Any) -> list[JSON]:
    """Validated ``filter_rules``: a list of non-empty objects of known conditions."""
    if not isinstance(value, list):
        raise InvalidInput("octanist.filter_rules must be an array of rules")
    for index, rule in enumerate(value):
        _check_rule(index, rule)
    return value


def _check_rule(index: int, rule: Any) -> None:
    where = f"octanist.filter_rules[{index}]"
    if not isinstance(rule, dict) or not rule or set(rule) - set(CONDITIONS):
        raise InvalidInput(f"{where} must be an object of {' and/or '.join(CONDITIONS)}")
    for name, wanted in rule.items():
        if not isinstance(wanted, str) or not _normalised(name, wanted):
            raise InvalidInput(f"{where}.{name} must be a non-empty string")


def rejecting_rule(rules: list[JSON], record: JSON) -> int | None:
    """The index of the first rule the lead matches, or None."""
    for index, rule in enumerate(rules):
        if all(_holds(name, wanted, record) for name, wanted in rule.items()):
            return index
    return None


def _holds(name: str, wanted: str, record: JSON) -> bool:
    if name == "email_domain":
        _, at, domain = (record["email"] or "").rpartition("@")
        return bool(at) and _normalised(name, domain) == _normalised(name, wanted)
    return phone_digits(record["phone"] or "").startswith(_normalised(name, wanted))


def _normalised(name: str, wanted: str) -> str:
    return email_key(wanted).lstrip("@") if name == "email_domain" else phone_digits(wanted)
