"""The snapshot of a target's leads: Parquet under LEADPIPE_HOME/state/<profile>/, kept fresh.

`refresh` asks the client for what changed since the stored high-water mark (the newest
`updated_at` seen), merges it by id (the fresh copy wins), drops soft-deleted leads, and
stores the result atomically (write, then rename), so a kill never leaves half a snapshot.

Omni cannot list what changed (see connectors/omni.py): its snapshot is what leadpipe itself
wrote, updated from responses, refreshed per id for the leads a plan writes to
(`state_source = "written"`; the others are `"listed"`), and filled from Omni's analytics feed
(`read_feed`: id, names, email, phone of every lead, 500 per page) when it is empty, when a
plan would create leads (the feed since the newest creation it has seen), or on request.

A target too large for memory is loaded `ids_only` (the leads' ids; the rest stays in
`leads.parquet`) and read through its bucketed copy (`buckets`, connectors/_spill.py).

Beside the leads, `base.parquet` keeps each lead's base for the three-way diff: what the file
said when leadpipe last synced the lead (`record_base`, field by field).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl

from connectors._client import LeadClient, RemoteLead
from connectors._spill import LeadBuckets
from schemas.files import atomic_write
from schemas.frames import TARGET_LEAD_SCHEMA

__all__ = ["BASE_SCHEMA", "Snapshot", "SnapshotStore", "leads_frame", "merge_leads"]

logger = logging.getLogger(__name__)

_UNLISTED_VENDORS = frozenset({"omni"})
# A lead's base: its id and the canonical fields as the file said them when last synced.
BASE_SCHEMA: dict[str, pl.DataType] = {
    k: v for k, v in TARGET_LEAD_SCHEMA.items() if k != "updated_at"
}
_KEYS = ("external_id", "email", "phone", "first_name", "last_name")
_IDS_SCHEMA = {"id": pl.String()}
_CONCURRENCY = 16  # GETs in flight while refreshing by id (the sandbox profile's concurrency)


@dataclass(frozen=True)
class Snapshot:
    """A target's leads as last seen, with the facts the summary reports."""

    leads: pl.DataFrame
    high_water: str | None = None
    state_source: str = "listed"
    fetched: int = 0
    facts: dict[str, Any] = field(default_factory=dict)
    base: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=BASE_SCHEMA))
    feed_mark: str | None = None  # Omni: the newest `createdAt` its feed has shown us
    # `leads` holds the ids alone: the target is too large for memory, and the rest of each
    # lead stays in the store (`SnapshotStore.leads_chunks`, `SnapshotStore.buckets`).
    ids_only: bool = False


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


