"""What two runs of the same job may differ in: their identity, timings and memory."""

from __future__ import annotations

from typing import Any

from schemas.summary import RunSummary

# Keys of summary.json that describe the run, not its rows.
VOLATILE = frozenset(
    {"run_id", "engine", "durations", "memory_mb", "seconds", "started_at", "out_dir"}
)


def stable(summary: RunSummary | dict[str, Any]) -> dict[str, Any]:
    """`summary` (as summary.json has it) without the keys two equal runs may differ in."""
    data = summary.as_json() if isinstance(summary, RunSummary) else summary
    return {k: v for k, v in data.items() if k not in VOLATILE}


def stable_against_a_target(summary: RunSummary | dict[str, Any]) -> dict[str, Any]:
    """`stable`, and without the number of leads the snapshot's incremental refresh re-read:
    that depends on whether the runs before it ended within the same second as its high-water
    mark, not on how the run went."""
    kept = stable(summary)
    if "snapshot" in kept:
        kept["snapshot"] = {k: v for k, v in kept["snapshot"].items() if k != "fetched"}
    return kept
