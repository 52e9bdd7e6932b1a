"""Text and value columns: names, countries, statuses, tags, money, booleans, small integers.

Each helper is a polars expression; `normalise_values` applies them to the canonical frame and
writes `_err_<field>` ("code|message") where a non-blank value cannot be understood.

    >>> pl.select(parse_money(pl.lit("5.000,00 €"))).item()
    5000.0
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import polars as pl
import pycountry

from schemas.fields import BOOLEAN_FIELDS, NAME_FIELDS
from schemas.presets import header_key, header_key_expr

__all__ = [
    "country_lookup",
    "normalise_values",
    "parse_bool",
    "parse_money",
    "per_distinct",
    "dedupe_tags",
    "split_tags",
    "squash_spaces",
    "status_word",
]

_TRUE = ("yes", "y", "true", "t", "1")
_FALSE = ("no", "n", "false", "f", "0")

# Names people write that ISO 3166 does not (keys compared as `header_key`).
COUNTRY_ALIASES: dict[str, str] = {
    "usa": "US",
    "us": "US",
    "unitedstates": "US",
    "unitedstatesofamerica": "US",
    "america": "US",
    "uk": "GB",
    "greatbritain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northernireland": "GB",
    "southkorea": "KR",
    "korea": "KR",
    "northkorea": "KP",
    "russia": "RU",
    "iran": "IR",
    "vietnam": "VN",
    "syria": "SY",
    "laos": "LA",
    "bolivia": "BO",
    "venezuela": "VE",
    "tanzania": "TZ",
    "moldova": "MD",
    "czechrepublic": "CZ",
    "holland": "NL",
    "thenetherlands": "NL",
    "uae": "AE",
    "taiwan": "TW",
    "ivorycoast": "CI",
    "macedonia": "MK",
    "turkey": "TR",
    "palestine": "PS",
    "vatican": "VA",
    "brunei": "BN",
    "capeverde": "CV",
    "swaziland": "SZ",
    "burma": "MM",
    # native names seen in exports
    "deutschland": "DE",
    "espana": "ES",
    "italia": "IT",
    "nederland": "NL",
    "sverige": "SE",
    "norge": "NO",
    "danmark": "DK",
    "suomi": "FI",
    "polska": "PL",
    "osterreich": "AT",
    "schweiz": "CH",
    "suisse": "CH",
    "svizzera": "CH",
    "belgique": "BE",
    "belgie": "BE",
    "brasil": "BR",
    "bharat": "IN",
    "nippon": "JP",
    "nihon": "JP",
    "eire": "IE",
    "hellas": "GR",
    "ceskarepublika": "CZ",
    "magyarorszag": "HU",
    "turkiye": "TR",
}


def per_distinct(text: str | pl.Expr, fold: Callable[[pl.Expr], pl.Expr]) -> pl.Expr:
    """`fold(text)`, computed once per distinct value and mapped back onto every row.

    For string work on columns that repeat a few values (countries, statuses, zones): the
    regexes run over dozens of values instead of a million rows.

    >>> pl.select(per_distinct(pl.lit("Open Deal"), status_word)).item()
    'open_deal'
    """
    expr = pl.col(text) if isinstance(text, str) else text
    distinct = expr.unique(maintain_order=True)
    return expr.replace_strict(distinct, fold(distinct))


def squash_spaces(text: str | pl.Expr) -> pl.Expr:
    """Trim and collapse runs of white space; blank becomes null."""
    # Only runs and non-space blanks are rewritten: matching every single space costs ~2x.
    expr = (
        (pl.col(text) if isinstance(text, str) else text)
        .str.replace_all(r"\s{2,}|[\s&&[^ ]]", " ")
        .str.strip_chars()
    )
    return expr.replace("", None)


@lru_cache(maxsize=1)
def country_lookup() -> dict[str, str]:
    """`header_key` of alpha-2, alpha-3, English names and aliases -> alpha-2."""
    pairs: dict[str, str] = {}
    for country in pycountry.countries:
        for attr in ("alpha_2", "alpha_3", "name", "official_name", "common_name"):
            spelling = getattr(country, attr, None)
            if spelling:
                pairs.setdefault(header_key(spelling), country.alpha_2)
    pairs.update(COUNTRY_ALIASES)
    return pairs


def status_word(text: str | pl.Expr) -> pl.Expr:
    """`In Progress` / `IN-PROGRESS` -> `in_progress`."""
    expr = pl.col(text) if isinstance(text, str) else text
    return expr.str.to_lowercase().str.replace_all(r"[^0-9a-z]+", "_").str.strip_chars("_")


def split_tags(text: str | pl.Expr) -> pl.Expr:
    """Split on `,`/`;`, trim, drop blanks (duplicates stay: see `dedupe_tags`)."""
    expr = pl.col(text) if isinstance(text, str) else text
    return expr.str.extract_all(r"[^,;\s](?:[^,;]*[^,;\s])?")


def dedupe_tags(lf: pl.LazyFrame, column: str = "tags") -> pl.LazyFrame:
    """Drop repeated tags ignoring case, keeping the first spelling: `VIP, vip` -> `[VIP]`.

    A frame step (explode, unique, implode) over the rows that have several tags: `list.eval`
    would do it per row but costs ~30x the memory on large frames.
    """
    row = "_tag_row"
    tags = lf.select(column).with_row_index(row)
    kept = (
        tags.filter(pl.col(column).list.len() > 1)
        .explode(column)
        .with_columns(pl.col(column).str.to_lowercase().alias("_tag_key"))
        .unique([row, "_tag_key"], keep="first", maintain_order=True)
        .group_by(row, maintain_order=True)
        .agg(pl.col(column).alias("_tags_kept"))
    )
    deduped = tags.join(kept, on=row, how="left", maintain_order="left").select(
        pl.coalesce("_tags_kept", column).alias(column)
    )
    # Stacked back beside the frame: a join on the whole frame would copy every column.
    order = lf.collect_schema().names()
    return pl.concat([lf.drop(column), deduped], how="horizontal").select(order)


def parse_bool(text: str | pl.Expr) -> pl.Expr:
    """yes/no, true/false, 1/0, y/n (any case) -> Boolean; anything else -> null."""
    word = (pl.col(text) if isinstance(text, str) else text).str.strip_chars().str.to_lowercase()
    return pl.when(word.is_in((*_TRUE, *_FALSE))).then(word.is_in(_TRUE))


def parse_money(text: str | pl.Expr) -> pl.Expr:
    """`$5,000.00`, `5.000,00 €`, `5000`, `(250)`, `-1 200,5` -> Float64; else null.

    The last of `.`/`,` is the decimal mark when both appear; a lone mark followed by exactly
    three digits (`5,000`, `5.000`) groups thousands; any other lone mark is decimal.
    """
    raw = (pl.col(text) if isinstance(text, str) else text).str.strip_chars()
    negative = raw.str.contains(r"^\(.*\)$") | raw.str.contains(r"^[^0-9]*-")
    body = raw.str.replace_all(r"[^0-9.,]", "")
    last_dot = body.str.find(r"\.[0-9]*$")
    last_comma = body.str.find(r",[0-9]*$")
    grouped = body.str.contains(r"^[0-9]{1,3}([.,])[0-9]{3}$") | body.str.contains(
        r"^[0-9]{1,3}([.,][0-9]{3}){2,}$"
    )
    decimal_comma = pl.coalesce(last_comma, pl.lit(-1)) > pl.coalesce(last_dot, pl.lit(-1))
    plain = (
        pl.when(grouped)
        .then(body.str.replace_all(r"[.,]", ""))
        .when(decimal_comma)
        .then(body.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True))
        .otherwise(body.str.replace_all(",", "", literal=True))
    )
    valid_shape = raw.str.contains(r"^\(?[^0-9]{0,4}-?\s*[0-9][0-9 .,]*\s*[^0-9]{0,4}\)?$")
    number = plain.cast(pl.Float64, strict=False)
    return (
        pl.when(valid_shape).then(pl.when(negative).then(-number).otherwise(number)).otherwise(None)
    )


def _error(field: str, parsed: pl.Expr, what: str) -> pl.Expr:
    """`invalid_<field>|'<raw>' is not <what>` where the raw value is set but did not parse."""
    raw = pl.col(field)
    return (
        pl.when(raw.is_not_null() & parsed.is_null())
        .then(pl.format(f"invalid_{field}|'{{}}' is not {what}", raw.str.slice(0, 60)))
        .otherwise(None)
        .alias(f"_err_{field}")
    )


def normalise_values(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Names, ids, country, status, tags, value, booleans and follow-up step, typed."""
    lookup = country_lookup()
    alpha_2 = per_distinct(
        "country",
        lambda v: header_key_expr(v).replace_strict(lookup, default=None, return_dtype=pl.String),
    )
    step = pl.col("follow_up_step").str.strip_chars().cast(pl.Int64, strict=False)
    lf = lf.with_columns(
        *[
            squash_spaces(f).alias(f)
            for f in (*NAME_FIELDS, "note", "loss_reason", "customer_profile")
        ],
        *[
            pl.col(f).str.strip_chars().alias(f)
            for f in ("target_id", "external_id", "website", "follow_up_config")
        ],
        alpha_2.alias("_alpha_2"),
    )
    return (
        lf.with_columns(
            _error("country", pl.col("_alpha_2"), "a known country (ISO code or English name)"),
            _error("value", parse_money("value"), "a number"),
            _error("follow_up_step", step, "a whole number"),
            *[_error(f, parse_bool(f), "yes/no, true/false or 1/0") for f in BOOLEAN_FIELDS],
        )
        .with_columns(
            pl.col("_alpha_2").alias("country"),
            per_distinct("status", status_word).alias("status"),
            per_distinct("assignee_type", status_word).alias("assignee_type"),
            split_tags("tags").alias("tags"),
            parse_money("value").alias("value"),
            step.alias("follow_up_step"),
            *[parse_bool(f).alias(f) for f in BOOLEAN_FIELDS],
        )
        .drop("_alpha_2")
        .pipe(dedupe_tags)
    )
