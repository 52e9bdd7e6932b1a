"""Read a lead export into a table of strings, one row per source record.

Every column is read as text (no guessing that turns `00123` into 123), and each row gets
`source_file` and `source_row` (the spreadsheet row number: header 1, first record 2). Rows the
file holds but cannot give cleanly (ragged rows, blank lines) are kept with `_read_error` set,
so the report accounts for them; a file that cannot be read at all raises `ReadError`.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import os
import re
import shutil
import sys
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from transforms.exceptions import ReadError

__all__ = ["READ_ERROR", "SourceTable", "Spilled", "read_source"]

READ_ERROR = "_read_error"
_SAMPLE_BYTES = 256 * 1024
_CHUNK_BYTES = 4 * 1024 * 1024
_DELIMITERS = (",", ";", "\t", "|")
# Beyond this share of ragged rows the delimiter or quoting is wrong, not a few rows.
_MAX_RAGGED_SHARE = 0.5
_LOOKS_LIKE_DATA = re.compile(r"^\s*(\S+@\S+\.\S+|\+?[0-9][0-9 ().-]{5,})\s*$")
_FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
}

# What `_detect_encoding` answers for a text file that is not UTF-8 as a whole, and what such
# a file's lines are tried as, in turn (latin-1 decodes any byte).
_NOT_UTF8 = "not-utf-8"
_LINE_ENCODINGS = ("utf-8", "cp1252", "latin-1")


@dataclass(frozen=True)
class Spilled:
    """Records kept in a Parquet file instead of memory (`read_source(..., spill=True)`).

    `columns` turn the file's columns into the table's (names, text); `errors` holds the few
    records with a `_read_error`, by position (`_row`, from 0).
    """

    path: Path
    height: int
    columns: tuple[pl.Expr, ...]
    errors: pl.DataFrame
    source_file: str = ""


@dataclass(frozen=True)
class SourceTable:
    """A source file read as text: the frame plus what the reader found out about it.

    A spilled table's `frame` is empty (it only gives the columns); `partition` reads any
    range of its records either way.
    """

    frame: pl.DataFrame
    headers: tuple[str, ...]
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    ignored_columns: tuple[str, ...] = field(default=())
    spilled: Spilled | None = None

    @property
    def rows(self) -> int:
        return self.spilled.height if self.spilled is not None else self.frame.height

    def partition(self, offset: int, length: int) -> pl.DataFrame:
        """Records `offset` .. `offset + length - 1` (from 0), as `frame.slice` would give them."""
        if self.spilled is None:
            return self.frame.slice(offset, length)
        return _spilled_range(self.spilled, offset, length).select(self.frame.columns)


def read_source(
    path: Path, *, scratch: Path, sheet: str | None = None, spill: bool = False
) -> SourceTable:
    """Read any supported export into a `SourceTable` (columns all `pl.String`).

    `scratch` is a folder for transcoded or decompressed copies of large text files. With
    `spill`, delimited text is parsed into a Parquet file in `scratch` by polars' streaming
    engine and a Parquet source is scanned where it lies, so memory does not grow with the
    file; `SourceTable.partition` then reads ranges of records. XLSX and NDJSON are read whole
    either way (so is a CSV only Python's reader can split: a quote inside an unquoted field).
    """
    if not path.exists():
        raise ReadError("file not found", path=str(path))
    if path.is_dir():
        raise ReadError("is a folder, not a file", path=str(path))
    try:
        table = _read_by_format(path, _detect_format(path), scratch, sheet, spill)
    except ReadError as exc:
        if exc.path in (None, str(path)):
            raise
        # Raised about a decompressed or transcoded copy: name the file the user gave.
        message = str(exc).removeprefix(f"{exc.path}: ")
        raise ReadError(message, path=str(path)) from None
    except (OSError, EOFError, zlib.error, csv.Error) as exc:
        raise ReadError(f"cannot be read: {exc}", path=str(path)) from None
    except pl.exceptions.PolarsError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ReadError(f"cannot be parsed: {first_line}", path=str(path)) from None
    return _with_source_columns(table, path.name)


def _detect_format(path: Path) -> str:
    with path.open("rb") as fh:
        head = fh.read(8)
    if not head:
        raise ReadError("file is empty", path=str(path))
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\x1f\x8b"):
        return "csv.gz"
    suffix = path.suffix.lower()
    if suffix in (".xls", ".xlsb", ".ods"):
        raise ReadError(
            f"{suffix} workbooks are not supported: save the sheet as .xlsx or .csv", path=str(path)
        )
    if suffix in (".parquet", ".pq", ".xlsx", ".xlsm"):
        raise ReadError(f"is not a valid {suffix} file", path=str(path))
    return _FORMATS.get(suffix, "csv")


def _read_by_format(
    path: Path, fmt: str, scratch: Path, sheet: str | None, spill: bool
) -> SourceTable:
    if fmt == "parquet":
        return _read_parquet(path, spill)
    if fmt == "xlsx":
        return _read_xlsx(path, sheet)
    if fmt == "ndjson":
        return _read_ndjson(path)
    spill_to = scratch / "source.parquet" if spill else None
    if fmt == "csv.gz":
        gunzipped = _gunzip(path, scratch)
        return _read_delimited(gunzipped, "csv.gz", scratch, None, spill_to)
    return _read_delimited(path, fmt, scratch, "\t" if fmt == "tsv" else None, spill_to)


def _gunzip(path: Path, scratch: Path) -> Path:
    scratch.mkdir(parents=True, exist_ok=True)
    target = scratch / (path.name.removesuffix(".gz") or "source.csv")
    try:
        with gzip.open(path, "rb") as src, target.open("wb") as dst:
            shutil.copyfileobj(src, dst, _CHUNK_BYTES)
    except EOFError:
        raise ReadError(
            "gzip file is truncated (it ends before the compressed data does)", path=str(path)
        ) from None
    except gzip.BadGzipFile as exc:
        raise ReadError(f"not a valid gzip file: {exc}", path=str(path)) from None
    return target


# --- delimited text -------------------------------------------------------------------------


def _read_delimited(
    path: Path, fmt: str, scratch: Path, forced_delimiter: str | None, spill_to: Path | None
) -> SourceTable:
    encoding = _detect_encoding(path)
    if encoding == _NOT_UTF8:
        utf8_path, encoding = _transcode_lines(path, scratch)
    else:
        utf8_path = path if encoding == "utf-8" else _transcode(path, encoding, scratch)
    if _has_lone_cr(utf8_path):
        # polars ends records at LF only: old Mac line ends (and any CR in a cell) become LF.
        utf8_path = _transcode(utf8_path, "utf-8", scratch, newline=None)
    sample = _text_sample(utf8_path)
    if not sample.strip():
        raise ReadError("file is empty", path=str(path))
    delimiter = forced_delimiter or _detect_delimiter(sample)
    headers = _read_header(sample, delimiter, path)
    records, counts = _scan_counted(utf8_path, delimiter, len(headers), path, spill_to)
    _refuse_wrong_delimiter(counts, len(headers), delimiter, path)
    columns, ignored = _named_columns(records.lazy(), headers, path)
    named = tuple(h for h in headers if h)
    facts = SourceTable(
        pl.DataFrame(), named, fmt, encoding, delimiter=delimiter, ignored_columns=ignored
    )
    if records.path is None:
        with_reason = records.lazy().with_columns(_ragged_reason(counts, len(headers)))
        return replace(facts, frame=with_reason.select(*columns, READ_ERROR).collect())
    no_error = pl.lit(None, pl.String).alias(READ_ERROR)
    spilled = Spilled(
        records.path, records.height, (*columns, no_error), _ragged_errors(counts, len(headers))
    )
    return replace(facts, frame=_spilled_range(spilled, 0, 0), spilled=spilled)


@dataclass(frozen=True)
class _Records:
    """Records as `_c0`.. text columns: a frame in memory, or a Parquet file (spilled)."""

    frame: pl.DataFrame | None = None
    path: Path | None = None

    def lazy(self) -> pl.LazyFrame:
        if self.frame is not None:
            return self.frame.lazy()
        assert self.path is not None
        return pl.scan_parquet(self.path)

    @property
    def height(self) -> int:
        if self.frame is not None:
            return self.frame.height
        return int(self.lazy().select(pl.len()).collect().item())


def _detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM), UTF-16 (BOM or NUL pattern), else `_NOT_UTF8` (a legacy
    single-byte text, or a mix: `_transcode_lines` decides line by line)."""
    with path.open("rb") as fh:
        head = fh.read(_SAMPLE_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    nul_share = head.count(0) / max(len(head), 1)
    if nul_share > 0.3:
        if head[1::2].count(0) > len(head) // 2 * 0.9:
            return "utf-16-le"
        if head[0::2].count(0) > len(head) // 2 * 0.9:
            return "utf-16-be"
    if nul_share > 0 or _looks_binary(head):
        raise ReadError("looks like a binary file, not a text export", path=str(path))
    return "utf-8" if _is_utf8(path) else _NOT_UTF8


def _looks_binary(head: bytes) -> bool:
    controls = sum(head.count(b) for b in range(32) if b not in (9, 10, 12, 13))
    return controls > max(8, len(head) // 100)


def _is_utf8(path: Path) -> bool:
    """Whether the whole file is valid UTF-8, checked by polars (~4x Python's decoder)."""
    try:
        for piece in _whole_characters(path):
            pl.Series([piece], dtype=pl.Binary).cast(pl.String)
    except pl.exceptions.ComputeError:  # polars' "invalid utf8"
        return False
    return True


def _whole_characters(path: Path) -> Iterator[bytes]:
    """The file in blocks that never split a UTF-8 character (the last one moves on)."""
    rest = b""
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK_BYTES):
            block = rest + block
            cut = len(block)
            while cut > 0 and len(block) - cut < 3 and 0x80 <= block[cut - 1] < 0xC0:
                cut -= 1
            cut = cut - 1 if cut > 0 and block[cut - 1] >= 0xC0 else len(block)
            yield block[:cut]
            rest = block[cut:]
    yield rest


def _decodes_whole(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK_BYTES):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _transcode(path: Path, encoding: str, scratch: Path, newline: str | None = "") -> Path:
    """A UTF-8 copy; `newline=None` also turns CR and CRLF line ends into LF."""
    scratch.mkdir(parents=True, exist_ok=True)
    target = scratch / f"{path.stem}.{'utf8' if newline == '' else 'lf'}{path.suffix or '.csv'}"
    with (
        path.open("r", encoding=encoding, newline=newline) as src,
        target.open("w", encoding="utf-8", newline="") as dst,
    ):
        try:
            shutil.copyfileobj(src, dst, _CHUNK_BYTES)
        except UnicodeDecodeError as exc:  # UTF-16 guessed from NUL bytes, then cut mid-way
            raise ReadError(
                f"is not valid {encoding} text ({exc.reason})", path=str(path)
            ) from None
    return target


def _transcode_lines(path: Path, scratch: Path) -> tuple[Path, str]:
    """A UTF-8 copy of a file that is not UTF-8 as a whole, decoded line by line: a line that
    is valid UTF-8 stays as it is (a file appended to by two tools), the others are read as
    cp1252, or latin-1 where cp1252 leaves a byte undefined. Returns the copy and what was
    found: "cp1252", "latin-1", or a mix such as "utf-8+cp1252".
    """
    scratch.mkdir(parents=True, exist_ok=True)
    target = scratch / f"{path.stem}.utf8{path.suffix or '.csv'}"
    found: set[str] = set()
    with path.open("rb") as src, target.open("wb") as dst:
        for line in src:  # split at LF only: a CR-only file is one "line", decoded whole
            if line.isascii():
                dst.write(line)
                continue
            for encoding in _LINE_ENCODINGS:
                try:
                    text = line.decode(encoding)
                except UnicodeDecodeError:
                    continue
                found.add(encoding)
                dst.write(text.encode("utf-8"))
                break
    return target, "+".join(e for e in _LINE_ENCODINGS if e in found) or "cp1252"


def _text_sample(path: Path) -> str:
    """The first 256 KiB, or more so that the header line (100k columns, say) is whole."""
    with path.open("rb") as fh:
        sample = fh.read(_SAMPLE_BYTES)
        while b"\n" not in sample and b"\r" not in sample and (more := fh.read(_CHUNK_BYTES)):
            sample += more
    return sample.decode("utf-8", errors="ignore")


def _detect_delimiter(sample: str) -> str:
    """The candidate that splits the first lines into the same, largest number of fields."""
    lines = sample.splitlines()[:50]
    best, best_score = ",", -1.0
    for delimiter in _DELIMITERS:
        widths = [len(row) for row in _csv_reader(lines, delimiter) if row]
        if not widths or widths[0] < 2:
            continue
        consistent = sum(w == widths[0] for w in widths) / len(widths)
        score = consistent * 1000 + widths[0]
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _read_header(sample: str, delimiter: str, path: Path) -> list[str]:
    # newline="" lets the reader end the header at a lone CR too, as it does the records.
    lines = io.StringIO(sample, newline="")
    headers = [h.strip() for h in next(_csv_reader(lines, delimiter), [])]
    if not any(headers):
        raise ReadError("no header row: the first line is blank", path=str(path))
    data_like = [h for h in headers if _LOOKS_LIKE_DATA.match(h)]
    if data_like:
        raise ReadError(
            f"no header row: the first line holds data ({data_like[0]!r}); add a header line",
            path=str(path),
        )
    _refuse_duplicates(headers, path)
    _refuse_pattern_names(headers, path)
    return headers


def _refuse_pattern_names(headers: list[str], path: Path) -> None:
    """polars reads `*` and `^...$` as column patterns, so such a name cannot select itself."""
    for name in headers:
        if name == "*" or (len(name) > 1 and name.startswith("^") and name.endswith("$")):
            raise ReadError(f"column name {name!r} cannot be used; rename it", path=str(path))


def _refuse_duplicates(headers: list[str], path: Path) -> None:
    seen: dict[str, int] = {}
    for position, name in enumerate(headers, start=1):
        if name and name in seen:
            raise ReadError(
                f"duplicate column name {name!r} (columns {seen[name]} and {position}); rename one",
                path=str(path),
            )
        seen[name] = position


def _scan_counted(
    path: Path, delimiter: str, width: int, source: Path, spill_to: Path | None
) -> tuple[_Records, np.ndarray]:
    """The records as text and how many fields each had.

    Counting every record with the stdlib reader costs ~2 s a million rows, so polars reads
    strictly first: it refuses a record with too many fields, and one with too few leaves its
    last column null, so only those rows (and a last record without a newline, whose empty
    last field polars drops) are counted, each on its own line (`_recount`). When polars
    refuses the file or a record spans lines, every record is counted. When polars disagrees
    with that count: if every record is one line, the culprit is a quote inside an unquoted
    field (`He said "hi"`, `=HYPERLINK("a","b")`), and the stdlib's lenient reading is kept
    (a row it splits differently is ragged); otherwise a quote was left open: refused.
    """
    records = _scan_strict(path, delimiter, width, spill_to)
    counts = None if records is None else _recount(path, records, delimiter, width)
    if records is not None and counts is not None:
        return records, counts
    every = _field_counts(path, delimiter)
    try:
        records = _scan_text(path, delimiter, width, spill_to=spill_to)
    except pl.exceptions.PolarsError:
        records = None
    if records is not None and records.height == len(every) - 1:
        return records, every[1:]
    if len(every) == _line_count(path):
        return _Records(_read_lenient(path, delimiter, width)), every[1:]
    raise ReadError(
        "records could not be delimited consistently (is a quote left open?)", path=str(source)
    )


def _line_count(path: Path) -> int:
    """Lines, counting a last one without its line end (the file has LF or CRLF ends here)."""
    lines, last = 0, b""
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK_BYTES):
            lines += block.count(b"\n")
            last = block[-1:]
    return lines + (last not in (b"\n", b""))


def _read_lenient(path: Path, delimiter: str, width: int) -> pl.DataFrame:
    """The records as the stdlib reads them, cut or padded to `width`, empty cells null like
    polars'. One Python step per row: only for files polars cannot split the same way."""
    with path.open("r", encoding="utf-8-sig", newline="") as fh:
        records = _csv_reader(fh, delimiter)
        next(records, None)  # the header
        rows = [[cell or None for cell in (row + [""] * width)[:width]] for row in records]
    schema = {f"_c{i}": pl.String for i in range(width)}
    return pl.DataFrame(rows, schema=schema, orient="row")


def _has_lone_cr(path: Path) -> bool:
    """Whether a CR stands without its LF: the stdlib reader ends a record there, polars not."""
    pending = False  # the previous block ended in CR
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK_BYTES):
            data = np.frombuffer(block, dtype=np.uint8)
            if pending and data[0] != 0x0A:
                return True
            cr = np.flatnonzero(data[:-1] == 0x0D)
            if (data[cr + 1] != 0x0A).any():
                return True
            pending = bool(data[-1] == 0x0D)
    return pending


