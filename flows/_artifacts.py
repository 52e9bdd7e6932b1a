"""What a run shows in the Prefect UI: its summary, top reasons, report link and push progress.

`PushProgress` is a progress listener (`flows._events`); it and `publish_summary` do nothing
outside a Prefect flow run (the `local` engine), so jobs use them unconditionally. Artifact
keys are per job (`import-summary`, ...), so the UI keeps one versioned history of each across
runs. Nothing secret is in a summary.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from schemas.summary import RunSummary

__all__ = ["PushProgress", "progress_reporter", "publish_summary"]

_PROGRESS_EVERY_S = 1.0


def blocking(call: Callable[..., Any]) -> Callable[..., Any]:
    """A Prefect artifact call that runs to completion even inside an event loop (the push)."""
    return functools.partial(call)


def _in_flow_run() -> bool:
    if "prefect" not in sys.modules:
        return False  # no flow run without Prefect; and not worth importing it to ask
    from prefect.context import FlowRunContext

    return FlowRunContext.get() is not None


def publish_summary(summary: RunSummary) -> None:
    """Tables of the outcome counts and of the top reasons, and a link to `report.html`."""
    if not _in_flow_run():
        return
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    job = summary.job
    rows: list[dict[str, Any]] = [
        {"what": outcome, "rows": n} for outcome, n in summary.counts.items()
    ]
    rows += [{"what": f"requests {kind}", "rows": n} for kind, n in summary.requests.items()]
    rows.append({"what": "seconds", "rows": summary.seconds})
    blocking(create_table_artifact)(
        rows, key=f"{job}-summary", description=f"{job} of {summary.source.path}"
    )
    reasons = [
        {
            "reason": r.reason_code,
            "rows": r.count,
            "first row": r.example_row,
            "example": r.example,
        }
        for r in summary.reasons
    ]
    if reasons:
        blocking(create_table_artifact)(
            reasons,
            key=f"{job}-reasons",
            description="Top rejection and failure reasons",
        )
    out = Path(summary.out_dir).resolve()
    blocking(create_markdown_artifact)(
        f"## Run {summary.run_id}\n\n"
        f"- Report: [{out / 'report.html'}]({(out / 'report.html').as_uri()})\n"
        f"- Rows: `{out / 'rows.csv'}` and `rows.parquet`\n"
        f"- Summary: `{out / 'summary.json'}`\n",
        key=f"{job}-report",
        description="Where the run's report is",
    )


def progress_reporter(total: int, what: str) -> Callable[[int], None] | None:
    """A callback for `done` steps of `total` that moves a progress artifact (about once a
    second), or None outside a flow run."""
    if not _in_flow_run() or total == 0:
        return None
    from prefect.artifacts import create_progress_artifact, update_progress_artifact

    artifact = blocking(create_progress_artifact)(0.0, description=what)
    state = {"done": 0, "shown": time.monotonic()}

    def advance(steps: int) -> None:
        state["done"] += steps
        now = time.monotonic()
        if state["done"] < total and now - state["shown"] < _PROGRESS_EVERY_S:
            return
        state["shown"] = now
        blocking(update_progress_artifact)(artifact, 100.0 * state["done"] / total)

    return advance


class PushProgress:
    """A listener that moves a progress artifact as the push goes (about once a second)."""

    def __init__(self, what: str = "push") -> None:
        self.what = what
        self._advance: Callable[[int], None] | None = None
        self._done = 0

    def stage_started(self, name: str) -> None:
        pass

    def stage_finished(self, name: str, seconds: float, peak_mb: float) -> None:
        pass

    def pushed(self, done: int, total: int) -> None:
        if self._advance is None:
            self._advance = progress_reporter(total, self.what) or (lambda steps: None)
        self._advance(done - self._done)
        self._done = done
