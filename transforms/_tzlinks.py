"""IANA time zone names: which are canonical, and the current name of every legacy one.

Read from the installed `tzdata` package at first use and cached, so a `tzdata` upgrade
upgrades the tables.

The rule. A name is canonical when the tz database keeps it as a place: a Zone line of
`tzdata.zi`, or a name listed in `zone.tab` or `zone1970.tab`. `zone.tab` lists every country's
places, including those IANA has merged into another zone since 2013: `Europe/Amsterdam` is a
link to `Europe/Brussels` but stays Amsterdam, as a Dutch analyst expects. Any other name is a
link only, which IANA keeps (in its `backward` file) for old spellings (`Asia/Calcutta`,
`US/Eastern`, `Europe/Kiev`) and for places that duplicate another since 1970
(`America/Montreal`): it becomes the canonical name its link leads to, following links until
one is canonical.

`tzdata.zi` never links to a link. Where IANA would have (an old spelling of a merged place:
`Africa/Asmera`, Eritrea's `Africa/Asmara`, itself a link to `Africa/Nairobi`), `backward`
links to the final zone and names the intended target in a `#= ` comment, which `tzdata.zi`
drops. `_INTENDED` restores those comments. Each is followed only while the installed data
agrees (the intended target leads to the same zone), so a `tzdata` release that changes the
link wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

__all__ = ["canonical_zones", "current_zones", "legacy_zones", "tz_links"]

# `#= TARGET1` comments of IANA's `backward` (tzdb 2022f and later): link name -> intended target.
_INTENDED = {
    "Africa/Asmera": "Africa/Asmara",
    "America/Virgin": "America/St_Thomas",
    "Asia/Chungking": "Asia/Chongqing",
    "Australia/ACT": "Australia/Canberra",
    "Brazil/Acre": "America/Porto_Acre",
    "Iceland": "Atlantic/Reykjavik",
    "Navajo": "America/Shiprock",
    "Pacific/Ponape": "Pacific/Pohnpei",
    "Pacific/Truk": "Pacific/Chuuk",
}


def _zoneinfo_text(name: str) -> str:
    return resources.files("tzdata").joinpath("zoneinfo", name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def canonical_zones() -> frozenset[str]:
    """Zones the tz database names as zones (Z lines) or lists for a country (zone.tab)."""
    lines = _zoneinfo_text("tzdata.zi").splitlines()
    zones = {line.split()[1] for line in lines if line.startswith("Z ")}
    for table in ("zone.tab", "zone1970.tab"):
        for line in _zoneinfo_text(table).splitlines():
            if line and not line.startswith("#"):
                zones.add(line.split("\t")[2])
    return frozenset(zones)


@lru_cache(maxsize=1)
def tz_links() -> dict[str, str]:
    """Link name -> target, as the installed `tzdata.zi` has them (`L target name` lines)."""
    rows = (line.split() for line in _zoneinfo_text("tzdata.zi").splitlines())
    return {parts[2]: parts[1] for parts in rows if parts[:1] == ["L"]}


@lru_cache(maxsize=1)
def legacy_zones() -> dict[str, str]:
    """Every link name that is not canonical -> the canonical name it stands for.

    >>> legacy_zones()["Asia/Calcutta"], "Europe/Amsterdam" in legacy_zones()
    ('Asia/Kolkata', False)
    """
    canonical, links = canonical_zones(), tz_links()
    targets = {**links, **_agreed_intentions(links)}
    renamed = {}
    for name in links:
        if name in canonical:
            continue
        target, seen = targets[name], {name}
        while target not in canonical and target in targets and target not in seen:
            seen.add(target)
            target = targets[target]
        renamed[name] = target
    return renamed


def _agreed_intentions(links: dict[str, str]) -> dict[str, str]:
    """The `_INTENDED` targets that lead to the zone the installed link leads to."""
    return {
        name: intended
        for name, intended in _INTENDED.items()
        if name in links and _final(intended, links) == _final(name, links)
    }


def _final(name: str, links: dict[str, str]) -> str:
    """The zone a name's links end at."""
    seen = {name}
    while name in links and links[name] not in seen:
        name = links[name]
        seen.add(name)
    return name


def current_zones(zones: Iterable[str]) -> list[str]:
    """Zone names with legacy ones renamed (`legacy_zones`), in order, without repeats.

    >>> current_zones(["Asia/Calcutta", "Asia/Kolkata", "Europe/Amsterdam"])
    ['Asia/Kolkata', 'Europe/Amsterdam']
    """
    renamed = legacy_zones()
    return list(dict.fromkeys(renamed.get(zone, zone) for zone in zones))
