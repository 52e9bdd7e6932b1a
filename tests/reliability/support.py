"""Helpers for the reliability suites: a seeded lead file, the target's leads read back through
the sandbox (a process of its own: tests/sandbox_process.py), and the journal read from outside.

The importer under test is always a separate `leadpipe import` process (it gets killed); the
sandbox is another one, so a kill never touches the target's state.
"""

from __future__ import annotations

import csv
import io
import os
import random
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import phonenumbers

from tests.sandbox_process import LEADPIPE

KEY = "sandbox-key"
HEADERS = {"x-api-key": KEY, "X-API-KEY": KEY}
TIMEOUT = 120.0  # the sandbox serves three importers at once on a busy machine
HEADER = "Email,First Name,Last Name,Phone,Status,Value,Note,Customer Profile"
VENDORS = ("omni", "apten", "octanist")
TERMINAL = ("succeeded", "failed", "ambiguous")

_FIRST = ("Ann", "Bob", "Cy", "Di", "Ed", "Flo", "Gus", "Hal", "Ivy", "Jo", "Kit", "Lou", "Max")
_LAST = ("Lee", "Ray", "Day", "Fox", "Kim", "Moe", "Ng", "Orr", "Poe", "Rix", "Sun", "Tam")
_AREAS = ("212", "646", "718", "917", "347", "415", "312", "617", "303", "206")
# Statuses each vendor can set; Apten has none (a status there would be a per-row skip).
_STATUSES = {
    "omni": ("", "", "", "completed"),
    "octanist": ("", "", "", "", "", "", "qualified", "won"),
}


@dataclass(frozen=True)
class Person:
    """One source record: a distinct person with a valid email and phone."""

    row: int  # source_row: the spreadsheet row (the header is row 1)
    first: str
    last: str
    email: str
    phone: str  # E.164
    status: str = ""
    value: str = ""
    note: str = ""

    def cells(self) -> tuple[str, ...]:
        return (
            self.email,
            self.first,
            self.last,
            self.phone,
            self.status,
            self.value,
            self.note,
            "Default",  # Apten's customer profile (the others ignore it)
        )


def people(n: int, vendor: str, seed: int) -> list[Person]:
    """`n` distinct people, seeded; statuses (and Octanist values) the vendor can set."""
    rng = random.Random(seed)
    phones: set[str] = set()
    found: list[Person] = []
    while len(found) < n:
        phone = f"+1{rng.choice(_AREAS)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
        if phone in phones or not phonenumbers.is_valid_number(phonenumbers.parse(phone)):
            continue
        phones.add(phone)
        i, first, last = len(found), rng.choice(_FIRST), rng.choice(_LAST)
        status = rng.choice(_STATUSES.get(vendor, ("",)))
        value = str(rng.randint(1, 40) * 50) if vendor == "octanist" and status else ""
        email = f"{first}.{last}.{i}@example.com".lower()
        found.append(Person(i + 2, first, last, email, phone, status, value, f"note {i}"))
    return found


def older(person: Person, vendor: str) -> Person:
    """What the target held before the import: one field the import then updates."""
    if vendor == "octanist":
        return replace(person, note=f"old {person.note}")
    if vendor == "apten":
        return replace(person, email=f"old.{person.email}")
    return replace(person, last="Oldname")


def write_csv(path: Path, persons: Sequence[Person]) -> Path:
    path.write_text(HEADER + "\n" + "".join(",".join(p.cells()) + "\n" for p in persons))
    return path


def write_messy_csv(path: Path, persons: Sequence[Person]) -> Path:
    """`persons`, then an invalid row and the third person again with another note (a
    duplicate; the last one wins)."""
    write_csv(path, persons)
    with path.open("a") as file:
        file.write("kim@,Kim,Moe,n/a,,,bad,Default\n")
        file.write(",".join((*persons[2].cells()[:6], "again", "Default")) + "\n")
    return path


