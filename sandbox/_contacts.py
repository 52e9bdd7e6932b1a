"""Phone, email and time-zone helpers shared by the emulators.

- ``to_e164``: phonenumbers parsing; a number without ``+`` is read with a default region.
- ``zone_for_phone``: the one IANA zone a number maps to, else None (several zones, or
  ``Etc/Unknown``, give None rather than a guess).
- ``phone_digits``: the matching key used where a vendor compares phones loosely.
- ``is_valid_email``: syntax only (no DNS), via ``email-validator``.
"""

from __future__ import annotations

import re
import zoneinfo
from functools import lru_cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import timezone as phone_timezone

_UNKNOWN_ZONE = "Etc/Unknown"


def parse_phone(raw: str, default_region: str | None) -> phonenumbers.PhoneNumber | None:
    """The parsed number when it is at least a possible number, else None."""
    region = None if raw.strip().startswith("+") else default_region
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_possible_number(number) else None


def to_e164(raw: str, default_region: str | None = "US") -> str | None:
    """``+16782319992`` for ``678-231-9992`` (region US); None when unparseable."""
    number = parse_phone(raw, default_region)
    if number is None:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def zone_for_phone(e164: str) -> str | None:
    """The single IANA zone of a number's area, or None when there are several or none."""
    number = parse_phone(e164, None)
    if number is None:
        return None
    zones = phone_timezone.time_zones_for_number(number)
    if len(zones) != 1 or zones[0] == _UNKNOWN_ZONE:
        return None
    return str(zones[0])


def phone_digits(raw: str) -> str:
    """Digits only, without a ``00`` international prefix: ``+31 6-1234`` -> ``316 1234``."""
    digits = re.sub(r"\D", "", raw)
    return digits[2:] if digits.startswith("00") else digits


def email_key(raw: str) -> str:
    """Case- and space-insensitive comparison form of an email address."""
    return raw.strip().lower()


def is_valid_email(raw: str) -> bool:
    """Whether ``raw`` is a syntactically valid email address (no deliverability check)."""
    try:
        validate_email(raw, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_timezone(name: str) -> bool:
    """Whether ``name`` is a tz database name (aliases like ``US/Eastern`` included)."""
    return name in _zones()
