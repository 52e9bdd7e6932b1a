"""The snapshot of a target's leads: Parquet under LEADPIPE_HOME/state/<profile>/, kept fresh.

`refresh` asks the client for what changed since the stored high-water mark (the newest
`updated_at` seen), merges it by id (the fresh copy wins), drops soft-deleted leads, and
stores the result atomically (write, then rename), so a kill never leaves half a snapshot.

Omni cannot list what changed (see connectors/omni.py): its snapshot is what leadpipe itself
wrote, updated from responses, and refreshed per id for the leads a plan touches
(`state_source = "written"`; the others are `"listed"`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl

from connectors._client import LeadClient, RemoteLead
from schemas.files import atomic_write
from schemas.frames import TARGET_LEAD_SCHEMA

__all__ = ["Snapshot", "SnapshotStore", "leads_frame", "merge_leads"]

logger = logging.getLogger(__name__)

_UNLISTED_VENDORS = frozenset({"omni"})
_CONCURRENCY = 16  # GETs in flight while refreshing by id (the sandbox profile's concurrency)


@dataclass(frozen=True)
class Snapshot:
    """A target's leads as last seen, with the facts the summary reports."""

    leads: pl.DataFrame
    high_water: str | None = None
    state_source: str = "listed"
    fetched: int = 0
    facts: dict[str, Any] = field(default_factory=dict)


def leads_frame(leads: Iterable[RemoteLead]) -> pl.DataFrame:
    """Remote leads (not deleted) as a frame of TARGET_LEAD_SCHEMA; fields a vendor lacks are
    null."""
    rows = [
        {"id": lead.id, "updated_at": lead.updated_at, **_fields(lead.fields)}
        for lead in leads
        if not lead.deleted
    ]
    return pl.DataFrame(rows, schema=TARGET_LEAD_SCHEMA, strict=False)


def _fields(fields: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in fields.items() if k in TARGET_LEAD_SCHEMA}
    if isinstance(kept.get("custom"), list):  # vendors store any JSON value: compare as text
        kept["custom"] = [
            {
                "key": str(e["key"]),
                "value": e["value"]
                if isinstance(e["value"], str) or e["value"] is None
                else json.dumps(e["value"]),
            }
            for e in kept["custom"]
        ]
    return kept


def merge_leads(
    old: pl.DataFrame, fresh: pl.DataFrame, deleted: Sequence[str] = ()
) -> pl.DataFrame:
    """`old` with `fresh` laid over it by id (fresh wins), without the `deleted` ids."""
    merged = pl.concat(
        [old.filter(~pl.col("id").is_in(fresh["id"].implode())), fresh], how="vertical_relaxed"
    )
    return merged.filter(~pl.col("id").is_in(list(deleted)))


