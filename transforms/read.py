"""Read a lead export into a table of strings, one row per source record.

Every column is read as text (no guessing that turns `00123` into 123), and each row gets
`source_file` and `source_row`: the spreadsheet row number (header on row 1, first record on
row 2, both moved down by any lines above the header). Rows the file holds but cannot give
cleanly (long rows, blank lines) are kept with `_read_error` set, and rows read with a caveat
(a short row padded with blanks) carry a note in `_warn_row`, so the report accounts for every
record; a file that cannot be read at all raises `ReadError`.

Exports are read as they come: the header row is found below a preamble (LinkedIn's
"Notes:"), repeated header names are numbered (`Create Date (2)`), mis-decoded header names
(`TÃ©lÃ©phone`) are repaired, blank lines after the last record are not records, and a
workbook's sheet is the one whose headers look most like leads. `SourceTable` says what was
done, so the report can tell the analyst.

    >>> table = read_source(Path("Connections.csv"), scratch=Path("scratch"))  # doctest: +SKIP
    >>> table.preamble, table.header_row, table.frame["source_row"][0]  # doctest: +SKIP
    (('Notes:', '"When exporting your connection data, ..."', ''), 4, 5)
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import math
import os
import re
import shutil
import stat
import sys
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ftfy
import numpy as np
import polars as pl

from schemas.exceptions import CannotProceedError, ImporterError
from transforms.exceptions import ReadError

if TYPE_CHECKING:
    import _csv

__all__ = [
    "OWN_NAME_SUFFIX",
    "READ_ERROR",
    "READ_WARNING",
    "HeaderScore",
    "SourceTable",
    "Spilled",
    "read_source",
]

READ_ERROR = "_read_error"
# The reader's note on a row it kept as it could ("code|message"), not a rejection.
READ_WARNING = "_warn_row"
# A file's own column of a name the reader gives its columns is read under that name and this
# (`source_row (file)`), and listed in `SourceTable.renamed_headers`.
OWN_NAME_SUFFIX = " (file)"
_OWN_COLUMNS = frozenset({"source_file", "source_row", READ_ERROR, READ_WARNING})
# Scores a sheet's header names: higher is more like a table of leads.
HeaderScore = Callable[[tuple[str, ...]], float]

_SAMPLE_BYTES = 256 * 1024
_CHUNK_BYTES = 4 * 1024 * 1024
# A .gz export is decompressed into the run's scratch; past this size it may not grow to more
# than this many times the .gz file (exports compress 5-20 times; zeros ~1000 times).
_GUNZIP_FLOOR = 256 * 2**20
_MAX_GUNZIP_RATIO = 100
# An NDJSON record nested deeper is refused (one row), not read: polars and Python's parser
# give up near 1,000 levels.
_MAX_JSON_DEPTH = 500
# UTF-16 text is at most half NUL bytes (all ASCII), with some slack for a cut sample.
_MAX_UTF16_NUL_SHARE = 0.55
_DELIMITERS = (",", ";", "\t", "|")
# The header row is looked for among this many first records (or sheet rows).
_HEADER_WINDOW = 30
# Beyond this share of rows that do not split into the header's columns, the delimiter or the
# quoting is wrong, not a few rows.
_MAX_RAGGED_SHARE = 0.5
_LOOKS_LIKE_DATA = re.compile(r"^\s*(\S+@\S+\.\S+|\+?[0-9][0-9 ().-]{5,})\s*$")
# A cell no header is made of, beyond `_LOOKS_LIKE_DATA`: a web address.
_LOOKS_LIKE_URL = re.compile(r"^\s*(https?://|www\.)\S+\s*$", re.IGNORECASE)
# A number or a date: data when a whole row is made of them (a header may name a year).
_LOOKS_LIKE_NUMBER = re.compile(r"^\s*[-+]?[0-9]+([.,:/ -][0-9]+)*\s*$")
# Only the mis-decoding is undone in header names: curly quotes, full-width letters and the
# like are what the file says, not damage.
_FIX_MOJIBAKE = ftfy.TextFixerConfig(
    unescape_html=False,
    remove_terminal_escapes=False,
    fix_latin_ligatures=False,
    fix_character_width=False,
    uncurl_quotes=False,
    fix_line_breaks=False,
    fix_surrogates=False,
    remove_control_chars=False,
    normalization=None,
    explain=False,
)
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

    `columns` turn the file's first `height` rows into the table's (names, text; the notes
    null). `ragged` holds the few records whose field count is not the header's `width`, by
    position (`_row`, from 0) with their count (`_fields`): each range's `_read_error` and
    `_warn_row` are made from it as the range is read, so a file of short rows (Outlook) does
    not keep a message per row in memory.
    """

    path: Path
    height: int
    columns: tuple[pl.Expr, ...]
    ragged: pl.DataFrame
    width: int = 0
    source_file: str = ""


