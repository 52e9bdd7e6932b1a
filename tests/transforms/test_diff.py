"""Diff: only what really changed, compared on normalised values, in each field's semantics."""

from __future__ import annotations

from typing import Any

import polars as pl

from schemas.fields import CHECKLIST_ITEM, CUSTOM_ENTRY
from transforms.diff import diff

SCHEMA = {
    "matched_id": pl.String,
    "email": pl.String,
    "phone": pl.String,
    "value": pl.Float64,
    "tags": pl.List(pl.String),
    "custom": pl.List(CUSTOM_ENTRY),
    "checklist": pl.List(CHECKLIST_ITEM),
}
FIELDS = ("email", "phone", "value", "tags", "custom", "checklist")

SNAPSHOT = pl.LazyFrame(
    {
        "id": ["A", "B"],
        "email": ["a@x.io", "b@x.io"],
        "phone": ["+12125550100", None],
        "value": [100.0, None],
        "tags": [["VIP", "hot"], []],
        "custom": [[{"key": "loan", "value": "5000"}, {"key": "term", "value": "12"}], []],
        "checklist": [[{"code": "tax_id", "value": "1", "status": "TODO"}], []],
    },
    schema={"id": pl.String, **{k: v for k, v in SCHEMA.items() if k != "matched_id"}},
)


def _rows(*rows: dict[str, object]) -> pl.LazyFrame:
    return pl.LazyFrame([{**dict.fromkeys(SCHEMA), "tags": None, **r} for r in rows], schema=SCHEMA)


def _run(rows: pl.LazyFrame, **kw: object) -> list[dict[str, object]]:
    return diff(rows, SNAPSHOT, FIELDS, **kw).collect().to_dicts()  # type: ignore[arg-type]


def test_nothing_changes_when_normalised_values_agree() -> None:
    out = _run(
        _rows(
            {
                "matched_id": "A",
                "email": "a@x.io",
                "phone": "+12125550100",
                "value": 100.0,
                "tags": ["hot", "vip"],
                "custom": [{"key": "loan", "value": "5000"}],
            }
        )
    )
    assert out[0]["changed_fields"] == []
    assert out[0]["send"] == dict.fromkeys(FIELDS)


def test_minimal_changes_per_field_semantics() -> None:
    out = _run(
        _rows(
            {
                "matched_id": "A",
                "email": "new@x.io",
                "value": 150.0,
                "tags": ["VIP"],
                "custom": [
                    {"key": "loan", "value": "6000"},
                    {"key": "term", "value": "12"},
                    {"key": "rate", "value": "3"},
                ],
                "checklist": [{"code": "tax_id", "value": "1", "status": "COMPLETED"}],
            }
        )
    )[0]
    assert out["changed_fields"] == ["email", "value", "tags", "custom", "checklist"]
    send: Any = out["send"]
    assert (send["email"], send["value"], send["tags"]) == ("new@x.io", 150.0, ["VIP"])
    assert send["phone"] is None  # blank in the file: left as it is
    assert send["custom"] == [{"key": "loan", "value": "6000"}, {"key": "rate", "value": "3"}]
    assert send["checklist"] == [{"code": "tax_id", "value": "1", "status": "COMPLETED"}]


def test_blanks_clear_sends_clears_for_values_the_target_has() -> None:
    out = _run(_rows({"matched_id": "A", "email": "a@x.io"}), blanks="clear")[0]
    assert out["changed_fields"] == ["phone", "value", "tags"]
    send: Any = out["send"]
    assert send["phone"] is None and send["tags"] is None


def test_unmatched_rows_have_no_changes() -> None:
    out = _run(
        _rows({"matched_id": None, "email": "z@x.io"}, {"matched_id": "B", "email": "b@x.io"})
    )
    assert [o["changed_fields"] for o in out] == [None, []]


def test_blanks_clear_touches_only_fields_the_file_maps() -> None:
    out = _run(
        _rows({"matched_id": "A", "email": "a@x.io"}), blanks="clear", mapped={"email", "phone"}
    )[0]
    assert out["changed_fields"] == ["phone"]  # value and tags have no column: absent, not blank


def test_send_is_one_struct_in_the_order_of_the_columns_it_replaced() -> None:
    """Entry fields first, as the `_send_<field>` columns were made: `plan` hashes this order
    into op ids a resumed run must find again."""
    out = diff(_rows({"matched_id": "A"}), SNAPSHOT, FIELDS).collect()
    assert out.schema["send"] == pl.Struct(
        {
            "custom": pl.List(CUSTOM_ENTRY),
            "checklist": pl.List(CHECKLIST_ITEM),
            "email": pl.String,
            "phone": pl.String,
            "value": pl.Float64,
            "tags": pl.List(pl.String),
        }
    )
    assert [c for c in out.columns if c.startswith("_")] == [
        "_blocked",
        "_changes",
        "_unsynced",
        "_base_stale",
    ]


def test_unmatched_rows_send_a_struct_of_nulls_never_a_null_struct() -> None:
    out = diff(_rows({"matched_id": None, "email": "z@x.io"}), SNAPSHOT, FIELDS).collect()
    assert out["send"].null_count() == 0
    assert out["send"].to_list() == [dict.fromkeys(FIELDS)]


def test_only_fields_both_sides_have_are_in_send() -> None:
    out = diff(_rows({"matched_id": "A"}), SNAPSHOT, ("email", "website")).collect()
    assert out.schema["send"] == pl.Struct({"email": pl.String})


def test_changes_name_each_changed_field_with_old_and_new_values_as_text() -> None:
    out = diff(
        _rows({"matched_id": "A", "email": "new@x.io", "value": 250.0, "tags": ["cold"]}),
        SNAPSHOT,
        FIELDS,
    ).collect()
    assert out["_changes"][0].to_list() == [
        {"field": "email", "old": "a@x.io", "new": "new@x.io"},
        {"field": "value", "old": "100.0", "new": "250.0"},
        {"field": "tags", "old": '["VIP","hot"]', "new": '["cold"]'},
    ]


def test_unsynced_lists_mapped_fields_the_diff_leaves_out_that_differ_from_what_is_known() -> None:
    """last_name is not a diffed field here: it differs from the target's; first_name equals
    the base's (the target shows none); website nothing is known of: no difference."""
    snapshot = SNAPSHOT.with_columns(
        pl.Series("last_name", ["Lee", None]), pl.Series("first_name", [None, None], pl.String)
    )
    base = pl.LazyFrame({"id": ["A"], "first_name": ["Ann"], "website": [None]})
    rows = _rows({"matched_id": "A", "email": "a@x.io"}).with_columns(
        pl.lit("Leigh").alias("last_name"),
        pl.lit("Ann").alias("first_name"),
        pl.lit("x.io").alias("website"),
    )
    out = diff(rows, snapshot, FIELDS, base=base).collect()
    assert out["_unsynced"].to_list() == [["last_name"]]
    mapped = diff(rows, snapshot, FIELDS, base=base, mapped={"email", "first_name"}).collect()
    assert mapped["_unsynced"].to_list() == [[]]  # last_name is not a column of the file
