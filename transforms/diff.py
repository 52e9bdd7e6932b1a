"""The `diff` stage: which fields of a matched lead to send, by the three-way rule.

Each field has three values: the source's (the file now), the target's (the snapshot, by
`matched_id`) and the base (what the file said when leadpipe last synced the lead: its
`base`, by lead id). A field is sent when

- the file changed it since the base (or the lead has no base yet), and
- the target does not already hold the new value.

A field the target changed while the file did not (a person or the vendor's agent worked the
lead) is left alone, and noted when the target was read this run (`_live`); with
`on_target_edit="overwrite"` the file wins wherever it differs from the target (a mirror).
When both changed, the file's new value is sent and the row notes the target's value it
replaced: the file changed since leadpipe last wrote, so it is the newer statement of what the
analyst imports. Comparing:

- scalars compare as values (both sides are normalised, so `+1 (212) 555-0100` and
  `+12125550100` are equal);
- `tags` compare as sets ignoring case; when the set changed, the whole new set is sent;
- `custom` and `checklist` compare per key / code; only the changed entries are sent;
- `send_once` fields (the vendor does not echo them, or a write may append) are sent only when
  the file changed them since the base (or no base yet), and never because the target differs;
  a value the file did not give (a time zone inferred from the phone) is not sent to a lead
  leadpipe has no base for (a guess must not replace what the lead may already hold).

Guards (unless `allow_reopen`): a change that takes a lead out of a status the vendor locks
(`VendorSpec.status_locks`: opted-out, not-interested, closed), un-opts it out, or sends
outreach fields (`VendorSpec.outreach`) to a lead that opted out is not sent; `_blocked` names
those fields and each gets a `reopen_blocked` note.

A blank source cell leaves the field as it is (`blanks="leave"`, the default); with
`blanks="clear"` it clears a scalar the target has when the file blanked it since the base
(the plan reports where a vendor cannot). Adds `changed_fields` (sorted names), the struct
column `send` (`schemas.frames.SEND`: one field per diffed field, the value to send, null when
unchanged or cleared), `_blocked`, `_base_stale` (the lead's base must be written again) and
`_warn_<field>.<what>` notes. Rows that did not match get no changes. The struct keeps the order
the `_send_<field>` columns it replaces had (entry fields first): `plan` hashes it into the op
id, which a resumed run must find again.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import polars as pl

from schemas.choices import Blanks, OnTargetEdit
from schemas.fields import CANONICAL_FIELDS, CHANGE_ENTRY
from schemas.frames import SEND

__all__ = [
    "Blanks",
    "CHANGES",
    "OnTargetEdit",
    "UNSYNCED",
    "diff",
    "next_base",
    "unsent_candidates",
]

_ENTRY_KEYS = {"custom": "key", "checklist": "code"}
_ROW = "_diff_row"
_HAS_BASE = "_b__has"
_LIVE = "_t__live"
BLOCKED = "_blocked"
BASE_STALE = "_base_stale"
# Per matched row: each changed field as {field, old, new} text (`plan` keeps it for updates).
CHANGES = "_changes"
# Per matched row: the mapped fields `fields` leaves out whose value differs from what is known
# of the lead (the target's value, else the base): `plan` says which the vendor cannot take.
UNSYNCED = "_unsynced"
# Fields never reported as not sent: bookkeeping-like (the id names the lead) or the vendor's
# own extras (custom entries and checklist items carry what a vendor has no field for).
_NEVER_UNSENT = frozenset({"target_id", "custom", "checklist"})


def unsent_candidates(mapped: Collection[str] | None) -> list[str]:
    """The canonical fields a row may hold that a vendor might not take: all of them but
    `_NEVER_UNSENT`, and of those only the `mapped` ones (a `full_name` column maps the names)."""
    if mapped is None:
        return [f for f in CANONICAL_FIELDS if f not in _NEVER_UNSENT]
    named = {*mapped, *(("first_name", "last_name") if "full_name" in mapped else ())}
    return [f for f in CANONICAL_FIELDS if f in named and f not in _NEVER_UNSENT]


def diff(
    rows: pl.LazyFrame,
    snapshot: pl.LazyFrame,
    fields: Sequence[str],
    *,
    blanks: Blanks = "leave",
    mapped: Collection[str] | None = None,
    base: pl.LazyFrame | None = None,
    send_once: Collection[str] = (),
    on_target_edit: OnTargetEdit = "keep",
    status_locks: Mapping[str, Collection[str]] | None = None,
    outreach: Collection[str] = (),
    allow_reopen: bool = False,
    target_name: str = "the target",
) -> pl.LazyFrame:
    """Add `changed_fields`, `send`, `_blocked`, `_base_stale` and notes for `fields` (see the
    module docstring).

    `mapped` are the fields the file has a column for: only those can be blank, so only those
    are cleared under `blanks="clear"` (a field the file does not map is absent, not blank).
    `snapshot` may carry `_live` (the lead was read this run); `base` has the lead's `id` and
    the fields as last synced; without it every lead is compared as if it had no base.
    """
    clear_only = set(fields if mapped is None else mapped)
    snap_schema = snapshot.collect_schema()
    present = [f for f in fields if f in rows.collect_schema() and f in snap_schema]
    base_schema = base.collect_schema() if base is not None else pl.Schema()
    based = [f for f in present if f in base_schema]
    policy: dict[str, Blanks] = {f: blanks if f in clear_only else "leave" for f in present}
    guards = [f for f in ("status", "opted_out") if f in snap_schema and f not in present]
    row_schema = rows.collect_schema()
    others = [
        f
        for f in unsent_candidates(mapped)
        if f in row_schema and f not in fields and (f in snap_schema or f in base_schema)
    ]
    target = snapshot.select(
        pl.col("id").cast(pl.String).alias("_t_id"),
        *[pl.col(f).alias(f"_t_{f}") for f in (*present, *guards)],
        *[pl.col(f).alias(f"_o_t_{f}") for f in others if f in snap_schema],
        (pl.col("_live") if "_live" in snap_schema else pl.lit(False)).alias(_LIVE),
    )
    keyed = rows.with_row_index(_ROW)
    looked_up = keyed.select(_ROW, pl.col("matched_id").cast(pl.String).alias("_t_id")).join(
        target, on="_t_id", how="left", maintain_order="left"
    )
    if base is not None:
        looked_up = looked_up.join(
            base.select(
                pl.col("id").cast(pl.String).alias("_t_id"),
                pl.lit(True).alias(_HAS_BASE),
                *[pl.col(f).alias(f"_b_{f}") for f in based],
                *[pl.col(f).alias(f"_o_b_{f}") for f in others if f in base_schema],
            ),
            on="_t_id",
            how="left",
            maintain_order="left",
        )
    else:
        looked_up = looked_up.with_columns(pl.lit(None, pl.Boolean).alias(_HAS_BASE))
    looked_up = looked_up.with_columns(
        *[pl.lit(None, snap_schema[f]).alias(f"_b_{f}") for f in present if f not in based]
    )
    both = pl.concat([keyed, looked_up.drop(_ROW, "_t_id")], how="horizontal")
    rule = _Rule(
        overwrite=on_target_edit == "overwrite",
        send_once=frozenset(send_once),
        target=target_name,
        guessed=frozenset(f for f in present if f"{f}_source" in rows.collect_schema()),
    )
    sends, notes = [], []
    for field in present:
        if field in _ENTRY_KEYS:
            both = _entries_changed(both, field, _ENTRY_KEYS[field], rule)
            sends.append(
                pl.when(_MATCHED & (pl.col(f"_send_{field}").list.len() > 0)).then(
                    pl.col(f"_send_{field}")
                )
            )
        else:
            sends.append(pl.when(_MATCHED & rule.wanted(field)).then(pl.col(field)))
            if base is not None:  # without a base, nothing is known to have changed
                notes.extend(rule.notes(field))
    both = both.with_columns(*[s.alias(f"_send_{f}") for s, f in zip(sends, present, strict=True)])
    blocked = (
        []
        if allow_reopen
        else _guards(present, status_locks or {}, outreach, target_name, "opted_out" in snap_schema)
    )
    both = both.with_columns(
        pl.concat_list([pl.lit([], pl.List(pl.String)), *[b for _, b, _ in blocked]])
        .list.drop_nulls()
        .alias(BLOCKED),
        *[note for _, _, note in blocked],
    ).with_columns(
        *[
            pl.when(pl.col(BLOCKED).list.contains(f))
            .then(None)
            .otherwise(pl.col(f"_send_{f}"))
            .alias(f"_send_{f}")
            for f, _, _ in blocked
        ]
    )
    if notes:  # after the guards: a blocked field was not sent over anything
        both = both.with_columns(*notes)
    cleared = {f: rule.cleared(f, policy[f]) for f in present}
    changed = pl.concat_list(
        [pl.when(pl.col(f"_send_{f}").is_not_null() | cleared[f]).then(pl.lit(f)) for f in present]
    ).list.drop_nulls()
    stale = ~pl.col(_HAS_BASE).fill_null(False) | pl.any_horizontal(
        [
            pl.lit(False),
            *[pl.col(f).is_not_null() & _differs(f, pl.col(f), pl.col(f"_b_{f}")) for f in present],
        ]
    )
    done = both.with_columns(
        pl.when(_MATCHED).then(changed).alias("changed_fields"),
        pl.when(_MATCHED).then(_changes(present, cleared, snap_schema)).alias(CHANGES),
        pl.when(_MATCHED).then(_unsynced(others, snap_schema, base_schema)).alias(UNSYNCED),
        (_MATCHED & stale).alias(BASE_STALE),
        *[
            pl.when(cleared[f]).then(None).otherwise(pl.col(f"_send_{f}")).alias(f"_send_{f}")
            for f in present
        ],
    ).drop(
        _ROW,
        _HAS_BASE,
        _LIVE,
        *[f"_t_{f}" for f in (*present, *guards)],
        *[f"_b_{f}" for f in present],
        *[f"_o_t_{f}" for f in others if f in snap_schema],
        *[f"_o_b_{f}" for f in others if f in base_schema],
    )
    return _packed(done, present)


def _changes(present: Sequence[str], cleared: Mapping[str, pl.Expr], schema: pl.Schema) -> pl.Expr:
    """{field, old, new} per changed field: `old` the target's value (else the base's: what
    leadpipe last wrote), `new` the value sent (null: cleared), as text."""
    if not present:
        return pl.lit([], pl.List(CHANGE_ENTRY))
    entries = [
        pl.when(pl.col(f"_send_{f}").is_not_null() | cleared[f]).then(
            pl.struct(
                pl.lit(f).alias("field"),
                _as_text(pl.coalesce(f"_t_{f}", f"_b_{f}"), schema[f]).alias("old"),
                _as_text(pl.col(f"_send_{f}"), schema[f]).alias("new"),
            )
        )
        for f in present
    ]
    # An array filtered, as `validate` does: `concat_list` of structs takes a slow path.
    return pl.concat_arr(entries).arr.to_list().list.filter(pl.element().is_not_null())


def _unsynced(others: Sequence[str], target: pl.Schema, base: pl.Schema) -> pl.Expr:
    """The fields of `others` the file changed (since the base, when the lead has one) to a
    value that differs from what is known of the lead: the target's value, else the base's; a
    field nothing is known of is no difference. A value the file has not changed since the last
    import is no edit: the target may show it otherwise (Octanist keeps one `name`, read back
    split at its last space: "Asafe da Conceição" is "Asafe da" and "Conceição"), and that
    must not read as an edit on every run."""
    names = []
    has_base = pl.col(_HAS_BASE).fill_null(False)
    for f in others:
        known = [pl.col(f"_o_t_{f}")] if f in target else []
        known += [pl.col(f"_o_b_{f}")] if f in base else []
        value = pl.coalesce(known)
        differs = pl.col(f).is_not_null() & value.is_not_null() & _differs(f, pl.col(f), value)
        if f in base:
            was = pl.col(f"_o_b_{f}")
            differs = differs & (~has_base | was.is_null() | _differs(f, pl.col(f), was))
        names.append(pl.when(differs).then(pl.lit(f)))
    if not names:
        return pl.lit([], pl.List(pl.String))
    return pl.concat_list(names).list.drop_nulls()


def _as_text(value: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A value as report text: lists and structs as JSON, the rest as polars writes them."""
    if isinstance(dtype, pl.List | pl.Struct | pl.Array):
        return pl.when(value.is_not_null()).then(
            pl.struct(value.alias("v")).struct.json_encode().str.slice(5).str.strip_suffix("}")
        )
    return value.cast(pl.String)


