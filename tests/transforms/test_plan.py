"""Plan: one outcome per row, skips decided before sending, deterministic op ids."""

from __future__ import annotations

from typing import Any

import polars as pl
import polars.selectors as cs
import pytest

from schemas.fields import CHECKLIST_ITEM, CUSTOM_ENTRY
from schemas.vendors import APTEN, OCTANIST, OMNI
from transforms.plan import plan, requested

COLUMNS = {
    "source_row": pl.Int64,
    "outcome": pl.String,
    "reason_code": pl.String,
    "reason": pl.String,
    "match_status": pl.String,
    "matched_id": pl.String,
    "match_reason": pl.String,
    "changed_fields": pl.List(pl.String),
    "status": pl.String,
    "external_id": pl.String,
    "email": pl.String,
    "phone": pl.String,
    "first_name": pl.String,
    "last_name": pl.String,
    "customer_profile": pl.String,
    "send": pl.Struct({"email": pl.String}),
}


def _rows(*rows: dict[str, object]) -> pl.LazyFrame:
    base = {"outcome": "valid", "match_status": "new"}
    return pl.LazyFrame(
        [{**dict.fromkeys(COLUMNS), **base, "source_row": i + 2, **r} for i, r in enumerate(rows)],
        schema=COLUMNS,
    )


def _run(rows: pl.LazyFrame, vendor=OCTANIST, **kw: object) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    out = plan(rows, vendor, profile="p", **kw).collect()  # type: ignore[arg-type]
    return out.select("outcome", "op", "reason_code").rows()


def test_outcomes() -> None:
    rows = _rows(
        {"email": "a@x.io"},
        {
            "match_status": "matched",
            "matched_id": "L1",
            "changed_fields": ["email"],
            "send": {"email": "b@x.io"},
        },
        {"match_status": "matched", "matched_id": "L2", "changed_fields": []},
        {"match_status": "conflict", "match_reason": "2 target leads share this email: L3, L4"},
        {"outcome": "invalid", "reason_code": "invalid_phone", "reason": "bad"},
        {"outcome": "duplicate", "reason_code": "duplicate", "reason": "same as row 9"},
    )
    assert _run(rows) == [
        ("would_create", "create", None),
        ("would_update", "update", None),
        ("unchanged", None, None),
        ("conflict", None, "conflict"),
        ("invalid", None, "invalid_phone"),
        ("duplicate", None, "duplicate"),
    ]


@pytest.mark.parametrize(
    ("mode", "row", "code"),
    [
        ("update", {"email": "a@x.io"}, "mode_update"),
        (
            "create",
            {"match_status": "matched", "matched_id": "L1", "changed_fields": ["email"]},
            "mode_create",
        ),
        (
            "upsert",
            {
                "match_status": "matched",
                "matched_id": "L1",
                "changed_fields": ["status"],
                "status": "completed",
            },
            "unsettable_status",
        ),
    ],
)
def test_skips_before_sending(mode: str, row: dict[str, object], code: str) -> None:
    assert _run(_rows(row), mode=mode) == [("skipped", None, code)]


def test_vendor_rules() -> None:
    apten = (
        plan(_rows({"first_name": "A", "phone": "+1"}), APTEN, profile="p")
        .collect()
        .row(0, named=True)
    )
    assert (apten["outcome"], apten["reason_code"]) == ("skipped", "missing_required")
    assert apten["reason"] == "apten needs last_name, customer_profile to create a lead"
    omni = (
        plan(
            _rows(
                {
                    "match_status": "matched",
                    "matched_id": "L1",
                    "changed_fields": ["status"],
                    "status": "won",
                }
            ),
            OMNI,
            profile="p",
        )
        .collect()
        .row(0, named=True)
    )
    settable = "completed, in_progress, not_interested, opted_out"
    assert (
        omni["reason"]
        == (
            f"unsettable_status|omni cannot set status 'won' (it can set: {settable}); not sent. "
            'Map the file\'s word to one it can: [values.status] "won" = "completed"'
        ).split("|", 1)[1]
    )


def test_a_status_the_vendor_cannot_set_is_left_out_and_the_lead_still_created() -> None:
    """Octanist cannot set not_interested: the create goes out without it, and the row says
    which line of the mapping, in the file's word, would send a status Octanist can set."""
    rows = _rows({"email": "a@x.io", "status": "not_interested"}).with_columns(
        pl.lit("Unqualified").alias("status_raw")
    )
    out = plan(rows, OCTANIST, profile="p").collect().row(0, named=True)
    assert (out["outcome"], out["op"], out["status"]) == ("would_create", "create", None)
    assert out["_warn_status.unsettable"] == (
        "unsettable_status|octanist cannot set status 'not_interested' (it can set: qualified, "
        "won, lost); not sent. Map the file's word to one it can: [values.status] "
        '"Unqualified" = "lost"'
    )


