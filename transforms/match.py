"""The `match` stage: find each source row's lead in a snapshot of the target. Never guess.

Keys are tried in priority order (default `target_id`, `external_id`, `email`, `phone`) on
normalised values on both sides. The first key that finds any target lead decides:

- it finds exactly one, and no other key points at a different lead: `matched` (`match_by`
  names the key, `target_id` the lead);
- it finds several (e.g. two target leads share the email): `conflict`, listing them;
- another key points elsewhere (email says A, phone says B): `conflict`;
- no key finds anything: `new`.

A phone is an identity only for the person it belongs to (company switchboards): a target lead
is found by phone only when the row or the lead has no email, or their emails agree, or (the
same person with a new email) their first and last names agree. A row with email a and phone P
is `new` beside a lead with phone P, email b and another name; its `match_reason` then
names who holds the phone ("+1555 belongs to L7 (b@x.io)"), for a vendor that keeps one lead
per phone (`plan`'s `phone_taken`). `match_rows` says the same of a new row whose phone an
earlier new row of the partition (another person) is about to take. A `match_reason` is
otherwise set only on a `conflict`.

    >>> src = pl.LazyFrame({"source_row": [2], "email": ["a@x.io"], "phone": ["+1"]})
    >>> snap = pl.LazyFrame({"id": ["L1"], "email": ["a@x.io"], "phone": ["+1"]})
    >>> match(src, snap, keys=("email", "phone")).collect()["match_status"].item()
    'matched'
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from transforms.buckets import BUCKET, bucket_of
from transforms.report import build_report

__all__ = [
    "DEFAULT_MATCH_KEYS",
    "MATCH_STATUSES",
    "BucketedIndex",
    "MatchIndex",
    "key_leads",
    "key_lookups",
    "lookup_kinds",
    "match",
    "match_index",
    "match_rows",
]

DEFAULT_MATCH_KEYS: tuple[str, ...] = ("target_id", "external_id", "email", "phone")
MATCH_STATUSES = ("matched", "new", "conflict")
_SHOWN = 5
# Keys that identify only one person: they find a lead only when the emails do not differ.
PERSONAL_KEYS = ("phone",)
_EMPTY = pl.lit([], pl.List(pl.String))


@dataclass(frozen=True)
class MatchIndex:
    """The snapshot's lead ids by each key's value (`_value`, `_ids`), made once for many
    source partitions; a key the snapshot has no column for has no entry."""

    keys: tuple[str, ...]
    by_value: Mapping[str, pl.LazyFrame]
    # A personal key's ids by (`_value`, `_email`), the lead's email null included; only when
    # the snapshot has emails. Its `by_value` frame also has `_holder`: "<id> (<email>)".
    by_email: Mapping[str, pl.LazyFrame] = field(default_factory=dict)
    # A personal key's ids by (`_value`, `_name`: first and last name, lower case), when the
    # snapshot has names: the same person whose email changed.
    by_name: Mapping[str, pl.LazyFrame] = field(default_factory=dict)


@dataclass(frozen=True)
class BucketedIndex:
    """A `MatchIndex` too large for memory, split into `buckets` by a hash of each key's value
    (`transforms.buckets.bucket_of`): `lookup(key, kind, bucket)` reads one bucket of one of
    the key's lookups (`key_lookups`: kind "value", "email" or "name"). `kinds` names the
    lookups each key has; a key the snapshot has no column for has none."""

    keys: tuple[str, ...]
    buckets: int
    kinds: Mapping[str, tuple[str, ...]]
    lookup: Callable[[str, str, int], pl.LazyFrame]

    @property
    def personal(self) -> tuple[str, ...]:
        """The keys whose rows get `_held_<key>` (a personal key where the leads have emails)."""
        return tuple(k for k in self.keys if "email" in self.kinds.get(k, ()))

    def bucket(self, key: str, bucket: int) -> MatchIndex:
        """The `MatchIndex` of `key` alone, over one bucket."""
        lookups = {kind: self.lookup(key, kind, bucket) for kind in self.kinds.get(key, ())}
        return _index_of((key,), {key: lookups})


def match_index(snapshot: pl.LazyFrame, keys: Sequence[str] = DEFAULT_MATCH_KEYS) -> MatchIndex:
    """The lookups `match` makes of `snapshot`, computed now (all keys in one pass)."""
    lazy = _lazy_index(snapshot, keys)
    frames = {**{("v", k): f for k, f in lazy.by_value.items()}}
    frames |= {("e", k): f for k, f in lazy.by_email.items()}
    frames |= {("n", k): f for k, f in lazy.by_name.items()}
    done = dict(zip(frames, pl.collect_all(list(frames.values())), strict=True))
    return MatchIndex(
        lazy.keys,
        {k: done["v", k].lazy() for k in lazy.by_value},
        {k: done["e", k].lazy() for k in lazy.by_email},
        {k: done["n", k].lazy() for k in lazy.by_name},
    )


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
    found = pl.concat(
        [source, *(_candidates(source, index, key) for key in index.keys)], how="horizontal"
    )
    return _resolve(found, index.keys, tuple(k for k in index.keys if k in index.by_email))


def _resolve(found: pl.LazyFrame, keys: Sequence[str], personal: Collection[str]) -> pl.LazyFrame:
    """The rule that decides, from each key's candidates (`_cand_<key>`, and `_held_<key>` of
    the `personal` keys): the match columns, the candidates dropped. One rule for the
    in-memory and the bucketed index."""
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
    held = [pl.col(f"_held_{key}") for key in keys if key in personal]
    held_by = pl.coalesce(held) if held else pl.lit(None, pl.String)
    return found.with_columns(
        status.alias("match_status"),
        pl.when(status == "matched").then(first_key).alias("match_by"),
        pl.when(status == "matched").then(chosen).alias("matched_id"),
        pl.when(status == "new")
        .then(held_by)
        .otherwise(_reason(first, first_key, lists, keys, status))
        .alias("match_reason"),
    ).drop([f"_cand_{key}" for key in keys] + [f"_held_{key}" for key in keys if key in personal])


def match_rows(
    frame: pl.DataFrame, index: MatchIndex | BucketedIndex, status_aliases: Mapping[str, str]
) -> pl.DataFrame:
    """One partition of checked rows, matched: the check's outcome, then `match` against
    `index`; only a `valid` row keeps what the match found (an invalid or duplicate row is
    never sent, so it names no lead). A `BucketedIndex` is matched one key and one bucket at
    a time (`_bucketed_candidates`), then decided by the same rule.

    `status_aliases` turn the file's status words into the vendor's (Octanist has no "new":
    a new lead is "open"), so the diff compares like with like.
    """
    rows = build_report(frame.lazy()).with_columns(
        pl.col("status").replace(dict(status_aliases)) if status_aliases else pl.col("status")
    )
    if isinstance(index, BucketedIndex):
        checked = rows.collect(engine="in-memory")
        found = pl.concat([checked, _bucketed_candidates(checked, index)], how="horizontal")
        matched, personal = _resolve(found.lazy(), index.keys, index.personal), index.personal
    else:
        matched, personal = match(rows, index), tuple(index.by_email)
    return (
        matched.with_columns(
            pl.when(pl.col("outcome") == "valid").then(pl.col(c)).alias(c)
            for c in ("match_status", "match_by", "matched_id", "match_reason")
        )
        .pipe(_taken_in_file, personal)
        # In memory: the partition is, and polars 2.1's streaming engine panicked on some
        # partitions of these per-partition steps (a string view index out of bounds).
        .collect(engine="in-memory")
    )


def _lazy_index(snapshot: pl.LazyFrame, keys: Sequence[str]) -> MatchIndex:
    schema = snapshot.collect_schema()
    lookups = {}
    for key in keys:
        leads = key_leads(snapshot, key)
        if leads is not None:
            lookups[key] = key_lookups(leads, lookup_kinds(schema, key))
    return _index_of(tuple(keys), lookups)


def _index_of(
    keys: tuple[str, ...], lookups: Mapping[str, Mapping[str, pl.LazyFrame]]
) -> MatchIndex:
    """A `MatchIndex` of each key's lookups (`key_lookups`), by kind."""
    by_kind: dict[str, dict[str, pl.LazyFrame]] = {"value": {}, "email": {}, "name": {}}
    for key, kinds in lookups.items():
        for kind, frame in kinds.items():
            by_kind[kind][key] = frame
    return MatchIndex(keys, by_kind["value"], by_kind["email"], by_kind["name"])


