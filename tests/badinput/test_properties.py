"""Property tests: no text in a cell and no bytes in a file make the readers or normalisers raise.

Any cell text ends as a normalised value or a per-row reason (`_issues`); any file ends as one
of our `ImporterError`s or as one row per record through map, normalise and validate.
Surrogates cannot live in a polars string, so they are written escaped (`\\ud800`), as a file
holding them would decode them.
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.exceptions import ImporterError
from transforms.mapping import apply_mapping, resolve_mapping
from transforms.normalise import normalise
from transforms.phones import PhoneBook
from transforms.read import read_source
from transforms.validate import ISSUES, WARNINGS, validate

# Header -> the canonical field it maps to under the generic preset.
FIELDS = {
    "Email": "email",
    "Phone": "phone",
    "Time Zone": "timezone",
    "Country": "country",
    "Value": "value",
    "Opted Out": "opted_out",
    "Status": "status",
    "Note": "note",
}

_chars = st.characters(codec="utf-8")  # control characters included, surrogates not
_short = st.text(_chars, max_size=30)
_long = st.builds(lambda piece, times: piece * times, _short, st.integers(100, 20_000))
_escaped_surrogate = st.integers(0xD800, 0xDFFF).map(lambda c: f"x\\u{c:04x}y")
_likely = st.sampled_from(
    ["", " ", "+49 30 901820", "a@b.co", "Europe/Berlin", "DE", "1.234,5", "yes", "won", "=1+2"]
)
cell = st.one_of(_short, _long, _escaped_surrogate, _likely)
_FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _pipeline(raw: pl.DataFrame) -> pl.DataFrame:
    headers = tuple(c for c in raw.columns if c not in ("source_file", "source_row", "_read_error"))
    mapping = resolve_mapping(headers, preset="generic")
    mapped = apply_mapping(raw.lazy(), mapping).collect()
    normalised = normalise(mapped.lazy(), PhoneBook(), default_region=None).collect()
    return validate(normalised)


@_FAST
@given(st.lists(st.fixed_dictionaries({h: cell for h in FIELDS}), min_size=1, max_size=5))
def test_any_text_is_normalised_or_has_a_reason(records: list[dict[str, str]]) -> None:
    raw = pl.DataFrame(records, schema=dict.fromkeys(FIELDS, pl.String)).with_columns(
        pl.lit("f.csv").alias("source_file"),
        (pl.int_range(pl.len(), dtype=pl.Int64) + 2).alias("source_row"),
        pl.lit(None, pl.String).alias("_read_error"),
    )
    out = _pipeline(raw)
    assert out["source_row"].to_list() == raw["source_row"].to_list()
    for record, row in zip(records, out.iter_rows(named=True), strict=True):
        for header, target in FIELDS.items():
            given_text = record[header].strip()
            kept = row[target] is not None
            # A bad optional value is left out with a warning naming its field (the row is
            # still imported); a row it makes invalid says why in its issues.
            warned = any(w["field"] == target for w in row[WARNINGS])
            said = row[ISSUES] or warned
            assert not given_text or kept or said, (header, record[header], row[ISSUES])


def _csv_bytes(records: list[list[str]]) -> bytes:
    text = io.StringIO()
    # CRLF line ends, so the writer quotes every cell holding a CR or LF: with LF alone it
    # leaves a lone CR bare, which every CSV reader (ours, the stdlib's, Excel) ends a line at.
    csv.writer(text, lineterminator="\r\n").writerows([list(FIELDS)[:3], *records])
    return text.getvalue().encode()


@_FAST
@given(st.lists(st.lists(cell, min_size=3, max_size=3), min_size=1, max_size=4))
def test_any_text_as_csv_cells_reads_one_row_per_record(records: list[list[str]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cells.csv"
        path.write_bytes(_csv_bytes(records))
        try:
            table = read_source(path, scratch=Path(folder) / "scratch")
        except ImporterError as exc:
            assert len(str(exc).splitlines()) == 1
            return
    assert table.frame["source_row"].to_list() == list(range(2, len(records) + 2))
    assert _pipeline(table.frame).height == len(records)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.one_of(st.binary(max_size=400), st.text(_chars, max_size=400).map(str.encode)),
    suffix=st.sampled_from([".csv", ".tsv", ".ndjson", ".parquet", ".xlsx", ".csv.gz", ".txt"]),
)
def test_any_bytes_as_a_file_give_our_error_or_one_row_per_record(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"any{suffix}"
        path.write_bytes(data)
        try:
            table = read_source(path, scratch=Path(folder) / "scratch")
            out = _pipeline(table.frame)
        except ImporterError as exc:
            assert len(str(exc).splitlines()) == 1
            return
    first = table.header_row + 1  # random bytes may begin with a preamble (a blank line)
    assert out["source_row"].to_list() == list(range(first, first + table.rows))
