"""`RunSummary`: summary.json read back is the summary written, its keys in the contract's order."""

from __future__ import annotations

import json
from typing import Any

import pytest

from schemas.summary import (
    MappingFacts,
    Migrated,
    Reason,
    Reconciled,
    RegionFacts,
    RunSummary,
    SnapshotFacts,
    SourceFacts,
    TargetFacts,
)
from tests.reports.report_frames import summary_of

# Every common fact set, none left at its default, so a round trip that drops one shows.
_RUN: dict[str, Any] = {
    "dry_run": True,
    "run_id": "20261122T070000Z-abc123",
    "engine": "local",
    "source": SourceFacts(
        path="data/leads.csv",
        format="csv",
        encoding="utf-8",
        delimiter=";",
        sheet=None,
        columns=7,
        ignored_columns=("Notes", ""),
        preamble=("Notes:", ""),
        renamed_headers={"Create Date (2)": "Create Date"},
        repaired_headers={"TÃ©lÃ©phone": "Téléphone"},
        trailing_blank_rows=1,
    ),
    "mapping": MappingFacts(
        preset="hubspot",
        detected=True,
        coverage=0.857,
        mapping_file="mapping.toml",
        fields={"email": ("Email",), "name": ("First Name", "Last Name")},
        custom_columns=("Budget",),
        dropped_columns=("Owner",),
        decided_by=("Record ID", "Lifecycle Stage"),
        remembered_at="2026-11-15T07:00:00+00:00",
    ),
    "region": RegionFacts("US", "country column", evidence=3, rows_decided=1),
    "warnings": {"assumed_international": 1, "not_sent": 2},
    "not_sent": {"business_name": 2},
    "status_mappings": (
        {
            "word": "Unqualified",
            "status": "not_interested",
            "suggested": "lost",
            "line": '[values.status] "Unqualified" = "lost"',
            "rows": 3,
        },
    ),
    "notices": ("2 lines above the header row were skipped",),
    "options": {"default_region": "US", "duplicates": "last"},
    "rows": 4,
    "reasons": (
        Reason("invalid_email", 2, 3, "'x@' is not an email"),
        Reason("duplicate", 1, 5, None),
    ),
    "phones": {"valid": 3, "invalid": 1},
    "requests": {"sent": 0, "retried": 0, "throttled": 0},
    "durations": {"read": 0.012, "validate": 0.2},
    "memory_mb": {"read": 120.5, "validate": 131.0},
    "seconds": 0.55,
    "started_at": "2026-11-22T07:00:00+00:00",
    "out_dir": "runs/20261122T070000Z-abc123",
}
_TARGET = TargetFacts(profile="sandbox:omni", vendor="omni")

SUMMARIES = {
    "check": summary_of("check", {"valid": 2, "invalid": 2}, **_RUN),
    "import": summary_of(
        "import",
        {"created": 1, "updated": 1, "invalid": 2},
        **(_RUN | {"dry_run": False, "requests": {"sent": 2, "retried": 1, "throttled": 0}}),
        mode="upsert",
        target=_TARGET,
        state_source="state_file",
        snapshot=SnapshotFacts(
            leads=10, fetched=0, reads=1, facts={"state_file": "state/omni.parquet"}
        ),
        planned_requests=2,
    ),
    "reconcile": summary_of(
        "reconcile",
        {"equal": 1, "different": 1, "invalid": 2, "only_in_target": 3, "target_duplicates": 0},
        **_RUN,
        target=_TARGET,
        state_source="fetched",
        snapshot=SnapshotFacts(leads=10, fetched=10, reads=1),
        reconciled=Reconciled(
            outcomes={"unchanged": 1, "would_update": 1, "invalid": 2},
            compared_fields=("email", "phone"),
            field_differences={"email": 1},
        ),
    ),
    "migrate": summary_of(
        "migrate",
        {"would_create": 2, "invalid": 2},
        **_RUN,
        mode="create",
        target=_TARGET,
        state_source="fetched",
        snapshot=SnapshotFacts(leads=0, fetched=0, reads=1),
        planned_requests=2,
        migrated=Migrated(origin="octanist", extras={"budget": 2}, carry_extras=True),
    ),
}

_COMMON = (
    *("run_id", "engine", "source", "mapping", "region", "notices", "warnings"),
    *("not_sent", "status_mappings", "options"),
    *("rows", "reasons", "phones"),
    *("durations", "memory_mb", "seconds", "started_at", "out_dir"),
)
KEYS = {
    "check": ["job", "mode", "dry_run", "target", "counts", "requests", *_COMMON],
    "import": [
        *("job", "mode", "dry_run", "target", "state_source", "snapshot", "counts"),
        *("planned_requests", "requests", *_COMMON),
    ],
    "reconcile": [
        *("job", "mode", "dry_run", "target", "state_source", "snapshot", "counts"),
        *("outcomes", "compared_fields", "field_differences", "requests", *_COMMON),
    ],
    "migrate": [
        *("job", "mode", "dry_run", "target", "state_source", "snapshot", "counts"),
        *("planned_requests", "requests", *_COMMON, "origin", "extras", "carry_extras"),
    ],
}


@pytest.mark.parametrize("job", list(SUMMARIES))
def test_a_summary_read_back_is_the_summary_written(job: str) -> None:
    summary = SUMMARIES[job]
    assert RunSummary.from_json(summary.as_json()) == summary
    # ...and through summary.json's text, where tuples come back as lists.
    text = json.dumps(summary.as_json(), indent=2, default=str)
    assert RunSummary.from_json(json.loads(text)) == summary


@pytest.mark.parametrize("job", list(SUMMARIES))
def test_summary_json_keeps_the_contract_key_order(job: str) -> None:
    data = SUMMARIES[job].as_json()
    assert list(data) == KEYS[job]
    assert list(data["source"]) == [
        *("path", "format", "encoding", "delimiter", "sheet", "columns", "ignored_columns"),
        *("sheets", "preamble", "renamed_headers", "repaired_headers", "trailing_blank_rows"),
    ]
    assert list(data["mapping"]) == [
        *("preset", "detected", "coverage", "mapping_file", "fields", "custom_columns"),
        *("dropped_columns", "decided_by", "remembered_at"),
    ]
    assert list(data["reasons"][0]) == ["reason_code", "count", "example_row", "example"]


def test_snapshot_facts_follow_its_counts_and_a_check_has_no_target() -> None:
    assert SUMMARIES["import"].as_json()["snapshot"] == {
        "leads": 10,
        "fetched": 0,
        "reads": 1,
        "state_file": "state/omni.parquet",
    }
    assert list(SUMMARIES["import"].as_json()["snapshot"]) == [
        *("leads", "fetched", "reads", "state_file"),
    ]
    assert SUMMARIES["check"].as_json()["target"] is None
