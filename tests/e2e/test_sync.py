"""`leadpipe plan` / `import` end to end, per vendor, against the sandbox over real sockets.

Asserts on the sandbox's request log (methods and bodies), on the run directory, and on the
one-row-per-record invariant of every run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
from typer.testing import CliRunner

from flows.cli import app

runner = CliRunner()
KEY = {"x-api-key": "sandbox-key", "X-API-KEY": "sandbox-key"}
ROWS = [
    ("ann@x.io", "Ann", "Lee", "+12125550101", "", "100", "first"),
    ("bob@x.io", "Bob", "Ray", "+12125550102", "", "200", "second"),
    ("cy@x.io", "Cy", "Day", "+12125550103", "", "", "third"),
    ("di@x.io", "Di", "Fox", "+12125550104", "", "", "fourth"),
    ("ed@x.io", "Ed", "Kim", "+12125550105", "", "", "fifth"),
]
HEADER = "Email,First Name,Last Name,Phone,Status,Value,Note,Customer Profile"


@dataclass(frozen=True)
class Edit:
    """How to change three cells of the file for a vendor, and what the update body must be."""

    column: int  # index in ROWS' tuples
    wire_key: str
    new_values: tuple[str, str, str]


EDITS = {
    "octanist": Edit(6, "note", ("1st", "2nd", "3rd")),
    "omni": Edit(1, "firstName", ("Anna", "Bobby", "Cyrus")),
    "apten": Edit(0, "email", ("ann@y.io", "bob@y.io", "cy@y.io")),
}
UPDATE = {
    "octanist": ("PATCH", "/octanist/api/leads"),
    "omni": ("PUT", "/omni/api/v1/leads"),
    "apten": ("PATCH", "/apten/v1/leads/"),
}


def _write(path: Path, rows: list[tuple[str, ...]]) -> Path:
    path.write_text(HEADER + "\n" + "".join(",".join((*r, "Default")) + "\n" for r in rows))
    return path


def _counts(summary: dict[str, Any]) -> dict[str, int]:
    return {k: v for k, v in summary["counts"].items() if v}


def _run(command: str, source: Path, vendor: str, out: Path, *extra: str) -> dict[str, Any]:
    result = runner.invoke(
        app,
        [
            command,
            str(source),
            "--target",
            f"sandbox:{vendor}",
            "--engine",
            "local",
            "--out",
            str(out),
            "--json",
            *extra,
        ],
    )
    assert result.exit_code == 0, result.output
    rows = pl.read_parquet(out / "rows.parquet")
    assert rows["source_row"].to_list() == list(range(2, len(ROWS) + 2))  # one row per record
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def _log(url: str, vendor: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = httpx.get(
        f"{url}/_sandbox/requests", params={"vendor": vendor}
    ).json()
    return [e for e in entries if e["method"] != "GET"]


@pytest.mark.parametrize("vendor", ["octanist", "omni", "apten"])
def test_import_reimport_edit_and_plan_back(sandbox_url: str, tmp_path: Path, vendor: str) -> None:
    source = _write(tmp_path / "leads.csv", ROWS)
    first = _run("import", source, vendor, tmp_path / "r1")
    assert first["counts"]["created"] == 5 and first["counts"]["failed"] == 0
    creates = [e for e in _log(sandbox_url, vendor) if e["method"] == "POST"]
    assert len(creates) == 5

    again = _run("import", source, vendor, tmp_path / "r2")
    assert again["counts"]["unchanged"] == 5 and again["requests"]["sent"] == 0
    before = len(_log(sandbox_url, vendor))

    edit = EDITS[vendor]
    edited = [
        tuple(v if i != edit.column else edit.new_values[n] for i, v in enumerate(r))
        if n < 3
        else r
        for n, r in enumerate(ROWS)
    ]
    third = _run("import", _write(tmp_path / "edited.csv", edited), vendor, tmp_path / "r3")
    assert third["counts"]["updated"] == 3 and third["requests"]["sent"] == 3
    updates = _log(sandbox_url, vendor)[before:]
    method, path = UPDATE[vendor]
    assert [e["method"] for e in updates] == [method] * 3 and all(
        e["path"].startswith(path) for e in updates
    )
    sent = sorted(e["body"][edit.wire_key] for e in updates)
    assert sent == sorted(edit.new_values)
    assert all(
        set(e["body"]) - {"id", "leadId"} == {edit.wire_key} for e in updates
    )  # minimal payloads


def test_a_lead_edited_in_the_target_is_left_alone_unless_the_file_wins(
    sandbox_url: str, tmp_path: Path
) -> None:
    """Three-way: a field changed in the target and not in the file is not reverted (and not
    even read for); --verify-target notes it; --on-target-edit overwrite plans it back."""
    source = _write(tmp_path / "leads.csv", ROWS)
    _run("import", source, "octanist", tmp_path / "r1")
    lead = pl.read_parquet(tmp_path / "r1" / "rows.parquet").row(0, named=True)
    httpx.patch(
        f"{sandbox_url}/octanist/api/leads",
        headers=KEY,
        json={"id": lead["target_id"], "value": 999},
    ).raise_for_status()
    httpx.delete(f"{sandbox_url}/_sandbox/requests").raise_for_status()

    plain = _run("plan", source, "octanist", tmp_path / "p")
    assert _counts(plain) == {"unchanged": 5} and plain["planned_requests"] == 0
    assert httpx.get(f"{sandbox_url}/_sandbox/requests").json() == []  # not a single read

    verified = _run("plan", source, "octanist", tmp_path / "v", "--verify-target")
    assert _counts(verified) == {"unchanged": 5}
    row = pl.read_parquet(tmp_path / "v" / "rows.parquet").row(0, named=True)
    assert [(w["field"], w["code"]) for w in row["warnings"]] == [("value", "target_edit")]
    assert "'999.0'" in row["warnings"][0]["message"]

    mirrored = _run("plan", source, "octanist", tmp_path / "m", "--on-target-edit", "overwrite")
    rows = pl.read_parquet(tmp_path / "m" / "rows.parquet")
    assert mirrored["counts"]["would_update"] == 1 and mirrored["planned_requests"] == 1
    assert rows.filter(pl.col("outcome") == "would_update")["changed_fields"].to_list() == [
        ["value"]
    ]


def test_two_target_leads_sharing_an_email_are_a_conflict_not_a_write(
    sandbox_url: str, tmp_path: Path
) -> None:
    for phone in ("+12125550198", "+12125550199"):
        httpx.post(
            f"{sandbox_url}/octanist/api/leads",
            headers=KEY,
            json={"name": "Twin", "email": "ann@x.io", "phone": phone},
        ).raise_for_status()
    httpx.delete(f"{sandbox_url}/_sandbox/requests").raise_for_status()
    summary = _run("import", _write(tmp_path / "leads.csv", ROWS), "octanist", tmp_path / "r")
    rows = pl.read_parquet(tmp_path / "r" / "rows.parquet")
    first = rows.row(0, named=True)
    assert (first["outcome"], first["reason_code"]) == ("conflict", "conflict")
    assert "2 target leads share this email" in first["reason"]
    assert summary["counts"]["conflict"] == 1
    assert not [
        e
        for e in _log(sandbox_url, "octanist")
        if e["body"] and e["body"].get("email") == "ann@x.io"
    ]


def _invoke(args: list[str]) -> Any:
    return runner.invoke(app, [*args, "--engine", "local", "--json"])


def test_a_bad_key_stops_the_import_at_its_first_request(
    sandbox_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The snapshot read is the first request: a bad key ends the run there, nothing written."""
    config = tmp_path / "leadpipe.toml"
    config.write_text(
        f'[targets.prod]\nvendor = "octanist"\nbase_url = "{sandbox_url}/octanist/api"\n'
        'api_key_env = "LEADPIPE_TEST_OCTANIST_KEY"\n'
    )
    monkeypatch.setenv("LEADPIPE_TEST_OCTANIST_KEY", "wrong-key")
    source = _write(tmp_path / "leads.csv", ROWS)
    args = ["import", str(source), "--target", "prod", "--config", str(config)]
    result = _invoke([*args, "--out", str(tmp_path / "r1")])
    assert result.exit_code == 3
    assert "Set LEADPIPE_TEST_OCTANIST_KEY to a valid key for target prod" in result.stderr
    assert "wrong-key" not in result.output
    log = httpx.get(f"{sandbox_url}/_sandbox/requests", params={"vendor": "octanist"}).json()
    assert [(e["method"], e["status"]) for e in log] == [("GET", 401)]
    monkeypatch.setenv("LEADPIPE_TEST_OCTANIST_KEY", "sandbox-key")
    again = _invoke([*args, "--out", str(tmp_path / "r2")])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["counts"]["created"] == 5


