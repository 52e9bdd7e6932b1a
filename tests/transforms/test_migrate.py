"""Migration helpers: an origin's leads as a flat export, and the summary's extras."""

from __future__ import annotations

from typing import Any

import polars as pl
from polars.testing import assert_frame_equal

from schemas.frames import TARGET_LEAD_SCHEMA
from transforms.migrate import extra_counts, flat_export


def _leads(*rows: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(
        [{**dict.fromkeys(TARGET_LEAD_SCHEMA), **r} for r in rows], schema=TARGET_LEAD_SCHEMA
    )


def test_flat_export_lays_leads_out_as_text_with_one_column_per_custom_key() -> None:
    leads = _leads(
        {
            "id": "A1",
            "updated_at": "2026-01-01",
            "email": "a@x.io",
            "tags": ["vip", "hot"],
            "value": 5.0,
            "opted_out": True,
            "custom": [{"key": "loan", "value": "5000"}, {"key": "source", "value": "web"}],
            "checklist": [{"code": "tax_id", "value": "1", "status": "TODO"}],
        },
        {"id": "A2", "phone": "+12125550100", "custom": [{"key": None, "value": "lost"}]},
        {"id": "A3", "email": "c@x.io", "custom": []},
    )
    expected = pl.DataFrame(
        {
            "target_id": ["A1", "A2", "A3"],
            "email": ["a@x.io", None, "c@x.io"],
            "phone": [None, "+12125550100", None],
            "value": ["5.0", None, None],
            "tags": ["vip, hot", None, None],
            "opted_out": ["true", None, None],
            "loan": ["5000", None, None],
            "source": ["web", None, None],
        }
    )
    assert_frame_equal(flat_export(leads), expected)


def test_flat_export_prefixes_a_custom_key_named_like_a_canonical_field() -> None:
    leads = _leads({"id": "A1", "email": "a@x.io", "custom": [{"key": "email", "value": "o@x"}]})
    assert flat_export(leads).columns == ["target_id", "email", "custom.email"]


def test_flat_export_without_custom_entries_has_the_plain_columns_only() -> None:
    out = flat_export(_leads({"id": "A1", "first_name": "Ann"}, {"id": "A2", "custom": []}))
    assert out.rows() == [("A1", "Ann"), ("A2", None)]
    assert out.columns == ["target_id", "first_name"]


def test_extra_counts_most_frequent_first_then_by_name() -> None:
    rows = pl.DataFrame(
        {"extras": [["website", "note"], [], None, ["note"], ["tags", "website", "note"]]},
        schema={"extras": pl.List(pl.String)},
    )
    assert list(extra_counts(rows).items()) == [("note", 3), ("website", 2), ("tags", 1)]
    assert extra_counts(rows.head(0)) == {}