@dataclass(frozen=True)
class SourceTable:
    """A source file read as text: the frame plus what the reader found out about it.

    `frame` holds `source_file`, `source_row`, the `headers`, `_read_error` and `_warn_row`.
    A spilled table's `frame` is empty (it only gives the columns); `partition` reads any
    range of its records either way.

    `preamble` holds the lines above the header row as text (a sheet's rows with their cells
    joined by commas), blank ones as ""; the header is on spreadsheet row `header_row`
    (`len(preamble) + 1`) and the first record on the next. `renamed_headers` and
    `repaired_headers` pair a header name as the file gives it with the name the table uses:
    a repeated name numbered (`Create Date` → `Create Date (2)`) or one the reader gives its
    own columns set apart (`source_row` → `source_row (file)`), a mis-decoded one repaired
    (`TÃ©lÃ©phone` → `Téléphone`). `trailing_blank_rows` counts the blank records after the
    last one that holds a value, which are not rows. `sheet` is the sheet read of a workbook
    whose sheets are `sheets`.
    """

    frame: pl.DataFrame
    headers: tuple[str, ...]
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    ignored_columns: tuple[str, ...] = field(default=())
    spilled: Spilled | None = None
    sheets: tuple[str, ...] = field(default=())
    preamble: tuple[str, ...] = field(default=())
    header_row: int = 1
    renamed_headers: tuple[tuple[str, str], ...] = field(default=())
    repaired_headers: tuple[tuple[str, str], ...] = field(default=())
    trailing_blank_rows: int = 0

    @property
    def rows(self) -> int:
        return self.spilled.height if self.spilled is not None else self.frame.height

    def partition(self, offset: int, length: int) -> pl.DataFrame:
        """Records `offset` .. `offset + length - 1` (from 0), as `frame.slice` would give them."""
        if self.spilled is None:
            return self.frame.slice(offset, length)
        first_row = self.header_row + 1
        return _spilled_range(self.spilled, offset, length, first_row).select(self.frame.columns)

    def scan(self) -> pl.LazyFrame:
        """Every record, lazily: a pass over a few columns of the whole file (a spilled table's
        read from its Parquet file, only the columns selected)."""
        if self.spilled is None:
            return self.frame.lazy()
        return _spilled_scan(self.spilled, self.header_row + 1).select(self.frame.columns)


def read_source(
    path: Path,
    *,
    scratch: Path,
    sheet: str | None = None,
    spill: bool = False,
    header_score: HeaderScore | None = None,
) -> SourceTable:
    """Read any supported export into a `SourceTable` (columns all `pl.String`).

    `scratch` is a folder for transcoded or decompressed copies of large text files. With
    `spill`, delimited text is parsed into a Parquet file in `scratch` by polars' streaming
    engine and a Parquet source is scanned where it lies, so memory does not grow with the
    file; `SourceTable.partition` then reads ranges of records. XLSX and NDJSON are read whole
    either way (so is a CSV only Python's reader can split: a quote inside an unquoted field).

    A workbook's `sheet` is read if named; otherwise the sheet, among those with a header row
    and at least one record below it, whose headers `header_score` scores highest (ties and
    no scorer: the first such sheet).
    """
    _refuse_special(path)
    try:
        fmt = _detect_format(path)
        table = _read_by_format(path, fmt, scratch, sheet, spill, header_score)
    except ReadError as exc:
        if exc.path in (None, str(path)):
            raise
        # Raised about a decompressed or transcoded copy: name the file the user gave.
        message = str(exc).removeprefix(f"{exc.path}: ")
        raise ReadError(message, path=str(path)) from None
    except OSError as exc:
        raise _os_error(exc, path, scratch) from None
    except (EOFError, zlib.error, csv.Error) as exc:
        raise ReadError(f"cannot be read: {exc}", path=str(path)) from None
    except RecursionError:  # a parser of nested values (JSON, say) gave up
        raise ReadError(
            "cannot be read: its values are nested too deeply", path=str(path)
        ) from None
    except pl.exceptions.PolarsError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ReadError(f"cannot be parsed: {first_line}", path=str(path)) from None
    return _with_source_columns(table, path.name)


# What a path that is not a regular file is, for the one-line refusal (`_refuse_special`).
_SPECIAL_KINDS = (
    (stat.S_ISFIFO, "is a pipe (<(...) or a FIFO), which cannot be read twice: save it to a file"),
    (stat.S_ISCHR, "is a character device, not a file: name an export file"),
    (stat.S_ISBLK, "is a block device, not a file: name an export file"),
    (stat.S_ISSOCK, "is a socket, not a file: name an export file"),
)


def _refuse_special(path: Path) -> None:
    """Only a regular file is read (a link to one too): a folder, a missing path, a pipe (it
    would be read once to find its format, then found empty; a FIFO without a writer blocks
    forever) or a device (`/dev/zero` never ends) is refused before it is opened."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ReadError("file not found", path=str(path)) from None
    except OSError as exc:
        raise ReadError(f"cannot be read: {exc.strerror or exc}", path=str(path)) from None
    if stat.S_ISDIR(mode):
        raise ReadError("is a folder, not a file", path=str(path))
    if stat.S_ISREG(mode):
        return
    why = next((why for test, why in _SPECIAL_KINDS if test(mode)), "is not a regular file")
    raise ReadError(why, path=str(path))


def _os_error(exc: OSError, path: Path, scratch: Path) -> ImporterError:
    """An OS error while reading: about the source (it cannot be read), or about a working
    copy in `scratch` (the run directory cannot hold it: full, read-only), which is not the
    source's fault and says so."""
    where = Path(exc.filename) if isinstance(exc.filename, str) else None
    why = exc.strerror or str(exc)
    if where is not None and where.resolve().is_relative_to(scratch.resolve()):
        return CannotProceedError(
            f"cannot write {where.parent} (the working copy of {path.name} goes there): {why}; "
            "free some space or choose another --out"
        )
    return ReadError(f"cannot be read: {why}", path=str(path))


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
    path: Path,
    fmt: str,
    scratch: Path,
    sheet: str | None,
    spill: bool,
    header_score: HeaderScore | None,
) -> SourceTable:
    if fmt == "parquet":
        return _read_parquet(path, spill)
    if fmt == "xlsx":
        return _read_xlsx(path, sheet, header_score)
    if fmt == "ndjson":
        return _read_ndjson(path)
    spill_to = scratch / "source.parquet" if spill else None
    if fmt == "csv.gz":
        gunzipped = _gunzip(path, scratch)
        return _read_delimited(gunzipped, "csv.gz", scratch, None, spill_to)
    return _read_delimited(path, fmt, scratch, "\t" if fmt == "tsv" else None, spill_to)


