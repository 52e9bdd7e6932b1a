"""Phones to E.164, with the extension, the raw text and the zones the number implies.

The cleaning that spreadsheets make necessary (numbers stored as floats, or in scientific
notation when that is exact) is vectorised. Parsing and validity follow Google's libphonenumber
(the `phonenumbers` package) exactly: `parse_phone_values` reads each distinct (cleaned value,
region) with the vectorised engine (`transforms._phone_engine`, libphonenumber's algorithm and
metadata as polars expressions) and hands the few values the engine cannot decide with
certainty to `phonenumbers` itself (`_parse_one`, also the reference the engine is tested
against). A `PhoneBook` remembers results across runs (the flow persists it), so scheduled
re-runs skip known numbers: reading them back costs less than deciding them again.

    >>> frame = pl.LazyFrame(
    ...     {"phone": ["'+1 212-555-0100 x12"], "country": [None], "phone_ext": [None]},
    ...     schema=dict.fromkeys(["phone", "country", "phone_ext"], pl.String),
    ... )
    >>> normalise_phones(frame, PhoneBook(), default_region=None).collect()["phone"].item()
    '+12125550100'
"""

from __future__ import annotations

import phonenumbers
import polars as pl
from phonenumbers import NumberParseException, PhoneNumberFormat
from phonenumbers import timezone as phone_timezone

from transforms._lookup import attach_lookup, per_value
from transforms._phone_engine import LEAST_GROUP, parse_keys

__all__ = [
    "KEY_COLUMNS",
    "PHONE_RESULT_SCHEMA",
    "PhoneBook",
    "clean_phone",
    "lost_digits",
    "normalise_phones",
    "parse_phone_values",
]

KEY_COLUMNS = ("phone_key", "region")
PHONE_RESULT_SCHEMA: dict[str, pl.DataType] = {
    "phone_key": pl.String(),
    "region": pl.String(),
    "e164": pl.String(),
    "extension": pl.String(),
    "error": pl.String(),
    "zones": pl.List(pl.String),
}

_PARSE_ERRORS = {
    NumberParseException.INVALID_COUNTRY_CODE: "the country code is missing or unknown",
    NumberParseException.NOT_A_NUMBER: "it is not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "it is too short after the international prefix",
    NumberParseException.TOO_SHORT_NSN: "it is too short",
    NumberParseException.TOO_LONG: "it is too long",
}
_POSSIBILITY = {
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "the country code is unknown",
    phonenumbers.ValidationResult.TOO_SHORT: "it is too short",
    phonenumbers.ValidationResult.TOO_LONG: "it is too long",
    phonenumbers.ValidationResult.INVALID_LENGTH: "it has an impossible length",
}
_NO_REGION = "it has no country code and the row has no country (use --default-region)"
_NO_PLAN = "no numbering plan has such a number"
_NO_ZONE = "Etc/Unknown"
_LOST_DIGITS = (
    "invalid_phone|'{}' is in scientific notation and has lost digits "
    "(format the column as text in the spreadsheet and export again)"
)


_SCIENTIFIC = r"^([1-9])\.([0-9]+)[eE]\+?([0-9]+)$"


def clean_phone(raw: str | pl.Expr) -> pl.Expr:
    """Undo what spreadsheets do to numbers; leave everything else to libphonenumber.

    `14155550100.0` -> `14155550100`; `1.4155550100E+10` -> `14155550100`. Scientific notation
    that lost digits (`4.15556E+10`) gives null: see `lost_digits`.
    """
    text = (pl.col(raw) if isinstance(raw, str) else raw).str.strip_chars()
    as_float = text.str.extract(r"^(\+?[0-9]+)\.0+$", 1)
    mantissa = text.str.extract_groups(_SCIENTIFIC)
    digits = mantissa.struct.field("2")
    exponent = mantissa.struct.field("3").cast(pl.Int64, strict=False)
    from_scientific = (
        pl.when(digits.str.len_chars() == exponent)
        .then(mantissa.struct.field("1") + digits)
        .otherwise(None)
    )
    blank = text.str.len_chars() == 0
    return (
        pl.when(lost_digits(text) | blank)
        .then(None)
        .otherwise(pl.coalesce(as_float, from_scientific, text))
    )


