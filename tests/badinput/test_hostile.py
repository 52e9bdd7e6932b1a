"""Inputs that broke the reader rather than a row: a file's own `source_row` column (leadpipe's
rows.csv checked again), a record nested 100,000 levels deep, gzip bombs. Each gives a report
or one line and an exit status, and a refused run leaves no scratch copy behind.

As in test_corpus, the CLI runs with LEADPIPE_DEBUG=1: an error that is not ours escapes.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner, Result

import transforms.read
from flows.cli import app
from tests.conftest import SAMPLES

runner = CliRunner()
HEADER = "Email,First Name,source_row,source_file,_read_error,_warn_x"
RECORDS = ["ann@example.com,Ann,7,old.csv,,hello", "bob@example.com,Bob,8,old.csv,x,"]
OWN_NAMES = {
    "source_row": "source_row (file)",
    "source_file": "source_file (file)",
    "_read_error": "_read_error (file)",
}


@pytest.fixture(autouse=True)
def _debug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADPIPE_DEBUG", "1")


def _check(source: Path, out: Path) -> Result:
    result = runner.invoke(
        app, ["check", str(source), "--engine", "local", "--out", str(out), "--json"]
    )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    return result


def _csv(path: Path) -> None:
    path.write_text("\n".join([HEADER, *RECORDS]) + "\n")


def _frame() -> pl.DataFrame:
    names = HEADER.split(",")
    return pl.DataFrame([r.split(",") for r in RECORDS], schema=names, orient="row")


def _parquet(path: Path) -> None:
    _frame().write_parquet(path)


def _ndjson(path: Path) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in _frame().iter_rows(named=True)))


def _xlsx(path: Path) -> None:
    _frame().write_excel(path)


@pytest.mark.parametrize(
    ("suffix", "write"),
    [(".csv", _csv), (".parquet", _parquet), (".ndjson", _ndjson), (".xlsx", _xlsx)],
)
def test_columns_named_like_leadpipes_own_are_read_under_another_name(
    suffix: str, write: Callable[[Path], None], tmp_path: Path
) -> None:
    """`source_row` is the report's row number: the file's own column of that name is read as
    `source_row (file)` (a custom field), with a notice; `_warn_x` is data, not a warning."""
    source = tmp_path / f"leads{suffix}"
    write(source)
    result = _check(source, tmp_path / "run")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    for old, new in OWN_NAMES.items():
        said = f"the column name {old!r} is leadpipe's own: the file's is read as {new!r}"
        assert said in summary["notices"]
    assert summary["warnings"] == {}
    rows = pl.read_parquet(tmp_path / "run" / "rows.parquet")
    assert rows["outcome"].to_list() == ["valid", "valid"]  # the file's `_read_error` is data
    assert rows["source_row"].to_list() == [2, 3]
    assert rows["source_file"].to_list() == [source.name] * 2
    custom = {e["key"]: e["value"] for e in rows["custom"][0]}
    assert custom["source_row (file)"] == "7" and custom["source_file (file)"] == "old.csv"
    assert custom["_warn_x"] == "hello"
    assert {e["key"]: e["value"] for e in rows["custom"][1]}["_read_error (file)"] == "x"


def test_leadpipes_own_rows_csv_can_be_checked_again(tmp_path: Path) -> None:
    first = _check(SAMPLES / "hubspot_contacts.csv", tmp_path / "first")
    assert first.exit_code == 0, first.stderr
    again = _check(tmp_path / "first" / "rows.csv", tmp_path / "again")
    assert again.exit_code == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["rows"] == json.loads(first.stdout)["rows"] == 20
    assert "the column name 'source_row' is leadpipe's own: the file's is read as " in (
        " ".join(summary["notices"])
    )


def test_a_record_nested_100_000_levels_deep_is_one_invalid_row(tmp_path: Path) -> None:
    source = tmp_path / "deep.ndjson"
    deep = '{"note": ' + "[" * 100_000 + "]" * 100_000 + "}"
    source.write_text('{"email": "ann@example.com"}\n' + deep + '\n{"email": "bob@example.com"}\n')
    result = _check(source, tmp_path / "run")
    assert result.exit_code == 0, result.stderr
    rows = pl.read_parquet(tmp_path / "run" / "rows.parquet")
    assert rows["outcome"].to_list() == ["valid", "invalid", "valid"]
    assert rows["reason_code"][1] == "bad_json"
    assert rows["reason"][1].startswith("record 2 is nested more than 500 levels deep: ")


def test_a_file_of_one_record_too_deep_to_read(tmp_path: Path) -> None:
    source = tmp_path / "deep.ndjson"
    source.write_text('{"email": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    result = _check(source, tmp_path / "run")
    assert result.exit_code == 0, result.stderr
    rows = pl.read_parquet(tmp_path / "run" / "rows.parquet")
    assert rows.select("source_row", "outcome", "reason_code").rows() == [
        (2, "invalid", "bad_json")
    ]


def _refused(result: Result, out: Path) -> str:
    """The one line of a refused run, which left no run directory (so no scratch copy)."""
    assert result.exit_code == 3, result.stderr
    assert result.stdout == ""
    assert not out.exists(), sorted(str(p) for p in out.rglob("*"))
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_gzip_of_zeros_is_refused_at_its_first_block(tmp_path: Path) -> None:
    """A zip bomb of NUL bytes (2 MB of gzip were 2 GB, 3.2 GB left in scratch): its first
    block is binary, so nothing more is decompressed."""
    source = tmp_path / "leads.csv.gz"
    with gzip.open(source, "wb", compresslevel=1) as packed:
        for _ in range(16):
            packed.write(bytes(4 * 2**20))
    out = tmp_path / "run"
    line = _refused(_check(source, out), out)
    assert line == f"leadpipe: error: {source}: looks like a binary file, not a text export"


def test_a_gzip_that_expands_too_far_is_refused_as_it_grows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Text that compresses 1,000 times: refused once it passes the floor (256 MB; 1 MB here)
    at more than 100 times the .gz file's size, and its partial copy removed."""
    monkeypatch.setattr(transforms.read, "_GUNZIP_FLOOR", 2**20)
    source = tmp_path / "leads.csv.gz"
    with gzip.open(source, "wb", compresslevel=9) as packed:
        packed.write(b"email,note\n" + b"a@example.com,x\n" * 1_000_000)
    assert source.stat().st_size * 100 < 16_000_000  # the text is ~16 MB
    out = tmp_path / "run"
    line = _refused(_check(source, out), out)
    assert line.startswith(f"leadpipe: error: {source}: decompresses to more than 100 times ")
    assert line.endswith(
        "MB so far; a decompression bomb?): if it is a real export, decompress it yourself and "
        "read the .csv"
    )