def merge_fields(old: pl.DataFrame, fresh: pl.DataFrame) -> pl.DataFrame:
    """`old` with `fresh` laid over it field by field: a null in `fresh` keeps the old value."""
    fresh = fresh.unique("id", keep="last", maintain_order=True)
    names = [c for c in fresh.columns if c != "id"]
    overlaid = fresh.join(old, on="id", how="left", suffix="_old").select(
        "id",
        *[
            pl.coalesce(c, f"{c}_old").alias(c)
            if f"{c}_old" in old.columns or c in old.columns
            else pl.col(c)
            for c in names
        ],
        *[c for c in old.columns if c != "id" and c not in names],
    )
    kept = old.filter(~pl.col("id").is_in(fresh["id"].implode()))
    return pl.concat([kept, overlaid.select(old.columns)], how="vertical_relaxed")


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

    def __init__(self, home: Path, profile: str, vendor: str, base_url: str | None = None) -> None:
        """`base_url`: the target's address; each address has its own snapshot and bases, so a
        profile pointed elsewhere (staging to production) never trusts the other's leads."""
        self.folder = home / "state" / _segment(profile)
        if base_url:
            self.folder = self.folder / _target_key(base_url)
        self.state_source = "written" if vendor in _UNLISTED_VENDORS else "listed"
        self.damaged: list[str] = []  # stored files that could not be read (and were ignored)

    @property
    def empty(self) -> bool:
        """Nothing stored yet (a new target, or a lost LEADPIPE_HOME)."""
        return not (self.folder / "leads.parquet").exists()

    @property
    def buckets(self) -> LeadBuckets:
        """The bucketed copy of the stored leads (made and read by a plan of a large target)."""
        return LeadBuckets(self.folder)

    def stored_leads(self) -> int:
        """How many leads the stored snapshot holds, from its state file (0: none, or unknown)."""
        meta = self._read(self.folder / "state.json", lambda p: json.loads(p.read_text()), {})
        count = meta.get("leads") if isinstance(meta, dict) else None
        return count if isinstance(count, int) and not self.empty else 0

    def leads_chunks(self, rows: int) -> Iterator[pl.DataFrame]:
        """The stored leads, `rows` at a time (a target too large to read at once)."""
        path = self.folder / "leads.parquet"
        total = pl.scan_parquet(path).select(pl.len()).collect().item()
        for offset in range(0, total, rows):
            yield pl.scan_parquet(path).slice(offset, rows).collect()

    def load(self, *, ids_only: bool = False) -> Snapshot:
        """The stored snapshot (`ids_only`: its leads' ids alone, see `Snapshot.ids_only`). A
        file that cannot be read (a disk filled mid-write by another tool, a hand edit) is
        ignored with a warning: the snapshot is then empty, so the next plan reads the whole
        target again rather than trust a part of it."""
        leads_path, meta_path = self.folder / "leads.parquet", self.folder / "state.json"
        base = self.load_base()
        meta = self._read(meta_path, lambda p: json.loads(p.read_text()), {})
        leads = self._read(leads_path, _ids_reader if ids_only else pl.read_parquet, None)
        whole = _IDS_SCHEMA if ids_only else TARGET_LEAD_SCHEMA
        if not isinstance(meta, dict) or leads is None or leads.schema != whole:
            if leads is not None:
                self._damaged(leads_path, "not a snapshot of this leadpipe")
            return Snapshot(
                pl.DataFrame(schema=TARGET_LEAD_SCHEMA), state_source=self.state_source, base=base
            )
        return Snapshot(
            leads,
            meta.get("high_water"),
            self.state_source,
            base=base,
            feed_mark=meta.get("feed_mark"),
            ids_only=ids_only,
        )

    def load_base(self) -> pl.DataFrame:
        path = self.folder / "base.parquet"
        base = self._read(path, pl.read_parquet, None)
        if not isinstance(base, pl.DataFrame) or base.schema != BASE_SCHEMA:
            if base is not None:
                self._damaged(path, "not a base of this leadpipe")
            return pl.DataFrame(schema=BASE_SCHEMA)
        return base

    def _read(self, path: Path, read: Any, missing: Any) -> Any:
        if not path.exists():
            return missing
        try:
            return read(path)
        except (OSError, ValueError, pl.exceptions.PolarsError) as exc:
            self._damaged(path, type(exc).__name__)
            return missing

    def _damaged(self, path: Path, why: str) -> None:
        self.damaged.append(path.name)
        logger.warning(
            "ignored %s (%s): the target will be read again instead of trusting it", path, why
        )

    def record_base(self, synced: pl.DataFrame) -> None:
        """Lay the bases of leads just synced (`id` and fields; a null keeps the stored value)
        over the stored ones."""
        if synced.is_empty():
            return
        fresh = synced.select("id", *[c for c in synced.columns if c in BASE_SCHEMA and c != "id"])
        fresh = fresh.cast({c: BASE_SCHEMA[c] for c in fresh.columns}, strict=False)
        base = merge_fields(self.load_base(), fresh)
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write(self.folder / "base.parquet", base.write_parquet)

    def save(self, snapshot: Snapshot) -> None:
        """Leads, then the high-water mark, each atomically. The order matters for a kill in
        between: new leads with an old mark only re-read a little; the reverse would lose leads.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write(self.folder / "leads.parquet", snapshot.leads.write_parquet)
        meta = {
            "high_water": snapshot.high_water,
            "feed_mark": snapshot.feed_mark,
            "state_source": snapshot.state_source,
            "leads": snapshot.leads.height,
        }
        atomic_write(self.folder / "state.json", lambda p: p.write_text(json.dumps(meta, indent=2)))

    async def refresh(
        self, client: LeadClient, *, full: bool = False, ids_only: bool = False
    ) -> Snapshot:
        """Fetch what changed since the high-water mark (everything when `full`: leads the
        listing no longer has are gone), merge, store, and return it (`ids_only`: its ids
        alone, as `load`; a merge still reads every stored lead). A `written` snapshot (Omni)
        reads its feed instead (`read_feed`)."""
        stored = self.load(ids_only=ids_only)
        if self.state_source == "written":
            return await self.read_feed(client, full=full)
        since = None if full else stored.high_water
        fresh: list[RemoteLead] = [lead async for lead in client.iter_leads(since=since)]
        if not fresh and not full and not self.empty:
            # Nothing changed: no merge, and no rewrite of a million stored leads.
            return replace(stored, state_source="listed", fetched=0)
        if ids_only:
            stored = self.load()
        deleted = [lead.id for lead in fresh if lead.deleted]
        old = stored.leads.clear() if full else stored.leads
        leads = merge_leads(old, leads_frame(fresh), deleted)
        stamps = [lead.updated_at for lead in fresh if lead.updated_at]
        marks = [] if full or not stored.high_water else [stored.high_water]
        high_water = max([*stamps, *marks], default=None)
        snapshot = replace(stored, leads=leads, high_water=high_water, fetched=len(fresh))
        self.save(snapshot)
        return replace(snapshot, leads=leads.select("id"), ids_only=True) if ids_only else snapshot

    async def read_feed(self, client: LeadClient, *, full: bool = False) -> Snapshot:
        """Omni: the leads its analytics feed lists (all when `full` or never read, else those
        created since the newest it showed before) join the snapshot. A lead the snapshot has
        keeps its stored copy; a new one comes with the feed's fields (id, names, email, phone,
        opted out): enough to match it, and a plan that writes to it reads it first."""
        stored = self.load()
        since = None if full or stored.feed_mark is None else stored.feed_mark
        feed = getattr(client, "iter_feed", None)
        if feed is None:
            return stored
        fresh = [lead async for lead in feed(since=since)]
        kept = stored.leads
        if since is None:  # the whole feed: a lead it does not list is gone (or a test lead)
            kept = kept.filter(pl.col("id").is_in([lead.id for lead in fresh]))
        known = set(kept["id"].to_list())
        new = leads_frame(lead for lead in fresh if lead.id not in known)
        stamps = [str(lead.raw.get("createdAt")) for lead in fresh if lead.raw.get("createdAt")]
        mark = max([*stamps, *([stored.feed_mark] if stored.feed_mark else [])], default=None)
        snapshot = replace(
            stored,
            leads=pl.concat([kept, new], how="vertical_relaxed"),
            fetched=len(fresh),
            feed_mark=mark or _now(),
        )
        self.save(snapshot)
        return snapshot

    async def lost(self, client: LeadClient, stored: pl.DataFrame, sample: int = 3) -> bool:
        """Whether the target no longer has some of the `stored` leads (the snapshot the caller
        loaded; a wiped or replaced target, another account behind the same address): a GET of
        a few of them, the oldest, the middle one and the newest. One that is gone means the
        whole target is read again."""
        from connectors.exceptions import LeadNotFound

        ids = stored["id"]
        picks = sorted({0, ids.len() // 2, ids.len() - 1})[:sample] if ids.len() else []
        for at in picks:
            try:
                await client.get(str(ids[at]))
            except LeadNotFound:
                logger.warning("the target no longer has lead %s: reading all of it again", ids[at])
                return True
        return False

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
        snapshot = replace(
            stored,
            leads=merge_leads(stored.leads, fresh, gone),
            fetched=len(found),
            facts={**stored.facts, "gone": len(gone)},
        )
        self.save(snapshot)
        return snapshot

    def remember(self, written: pl.DataFrame, echoed: Sequence[RemoteLead]) -> Snapshot:
        """Keep what a push wrote, so a re-run matches it without reading the target (a listed
        target's next listing reads it back all the same).

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
            # An update wrote its changed fields only; the others stay as stored. A create whose
            # follow-up failed is known by its keys only: what else it holds is read next time.
            outcome = row.get("outcome")
            wrote = (
                row.get("changed_fields")
                if outcome == "updated"
                else None
                if outcome == "created"
                else _KEYS
            )
            sent = {
                k: v
                for k, v in row.items()
                if k in TARGET_LEAD_SCHEMA and (wrote is None or k in wrote)
            }
            leads.append(
                RemoteLead(
                    row["target_id"], {**sent, **answered}, answer.updated_at if answer else None
                )
            )
        return self.record_writes(leads)

    def record_writes(self, written: Iterable[RemoteLead]) -> Snapshot:
        """Lay what writes sent or returned over the stored snapshot, field by field."""
        stored = self.load()
        snapshot = replace(stored, leads=merge_fields(stored.leads, leads_frame(list(written))))
        self.save(snapshot)
        return snapshot


def _ids_reader(path: Path) -> pl.DataFrame:
    """The stored leads' ids alone (only `id` is read), or, when the file is not a snapshot
    of this leadpipe, an empty frame of its schema (which `load` then refuses)."""
    schema = pl.read_parquet_schema(path)
    if schema != TARGET_LEAD_SCHEMA:
        return pl.DataFrame(schema=schema)
    return pl.read_parquet(path, columns=["id"])


def _segment(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _target_key(base_url: str) -> str:
    """A folder name per target address: its host, readable, and a hash of the whole URL."""
    from hashlib import sha256
    from urllib.parse import urlsplit

    host = urlsplit(base_url).hostname or "target"
    digest = sha256(base_url.rstrip("/").encode()).hexdigest()[:8]
    return f"{_segment(host)}-{digest}"


def _now() -> str:
    """The feed's mark when it showed no lead: leads created from now on are the new ones."""
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
