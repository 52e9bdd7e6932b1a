"""Alert thresholds, and the rule that says which of them a run breached, one line each.

A run is judged after it finished, on its typed `RunSummary` alone (no I/O here): the shares
of failed and of invalid rows among the file's rows, and the share of requests the vendor
answered 429 (throttled) among the requests sent. A scheduled import is also judged on how old
its newest data is (`stale_alert`: the caller reads the file times and the ledger). A measure
breaches its threshold when it is *more than* the threshold, as `--max-failed-ratio` always
did: `0` means "any at all", `1` (or no value) means "never".

    >>> from tests.reports.report_frames import summary_of  # doctest: +SKIP
    >>> breaches(summary_of("import", {"invalid": 3}, rows=10), Thresholds(invalid_share=0.1))
    ... # doctest: +SKIP
    (Alert(rule='alert_invalid_share', threshold=0.1, measured=0.3,
           message='3 of 10 rows invalid (more than alert_invalid_share 0.1)'),)

Lives in `schemas/` rather than `transforms/`: it needs no polars, and the options that carry
the thresholds are read when the command line starts, where `transforms` is not imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas.summary import Alert, RunSummary

__all__ = [
    "FAILED_SHARE",
    "INVALID_SHARE",
    "MAX_FAILED_RATIO",
    "STALE_HOURS",
    "THROTTLED",
    "Thresholds",
    "breaches",
    "stale_alert",
]

# The keys (leadpipe.toml, [[schedules]]) each rule is set by; flags spell them with dashes.
FAILED_SHARE = "alert_failed_share"
MAX_FAILED_RATIO = "max_failed_ratio"  # the older name of a failed-share threshold
INVALID_SHARE = "alert_invalid_share"
THROTTLED = "alert_throttled"
STALE_HOURS = "alert_stale_hours"


@dataclass(frozen=True)
class Thresholds:
    """A run's thresholds; None: that rule is off. `failed_key` is the key the failed share
    was given as (`alert_failed_share`, or its older name `max_failed_ratio`), so the line
    names what the user wrote."""

    failed_share: float | None = None
    failed_key: str = FAILED_SHARE
    invalid_share: float | None = None
    throttled: float | None = None  # a share of the requests sent: 429s / requests

    def __bool__(self) -> bool:
        return any(v is not None for v in (self.failed_share, self.invalid_share, self.throttled))


def breaches(summary: RunSummary, thresholds: Thresholds) -> tuple[Alert, ...]:
    """The thresholds `summary` breached, in the order failed, invalid, throttled."""
    rows = summary.rows
    failed = summary.failed
    invalid = int(summary.counts.get("invalid", 0))
    sent = int(summary.requests.get("sent", 0))
    throttled = int(summary.requests.get("throttled", 0))
    found = (
        _over(thresholds.failed_key, thresholds.failed_share, failed, rows, "rows failed"),
        _over(INVALID_SHARE, thresholds.invalid_share, invalid, rows, "rows invalid"),
        _over(THROTTLED, thresholds.throttled, throttled, sent, "requests throttled (429)"),
    )
    return tuple(alert for alert in found if alert is not None)


def _over(rule: str, threshold: float | None, part: int, whole: int, what: str) -> Alert | None:
    share = part / whole if whole else 0.0
    if threshold is None or share <= threshold:
        return None
    said = f"{part} of {whole} {what} (more than {rule} {threshold:g})"
    return Alert(rule, threshold, round(share, 4), said)


def stale_alert(
    newest: datetime | None, now: datetime, hours: float | None, what: str
) -> Alert | None:
    """The `alert_stale_hours` breach of a schedule whose newest data (`newest`: the later of
    its newest matching file's time and its last import, None when there is neither) is more
    than `hours` old at `now`; `what` names the files (the schedule's `source`)."""
    if hours is None:
        return None
    if newest is None:
        said = f"no file matches {what} and none was imported (alert_stale_hours {hours:g})"
        return Alert(STALE_HOURS, hours, None, said)
    age = (now - newest).total_seconds() / 3600
    if age <= hours:
        return None
    said = f"no new file for {age:.1f} hours (more than alert_stale_hours {hours:g})"
    return Alert(STALE_HOURS, hours, round(age, 2), said)
