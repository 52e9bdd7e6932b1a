"""What a run leaves for people: the report files and the run directory that holds them.

`RunDir` writes every file of a run directory (rows.parquet, rows.csv, summary.json,
report.html, plan.parquet, ...), each atomically; the writers and the page underneath it are
here too. `reports` may import `schemas` and `transforms` (it writes what the pure stages
computed); nothing under `transforms` imports `reports`.

The names load on first use (PEP 562), so `import reports` stays cheap: jinja2 and itables
load when a page is made, not when a CLI starts. Type checkers read the imports below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = [
    "ATTENTION_OUTCOMES",
    "LOW_COVERAGE",
    "MAX_CHANGED_ROWS",
    "MAX_TABLE_ROWS",
    "REPORT_ORDER",
    "VENDOR_LIMITS",
    "PageRows",
    "RunDir",
    "file_notices",
    "render_report",
    "share_text",
    "write_report_html",
    "write_report_rows",
    "write_summary",
]

if TYPE_CHECKING:
    from reports.html import (
        ATTENTION_OUTCOMES,
        MAX_CHANGED_ROWS,
        MAX_TABLE_ROWS,
        REPORT_ORDER,
        VENDOR_LIMITS,
        PageRows,
        render_report,
        write_report_html,
    )
    from reports.notices import LOW_COVERAGE, file_notices, share_text
    from reports.rows import write_report_rows, write_summary
    from reports.rundir import RunDir
else:
    import importlib

    # Each public name and the module that defines it.
    _HOMES = {
        "ATTENTION_OUTCOMES": "reports.html",
        "MAX_CHANGED_ROWS": "reports.html",
        "MAX_TABLE_ROWS": "reports.html",
        "REPORT_ORDER": "reports.html",
        "VENDOR_LIMITS": "reports.html",
        "PageRows": "reports.html",
        "render_report": "reports.html",
        "write_report_html": "reports.html",
        "LOW_COVERAGE": "reports.notices",
        "file_notices": "reports.notices",
        "share_text": "reports.notices",
        "write_report_rows": "reports.rows",
        "write_summary": "reports.rows",
        "RunDir": "reports.rundir",
    }

    # Defined only outside type checking: a module `__getattr__` would make mypy accept any
    # name from `reports`, typos included; the imports above give it the real signatures.
    def __getattr__(name: str) -> object:
        home = _HOMES.get(name)
        if home is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        globals()[name] = value  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})
