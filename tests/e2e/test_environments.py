"""The user's machine, not leadpipe: a LEADPIPE_HOME, PREFECT_HOME or --out that cannot be
written, a source that is a pipe, a FIFO or a device. Each is one line on stderr naming the
setting or file and what to do, with exit 2 (a setting) or 3 (the source cannot be read);
never a traceback, never "internal error", never a hang.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from flows.cli import app
from tests.conftest import SAMPLES

LEADPIPE = Path(sys.executable).with_name("leadpipe")
SOURCE = SAMPLES / "hubspot_contacts.csv"
runner = CliRunner()
# What a folder that cannot be written says: by permission (a user), or a read-only mount (root)
CANNOT_WRITE = r"\((Permission denied|Read-only file system)\)"


def _check(*args: str) -> Result:
    return runner.invoke(app, ["check", *args])


def _one_line(result: Result) -> str:
    """stderr, which must be exactly one line; that line."""
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A folder this process cannot write in: by its mode, or for root (whom no mode stops) a
    read-only tmpfs mounted on it; skipped where root cannot mount one."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    mount = ["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)]
    if subprocess.run(mount, capture_output=True, check=False).returncode != 0:
        pytest.skip("running as root, and no read-only mount can be made here")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], capture_output=True, check=False)


def test_a_leadpipe_home_that_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home-file"
    home.write_text("not a folder")
    monkeypatch.setenv("LEADPIPE_HOME", str(home))
    result = _check(str(SOURCE), "--engine", "local", "--out", str(tmp_path / "run"))
    assert result.exit_code == 2
    assert _one_line(result) == (
        f"leadpipe: error: LEADPIPE_HOME {home} is a file, not a folder: set LEADPIPE_HOME to a "
        "folder you can write (it holds the journal, the target's state and the caches)"
    )
    assert not (tmp_path / "run").exists()


def test_a_read_only_leadpipe_home(
    read_only: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADPIPE_HOME", str(read_only))
    result = runner.invoke(
        app,
        ["import", str(SOURCE), "--target", "sandbox:omni", "--engine", "local"]
        + ["--out", str(tmp_path / "run")],
    )
    assert result.exit_code == 2
    assert re.fullmatch(
        f"leadpipe: error: LEADPIPE_HOME {read_only} cannot be written {CANNOT_WRITE}: set "
        r"LEADPIPE_HOME to a folder you can write \(it holds the journal, the target's state "
        r"and the caches\)",
        _one_line(result),
    )


def test_out_naming_an_existing_file_blames_out_not_the_source(tmp_path: Path) -> None:
    out = tmp_path / "report.txt"
    out.write_text("an earlier report")
    result = _check(str(SOURCE), "--engine", "local", "--out", str(out))
    assert result.exit_code == 2
    assert _one_line(result) == (
        f"leadpipe: error: --out {out} is a file, not a folder: give --out a folder you can write"
    )
    assert out.read_text() == "an earlier report"


def test_out_in_a_read_only_folder(read_only: Path) -> None:
    out = read_only / "run"
    result = _check(str(SOURCE), "--engine", "local", "--out", str(out))
    assert result.exit_code == 2
    assert re.fullmatch(
        f"leadpipe: error: --out {out} cannot be made {CANNOT_WRITE}: give --out a folder you "
        "can write",
        _one_line(result),
    )


def test_a_read_only_prefect_home_with_prefect_asked_for(
    read_only: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_HOME", str(read_only))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    result = _check(str(SOURCE), "--engine", "prefect", "--out", str(tmp_path / "run"))
    assert result.exit_code == 2
    assert re.fullmatch(
        f"leadpipe: error: PREFECT_HOME {read_only} cannot be written {CANNOT_WRITE}: "
        "Prefect's temporary server keeps its database there; set PREFECT_HOME to a folder "
        "you can write, set PREFECT_API_URL to a Prefect server, or use --engine local",
        _one_line(result),
    )


def test_a_pipe_is_refused_not_found_empty(tmp_path: Path) -> None:
    """`leadpipe check <(cat leads.csv)`: the shell passes /dev/fd/N, a pipe. Reading its
    start to tell its format would leave it empty ("file is empty" before)."""
    read_end, write_end = os.pipe()
    os.write(write_end, SOURCE.read_bytes()[:4096])
    os.close(write_end)
    try:
        result = _check(f"/dev/fd/{read_end}", "--engine", "local", "--out", str(tmp_path / "r"))
    finally:
        os.close(read_end)
    assert result.exit_code == 3
    assert _one_line(result) == (
        f"leadpipe: error: /dev/fd/{read_end}: is a pipe (<(...) or a FIFO), which cannot be "
        "read twice: save it to a file"
    )


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "leads.csv"
    os.mkfifo(path)
    return path


def _zero(tmp_path: Path) -> Path:
    path = tmp_path / "zero.csv"
    path.symlink_to("/dev/zero")
    return path


@pytest.mark.parametrize(
    ("make", "says"),
    [
        # No writer: opening it would wait forever.
        (_fifo, "is a pipe (<(...) or a FIFO), which cannot be read twice: save it to a file"),
        # Endless: it was copied to the run directory at 1 GB/s.
        (_zero, "is a character device, not a file: name an export file"),
    ],
    ids=["fifo", "dev-zero"],
)
def test_special_files_are_refused_before_they_are_opened(
    make: object, says: str, tmp_path: Path
) -> None:
    """A process of its own with a timeout: the failure this guards against is a hang."""
    assert callable(make)
    source = make(tmp_path)
    out = tmp_path / "run"
    result = subprocess.run(
        [str(LEADPIPE), "check", str(source), "--engine", "local", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3
    assert result.stderr == f"leadpipe: error: {source}: {says}\n"
    assert not out.exists()  # nothing copied, no run directory left behind