def _scan_strict(path: Path, delimiter: str, width: int, spill_to: Path | None) -> _Records | None:
    try:
        return _scan_text(path, delimiter, width, strict=True, spill_to=spill_to)
    except pl.exceptions.PolarsError:
        return None  # ragged or malformed: the full count decides and explains


def _recount(path: Path, records: _Records, delimiter: str, width: int) -> np.ndarray | None:
    """Fields per record where polars leaves doubt; None when records and lines do not pair up."""
    last = records.lazy().select(pl.col(f"_c{width - 1}").is_null()).collect().to_series()
    counts = np.full(last.len(), width, dtype=np.int64)
    short = last.to_numpy(writable=True)
    if last.len() and not _ends_with_newline(path):
        short[-1] = True  # polars drops an empty last field at the very end of the file
    unsure = np.flatnonzero(short)
    if not unsure.size:
        return counts
    # Scanned, not read: only the doubtful lines are kept in memory.
    lines = pl.scan_lines(path, row_index_name="_line")
    if lines.select(pl.len()).collect().item() != last.len() + 1:
        return None  # a record spans lines: count them all
    wanted = pl.Series(unsure + 1, dtype=pl.Int64)
    picked = lines.filter(pl.col("_line").cast(pl.Int64).is_in(wanted.implode())).collect()
    texts = picked.get_column("line").to_list()
    # The trailing blank line proves the last text closed its quotes: each text is one record.
    found = list(map(len, _csv_reader([*texts, ""], delimiter)))
    if len(found) != len(texts) + 1:
        return None
    counts[unsure] = found[:-1]
    return counts


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) == b"\n"


