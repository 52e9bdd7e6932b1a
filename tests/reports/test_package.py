"""`reports`' public names: all listed, loaded on first use, and none that is not listed."""

from __future__ import annotations

import subprocess
import sys

import pytest

import reports


def test_importing_reports_loads_no_page_libraries() -> None:
    """A CLI start (`import reports`, even `RunDir` and `PageRows`) pays for no page library."""
    code = (
        "import sys, reports; from reports import PageRows, RunDir, write_report_rows; "
        "print(sorted(m for m in ('jinja2', 'altair', 'itables', 'vl_convert') "
        "if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"


def test_every_listed_name_loads_and_others_do_not() -> None:
    assert all(getattr(reports, name) is not None for name in reports.__all__)
    assert set(reports.__all__) <= set(dir(reports))
    with pytest.raises(AttributeError, match="no attribute 'write_reprot'"):
        reports.write_reprot  # noqa: B018
