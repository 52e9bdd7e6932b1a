"""The `match` stage: find each source row's lead in a snapshot of the target. Never guess.

Keys are tried in priority order (default `target_id`, `external_id`, `email`, `phone`) on
normalised values on both sides. The first key that finds any target lead decides:

- it finds exactly one, and no other key points at a different lead: `matched` (`match_by`
  names the key, `target_id` the lead);
- it finds several (e.g. two target leads share the email): `conflict`, listing them;
- another key points elsewhere (email says A, phone says B): `conflict`;
- no key finds anything: `new`.

    >>> src = pl.LazyFrame({"source_row": [2], "email": ["a@x.io"], "phone": ["+1"]})
    >>> snap = pl.LazyFrame({"id": ["L1"], "email": ["a@x.io"], "phone": ["+1"]})
    >>> match(src, snap, keys=("email", "phone")).collect()["match_status"].item()
    'matched'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from transforms.report import build_report

__all__ = [
    "DEFAULT_MATCH_KEYS",
    "MATCH_STATUSES",
    "MatchIndex",
    "match",
    "match_index",
    "match_rows",
]

DEFAULT_MATCH_KEYS: tuple[str, ...] = ("target_id", "external_id", "email", "phone")
MATCH_STATUSES = ("matched", "new", "conflict")
_SHOWN = 5


@dataclass(frozen=True)
class MatchIndex:
    """The snapshot's lead ids by each key's value (`_value`, `_ids`), made once for many
    source partitions; a key the snapshot has no column for has no entry."""

    keys: tuple[str, ...]
    by_value: Mapping[str, pl.LazyFrame]


def match_index(snapshot: pl.LazyFrame, keys: Sequence[str] = DEFAULT_MATCH_KEYS) -> MatchIndex:
    """The lookups `match` makes of `snapshot`, computed now (all keys in one pass)."""
    lazy = _lazy_index(snapshot, keys)
    done = pl.collect_all(list(lazy.by_value.values()))
    return MatchIndex(lazy.keys, {k: f.lazy() for k, f in zip(lazy.by_value, done, strict=True)})


def match(
    source: pl.LazyFrame,
    snapshot: pl.LazyFrame | MatchIndex,
    keys: Sequence[str] = DEFAULT_MATCH_KEYS,
) -> pl.LazyFrame:
    """Add `match_status`, `match_by`, `matched_id` and `match_reason` to `source`.

    `snapshot` has the target lead's `id` and the key columns (the `target_id` key of a source
    row is compared with the snapshot's `id`), or is a `match_index` of it (then its keys
    are the ones tried).
    """
    index = snapshot if isinstance(snapshot, MatchIndex) else _lazy_index(snapshot, keys)
    keys = index.keys
    found = pl.concat(
        [source, *(_candidates(source, index.by_value.get(key), key) for key in keys)],
        how="horizontal",
    )
    lists = [pl.col(f"_cand_{key}") for key in keys]
    first = pl.coalesce([pl.when(c.list.len() > 0).then(c) for c in lists])
    first_key = pl.coalesce(
        [pl.when(c.list.len() > 0).then(pl.lit(k)) for c, k in zip(lists, keys, strict=True)]
    )
    chosen = first.list.first()
    elsewhere = pl.any_horizontal(
        [(c.list.len() > 0) & ~c.list.contains(chosen) for c in lists]
    ).fill_null(False)
    status = (
        pl.when(first.is_null())
        .then(pl.lit("new"))
        .when((first.list.len() > 1) | elsewhere)
        .then(pl.lit("conflict"))
        .otherwise(pl.lit("matched"))
    )
    return found.with_columns(
        status.alias("match_status"),
        pl.when(status == "matched").then(first_key).alias("match_by"),
        pl.when(status == "matched").then(chosen).alias("matched_id"),
        _reason(first, first_key, lists, keys, status).alias("match_reason"),
    ).drop([f"_cand_{key}" for key in keys])


def match_rows(
    frame: pl.DataFrame, index: MatchIndex, status_aliases: Mapping[str, str]
) -> pl.DataFrame:
    """One partition of checked rows, matched: the check's outcome, then `match` against
    `index`; only a `valid` row keeps what the match found (an invalid or duplicate row is
    never sent, so it names no lead).

    `status_aliases` turn the file's status words into the vendor's (Octanist has no "new":
    a new lead is "open"), so the diff compares like with like.
    """
    rows = build_report(frame.lazy()).with_columns(
        pl.col("status").replace(dict(status_aliases)) if status_aliases else pl.col("status")
    )
    return (
        match(rows, index)
        .with_columns(
            pl.when(pl.col("outcome") == "valid").then(pl.col(c)).alias(c)
            for c in ("match_status", "match_by", "matched_id", "match_reason")
        )
        # In memory: the partition is, and polars 2.1's streaming engine panicked on some
        # partitions of these per-partition steps (a string view index out of bounds).
        .collect(engine="in-memory")
    )


def _lazy_index(snapshot: pl.LazyFrame, keys: Sequence[str]) -> MatchIndex:
    schema = snapshot.collect_schema()
    by_value = {}
    for key in keys:
        column = "id" if key == "target_id" else key
        if column in schema:
            # Sorted by id first: a group keeps its rows' order, so each list comes sorted
            # (sorting every group's list instead costs ~3x as much at 1M leads).
            by_value[key] = (
                snapshot.filter(pl.col(column).is_not_null())
                .select(
                    pl.col(column).cast(pl.String).alias("_value"), pl.col("id").cast(pl.String)
                )
                .sort("id")
                .group_by("_value")
                .agg(pl.col("id").alias("_ids"))
            )
    return MatchIndex(tuple(keys), by_value)


def _candidates(source: pl.LazyFrame, by_value: pl.LazyFrame | None, key: str) -> pl.LazyFrame:
    """`_cand_<key>`: ids of the snapshot leads sharing each row's `key` value (may be empty).

    A narrow lookup, stacked beside the frame by the caller: the key column alone is joined,
    never the whole source row.
    """
    empty = pl.lit([], pl.List(pl.String))
    if by_value is None or key not in source.collect_schema():
        # `with_columns` broadcasts the literal to every row (`select` would give one row).
        return source.with_columns(empty.alias(f"_cand_{key}")).select(f"_cand_{key}")
    return (
        source.select(pl.col(key).cast(pl.String).alias("_value"))
        .join(by_value, on="_value", how="left", maintain_order="left")
        .select(pl.col("_ids").fill_null(empty).alias(f"_cand_{key}"))
    )


def _reason(
    first: pl.Expr, first_key: pl.Expr, lists: list[pl.Expr], keys: Sequence[str], status: pl.Expr
) -> pl.Expr:
    shown = first.list.head(_SHOWN).list.join(", ")
    several = pl.format(
        "{} target leads share this {}: {}",
        first.list.len(),
        first_key.str.replace("_", " "),
        shown,
    )
    pointers = pl.concat_str(
        [
            pl.when(c.list.len() > 0).then(
                pl.format(k.replace("_", " ") + " -> {}", c.list.head(_SHOWN).list.join(", "))
            )
            for c, k in zip(lists, keys, strict=True)
        ],
        separator="; ",
        ignore_nulls=True,
    )
    return (
        pl.when(status != "conflict")
        .then(None)
        .when(first.list.len() > 1)
        .then(several)
        .otherwise(pl.lit("keys point at different target leads: ") + pointers)
    )
