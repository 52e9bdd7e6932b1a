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
from schemas import choices

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


def _loaded_after(code: str) -> tuple[object, set[str]]:
    """The exit code and the top-level packages a fresh interpreter holds after `code`."""
    result = subprocess.run(
        [sys.executable, "-c", _PROBE.format(code=code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
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


def test_options_name_the_same_words_as_the_stages() -> None:
    """`schemas.choices` (what the options import) and the stages agree on every word."""
    from transforms.dedupe import DuplicatePolicy
    from transforms.diff import Blanks, OnTargetEdit
    from transforms.plan import Mode

    assert get_args(choices.DuplicatePolicy) == get_args(DuplicatePolicy)
    assert get_args(choices.Blanks) == get_args(Blanks)
    assert get_args(choices.OnTargetEdit) == get_args(OnTargetEdit)
    assert get_args(choices.Mode) == get_args(Mode)


def test_option_annotations_resolve_at_run_time() -> None:
    """The options' field types stay importable names (not TYPE_CHECKING-only): Prefect and
    pydantic read them when a job's options are a flow's parameters."""
    hints = get_type_hints(MigrateOptions)
    assert get_args(hints["duplicates"]) == ("first", "last", "reject")
    assert get_args(hints["mode"]) == ("upsert", "update", "create")
    assert set(get_type_hints(CheckOptions)) < set(get_type_hints(SyncOptions)) < set(hints)
