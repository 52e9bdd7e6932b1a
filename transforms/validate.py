"""The `validate` stage: every problem with a row becomes a reason on that row.

Reasons are "code|message" strings (`code` is `[a-z_]+`), collected per row in `_issues`.

Three sources of reasons, in this order: what the reader found (`_read_error`), what the
normalisers could not understand (`_err_<field>`), and what the `NormalisedLead` pandera model
rejects (`failure_cases`). A failure pandera reports without a row index (a whole-column type
failure) applies to every row. Nothing is dropped: rows with reasons end `invalid`.

Notes that do not reject the row come the same way, as `_warn_<field>` columns ("code|message";
`_warn_<field>.<what>` when a field has several): `validate` gathers them, in column order,
into `_warnings`, a list of {field, code, message} (`schemas.fields.WARNING_ENTRY`).
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from schemas.fields import BOOKKEEPING_FIELDS, CANONICAL_FIELDS, COMPANION_FIELDS, WARNING_ENTRY
from schemas.lead import NormalisedLead
from transforms.normalise import ERROR_FIELDS
from transforms.read import READ_ERROR

__all__ = ["ISSUES", "WARNINGS", "collect_warnings", "schema_failures", "validate"]

ISSUES = "_issues"
WARNINGS = "_warnings"
_WARN_PREFIX = "_warn_"
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


def validate(df: pl.DataFrame) -> pl.DataFrame:
    """Add `_issues` (a list of "code|message"; an empty list means the row is valid) and
    `_warnings` (the row's notes)."""
    df = collect_warnings(df)
    canonical = df.select(*BOOKKEEPING_FIELDS, *CANONICAL_FIELDS, *COMPANION_FIELDS)
    from_schema = schema_failures(canonical)
    stage_errors = [
        c for c in (READ_ERROR, *(f"_err_{f}" for f in ERROR_FIELDS)) if c in df.columns
    ]
    own = _non_null_list(stage_errors) if stage_errors else _NO_ISSUES
    if from_schema.is_empty():
        return df.with_columns(own.alias(ISSUES)).drop(stage_errors)
    return (
        df.with_row_index(_POSITION)
        .join(from_schema, on=_POSITION, how="left", maintain_order="left")
        .with_columns(
            pl.concat_list(own, pl.col("_schema_issues").fill_null(_NO_ISSUES)).alias(ISSUES)
        )
        .drop(_POSITION, "_schema_issues", *stage_errors)
    )


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
    empty = pl.DataFrame(schema={_POSITION: pl.UInt32, "_schema_issues": pl.List(pl.String)})
    try:
        NormalisedLead.validate(canonical, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases: pl.DataFrame = exc.failure_cases
    else:
        return empty
    # A check that ran on a column of the wrong type fails as a consequence: keep the cause only.
    wrong_type = cases.filter(pl.col("check").str.starts_with("dtype("))["column"].implode()
    consequence = (
        pl.col("index").is_null()
        & ~pl.col("check").str.starts_with("dtype(")
        & pl.col("column").is_in(wrong_type)
    )
    issues = cases.filter(~consequence).with_columns(_describe()).select("index", "issue")
    per_row = issues.filter(pl.col("index").is_not_null())
    everywhere = issues.filter(pl.col("index").is_null())
    if everywhere.height:
        positions = pl.DataFrame({"index": range(canonical.height)}, schema={"index": pl.Int32})
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
