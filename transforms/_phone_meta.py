"""libphonenumber's metadata as plain tables, for the vectorised phone engine.

Everything here is read from the installed `phonenumbers` at first use and cached, never copied
by hand, so upgrading `phonenumbers` upgrades the engine. A `Plan` is one numbering plan (a
region such as `US`, or a non-geographic calling code such as `800`) reduced to what parsing and
validation read from it (`plan_for`); `plans_for_code` lists each calling code's plans in
libphonenumber's order (the main region first); `zone_prefixes` is the prefix -> time zones
map behind `phonenumbers.timezone`, with libphonenumber's legacy zone names (`Asia/Calcutta`)
renamed to IANA's current ones (`Asia/Kolkata`, see `transforms._tzlinks`).

The regular expressions are libphonenumber's own, run by polars (Rust's `regex`). Both engines
agree on the syntax the metadata uses, and the engine only feeds them ASCII; a plan whose
patterns polars refuses, or whose rules we cannot translate, is left out (its numbers go to
`phonenumbers` itself).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
import polars as pl
from phonenumbers import PhoneMetadata, PhoneNumberDesc, PhoneNumberType
from phonenumbers import phonenumberutil as util
from phonenumbers.timezone import UNKNOWN_TIMEZONE
from phonenumbers.tzdata import TIMEZONE_DATA

from transforms._tzlinks import current_zones

__all__ = [
    "Desc",
    "Plan",
    "geo_mobile_codes",
    "geo_regions",
    "main_plan",
    "plan_for",
    "plan_keys",
    "plans_for_code",
    "zone_prefixes",
]

# Types libphonenumber tries before fixed line and mobile (`_number_type_helper`); a number of
# one of these types has no geographic time zone.
_SPECIAL_TYPES = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
)
_NON_GEO = phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY
_TEMPLATE_GROUP = re.compile(r"\\(\d)")


@dataclass(frozen=True)
class Desc:
    """A number description: a national number pattern and the lengths it allows."""

    pattern: str
    lengths: tuple[int, ...]  # empty: any length


@dataclass(frozen=True)
class Plan:
    """What parsing and validating a number of one numbering plan needs."""

    key: str  # region code, or the calling code of a non-geographic plan
    country_code: int
    international_prefix: str | None
    national_prefix: str | None  # national_prefix_for_parsing
    prefix_groups: int  # capturing groups in national_prefix
    transform: str | None  # national_prefix_transform_rule, in polars' `${n}` syntax
    general: Desc
    local_lengths: tuple[int, ...]
    special: tuple[Desc, ...]  # the _SPECIAL_TYPES, merged where their lengths agree
    fixed: Desc | None
    mobile: Desc | None  # None too where it shares the fixed-line pattern
    leading_digits: str | None


@lru_cache(maxsize=None)
def plan_for(key: str) -> Plan | None:
    """The numbering plan of a region code or non-geographic calling code, if polars can run
    it. Built at first use, like `phonenumbers` loads its metadata."""
    metadata = _metadata(key)
    found = _plan(metadata) if metadata is not None else None
    return found if found is not None and _compiles(found) else None


def plan_keys() -> tuple[str, ...]:
    """The key of every numbering plan `phonenumbers` has."""
    return tuple(key for keys in plans_for_code().values() for key in keys)


@lru_cache(maxsize=1)
def geo_regions() -> frozenset[str]:
    """The region codes `phonenumbers.parse` accepts as a default region."""
    return frozenset(util.SUPPORTED_REGIONS)


@lru_cache(maxsize=1)
def plans_for_code() -> dict[int, tuple[str, ...]]:
    """Calling code -> plan keys, in the order libphonenumber tries its regions."""
    return {
        code: tuple(str(code) if region == _NON_GEO else region for region in regions)
        for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()
    }


def main_plan(code: int) -> str:
    """The plan whose metadata libphonenumber uses for a calling code's parsing and lengths."""
    return plans_for_code()[code][0]


@lru_cache(maxsize=1)
def geo_mobile_codes() -> frozenset[int]:
    """Calling codes whose mobile numbers still have a geographic time zone."""
    return frozenset(
        code
        for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE
        if phonenumbers.is_number_type_geographical(PhoneNumberType.MOBILE, code)
    )


