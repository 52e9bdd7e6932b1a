"""Vendor connectors: httpx clients for Omni, Apten and Octanist, and the HTTP layer they share;
plan rows -> requests, the push executor, the journal and the target snapshot store.

These names are the package's public surface (what flows/, benchmarks/ and tests use); the
`_modules` behind them are private. See `connectors/ARCHITECTURE.md` for how a request travels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connectors._budget import (
    BudgetStats,
    LeasedBudget,
    LocalBudget,
    budget_name,
    ensure_rate_limit,
)
from connectors._client import LeadClient, RemoteLead, WriteResult, open_client
from connectors._doctor import DOCTOR_LEAD_ID, Diagnosis, DoctorCheck, diagnose
from connectors._http import RequestStats
from connectors._lease import TargetBusy, hold_lease, lease_key
from connectors._notify import post_webhook, webhook_problem
from connectors._payloads import to_wire
from connectors._profile import TargetProfile, api_key_for, sandbox_profile
from connectors._push import (
    UNREACHABLE_AFTER,
    PlannedOp,
    PushReport,
    earlier_attempts_frame,
    earlier_results,
    push,
    push_results_frame,
)
from connectors._ratelimit import AdaptiveRateLimiter
from connectors._redact import SecretFilter, redact
from connectors._results import OpResult
from connectors._retry import DEFAULT_RETRY, RetryPolicy, parse_retry_after
from connectors._secrets import Secret
from connectors._snapshot import BASE_SCHEMA, Snapshot, SnapshotStore
from connectors._spill import LeadBuckets, SpillLayout
from connectors.ops import ops_from_plan

if TYPE_CHECKING:
    from connectors._journal import (
        GroupCommit,
        Journal,
        check_journal_url,
        open_journal,
        sqlite_url,
    )

__all__ = [
    "BASE_SCHEMA",
    "DEFAULT_RETRY",
    "DOCTOR_LEAD_ID",
    "UNREACHABLE_AFTER",
    "AdaptiveRateLimiter",
    "BudgetStats",
    "Diagnosis",
    "DoctorCheck",
    "GroupCommit",
    "Journal",
    "LeadBuckets",
    "LeadClient",
    "LeasedBudget",
    "LocalBudget",
    "OpResult",
    "PlannedOp",
    "PushReport",
    "RemoteLead",
    "RequestStats",
    "RetryPolicy",
    "Secret",
    "SecretFilter",
    "Snapshot",
    "TargetBusy",
    "SnapshotStore",
    "SpillLayout",
    "TargetProfile",
    "WriteResult",
    "api_key_for",
    "budget_name",
    "check_journal_url",
    "diagnose",
    "earlier_attempts_frame",
    "earlier_results",
    "ensure_rate_limit",
    "open_client",
    "open_journal",
    "ops_from_plan",
    "parse_retry_after",
    "post_webhook",
    "hold_lease",
    "lease_key",
    "push",
    "push_results_frame",
    "redact",
    "sandbox_profile",
    "sqlite_url",
    "to_wire",
    "webhook_problem",
]

# The journal's names load SQLAlchemy (~0.4 s) when first used, not on `import connectors`:
# `leadpipe check` imports this package and never opens a journal. Type checkers see them
# through the TYPE_CHECKING import above, with their signatures.
_JOURNAL_NAMES = frozenset(
    {"GroupCommit", "Journal", "check_journal_url", "open_journal", "sqlite_url"}
)


def __getattr__(name: str) -> Any:
    if name in _JOURNAL_NAMES:
        from connectors import _journal

        value = getattr(_journal, name)
        globals()[name] = value  # once: later lookups find it as a plain attribute
        return value
    raise AttributeError(f"module 'connectors' has no attribute {name!r}")
