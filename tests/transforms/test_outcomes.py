"""Outcomes: what the push did (and earlier attempts of a resumed run) over the planned rows."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from schemas.fields import CHANGE_ENTRY, REPORT_COLUMNS, WARNING_ENTRY
from schemas.frames import EARLIER_SCHEMA, PLAN_COLUMNS, PUSH_RESULT_SCHEMA
from transforms.outcomes import (
    apply_earlier_attempts,
    apply_outcomes,
    apply_push_results,
    existing_leads,
    planned_requests,
    report_columns,
)

PLANNED: dict[str, pl.DataType] = {
    "source_file": pl.String(),
    "source_row": pl.Int64(),
    "outcome": pl.String(),
    "reason_code": pl.String(),
    "reason": pl.String(),
    "warnings": pl.List(WARNING_ENTRY),
    "match_by": pl.String(),
    "target_id": pl.String(),
    "changed_fields": pl.List(pl.String),
    "changes": pl.List(CHANGE_ENTRY),
    "http_status": pl.Int64(),
    "attempts": pl.Int64(),
    "request_id": pl.String(),
    "email": pl.String(),
    "match_status": pl.String(),
    "matched_id": pl.String(),
    "op": pl.String(),
    "op_id": pl.String(),
    "send": pl.Struct({"email": pl.String}),
    "_issues": pl.List(pl.String),
}


def _planned(*rows: dict[str, Any]) -> pl.DataFrame:
    base = {"source_file": "f.csv", "outcome": "unchanged"}
    return pl.DataFrame(
        [{**dict.fromkeys(PLANNED), **base, "source_row": i + 2, **r} for i, r in enumerate(rows)],
        schema=PLANNED,
    )


def _create(op_id: str, **row: Any) -> dict[str, Any]:
    return {"op": "create", "op_id": op_id, "outcome": "would_create", **row}


def _update(op_id: str, lead: str, **row: Any) -> dict[str, Any]:
    return {
        "op": "update",
        "op_id": op_id,
        "outcome": "would_update",
        "matched_id": lead,
        "changed_fields": ["email"],
        **row,
    }


def _results(*rows: tuple[Any, ...]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=PUSH_RESULT_SCHEMA, orient="row")


def _earlier(*rows: tuple[Any, ...]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=EARLIER_SCHEMA, orient="row")


_ROW = ("outcome", "target_id", "reason_code", "reason", "http_status", "attempts", "request_id")


@pytest.mark.parametrize(
    ("planned", "result", "expected"),
    [
        pytest.param(
            _create("c1"),
            ("c1", "succeeded", "L7", 201, 1, "req-1", None, None),
            ("created", "L7", None, None, 201, 1, "req-1"),
            id="created",
        ),
        pytest.param(
            _update("u1", "L2"),
            ("u1", "succeeded", None, 200, 2, "req-2", None, None),
            ("updated", "L2", None, None, 200, 2, "req-2"),
            id="updated",
        ),
        pytest.param(
            _update("u1", "L2"),
            ("u1", "failed", None, 422, 1, "req-3", "invalid_field", "email is not valid"),
            ("failed", "L2", "invalid_field", "email is not valid", 422, 1, "req-3"),
            id="failed",
        ),
        pytest.param(
            _create("c1"),
            ("c1", "ambiguous", None, None, 3, None, "timeout", "POST /leads: read timed out"),
            (
                "failed",
                None,
                "timeout",
                "no answer after sending; the next import looks it up: POST /leads: read timed out",
                None,
                3,
                None,
            ),
            id="ambiguous",
        ),
        pytest.param(
            _create("c1"),
            ("c1", "ambiguous", None, 200, 1, "r9", "no_id_in_answer", "answered 200 without id"),
            (
                "failed",
                None,
                "no_id_in_answer",
                "the lead's id is unknown; the next import looks it up: answered 200 without id",
                200,
                1,
                "r9",
            ),
            id="answered-without-id",
        ),
        pytest.param(
            _create("c1"),
            ("c1", "failed", None, None, 0, None, "skipped", "the target stopped answering"),
            ("skipped", None, "skipped", "the target stopped answering", None, 0, None),
            id="skipped",
        ),
        pytest.param(
            _create("c1"),
            ("c1", "failed", None, 409, 1, "req-4", "conflict", "a lead has this email"),
            ("conflict", None, "conflict", "a lead has this email", 409, 1, "req-4"),
            id="conflict",
        ),
        pytest.param(
            {"matched_id": "L5", "reason": "kept"},
            ("c1", "succeeded", "L7", 201, 1, "req-1", None, None),
            ("unchanged", "L5", None, "kept", None, None, None),
            id="not pushed",
        ),
    ],
)
def test_push_results_per_case(
    planned: dict[str, Any], result: tuple[Any, ...], expected: tuple[Any, ...]
) -> None:
    frame = apply_outcomes(_planned(planned), _results(result), None)
    assert frame.select(_ROW).row(0) == expected


def test_a_created_lead_with_a_failed_follow_up_still_names_its_lead() -> None:
    frame = apply_push_results(
        _planned(_create("c1")),
        _results(("c1", "failed", "L7", 500, 3, "req-5", "http_500", "server error")),
    )
    assert frame.select(_ROW).row(0) == (
        "failed",
        "L7",
        "http_500",
        "server error",
        500,
        3,
        "req-5",
    )


def test_the_report_of_a_resumed_run_says_what_earlier_attempts_wrote() -> None:
    frame = _planned(
        {"matched_id": "L1"},
        {"matched_id": "L9"},
        _update("u2", "L2", outcome="updated", http_status=200, attempts=1, request_id="req-x"),
        {"matched_id": "L5"},
        _update("u6", "L6", outcome="updated", http_status=200, attempts=1, request_id="req-y"),
        {"matched_id": "L7"},
    )
    earlier = _earlier(
        (2, "create", "L1", 200, 2, "req-1"),
        (3, "create", "L3", 200, 1, "req-3"),  # now matches L9
        (4, "update", "L2", 200, 1, "req-2"),  # planned again
        # killed after sending, before the answer was journaled: the target has it now
        (5, "create", None, None, 0, None),
        # created earlier, its follow-up sent only now: the row was created by this run
        (6, "create", "L6", 201, 1, "req-6"),
        (7, "update", None, None, 0, None),  # an update cut off the same way
    )
    done = apply_earlier_attempts(frame, earlier)
    assert done.select("outcome", "attempts", "request_id").rows() == [
        ("created", 2, "req-1"),
        ("unchanged", None, None),
        ("updated", 1, "req-x"),
        ("created", None, None),
        ("created", 1, "req-y"),
        ("updated", None, None),
    ]


def test_earlier_attempts_are_laid_over_this_attempts_results() -> None:
    frame = _planned(_update("u1", "L6"), {"matched_id": "L1"})
    results = _results(("u1", "succeeded", None, 200, 1, "req-now", None, None))
    earlier = _earlier((2, "create", "L6", 201, 1, "req-then"), (3, "update", "L1", 200, 4, "r"))
    done = apply_outcomes(frame, results, earlier)
    assert done.select("outcome", "attempts", "request_id").rows() == [
        ("created", 1, "req-now"),
        ("updated", 4, "r"),
    ]


def test_a_dry_run_keeps_the_planned_outcomes_and_ignores_earlier_attempts() -> None:
    frame = _planned(_create("c1"), {"matched_id": "L1"})
    earlier = _earlier((3, "update", "L1", 200, 4, "r"))
    done = apply_outcomes(frame, None, earlier)
    assert done.select("outcome", "target_id").rows() == [
        ("would_create", None),
        ("unchanged", "L1"),
    ]
    assert done.columns == frame.columns


def test_report_rows_are_the_report_columns_then_the_lead_without_send_or_bookkeeping() -> None:
    frame = _planned(_create("c1", email="a@x.io", send={"email": None}))
    full = apply_outcomes(frame, _results(("c1", "succeeded", "L7", 201, 1, "r", None, None)), None)
    rows = report_columns(full)
    assert rows.columns == [*REPORT_COLUMNS, "email", "match_status", "matched_id", "op", "op_id"]
    assert rows.select("outcome", "target_id", "email").row(0) == ("created", "L7", "a@x.io")


def test_existing_leads_include_a_create_whose_follow_up_failed() -> None:
    frame = _planned(
        _create("c1"),  # created
        _update("u1", "L2"),  # updated
        _create("c2"),  # created, its follow-up failed
        _create("c3"),  # never created
        _update("u2", "L4"),  # an update that failed
        {"matched_id": "L5"},  # unchanged
    )
    results = _results(
        ("c1", "succeeded", "L1", 201, 1, None, None, None),
        ("u1", "succeeded", None, 200, 1, None, None, None),
        ("c2", "failed", "L3", 500, 3, None, "http_500", "follow-up failed"),
        ("c3", "failed", None, 422, 1, None, "invalid_field", "bad"),
        ("u2", "failed", None, 500, 3, None, "http_500", "bad"),
    )
    exists = existing_leads(apply_outcomes(frame, results, None))
    assert exists.select("source_row", "outcome", "target_id").rows() == [
        (2, "created", "L1"),
        (3, "updated", "L2"),
        (4, "failed", "L3"),
    ]


def test_planned_requests_are_the_rows_that_send_something() -> None:
    frame = _planned(_create("c1"), {"matched_id": "L5"}, _update("u1", "L2"))
    planned = planned_requests(apply_outcomes(frame, None, None))
    assert planned.columns == list(PLAN_COLUMNS)
    assert planned.rows() == [("c1", 2, "create", None, None), ("u1", 4, "update", "L2", ["email"])]
