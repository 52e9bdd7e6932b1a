"""Phones to E.164, with the extension, the raw text and the zones the number implies.

The cleaning that spreadsheets make necessary (numbers stored as floats, or in scientific
notation when that is exact) is vectorised. Parsing and validity follow Google's libphonenumber
(the `phonenumbers` package) exactly: `parse_phone_values` reads each distinct (cleaned value,
region) with the vectorised engine (`transforms._phone_engine`, libphonenumber's algorithm and
metadata as polars expressions) and hands the few values the engine cannot decide with
certainty to `phonenumbers` itself (`_parse_one`, also the reference the engine is tested
against). A `PhoneBook` remembers results across runs (the flow persists it), so scheduled
re-runs skip known numbers: reading them back costs less than deciding them again.

Where a value is no valid number in its region (or has none) but was written as an
international number without the `+` (after `00` or `011`, or as a calling code and the rest),
it is read once more as `+<rest>` with no region; a valid answer is used and the row gets a
note (`_warn_phone`, `assumed_international`). A number valid in its region is never read
again: its E.164 stays libphonenumber's. When the mapper gives every phone value of a row
(`_phone_candidates`), the first valid one is used and the others are kept in `custom`.

    >>> frame = pl.LazyFrame(
    ...     {"phone": ["'+1 212-555-0100 x12"], "country": [None], "phone_ext": [None]},
    ...     schema=dict.fromkeys(["phone", "country", "phone_ext"], pl.String),
    ... )
    >>> normalise_phones(frame, PhoneBook(), default_region=None).collect()["phone"].item()
    '+12125550100'
"""

from __future__ import annotations

from functools import lru_cache, partial

import phonenumbers
import polars as pl
from phonenumbers import NumberParseException, PhoneNumberFormat
from phonenumbers import timezone as phone_timezone

from schemas.fields import CUSTOM_ENTRY
from transforms._lookup import attach_lookup, per_value
from transforms._phone_engine import LEAST_GROUP, parse_keys
from transforms._tzlinks import current_zones
from transforms.cells import append_entries, ordinal
from transforms.values import lost_digits, scientific_integer

