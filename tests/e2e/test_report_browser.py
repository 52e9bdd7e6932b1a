"""report.html in a real browser: charts drawn, search and sort work, nothing runs or is fetched.

Headless Chromium (the system one: Playwright cannot download its own browser here) opens
reports rendered from synthetic runs holding hostile values. Every request that is not a
local file, inline data or the blob itables loads its bundle from is refused and counted.
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
    import_rows,
    plan_rows,
    plan_summary,
    recon_rows,
    recon_summary,
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
        rows: pl.DataFrame, summary: RunSummary, target_only: pl.DataFrame | None = None
    ) -> Opened:
        run = tmp_path / summary.job
        page_file = write_report_html(rows, summary, run, target_only=target_only)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        opened = Opened(context.new_page())
        opened.page.route("**/*", opened.refuse_remote)
        opened.page.on("dialog", opened.dialog)
        opened.page.on("pageerror", lambda e: opened.errors.append(str(e)))
        opened.page.goto(page_file.as_uri())
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
    """Each chart is an SVG on screen whose bars have a size."""
    svgs = opened.page.locator("svg.marks")
    assert svgs.count() == charts
    for i in range(charts):
        box = svgs.nth(i).bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 20
        bars = svgs.nth(i).locator("path[aria-roledescription='bar']")
        assert bars.count() > 0
        widths = [bars.nth(j).bounding_box()["width"] for j in range(bars.count())]
        assert max(widths) > 10


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
    search(opened, "Smith & Co")  # escaped in the data, found by its text
    businesses = opened.column(8)
    assert businesses and set(businesses) == {"Smith & Co"}
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


def test_print_hides_the_table_controls(open_report: Any) -> None:
    rows = check_rows()
    opened = open_report(rows, summary_of("check"))
    search_box = opened.page.locator(f"input[aria-controls='{TABLE[1:]}']")
    assert search_box.is_visible()
    opened.page.emulate_media(media="print")
    assert not search_box.is_visible()
    assert opened.page.locator("svg.marks").first.is_visible()