def _gunzip(path: Path, scratch: Path) -> Path:
    """The decompressed copy in `scratch`. What is not text is refused at its first block, and
    a file that grows past `_GUNZIP_FLOOR` to more than `_MAX_GUNZIP_RATIO` times its size (a
    decompression bomb: 2 MB of gzip make 2 GB of zeros) as it grows; nothing is left behind."""
    scratch.mkdir(parents=True, exist_ok=True)
    target = scratch / (path.name.removesuffix(".gz") or "source.csv")
    try:
        with gzip.open(path, "rb") as src, target.open("wb") as dst:
            _copy_bounded(src, dst, path)
    except BaseException as exc:
        target.unlink(missing_ok=True)
        if isinstance(exc, EOFError):
            raise ReadError(
                "gzip file is truncated (it ends before the compressed data does)", path=str(path)
            ) from None
        if isinstance(exc, gzip.BadGzipFile):
            raise ReadError(f"not a valid gzip file: {exc}", path=str(path)) from None
        raise
    return target


def _copy_bounded(src: gzip.GzipFile, dst: io.BufferedWriter, path: Path) -> None:
    limit = max(_GUNZIP_FLOOR, _MAX_GUNZIP_RATIO * path.stat().st_size)
    written = 0
    while block := src.read(_CHUNK_BYTES):
        if not written:
            _head_encoding(block[:_SAMPLE_BYTES], path)  # refuses binary data
        written += len(block)
        if written > limit:
            raise ReadError(
                f"decompresses to more than {_MAX_GUNZIP_RATIO} times its size "
                f"({written / 2**20:,.0f} MB so far; a decompression bomb?): if it is a real "
                "export, decompress it yourself and read the .csv",
                path=str(path),
            )
        dst.write(block)


# --- header rows and names (every format) -------------------------------------------------------


def _find_header(rows: Sequence[Sequence[str]]) -> int | None:
    """Which of the first rows is the header row, or None when none looks like one.

    The header is the first row that names at least half of its cells, holds no value that
    looks like data (`_looks_like_data`), and is at least as wide as the filled part (up to
    the last non-blank cell) of at least half of the non-empty rows below it. A preamble's
    lines are narrower than the table below them (LinkedIn's "Notes:"), a title row names one
    of its cells, and a header is as wide as its records, or wider when they leave out
    trailing empty fields (Outlook).
    """
    filled = [_filled_width(row) for row in rows]
    for index, row in enumerate(rows):
        named = sum(1 for cell in row if cell.strip())
        if not named or named * 2 < len(row) or _looks_like_data(row):
            continue
        below = [w for w in filled[index + 1 :] if w]
        if sum(w <= len(row) for w in below) * 2 >= len(below):
            return index
    return None


def _filled_width(row: Sequence[str]) -> int:
    return next((i + 1 for i in range(len(row) - 1, -1, -1) if row[i].strip()), 0)


def _looks_like_data(row: Sequence[str]) -> bool:
    """An email, a phone number or a web address in any cell, or numbers and dates only."""
    named = [cell for cell in row if cell.strip()]
    if any(_LOOKS_LIKE_DATA.match(cell) or _LOOKS_LIKE_URL.match(cell) for cell in named):
        return True
    return bool(named) and all(_LOOKS_LIKE_NUMBER.match(cell) for cell in named)


@dataclass(frozen=True)
class _Names:
    """Header names as the table uses them ("" for an unnamed column), and what was changed."""

    names: tuple[str, ...]
    renamed: tuple[tuple[str, str], ...] = ()
    repaired: tuple[tuple[str, str], ...] = ()

    def changes(self, given: Sequence[str]) -> dict[str, str]:
        """Old name → new name, for `DataFrame.rename`."""
        return {old: new for old, new in zip(given, self.names, strict=True) if old != new}


def _clean_names(given: Sequence[str]) -> _Names:
    """Mis-decoded names repaired (`TÃ©lÃ©phone` → `Téléphone`), a name the reader gives a
    column of its own renamed (`source_row` → `source_row (file)`: leadpipe's rows.csv read
    back), then repeated names numbered.

    Only header names are repaired: cell values stay as the file has them.
    """
    repaired: list[tuple[str, str]] = []
    own: list[tuple[str, str]] = []
    fixed: list[str] = []
    for name in given:
        # Mojibake is non-ASCII text: a 100k-column header of plain names skips ftfy.
        new = name if name.isascii() else ftfy.fix_text(name, _FIX_MOJIBAKE)
        if new != name:
            repaired.append((name, new))
        if new in _OWN_COLUMNS:
            own.append((new, f"{new}{OWN_NAME_SUFFIX}"))
            new = own[-1][1]
        fixed.append(new)
    names, renamed = _numbered(fixed)
    return _Names(tuple(names), (*own, *renamed), tuple(repaired))