__all__ = [
    "CANDIDATES",
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
_ASSUMED = "assumed_international|{} was read as {} ({})"
_SKIPPED = "first_phone_invalid|{} is not a valid phone number; the {} value {} was used"

# Every phone value of a row, in column priority order (the mapper's; optional).
CANDIDATES = "_phone_candidates"
_OTHER_PHONES = "other_phones"  # the `custom` key of the values not used

# The IDDs tried when a number fails in its region: most of the world's (`00`) and North
# America's (`011`), each with the separators people put between its digits. A region's own
# IDD is not among them: libphonenumber strips it when it reads the number in that region, so
# reading the rest again could only give the same answer.
_SEPARATORS = r"[ .\-()/]*"
_IDDS = {idd: "^[^0-9+]*" + "".join(digit + _SEPARATORS for digit in idd) for idd in ("011", "00")}
_FIRST_DIGITS = r"^[^0-9+]*([0-9][0-9 .\-()/]*)"  # the digits before any `+`, letter or `#`
# A calling code and the rest, without `+`, is read as one only from this many digits on:
# national numbers that do not start with a trunk `0` have at most 10 digits in most plans
# (North America's 10-digit numbers would otherwise read as Norwegian or Danish ones).
_LEAST_WITHOUT_PLUS = 11
_KEY = pl.col("phone_key")
_RESULTS = ("e164", "extension", "error", "zones")  # PHONE_RESULT_SCHEMA's, beside the keys


def clean_phone(raw: str | pl.Expr) -> pl.Expr:
    """Undo what spreadsheets do to numbers; leave everything else to libphonenumber.

    `14155550100.0` -> `14155550100`; `1.4155550100E+10` -> `14155550100`. Scientific notation
    that lost digits (`4.15556E+10`) gives null: see `lost_digits`.
    """
    source = pl.col(raw) if isinstance(raw, str) else raw
    text = source.str.strip_chars()
    as_float = text.str.extract(r"^(\+?[0-9]+)\.0+$", 1)
    blank = text.str.len_chars() == 0
    # `lost_digits(source)` as the caller may spell it too: polars then computes it once
    return (
        pl.when(lost_digits(source) | blank)
        .then(None)
        .otherwise(pl.coalesce(as_float, scientific_integer(source), text))
    )


class PhoneBook:
    """Known parse results by (cleaned value, region); grows as runs resolve new numbers.

    `known` comes from the persistent cache (or is empty); `added` holds what this run
    resolved, for the flow to persist. Keyed per `phonenumbers` version by the caller.
    """

    def __init__(self, known: pl.DataFrame | None = None) -> None:
        self.known = known if known is not None else pl.DataFrame(schema=PHONE_RESULT_SCHEMA)
        self.added = pl.DataFrame(schema=PHONE_RESULT_SCHEMA)

    def resolve(self, keys: pl.DataFrame) -> pl.DataFrame:
        """Results for every distinct key, parsing only those neither known nor added yet."""
        seen = [table for table in (self.known, self.added) if not table.is_empty()]
        if not seen or keys.is_empty():
            return self.parse(keys)
        # lazily, so that polars hashes the few keys rather than all the book holds
        on = list(KEY_COLUMNS)
        found = pl.concat(
            [table.lazy().join(keys.lazy(), on=on, how="semi", nulls_equal=True) for table in seen]
        ).collect()
        fresh = self.parse(keys.join(found.select(on), on=on, how="anti", nulls_equal=True))
        return pl.concat([found, fresh], rechunk=False)

    def parse(self, keys: pl.DataFrame) -> pl.DataFrame:
        """Parse distinct keys the caller knows to be unknown; remember the results."""
        fresh = parse_phone_values(keys)
        self.added = pl.concat([self.added, fresh], rechunk=False)
        return fresh


def parse_phone_values(keys: pl.DataFrame, *, least_group: int = LEAST_GROUP) -> pl.DataFrame:
    """Parse each (phone_key, region) row as libphonenumber does, in the order given.

    Returns PHONE_RESULT_SCHEMA: `e164` and `extension` for valid numbers, else `error` as
    "code|message"; `zones` are the tz database zones the number belongs to, by their current
    IANA names (`transforms.timezones`). The engine decides almost every row; `_parse_one`
    decides the rest, once per distinct key (for `least_group` see
    `transforms._phone_engine.parse_keys`).
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
    keys = results[undecided].select(KEY_COLUMNS)
    answers = per_value(keys.unique(), KEY_COLUMNS, _parse_one, PHONE_RESULT_SCHEMA)
    return _put(results, undecided, _answers_of(keys, answers))


def _answers_of(keys: pl.DataFrame, answers: pl.DataFrame) -> pl.DataFrame:
    """`answers`' results for each of `keys`, in order."""
    on = list(KEY_COLUMNS)
    joined = keys.join(answers, on=on, how="left", nulls_equal=True, maintain_order="left")
    return joined.select(_RESULTS)


def _put(results: pl.DataFrame, rows: pl.Series, values: pl.DataFrame) -> pl.DataFrame:
    """`results` with `values` (`_RESULTS`, one row each) in place of its `rows`.

    The few rows are gathered into place rather than all rows sorted back into order: a
    sort of every row costs more than the rest of the step at a million keys.
    """
    place = (
        pl.Series("_place", dtype=pl.UInt32)
        .extend_constant(None, results.height)
        .scatter(rows, pl.arange(values.height, dtype=pl.UInt32, eager=True))
    )
    put = place.is_not_null()
    return results.with_columns(
        pl.when(put).then(values[c].gather(place)).otherwise(pl.col(c)).alias(c) for c in _RESULTS
    )


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
    # IANA's current names, as the engine's table has them (`transforms._phone_meta`)
    zones = current_zones(z for z in phone_timezone.time_zones_for_number(number) if z != _NO_ZONE)
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return (key, region, e164, number.extension or None, None, zones)


def _quote(value: str, limit: int = 40) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "…")