_MATCHED = pl.col("matched_id").is_not_null()


class _Rule:
    """The three-way rule's expressions for one diff (see the module docstring)."""

    def __init__(
        self, *, overwrite: bool, send_once: frozenset[str], target: str, guessed: frozenset[str]
    ) -> None:
        self.overwrite, self.send_once, self.target = overwrite, send_once, target
        self.guessed = guessed  # fields whose `<field>_source` may say "inferred"

    def wanted(self, field: str) -> pl.Expr:
        """The file's value is to be sent (before guards and clears)."""
        source, target = pl.col(field), pl.col(f"_t_{field}")
        holds = ~_differs(field, source, target)
        if field in self.send_once:
            # Only a value the target shows can say it holds it already (it may not echo it).
            sent = source.is_not_null() & _source_changed(field) & ~(target.is_not_null() & holds)
            if field in self.guessed:  # a guess never overrides a lead leadpipe has no base for
                guess = pl.col(f"{field}_source").fill_null("") == "inferred"
                return sent & ~(guess & ~pl.col(_HAS_BASE).fill_null(False))
            return sent
        if self.overwrite:
            return source.is_not_null() & ~holds
        return source.is_not_null() & _source_changed(field) & ~holds

    def cleared(self, field: str, blanks: Blanks) -> pl.Expr:
        """A blank source cell against a value the target has, under `blanks="clear"`, where the
        file blanked it since the base (or there is none, or the file wins everywhere)."""
        if blanks == "leave" or field in _ENTRY_KEYS or field in self.send_once:
            return pl.lit(False)
        since = pl.lit(True) if self.overwrite else _source_changed(field)
        return _MATCHED & pl.col(field).is_null() & pl.col(f"_t_{field}").is_not_null() & since

    def notes(self, field: str) -> list[pl.Expr]:
        """`target_edit` (left alone) and `both_changed` (the file won) notes, where the target
        was read this run."""
        if self.overwrite or field in self.send_once:
            return []
        source, target, base = pl.col(field), pl.col(f"_t_{field}"), pl.col(f"_b_{field}")
        # A base without this field's value says nothing was written there (a status the vendor
        # could not set, a field mapped since): the target's value is then no edit of it.
        seen = (
            _MATCHED
            & pl.col(_HAS_BASE).fill_null(False)
            & pl.col(_LIVE).fill_null(False)
            & base.is_not_null()
        )
        differs = _differs(field, source, target)
        kept = seen & source.is_not_null() & ~_differs(field, source, base) & differs
        won = seen & pl.col(f"_send_{field}").is_not_null() & _differs(field, base, target)
        shown = _shown(field, target)
        return [
            pl.when(kept)
            .then(
                pl.format(
                    f"target_edit|kept {self.target}'s {{}}: changed there since the last "
                    "import, not in the file (--on-target-edit overwrite sends the file's)",
                    shown,
                )
            )
            .alias(f"_warn_{field}.target_edit"),
            pl.when(won)
            .then(
                pl.format(
                    f"both_changed|sent the file's value over {self.target}'s {{}}: both "
                    "changed it since the last import, and the file wins",
                    shown,
                )
            )
            .alias(f"_warn_{field}.both_changed"),
        ]


