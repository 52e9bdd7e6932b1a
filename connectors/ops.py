"""Plan rows -> the push's requests: what each planned create or update sends, and to whom.

`plan` decides which rows become a request (`op`) and `diff` which fields of a matched lead
change and the value to send for each (the `send` struct, schemas.frames.SEND); this module
turns those rows into `PlannedOp`s in the vendor's canonical terms (schemas.vendors), the one
place where a plan row becomes a request.

    ops = ops_from_plan(planned.filter(pl.col("op").is_not_null()), VENDORS["octanist"])
    # a create: PlannedOp(op="create", fields={"email": ..., "first_name": ...},
    #                     then_update={"status": "won", "value": 1200.0}, keys={"email": ...})
    # an update: PlannedOp(op="update", ref=<matched_id>, fields={"status": "lost",
    #                      "loss_reason": "price"}, keys=...)
"""

from __future__ import annotations

from typing import Any

import polars as pl

from connectors._push import PlannedOp
from schemas.frames import SEND
from schemas.vendors import VendorSpec

__all__ = ["ops_from_plan"]

# A row's values that find its lead again after a lost answer (PlannedOp.keys).
_KEYS = ("external_id", "email", "phone")


def ops_from_plan(frame: pl.DataFrame, vendor: VendorSpec) -> list[PlannedOp]:
    """The requests the plan asks for, each with the fields it sends and the keys to find it.

    Rows with a null `op` send nothing. A create carries what the vendor takes on create; what
    it only takes on update (Octanist's status and value, Omni's status) follows as an update
    of the new lead.
    """
    follow = sorted(vendor.updatable - vendor.creatable)
    ops = []
    for row in frame.filter(pl.col("op").is_not_null()).iter_rows(named=True):
        keys = {k: row[k] for k in _KEYS if row.get(k)}
        if row["op"] == "create":
            ops.append(_create(row, vendor, follow, keys))
        else:
            ops.append(_update(row, vendor, keys))
    return ops


def _create(
    row: dict[str, Any], vendor: VendorSpec, follow: list[str], keys: dict[str, Any]
) -> PlannedOp:
    """A create of the row's creatable values; its update-only values follow once it exists."""
    fields = {f: row[f] for f in sorted(vendor.creatable) if row.get(f) not in (None, [])}
    then = {f: row[f] for f in follow if row.get(f) not in (None, [])}
    # A new lead has the initial status already: setting it again is a request for nothing.
    if "status" in then and then["status"] == vendor.initial_status:
        del then["status"]
    return PlannedOp(row["op_id"], row["source_row"], "create", fields, keys=keys, then_update=then)


def _update(row: dict[str, Any], vendor: VendorSpec, keys: dict[str, Any]) -> PlannedOp:
    """An update of the matched lead: its changed fields, and the companions they need."""
    fields = {f: _sent_or_clear(row, f, vendor) for f in row["changed_fields"]}
    for needs, companion in vendor.companions.items():
        if needs in fields and companion not in fields and row.get(companion) is not None:
            fields[companion] = row[companion]  # e.g. a new loss reason goes with "lost"
    return PlannedOp(
        row["op_id"], row["source_row"], "update", fields, ref=row["matched_id"], keys=keys
    )


def _sent_or_clear(row: dict[str, Any], field: str, vendor: VendorSpec) -> Any:
    """The changed value, or the vendor's clearing value for a blank under --blanks clear."""
    value = row[SEND][field]
    return vendor.clearable.get(field) if value is None and field in vendor.clearable else value
