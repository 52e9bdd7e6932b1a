"""The `diff` stage: which fields of a matched lead the file changes, and what to send.

For each field the vendor can update, the source row's normalised value is compared with the
target's (from the snapshot, by `matched_id`):

- scalars compare as values (both sides are normalised, so `+1 (212) 555-0100` and
  `+12125550100` are equal);
- `tags` compare as sets ignoring case; when the set changed, the whole new set is sent;
- `custom` and `checklist` compare per key / code; only the changed entries are sent.

A blank source cell leaves the field as it is (`blanks="leave"`, the default); with
`blanks="clear"` it clears a scalar the target has (the plan reports where a vendor cannot).
Adds `changed_fields` (sorted names) and the struct column `send` (`schemas.frames.SEND`): one
field per diffed field, the value to send, null when unchanged or cleared. Rows that did not
match get no changes. The struct keeps the order the `_send_<field>` columns it replaces had
(entry fields first): `plan` hashes it into the op id, which a resumed run must find again.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Literal

import polars as pl

from schemas.frames import SEND

__all__ = ["Blanks", "diff"]

Blanks = Literal["leave", "clear"]
_ENTRY_KEYS = {"custom": "key", "checklist": "code"}
_ROW = "_diff_row"


def diff(
    rows: pl.LazyFrame,
    snapshot: pl.LazyFrame,
    fields: Sequence[str],
    *,
    blanks: Blanks = "leave",
    mapped: Collection[str] | None = None,
) -> pl.LazyFrame:
    """Add `changed_fields` and `send` for `fields` (see the module docstring).

    `mapped` are the fields the file has a column for: only those can be blank, so only those
    are cleared under `blanks="clear"` (a field the file does not map is absent, not blank).
    """
    clear_only = set(fields if mapped is None else mapped)
    present = [f for f in fields if f in rows.collect_schema() and f in snapshot.collect_schema()]
    policy: dict[str, Blanks] = {f: blanks if f in clear_only else "leave" for f in present}
    target = snapshot.select(
        pl.col("id").cast(pl.String).alias("_t_id"), *[pl.col(f).alias(f"_t_{f}") for f in present]
    )
    keyed = rows.with_row_index(_ROW)
    looked_up = keyed.select(_ROW, pl.col("matched_id").cast(pl.String).alias("_t_id")).join(
        target, on="_t_id", how="left", maintain_order="left"
    )
    both = pl.concat([keyed, looked_up.drop(_ROW, "_t_id")], how="horizontal")
    matched = pl.col("matched_id").is_not_null()
    sends = []
    for field in present:
        if field in _ENTRY_KEYS:
            both = _entries_changed(both, field, _ENTRY_KEYS[field])
            sends.append(
                pl.when(matched & (pl.col(f"_send_{field}").list.len() > 0)).then(
                    pl.col(f"_send_{field}")
                )
            )
        else:
            sends.append(pl.when(matched & _changed(field, policy[field])).then(pl.col(field)))
    both = both.with_columns([s.alias(f"_send_{f}") for s, f in zip(sends, present, strict=True)])
    changed = pl.concat_list(
        [
            pl.when(pl.col(f"_send_{f}").is_not_null() | _cleared(f, policy[f])).then(pl.lit(f))
            for f in present
        ]
    ).list.drop_nulls()
    done = both.with_columns(
        pl.when(matched).then(changed).alias("changed_fields"),
        *[
            pl.when(_cleared(f, policy[f]))
            .then(None)
            .otherwise(pl.col(f"_send_{f}"))
            .alias(f"_send_{f}")
            for f in present
        ],
    ).drop(_ROW, *[f"_t_{f}" for f in present])
    return _packed(done, present)


def _packed(frame: pl.LazyFrame, present: Sequence[str]) -> pl.LazyFrame:
    """The `_send_<field>` columns as one `send` struct, in the order they were made: entry
    fields first (their columns came first), then the others. A resumed run matches op ids
    hashed from that order."""
    order = [f for f in present if f in _ENTRY_KEYS] + [f for f in present if f not in _ENTRY_KEYS]
    send = pl.struct([pl.col(f"_send_{f}").alias(f) for f in order]).alias(SEND)
    return frame.with_columns(send).drop([f"_send_{f}" for f in order])


def _changed(field: str, blanks: Blanks) -> pl.Expr:
    source, target = pl.col(field), pl.col(f"_t_{field}")
    if field == "tags":
        different = _tag_set(source).ne_missing(_tag_set(target))
    else:
        different = source.ne_missing(target)
    return (source.is_not_null() & different) if blanks == "leave" else different


def _cleared(field: str, blanks: Blanks) -> pl.Expr:
    """A blank source cell against a value the target has, under `blanks="clear"`."""
    if blanks == "leave" or field in _ENTRY_KEYS:
        return pl.lit(False)
    return (
        pl.col("matched_id").is_not_null()
        & pl.col(field).is_null()
        & pl.col(f"_t_{field}").is_not_null()
    )


def _tag_set(tags: pl.Expr) -> pl.Expr:
    """Tags lower-cased and sorted, as one comparable string (native kernels, no list.eval)."""
    lowered = tags.list.join("\x1f").str.to_lowercase().str.split("\x1f")
    return lowered.list.sort().list.unique(maintain_order=True).list.join("\x1f")


def _entries_changed(frame: pl.LazyFrame, field: str, key: str) -> pl.LazyFrame:
    """`_send_<field>`: the source's entries whose value (or status) differs from the target's."""
    compared = ("value",) if field == "custom" else ("value", "status")
    source = (
        frame.select(_ROW, pl.col(field).alias("_e"))
        .explode("_e")
        .filter(pl.col("_e").is_not_null())
        .unnest("_e")
    )
    target = (
        frame.select(_ROW, pl.col(f"_t_{field}").alias("_e"))
        .explode("_e")
        .filter(pl.col("_e").is_not_null())
        .unnest("_e")
        .select(_ROW, key, *[pl.col(c).alias(f"_t_{c}") for c in compared])
    )
    different = pl.any_horizontal(
        [
            pl.col(c).is_not_null()
            & pl.col(c).cast(pl.String).ne_missing(pl.col(f"_t_{c}").cast(pl.String))
            for c in compared
        ]
    )
    changed = (
        source.join(target, on=[_ROW, key], how="left", maintain_order="left")
        .filter(different)
        .group_by(_ROW, maintain_order=True)
        .agg(pl.struct(pl.exclude(_ROW, *[f"_t_{c}" for c in compared])).alias(f"_send_{field}"))
    )
    per_row = frame.select(_ROW).join(changed, on=_ROW, how="left", maintain_order="left")
    empty = pl.lit([], frame.collect_schema()[field])
    return pl.concat(
        [frame, per_row.select(pl.col(f"_send_{field}").fill_null(empty))], how="horizontal"
    )
