"""Reconcile's fields, report rows and per-field counts."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import polars as pl
import pytest

from schemas.fields import REPORT_COLUMNS
from schemas.vendors import APTEN, OCTANIST, OMNI, VendorSpec
from transforms.reconcile import (
    DIFFERENCE,
    compared_fields,
    field_difference_counts,
    recon_status_counts,
    reconcile_report_rows,
)


@pytest.mark.parametrize(
    ("vendor", "fields"),
    [
        (OCTANIST, ["email", "loss_reason", "note", "phone", "status", "value", "website"]),
        (
            APTEN,
            [
                "custom",
                "customer_profile",
                "email",
                "first_name",
                "last_name",
                "opted_out",
                "phone",
            ],
        ),
        (
            OMNI,
            [
                "business_name",
                "checklist",
                "email",
                "first_name",
                "last_name",
                "middle_name",
                "opted_out",
                "phone",
                "status",
                "tags",
                "timezone",
                "website",
            ],
        ),
    ],
)
def test_compared_fields_are_what_the_target_returns_on_reads(
    vendor: VendorSpec, fields: list[str]
) -> None:
    assert compared_fields(vendor) == fields


def test_ids_and_unknown_fields_are_not_compared_and_status_needs_status_words() -> None:
    vendor = replace(
        OCTANIST,
        read={"id": "target_id", "ext": "external_id", "mail": "email", "x": "not_a_field"},
        read_statuses={},
    )
    assert compared_fields(vendor) == ["email"]
    assert compared_fields(replace(vendor, read_statuses={"OPEN": "open"})) == ["email", "status"]


_DIFFERS = [{"field": "email", "file": "a@x.io", "target": "b@x.io"}]


def _compared(*rows: dict[str, Any]) -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {
        **dict.fromkeys(REPORT_COLUMNS, pl.String()),
        "source_row": pl.Int64(),
        "changed_fields": pl.List(pl.String),
        "http_status": pl.Int64(),
        "attempts": pl.Int64(),
        "email": pl.String(),
        "matched_id": pl.String(),
        "send": pl.Struct({"email": pl.String}),
        "_issues": pl.List(pl.String),
        "differences": pl.List(DIFFERENCE),
        "recon_status": pl.String(),
    }
    return pl.DataFrame(
        [{**dict.fromkeys(schema), "source_row": i + 2, **r} for i, r in enumerate(rows)],
        schema=schema,
    )


def test_report_rows_lead_with_the_comparison_and_leave_out_send_and_bookkeeping() -> None:
    frame = _compared(
        {"recon_status": "different", "matched_id": "L1", "differences": _DIFFERS},
        {"recon_status": "only_in_file", "email": "n@x.io", "differences": []},
        {"recon_status": "equal", "matched_id": "L3", "target_id": "L3", "differences": []},
    )
    rows = reconcile_report_rows(frame)
    assert rows.columns == [*REPORT_COLUMNS, "recon_status", "differences", "email", "matched_id"]
    assert rows["target_id"].to_list() == ["L1", None, "L3"]
    assert rows["differences"].to_list() == [_DIFFERS, [], []]


def test_field_difference_counts_most_frequent_first_then_by_name() -> None:
    def differs(*fields: str) -> list[dict[str, str]]:
        return [{"field": f, "file": "1", "target": "2"} for f in fields]

    frame = _compared(
        {"differences": differs("phone", "email")},
        {"differences": differs("website", "phone")},
        {"differences": []},
        {"differences": None},
        {"differences": differs("email", "note", "phone")},
    )
    counts = field_difference_counts(reconcile_report_rows(frame))
    assert list(counts.items()) == [("phone", 3), ("email", 2), ("note", 1), ("website", 1)]
    assert field_difference_counts(_compared({"differences": []})) == {}


def test_recon_status_counts_list_every_status() -> None:
    frame = _compared(
        {"recon_status": "different"}, {"recon_status": "equal"}, {"recon_status": "different"}
    )
    assert recon_status_counts(frame) == {
        "equal": 1,
        "different": 2,
        "only_in_file": 0,
        "conflict": 0,
        "invalid": 0,
        "duplicate": 0,
    }
