"""Time zones to canonical IANA names, given or inferred from the phone.

Accepted spellings: IANA names in any case (spaces for underscores too), legacy aliases
(`Asia/Calcutta` -> `Asia/Kolkata`, `US/Eastern` -> `America/New_York`), Windows zone names
(`Eastern Standard Time` -> `America/New_York`, from tzlocal's CLDR table), HubSpot's
`america_slash_new_york` and a leading `(GMT-05:00)` label. The tables come from the installed
tz database (`tzdata`) so they follow its updates.

`timezone_source` says where a zone came from: `given`, `inferred` (the phone maps to exactly
one zone), `ambiguous` (it maps to several: nothing is stored) or `unknown`.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import polars as pl

from transforms.values import per_distinct

__all__ = ["canonical_zones", "normalise_timezones", "timezone_lookup", "zone_key"]


def zone_key(text: str | pl.Expr) -> pl.Expr:
    """The comparison form of a zone spelling: lower-case, `_` for spaces, no GMT label."""
    expr = pl.col(text) if isinstance(text, str) else text
    return (
        expr.str.strip_chars()
        .str.replace(r"^\((?:GMT|UTC)[^)]*\)\s*", "")
        .str.to_lowercase()
        .str.replace_all("_slash_", "/", literal=True)
        .str.replace_all(r"\s*/\s*", "/")
        .str.replace_all(r"\s+", "_")
    )


@lru_cache(maxsize=1)
def canonical_zones() -> frozenset[str]:
    """Zones the tz database names as zones (Z lines) or lists for a country (zone.tab)."""
    folder = resources.files("tzdata").joinpath("zoneinfo")
    zones = {line.split()[1] for line in _tzdata_lines() if line.startswith("Z ")}
    for table in ("zone.tab", "zone1970.tab"):
        for line in folder.joinpath(table).read_text(encoding="utf-8").splitlines():
            if line and not line.startswith("#"):
                zones.add(line.split("\t")[2])
    return frozenset(zones)


def _tzdata_lines() -> list[str]:
    text = resources.files("tzdata").joinpath("zoneinfo", "tzdata.zi").read_text(encoding="utf-8")
    return text.splitlines()


@lru_cache(maxsize=1)
def timezone_lookup() -> dict[str, str]:
    """`zone_key` -> canonical IANA name, for every spelling we accept."""
    from tzlocal.windows_tz import win_tz

    canonical = canonical_zones()
    links = {
        parts[2]: parts[1]
        for parts in (line.split() for line in _tzdata_lines())
        if parts[:1] == ["L"]
    }
    names: dict[str, str] = {}
    for link, target in links.items():
        while target in links and target not in canonical:
            target = links[target]
        names[link] = link if link in canonical else target
    names.update({zone: zone for zone in canonical})
    spellings = {**{w: iana for w, iana in win_tz.items() if iana in names}, **names}
    frame = pl.DataFrame(
        {"spelling": list(spellings), "canonical": [names.get(v, v) for v in spellings.values()]}
    )
    keyed = frame.with_columns(zone_key("spelling").alias("zone_key"))
    unique = keyed.unique("zone_key", keep="first", maintain_order=True)
    return dict(unique.select("zone_key", "canonical").iter_rows())


def normalise_timezones(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Canonicalise a given `timezone`, else infer it from `_phone_zones`; set `timezone_source`.

    A given zone is never overwritten. An unrecognised given zone is an error (`_err_timezone`).
    """
    zones = pl.col("_phone_zones")
    given = pl.col("timezone").is_not_null()
    lookup = timezone_lookup()
    # A file repeats a few dozen spellings: each is keyed and looked up once.
    canonical = per_distinct(
        "timezone",
        lambda v: zone_key(v).replace_strict(lookup, default=None, return_dtype=pl.String),
    )
    return (
        lf.with_columns(canonical.alias("canonical"))
        .with_columns(
            pl.when(given)
            .then(pl.col("canonical"))
            .when(zones.list.len() == 1)
            .then(zones.list.first())
            .otherwise(None)
            .alias("timezone"),
            pl.when(given)
            .then(pl.lit("given"))
            .when(zones.list.len() == 1)
            .then(pl.lit("inferred"))
            .when(zones.list.len() > 1)
            .then(pl.lit("ambiguous"))
            .otherwise(pl.lit("unknown"))
            .alias("timezone_source"),
            pl.when(given & pl.col("canonical").is_null())
            .then(
                pl.format(
                    "invalid_timezone|{} is not a known time zone (IANA or Windows name)",
                    _quoted("timezone"),
                )
            )
            .otherwise(None)
            .alias("_err_timezone"),
        )
        .drop("canonical")
    )


def _quoted(column: str) -> pl.Expr:
    return pl.lit("'") + pl.col(column).str.slice(0, 60) + pl.lit("'")