def _source_changed(field: str) -> pl.Expr:
    """The file's value differs from the base, or the lead has no base yet."""
    has_base = pl.col(_HAS_BASE).fill_null(False)
    return ~has_base | _differs(field, pl.col(field), pl.col(f"_b_{field}"))


def _differs(field: str, left: pl.Expr, right: pl.Expr) -> pl.Expr:
    """Two values of `field` differ (nulls compare as values; tags as case-blind sets)."""
    if field == "tags":
        return _tag_set(left).ne_missing(_tag_set(right))
    return left.ne_missing(right)


def _shown(field: str, value: pl.Expr) -> pl.Expr:
    """A value for a note: quoted text, or "blank"."""
    text = value.list.join(", ") if field == "tags" else value.cast(pl.String)
    return pl.when(value.is_null()).then(pl.lit("blank")).otherwise(pl.format("'{}'", text))


def _guards(
    present: Sequence[str],
    locks: Mapping[str, Collection[str]],
    outreach: Collection[str],
    target: str,
    knows_opt_out: bool,
) -> list[tuple[str, pl.Expr, pl.Expr]]:
    """(field, the field's name where its send is blocked, its note) per guarded field."""
    guarded: list[tuple[str, pl.Expr, pl.Expr]] = []
    opted_out = pl.col("_t_opted_out").fill_null(False) if knows_opt_out else pl.lit(False)
    hint = "(--allow-reopen sends it)"
    if "status" in present and locks:
        now, asked = pl.col("_t_status"), pl.col("_send_status")
        leaves = pl.any_horizontal(
            [(now == was) & ~asked.is_in(list(allowed)) for was, allowed in locks.items()]
        ).fill_null(False)
        note = pl.format(
            f"reopen_blocked|not sent: the lead is {{}} in {target}, and '{{}}' would take it "
            f"out of that {hint}",
            now,
            asked,
        )
        guarded.append(("status", asked.is_not_null() & leaves, note))
    if "opted_out" in present:
        back_in = (pl.col("_send_opted_out") == False) & opted_out  # noqa: E712
        note = pl.lit(
            f"reopen_blocked|not sent: the lead opted out in {target}, and the file's 'no' "
            f"would opt it back in {hint}"
        )
        guarded.append(("opted_out", back_in.fill_null(False), note))
    for field in (f for f in present if f in outreach):
        note = pl.lit(
            f"reopen_blocked|not sent: the lead opted out in {target}, and "
            f"{field.replace('_', ' ')} would message it again {hint}"
        )
        guarded.append((field, pl.col(f"_send_{field}").is_not_null() & opted_out, note))
    return [
        (
            field,
            pl.when(_MATCHED & hit).then(pl.lit(field)),
            pl.when(_MATCHED & hit).then(note).alias(f"_warn_{field}.reopen"),
        )
        for field, hit, note in guarded
    ]


