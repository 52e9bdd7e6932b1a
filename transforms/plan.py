"""The `plan` stage: one operation (or none) per source row, decided before anything is sent.

From the check outcome, the match and the diff, each row becomes:

- `invalid` / `duplicate`: as `check` said (no operation);
- `conflict`: the match found several target leads, or keys that disagree;
- `would_create` (op `create`): new, allowed by the mode, with every field the vendor requires;
- `would_update` (op `update`): matched and something the vendor can update changed;
- `unchanged`: matched and nothing changed;
- `skipped`: the mode forbids it (`update` never creates, `create` never updates), everything
  it would change is held back by a guard (`reopen_blocked`: the lead opted out or is closed),
  the row asks for a status the vendor cannot set, a create lacks a field the vendor requires,
  or a new row has no key the vendor keeps (Octanist stores no external id): creating it
  would create it again on every run.

Each operation has a deterministic `op_id` (a hash of the target profile, the row's identity
and the payload), so a resumed run, which plans again, recognises work it has already done.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from schemas.frames import SEND
from schemas.vendors import VendorSpec

__all__ = ["Mode", "pending_reads", "plan", "requested"]

Mode = Literal["upsert", "update", "create"]


def plan(
    rows: pl.LazyFrame, vendor: VendorSpec, *, mode: Mode = "upsert", profile: str
) -> pl.LazyFrame:
    """Add `op`, `outcome`, `reason_code`, `reason` and `op_id` (see the module docstring)."""
    rows = rows.pipe(_drop_unclearable, vendor)
    if "_blocked" not in rows.collect_schema():
        rows = rows.with_columns(pl.lit([], pl.List(pl.String)).alias("_blocked"))
    status = pl.col("match_status")
    changed = pl.col("changed_fields").list.len().fill_null(0) > 0
    skip = _skip_reason(vendor, mode)
    outcome = (
        pl.when(pl.col("outcome").is_in(["invalid", "duplicate"]))
        .then(pl.col("outcome"))
        .when(status == "conflict")
        .then(pl.lit("conflict"))
        .when(skip.is_not_null())
        .then(pl.lit("skipped"))
        .when(status == "new")
        .then(pl.lit("would_create"))
        .when(changed)
        .then(pl.lit("would_update"))
        .otherwise(pl.lit("unchanged"))
    )
    op = (
        pl.when(outcome == "would_create")
        .then(pl.lit("create"))
        .when(outcome == "would_update")
        .then(pl.lit("update"))
    )
    skip_parts = skip.str.split_exact("|", 1)
    return (
        rows.with_columns(outcome.alias("_planned"))
        .with_columns(
            pl.col("_planned").alias("outcome"),
            op.alias("op"),
            pl.when(pl.col("_planned") == "conflict")
            .then(pl.lit("conflict"))
            .when(pl.col("_planned") == "skipped")
            .then(skip_parts.struct.field("field_0"))
            .otherwise(pl.col("reason_code"))
            .alias("reason_code"),
            pl.when(pl.col("_planned") == "conflict")
            .then(pl.col("match_reason"))
            .when(pl.col("_planned") == "skipped")
            .then(skip_parts.struct.field("field_1"))
            .when(pl.col("_uncleared").is_not_null())
            .then(pl.lit("not cleared, the API offers no way to: ") + pl.col("_uncleared"))
            .otherwise(pl.col("reason"))
            .alias("reason"),
        )
        .with_columns(_op_id(profile, _payload(rows.collect_schema())).alias("op_id"))
        .drop("_planned", "_uncleared")
    )


def requested(frame: pl.DataFrame) -> pl.DataFrame:
    """The planned rows that send a request (an `op`), every column kept: what the push reads."""
    return frame.filter(pl.col("op").is_not_null())


def pending_reads(planned: pl.DataFrame, *, every_match: bool = False) -> pl.DataFrame:
    """What a plan made against the stored state must read first, as one row: `creates`
    (whether it creates: a lead made meanwhile may exist) and `ids` (the leads it updates;
    every matched lead when `every_match`). Invalid rows read nothing."""
    valid = planned.filter(pl.col("outcome") != "invalid")
    writes = (pl.col("op") == "update") | (pl.lit(every_match) & pl.col("matched_id").is_not_null())
    return valid.select(
        (pl.col("op") == "create").any().alias("creates"),
        pl.col("matched_id").filter(writes).implode().alias("ids"),
    )


def _drop_unclearable(rows: pl.LazyFrame, vendor: VendorSpec) -> pl.LazyFrame:
    """Clears (blank cells under --blanks clear) the vendor cannot make leave the change list;
    `_uncleared` names them for the reason. A row that only wanted such clears is skipped."""
    schema = rows.collect_schema()
    fields = [f for f in sorted(vendor.updatable) if f in schema and f not in vendor.clearable]
    if "changed_fields" not in schema or not fields:
        return rows.with_columns(pl.lit(None, pl.String).alias("_uncleared"))
    changed = pl.col("changed_fields")
    blocked = pl.concat_list(
        [pl.when(changed.list.contains(f) & pl.col(f).is_null()).then(pl.lit(f)) for f in fields]
    ).list.drop_nulls()
    return (
        rows.with_columns(blocked.alias("_unclear"))
        .with_columns(
            changed.list.set_difference(pl.col("_unclear")).alias("changed_fields"),
            pl.when(pl.col("_unclear").list.len() > 0)
            .then(pl.col("_unclear").list.join(", "))
            .alias("_uncleared"),
        )
        .drop("_unclear")
    )


def _skip_reason(vendor: VendorSpec, mode: Mode) -> pl.Expr:
    """ "code|message" when a create/update must not be sent, else null."""
    new, matched = pl.col("match_status") == "new", pl.col("match_status") == "matched"
    # A new lead starts in the vendor's initial status: asking for that needs no request.
    wants_status = (
        pl.lit(vendor.has_status)
        & pl.col("status").is_not_null()
        & (
            (new & (pl.col("status") != (vendor.initial_status or "")))
            | pl.col("changed_fields").list.contains("status")
        )
    )
    unsettable = wants_status & ~pl.col("status").is_in(list(vendor.settable_statuses))
    missing = [pl.when(pl.col(f).is_null()).then(pl.lit(f)) for f in vendor.create_required]
    missing_list = (
        pl.concat_str(missing, separator=", ", ignore_nulls=True) if missing else pl.lit("")
    )
    settable = ", ".join(vendor.settable_statuses) or "none"
    findable = pl.any_horizontal([pl.col(k).is_not_null() for k in vendor.match_keys])
    keys = " or ".join(k.replace("_", " ") for k in vendor.match_keys)
    only_clears = (
        matched & pl.col("_uncleared").is_not_null() & (pl.col("changed_fields").list.len() == 0)
    )
    only_blocked = (
        matched & (pl.col("_blocked").list.len() > 0) & (pl.col("changed_fields").list.len() == 0)
    ).fill_null(False)
    return (
        pl.when(only_blocked)
        .then(
            pl.lit(f"reopen_blocked|not sent: the lead opted out or is closed in {vendor.name}, ")
            + pl.lit("and the file would change that (")
            + pl.col("_blocked").list.join(", ")
            + pl.lit("); --allow-reopen sends it")
        )
        .when(only_clears)
        .then(pl.lit(f"not_clearable|{vendor.name} offers no way to clear ") + pl.col("_uncleared"))
        .when(new & (mode == "update"))
        .then(pl.lit("mode_update|mode update never creates: no target lead matches this row"))
        .when(matched & (mode == "create") & (pl.col("changed_fields").list.len() > 0))
        .then(
            pl.lit("mode_create|mode create never updates: the row matches ") + pl.col("matched_id")
        )
        .when(unsettable & (new | matched))
        .then(
            pl.format(
                f"unsettable_status|{vendor.name} cannot set status '{{}}' (settable: {settable})",
                pl.col("status"),
            )
        )
        .when(new & ~findable)
        .then(
            pl.lit(
                f"unfindable|{vendor.name} keeps no other key of this row: without {keys} a later "
                "run could not find the lead, and would create it again"
            )
        )
        .when(new & (missing_list != ""))
        .then(
            pl.lit(f"missing_required|{vendor.name} needs ")
            + missing_list
            + pl.lit(" to create a lead")
        )
    )


def _op_id(profile: str, payload: pl.Expr) -> pl.Expr:
    """A hash of profile, identity and payload (decimal digits of a u64).

    Polars' own hash, no Python per row. A resumed run plans again and finds the ops of its
    earlier attempts in the journal by these ids (nothing reads them back from plan.parquet):
    that holds while polars hashes as it did, i.e. for one polars version. Resume a run before
    upgrading polars; after an upgrade a resumed run would not recognise its earlier ops (a
    create whose answer was lost could be sent again). A hash of Python's own (hashlib) per
    planned row would outlive upgrades at ~1 s per million creates; not done, since a run is
    resumed within hours, not across upgrades.
    """
    identity = [
        pl.col(k).cast(pl.String).fill_null("")
        for k in ("matched_id", "external_id", "email", "phone")
    ]
    text = pl.concat_str([pl.lit(profile), pl.col("op"), *identity, payload], separator="\x1f")
    return pl.when(pl.col("op").is_not_null()).then(text.hash(seed=20261122).cast(pl.String))


def _payload(schema: pl.Schema) -> pl.Expr:
    """The `send` struct as JSON, its fields named `_send_<field>` as the columns it replaced
    were: op ids stay what they were, so a resume still finds the ops an earlier attempt sent.

    Rebuilt field by field, not renamed: a row whose `send` is null itself (diff never ran on
    it) encodes as all its fields null, as those columns did (a renamed null struct encodes as
    `null`, and nulls the whole hashed text). Rows without a `send` column send nothing: `{}`.
    """
    if SEND not in schema:
        return pl.lit("{}")
    return pl.struct(pl.col(SEND).struct.unnest().name.prefix("_send_")).struct.json_encode()