def lookup_kinds(schema: pl.Schema, key: str) -> tuple[str, ...]:
    """The lookups `match` makes of a snapshot of `schema` for `key`: by value; for a personal
    key also by (value, email) when the leads have emails, and by (value, name) when they have
    first and last names. None when the snapshot has no column for `key`."""
    if ("id" if key == "target_id" else key) not in schema:
        return ()
    if key not in PERSONAL_KEYS or "email" not in schema:
        return ("value",)
    named = "first_name" in schema and "last_name" in schema
    return ("value", "email", "name") if named else ("value", "email")


def key_leads(snapshot: pl.LazyFrame, key: str) -> pl.LazyFrame | None:
    """The leads holding `key`, narrow (`_value`, `id`, `_email`, `_name`), sorted by id; None
    when the snapshot has no column for it. What `key_lookups` groups, whole or one bucket
    (`_bucket` by `_value`) at a time: every lead sharing a value is in its bucket.

        >>> snap = pl.LazyFrame({"id": ["L2", "L1"], "email": ["a@x.io", None]})
        >>> key_leads(snap, "email").collect()["id"].to_list()
        ['L2']
    """
    schema = snapshot.collect_schema()
    column = "id" if key == "target_id" else key
    if column not in schema:
        return None
    return (
        snapshot.filter(pl.col(column).is_not_null())
        .select(
            pl.col(column).cast(pl.String).alias("_value"),
            pl.col("id").cast(pl.String),
            (pl.col("email") if "email" in schema else pl.lit(None))
            .cast(pl.String)
            .alias("_email"),
            _full_name(schema).alias("_name"),
        )
        .sort("id")
    )