def normalise_phones(
    lf: pl.LazyFrame, book: PhoneBook, *, default_region: str | None
) -> pl.LazyFrame:
    """Replace `phone` with E.164; add `phone_raw`, `phone_ext`, `_phone_zones`, `_err_phone`
    and the note `_warn_phone` (`assumed_international`, see the module docstring).

    The region of a row is its `country` (alpha-2, already normalised), else `default_region`.
    With `_phone_candidates` (every phone value of the row, `phone` being the first), `phone`
    is the first valid one (else the first, with its error); when that is not the first, the
    note `_warn_phone.skipped` (`first_phone_invalid`) says so. The values not used become one
    `custom` entry `other_phones` ("a; b"), and `_phone_candidates` is dropped.
    """
    region = pl.coalesce(pl.col("country"), pl.lit(default_region, dtype=pl.String))
    names = lf.collect_schema().names()
    several = CANDIDATES in names
    if several and "custom" not in names:
        lf = lf.with_columns(pl.lit(None, pl.List(CUSTOM_ENTRY)).alias("custom"))
    first = pl.coalesce(pl.col(CANDIDATES).list.first(), "phone") if several else pl.col("phone")
    keyed = lf.with_columns(
        first.alias("phone_raw"),
        clean_phone(first).alias("phone_key"),
        region.alias("region"),
        lost_digits(first).alias("_lost"),
    )
    read = _read_numbers(keyed, book)
    if several:
        schema = read.collect_schema()
        schema["_warn_phone.skipped"] = pl.String()
        read = read.map_batches(partial(_first_valid, book), schema=schema).drop(CANDIDATES)
    return read.with_columns(
        pl.col("e164").alias("phone"),
        pl.coalesce(pl.col("phone_ext").str.strip_chars(), pl.col("extension")).alias("phone_ext"),
        pl.col("zones").fill_null(pl.lit([], dtype=pl.List(pl.String))).alias("_phone_zones"),
        pl.when("_lost")
        .then(pl.format(_LOST_DIGITS, pl.col("phone_raw").str.strip_chars()))
        .otherwise(pl.col("error"))
        .alias("_err_phone"),
        pl.col("_note").alias("_warn_phone"),
    ).drop(*_RESULTS, "phone_key", "region", "_lost", "_note")


def _read_numbers(keyed: pl.LazyFrame, book: PhoneBook) -> pl.LazyFrame:
    """`keyed` with PHONE_RESULT_SCHEMA's results for each row's (`phone_key`, `region`) and
    `_note` (see `_read_rows`).

    One eager step: a lazy plan would read the looked-up rows twice (for the keys that
    failed, then to put their new results in place), and polars would then look every key
    up twice and clean every value twice.
    """
    schema = keyed.collect_schema()
    schema.update((c, PHONE_RESULT_SCHEMA[c]) for c in _RESULTS)
    schema["_note"] = pl.String()
    return keyed.map_batches(partial(_read_rows, book), schema=schema)


def _read_rows(book: PhoneBook, keyed: pl.DataFrame, *, few: bool = False) -> pl.DataFrame:
    """libphonenumber's answer for each row; where that is no valid number, the international
    reading's if that is valid (`_read_again`). The keys of `few` rows are looked for in the
    book (`PhoneBook.resolve`) rather than the rows joined to all it knows."""
    looked = (
        attach_lookup(keyed.lazy(), KEY_COLUMNS, book.resolve, PHONE_RESULT_SCHEMA)
        if few
        else attach_lookup(
            keyed.lazy(), KEY_COLUMNS, book.parse, PHONE_RESULT_SCHEMA, known=book.known
        )
    )
    # in memory, as the flow collects: the streaming engine runs these joins ~2x slower
    return _read_again(book, looked.collect(engine="in-memory"))