class SnapshotStore:
    """The stored snapshot of one target profile."""

    def __init__(self, home: Path, profile: str, vendor: str) -> None:
        self.folder = home / "state" / re.sub(r"[^A-Za-z0-9_.-]+", "_", profile)
        self.state_source = "written" if vendor in _UNLISTED_VENDORS else "listed"

    def load(self) -> Snapshot:
        leads_path, meta_path = self.folder / "leads.parquet", self.folder / "state.json"
        if not leads_path.exists():
            return Snapshot(pl.DataFrame(schema=TARGET_LEAD_SCHEMA), state_source=self.state_source)
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        return Snapshot(pl.read_parquet(leads_path), meta.get("high_water"), self.state_source)

    def save(self, snapshot: Snapshot) -> None:
        """Leads, then the high-water mark, each atomically. The order matters for a kill in
        between: new leads with an old mark only re-read a little; the reverse would lose leads.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write(self.folder / "leads.parquet", snapshot.leads.write_parquet)
        meta = {
            "high_water": snapshot.high_water,
            "state_source": snapshot.state_source,
            "leads": snapshot.leads.height,
        }
        atomic_write(self.folder / "state.json", lambda p: p.write_text(json.dumps(meta, indent=2)))

    async def refresh(self, client: LeadClient) -> Snapshot:
        """Fetch what changed since the high-water mark, merge, store, and return it."""
        stored = self.load()
        if self.state_source == "written":
            return stored
        fresh: list[RemoteLead] = [
            lead async for lead in client.iter_leads(since=stored.high_water)
        ]
        if not fresh and (self.folder / "leads.parquet").exists():
            # Nothing changed: no merge, and no rewrite of a million stored leads.
            return replace(stored, state_source="listed", fetched=0)
        deleted = [lead.id for lead in fresh if lead.deleted]
        leads = merge_leads(stored.leads, leads_frame(fresh), deleted)
        stamps = [lead.updated_at for lead in fresh if lead.updated_at]
        high_water = max(
            [*stamps, *([stored.high_water] if stored.high_water else [])], default=None
        )
        snapshot = Snapshot(leads, high_water, "listed", fetched=len(fresh))
        self.save(snapshot)
        return snapshot

    async def refresh_ids(
        self, client: LeadClient, ids: Sequence[str], *, concurrency: int = _CONCURRENCY
    ) -> Snapshot:
        """GET each of `ids` and store what came back; a lead that is gone leaves the snapshot.

        How a `written` snapshot (Omni) sees outside edits to the leads a plan touches. A lead
        that still fails after every retry keeps its stored copy (what leadpipe last wrote):
        one flaky read among thousands must not stop the import; a rejected key still does.
        At most `concurrency` GETs wait on the connection pool at once: thousands queued there
        cost httpcore quadratic time and run into the per-attempt timeout.
        """
        from connectors.exceptions import LeadNotFound, TransientVendorError

        gate = asyncio.Semaphore(concurrency)

        async def one(lead_id: str) -> RemoteLead | str | None:
            async with gate:
                try:
                    return await client.get(lead_id)
                except LeadNotFound:
                    return lead_id
                except TransientVendorError as exc:
                    logger.warning("kept the stored copy of a lead: %s", exc.vendor_message)
                    return None

        found = await asyncio.gather(*(one(i) for i in ids))
        gone = [f for f in found if isinstance(f, str)]
        stored = self.load()
        fresh = leads_frame(f for f in found if isinstance(f, RemoteLead))
        snapshot = replace(stored, leads=merge_leads(stored.leads, fresh, gone), fetched=len(found))
        self.save(snapshot)
        return snapshot

    def remember(self, written: pl.DataFrame, echoed: Sequence[RemoteLead]) -> Snapshot:
        """Keep what a push wrote (a `written` snapshot: Omni), so an immediate re-run plans
        nothing.

        `written` holds the rows whose lead exists after the push (`target_id` and the canonical
        columns; the caller picks them). The remembered lead is what the row sent, with the
        values the vendor answered (`echoed`, the leads its writes returned) laid over it: its
        normal forms win, and Omni's answers omit the status.
        """
        answers = {lead.id: lead for lead in echoed}
        leads = []
        for row in written.iter_rows(named=True):
            answer = answers.get(row["target_id"])
            answered = {k: v for k, v in (answer.fields if answer else {}).items() if v is not None}
            sent = {k: v for k, v in row.items() if k in TARGET_LEAD_SCHEMA}
            leads.append(
                RemoteLead(
                    row["target_id"], {**sent, **answered}, answer.updated_at if answer else None
                )
            )
        return self.record_writes(leads)

    def record_writes(self, written: Iterable[RemoteLead]) -> Snapshot:
        """Lay leads returned by writes (or fetched per id) over the stored snapshot."""
        stored = self.load()
        leads = list(written)
        snapshot = Snapshot(
            merge_leads(stored.leads, leads_frame(leads)), stored.high_water, stored.state_source
        )
        self.save(snapshot)
        return snapshot
