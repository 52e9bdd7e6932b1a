"""Safe against the real services: the three-way sync, its guards and its reads, end to end.

Against the sandbox over real sockets; every assertion on requests reads the sandbox's own
request log (all methods, reads included).
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
HEADER = "Email,First Name,Last Name,Phone,Status,Note,Customer Profile"
PEOPLE = [
    ("ann@x.io", "Ann", "Lee", "+12125550101"),
    ("bob@x.io", "Bob", "Ray", "+12125550102"),
    ("cy@x.io", "Cy", "Day", "+12125550103"),
    ("di@x.io", "Di", "Fox", "+12125550104"),
    ("ed@x.io", "Ed", "Kim", "+12125550105"),
]


def _file(path: Path, *, status: str = "", first: dict[int, str] | None = None) -> Path:
    first = first or {}
    lines = [
        ",".join((email, first.get(n, name), last, phone, status, "", "Default"))
        for n, (email, name, last, phone) in enumerate(PEOPLE)
    ]
    path.write_text(HEADER + "\n" + "\n".join(lines) + "\n")
    return path


def _run(command: str, source: Path, vendor: str, out: Path, *extra: str) -> dict[str, Any]:
    args = [command, str(source), "--target", f"sandbox:{vendor}", "--engine", "local"]
    result = runner.invoke(app, [*args, "--out", str(out), "--json", *extra])
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(out / "rows.parquet").height == len(PEOPLE)  # one row per record
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def _counts(summary: dict[str, Any]) -> dict[str, int]:
    return {k: v for k, v in summary["counts"].items() if v}


def _requests(url: str, vendor: str) -> list[tuple[str, str]]:
    log = httpx.get(f"{url}/_sandbox/requests", params={"vendor": vendor}).json()
    return [(e["method"], e["path"]) for e in log]


def _forget_requests(url: str) -> None:
    httpx.delete(f"{url}/_sandbox/requests").raise_for_status()


def _omni(url: str, lead_id: str) -> dict[str, Any]:
    reply = httpx.get(f"{url}/omni/api/v1/leads/{lead_id}", headers=KEY)
    reply.raise_for_status()
    body: dict[str, Any] = reply.json()
    return body


def _omni_put(url: str, body: dict[str, Any]) -> None:
    httpx.put(f"{url}/omni/api/v1/leads", headers=KEY, json=body).raise_for_status()


@pytest.mark.parametrize("vendor", ["octanist", "omni", "apten"])
def test_a_re_run_of_an_unchanged_file_sends_no_request_at_all(
    sandbox_url: str, tmp_path: Path, vendor: str
) -> None:
    source = _file(tmp_path / "leads.csv")
    assert _counts(_run("import", source, vendor, tmp_path / "r1")) == {"created": 5}
    _forget_requests(sandbox_url)
    again = _run("import", source, vendor, tmp_path / "r2")
    assert _counts(again) == {"unchanged": 5}
    assert _requests(sandbox_url, vendor) == []  # no write, no listing, no GET


def test_three_edited_cells_on_omni_send_three_minimal_puts_and_at_most_three_gets(
    sandbox_url: str, tmp_path: Path
) -> None:
    _run("import", _file(tmp_path / "leads.csv"), "omni", tmp_path / "r1")
    _forget_requests(sandbox_url)
    edited = _file(tmp_path / "edited.csv", first={0: "Anna", 1: "Bobby", 2: "Cyrus"})
    third = _run("import", edited, "omni", tmp_path / "r2")
    assert _counts(third) == {"updated": 3, "unchanged": 2}
    log = httpx.get(f"{sandbox_url}/_sandbox/requests", params={"vendor": "omni"}).json()
    puts = [e["body"] for e in log if e["method"] == "PUT"]
    gets = [e for e in log if e["method"] == "GET"]
    assert sorted(p["firstName"] for p in puts) == ["Anna", "Bobby", "Cyrus"]
    assert all(set(p) == {"leadId", "firstName"} for p in puts)
    assert len(gets) == 3 and {e["method"] for e in log} == {"GET", "PUT"}  # one read each


def test_a_lost_home_creates_no_omni_lead_the_feed_knows(
    sandbox_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _file(tmp_path / "leads.csv")
    assert _counts(_run("import", source, "omni", tmp_path / "r1")) == {"created": 5}
    monkeypatch.setenv("LEADPIPE_HOME", str(tmp_path / "new-machine"))
    _forget_requests(sandbox_url)
    again = _run("import", source, "omni", tmp_path / "r2")
    assert again["counts"]["created"] == 0 and again["counts"]["failed"] == 0
    assert not [m for m, _ in _requests(sandbox_url, "omni") if m == "POST"]
    rows = pl.read_parquet(tmp_path / "r2" / "rows.parquet")
    first = pl.read_parquet(tmp_path / "r1" / "rows.parquet")
    assert rows["target_id"].to_list() == first["target_id"].to_list()


@pytest.mark.parametrize("fresh_home", [False, True])
def test_an_opted_out_omni_lead_stays_opted_out_after_a_row_saying_new(
    sandbox_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_home: bool
) -> None:
    first = _run("import", _file(tmp_path / "leads.csv"), "omni", tmp_path / "r1")
    lead_id = pl.read_parquet(tmp_path / "r1" / "rows.parquet")["target_id"][0]
    assert first["counts"]["created"] == 5
    _omni_put(sandbox_url, {"leadId": lead_id, "status": "OPTED_OUT", "didOptOut": True})
    if fresh_home:  # no base at all: the lead is known from Omni's feed only
        monkeypatch.setenv("LEADPIPE_HOME", str(tmp_path / "new-machine"))
    new = _file(tmp_path / "new.csv", status="New")
    run = _run("import", new, "omni", tmp_path / "r2")
    assert _omni(sandbox_url, lead_id)["status"] == "OPTED_OUT"
    row = pl.read_parquet(tmp_path / "r2" / "rows.parquet").row(0, named=True)
    assert row["outcome"] == "skipped" and row["reason_code"] == "reopen_blocked"
    assert [(w["field"], w["code"]) for w in row["warnings"]] == [("status", "reopen_blocked")]
    assert run["counts"]["failed"] == 0

    allowed = _run("import", new, "omni", tmp_path / "r3", "--allow-reopen")
    assert allowed["counts"]["updated"] >= 1
    assert _omni(sandbox_url, lead_id)["status"] == "IN_PROGRESS"


def test_a_lead_edited_in_omni_is_not_reverted_when_the_file_changes_another_field(
    sandbox_url: str, tmp_path: Path
) -> None:
    _run("import", _file(tmp_path / "leads.csv"), "omni", tmp_path / "r1")
    lead_id = pl.read_parquet(tmp_path / "r1" / "rows.parquet")["target_id"][0]
    _omni_put(sandbox_url, {"leadId": lead_id, "lastName": "Lee-Smith"})  # worked in Omni
    edited = _file(tmp_path / "edited.csv", first={0: "Anna"})
    _run("import", edited, "omni", tmp_path / "r2")
    lead = _omni(sandbox_url, lead_id)["lead"]
    assert (lead["firstName"], lead["lastName"]) == ("Anna", "Lee-Smith")
    row = pl.read_parquet(tmp_path / "r2" / "rows.parquet").row(0, named=True)
    assert row["outcome"] == "updated" and row["changed_fields"] == ["first_name"]
    assert [(w["field"], w["code"]) for w in row["warnings"]] == [("last_name", "target_edit")]
    # The next plain run neither reads nor reverts it.
    _forget_requests(sandbox_url)
    again = _run("import", edited, "omni", tmp_path / "r3")
    assert _counts(again) == {"unchanged": 5} and _requests(sandbox_url, "omni") == []


def test_a_closed_octanist_lead_is_not_re_opened(sandbox_url: str, tmp_path: Path) -> None:
    _run("import", _file(tmp_path / "leads.csv"), "octanist", tmp_path / "r1")
    lead_id = pl.read_parquet(tmp_path / "r1" / "rows.parquet")["target_id"][0]
    httpx.patch(
        f"{sandbox_url}/octanist/api/leads", headers=KEY, json={"id": lead_id, "status": "lost"}
    ).raise_for_status()
    _run("import", _file(tmp_path / "q.csv", status="Qualified"), "octanist", tmp_path / "r2")
    rows = pl.read_parquet(tmp_path / "r2" / "rows.parquet")
    assert rows["outcome"].to_list() == ["skipped", *["updated"] * 4]
    assert rows["reason_code"][0] == "reopen_blocked"
    lead = httpx.get(f"{sandbox_url}/octanist/api/leads/{lead_id}", headers=KEY).json()["data"]
    assert lead["status"] == "lost"


def test_an_omni_lead_created_elsewhere_since_the_last_run_is_matched_not_created(
    sandbox_url: str, tmp_path: Path
) -> None:
    _run("import", _file(tmp_path / "leads.csv"), "omni", tmp_path / "r1")
    made = httpx.post(
        f"{sandbox_url}/omni/api/v1/leads",
        headers=KEY,
        json={"firstName": "Flo", "lastName": "Ng", "email": "flo@x.io"},
    )
    made.raise_for_status()
    source = tmp_path / "more.csv"
    source.write_text(
        (tmp_path / "leads.csv")
        .read_text()
        .replace("ed@x.io,Ed,Kim,+12125550105", "flo@x.io,Flo,Ng,")
    )
    run = _run("import", source, "omni", tmp_path / "r2")
    assert run["counts"]["created"] == 0
    row = pl.read_parquet(tmp_path / "r2" / "rows.parquet").row(4, named=True)
    assert row["target_id"] == made.json()["lead"]["id"]


def test_an_unsubscribed_apten_lead_gets_no_follow_up(sandbox_url: str, tmp_path: Path) -> None:
    seeded = httpx.post(
        f"{sandbox_url}/_sandbox/seed",
        json={
            "vendor": "apten",
            "leads": [
                {
                    "firstName": "Ann",
                    "lastName": "Lee",
                    "phone": "+12125550101",
                    "email": "ann@x.io",
                    "customerProfile": "Default",
                    "isUnsubscribed": True,
                }
            ],
        },
    )
    seeded.raise_for_status()
    source = tmp_path / "steps.csv"
    source.write_text(
        "Email,First Name,Last Name,Phone,Customer Profile,Follow Up Step\n"
        "ann@x.io,Ann,Lee,+12125550101,Default,2\n"
    )
    _forget_requests(sandbox_url)
    args = ["import", str(source), "--target", "sandbox:apten", "--engine", "local", "--json"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    row = pl.read_parquet(tmp_path / "r" / "rows.parquet").row(0, named=True)
    assert (row["outcome"], row["reason_code"]) == ("skipped", "reopen_blocked")
    assert [m for m, _ in _requests(sandbox_url, "apten") if m != "GET"] == []