def _numbered(names: Sequence[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """A repeated name becomes `name (2)`, `name (3)`..., never a name the header already has.

    Unnamed columns ("") are not repeats: they are ignored or refused later.
    """
    taken = {name for name in names if name}
    seen: set[str] = set()
    out: list[str] = []
    renamed: list[tuple[str, str]] = []
    for name in names:
        if not name or name not in seen:
            seen.add(name)
            out.append(name)
            continue
        number = 2
        while f"{name} ({number})" in taken:
            number += 1
        new = f"{name} ({number})"
        taken.add(new)
        out.append(new)
        renamed.append((name, new))
    return out, renamed


def _refuse_pattern_names(headers: Iterable[str], path: Path) -> None:
    """polars reads `*` and `^...$` as column patterns, so such a name cannot select itself."""
    for name in headers:
        if name == "*" or (len(name) > 1 and name.startswith("^") and name.endswith("$")):
            raise ReadError(f"column name {name!r} cannot be used; rename it", path=str(path))


# --- delimited text -------------------------------------------------------------------------


def _read_delimited(
    path: Path, fmt: str, scratch: Path, forced_delimiter: str | None, spill_to: Path | None
) -> SourceTable:
    utf8_path, encoding = _as_utf8(path, scratch)
    sample, whole = _text_sample(utf8_path)
    if not sample.strip():
        raise ReadError("file is empty", path=str(path))
    delimiter = forced_delimiter or _detect_delimiter(sample, whole)
    head = _text_head(sample, whole, delimiter)
    names = _clean_names(_read_header(head.cells, path))
    _refuse_pattern_names(names.names, path)
    facts = SourceTable(
        pl.DataFrame(),
        tuple(h for h in names.names if h),
        fmt,
        encoding,
        delimiter=delimiter,
        preamble=head.preamble,
        header_row=len(head.preamble) + 1,
        renamed_headers=names.renamed,
        repaired_headers=names.repaired,
    )
    records = _TextRecords(utf8_path, delimiter, names.names, head.lines)
    return _delimited_records(facts, records, path, spill_to)


@dataclass(frozen=True)
class _TextRecords:
    """Where a text file's records are: the UTF-8 file, its delimiter, the header's names, and
    the lines above the first record (preamble and header)."""

    path: Path
    delimiter: str
    names: tuple[str, ...]
    head_lines: int


def _delimited_records(
    facts: SourceTable, text: _TextRecords, path: Path, spill_to: Path | None
) -> SourceTable:
    """The table of `facts` with its records (those below `text.head_lines`)."""
    width = len(text.names)
    records, counts = _scan_counted(
        text.path, text.delimiter, width, path, spill_to, head_lines=text.head_lines
    )
    blank_tail = _trailing_blanks(counts)
    counts = counts[: counts.size - blank_tail]
    _refuse_wrong_delimiter(counts, width, text.delimiter, path)
    columns, ignored = _named_columns(records.lazy(), text.names, path)
    facts = replace(facts, ignored_columns=ignored, trailing_blank_rows=blank_tail)
    if records.path is None:
        fields = pl.lit(pl.Series("_fields", counts, dtype=pl.Int64))
        # The usual file has no note to make: its 10M rows skip the per-row test.
        notes = _row_notes(fields, width) if (counts != width).any() else _no_notes()
        noted = records.lazy().slice(0, counts.size).with_columns(notes)
        return replace(facts, frame=noted.select(*columns, READ_ERROR, READ_WARNING).collect())
    spilled = _spilled(records.path, columns, counts, width)
    return replace(
        facts, frame=_spilled_range(spilled, 0, 0, facts.header_row + 1), spilled=spilled
    )


def _spilled(path: Path, columns: list[pl.Expr], counts: np.ndarray, width: int) -> Spilled:
    """The first `counts.size` records of the Parquet file at `path`, as a spilled table's."""
    ragged = np.flatnonzero(counts != width)
    positions = {
        "_row": pl.Series(ragged, dtype=pl.Int64),
        "_fields": pl.Series(counts[ragged], dtype=pl.Int64),
    }
    return Spilled(path, counts.size, (*columns, *_no_notes()), pl.DataFrame(positions), width)


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


def _as_utf8(path: Path, scratch: Path) -> tuple[Path, str]:
    """The file as UTF-8 text with LF or CRLF line ends (a copy in `scratch` where needed), and
    the encoding it was found in."""
    encoding = _detect_encoding(path)
    if encoding == _NOT_UTF8:
        utf8_path, encoding = _transcode_lines(path, scratch)
    else:
        utf8_path = path if encoding == "utf-8" else _transcode(path, encoding, scratch)
    if _has_lone_cr(utf8_path):
        # polars ends records at LF only: old Mac line ends (and any CR in a cell) become LF.
        utf8_path = _transcode(utf8_path, "utf-8", scratch, newline=None)
    return utf8_path, encoding


def _detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM), UTF-16 (BOM or NUL pattern), else `_NOT_UTF8` (a legacy
    single-byte text, or a mix: `_transcode_lines` decides line by line)."""
    with path.open("rb") as fh:
        head = fh.read(_SAMPLE_BYTES)
    return _head_encoding(head, path) or ("utf-8" if _is_utf8(path) else _NOT_UTF8)


def _head_encoding(head: bytes, path: Path) -> str | None:
    """The encoding a text file's first bytes show (a BOM, UTF-16's NUL pattern), or None
    when only the whole file can tell (UTF-8 or not); binary data is refused."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    nul_share = head.count(0) / max(len(head), 1)
    # UTF-16 text is at most half NUL bytes (all ASCII); more is not text (a file of zeros)
    if 0.3 < nul_share <= _MAX_UTF16_NUL_SHARE:
        if head[1::2].count(0) > len(head) // 2 * 0.9:
            return "utf-16-le"
        if head[0::2].count(0) > len(head) // 2 * 0.9:
            return "utf-16-be"
    if nul_share > 0 or _looks_binary(head):
        raise ReadError("looks like a binary file, not a text export", path=str(path))
    return None


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


def _text_sample(path: Path) -> tuple[str, bool]:
    """The first 256 KiB, or more so that the first two lines (a 100k-column header and a
    record, say) are whole; and whether that is the whole file."""
    with path.open("rb") as fh:
        sample = fh.read(_SAMPLE_BYTES)
        while _line_ends(sample) < 2 and (more := fh.read(_CHUNK_BYTES)):
            sample += more
        whole = not fh.read(1)
    return sample.decode("utf-8", errors="ignore"), whole


def _line_ends(data: bytes) -> int:
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


@dataclass(frozen=True)
class _Line:
    """One record of the sample: its cells, its text, and the lines read up to its end."""

    cells: list[str]
    text: str
    lines: int


