"""`RunSummary`: what a run did, typed — the one thing the CLI, the Prefect artifacts and
report.html read, and what `summary.json` holds (`as_json`, key for key and in order, as
DESIGN.md's "Run directory" contract has it).

Every job has the common part (run, source, mapping, options, counts, reasons, requests,
timings); a run against a target adds `target`, `state_source` and `snapshot`; a plan or an
import adds `planned_requests`; an import run with `--approve` adds `approval`; a reconcile adds
`reconciled`; a migration `migrated`. A run that breached an alert threshold
(`schemas.alerts`) ends with `alerts`, one `Alert` per breach (the key is left out otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = [
    "Alert",
    "ApprovalFacts",
    "MappingFacts",
    "RegionFacts",
    "Migrated",
    "Reason",
    "Reconciled",
    "RunSummary",
    "SnapshotFacts",
    "SourceFacts",
    "TargetFacts",
]


@dataclass(frozen=True)
class SourceFacts:
    """The file as the reader found it."""

    path: str
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    columns: int = 0
    ignored_columns: tuple[str, ...] = ()
    sheets: tuple[str, ...] = ()  # every sheet of a workbook
    preamble: tuple[str, ...] = ()  # lines above the header row, skipped
    renamed_headers: Mapping[str, str] = field(default_factory=dict)  # new name -> the repeated
    repaired_headers: Mapping[str, str] = field(default_factory=dict)  # mojibake -> repaired
    trailing_blank_rows: int = 0


@dataclass(frozen=True)
class MappingFacts:
    """Which preset read the file, and which columns fed which field."""

    preset: str
    detected: bool
    coverage: float
    mapping_file: str | None = None
    fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    custom_columns: tuple[str, ...] = ()
    dropped_columns: tuple[str, ...] = ()
    decided_by: tuple[str, ...] = ()  # the headers that made the detected preset win
    remembered_at: str | None = None  # the mapping file was remembered from an earlier run


@dataclass(frozen=True)
class RegionFacts:
    """The region a number without a country code is read in: given, or inferred from the
    file (`basis`: "country column", "numbers written with +", "email domains"), and how
    many rows it decided (those with a phone and no country of their own)."""

    region: str | None
    basis: str
    evidence: int = 0
    rows_decided: int = 0


@dataclass(frozen=True)
class TargetFacts:
    profile: str
    vendor: str


@dataclass(frozen=True)
class SnapshotFacts:
    """The target's leads as the run saw them; `facts` are the source's own (a state file)."""

    leads: int
    fetched: int = 0
    reads: int = 0
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ApprovalFacts:
    """What became of an `--approve` import's plan (flows/_approval.py): `approved`,
    `rejected`, `timed_out`, or `nothing_to_send` (a plan of no requests is not asked about);
    who answered and their comment, when given."""

    verdict: str
    by: str | None = None
    comment: str | None = None

    @property
    def sends(self) -> bool:
        """Whether the push may send the plan (only an approved one is sent)."""
        return self.verdict == "approved"


@dataclass(frozen=True)
class Reason:
    """A reason code, how many rows have it, and the first of them."""

    reason_code: str
    count: int
    example_row: int
    example: str | None


@dataclass(frozen=True)
class Reconciled:
    """A reconcile's comparison: report outcomes, fields compared, differences per field."""

    outcomes: Mapping[str, int]
    compared_fields: tuple[str, ...]
    field_differences: Mapping[str, int]


@dataclass(frozen=True)
class Migrated:
    """Where a migration's leads came from, and what the target could not hold."""

    origin: str
    extras: Mapping[str, int]
    carry_extras: bool


@dataclass(frozen=True)
class Alert:
    """One breached alert threshold: the key that set it (`rule`, e.g. `alert_invalid_share`),
    its value, what the run measured (None: nothing to measure, e.g. no file at all), and one
    line saying so that names the key and the value (`schemas.alerts` writes it)."""

    rule: str
    threshold: float
    measured: float | None
    message: str

    def flag_line(self) -> str:
        """`message` with the key spelled as the command's flag (`--alert-invalid-share`)."""
        flag = "--" + self.rule.replace("_", "-")
        return self.message.replace(f"{self.rule} ", f"{flag} ", 1)

    def as_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "threshold": self.threshold,
            "measured": self.measured,
            "message": self.message,
        }