def lost_digits(raw: str | pl.Expr) -> pl.Expr:
    """Scientific notation whose mantissa is shorter than the number: the digits are gone."""
    text = (pl.col(raw) if isinstance(raw, str) else raw).str.strip_chars()
    mantissa = text.str.extract_groups(_SCIENTIFIC)
    digits = mantissa.struct.field("2").str.len_chars()
    return (digits < mantissa.struct.field("3").cast(pl.Int64, strict=False)).fill_null(False)


class PhoneBook:
    """Known parse results by (cleaned value, region); grows as runs resolve new numbers.

    `known` comes from the persistent cache (or is empty); `added` holds what this run
    resolved, for the flow to persist. Keyed per `phonenumbers` version by the caller.
    """

    def __init__(self, known: pl.DataFrame | None = None) -> None:
        self.known = known if known is not None else pl.DataFrame(schema=PHONE_RESULT_SCHEMA)
        self.added = pl.DataFrame(schema=PHONE_RESULT_SCHEMA)

    def resolve(self, keys: pl.DataFrame) -> pl.DataFrame:
        """Results for every distinct key, parsing only those not already known."""
        if self.known.is_empty():
            return self.parse(keys)
        unknown = keys.join(self.known, on=list(KEY_COLUMNS), how="anti", nulls_equal=True)
        fresh = self.parse(unknown)
        known = self.known.join(keys, on=list(KEY_COLUMNS), how="semi", nulls_equal=True)
        return pl.concat([known, fresh], rechunk=False)

    def parse(self, keys: pl.DataFrame) -> pl.DataFrame:
        """Parse distinct keys the caller knows to be unknown; remember the results."""
        fresh = parse_phone_values(keys)
        self.added = pl.concat([self.added, fresh], rechunk=False)
        return fresh


def parse_phone_values(keys: pl.DataFrame, *, least_group: int = LEAST_GROUP) -> pl.DataFrame:
    """Parse each (phone_key, region) row as libphonenumber does, in the order given.

    Returns PHONE_RESULT_SCHEMA: `e164` and `extension` for valid numbers, else `error` as
    "code|message"; `zones` are the tz database zones the number belongs to. The engine decides
    almost every row; `_parse_one` decides the rest, once per distinct key (for `least_group`
    see `transforms._phone_engine.parse_keys`).
    """
    found = parse_keys(keys, least_group=least_group)
    results = found.select(
        *KEY_COLUMNS,
        "e164",
        "extension",
        _error_messages(found),
        pl.col("zones").fill_null(pl.lit([], dtype=pl.List(pl.String))),
    )
    undecided = found.select(pl.arg_where(pl.col("undecided"))).to_series()
    if undecided.is_empty():
        return results
    asked = results[undecided].select(KEY_COLUMNS).unique()
    answers = per_value(asked, KEY_COLUMNS, _parse_one, PHONE_RESULT_SCHEMA)
    decided = results.with_row_index("_row").filter(~found["undecided"])
    return (
        pl.concat([decided, _rows_of(undecided, results[undecided], answers)])
        .sort("_row")
        .drop("_row")
    )


def _rows_of(rows: pl.Series, keys: pl.DataFrame, answers: pl.DataFrame) -> pl.DataFrame:
    """`answers` for each of `keys`, numbered `rows`."""
    keyed = keys.select(KEY_COLUMNS).with_columns(rows.alias("_row"))
    joined = keyed.join(answers, on=list(KEY_COLUMNS), how="left", nulls_equal=True)
    return joined.select("_row", *PHONE_RESULT_SCHEMA)


def _error_messages(found: pl.DataFrame) -> pl.Series:
    """`error` as `_parse_one` words it, composed only for the rows that failed."""
    failed = pl.col("parse_error").is_not_null() | pl.col("possibility").is_not_null()
    rows = found.select(pl.arg_where(failed)).to_series()
    messages = found[rows].select(_message()).to_series()
    blank = pl.Series("error", dtype=pl.String).extend_constant(None, found.height)
    return blank.scatter(rows, messages)