def _sample_records(sample: str, whole: bool, delimiter: str) -> list[_Line]:
    """The sample's first `_HEADER_WINDOW` records, as the stdlib reader splits them."""
    lines = io.StringIO(sample, newline="").readlines()
    if not whole and lines and not lines[-1].endswith(("\n", "\r")):
        lines.pop()  # cut by the end of the sample
    reader = _csv_reader(lines, delimiter)
    records: list[_Line] = []
    used = 0
    try:
        for cells in reader:
            text = "".join(lines[used : reader.line_num]).rstrip("\r\n")
            records.append(_Line(cells, text, reader.line_num))
            used = reader.line_num
            if len(records) == _HEADER_WINDOW:
                break
    except csv.Error:
        pass  # what was read so far decides
    return records


def _detect_delimiter(sample: str, whole: bool) -> str:
    """The candidate that splits the most of the first records into the same number of fields
    (two or more; the larger number on a tie). A preamble above the header is a few lines,
    so it does not decide; nor does the header's width alone, as rows may be shorter."""
    best, best_score = ",", -1.0
    for delimiter in _DELIMITERS:
        widths = [len(r.cells) for r in _sample_records(sample, whole, delimiter) if r.cells]
        if not widths:
            continue
        width, count = max(Counter(widths).items(), key=lambda item: (item[1], item[0]))
        if width < 2:
            continue
        score = count / len(widths) * 1000 + width
        if score > best_score:
            best, best_score = delimiter, score
    return best


@dataclass(frozen=True)
class _Head:
    """Where a text file's table starts: the records above the header (as text), the header's
    cells, and the lines (LF-ended) that the two take, which polars skips."""

    preamble: tuple[str, ...]
    cells: list[str]
    lines: int


def _text_head(sample: str, whole: bool, delimiter: str) -> _Head:
    """The header row found by `_find_header` among the first records, else the first record
    (whose faults `_read_header` then explains)."""
    records = _sample_records(sample, whole, delimiter)
    if not records:
        return _Head((), [], 1)
    found = _find_header([r.cells for r in records])
    index = 0 if found is None else found
    preamble = tuple(r.text for r in records[:index])
    return _Head(preamble, records[index].cells, records[index].lines)


def _read_header(cells: list[str], path: Path) -> list[str]:
    headers = [h.strip() for h in cells]
    if not any(headers):
        raise ReadError("no header row: the first line is blank", path=str(path))
    data_like = [h for h in headers if _LOOKS_LIKE_DATA.match(h)]
    if data_like:
        raise ReadError(
            f"no header row: the first line holds data ({data_like[0]!r}); add a header line",
            path=str(path),
        )
    return headers


def _scan_counted(
    path: Path,
    delimiter: str,
    width: int,
    source: Path,
    spill_to: Path | None,
    *,
    head_lines: int,
) -> tuple[_Records, np.ndarray]:
    """The records below the first `head_lines` lines (preamble and header) as text, and how
    many fields each had.

    Counting every record with the stdlib reader costs ~2 s a million rows, so polars reads
    strictly first: it refuses a record with too many fields, and one with too few leaves its
    last column null, so only those rows (and a last record without a newline, whose empty
    last field polars drops) are counted, each on its own line (`_recount`). When polars
    refuses the file or a record spans lines, every record is counted. When polars disagrees
    with that count: if every record is one line, the culprit is a quote inside an unquoted
    field (`He said "hi"`, `=HYPERLINK("a","b")`), and the stdlib's lenient reading is kept
    (a row it splits differently is ragged); otherwise a quote was left open: refused.
    """
    records = _scan_strict(path, delimiter, width, spill_to, head_lines)
    counts = None if records is None else _recount(path, records, delimiter, width, head_lines)
    if records is not None and counts is not None:
        return records, counts
    every = _field_counts(path, delimiter, head_lines)
    # Another file: a failed streaming sink still writes its file after it raised.
    spill_again = None if spill_to is None else spill_to.with_suffix(".all.parquet")
    try:
        records = _scan_text(path, delimiter, width, head_lines, spill_to=spill_again)
    except pl.exceptions.PolarsError:
        records = None
    if records is not None and records.height == len(every):
        return records, every
    if len(every) + head_lines == _line_count(path):
        return _Records(_read_lenient(path, delimiter, width, head_lines)), every
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


def _below_head(fh: io.TextIOBase, head_lines: int) -> io.TextIOBase:
    """`fh` moved past the preamble and header lines."""
    for _ in range(head_lines):
        fh.readline()
    return fh


def _read_lenient(path: Path, delimiter: str, width: int, head_lines: int) -> pl.DataFrame:
    """The records as the stdlib reads them, cut or padded to `width`, empty cells null like
    polars'. One Python step per row: only for files polars cannot split the same way."""
    with path.open("r", encoding="utf-8-sig", newline="") as fh:
        records = _csv_reader(_below_head(fh, head_lines), delimiter)
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


def _scan_strict(
    path: Path, delimiter: str, width: int, spill_to: Path | None, head_lines: int
) -> _Records | None:
    try:
        return _scan_text(path, delimiter, width, head_lines, strict=True, spill_to=spill_to)
    except pl.exceptions.PolarsError:
        return None  # ragged or malformed: the full count decides and explains


def _recount(
    path: Path, records: _Records, delimiter: str, width: int, head_lines: int
) -> np.ndarray | None:
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
    if lines.select(pl.len()).collect().item() != last.len() + head_lines:
        return None  # a record spans lines: count them all
    wanted = pl.Series(unsure + head_lines, dtype=pl.Int64)
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


def _field_counts(path: Path, delimiter: str, head_lines: int) -> np.ndarray:
    """Fields per record below the head, counted by the stdlib's C reader (no Python call per
    row)."""
    with path.open("r", encoding="utf-8-sig", newline="") as fh:
        rows = _csv_reader(_below_head(fh, head_lines), delimiter)
        return np.fromiter(map(len, rows), dtype=np.int64)


def _csv_reader(lines: Iterable[str], delimiter: str) -> _csv.Reader:
    """The stdlib reader without its 128 KiB cap on a field (a long note is still a note)."""
    csv.field_size_limit(sys.maxsize)
    return csv.reader(lines, delimiter=delimiter)


