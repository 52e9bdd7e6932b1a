"""A target too large for memory (issue 19): its leads spilled to Parquet buckets under its
state folder (connectors/_spill.py), matched bucket by bucket, and only the leads the rows
matched fetched back for `diff`.

Above `LEADPIPE_TARGET_PARTITION_LEADS` stored leads (default `PARTITION_LEADS`), a plan
loads the snapshot's ids alone (`Snapshot.ids_only`). Once per version of the stored leads,
they are read in chunks, normalised as `_normal_target` does, and written in
`LEADPIPE_TARGET_BUCKETS` buckets (default `BUCKETS`) by a hash of each match key's value
(the key's lookups, `transforms.match.key_lookups`, one file per bucket), and in as many by a
hash of the lead id (the normalised leads). A source partition is then matched one key and one
bucket at a time (`transforms.match.BucketedIndex`: the same rule as in memory), and `diff`
gets the matched leads, read bucket by bucket by id. The peak is one bucket, not the target.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from connectors import SnapshotStore, SpillLayout
from flows._phonebook import PhoneBooks
from transforms.buckets import split, with_ids
from transforms.match import (
    DEFAULT_MATCH_KEYS,
    BucketedIndex,
    key_leads,
    key_lookups,
    lookup_kinds,
)
from transforms.normalise import normalise_target
from transforms.snapshot import mark_live

__all__ = [
    "BUCKETS",
    "PARTITION_LEADS",
    "matched_leads",
    "partition_leads",
    "spill_version",
    "spilled_index",
]

# Above this many stored leads the target is matched from buckets: ~0.5 GB per million leads
# in memory, so a 1M-lead target stays in memory (faster) and a 10M-lead one does not.
PARTITION_LEADS = 2_000_000
BUCKETS = 32  # ~300k leads a bucket at 10M: one bucket's lookups are tens of MB
CHUNK_LEADS = 250_000  # leads normalised at a time while spilling: ~0.9 GB peak (1M: 2.8 GB)
_NARROW = {"_value": pl.String(), "id": pl.String(), "_email": pl.String(), "_name": pl.String()}


def partition_leads() -> int:
    """The threshold: `LEADPIPE_TARGET_PARTITION_LEADS`, else `PARTITION_LEADS`."""
    return _env_int("LEADPIPE_TARGET_PARTITION_LEADS", PARTITION_LEADS)


def _buckets() -> int:
    return max(_env_int("LEADPIPE_TARGET_BUCKETS", BUCKETS), 1)


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip().replace("_", "")
    return int(value) if value.isdigit() else default


def spill_version(store: SnapshotStore) -> str:
    """The version of the stored leads the buckets are (or would be) of: it changes with
    every write of the snapshot."""
    return store.buckets.version(_buckets())


def spilled_index(
    store: SnapshotStore,
    home: Path,
    keys: Sequence[str] = DEFAULT_MATCH_KEYS,
    *,
    chunk: int = CHUNK_LEADS,
) -> BucketedIndex:
    """The stored target's match lookups in buckets: the stored set when it is of the
    snapshot as it is, else built now (`_spill`)."""
    buckets = _buckets()
    layout = store.buckets.current(buckets) or _spill(store, home, keys, buckets, chunk)
    spilled = store.buckets

    def lookup(key: str, kind: str, bucket: int) -> pl.LazyFrame:
        return spilled.scan(f"{key}-{kind}-{bucket}")

    return BucketedIndex(tuple(keys), layout.buckets, layout.kinds, lookup)


def _spill(
    store: SnapshotStore, home: Path, keys: Sequence[str], buckets: int, chunk: int
) -> SpillLayout:
    """Read the stored leads `chunk` at a time, normalise them, and write them in buckets: the
    leads by id, and each key's narrow rows by value; then each bucket's lookups."""
    spill = store.buckets
    spill.start()
    kinds: dict[str, tuple[str, ...]] = {}
    count, schema = 0, pl.Schema()
    books = PhoneBooks(home, scratch=None)
    with books.book() as book:
        for piece, leads in enumerate(store.leads_chunks(chunk)):
            normal = normalise_target(leads.lazy(), book).collect()
            count, schema = count + normal.height, normal.schema
            for bucket, part in split(normal, "id", buckets).items():
                spill.write_piece(f"leads-{bucket}", piece, part)
            for key in keys:
                narrow = key_leads(normal.lazy(), key)
                if narrow is None:
                    continue
                kinds[key] = lookup_kinds(normal.schema, key)
                for bucket, part in split(narrow.collect(), "_value", buckets).items():
                    spill.write_piece(f"{key}-{bucket}", piece, part)
    books.save()
    for bucket in range(buckets):
        spill.write(f"leads-{bucket}", spill.scan_pieces(f"leads-{bucket}", schema).collect())
        for key, kind in kinds.items():
            # Pieces come sorted by id chunk by chunk: sorted again, as one set (key_lookups).
            narrow = spill.scan_pieces(f"{key}-{bucket}", _NARROW).sort("id")
            for name, lookup in key_lookups(narrow, kind).items():
                spill.write(f"{key}-{name}-{bucket}", lookup.collect())
    layout = SpillLayout(buckets, kinds, count)
    spill.commit(buckets, layout)
    return layout


def matched_leads(
    store: SnapshotStore, index: BucketedIndex, ids: pl.Series, live: bool | pl.Series
) -> pl.DataFrame:
    """The spilled leads of `ids` (the leads the rows matched), in the file's normal form and
    `_live` as `mark_live` says: read one id bucket at a time."""
    wanted = pl.DataFrame({"id": ids.drop_nulls().unique().cast(pl.String)})
    found = [
        with_ids(store.buckets.scan(f"leads-{bucket}"), part["id"]).collect()
        for bucket, part in split(wanted, "id", index.buckets).items()
    ]
    if not found:
        found = [store.buckets.scan("leads-0").clear().collect()]
    return mark_live(pl.concat(found, how="vertical"), live)