def next_base(frame: pl.DataFrame, fields: Sequence[str]) -> pl.DataFrame:
    """The base to store after a push: for each row whose lead now holds what the file says
    (created, updated, or unchanged with a base to write again), its lead id and the file's
    values of `fields`, blocked fields left null (a null keeps the stored base)."""
    done = pl.col("outcome").is_in(["created", "updated"]) | (
        (pl.col("outcome") == "unchanged") & pl.col(BASE_STALE).fill_null(False)
        if BASE_STALE in frame.columns
        else pl.lit(False)
    )
    kept = [f for f in fields if f in frame.columns]
    blocked = pl.col(BLOCKED) if BLOCKED in frame.columns else pl.lit([], pl.List(pl.String))
    return frame.filter(done & pl.col("target_id").is_not_null()).select(
        pl.col("target_id").cast(pl.String).alias("id"),
        *[
            pl.when(blocked.list.contains(f).fill_null(False))
            .then(None)
            .otherwise(pl.col(f))
            .alias(f)
            for f in kept
        ],
    )


def _packed(frame: pl.LazyFrame, present: Sequence[str]) -> pl.LazyFrame:
    """The `_send_<field>` columns as one `send` struct, in the order they were made: entry
    fields first (their columns came first), then the others. A resumed run matches op ids
    hashed from that order."""
    order = [f for f in present if f in _ENTRY_KEYS] + [f for f in present if f not in _ENTRY_KEYS]
    send = pl.struct([pl.col(f"_send_{f}").alias(f) for f in order]).alias(SEND)
    return frame.with_columns(send).drop([f"_send_{f}" for f in order])