def _scan_text(
    path: Path,
    delimiter: str,
    width: int,
    head_lines: int,
    *,
    strict: bool = False,
    spill_to: Path | None = None,
) -> _Records:
    """Records as `_c0`..: `strict` refuses a record with too many fields instead of cutting it.

    With `spill_to`, the streaming engine parses the file into that Parquet file instead.
    """
    if spill_to is None:
        read = _csv_reading(pl.read_csv, path, delimiter, width, head_lines, strict)
        return _Records(frame=read)
    spill_to.parent.mkdir(parents=True, exist_ok=True)
    scan = _csv_reading(pl.scan_csv, path, delimiter, width, head_lines, strict)
    # lz4: the scratch copy is read once more and deleted, so speed beats size.
    scan.sink_parquet(spill_to, compression="lz4")
    return _Records(path=spill_to)


def _csv_reading(
    read: Any, path: Path, delimiter: str, width: int, head_lines: int, strict: bool
) -> Any:
    """`pl.read_csv` or `pl.scan_csv` with the reader's settings (they take the same ones)."""
    schema = {f"_c{i}": pl.String for i in range(width)}
    return read(
        path,
        has_header=False,
        # Lines, not rows: the stdlib reader found where the header ends, quotes and all.
        skip_lines=head_lines,
        separator=delimiter,
        schema=schema,
        encoding="utf8",
        truncate_ragged_lines=not strict,
        missing_columns="insert",
        # A first record longer than the header is ragged, like any other (not the file's width).
        extra_columns="raise" if strict else "ignore",
        raise_if_empty=False,
    )


def _trailing_blanks(counts: np.ndarray) -> int:
    """How many blank lines (records of no field) follow the last record that is not one.

    A line of bare delimiters (`,,`) is a record of empty fields, not a blank line: it stays a
    row, as it does between records.
    """
    filled = np.flatnonzero(counts)
    return int(counts.size - (filled[-1] + 1 if filled.size else 0))


