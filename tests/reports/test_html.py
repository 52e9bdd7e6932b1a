"""report.html: input values escaped, counts on the page, embedded rows capped, empty runs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from reports import MAX_CHANGED_ROWS, REPORT_ORDER, PageRows, render_report, write_report_html
from schemas.fields import OUTCOMES
from schemas.summary import RunSummary, SourceFacts, TargetFacts
from tests.reports.report_frames import (
    HOSTILE,
    IMG,
    SCRIPT,
    check_rows,
    frame,
    import_rows,
    plan_rows,
    plan_summary,
    recon_rows,
    recon_summary,
    review_rows,
    review_summary,
    summary_of,
    target_only_leads,
)
from transforms.reconcile import RECON_STATUSES


class _Page(HTMLParser):
    """Tags, attributes and visible text of a page (script bodies kept apart)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: Counter[str] = Counter()
        self.attributes: list[tuple[str, str | None]] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self._in_script = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        self.attributes.extend(attrs)
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        (self.scripts if self._in_script else self.text).append(data)

    def visible(self) -> str:
        return " ".join(" ".join(self.text).split())


def _dt_arg(html: str, table_id: str, key: str) -> Any:
    """One of the arguments itables passes to DataTables for one table."""
    start = html.index(f"#{table_id}:not(.dataTable)")
    at = html.index(f'"{key}": ', start) + len(f'"{key}": ')
    return json.JSONDecoder().raw_decode(html, at)[0]


def table_data(html: str, table_id: str) -> list[list[Any]]:
    """The rows itables embeds for one table (a JSON string inside its arguments)."""
    rows: list[list[Any]] = json.loads(_dt_arg(html, table_id, "data_json"))
    return rows


def table_headers(html: str, table_id: str) -> list[str]:
    return re.findall(r"<th>([^<]*)</th>", _dt_arg(html, table_id, "table_html"))


