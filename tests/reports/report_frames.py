"""Synthetic run reports (rows, summary, target-only leads) for the HTML report's tests.

Shaped like the report stage's output: DESIGN's report columns, then a few lead columns;
reconciliations add `recon_status` and `differences`; `changes=True` adds the `changes` column
(old → new per field of an update, right after `changed_fields`), which reports written before
it existed lack. `HOSTILE` values go where a
source file can put text: names, emails, reasons, field names, file paths. `summary_of` makes
the `RunSummary` a test needs from the few facts it is about.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from schemas.fields import REPORT_COLUMNS, WARNING_ENTRY
from schemas.summary import MappingFacts, RunSummary, SourceFacts, TargetFacts

SCRIPT = "<script>window.__pwned=1</script>"
IMG = '"><img src=x onerror="window.__pwned=1">'
HOSTILE = (SCRIPT, IMG)

DIFFERENCE = pl.Struct({"field": pl.String, "file": pl.String, "target": pl.String})
CHANGE = pl.Struct({"field": pl.String, "old": pl.String, "new": pl.String})
_TYPES: dict[str, pl.DataType] = {
    "source_row": pl.Int64(),
    "warnings": pl.List(WARNING_ENTRY),
    "changed_fields": pl.List(pl.String),
    "changes": pl.List(CHANGE),
    "http_status": pl.Int64(),
    "attempts": pl.Int64(),
    "tags": pl.List(pl.String),
    "value": pl.Float64(),
    "differences": pl.List(DIFFERENCE),
}
_LEAD = ("first_name", "last_name", "email", "phone", "business_name", "status", "tags", "value")


def summary_of(
    job: str = "check", counts: Mapping[str, int] | None = None, **overrides: Any
) -> RunSummary:
    """A `RunSummary` of `job` with `counts` and `overrides` (any other field by name), every
    other fact plain: blank text, nothing counted or timed, no target. Empty `counts` and 0
    `rows` leave the page to count the rows it is given."""
    facts: dict[str, Any] = {
        "job": job,
        "mode": job,
        "dry_run": False,
        "run_id": "",
        "engine": "",
        "source": SourceFacts(path="", format=""),
        "mapping": MappingFacts(preset="", detected=False, coverage=0.0),
        "options": {},
        "rows": 0,
        "counts": dict(counts or {}),
        "reasons": (),
        "phones": {},
        "requests": {},
        "durations": {},
        "memory_mb": {},
        "seconds": 0.0,
        "started_at": "",
        "out_dir": "",
    }
    return RunSummary(**(facts | overrides))


def frame(
    records: list[dict[str, Any]], *, recon: bool = False, changes: bool = False
) -> pl.DataFrame:
    """Report rows from partial records: every report column, missing values null."""
    report = [c for c in REPORT_COLUMNS if c != "changes"]
    if changes:  # where the report stage puts it: right after `changed_fields`
        report.insert(report.index("changed_fields") + 1, "changes")
    columns = [*report, *(("recon_status", "differences") if recon else ()), *_LEAD]
    data = {
        c: [r.get(c, "f.csv" if c == "source_file" else None) for r in records] for c in columns
    }
    schema = {c: _TYPES.get(c, pl.String()) for c in columns}
    return pl.DataFrame(data, schema=schema)


def _lead(i: int) -> dict[str, Any]:
    return {
        "source_row": i + 2,
        "first_name": f"First{i}",
        "last_name": f"Last{i}",
        "email": f"person{i}@example.com",
        "phone": f"+1212555{i:04d}",
        "business_name": "Smith & Co" if i % 7 == 0 else f"Biz {i}",
        "status": "open",
        "tags": ["vip"] if i % 5 == 0 else [],
    }


def plan_rows(n: int = 60, *, hostile: bool = True) -> pl.DataFrame:
    """A dry run against a target: creates, updates, and every kind of row needing a look."""
    records = []
    for i in range(n):
        record = _lead(i) | _plan_outcome(i)
        records.append(record)
    if hostile:
        records[1] |= {"first_name": SCRIPT, "business_name": IMG, "reason": f"bad {SCRIPT}"}
        records[2] |= {"email": IMG, "changed_fields": ["email", SCRIPT]}
        records[2] |= {"outcome": "would_update", "reason_code": None, "reason": None}
    return frame(records)


def _plan_outcome(i: int) -> dict[str, Any]:
    kind = i % 10
    if kind in (0, 1):
        return {"outcome": "invalid", "reason_code": "invalid_email", "reason": f"'x{i}@' is bad"}
    if kind == 2:
        return {"outcome": "would_update", "changed_fields": ["email", "phone"], "target_id": "L"}
    if kind == 3:
        return {"outcome": "duplicate", "reason_code": "duplicate", "reason": "same email"}
    if kind == 4:
        return {"outcome": "conflict", "reason_code": "conflict", "reason": "two leads match"}
    if kind == 5:
        return {"outcome": "skipped", "reason_code": "unsettable_status", "reason": "cannot set"}
    if kind == 6:
        return {"outcome": "would_update", "changed_fields": ["status"], "target_id": f"L{i}"}
    if kind == 7:
        return {"outcome": "unchanged", "target_id": f"L{i}", "changed_fields": []}
    return {"outcome": "would_create"}


def plan_summary(rows: pl.DataFrame) -> RunSummary:
    """A plan run's summary with every fact the report reads."""
    counts = dict(rows.group_by("outcome").len().sort("outcome").iter_rows())
    return summary_of(
        "plan",
        counts,
        mode="upsert",
        dry_run=True,
        run_id="20261122T070000Z-abc123",
        target=TargetFacts(profile="sandbox:octanist", vendor="octanist"),
        source=SourceFacts(path=f"data/{SCRIPT}.csv", format="csv"),
        mapping=MappingFacts(preset="hubspot", detected=True, coverage=1.0),
        rows=rows.height,
        planned_requests=counts.get("would_create", 0) + counts.get("would_update", 0),
        requests={"sent": 0, "retried": 0, "throttled": 0},
        durations={"read": 0.01, "validate": 0.2, "snapshot": 0.3, SCRIPT: 0.01},
        seconds=0.55,
        started_at="2026-11-22T07:00:00+00:00",
        engine="local",
    )