def key_lookups(leads: pl.LazyFrame, kinds: Sequence[str]) -> dict[str, pl.LazyFrame]:
    """One key's lookups of its `key_leads`, by kind: "value" (`_value` -> `_ids`, with
    `_holder` "<id> (<email>)" when there are personal kinds), "email" ((`_value`,
    `_email`) -> `_ids`, the lead's email null included), "name" ((`_value`, `_name`) ->
    `_ids`: the same person whose email changed)."""
    # Sorted by id first (`key_leads`): a group keeps its rows' order, so each list comes
    # sorted (sorting every group's list instead costs ~3x as much at 1M leads).
    if "email" not in kinds:
        return {"value": leads.group_by("_value").agg(pl.col("id").alias("_ids"))}
    holder = pl.format("{} ({})", pl.col("id"), pl.col("_email").fill_null("no email"))
    found = {
        "value": leads.group_by("_value").agg(
            pl.col("id").alias("_ids"), holder.first().alias("_holder")
        ),
        "email": leads.group_by("_value", "_email").agg(pl.col("id").alias("_ids")),
    }
    if "name" in kinds:
        found["name"] = (
            leads.filter(pl.col("_name").is_not_null())
            .group_by("_value", "_name")
            .agg(pl.col("id").alias("_ids"))
        )
    return found


def _bucketed_candidates(rows: pl.DataFrame, index: BucketedIndex) -> pl.DataFrame:
    """`_cand_<key>` (and `_held_<key>`) of each of `rows`, in their order: for each key, the
    rows of each bucket looked up in that bucket alone (`_candidates`, as `match` does over
    the whole index). Collected bucket by bucket on purpose: one bucket's lookups are in
    memory at a time, never the whole target's."""
    found = []
    for key in index.keys:
        if key not in rows.columns or key not in index.kinds or rows.is_empty():
            found.append(_candidates(rows.lazy(), index.bucket(key, 0), key).collect())
            continue
        # What `_candidates` reads of a row: the key, and a personal key's email and names.
        needed = [c for c in (key, "email", "first_name", "last_name") if c in rows.columns]
        keyed = (
            rows.select(list(dict.fromkeys(needed)))
            .with_row_index("_row")
            .with_columns(bucket_of(key, index.buckets))
        )
        pieces = [
            pl.concat(
                [
                    part.select("_row"),
                    _candidates(part.lazy(), index.bucket(key, b), key).collect(),
                ],
                how="horizontal",
            )
            for (b,), part in keyed.partition_by(BUCKET, as_dict=True).items()
        ]
        found.append(pl.concat(pieces).sort("_row").drop("_row"))
    return pl.concat(found, how="horizontal")


def _full_name(schema: pl.Schema) -> pl.Expr:
    """First and last name, lower case, null unless both are there."""
    if "first_name" not in schema or "last_name" not in schema:
        return pl.lit(None, pl.String)
    return pl.concat_str(
        [pl.col(c).cast(pl.String).str.to_lowercase() for c in ("first_name", "last_name")],
        separator="\x1f",
    )