@lru_cache(maxsize=1)
def zone_prefixes() -> pl.DataFrame:
    """`zone_prefix` (leading digits of an E.164 number, without `+`) -> `zones`: canonical
    names (`current_zones`), without libphonenumber's unknown zone; a last row with a null
    prefix holds the empty list."""
    prefixes = sorted(TIMEZONE_DATA)
    zones = [current_zones(z for z in TIMEZONE_DATA[p] if z != UNKNOWN_TIMEZONE) for p in prefixes]
    return pl.DataFrame(
        {"zone_prefix": [*prefixes, None], "zones": [*zones, []]},
        schema={"zone_prefix": pl.String, "zones": pl.List(pl.String)},
    )


def _metadata(key: str) -> PhoneMetadata | None:
    if key in util.SUPPORTED_REGIONS:
        return PhoneMetadata.metadata_for_region(key)
    if key.isdigit() and int(key) in util.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
        return PhoneMetadata.metadata_for_nongeo_region(int(key))
    return None


def _plan(metadata: PhoneMetadata) -> Plan | None:
    """The metadata as a Plan, or None where the engine cannot follow it exactly."""
    general, general_desc = _desc(metadata.general_desc), metadata.general_desc
    transform = _template(metadata.national_prefix_transform_rule)
    groups = re.compile(metadata.national_prefix_for_parsing or "").groups
    if general is None or general_desc is None or not general.lengths:
        return None
    if transform == "" or (transform and not groups):
        return None
    code = metadata.country_code
    assert code is not None
    return Plan(
        key=str(code) if metadata.id == _NON_GEO else str(metadata.id),
        country_code=code,
        international_prefix=metadata.international_prefix,
        national_prefix=metadata.national_prefix_for_parsing or None,
        prefix_groups=groups,
        transform=transform,
        general=general,
        local_lengths=tuple(general_desc.possible_length_local_only),
        special=_merged(_desc(getattr(metadata, name)) for name in _SPECIAL_TYPES),
        fixed=_desc(metadata.fixed_line),
        mobile=None if metadata.same_mobile_and_fixed_line_pattern else _desc(metadata.mobile),
        leading_digits=metadata.leading_digits,
    )


def _desc(desc: PhoneNumberDesc | None) -> Desc | None:
    """A description that can match something, else None (`_is_number_matching_desc`)."""
    if desc is None or not desc.national_number_pattern:
        return None
    lengths = tuple(desc.possible_length)
    if lengths and all(length < 0 for length in lengths):  # "no numbers of this type"
        return None
    return Desc(desc.national_number_pattern, lengths)


def _merged(descs: Iterable[Desc | None]) -> tuple[Desc, ...]:
    """One alternation per set of lengths: a number matches it iff it matches one of them."""
    by_lengths: dict[tuple[int, ...], list[str]] = {}
    for desc in descs:
        if desc is not None:
            by_lengths.setdefault(desc.lengths, []).append(desc.pattern)
    return tuple(
        Desc("|".join(f"(?:{p})" for p in patterns), lengths)
        for lengths, patterns in by_lengths.items()
    )


def _template(rule: str | None) -> str | None:
    """`re.sub` template -> polars replacement; "" when it holds anything but digits and `\\n`."""
    if not rule:
        return None
    if not re.fullmatch(r"(?:[0-9]|\\[0-9])*", rule):
        return ""
    return _TEMPLATE_GROUP.sub(lambda m: "${" + m.group(1) + "}", rule)


def _compiles(plan: Plan) -> bool:
    descs = [plan.general, *plan.special, plan.fixed, plan.mobile]
    patterns = [d.pattern for d in descs if d is not None]
    patterns += [
        p
        for p in (plan.international_prefix, plan.national_prefix, plan.leading_digits)
        if p is not None
    ]
    probe = pl.Series([""], dtype=pl.String)
    try:
        for pattern in patterns:
            probe.str.contains(f"^(?:{pattern})$")
    except pl.exceptions.PolarsError:
        return False
    return True
