"""Reconciliation: what the file and the target agree on, field by field. Nothing is written.

After `match` and `diff`, each source row gets a `recon_status`:

- `invalid` / `duplicate`: as `check` said;
- `conflict`: the match found several target leads, or keys that disagree;
- `only_in_file`: no target lead has its keys;
- `equal`: matched, and every compared field agrees;
- `different`: matched, and `differences` lists each field that disagrees with both values.

`outcome` speaks the plan's words for the same facts (`unchanged`, `would_update`,
`would_create`), so a reconciliation reads like a plan that was never run. The target's side
has two tables: the leads no row matched (`target_only`), and the groups of target leads that
share an email or a phone (`target_duplicates`).

`compared_fields` are the fields compared (every field the target returns on reads);
`reconcile_report_rows` shapes the report's rows; `recon_status_counts` and
`field_difference_counts` count them per status and per differing field (for the summary).

    >>> rows = pl.LazyFrame({"outcome": ["valid"], "match_status": ["matched"],
    ...     "matched_id": ["L1"], "match_reason": [None], "changed_fields": [["email"]],
    ...     "email": ["a@x.io"], "reason_code": [None], "reason": [None]})
    >>> target = pl.LazyFrame({"id": ["L1"], "email": ["b@x.io"]})
    >>> reconcile(rows, target, ["email"]).collect()["differences"].to_list()
    [[{'field': 'email', 'file': 'a@x.io', 'target': 'b@x.io'}]]
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from schemas.fields import CANONICAL_FIELDS, REPORT_COLUMNS
from schemas.frames import SEND
from schemas.vendors import VendorSpec
from transforms._text import as_text
from transforms.report import count_outcomes

__all__ = [
    "DIFFERENCE",
    "RECON_STATUSES",
    "compared_fields",
    "field_difference_counts",
    "recon_status_counts",
    "reconcile",
    "reconcile_report_rows",
    "target_duplicates",
    "target_only",
]

RECON_STATUSES = ("equal", "different", "only_in_file", "conflict", "invalid", "duplicate")
DIFFERENCE = pl.Struct({"field": pl.String, "file": pl.String, "target": pl.String})
_OUTCOME = {
    "equal": "unchanged",
    "different": "would_update",
    "only_in_file": "would_create",
    "conflict": "conflict",
}
# Bookkeeping and identity fields: matched on, not compared.
_NOT_COMPARED = frozenset({"source_file", "source_row", "target_id", "external_id"})
# A reconciliation's report leads with what it found, before the lead's own columns.
_FIRST = ("recon_status", "differences")


def compared_fields(vendor: VendorSpec) -> list[str]:
    """Every canonical field the target returns on reads (status through its own words)."""
    returned = set(vendor.read.values()) | ({"status"} if vendor.read_statuses else set())
    return sorted(returned & set(CANONICAL_FIELDS) - _NOT_COMPARED)


def reconcile(rows: pl.LazyFrame, target: pl.LazyFrame, fields: Sequence[str]) -> pl.LazyFrame:
    """Add `recon_status` and `differences`; set `outcome`, `reason_code` and `reason`.

    `rows` come from `diff` (with `match_status`, `matched_id`, `match_reason`,
    `changed_fields`); `target` is the normalised snapshot with `id` and the `fields` compared.
    """
    schema = rows.collect_schema()
    present = [f for f in fields if f in schema and f in target.collect_schema()]
    looked_up = rows.select(pl.col("matched_id").cast(pl.String).alias("_id")).join(
        target.select(
            pl.col("id").cast(pl.String).alias("_id"),
            *[_sortable_text(pl.col(f), schema[f]).alias(f"_t_{f}") for f in present],
        ),
        on="_id",
        how="left",
        maintain_order="left",
    )
    both = pl.concat([rows, looked_up.drop("_id")], how="horizontal")
    changed = pl.col("changed_fields").fill_null(pl.lit([], pl.List(pl.String)))
    differences = pl.concat_list(
        [
            pl.when(changed.list.contains(f)).then(
                pl.struct(
                    pl.lit(f).alias("field"),
                    _sortable_text(pl.col(f), schema[f]).alias("file"),
                    pl.col(f"_t_{f}").alias("target"),
                )
            )
            for f in present
        ]
        or [pl.lit(None, DIFFERENCE)]
    ).list.drop_nulls()
    status = (
        pl.when(pl.col("outcome").is_in(["invalid", "duplicate"]))
        .then(pl.col("outcome"))
        .when(pl.col("match_status") == "conflict")
        .then(pl.lit("conflict"))
        .when(pl.col("match_status") == "new")
        .then(pl.lit("only_in_file"))
        .when(changed.list.len() > 0)
        .then(pl.lit("different"))
        .otherwise(pl.lit("equal"))
    )
    return (
        both.with_columns(status.alias("recon_status"))
        .with_columns(
            pl.when(pl.col("recon_status") == "different")
            .then(differences)
            .otherwise(pl.lit([], pl.List(DIFFERENCE)))
            .alias("differences"),
            pl.col("recon_status")
            .replace_strict(_OUTCOME, default=pl.col("outcome"), return_dtype=pl.String)
            .alias("outcome"),
            pl.when(pl.col("recon_status") == "conflict")
            .then(pl.lit("conflict"))
            .when(pl.col("recon_status") == "different")
            .then(pl.lit("different"))
            .otherwise(pl.col("reason_code"))
            .alias("reason_code"),
            pl.when(pl.col("recon_status") == "conflict")
            .then(pl.col("match_reason"))
            .when(pl.col("recon_status") == "different")
            .then(pl.lit("differs in ") + changed.list.join(", "))
            .otherwise(pl.col("reason"))
            .alias("reason"),
        )
        .drop([f"_t_{f}" for f in present])
    )


def reconcile_report_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """Report rows of `reconcile`'s rows: DESIGN.md's report columns, `recon_status` and
    `differences`, then the lead's columns (no `_` bookkeeping, no `send` payload).

    A matched row names its target lead.
    """
    frame = frame.with_columns(pl.coalesce("target_id", "matched_id").alias("target_id"))
    lead = [
        c for c in frame.columns if c not in REPORT_COLUMNS and not c.startswith("_") and c != SEND
    ]
    return frame.select(*REPORT_COLUMNS, *_FIRST, *[c for c in lead if c not in _FIRST])


def recon_status_counts(rows: pl.DataFrame) -> dict[str, int]:
    """Rows per `recon_status`, every status present (zero where none)."""
    return count_outcomes(rows.select(pl.col("recon_status").alias("outcome")), RECON_STATUSES)


def field_difference_counts(rows: pl.DataFrame) -> dict[str, int]:
    """Rows that differ, per field: the most frequent first, then by name."""
    fields = (
        rows.select(pl.col("differences").explode().struct.field("field"))
        .drop_nulls()
        .group_by("field")
        .len()
        .sort("len", "field", descending=[True, False])
    )
    return dict(fields.iter_rows())


def target_only(target: pl.LazyFrame, rows: pl.LazyFrame) -> pl.LazyFrame:
    """Target leads that no source row matched (nor named in a conflict)."""
    named = rows.select(pl.col("matched_id").cast(pl.String).alias("id")).drop_nulls()
    return target.join(named.unique(), on="id", how="anti")


def target_duplicates(
    target: pl.LazyFrame, keys: Sequence[str] = ("email", "phone")
) -> pl.LazyFrame:
    """Groups of target leads sharing a key value: `key`, `value`, `leads` (count), `ids`."""
    present = [k for k in keys if k in target.collect_schema()]
    groups = [
        target.filter(pl.col(k).is_not_null())
        .group_by(pl.col(k).cast(pl.String).alias("value"))
        .agg(pl.len().alias("leads"), pl.col("id").cast(pl.String).sort().alias("ids"))
        .filter(pl.col("leads") > 1)
        .select(pl.lit(k).alias("key"), "value", "leads", "ids")
        for k in present
    ]
    empty = pl.LazyFrame(
        schema={"key": pl.String, "value": pl.String, "leads": pl.UInt32, "ids": pl.List(pl.String)}
    )
    return pl.concat([empty, *groups]).sort(
        "key", "leads", "value", descending=[False, True, False]
    )


def _sortable_text(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Text of a value; tags sorted, so both sides list them alike."""
    return as_text(expr.list.sort() if dtype == pl.List(pl.String) else expr, dtype)