def first_page(html: str, table_id: str) -> list[list[str]]:
    """The plain rows written into the table's markup (what a reader without JavaScript sees)."""
    start = html.index(f'<table id="{table_id}"')
    markup = html[start : html.index("</table>", start)]
    return [
        [_Page(cell).visible() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", markup.split("<tbody>", 1)[1])
    ]


def section(html: str, section_id: str) -> str:
    """The visible text of one card of the page."""
    start = html.index(">", html.index(f'id="{section_id}"')) + 1
    return _Page(html[start : html.index("</section>", start)]).visible()


def tile_values(html: str) -> dict[str, str]:
    found = re.findall(
        r'<div class="value">([^<]*)</div>\s*<div class="label">([^<]*?)\s*(?:<span|</div>)', html
    )
    return {label.strip(): value for value, label in found}


@pytest.mark.parametrize(
    "rows, summary, target_only",
    [
        (plan_rows(), plan_summary(plan_rows()), None),
        (check_rows(), summary_of(run_id=SCRIPT, source=SourceFacts(IMG, "csv")), None),
        (recon_rows(), recon_summary(recon_rows(), target_only_leads()), target_only_leads()),
        (review_rows(), review_summary(review_rows()), None),
    ],
    ids=["plan", "check", "reconcile", "review"],
)
def test_values_from_the_file_are_text_never_markup(
    rows: pl.DataFrame, summary: RunSummary, target_only: pl.DataFrame | None
) -> None:
    html = render_report(rows, summary, target_only=target_only)
    benign = render_report(
        rows.with_columns(pl.col(pl.String).str.replace_all("[<>\"']", "_")),
        RunSummary.from_json(
            json.loads(json.dumps(summary.as_json()).replace("<", "_").replace(">", "_"))
        ),
        target_only=target_only,
    )
    page, reference = _Page(html), _Page(benign)
    # The hostile values add no element: same scripts, no image, no handler attribute.
    assert page.tags["script"] == reference.tags["script"]
    assert page.tags["img"] == 0
    assert not [name for name, _ in page.attributes if name.startswith("on")]
    for value in HOSTILE:
        assert value not in html
    # A script body never holds what would end it early or open an HTML comment in it: the
    # only `</` in scripts close itables' own header markup, inside its JSON.
    for body in page.scripts:
        assert "<!--" not in body
        assert re.findall(r"</(\w*)", body) == [
            tag for tag in re.findall(r"</(\w*)", body) if tag in ("th", "tr", "thead", "table")
        ]
    # ...and the values are on the page as text (in the table data, escaped once).
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html


def test_plan_counts_reasons_and_field_changes_are_on_the_page() -> None:
    rows = plan_rows()
    html = render_report(rows, plan_summary(rows))
    values = tile_values(html)
    assert values["rows"] == "60"
    assert values["would create"] == "12"
    assert values["invalid"] == "12"
    assert values["would update"] == "12"
    assert values["requests planned"] == "24"
    assert values["requests throttled"] == "0"
    page = _Page(html)
    text = page.visible()
    assert "sandbox:octanist" in text and "20261122T070000Z-abc123" in text
    # Reasons: rows needing a look, counted by code, with the first row that has each.
    assert re.search(r"invalid_email 12 2 'x0@' is bad", text)
    assert re.search(r"unsettable_status 6 7 cannot set", text)
    # Per-field changes: changed_fields of would_update rows, exploded.
    assert re.search(r"email</code></td><td class=\"num\">6</td>", html)
    assert re.search(r"phone</code></td><td class=\"num\">5</td>", html)
    assert re.search(r"status</code></td><td class=\"num\">6</td>", html)
    # Durations: every stage, with its share.
    assert re.search(r"snapshot 0.300 58%", text)
    assert len(re.findall(r'<svg [^>]*class="bars"', html)) == 3


def test_attention_table_holds_the_rows_needing_a_look_most_severe_first() -> None:
    rows = plan_rows(hostile=False)
    data = table_data(render_report(rows, plan_summary(rows)), "attention_table")
    assert [r[1] for r in data] == ["conflict"] * 6 + ["invalid"] * 12 + ["duplicate"] * 6 + [
        "skipped"
    ] * 6
    assert [r[0] for r in data[:3]] == [6, 16, 26]
    assert data[0][:4] == [6, "conflict", "conflict", "two leads match"]


def test_import_rows_show_http_status_attempts_and_request_id() -> None:
    rows = import_rows()
    html = render_report(rows, summary_of("import", requests={"sent": 2, "retried": 2}))
    assert tile_values(html)["requests retried"] == "2"
    assert table_headers(html, "attention_table") == [
        *("Row", "Outcome", "Reason code", "Reason", "Name", "Email", "Phone", "Business"),
        *("Target id", "HTTP", "Attempts", "Request id"),
    ]
    data = table_data(html, "attention_table")
    assert [r[:2] for r in data] == [[4, "failed"], [5, "invalid"]]
    assert data[0][-3:] == [500, 3, "req-9"]


def test_embedded_rows_are_capped_and_the_rest_counted() -> None:
    rows = check_rows(400)
    html = render_report(rows, summary_of("check"), max_rows=50)
    assert len(table_data(html, "attention_table")) == 50
    text = _Page(html).visible()
    assert "Rows that need attention 200" in text
    assert "Showing the first 50; 150 more in rows.csv." in text


def test_reconciliation_shows_mismatches_with_examples_and_target_only_leads() -> None:
    rows, target_only = recon_rows(), target_only_leads()
    html = render_report(rows, recon_summary(rows, target_only), target_only=target_only)
    text = _Page(html).visible()
    assert "Fields that differ between the file and the target" in text
    assert "email 5 row 7 new5@x.io → old5@x.io row 11 new9@x.io → old9@x.io row 15" in text
    assert "phone 2 row 11 (blank) → +12125550100 row 19 (blank) → +12125550100" in text
    assert tile_values(html)["only in target"] == "3"
    assert tile_values(html)["target duplicate groups"] == "1"
    attention = table_data(html, "attention_table")
    # What differs comes first (it is what a reconciliation is read for), then what to fix.
    assert [r[1] for r in attention] == ["different"] * 6 + ["invalid"] * 6 + ["only_in_file"] * 6
    by_row = {r[0]: r for r in attention}
    assert by_row[7][4] == "email: new5@x.io → old5@x.io"
    assert by_row[11][4] == "email: new9@x.io → old9@x.io; phone: (blank) → +12125550100"
    leads = table_data(html, "target_only_table")
    assert [r[0] for r in leads] == ["T1", "T2", "T3"]
    assert leads[0][1:3] == ["Tina Target", "tina@target.io"]


def test_an_empty_run_with_a_bare_summary_still_renders() -> None:
    html = render_report(frame([]), summary_of(job=""))
    text = _Page(html).visible()
    assert "No rows in this run." in text
    assert "Nothing needs attention" in text
    assert "leadpipe run" in text  # no job named: a run
    assert tile_values(html) == {"rows": "0", "duration": "0.0 s"}
    assert "attention_table" not in html and "dt_bundle" not in html


def test_a_summary_without_counts_rows_or_path_falls_back_to_the_rows() -> None:
    rows = check_rows(8)
    html = render_report(rows, summary_of("check"))
    tiles = {"rows": "8", "valid": "4", "invalid": "2", "duplicate": "2", "duration": "0.0 s"}
    assert tile_values(html) == tiles
    assert "f.csv" in _Page(html).visible()


def test_rows_without_optional_columns_render() -> None:
    rows = pl.DataFrame({"source_row": [2, 3], "outcome": ["valid", "invalid"]})
    html = render_report(rows, summary_of("check"))
    assert tile_values(html)["invalid"] == "1"
    assert table_data(html, "attention_table") == [[3, "invalid"]]


def test_write_report_html_replaces_atomically(tmp_path: Path) -> None:
    rows = check_rows(4)
    (tmp_path / "report.html").write_text("old", encoding="utf-8")
    path = write_report_html(rows, summary_of("check", run_id="r1"), tmp_path)
    assert path == tmp_path / "report.html"
    assert "r1" in path.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_the_page_fetches_nothing() -> None:
    rows = plan_rows()
    html = render_report(rows, plan_summary(rows))
    page = _Page(html)
    # Links a person may click are fine (itables names its help page); loads are not.
    assert [value for name, value in page.attributes if name == "src"] == []
    assert not re.search(r"""(?:import|from)\s*\(?\s*["']https?://""", html)
    assert page.tags["link"] == 0


def test_every_outcome_word_has_a_place_in_the_report_order() -> None:
    assert set(OUTCOMES) | set(RECON_STATUSES) <= set(REPORT_ORDER)
    rows = plan_rows(hostile=False)
    html = render_report(rows, plan_summary(rows))  # the summary lists them alphabetically
    assert list(tile_values(html))[1:8] == [
        *("would create", "would update", "unchanged", "conflict", "invalid", "duplicate"),
        "skipped",
    ]


@pytest.mark.parametrize(
    "rows, summary",
    [
        (pl.DataFrame(), summary_of(job="")),
        (pl.DataFrame({"source_row": [2], "outcome": [None]}), summary_of("import")),
        (frame([], recon=True), summary_of("reconcile")),
        (
            pl.DataFrame({"outcome": ["invalid"]}),
            summary_of(durations={"read": 0.0}, source=SourceFacts("x.csv", "csv")),
        ),
    ],
    ids=["no-columns", "null-typed", "empty-reconcile", "outcome-only-zero-durations"],
)
def test_degenerate_inputs_still_give_a_page(rows: pl.DataFrame, summary: RunSummary) -> None:
    html = render_report(rows, summary, target_only=pl.DataFrame())
    assert html.startswith("<!doctype html>") and html.rstrip().endswith("</html>")
    assert "Rows that need attention" in html


@pytest.mark.parametrize("part", [1, 7, 1000])
@pytest.mark.parametrize("run", ["plan", "review"])
def test_page_rows_gathered_in_parts_give_the_page_of_the_whole(part: int, run: str) -> None:
    """`PageRows` (report rows part by part, for a file in partitions) give the same page:
    counts, reasons, field changes, the capped attention table, most severe first, warnings,
    values not sent, vendor limits and the updates' changes."""
    rows = plan_rows(hostile=False) if run == "plan" else review_rows()
    summary = plan_summary(rows) if run == "plan" else review_summary(rows)
    page = PageRows(max_rows=20)
    for offset in range(0, rows.height, part):
        page.add(rows.slice(offset, part))
    whole = render_report(rows, summary, max_rows=20)
    parted = render_report(page, summary, max_rows=20)
    assert table_data(parted, "attention_table") == table_data(whole, "attention_table")
    assert table_data(parted, "changed_table") == table_data(whole, "changed_table")
    assert _Page(parted).visible().replace(" ", "") == _Page(whole).visible().replace(" ", "")
    # Only each reason code's example keeps its text (what a 10M-row page would otherwise hold).
    examples = page.counted().filter(pl.col("reason").is_not_null())
    assert examples.height == examples["reason_code"].n_unique() > 0


def test_notices_and_warning_counts_are_on_the_page() -> None:
    rows = check_rows()
    summary = summary_of(
        "check",
        notices=("3 lines above the header row were skipped (the first: '<b>Notes:')",),
        warnings={"assumed_international": 12, "unknown_country": 1},
    )
    html = render_report(rows, summary)
    assert "About this file" in html
    assert (
        "3 lines above the header row were skipped (the first: &#39;&lt;b&gt;Notes:&#39;)" in html
    )
    assert '<code>assumed_international</code></td><td class="num">12</td>' in html
    assert "About this file" not in render_report(rows, summary_of("check"))


def test_updates_list_old_and_new_values_per_field() -> None:
    rows = review_rows()
    html = render_report(rows, review_summary(rows))
    assert "Updates: old → new 10" in section(html, "changed-rows")
    assert table_headers(html, "changed_table") == [
        *("Row", "Name", "Email", "Field", "Old value", "New value", "Target id")
    ]
    data = table_data(html, "changed_table")
    assert data[:3] == [
        [3, "First1 Last1", "person1@example.com", "status", "open", "won", "L1"],
        [4, "First2 Last2", "person2@example.com", "status", "open", "won", "L2"],
        [4, "First2 Last2", "person2@example.com", "value", "(blank)", "200.0", "L2"],
    ]
    assert len(data) == 15  # 5 rows change one field, 5 rows two
    assert [r[0] for r in data] == sorted(r[0] for r in data)


def test_updates_without_a_changes_column_list_their_changed_fields() -> None:
    rows = review_rows().drop("changes")  # a report written before `changes` existed
    html = render_report(rows, review_summary(rows))
    assert "Updated rows and their changed fields 10" in section(html, "changed-rows")
    assert table_headers(html, "changed_table") == [
        *("Row", "Name", "Email", "Changed fields", "Target id")
    ]
    assert table_data(html, "changed_table")[:2] == [
        [3, "First1 Last1", "person1@example.com", "status", "L1"],
        [4, "First2 Last2", "person2@example.com", "status, value", "L2"],
    ]


def test_the_changes_table_holds_the_first_thousand_updated_rows() -> None:
    n = MAX_CHANGED_ROWS + 5
    records = [
        {
            "source_row": i + 2,
            "outcome": "would_update",
            "changed_fields": ["status"],
            "changes": [{"field": "status", "old": "open", "new": "won"}],
        }
        for i in range(n)
    ]
    rows = frame(records, changes=True)
    html = render_report(rows, summary_of("plan", {"would_update": n}, rows=n))
    data = table_data(html, "changed_table")
    assert [r[0] for r in data] == list(range(2, MAX_CHANGED_ROWS + 2))
    text = section(html, "changed-rows")
    assert "Showing the first 1,000 updated rows; all 1,005 are in rows.parquet." in text
    page = PageRows()  # in parts, the same first thousand
    for offset in range(0, n, 300):
        page.add(rows.slice(offset, 300))
    parted = render_report(page, summary_of("plan", {"would_update": n}, rows=n))
    assert table_data(parted, "changed_table") == data


def test_vendor_limits_are_listed_apart_from_data_errors() -> None:
    rows = review_rows()
    html = render_report(rows, review_summary(rows))
    limits = section(html, "vendor-limits")
    assert limits.startswith("Skipped: what Octanist cannot take (not errors in the file)")
    assert "reopen_blocked 5 6 not sent: the lead is won in octanist" in limits
    assert "unsettable_status 5 5 octanist cannot set status 'not_interested'" in limits
    errors = section(html, "top-reasons")
    assert "invalid_email 5 7 bad 5" in errors
    assert "unsettable_status" not in errors and "reopen_blocked" not in errors
    # Without vendor-limit skips there is no such block, and the reasons keep their title.
    plain = render_report(import_rows(), summary_of("import"))
    assert 'id="vendor-limits"' not in plain
    assert section(plain, "top-reasons").startswith("Top reasons, with the first row")


def test_rows_kept_with_warnings_are_counted_per_outcome() -> None:
    rows = review_rows()
    tiles = tile_values(render_report(rows, review_summary(rows)))
    # Rows 0, 16 and 32 had a junk phone left out, rows 2, 10, … 34 a time zone. A value
    # Octanist does not store (every kind-0 and kind-2 row) is in the "not sent" block, not a
    # warning about the row's data: the other created rows with only that do not count.
    assert tiles["created with warnings"] == "3"
    assert tiles["updated with warnings"] == "5"
    html = render_report(rows, review_summary(rows))
    assert re.search(r"created with warnings\s*<span class=\"share\">20% of 15</span>", html)
    assert "with warnings" not in "".join(tile_values(render_report(import_rows(), summary_of())))


def test_values_not_sent_are_grouped_by_field_with_an_example() -> None:
    rows = review_rows()
    text = section(render_report(rows, review_summary(rows)), "not-sent")
    assert text.startswith("Not sent to Octanist: values the file gives that Octanist cannot")
    assert "business_name 10 2 octanist does not store a business name" in text
    assert "phone" not in text  # an invalid phone left out is a warning, not a vendor limit


@pytest.mark.parametrize("vendor, hidden", [("octanist", True), ("apten", True), ("omni", False)])
def test_columns_the_vendor_does_not_store_are_not_shown(vendor: str, hidden: bool) -> None:
    rows = review_rows()
    summary = review_summary(rows)
    summary = RunSummary(**{**vars(summary), "target": TargetFacts(f"sandbox:{vendor}", vendor)})
    html = render_report(rows, summary)
    headers = table_headers(html, "attention_table")
    assert ("Business" not in headers) is hidden
    note = f"Business: not shown, {vendor.capitalize()} does not store it"
    assert (note in section(html, "attention")) is hidden
    # Without a target (check) every column is shown.
    assert "Business" in table_headers(render_report(rows, summary_of("check")), "attention_table")


def test_each_table_s_first_page_is_in_the_markup_for_readers_without_javascript() -> None:
    rows = plan_rows()
    html = render_report(rows, plan_summary(rows))
    page = first_page(html, "attention_table")
    data = table_data(html, "attention_table")
    assert len(page) == 25 and len(data) == 30
    # The same cells as DataTables' first page (its data holds them HTML-escaped).
    assert page == [[_Page("" if v is None else str(v)).visible() for v in r] for r in data[:25]]
    assert page[0][:3] == ["6", "conflict", "conflict"]
    assert "Loading ITables" not in html and "_fallback" not in html
    assert "<noscript>" not in html.replace('<noscript><p class="note">', "")  # only ours
    # Hostile values in those cells are text.
    assert SCRIPT not in html and any(f"bad {SCRIPT}" in cell for r in page for cell in r)
    review = review_rows()
    changes = first_page(render_report(review, review_summary(review)), "changed_table")
    assert changes[0] == ["3", "First1 Last1", "person1@example.com", "status", "open", "won", "L1"]


def test_shares_never_round_a_part_to_0_or_100_percent() -> None:
    rows = check_rows(4).head(1)
    records = [{"source_row": i + 2, "outcome": "valid"} for i in range(999)]
    rows = frame([*records, {"source_row": 1001, "outcome": "invalid", "reason_code": "x"}])
    html = render_report(rows, summary_of("check"))
    shares = dict(
        re.findall(r'<div class="label">([^<]*?) <span class="share">([^<]*)</span>', html)
    )
    assert shares == {"valid": "over 99%", "invalid": "under 1%"}


_SVG = "{http://www.w3.org/2000/svg}"


@dataclass
class Bar:
    """One category's row of a chart: its label as drawn, its count, its segments' (width,
    colour), the row's tooltip."""

    label: str
    count: str
    segments: list[tuple[float, str]]
    tooltip: str


def charts(html: str) -> dict[str, ET.Element]:
    """The page's charts by their name, each parsed as XML (so well-formed, entities and all)."""
    found = [ET.fromstring(svg) for svg in re.findall(r"<svg .*?</svg>", html, re.DOTALL)]
    return {svg.attrib["aria-label"]: svg for svg in found}


def bars(svg: ET.Element) -> list[Bar]:
    rows = []
    for row in svg.iter(f"{_SVG}g"):
        if row.get("class") != "bar-row":
            continue
        texts = {t.get("class"): "".join(t.itertext()) for t in row.iter(f"{_SVG}text")}
        segments = [
            (float(r.attrib["width"]), r.attrib["fill"])
            for r in row.iter(f"{_SVG}rect")
            if r.get("class") == "bar"
        ]
        title = row.find(f"{_SVG}title")
        assert title is not None
        rows.append(Bar(texts["label"], texts["count"], segments, title.text or ""))
    return rows


def legend(svg: ET.Element) -> list[tuple[str, str]]:
    """(word, colour) of each legend entry, in order."""
    entries = [g for g in svg.iter(f"{_SVG}g") if g.get("class") == "legend-item"]
    return [
        ("".join(g.find(f"{_SVG}text").itertext()), g.find(f"{_SVG}rect").attrib["fill"])  # type: ignore[union-attr]
        for g in entries
    ]


def test_charts_are_svg_bars_with_a_label_and_a_count_per_category() -> None:
    rows = plan_rows()
    html = render_report(rows, plan_summary(rows))
    drawn = charts(html)
    assert list(drawn) == ["Rows per outcome", "Rows per reason code", "Rows changing per field"]
    for svg in drawn.values():
        width, height = (float(v) for v in svg.attrib["viewBox"].split()[2:])
        assert (svg.attrib["width"], svg.attrib["height"]) == (f"{width:.0f}", f"{height:.0f}")
        for rect in svg.iter(f"{_SVG}rect"):  # every bar and swatch inside the picture
            assert float(rect.attrib["x"]) + float(rect.attrib["width"]) <= width
            assert float(rect.attrib["y"]) + float(rect.attrib["height"]) <= height
    # Outcomes in the report's order, each its own colour, bars in proportion (12 = longest).
    outcomes = bars(drawn["Rows per outcome"])
    assert [(b.label, b.count) for b in outcomes] == [
        *(("would_create", "12"), ("would_update", "12"), ("unchanged", "6")),
        *(("conflict", "6"), ("invalid", "12"), ("duplicate", "6"), ("skipped", "6")),
    ]
    assert outcomes[0].segments == [(360.0, "#38a169")]
    assert outcomes[2].segments == [(180.0, "#a0aec0")]
    assert outcomes[4].segments == [(360.0, "#c53030")]
    assert outcomes[4].tooltip == "invalid: 12 rows"
    assert legend(drawn["Rows per outcome"]) == []  # the labels say what each colour is
    # Reasons: most rows first, coloured by the outcome they led to, with a legend of those.
    reasons = drawn["Rows per reason code"]
    assert [(b.label, b.count, b.segments) for b in bars(reasons)] == [
        ("invalid_email", "12", [(360.0, "#c53030")]),
        ("conflict", "6", [(180.0, "#dd6b20")]),
        ("duplicate", "6", [(180.0, "#d69e2e")]),
        ("unsettable_status", "6", [(180.0, "#718096")]),
    ]
    assert legend(reasons) == [
        ("conflict", "#dd6b20"),
        ("invalid", "#c53030"),
        ("duplicate", "#d69e2e"),
        ("skipped", "#718096"),
    ]
    # Fields of the updates, one colour; a field name from the file is drawn as text.
    fields = bars(drawn["Rows changing per field"])
    assert [(b.label, b.count) for b in fields] == [
        ("email", "6"),
        ("status", "6"),
        ("phone", "5"),
        (SCRIPT, "1"),
    ]
    assert {colour for b in fields for _, colour in b.segments} == {"#3182ce"}
    lengths = [b.segments[0][0] for b in fields]
    # A long label leaves the bars less room: the picture still fits a card unscaled.
    assert 200 <= lengths[0] < 360 and float(drawn["Rows changing per field"].get("width")) <= 560
    assert [round(n / lengths[0] * 6, 1) for n in lengths] == [6, 6, 5, 1]
    assert "<desc>email: 6; status: 6; phone: 5; &lt;script&gt;" in html


def test_a_reason_with_several_outcomes_is_one_stacked_bar() -> None:
    records = [
        *({"source_row": i, "outcome": "failed", "reason_code": "http_500"} for i in range(3)),
        {"source_row": 10, "outcome": "skipped", "reason_code": "http_500"},
        *({"source_row": 20 + i, "outcome": "invalid", "reason_code": "bad"} for i in range(2)),
    ]
    svg = charts(render_report(frame(records), summary_of("import")))["Rows per reason code"]
    drawn = bars(svg)
    assert [(b.label, b.count) for b in drawn] == [("http_500", "4"), ("bad", "2")]
    assert drawn[0].segments == [(270.0, "#822727"), (90.0, "#718096")]  # failed, then skipped
    assert drawn[1].segments == [(180.0, "#c53030")]
    assert legend(svg) == [("invalid", "#c53030"), ("failed", "#822727"), ("skipped", "#718096")]


def test_counts_read_with_thousands_and_a_small_count_still_shows() -> None:
    summary = summary_of("check", {"valid": 1_234_567, "invalid": 5, "duplicate": 0})
    drawn = bars(charts(render_report(frame([]), summary))["Rows per outcome"])
    assert [(b.label, b.count) for b in drawn] == [
        ("valid", "1,234,567"),
        ("invalid", "5"),
        ("duplicate", "0"),
    ]
    assert drawn[0].segments == [(360.0, "#2f855a")]
    assert drawn[1].segments == [(1.5, "#c53030")]  # 0.0015 to scale: drawn, thin
    assert drawn[2].segments == []


def test_long_and_hostile_labels_are_text_cut_to_fit_with_the_whole_in_the_tooltip() -> None:
    long_word = "Custom_" + "W" * 60
    names = [IMG, SCRIPT, long_word, "电子邮件地址" * 8, "a&b"]
    records = [
        {"source_row": i, "outcome": "updated", "changed_fields": [name]}
        for i, name in enumerate(names)
    ]
    html = render_report(frame(records), summary_of("import"))
    for value in (IMG, SCRIPT, "a&b"):
        assert value not in html
    svg = charts(html)["Rows changing per field"]
    drawn = {b.tooltip.rsplit(":", 1)[0]: b for b in bars(svg)}
    assert set(drawn) == set(names)
    assert drawn[SCRIPT].label == SCRIPT and drawn["a&b"].label == "a&b"  # text, as written
    for name in (IMG, long_word, "电子邮件地址" * 8):  # IMG: 38 characters, many of them wide
        label = drawn[name].label
        assert label.endswith("…") and name.startswith(label[:-1]) and len(label) <= 40
    # The labels' column holds the widest label (a run of W is the widest Latin text); the
    # browser test measures the drawn text against the picture.
    labels = [t for t in svg.iter(f"{_SVG}text") if t.get("class") == "label"]
    ends = {float(t.attrib["x"]) for t in labels}
    assert len(ends) == 1 and 200 < ends.pop() <= 272


def test_charts_start_no_javascript_engine_and_load_no_charting_library() -> None:
    code = (
        "import sys; from reports.html import render_report; "
        "from tests.reports.report_frames import plan_rows, plan_summary; "
        "rows = plan_rows(); html = render_report(rows, plan_summary(rows)); "
        "assert html.count('<svg ') == 3; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('altair', 'vl_convert', 'vega_datasets', 'vegafusion')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"