def _row_notes(fields: pl.Expr, width: int) -> list[pl.Expr]:
    """`_read_error` and `_warn_row` of records with `fields` fields (null: the header's).

    A short row (Outlook leaves out trailing empty fields) is read with blanks and noted; a
    long one is an error, as its values are probably shifted; a blank line is an error, as
    there is no row to read.
    """
    error = (
        pl.when(fields == 0)
        .then(pl.lit("empty_row|the row is blank"))
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
    warning = (
        pl.when((fields > 0) & (fields < width))
        .then(
            pl.format(
                "short_row|the row has {} of the header's "
                + str(width)
                + " fields; the missing ones were read as blank",
                fields,
            )
        )
        .otherwise(None)
        .alias(READ_WARNING)
    )
    return [error, warning]


def _no_notes() -> list[pl.Expr]:
    return [pl.lit(None, pl.String).alias(c) for c in (READ_ERROR, READ_WARNING)]


def _refuse_wrong_delimiter(counts: np.ndarray, width: int, delimiter: str, path: Path) -> None:
    """Refuse a file whose rows the delimiter does not split into the header's columns.

    Counted against the rows (of ten or more): those longer than the header, and, when no row
    has the header's width, those of a single field (the delimiter splits the header but not
    the records). Refused when they are more than half. Other short rows do not count:
    exports such as Outlook's leave out a row's trailing empty fields.
    """
    if counts.size < 10:
        return
    off = counts > width
    if width > 1 and not (counts == width).any():
        off |= counts == 1
    wrong = int(off.sum())
    if wrong / counts.size > _MAX_RAGGED_SHARE:
        raise ReadError(
            f"{wrong} of {counts.size} rows do not split into the header's {width} fields "
            f"(delimiter {delimiter!r}); the file is not a consistent table",
            path=str(path),
        )


def _named_columns(
    records: pl.LazyFrame, headers: Sequence[str], path: Path
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
    try:
        schema = pl.read_parquet_schema(path)
    except pl.exceptions.DuplicateError:
        return _read_parquet_repeated_names(path)
    given = list(schema)
    names = _clean_names(given)
    facts = SourceTable(
        frame=pl.DataFrame(),
        headers=names.names,
        format="parquet",
        renamed_headers=names.renamed,
        repaired_headers=names.repaired,
    )
    changes = names.changes(given)
    if not spill:
        frame = _all_text(pl.read_parquet(path).rename(changes), path)
        return replace(facts, frame=frame)
    # Scanned where it lies: the text columns are made per partition.
    columns = [
        column.alias(changes.get(name, name))
        for column, name in zip(_text_columns(schema, path), schema, strict=True)
    ]
    columns += _no_notes()  # a file's own `_read_error` is data, renamed above
    height = int(pl.scan_parquet(path).select(pl.len()).collect().item())
    no_ragged = pl.DataFrame(schema={"_row": pl.Int64, "_fields": pl.Int64})
    spilled = Spilled(path, height, tuple(columns), no_ragged, len(given))
    return replace(
        facts, frame=_spilled_range(spilled, 0, 0, facts.header_row + 1), spilled=spilled
    )


def _read_parquet_repeated_names(path: Path) -> SourceTable:
    """A Parquet file whose columns repeat a name (pyarrow writes them; polars refuses to read
    them): read whole by pyarrow, the repeats numbered."""
    import pyarrow.parquet as pq

    table = pq.ParquetFile(path).read()
    names = _clean_names(table.column_names)
    frame = pl.DataFrame(pl.from_arrow(table.rename_columns(list(names.names))))
    return SourceTable(
        frame=_all_text(frame, path),
        headers=tuple(n for n in names.names if n not in (READ_ERROR, READ_WARNING)),
        format="parquet",
        renamed_headers=names.renamed,
        repaired_headers=names.repaired,
    )


def _read_ndjson(path: Path) -> SourceTable:
    encoding = _detect_encoding(path)
    if encoding == _NOT_UTF8:
        encoding = "cp1252" if _decodes_whole(path, "cp1252") else "latin-1"
    if encoding not in ("utf-8", "utf-8-sig"):
        raise ReadError(f"NDJSON must be UTF-8 (found {encoding})", path=str(path))
    try:
        frame, errors = pl.read_ndjson(path, infer_schema_length=None), None
    except pl.exceptions.ComputeError:
        frame, errors = _read_ndjson_lines(path)
    given = frame.columns
    names = _clean_names(given)
    text = _all_text(frame.rename(names.changes(given)), path)
    return SourceTable(
        frame=text if errors is None else _with_errors(text, errors),
        headers=names.names,
        format="ndjson",
        encoding=encoding,
        renamed_headers=names.renamed,
        repaired_headers=names.repaired,
    )


def _read_ndjson_lines(path: Path) -> tuple[pl.DataFrame, pl.Series]:
    """Line by line, once polars refused the file: a line that is no JSON object becomes a row
    of nulls, with its `_read_error` in the series beside the records, so one bad line costs
    one record, not the file. Blank lines are skipped, as polars skips them."""
    lines = [line for line in path.read_text("utf-8-sig").splitlines() if line.strip()]
    faults = [_json_fault(line) for line in lines]
    good = [position for position, fault in enumerate(faults) if fault is None]
    errors = pl.Series(
        READ_ERROR,
        [
            None if fault is None else f"bad_json|record {position + 1} {fault}: {line[:40]!r}"
            for position, (fault, line) in enumerate(zip(faults, lines, strict=True))
        ],
        dtype=pl.String,
    )
    if not good:
        return pl.DataFrame(), errors
    text = "\n".join(lines[i] for i in good).encode()
    records = pl.read_ndjson(io.BytesIO(text), infer_schema_length=None)
    # Each line's record in its place; null (a row of nulls) where the line was bad.
    record_of = dict(zip(good, range(len(good)), strict=True))
    at = pl.Series([record_of.get(position) for position in range(len(lines))], dtype=pl.UInt32)
    return records.select(pl.all().gather(at)), errors


def _with_errors(text: pl.DataFrame, errors: pl.Series) -> pl.DataFrame:
    """The records' text with each line's `_read_error` (when no line was a record, the text
    has no rows: the errors alone)."""
    if text.height != errors.len():
        no_notes = pl.repeat(None, errors.len(), dtype=pl.String, eager=True)
        text = no_notes.alias(READ_WARNING).to_frame()
    return text.with_columns(errors)


def _json_fault(line: str) -> str | None:
    """Why a line is no record (not a JSON object, or nested too deeply for polars to read
    it), or None."""
    try:
        value = json.loads(line)
    except ValueError:
        return "is not a JSON object"
    except RecursionError:  # Python's parser recurses per level: 100,000 `[` end it
        return f"is nested more than {_MAX_JSON_DEPTH} levels deep"
    if not isinstance(value, dict):
        return "is not a JSON object"
    if _json_depth(value) > _MAX_JSON_DEPTH:
        return f"is nested more than {_MAX_JSON_DEPTH} levels deep"
    return None


def _json_depth(value: object) -> int:
    """How deeply lists and objects nest in `value` (without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = list(item.values()) if isinstance(item, dict) else item
        if isinstance(children, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _read_xlsx(path: Path, sheet: str | None, header_score: HeaderScore | None) -> SourceTable:
    import fastexcel

    try:
        reader = fastexcel.read_excel(path)
        names = tuple(reader.sheet_names)
        if sheet is None:
            table = _best_sheet(reader, names, header_score, path)
        elif sheet in names:
            table = _sheet_table(_sheet_grid(reader, sheet), sheet, path).table
        else:
            raise ReadError(
                f"no sheet named {sheet!r} (sheets: {', '.join(names)})", path=str(path)
            )
    except fastexcel.FastExcelError as exc:
        first_line = str(exc).strip().splitlines()[0]
        raise ReadError(f"cannot be read as a workbook: {first_line}", path=str(path)) from None
    return replace(table, sheets=names)


def _sheet_grid(reader: Any, sheet: str) -> pl.DataFrame:
    """Every row of the sheet from its row 1 (blank ones too, so positions are row numbers),
    as text, in columns named by position (`__UNNAMED__0`..)."""
    loaded = reader.load_sheet(sheet, header_row=None, skip_rows=0, dtypes="string")
    return pl.DataFrame(loaded.to_polars()).cast(pl.String)


def _best_sheet(
    reader: Any, names: Sequence[str], header_score: HeaderScore | None, path: Path
) -> SourceTable:
    """The sheet that holds a table (`_Sheet.usable`) whose headers score best, the first of
    equals; without a scorer, the first that holds a table. Sheets are read one at a time."""
    best: SourceTable | None = None
    best_score = -math.inf
    refused: ReadError | None = None
    for name in names:
        try:
            read = _sheet_table(_sheet_grid(reader, name), name, path)
        except ReadError as exc:  # a sheet that cannot be read is not the leads, unless none is
            refused = refused or exc
            continue
        if not read.usable:
            continue
        if header_score is None:
            return read.table
        score = header_score(read.table.headers)
        if score > best_score:
            best, best_score = read.table, score
    if best is not None:
        return best
    if refused is not None:
        raise refused
    raise ReadError(
        f"no sheet holds a table of leads (sheets: {', '.join(names)}); name one with --sheet",
        path=str(path),
    )


@dataclass(frozen=True)
class _Sheet:
    """A sheet read as a table, and whether it holds one: a header row found (not assumed)
    naming two columns or more, or one column above an email or phone number; and at least
    one record below it."""

    table: SourceTable
    usable: bool


def _sheet_table(grid: pl.DataFrame, sheet: str, path: Path) -> _Sheet:
    """The sheet's table below its header row (`_find_header` on its first rows, else its
    first non-blank row), the rows above it kept as the preamble."""
    window = [
        [cell or "" for cell in row[: _filled_width([c or "" for c in row])]]
        for row in grid.head(_HEADER_WINDOW).rows()
    ]
    found = _find_header(window)
    index = found if found is not None else next((i for i, r in enumerate(window) if r), None)
    if index is None:  # nothing in its first rows
        frame = _all_text(pl.DataFrame(), path)
        return _Sheet(SourceTable(frame, (), "xlsx", sheet=sheet), usable=False)
    header = [cell.strip() for cell in window[index]]
    names = _clean_names(header + [""] * (grid.width - len(header)))
    _refuse_pattern_names(names.names, path)
    table = replace(
        _sheet_records(grid.slice(index + 1), names.names),
        sheet=sheet,
        preamble=tuple(",".join(row) for row in window[:index]),
        header_row=index + 1,
        renamed_headers=names.renamed,
        repaired_headers=names.repaired,
    )
    leads_below = any(_looks_like_data(row) for row in window[index + 1 :])
    holds = len(table.headers) >= 2 or leads_below
    return _Sheet(table, usable=found is not None and table.rows > 0 and holds)


def _sheet_records(body: pl.DataFrame, names: Sequence[str]) -> SourceTable:
    """The rows below a sheet's header: blank ones `empty_row`, those after the last record
    dropped (`trailing_blank_rows`)."""
    blank = pl.all_horizontal(pl.all().is_null())
    filled = np.flatnonzero(body.select(~blank).to_series().to_numpy())
    kept = int(filled[-1] + 1) if filled.size else 0
    columns, ignored = _sheet_columns(body, names)
    frame = body.slice(0, kept).select(
        *columns,
        pl.when(blank).then(pl.lit("empty_row|the row is blank")).otherwise(None).alias(READ_ERROR),
        pl.lit(None, pl.String).alias(READ_WARNING),
    )
    return SourceTable(
        frame=frame,
        headers=tuple(c.meta.output_name() for c in columns),
        format="xlsx",
        ignored_columns=ignored,
        trailing_blank_rows=body.height - kept,
    )


def _sheet_columns(
    body: pl.DataFrame, names: Sequence[str]
) -> tuple[list[pl.Expr], tuple[str, ...]]:
    """The sheet's columns by their header names. An unnamed column is ignored when it holds
    nothing, and keeps its position name (`__UNNAMED__2`) when it holds values."""
    columns: list[pl.Expr] = []
    ignored: list[str] = []
    for position, (column, name) in enumerate(zip(body.columns, names, strict=True)):
        if name:
            columns.append(pl.col(column).alias(name))
        elif body.get_column(column).str.strip_chars().fill_null("").str.len_bytes().max():
            columns.append(pl.col(column))
        else:
            ignored.append(f"column {position + 1}")
    return columns, tuple(ignored)


def _all_text(frame: pl.DataFrame, path: Path) -> pl.DataFrame:
    """Every column as `pl.String`: lists joined with ', ', structs as JSON, numbers as written;
    `_read_error` and `_warn_row` added (null) where the frame has none."""
    out = frame.select(_text_columns(frame.schema, path))
    missing = [c for c in (READ_ERROR, READ_WARNING) if c not in out.columns]
    return out.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in missing)


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


def _spilled_range(spilled: Spilled, offset: int, length: int, first_row: int) -> pl.DataFrame:
    """Records `offset` .. of a spilled table, with their notes and the source columns
    (`source_row` of record 0 is `first_row`)."""
    length = max(min(length, spilled.height - offset), 0)  # blank lines after the end stay out
    frame = pl.scan_parquet(spilled.path).slice(offset, length).select(spilled.columns).collect()
    last = offset + frame.height - 1
    ragged = spilled.ragged.filter(pl.col("_row").is_between(offset, last))
    if ragged.height:
        positions = pl.DataFrame({"_row": pl.int_range(offset, last + 1, eager=True)})
        fields = positions.join(ragged, on="_row", how="left", maintain_order="left")
        frame = frame.with_columns(_row_notes(pl.lit(fields["_fields"]), spilled.width))
    return frame.with_columns(
        pl.lit(spilled.source_file).alias("source_file"),
        (pl.int_range(pl.len(), dtype=pl.Int64) + offset + first_row).alias("source_row"),
    )


def _spilled_scan(spilled: Spilled, first_row: int) -> pl.LazyFrame:
    """Every record of a spilled table, lazily, with its notes and the source columns."""
    records = pl.scan_parquet(spilled.path).slice(0, spilled.height).select(spilled.columns)
    numbered = records.with_row_index("_row").with_columns(pl.col("_row").cast(pl.Int64))
    if spilled.ragged.height:
        numbered = numbered.join(
            spilled.ragged.lazy(), on="_row", how="left", maintain_order="left"
        ).with_columns(_row_notes(pl.col("_fields"), spilled.width))
    return numbered.with_columns(
        pl.lit(spilled.source_file).alias("source_file"),
        (pl.col("_row") + first_row).alias("source_row"),
    )


def _with_source_columns(table: SourceTable, source_file: str) -> SourceTable:
    first_row = table.header_row + 1
    columns = ("source_file", "source_row", *table.headers, READ_ERROR, READ_WARNING)
    if table.spilled is not None:
        spilled = replace(table.spilled, source_file=source_file)
        frame = _spilled_range(spilled, 0, 0, first_row).select(columns)
        return replace(table, frame=frame, spilled=spilled)
    frame = table.frame.with_columns(
        pl.lit(source_file).alias("source_file"),
        (pl.int_range(pl.len(), dtype=pl.Int64) + first_row).alias("source_row"),
    ).select(columns)
    return replace(table, frame=frame)
