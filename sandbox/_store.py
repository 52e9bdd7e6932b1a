"""SQLite state shared by the three vendor backends.

One ``leads`` table holds every vendor's leads: the vendor-shaped record as a JSON column,
plus the few columns the backends query by (timestamps for keyset paging, an email key and a
phone key for matching). A ``settings`` table holds small JSON documents (Apten customer
profiles, the Omni checklist template and tag names, Octanist org settings).

``db=None`` is a private in-memory database; a path is a file opened in WAL mode that
survives restarts. Every call takes the store's lock, so one store may be shared by the
threads of a server; ``transaction()`` groups calls atomically.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sandbox._types import JSON

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
TimeColumn = Literal["created_at", "updated_at"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS leads (
    vendor TEXT NOT NULL,
    id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    email_key TEXT,
    phone_key TEXT,
    data TEXT NOT NULL,
    PRIMARY KEY (vendor, id)
);
CREATE INDEX IF NOT EXISTS leads_created ON leads (vendor, created_at, id);
CREATE INDEX IF NOT EXISTS leads_updated ON leads (vendor, updated_at, id);
-- Key lookups come back oldest first: the order columns are in the index, or SQLite (no
-- statistics) walks leads_created instead and every lookup reads the vendor's whole table.
DROP INDEX IF EXISTS leads_email;
DROP INDEX IF EXISTS leads_phone;
CREATE INDEX IF NOT EXISTS leads_email_key ON leads (vendor, email_key, created_at, id);
CREATE INDEX IF NOT EXISTS leads_phone_key ON leads (vendor, phone_key, created_at, id);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class LeadRow:
    """A lead record with the columns the store indexes."""

    id: str
    created_at: str
    updated_at: str
    email_key: str | None
    phone_key: str | None
    data: JSON


class Store:
    """Leads and settings of one sandbox app."""

    def __init__(self, db: str | Path | None = None) -> None:
        target = ":memory:" if db is None else str(db)
        self._conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        self._depth = 0
        self._decoded: dict[str, dict[str, JSON]] = {}  # scan(): stored text -> its record
        if db is not None:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self._conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        logger.debug("sandbox store opened at %s", target)

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All calls inside commit together or not at all (nesting joins the outer one)."""
        with self._lock:
            if self._depth == 0:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if self._depth == 0:
                    self._conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if self._depth == 0:
                self._conn.execute("COMMIT")

    def clear(self) -> None:
        """Delete every lead and setting."""
        with self.transaction():
            self._conn.execute("DELETE FROM leads")
            self._conn.execute("DELETE FROM settings")

    def insert(self, vendor: str, row: LeadRow) -> None:
        """Add a lead; its id must be new for the vendor."""
        with self._lock:
            self._conn.execute(
                "INSERT INTO leads VALUES (?, ?, ?, ?, ?, ?, ?)",
                (vendor, row.id, *_columns(row)),
            )

    def replace(self, vendor: str, row: LeadRow) -> None:
        """Overwrite an existing lead."""
        with self._lock:
            self._conn.execute(
                "UPDATE leads SET created_at=?, updated_at=?, email_key=?, phone_key=?, data=?"
                " WHERE vendor=? AND id=?",
                (*_columns(row), vendor, row.id),
            )

    def get(self, vendor: str, lead_id: str) -> JSON | None:
        """The stored record, or None."""
        rows = self._select("WHERE vendor=? AND id=?", (vendor, lead_id))
        return rows[0] if rows else None

    def exists(self, vendor: str, lead_id: str) -> bool:
        """Whether the vendor has a lead with this id."""
        with self._lock:
            cursor = self._conn.execute(
                "SELECT 1 FROM leads WHERE vendor=? AND id=?", (vendor, lead_id)
            )
            return cursor.fetchone() is not None

    def by_email(self, vendor: str, key: str) -> list[JSON]:
        """Leads whose email key equals ``key``, oldest first."""
        return self._select("WHERE vendor=? AND email_key=? ORDER BY created_at, id", (vendor, key))

    def by_phone(self, vendor: str, key: str) -> list[JSON]:
        """Leads whose phone key equals ``key``, oldest first."""
        return self._select("WHERE vendor=? AND phone_key=? ORDER BY created_at, id", (vendor, key))

    def scan(self, vendor: str) -> list[JSON]:
        """Every lead of the vendor, oldest first: read-only records (do not change them).

        Analytics pages and searches scan the whole table on every request, so each stored
        version of a record is decoded once and shared until it changes.
        """
        with self._lock:
            cursor = self._conn.execute(
                "SELECT data FROM leads WHERE vendor=? ORDER BY created_at, id", (vendor,)
            )
            texts = [found[0] for found in cursor.fetchall()]
            known = self._decoded.get(vendor, {})
            current = {text: known.get(text) or json.loads(text) for text in texts}
            self._decoded[vendor] = current  # only the versions stored now
            return [current[text] for text in texts]

    def count(self, vendor: str) -> int:
        """How many leads the vendor holds."""
        with self._lock:
            cursor = self._conn.execute("SELECT COUNT(*) FROM leads WHERE vendor=?", (vendor,))
            return int(cursor.fetchone()[0])

    def page(self, vendor: str, column: TimeColumn, window: TimeWindow, limit: int) -> list[JSON]:
        """Up to ``limit`` leads ascending by (``column``, id) inside ``window``."""
        clauses, params = window.sql(column)
        where = " AND ".join(["vendor=?", *clauses])
        sql = f"WHERE {where} ORDER BY {column}, id LIMIT ?"
        return self._select(sql, (vendor, *params, limit))

    def get_setting(self, key: str) -> Any:
        """A stored setting, or None."""
        with self._lock:
            cursor = self._conn.execute("SELECT value FROM settings WHERE key=?", (key,))
            found = cursor.fetchone()
        return None if found is None else json.loads(found[0])

    def put_setting(self, key: str, value: Any) -> None:
        """Store (or overwrite) a setting."""
        with self._lock:
            self._conn.execute(
                "INSERT INTO settings VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, json.dumps(value)),
            )

    def time_page(
        self,
        vendor: str,
        column: str,
        lower: tuple[str, str] | None,
        descending: bool,
        limit: int,
        offset: int,
    ) -> tuple[list[JSON], int]:
        """One page ordered by a time column (ties on id) from its index, and the total count."""
        if column not in ("created_at", "updated_at") or (lower and lower[0] not in (">=", ">")):
            raise ValueError("time_page pages by created_at or updated_at with >= or >")
        where, args = "WHERE vendor=?", [vendor]
        if lower:
            where += f" AND {column} {lower[0]} ?"
            args.append(lower[1])
        direction = "DESC" if descending else "ASC"
        order = f"ORDER BY {column} {direction}, id {direction} LIMIT ? OFFSET ?"
        rows = self._select(f"{where} {order}", (*args, limit, offset))
        with self._lock:
            total = self._conn.execute(
                f"SELECT COUNT(*) FROM leads {where}", tuple(args)
            ).fetchone()[0]
        return rows, int(total)

    def _select(self, where: str, params: tuple[Any, ...]) -> list[JSON]:
        with self._lock:
            cursor = self._conn.execute(f"SELECT data FROM leads {where}", params)
            return [json.loads(found[0]) for found in cursor.fetchall()]


@dataclass(frozen=True)
class TimeWindow:
    """Bounds for keyset paging: ``since <= t``, ``t <= until``, ``(t, id) > after``.

    ``also_since`` adds a lower bound on another column (Apten's two filters together).
    """

    since: str | None = None
    until: str | None = None
    after: tuple[str, str] | None = None
    also_since: tuple[TimeColumn, str] | None = None

    def sql(self, column: TimeColumn) -> tuple[list[str], list[str]]:
        """WHERE clauses and their parameters for ``column``."""
        clauses: list[str] = []
        params: list[str] = []
        if self.since is not None:
            clauses.append(f"{column} >= ?")
            params.append(self.since)
        if self.until is not None:
            clauses.append(f"{column} <= ?")
            params.append(self.until)
        if self.after is not None:
            clauses.append(f"({column}, id) > (?, ?)")
            params.extend(self.after)
        if self.also_since is not None:
            clauses.append(f"{self.also_since[0]} >= ?")
            params.append(self.also_since[1])
        return clauses, params


def _columns(row: LeadRow) -> tuple[str, str, str | None, str | None, str]:
    return (row.created_at, row.updated_at, row.email_key, row.phone_key, json.dumps(row.data))
