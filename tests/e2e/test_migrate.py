"""`leadpipe migrate` end to end against the sandbox: API to API and export to API.

Asserts on the leads that land in the target, on the crosswalk, on what the target cannot
hold, and that a second run creates nothing (the sandbox's request log counts the writes).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import polars as pl
from typer.testing import CliRunner

from flows.cli import app
from tests.e2e.test_sync import KEY, ROWS, _run, _write

runner = CliRunner()


def _migrate(origin: str, to: str, out: Path, *extra: str) -> dict[str, Any]:
    args = ["migrate", "--from", origin, "--to", to, "--engine", "local", "--out", str(out)]
    result = runner.invoke(app, [*args, "--json", *extra])
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def _writes(url: str, vendor: str) -> list[dict[str, Any]]:
    log = httpx.get(f"{url}/_sandbox/requests", params={"vendor": vendor}).json()
    return [e for e in log if e["method"] != "GET"]


def _octanist_leads(url: str) -> list[dict[str, Any]]:
    leads: list[dict[str, Any]] = httpx.get(
        f"{url}/octanist/api/leads", headers=KEY, params={"limit": 100}
    ).json()["data"]
    return leads


def test_apten_api_to_octanist_with_extras_carried_and_no_duplicates_on_rerun(
    sandbox_url: str, tmp_path: Path
) -> None:
    _run("import", _write(tmp_path / "leads.csv", ROWS), "apten", tmp_path / "seeded")
    apten_ids = pl.read_parquet(tmp_path / "seeded" / "rows.parquet")["target_id"].to_list()
    httpx.delete(f"{sandbox_url}/_sandbox/requests").raise_for_status()

    first = _migrate("sandbox:apten", "sandbox:octanist", tmp_path / "m1", "--carry-extras")
    assert first["job"] == "migrate" and first["counts"]["created"] == 5
    # Apten's customer profile and opt-out flag have no place in Octanist: listed, and
    # carried into `custom` (the time zone inferred from the phone is no extra).
    assert first["extras"] == {"customer_profile": 5, "opted_out": 5}
    leads = _octanist_leads(sandbox_url)
    assert sorted(lead["email"] for lead in leads) == sorted(r[0] for r in ROWS)
    carried = [json.loads(lead["custom"]) for lead in leads]  # Octanist returns it as text
    assert carried == [{"customer_profile": "Default", "opted_out": "false"}] * 5

    walked = pl.read_csv(tmp_path / "m1" / "crosswalk.csv")
    assert walked.columns == ["source_row", "source_id", "target_id", "outcome", "reason"]
    assert sorted(walked["source_id"].to_list()) == sorted(apten_ids)
    by_email = {lead["email"]: lead["id"] for lead in leads}
    rows = pl.read_parquet(tmp_path / "m1" / "rows.parquet")
    assert dict(zip(rows["email"], rows["target_id"], strict=True)) == by_email
    assert dict(zip(rows["source_id"], rows["target_id"], strict=True)) == dict(
        zip(walked["source_id"], walked["target_id"], strict=True)
    )

    writes = len(_writes(sandbox_url, "octanist"))
    again = _migrate("sandbox:apten", "sandbox:octanist", tmp_path / "m2", "--carry-extras")
    assert again["counts"]["unchanged"] == 5 and again["counts"]["created"] == 0
    assert len(_writes(sandbox_url, "octanist")) == writes
    assert len(_octanist_leads(sandbox_url)) == 5
    rerun = pl.read_parquet(tmp_path / "m2" / "rows.parquet")
    assert set(rerun["match_by"].to_list()) == {"target_id"}  # found through the crosswalk


def test_an_octanist_export_into_apten_lists_what_apten_cannot_hold(
    sandbox_url: str, tmp_path: Path
) -> None:
    export = tmp_path / "octanist_export.csv"
    export.write_text(
        "id,name,email,phone,status,value,note\n"
        "oct-1,Ann Lee,ann@x.io,+12125550101,won,100,met at expo\n"
        "oct-2,Bob Ray,bob@x.io,+12125550102,open,,\n"
        "oct-3,Cy Day,not-an-email,+12125550103,open,,\n"
    )
    mapping = tmp_path / "to_apten.toml"
    mapping.write_text('[constants]\ncustomer_profile = "Default"\n')
    summary = _migrate(
        str(export),
        "sandbox:apten",
        tmp_path / "m",
        "--preset",
        "octanist",
        "--mapping",
        str(mapping),
    )
    # Cy's email is bad, his phone good: created without the email, with a warning.
    assert summary["counts"]["created"] == 3 and summary["counts"]["invalid"] == 0
    assert summary["extras"] == {"status": 3, "note": 1, "value": 1}
    rows = pl.read_parquet(tmp_path / "m" / "rows.parquet")
    assert rows["extras"].to_list() == [["status", "value", "note"], ["status"], ["status"]]
    walked = pl.read_csv(tmp_path / "m" / "crosswalk.csv")
    assert walked["source_id"].to_list() == ["oct-1", "oct-2", "oct-3"]
    assert walked["outcome"].to_list() == ["created", "created", "created"]
    assert "invalid_email" in [w["code"] for w in rows["warnings"][2]]
    creates = [e for e in _writes(sandbox_url, "apten") if e["method"] == "POST"]
    assert sorted(e["body"].get("email", "-") for e in creates) == ["-", "ann@x.io", "bob@x.io"]
    assert all("additionalInfo" not in e["body"] for e in creates)  # not carried unless asked


def test_migrating_from_omni_says_to_export_it(sandbox_url: str, tmp_path: Path) -> None:
    args = ["migrate", "--from", "sandbox:omni", "--to", "sandbox:octanist", "--engine", "local"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "m")])
    assert result.exit_code == 2
    assert "Omni's API cannot list leads" in result.stderr


def test_an_origin_that_is_neither_profile_nor_file_is_a_usage_error(tmp_path: Path) -> None:
    args = ["migrate", "--from", "nowhere.csv", "--to", "sandbox:octanist", "--engine", "local"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "neither a target profile" in result.stderr