def test_max_failed_ratio_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    import typer

    from flows.cli import _fail_on_alerts, _guard
    from schemas.alerts import MAX_FAILED_RATIO, Thresholds, breaches
    from tests.reports.report_frames import summary_of

    summary = summary_of(job="import", counts={"failed": 6}, rows=10)

    def judged(ratio: float) -> Any:
        said = Thresholds(failed_share=ratio, failed_key=MAX_FAILED_RATIO)
        return replace(summary, alerts=breaches(summary, said))

    _fail_on_alerts(judged(1.0), None, "local")  # the default never fails a run
    _fail_on_alerts(judged(0.6), None, "local")
    assert breaches(summary, Thresholds()) == ()
    with pytest.raises(typer.Exit) as info:
        _fail_on_alerts(judged(0.5), None, "local")
    assert info.value.exit_code == 1
    assert "6 of 10 rows failed (more than --max-failed-ratio 0.5)" in capsys.readouterr().err
    # through the command's guard too: exit 1, not "internal error" and exit 3
    with pytest.raises(typer.Exit) as guarded:
        _guard(lambda: _fail_on_alerts(judged(0.5), None, "local"))
    assert guarded.value.exit_code == 1


def test_lost_answers_after_the_write_never_duplicate_a_lead(
    sandbox_url: str, tmp_path: Path
) -> None:
    rows = [(f"l{i}@x.io", f"F{i}", f"L{i}", f"+1212555{1000 + i}", "", "", "") for i in range(30)]
    source = tmp_path / "many.csv"
    source.write_text(HEADER + "\n" + "".join(",".join((*r, "Default")) + "\n" for r in rows))
    httpx.put(
        f"{sandbox_url}/_sandbox/faults",
        json={"octanist": {"drop_rate": 0.3, "after_write_ratio": 1.0}},
    ).raise_for_status()
    try:
        result = runner.invoke(
            app,
            [
                "import",
                str(source),
                "--target",
                "sandbox:octanist",
                "--engine",
                "local",
                "--out",
                str(tmp_path / "r"),
                "--json",
            ],
        )
    finally:
        httpx.put(f"{sandbox_url}/_sandbox/faults", json={"octanist": {}}).raise_for_status()
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["counts"]["created"] == 30
    listed = httpx.get(
        f"{sandbox_url}/octanist/api/leads", params={"limit": 100}, headers=KEY
    ).json()["data"]
    assert sorted(lead["email"] for lead in listed) == sorted(r[0] for r in rows)  # one lead each