def _read_again(book: PhoneBook, looked: pl.DataFrame) -> pl.DataFrame:
    """The rows with the international reading's results where libphonenumber's failed and
    that one is valid, and `_note` saying so."""
    rows = looked.select(pl.arg_where(pl.col("e164").is_null() & _KEY.is_not_null())).to_series()
    keys = looked.select(pl.col(KEY_COLUMNS).gather(rows))
    hits = keys.with_row_index("_failed").join(
        _international_results(book, keys.unique()), on=KEY_COLUMNS, nulls_equal=True
    )
    if hits.is_empty():
        return looked.with_columns(pl.lit(None, pl.String).alias("_note"))
    # each row's place in `hits`, null for the rows it does not concern: few rows change,
    # so their results are gathered into place rather than all rows joined
    place = (
        pl.Series("_place", dtype=pl.UInt32)
        .extend_constant(None, looked.height)
        .scatter(rows.gather(hits["_failed"]), pl.arange(hits.height, dtype=pl.UInt32, eager=True))
    )
    again = place.is_not_null()
    return looked.with_columns(
        *[
            pl.when(again).then(hits[c].gather(place)).otherwise(pl.col(c)).alias(c)
            for c in _RESULTS
        ],
        hits["_note"].gather(place).alias("_note"),
    )


def _international_results(book: PhoneBook, failed: pl.DataFrame) -> pl.DataFrame:
    """For distinct keys that failed: the results of their international reading where that
    is valid, and `_note`. The readings go through the book as (`+<rest>`, no region)."""
    asked = _international(failed)
    if asked.is_empty():
        return pl.DataFrame(schema={**PHONE_RESULT_SCHEMA, "_note": pl.String()})
    plus = asked.select(pl.col("_plus").alias("phone_key"), pl.lit(None, pl.String).alias("region"))
    answers = book.resolve(plus.unique()).filter(pl.col("e164").is_not_null())
    note = pl.format(_ASSUMED, _quoted(_KEY), pl.col("e164"), pl.col("_how"))
    return asked.join(answers.drop("region").rename({"phone_key": "_plus"}), on="_plus").select(
        *KEY_COLUMNS, *_RESULTS, note.alias("_note")
    )


def _international(failed: pl.DataFrame) -> pl.DataFrame:
    """The keys that read as international numbers written without `+`: `_plus` (the text
    as `+<rest>`) and `_how` (what was missing, for the note).

    Digits that start with `011` or `00` lose it (`0044 20 7946 0958` -> `+44 20 7946 0958`);
    other digits that start with a calling code, at least `_LEAST_WITHOUT_PLUS` of them, get
    a `+` (`33 5 62 15 66 00` -> `+33 5 62 15 66 00`), unless they start with the region's
    own trunk prefix (`1` in North America, `8` in Russia: a national number, mistyped).
    Only the digits before any `+` count: a number written with `+` was read as written.
    """
    digits, idd = pl.col("_digits"), pl.col("_idd")
    trunk = (
        pl.col("region")
        .str.to_uppercase()
        .replace_strict(_trunk_prefixes(), default=None, return_dtype=pl.String)
    )
    coded = pl.any_horizontal(
        digits.str.slice(0, length).is_in(codes) for length, codes in _calling_codes().items()
    )
    bare = (
        (digits.str.len_chars() >= _LEAST_WITHOUT_PLUS)
        & coded
        & ~digits.str.starts_with(trunk).fill_null(False)
    )
    return (
        failed.with_columns(
            _KEY.str.extract(_FIRST_DIGITS, 1).str.replace_all("[^0-9]", "").alias("_digits")
        )
        .with_columns(
            pl.when(digits.str.starts_with("011"))
            .then(pl.lit("011"))
            .when(digits.str.starts_with("00"))
            .then(pl.lit("00"))
            .alias("_idd")
        )
        .with_columns(
            pl.when(idd == "011")
            .then(_KEY.str.replace(_IDDS["011"], "+"))
            .when(idd == "00")
            .then(_KEY.str.replace(_IDDS["00"], "+"))
            .when(bare)
            .then(_KEY.str.replace("^[^0-9+]*", "+"))
            .alias("_plus"),
            pl.when(idd.is_not_null())
            .then(pl.format("international prefix {}", idd))
            .when(bare)
            .then(pl.lit("country code without +"))
            .alias("_how"),
        )
        .filter(pl.col("_plus").is_not_null())
        .drop("_digits", "_idd")
    )


