"""The run's `report.html`: what an analyst reads at 7 a.m., in one self-contained file.

The page is built from the same `rows` and `RunSummary` as `rows.parquet` and `summary.json`:
headline counts (with the rows kept with warnings), charts of outcomes, reasons and
per-field changes, the data errors apart from what the target vendor cannot take, the fields
not sent to it, the updated rows' old → new values, the rows that need attention (searchable
and sortable), the reconciliation's field mismatches (differing rows first) and target-only
leads, and the stage durations. The summary is read through its typed attributes only.

Nothing is fetched when the page opens, and nothing from the input file can run:

- charts are inline SVG drawn here from the small polars aggregates they show (a label, a bar
  and a count per category, every label escaped): no charting library or JavaScript engine
  runs to make them, the page carries no charting JavaScript, and it prints as it shows;
- tables are itables (DataTables) in its offline mode: the DataTables bundle is inlined once
  and cells are HTML-escaped before they enter the JSON that feeds the table. Each table's
  first page is also written into the page as a plain <table> (each value escaped), which
  DataTables replaces when scripts run: without JavaScript, or where a viewer blocks the
  bundle, the page still reads (not a <noscript> copy, which would show nothing when scripts
  are on but fail, and would put every first page in the file twice);
- everything else goes through a Jinja2 template with autoescaping on; the only markup passed
  through is the SVG and the itables HTML above.

    >>> rows = pl.DataFrame({"source_row": [2], "outcome": ["invalid"],
    ...     "reason_code": ["invalid_email"], "reason": ["'x@' is not an email"]})
    >>> "invalid_email" in render_report(rows, summary)  # summary: the run's RunSummary
    True
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
from markupsafe import Markup, escape

from reports.notices import share_text
from schemas.fields import OUTCOMES, WARNING_ENTRY
from schemas.files import atomic_write
from schemas.summary import RunSummary
from schemas.vendors import VENDORS, VendorSpec
from transforms.reconcile import RECON_STATUSES
from transforms.report import top_reasons

if TYPE_CHECKING:
    import jinja2

__all__ = [
    "ATTENTION_OUTCOMES",
    "MAX_CHANGED_ROWS",
    "PageRows",
    "MAX_TABLE_ROWS",
    "REPORT_ORDER",
    "VENDOR_LIMITS",
    "render_report",
    "write_report_html",
]

# Rows embedded per table; the rest are counted and left to rows.csv.
MAX_TABLE_ROWS = 5_000
# Updated rows whose old → new values the page lists; all of them are in rows.parquet.
MAX_CHANGED_ROWS = 1_000
# Rows per table page; the first page is also written as plain HTML (read without JavaScript).
_PAGE_LENGTH = 25
# Reason codes of `skipped` rows the target vendor cannot take (not errors in the file's data):
# the page lists them apart from the data errors.
VENDOR_LIMITS = frozenset(
    {
        "unsettable_status",
        "missing_required",
        "unfindable",
        "not_clearable",
        "not_sent",
        "phone_taken",
        "reopen_blocked",
    }
)
# Outcomes of rows that went (or would go) through: "created with warnings" and the like.
_KEPT = ("valid", "would_create", "created", "would_update", "updated", "unchanged")
# A report's `changes` column (old → new per field of an update) and a warning entry's code
# for a value the vendor could not take.
_CHANGE = pl.Struct({"field": pl.String, "old": pl.String, "new": pl.String})
_NOT_SENT = "not_sent"

# Outcomes a person has to look at, most severe first (the attention table's order).
ATTENTION_OUTCOMES: tuple[str, ...] = ("failed", "conflict", "invalid", "duplicate", "skipped")
# A reconciliation is read for what differs: those rows first, then the rows that need fixing.
_ATTENTION_RECON: tuple[str, ...] = (
    "different",
    "conflict",
    "invalid",
    "duplicate",
    "only_in_file",
)
_UPDATES = ("updated", "would_update")
# Counted in source rows (a share of the file makes sense); the target's side is not.
_ROW_OUTCOMES = frozenset((*OUTCOMES, *RECON_STATUSES))
# Every outcome and status word in the order the page lists them: done, changed, problems.
REPORT_ORDER: tuple[str, ...] = (
    "valid",
    "would_create",
    "created",
    "would_update",
    "updated",
    "unchanged",
    "equal",
    "different",
    "only_in_file",
    "conflict",
    "invalid",
    "duplicate",
    "failed",
    "skipped",
    "only_in_target",
    "target_duplicates",
)
_ORDER = {word: i for i, word in enumerate(REPORT_ORDER)}

# A handful of lead columns identify a row for a person; the rest stay in rows.csv.
_LEAD_COLUMNS = ("name", "email", "phone", "business_name")
_TARGET_COLUMNS = (*_LEAD_COLUMNS, "status", "country")
_SENT_COLUMNS = ("match_by", "target_id", "http_status", "attempts", "request_id")
# Table cells: free text gets room and wraps; codes and numbers stay on one line; the rest
# (names, emails, ids) wrap only when the table would not fit.
_PROSE_COLUMNS = frozenset({"reason", "differences"})
_SHORT_COLUMNS = frozenset(
    {"source_row", "outcome", "recon_status", "reason_code", "phone", "match_by", "http_status"}
    | {"attempts", "country", "status"}
)
_HEADERS = {
    "source_file": "File",
    "source_row": "Row",
    "outcome": "Outcome",
    "recon_status": "Status",
    "reason_code": "Reason code",
    "reason": "Reason",
    "differences": "File vs target",
    "match_by": "Matched by",
    "target_id": "Target id",
    "http_status": "HTTP",
    "attempts": "Attempts",
    "request_id": "Request id",
    "name": "Name",
    "email": "Email",
    "phone": "Phone",
    "business_name": "Business",
    "status": "Lead status",
    "country": "Country",
    "field": "Field",
    "old": "Old value",
    "new": "New value",
    "changed_fields": "Changed fields",
}

# One colour per outcome word, in four families: done, changed, needs a look, no-op.
_TONES: dict[str, str] = {
    "valid": "good",
    "created": "good",
    "would_create": "good",
    "equal": "good",
    "updated": "change",
    "would_update": "change",
    "different": "change",
    "only_in_file": "change",
    "only_in_target": "change",
    "unchanged": "neutral",
    "skipped": "neutral",
    "invalid": "bad",
    "failed": "bad",
    "conflict": "warn",
    "duplicate": "warn",
    "target_duplicates": "warn",
}
_COLOURS: dict[str, str] = {
    "valid": "#2f855a",
    "created": "#2f855a",
    "would_create": "#38a169",
    "equal": "#2f855a",
    "updated": "#2b6cb0",
    "would_update": "#3182ce",
    "different": "#3182ce",
    "only_in_file": "#319795",
    "only_in_target": "#805ad5",
    "unchanged": "#a0aec0",
    "skipped": "#718096",
    "invalid": "#c53030",
    "failed": "#822727",
    "conflict": "#dd6b20",
    "duplicate": "#d69e2e",
}
_FALLBACK_COLOUR = "#4a5568"
# Charts are SVG drawn here, in the picture's own units; its viewBox scales it to its card.
# Text is laid out without a browser to measure it, from per-character widths that are the
# wider of Arial's (Helvetica's, Liberation Sans') and DejaVu Sans' (Verdana-like, the
# fallback on most Linux desktops), so labels stay inside the picture whichever is used.
_CHART_FONT = "Helvetica, Arial, 'Liberation Sans', sans-serif"
_CHART_FONT_SIZE = 12
# The longest bar: as long as the picture then fits a chart card of the page at 1280 px
# (~556 px inside) without being scaled down, within these bounds.
_CHART_WIDTH = 556
_CHART_BAR = (200, 360)
_CHART_STEP = 24  # one category's row
_CHART_THICK = 18  # a bar's thickness
_CHART_PAD = 4
_CHART_GAP = 8  # between a label, its bar and its count
_CHART_SWATCH = 10
_CHART_MIN_SEGMENT = 1.5  # a non-zero count never draws as nothing
_CHART_LABEL_CHARS = 40
_CHART_LABEL_MAX = 260  # the labels' column at most
_EM_WIDTHS: dict[str, float] = {  # in em; other characters (other scripts: CJK) 1 em
    **dict.fromkeys("ijl'", 0.28),
    **dict.fromkeys(" ,.:;|/\\I", 0.34),
    **dict.fromkeys("f-", 0.37),
    **dict.fromkeys("()[]t!r", 0.42),
    **dict.fromkeys('"', 0.46),
    **dict.fromkeys("J*`", 0.5),
    **dict.fromkeys("_sz?", 0.56),
    **dict.fromkeys("cLFkvxyT", 0.61),
    **dict.fromkeys("oaehnubdgpq0123456789${}", 0.64),
    **dict.fromkeys("SEPKBY", 0.67),
    **dict.fromkeys("AVXZRC", 0.7),
    **dict.fromkeys("UNHDG&", 0.78),
    **dict.fromkeys("OQ", 0.79),
    **dict.fromkeys("w#+<=>^~", 0.84),
    **dict.fromkeys("M", 0.87),
    **dict.fromkeys("%", 0.95),
    **dict.fromkeys("m", 0.98),
    **dict.fromkeys("W@…", 1.02),
}
_EXAMPLES_PER_FIELD = 3
_EXAMPLE_CHARS = 80
_TOP_REASONS = 12


def render_report(
    rows: pl.DataFrame | PageRows,
    summary: RunSummary,
    *,
    target_only: pl.DataFrame | None = None,
    max_rows: int = MAX_TABLE_ROWS,
) -> str:
    """The whole `report.html` page for one run, as text.

    `PageRows` (a report too big to hold, gathered part by part) give what the page counts and
    shows; the summary's `counts` and `rows` must then be the run's (not empty).
    """
    shown = None
    if isinstance(rows, PageRows):
        shown = _without_null_types(rows.shown())
        review = rows.review()
        rows = rows.counted()
    else:
        review = _Review.of(_without_null_types(rows))
    rows = _without_null_types(rows)
    recon = _is_reconcile(rows, summary)
    vendor = _vendor(summary)
    hidden = _unstored(vendor)
    counts = _counts(rows, summary, recon, target_only)
    attention, attention_total = _attention(
        rows if shown is None else shown, recon, max_rows, hidden
    )
    if shown is not None:
        attention_total = rows.filter(pl.col("outcome").is_in(ATTENTION_OUTCOMES)).height
    target_rows, target_total = _target_only(target_only, max_rows)
    mismatches = _mismatches(rows) if recon else pl.DataFrame()
    field_counts = _field_counts(rows, mismatches, recon)
    changed = pl.DataFrame() if recon else _changed_table(review.changed, hidden)
    tables = {
        "attention": _datatable(attention, "attention_table"),
        "target_only": _datatable(target_rows, "target_only_table"),
        "changed": _datatable(changed, "changed_table"),
    }
    return _template().render(
        run=_run_facts(rows, summary),
        tiles=_tiles(rows, summary, counts, review.warned),
        charts={
            "outcomes": _outcome_chart(counts),
            "reasons": _reason_chart(rows),
            "fields": _field_chart(field_counts, recon),
        },
        reasons=_top_reasons(rows, vendor_limits=False),
        vendor_limits=_top_reasons(rows, vendor_limits=True),
        vendor_name=vendor.name.capitalize() if vendor else None,
        not_sent=review.not_sent.to_dicts(),
        hidden=[_HEADERS.get(c, c) for c in hidden],
        notices=list(summary.notices),
        warnings=[{"code": code, "count": n} for code, n in summary.warnings.items()],
        recon=recon,
        mismatches=mismatches.to_dicts(),
        field_counts=field_counts.to_dicts(),
        attention={"shown": attention.height, "total": attention_total},
        changed={
            "rows": review.changed.height,
            "lines": changed.height,
            "total": _updates(counts, rows),
            "old_new": _old_new(review.changed),
        },
        target_only=None
        if target_only is None
        else {"shown": target_rows.height, "total": target_total},
        tables=tables,
        page_length=_PAGE_LENGTH,
        datatables_init=_datatables_init() if any(tables.values()) else "",
        durations=_durations(summary),
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def write_report_html(
    rows: pl.DataFrame | PageRows,
    summary: RunSummary,
    out_dir: Path,
    target_only: pl.DataFrame | None = None,
) -> Path:
    """Write `out_dir/report.html` atomically (a partial file, then a rename); return its path."""
    page = render_report(rows, summary, target_only=target_only)
    return atomic_write(out_dir / "report.html", lambda p: p.write_text(page, encoding="utf-8"))


class PageRows:
    """What the page needs of report rows that come part by part (in row order): the rows it
    counts (needing a look, or updates) with the narrow columns its charts use (`counted`),
    and all columns of the rows its table shows (`shown`), and the small sums of what went
    through (`review`: warnings, values not sent, the first updates' changes). `render_report`
    computes from them what it would from the whole rows (not for a reconciliation)."""

    _NARROW = ("source_file", "source_row", "outcome", "reason_code", "reason", "changed_fields")

    def __init__(self, max_rows: int = MAX_TABLE_ROWS) -> None:
        self.max_rows = max_rows
        self._empty = pl.DataFrame()
        self._seen = 0
        self._counted: list[pl.DataFrame] = []
        self._shown: pl.DataFrame | None = None
        self._exampled: set[str] = set()  # reason codes whose first row is counted already
        self._review: _Review | None = None

    def add(self, rows: pl.DataFrame) -> None:
        """Take the next part's report rows."""
        if not self._seen:
            self._empty = rows.clear()
        numbered = rows.with_row_index("_at", self._seen)
        self._seen += rows.height
        if not {"outcome", "source_row"} <= set(rows.columns):
            return
        so_far = self._review
        # Once the first updates are listed, later parts' updates are only counted.
        room = MAX_CHANGED_ROWS - (so_far.changed.height if so_far else 0)
        part = _Review.of(_without_null_types(rows), room)
        self._review = part if so_far is None else _Review.merge([so_far, part])
        narrow = [c for c in self._NARROW if c in rows.columns]
        counted = pl.col("outcome").is_in([*ATTENTION_OUTCOMES, *_UPDATES])
        self._counted.append(self._examples_only(numbered.filter(counted).select("_at", *narrow)))
        severity = {word: i for i, word in enumerate(ATTENTION_OUTCOMES)}
        rank = pl.col("outcome").replace_strict(severity, default=None, return_dtype=pl.Int32)
        wide = [c for c in rows.columns if c not in narrow or c == "reason"]
        candidates = (
            numbered.with_columns(rank.alias("_r"))
            .filter(pl.col("_r").is_not_null())
            .select("_r", "source_row", "_at", *wide)
        )
        both = candidates if self._shown is None else pl.concat([self._shown, candidates])
        self._shown = both.sort("_r", "source_row").head(self.max_rows)

    def _examples_only(self, counted: pl.DataFrame) -> pl.DataFrame:
        """`reason` kept only on the first row needing a look of each reason code (the top
        reasons' example): the text of every other row is never shown, and at 10M rows it
        would be most of what the page holds."""
        if not {"reason", "reason_code"} <= set(counted.columns):
            return counted
        code = pl.when(pl.col("outcome").is_in(ATTENTION_OUTCOMES)).then(pl.col("reason_code"))
        first = code.is_not_null() & code.is_first_distinct() & ~code.is_in(self._exampled)
        kept = counted.with_columns(pl.when(first).then(pl.col("reason")).alias("reason"))
        self._exampled.update(kept.filter(first)["reason_code"].to_list())
        return kept

    def counted(self) -> pl.DataFrame:
        """The rows needing a look and the updates, in the narrow columns (`reason` only on
        the first row of each reason code)."""
        narrow = [c for c in self._NARROW if c in self._empty.columns]
        if not self._counted:
            return self._empty.select(narrow)
        return pl.concat(self._counted).select(narrow)

    def review(self) -> _Review:
        """Warnings per outcome, values not sent per field, the first updates' changes."""
        return self._review or _Review.of(self._empty)

    def shown(self) -> pl.DataFrame:
        """All columns of the first `max_rows` rows needing a look, most severe first."""
        if self._shown is None:
            return self._empty
        at = self._shown.select("_at")
        counted = pl.concat(self._counted).join(at, on="_at", how="semi", maintain_order="left")
        wide = self._shown.drop("_r", "source_row")
        joined = counted.drop("reason", strict=False).join(
            wide, on="_at", how="inner", maintain_order="right"
        )
        return joined.select(self._empty.columns)


@dataclass(frozen=True)
class _Review:
    """What the page shows of the rows that went through: rows kept with warnings per outcome
    (`warned`: outcome, rows), per field the values the vendor was not sent (`not_sent`: field,
    rows, first row, its message), and the first updated rows with their changes (`changed`).
    Each is small, and the parts of a report add up (`merge`) to the whole report's."""

    warned: pl.DataFrame
    not_sent: pl.DataFrame
    changed: pl.DataFrame

    @classmethod
    def of(cls, rows: pl.DataFrame, limit: int = MAX_CHANGED_ROWS) -> _Review:
        return cls(_warned(rows), _not_sent(rows), _changed_rows(rows, limit))

    @classmethod
    def merge(cls, parts: Sequence[_Review], limit: int = MAX_CHANGED_ROWS) -> _Review:
        """The review of consecutive parts (in row order) as one."""
        if not parts:
            return cls.of(pl.DataFrame())
        warned = (
            pl.concat([p.warned for p in parts])
            .group_by("outcome", maintain_order=True)
            .agg(pl.col("rows").sum())
        )
        not_sent = (
            pl.concat([p.not_sent for p in parts])
            .group_by("field", maintain_order=True)
            .agg(
                pl.col("rows").sum(),
                pl.col("example_row").min(),
                pl.col("example").sort_by("example_row").first(),
            )
            .sort(["rows", "field"], descending=[True, False])
        )
        changed = pl.concat([p.changed for p in parts], how="diagonal_relaxed").head(limit)
        return cls(warned, not_sent, changed)


def _warned(rows: pl.DataFrame) -> pl.DataFrame:
    """Rows with at least one warning about their data, per outcome. Values the vendor was not
    sent have their own block: a field Octanist does not store would otherwise put every row
    of an export "with warnings" and hide the rows whose data was read otherwise."""
    empty = pl.DataFrame(schema={"outcome": pl.String, "rows": pl.UInt32})
    if not _has_warnings(rows) or "outcome" not in rows.columns:
        return empty
    about_data = pl.element().struct.field("code") != _NOT_SENT
    # Lazily: the filter then reads two columns, not every column of every row.
    return (
        rows.lazy()
        .filter(pl.col("warnings").list.eval(about_data).list.any())
        .group_by("outcome", maintain_order=True)
        .agg(pl.len().alias("rows"))
        .cast({"outcome": pl.String, "rows": pl.UInt32})
        .collect()
    )


def _not_sent(rows: pl.DataFrame) -> pl.DataFrame:
    """Per field, rows whose value the vendor was not sent (`not_sent` warnings), most first,
    with the first such row and its message."""
    schema = {"field": pl.String, "rows": pl.UInt32, "example_row": pl.Int64, "example": pl.String}
    if not _has_warnings(rows) or "source_row" not in rows.columns:
        return pl.DataFrame(schema=schema)
    return (
        rows.select("source_row", "warnings")
        .filter(pl.col("warnings").list.len() > 0)
        .explode("warnings")
        .unnest("warnings")
        .filter(pl.col("code") == _NOT_SENT)
        .group_by("field")
        .agg(
            pl.len().alias("rows"),
            pl.col("source_row").min().alias("example_row"),
            _clip(pl.col("message")).sort_by("source_row").first().alias("example"),
        )
        .sort(["rows", "field"], descending=[True, False])
        .cast(schema)  # type: ignore[arg-type]
    )


def _has_warnings(rows: pl.DataFrame) -> bool:
    return rows.schema.get("warnings") == pl.List(WARNING_ENTRY)


_CHANGED_COLUMNS = (
    "source_row",
    "outcome",
    "target_id",
    "first_name",
    "last_name",
    "email",
    "changes",
    "changed_fields",
)


def _changed_rows(rows: pl.DataFrame, limit: int) -> pl.DataFrame:
    """The first `limit` updates, with what identifies them and what they change."""
    if "outcome" not in rows.columns or limit <= 0:
        return pl.DataFrame()
    columns = [c for c in _CHANGED_COLUMNS if c in rows.columns]
    if rows.schema.get("changes") not in (None, pl.List(_CHANGE)):
        columns.remove("changes")  # not E's shape: read `changed_fields` instead
    updates = rows.lazy().filter(pl.col("outcome").is_in(_UPDATES))
    return updates.select(columns).head(limit).collect()


def _changed_table(changed: pl.DataFrame, hidden: Sequence[str]) -> pl.DataFrame:
    """One line per field an update changes, old → new; from runs that recorded no `changes`
    (older reports), one line per row with its `changed_fields`."""
    if changed.is_empty():
        return pl.DataFrame()
    who = [c for c in ("name", "email") if c not in hidden]
    named = _with_name(changed)
    if _old_new(changed):
        lines = (
            named.with_row_index("_i")
            .explode("changes")
            .drop_nulls("changes")
            .with_columns(pl.col("changes").struct.unnest())
            .with_columns(
                pl.col("old").fill_null("(blank)"),
                pl.col("new").fill_null("(blank)"),
            )
        )
        return _readable(lines, ["source_row", *who, "field", "old", "new"], ["target_id"])
    return _readable(named, ["source_row", *who, "changed_fields"], ["target_id"])


def _old_new(changed: pl.DataFrame) -> bool:
    """Whether the updates carry their old → new values (a `changes` column that says any)."""
    if "changes" not in changed.columns:
        return False
    return bool(changed["changes"].list.len().fill_null(0).sum())


def _updates(counts: Mapping[str, int], rows: pl.DataFrame) -> int:
    """Rows updated (or that would be): the summary's count, else the rows'."""
    if any(word in counts for word in _UPDATES):
        return sum(counts.get(word, 0) for word in _UPDATES)
    if "outcome" not in rows.columns:
        return 0
    return rows.filter(pl.col("outcome").is_in(_UPDATES)).height


def _vendor(summary: RunSummary) -> VendorSpec | None:
    return VENDORS.get(summary.target.vendor) if summary.target is not None else None


def _unstored(vendor: VendorSpec | None) -> tuple[str, ...]:
    """The page's lead columns the vendor does not store (none without a target): shown, they
    would read as if sent."""
    if vendor is None:
        return ()
    fields = {"name": ("first_name", "last_name")}
    return tuple(c for c in _LEAD_COLUMNS if not vendor.stored & set(fields.get(c, (c,))))


def _without_null_types(rows: pl.DataFrame) -> pl.DataFrame:
    """All-blank columns typed `Null` (a frame built from nothing) read as blank text."""
    return rows.with_columns(pl.col(pl.Null).cast(pl.String))


def _is_reconcile(rows: pl.DataFrame, summary: RunSummary) -> bool:
    return summary.job == "reconcile" or "recon_status" in rows.columns


def _counts(
    rows: pl.DataFrame,
    summary: RunSummary,
    recon: bool,
    target_only: pl.DataFrame | None,
) -> dict[str, int]:
    """Rows per outcome (per status for a reconciliation), from the summary when it has them."""
    if summary.counts:
        counts = {str(k): int(v) for k, v in summary.counts.items()}
    else:
        counts = _counted(rows, "recon_status" if recon else "outcome")
        if recon and target_only is not None:
            counts["only_in_target"] = target_only.height
    # Report order (creates before updates before problems), whatever order they came in.
    return dict(sorted(counts.items(), key=lambda item: _ORDER.get(item[0], len(_ORDER))))


def _counted(rows: pl.DataFrame, column: str) -> dict[str, int]:
    if column not in rows.columns:
        return {}
    counted = rows.group_by(column).len().drop_nulls(column).sort(column)
    return {str(word): int(n) for word, n in counted.iter_rows()}


def _run_facts(rows: pl.DataFrame, summary: RunSummary) -> dict[str, Any]:
    """The masthead: job, run id, source, target, timing; blanks where the summary has none."""
    path = summary.source.path
    if not path and "source_file" in rows.columns and rows.height:
        path = ", ".join(rows["source_file"].drop_nulls().unique(maintain_order=True).head(3))
    target = target_vendor = None
    if summary.target is not None:
        vendor = summary.target.vendor
        target = summary.target.profile or vendor
        target_vendor = vendor if vendor and vendor != target else None
    return {
        "job": summary.job or "run",
        "mode": summary.mode,
        "dry_run": summary.dry_run,
        "run_id": summary.run_id,
        "source": path,
        "source_name": Path(path).name if path else None,
        "source_format": summary.source.format,
        "target": target,
        "target_vendor": target_vendor,
        "started_at": summary.started_at,
        "seconds": _seconds(summary.seconds),
        "engine": summary.engine,
        "preset": summary.mapping.preset or summary.mapping.mapping_file or None,
    }


@dataclass(frozen=True)
class _Tile:
    """One headline number: `tone` picks its colour, `share` is its part of all rows."""

    label: str
    value: str
    tone: str = "total"
    share: str | None = None


def _tiles(
    rows: pl.DataFrame,
    summary: RunSummary,
    counts: Mapping[str, int],
    warned: pl.DataFrame | None = None,
) -> list[_Tile]:
    """Headline numbers: rows, each outcome (share of rows), the rows of each outcome that went
    through with warnings (share of that outcome), requests, duration."""
    # A run's `rows` is 0 only for an empty file, which gives no page rows either: the
    # fallback counts what the page holds when a summary counted nothing (tests' summaries).
    total = summary.rows or rows.height
    tiles = [_Tile("rows", _number(total))]
    for outcome, n in counts.items():
        if outcome == "target_duplicates":
            tiles.append(_Tile("target duplicate groups", _number(n), "warn" if n else "zero"))
            continue
        tone = _TONES.get(outcome, "neutral") if n else "zero"
        share = share_text(n / total) if total and outcome in _ROW_OUTCOMES else None
        tiles.append(_Tile(outcome.replace("_", " "), _number(n), tone, share))
    tiles.extend(_warned_tiles(counts, warned))
    tiles.extend(_request_tiles(summary))
    tiles.append(_Tile("duration", _seconds(summary.seconds)))
    return tiles


def _warned_tiles(counts: Mapping[str, int], warned: pl.DataFrame | None) -> list[_Tile]:
    """`created with warnings` and the like: rows that went through with a value left out or
    read otherwise than written (their `warnings` column says which)."""
    if warned is None or warned.is_empty():
        return []
    by_outcome = {str(k): int(v) for k, v in warned.iter_rows()}
    tiles = []
    for outcome in sorted(by_outcome, key=lambda word: _ORDER.get(word, len(_ORDER))):
        n = by_outcome[outcome]
        if outcome not in _KEPT or not n:
            continue
        of = counts.get(outcome, 0)
        share = share_text(n / of) if of else None
        label = f"{outcome.replace('_', ' ')} with warnings"
        tiles.append(_Tile(label, _number(n), "warn", f"{share} of {of:,}" if share else None))
    return tiles


def _request_tiles(summary: RunSummary) -> list[_Tile]:
    requests = summary.requests
    tiles = []
    if summary.planned_requests is not None:
        tiles.append(_Tile("requests planned", _number(summary.planned_requests)))
    if summary.target is not None or any(requests.values()):
        for key in ("sent", "retried", "throttled"):
            n = requests.get(key) or 0
            tone = "total" if key == "sent" else ("warn" if n else "zero")
            tiles.append(_Tile(f"requests {key}", _number(n), tone))
    return tiles


def _attention(
    rows: pl.DataFrame, recon: bool, max_rows: int, hidden: Sequence[str] = ()
) -> tuple[pl.DataFrame, int]:
    """Rows needing a look, most severe first, capped; and how many there are in all. The lead
    columns in `hidden` (the vendor does not store them) are left out."""
    column, wanted = (
        ("recon_status", _ATTENTION_RECON) if recon else ("outcome", ATTENTION_OUTCOMES)
    )
    if column not in rows.columns or "source_row" not in rows.columns:
        return pl.DataFrame(), 0
    severity = {word: i for i, word in enumerate(wanted)}
    picked = (
        rows.filter(pl.col(column).is_in(wanted))
        .with_columns(pl.col(column).replace_strict(severity, return_dtype=pl.Int32).alias("_rank"))
        .sort("_rank", "source_row")
    )
    shown = picked.head(max_rows)
    if recon and "differences" in shown.columns:
        shown = shown.with_columns(_differences_text(shown).alias("differences"))
    first = ["source_row", column, "reason_code", "reason"]
    if recon:
        first.append("differences")
    if "source_file" in shown.columns and shown["source_file"].n_unique() > 1:
        first.insert(0, "source_file")
    lead = [c for c in _LEAD_COLUMNS if c not in hidden]
    return _readable(_with_name(shown), first, (*lead, *_SENT_COLUMNS)), picked.height


def _differences_text(rows: pl.DataFrame) -> pl.Series:
    """`differences` as one line per row: `field: file → target; …` (null where none)."""
    exploded = (
        rows.select(pl.int_range(pl.len()).alias("_i"), "differences")
        .explode("differences")
        .drop_nulls("differences")
        .unnest("differences")
        .select(
            "_i",
            pl.format(
                "{}: {} → {}",
                "field",
                pl.col("file").fill_null("(blank)"),
                pl.col("target").fill_null("(blank)"),
            ).alias("text"),
        )
        .group_by("_i", maintain_order=True)
        .agg(pl.col("text").str.join("; "))
    )
    index = pl.DataFrame({"_i": pl.int_range(rows.height, eager=True)})
    return index.join(exploded, on="_i", how="left", maintain_order="left")["text"]


def _with_name(frame: pl.DataFrame) -> pl.DataFrame:
    """First and last name as one `name` column (null when both are blank)."""
    parts = [c for c in ("first_name", "last_name") if c in frame.columns]
    if not parts:
        return frame
    name = pl.concat_str(parts, separator=" ", ignore_nulls=True)
    return frame.with_columns(pl.when(name != "").then(name).alias("name"))


def _readable(frame: pl.DataFrame, first: Sequence[str], optional: Sequence[str]) -> pl.DataFrame:
    """The listed columns that exist (optional ones only when not all blank), as display types."""
    keep = [c for c in first if c in frame.columns]
    keep += [c for c in optional if c in frame.columns and frame[c].null_count() < frame.height]
    columns = []
    for name in keep:
        dtype = frame.schema[name]
        col = pl.col(name)
        if dtype.is_integer() or dtype == pl.String:
            columns.append(col)
        elif isinstance(dtype, pl.List) and dtype.inner == pl.String:
            columns.append(col.list.join(", "))
        else:
            columns.append(col.cast(pl.String))
    return frame.select(columns)


def _target_only(frame: pl.DataFrame | None, max_rows: int) -> tuple[pl.DataFrame, int]:
    if frame is None:
        return pl.DataFrame(), 0
    if "target_id" not in frame.columns and "id" in frame.columns:
        frame = frame.rename({"id": "target_id"})
    return _readable(_with_name(frame.head(max_rows)), ["target_id"], _TARGET_COLUMNS), frame.height


def _mismatches(rows: pl.DataFrame) -> pl.DataFrame:
    """Per field: rows differing, and the first few rows' file and target values."""
    if "differences" not in rows.columns or not isinstance(rows.schema["differences"], pl.List):
        return pl.DataFrame()
    cut = _EXAMPLES_PER_FIELD
    exploded = (
        rows.select("source_row", "differences")
        .explode("differences")
        .drop_nulls("differences")
        .unnest("differences")
    )
    if exploded.is_empty():
        return pl.DataFrame()
    return (
        exploded.sort("source_row")
        .group_by("field")
        .agg(
            pl.len().alias("rows"),
            pl.struct(
                "source_row",
                _clip(pl.col("file")).alias("file"),
                _clip(pl.col("target")).alias("target"),
            )
            .head(cut)
            .alias("examples"),
        )
        .sort(["rows", "field"], descending=[True, False])
    )


def _clip(text: pl.Expr) -> pl.Expr:
    """Long values cut to a readable length (the whole value is in rows.csv)."""
    limit = _EXAMPLE_CHARS
    return (
        pl.when(text.str.len_chars() > limit)
        .then(text.str.slice(0, limit - 1) + "…")
        .otherwise(text)
    )


def _field_counts(rows: pl.DataFrame, mismatches: pl.DataFrame, recon: bool) -> pl.DataFrame:
    """Rows changing (or, reconciling, differing) per field, most first."""
    if recon:
        return mismatches.select("field", "rows") if mismatches.height else pl.DataFrame()
    if not {"outcome", "changed_fields"} <= set(rows.columns):
        return pl.DataFrame()
    if not isinstance(rows.schema["changed_fields"], pl.List):
        return pl.DataFrame()
    return (
        rows.lazy()
        .filter(pl.col("outcome").is_in(_UPDATES))
        .select(pl.col("changed_fields").explode().alias("field"))
        .drop_nulls()
        .group_by("field")
        .agg(pl.len().alias("rows"))
        .sort(["rows", "field"], descending=[True, False])
        .collect()
    )


def _top_reasons(rows: pl.DataFrame, *, vendor_limits: bool) -> list[dict[str, Any]]:
    """Reason codes of rows needing a look: count, first row, and that row's reason. Either the
    rows skipped for what the vendor cannot take (`vendor_limits`), or all the others."""
    if not {"reason_code", "outcome", "source_row"} <= set(rows.columns):
        return []
    problems = _problem_rows(rows)
    limit = (pl.col("outcome") == "skipped") & pl.col("reason_code").is_in(VENDOR_LIMITS)
    return top_reasons(problems.filter(limit if vendor_limits else ~limit), _TOP_REASONS)


def _problem_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """Rows needing a look that carry a reason code (reconciliation differences do not count)."""
    reason = pl.col("reason") if "reason" in rows.columns else pl.lit(None, pl.String)
    return rows.select("source_row", "outcome", "reason_code", reason.alias("reason")).filter(
        pl.col("outcome").is_in(ATTENTION_OUTCOMES) & pl.col("reason_code").is_not_null()
    )


def _durations(summary: RunSummary) -> list[dict[str, Any]]:
    """Stage durations with their share of the stages' total, and each stage's peak RSS."""
    stages = {str(k): float(v) for k, v in summary.durations.items()}
    peaks = summary.memory_mb
    total = sum(stages.values())
    return [
        {
            "stage": stage,
            "seconds": f"{seconds:.3f}",
            "width": f"{100 * seconds / total:.1f}" if total else "0",
            "share": share_text(seconds / total) if total else "0%",
            "peak_mb": f"{peaks[stage]:,.0f}" if stage in peaks else "",
        }
        for stage, seconds in stages.items()
    ]


def _outcome_chart(counts: Mapping[str, int]) -> Markup | None:
    bars = {k: v for k, v in counts.items() if k != "target_duplicates"}
    if not any(bars.values()):
        return None
    data = pl.DataFrame({"outcome": list(bars), "rows": list(bars.values())})
    return _bars(data, "outcome", colour_by="outcome", description="Rows per outcome")


def _reason_chart(rows: pl.DataFrame) -> Markup | None:
    if not {"reason_code", "outcome", "source_row"} <= set(rows.columns):
        return None
    data = (
        _problem_rows(rows)
        .group_by("reason_code", "outcome")
        .agg(pl.len().alias("rows"))
        .sort("reason_code", "outcome")
    )
    if data.is_empty():
        return None
    return _bars(data, "reason_code", colour_by="outcome", description="Rows per reason code")


def _field_chart(field_counts: pl.DataFrame, recon: bool) -> Markup | None:
    if field_counts.is_empty():
        return None
    colour = _COLOURS["different" if recon else "would_update"]
    description = "Rows differing per field" if recon else "Rows changing per field"
    return _bars(field_counts, "field", colour_by=None, description=description, colour=colour)


def _bars(
    data: pl.DataFrame,
    category: str,
    *,
    colour_by: str | None,
    description: str,
    colour: str = _FALLBACK_COLOUR,
) -> Markup:
    """Horizontal bars of `rows` per `category` (stacked by `colour_by`), as inline SVG: one
    row per category with its label, its bar and its count, and a legend of the colours when
    they stand for more than the category itself. `data` is a small aggregate (one row per
    category and colour word), so its rows are drawn one by one."""
    totals = data.group_by(category, maintain_order=True).agg(pl.col("rows").sum())
    if colour_by != category:
        totals = totals.sort(["rows", category], descending=[True, False])
    order = [str(v) for v in totals[category].to_list()]
    segments: dict[str, list[tuple[str, int]]] = {name: [] for name in order}
    words: set[str] = set()
    for row in data.iter_rows(named=True):
        word = str(row[colour_by]) if colour_by is not None else ""
        segments[str(row[category])].append((word, int(row["rows"] or 0)))
        words.add(word)
    ranked = sorted(words, key=lambda word: (_ORDER.get(word, len(_ORDER)), word))
    rank = {word: i for i, word in enumerate(ranked)}

    def paint(word: str) -> str:
        return colour if colour_by is None else _COLOURS.get(word, _FALLBACK_COLOUR)

    shown = {name: _clipped_label(name) for name in order}
    counts = {name: sum(n for _, n in segments[name]) for name in order}
    widest = max(_text_width(label) for label in shown.values())
    label_width = _CHART_PAD + min(_CHART_LABEL_MAX, widest) + _CHART_GAP
    count_width = max(_text_width(f"{n:,}") for n in counts.values()) + _CHART_GAP
    room = _CHART_WIDTH - label_width - count_width - _CHART_PAD  # a right margin
    bar = min(_CHART_BAR[1], max(_CHART_BAR[0], room))
    width = math.ceil(label_width + bar + count_width + _CHART_PAD)
    longest = max(counts.values()) or 1
    rows_svg = []
    for i, name in enumerate(order):
        top = _CHART_PAD + i * _CHART_STEP
        baseline = top + _CHART_STEP / 2 + _CHART_FONT_SIZE * 0.35
        x = label_width
        rects = []
        for word, n in sorted(segments[name], key=lambda seg: rank[seg[0]]):
            if n <= 0:
                continue
            length = max(bar * n / longest, _CHART_MIN_SEGMENT)
            tip = f"{name}: {n:,} rows" + (
                f" ({word})" if colour_by not in (None, category) else ""
            )
            rects.append(
                f'<rect class="bar" x="{x:.1f}" y="{top + (_CHART_STEP - _CHART_THICK) / 2:.1f}" '
                f'width="{length:.1f}" height="{_CHART_THICK}" fill="{escape(paint(word))}">'
                f"<title>{escape(tip)}</title></rect>"
            )
            x += length
        rows_svg.append(
            f'<g class="bar-row"><title>{escape(f"{name}: {counts[name]:,} rows")}</title>'
            f'<text class="label" x="{label_width - _CHART_GAP:.1f}" y="{baseline:.1f}" '
            f'text-anchor="end" fill="#2d3748">{escape(shown[name])}</text>'
            + "".join(rects)
            + f'<text class="count" x="{x + _CHART_GAP / 2:.1f}" y="{baseline:.1f}" '
            f'fill="#1a202c">{counts[name]:,}</text></g>'
        )
    height: float = _CHART_PAD * 2 + len(order) * _CHART_STEP
    legend = ""
    if colour_by not in (None, category) and len(ranked) > 1:
        legend, height = _legend(ranked, width, label_width, height)
    summary = "; ".join(f"{name}: {counts[name]:,}" for name in order)
    return Markup(
        '<svg xmlns="http://www.w3.org/2000/svg" class="bars" role="img" '
        f'viewBox="0 0 {width} {height:.0f}" width="{width}" height="{height:.0f}" '
        f'font-family="{_CHART_FONT}" font-size="{_CHART_FONT_SIZE}" '
        f'aria-label="{escape(description)}">'
        f"<title>{escape(description)}</title><desc>{escape(summary)}</desc>"
        + "".join(rows_svg)
        + legend
        + "</svg>"
    )


def _legend(words: list[str], width: float, left: float, top: float) -> tuple[str, float]:
    """A swatch and the word per colour, in lines under the bars from where the bars start;
    the markup and the picture's new height."""
    items = []
    x, y = left, top + _CHART_PAD
    for word in words:
        step = _CHART_SWATCH + 4 + _text_width(word) + _CHART_GAP * 2
        if x > left and x + step > width:
            x, y = left, y + _CHART_STEP - 4
        items.append(
            f'<g class="legend-item"><rect x="{x:.1f}" y="{y + 3:.1f}" width="{_CHART_SWATCH}" '
            f'height="{_CHART_SWATCH}" fill="{escape(_COLOURS.get(word, _FALLBACK_COLOUR))}"/>'
            f'<text x="{x + _CHART_SWATCH + 4:.1f}" y="{y + 3 + _CHART_SWATCH - 1:.1f}" '
            f'fill="#2d3748">{escape(word)}</text></g>'
        )
        x += step
    return '<g class="legend">' + "".join(items) + "</g>", y + _CHART_STEP


def _clipped_label(label: str) -> str:
    """A label cut to `_CHART_LABEL_CHARS` and to the labels' column (the whole of it is its
    row's tooltip)."""
    cut = min(len(label), _CHART_LABEL_CHARS)
    while cut < len(label) or _text_width(label[:cut]) > _CHART_LABEL_MAX:
        cut -= 1
        if _text_width(label[:cut] + "…") <= _CHART_LABEL_MAX:
            return label[:cut] + "…"
    return label


def _text_width(text: str) -> float:
    """`text`'s width in px in the chart's font, rounded up (see `_EM_WIDTHS`)."""
    ems = sum(_EM_WIDTHS.get(char, 1.0) for char in text)
    return ems * _CHART_FONT_SIZE * 1.02 + 1


def _datatable(frame: pl.DataFrame, table_id: str) -> Markup | None:
    """An itables DataTable of `frame` (values HTML-escaped by itables), or None when empty."""
    from itables import to_html_datatable

    if frame.is_empty():
        return None
    kinds = {"prose": _PROSE_COLUMNS, "short": _SHORT_COLUMNS}
    column_classes = [
        {"targets": [i for i, c in enumerate(frame.columns) if c in names], "className": kind}
        for kind, names in kinds.items()
    ]
    cell_classes = [
        next((k for k, names in kinds.items() if c in names), "") for c in frame.columns
    ]
    renamed = frame.rename({c: _HEADERS.get(c, c.replace("_", " ")) for c in frame.columns})
    html = to_html_datatable(
        renamed,
        table_id=table_id,
        connected=False,
        allow_html=False,
        showIndex=False,
        show_dtypes=False,
        # We cap the rows ourselves and say so; itables must not drop any silently.
        maxBytes=0,
        maxRows=0,
        maxColumns=0,
        classes="display compact stripe hover",
        style="width:100%",
        # Not itables' default layout, which it strips of search and paging on short tables.
        layout={
            "topStart": "info",
            "topEnd": "search",
            "bottomStart": "pageLength",
            "bottomEnd": "paging",
        },
        pageLength=_PAGE_LENGTH,
        lengthMenu=[10, 25, 100, 500],
        order=[],
        autoWidth=False,
        columnDefs=column_classes,
        display_logo_when_loading=False,
        text_in_header_can_be_selected=False,
    )
    return Markup(_with_first_page(html, renamed, table_id, cell_classes))


def _with_first_page(html: str, frame: pl.DataFrame, table_id: str, classes: list[str]) -> str:
    """itables' markup with the table's first page written in as a plain <table>, in place of
    its "Loading ITables…" row and of its static preview (itables' own look, with a link to
    its site). Scripts on, itables sets the table's content to its header row and DataTables
    fills it from the data: the plain rows are replaced, never shown twice."""
    name = re.escape(table_id)
    placeholder = re.compile(
        rf'<table id="{name}"[^>]*>.*?</table>'
        rf'(?:\s*<div id="{name}_fallback">.*?</div><script>[^<]*</script>)?',
        re.DOTALL,
    )
    found = placeholder.search(html)
    if found is None:  # a newer itables: its markup changed under us
        raise RuntimeError(f"itables' table markup for {table_id!r} is not the one expected")
    head = "".join(f"<th>{escape(column)}</th>" for column in frame.columns)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{kind}">{"" if value is None else escape(value)}</td>'
            for kind, value in zip(classes, row, strict=True)
        )
        + "</tr>"
        for row in frame.head(_PAGE_LENGTH).iter_rows()
    )
    table = (
        f'<table id="{table_id}" class="static" style="width:100%">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )
    return html[: found.start()] + table + html[found.end() :]


@cache
def _datatables_init() -> Markup:
    """itables' offline loader: the DataTables bundle and CSS inlined once per page, without
    the notice it shows readers without JavaScript (its logo, and "is your notebook trusted?":
    words for a notebook, not a report, whose tables read without JavaScript anyway)."""
    from itables.javascript import generate_init_offline_itables_html
    from itables.options import dt_bundle

    loader = generate_init_offline_itables_html(dt_bundle)
    notice = re.compile(r"<div[^>]*>\s*<noscript>.*?</noscript>\s*</div>\s*$", re.DOTALL)
    return Markup(notice.sub("", loader))


@cache
def _template() -> jinja2.Template:
    # Here, not at the top: `PageRows` is imported wherever rows are written, and jinja2 costs
    # ~50 ms of every start that makes no page.
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).with_name("_html")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = _number
    env.filters["tone"] = lambda outcome: _TONES.get(str(outcome), "neutral")
    return env.get_template("report.html.j2")


def _number(n: Any) -> str:
    return f"{int(n):,}" if isinstance(n, int | float) else "—"


def _seconds(value: float) -> str:
    if value < 60:
        return f"{value:.1f} s"
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes} min {seconds:02d} s"