def _message() -> pl.Expr:
    key, region = pl.col("phone_key"), pl.col("region")
    parse_error = pl.col("parse_error")
    parse_reason = (
        pl.when((parse_error == NumberParseException.INVALID_COUNTRY_CODE) & region.is_null())
        .then(pl.lit(_NO_REGION))
        .otherwise(parse_error.replace_strict(_PARSE_ERRORS, return_dtype=pl.String))
    )
    invalid_reason = pl.col("possibility").replace_strict(
        _POSSIBILITY, default=_NO_PLAN, return_dtype=pl.String
    )
    international = key.str.strip_chars_start(" ").str.contains(r"^(?:\+|tel:\+)")
    where = (
        pl.when((region.str.len_chars() > 0) & ~international)
        .then(pl.format(" for {}", region))
        .otherwise(pl.lit(""))
    )
    head = pl.format("invalid_phone|{} is not a valid phone number", _quoted(key))
    return (
        pl.when(parse_error.is_not_null())
        .then(pl.format("{}: {}", head, parse_reason))
        .otherwise(pl.format("{}{}: {}", head, where, invalid_reason))
        .alias("error")
    )


def _quoted(text: pl.Expr, limit: int = 40) -> pl.Expr:
    """`_quote` for printable ASCII text (the only text the engine decides): Python's repr."""
    cut = pl.when(text.str.len_chars() > limit).then(text.str.slice(0, limit) + "…")
    shown = cut.otherwise(text).str.replace_all("\\", "\\\\", literal=True)
    double = shown.str.contains("'", literal=True) & ~shown.str.contains('"', literal=True)
    return (
        pl.when(double)
        .then(pl.format('"{}"', shown))
        .otherwise(pl.format("'{}'", shown.str.replace_all("'", "\\'", literal=True)))
    )


def _parse_one(key: str, region: str | None) -> tuple[object, ...]:
    try:
        number = phonenumbers.parse(key, region)
    except NumberParseException as exc:
        reason = _PARSE_ERRORS.get(exc.error_type, str(exc))
        if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE and region is None:
            reason = _NO_REGION
        return (
            key,
            region,
            None,
            None,
            f"invalid_phone|{_quote(key)} is not a valid phone number: {reason}",
            [],
        )
    if not phonenumbers.is_valid_number(number):
        possible = phonenumbers.is_possible_number_with_reason(number)
        reason = _POSSIBILITY.get(possible, _NO_PLAN)
        where = f" for {region}" if region and not key.lstrip().startswith(("+", "tel:+")) else ""
        return (
            key,
            region,
            None,
            None,
            f"invalid_phone|{_quote(key)} is not a valid phone number{where}: {reason}",
            [],
        )
    zones = [z for z in phone_timezone.time_zones_for_number(number) if z != _NO_ZONE]
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return (key, region, e164, number.extension or None, None, zones)


def _quote(value: str, limit: int = 40) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "…")


def normalise_phones(
    lf: pl.LazyFrame, book: PhoneBook, *, default_region: str | None
) -> pl.LazyFrame:
    """Replace `phone` with E.164; add `phone_raw`, `phone_ext`, `_phone_zones`, `_err_phone`.

    The region of a row is its `country` (alpha-2, already normalised), else `default_region`.
    """
    keyed = lf.with_columns(
        pl.col("phone").alias("phone_raw"),
        clean_phone("phone").alias("phone_key"),
        pl.coalesce(pl.col("country"), pl.lit(default_region, dtype=pl.String)).alias("region"),
    )
    return (
        attach_lookup(keyed, KEY_COLUMNS, book.parse, PHONE_RESULT_SCHEMA, known=book.known)
        .with_columns(
            pl.col("e164").alias("phone"),
            pl.coalesce(pl.col("phone_ext").str.strip_chars(), pl.col("extension")).alias(
                "phone_ext"
            ),
            pl.col("zones").fill_null(pl.lit([], dtype=pl.List(pl.String))).alias("_phone_zones"),
            pl.when(lost_digits("phone_raw"))
            .then(pl.format(_LOST_DIGITS, pl.col("phone_raw").str.strip_chars()))
            .otherwise(pl.col("error"))
            .alias("_err_phone"),
        )
        .drop("phone_key", "region", "e164", "extension", "error", "zones")
    )
