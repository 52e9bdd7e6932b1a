"""Run one command in a subprocess and measure its wall time and peak memory.

Each measurement goes through a tiny wrapper process (this file run as a
script): the wrapper starts the command, waits for it, and reads
``getrusage(RUSAGE_CHILDREN).ru_maxrss``. Because the wrapper is new for every
measurement, that peak belongs to this command's process tree only (the largest
single process in it), never to an earlier run. The wall time is taken in the
wrapper around the command, so the wrapper's own start-up is not counted.
The RSS figure has a floor of ~15 MB: Linux charges the child with the
wrapper's pages it had when forked, before ``exec``.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RunResult:
    """What one measured command did."""

    seconds: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str

    def stderr_tail(self, lines: int = 3) -> str:
        """The last few lines of stderr, for a failure note."""
        return " | ".join(self.stderr.strip().splitlines()[-lines:])

    def json_stdout(self) -> dict[str, Any] | None:
        """The JSON object the command printed on stdout, if any.

        Tolerates log lines around it: tries the whole text, then the span from
        the first ``{`` to the last ``}``.
        """
        text = self.stdout.strip()
        candidates = [text]
        if "{" in text and "}" in text:
            candidates.append(text[text.index("{") : text.rindex("}") + 1])
        for candidate in candidates:
            try:
                value = json.loads(candidate)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                return value
        return None


@dataclass
class Measurement:
    """One line of the results table."""

    name: str
    rows: int
    seconds: float
    peak_rss_mb: float | None
    ok: bool = True
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of_run(
        cls,
        name: str,
        rows: int,
        run: RunResult,
        *,
        ok: bool,
        note: str = "",
        extra: dict[str, Any] | None = None,
    ) -> Measurement:
        """A measured command's line; a failed one's note is why (its exit and stderr)."""
        why = note if ok else f"exit {run.returncode}: {run.stderr_tail()}"
        return cls(name, rows, run.seconds, run.peak_rss_mb, ok, why, extra or {})

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("nan")


def run_measured(
    command: Sequence[str],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float | None = None,
) -> RunResult:
    """Run ``command`` through the wrapper; return its time, peak RSS and output."""
    with tempfile.TemporaryDirectory(prefix="leadpipe-bench-measure-") as tmp:
        report = Path(tmp) / "report.json"
        wrapper = [sys.executable, "-I", str(Path(__file__).resolve()), str(report), "--"]
        process = subprocess.Popen(
            [*wrapper, *command],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            stderr += f"\ntimed out after {timeout:.0f} s"
        facts = json.loads(report.read_text()) if report.exists() else {}
    return RunResult(
        seconds=float(facts.get("seconds", float("nan"))),
        peak_rss_mb=float(facts.get("maxrss_kb", float("nan"))) / 1024,
        returncode=int(facts.get("returncode", process.wait())),
        stdout=stdout,
        stderr=stderr,
    )


def _wrapper(argv: list[str]) -> int:
    """Inside the wrapper process: run the command, write the report, pass on its exit code."""
    report, separator, *command = argv
    if separator != "--" or not command:
        raise SystemExit("usage: _measure.py REPORT -- COMMAND...")
    start = time.perf_counter()
    returncode = subprocess.call(command)
    seconds = time.perf_counter() - start
    maxrss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    facts = {"seconds": seconds, "maxrss_kb": maxrss_kb, "returncode": returncode}
    Path(report).write_text(json.dumps(facts))
    return returncode


if __name__ == "__main__":
    sys.exit(_wrapper(sys.argv[1:]))
