"""Four people behind one company switchboard are four leads, end to end.

Against the sandbox over real sockets, through the CLI: every person with an email is created
(counted in the sandbox itself), a later batch on the same number creates its people and
overwrites none of the first batch's leads (compared field by field in the sandbox), and Apten,
which keeps one lead per phone, is never sent a create that would fail on it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
from typer.testing import CliRunner

from flows.cli import app

runner = CliRunner()
KEY = {"x-api-key": "sandbox-key", "X-API-KEY": "sandbox-key"}
BOARD = "+12125550100"
HEADER = "Email,First Name,Last Name,Phone,Customer Profile"
FIRST = [
    ("ann@x.io", "Ann", "Lee"),
    ("bob@x.io", "Bob", "Ray"),
    ("", "Front", "Desk"),  # the switchboard itself: no email, could be anyone of them
    ("cy@x.io", "Cy", "Day"),
    ("di@x.io", "Di", "Fox"),
]
LATER = [
    ("ed@x.io", "Ed", "Kim"),
    ("fay@x.io", "Fay", "Orr"),
    ("", "Front", "Desk"),  # again no email, beside two people: could be either
]
DESK = [("", "Front", "Desk")]  # alone in its file, on a phone several leads hold
PEOPLE = ["ann@x.io", "bob@x.io", "cy@x.io", "di@x.io"]


def _file(path: Path, people: list[tuple[str, str, str]]) -> Path:
    lines = [",".join((email, first, last, BOARD, "Default")) for email, first, last in people]
    path.write_text(HEADER + "\n" + "\n".join(lines) + "\n")
    return path


def _import(source: Path, vendor: str, out: Path) -> pl.DataFrame:
    args = ["import", str(source), "--target", f"sandbox:{vendor}", "--engine", "local"]
    result = runner.invoke(app, [*args, "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["counts"]["failed"] == 0
    return pl.read_parquet(out / "rows.parquet")


def _outcomes(rows: pl.DataFrame) -> list[tuple[str, str, str | None]]:
    return rows.select(pl.col("email").fill_null(""), "outcome", "reason_code").rows()


def _leads(url: str, vendor: str) -> dict[str, dict[str, Any]]:
    """Every lead the sandbox holds for `vendor`, by id, as the vendor stores it."""
    if vendor == "octanist":
        reply = httpx.get(f"{url}/octanist/api/leads", params={"limit": 100}, headers=KEY)
        ids = [lead["id"] for lead in reply.raise_for_status().json()["data"]]
    elif vendor == "apten":
        params = {"limit": 100, "createdSince": "2000-01-01T00:00:00Z"}
        reply = httpx.get(f"{url}/apten/v1/leads", params=params, headers=KEY)
        ids = [lead["id"] for lead in reply.raise_for_status().json()["leads"]]
    else:
        reply = httpx.get(f"{url}/omni/api/v0/analytics", params={"format": "json"}, headers=KEY)
        ids = [row["leadId"] for row in reply.raise_for_status().json()["breakdown"]]
    return {
        i: httpx.get(f"{url}/_sandbox/{vendor}/leads/{i}").raise_for_status().json() for i in ids
    }


def _emails(leads: dict[str, dict[str, Any]]) -> list[str | None]:
    return sorted((lead.get("email") for lead in leads.values()), key=str)


def _posts(url: str, vendor: str) -> list[dict[str, Any]]:
    log = httpx.get(f"{url}/_sandbox/requests", params={"vendor": vendor}).json()
    return [e for e in log if e["method"] == "POST"]


@pytest.mark.parametrize("vendor", ["octanist", "omni"])
def test_every_person_on_a_switchboard_is_created_and_a_later_batch_overwrites_none(
    sandbox_url: str, tmp_path: Path, vendor: str
) -> None:
    first = _import(_file(tmp_path / "first.csv", FIRST), vendor, tmp_path / "r1")
    assert _outcomes(first) == [
        ("ann@x.io", "created", None),
        ("bob@x.io", "created", None),
        ("", "duplicate", "ambiguous_phone"),
        ("cy@x.io", "created", None),
        ("di@x.io", "created", None),
    ]
    leads = _leads(sandbox_url, vendor)
    assert _emails(leads) == PEOPLE  # four leads, one per person, none for the front desk
    phone = "phone" if vendor == "octanist" else "phoneNumber"
    assert {lead[phone] for lead in leads.values()} == {BOARD}
    assert sorted(first["target_id"].drop_nulls().to_list()) == sorted(leads)

    later = _import(_file(tmp_path / "later.csv", LATER), vendor, tmp_path / "r2")
    assert _outcomes(later) == [
        ("ed@x.io", "created", None),
        ("fay@x.io", "created", None),
        ("", "duplicate", "ambiguous_phone"),
    ]
    now = _leads(sandbox_url, vendor)
    assert _emails(now) == [*PEOPLE, "ed@x.io", "fay@x.io"]
    for lead_id, before in leads.items():  # the first batch's leads, field by field
        assert now[lead_id] == before, lead_id

    again = _import(_file(tmp_path / "later.csv", LATER), vendor, tmp_path / "r3")
    assert again["outcome"].to_list() == ["unchanged", "unchanged", "duplicate"]
    desk = _import(_file(tmp_path / "desk.csv", DESK), vendor, tmp_path / "r4")
    assert _outcomes(desk) == [("", "conflict", "conflict")]
    assert desk["reason"][0].startswith("6 target leads share this phone: ")
    assert _leads(sandbox_url, vendor) == now


def test_apten_keeps_one_lead_per_phone_so_the_others_are_skipped_not_sent(
    sandbox_url: str, tmp_path: Path
) -> None:
    first = _import(_file(tmp_path / "first.csv", FIRST), "apten", tmp_path / "r1")
    assert _outcomes(first) == [
        ("ann@x.io", "created", None),
        ("bob@x.io", "skipped", "phone_taken"),
        ("", "duplicate", "ambiguous_phone"),
        ("cy@x.io", "skipped", "phone_taken"),
        ("di@x.io", "skipped", "phone_taken"),
    ]
    assert first["reason"][1] == (
        f"apten keeps one lead per phone; {BOARD} belongs to the lead row 2 creates (ann@x.io)"
    )
    leads = _leads(sandbox_url, "apten")
    (ann,) = leads
    assert _emails(leads) == ["ann@x.io"]
    assert len(_posts(sandbox_url, "apten")) == 1  # no create was sent to fail with a 400

    later = _import(_file(tmp_path / "later.csv", LATER), "apten", tmp_path / "r2")
    assert _outcomes(later) == [
        ("ed@x.io", "skipped", "phone_taken"),
        ("fay@x.io", "skipped", "phone_taken"),
        ("", "duplicate", "ambiguous_phone"),
    ]
    assert later["reason"][0] == (
        f"apten keeps one lead per phone; {BOARD} belongs to {ann} (ann@x.io)"
    )
    # Alone, the front desk has no email: the phone names Ann's lead, the only one on it.
    desk = _import(_file(tmp_path / "desk.csv", DESK), "apten", tmp_path / "r3")
    assert desk.select("outcome", "match_by", "target_id").row(0)[1:] == ("phone", ann)
    assert desk["outcome"][0] not in ("created", "updated")  # Apten updates no names
    assert _leads(sandbox_url, "apten") == leads  # Ann's lead, field by field
    assert len(_posts(sandbox_url, "apten")) == 1