def test_a_state_file_stands_in_for_the_target(sandbox_url: str, tmp_path: Path) -> None:
    """`plan --state-file`: an Octanist export is the target's state; nothing is read from it."""
    state = tmp_path / "octanist_export.csv"
    state.write_text(
        "id,name,email,phone,status,value,note\nlead_9,Ann Lee,ann@x.io,+12125550101,open,100,old\n"
    )
    httpx.delete(f"{sandbox_url}/_sandbox/requests").raise_for_status()
    result = runner.invoke(
        app,
        [
            "plan",
            str(_write(tmp_path / "leads.csv", ROWS)),
            "--target",
            "sandbox:octanist",
            "--state-file",
            str(state),
            "--engine",
            "local",
            "--out",
            str(tmp_path / "p"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["state_source"] == "file"
    assert summary["counts"]["would_update"] == 1 and summary["counts"]["would_create"] == 4
    rows = pl.read_parquet(tmp_path / "p" / "rows.parquet")
    first = rows.row(0, named=True)
    assert (first["target_id"], first["changed_fields"]) == ("lead_9", ["note"])
    assert httpx.get(f"{sandbox_url}/_sandbox/requests").json() == []


def test_omni_checklist_sends_only_changed_codes(sandbox_url: str, tmp_path: Path) -> None:
    header = "Email,First Name,Phone,Tax ID,Loan Amount\n"
    mapping = tmp_path / "m.toml"
    mapping.write_text(
        'extends = "generic"\n[fields]\n"checklist.tax_id" = "Tax ID"\n'
        '"checklist.loan_amount" = "Loan Amount"\n'
    )
    source = tmp_path / "omni.csv"
    source.write_text(
        header + "ann@x.io,Ann,+12125550101,12-3,5000\nbob@x.io,Bob,+12125550102,45-6,7000\n"
    )
    args = [
        "import",
        str(source),
        "--target",
        "sandbox:omni",
        "--mapping",
        str(mapping),
        "--engine",
        "local",
        "--json",
    ]
    assert runner.invoke(app, [*args, "--out", str(tmp_path / "r1")]).exit_code == 0
    before = len(_log(sandbox_url, "omni"))
    source.write_text(
        header + "ann@x.io,Ann,+12125550101,12-3,9000\nbob@x.io,Bob,+12125550102,45-6,7000\n"
    )
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "r2")])
    assert json.loads(result.stdout)["counts"] == {
        **json.loads(result.stdout)["counts"],
        "updated": 1,
        "unchanged": 1,
    }
    (update,) = _log(sandbox_url, "omni")[before:]
    assert update["body"]["checklistItems"] == [{"code": "loan_amount", "value": "9000"}]
    assert set(update["body"]) == {"leadId", "checklistItems"}