def _field_counts(path: Path, delimiter: str) -> np.ndarray:
    """Fields per record, counted by the stdlib's C reader (no Python call per row)."""
    with path.open("r", encoding="utf-8-sig", newline="") as fh:
        return np.fromiter(map(len, _csv_reader(fh, delimiter)), dtype=np.int64)


def _csv_reader(lines: Iterable[str], delimiter: str) -> Iterator[list[str]]:
    """The stdlib reader without its 128 KiB cap on a field (a long note is still a note)."""
    csv.field_size_limit(sys.maxsize)
    return csv.reader(lines, delimiter=delimiter)


def _scan_text(
    path: Path, delimiter: str, width: int, *, strict: bool = False, spill_to: Path | None = None
) -> _Records:
    """Records as `_c0`..: `strict` refuses a record with too many fields instead of cutting it.

    With `spill_to`, the streaming engine parses the file into that Parquet file instead.
    """
    if spill_to is None:
        return _Records(frame=_csv_reading(pl.read_csv, path, delimiter, width, strict))
    spill_to.parent.mkdir(parents=True, exist_ok=True)
    scan = _csv_reading(pl.scan_csv, path, delimiter, width, strict)
    # lz4: the scratch copy is read once more and deleted, so speed beats size.
    scan.sink_parquet(spill_to, compression="lz4")
    return _Records(path=spill_to)