def importer_env(home: Path, sandbox_url: str) -> dict[str, str]:
    """The environment of a `leadpipe import` process: its own home, the sandbox's URL."""
    return {
        **os.environ,
        "LEADPIPE_HOME": str(home),
        "LEADPIPE_SANDBOX_URL": sandbox_url,
        "PREFECT_HOME": str(home / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }


def import_command(source: Path, vendor: str, out: Path, resume: str | None = None) -> list[str]:
    command = [str(LEADPIPE), "import", str(source), "--target", f"sandbox:{vendor}"]
    command += ["--engine", "local", "--out", str(out), "--json"]
    return command + (["--resume", resume] if resume else [])


def leads_of(url: str, vendor: str) -> list[dict[str, Any]]:
    """Every live lead the sandbox holds for `vendor`, as {id, email, phone, first, last, ...}.

    Omni through the admin's analytics CSV (every live lead), the others through their own
    list endpoints (faults must be off).
    """
    if vendor == "omni":
        return _omni_leads(url)
    if vendor == "apten":
        return _apten_leads(url)
    return _octanist_leads(url)


def _get(url: str, params: dict[str, Any]) -> httpx.Response:
    return httpx.get(url, params=params, headers=HEADERS, timeout=TIMEOUT)


def _omni_leads(url: str) -> list[dict[str, Any]]:
    text = httpx.get(f"{url}/_sandbox/omni/analytics.csv", timeout=TIMEOUT).text
    return [
        {
            "id": r["leadId"],
            "email": r["email"],
            "phone": r["phoneNumber"],
            "first": r["firstName"],
            "last": r["lastName"],
            "completed": bool(r["completedAt"]),
        }
        for r in csv.DictReader(io.StringIO(text))
    ]


def _apten_leads(url: str) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"createdSince": "2000-01-01T00:00:00Z", "limit": 1000}
    found: list[dict[str, Any]] = []
    while True:
        body = _get(f"{url}/apten/v1/leads", params).raise_for_status().json()
        found += [
            {
                "id": r["id"],
                "email": r["email"],
                "phone": r["phone"],
                "first": r["firstName"],
                "last": r["lastName"],
                "profile": r["customerProfile"],
            }
            for r in body["leads"]
            if not r["deleted"]
        ]
        if not body.get("nextToken"):
            return found
        params["nextToken"] = body["nextToken"]


def _octanist_leads(url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for page in range(1, 10_000):
        params = {"limit": 100, "page": page, "sort": "createdAt:asc"}
        body = _get(f"{url}/octanist/api/leads", params).raise_for_status().json()
        found += [
            {
                "id": r["id"],
                "email": r["email"],
                "phone": r["phone"],
                "name": r["name"],
                "status": r["status"],
                "value": r["value"],
                "note": r["note"],
            }
            for r in body["data"]
        ]
        if not body["meta"]["pagination"]["hasMore"]:
            break
    return found


def expected(person: Person, vendor: str) -> dict[str, Any]:
    """The lead a person must have become, in the shape `leads_of` returns (without id)."""
    common = {"email": person.email, "phone": person.phone}
    if vendor == "omni":
        completed = person.status == "completed"
        return {**common, "first": person.first, "last": person.last, "completed": completed}
    if vendor == "apten":
        return {**common, "first": person.first, "last": person.last, "profile": "Default"}
    return {
        **common,
        "name": f"{person.first} {person.last}",
        "status": person.status or "open",
        "value": int(person.value) if person.value else None,
        "note": person.note,
    }


def present(url: str, vendor: str, persons: Sequence[Person]) -> set[int]:
    """The rows (of `persons`) the sandbox holds a lead for: a cheap lookup per person."""
    if not persons:
        return set()
    if vendor == "omni":
        emails = {lead["email"] for lead in _omni_leads(url)}
        return {p.row for p in persons if p.email in emails}
    held = set()
    for p in persons:
        if vendor == "apten":
            reply = _get(f"{url}/apten/v1/leads/lookup", {"phone": p.phone})
            if reply.status_code == 200:
                held.add(p.row)
        else:
            reply = _get(f"{url}/octanist/api/leads", {"search": p.email})
            if any(r["email"] == p.email for r in reply.raise_for_status().json()["data"]):
                held.add(p.row)
    return held


class JournalView:
    """The journal database, read from outside the process writing it (WAL: never blocks it)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None  # one reader, polled often

    def _query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        if self._db is None:
            if not self.path.exists():
                return []
            self._db = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.OperationalError:  # tables not created yet
            return []

    def close(self) -> None:
        if self._db is not None:
            self._db.close()

    def run_for(self, source: Path, since: str = "") -> str | None:
        """The newest run that imports `source` (started at or after `since`)."""
        rows = self._query(
            "SELECT run_id FROM runs WHERE source = ? AND created_at >= ? ORDER BY created_at DESC",
            str(source),
            since,
        )
        return str(rows[0][0]) if rows else None

    def runs_for(self, source: Path) -> int:
        return len(self._query("SELECT run_id FROM runs WHERE source = ?", str(source)))

    def done(self, run_id: str) -> int:
        """Operations of the run that have their result (succeeded, failed, ambiguous)."""
        sql = "SELECT count(*) FROM ops WHERE run_id = ? AND state IN (?, ?, ?)"
        rows = self._query(sql, run_id, *TERMINAL)
        return int(rows[0][0]) if rows else 0

    def in_flight(self, run_id: str, since: str) -> list[tuple[int, str, str | None]]:
        """(source_row, op, target_id) of the ops journaled `sent` since `since` (ISO UTC):
        their requests were cut off."""
        rows = self._query(
            "SELECT source_row, op, target_id FROM ops"
            " WHERE run_id = ? AND state = 'sent' AND updated_at >= ?",
            run_id,
            since,
        )
        return [(int(r), str(o), t) for r, o, t in rows]