@lru_cache(maxsize=1)
def _calling_codes() -> dict[int, list[str]]:
    """The calling codes libphonenumber knows, by length."""
    codes: dict[int, list[str]] = {}
    for code in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE):
        codes.setdefault(len(str(code)), []).append(str(code))
    return codes


@lru_cache(maxsize=1)
def _trunk_prefixes() -> dict[str, str]:
    """Region -> its national (trunk) prefix, where that does not start with 0."""
    found = {}
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        prefix = metadata.national_prefix if metadata is not None else None
        if prefix and not prefix.startswith("0"):
            found[region] = prefix
    return found


def _first_valid(book: PhoneBook, read: pl.DataFrame) -> pl.DataFrame:
    """With `_phone_candidates`: the results of each row's first valid value (the first value
    is read already; the others only of rows whose first failed), `phone_raw` its text,
    `custom` with the values not used, and `_warn_phone.skipped`."""
    values = pl.col(CANDIDATES)
    rows = read.select(
        "region", "custom", CANDIDATES, pl.col("e164").is_null().alias("_failed")
    ).with_row_index("_row")
    several = rows.filter(values.list.len() > 1)
    if several.is_empty():
        return read.with_columns(pl.lit(None, pl.String).alias("_warn_phone.skipped"))
    picked = several.join(
        _first_valid_other(several.filter("_failed"), book), on="_row", how="left"
    )
    found = (
        rows.select("_row")
        .join(_unused(picked), on="_row", how="left", maintain_order="left")
        .drop("_row")
    )
    other = pl.col("_other_e164").is_not_null()
    replaced = [(c, f"_other_{c}") for c in (*_RESULTS, "_note")] + [("phone_raw", "_other_raw")]
    return (
        pl.concat([read, found], how="horizontal")
        .with_columns(
            *[
                pl.when(other).then(pl.col(new)).otherwise(pl.col(old)).alias(old)
                for old, new in replaced
            ],
            pl.coalesce("_other_custom", "custom").alias("custom"),
            (pl.col("_lost") & ~other).alias("_lost"),
        )
        .drop("_other_custom", *(new for _, new in replaced))
    )


def _first_valid_other(failed: pl.DataFrame, book: PhoneBook) -> pl.DataFrame:
    """For rows whose first value failed: the first other value that is a valid number, its
    position (`_pos`, 0 being the first value), `_other_raw` text and `_other_` results."""
    values = pl.col(CANDIDATES)
    others = (
        failed.select(
            "_row",
            "region",
            values.list.slice(1).alias("_raw"),
            pl.int_ranges(1, values.list.len()).alias("_pos"),
        )
        .explode(["_raw", "_pos"])
        .with_columns(clean_phone("_raw").alias("phone_key"))
    )
    read = _read_rows(book, others, few=True)
    # rows come in value order, so the first valid value of a row is its first valid row
    first = read.filter(pl.col("e164").is_not_null()).unique(
        "_row", keep="first", maintain_order=True
    )
    return first.select(
        "_row",
        "_pos",
        pl.col("_raw").alias("_other_raw"),
        *[pl.col(c).alias(f"_other_{c}") for c in (*_RESULTS, "_note")],
    )


def _unused(picked: pl.DataFrame) -> pl.DataFrame:
    """Per row with several values: the one picked, `_other_custom` (`custom` and the values
    not used, as `other_phones`) and `_warn_phone.skipped` where the first was not used."""
    values, position = pl.col(CANDIDATES), pl.col("_pos")
    at = position.fill_null(0)
    unused = pl.concat_list(values.list.slice(0, at), values.list.slice(at + 1))
    entry = pl.struct(key=pl.lit(_OTHER_PHONES), value=unused.list.join("; "))
    skipped = pl.format(
        _SKIPPED,
        _quoted(values.list.first()),
        ordinal(position + 1),
        _quoted(pl.col("_other_raw")),
    )
    return picked.select(
        "_row",
        pl.col("^_other_.*$"),
        pl.when(position.is_not_null()).then(skipped).alias("_warn_phone.skipped"),
    ).with_columns(append_entries(picked, "custom", entry).alias("_other_custom"))