def import_rows() -> pl.DataFrame:
    """An import: created, updated, a failed request and an invalid row."""
    return frame(
        [
            _lead(0) | {"outcome": "created", "http_status": 201, "attempts": 1},
            _lead(1)
            | {"outcome": "updated", "changed_fields": ["phone"], "target_id": "L1"}
            | {"http_status": 200, "attempts": 1},
            _lead(2)
            | {
                "outcome": "failed",
                "target_id": "L2",
                "reason_code": "http_500",
                "reason": "server error after 3 attempts",
                "http_status": 500,
                "attempts": 3,
                "request_id": "req-9",
            },
            _lead(3) | {"outcome": "invalid", "reason_code": "invalid_phone", "reason": "n/a"},
        ]
    )


def check_rows(n: int = 30) -> pl.DataFrame:
    """A check run: valid, invalid and duplicate rows, one hostile."""
    records = []
    for i in range(n):
        outcome = ("valid", "valid", "invalid", "duplicate")[i % 4]
        record = _lead(i) | {"outcome": outcome}
        if outcome == "invalid":
            record |= {"reason_code": "invalid_phone", "reason": f"'{i}' is not a phone"}
        if outcome == "duplicate":
            record |= {"reason_code": "duplicate", "reason": "same email as row 2"}
        records.append(record)
    records[2] |= {"last_name": SCRIPT, "reason": IMG}
    return frame(records)


def recon_rows() -> pl.DataFrame:
    """A reconciliation: equal, different (with differences), only in file, invalid."""
    records = []
    for i in range(24):
        kind = i % 4
        record = _lead(i)
        if kind == 0:
            record |= {"outcome": "unchanged", "recon_status": "equal", "differences": []}
        elif kind == 1:
            differences: list[dict[str, Any]] = [
                {"field": "email", "file": f"new{i}@x.io", "target": f"old{i}@x.io"}
            ]
            if i % 8 == 1:
                differences.append({"field": "phone", "file": None, "target": "+12125550100"})
            record |= {
                "outcome": "would_update",
                "recon_status": "different",
                "reason_code": "different",
                "differences": differences,
                "changed_fields": [d["field"] for d in differences],
            }
        elif kind == 2:
            record |= {"outcome": "would_create", "recon_status": "only_in_file", "differences": []}
        else:
            record |= {
                "outcome": "invalid",
                "recon_status": "invalid",
                "reason_code": "invalid_email",
                "reason": "bad email",
                "differences": [],
            }
        records.append(record)
    records[1]["differences"] = [{"field": SCRIPT, "file": IMG, "target": SCRIPT}]
    records[1]["changed_fields"] = [SCRIPT]
    return frame(records, recon=True)