def _tag_set(tags: pl.Expr) -> pl.Expr:
    """Tags lower-cased and sorted, as one comparable string (native kernels, no list.eval)."""
    lowered = tags.list.join("\x1f").str.to_lowercase().str.split("\x1f")
    return lowered.list.sort().list.unique(maintain_order=True).list.join("\x1f")


def _entries_changed(frame: pl.LazyFrame, field: str, key: str, rule: _Rule) -> pl.LazyFrame:
    """`_send_<field>`: the source's entries whose value (or status) differs from the target's
    and (unless the file wins everywhere) from the base's, or whose lead has no base."""
    compared = ("value",) if field == "custom" else ("value", "status")

    def entries(column: str, prefix: str) -> pl.LazyFrame:
        return (
            frame.select(_ROW, pl.col(column).alias("_e"))
            .explode("_e")
            .filter(pl.col("_e").is_not_null())
            .unnest("_e")
            .select(_ROW, key, *[pl.col(c).alias(f"{prefix}{c}") for c in compared])
            .with_columns(pl.lit(True).alias(f"{prefix}_seen"))
        )

    source = (
        frame.select(_ROW, pl.col(field).alias("_e"), _HAS_BASE)
        .explode("_e")
        .filter(pl.col("_e").is_not_null())
        .unnest("_e")
    )
    joined = source.join(
        entries(f"_t_{field}", "_t_"), on=[_ROW, key], how="left", maintain_order="left"
    ).join(entries(f"_b_{field}", "_b_"), on=[_ROW, key], how="left", maintain_order="left")

    def differs(prefix: str) -> pl.Expr:
        return pl.any_horizontal(
            [
                pl.col(c).is_not_null()
                & pl.col(c).cast(pl.String).ne_missing(pl.col(f"{prefix}{c}").cast(pl.String))
                for c in compared
            ]
        )

    changed_since = (
        ~pl.col(_HAS_BASE).fill_null(False) | pl.col("_b__seen").is_null() | differs("_b_")
    )
    wanted = differs("_t_") if rule.overwrite else differs("_t_") & changed_since
    helpers = [f"{p}{c}" for p in ("_t_", "_b_") for c in (*compared, "_seen")]
    changed = (
        joined.filter(wanted)
        .group_by(_ROW, maintain_order=True)
        .agg(pl.struct(pl.exclude(_ROW, _HAS_BASE, *helpers)).alias(f"_send_{field}"))
    )
    per_row = frame.select(_ROW).join(changed, on=_ROW, how="left", maintain_order="left")
    empty = pl.lit([], frame.collect_schema()[field])
    return pl.concat(
        [frame, per_row.select(pl.col(f"_send_{field}").fill_null(empty))], how="horizontal"
    )