def test_an_update_leaves_an_unsettable_status_out_and_sends_the_rest() -> None:
    rows = _rows(
        {
            "match_status": "matched",
            "matched_id": "L1",
            "changed_fields": ["email", "status"],
            "status": "qualified",
            "email": "b@x.io",
            "send": {"email": "b@x.io"},
        }
    )
    out = plan(rows, OMNI, profile="p").collect().row(0, named=True)
    assert (out["outcome"], out["changed_fields"]) == ("would_update", ["email"])
    assert out["_warn_status.unsettable"].startswith("unsettable_status|omni cannot set status")
    assert '"qualified" = "in_progress"' in out["_warn_status.unsettable"]


def test_fields_the_vendor_cannot_take_are_not_sent_and_never_unchanged() -> None:
    """A new row's business name (Octanist stores none) is a not_sent note; a matched row whose
    only difference is a last name Octanist cannot update is skipped, not unchanged."""
    schema = {**COLUMNS, "business_name": pl.String, "_unsynced": pl.List(pl.String)}
    rows = pl.LazyFrame(
        [
            {
                **dict.fromkeys(schema),
                "source_row": 2,
                "outcome": "valid",
                "match_status": "new",
                "email": "a@x.io",
                "business_name": "Acme",
                "_unsynced": [],
            },
            {
                **dict.fromkeys(schema),
                "source_row": 3,
                "outcome": "valid",
                "match_status": "matched",
                "matched_id": "L1",
                "changed_fields": [],
                "last_name": "Ray",
                "_unsynced": ["last_name"],
            },
            {
                **dict.fromkeys(schema),
                "source_row": 4,
                "outcome": "valid",
                "match_status": "matched",
                "matched_id": "L2",
                "changed_fields": [],
                "last_name": "Kim",
                "_unsynced": [],
            },
        ],
        schema=schema,
    )
    out = plan(rows, OCTANIST, profile="p").collect()
    assert out.select("outcome", "reason_code").rows() == [
        ("would_create", None),
        ("skipped", "not_sent"),
        ("unchanged", None),
    ]
    assert out["_warn_business_name.not_sent"].to_list() == [
        "not_sent|octanist does not store business_name: 'Acme' was not sent",
        None,
        None,
    ]
    assert out["_warn_last_name.not_sent"][1] == (
        "not_sent|octanist cannot update last_name: 'Ray' was not sent"
    )
    assert out["reason"][1].startswith("octanist cannot take what changed: last_name")


def test_op_ids_are_deterministic_and_distinct() -> None:
    rows = _rows({"email": "a@x.io"}, {"email": "b@x.io"})
    first = plan(rows, OCTANIST, profile="p").collect()["op_id"].to_list()
    again = plan(rows, OCTANIST, profile="p").collect()["op_id"].to_list()
    other = plan(rows, OCTANIST, profile="q").collect()["op_id"].to_list()
    assert first == again and len(set(first)) == 2 and set(first).isdisjoint(other)


def test_a_new_lead_in_the_vendors_initial_status_needs_no_status_request() -> None:
    assert _run(_rows({"email": "a@x.io", "status": "open"})) == [("would_create", "create", None)]
    # Apten has no status at all: a status column never blocks a row
    row = {
        "email": "a@x.io",
        "status": "won",
        "first_name": "A",
        "last_name": "B",
        "phone": "+1",
        "customer_profile": "Default",
    }
    assert _run(_rows(row), vendor=APTEN) == [("would_create", "create", None)]


def test_a_new_row_the_vendor_could_never_find_again_is_skipped() -> None:
    out = plan(
        _rows({"external_id": "1017", "first_name": "Quinn"}), OCTANIST, profile="p"
    ).collect()
    row = out.row(0, named=True)
    assert (row["outcome"], row["reason_code"]) == ("skipped", "unfindable")
    assert "without email or phone" in row["reason"]
    omni = plan(_rows({"external_id": "1017", "first_name": "Quinn"}), OMNI, profile="p").collect()
    assert omni["outcome"].to_list() == ["would_create"]  # Omni keeps externalLeadId


# What `diff` used to add: one `_send_<field>` column per field, entry fields first.
_OLD_SEND: dict[str, pl.DataType] = {
    "_send_checklist": pl.List(CHECKLIST_ITEM),
    "_send_custom": pl.List(CUSTOM_ENTRY),
    "_send_business_name": pl.String(),
    "_send_email": pl.String(),
    "_send_tags": pl.List(pl.String),
    "_send_value": pl.Float64(),
}
_PAYLOADS: list[dict[str, Any]] = [
    {"first_name": "Ann", "email": "a@x.io"},
    {"first_name": "Bo", "email": "b@x.io", "phone": "+12125550100", "external_id": "7"},
    {
        "match_status": "matched",
        "matched_id": "L1",
        "email": "c@x.io",
        "changed_fields": ["email", "value"],
        "_send_email": "c@x.io",
        "_send_value": 1.5,
    },
    {
        "match_status": "matched",
        "matched_id": "L2",
        "email": "d@x.io",
        "changed_fields": ["tags", "custom", "checklist", "business_name"],
        "_send_tags": ["VIP", "hot"],
        "_send_custom": [{"key": "loan", "value": "6000"}],
        "_send_checklist": [{"code": "tax_id", "value": "1", "status": "COMPLETED"}],
        "_send_business_name": 'Acme "Ltd"\n',
    },
    {
        "match_status": "matched",
        "matched_id": "L3",
        "email": "e@x.io",
        "changed_fields": ["value"],
        "_send_value": None,  # a clear
    },
]


