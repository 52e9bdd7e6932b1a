"""The snapshot store: incremental refresh, merge by id, soft deletes, atomic files."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import polars as pl

from connectors import RemoteLead, SnapshotStore
from connectors._snapshot import leads_frame, merge_leads
from schemas.frames import TARGET_LEAD_SCHEMA


class ListingClient:
    """A client whose `iter_leads` returns scripted pages and records `since`."""

    def __init__(self, vendor: str, *batches: list[RemoteLead]) -> None:
        self.vendor = vendor
        self.batches = list(batches)
        self.since: list[str | None] = []

    async def iter_leads(self, since: str | None = None) -> AsyncIterator[RemoteLead]:
        self.since.append(since)
        for lead in self.batches.pop(0):
            yield lead


def _lead(i: str, ts: str, deleted: bool = False, **fields: Any) -> RemoteLead:
    return RemoteLead(id=i, fields={"email": f"{i}@x.io", **fields}, updated_at=ts, deleted=deleted)


def test_refresh_is_incremental_merges_by_id_and_drops_deleted(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, "sandbox:apten", "apten")
    client = ListingClient(
        "apten",
        [_lead("a", "2026-01-01T00:00:00Z"), _lead("b", "2026-01-02T00:00:00Z")],
        [
            _lead("b", "2026-01-03T00:00:00Z", email="new@x.io"),
            _lead("a", "2026-01-03T00:00:00Z", deleted=True),
        ],
    )
    first = asyncio.run(store.refresh(client))  # type: ignore[arg-type]
    assert (
        sorted(first.leads["id"].to_list()) == ["a", "b"]
        and first.high_water == "2026-01-02T00:00:00Z"
    )
    second = asyncio.run(store.refresh(client))  # type: ignore[arg-type]
    assert client.since == [None, "2026-01-02T00:00:00Z"]
    assert second.leads.select("id", "email").rows() == [("b", "new@x.io")]
    assert SnapshotStore(tmp_path, "sandbox:apten", "apten").load().leads.equals(second.leads)
    assert not list(store.folder.glob(".*partial"))


def test_omni_snapshot_is_what_leadpipe_wrote(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, "sandbox:omni", "omni")
    snapshot = asyncio.run(store.refresh(ListingClient("omni")))  # type: ignore[arg-type]
    assert snapshot.state_source == "written" and snapshot.leads.height == 0
    store.record_writes([_lead("o1", "t1", tags=["VIP"]), _lead("o2", "t1")])
    store.record_writes([_lead("o1", "t2", tags=["vip", "hot"])])
    leads = store.load().leads.sort("id")
    assert leads.select("id", "tags").rows() == [("o1", ["vip", "hot"]), ("o2", None)]


def test_frames_take_any_custom_values_as_text() -> None:
    frame = leads_frame(
        [_lead("a", "t", custom=[{"key": "n", "value": 5}, {"key": "s", "value": "x"}])]
    )
    assert frame["custom"].to_list() == [[{"key": "n", "value": "5"}, {"key": "s", "value": "x"}]]
    assert merge_leads(frame, frame.clear()).height == 1


def test_remember_keeps_what_was_written_with_the_vendors_answer_laid_over_it(
    tmp_path: Path,
) -> None:
    store = SnapshotStore(tmp_path, "sandbox:omni", "omni")
    store.record_writes([_lead("o0", "t0", first_name="Old")])
    written = pl.DataFrame(
        {
            "target_id": ["o1", "o2"],
            "source_row": [2, 3],  # not a lead field: not kept
            "outcome": ["created", "updated"],
            "first_name": ["Ann", "Bo"],
            "email": ["ANN@x.io", "bo@x.io"],
            "status": ["completed", None],
            "tags": [["VIP"], None],
        }
    )
    echoed = [
        # Omni's answer: its normal forms, and no status (None: the row's stays)
        RemoteLead("o1", {"email": "ann@x.io", "tags": ["vip"], "status": None}, "t1"),
        RemoteLead("elsewhere", {"email": "x@x.io"}, "t1"),
    ]
    snapshot = store.remember(written, echoed)
    assert snapshot.state_source == "written"
    leads = snapshot.leads.sort("id")
    assert leads.schema == pl.Schema(TARGET_LEAD_SCHEMA)
    assert leads.select("id", "updated_at", "first_name", "email", "status", "tags").rows() == [
        ("o0", "t0", "Old", "o0@x.io", None, None),
        ("o1", "t1", "Ann", "ann@x.io", "completed", ["vip"]),
        ("o2", None, "Bo", "bo@x.io", None, None),
    ]
    assert store.load().leads.sort("id").equals(leads)
    assert not list(store.folder.glob(".*partial"))


def test_no_leads_is_an_empty_frame_of_the_target_lead_schema() -> None:
    assert leads_frame([]).schema == pl.Schema(TARGET_LEAD_SCHEMA)