@dataclass(frozen=True)
class RunSummary:
    """What one run did (see the module docstring)."""

    job: str  # check, plan, import, reconcile, migrate, revert (mode `revert` too)
    mode: str
    dry_run: bool
    run_id: str
    engine: str
    source: SourceFacts
    mapping: MappingFacts
    options: Mapping[str, Any]
    rows: int
    counts: Mapping[str, int]
    reasons: tuple[Reason, ...]
    phones: Mapping[str, int]
    requests: Mapping[str, int]
    durations: Mapping[str, float]
    memory_mb: Mapping[str, float]
    seconds: float
    started_at: str
    out_dir: str
    region: RegionFacts | None = None
    warnings: Mapping[str, int] = field(default_factory=dict)  # rows per warning code
    # rows per field the vendor could not take (`not_sent` warnings), and the `[values.status]`
    # lines that would send a status it can set, once per word of the file: {word, status,
    # suggested, line, rows}
    not_sent: Mapping[str, int] = field(default_factory=dict)
    status_mappings: tuple[Mapping[str, Any], ...] = ()
    notices: tuple[str, ...] = ()  # what the analyst should know of the file as a whole
    target: TargetFacts | None = None
    state_source: str | None = None
    snapshot: SnapshotFacts | None = None
    planned_requests: int | None = None
    reconciled: Reconciled | None = None
    migrated: Migrated | None = None
    alerts: tuple[Alert, ...] = ()  # the thresholds this run breached (flows/_alerts.py)
    approval: ApprovalFacts | None = None

    @property
    def failed(self) -> int:
        return int(self.counts.get("failed", 0))

    def failed_share(self) -> float:
        """Failed rows as a share of all rows (0 for an empty file)."""
        return self.failed / self.rows if self.rows else 0.0

    def with_source_path(self, path: str) -> RunSummary:
        return replace(self, source=replace(self.source, path=path))

    def as_json(self) -> dict[str, Any]:
        """summary.json: the keys of this job, in the contract's order."""
        head: dict[str, Any] = {"job": self.job, "mode": self.mode, "dry_run": self.dry_run}
        if self.approval is not None:
            head["approval"] = self.approval.verdict
            head["approved_by"] = self.approval.by
            head["approval_comment"] = self.approval.comment
        head["target"] = (
            {"profile": self.target.profile, "vendor": self.target.vendor} if self.target else None
        )
        if self.state_source is not None:
            head["state_source"] = self.state_source
        if self.snapshot is not None:
            snap = self.snapshot
            head["snapshot"] = {
                "leads": snap.leads,
                "fetched": snap.fetched,
                "reads": snap.reads,
                **snap.facts,
            }
        head["counts"] = dict(self.counts)
        if self.reconciled is not None:
            head["outcomes"] = dict(self.reconciled.outcomes)
            head["compared_fields"] = list(self.reconciled.compared_fields)
            head["field_differences"] = dict(self.reconciled.field_differences)
        if self.planned_requests is not None:
            head["planned_requests"] = self.planned_requests
        head["requests"] = dict(self.requests)
        source, mapping = self.source, self.mapping
        body: dict[str, Any] = {
            "run_id": self.run_id,
            "engine": self.engine,
            "source": {
                "path": source.path,
                "format": source.format,
                "encoding": source.encoding,
                "delimiter": source.delimiter,
                "sheet": source.sheet,
                "columns": source.columns,
                "ignored_columns": list(source.ignored_columns),
                "sheets": list(source.sheets),
                "preamble": list(source.preamble),
                "renamed_headers": dict(source.renamed_headers),
                "repaired_headers": dict(source.repaired_headers),
                "trailing_blank_rows": source.trailing_blank_rows,
            },
            "mapping": {
                "preset": mapping.preset,
                "detected": mapping.detected,
                "coverage": mapping.coverage,
                "mapping_file": mapping.mapping_file,
                "fields": {k: list(v) for k, v in mapping.fields.items()},
                "custom_columns": list(mapping.custom_columns),
                "dropped_columns": list(mapping.dropped_columns),
                "decided_by": list(mapping.decided_by),
                "remembered_at": mapping.remembered_at,
            },
            "region": None
            if self.region is None
            else {
                "region": self.region.region,
                "basis": self.region.basis,
                "evidence": self.region.evidence,
                "rows_decided": self.region.rows_decided,
            },
            "notices": list(self.notices),
            "warnings": dict(self.warnings),
            "not_sent": dict(self.not_sent),
            "status_mappings": [dict(m) for m in self.status_mappings],
            "options": dict(self.options),
            "rows": self.rows,
            "reasons": [
                {
                    "reason_code": r.reason_code,
                    "count": r.count,
                    "example_row": r.example_row,
                    "example": r.example,
                }
                for r in self.reasons
            ],
            "phones": dict(self.phones),
            "durations": dict(self.durations),
            "memory_mb": dict(self.memory_mb),
            "seconds": self.seconds,
            "started_at": self.started_at,
            "out_dir": self.out_dir,
        }
        tail: dict[str, Any] = {}
        if self.migrated is not None:
            tail = {
                "origin": self.migrated.origin,
                "extras": dict(self.migrated.extras),
                "carry_extras": self.migrated.carry_extras,
            }
        if self.alerts:
            tail["alerts"] = [alert.as_json() for alert in self.alerts]
        return {**head, **body, **tail}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunSummary:
        """A summary.json read back (the inverse of `as_json`)."""
        snapshot = data.get("snapshot")
        target = data.get("target")
        known = ("leads", "fetched", "reads")
        return cls(
            job=data["job"],
            mode=data["mode"],
            dry_run=bool(data["dry_run"]),
            run_id=data["run_id"],
            engine=data["engine"],
            source=SourceFacts(
                **{
                    **data["source"],
                    **{
                        k: tuple(data["source"].get(k, ()))
                        for k in ("ignored_columns", "sheets", "preamble")
                    },
                }
            ),
            mapping=MappingFacts(
                preset=data["mapping"]["preset"],
                detected=data["mapping"]["detected"],
                coverage=data["mapping"]["coverage"],
                mapping_file=data["mapping"]["mapping_file"],
                fields={k: tuple(v) for k, v in data["mapping"]["fields"].items()},
                custom_columns=tuple(data["mapping"]["custom_columns"]),
                dropped_columns=tuple(data["mapping"]["dropped_columns"]),
                decided_by=tuple(data["mapping"].get("decided_by", ())),
                remembered_at=data["mapping"].get("remembered_at"),
            ),
            region=RegionFacts(**data["region"]) if data.get("region") else None,
            warnings=dict(data.get("warnings", {})),
            not_sent=dict(data.get("not_sent", {})),
            status_mappings=tuple(dict(m) for m in data.get("status_mappings", ())),
            notices=tuple(data.get("notices", ())),
            options=dict(data["options"]),
            rows=int(data["rows"]),
            counts=dict(data["counts"]),
            reasons=tuple(Reason(**r) for r in data["reasons"]),
            phones=dict(data["phones"]),
            requests=dict(data["requests"]),
            durations=dict(data["durations"]),
            memory_mb=dict(data["memory_mb"]),
            seconds=float(data["seconds"]),
            started_at=data["started_at"],
            out_dir=data["out_dir"],
            target=TargetFacts(**target) if target else None,
            state_source=data.get("state_source"),
            snapshot=SnapshotFacts(
                **{k: snapshot[k] for k in known},
                facts={k: v for k, v in snapshot.items() if k not in known},
            )
            if snapshot is not None
            else None,
            planned_requests=data.get("planned_requests"),
            reconciled=Reconciled(
                dict(data["outcomes"]),
                tuple(data["compared_fields"]),
                dict(data["field_differences"]),
            )
            if "compared_fields" in data
            else None,
            migrated=Migrated(data["origin"], dict(data["extras"]), bool(data["carry_extras"]))
            if "origin" in data
            else None,
            alerts=tuple(Alert(**alert) for alert in data.get("alerts", ())),
            approval=ApprovalFacts(
                data["approval"], data.get("approved_by"), data.get("approval_comment")
            )
            if "approval" in data
            else None,
        )