def _csv_reading(read: Any, path: Path, delimiter: str, width: int, strict: bool) -> Any:
    """`pl.read_csv` or `pl.scan_csv` with the reader's settings (they take the same ones)."""
    schema = {f"_c{i}": pl.String for i in range(width)}
    return read(
        path,
        has_header=False,
        skip_rows=1,
        separator=delimiter,
        schema=schema,
        encoding="utf8",
        truncate_ragged_lines=not strict,
        missing_columns="insert",
        # A first record longer than the header is ragged, like any other (not the file's width).
        extra_columns="raise" if strict else "ignore",
        raise_if_empty=False,
    )


def _ragged_reason(counts: np.ndarray, width: int) -> pl.Expr:
    fields = pl.lit(pl.Series("_fields", counts, dtype=pl.Int64))
    return (
        pl.when(fields == 0)
        .then(pl.lit("empty_row|the row is blank"))
        .when(fields < width)
        .then(
            pl.format("ragged_row|the row has {} fields but the header has " + str(width), fields)
        )
        .when(fields > width)
        .then(
            pl.format(
                "ragged_row|the row has {} fields but the header has "
                + str(width)
                + " (values past the last column were not read)",
                fields,
            )
        )
        .otherwise(None)
        .alias(READ_ERROR)
    )