def test_blanks_clear_sends_documented_clears_and_reports_the_rest(
    sandbox_url: str, tmp_path: Path
) -> None:
    source = tmp_path / "omni.csv"
    source.write_text("Email,First Name,Phone,Tags\nann@x.io,Ann,+12125550101,VIP;hot\n")
    common = ["--target", "sandbox:omni", "--engine", "local", "--json"]
    assert (
        runner.invoke(
            app, ["import", str(source), *common, "--out", str(tmp_path / "r1")]
        ).exit_code
        == 0
    )
    before = len(_log(sandbox_url, "omni"))
    source.write_text("Email,First Name,Phone,Tags\nann@x.io,Ann,,\n")  # phone and tags blanked
    result = runner.invoke(
        app, ["import", str(source), *common, "--blanks", "clear", "--out", str(tmp_path / "r2")]
    )
    assert result.exit_code == 0, result.output
    (update,) = _log(sandbox_url, "omni")[before:]
    assert set(update["body"]) == {"leadId", "tags"} and update["body"]["tags"] == []
    row = pl.read_parquet(tmp_path / "r2" / "rows.parquet").row(0, named=True)
    assert row["outcome"] == "updated"
    assert row["reason"] == "not cleared, the API offers no way to: phone"


def test_a_new_loss_reason_travels_with_its_lost_status(sandbox_url: str, tmp_path: Path) -> None:
    source = tmp_path / "o.csv"
    source.write_text("Email,Status,Loss Reason\nann@x.io,lost,price\n")
    args = ["import", str(source), "--target", "sandbox:octanist", "--engine", "local", "--json"]
    assert runner.invoke(app, [*args, "--out", str(tmp_path / "r1")]).exit_code == 0
    before = len(_log(sandbox_url, "octanist"))
    source.write_text("Email,Status,Loss Reason\nann@x.io,lost,timing\n")
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "r2")])
    assert json.loads(result.stdout)["counts"]["updated"] == 1
    (update,) = _log(sandbox_url, "octanist")[before:]
    assert update["body"] == {"id": update["body"]["id"], "lossReason": "timing", "status": "lost"}
