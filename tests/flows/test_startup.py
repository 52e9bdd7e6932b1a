"""Start-up cost (issue 19): `leadpipe --help` and importing `flows.cli` load none of the heavy
libraries; the jobs import them when they run. Asserted on the modules a fresh interpreter
holds, not on seconds (a loaded machine would make a timing flaky)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import get_args, get_type_hints

import pytest

from flows.options import CheckOptions, MigrateOptions, SyncOptions

ROOT = Path(__file__).resolve().parents[2]
# Top-level packages that cost a second or more together, and our rooms that bring them in.
HEAVY = frozenset(
    {"pandera", "pandas", "altair", "vl_convert", "prefect", "polars", "numpy", "pyarrow"}
)
ROOMS = frozenset({"transforms", "connectors", "sandbox"})
# Prints the top-level packages loaded once `code` ran (exiting like typer does is fine).
_PROBE = """
import json, sys
try:
    {code}
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print(json.dumps({{"code": code, "loaded": sorted({{m.split(".")[0] for m in sys.modules}})}}))
"""


def _loaded_after(code: str, home: Path | None = None) -> tuple[object, set[str]]:
    """The exit code and the top-level packages a fresh interpreter holds after `code`
    (`home`: its LEADPIPE_HOME, for a command that runs a job)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if home is not None:
        env["LEADPIPE_HOME"] = str(home)
    result = subprocess.run(
        [sys.executable, "-c", _PROBE.format(code=code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    said = json.loads(result.stdout.splitlines()[-1])
    return said["code"], set(said["loaded"])


def test_importing_the_cli_loads_nothing_heavy() -> None:
    _, loaded = _loaded_after("import flows.cli")
    assert "flows" in loaded  # the probe did import it
    assert loaded & (HEAVY | ROOMS) == set()


@pytest.mark.parametrize(
    "words",
    [["--help"], ["import", "--help"], ["check", "--help"], ["migrate", "--help"]],
    ids=["leadpipe", "import", "check", "migrate"],
)
def test_help_loads_nothing_heavy(words: list[str]) -> None:
    code, loaded = _loaded_after(
        f"sys.argv = ['leadpipe', *{words!r}]\n    from flows.cli import main\n    main()"
    )
    assert code == 0
    assert "typer" in loaded  # the help was drawn
    assert loaded & (HEAVY | ROOMS) == set()


def test_option_annotations_resolve_at_run_time() -> None:
    """The options' field types stay importable names (not TYPE_CHECKING-only): Prefect and
    pydantic read them when a job's options are a flow's parameters."""
    hints = get_type_hints(MigrateOptions)
    assert get_args(hints["duplicates"]) == ("first", "last", "reject")
    assert get_args(hints["mode"]) == ("upsert", "update", "create")
    assert set(get_type_hints(CheckOptions)) < set(get_type_hints(SyncOptions)) < set(hints)


def test_a_local_check_loads_neither_prefect_nor_the_connectors(tmp_path: Path) -> None:
    """`leadpipe check --engine local` sends nothing and runs no flow: no Prefect, no httpx."""
    source = ROOT / "data" / "samples" / "hubspot_contacts.csv"
    words = ["leadpipe", "check", str(source), "--engine", "local", "--json"]
    words += ["--out", str(tmp_path / "run")]
    run = f"sys.argv = {words!r}\n    from flows.cli import main\n    main()"
    code, loaded = _loaded_after(run, home=tmp_path / "home")
    assert code == 0
    assert (tmp_path / "run" / "summary.json").is_file()
    assert loaded & {"prefect", "connectors", "httpx", "sandbox"} == set()


def test_a_check_counts_no_requests_as_the_connectors_do() -> None:
    from connectors import RequestStats
    from flows._summary import _nothing_sent

    assert _nothing_sent() == RequestStats().counts()
