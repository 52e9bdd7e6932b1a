"""The `outcomes` stage: what the push did, laid over the planned rows, and the report's rows.

A planned row says what leadpipe meant to do (`would_create`, `would_update`, ...); the push
answers per request (`schemas.frames.PUSH_RESULT_SCHEMA`, by `op_id`) and, in a resumed run,
per source row an earlier attempt wrote (`EARLIER_SCHEMA`). Here both become the row's
outcome: `created`, `updated`, `failed`, `conflict` or `skipped`, with the HTTP facts.

- `apply_outcomes`: the planned rows with every outcome applied (all columns kept, for
  `existing_leads` and `planned_requests`);
- `report_columns`: those rows as report rows (DESIGN.md's columns, then the lead's).

    >>> planned = pl.DataFrame({"source_row": [2], "op": ["create"], "op_id": ["1"],
    ...     "outcome": ["would_create"], "reason_code": [None], "reason": [None],
    ...     "matched_id": [None], "target_id": [None]}, schema_overrides={
    ...     "reason_code": pl.String, "reason": pl.String, "matched_id": pl.String,
    ...     "target_id": pl.String})
    >>> results = pl.DataFrame([("1", "succeeded", "L7", 201, 1, "r1", None, None)],
    ...     schema=PUSH_RESULT_SCHEMA, orient="row")
    >>> apply_push_results(planned, results).select("outcome", "target_id").row(0)
    ('created', 'L7')
"""

from __future__ import annotations

import polars as pl

from schemas.fields import REPORT_COLUMNS
from schemas.frames import PLAN_COLUMNS, SEND

__all__ = [
    "apply_earlier_attempts",
    "apply_outcomes",
    "apply_push_results",
    "existing_leads",
    "planned_requests",
    "report_columns",
]

# Rows whose lead exists after the push; a lead whose follow-up update failed exists too:
# a `written` snapshot remembers it, or a later run re-creates it.
_EXISTS = pl.col("outcome").is_in(["created", "updated"]) | (
    (pl.col("op") == "create") & (pl.col("outcome") == "failed") & pl.col("target_id").is_not_null()
)
# The journaled code of a create answered without its lead's id (connectors.AnswerWithoutId).
_NO_ID = "no_id_in_answer"
# The HTTP facts a report row carries; an earlier attempt's are `_e_<fact>`.
_FACTS = ("http_status", "attempts", "request_id")


def apply_outcomes(
    frame: pl.DataFrame, results: pl.DataFrame | None, earlier: pl.DataFrame | None
) -> pl.DataFrame:
    """Planned rows with what happened to them, every column kept.

    A matched row names its target lead (in a plan as after an import). `results` is None
    when nothing was pushed (a dry run): the planned outcomes stand, and `earlier` is not
    looked at; `earlier` is None unless the run was resumed.
    """
    frame = frame.with_columns(pl.coalesce("target_id", "matched_id").alias("target_id"))
    if results is None:
        return frame
    frame = apply_push_results(frame, results)
    return frame if earlier is None else apply_earlier_attempts(frame, earlier)


def report_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """DESIGN.md's report columns, then the lead's (no `_` bookkeeping, no `send` payload)."""
    return frame.select(
        *REPORT_COLUMNS,
        *[
            c
            for c in frame.columns
            if c not in REPORT_COLUMNS and not c.startswith("_") and c != SEND
        ],
    )


def apply_push_results(frame: pl.DataFrame, results: pl.DataFrame) -> pl.DataFrame:
    """Planned outcomes become what happened: created, updated, failed, conflict or skipped.

    `results` has `PUSH_RESULT_SCHEMA` (one row per pushed request); rows it does not name
    keep their planned outcome. Its columns stay on the frame (`_state`, `_target`, ...).
    """
    joined = frame.join(results, on="op_id", how="left", maintain_order="left")
    done = pl.col("_state") == "succeeded"
    outcome = (
        pl.when(pl.col("_state").is_null())
        .then(pl.col("outcome"))
        .when(done & (pl.col("op") == "create"))
        .then(pl.lit("created"))
        .when(done)
        .then(pl.lit("updated"))
        .when(pl.col("_code") == "skipped")
        .then(pl.lit("skipped"))
        .when(pl.col("_code") == "conflict")
        .then(pl.lit("conflict"))
        .otherwise(pl.lit("failed"))
    )
    failed = pl.col("_state").is_not_null() & ~done
    return joined.with_columns(
        outcome.alias("outcome"),
        pl.coalesce("_target", "matched_id", "target_id").alias("target_id"),
        pl.when(failed).then(pl.col("_code")).otherwise(pl.col("reason_code")).alias("reason_code"),
        pl.when(failed & (pl.col("_state") == "ambiguous") & (pl.col("_code") == _NO_ID))
        .then(
            pl.lit("the lead's id is unknown; the next import looks it up: ") + pl.col("_message")
        )
        .when(failed & (pl.col("_state") == "ambiguous"))
        .then(pl.lit("no answer after sending; the next import looks it up: ") + pl.col("_message"))
        .when(failed)
        .then(pl.col("_message"))
        .otherwise(pl.col("reason"))
        .alias("reason"),
        pl.col("_http").alias("http_status"),
        pl.col("_attempts").alias("attempts"),
        pl.col("_request").alias("request_id"),
    )


def apply_earlier_attempts(frame: pl.DataFrame, earlier: pl.DataFrame) -> pl.DataFrame:
    """A resumed run: a row an earlier attempt created or updated reports that, when it now
    matches that very lead (or the attempt was cut off before the lead's id was journaled)
    and either has nothing left to send, or only had its create's follow-up sent now.

    `earlier` has `EARLIER_SCHEMA` (one row per source row an earlier attempt wrote).
    """
    done = earlier.cast(
        {"source_row": frame.schema["source_row"], **{f"_e_{c}": frame.schema[c] for c in _FACTS}}
    )
    joined = frame.join(done, on="source_row", how="left", maintain_order="left")
    same_lead = pl.col("_e_op").is_not_null() & (
        pl.col("_e_target").is_null() | (pl.col("_e_target") == pl.col("matched_id"))
    ).fill_null(False)
    left_alone = same_lead & pl.col("op").is_null() & pl.col("matched_id").is_not_null()
    finished = same_lead & (pl.col("_e_op") == "create") & (pl.col("outcome") == "updated")
    written = pl.when(pl.col("_e_op") == "create").then(pl.lit("created"))
    answered = left_alone & pl.col("_e_http_status").is_not_null()  # else its facts are unknown
    return joined.with_columns(
        pl.when(left_alone | finished)
        .then(written.otherwise(pl.lit("updated")))
        .otherwise("outcome")
        .alias("outcome"),
        *[pl.when(answered).then(pl.col(f"_e_{c}")).otherwise(pl.col(c)).alias(c) for c in _FACTS],
    )


def existing_leads(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows of `apply_outcomes` whose lead exists in the target after the push."""
    return frame.filter(_EXISTS)


def planned_requests(frame: pl.DataFrame) -> pl.DataFrame:
    """What `plan.parquet` keeps: the rows that send a request, `PLAN_COLUMNS` only."""
    return frame.filter(pl.col("op").is_not_null()).select(PLAN_COLUMNS)
