"""The `validate` stage: what is wrong with a row, and whether that rejects it.

Reasons are "code|message" strings (`code` is `[a-z_]+`), collected per row in `_issues`.

Three sources of problems, in this order: what the reader found (`_read_error`), what the
normalisers could not understand (`_err_<field>`), and what the `NormalisedLead` pandera model
rejects (`failure_cases`). A failure pandera reports without a row index (a whole-column type
failure) applies to every row.

A row is rejected (its `_issues` are every problem it has, and it ends `invalid`) only when
the reader failed on it, a bookkeeping column is wrong, or no identity (target id, external
id, email, phone) is left once its bad values are dropped. Otherwise a bad value only costs
the row that value: the field is blanked (left out of any payload) and the problem becomes a
warning with the same code (`invalid_phone`, `invalid_timezone`, ...; an unknown status word
is `unknown_status`). `strict=True` (`--strict`) keeps the old all-or-nothing rule: any problem
rejects the row. Nothing is dropped either way.

Notes that do not reject the row come the same way, as `_warn_<field>` columns ("code|message";
`_warn_<field>.<what>` when a field has several): `validate` gathers them, in column order,
into `_warnings`, a list of {field, code, message} (`schemas.fields.WARNING_ENTRY`).
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from schemas.fields import (
    BOOKKEEPING_FIELDS,
    CANONICAL_FIELDS,
    COMPANION_FIELDS,
    IDENTITY_FIELDS,
    WARNING_ENTRY,
)
from schemas.lead import NormalisedLead
from transforms.normalise import ERROR_FIELDS
from transforms.read import READ_ERROR

__all__ = ["ISSUES", "WARNINGS", "collect_warnings", "schema_failures", "validate"]

ISSUES = "_issues"
WARNINGS = "_warnings"
_WARN_PREFIX = "_warn_"
_FAIL_PREFIX = "_fail_"
_STRUCTURAL = "_structural"
_NO_ISSUES = pl.lit([], pl.List(pl.String))
_NO_WARNINGS = pl.lit([], pl.List(WARNING_ENTRY))
_POSITION = "_position"

_CHECK_MESSAGES = {
    "has_identity": (
        "no_identity",
        "the row has no identity: it needs a target id, external id, email or phone",
    ),
}

# What a failed named check means, after "<column> '<value>'".
_CHECK_PHRASES = {
    "iso_country": "is not an ISO 3166 country code",
    "iana_timezone": "is not an IANA time zone",
    "finite": "is not a finite number",
    "step_positive_or_stop": "is not a follow-up step (1 or more, -1 to stop, -2 for long-term)",
}

# A problem kept as a warning keeps its code, except where the warning says something else.
_WARNING_CODES = {"invalid_status": "unknown_status"}
# What a warning adds to the problem's message: the value was left out, the row was not.
_LEFT_OUT = "; left out, the rest of the row is imported"
_LEFT_OUT_AS = {"status": "; left out, the word is kept in custom as status_raw"}
# Optional fields: a bad value there never rejects a row unless `strict` (bookkeeping and
# companion columns are leadpipe's own: a failure there is structural).
_OPTIONAL = frozenset(CANONICAL_FIELDS)


def validate(df: pl.DataFrame, *, strict: bool = False) -> pl.DataFrame:
    """Add `_issues` (a list of "code|message"; an empty list means the row is valid) and
    `_warnings` (the row's notes); outside `strict`, bad optional values are blanked and
    become warnings (see the module docstring)."""
    canonical = df.select(*BOOKKEEPING_FIELDS, *CANONICAL_FIELDS, *COMPANION_FIELDS)
    cases = _failure_cases(canonical)
    from_schema = _per_row(cases, canonical.height)
    stage_errors = [
        c for c in (READ_ERROR, *(f"_err_{f}" for f in ERROR_FIELDS)) if c in df.columns
    ]
    own = _non_null_list(stage_errors) if stage_errors else _NO_ISSUES
    if from_schema.is_empty():
        df = df.with_columns(own.alias(ISSUES))
    else:
        df = (
            df.with_row_index(_POSITION)
            .join(from_schema, on=_POSITION, how="left", maintain_order="left")
            .with_columns(
                pl.concat_list(own, pl.col("_schema_issues").fill_null(_NO_ISSUES)).alias(ISSUES)
            )
            .drop(_POSITION, "_schema_issues")
        )
    if not strict:
        df = _keep_what_is_valid(df, cases)
    return collect_warnings(df.drop(stage_errors))


def _keep_what_is_valid(df: pl.DataFrame, cases: pl.DataFrame) -> pl.DataFrame:
    """Rows that keep an identity: their bad optional values blanked, each a `_warn_` note,
    and no issues; the other rows keep every issue (they are rejected)."""
    fails = _field_failures(cases, df.height)
    df = pl.concat([df, fails], how="horizontal")
    # Only the fields some row has a problem with get expressions (most files: a few).
    errors = {
        f: f"_err_{f}"
        for f in ERROR_FIELDS
        if f"_err_{f}" in df.columns and df[f"_err_{f}"].null_count() < df.height
    }
    failed = {f: f"{_FAIL_PREFIX}{f}" for f in _OPTIONAL if f"{_FAIL_PREFIX}{f}" in df.columns}
    fields = [f for f in CANONICAL_FIELDS if f in errors or f in failed]
    problem = {f: pl.coalesce([pl.col(c[f]) for c in (errors, failed) if f in c]) for f in fields}
    bad = {f: problem[f].is_not_null() for f in fields}
    identity = pl.any_horizontal(
        [pl.col(f).is_not_null() & ~bad.get(f, pl.lit(False)) for f in IDENTITY_FIELDS]
    )
    read_failed = pl.col(READ_ERROR).is_not_null() if READ_ERROR in df.columns else pl.lit(False)
    kept = (~read_failed & ~pl.col(_STRUCTURAL) & identity).alias("_kept")
    df = df.with_columns(kept)
    left_out = [
        pl.when(pl.col("_kept") & bad[f]).then(None).otherwise(pl.col(f)).alias(f) for f in fields
    ]
    notes = [
        pl.when(pl.col("_kept"))
        .then(_as_warning(f, problem[f]))
        .alias(f"{_WARN_PREFIX}{f}.invalid")
        for f in fields
    ]
    return (
        df.with_columns(*notes)
        .with_columns(
            *left_out,
            pl.when("_kept").then(_NO_ISSUES).otherwise(pl.col(ISSUES)).alias(ISSUES),
        )
        .drop("_kept", _STRUCTURAL, *fails.columns[1:])
    )


def _as_warning(field: str, problem: pl.Expr) -> pl.Expr:
    """A problem's "code|message" as a warning's: its code (or the warning's own) and message,
    saying the value was left out."""
    parts = problem.str.splitn("|", 2)
    code = parts.struct.field("field_0").replace(_WARNING_CODES)
    message = parts.struct.field("field_1") + pl.lit(_LEFT_OUT_AS.get(field, _LEFT_OUT))
    return code + pl.lit("|") + message


def _field_failures(cases: pl.DataFrame, height: int) -> pl.DataFrame:
    """One row per frame row: `_structural` (a failure of anything but an optional field; a
    row without an identity is judged again once its bad values are dropped), then pandera's
    failures of optional fields as `_fail_<field>` ("code|message", the first per row)."""
    frame = pl.DataFrame({_POSITION: pl.int_range(height, dtype=pl.UInt32, eager=True)})
    if cases.is_empty():
        return frame.with_columns(pl.lit(False).alias(_STRUCTURAL)).select(_STRUCTURAL)
    cases = cases.with_columns(pl.col("index").cast(pl.UInt32).alias(_POSITION))
    per_field = (pl.col("index").is_not_null() & pl.col("column").is_in(list(_OPTIONAL))) & ~pl.col(
        "check"
    ).str.starts_with("dtype(")
    other = cases.filter(~per_field & (pl.col("check") != "has_identity"))
    everywhere = other.filter(pl.col("index").is_null()).height > 0
    structural = frame.join(
        other.select(_POSITION).unique().with_columns(pl.lit(True).alias(_STRUCTURAL)),
        on=_POSITION,
        how="left",
        maintain_order="left",
    ).select(pl.col(_STRUCTURAL).fill_null(everywhere))
    fields = cases.filter(per_field)
    if fields.is_empty():
        return structural
    wide = (
        fields.group_by(_POSITION, "column", maintain_order=True)
        .agg(pl.col("issue").first())
        .pivot(on="column", index=_POSITION, values="issue")
    )
    named = wide.rename({c: f"{_FAIL_PREFIX}{c}" for c in wide.columns if c != _POSITION})
    placed = frame.join(named, on=_POSITION, how="left", maintain_order="left").drop(_POSITION)
    return pl.concat([structural, placed], how="horizontal")


def collect_warnings(df: pl.DataFrame, into: str = WARNINGS) -> pl.DataFrame:
    """`_warn_*` columns gathered into `into` (added to any the frame already has): `_warnings`
    while checking, the report's `warnings` for the notes of later stages (diff)."""
    notes = [c for c in df.columns if c.startswith(_WARN_PREFIX)]
    earlier = pl.col(into) if into in df.columns else _NO_WARNINGS
    if not notes:
        return df.with_columns(earlier.alias(into))
    # Most rows have no note: the lists are built for the rows that have one, then placed.
    noted = df.select(pl.arg_where(pl.any_horizontal(pl.col(notes).is_not_null()))).to_series()
    if noted.is_empty():
        return df.with_columns(earlier.alias(into)).drop(notes)
    entries = [_warning_entry(c) for c in notes]
    # As for `_non_null_list`: an array filtered, not `concat_list` + `list.drop_nulls`.
    found = pl.concat_arr(entries).arr.to_list().list.filter(pl.element().is_not_null())
    lists = df.select(notes)[noted].select(found.alias(into)).to_series()
    # Each row's place in `lists` (null: none); a list of structs cannot be scattered into.
    where = (
        pl.Series(dtype=pl.UInt32)
        .extend_constant(None, df.height)
        .scatter(noted, pl.int_range(len(noted), dtype=pl.UInt32, eager=True))
    )
    placed = lists.gather(where).fill_null(pl.lit([], pl.List(WARNING_ENTRY))).alias(into)
    if into in df.columns:  # `concat_list` of structs is slow (~1.5 s at 1M rows): rare
        return df.with_columns(pl.concat_list(earlier, pl.lit(placed)).alias(into)).drop(notes)
    return df.with_columns(placed).drop(notes)


def _warning_entry(column: str) -> pl.Expr:
    """{field, code, message} of a "code|message" note; null where the row has none."""
    field = column.removeprefix(_WARN_PREFIX).split(".", 1)[0]
    parts = pl.col(column).cast(pl.String).str.splitn("|", 2)
    entry = pl.struct(
        pl.lit(field).alias("field"),
        parts.struct.field("field_0").alias("code"),
        parts.struct.field("field_1").alias("message"),
    )
    return pl.when(pl.col(column).is_not_null()).then(entry)


def _non_null_list(columns: list[str]) -> pl.Expr:
    """The row's non-null values of `columns`, in order, as a list."""
    # Via an array and a list filter: `concat_list` + `list.drop_nulls` is ~30x slower at 1M rows.
    values = pl.concat_arr([pl.col(c).cast(pl.String) for c in columns])
    return values.arr.to_list().list.filter(pl.element().is_not_null())


def schema_failures(canonical: pl.DataFrame) -> pl.DataFrame:
    """pandera's failure cases as `_position` -> `_schema_issues` (list of "code|message")."""
    return _per_row(_failure_cases(canonical), canonical.height)


def _failure_cases(canonical: pl.DataFrame) -> pl.DataFrame:
    """pandera's failure cases (`index`, `column`, `check`) each with its "code|message"
    `issue`; a check that failed only because its column has the wrong type is left out."""
    try:
        NormalisedLead.validate(canonical, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases: pl.DataFrame = exc.failure_cases
    else:
        return pl.DataFrame(
            schema={"index": pl.Int32, "column": pl.String, "check": pl.String, "issue": pl.String}
        )
    # A check that ran on a column of the wrong type fails as a consequence: keep the cause only.
    wrong_type = cases.filter(pl.col("check").str.starts_with("dtype("))["column"].implode()
    consequence = (
        pl.col("index").is_null()
        & ~pl.col("check").str.starts_with("dtype(")
        & pl.col("column").is_in(wrong_type)
    )
    return (
        cases.filter(~consequence)
        .with_columns(_describe())
        .select(pl.col("index").cast(pl.Int32), "column", "check", "issue")
    )


def _per_row(cases: pl.DataFrame, height: int) -> pl.DataFrame:
    """Failure cases as `_position` -> `_schema_issues`; one without a row is every row's."""
    empty = pl.DataFrame(schema={_POSITION: pl.UInt32, "_schema_issues": pl.List(pl.String)})
    if cases.is_empty():
        return empty
    issues = cases.select("index", "issue")
    per_row = issues.filter(pl.col("index").is_not_null())
    everywhere = issues.filter(pl.col("index").is_null())
    if everywhere.height:
        positions = pl.DataFrame({"index": range(height)}, schema={"index": pl.Int32})
        per_row = pl.concat([per_row, positions.join(everywhere.drop("index"), how="cross")])
    return (
        per_row.group_by("index", maintain_order=True)
        .agg(pl.col("issue").alias("_schema_issues"))
        .select(pl.col("index").cast(pl.UInt32).alias(_POSITION), "_schema_issues")
    )


def _describe() -> pl.Expr:
    """A readable "code|message" naming the column, the offending value and what it should be."""
    column, check = pl.col("column"), pl.col("check")
    value = pl.lit("'") + pl.col("failure_case").str.slice(0, 60) + pl.lit("'")
    allowed = check.str.extract(r"^isin\(\[(.*)\]\)$", 1).str.replace_all("'", "", literal=True)
    fixed = {name: pl.lit(text) for name, (_, text) in _CHECK_MESSAGES.items()}
    message = (
        pl.when(check.str.starts_with("dtype("))
        .then(
            pl.format(
                "column {} has type {} but the schema needs {}",
                column,
                pl.col("failure_case"),
                check,
            )
        )
        .when(allowed.is_not_null())
        .then(pl.format("{} {} is not one of: {}", column, value, allowed))
        .when(check.is_in(list(_CHECK_PHRASES)))
        .then(
            pl.format("{} {} {}", column, value, check.replace_strict(_CHECK_PHRASES, default=""))
        )
        .otherwise(pl.format("{} {} fails the check {}", column, value, check))
    )
    code = (
        pl.when(check.str.starts_with("dtype("))
        .then(pl.lit("wrong_type"))
        .otherwise(pl.lit("invalid_") + column)
    )
    for name, (fixed_code, _) in _CHECK_MESSAGES.items():
        code = pl.when(check == name).then(pl.lit(fixed_code)).otherwise(code)
        message = pl.when(check == name).then(fixed[name]).otherwise(message)
    return (code + pl.lit("|") + message).alias("issue")
