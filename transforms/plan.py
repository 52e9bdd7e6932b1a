"""The `plan` stage: one operation (or none) per source row, decided before anything is sent.

From the check outcome, the match and the diff, each row becomes:

- `invalid` / `duplicate`: as `check` said (no operation);
- `conflict`: the match found several target leads, or keys that disagree;
- `would_create` (op `create`): new, allowed by the mode, with every field the vendor requires;
- `would_update` (op `update`): matched and something the vendor can update changed;
- `unchanged`: matched and nothing changed;
- `skipped`: the mode forbids it (`update` never creates, `create` never updates), everything
  it would change is held back by a guard (`reopen_blocked`: the lead opted out or is closed),
  its only change is a status the vendor cannot set (`unsettable_status`) or fields the vendor
  cannot update (`not_sent`), a create lacks a field the vendor requires, or a new row has no
  key the vendor keeps (Octanist stores no external id): creating it would create it again on
  every run.

What the vendor cannot take is left out and said on the row, never folded into `unchanged`:

- a status it cannot set is not sent (the lead is still created or updated with the rest);
  the warning `unsettable_status` names what it can set and the `[values.status]` line, in
  the file's own word (`status_raw`), that would send one it can;
- a field with a value it cannot create (new rows) or update (matched rows whose value differs
  from what is known of the lead: `diff`'s `_unsynced`) gets a `not_sent` warning each.

`changes` (updates only): the diff's {field, old, new} of each field sent.

Each operation has a deterministic `op_id` (a hash of the target profile, the row's identity
and the payload), so a resumed run, which plans again, recognises work it has already done.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from schemas.choices import Mode
from schemas.fields import CHANGE_ENTRY
from schemas.frames import SEND
from schemas.vendors import VendorSpec
from transforms.diff import CHANGES, UNSYNCED, unsent_candidates

__all__ = ["Mode", "pending_reads", "plan", "requested"]

_UNSETTABLE_NOTE = "_warn_status.unsettable"


def plan(
    rows: pl.LazyFrame,
    vendor: VendorSpec,
    *,
    mode: Mode = "upsert",
    profile: str,
    hints: Mapping[str, str] | None = None,
) -> pl.LazyFrame:
    """Add `op`, `outcome`, `reason_code`, `reason` and `op_id` (see the module docstring).
    `hints`: per required field, what would give it (a target setting), told when it lacks."""
    # A frame without `status_raw` (a test's, a migration's) gets one for the messages only.
    dropped_raw = [] if "status_raw" in rows.collect_schema() else ["status_raw"]
    if dropped_raw:
        rows = rows.with_columns(pl.lit(None, pl.String).alias("status_raw"))
    rows = rows.pipe(_drop_unclearable, vendor).pipe(_drop_unsettable, vendor)
    if "_blocked" not in rows.collect_schema():
        rows = rows.with_columns(pl.lit([], pl.List(pl.String)).alias("_blocked"))
    rows = rows.pipe(_not_sent, vendor)
    status = pl.col("match_status")
    changed = pl.col("changed_fields").list.len().fill_null(0) > 0
    skip = _skip_reason(vendor, mode, hints or {})
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
        .pipe(_changes_of_updates, vendor)
        .pipe(_said_where_it_matters)
        .drop("_planned", "_uncleared", "_unsettable", "_not_sent", *dropped_raw)
    )


def requested(frame: pl.DataFrame) -> pl.DataFrame:
    """The planned rows that send a request (an `op`), every column kept: what the push reads."""
    return frame.filter(pl.col("op").is_not_null())


def pending_reads(planned: pl.LazyFrame, *, every_match: bool = False) -> pl.LazyFrame:
    """What a plan made against the stored state must read first, as one row: `creates`
    (whether it creates: a lead made meanwhile may exist) and `ids` (the leads it updates;
    every matched lead when `every_match`). Invalid rows read nothing. Lazy: asked of a lazy
    plan, it computes only the columns it reads (`op`, `outcome`, `matched_id`)."""
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


def _skip_reason(vendor: VendorSpec, mode: Mode, hints: Mapping[str, str]) -> pl.Expr:
    """ "code|message" when a create/update must not be sent, else null."""
    new, matched = pl.col("match_status") == "new", pl.col("match_status") == "matched"
    nothing = pl.col("changed_fields").list.len().fill_null(0) == 0
    missing = [pl.when(pl.col(f).is_null()).then(pl.lit(f)) for f in vendor.create_required]
    missing_list = (
        pl.concat_str(missing, separator=", ", ignore_nulls=True) if missing else pl.lit("")
    )
    told = [
        pl.when(pl.col(f).is_null()).then(pl.lit(f"; {hints[f]}"))
        for f in vendor.create_required
        if f in hints
    ]
    findable = pl.any_horizontal([pl.col(k).is_not_null() for k in vendor.match_keys])
    keys = " or ".join(k.replace("_", " ") for k in vendor.match_keys)
    only_clears = matched & pl.col("_uncleared").is_not_null() & nothing
    only_blocked = (matched & (pl.col("_blocked").list.len() > 0) & nothing).fill_null(False)
    not_sent = pl.col("_not_sent")
    only_unsent = (matched & nothing & (not_sent.list.len() > 0)).fill_null(False)
    only_status = (matched & nothing & pl.col("_unsettable").is_not_null()).fill_null(False)
    unsent_status = pl.when(pl.col("_unsettable").is_not_null()).then(pl.lit(", status"))
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
        .when(matched & (mode == "create") & ~nothing)
        .then(
            pl.lit("mode_create|mode create never updates: the row matches ") + pl.col("matched_id")
        )
        .when(only_unsent)
        .then(
            pl.lit(f"not_sent|{vendor.name} cannot take what changed: ")
            + pl.concat_str(not_sent.list.join(", "), unsent_status, ignore_nulls=True)
            + pl.lit(" (the row's warnings say why)")
        )
        .when(only_status)
        .then(pl.col(_UNSETTABLE_NOTE))
        .when(new & ~findable)
        .then(
            pl.lit(
                f"unfindable|{vendor.name} keeps no other key of this row: without {keys} a later "
                "run could not find the lead, and would create it again"
            )
        )
        .when(new & (missing_list != ""))
        .then(
            pl.concat_str(
                pl.lit(f"missing_required|{vendor.name} needs "),
                missing_list,
                pl.lit(" to create a lead"),
                *told,
                ignore_nulls=True,
            )
        )
        # Apten keeps one lead per phone (api-contracts.md 2.3, "Must be unique"): a create on
        # a phone another person holds would fail; `match` names who (README, "one person").
        .when(new & pl.lit(vendor.name == "apten") & pl.col("match_reason").is_not_null())
        .then(
            pl.lit(f"phone_taken|{vendor.name} keeps one lead per phone; ") + pl.col("match_reason")
        )
    )


# Where a vendor cannot set a status, the ones nearest in meaning, most alike first: the
# status a `[values.status]` line suggests instead.
_NEAREST: dict[str, tuple[str, ...]] = {
    "not_interested": ("lost", "opted_out", "completed"),
    "opted_out": ("not_interested", "lost"),
    "lost": ("not_interested", "completed"),
    "won": ("completed", "qualified"),
    "completed": ("won", "lost"),
    "qualified": ("in_progress", "won"),
    "in_progress": ("qualified",),
    "open": ("in_progress", "qualified"),
    "new": ("in_progress", "qualified"),
}


def suggested_status(vendor: VendorSpec, status: str) -> str | None:
    """The status nearest `status` that `vendor` can set (None: it can set none)."""
    settable = list(vendor.settable_statuses)
    near = [s for s in _NEAREST.get(status, ()) if s in settable]
    return near[0] if near else (settable[0] if settable else None)


def _unsettable_message(vendor: VendorSpec) -> pl.Expr:
    """What the vendor can set, and the mapping line, in the file's own word (`status_raw`,
    else the status), that sends one it can."""
    settable = ", ".join(vendor.settable_statuses) or "none"
    suggest = {s: suggested_status(vendor, s) or "" for s in _NEAREST}
    line = pl.format(
        '[values.status] "{}" = "{}"',
        pl.coalesce("status_raw", "_unsettable"),
        pl.col("_unsettable").replace_strict(suggest, default="", return_dtype=pl.String),
    )
    return pl.format(
        f"{vendor.name} cannot set status '{{}}' (it can set: {settable}); not sent. "
        "Map the file's word to one it can: {}",
        pl.col("_unsettable"),
        line,
    )


def _drop_unsettable(rows: pl.LazyFrame, vendor: VendorSpec) -> pl.LazyFrame:
    """A status the vendor cannot set is not sent: `_unsettable` holds it, the row's `status`
    (what a create sends) and its `send` entry are blanked, `changed_fields` loses it, and the
    row gets the `unsettable_status` note. The rest of the row is still sent."""
    schema = rows.collect_schema()
    if "status" not in schema or "match_status" not in schema:
        return rows.with_columns(
            pl.lit(None, pl.String).alias("_unsettable"),
            pl.lit(None, pl.String).alias(_UNSETTABLE_NOTE),
        )
    new, matched = pl.col("match_status") == "new", pl.col("match_status") == "matched"
    changed = pl.col("changed_fields")
    # A new lead starts in the vendor's initial status: asking for that needs no request.
    wants = (
        pl.lit(vendor.has_status)
        & pl.col("status").is_not_null()
        & (
            (new & (pl.col("status") != (vendor.initial_status or "")))
            | (matched & changed.list.contains("status"))
        )
    )
    unsettable = (wants & ~pl.col("status").is_in(list(vendor.settable_statuses))).fill_null(False)
    rows = rows.with_columns(pl.when(unsettable).then(pl.col("status")).alias("_unsettable"))
    hit = pl.col("_unsettable").is_not_null()
    send = []
    send_type = schema.get(SEND)
    if isinstance(send_type, pl.Struct) and "status" in {f.name for f in send_type.fields}:
        send = [
            pl.col(SEND)
            .struct.with_fields(
                pl.when(hit).then(None).otherwise(pl.field("status")).alias("status")
            )
            .alias(SEND)
        ]
    kept = rows.with_columns(
        pl.when(hit)
        .then(pl.lit("unsettable_status|") + _unsettable_message(vendor))
        .alias(_UNSETTABLE_NOTE),
        pl.when(hit)
        .then(changed.list.filter(pl.element() != "status"))
        .otherwise(changed)
        .alias("changed_fields"),
        *send,
    )
    return kept.with_columns(pl.when(hit).then(None).otherwise(pl.col("status")).alias("status"))


def _not_sent(rows: pl.LazyFrame, vendor: VendorSpec) -> pl.LazyFrame:
    """`_not_sent` (the fields of the row the vendor cannot take) and a `not_sent` note each:
    a new row's values the vendor cannot create (nor set after), a matched row's changed values
    (`diff`'s `_unsynced`) it cannot update."""
    schema = rows.collect_schema()
    if "match_status" not in schema:
        return rows.with_columns(pl.lit([], pl.List(pl.String)).alias("_not_sent"))
    writable = vendor.creatable | vendor.updatable
    new, matched = pl.col("match_status") == "new", pl.col("match_status") == "matched"
    sendable = ~pl.col("outcome").is_in(["invalid", "duplicate"]).fill_null(False)
    unsynced = pl.col(UNSYNCED) if UNSYNCED in schema else pl.lit([], pl.List(pl.String))
    hits, notes = [], []
    for f in unsent_candidates(None):
        if f not in schema or f == "status" and vendor.has_status:
            continue  # a status the vendor has is settable or not: `_drop_unsettable`
        given = _has_value(f, schema)
        on_create = new & given if f not in writable else pl.lit(False)
        on_update = (
            matched & unsynced.list.contains(f) if f not in vendor.updatable else pl.lit(False)
        )
        hit = (sendable & (on_create | on_update)).fill_null(False)
        verb = "does not store" if f not in vendor.stored else None
        said = pl.format(
            "not_sent|{} {} {}: {} was not sent",
            pl.lit(vendor.name),
            pl.lit(verb)
            if verb
            else pl.when(new).then(pl.lit("cannot set")).otherwise(pl.lit("cannot update")),
            pl.lit(f),
            _shown(f, schema),
        )
        hits.append(pl.when(hit).then(pl.lit(f)))
        notes.append(pl.when(hit).then(said).alias(f"_warn_{f}.not_sent"))
    if not hits:
        return rows.with_columns(pl.lit([], pl.List(pl.String)).alias("_not_sent"))
    return rows.with_columns(pl.concat_list(hits).list.drop_nulls().alias("_not_sent"), *notes)


def _has_value(field: str, schema: pl.Schema) -> pl.Expr:
    """The row gives `field` (a time zone only when the file gave it, not inferred)."""
    value = pl.col(field)
    given = value.list.len() > 0 if isinstance(schema[field], pl.List) else value.is_not_null()
    if field == "timezone" and "timezone_source" in schema:
        given = given & (pl.col("timezone_source") == "given")
    return given.fill_null(False)


def _shown(field: str, schema: pl.Schema) -> pl.Expr:
    """A value for a message: quoted text."""
    value = pl.col(field)
    text = value.list.join(", ") if isinstance(schema[field], pl.List) else value.cast(pl.String)
    return pl.format("'{}'", text.str.slice(0, 60))


def _said_where_it_matters(rows: pl.LazyFrame) -> pl.LazyFrame:
    """What was not sent is said on the rows that send (or were skipped for it): a row skipped
    for another reason, or never sendable, sends nothing at all."""
    notes = [c for c in rows.collect_schema().names() if c.endswith(".not_sent")]
    notes.append(_UNSETTABLE_NOTE)
    sends = pl.col("op").is_not_null() | pl.col("reason_code").is_in(
        ["not_sent", "unsettable_status"]
    ).fill_null(False)
    return rows.with_columns(pl.when(sends).then(pl.col(c)).alias(c) for c in notes)


def _changes_of_updates(rows: pl.LazyFrame, vendor: VendorSpec) -> pl.LazyFrame:
    """`changes` of the rows that update: the diff's {field, old, new} of each field sent (not
    a status the vendor cannot set, nor a clear it cannot make); null on other rows."""
    schema = rows.collect_schema()
    if CHANGES not in schema:
        return rows.with_columns(pl.lit(None, pl.List(CHANGE_ENTRY)).alias("changes"))
    field, value = pl.element().struct.field("field"), pl.element().struct.field("new")
    sent = pl.col(CHANGES).list.filter(value.is_not_null() | field.is_in(list(vendor.clearable)))
    kept = (
        pl.when(pl.col("_unsettable").is_not_null())
        .then(sent.list.filter(field != "status"))
        .otherwise(sent)
    )
    changes = pl.when(pl.col("op") == "update").then(kept).alias("changes")
    return rows.with_columns(changes).drop(CHANGES, UNSYNCED, strict=False)


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
