"""report.html in a real browser: charts drawn, search and sort work, nothing runs or is fetched.

Headless Chromium (the system one: Playwright cannot download its own browser here) opens
reports rendered from synthetic runs holding hostile values. Every request that is not a
local file, inline data or the blob itables loads its bundle from is refused and counted.
The review sections (updates old → new, vendor limits, values not sent, rows with warnings)
are read as shown; with JavaScript off the tables' first pages still read; at 1280 px every
table fits its card.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from reports import write_report_html
from schemas.summary import RunSummary, SourceFacts
from tests.reports.report_frames import (
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

playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL = ("file:", "data:", "blob:")
TABLE = "#attention_table"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (CI installs it itself)")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Opened:
    """A report open in a page, with what it tried to do besides showing itself."""

    page: Any
    fetched: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def refuse_remote(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(LOCAL):
            route.continue_()
        else:
            self.fetched.append(url)
            route.abort()

    def dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def column(self, index: int, table: str = TABLE) -> list[str]:
        cells = self.page.locator(f"{table} tbody tr td:nth-child({index})")
        texts: list[str] = cells.all_inner_texts()
        return texts


@pytest.fixture
def open_report(browser: Any, tmp_path: Path) -> Iterator[Any]:
    contexts = []

    def open_(
        rows: pl.DataFrame,
        summary: RunSummary,
        target_only: pl.DataFrame | None = None,
        *,
        javascript: bool = True,
    ) -> Opened:
        run = tmp_path / summary.job
        page_file = write_report_html(rows, summary, run, target_only=target_only)
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, java_script_enabled=javascript
        )
        contexts.append(context)
        opened = Opened(context.new_page())
        opened.page.route("**/*", opened.refuse_remote)
        opened.page.on("dialog", opened.dialog)
        opened.page.on("pageerror", lambda e: opened.errors.append(str(e)))
        opened.page.goto(page_file.as_uri())
        if javascript:
            opened.page.wait_for_selector(f"{TABLE}.dataTable", state="visible", timeout=20_000)
        opened.page.screenshot(path=str(run / "report.png"), full_page=True)
        return opened

    yield open_
    for context in contexts:
        context.close()


def assert_harmless(opened: Opened, tmp_path: Path, job: str) -> None:
    """No script from the data ran, no dialog, no error, no fetch; a screenshot was taken."""
    assert opened.page.evaluate("typeof window.__pwned") == "undefined"
    assert opened.dialogs == []
    assert opened.errors == []
    assert opened.fetched == []
    assert (tmp_path / job / "report.png").stat().st_size > 10_000


def assert_charts_drawn(opened: Opened, charts: int) -> None:
    """Each chart is an SVG on screen whose bars have a size, inside its card, with every
    label and count drawn inside the picture (its text laid out without a browser to measure
    it) and each count to the right of its bar."""
    svgs = opened.page.locator("svg.bars")
    assert svgs.count() == charts
    for i in range(charts):
        svg = svgs.nth(i)
        box = svg.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 20
        card = svg.locator("xpath=ancestor::*[contains(@class, 'card')][1]").bounding_box()
        assert box["x"] >= card["x"] and box["x"] + box["width"] <= card["x"] + card["width"]
        bars = svg.locator("rect.bar")
        assert bars.count() > 0
        widths = [bars.nth(j).bounding_box()["width"] for j in range(bars.count())]
        assert max(widths) > 10
        texts: list[dict[str, float]] = svg.evaluate(
            """(svg) => [...svg.querySelectorAll('text')].map((t) => {
                const r = t.getBoundingClientRect();
                return {left: r.left, right: r.right, top: r.top, bottom: r.bottom};
            })"""
        )
        assert texts
        for text in texts:
            assert box["x"] - 0.5 <= text["left"] and text["right"] <= box["x"] + box["width"] + 0.5
            assert (
                box["y"] - 0.5 <= text["top"] and text["bottom"] <= box["y"] + box["height"] + 0.5
            )
        ends: list[list[float]] = svg.evaluate(
            """(svg) => [...svg.querySelectorAll('g.bar-row')].map((row) => {
                const label = row.querySelector('text.label').getBoundingClientRect();
                const count = row.querySelector('text.count').getBoundingClientRect();
                const bars = [...row.querySelectorAll('rect.bar')].map(
                    (b) => b.getBoundingClientRect());
                const start = Math.min(label.right, ...bars.map((b) => b.left));
                const end = Math.max(label.right, ...bars.map((b) => b.right));
                return [label.right, start, end, count.left];
            })"""
        )
        for label_right, bar_start, bar_end, count_left in ends:
            assert label_right <= bar_start + 0.5 and bar_end <= count_left + 0.5


def search(opened: Opened, text: str, table: str = TABLE) -> None:
    """Type into the table's search box (DataTables filters on the input event, in place)."""
    opened.page.fill(f"input[aria-controls='{table[1:]}']", text)