def _old_style() -> pl.DataFrame:
    columns: dict[str, Any] = {k: v for k, v in COLUMNS.items() if k != "send"} | _OLD_SEND
    base = {"outcome": "valid", "match_status": "new"}
    return pl.DataFrame(
        [
            {**dict.fromkeys(columns), **base, "source_row": i + 2, **r}
            for i, r in enumerate(_PAYLOADS)
        ],
        schema=columns,
    )


def _old_op_id(profile: str) -> pl.Expr:
    """`plan`'s op id as it was computed on the `_send_<field>` columns."""
    identity = [
        pl.col(k).cast(pl.String).fill_null("")
        for k in ("matched_id", "external_id", "email", "phone")
    ]
    payload = pl.struct(pl.col("^_send_.*$")).struct.json_encode()
    text = pl.concat_str([pl.lit(profile), pl.col("op"), *identity, payload], separator="\x1f")
    return pl.when(pl.col("op").is_not_null()).then(text.hash(seed=20261122).cast(pl.String))


def test_op_ids_of_the_send_struct_are_those_of_the_old_send_columns() -> None:
    """A resumed run matches op ids an earlier attempt stored: they must not change."""
    old = _old_style()
    as_struct = pl.struct(pl.col("^_send_.*$").name.map(lambda n: n.removeprefix("_send_")))
    new = old.with_columns(as_struct.alias("send")).drop(cs.starts_with("_send_"))
    planned = plan(new.lazy(), OMNI, profile="sandbox:omni").collect()
    before = old.with_columns(planned["op"])
    expected = before.select(_old_op_id("sandbox:omni").alias("op_id"))["op_id"].to_list()
    assert planned["op_id"].to_list() == expected
    # and the values themselves, as `plan` computed them on `_send_<field>` columns (polars 2.1)
    assert expected == [
        "4660217532222306499",
        "5176238053431925703",
        "16691073769154925734",
        "17697979175385630573",
        "11429034024499819744",
    ]


def test_a_null_send_hashes_like_send_columns_all_null() -> None:
    """Rows `diff` never ran on may carry a null `send`: their ops hash as all-null columns."""
    old = _old_style().head(2)
    fields = {k.removeprefix("_send_"): v for k, v in _OLD_SEND.items()}
    new = old.drop(cs.starts_with("_send_")).with_columns(
        pl.lit(None, pl.Struct(fields)).alias("send")
    )
    planned = plan(new.lazy(), OMNI, profile="sandbox:omni").collect()
    before = old.with_columns(planned["op"])
    expected = before.select(_old_op_id("sandbox:omni").alias("op_id"))["op_id"].to_list()
    assert planned["op_id"].to_list() == expected
    assert planned["op_id"].to_list() == ["4660217532222306499", "5176238053431925703"]


def test_rows_without_a_send_column_still_plan() -> None:
    rows = _rows({"email": "a@x.io"}, {"email": "b@x.io"}).drop("send")
    out = plan(rows, OCTANIST, profile="p").collect()
    assert out["op"].to_list() == ["create", "create"]
    assert out["op_id"].null_count() == 0 and out["op_id"].n_unique() == 2


def test_requested_are_the_rows_with_an_op_every_column_kept() -> None:
    rows = _rows(
        {"email": "a@x.io"},
        {"match_status": "matched", "matched_id": "L2", "changed_fields": []},
        {"match_status": "matched", "matched_id": "L1", "changed_fields": ["email"]},
    )
    planned = plan(rows, OCTANIST, profile="p").collect()
    sent = requested(planned)
    assert sent.select("source_row", "op").rows() == [(2, "create"), (4, "update")]
    assert sent.columns == planned.columns


def test_pending_reads_of_a_lazy_plan_name_the_creates_and_the_updated_leads() -> None:
    """The pre-pass asks a lazy plan for what to read: whether it creates, and the leads it
    updates (every matched lead with `every_match`); invalid rows read nothing."""
    from transforms.plan import pending_reads

    rows = _rows(
        {"email": "a@x.io"},
        {"match_status": "matched", "matched_id": "L1", "changed_fields": ["email"]},
        {"match_status": "matched", "matched_id": "L2", "changed_fields": []},
        {"outcome": "invalid", "match_status": "matched", "matched_id": "L3"},
    ).with_columns(pl.struct(pl.col("email").alias("email")).alias("send"))
    planned = plan(rows, OCTANIST, profile="p")
    assert isinstance(pending_reads(planned), pl.LazyFrame)
    assert pending_reads(planned).collect().rows() == [(True, ["L1"])]
    assert pending_reads(planned, every_match=True).collect().rows() == [(True, ["L1", "L2"])]
    none = plan(rows.filter(pl.col("match_status") == "matched"), OCTANIST, profile="p")
    assert pending_reads(none.filter(pl.col("matched_id") == "L2")).collect().rows() == [
        (False, [])
    ]