def _ragged_errors(counts: np.ndarray, width: int) -> pl.DataFrame:
    """`_read_error` of the records that have one, by position (`_row`): a spilled table's."""
    rows = np.flatnonzero(counts != width)
    frame = pl.DataFrame({"_row": pl.Series(rows, dtype=pl.Int64)})
    return frame.with_columns(_ragged_reason(counts[rows], width))


def _refuse_wrong_delimiter(counts: np.ndarray, width: int, delimiter: str, path: Path) -> None:
    if counts.size < 10:
        return
    ragged = int(((counts != width) & (counts != 0)).sum())  # `ragged_row`, not `empty_row`
    if ragged / counts.size > _MAX_RAGGED_SHARE:
        raise ReadError(
            f"{ragged} of {counts.size} rows do not have as many fields as the header "
            f"(delimiter {delimiter!r}); the file is not a consistent table",
            path=str(path),
        )


def _named_columns(
    records: pl.LazyFrame, headers: list[str], path: Path
) -> tuple[list[pl.Expr], tuple[str, ...]]:
    """The named columns (`_c0` as its header); unnamed columns that hold nothing are ignored,
    unnamed columns with values are an error."""
    keep: list[pl.Expr] = []
    ignored: list[str] = []
    for position, name in enumerate(headers):
        column = f"_c{position}"
        if name:
            keep.append(pl.col(column).alias(name))
            continue
        longest = records.select(pl.col(column).str.strip_chars().fill_null("").str.len_bytes())
        if longest.max().collect().item():
            raise ReadError(
                f"column {position + 1} has no header name but holds values", path=str(path)
            )
        ignored.append(f"column {position + 1}")
    return keep, tuple(ignored)