def target_only_leads() -> pl.DataFrame:
    """Target leads no row matched, as the snapshot names them (`id`, not `target_id`)."""
    return pl.DataFrame(
        {
            "id": ["T1", "T2", "T3"],
            "first_name": ["Tina", SCRIPT, None],
            "last_name": ["Target", "Only", None],
            "email": ["tina@target.io", IMG, "three@target.io"],
            "phone": [None, None, "+4930901820"],
        }
    )


def recon_summary(rows: pl.DataFrame, target_only: pl.DataFrame) -> RunSummary:
    counts = dict(rows.group_by("recon_status").len().sort("recon_status").iter_rows())
    return summary_of(
        "reconcile",
        counts | {"only_in_target": target_only.height, "target_duplicates": 1},
        dry_run=True,
        run_id="20261122T070000Z-rec001",
        target=TargetFacts(profile="sandbox:omni", vendor="omni"),
        source=SourceFacts(path="exports/leads.csv", format="csv"),
        rows=rows.height,
        requests={"sent": 0, "retried": 0, "throttled": 0},
        durations={"read": 0.01, "compare": 0.02},
        seconds=0.4,
    )


def _warning(field: str, code: str, message: str) -> dict[str, str]:
    return {"field": field, "code": code, "message": message}


def review_rows(n: int = 40) -> pl.DataFrame:
    """An import into Octanist as an analyst reviews it: creates and updates, some with
    warnings (values not sent, a junk phone left out), updates with old → new `changes`,
    rows skipped for what Octanist cannot take, and data errors."""
    records = []
    for i in range(n):
        record = _lead(i) | {"outcome": "created", "http_status": 201, "attempts": 1}
        kind = i % 8
        if kind in (1, 2):
            record |= {
                "outcome": "updated",
                "target_id": f"L{i}",
                "changed_fields": ["status", "value"][:kind],
                "changes": [
                    {"field": "status", "old": "open", "new": "won"},
                    {"field": "value", "old": None, "new": f"{i}00.0"},
                ][:kind],
            }
        elif kind == 3:
            record |= {"outcome": "skipped", "reason_code": "unsettable_status"}
            record["reason"] = "octanist cannot set status 'not_interested' (settable: qualified)"
        elif kind == 4:
            record |= {"outcome": "skipped", "reason_code": "reopen_blocked"}
            record["reason"] = "not sent: the lead is won in octanist"
        elif kind == 5:
            record |= {"outcome": "invalid", "reason_code": "invalid_email", "reason": f"bad {i}"}
        if kind in (0, 2):
            record["warnings"] = [
                _warning("business_name", "not_sent", "octanist does not store a business name"),
            ]
        if kind == 0 and i % 16 == 0:
            record["warnings"].append(_warning("phone", "invalid_phone", "'n/a' left out"))
        if kind == 2:
            record["warnings"].append(_warning("timezone", "invalid_timezone", "'Mars' left out"))
        records.append(record)
    records[9]["changes"] = [{"field": "status", "old": SCRIPT, "new": IMG}]
    return frame(records, changes=True)


def review_summary(rows: pl.DataFrame) -> RunSummary:
    counts = dict(rows.group_by("outcome").len().sort("outcome").iter_rows())
    return summary_of(
        "import",
        counts,
        run_id="20261207T070000Z-rev001",
        target=TargetFacts(profile="sandbox:octanist", vendor="octanist"),
        source=SourceFacts(path="exports/edited.csv", format="csv"),
        rows=rows.height,
        requests={"sent": counts.get("created", 0) + counts.get("updated", 0)},
    )
