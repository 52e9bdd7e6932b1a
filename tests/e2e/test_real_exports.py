"""Real exports, out of the box: `leadpipe check FILE` with no flags, one layout at a time.

The samples under tests/data/exports are written in each system's documented export layout
(see its README and layouts.toml). For each one, with no flag at all, the check must:
- detect the expected preset;
- read every record (one report row per record, no more, no fewer);
- mark valid at least 95% of the rows that hold an email email-validator accepts or a phone
  libphonenumber accepts (in the row's country, else the file's home region), the oracle
  being those libraries themselves, called here row by row.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import phonenumbers
import polars as pl
import pytest
from email_validator import EmailNotValidError, validate_email
from typer.testing import CliRunner

from flows.cli import app
from schemas.presets import header_key
from transforms.mapping import resolve_mapping
from transforms.read import read_source
from transforms.values import country_lookup

EXPORTS = Path(__file__).parents[1] / "data" / "exports"
LAYOUTS: list[dict[str, Any]] = (
    tomllib.loads((EXPORTS / "layouts.toml").read_text(encoding="utf-8"))["layout"]
    if (EXPORTS / "layouts.toml").exists()
    else []
)
_SEPARATORS = (":::", ";", "\n")


def _oracle_accepts(
    record: dict[str, str | None], sources: dict[str, tuple[str, ...]], home: str | None
) -> bool:
    """Whether the record has an email or a phone the reference libraries accept."""
    for column in sources.get("email", ()):
        for value in _values(record.get(column)):
            try:
                validate_email(value, check_deliverability=False)
            except EmailNotValidError:
                continue
            return True
    countries = [record.get(c) for c in sources.get("country", ())]
    country = next((c for c in countries if c and c.strip()), None)
    region = country_lookup().get(header_key(country)) if country else None
    for column in sources.get("phone", ()):
        for value in _values(record.get(column)):
            try:
                number = phonenumbers.parse(value, region or home)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(number):
                return True
    return False


def _values(cell: str | None) -> list[str]:
    if cell is None:
        return []
    text = cell
    for separator in _SEPARATORS:
        text = text.replace(separator, "\x1f")
    return [v.strip() for v in text.split("\x1f") if v.strip()]


@pytest.mark.skipif(not LAYOUTS, reason="tests/data/exports/layouts.toml is missing")
@pytest.mark.parametrize("layout", LAYOUTS, ids=[str(x["file"]) for x in LAYOUTS])
def test_a_real_export_is_checked_right_with_no_flags(
    layout: dict[str, Any], tmp_path: Path
) -> None:
    path = EXPORTS / layout["file"]
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["check", str(path), "--engine", "local", "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["mapping"]["preset"] == layout["preset"], summary["notices"]
    assert summary["rows"] == layout["rows"]
    rows = pl.read_parquet(out / "rows.parquet")
    assert rows.height == layout["rows"]
    assert rows["source_row"].n_unique() == rows.height

    # The oracle reads the same records (the reader is tested on its own) and the columns
    # the detected preset maps, and asks the reference libraries about each row.
    table = read_source(path, scratch=tmp_path / "scratch", sheet=layout.get("sheet"))
    sources = resolve_mapping(table.headers, preset=layout["preset"]).sources
    records = table.frame.select("source_row", *table.headers).to_dicts()
    accepted = {
        r["source_row"] for r in records if _oracle_accepts(r, sources, layout.get("region"))
    }
    assert accepted, "a sample with no usable row tests nothing"
    marked = rows.filter(pl.col("source_row").is_in(list(accepted)))
    valid = marked.filter(pl.col("outcome") != "invalid")
    share = valid.height / len(accepted)
    rejected = marked.filter(pl.col("outcome") == "invalid").select("source_row", "reason")
    assert share >= 0.95, rejected.head(5).to_dicts()


def test_the_layouts_cover_at_least_fifteen_export_layouts() -> None:
    assert len(LAYOUTS) >= 15
    assert len({x["file"] for x in LAYOUTS}) == len(LAYOUTS)


def _check(args: list[str], out: Path) -> dict[str, Any]:
    result = CliRunner().invoke(
        app, ["check", *args, "--engine", "local", "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return summary


def test_a_mapping_given_once_is_remembered_for_the_next_file_with_those_headers(
    tmp_path: Path,
) -> None:
    mapping = tmp_path / "weekly.toml"
    mapping.write_text('[fields]\nemail = "Courriel pro"\nphone = "Tél. bureau"\n', "utf-8")
    week1, week2 = tmp_path / "week1.csv", tmp_path / "week2.csv"
    week1.write_text("Courriel pro,Tél. bureau\nann@acme.example,+1 212 555 0100\n", "utf-8")
    week2.write_text("courriel PRO,tél bureau\nbob@acme.example,+1 212 555 0199\n", "utf-8")

    given = _check([str(week1), "--mapping", str(mapping)], tmp_path / "r1")
    assert given["mapping"]["remembered_at"] is None
    remembered = _check([str(week2)], tmp_path / "r2")
    assert remembered["mapping"]["mapping_file"] == str(mapping.resolve())
    assert remembered["mapping"]["remembered_at"]
    assert remembered["mapping"]["fields"]["email"] == ["courriel PRO"]
    assert remembered["counts"]["valid"] == 1
    assert any(n.startswith("mapping: remembered from ") for n in remembered["notices"])
    forgotten = _check([str(week2), "--no-memory"], tmp_path / "r3")
    assert forgotten["mapping"]["mapping_file"] is None
    assert forgotten["counts"].get("valid", 0) == 0  # generic knows neither column


def test_a_workbook_without_a_table_of_leads_is_one_line_naming_its_sheets(
    tmp_path: Path,
) -> None:
    import xlsxwriter

    path = tmp_path / "notes.xlsx"
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet("Notes").write(0, 0, "Exported from QuickBooks on 2026-12-01")
    book.add_worksheet("Summary").write(0, 0, "Total: 26 leads")
    book.close()
    result = CliRunner().invoke(app, ["check", str(path), "--engine", "local"])
    assert result.exit_code == 3
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "no sheet holds a table of leads (sheets: Notes, Summary)" in lines[0]
    assert "--sheet" in lines[0]


def test_the_summary_names_the_preset_the_deciding_headers_and_the_region(
    tmp_path: Path,
) -> None:
    summary = _check([str(EXPORTS / "zoho_leads.csv")], tmp_path / "run")
    assert summary["mapping"]["preset"] == "zoho"
    assert summary["mapping"]["decided_by"]
    assert summary["region"]["region"] == "US"
    assert summary["region"]["basis"] == "national numbers"
    assert summary["region"]["rows_decided"] > 0
    assert any("read as US" in n for n in summary["notices"])
    rows = pl.read_parquet(tmp_path / "run" / "rows.parquet")
    codes = rows["warnings"].explode().struct.field("code").drop_nulls().to_list()
    assert set(summary["warnings"]) == set(codes)