def test_plan_report(open_report: Any, tmp_path: Path) -> None:
    rows = plan_rows()
    opened = open_report(rows, plan_summary(rows))
    assert_charts_drawn(opened, charts=3)

    # 30 rows need a look; the first page shows 25, most severe first.
    assert len(opened.column(1)) == 25
    assert opened.column(2)[:6] == ["conflict"] * 6
    assert "Showing 1 to 25 of 30 entries" in opened.page.inner_text(f"{TABLE}_wrapper")

    # Search narrows to the matching rows, and only those.
    search(opened, "person13@example.com")
    assert opened.column(1) == ["15"]
    search(opened, "window.__pwned")
    assert opened.column(4) == [f"bad {SCRIPT}"]
    assert opened.column(5) == [f"{SCRIPT} Last1"]
    search(opened, "")

    # Sort by the row number, both ways.
    header = opened.page.locator(f"{TABLE} thead th", has_text="Row")
    header.click()
    playwright.expect(header).to_have_attribute("aria-sort", "ascending")
    ascending = [int(v) for v in opened.column(1)]
    assert ascending == [2, 3, 5, 6, 7, 12, 13, 15, 16, 17] + ascending[10:]
    header.click()  # DataTables sorts on a timer (to show its "processing" state): wait for it
    playwright.expect(header).to_have_attribute("aria-sort", "descending")
    descending = [int(v) for v in opened.column(1)]
    assert descending[:5] == [57, 56, 55, 53, 52]
    assert_harmless(opened, tmp_path, "plan")


def test_import_report_shows_failures_first(open_report: Any, tmp_path: Path) -> None:
    summary = summary_of("import", requests={"sent": 2, "retried": 2, "throttled": 1})
    opened = open_report(import_rows(), summary)
    assert opened.column(2) == ["failed", "invalid"]
    assert opened.column(10) == ["500", ""]
    assert_harmless(opened, tmp_path, "import")


def test_check_report(open_report: Any, tmp_path: Path) -> None:
    rows = check_rows()
    opened = open_report(rows, summary_of(run_id=SCRIPT, source=SourceFacts("x.csv", "csv")))
    assert_charts_drawn(opened, charts=2)
    assert len(opened.column(1)) == 14
    search(opened, "duplicate")
    assert opened.column(1) == ["5", "9", "13", "17", "21", "25", "29"]
    assert set(opened.column(2)) == {"duplicate"}
    search(opened, "Smith & Co")  # escaped in the data, found by its text
    businesses = opened.column(8)
    assert businesses and set(businesses) == {"Smith & Co"}
    assert SCRIPT in opened.page.inner_text("header")
    assert_harmless(opened, tmp_path, "check")


def test_reconcile_report(open_report: Any, tmp_path: Path) -> None:
    rows, target_only = recon_rows(), target_only_leads()
    opened = open_report(rows, recon_summary(rows, target_only), target_only)
    assert_charts_drawn(opened, charts=3)
    matrix = opened.page.inner_text("#mismatches table")
    assert "new5@x.io" in matrix and "old5@x.io" in matrix
    search(opened, "phone:")
    assert opened.column(1) == ["11", "19"]
    leads = "#target_only_table"
    opened.page.wait_for_selector(f"{leads}.dataTable", state="visible")
    assert opened.column(1, leads) == ["T1", "T2", "T3"]
    assert opened.column(2, leads)[1] == f"{SCRIPT} Only"
    assert_harmless(opened, tmp_path, "reconcile")


def test_chart_labels_fit_the_picture_without_javascript(open_report: Any) -> None:
    """Wide field names (a run of W, Chinese, hostile markup) and big counts: every label and
    count is drawn inside its chart (laid out from font widths, not measured in a browser),
    and the charts need no script."""
    names = ["W" * 60, "电子邮件地址" * 8, SCRIPT, "MMMMMMMMMMMMMMMMMMMM", "email"]
    records = [
        {"source_row": 2 + i, "outcome": "updated", "changed_fields": names[: 1 + i % 5]}
        for i in range(40)
    ] + [{"source_row": 100, "outcome": "failed", "reason_code": "W" * 45}]
    summary = summary_of("import", {"updated": 1_234_567, "failed": 1, "skipped": 0})
    opened = open_report(frame(records), summary, javascript=False)
    assert_charts_drawn(opened, charts=3)
    fields = opened.page.locator("#changes svg.bars text.label").all_text_contents()
    assert fields[2:] == [SCRIPT, "MMMMMMMMMMMMMMMMMMMM", "email"]
    for label, name in zip(fields[:2], names[:2], strict=True):  # cut to fit, the rest in rows.csv
        assert label.endswith("…") and name.startswith(label[:-1])
    assert opened.page.evaluate("typeof window.__pwned") == "undefined"


def test_print_hides_the_table_controls(open_report: Any) -> None:
    rows = check_rows()
    opened = open_report(rows, summary_of("check"))
    search_box = opened.page.locator(f"input[aria-controls='{TABLE[1:]}']")
    assert search_box.is_visible()
    opened.page.emulate_media(media="print")
    assert not search_box.is_visible()
    assert opened.page.locator("svg.bars").first.is_visible()


