"""Canonical time zone names: the rule (`transforms._tzlinks`) against the installed tzdata,
and every zone libphonenumber can name."""

from __future__ import annotations

import zoneinfo

import pytest
from phonenumbers.timezone import UNKNOWN_TIMEZONE
from phonenumbers.tzdata import TIMEZONE_DATA

from transforms._phone_meta import zone_prefixes
from transforms._tzlinks import (
    _INTENDED,
    _agreed_intentions,
    _final,
    canonical_zones,
    current_zones,
    legacy_zones,
    tz_links,
)


@pytest.mark.parametrize(
    ("legacy", "current"),
    [
        ("Asia/Calcutta", "Asia/Kolkata"),
        ("Asia/Saigon", "Asia/Ho_Chi_Minh"),
        ("Asia/Katmandu", "Asia/Kathmandu"),
        ("America/Buenos_Aires", "America/Argentina/Buenos_Aires"),
        ("Europe/Kiev", "Europe/Kyiv"),
        ("Asia/Rangoon", "Asia/Yangon"),
        ("US/Eastern", "America/New_York"),
        ("America/Montreal", "America/Toronto"),  # a place that duplicates another since 1970
        ("UTC", "Etc/UTC"),
        # IANA's `#=` targets, which tzdata.zi drops: the place, not the zone it merged into
        ("Africa/Asmera", "Africa/Asmara"),
        ("Iceland", "Atlantic/Reykjavik"),
        ("Pacific/Truk", "Pacific/Chuuk"),
        # an intended target that is itself legacy: followed on to the zone
        ("Australia/ACT", "Australia/Sydney"),
    ],
)
def test_legacy_names(legacy: str, current: str) -> None:
    assert legacy_zones()[legacy] == current


@pytest.mark.parametrize(
    "kept",
    ["Europe/Amsterdam", "Europe/Oslo", "Asia/Kuala_Lumpur", "Africa/Asmara", "Europe/Berlin"],
)
def test_merged_places_and_zones_keep_their_names(kept: str) -> None:
    assert kept in canonical_zones()
    assert kept not in legacy_zones()


def test_every_link_is_either_canonical_or_renamed_to_a_canonical_zone_with_its_clock() -> None:
    links, canonical, renamed = tz_links(), canonical_zones(), legacy_zones()
    assert set(links) == (set(links) & canonical) | set(renamed)
    assert not set(renamed) & canonical
    for legacy, current in renamed.items():
        assert current in canonical, legacy
        # the same rules: renaming never changes a clock
        assert _final(legacy, links) == _final(current, links), legacy
    assert canonical <= zoneinfo.available_timezones()


def test_each_intended_target_agrees_with_the_installed_tzdata() -> None:
    """When a tzdata release changes one of these links, it wins; this says when to look."""
    assert _agreed_intentions(tz_links()) == _INTENDED


def test_current_zones_renames_in_order_without_repeats() -> None:
    assert current_zones(["Asia/Calcutta", "Asia/Kolkata", "Europe/Amsterdam"]) == [
        "Asia/Kolkata",
        "Europe/Amsterdam",
    ]


def test_every_zone_libphonenumber_names_is_canonical_once_renamed() -> None:
    named = {zone for zones in TIMEZONE_DATA.values() for zone in zones} - {UNKNOWN_TIMEZONE}
    renamed = set(current_zones(sorted(named)))
    assert renamed <= canonical_zones(), renamed - canonical_zones()
    assert "Asia/Calcutta" in named  # still libphonenumber's name: the renaming is needed
    table = {zone for zones in zone_prefixes()["zones"].to_list() for zone in zones}
    assert table == renamed
