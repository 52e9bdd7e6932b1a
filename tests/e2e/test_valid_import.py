"""Import what is valid, and say what was not sent: end to end against the sandbox.

A HubSpot-shaped file whose rows carry junk phones beside valid emails, a bad time zone, a
status word leadpipe does not know and statuses a vendor cannot set: every lead with an email
is created in Octanist and in Omni, each row with its warnings; an edit Octanist cannot update
is reported on its row (skipped, not_sent), never `unchanged`; `--strict` rejects as before.
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
HEADER = "Email,First Name,Last Name,Phone Number,Lead Status,Time Zone,Company Name"
ROWS = [
    ("ann@x.io", "Ann", "Lee", "n/a", "Unqualified", "Europe/Paris", "Acme"),
    ("bob@x.io", "Bob", "Ray", "?", "Working", "Mars/Base", "Acme"),
    ("cy@x.io", "Cy", "Day", "0", "Bad Timing", "", "Acme"),
    ("di@x.io", "Di", "Fox", "12", "Open Deal", "", "Acme"),
    ("ed@x.io", "Ed", "Kim", "+12125550105", "New", "America/New_York", "Acme"),
    ("", "Fay", "Orr", "n/a", "", "", "Acme"),  # no usable identity: the one rejected row
]


def _file(path: Path, edits: dict[int, dict[int, str]] | None = None) -> Path:
    lines = []
    for n, row in enumerate(ROWS):
        cells = list(row)
        for column, value in (edits or {}).get(n, {}).items():
            cells[column] = value
        lines.append(",".join(cells))
    path.write_text(HEADER + "\n" + "\n".join(lines) + "\n")
    return path


def _run(command: str, source: Path, vendor: str, out: Path, *extra: str) -> dict[str, Any]:
    args = [command, str(source), "--target", f"sandbox:{vendor}", "--engine", "local"]
    result = runner.invoke(app, [*args, "--preset", "hubspot", "--out", str(out), "--json", *extra])
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def _codes(out: Path) -> dict[int, list[tuple[str, str]]]:
    rows = pl.read_parquet(out / "rows.parquet")
    return {
        r["source_row"]: sorted((w["field"], w["code"]) for w in r["warnings"])
        for r in rows.iter_rows(named=True)
    }


def _posts(url: str, vendor: str) -> int:
    log = httpx.get(f"{url}/_sandbox/requests", params={"vendor": vendor}).json()
    return sum(1 for e in log if e["method"] == "POST")


@pytest.mark.parametrize("vendor", ["octanist", "omni"])
def test_every_lead_with_an_email_is_created_with_its_warnings(
    sandbox_url: str, tmp_path: Path, vendor: str
) -> None:
    summary = _run("import", _file(tmp_path / "leads.csv"), vendor, tmp_path / "r1")
    counts = {k: v for k, v in summary["counts"].items() if v}
    assert counts == {"created": 5, "invalid": 1}
    assert _posts(sandbox_url, vendor) == 5
    codes = _codes(tmp_path / "r1")
    assert ("phone", "invalid_phone") in codes[3] and ("timezone", "invalid_timezone") in codes[3]
    assert ("status", "unknown_status") in codes[3]  # `Working`: kept in custom as status_raw
    assert ("phone", "invalid_phone") in codes[4] and ("phone", "invalid_phone") in codes[5]
    rows = pl.read_parquet(tmp_path / "r1" / "rows.parquet")
    bob = rows.row(1, named=True)
    assert {"key": "status_raw", "value": "Working"} in bob["custom"]
    assert (bob["phone"], bob["timezone"], bob["status"]) == (None, None, None)
    assert rows.row(5, named=True)["reason_code"] == "no_identity"
    # What each vendor cannot set is said once per word, with the line that fixes it.
    lines = {m["word"]: m["line"] for m in summary["status_mappings"]}
    if vendor == "octanist":  # not_interested is not Octanist's; it stores no company either
        assert ("status", "unsettable_status") in codes[2]
        assert lines == {
            "Unqualified": '[values.status] "Unqualified" = "lost"',
            "Bad Timing": '[values.status] "Bad Timing" = "lost"',
        }
        assert summary["not_sent"]["business_name"] == 5
        assert summary["not_sent"]["timezone"] == 2  # the two the file gave and were valid
    else:  # Omni cannot set qualified ("Open Deal")
        assert lines == {"Open Deal": '[values.status] "Open Deal" = "in_progress"'}
        assert ("status", "unsettable_status") in codes[5]


def test_an_edit_octanist_cannot_update_is_skipped_as_not_sent(
    sandbox_url: str, tmp_path: Path
) -> None:
    _run("import", _file(tmp_path / "leads.csv"), "octanist", tmp_path / "r1")
    edited = _file(tmp_path / "edited.csv", {3: {2: "Foxx"}, 4: {6: "Globex"}})
    _run("import", edited, "octanist", tmp_path / "r2")
    rows = pl.read_parquet(tmp_path / "r2" / "rows.parquet")
    di, ed = rows.row(3, named=True), rows.row(4, named=True)
    assert (di["outcome"], di["reason_code"]) == ("skipped", "not_sent")
    assert "last_name" in di["reason"]
    assert ("last_name", "not_sent") in [(w["field"], w["code"]) for w in di["warnings"]]
    assert (ed["outcome"], ed["reason_code"]) == ("skipped", "not_sent")
    assert "business_name" in ed["reason"]
    assert "unchanged" not in rows.filter(pl.col("source_row").is_in([5, 6]))["outcome"]


def test_an_update_reports_old_and_new_values(sandbox_url: str, tmp_path: Path) -> None:
    _run("import", _file(tmp_path / "leads.csv"), "octanist", tmp_path / "r1")
    edited = _file(tmp_path / "edited.csv", {4: {4: "Open Deal"}})  # Ed: new -> qualified
    _run("import", edited, "octanist", tmp_path / "r2")
    ed = pl.read_parquet(tmp_path / "r2" / "rows.parquet").row(4, named=True)
    assert ed["outcome"] == "updated"
    assert ed["changes"] == [{"field": "status", "old": "open", "new": "qualified"}]
    csv = pl.read_csv(tmp_path / "r2" / "rows.csv", infer_schema=False)
    assert json.loads(csv.row(4, named=True)["changes"]) == ed["changes"]


def test_strict_rejects_every_row_with_a_bad_value(sandbox_url: str, tmp_path: Path) -> None:
    summary = _run("plan", _file(tmp_path / "leads.csv"), "octanist", tmp_path / "r1", "--strict")
    assert summary["counts"]["invalid"] == 4
    rows = pl.read_parquet(tmp_path / "r1" / "rows.parquet")
    assert rows["reason_code"].to_list()[1:4] == ["invalid_phone"] * 3
    assert (
        "invalid_status" in rows.row(1, named=True)["reason"]
        or "Working" in (rows.row(1, named=True)["reason"])
    )


def test_strict_from_the_config_file_and_a_wrong_value_is_one_line(tmp_path: Path) -> None:
    source = _file(tmp_path / "leads.csv")
    config = tmp_path / "leadpipe.toml"
    config.write_text("strict = true\n")
    args = ["check", str(source), "--preset", "hubspot", "--engine", "local", "--json"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "r1"), "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["counts"]["invalid"] == 4
    off = [*args, "--out", str(tmp_path / "r3"), "--config", str(config), "--no-strict"]
    assert json.loads(runner.invoke(app, off).stdout)["counts"]["invalid"] == 1  # flag wins
    config.write_text('strict = "yes"\n')
    wrong = runner.invoke(app, [*args, "--out", str(tmp_path / "r4"), "--config", str(config)])
    assert wrong.exit_code == 2
    assert "strict must be true or false, not 'yes'" in wrong.output


def test_the_terminal_shows_the_mapping_line_with_its_brackets(
    sandbox_url: str, tmp_path: Path
) -> None:
    """A re-run's skipped rows quote `[values.status] "Unqualified" = "lost"` in the Top
    reasons table: printed as text, not eaten as terminal markup."""
    source = _file(tmp_path / "leads.csv")
    _run("import", source, "octanist", tmp_path / "r1")
    args = ["import", str(source), "--target", "sandbox:octanist", "--engine", "local"]
    result = runner.invoke(app, [*args, "--preset", "hubspot", "--out", str(tmp_path / "r2")])
    assert result.exit_code == 0, result.output
    table = result.output.split("Top reasons", 1)[1].split("rows kept with warnings", 1)[0]
    flat = " ".join(table.replace("│", " ").split())
    assert "unsettable_status" in flat
    assert "one it can: [values.status]" in flat
