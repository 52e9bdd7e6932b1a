"""libphonenumber's parse, validity and time-zone decisions, made on whole columns in polars.

`parse_keys` follows `phonenumbers.parse` + `is_valid_number` + `time_zones_for_number` step by
step (`parse` and the functions it calls in `phonenumberutil.py`), each step an expression over
a column, with libphonenumber's own regular expressions and metadata (`transforms._phone_meta`).
Steps that depend on a numbering plan run once per plan on that plan's rows (`_Spread.groups`),
so a pattern is compiled once and never evaluated on rows it does not concern. Intermediate
results are stored as columns because polars evaluates a repeated sub-expression once per use.

The work is spread over polars' threads (`_Spread`): polars runs an eager step on one column
of one chunk on one thread, and most steps here are one long string expression, so the rows
are cut into row-wise slices that one `pl.collect_all` runs side by side (a per-plan step
runs on each plan's rows within each slice). Every step is per row, so the slices give the
rows a run in turn gives; whether a plan is too small to compile (`least_group`) is decided
on the whole plan.

The engine only answers where it follows libphonenumber exactly. Everything else is marked
`undecided` for the caller to hand to `phonenumbers`: text with characters outside printable
ASCII, RFC 3966 `phone-context`/`isub` parameters, vanity numbers (three letters or more), a
`+` followed by an unknown calling code when the default region could re-read it, plans whose
patterns polars cannot run, and plans with too few rows to be worth compiling (`least_group`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from re import IGNORECASE, Pattern

import polars as pl
from phonenumbers import NumberParseException, ValidationResult
from phonenumbers import phonenumberutil as util

from transforms._phone_meta import (
    Desc,
    Plan,
    geo_mobile_codes,
    geo_regions,
    main_plan,
    plan_for,
    plans_for_code,
    zone_prefixes,
)

__all__ = ["ENGINE_SCHEMA", "LEAST_GROUP", "PIECE_ROWS", "parse_keys"]

ENGINE_SCHEMA: dict[str, pl.DataType] = {
    "phone_key": pl.String(),
    "region": pl.String(),
    "undecided": pl.Boolean(),
    "parse_error": pl.Int8(),  # NumberParseException.error_type
    "possibility": pl.Int8(),  # ValidationResult of a parsed but invalid number
    "e164": pl.String(),
    "extension": pl.String(),
    "zones": pl.List(pl.String()),
}


def _rust(pattern: Pattern[str], *, whole: bool = False) -> str:
    """A compiled Python pattern as polars regex text (flags inline; anchored if `whole`)."""
    text = f"^(?:{pattern.pattern})$" if whole else pattern.pattern
    return f"(?i){text}" if pattern.flags & IGNORECASE else text


_PRINTABLE_ASCII = r"^[ -~]*$"
# Text of only these characters holds no extension, second number or letter (those need one
# of `xX#~;,` or a letter), so `_read_text` skips the patterns that look for them.
_PLAIN = r"^[0-9 +()./'\-]*$"
_RFC3966_PARAMETERS = ";phone-context=|;isub="
_START = _rust(util._VALID_START_CHAR_PATTERN)
_UNWANTED_END = _rust(util._UNWANTED_END_CHAR_PATTERN)
_SECOND_NUMBER = _rust(util._SECOND_NUMBER_START_PATTERN)
_VIABLE = _rust(util._VALID_PHONE_NUMBER_PATTERN, whole=True)
_EXTENSION = _rust(util._EXTN_PATTERN)
_EXTENSION_GROUPS = util._EXTN_PATTERN.groups
_VANITY = _rust(util._VALID_ALPHA_PHONE_PATTERN, whole=True)
_MAX_INPUT = util._MAX_INPUT_STRING_LENGTH
_MIN_NSN = util._MIN_LENGTH_FOR_NSN
_MAX_NSN = util._MAX_LENGTH_FOR_NSN
_MAX_CODE = util._MAX_LENGTH_COUNTRY_CODE

_TOO_LONG = NumberParseException.TOO_LONG
_NOT_A_NUMBER = NumberParseException.NOT_A_NUMBER
_BAD_CODE = NumberParseException.INVALID_COUNTRY_CODE
_SHORT_AFTER_IDD = NumberParseException.TOO_SHORT_AFTER_IDD
_SHORT_NSN = NumberParseException.TOO_SHORT_NSN
_PREFIX_KEPT_WHEN = (  # parse keeps the national prefix when stripping it leaves these
    ValidationResult.TOO_SHORT,
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
    ValidationResult.INVALID_LENGTH,
)

_KEY = pl.col("phone_key")
_REGION = pl.col("region")
_NATIONAL = pl.col("_national")
_NUMBER = pl.col("_number")
_DIGITS = pl.col("_digits")
_FULL = pl.col("_full")
_NSN = pl.col("_nsn")
_CODE = pl.col("_code")
_IDD = pl.col("_idd")
_ERROR = pl.col("parse_error")
_UNDECIDED = pl.col("undecided")
# what `_finish` reads of a settled row
_SETTLED: dict[str, pl.DataType] = {
    "_row": pl.UInt32(),
    "undecided": pl.Boolean(),
    "parse_error": pl.Int8(),
    "_code": pl.Int32(),
    "_nsn": pl.String(),
    "_extension": pl.String(),
    "_valid": pl.Boolean(),
    "_possibility": pl.Int8(),
    "_zone": pl.UInt32(),
}
LEAST_GROUP = 100
# The fewest rows worth a piece of their own: below this, a thread's share of the fixed cost
# of each polars call (~0.1 ms, some 40 calls a piece) outweighs what it saves.
PIECE_ROWS = 25_000

RowStep = Callable[[pl.DataFrame], pl.DataFrame]
GroupStep = Callable[[object, pl.DataFrame], pl.DataFrame]


def parse_keys(
    keys: pl.DataFrame,
    *,
    least_group: int = LEAST_GROUP,
    workers: int | None = None,
    piece_rows: int = PIECE_ROWS,
) -> pl.DataFrame:
    """ENGINE_SCHEMA for each (phone_key, region) row of `keys`, in order.

    A row is either `undecided` (ask `phonenumbers`), or has a `parse_error`, or a
    `possibility` (parsed, but invalid), or an `e164` with its `extension` and `zones`.
    Numbering plans with fewer than `least_group` rows are left undecided: compiling their
    patterns would cost more than asking `phonenumbers` about so few numbers.

    The work is cut into pieces of at least `piece_rows` rows for `workers` of polars' threads
    (default: its thread pool size; 1 runs it in turn); the result is the same either way.
    """
    keys = keys.select(pl.col("phone_key", "region").cast(pl.String))
    spread = _Spread(workers or pl.thread_pool_size(), piece_rows)
    found = _parse(keys.with_row_index("_row"), least_group, spread)
    return pl.concat([keys, spread.rows(found, _finish)], how="horizontal")


def _parse(frame: pl.DataFrame, least: int, spread: _Spread) -> pl.DataFrame:
    """The `_SETTLED` columns of every row of `frame`, by `_row`."""
    done: list[pl.DataFrame] = []
    live = _settle(spread.rows(frame, _read_text), done)
    live = _settle(_country_code(live, least, spread), done)
    live = _settle(_national_number(live, least, spread), done)
    live = _settle(spread.groups(live, "_code", _validate_code, least), done)
    done.append(live.filter(~pl.col("_valid")))
    done.append(spread.groups(live.filter("_valid"), "_code", _zone_of))
    return pl.concat(done, how="diagonal_relaxed").sort("_row")


@dataclass(frozen=True)
class _Spread:
    """Runs a step on pieces of a frame as one `pl.collect_all`, whose queries polars runs on
    its threads side by side (or runs each piece in turn, with `parts` 1).

    Each query is one piece's step, a Python function of eager polars calls: polars releases
    the GIL while it works, so two steps' polars calls run at once. Being polars' own threads,
    they keep working where the engine itself runs on one of them (a lookup's `map_batches`);
    Python threads would leave that thread waiting, and polars one thread short.

    A step must be per row (its answer for a row depends on that row alone, and on the plan
    for `groups`): the pieces' results, stacked, are then those of the whole frame, in
    another order (the caller sorts by `_row` once, at the end).
    """

    parts: int  # pieces a frame is cut into at least, so that every thread gets work
    piece_rows: int

    def rows(self, frame: pl.DataFrame, step: RowStep) -> pl.DataFrame:
        """`step(piece)` of row-wise slices of `frame`, stacked."""
        size = max(self.piece_rows, -(-frame.height // self.parts), 1)
        jobs = [partial(step, piece) for piece in frame.iter_slices(size)]
        return self._stacked(jobs or [partial(step, frame)])

    def groups(self, frame: pl.DataFrame, by: str, step: GroupStep, least: int = 0) -> pl.DataFrame:
        """`step(value, rows)` for each value of `by` and its rows in each row-wise slice of
        `frame`, stacked. A group of fewer than `least` rows (in the whole frame, whatever its
        slices) gets `step(None, rows)`, the step's answer for a plan it cannot follow."""
        counts = frame.group_by(by).len()
        small = frozenset(counts.filter(pl.col("len") < least)[by].to_list())
        size = max(self.piece_rows, -(-frame.height // self.parts), 1)
        # slices rather than plans: each thread gets as many rows, and sorts its own by plan
        jobs = [partial(_by_plan, piece, by, step, small) for piece in frame.iter_slices(size)]
        return self._stacked(jobs or [partial(step, None, frame)])

    def _stacked(self, jobs: Sequence[Callable[[], pl.DataFrame]]) -> pl.DataFrame:
        if self.parts == 1 or len(jobs) == 1:
            return pl.concat([job() for job in jobs], how="diagonal_relaxed")
        # a query of no input whose one step is the job; nothing reads its (unknown) schema
        queries = [
            pl.LazyFrame().map_batches(partial(_run, job), validate_output_schema=False)
            for job in jobs
        ]
        return pl.concat(pl.collect_all(queries, engine="in-memory"), how="diagonal_relaxed")


def _run(job: Callable[[], pl.DataFrame], _: pl.DataFrame) -> pl.DataFrame:
    return job()


def _by_plan(
    frame: pl.DataFrame, by: str, step: GroupStep, small: frozenset[object]
) -> pl.DataFrame:
    """`step(value, rows)` for each value of `by` in `frame`; `step(None, rows)` if `small`."""
    parts = frame.partition_by(by, as_dict=True).items()
    found = [step(None if value in small else value, part) for (value,), part in parts]
    return pl.concat(found, how="diagonal_relaxed") if found else step(None, frame)


def _settle(frame: pl.DataFrame, done: list[pl.DataFrame]) -> pl.DataFrame:
    """The rows still open; the undecided and failed ones go to `done`."""
    open_ = ~_UNDECIDED & _ERROR.is_null()
    done.append(frame.filter(~open_).select(c for c in _SETTLED if c in frame.columns))
    return frame.filter(open_)


def _finish(found: pl.DataFrame) -> pl.DataFrame:
    """ENGINE_SCHEMA's result columns; `zones` gathered from the prefix table once."""
    missing = [pl.lit(None, t).alias(c) for c, t in _SETTLED.items() if c not in found.columns]
    found = found.with_columns(missing)
    decided = ~_UNDECIDED
    valid = decided & _ERROR.is_null() & pl.col("_valid").fill_null(False)
    invalid = decided & _ERROR.is_null() & ~valid
    zones = zone_prefixes()["zones"].gather(found["_zone"])
    return found.select(
        _UNDECIDED,
        pl.when(decided).then(_ERROR).alias("parse_error"),
        pl.when(invalid).then(pl.col("_possibility")).cast(pl.Int8).alias("possibility"),
        pl.when(valid).then(pl.format("+{}{}", _CODE, _NSN)).alias("e164"),
        pl.when(valid).then(pl.col("_extension")).alias("extension"),
        pl.when(valid).then(zones).alias("zones"),
    )


def _full_match(text: pl.Expr, pattern: str) -> pl.Expr:
    return text.str.contains(f"^(?:{pattern})$")


# -- the text: `_build_national_number_for_parsing`, `_is_viable_phone_number`, extensions --


def _read_text(frame: pl.DataFrame) -> pl.DataFrame:
    """The number libphonenumber reads, its extension and digits, and the early errors."""
    extracted = _KEY.str.slice(_KEY.str.find(_START)).fill_null("").str.replace(_UNWANTED_END, "")
    text = frame.with_columns(
        extracted.alias("_national"), _KEY.str.contains(_PLAIN).fill_null(False).alias("_plain")
    )
    plain = text.filter("_plain").with_columns(
        _NATIONAL.alias("_number"),
        pl.lit(None, pl.String).alias("_extension"),
        pl.lit(False).alias("_odd"),
    )
    read = pl.concat([plain, _read_other(text.filter(~pl.col("_plain")))], how="diagonal_relaxed")
    odd_region = _REGION.is_not_null() & ~_REGION.str.contains("^[A-Za-z0-9]*$")
    return read.select(
        "_row",
        "_extension",
        _NUMBER.str.starts_with("+").alias("_plus"),
        _NUMBER.str.replace_all("[^0-9]+", "").alias("_digits"),
        _region_plan().alias("_region_plan"),
        (pl.col("_odd") | odd_region.fill_null(True)).alias("undecided"),
        _early_error().alias("parse_error"),
    )


def _read_other(text: pl.DataFrame) -> pl.DataFrame:
    """What plain text cannot hold: a second number after `/x`, an extension, odd text."""
    second = _NATIONAL.str.find(_SECOND_NUMBER)
    cut = text.with_columns(
        pl.when(second.is_null()).then(_NATIONAL).otherwise(_NATIONAL.str.slice(0, second))
    )
    odd_text = ~_KEY.str.contains(_PRINTABLE_ASCII) | _KEY.str.contains(_RFC3966_PARAMETERS)
    return _split_extension(cut).with_columns(
        (odd_text | _NUMBER.str.contains(_VANITY)).fill_null(True).alias("_odd")
    )


def _split_extension(text: pl.DataFrame) -> pl.DataFrame:
    """`_maybe_strip_extension`: `_extension` and the `_number` before it."""
    groups = _NATIONAL.str.extract_groups(_EXTENSION)
    found = text.with_columns(
        _NATIONAL.str.slice(0, _NATIONAL.str.find(_EXTENSION)).alias("_head"),
        pl.coalesce(groups.struct.field(str(g + 1)) for g in range(_EXTENSION_GROUPS)).alias(
            "_extension"
        ),
    )
    head, extension = pl.col("_head"), pl.col("_extension")
    cut = found.with_columns(
        (head.is_not_null() & extension.is_not_null() & _viable(head)).alias("_cut")
    )
    return cut.with_columns(
        pl.when("_cut").then(head).otherwise(_NATIONAL).alias("_number"),
        pl.when("_cut").then(extension).alias("_extension"),
    ).drop("_head", "_cut")


def _viable(text: pl.Expr) -> pl.Expr:
    return (text.str.len_chars() >= _MIN_NSN) & text.str.contains(_VIABLE)


def _region_plan() -> pl.Expr:
    """The plan `metadata_for_region(region.upper())` finds, if any."""
    upper = _REGION.str.to_uppercase()
    return pl.when(upper.is_in(sorted(geo_regions()))).then(upper)


def _early_error() -> pl.Expr:
    """TOO_LONG input, NOT_A_NUMBER, or no usable region for a number without `+`."""
    no_region = ~_REGION.is_in(sorted(geo_regions())).fill_null(False)
    return (
        pl.when(_KEY.str.len_chars() > _MAX_INPUT)
        .then(_TOO_LONG)
        .when(~_viable(_NATIONAL))
        .then(_NOT_A_NUMBER)
        .when(no_region & ~_NATIONAL.str.starts_with("+"))
        .then(_BAD_CODE)
        .cast(pl.Int8)
    )


# -- the calling code: `_maybe_extract_country_code` --


def _country_code(frame: pl.DataFrame, least: int, spread: _Spread) -> pl.DataFrame:
    """`_code`, the `_nsn` after it (national prefix not yet stripped), the `_plan` to read it."""
    plus = frame.filter(pl.col("_plus")).with_columns(
        pl.lit(True).alias("_idd"), _DIGITS.alias("_full")
    )
    national = spread.groups(frame.filter(~pl.col("_plus")), "_region_plan", _from_region, least)
    return spread.rows(pl.concat([plus, national], how="diagonal_relaxed"), _split_code)


def _split_code(both: pl.DataFrame) -> pl.DataFrame:
    """`_code` and `_nsn` from `_full` after an IDD or `+`, or the region's own."""
    length = pl.col("_length")
    coded = _IDD & length.is_not_null()
    with_code = both.with_columns(_code_length().alias("_length")).with_columns(
        pl.when(coded)
        .then(_FULL.str.slice(0, length).cast(pl.Int32, strict=False))
        .when(~_IDD)
        .then(pl.col("_own_code"))
        .alias("_code"),
        pl.when(coded)
        .then(_FULL.str.slice(length))
        .when(~_IDD)
        .then(pl.col("_own_nsn"))
        .alias("_nsn"),
        *_code_outcome(),
    )
    main = _CODE.replace_strict(_main_plans(), default=None, return_dtype=pl.String)
    return with_code.select(
        "_row",
        "_extension",
        "undecided",
        "parse_error",
        "_code",
        "_nsn",
        pl.when(_IDD | pl.col("_own_main"))
        .then(main)
        .otherwise(pl.col("_region_plan"))
        .alias("_plan"),
    )


def _code_outcome() -> list[pl.Expr]:
    """Errors of the international form; a `+` the library would re-read is undecided."""
    short = _IDD & (_FULL.str.len_chars() <= _MIN_NSN)
    unknown = _IDD & pl.col("_length").is_null()
    retried = unknown & pl.col("_plus") & pl.col("_region_plan").is_not_null()
    error = pl.when(short).then(_SHORT_AFTER_IDD).when(unknown & ~retried).then(_BAD_CODE)
    return [
        pl.coalesce(_ERROR, error.cast(pl.Int8)).alias("parse_error"),
        (_UNDECIDED | (retried & ~short)).alias("undecided"),
    ]


def _code_length() -> pl.Expr:
    """`_extract_country_code`: the length of the shortest calling code `_full` starts with."""
    codes = [str(code) for code in plans_for_code()]
    length: pl.Expr = pl.lit(None, pl.UInt32)
    for digits in range(_MAX_CODE, 0, -1):
        length = pl.when(_FULL.str.slice(0, digits).is_in(codes)).then(digits).otherwise(length)
    return pl.when(_FULL.str.starts_with("0")).then(None).otherwise(length).cast(pl.UInt32)


def _main_plans() -> dict[int, str]:
    return {code: main_plan(code) for code in plans_for_code()}


def _from_region(region: object, rows: pl.DataFrame) -> pl.DataFrame:
    """A number without `+` read in its region: after an IDD, or with the region's own code."""
    plan = plan_for(str(region))
    if plan is None:
        return rows.with_columns(
            pl.lit(True).alias("undecided"),
            pl.lit(False).alias("_idd"),
            pl.lit(None, pl.String).alias("_full"),
            pl.lit(None, pl.Int32).alias("_own_code"),
            pl.lit(None, pl.String).alias("_own_nsn"),
            pl.lit(False).alias("_own_main"),
        )
    own = str(plan.country_code)
    rest = _DIGITS.str.slice(len(own))
    step = _after_idd(rows, plan).with_columns(rest.alias("_rest"))
    step = _strip_national_prefix(step, "_rest", plan)
    without = pl.col("_rest")
    takes_code = _DIGITS.str.starts_with(own) & (
        (~_full_match(_DIGITS, plan.general.pattern) & _full_match(without, plan.general.pattern))
        | (_length_result(_DIGITS, plan) == ValidationResult.TOO_LONG)
    )
    return (
        step.with_columns(takes_code.alias("_own_main"))
        .with_columns(
            pl.lit(plan.country_code, pl.Int32).alias("_own_code"),
            pl.when("_own_main").then(without).otherwise(_DIGITS).alias("_own_nsn"),
        )
        .drop("_rest")
    )


def _after_idd(rows: pl.DataFrame, plan: Plan) -> pl.DataFrame:
    """`_parse_prefix_as_idd`: `_idd` (the region's IDD starts the digits) and `_full` after."""
    if plan.international_prefix is None:
        return rows.with_columns(pl.lit(False).alias("_idd"), _DIGITS.alias("_full"))
    idd = _DIGITS.str.extract(f"^(?:{plan.international_prefix})", 0)
    after = rows.with_columns(idd.alias("_idd")).with_columns(
        _DIGITS.str.slice(_IDD.str.len_chars()).alias("_full")
    )
    # a calling code never starts with 0, so an IDD followed by 0 is no IDD
    return after.with_columns((_IDD.is_not_null() & ~_FULL.str.starts_with("0")).alias("_idd"))


# -- the national number: `_maybe_strip_national_prefix_carrier_code`, `_test_number_length` --


def _national_number(frame: pl.DataFrame, least: int, spread: _Spread) -> pl.DataFrame:
    """The national significant number: national prefix stripped where parse strips it."""
    short = (_NSN.str.len_chars() < _MIN_NSN).alias("_short")
    checked = frame.with_columns(short)
    stripped = spread.groups(checked.filter(~pl.col("_short")), "_plan", _stripped_in_plan, least)
    length = _NSN.str.len_chars()
    outcome = pl.when(length < _MIN_NSN).then(_SHORT_NSN).when(length > _MAX_NSN).then(_TOO_LONG)
    return pl.concat(
        [
            checked.filter("_short").with_columns(pl.lit(_SHORT_NSN, pl.Int8).alias("parse_error")),
            stripped.with_columns(outcome.cast(pl.Int8).alias("parse_error")),
        ],
        how="diagonal_relaxed",
    ).drop("_short")


def _stripped_in_plan(key: object, rows: pl.DataFrame) -> pl.DataFrame:
    plan = plan_for(str(key))
    if plan is None:
        return rows.with_columns(pl.lit(True).alias("undecided"))
    step = _strip_national_prefix(rows.with_columns(_NSN.alias("_stripped")), "_stripped", plan)
    keeps = _length_result(pl.col("_stripped"), plan).is_in(_PREFIX_KEPT_WHEN)
    return step.with_columns(pl.when(keeps).then(_NSN).otherwise("_stripped").alias("_nsn")).drop(
        "_stripped"
    )


def _strip_national_prefix(rows: pl.DataFrame, column: str, plan: Plan) -> pl.DataFrame:
    """`_maybe_strip_national_prefix_carrier_code`, in place on `column`."""
    if plan.national_prefix is None:
        return rows
    number, pattern = pl.col(column), f"^(?:{plan.national_prefix})"
    prefix = pl.col("_np_prefix")
    step = rows.with_columns(number.str.extract(pattern, 0).alias("_np_prefix")).with_columns(
        (prefix.is_not_null() & (number.str.len_chars() > 0)).alias("_np_found"),
        number.str.slice(prefix.str.len_chars()).alias("_np_candidate"),
    )
    if plan.transform is not None:
        last_group = number.str.extract(pattern, plan.prefix_groups)
        step = step.with_columns(
            pl.when(last_group.is_null())
            .then("_np_candidate")
            .otherwise(number.str.replace(pattern, plan.transform, n=1))
            .alias("_np_candidate")
        )
    candidate = pl.col("_np_candidate")
    # a number the general pattern accepts keeps its prefix unless the rest is accepted too
    general = plan.general.pattern
    keep = _full_match(number, general) & ~_full_match(candidate, general)
    return step.with_columns(
        pl.when(pl.col("_np_found") & ~keep).then(candidate).otherwise(number).alias(column)
    ).drop("_np_prefix", "_np_found", "_np_candidate")


def _length_result(number: pl.Expr, plan: Plan) -> pl.Expr:
    """`_test_number_length` for an unknown type: a ValidationResult."""
    lengths, length = plan.general.lengths, number.str.len_chars()
    return (
        pl.when(length.is_in(plan.local_lengths))
        .then(ValidationResult.IS_POSSIBLE_LOCAL_ONLY)
        .when(length == lengths[0])
        .then(ValidationResult.IS_POSSIBLE)
        .when(length < lengths[0])
        .then(ValidationResult.TOO_SHORT)
        .when(length > lengths[-1])
        .then(ValidationResult.TOO_LONG)
        .when(length.is_in(lengths[1:]))
        .then(ValidationResult.IS_POSSIBLE)
        .otherwise(ValidationResult.INVALID_LENGTH)
        .cast(pl.Int8)
    )


# -- validity and type: `is_valid_number`, `_region_code_for_number_from_list` --


def _validate_code(code: object, rows: pl.DataFrame) -> pl.DataFrame:
    """`_valid`, `_geographic` (for zones) and the `_possibility` of an invalid number, in the
    region libphonenumber picks among those sharing the calling code."""
    keys = plans_for_code().get(int(str(code)), ()) if code is not None else ()
    found = [plan_for(key) for key in keys]
    if not found or None in found:
        return _typed(rows, None).with_columns(pl.lit(True).alias("undecided"))
    known = [plan for plan in found if plan is not None]
    possibility = _length_result(_NSN, known[0]).alias("_possibility")
    if len(known) == 1:
        return _typed(rows, known[0]).with_columns(possibility)
    picked = []
    for plan in known:
        if plan.leading_digits is None:
            typed = _typed(rows, plan)
            claims = typed.filter("_valid")
            rows = typed.filter(~pl.col("_valid")).drop("_valid", "_geographic")
        else:
            claimed = _NSN.str.contains(f"^(?:{plan.leading_digits})")
            claims = _typed(rows.filter(claimed), plan)
            rows = rows.filter(~claimed)
        picked.append(claims)
    picked.append(_typed(rows, None))
    return pl.concat(picked, how="diagonal_relaxed").with_columns(possibility)


def _typed(rows: pl.DataFrame, plan: Plan | None) -> pl.DataFrame:
    """`_number_type_helper`: `_valid`, and `_geographic` (fixed line, or mobile where the
    calling code's mobiles are geographic)."""
    if plan is None:
        return rows.with_columns(pl.lit(False).alias("_valid"), pl.lit(False).alias("_geographic"))
    matches = rows.with_columns(
        _matches(plan.general).alias("_general"),
        pl.any_horizontal(pl.lit(False), *(_matches(d) for d in plan.special)).alias("_special"),
        _matches(plan.fixed).alias("_fixed"),
        _matches(plan.mobile).alias("_mobile"),
    )
    general, special = pl.col("_general"), pl.col("_special")
    fixed, mobile = pl.col("_fixed"), pl.col("_mobile")
    geo_mobile = plan.country_code in geo_mobile_codes()
    return matches.with_columns(
        (general & (special | fixed | mobile)).alias("_valid"),
        (general & ~special & (fixed | (mobile & geo_mobile))).alias("_geographic"),
    ).drop("_general", "_special", "_fixed", "_mobile")


def _matches(desc: Desc | None) -> pl.Expr:
    """`_is_number_matching_desc` on `_nsn`: the description's lengths and pattern."""
    if desc is None:
        return pl.lit(False)
    found = _full_match(_NSN, desc.pattern)
    return _NSN.str.len_chars().is_in(desc.lengths) & found if desc.lengths else found


# -- time zones: `time_zones_for_number` --


def _zone_of(code: object, valid: pl.DataFrame) -> pl.DataFrame:
    """`_zone`: the row in `zone_prefixes` of the longest known prefix of the number
    (geographic types) or of its calling code; the last row (no zones) when none is known."""
    prefixes, own = zone_prefixes()["zone_prefix"].to_list(), str(code)
    index = {
        p: row for row, p in enumerate(prefixes) if p and (p.startswith(own) or own.startswith(p))
    }
    # the number's digits are `own` then `_nsn`: try the longest prefixes first
    lengths = sorted({len(p) for p in index}, reverse=True)
    by_number = pl.coalesce(pl.lit(None, pl.UInt32), *(_prefix_row(index, own, n) for n in lengths))
    by_code = next((index[p] for p in (own, own[:2]) if p in index), None)
    zone = pl.when("_geographic").then(by_number).otherwise(pl.lit(by_code, pl.UInt32))
    return valid.with_columns(zone.fill_null(len(prefixes) - 1).alias("_zone"))


def _prefix_row(index: dict[str, int], own: str, length: int) -> pl.Expr:
    """The row of the number's first `length` digits, if `index` holds them."""
    if length <= len(own):
        return pl.lit(index.get(own[:length]), pl.UInt32)
    tails = {p[len(own) :]: row for p, row in index.items() if len(p) == length}
    in_nsn = _NSN.str.slice(0, length - len(own))
    return in_nsn.replace_strict(tails, default=None, return_dtype=pl.UInt32)
