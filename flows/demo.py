"""`leadpipe demo`: the whole story on a bundled messy export, in the embedded sandbox.

1. The Octanist sandbox starts with a few leads of its own: two sharing an email that is also
   in the file (a conflict leadpipe will not guess), and one the file does not have.
2. Import `data/samples/demo_leads.csv` (~2,000 HubSpot rows with bad phones, bad emails,
   duplicates, statuses Octanist cannot set).
3. Edit a few rows, as an analyst would, and import again: only those go out, as minimal updates.
4. Reconcile the original export with the target: the edits show as status differences
   (where the export left the status blank, a blank is no difference).

Nothing is started outside this process; everything lives under the demo's directory.
"""

from __future__ import annotations

import asyncio
import csv
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl

from connectors import open_client
from flows._targets import resolve_target
from flows.options import Engine, Flags, Job, options_from
from flows.reconcile import run_reconcile
from flows.sync import run_sync
from schemas.summary import RunSummary

__all__ = ["DEMO_SOURCE", "run_demo"]

DEMO_SOURCE = Path(__file__).resolve().parent.parent / "data" / "samples" / "demo_leads.csv"
TARGET = "sandbox:octanist"
# What an analyst changes between two imports: the status of five leads the first one created.
EDITS = ("qualified", "qualified", "won", "won", "qualified")
Show = Callable[[str, RunSummary], None]


def run_demo(out: Path, engine: Engine, show: Show) -> dict[str, RunSummary]:
    """Run the demo's steps into `out` (emptied first); `show` gets each step's summary."""
    shutil.rmtree(out, ignore_errors=True)
    home = out / "home"
    header, rows = _read(DEMO_SOURCE)
    asyncio.run(_seed_target(home, rows))
    edited = out / "demo_leads_edited.csv"

    def options(source: Path, step: str, dry_run: bool = False) -> Any:
        job: Job = "plan" if dry_run else "import"
        made, _ = options_from(job, Flags(source=source, target=TARGET), {}, run_id=step)
        return replace(made, home=home, out_dir=out / step)

    steps: dict[str, RunSummary] = {}
    steps["1-import"] = run_sync(options(DEMO_SOURCE, "1-import"), engine)
    show(f"leadpipe import {DEMO_SOURCE.name} --target {TARGET}", steps["1-import"])

    created = pl.read_parquet(out / "1-import" / "rows.parquet").filter(outcome="created")
    _write(edited, header, _edit(rows, created["source_row"].head(len(EDITS)).to_list()))
    steps["2-reimport"] = run_sync(options(edited, "2-reimport"), engine)
    show(
        f"leadpipe import {edited.name} (the status of {len(EDITS)} leads changed)",
        steps["2-reimport"],
    )

    recon = options(DEMO_SOURCE, "3-reconcile", dry_run=True)
    steps["3-reconcile"] = run_reconcile(recon, engine)
    show(f"leadpipe reconcile {DEMO_SOURCE.name} --target {TARGET}", steps["3-reconcile"])
    return steps


async def _seed_target(home: Path, rows: list[dict[str, str]]) -> None:
    """Leads the target holds before the first import (see the module docstring)."""
    target = resolve_target(TARGET, {}, home)
    shared = next(r for r in rows[10:] if "@" in r["Email"] and r["Phone Number"])
    async with open_client(target.profile, transport=target.transport) as client:
        for n, phone in enumerate(("+14155550180", "+14155550181")):
            await client.create(
                {"first_name": "Twin", "last_name": str(n + 1), "email": shared["Email"].lower()}
                | {"phone": phone}
            )
        await client.create(
            {"first_name": "Only", "last_name": "InOctanist", "email": "only@octanist.example"}
        )


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _edit(rows: list[dict[str, str]], source_rows: list[int]) -> list[dict[str, str]]:
    """The rows with new statuses at `source_rows` (spreadsheet numbers: header is row 1)."""
    edited = [dict(r) for r in rows]
    for source_row, status in zip(source_rows, EDITS, strict=False):
        edited[source_row - 2]["Lead Status"] = status
    return edited


def _write(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
