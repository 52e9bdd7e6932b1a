"""A target too large for memory (issue 19): its leads spilled to buckets under the state
folder match rows exactly as the in-memory target does, `diff` gets the matched leads, and
the buckets are built once per version of the stored snapshot."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from connectors import Snapshot, SnapshotStore
from flows._phonebook import PhoneBooks
from flows._spilled import matched_leads, spilled_index
from schemas.frames import TARGET_LEAD_SCHEMA
from tests.transforms.test_match_buckets import case, checked, target_leads
from transforms.match import match_index, match_rows
from transforms.normalise import normalise_target


def stored(leads: pl.DataFrame) -> pl.DataFrame:
    return leads.with_columns(pl.lit("2026-01-01").alias("updated_at")).select(
        [
            pl.col(c).cast(t)
            if c in leads.columns or c == "updated_at"
            else pl.lit(None, t).alias(c)
            for c, t in TARGET_LEAD_SCHEMA.items()
        ]
    )


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SnapshotStore:
    monkeypatch.setenv("LEADPIPE_TARGET_BUCKETS", "4")
    store = SnapshotStore(tmp_path, "sandbox:apten", "apten")
    store.save(Snapshot(stored(target_leads())))
    return store


def normal(store: SnapshotStore, home: Path) -> pl.DataFrame:
    """The target as the in-memory path sees it (flows._target._normal_target)."""
    with PhoneBooks(home, scratch=None).book() as book:
        return normalise_target(store.load().leads.lazy(), book).collect()


def test_spilled_target_matches_as_the_in_memory_one_and_fetches_the_matched_leads(
    store: SnapshotStore, tmp_path: Path
) -> None:
    index = spilled_index(store, tmp_path, chunk=700)  # 5 chunks of leads
    frame = case()[1]
    leads = normal(store, tmp_path)
    expected = match_rows(frame, match_index(leads.lazy()), {})
    got = match_rows(frame, index, {})
    assert_frame_equal(got.sort("source_row"), expected.sort("source_row"))

    ids = got["matched_id"]
    fetched = matched_leads(store, index, ids, live=False)
    wanted = leads.filter(pl.col("id").is_in(ids.drop_nulls().implode()))
    assert fetched.height == ids.drop_nulls().n_unique() == wanted.height > 500
    assert_frame_equal(fetched.drop("_live").sort("id"), wanted.sort("id"))
    assert fetched["_live"].to_list() == [False] * fetched.height
    assert store.load(ids_only=True).leads.columns == ["id"]
    assert store.stored_leads() == 3000


def test_buckets_are_reused_while_the_snapshot_is_unchanged_and_rebuilt_when_it_changes(
    store: SnapshotStore, tmp_path: Path
) -> None:
    spilled_index(store, tmp_path)
    manifest = store.folder / "buckets" / "manifest.json"
    first = manifest.stat().st_mtime_ns, manifest.read_text()
    spilled_index(store, tmp_path)
    assert (manifest.stat().st_mtime_ns, manifest.read_text()) == first

    # The target changed (a refresh stored it): the buckets are built again and find the lead.
    moved = stored(target_leads()).with_columns(
        pl.when(pl.col("id") == "L00001")
        .then(pl.lit("moved@x.io"))
        .otherwise(pl.col("email"))
        .alias("email")
    )
    store.save(Snapshot(moved))
    assert store.buckets.current(4) is None
    index = spilled_index(store, tmp_path)
    assert manifest.read_text() != first[1]
    out = match_rows(checked([{"email": "moved@x.io"}]), index, {})
    assert out.select("match_status", "match_by", "matched_id").row(0) == (
        "matched",
        "email",
        "L00001",
    )
    # Another bucket count is another set.
    assert store.buckets.current(8) is None
    assert not (store.folder / "buckets.partial").exists()
