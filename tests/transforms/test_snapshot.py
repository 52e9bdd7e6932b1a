"""A snapshot from an export of the target: rows with an id become its leads, typed."""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal

from schemas.frames import TARGET_LEAD_SCHEMA
from tests.transforms.frames import normalised
from transforms.snapshot import snapshot_from_export


def test_rows_with_a_target_id_become_leads_in_the_target_lead_schema() -> None:
    export = normalised(
        [
            {"target_id": "L1", "email": "a@x.io", "tags": ["vip"], "value": 5.0},
            {"target_id": None, "email": "b@x.io"},
            {"target_id": "L3", "phone": "+12125550100", "opted_out": True},
            {"email": "c@x.io"},
        ]
    )
    leads, without_id = snapshot_from_export(export)
    assert without_id == 2
    assert leads.schema == pl.Schema(TARGET_LEAD_SCHEMA)
    assert leads.select(
        "id", "updated_at", "email", "phone", "tags", "value", "opted_out"
    ).rows() == [
        ("L1", None, "a@x.io", None, ["vip"], 5.0, None),
        ("L3", None, None, "+12125550100", None, None, True),
    ]


def test_columns_are_cast_to_the_target_lead_types() -> None:
    export = normalised([{"target_id": "L1", "email": "a@x.io"}]).with_columns(
        pl.lit(7, pl.Int32).alias("value"), pl.lit("3").alias("follow_up_step")
    )
    leads, without_id = snapshot_from_export(export)
    assert without_id == 0
    assert leads.select("value", "follow_up_step").row(0) == (7.0, 3)
    assert leads.schema == pl.Schema(TARGET_LEAD_SCHEMA)


def test_an_export_without_ids_gives_no_leads() -> None:
    leads, without_id = snapshot_from_export(normalised([{"email": "a@x.io"}, {"email": "b@x"}]))
    assert without_id == 2
    assert_frame_equal(leads, pl.DataFrame(schema=TARGET_LEAD_SCHEMA))
