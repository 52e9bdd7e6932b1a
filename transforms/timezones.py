"""Time zones to canonical IANA names, given or inferred from the phone.

Accepted spellings: IANA names in any case (spaces for underscores too), legacy aliases
(`Asia/Calcutta` -> `Asia/Kolkata`, `US/Eastern` -> `America/New_York`), Windows zone names
(`Eastern Standard Time` -> `America/New_York`, from tzlocal's CLDR table), HubSpot's
`america_slash_new_york` and a leading `(GMT-05:00)` label. The tables come from the installed
tz database (`tzdata`) so they follow its updates.

Every zone leadpipe produces is canonical by one rule (`transforms._tzlinks`): a Zone line or a
`zone.tab`/`zone1970.tab` name is kept (`Europe/Amsterdam` stays), any other tzdata link name
becomes the canonical name it stands for (`Asia/Calcutta` -> `Asia/Kolkata`). That holds for
given zones, zones inferred from the phone (libphonenumber still says `Asia/Calcutta`) and,
through `canonical_timezone`, for the zones a target system returns.

`timezone_source` says where a zone came from: `given`, `inferred` (the phone maps to exactly
one zone), `ambiguous` (it maps to several: nothing is stored) or `unknown`.
"""

from __future__ import annotations

from functools import lru_cache

import polars as pl

from transforms._tzlinks import canonical_zones, legacy_zones
from transforms.values import per_distinct

__all__ = [
    "canonical_timezone",
    "canonical_zones",
    "normalise_timezones",
    "timezone_lookup",
    "zone_key",
]


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
def timezone_lookup() -> dict[str, str]:
    """`zone_key` -> canonical IANA name, for every spelling we accept."""
    from tzlocal.windows_tz import win_tz

    names = {**legacy_zones(), **{zone: zone for zone in canonical_zones()}}
    spellings = {**{w: iana for w, iana in win_tz.items() if iana in names}, **names}
    frame = pl.DataFrame(
        {"spelling": list(spellings), "canonical": [names[v] for v in spellings.values()]}
    )
    keyed = frame.with_columns(zone_key("spelling").alias("zone_key"))
    unique = keyed.unique("zone_key", keep="first", maintain_order=True)
    return dict(unique.select("zone_key", "canonical").iter_rows())


def canonical_timezone(text: str | pl.Expr) -> pl.Expr:
    """Any zone spelling `normalise_timezones` accepts as its canonical IANA name; a value it
    does not know stays as it is. For zones read back from a target system.

    >>> stored = pl.DataFrame({"tz": ["Asia/Calcutta", "eastern standard time", "?", None]})
    >>> stored.select(canonical_timezone("tz"))["tz"].to_list()
    ['Asia/Kolkata', 'America/New_York', '?', None]
    """
    expr = pl.col(text) if isinstance(text, str) else text
    # Each distinct value is keyed and looked up once (see `per_distinct`).
    return per_distinct(expr, lambda v: pl.coalesce(_looked_up(v), v))


def _looked_up(spelling: pl.Expr) -> pl.Expr:
    """The canonical name of a zone spelling; null where we know no such zone."""
    lookup = timezone_lookup()
    return zone_key(spelling).replace_strict(lookup, default=None, return_dtype=pl.String)


def normalise_timezones(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Canonicalise a given `timezone`, else infer it from `_phone_zones`; set `timezone_source`.

    A given zone is never overwritten. An unrecognised given zone is an error (`_err_timezone`).
    """
    zones = pl.col("_phone_zones")
    # The phone's zones are canonical (`transforms._phone_meta`) unless a phone cache written
    # before they were gave them: renaming the one zone a row infers costs next to nothing.
    inferred = zones.list.first().replace(legacy_zones())
    given = pl.col("timezone").is_not_null()
    # A file repeats a few dozen spellings: each is keyed and looked up once.
    canonical = per_distinct("timezone", _looked_up)
    return (
        lf.with_columns(canonical.alias("canonical"))
        .with_columns(
            pl.when(given)
            .then(pl.col("canonical"))
            .when(zones.list.len() == 1)
            .then(inferred)
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