# --- binary formats ---------------------------------------------------------------------------


def _read_parquet(path: Path, spill: bool) -> SourceTable:
    if not spill:
        frame = pl.read_parquet(path)
        return SourceTable(
            frame=_all_text(frame, path), headers=tuple(frame.columns), format="parquet"
        )
    # Scanned where it lies: the text columns are made per partition.
    schema = pl.read_parquet_schema(path)
    columns = _text_columns(schema, path)
    if READ_ERROR not in schema:
        columns.append(pl.lit(None, dtype=pl.String).alias(READ_ERROR))
    height = int(pl.scan_parquet(path).select(pl.len()).collect().item())
    no_errors = pl.DataFrame(schema={"_row": pl.Int64, READ_ERROR: pl.String})
    spilled = Spilled(path, height, tuple(columns), no_errors)
    return SourceTable(
        frame=_spilled_range(spilled, 0, 0),
        headers=tuple(schema),
        format="parquet",
        spilled=spilled,
    )


def _read_ndjson(path: Path) -> SourceTable:
    encoding = _detect_encoding(path)
    if encoding == _NOT_UTF8:
        encoding = "cp1252" if _decodes_whole(path, "cp1252") else "latin-1"
    if encoding not in ("utf-8", "utf-8-sig"):
        raise ReadError(f"NDJSON must be UTF-8 (found {encoding})", path=str(path))
    try:
        frame = pl.read_ndjson(path, infer_schema_length=None)
    except pl.exceptions.ComputeError:
        frame = _read_ndjson_lines(path)
    return SourceTable(
        frame=_all_text(frame, path),
        headers=tuple(c for c in frame.columns if c != READ_ERROR),
        format="ndjson",
        encoding=encoding,
    )


def _read_ndjson_lines(path: Path) -> pl.DataFrame:
    """Line by line, once polars refused the file: a line that is no JSON object becomes a row
    with `_read_error`, so one bad line costs one record, not the file. Blank lines are skipped,
    as polars skips them."""
    lines = [line for line in path.read_text("utf-8-sig").splitlines() if line.strip()]
    good: list[int] = []
    bad: dict[int, str] = {}
    for position, line in enumerate(lines):
        if isinstance(_json_or_none(line), dict):
            good.append(position)
        else:
            bad[position] = f"bad_json|record {position + 1} is not a JSON object: {line[:40]!r}"
    frame = pl.DataFrame()
    if good:
        text = "\n".join(lines[i] for i in good).encode()
        frame = pl.read_ndjson(io.BytesIO(text), infer_schema_length=None)
    errors = pl.DataFrame(
        {"_position": list(bad), READ_ERROR: list(bad.values())},
        schema={"_position": pl.Int64, READ_ERROR: pl.String},
    )
    placed = frame.with_columns(pl.Series("_position", good, dtype=pl.Int64))
    return pl.concat([placed, errors], how="diagonal").sort("_position").drop("_position")