def _candidates(source: pl.LazyFrame, index: MatchIndex, key: str) -> pl.LazyFrame:
    """`_cand_<key>`: ids of the snapshot leads sharing each row's `key` value (may be empty);
    for a personal key also `_held_<key>` (see `_personal_candidates`).

    A narrow lookup, stacked beside the frame by the caller: the key column alone is joined,
    never the whole source row.
    """
    by_value = index.by_value.get(key)
    schema = source.collect_schema()
    if by_value is None or key not in schema:
        # `with_columns` broadcasts the literal to every row (`select` would give one row).
        held = [pl.lit(None, pl.String).alias(f"_held_{key}")] if key in index.by_email else []
        return source.with_columns(_EMPTY.alias(f"_cand_{key}"), *held).select(
            f"_cand_{key}", *[f"_held_{key}" for _ in held]
        )
    if key in index.by_email:
        return _personal_candidates(
            source, by_value, index.by_email[key], index.by_name.get(key), key
        )
    return (
        source.select(pl.col(key).cast(pl.String).alias("_value"))
        .join(by_value, on="_value", how="left", maintain_order="left")
        .select(pl.col("_ids").fill_null(_EMPTY).alias(f"_cand_{key}"))
    )


def _personal_candidates(
    source: pl.LazyFrame,
    by_value: pl.LazyFrame,
    by_email: pl.LazyFrame,
    by_name: pl.LazyFrame | None,
    key: str,
) -> pl.LazyFrame:
    """`_cand_<key>` for a key that names one person: a row with no email finds every lead
    holding its value; a row with email e only those whose email is e or null, or whose first
    and last name are the row's (one person whose email changed). `_held_<key>`: when a row
    with an email finds none of the leads holding its value, who holds it.

    Two lookups by (value, email), the row's email and null, rather than a join of every row
    with every lead sharing its value: a switchboard held by thousands of leads would multiply.
    """
    schema = source.collect_schema()
    email = (pl.col("email") if "email" in schema else pl.lit(None)).cast(pl.String)
    keyed = source.select(
        pl.col(key).cast(pl.String).alias("_value"),
        email.alias("_email"),
        _full_name(schema).alias("_name"),
    )
    on = ["_value", "_email"]
    everyone = keyed.join(by_value, on="_value", how="left", maintain_order="left")
    same = keyed.join(by_email, on=on, how="left", maintain_order="left")
    bare = keyed.with_columns(pl.lit(None, pl.String).alias("_email")).join(
        by_email, on=on, how="left", maintain_order="left", nulls_equal=True
    )
    named = (
        keyed.join(by_name, on=["_value", "_name"], how="left", maintain_order="left")
        if by_name is not None
        else keyed.with_columns(pl.lit(None, pl.List(pl.String)).alias("_ids"))
    )
    found = pl.concat(
        [
            everyone.select(
                "_value", "_email", pl.col("_ids").fill_null(_EMPTY).alias("_all"), "_holder"
            ),
            same.select(pl.col("_ids").fill_null(_EMPTY).alias("_same")),
            bare.select(pl.col("_ids").fill_null(_EMPTY).alias("_bare")),
            named.select(pl.col("_ids").fill_null(_EMPTY).alias("_named")),
        ],
        how="horizontal",
    )
    personal = pl.concat_list("_same", "_bare", "_named").list.unique().list.sort()
    cand = pl.when(pl.col("_email").is_null()).then(pl.col("_all")).otherwise(personal)
    others = pl.col("_all").list.len() - 1
    held = pl.format("{} belongs to {}", pl.col("_value"), pl.col("_holder")) + pl.when(
        others > 0
    ).then(pl.format(" and {} other lead(s)", others)).otherwise(pl.lit(""))
    return found.select(
        cand.alias(f"_cand_{key}"),
        pl.when(cand.list.len() == 0)
        .then(pl.when(pl.col("_all").list.len() > 0).then(held))
        .alias(f"_held_{key}"),
    )


def _taken_in_file(rows: pl.LazyFrame, personal: Collection[str]) -> pl.LazyFrame:
    """New rows of this partition sharing a personal key (another person's: the file's rows
    sharing it and an email are one by `dedupe`): the first row takes it; the others'
    `match_reason` names that row, as a lead the vendor does not know yet would be named.
    Only the partition is seen: a row of another partition sharing the value is not."""
    for key in personal:
        if key not in rows.collect_schema():
            continue
        fresh = (pl.col("match_status") == "new") & pl.col("match_reason").is_null()
        group = pl.when(fresh).then(pl.col(key))
        first = pl.col("source_row").min().over(group)
        first_email = pl.col("email").sort_by("source_row").first().over(group)
        taken = pl.format(
            "{} belongs to the lead row {} creates ({})",
            pl.col(key),
            first,
            first_email.fill_null("no email"),
        )
        rows = rows.with_columns(
            pl.when(fresh & pl.col(key).is_not_null() & (pl.col("source_row") != first))
            .then(taken)
            .otherwise(pl.col("match_reason"))
            .alias("match_reason")
        )
    return rows


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