def test_review_sections(open_report: Any, tmp_path: Path) -> None:
    """An import into Octanist: updates old → new, vendor limits apart from data errors,
    values not sent by field, rows kept with warnings about their data."""
    rows = review_rows()
    opened = open_report(rows, review_summary(rows))
    page = opened.page
    changes = "#changed_table"
    page.wait_for_selector(f"{changes}.dataTable", state="visible")
    assert opened.column(1, changes)[:3] == ["3", "4", "4"]
    assert opened.column(4, changes)[:3] == ["status", "status", "value"]
    assert opened.column(5, changes)[:3] == ["open", "open", "(blank)"]
    assert opened.column(6, changes)[:3] == ["won", "won", "200.0"]
    search(opened, "window.__pwned", changes)
    assert opened.column(5, changes) == [SCRIPT]  # a hostile old value, shown as text
    limits = page.inner_text("#vendor-limits")
    assert "Skipped: what Octanist cannot take" in limits
    assert "reopen_blocked" in limits and "invalid_email" not in limits
    assert "invalid_email" in page.inner_text("#top-reasons")
    assert "unsettable_status" not in page.inner_text("#top-reasons")
    not_sent = page.inner_text("#not-sent")
    assert "Not sent to Octanist" in not_sent and "business_name" in not_sent
    tiles = page.inner_text(".tiles")
    # A junk phone left out is a warning; a value Octanist does not store is "not sent" above.
    assert "created with warnings" in tiles and "updated with warnings" in tiles
    # Octanist stores no business name: the attention table does not show one as if sent.
    headers = page.locator(f"{TABLE} thead th").all_inner_texts()
    assert "Business" not in [h.strip() for h in headers] and "Email" in headers
    assert_harmless(opened, tmp_path, "import")


def test_first_pages_read_without_javascript(open_report: Any) -> None:
    rows = plan_rows()
    opened = open_report(rows, plan_summary(rows), javascript=False)
    page = opened.page
    table = page.locator(TABLE)
    assert table.is_visible()
    assert len(opened.column(1)) == 25  # the first page, most severe first
    assert opened.column(1)[:3] == ["6", "16", "26"]
    assert opened.column(2)[:6] == ["conflict"] * 6
    first = page.locator(f"{TABLE} tbody tr").first
    assert first.is_visible() and "two leads match" in first.inner_text()
    assert page.get_by_text("person4@example.com").first.is_visible()
    body = page.inner_text("body")
    assert "Loading ITables" not in body
    assert "init_notebook_mode" not in body and "trusted" not in body  # itables' own notices
    assert "only the first 25 rows show" in page.inner_text("#attention")
    assert opened.page.evaluate("typeof window.__pwned") == "undefined"
    review = review_rows()
    opened = open_report(review, review_summary(review), javascript=False)
    assert opened.column(4, "#changed_table")[:2] == ["status", "status"]
    assert opened.column(5, "#changed_table")[:3] == ["open", "open", "(blank)"]


def _long_values(rows: pl.DataFrame) -> pl.DataFrame:
    """Rows whose identifying cells are long words (no spaces to wrap at), as real files have."""
    long_word = "x" * 180
    return rows.with_columns(
        pl.format("{}@{}.example.com", pl.col("email"), pl.lit(long_word)).alias("email"),
        pl.format("{}{}", pl.col("business_name"), pl.lit(long_word)).alias("business_name"),
        pl.format("{}{}", pl.col("last_name"), pl.lit(long_word)).alias("last_name"),
        pl.format("{} {}", pl.col("reason"), pl.lit(long_word)).alias("reason"),
        pl.lit("req-" + "0123456789abcdef" * 8).alias("request_id"),
    )


def _fits(opened: Opened, table: str) -> tuple[int, int]:
    """The table's scroll width and the client width of the card that holds it."""
    widths: list[int] = opened.page.evaluate(
        """(selector) => {
            const table = document.querySelector(selector);
            return [table.scrollWidth, table.closest('.card').clientWidth];
        }""",
        table,
    )
    return widths[0], widths[1]


@pytest.mark.parametrize("javascript", [True, False], ids=["datatables", "no-javascript"])
def test_tables_fit_their_card_at_1280_px(open_report: Any, javascript: bool) -> None:
    rows = _long_values(review_rows())
    summary = review_summary(rows)
    summary = RunSummary(**{**vars(summary), "target": None})  # every column shown
    opened = open_report(rows, summary, javascript=javascript)
    if javascript:
        opened.page.wait_for_selector("#changed_table.dataTable", state="visible")
    for table in (TABLE, "#changed_table"):
        table_width, card_width = _fits(opened, table)
        assert 0 < table_width <= card_width, table
    plan = _long_values(plan_rows())
    opened = open_report(plan, plan_summary(plan), javascript=javascript)
    table_width, card_width = _fits(opened, TABLE)
    assert 0 < table_width <= card_width
    rows, leads = recon_rows(), target_only_leads()
    opened = open_report(
        _long_values(rows), recon_summary(rows, leads), leads, javascript=javascript
    )
    for table in (TABLE, "#target_only_table"):
        table_width, card_width = _fits(opened, table)
        assert 0 < table_width <= card_width, table