def _json_or_none(line: str) -> object:
    try:
        return json.loads(line)
    except ValueError:
        return None


def _read_xlsx(path: Path, sheet: str | None) -> SourceTable:
    import fastexcel

    try:
        reader = fastexcel.read_excel(path)
        names = reader.sheet_names
        chosen = sheet if sheet is not None else names[0]
        if chosen not in names:
            raise ReadError(
                f"no sheet named {chosen!r} (sheets: {', '.join(names)})", path=str(path)
            )
        frame = reader.load_sheet(chosen, dtypes="string").to_polars()
    except fastexcel.FastExcelError as exc:
        first_line = str(exc).strip().splitlines()[0]
        raise ReadError(f"cannot be read as a workbook: {first_line}", path=str(path)) from None
    headers = [str(h).strip() for h in frame.columns]
    _refuse_duplicates(headers, path)
    frame = frame.rename(dict(zip(frame.columns, headers, strict=True)))
    blank = pl.all_horizontal(pl.col(headers).is_null()) if headers else pl.lit(True)
    frame = _all_text(frame, path).with_columns(
        pl.when(blank).then(pl.lit("empty_row|the row is blank")).otherwise(None).alias(READ_ERROR)
    )
    return SourceTable(frame=frame, headers=tuple(headers), format="xlsx", sheet=chosen)


def _all_text(frame: pl.DataFrame, path: Path) -> pl.DataFrame:
    """Every column as `pl.String`: lists joined with ', ', structs as JSON, numbers as written."""
    out = frame.select(_text_columns(frame.schema, path))
    if READ_ERROR not in out.columns:
        out = out.with_columns(pl.lit(None, dtype=pl.String).alias(READ_ERROR))
    return out


def _text_columns(schema: Mapping[str, pl.DataType], path: Path) -> list[pl.Expr]:
    """What `_all_text` makes of each column, as expressions."""
    _refuse_pattern_names(list(schema), path)
    columns = []
    for name, dtype in schema.items():
        if isinstance(dtype, pl.List | pl.Array):
            columns.append(pl.col(name).cast(pl.List(pl.String)).list.join(", ").alias(name))
        elif isinstance(dtype, pl.Struct):
            columns.append(pl.col(name).struct.json_encode().alias(name))
        elif dtype in (pl.Binary, pl.Object):
            raise ReadError(
                f"column {name!r} holds {dtype} values, which cannot be read as text",
                path=str(path),
            )
        else:
            columns.append(pl.col(name).cast(pl.String).alias(name))
    return columns


def _spilled_range(spilled: Spilled, offset: int, length: int) -> pl.DataFrame:
    """Records `offset` .. of a spilled table, with `_read_error` and the source columns."""
    frame = pl.scan_parquet(spilled.path).slice(offset, length).select(spilled.columns).collect()
    errors = spilled.errors.filter(pl.col("_row").is_between(offset, offset + frame.height - 1))
    if errors.height:
        frame = (
            frame.with_columns((pl.int_range(pl.len(), dtype=pl.Int64) + offset).alias("_row"))
            .join(errors, on="_row", how="left", maintain_order="left", suffix="_found")
            .with_columns(pl.coalesce(f"{READ_ERROR}_found", READ_ERROR).alias(READ_ERROR))
            .drop("_row", f"{READ_ERROR}_found")
        )
    return frame.with_columns(
        pl.lit(spilled.source_file).alias("source_file"),
        (pl.int_range(pl.len(), dtype=pl.Int64) + offset + 2).alias("source_row"),
    )


def _with_source_columns(table: SourceTable, source_file: str) -> SourceTable:
    if table.spilled is not None:
        spilled = replace(table.spilled, source_file=source_file)
        frame = _spilled_range(spilled, 0, 0).select(
            "source_file", "source_row", *table.headers, READ_ERROR
        )
        return replace(table, frame=frame, spilled=spilled)
    frame = table.frame.with_columns(
        pl.lit(source_file).alias("source_file"),
        (pl.int_range(pl.len(), dtype=pl.Int64) + 2).alias("source_row"),
    ).select("source_file", "source_row", *table.headers, READ_ERROR)
    return SourceTable(
        frame=frame,
        headers=table.headers,
        format=table.format,
        encoding=table.encoding,
        delimiter=table.delimiter,
        sheet=table.sheet,
        ignored_columns=table.ignored_columns,
    )
