"""`leadpipe revert`: import -> edit -> import -> revert of the second run, against the sandbox.

Every field the second run updated is checked back in the sandbox, field by field; a field
edited in the target after the run is left alone and listed; the revert of the revert restores
the second run; a dry run sends nothing (the sandbox's request log).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import polars as pl
from typer.testing import CliRunner

from flows.cli import app

runner = CliRunner()
KEY = {"x-api-key": "sandbox-key", "X-API-KEY": "sandbox-key"}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def _write(path: Path, header: str, rows: list[tuple[str, ...]]) -> Path:
    path.write_text(header + "\n" + "\n".join(",".join(r) for r in rows) + "\n")
    return path


def _cli(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def _import(source: Path, vendor: str, out: Path) -> dict[str, Any]:
    return _cli(
        "import",
        str(source),
        "--target",
        f"sandbox:{vendor}",
        "--engine",
        "local",
        "--out",
        str(out),
    )


def _counts(summary: dict[str, Any]) -> dict[str, int]:
    return {k: v for k, v in summary["counts"].items() if v}


def _ids(out: Path) -> dict[str, str]:
    rows = pl.read_parquet(out / "rows.parquet")
    return dict(zip(rows["email"], rows["target_id"], strict=True))


def _log(url: str, vendor: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = httpx.get(
        f"{url}/_sandbox/requests", params={"vendor": vendor}
    ).json()
    return entries


OMNI_HEADER = "Email,First Name,Last Name,Company"
OMNI_FIRST = [
    ("ann@x.io", "Ann", "Lee", "Acme"),
    ("bob@x.io", "Bob", "Ray", "Bolt"),
    ("cy@x.io", "Cy", "Day", "Core"),
    ("di@x.io", "Di", "Fox", "Dune"),
]
OMNI_SECOND = [
    ("ann@x.io", "Anna", "Lee", "Acme"),  # first name
    ("bob@x.io", "Bobby", "Ray", "Bolt Ltd"),  # first name + company (edited in Omni after)
    ("cy@x.io", "Cy", "Dayton", "Core"),  # last name
    ("di@x.io", "Di", "Fox", "Dune"),  # unchanged
    ("ed@x.io", "Ed", "Kim", "Echo"),  # created
]


def _omni(url: str, lead_id: str) -> dict[str, Any]:
    reply = httpx.get(f"{url}/omni/api/v1/leads/{lead_id}", headers=KEY)
    reply.raise_for_status()
    lead: dict[str, Any] = reply.json()["lead"]
    return lead


def _omni_fields(url: str, lead_id: str) -> tuple[str, str, str]:
    lead = _omni(url, lead_id)
    return lead["firstName"], lead["lastName"], lead["businessName"]


def test_revert_puts_back_what_the_second_omni_import_changed_and_leaves_target_edits(
    sandbox_url: str, tmp_path: Path
) -> None:
    first = _write(tmp_path / "first.csv", OMNI_HEADER, OMNI_FIRST)
    assert _counts(_import(first, "omni", tmp_path / "r1")) == {"created": 4}
    second = _write(tmp_path / "second.csv", OMNI_HEADER, OMNI_SECOND)
    run2 = _import(second, "omni", tmp_path / "r2")
    assert _counts(run2) == {"updated": 3, "unchanged": 1, "created": 1}
    ids = _ids(tmp_path / "r2")
    # Someone edits Bob's company in Omni after the second import.
    body = {"leadId": ids["bob@x.io"], "businessName": "Bolt Edited"}
    httpx.put(f"{sandbox_url}/omni/api/v1/leads", headers=KEY, json=body).raise_for_status()

    httpx.delete(f"{sandbox_url}/_sandbox/requests").raise_for_status()
    dry = _cli("revert", run2["run_id"], "--dry-run", "--out", str(tmp_path / "dry"))
    assert dry["mode"] == "revert" and dry["dry_run"] is True
    assert _counts(dry) == {"would_update": 3, "skipped": 1}
    assert not [e for e in _log(sandbox_url, "omni") if e["method"] in WRITES]
    assert _omni_fields(sandbox_url, ids["ann@x.io"])[0] == "Anna"

    undo = _cli("revert", run2["run_id"], "--out", str(tmp_path / "undo"))
    assert undo["mode"] == "revert" and undo["run_id"] != run2["run_id"]
    assert _counts(undo) == {"updated": 3, "skipped": 1}
    assert _omni_fields(sandbox_url, ids["ann@x.io"]) == ("Ann", "Lee", "Acme")
    assert _omni_fields(sandbox_url, ids["bob@x.io"]) == ("Bob", "Ray", "Bolt Edited")
    assert _omni_fields(sandbox_url, ids["cy@x.io"]) == ("Cy", "Day", "Core")
    assert _omni_fields(sandbox_url, ids["ed@x.io"]) == ("Ed", "Kim", "Echo")  # not deletable
    rows = pl.read_parquet(tmp_path / "undo" / "rows.parquet")
    assert rows.height == 4  # one per op of the second run: 3 updates, 1 create
    bob = rows.filter(pl.col("target_id") == ids["bob@x.io"]).row(0, named=True)
    assert bob["outcome"] == "updated" and bob["changed_fields"] == ["first_name"]
    assert [(w["field"], w["code"]) for w in bob["warnings"]] == [("business_name", "target_edit")]
    ed = rows.filter(pl.col("target_id") == ids["ed@x.io"]).row(0, named=True)
    assert (ed["outcome"], ed["reason_code"]) == ("skipped", "created_by_run")
    assert ids["ed@x.io"] in ed["reason"]
    for name in ("rows.csv", "summary.json", "report.html"):
        assert (tmp_path / "undo" / name).is_file()

    redo = _cli("revert", undo["run_id"], "--out", str(tmp_path / "redo"))
    assert _counts(redo) == {"updated": 3}
    assert _omni_fields(sandbox_url, ids["ann@x.io"]) == ("Anna", "Lee", "Acme")
    assert _omni_fields(sandbox_url, ids["bob@x.io"]) == ("Bobby", "Ray", "Bolt Edited")
    assert _omni_fields(sandbox_url, ids["cy@x.io"]) == ("Cy", "Dayton", "Core")


OCTANIST_HEADER = "Email,First Name,Last Name,Status,Value"
OCTANIST_FIRST = [
    ("ann@x.io", "Ann", "Lee", "qualified", "100"),
    ("bob@x.io", "Bob", "Ray", "qualified", "200"),
    ("cy@x.io", "Cy", "Day", "qualified", "300"),
]
OCTANIST_SECOND = [
    ("ann@x.io", "Ann", "Lee", "won", "100"),  # status
    ("bob@x.io", "Bob", "Ray", "qualified", "250"),  # value (edited in Octanist after)
    ("cy@x.io", "Cy", "Day", "won", "350"),  # status + value
]


def _octanist(url: str, lead_id: str) -> tuple[str, float]:
    reply = httpx.get(f"{url}/octanist/api/leads/{lead_id}", headers=KEY)
    reply.raise_for_status()
    lead = reply.json()["data"]
    return lead["status"], float(lead["value"])


def test_revert_on_octanist_restores_status_and_value_and_leaves_a_target_edit(
    sandbox_url: str, tmp_path: Path
) -> None:
    first = _write(tmp_path / "first.csv", OCTANIST_HEADER, OCTANIST_FIRST)
    assert _counts(_import(first, "octanist", tmp_path / "r1"))["created"] == 3
    second = _write(tmp_path / "second.csv", OCTANIST_HEADER, OCTANIST_SECOND)
    run2 = _import(second, "octanist", tmp_path / "r2")
    assert _counts(run2) == {"updated": 3}
    ids = _ids(tmp_path / "r2")
    body = {"id": ids["bob@x.io"], "value": 999}
    httpx.patch(f"{sandbox_url}/octanist/api/leads", headers=KEY, json=body).raise_for_status()

    undo = _cli("revert", run2["run_id"], "--out", str(tmp_path / "undo"))
    assert _counts(undo) == {"updated": 2, "skipped": 1}
    assert _octanist(sandbox_url, ids["ann@x.io"]) == ("qualified", 100.0)
    assert _octanist(sandbox_url, ids["bob@x.io"]) == ("qualified", 999.0)  # left alone
    assert _octanist(sandbox_url, ids["cy@x.io"]) == ("qualified", 300.0)
    rows = pl.read_parquet(tmp_path / "undo" / "rows.parquet")
    bob = rows.filter(pl.col("target_id") == ids["bob@x.io"]).row(0, named=True)
    assert (bob["outcome"], bob["reason_code"]) == ("skipped", "target_edit")
    assert [(w["field"], w["code"]) for w in bob["warnings"]] == [("value", "target_edit")]

    with sqlite3.connect(tmp_path / "home" / "journal.db") as db:  # LEADPIPE_HOME (conftest)
        run = db.execute("SELECT mode, source FROM runs WHERE run_id = ?", (undo["run_id"],))
        assert run.fetchall() == [("revert", run2["run_id"])]
        ops = db.execute("SELECT sent, previous FROM ops WHERE run_id = ?", (undo["run_id"],))
        journaled = sorted(
            ((json.loads(a), json.loads(b)) for a, b in ops.fetchall()), key=lambda p: len(p[0])
        )
    assert journaled == [
        ({"status": "qualified"}, {"status": "won"}),
        ({"status": "qualified", "value": 300.0}, {"status": "won", "value": 350.0}),
    ]

    # A resumed revert sends nothing that succeeded, and reports it as done.
    httpx.delete(f"{sandbox_url}/_sandbox/requests").raise_for_status()
    again = _cli(
        "revert", run2["run_id"], "--resume", undo["run_id"], "--out", str(tmp_path / "again")
    )
    assert again["run_id"] == undo["run_id"] and _counts(again) == {"updated": 2, "skipped": 1}
    assert not [e for e in _log(sandbox_url, "octanist") if e["method"] in WRITES]

    redo = _cli("revert", undo["run_id"], "--out", str(tmp_path / "redo"))
    assert _counts(redo) == {"updated": 2}
    assert _octanist(sandbox_url, ids["ann@x.io"]) == ("won", 100.0)
    assert _octanist(sandbox_url, ids["cy@x.io"]) == ("won", 350.0)


def test_an_unknown_run_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["revert", "no-such-run", "--out", str(tmp_path / "u")])
    assert result.exit_code == 2
    assert "revert no-such-run: no run of that id" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "u").exists()
